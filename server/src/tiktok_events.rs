//! TikTok Shop's webhooks at `POST /webhooks/tiktok`: verified (the `Authorization` header signs the
//! raw body), kept once by their `tts_notification_id`, answered at once, and worked off by a worker:
//! an order that changed (`ORDER_STATUS_CHANGE`, `PACKAGE_UPDATE`, `CANCELLATION_STATUS_CHANGE`) is
//! read again and the previews of its fulfillments follow; `SELLER_DEAUTHORIZATION` asks the merchant to
//! connect again; `UPCOMING_AUTHORIZATION_EXPIRATION` keeps the date the authorization ends.
//!
//! Events (TikTok Shop partner docs, "Webhooks overview" and each event's page): the envelope is
//! `{type, tts_notification_id, shop_id, timestamp, data}`; TikTok Shop retries a delivery not answered
//! 200 within 3 seconds at +2 min, +30 min, +3 h and +12 h.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::TiktokEvent;
use crate::sync;

/// `ORDER_STATUS_CHANGE`.
pub const ORDER_STATUS_CHANGE: i64 = 1;
/// `PACKAGE_UPDATE`.
pub const PACKAGE_UPDATE: i64 = 4;
/// `SELLER_DEAUTHORIZATION`.
pub const SELLER_DEAUTHORIZATION: i64 = 6;
/// `UPCOMING_AUTHORIZATION_EXPIRATION`.
pub const UPCOMING_AUTHORIZATION_EXPIRATION: i64 = 7;
/// `CANCELLATION_STATUS_CHANGE`.
pub const CANCELLATION_STATUS_CHANGE: i64 = 11;

/// How many events a worker claims at a time.
pub const CLAIM_BATCH: u32 = 10;

/// How long a worker holds the events it claimed: an event whose work failed, or whose worker died,
/// is worked again once it has passed.
pub const CLAIM_LEASE: Duration = Duration::from_secs(120);

/// How often the worker looks for events left over (a restart, a failed step), besides being woken by
/// each new one.
pub const POLL_EVERY: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    event_type: i64,
    tts_notification_id: String,
    shop_id: String,
    #[serde(default)]
    data: Value,
}

/// `POST /webhooks/tiktok`: 401 `auth.invalid_signature` for a bad signature; 400 for a body that is
/// not an event; 200 `{"outcome": "queued" | "duplicate" | "unknown_shop"}` otherwise, before any work.
pub(crate) async fn receive(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some((connections, _)) = &state.tiktok else {
        return Err(ApiError::not_found("route"));
    };
    let signature = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !connections.verify_webhook(&body, signature) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth.invalid_signature",
            "the webhook's signature does not match its body",
        ));
    }
    let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "input.invalid_event",
            format!("not a TikTok Shop event: {e}"),
        )
    })?;
    let Some(shop) = state.store.shop_of_tiktok(&envelope.shop_id).await? else {
        tracing::warn!(
            tts_shop = envelope.shop_id,
            event_type = envelope.event_type,
            "a TikTok Shop event for a shop not connected"
        );
        return Ok(Json(json!({ "outcome": "unknown_shop" })));
    };
    let event = TiktokEvent {
        notification_id: envelope.tts_notification_id,
        shop,
        event_type: envelope.event_type,
        data_json: envelope.data.to_string(),
        received_at: state.clock.now_millis(),
    };
    let fresh = state.store.enqueue_tiktok_event(&event).await?;
    if fresh {
        state.tiktok_events.notify_one();
    }
    Ok(Json(
        json!({ "outcome": if fresh { "queued" } else { "duplicate" } }),
    ))
}

/// The TikTok Shop order ids an event names.
fn order_ids(event_type: i64, data: &Value) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match event_type {
        ORDER_STATUS_CHANGE | CANCELLATION_STATUS_CHANGE => {
            data.get("order_id").and_then(text).into_iter().collect()
        }
        PACKAGE_UPDATE => {
            let mut ids: Vec<String> = data
                .get("package_list")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("order_id_list").and_then(Value::as_array))
                .flatten()
                .filter_map(text)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        }
        _ => Vec::new(),
    }
}

/// Works off one event.
async fn work(state: &Arc<AppState>, event: &TiktokEvent) -> Result<(), ApiError> {
    let data: Value = serde_json::from_str(&event.data_json).unwrap_or(Value::Null);
    match event.event_type {
        SELLER_DEAUTHORIZATION => {
            if let Some((connections, _)) = &state.tiktok {
                connections.mark_reconnect(&event.shop).await.map_err(|e| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.code(), e.to_string())
                })?;
            }
        }
        UPCOMING_AUTHORIZATION_EXPIRATION => {
            // Unix seconds, as a string in TikTok Shop's example and a number in some deliveries.
            let at = data.get("expiration_time").and_then(|v| match v {
                Value::String(s) => s.parse::<i64>().ok(),
                other => other.as_i64(),
            });
            // A date in seconds between a year ago and ten years on; anything else is no date.
            let now = state.clock.now_millis().div_euclid(1000);
            let year = 366 * 24 * 3600;
            if let Some(at) = at.filter(|at| (now - year..=now + 10 * year).contains(at)) {
                state.store.set_tiktok_expiry(&event.shop, at).await?;
            }
        }
        kind => {
            for order_id in order_ids(kind, &data) {
                let fulfillments = state
                    .store
                    .fulfillments_of_order(&event.shop, &order_id)
                    .await?;
                for fulfillment in fulfillments {
                    let _held = state
                        .store
                        .lock_fulfillment(&event.shop, &fulfillment)
                        .await?;
                    sync::reread_order(state, &event.shop, &fulfillment).await?;
                }
            }
        }
    }
    Ok(())
}

/// Works off the pending events no other worker holds, [`CLAIM_BATCH`] claimed at a time until none
/// is left: how many were done. An event whose work failed stays claimed until its lease passes, and
/// is then tried again.
pub async fn run_pending(state: &Arc<AppState>) -> usize {
    let mut done = 0;
    loop {
        let lease = crate::store::millis(CLAIM_LEASE);
        let claimed = match state.store.claim_tiktok_events(CLAIM_BATCH, lease).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(code = error.code(), "pending TikTok Shop events not read");
                return done;
            }
        };
        if claimed.is_empty() {
            return done;
        }
        done += work_off(state, claimed).await;
    }
}

/// Works off claimed events: how many were done.
async fn work_off(state: &Arc<AppState>, claimed: Vec<TiktokEvent>) -> usize {
    let mut done = 0;
    for event in claimed {
        match work(state, &event).await {
            Ok(()) => {
                if state
                    .store
                    .finish_tiktok_event(&event.notification_id)
                    .await
                    .is_ok()
                {
                    done += 1;
                }
            }
            Err(error) => tracing::warn!(
                shop = event.shop,
                event_type = event.event_type,
                code = error.code,
                "TikTok Shop event not worked off yet"
            ),
        }
    }
    done
}

/// Works off events as they come (and every [`POLL_EVERY`]) until the server stops.
pub fn spawn_worker(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            run_pending(&state).await;
            let _ = tokio::time::timeout(POLL_EVERY, state.tiktok_events.notified()).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_name_their_orders() {
        let order = json!({"order_id": "576486316948490001", "order_status": "CANCEL"});
        assert_eq!(
            order_ids(ORDER_STATUS_CHANGE, &order),
            ["576486316948490001"]
        );
        let package = json!({"sc_type": "SPLIT", "package_list": [
            {"package_id": "1", "order_id_list": ["5", "6"]},
            {"package_id": "2", "order_id_list": ["5"]}]});
        assert_eq!(order_ids(PACKAGE_UPDATE, &package), ["5", "6"]);
        assert!(order_ids(SELLER_DEAUTHORIZATION, &order).is_empty());
    }
}
