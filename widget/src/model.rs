//! What the widget shows, without the DOM: the rows read from the sync API, their previews by the
//! engine, the filters and their counts. Pure Rust, tested natively.

use preflight::error::InputError;
use preflight::json::Value;
use preflight::model::read::{Object, Path, Read};
use preflight::model::{Fulfillment, History, TtsOrder};
use preflight::report::{Action, Severity};
use preflight::{Input, Report, Timestamp, Validator, Verdict};

/// A fulfillment's sync status, as the sync API keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// Never pushed successfully.
    NotSynced,
    /// TikTok Shop holds what the fulfillment says.
    Synced,
    /// The last push failed.
    SyncFailed,
}

impl SyncStatus {
    /// The badge's words.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::NotSynced => "Not synced",
            Self::Synced => "Synced",
            Self::SyncFailed => "Sync failed",
        }
    }

    /// The Polaris badge tone.
    #[must_use]
    pub const fn tone(self) -> Tone {
        match self {
            Self::NotSynced => Tone::Neutral,
            Self::Synced => Tone::Success,
            Self::SyncFailed => Tone::Critical,
        }
    }
}

/// A badge tone, as Polaris names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Grey: nothing to act on.
    Neutral,
    /// Green: done.
    Success,
    /// Yellow: look before you act.
    Warning,
    /// Red: failed or will fail.
    Critical,
    /// Blue: ready.
    Info,
}

impl Tone {
    /// The CSS class of a badge that is a button.
    #[must_use]
    pub const fn chip_class(self) -> &'static str {
        match self {
            Self::Neutral => "fp-badge fp-chip fp-tone-neutral",
            Self::Success => "fp-badge fp-chip fp-tone-success",
            Self::Warning => "fp-badge fp-chip fp-tone-warning",
            Self::Critical => "fp-badge fp-chip fp-tone-critical",
            Self::Info => "fp-badge fp-chip fp-tone-info",
        }
    }

    /// The CSS class of the tone.
    #[must_use]
    pub const fn class(self) -> &'static str {
        match self {
            Self::Neutral => "fp-badge fp-tone-neutral",
            Self::Success => "fp-badge fp-tone-success",
            Self::Warning => "fp-badge fp-tone-warning",
            Self::Critical => "fp-badge fp-tone-critical",
            Self::Info => "fp-badge fp-tone-info",
        }
    }
}

/// Why the last push failed, as the sync API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The stable code (ours, or TikTok Shop's number).
    pub code: String,
    /// Why.
    pub reason: String,
    /// What to do.
    pub solution: String,
}

/// Where a tracking fix stands with Shopify, once TikTok Shop has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Writeback {
    /// Shopify is not updated yet: the sync API tries again until it agrees.
    Pending,
    /// Shopify refused the update: its message. Re-sync tries again (TikTok Shop is not pushed again).
    Refused(String),
}

/// A shipped item as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The title (or SKU when there is none).
    pub title: String,
    /// Units.
    pub quantity: u32,
}

/// One fulfillment of the list.
#[derive(Clone, Debug)]
pub struct Row {
    /// The Shopify fulfillment id.
    pub id: String,
    /// Its name, like `#1042.1`.
    pub name: String,
    /// What it ships.
    pub items: Vec<Item>,
    /// The Shopify carrier name, as the merchant typed it.
    pub carrier: Option<String>,
    /// The tracking page, only when it is an `https:` URL.
    pub tracking_url: Option<String>,
    /// What the engine reads; `None` while the fulfillment is linked to no TikTok Shop order.
    pub input: Option<Input>,
    /// The sync status.
    pub status: SyncStatus,
    /// Why the last push failed.
    pub failure: Option<Failure>,
    /// The engine's preview, in the browser.
    pub report: Option<Report>,
    /// Why the row cannot be checked (stored data the engine cannot read).
    pub unreadable: Option<String>,
    /// Where the TikTok Shop order id was found (`note`, `tags`, `manual`, …), when linked.
    pub link_source: Option<String>,
    /// Why the order could not be linked on its own, when it was tried.
    pub not_linked: Option<String>,
    /// A tracking fix not yet (or never) written to Shopify.
    pub writeback: Option<Writeback>,
}

impl Row {
    /// Reads one item of `GET /api/fulfillments`.
    ///
    /// # Errors
    /// An [`InputError`] when the item has no id; what the engine cannot read of a linked fulfillment
    /// becomes [`Row::unreadable`].
    pub fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a fulfillment object")?;
        let id = o.required_id("id")?;
        let status = match o.text("syncStatus")?.as_deref() {
            Some("synced") => SyncStatus::Synced,
            Some("sync_failed") => SyncStatus::SyncFailed,
            _ => SyncStatus::NotSynced,
        };
        let failure = match o.get("failure") {
            Some(v @ Value::Object(_)) => {
                let f = Object::new(v, path, "a failure object")?;
                Some(Failure {
                    code: f.any_text("code")?.unwrap_or_default(),
                    reason: f.text("reason")?.unwrap_or_default(),
                    solution: f.text("solution")?.unwrap_or_default(),
                })
            }
            _ => None,
        };
        let (mut link_source, mut not_linked) = (None, None);
        if let Some(v @ Value::Object(_)) = o.get("link") {
            let l = Object::new(v, path, "a link object")?;
            match l.text("state")?.as_deref() {
                Some("linked") => link_source = l.text("source")?,
                _ => not_linked = l.text("reason")?,
            }
        }
        let writeback = match o.get("shopifyWriteback") {
            Some(v @ Value::Object(_)) => {
                let w = Object::new(v, path, "a write-back object")?;
                match w.text("state")?.as_deref() {
                    Some("pending") => Some(Writeback::Pending),
                    Some("failed") => {
                        let message = match w.get("error") {
                            Some(e @ Value::Object(_)) => {
                                Object::new(e, path, "an error object")?.text("message")?
                            }
                            _ => None,
                        };
                        Some(Writeback::Refused(message.unwrap_or_default()))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let null = Value::Null;
        let fulfillment_value = o.get("fulfillment").unwrap_or(&null);
        let fulfillment_path = path.key("fulfillment");
        let mut row = Self {
            name: format!("Fulfillment {id}"),
            id,
            items: Vec::new(),
            carrier: None,
            tracking_url: tracking_url(fulfillment_value),
            input: None,
            status,
            failure,
            report: None,
            unreadable: None,
            link_source,
            not_linked,
            writeback,
        };
        let fulfillment = match Fulfillment::read(fulfillment_value, &fulfillment_path) {
            Ok(f) => f,
            Err(e) => {
                row.unreadable = Some(e.to_string());
                return Ok(row);
            }
        };
        if let Some(name) = &fulfillment.name {
            row.name.clone_from(name);
        }
        row.carrier.clone_from(&fulfillment.tracking_company);
        row.items = fulfillment
            .line_items
            .iter()
            .map(|item| Item {
                title: item
                    .name
                    .clone()
                    .or_else(|| item.sku.clone())
                    .unwrap_or_else(|| "Item".to_owned()),
                quantity: item.quantity,
            })
            .collect();
        let order_path = path.key("order");
        let history_path = path.key("history");
        let linked = match o.get("order") {
            None | Some(Value::Null) => Ok(None),
            Some(order) => TtsOrder::read(order, &order_path).and_then(|order| {
                let history = match o.get("history") {
                    None | Some(Value::Null) => None,
                    Some(h) => Some(History::read(h, &history_path)?),
                };
                Ok(Some((order, history)))
            }),
        };
        match linked {
            Ok(Some((order, history))) => {
                row.input = Some(Input {
                    fulfillment,
                    order,
                    history,
                    // The sync API has no Get Tracking Validation answers to give yet.
                    tracking_validation: None,
                });
            }
            Ok(None) => {}
            Err(e) => row.unreadable = Some(e.to_string()),
        }
        Ok(row)
    }

    /// The tracking number the fulfillment carries now.
    #[must_use]
    pub fn tracking_number(&self) -> Option<&str> {
        self.input
            .as_ref()
            .and_then(|i| i.fulfillment.tracking_numbers.first())
            .map(String::as_str)
    }

    /// Runs the engine on the row at `now`.
    pub fn revalidate(&mut self, validator: &Validator, now: Timestamp) {
        self.report = self.input.as_ref().map(|i| validator.validate(i, now));
    }

    /// The preview of the row at `now`.
    #[must_use]
    pub fn preview(&self, now: Timestamp) -> Preview {
        let Some(report) = &self.report else {
            return if self.unreadable.is_some() {
                Preview::Unreadable
            } else {
                Preview::NotLinked
            };
        };
        preview_of(report, now)
    }

    /// The provider the push would use, by name.
    #[must_use]
    pub fn provider(&self) -> Option<&str> {
        self.report
            .as_ref()
            .and_then(|r| r.plan.shipping_provider_name.as_deref())
    }

    /// Whether the carrier is a provider the order's delivery option does not offer.
    #[must_use]
    pub fn outside_delivery_option(&self) -> bool {
        self.report.as_ref().is_some_and(|r| {
            r.diagnostics
                .iter()
                .any(|d| d.code == preflight::report::Code::CarrierNotInDeliveryOption)
        })
    }
}

/// A report's preview at `now`.
#[must_use]
pub fn preview_of(report: &Report, now: Timestamp) -> Preview {
    match report.verdict {
        Verdict::Blocked => Preview::WillFail {
            reason: report
                .diagnostics
                .iter()
                .find(|d| d.severity == Severity::Error)
                .map_or("", |d| d.reason),
        },
        Verdict::InSync => Preview::InSync,
        Verdict::Ready => match (report.plan.action, report.update_deadline) {
            (Action::UpdateTracking, Some(deadline)) => Preview::OnlyUpdateLeft {
                seconds_left: deadline.unix_seconds().saturating_sub(now.unix_seconds()),
            },
            _ => Preview::Ready,
        },
    }
}

/// The engine's preview of a row, as the list shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preview {
    /// The push would succeed.
    Ready,
    /// The push would spend the one tracking update, before the window closes.
    OnlyUpdateLeft {
        /// Seconds until the window closes.
        seconds_left: i64,
    },
    /// The push would fail: the first reason.
    WillFail {
        /// The first error's reason.
        reason: &'static str,
    },
    /// TikTok Shop holds what the fulfillment says.
    InSync,
    /// No TikTok Shop order is linked: nothing to check against.
    NotLinked,
    /// The stored data cannot be read.
    Unreadable,
}

impl Preview {
    /// The badge's words and tone.
    #[must_use]
    pub fn badge(self) -> (String, Tone) {
        match self {
            Self::Ready => ("Ready".to_owned(), Tone::Info),
            Self::OnlyUpdateLeft { seconds_left } => (
                format!(
                    "Only update left: window closes in {}",
                    duration(seconds_left)
                ),
                Tone::Warning,
            ),
            Self::WillFail { .. } => ("Will fail".to_owned(), Tone::Critical),
            Self::InSync => ("Up to date".to_owned(), Tone::Neutral),
            Self::NotLinked => ("No TikTok Shop order".to_owned(), Tone::Neutral),
            Self::Unreadable => ("Cannot check".to_owned(), Tone::Warning),
        }
    }

    /// Whether the push would succeed.
    #[must_use]
    pub const fn is_ready(self) -> bool {
        matches!(self, Self::Ready | Self::OnlyUpdateLeft { .. })
    }
}

/// A duration for people: `5 h 12 min`, `45 min`, `less than a minute`.
#[must_use]
pub fn duration(seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    let (hours, minutes) = (minutes / 60, minutes % 60);
    match (hours, minutes) {
        (0, 0) => "less than a minute".to_owned(),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// An instant for people: `2026-11-24 21:50 UTC`.
#[must_use]
pub fn time(at: Timestamp) -> String {
    let text = at.to_string();
    match (text.get(..10), text.get(11..16)) {
        (Some(date), Some(clock)) => format!("{date} {clock} UTC"),
        _ => text,
    }
}

/// A filter of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Every row.
    All,
    /// The last push failed.
    SyncFailed,
    /// The engine predicts a failure.
    WillFail,
    /// Never pushed.
    NotSynced,
    /// Pushed.
    Synced,
}

impl Filter {
    /// Every filter, in the order shown.
    pub const ALL: [Filter; 5] = [
        Self::All,
        Self::SyncFailed,
        Self::WillFail,
        Self::NotSynced,
        Self::Synced,
    ];

    /// Its words.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::SyncFailed => "Sync failed",
            Self::WillFail => "Will fail",
            Self::NotSynced => "Not synced",
            Self::Synced => "Synced",
        }
    }

    /// Its name in the DOM.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::SyncFailed => "sync_failed",
            Self::WillFail => "will_fail",
            Self::NotSynced => "not_synced",
            Self::Synced => "synced",
        }
    }

    /// The filter of a DOM name.
    #[must_use]
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }

    /// Whether `row` passes.
    #[must_use]
    pub fn admits(self, row: &Row, now: Timestamp) -> bool {
        match self {
            Self::All => true,
            Self::SyncFailed => row.status == SyncStatus::SyncFailed,
            Self::WillFail => matches!(row.preview(now), Preview::WillFail { .. }),
            Self::NotSynced => row.status == SyncStatus::NotSynced,
            Self::Synced => row.status == SyncStatus::Synced,
        }
    }
}

/// How many rows pass each filter, in [`Filter::ALL`] order.
#[must_use]
pub fn counts(rows: &[Row], now: Timestamp) -> [usize; 5] {
    let mut counts = [0; 5];
    for row in rows {
        for (count, filter) in counts.iter_mut().zip(Filter::ALL) {
            *count += usize::from(filter.admits(row, now));
        }
    }
    counts
}

/// Whether "Sync all ready" takes the row: a first push the engine finds ready, never tried before,
/// whose tracking number it does not doubt. A tracking update spends the only one TikTok Shop allows,
/// and a push TikTok Shop refused or a doubted number deserves a look, so none is part of a bulk sync.
#[must_use]
pub fn in_bulk_sync(row: &Row) -> bool {
    // A number the engine doubts (another carrier's format, none it knows, several) deserves a look
    // before it is pushed under the carrier named.
    let doubted = |r: &preflight::Report| {
        r.diagnostics
            .iter()
            .any(|d| d.rule == preflight::report::Rule::Tracking && d.severity == Severity::Warning)
    };
    row.status == SyncStatus::NotSynced
        && row.report.as_ref().is_some_and(|r| {
            r.verdict == Verdict::Ready && r.plan.action == Action::Ship && !doubted(r)
        })
}

/// The tracking page of a fulfillment payload, only when it is an `https:` URL: any other scheme
/// (`javascript:`, `data:`, `http:`) is shown as text, never as a link.
#[must_use]
pub fn tracking_url(fulfillment: &Value<'_>) -> Option<String> {
    let url = member(fulfillment, "tracking_url")
        .and_then(string)
        .or_else(|| {
            member(fulfillment, "tracking_urls")
                .and_then(first)
                .and_then(string)
        })
        .or_else(|| {
            member(fulfillment, "trackingInfo")
                .and_then(first)
                .and_then(|info| member(info, "url"))
                .and_then(string)
        })?;
    safe_link(url).then(|| url.to_owned())
}

/// Whether `url` may be a link: `https:` with a host, and nothing that would be read as another scheme.
#[must_use]
pub fn safe_link(url: &str) -> bool {
    let https = url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    let host = url.get(8..).unwrap_or("");
    https
        && !host.is_empty()
        && !host.starts_with('/')
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A member of an object value.
#[must_use]
pub fn member<'v>(value: &'v Value<'v>, key: &str) -> Option<&'v Value<'v>> {
    match value {
        Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// The first element of an array value.
#[must_use]
pub fn first<'v>(value: &'v Value<'v>) -> Option<&'v Value<'v>> {
    match value {
        Value::Array(items) => items.first(),
        _ => None,
    }
}

/// The text of a string value.
#[must_use]
pub fn string<'v>(value: &'v Value<'v>) -> Option<&'v str> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight::json::parse;
    use preflight::Region;

    fn row(json: &str) -> Row {
        let value = parse(json).unwrap();
        Row::read(&value, &Path::Root).unwrap()
    }

    const ORDER: &str = r#"{"id": "576461413038785752", "status": "AWAITING_SHIPMENT",
        "line_items": [{"id": "577086512123755123", "seller_sku": "MUG"}]}"#;

    fn item(carrier: &str, number: &str, status: &str) -> String {
        format!(
            r##"{{"id": "4711", "syncStatus": "{status}", "failure": null,
                "fulfillment": {{"id": 4711, "name": "#1042.1", "status": "success",
                  "tracking_company": "{carrier}", "tracking_number": "{number}",
                  "tracking_url": "javascript:alert(1)",
                  "line_items": [{{"id": 1, "sku": "MUG", "name": "Enamel mug", "quantity": 1}}]}},
                "order": {ORDER}, "history": null}}"##
        )
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-24T12:00:00Z").unwrap()
    }

    #[test]
    fn rows_read_display_fields_and_preview_with_the_engine() {
        let validator = Validator::new(preflight::Settings::new(Region::Us)).unwrap();
        let mut ready = row(&item("UPS", "1Z999AA10123456784", "not_synced"));
        assert_eq!(ready.name, "#1042.1");
        assert_eq!(
            ready.items,
            vec![Item {
                title: "Enamel mug".into(),
                quantity: 1
            }]
        );
        assert_eq!(
            ready.tracking_url, None,
            "a javascript: URL is never a link"
        );
        ready.revalidate(&validator, now());
        assert_eq!(ready.preview(now()), Preview::Ready);
        assert!(in_bulk_sync(&ready));

        let mut failing = row(&item(
            "Bob's Local Courier",
            "1Z999AA10123456784",
            "sync_failed",
        ));
        failing.revalidate(&validator, now());
        assert!(matches!(failing.preview(now()), Preview::WillFail { .. }));
        let rows = [ready, failing];
        assert_eq!(counts(&rows, now()), [2, 1, 1, 1, 0]);

        // A USPS number under UPS: ready, but doubted, so not part of a bulk sync.
        let mut doubted = row(&item("UPS", "9400111899378020048349", "not_synced"));
        doubted.revalidate(&validator, now());
        let report = doubted.report.as_ref().unwrap();
        assert_eq!(report.verdict, Verdict::Ready, "{:?}", report.diagnostics);
        assert!(report
            .diagnostics
            .iter()
            .any(|d| d.code == preflight::report::Code::TrackingCarrierMismatch));
        assert!(!in_bulk_sync(&doubted));
    }

    #[test]
    fn an_unlinked_or_unreadable_row_is_shown_not_refused() {
        let unlinked =
            row(r#"{"id": "1", "fulfillment": {"id": 1, "line_items": []}, "order": null}"#);
        assert_eq!(unlinked.preview(now()), Preview::NotLinked);
        let bad = row(r#"{"id": "2", "fulfillment": {"id": 2, "line_items": "x"}}"#);
        assert_eq!(bad.preview(now()), Preview::Unreadable);
        assert!(bad.unreadable.unwrap().contains("fulfillment.line_items"));
        let why = row(
            r#"{"id": "3", "fulfillment": {"id": 3, "line_items": []}, "order": null,
            "link": {"state": "not_linked", "code": "link.ambiguous", "reason": "The order note names several."}}"#,
        );
        assert_eq!(
            why.not_linked.as_deref(),
            Some("The order note names several.")
        );
        assert_eq!(why.link_source, None);
    }

    #[test]
    fn the_link_and_the_shopify_write_back_are_read() {
        let mut text = item("UPS", "1Z999AA10123456784", "synced");
        text.insert_str(
            text.len() - 1,
            r#", "link": {"state": "linked", "source": "note", "orderId": "5"},
            "shopifyWriteback": {"state": "failed", "trackingNumber": "1Z999AA10123456784",
              "error": {"code": "shopify.user_errors", "message": "Locked"}}"#,
        );
        let r = row(&text);
        assert_eq!(r.link_source.as_deref(), Some("note"));
        assert_eq!(r.writeback, Some(Writeback::Refused("Locked".into())));
        let pending = item("UPS", "1Z999AA10123456784", "synced").replace(
            r#""history": null"#,
            r#""history": null, "shopifyWriteback": {"state": "pending"}"#,
        );
        assert_eq!(row(&pending).writeback, Some(Writeback::Pending));
        let done = item("UPS", "1Z999AA10123456784", "synced").replace(
            r#""history": null"#,
            r#""history": null, "shopifyWriteback": {"state": "done"}"#,
        );
        assert_eq!(row(&done).writeback, None);
    }

    #[test]
    fn durations_and_links() {
        assert_eq!(duration(5 * 3600 + 12 * 60 + 59), "5 h 12 min");
        assert_eq!(duration(45 * 60), "45 min");
        assert_eq!(duration(3 * 3600), "3 h");
        assert_eq!(duration(-5), "less than a minute");
        assert_eq!(time(now()), "2026-11-24 12:00 UTC");
        assert!(safe_link("https://www.ups.com/track?tracknum=1Z"));
        assert!(safe_link("HTTPS://example.com"));
        for bad in [
            "javascript:alert(1)",
            "http://example.com",
            "https:///evil",
            "https://",
            " https://x",
            "https://x\ny",
            "data:text/html,x",
        ] {
            assert!(!safe_link(bad), "{bad}");
        }
    }
}
