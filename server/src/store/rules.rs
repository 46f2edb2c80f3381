//! What every backend of [`super::Store`] decides the same way, apart from its database: the checks of
//! arguments (and the fields their errors name), the pagination cursor, which webhook version wins, how
//! a stored idempotency key answers a request that brings it again, and what a write-back's outcome
//! stores.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use preflight::Timestamp;

use super::{
    FulfillmentPatch, PushState, PushTransition, ShopCredentials, StoreError, StoredResponse,
    UpsertOutcome, Writeback, WritebackOutcome, WritebackState, IDEMPOTENCY_LOCK_TIMEOUT,
    IDEMPOTENCY_RETENTION,
};

/// The longest shop, id or key, in bytes (an idempotency key: in characters).
const MAX_KEY_LEN: usize = 255;
/// What a cursor encodes before the row id.
const CURSOR_PREFIX: &str = "f1:";

/// Every table with a `shop` column, children before parents (pushes name their fulfillment): what
/// [`super::Store::delete_shop`] empties of a shop, in this order.
pub(super) const SHOP_TABLES: [&str; 12] = [
    "pushes",
    "fulfillments",
    "idempotency_keys",
    "webhook_events",
    "shop_settings",
    "shop_credentials",
    "backfills",
    "tiktok_shops",
    "oauth_states",
    "tiktok_events",
    "delivery_option_providers",
    "shop_versions",
];

/// What [`crate::store::Store::lock_fulfillment`] answers when another holder kept the fulfillment
/// past [`crate::store::LOCK_WAIT`].
pub(super) fn held_too_long() -> StoreError {
    StoreError::Unavailable("the fulfillment stayed held by another request".into())
}

/// A duration in milliseconds, saturating.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A stored time (Unix milliseconds) as a timestamp.
pub(super) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

/// A shop's domain: 1 to 255 bytes.
pub(super) fn check_shop(shop: &str) -> Result<(), StoreError> {
    check_id("shop", shop)
}

/// An id or key named `field`: 1 to 255 bytes.
pub(super) fn check_id(field: &'static str, id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > MAX_KEY_LEN {
        return Err(StoreError::invalid(field, "expected 1 to 255 characters"));
    }
    Ok(())
}

/// An idempotency key: 1 to 255 characters.
pub(super) fn check_idempotency_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.chars().count() > MAX_KEY_LEN {
        return Err(StoreError::invalid(
            "idempotency_key",
            "expected 1 to 255 characters",
        ));
    }
    Ok(())
}

/// A payload named `field` is JSON.
pub(super) fn check_json(field: &'static str, text: &str) -> Result<(), StoreError> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| StoreError::invalid(field, format!("not JSON: {e}")))
}

/// A payload named `field`, when given, is JSON.
pub(super) fn check_opt_json(field: &'static str, text: Option<&String>) -> Result<(), StoreError> {
    text.map_or(Ok(()), |t| check_json(field, t))
}

/// The payloads of a patch are JSON.
pub(super) fn check_patch(patch: &FulfillmentPatch) -> Result<(), StoreError> {
    check_opt_json("fulfillment", patch.shopify_json.as_ref())?;
    check_opt_json("tts_order", patch.tts_order_json.as_ref())?;
    check_opt_json("history", patch.history_json.as_ref())?;
    check_opt_json("report", patch.report_json.as_ref())
}

/// A delivery option's providers are JSON.
pub(super) fn check_providers(providers_json: &str) -> Result<(), StoreError> {
    serde_json::from_str::<serde_json::Value>(providers_json)
        .map(|_| ())
        .map_err(|e| StoreError::invalid("providers_json", e.to_string()))
}

/// An authorization's `state` is not empty.
pub(super) fn check_oauth_state(state: &str) -> Result<(), StoreError> {
    if state.is_empty() {
        return Err(StoreError::invalid("state", "empty"));
    }
    Ok(())
}

/// Every token of stored credentials is sealed (never plain).
pub(super) fn check_sealed(credentials: &ShopCredentials) -> Result<(), StoreError> {
    let sealed = |field: &'static str, token: Option<&str>| match token {
        Some(t) if !t.starts_with("v1.") => {
            Err(StoreError::invalid(field, "expected a sealed token"))
        }
        _ => Ok(()),
    };
    sealed("access_token", Some(&credentials.access_token))?;
    sealed("refresh_token", credentials.refresh_token.as_deref())?;
    sealed(
        "previous_refresh_token",
        credentials.previous_refresh_token.as_deref(),
    )
}

/// A webhook's `updated_at`: RFC 3339 with an offset.
pub(super) fn parse_updated_at(text: &str) -> Result<Timestamp, StoreError> {
    Timestamp::parse(text).map_err(|e| StoreError::invalid("updated_at", format!("`{text}`: {e}")))
}

/// What a webhook of `incoming` does to a fulfillment stored with `stored` (its `updated_at` as
/// received). Only values that parsed were stored; one that no longer parses counts as oldest.
pub(super) fn upsert_outcome(incoming: Timestamp, stored: &str) -> UpsertOutcome {
    match Timestamp::parse(stored) {
        Ok(stored) if incoming == stored => UpsertOutcome::Unchanged,
        Ok(stored) if incoming < stored => UpsertOutcome::Stale,
        _ => UpsertOutcome::Updated,
    }
}

/// Checks a transition against the state machine before touching the database.
pub(super) fn check_transition(transition: &PushTransition) -> Result<(), StoreError> {
    let (from, to) = (transition.from, transition.to);
    if !from.can_become(to) {
        return Err(StoreError::IllegalTransition { from, to });
    }
    if matches!(to, PushState::Failed | PushState::NeedsReview) && transition.failure.is_none() {
        return Err(StoreError::invalid(
            "failure",
            format!("a push going to `{to}` needs its failure"),
        ));
    }
    check_opt_json("history", transition.history_json.as_ref())?;
    check_opt_json("tts_order", transition.tts_order_json.as_ref())?;
    check_opt_json("report", transition.report_json.as_ref())
}

/// The cursor of the page after the row `id`: `f1:<id>` in unpadded URL-safe base64.
fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

/// The row id a cursor of [`encode_cursor`] names.
pub(super) fn decode_cursor(cursor: &str) -> Result<i64, StoreError> {
    let bad = || StoreError::InvalidCursor(cursor.to_owned());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let id: i64 = text
        .strip_prefix(CURSOR_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)?;
    if id > 0 {
        Ok(id)
    } else {
        Err(bad())
    }
}

/// Keeps the first `limit` of `rows` (read `limit + 1`, newest first, each with its row id) and
/// answers the cursor of the page after them, `None` on the last page.
pub(super) fn cut_page<T>(rows: &mut Vec<(i64, T)>, limit: u32) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    if more {
        rows.last().map(|(id, _)| encode_cursor(*id))
    } else {
        None
    }
}

/// An idempotency key as stored.
#[derive(Debug)]
pub(super) struct StoredKey {
    /// The fingerprint of the request that first used it.
    pub fingerprint: String,
    /// `in_progress` or `completed`.
    pub state: String,
    /// The answer's status, once completed.
    pub status: Option<u16>,
    /// The answer's body, once completed.
    pub body: Option<String>,
    /// When first used, Unix milliseconds.
    pub created_at: i64,
    /// When last taken by a request, Unix milliseconds.
    pub locked_at: i64,
}

/// How a stored key answers a request that brings it again at `now`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum KeyReuse {
    /// Older than [`IDEMPOTENCY_RETENTION`]: the key counts as new.
    Expired,
    /// The same request finished: answer this.
    Replay(StoredResponse),
    /// Its request died without finishing (held past [`IDEMPOTENCY_LOCK_TIMEOUT`]): this one takes
    /// the key over.
    TakeOver,
}

/// How `stored` answers a request with `fingerprint` at `now`.
///
/// # Errors
/// [`StoreError::IdempotencyMismatch`] for another request; [`StoreError::IdempotencyInProgress`]
/// while the first request still holds the key.
pub(super) fn reuse_key(
    key: &str,
    fingerprint: &str,
    stored: StoredKey,
    now: i64,
) -> Result<KeyReuse, StoreError> {
    if stored.created_at <= now.saturating_sub(millis(IDEMPOTENCY_RETENTION)) {
        return Ok(KeyReuse::Expired);
    }
    if stored.fingerprint != fingerprint {
        return Err(StoreError::IdempotencyMismatch(key.to_owned()));
    }
    if stored.state == "completed" {
        return Ok(KeyReuse::Replay(StoredResponse {
            status: stored.status.unwrap_or(500),
            body: stored.body.unwrap_or_default(),
        }));
    }
    if stored.locked_at > now.saturating_sub(millis(IDEMPOTENCY_LOCK_TIMEOUT)) {
        return Err(StoreError::IdempotencyInProgress(key.to_owned()));
    }
    Ok(KeyReuse::TakeOver)
}

/// What a write-back attempt stores: its state, error code and message, and when it is next due.
pub(super) fn writeback_columns(
    outcome: &WritebackOutcome,
) -> (&'static str, Option<&str>, Option<&str>, Option<i64>) {
    match outcome {
        WritebackOutcome::Done => ("done", None, None, None),
        WritebackOutcome::Retry {
            code,
            message,
            next_attempt_at,
        } => (
            "pending",
            Some(code.as_str()),
            Some(message.as_str()),
            Some(*next_attempt_at),
        ),
        WritebackOutcome::Failed { code, message } => {
            ("failed", Some(code.as_str()), Some(message.as_str()), None)
        }
    }
}

/// The held fix to apply again once Shopify's `tracking_number` was seen: one still held while
/// Shopify holds the number it replaces, or none.
pub(super) fn fix_to_reapply(
    writeback: Option<Writeback>,
    tracking_number: Option<&str>,
) -> Option<Writeback> {
    writeback
        .filter(|w| w.state == WritebackState::Held)
        .filter(|w| tracking_number.is_none() || tracking_number == w.replaces.as_deref())
}
