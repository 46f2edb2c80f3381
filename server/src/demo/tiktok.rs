//! The demo page's "Change at TikTok Shop" control (demo mode only, with the demo shop's session
//! token): what a buyer or the seller does at TikTok Shop, played on the simulator, which then sends its
//! signed webhook to this server as TikTok Shop would. Nothing here touches our records: the previews
//! follow through the webhook, as they do with a real shop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use preflight::model::read::{Object, Path};
use serde_json::{json, Value};

use super::data::Digits;
use crate::error::ApiError;
use crate::state::{AppState, DemoTiktok};
use crate::tiktok_events::{
    ORDER_STATUS_CHANGE, PACKAGE_UPDATE, SELLER_DEAUTHORIZATION, UPCOMING_AUTHORIZATION_EXPIRATION,
};
use crate::tts::simulator::Simulator;
use crate::tts::types::Order;
use crate::tts::MarkPackageShippedRequest;

/// What happens at TikTok Shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// The buyer cancels the order.
    Cancel,
    /// The seller ships every unit from Seller Center.
    Ship,
    /// The seller ships the first unit alone from Seller Center: the order's package is split.
    Split,
    /// The seller withdraws the app's authorization (no order).
    Deauthorize,
    /// TikTok Shop announces that the authorization ends in 7 days (no order).
    Expiring,
}

impl Change {
    const ALL: [(&'static str, Self); 5] = [
        ("cancel", Self::Cancel),
        ("ship", Self::Ship),
        ("split", Self::Split),
        ("deauthorize", Self::Deauthorize),
        ("expiring", Self::Expiring),
    ];

    /// Whether it concerns the shop rather than one order.
    fn of_shop(self) -> bool {
        matches!(self, Self::Deauthorize | Self::Expiring)
    }
}

/// `{"change": "cancel" | "ship" | "split" | "deauthorize" | "expiring", "fulfillmentId": "…"}`, the
/// fulfillment whose order changes (none for the shop's changes, `deauthorize` and `expiring`).
fn read(text: &str) -> Result<(Option<String>, Change), ApiError> {
    let value = preflight::json::parse(text)?;
    let root = Path::Root;
    let o = Object::new(&value, &root, "an object with `change` and `fulfillmentId`")?;
    o.only(&["fulfillmentId", "change"])?;
    let name = o.required("change", preflight::model::read::any_text)?;
    let change = Change::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "input.invalid_value",
                format!(
                    "unknown change `{name}`, expected `cancel`, `ship`, `split`, `deauthorize` or `expiring`"
                ),
            )
            .at("change")
        })?;
    let id = if change.of_shop() {
        o.optional("fulfillmentId", preflight::model::read::text)?
    } else {
        Some(o.required("fulfillmentId", preflight::model::read::any_text)?)
    };
    Ok((id, change))
}

/// A change as the simulators process takes it at `POST /demo/changes`: `{"change", "cipher",
/// "openId", "orderId"}` (`orderId` only for an order's change).
fn change_json(change: Change, cipher: &str, open_id: &str, order_id: Option<&str>) -> Value {
    let name = Change::ALL
        .iter()
        .find(|(_, c)| *c == change)
        .map_or("", |(n, _)| *n);
    json!({"change": name, "cipher": cipher, "openId": open_id, "orderId": order_id})
}

/// `POST /demo/tiktok-changes` for `shop` with `body`: plays the change on the order the fulfillment
/// is linked to and has the simulator send its webhook; answers `{"orderId", "notificationId"}`.
///
/// # Errors
/// 400 for a malformed body (with the field's path); 404 for an unknown fulfillment or one linked to
/// no order; 409 `demo.change_refused` when TikTok Shop refuses the change (an order shipped already);
/// 502 `demo.simulators_unavailable` when the simulators process does not answer.
pub(crate) async fn play(state: &Arc<AppState>, shop: &str, body: &str) -> Result<Value, ApiError> {
    let (fulfillment_id, change) = read(body)?;
    let (Some(demo), Some((connections, _))) = (&state.demo_tiktok, &state.tiktok) else {
        return Err(ApiError::not_found("route"));
    };
    let tiktok = connections
        .shop(shop)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| ApiError::not_found("tiktok shop"))?;
    let order_id = match fulfillment_id.filter(|_| !change.of_shop()) {
        None => None,
        Some(fulfillment_id) => {
            let record = state
                .store
                .fulfillment(shop, &fulfillment_id)
                .await?
                .ok_or_else(|| ApiError::not_found("fulfillment"))?;
            let order: Order = record
                .tts_order_json
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .ok_or_else(|| ApiError::not_found("order"))?;
            Some(order.id)
        }
    };
    match demo {
        DemoTiktok::Simulator(sim) => {
            play_at(
                sim,
                change,
                &tiktok.cipher,
                &tiktok.open_id,
                order_id.as_deref(),
            )
            .await
        }
        DemoTiktok::Remote { url, http } => {
            let unavailable = |e: reqwest::Error| {
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "demo.simulators_unavailable",
                    format!("the simulators process did not answer: {e}"),
                )
            };
            let body = change_json(change, &tiktok.cipher, &tiktok.open_id, order_id.as_deref());
            let response = http
                .post(format!("{}/demo/changes", url.trim_end_matches('/')))
                .json(&body)
                .send()
                .await
                .map_err(unavailable)?;
            let status =
                StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let answer: Value = response.json().await.map_err(unavailable)?;
            if status.is_success() {
                Ok(answer)
            } else {
                let text = |pointer: &str| answer.pointer(pointer).and_then(Value::as_str);
                let code = text("/error/code").unwrap_or("demo.change_refused");
                let message = text("/error/message").unwrap_or_default();
                Err(ApiError::new(status, code.to_owned(), message.to_owned()))
            }
        }
    }
}

/// The simulator's side of a change (`POST /demo/changes` of a simulators process takes the same):
/// `{"change": …, "cipher": "…", "openId": "…", "orderId": "…"}`, played at `sim`, its webhook sent;
/// answers `{"orderId", "notificationId"}`.
///
/// # Errors
/// 400 for a malformed body (with the field's path); as [`play`] otherwise.
pub async fn play_json(sim: &Simulator, body: &str) -> Result<Value, ApiError> {
    let value = preflight::json::parse(body)?;
    let root = Path::Root;
    let o = Object::new(
        &value,
        &root,
        "an object with `change`, `cipher` and `openId`",
    )?;
    o.only(&["change", "cipher", "openId", "orderId"])?;
    let name = o.required("change", preflight::model::read::any_text)?;
    let change = Change::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "input.invalid_value",
                "unknown change",
            )
            .at("change")
        })?;
    let cipher = o.required("cipher", preflight::model::read::any_text)?;
    let open_id = o.required("openId", preflight::model::read::any_text)?;
    let order_id = o.optional("orderId", preflight::model::read::text)?;
    play_at(sim, change, &cipher, &open_id, order_id.as_deref()).await
}

/// Plays `change` at `sim` for the shop of `cipher` (its seller `open_id`), on `order_id` for an
/// order's change, and has it send its webhook.
async fn play_at(
    sim: &Simulator,
    change: Change,
    cipher: &str,
    open_id: &str,
    order_id: Option<&str>,
) -> Result<Value, ApiError> {
    let Some(order_id) = order_id.filter(|_| !change.of_shop()) else {
        let sent = if change == Change::Expiring {
            let ends = sim.now() + 7 * 24 * 3600;
            let data = json!({
                "message": "Authorization is expiring in 7 days. Please direct the merchant to re-authorize.",
                "expiration_time": ends.to_string(),
            });
            sim.notify(cipher, UPCOMING_AUTHORIZATION_EXPIRATION, data)
                .await
        } else if change == Change::Deauthorize {
            // TikTok Shop tells the app, then the seller's tokens stop working.
            let data = json!({"message": "The seller deauthorized the app."});
            let sent = sim.notify(cipher, SELLER_DEAUTHORIZATION, data).await;
            sim.deauthorize(open_id);
            sent
        } else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "input.missing",
                "an order's change names its order",
            )
            .at("orderId"));
        };
        return Ok(json!({"notificationId": sent.map(|n| n.id)}));
    };
    let (event, data) = apply(sim, cipher, order_id, change)?;
    let notification = sim
        .notify(cipher, event, data)
        .await
        .ok_or_else(|| ApiError::internal("the simulator sent no webhook"))?;
    Ok(json!({"orderId": order_id, "notificationId": notification.id}))
}

/// Plays `change` on the order at the simulator: the event TikTok Shop would send for it, its type
/// and its `data`.
fn apply(
    sim: &Simulator,
    cipher: &str,
    order_id: &str,
    change: Change,
) -> Result<(i64, Value), ApiError> {
    let refused = |e: crate::tts::TtsError| {
        ApiError::new(StatusCode::CONFLICT, "demo.change_refused", e.to_string())
    };
    let whole = match change {
        Change::Cancel => {
            sim.set_order_status(order_id, "CANCELLED");
            let data = json!({"order_id": order_id, "order_status": "CANCELLED", "update_time": sim.now()});
            return Ok((ORDER_STATUS_CHANGE, data));
        }
        Change::Ship => true,
        Change::Split => false,
        Change::Deauthorize | Change::Expiring => {
            return Err(ApiError::internal("no order changes"))
        }
    };
    let order = sim
        .orders(cipher, &[order_id.to_owned()])
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("order"))?;
    let mut units: Vec<String> = order.line_items.iter().map(|l| l.id.clone()).collect();
    if !whole {
        units.truncate(1);
    }
    let provider = order
        .delivery_option_id
        .as_deref()
        .and_then(|option| sim.providers(option).ok())
        .and_then(|providers| providers.into_iter().find(|p| p.name == "USPS"))
        .map_or_else(|| super::data::USPS_ID.to_owned(), |p| p.id);
    // Seller Center buys its USPS labels through TikTok Shipping: a new number each time.
    static LABELS: AtomicU64 = AtomicU64::new(0);
    let seed = u64::try_from(sim.now()).unwrap_or_default() << 16;
    let tracking = Digits(seed + LABELS.fetch_add(1, Ordering::Relaxed)).usps()?;
    sim.add_tiktok_shipping_label(&tracking);
    let shipped = sim
        .ship(
            cipher,
            order_id,
            &MarkPackageShippedRequest {
                order_line_item_ids: units,
                tracking_number: tracking,
                shipping_provider_id: provider,
            },
        )
        .map_err(refused)?;
    let data = json!({
        "package_list": [{"package_id": shipped.package_id, "order_id_list": [order_id]}],
        "update_time": sim.now(),
    });
    Ok((PACKAGE_UPDATE, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_read_with_the_path_of_a_bad_field() {
        assert_eq!(
            read(r#"{"fulfillmentId": "5", "change": "split"}"#)
                .map(|r| r.1)
                .ok(),
            Some(Change::Split)
        );
        let e = read(r#"{"fulfillmentId": "5", "change": "explode"}"#).err();
        assert_eq!(e.as_ref().and_then(ApiError::path), Some("change"));
        let e = read(r#"{"change": "ship"}"#).err();
        assert_eq!(e.as_ref().and_then(ApiError::path), Some("fulfillmentId"));
        assert_eq!(
            read(r#"{"change": "deauthorize"}"#).ok(),
            Some((None, Change::Deauthorize))
        );
    }
}
