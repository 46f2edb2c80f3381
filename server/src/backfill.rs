//! The backfill on install: the fulfillments of the shop's orders of the last [`BACKFILL_DAYS`] days are
//! read page by page and stored (the fields the engine and the widget read), and each order is linked
//! to its TikTok Shop order, so that the widget is not empty when first opened. Progress is stored
//! after each page: a backfill that stopped (an error, a restart) goes on from its cursor.

use std::sync::Arc;

use serde_json::Value;

use crate::error::ApiError;
use crate::linking;
use crate::state::AppState;
use crate::store::{Backfill, BackfillState, FulfillmentWebhook};
use crate::wire::stored_fulfillment;

/// How far back the backfill reads orders, in days.
pub const BACKFILL_DAYS: i64 = 30;

/// How long an instance's claim on a shop's backfill lasts; renewed at every page. An instance that dies
/// with it leaves the backfill to the next start once it has passed.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(120);

/// Starts the shop's backfill in the background, unless it is done or already running, in this
/// process or another instance ([`crate::store::Store::claim_backfill`]): a first one, or one that
/// stopped (it goes on from its cursor). Either is stored as `running` before this returns, so that
/// the request that started it already sees it.
pub async fn start(state: Arc<AppState>, shop: String) {
    if state.shopify_admin.is_none() {
        return;
    }
    // This run's own name: a run under way, in this process or another, holds the claim.
    let owner = format!("{}/{:016x}", state.instance, rand::random::<u64>());
    let stored = state.store.backfill(&shop).await.map_err(ApiError::from);
    let begun = match stored {
        Ok(Some(b)) if b.state == BackfillState::Done => Ok(false),
        Ok(Some(b)) if b.state == BackfillState::Failed => {
            let resumed = Backfill {
                state: BackfillState::Running,
                error_code: None,
                ..b
            };
            put(&state, &shop, &resumed).await.map(|()| true)
        }
        Ok(Some(_)) => Ok(true),
        Ok(None) => put(&state, &shop, &first(&state)).await.map(|()| true),
        Err(e) => Err(e),
    };
    let begun = match begun {
        Ok(true) => claim(&state, &shop, &owner).await,
        other => other,
    };
    if !matches!(begun, Ok(true)) {
        if let Err(error) = begun {
            tracing::warn!(shop, code = error.code, "backfill not started");
        }
        return;
    }
    tokio::spawn(async move {
        // Stored `done` or `failed`, the claim went with that write; a run that stopped on the
        // store lets go here.
        if let Err(error) = run(&state, &shop, &owner).await {
            tracing::warn!(shop, code = error.code, "backfill stopped");
            let _ = state.store.release_backfill(&shop, &owner).await;
        }
    });
}

/// A backfill not begun: from [`BACKFILL_DAYS`] days ago, no page read.
fn first(state: &AppState) -> Backfill {
    let now = state.clock.now_millis();
    let since = now.saturating_sub(BACKFILL_DAYS * 86_400_000);
    Backfill {
        state: BackfillState::Running,
        since: preflight::Timestamp::from_unix_millis(since).to_string(),
        cursor: None,
        orders_read: 0,
        fulfillments_read: 0,
        error_code: None,
        started_at: now,
    }
}

/// Claims (or renews) the shop's backfill for the run `owner`: whether it is this run's.
async fn claim(state: &AppState, shop: &str, owner: &str) -> Result<bool, ApiError> {
    Ok(state
        .store
        .claim_backfill(shop, owner, crate::store::millis(LEASE))
        .await?)
}

async fn put(state: &AppState, shop: &str, backfill: &Backfill) -> Result<(), ApiError> {
    Ok(state.store.put_backfill(shop, backfill).await?)
}

/// Runs (or resumes) the shop's backfill to its end, under this instance's claim, renewed at every
/// page: a claim lost (this instance stalled past [`LEASE`] and another took over) stops it.
///
/// # Errors
/// The store's errors. Shopify failing stops the backfill as `failed`, with the error's code, to go
/// on from its cursor at the next start.
async fn run(state: &Arc<AppState>, shop: &str, owner: &str) -> Result<(), ApiError> {
    let Some(admin) = state.shopify_admin.clone() else {
        return Ok(());
    };
    let mut backfill = match state.store.backfill(shop).await? {
        Some(b) if b.state == BackfillState::Done => return Ok(()),
        Some(b) => Backfill {
            state: BackfillState::Running,
            error_code: None,
            ..b
        },
        None => first(state),
    };
    put(state, shop, &backfill).await?;
    loop {
        if !claim(state, shop, owner).await? {
            tracing::warn!(shop, "backfill taken over by another instance");
            return Ok(());
        }
        let page = match admin
            .orders_since(shop, &backfill.since, backfill.cursor.as_deref())
            .await
        {
            Ok(page) => page,
            Err(error) => {
                backfill.state = BackfillState::Failed;
                backfill.error_code = Some(error.code().to_owned());
                put(state, shop, &backfill).await?;
                return Ok(());
            }
        };
        for order in &page.orders {
            let mut stored = Vec::new();
            for fulfillment in order.fulfillments_with_order() {
                match store_fulfillment(state, shop, &fulfillment).await {
                    Ok(Some(id)) => stored.push(id),
                    Ok(None) => {}
                    // The store failing stops the backfill where it is, to go on from there.
                    Err(error) => {
                        backfill.state = BackfillState::Failed;
                        backfill.error_code = Some(error.code.clone());
                        put(state, shop, &backfill).await?;
                        return Ok(());
                    }
                }
            }
            backfill.orders_read += 1;
            backfill.fulfillments_read += stored.len() as u64;
            let ids: Vec<&str> = stored.iter().map(String::as_str).collect();
            // An order that does not link says why on its rows; the others go on.
            if let Err(error) = linking::link_unlinked(state, shop, order, &ids).await {
                tracing::warn!(
                    shop,
                    order = order.name,
                    code = error.code,
                    "order not linked"
                );
            }
        }
        backfill.cursor = page.next;
        if backfill.cursor.is_none() {
            backfill.state = BackfillState::Done;
        }
        put(state, shop, &backfill).await?;
        if backfill.state == BackfillState::Done {
            return Ok(());
        }
    }
}

/// Stores a fulfillment read from the Admin API (GraphQL shape) as a webhook would: its id, or `None`
/// when Shopify's answer lacks its id or date.
async fn store_fulfillment(
    state: &AppState,
    shop: &str,
    fulfillment: &Value,
) -> Result<Option<String>, ApiError> {
    let id = fulfillment
        .get("legacyResourceId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let updated_at = fulfillment
        .get("updatedAt")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (Some(id), Some(updated_at)) = (id, updated_at) else {
        return Ok(None);
    };
    let text = stored_fulfillment(&fulfillment.to_string())?;
    state
        .store
        .upsert_fulfillment(
            shop,
            &FulfillmentWebhook {
                fulfillment_id: &id,
                updated_at: &updated_at,
                payload_json: &text,
                event_id: None,
            },
        )
        .await?;
    Ok(Some(id))
}
