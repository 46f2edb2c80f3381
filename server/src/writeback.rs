//! Tracking fixes written back to Shopify. A fix made in the widget is held until TikTok Shop has it
//! (the irreversible step); then `fulfillmentTrackingInfoUpdate` tells Shopify, the customer not
//! notified. A throttled or failing Shopify is tried again later, with growing waits, until it agrees;
//! a refusal (`userErrors`) is shown on the row and tried again when the merchant syncs. TikTok Shop is
//! never pushed again for it: its state is already the fix.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::shopify::admin::AdminError;
use crate::state::{blocking, AppState};
use crate::store::{Writeback, WritebackOutcome, WritebackState};
use crate::wire::fulfillment_json;

/// The first wait after a failed attempt; it doubles per attempt up to [`MAX_RETRY_WAIT`].
pub const FIRST_RETRY_WAIT: Duration = Duration::from_secs(30);
/// The longest wait between attempts.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(3600);
/// How often the worker looks for due write-backs.
pub const POLL_EVERY: Duration = Duration::from_secs(10);

/// The wait after `attempts` failed attempts, in milliseconds.
fn retry_wait_ms(attempts: u32) -> i64 {
    let wait = FIRST_RETRY_WAIT.saturating_mul(1 << attempts.min(16));
    i64::try_from(wait.min(MAX_RETRY_WAIT).as_millis()).unwrap_or(i64::MAX)
}

/// Tries one write-back now and records what Shopify said. Answers the outcome, or `None` when the
/// server does not talk to Shopify.
pub async fn attempt(
    state: &AppState,
    shop: &str,
    fulfillment_id: &str,
    writeback: &Writeback,
) -> Option<WritebackOutcome> {
    let admin = state.shopify_admin.clone()?;
    let result = admin
        .update_tracking(
            shop,
            fulfillment_id,
            writeback.company.as_deref(),
            &writeback.tracking_number,
        )
        .await;
    let outcome = match result {
        Ok(()) => WritebackOutcome::Done,
        Err(error @ AdminError::Graphql(_)) if error.user_errors().is_some() => {
            WritebackOutcome::Failed {
                code: error.code().to_owned(),
                message: error.to_string(),
            }
        }
        Err(error) => WritebackOutcome::Retry {
            code: error.code().to_owned(),
            message: error.to_string(),
            next_attempt_at: state
                .clock
                .now_millis()
                .saturating_add(retry_wait_ms(writeback.attempts)),
        },
    };
    let label = match &outcome {
        WritebackOutcome::Done => "done",
        WritebackOutcome::Retry { .. } => "retry",
        WritebackOutcome::Failed { .. } => "failed",
    };
    tracing::info!(
        shop,
        fulfillment_id,
        outcome = label,
        "tracking write-back to Shopify"
    );
    let store = state.store.clone();
    let (s, f, n, o) = (
        shop.to_owned(),
        fulfillment_id.to_owned(),
        writeback.tracking_number.clone(),
        outcome.clone(),
    );
    if let Err(error) = blocking(move || store.record_writeback(&s, &f, &n, &o)).await {
        tracing::warn!(
            shop,
            fulfillment_id,
            code = error.code,
            "write-back not recorded"
        );
    }
    Some(outcome)
}

/// After a push reached TikTok Shop: tries the fulfillment's pending write-back at once. Answers the
/// fulfillment as it is then, when one was tried.
pub async fn after_push(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
) -> Option<(axum::http::StatusCode, Value)> {
    state.shopify_admin.as_ref()?;
    let store = state.store.clone();
    let (s, f) = (shop.to_owned(), fulfillment_id.to_owned());
    let record = blocking(move || store.fulfillment(&s, &f)).await.ok()??;
    let writeback = record
        .writeback
        .filter(|w| w.state == WritebackState::Pending)?;
    attempt(state, shop, fulfillment_id, &writeback).await?;
    let store = state.store.clone();
    let (s, f) = (shop.to_owned(), fulfillment_id.to_owned());
    let record = blocking(move || store.fulfillment(&s, &f)).await.ok()??;
    Some((axum::http::StatusCode::OK, fulfillment_json(&record)))
}

/// The merchant synced a fulfillment TikTok Shop already agrees with: a write-back Shopify refused is
/// tried again now.
pub async fn retry(state: &Arc<AppState>, shop: &str, fulfillment_id: &str) {
    if state.shopify_admin.is_none() {
        return;
    }
    let store = state.store.clone();
    let (s, f) = (shop.to_owned(), fulfillment_id.to_owned());
    if matches!(
        blocking(move || store.retry_writeback(&s, &f)).await,
        Ok(true)
    ) {
        after_push(state, shop, fulfillment_id).await;
    }
}

/// Tries every due write-back once: how many were tried.
pub async fn run_due(state: &AppState) -> usize {
    let store = state.store.clone();
    let now = state.clock.now_millis();
    let due = match blocking(move || store.due_writebacks(now, 50)).await {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(code = error.code, "due write-backs not read");
            return 0;
        }
    };
    for (shop, fulfillment_id, writeback) in &due {
        attempt(state, shop, fulfillment_id, writeback).await;
    }
    due.len()
}

/// Runs [`run_due`] every [`POLL_EVERY`] until the server stops.
pub fn spawn_worker(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(POLL_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            run_due(&state).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_an_hour() {
        assert_eq!(retry_wait_ms(0), 30_000);
        assert_eq!(retry_wait_ms(1), 60_000);
        assert_eq!(retry_wait_ms(7), 3_600_000);
        assert_eq!(retry_wait_ms(u32::MAX), 3_600_000);
    }
}
