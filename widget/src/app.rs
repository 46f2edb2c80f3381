//! The mounted widget: its state, its actions, and the requests they make.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use wasm_bindgen::prelude::*;
use web_sys::Element;

use crate::action::Action;
use crate::api::{Api, ApiError};
use crate::dom::{self, Dom};
use crate::model::{self, Filter, Row};
use crate::state::{Notice, State};
use crate::{detail, view};
use preflight::json::ObjectWriter;
use preflight::model::read::{Object, Path};
use preflight::{CarrierMapping, Settings, Timestamp, Validator};

/// How long a request may take, unless `timeoutMs` says otherwise.
const DEFAULT_TIMEOUT_MS: u32 = 15_000;

/// How often every row is checked again, in milliseconds.
const TICK_MS: u32 = 60_000;

/// The largest page the list asks for.
const PAGE: u32 = 250;

/// Why `mount` refused its arguments.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// The options are not an object.
    #[error("options: invalid type: expected an object with `getToken`")]
    NotAnObject,
    /// An option of the wrong type.
    #[error("options.{field}: {detail}")]
    Option {
        /// The option, like `timeoutMs`.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// `getToken` is missing or not a function.
    #[error(
        "options.getToken: expected a function that returns a session token (or a promise of one)"
    )]
    GetToken,
    /// The element is not an HTML element of a document.
    #[error("element: expected an HTML element of a document")]
    NoDocument,
}

impl MountError {
    fn path(&self) -> String {
        match self {
            Self::NotAnObject => "options".to_owned(),
            Self::Option { field, .. } => format!("options.{field}"),
            Self::GetToken => "options.getToken".to_owned(),
            Self::NoDocument => "element".to_owned(),
        }
    }
}

impl From<MountError> for JsValue {
    fn from(e: MountError) -> Self {
        let message = e.to_string();
        preflight::wasm::preflight_error(&message, "widget.invalid_options", &e.path(), &message)
    }
}

#[wasm_bindgen(typescript_custom_section)]
const MOUNT_OPTIONS: &'static str = r#"
/** How the widget reaches the sync API. */
export interface MountOptions {
  /** The sync API's origin, like `https://preflight.example.com`; empty or absent: this page's. */
  apiBase?: string;
  /** A fresh Shopify session token, called before each request (App Bridge: `shopify.idToken()`). */
  getToken: () => string | Promise<string>;
  /** How long a request may take before it fails, in milliseconds (15000). */
  timeoutMs?: number;
}
"#;

/// One option of `mount`, read by serde; `undefined` and `null` read as absent. Only primitives reach
/// serde: describing an object it refuses would read the object's properties, which may throw.
fn option<T: serde::de::DeserializeOwned>(
    options: &JsValue,
    field: &'static str,
) -> Result<Option<T>, MountError> {
    let invalid = |detail: String| MountError::Option { field, detail };
    let value = js_sys::Reflect::get(options, &field.into()).map_err(|thrown| {
        invalid(format!(
            "reading it threw: {}",
            preflight::wasm::describe_thrown(&thrown)
        ))
    })?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if value.is_object() || value.is_function() {
        return Err(invalid(
            "invalid type: an object, expected a string or a number".to_owned(),
        ));
    }
    serde_wasm_bindgen::from_value(value)
        .map(Some)
        .map_err(|e| invalid(e.to_string()))
}

/// A mounted widget. `unmount()` (or `free()`) removes what it added to the element and detaches its
/// listeners.
#[wasm_bindgen]
pub struct Widget {
    app: Option<Rc<RefCell<App>>>,
}

#[wasm_bindgen]
impl Widget {
    /// Removes the widget from its element.
    pub fn unmount(&mut self) {
        if let Some(app) = self.app.take() {
            if let Ok(app) = app.try_borrow() {
                dom::clear(&app.root);
            }
        }
    }

    /// Loads the fulfillments again.
    pub fn reload(&self) {
        if let Some(app) = &self.app {
            App::load(Rc::downgrade(app));
        }
    }
}

/// Mounts the widget in `element`: `options` is `{ apiBase?, getToken, timeoutMs? }`.
///
/// # Errors
/// A `PreflightError` with code `widget.invalid_options` and the path of the bad option.
#[wasm_bindgen]
pub fn mount(
    #[wasm_bindgen(unchecked_param_type = "HTMLElement")] element: JsValue,
    #[wasm_bindgen(unchecked_param_type = "MountOptions")] options: JsValue,
) -> Result<Widget, JsValue> {
    if !options.is_object() {
        return Err(MountError::NotAnObject.into());
    }
    let api_base: String = option(&options, "apiBase")?.unwrap_or_default();
    let timeout_ms: u32 = match option(&options, "timeoutMs")? {
        None => DEFAULT_TIMEOUT_MS,
        Some(0) => {
            return Err(MountError::Option {
                field: "timeoutMs",
                detail: "expected a positive number of milliseconds".to_owned(),
            }
            .into())
        }
        Some(ms) => ms,
    };
    let get_token: js_sys::Function = js_sys::Reflect::get(&options, &"getToken".into())
        .ok()
        .filter(JsValue::is_function)
        .ok_or(MountError::GetToken)?
        .unchecked_into();
    let doc = crate::js::document_of(&element).ok_or(MountError::NoDocument)?;
    let api = Api::new(&api_base, get_token, timeout_ms);
    let app = App::new(element.unchecked_into(), Dom::new(doc), api);
    App::listen(&app);
    App::load(Rc::downgrade(&app));
    Ok(Widget { app: Some(app) })
}

/// Everything a mounted widget holds.
pub(super) struct App {
    root: Element,
    pub(super) dom: Dom,
    api: Api,
    view: view::Frame,
    /// What the views show.
    pub(super) state: State,
    detail: Option<detail::Detail>,
    listeners: Vec<EventListener>,
    /// Checks every row again each minute: deadlines come closer, and windows close, while the page
    /// stays open.
    ticker: Option<gloo_timers::callback::Interval>,
    /// The list's reads so far: a follow-up timer of an older read stops.
    reads: u32,
}

impl Drop for App {
    fn drop(&mut self) {
        dom::clear(&self.root);
    }
}

impl App {
    fn new(root: Element, dom: Dom, api: Api) -> Rc<RefCell<Self>> {
        dom::clear(&root);
        let view = view::Frame::new(&dom, &root);
        Rc::new(RefCell::new(Self {
            root,
            dom,
            api,
            view,
            state: State::new(),
            detail: None,
            listeners: Vec::new(),
            ticker: None,
            reads: 0,
        }))
    }

    /// One click and one input listener on the root, for every control inside it.
    fn listen(app: &Rc<RefCell<Self>>) {
        let root = app.borrow().root.clone();
        let weak = Rc::downgrade(app);
        let click = EventListener::new(&root, "click", move |event| {
            if let Some(target) = dom::closest(event, "[data-action]") {
                Self::on_action(&weak, &target);
            }
        });
        let weak = Rc::downgrade(app);
        let input = EventListener::new(&root, "input", move |event| {
            if let Some(target) = dom::closest(event, "[data-action]") {
                Self::on_input(&weak, &target);
            }
        });
        let weak = Rc::downgrade(app);
        let ticker = gloo_timers::callback::Interval::new(TICK_MS, move || {
            with(&weak, |a| {
                if a.state.loading.is_none() {
                    a.revalidate_all();
                    a.render();
                }
            });
        });
        let mut a = app.borrow_mut();
        a.listeners = vec![click, input];
        a.ticker = Some(ticker);
        a.render();
    }

    fn render(&mut self) {
        self.view.render(&self.dom, &self.state);
        if let Some(mut detail) = self.detail.take() {
            detail.render(&self.dom, &self.state);
            self.detail = Some(detail);
        }
    }

    fn announce(&self, text: &str) {
        self.view.announce(text);
    }

    fn on_action(weak: &Weak<RefCell<Self>>, target: &Element) {
        let Some(app) = weak.upgrade() else { return };
        let Some(action) = dom::action(target) else {
            return;
        };
        // A control in a row acts on the row's fulfillment, its `data-row`.
        let id = target
            .closest("[data-row]")
            .ok()
            .flatten()
            .and_then(|row| dom::attr(&row, "data-row"));
        match action {
            Action::Filter => {
                let Ok(mut a) = app.try_borrow_mut() else {
                    return;
                };
                if let Some(filter) = dom::attr(target, "data-filter")
                    .as_deref()
                    .and_then(Filter::from_key)
                {
                    a.state.filter = filter;
                    a.render();
                }
            }
            Action::Open => {
                if let Some(id) = id {
                    Self::open(&app, &id, target);
                }
            }
            Action::Reload => Self::load(weak.clone()),
            Action::SyncAll => Self::sync_all(weak.clone()),
            Action::Close => {
                if let Ok(a) = app.try_borrow() {
                    if let Some(d) = &a.detail {
                        d.close();
                    }
                }
            }
            Action::Resync => {
                let row = app.try_borrow().ok().and_then(|a| a.detail_row());
                if let Some(id) = row {
                    Self::resync(weak.clone(), id);
                }
            }
            Action::SaveTracking => {
                let row = app.try_borrow().ok().and_then(|a| a.detail_row());
                if let Some(id) = row {
                    Self::save_tracking(weak.clone(), id);
                }
            }
            Action::SaveMapping => Self::save_mapping(weak.clone()),
            Action::Connect => Self::connect(weak.clone()),
            Action::LinkOrder => {
                let row = app.try_borrow().ok().and_then(|a| a.detail_row());
                if let Some(id) = row {
                    Self::link_order(weak.clone(), id);
                }
            }
            // The tracking field acts on input, not on a click.
            Action::Tracking => {}
        }
    }

    fn on_input(weak: &Weak<RefCell<Self>>, target: &Element) {
        let Some(app) = weak.upgrade() else { return };
        let Ok(mut a) = app.try_borrow_mut() else {
            return;
        };
        if dom::action(target) == Some(Action::Tracking) {
            let value = target
                .dyn_ref::<web_sys::HtmlInputElement>()
                .map(web_sys::HtmlInputElement::value)
                .unwrap_or_default();
            let now = a.state.now();
            let Some(mut detail) = a.detail.take() else {
                return;
            };
            detail.set_draft(&a.state, value, now);
            detail.render(&a.dom, &a.state);
            a.detail = Some(detail);
        }
    }

    /// The id of the fulfillment the open dialog shows.
    fn detail_row(&self) -> Option<String> {
        self.detail.as_ref().map(|d| d.row_id().to_owned())
    }

    fn open(app: &Rc<RefCell<Self>>, id: &str, opener: &Element) {
        let Ok(mut a) = app.try_borrow_mut() else {
            return;
        };
        if a.state.row(id).is_none() {
            return;
        }
        // The cell of the button that opened it: its row may be drawn again while the dialog is open.
        let cell = opener
            .parent_element()
            .map(|c| c.class_name())
            .unwrap_or_default();
        let opener = opener.clone();
        let weak = Rc::downgrade(app);
        let detail = detail::Detail::open(&a.dom, &a.root, &a.state, id, move || {
            // The dialog closed: drop it, and give focus back to what opened it.
            if let Some(app) = weak.upgrade() {
                if let Ok(mut a) = app.try_borrow_mut() {
                    if let Some(detail) = a.detail.take() {
                        detail.remove();
                        if opener.is_connected() {
                            dom::focus(&opener);
                        } else {
                            a.view.focus_opener(detail.row_id(), &cell);
                        }
                    }
                }
            }
        });
        a.detail = Some(detail);
    }

    /// Loads settings and every fulfillment, then renders.
    fn load(weak: Weak<RefCell<Self>>) {
        Self::fetch(weak, None);
    }

    /// Loads the list again with the old one shown meanwhile, for the follow-up of read `read`
    /// (recent orders being imported, or the shop's version moved).
    fn reload_quietly(weak: Weak<RefCell<Self>>, read: u32) {
        Self::fetch(weak, Some(read));
    }

    /// A loud load (`None`) or a quiet reload for the follow-up of a read.
    fn fetch(weak: Weak<RefCell<Self>>, quiet: Option<u32>) {
        let loud = quiet.is_none();
        let Some(api) = with(&weak, |a| {
            if loud {
                a.state.loading = Some("Loading fulfillments…".to_owned());
                a.render();
            }
            a.api.clone()
        }) else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let loaded = fetch_all(&api).await;
            with(&weak, |a| match loaded {
                Ok(loaded) => {
                    a.state.clock_offset_ms = loaded.server_now_ms - loaded.received_ms;
                    a.state.validator = Some(loaded.validator);
                    a.state.rows = loaded.rows;
                    // A number typed in the open dialog is checked again against the rows as read now.
                    if let Some(mut detail) = a.detail.take() {
                        if let Some(draft) = detail.draft().map(str::to_owned) {
                            detail.set_draft(&a.state, draft, a.state.now());
                        }
                        a.detail = Some(detail);
                    }
                    measure("fp:check", "fp:data");
                    a.state.loading = None;
                    a.state.backfill = loaded.backfill.1;
                    a.state.connect = loaded.connect;
                    a.state.version = loaded.version;
                    a.render();
                    measure("fp:render", "fp:data");
                    if loud {
                        a.announce(&format!("{} fulfillments loaded", a.state.rows.len()));
                    }
                    a.reads = a.reads.wrapping_add(1);
                    let read = a.reads;
                    // While recent orders are imported from Shopify, the list follows them;
                    // otherwise it follows the shop's version. A newer read stops either.
                    if loaded.backfill.0 {
                        let weak = weak.clone();
                        gloo_timers::callback::Timeout::new(BACKFILL_POLL_MS, move || {
                            if with(&weak, |a| a.reads == read) == Some(true) {
                                Self::reload_quietly(weak, read);
                            }
                        })
                        .forget();
                    } else {
                        Self::follow(weak.clone(), read);
                    }
                }
                Err(e) if loud => {
                    a.state.loading = Some(format!("Fulfillments could not be loaded: {e}"));
                    a.render();
                }
                // A quiet reload that fails leaves the list as it was, and is tried again when the
                // shop's version is next asked, unless a newer read took over.
                Err(_) => {
                    if let Some(read) = quiet.filter(|r| *r == a.reads) {
                        Self::follow(weak.clone(), read);
                    }
                }
            });
        });
    }

    /// In [`CHANGES_POLL_MS`], asks the shop's version and reads the list again when it moved (an
    /// order changed at TikTok Shop, a webhook from Shopify, another tab's sync), unless a newer
    /// read took over. A hidden page or a failed ask waits for the next turn.
    fn follow(weak: Weak<RefCell<Self>>, read: u32) {
        gloo_timers::callback::Timeout::new(CHANGES_POLL_MS, move || {
            let Some(api) = with(&weak, |a| (a.reads == read).then(|| a.api.clone())).flatten()
            else {
                return;
            };
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.hidden());
            wasm_bindgen_futures::spawn_local(async move {
                let version = if hidden {
                    None
                } else {
                    let answer = api.get("/api/changes").await.ok();
                    answer.map(|b| text_of(&b, "version").unwrap_or_default())
                };
                let moved = with(&weak, |a| {
                    (a.reads == read).then(|| version.is_some_and(|v| v != a.state.version))
                });
                match moved.flatten() {
                    Some(true) => Self::reload_quietly(weak, read),
                    Some(false) => Self::follow(weak, read),
                    None => {}
                }
            });
        })
        .forget();
    }

    /// Opens TikTok Shop's authorization page (the sync API makes its single-use `state`).
    fn connect(weak: Weak<RefCell<Self>>) {
        let Some(api) = with(&weak, |a| a.api.clone()) else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let answer = api.post("/api/tiktok/connect").await;
            let url = answer.map_err(|e| e.to_string()).and_then(|body| {
                text_of(&body, "url")
                    .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                    .ok_or_else(|| "no authorization page".to_owned())
            });
            match url {
                // The whole admin goes there: TikTok Shop's page may not be framed.
                Ok(url) => {
                    if let Some(w) = web_sys::window() {
                        let _ = w.open_with_url_and_target(&url, "_top");
                    }
                }
                Err(e) => {
                    with(&weak, |a| {
                        a.announce(&format!("TikTok Shop could not be reached: {e}"));
                    });
                }
            }
        });
    }

    fn revalidate_all(&mut self) {
        let now = self.state.now();
        if let Some(validator) = &self.state.validator {
            for row in &mut self.state.rows {
                row.revalidate(validator, now);
            }
        }
    }

    /// Replaces a row with the sync API's answer (a fulfillment object), and re-checks it.
    fn replace_row(&mut self, body: &str) -> Result<(), String> {
        let value = preflight::json::parse(body).map_err(|e| e.to_string())?;
        let mut row = Row::read(&value, &Path::Root).map_err(|e| e.to_string())?;
        if let Some(validator) = &self.state.validator {
            row.revalidate(validator, self.state.now());
        }
        match self.state.rows.iter_mut().find(|r| r.id == row.id) {
            Some(slot) => *slot = row,
            None => self.state.rows.push(row),
        }
        Ok(())
    }

    fn set_notice(&mut self, id: &str, text: String, code: &str) {
        self.state.set_notice(
            id,
            Notice {
                text,
                code: code.to_owned(),
            },
        );
    }

    /// Saves the tracking number typed in the dialog, then re-syncs.
    fn resync(weak: Weak<RefCell<Self>>, id: String) {
        wasm_bindgen_futures::spawn_local(async move {
            if Self::save_draft(&weak, &id).await {
                Self::sync_one(&weak, &id).await;
            }
        });
    }

    /// Links the dialog's fulfillment to the TikTok Shop order id typed (a manual link, which the
    /// sync API never replaces).
    fn link_order(weak: Weak<RefCell<Self>>, id: String) {
        let Some(order_id) = with(&weak, |a| {
            a.detail.as_ref().and_then(detail::Detail::link_choice)
        })
        .flatten() else {
            return;
        };
        let mut body = String::new();
        ObjectWriter::new(&mut body)
            .field("orderId", &order_id)
            .end();
        wasm_bindgen_futures::spawn_local(async move {
            Self::put_row(&weak, &id, "tts-order", body, "Order linked").await;
        });
    }

    /// `PUT /api/fulfillments/{id}/{what}` with `body`; the row replaced by the answer. Answers whether
    /// it was; a failure is the row's notice.
    async fn put_row(
        weak: &Weak<RefCell<Self>>,
        id: &str,
        what: &str,
        body: String,
        done: &str,
    ) -> bool {
        let Some(api) = with(weak, |a| {
            a.state.start(id, "Saving…");
            a.render();
            a.api.clone()
        }) else {
            return false;
        };
        let answer = api
            .put(&format!("/api/fulfillments/{}/{what}", encode(id)), body)
            .await;
        with(weak, |a| {
            a.state.finish(id);
            let saved = match answer {
                Ok(body) => match a.replace_row(&body) {
                    Ok(()) => {
                        // The fulfillment changed: a new sync is a new request.
                        a.state.forget_retry_key(id);
                        a.announce(done);
                        true
                    }
                    Err(e) => {
                        a.set_notice(
                            id,
                            format!("The answer could not be read: {e}"),
                            "widget.bad_answer",
                        );
                        false
                    }
                },
                Err(e) => {
                    a.set_notice(
                        id,
                        format!("Not saved: {e}. Your edit is kept; try again."),
                        e.code(),
                    );
                    false
                }
            };
            a.render();
            saved
        })
        .unwrap_or(false)
    }

    fn save_tracking(weak: Weak<RefCell<Self>>, id: String) {
        wasm_bindgen_futures::spawn_local(async move {
            Self::save_draft(&weak, &id).await;
        });
    }

    /// Saves the dialog's tracking number when it differs from the fulfillment's; whether the
    /// fulfillment now holds it.
    async fn save_draft(weak: &Weak<RefCell<Self>>, id: &str) -> bool {
        let Some(draft) = with(weak, |a| {
            let draft = a
                .detail
                .as_ref()
                .filter(|d| d.row_id() == id)
                .and_then(detail::Detail::draft)
                .map(str::to_owned)?;
            let saved = a.state.row(id).and_then(Row::tracking_number).unwrap_or("");
            (draft.trim() != saved).then_some(draft)
        })
        .flatten() else {
            return true;
        };
        let cleaned: String = draft.split_whitespace().collect();
        let mut body = String::new();
        ObjectWriter::new(&mut body)
            .field("trackingNumber", &cleaned)
            .end();
        let saved = Self::put_row(weak, id, "tracking", body, "Tracking number saved").await;
        if saved {
            with(weak, |a| {
                if let Some(d) = a.detail.as_mut() {
                    d.clear_draft();
                }
                a.render();
            });
        }
        saved
    }

    /// Syncs one fulfillment through the sync API, which checks it again and pushes at most once.
    async fn sync_one(weak: &Weak<RefCell<Self>>, id: &str) {
        let Some((api, key, name)) = with(weak, |a| {
            let key = a.state.retry_key(id, new_key);
            a.state.start(id, "Syncing…");
            let name = a.state.row(id).map(|r| r.name.clone()).unwrap_or_default();
            a.announce(&format!("Syncing {name}…"));
            a.render();
            (a.api.clone(), key, name)
        }) else {
            return;
        };
        let path = format!("/api/fulfillments/{}/sync", encode(id));
        let answer = api.post_idempotent(&path, &key).await;
        // After a refusal, the server kept TikTok Shop's order as it read it: show that.
        let refreshed = match &answer {
            Err(ApiError::Status { status: 422, .. }) => {
                Some(api.get(&format!("/api/fulfillments/{}", encode(id))).await)
            }
            _ => None,
        };
        with(weak, |a| {
            a.state.finish(id);
            match answer {
                Ok(body) => {
                    a.state.forget_retry_key(id);
                    match a.replace_row(&body) {
                        Ok(()) => {
                            let status = a.state.row(id).map_or("", |r| r.status.label());
                            a.announce(&format!("{name}: {status}"));
                        }
                        Err(e) => a.set_notice(
                            id,
                            format!("The answer could not be read: {e}"),
                            "widget.bad_answer",
                        ),
                    }
                }
                Err(e) => {
                    if !e.answer_lost() {
                        a.state.forget_retry_key(id);
                    }
                    if let Some(Ok(body)) = refreshed {
                        let _ = a.replace_row(&body);
                    }
                    let text = match &e {
                        ApiError::Status { status: 422, .. } => format!(
                            "Sync refused: {e}. TikTok Shop's order changed since it was last read; nothing was pushed."
                        ),
                        e if e.answer_lost() => format!(
                            "{e}. Nothing is lost: try again, and the sync API will not push twice."
                        ),
                        e => format!("Sync failed: {e}. Nothing was pushed; you can try again."),
                    };
                    a.announce(&format!("{name}: {text}"));
                    a.set_notice(id, text, e.code());
                }
            }
            a.render();
        });
    }

    /// Syncs every fulfillment whose first push the engine finds ready, one after another.
    fn sync_all(weak: Weak<RefCell<Self>>) {
        let Some(ids) = with(&weak, |a| {
            if a.state.bulk.is_some() {
                return Vec::new();
            }
            a.state
                .bulk_ready()
                .map(|r| r.id.clone())
                .collect::<Vec<_>>()
        }) else {
            return;
        };
        if ids.is_empty() {
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            let total = ids.len();
            for (done, id) in ids.iter().enumerate() {
                if with(&weak, |a| {
                    a.state.bulk = Some((done, total));
                })
                .is_none()
                {
                    return;
                }
                Self::sync_one(&weak, id).await;
            }
            with(&weak, |a| {
                a.state.bulk = None;
                let synced = ids
                    .iter()
                    .filter(|id| {
                        a.state
                            .row(id)
                            .is_some_and(|r| r.status == model::SyncStatus::Synced)
                    })
                    .count();
                a.announce(&format!("Sync all ready: {synced} of {total} synced"));
                a.render();
            });
        });
    }

    /// Saves the mapping chosen in the dialog and re-checks every fulfillment at once.
    fn save_mapping(weak: Weak<RefCell<Self>>) {
        let Some(Some((api, from, to, mappings))) = with(&weak, |a| {
            let (from, to) = a.detail.as_ref()?.mapping_choice()?;
            let mut mappings: Vec<CarrierMapping> = a
                .state
                .validator
                .as_ref()?
                .settings()
                .carrier_mappings
                .iter()
                .filter(|m| !m.from.trim().eq_ignore_ascii_case(from.trim()))
                .cloned()
                .collect();
            mappings.push(CarrierMapping {
                from: from.clone(),
                to: to.clone(),
            });
            Some((a.api.clone(), from, to, mappings))
        }) else {
            return;
        };
        let mut body = String::new();
        ObjectWriter::new(&mut body)
            .field("carrierMappings", &mappings)
            .end();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = api.put("/api/settings/carrier-mappings", body).await;
            with(&weak, |a| {
                let id = a.detail_row().unwrap_or_default();
                match answer
                    .map_err(|e| (e.to_string(), e.code().to_owned()))
                    .and_then(|body| {
                        read_mappings(&body).map_err(|e| (e, "widget.bad_answer".to_owned()))
                    }) {
                    Ok(saved) => {
                        let applied = a
                            .state
                            .validator
                            .as_mut()
                            .map(|v| v.set_carrier_mappings(saved));
                        match applied {
                            Some(Err(e)) => a.set_notice(
                                &id,
                                format!("The mapping cannot be used: {e}"),
                                e.code(),
                            ),
                            _ => {
                                a.revalidate_all();
                                let affected = a
                                    .state
                                    .rows
                                    .iter()
                                    .filter(|r| {
                                        r.carrier.as_deref().is_some_and(|c| {
                                            c.trim().eq_ignore_ascii_case(from.trim())
                                        })
                                    })
                                    .count();
                                a.state.clear_notice(&id);
                                a.announce(&format!(
                                    "Mapping saved: {from} → {to}. {affected} fulfillments re-checked."
                                ));
                            }
                        }
                    }
                    Err((e, code)) => a.set_notice(
                        &id,
                        format!("The mapping was not saved: {e}. Nothing changed; try again."),
                        &code,
                    ),
                }
                a.render();
            });
        });
    }
}

/// Runs `f` on the app if it is still mounted and not borrowed.
fn with<T>(weak: &Weak<RefCell<App>>, f: impl FnOnce(&mut App) -> T) -> Option<T> {
    let app = weak.upgrade()?;
    let mut a = app.try_borrow_mut().ok()?;
    Some(f(&mut a))
}

/// How often the import's progress is asked, in milliseconds.
const BACKFILL_POLL_MS: u32 = 1_500;

/// How often an open list asks the shop's version, in milliseconds.
const CHANGES_POLL_MS: u32 = 2_000;

/// The text member `key` of a JSON object answer, when it has one.
fn text_of(body: &str, key: &str) -> Option<String> {
    let value = preflight::json::parse(body).ok()?;
    Object::new(&value, &Path::Root, "an object")
        .ok()?
        .text(key)
        .ok()
        .flatten()
}

/// The prompt a first page's `tiktok` calls for: none while connected, or when the server does not
/// connect shops to TikTok Shop.
fn connect_prompt(value: &preflight::json::Value<'_>) -> Option<(String, &'static str)> {
    let root = Path::Root;
    let o = Object::new(value, &root, "a connection").ok()?;
    let flag = |key| o.flag(key).ok().flatten();
    let again = "Reconnect TikTok Shop";
    if flag("needsReconnect") == Some(true) {
        Some((
            "This app's access to your TikTok Shop shop was withdrawn or has ended: syncs are refused until you connect again, and previews show orders as last read.".to_owned(),
            again,
        ))
    } else if flag("connected") == Some(false) {
        Some((
            "Connect your TikTok Shop shop so that previews read its orders and syncs reach it."
                .to_owned(),
            "Connect TikTok Shop",
        ))
    } else if flag("expiringSoon") == Some(true) {
        let ends = o
            .text("authorizationExpiresAt")
            .ok()
            .flatten()
            .unwrap_or_default();
        Some((
            format!(
                "This app's access to your TikTok Shop shop ends on {}: connect again before then to keep syncing.",
                ends.get(..10).unwrap_or(&ends)
            ),
            again,
        ))
    } else {
        None
    }
}

/// Whether the import of recent orders runs, and the banner it shows, from a first page's
/// `backfill` (`GET /api/backfill`'s shape).
fn backfill_banner(value: &preflight::json::Value<'_>) -> (bool, Option<String>) {
    let root = Path::Root;
    let Ok(o) = Object::new(value, &root, "a backfill object") else {
        return (false, None);
    };
    let state = o.text("state").ok().flatten().unwrap_or_default();
    let count = |key: &str| o.count(key).ok().flatten().unwrap_or(0);
    let text = match state.as_str() {
        "running" => Some(format!(
            "Importing the last 30 days of orders from Shopify: {} orders read so far…",
            count("ordersRead")
        )),
        "failed" => Some(format!(
            "Importing orders from Shopify stopped ({}); it resumes when the app is opened again.",
            o.text("errorCode").ok().flatten().unwrap_or_default()
        )),
        _ => None,
    };
    (state == "running", text)
}

/// What the first load reads.
struct Loaded {
    validator: Validator,
    rows: Vec<Row>,
    /// Whether recent orders are being imported, and the banner.
    backfill: (bool, Option<String>),
    connect: Option<(String, &'static str)>,
    version: String,
    server_now_ms: f64,
    received_ms: f64,
}

/// Settings and every page of fulfillments.
/// Each page is read and checked as it arrives, while the next one is on its way.
async fn fetch_all(api: &Api) -> Result<Loaded, String> {
    let first = format!("/api/fulfillments?limit={PAGE}");
    let mut page = api.get(&first).await.map_err(|e| e.to_string())?;
    // The settings after the first page: the version it carries was read before them, so a change
    // to them meanwhile shows as a newer version later.
    let settings = api.get("/api/settings").await.map_err(|e| e.to_string())?;
    let settings: Settings = preflight::from_json(&settings).map_err(|e| e.to_string())?;
    let validator =
        Validator::new(settings).map_err(|e| format!("the shop's settings cannot be used: {e}"))?;
    let mut rows = Vec::new();
    let mut server_now_ms = None;
    let mut received_ms = 0.0;
    let mut backfill = (false, None);
    let mut connect = None;
    let mut version = String::new();
    loop {
        // The last mark is the one the render is measured from: when all the data is here.
        mark("fp:data");
        let value = preflight::json::parse(&page).map_err(|e| e.to_string())?;
        let root = Path::Root;
        let o = Object::new(&value, &root, "a page of fulfillments").map_err(|e| e.to_string())?;
        if server_now_ms.is_none() {
            if let Some(b) = o.get("backfill") {
                backfill = backfill_banner(b);
            }
            connect = o.get("tiktok").and_then(connect_prompt);
            version = o.text("version").ok().flatten().unwrap_or_default();
            received_ms = js_sys::Date::now();
            server_now_ms = o
                .timestamp("now")
                .ok()
                .flatten()
                .map(|t: Timestamp| t.unix_millis() as f64);
        }
        let items_path = root.key("items");
        let items = match o.get("items") {
            Some(preflight::json::Value::Array(items)) => items.as_slice(),
            _ => &[],
        };
        let now =
            crate::state::server_now(server_now_ms.map_or(0.0, |server| server - received_ms));
        for (i, item) in items.iter().enumerate() {
            let mut row = Row::read(item, &items_path.index(i)).map_err(|e| e.to_string())?;
            row.revalidate(&validator, now);
            rows.push(row);
        }
        let cursor = o.text("nextCursor").ok().flatten();
        let Some(cursor) = cursor.filter(|_| !items.is_empty()) else {
            break;
        };
        let path = format!("{first}&cursor={}", encode(&cursor));
        page = api.get(&path).await.map_err(|e| e.to_string())?;
    }
    Ok(Loaded {
        validator,
        rows,
        backfill,
        connect,
        version,
        server_now_ms: server_now_ms.unwrap_or(received_ms),
        received_ms,
    })
}

fn read_mappings(body: &str) -> Result<Vec<CarrierMapping>, String> {
    let value = preflight::json::parse(body).map_err(|e| e.to_string())?;
    let root = Path::Root;
    let o = Object::new(&value, &root, "an object with `carrierMappings`")
        .map_err(|e| e.to_string())?;
    o.required("carrierMappings", preflight::model::read::list_of)
        .map_err(|e| e.to_string())
}

/// A path segment, percent-encoded.
fn encode(segment: &str) -> String {
    String::from(js_sys::encode_uri_component(segment))
}

/// A fresh idempotency key: a random UUID, or 128 random bits in hex where `crypto.randomUUID` is
/// missing (pages not served over https have none, and calling it there would throw).
fn new_key() -> String {
    let crypto = web_sys::window().and_then(|w| w.crypto().ok());
    let uuid = crypto.as_ref().and_then(|c| {
        let f = js_sys::Reflect::get(c, &"randomUUID".into())
            .ok()
            .filter(JsValue::is_function)?;
        f.unchecked_into::<js_sys::Function>()
            .call0(c)
            .ok()?
            .as_string()
    });
    uuid.or_else(|| {
        let mut bytes = [0u8; 16];
        crypto?.get_random_values_with_u8_array(&mut bytes).ok()?;
        Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
    })
    .unwrap_or_else(|| {
        // Whole numbers only: formatting a float would pull the float printer into the module.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a time in milliseconds and a random fraction, scaled into u64"
        )]
        let (now, random) = (
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64,
        );
        format!("{now:x}-{random:x}")
    })
}

fn performance() -> Option<web_sys::Performance> {
    web_sys::window()?.performance()
}

fn mark(name: &str) {
    if let Some(p) = performance() {
        let _ = p.mark(name);
    }
}

fn measure(name: &str, start: &str) {
    if let Some(p) = performance() {
        let _ = p.measure_with_start_mark(name, start);
    }
}
