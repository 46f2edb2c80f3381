//! Tracking fixes written back to Shopify. A fix made in the widget is held until TikTok Shop has it
//! (the irreversible step); then `fulfillmentTrackingInfoUpdate` tells Shopify, the customer not
//! notified. A throttled or failing Shopify is tried again later, with growing waits, until it agrees;
//! a refusal (`userErrors`, missing access, a shop to reload) is shown on the row and tried again when
//! the merchant syncs. TikTok Shop is never pushed again for it: its state is already the fix. Each
//! attempt first claims the write-back for [`LEASE`], so that the sync that released it and the worker
//! never send it at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::shopify::admin::AdminError;
use crate::shopify::credentials::CredentialsError;
use crate::state::AppState;
use crate::store::{Writeback, WritebackOutcome, WritebackState};
use crate::wire::fulfillment_json;

/// The first wait after a failed attempt; it doubles per attempt up to [`MAX_RETRY_WAIT`].
pub const FIRST_RETRY_WAIT: Duration = Duration::from_secs(30);
/// The longest wait between attempts.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(3600);
/// How often the worker looks for due write-backs.
pub const POLL_EVERY: Duration = Duration::from_secs(10);
/// How long an attempt holds its write-back: another attempt starts only after it.
pub const LEASE: Duration = Duration::from_secs(120);
/// How long a sync waits for the write-back it released; past it the worker carries on.
pub const INLINE_BUDGET: Duration = Duration::from_secs(5);

/// The wait after `attempts` failed attempts, in milliseconds.
fn retry_wait_ms(attempts: u32) -> i64 {
    let wait = FIRST_RETRY_WAIT.saturating_mul(1 << attempts.min(16));
    crate::store::millis(wait.min(MAX_RETRY_WAIT))
}

/// Whether another attempt, later, may succeed with nothing changed.
fn retryable(error: &AdminError) -> bool {
    match error {
        AdminError::Graphql(e) => e.is_retryable(),
        AdminError::Credentials(e) => matches!(
            e,
            CredentialsError::Unavailable(_)
                | CredentialsError::Store(_)
                | CredentialsError::Internal(_)
        ),
    }
}

/// Claims a due write-back for [`LEASE`]: whether this caller has it.
async fn claim(state: &AppState, shop: &str, fulfillment_id: &str) -> bool {
    let now = state.clock.now_millis();
    let until = now.saturating_add(crate::store::millis(LEASE));
    matches!(
        state
            .store
            .claim_writeback(shop, fulfillment_id, now, until)
            .await,
        Ok(true)
    )
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
        // Shopify or the shop must change first (a refusal, missing access, a reload): the merchant's
        // next sync tries again.
        Err(error) if !retryable(&error) => WritebackOutcome::Failed {
            code: error.code().to_owned(),
            message: error.to_string(),
        },
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
    let recorded = state
        .store
        .record_writeback(shop, fulfillment_id, &writeback.tracking_number, &outcome)
        .await;
    if let Err(error) = recorded {
        tracing::warn!(
            shop,
            fulfillment_id,
            code = error.code(),
            "write-back not recorded"
        );
    }
    Some(outcome)
}

/// After a push reached TikTok Shop: tries the fulfillment's pending write-back at once, for at most
/// [`INLINE_BUDGET`] (past it the attempt is left to the worker, after its lease). Answers the
/// fulfillment as it is then, when one was tried.
pub async fn after_push(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
) -> Option<(axum::http::StatusCode, Value)> {
    state.shopify_admin.as_ref()?;
    let record = state.store.fulfillment(shop, fulfillment_id).await.ok()??;
    let writeback = record
        .writeback
        .filter(|w| w.state == WritebackState::Pending)?;
    if !claim(state, shop, fulfillment_id).await {
        return None;
    }
    let _ = tokio::time::timeout(
        INLINE_BUDGET,
        attempt(state, shop, fulfillment_id, &writeback),
    )
    .await;
    let record = state.store.fulfillment(shop, fulfillment_id).await.ok()??;
    Some((axum::http::StatusCode::OK, fulfillment_json(&record)))
}

/// TikTok Shop holds `tracking_number` for the fulfillment (a sync found it agreeing): a fix held or
/// refused goes to Shopify now.
pub async fn release(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    tracking_number: &str,
) {
    if state.shopify_admin.is_none() {
        return;
    }
    if matches!(
        state
            .store
            .release_writeback(shop, fulfillment_id, tracking_number)
            .await,
        Ok(true)
    ) {
        after_push(state, shop, fulfillment_id).await;
    }
}

/// Tries every due write-back once (each claimed first): how many were tried.
pub async fn run_due(state: &AppState) -> usize {
    let now = state.clock.now_millis();
    let due = match state.store.due_writebacks(now, 50).await {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(code = error.code(), "due write-backs not read");
            return 0;
        }
    };
    let mut tried = 0;
    for (shop, fulfillment_id, writeback) in &due {
        if claim(state, shop, fulfillment_id).await {
            attempt(state, shop, fulfillment_id, writeback).await;
            tried += 1;
        }
    }
    tried
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
