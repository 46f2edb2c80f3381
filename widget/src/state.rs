//! What the views show: the rows and their checks, the filter, requests under way, notices. The app
//! changes it; the list and the dialog only read it.

use std::collections::HashMap;

use preflight::{Region, Timestamp, Validator};

use crate::model::{self, Filter, Row};

/// A fix or sync that went wrong, shown next to the fulfillment.
#[derive(Clone, Debug)]
pub struct Notice {
    /// What to tell the merchant.
    pub text: String,
    /// The error's stable code.
    pub code: String,
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
    /// Rows with a request under way, and what it does.
    pub busy: HashMap<String, &'static str>,
    /// The last thing that went wrong for a row.
    pub notices: HashMap<String, Notice>,
    /// "Sync all ready": done, total.
    pub bulk: Option<(usize, usize)>,
}

impl State {
    /// Nothing loaded yet.
    pub fn new() -> Self {
        Self {
            validator: None,
            rows: Vec::new(),
            clock_offset_ms: 0.0,
            filter: Filter::All,
            loading: Some("Loading fulfillments…".to_owned()),
            busy: HashMap::new(),
            notices: HashMap::new(),
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
            .filter(|r| model::in_bulk_sync(r) && !self.busy.contains_key(&r.id))
    }

    /// The shop's TikTok Shop market.
    pub fn region(&self) -> Region {
        self.validator
            .as_ref()
            .map_or(Region::Us, |v| v.settings().region)
    }

    /// The row of a fulfillment.
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.id == id)
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
