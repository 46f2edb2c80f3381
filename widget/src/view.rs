//! The list: filters with counts, "Sync all ready", and a table of fulfillments with their status and
//! preview badges.

use web_sys::Element;

use crate::action::Action;
use crate::dom::{self, append, set, Dom, Part};
use crate::model::{self, Filter, Preview, Row, SyncStatus, Tone};
use crate::state::State;

/// The widget's fixed frame: what stays while rows come and go.
pub struct Frame {
    toolbar: Element,
    live: Element,
    /// How the import of recent orders from Shopify goes.
    banner: Element,
    /// The prompt to connect to TikTok Shop: the paragraph, its text and its button.
    connect: (Element, Element, Element),
    message: Element,
    table: Element,
    body: Element,
    templates: Templates,
}

/// Rows from which the list lays out only the rows on screen.
const LONG_LIST: usize = 200;

/// What had focus before the frame was drawn again.
enum Focus {
    /// A filter, by its key.
    Filter(String),
    /// Another toolbar button, by its action.
    Toolbar(Option<Action>),
    /// A button in a row: the row's id and the class of its cell.
    Row(String, String),
}

/// Elements cloned for each row: one clone instead of many calls to build the same structure.
struct Templates {
    row: Element,
    link: Element,
    badge: Element,
    chip: Element,
    reason: Element,
}

impl Templates {
    fn new(dom: &Dom) -> Self {
        // The rows are CSS grid rows (so that rows off screen skip layout); the roles keep them a table.
        let row = dom.el("tr", "");
        set(&row, "role", "row");
        let th = dom.el("th", "fp-order");
        set(&th, "scope", "row");
        set(&th, "role", "rowheader");
        let open = dom.button("fp-link", "", Action::Open);
        set(&open, "aria-haspopup", "dialog");
        append(&th, &open);
        append(&row, &th);
        for class in [
            "fp-items",
            "fp-carrier",
            "fp-tracking",
            "fp-status",
            "fp-preview",
        ] {
            let td = dom.el("td", class);
            set(&td, "role", "cell");
            append(&row, &td);
        }
        let link = dom.el("a", "fp-tracking-link");
        set(&link, "target", "_blank");
        set(&link, "rel", "noopener noreferrer");
        let chip = dom.button("", "", Action::Open);
        set(&chip, "aria-haspopup", "dialog");
        Self {
            row,
            link,
            badge: dom.el("span", ""),
            chip,
            reason: dom.el("span", "fp-reason"),
        }
    }

    /// A badge: a plain `<span>`, or a button that opens its row's dialog.
    fn badge(&self, text: &str, tone: Tone, opens: bool) -> Element {
        let badge = if opens {
            let chip = dom::deep_clone(&self.chip);
            chip.set_class_name(tone.chip_class());
            set(&chip, "aria-label", &format!("{text}: view reason"));
            chip
        } else {
            let badge = dom::deep_clone(&self.badge);
            badge.set_class_name(tone.class());
            badge
        };
        badge.set_text_content(Some(text));
        badge
    }
}

impl Frame {
    /// Builds the frame inside `root`.
    pub fn new(dom: &Dom, root: &Element) -> Self {
        let shell = dom.el("section", "fp-widget");
        set(&shell, "aria-label", "TikTok Shop sync");
        let header = dom.el("header", "fp-header");
        append(&header, &dom.text_el("h2", "fp-title", "TikTok Shop sync"));
        let toolbar = dom.el("div", "fp-toolbar");
        append(&header, &toolbar);
        append(&shell, &header);
        let live = dom.el("p", "fp-live");
        set(&live, "role", "status");
        set(&live, "aria-live", "polite");
        append(&shell, &live);
        let banner = dom.el("p", "fp-banner");
        set(&banner, "role", "status");
        append(&shell, &banner);
        let connect = dom.el("p", "fp-banner");
        set(&connect, "hidden", "");
        let connect_text = dom.el("span", "");
        append(&connect, &connect_text);
        dom.append_text(&connect, " ");
        let connect_button = dom.button("fp-button", "", Action::Connect);
        append(&connect, &connect_button);
        append(&shell, &connect);
        let message = dom.el("p", "fp-message");
        append(&shell, &message);
        let table = dom.el("table", "fp-table");
        set(&table, "role", "table");
        append(
            &table,
            &dom.text_el(
                "caption",
                "fp-visually-hidden",
                "Fulfillments and their TikTok Shop sync",
            ),
        );
        let head = dom.el("thead", "");
        set(&head, "role", "rowgroup");
        let tr = dom.el("tr", "");
        set(&tr, "role", "row");
        for title in [
            "Order",
            "Items",
            "Carrier → TikTok Shop provider",
            "Tracking number",
            "Sync status",
            "Preview",
        ] {
            let th = dom.text_el("th", "", title);
            set(&th, "scope", "col");
            set(&th, "role", "columnheader");
            append(&tr, &th);
        }
        append(&head, &tr);
        append(&table, &head);
        let body = dom.el("tbody", "");
        set(&body, "role", "rowgroup");
        append(&table, &body);
        append(&shell, &table);
        append(root, &shell);
        Self {
            toolbar,
            live,
            banner,
            connect: (connect, connect_text, connect_button),
            message,
            table,
            body,
            templates: Templates::new(dom),
        }
    }

    /// Says `text` to assistive technology (and shows it).
    pub fn announce(&self, text: &str) {
        self.live.set_text_content(Some(text));
    }

    /// Gives focus back to a row's button in the cell of class `cell` (the badge that opened its
    /// dialog), or to the row's first button when that badge is a button no more.
    pub fn focus_opener(&self, id: &str, cell: &str) {
        let mut next = self.body.first_element_child();
        while let Some(tr) = next {
            if dom::attr(&tr, "data-row").as_deref() == Some(id) {
                let mut cells = tr.first_element_child();
                while let Some(c) = cells {
                    if c.class_name() == cell {
                        if let Ok(Some(button)) = c.query_selector("button") {
                            dom::focus(&button);
                            return;
                        }
                    }
                    cells = c.next_element_sibling();
                }
                if let Ok(Some(button)) = tr.query_selector("button[data-action=open]") {
                    dom::focus(&button);
                }
                return;
            }
            next = tr.next_element_sibling();
        }
    }

    /// Renders the toolbar and the rows of the current filter.
    pub fn render(&self, dom: &Dom, state: &State) {
        // What has focus is drawn anew: give focus back to its successor afterwards.
        let focus = self.focused(dom);
        self.draw(dom, state);
        if let Some(focus) = focus {
            self.refocus(&focus);
        }
    }

    /// Where focus is in the frame, as something that survives drawing the frame again.
    fn focused(&self, dom: &Dom) -> Option<Focus> {
        let active = dom.active_element()?;
        if self.toolbar.contains(Some(&active)) {
            return Some(match dom::attr(&active, "data-filter") {
                Some(filter) => Focus::Filter(filter),
                None => Focus::Toolbar(dom::action(&active)),
            });
        }
        if self.body.contains(Some(&active)) {
            let row = active.closest("[data-row]").ok().flatten()?;
            let cell = active
                .parent_element()
                .map(|c| c.class_name())
                .unwrap_or_default();
            return Some(Focus::Row(dom::attr(&row, "data-row")?, cell));
        }
        None
    }

    fn refocus(&self, focus: &Focus) {
        match focus {
            Focus::Filter(key) => self.focus_in_toolbar("data-filter", key),
            Focus::Toolbar(Some(action)) => self.focus_in_toolbar("data-action", action.attr()),
            Focus::Toolbar(None) => {}
            Focus::Row(id, cell) => self.focus_opener(id, cell),
        }
    }

    fn focus_in_toolbar(&self, attribute: &str, value: &str) {
        let buttons = self.toolbar.get_elements_by_tag_name("button");
        for i in 0..buttons.length() {
            if let Some(button) = buttons.item(i) {
                if dom::attr(&button, attribute).as_deref() == Some(value) {
                    dom::focus(&button);
                    return;
                }
            }
        }
    }

    fn draw(&self, dom: &Dom, state: &State) {
        let now = state.now();
        self.render_toolbar(dom, state, now);
        match &state.backfill {
            Some(text) => {
                self.banner.set_text_content(Some(text));
                let _ = self.banner.remove_attribute("hidden");
            }
            None => set(&self.banner, "hidden", ""),
        }
        let (connect, text, button) = &self.connect;
        match &state.connect {
            Some((prompt, label)) => {
                text.set_text_content(Some(prompt));
                button.set_text_content(Some(label));
                let _ = connect.remove_attribute("hidden");
            }
            None => set(connect, "hidden", ""),
        }
        dom::clear(&self.message);
        if let Some(loading) = &state.loading {
            self.message.set_text_content(Some(loading));
            if !loading.starts_with("Loading") {
                dom.append_text(&self.message, " ");
                append(
                    &self.message,
                    &dom.button("fp-button", "Try again", Action::Reload),
                );
            }
            set(&self.table, "hidden", "");
            return;
        }
        let _ = self.table.remove_attribute("hidden");
        let fragment = dom.fragment();
        let mut shown = 0;
        for row in state.rows.iter().filter(|r| state.filter.admits(r, now)) {
            let _ = fragment.append_child(&self.row_element(dom, state, row, now));
            shown += 1;
        }
        if shown == 0 {
            self.message
                .set_text_content(Some("No fulfillments match this filter."));
        }
        // A long list skips the layout of rows off screen, at the cost of a row drawn a frame late when
        // scrolled to fast; a short one lays out every row.
        self.body
            .set_class_name(if shown > LONG_LIST { "fp-long" } else { "" });
        dom::clear(&self.body);
        let _ = self.body.append_child(&fragment);
    }

    fn render_toolbar(&self, dom: &Dom, state: &State, now: preflight::Timestamp) {
        dom::clear(&self.toolbar);
        let filters = dom.el("div", "fp-filters");
        set(&filters, "role", "group");
        set(&filters, "aria-label", "Filter fulfillments");
        let counts = model::counts(&state.rows, now);
        for (filter, count) in Filter::ALL.into_iter().zip(counts) {
            let button = dom.button(
                "fp-filter",
                &format!("{} {count}", filter.label()),
                Action::Filter,
            );
            set(&button, "data-filter", filter.key());
            set(
                &button,
                "aria-pressed",
                if filter == state.filter {
                    "true"
                } else {
                    "false"
                },
            );
            append(&filters, &button);
        }
        append(&self.toolbar, &filters);
        let ready = state.bulk_ready().count();
        let label = match state.bulk {
            Some((done, total)) => format!("Syncing {} of {total}…", done + 1),
            None => format!("Sync all ready ({ready})"),
        };
        let sync_all = dom.button("fp-button fp-primary", &label, Action::SyncAll);
        if ready == 0 || state.bulk.is_some() {
            set(&sync_all, "disabled", "");
        }
        if state.bulk.is_some() {
            set(&sync_all, "aria-busy", "true");
        }
        append(&self.toolbar, &sync_all);
    }
}

/// A plain badge.
pub fn badge(dom: &Dom, text: &str, tone: Tone) -> Element {
    dom.text_el("span", tone.class(), text)
}

impl Frame {
    fn row_element(
        &self,
        dom: &Dom,
        state: &State,
        row: &Row,
        now: preflight::Timestamp,
    ) -> Element {
        let t = &self.templates;
        let tr = dom::deep_clone(&t.row);
        set(&tr, "data-row", &row.id);
        let Some(th) = tr.first_element_child() else {
            return tr;
        };
        if let Some(open) = th.first_element_child() {
            dom.compose(&open, &[Part::Theirs(&row.name)]);
            set(&open, "aria-label", &format!("{}: view details", row.name));
        }
        let mut cells = [(); 5].map(|()| None::<Element>);
        let mut next = th.next_element_sibling();
        for cell in &mut cells {
            *cell = next.clone();
            next = next.and_then(|c| c.next_element_sibling());
        }
        let [Some(items), Some(carrier), Some(tracking), Some(status), Some(preview)] = cells
        else {
            return tr;
        };

        let quantities: Vec<String> = row
            .items
            .iter()
            .map(|item| format!("{} × ", item.quantity))
            .collect();
        let mut parts = Vec::with_capacity(row.items.len() * 3);
        for (i, (item, quantity)) in row.items.iter().zip(&quantities).enumerate() {
            if i > 0 {
                parts.push(Part::Ours("\n"));
            }
            parts.extend([Part::Ours(quantity), Part::Theirs(&item.title)]);
        }
        dom.compose(&items, &parts);

        let name = row
            .carrier
            .as_deref()
            .map_or(Part::Ours("No carrier"), Part::Theirs);
        match row.provider() {
            Some(provider) => {
                dom.compose(&carrier, &[name, Part::Ours(" → "), Part::Theirs(provider)]);
            }
            None => {
                let why = if row.outside_delivery_option() {
                    " → not offered by its order's delivery option"
                } else {
                    " → no TikTok Shop provider"
                };
                dom.compose(&carrier, &[name, Part::Ours(why)]);
                carrier.set_class_name("fp-carrier fp-unresolved");
            }
        }

        let number = row.tracking_number().map_or(Part::Ours("—"), Part::Theirs);
        match &row.tracking_url {
            Some(url) => {
                let a = dom::deep_clone(&t.link);
                set(&a, "href", url);
                dom.compose(&a, &[number]);
                append(&tracking, &a);
            }
            _ => dom.compose(&tracking, &[number]),
        }

        if let Some(busy) = state.busy(&row.id) {
            let b = t.badge(busy, Tone::Info, false);
            set(&b, "aria-busy", "true");
            append(&status, &b);
        } else {
            let opens = row.status == SyncStatus::SyncFailed;
            append(
                &status,
                &t.badge(row.status.label(), row.status.tone(), opens),
            );
        }
        match &row.writeback {
            Some(model::Writeback::Pending) => {
                append(
                    &status,
                    &t.badge("Shopify not updated yet", Tone::Info, false),
                );
            }
            Some(model::Writeback::Refused(_)) => {
                append(
                    &status,
                    &t.badge("Shopify refused the number", Tone::Critical, true),
                );
            }
            None => {}
        }

        let p = row.preview(now);
        let (text, tone) = p.badge();
        let opens = matches!(p, Preview::WillFail { .. });
        append(&preview, &t.badge(&text, tone, opens));
        let reason = match p {
            Preview::WillFail { reason } => Some(reason),
            Preview::NotLinked => row.not_linked.as_deref(),
            _ => None,
        };
        if let Some(reason) = reason {
            let r = dom::deep_clone(&t.reason);
            r.set_text_content(Some(reason));
            append(&preview, &r);
        }
        if let Some(notice) = state.notice(&row.id) {
            // A notice may quote the merchant's text back (the server's messages do).
            let n = dom.parts_el("span", "fp-notice fp-error", &[Part::Theirs(&notice.text)]);
            set(&n, "data-code", &notice.code);
            append(&preview, &n);
        }
        tr
    }
}
