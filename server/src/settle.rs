//! Pushes a request left open settle in the background: a push `unknown` (its answer lost), or one
//! `sending` whose request died with its instance, is reconciled with what TikTok Shop holds without
//! waiting for the merchant's next sync, so that the list shows what happened. Only pushes unchanged
//! for [`AppState::abandoned_after`] (twice the push timeout) are taken: by then no request is behind
//! them. Each is claimed with a lease, so that of several instances one works it, and taken under its
//! fulfillment's lock, so that it never races a sync. Nothing is ever pushed from here.

use std::sync::Arc;
use std::time::Duration;

use crate::state::AppState;
use crate::store::millis;
use crate::sync;

/// How often the worker looks for pushes to settle.
pub const POLL_EVERY: Duration = Duration::from_secs(30);
/// How long a claim holds a push: another worker takes it only after, when this one died with it or
/// TikTok Shop could not be read.
pub const LEASE: Duration = Duration::from_secs(5 * 60);
/// The most pushes claimed at once.
const CLAIM_BATCH: u32 = 10;

/// Claims and settles the pushes due, in batches until none is left: how many were settled.
pub async fn run_due(state: &Arc<AppState>) -> usize {
    let mut settled = 0;
    loop {
        let claimed = match state
            .store
            .claim_unsettled_pushes(CLAIM_BATCH, millis(state.abandoned_after()), millis(LEASE))
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(code = error.code(), "open pushes not read");
                return settled;
            }
        };
        if claimed.is_empty() {
            return settled;
        }
        for (shop, fulfillment_id, push_id) in claimed {
            let outcome = match state.store.lock_fulfillment(&shop, &fulfillment_id).await {
                Ok(_held) => sync::settle(state, &shop, &fulfillment_id, push_id).await,
                Err(error) => Err(error.into()),
            };
            match outcome {
                Ok(Some(to)) => {
                    settled += 1;
                    tracing::info!(shop, fulfillment_id, state = %to, "interrupted push settled");
                }
                Ok(None) => {}
                // Left to the lease: tried again once it has passed.
                Err(error) => tracing::warn!(
                    shop,
                    fulfillment_id,
                    code = error.code,
                    "interrupted push not settled"
                ),
            }
        }
    }
}

/// Settles due pushes now and every [`POLL_EVERY`].
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
