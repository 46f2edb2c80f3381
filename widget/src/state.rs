//! What the views show: the rows and their checks, the filter, requests under way, notices. The app
//! changes it; the list and the dialog only read it.

use std::collections::HashMap;

use preflight::{Timestamp, Validator};

use crate::model::{self, Filter, Row};

/// A fix or sync that went wrong, shown next to the fulfillment.
#[derive(Clone, Debug)]
pub struct Notice {
    /// What to tell the merchant.
    pub text: String,
    /// The error's stable code.
    pub code: String,
}

/// What is going on with one fulfillment besides its row. Kept apart from the rows so that it outlives
/// a reload of the list.
#[derive(Debug, Default)]
struct Activity {
    /// The request under way, as the row says it ("Syncing…").
    busy: Option<&'static str>,
    /// The last thing that went wrong.
    notice: Option<Notice>,
    /// The idempotency key of a sync whose answer was lost: its retry reuses it.
    retry_key: Option<String>,
}

impl Activity {
    fn is_idle(&self) -> bool {
        self.busy.is_none() && self.notice.is_none() && self.retry_key.is_none()
    }
}

/// The widget's state, as the views read it.
pub struct State {
    /// The shop's validator, once its settings are read.
    pub validator: Option<Validator>,
    /// Every fulfillment, newest first, each with its preview.
    pub rows: Vec<Row>,
    /// The server's clock minus the browser's, in milliseconds.
    pub clock_offset_ms: f64,
    /// The rows shown.
    pub filter: Filter,
    /// What is loading, while the list is.
    pub loading: Option<String>,
    /// How the import of the shop's recent orders from Shopify goes, while it runs or when it stopped.
    pub backfill: Option<String>,
    /// The prompt to connect the shop to TikTok Shop (again), and its button, when it needs it.
    pub connect: Option<(String, &'static str)>,
    /// The shop's version its list was read at (`GET /api/changes` tells when it moved).
    pub version: String,
    /// Each fulfillment with a request under way, a notice or a sync to retry, by id.
    activity: HashMap<String, Activity>,
    /// "Sync all ready": done, total.
    pub bulk: Option<(usize, usize)>,
}

impl State {
    /// Nothing loaded yet.
    pub fn new() -> Self {
        Self {
            validator: None,
            rows: Vec::new(),
            backfill: None,
            connect: None,
            version: String::new(),
            clock_offset_ms: 0.0,
            filter: Filter::All,
            loading: Some("Loading fulfillments…".to_owned()),
            activity: HashMap::new(),
            bulk: None,
        }
    }

    /// The instant to validate at: the browser's clock corrected to the server's.
    pub fn now(&self) -> Timestamp {
        server_now(self.clock_offset_ms)
    }

    /// The rows "Sync all ready" takes now: those it would sync, and no request for them under way.
    pub fn bulk_ready(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| model::in_bulk_sync(r) && self.busy(&r.id).is_none())
    }

    /// The row of a fulfillment.
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.id == id)
    }

    /// The request under way for a fulfillment, as its row says it ("Syncing…").
    pub fn busy(&self, id: &str) -> Option<&'static str> {
        self.activity.get(id).and_then(|a| a.busy)
    }

    /// The last thing that went wrong for a fulfillment.
    pub fn notice(&self, id: &str) -> Option<&Notice> {
        self.activity.get(id).and_then(|a| a.notice.as_ref())
    }

    /// A request for a fulfillment starts: `what` shows on its row, and its last notice goes.
    pub fn start(&mut self, id: &str, what: &'static str) {
        let activity = self.activity.entry(id.to_owned()).or_default();
        activity.busy = Some(what);
        activity.notice = None;
    }

    /// The request under way for a fulfillment ended.
    pub fn finish(&mut self, id: &str) {
        self.update(id, |a| a.busy = None);
    }

    /// Shows `notice` for a fulfillment until its next request (or `clear_notice`).
    pub fn set_notice(&mut self, id: &str, notice: Notice) {
        self.activity.entry(id.to_owned()).or_default().notice = Some(notice);
    }

    /// Takes away a fulfillment's notice.
    pub fn clear_notice(&mut self, id: &str) {
        self.update(id, |a| a.notice = None);
    }

    /// The idempotency key for syncing a fulfillment: the one of a sync whose answer was lost, or a
    /// new one from `new_key`, kept until `forget_retry_key`.
    pub fn retry_key(&mut self, id: &str, new_key: impl FnOnce() -> String) -> String {
        self.activity
            .entry(id.to_owned())
            .or_default()
            .retry_key
            .get_or_insert_with(new_key)
            .clone()
    }

    /// The fulfillment changed or its sync was answered: a new sync is a new request.
    pub fn forget_retry_key(&mut self, id: &str) {
        self.update(id, |a| a.retry_key = None);
    }

    /// Changes a fulfillment's activity, dropping it once nothing is left of it.
    fn update(&mut self, id: &str, change: impl FnOnce(&mut Activity)) {
        if let Some(activity) = self.activity.get_mut(id) {
            change(activity);
            if activity.is_idle() {
                self.activity.remove(id);
            }
        }
    }
}

/// The browser's clock moved by `offset_ms`, the server's clock minus the browser's.
pub fn server_now(offset_ms: f64) -> Timestamp {
    let millis = js_sys::Date::now() + offset_ms;
    // Finite and within the range of a JS Date, as the server's clock is.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a count or a duration, far within the range of the other type"
    )]
    Timestamp::from_unix_millis(millis as i64)
}
