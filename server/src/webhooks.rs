//! Shopify's lifecycle and privacy webhooks, each verified by its HMAC (401 on a bad one) and
//! deduplicated by `X-Shopify-Webhook-Id` (a repeat answers 200 and changes nothing):
//!
//! - `app/uninstalled`: the shop's Shopify tokens are deleted at once; its data stays until
//!   `shop/redact`.
//! - `customers/data_request` and `customers/redact`: the server keeps no customer's data (fulfillments
//!   are stored without buyer names, addresses, e-mails or phones), so there is nothing to report or
//!   erase.
//! - `shop/redact` (48 hours after an uninstall): every row of the shop, in every table, is deleted.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use crate::auth;
use crate::error::{ApiError, Body};
use crate::state::AppState;
use crate::store::Platform;

/// A verified delivery: its shop, and whether it is the first with its webhook id.
struct Delivery {
    shop: String,
    first: bool,
}

/// A Shopify webhook's shop, once its HMAC verifies, its topic is one of `topics` and its shop domain
/// is a shop's: 401 `auth.invalid_hmac`, 400 `webhook.unexpected_topic` or `webhook.invalid_shop`
/// otherwise.
pub(crate) fn verified_shop(
    state: &AppState,
    headers: &HeaderMap,
    body: &Body,
    topics: &[&str],
) -> Result<String, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    auth::verify_webhook(
        header("x-shopify-hmac-sha256"),
        body.0.as_bytes(),
        &state.shopify.secret,
        state.shopify.previous_secret.as_deref(),
    )?;
    let topic = header("x-shopify-topic");
    if !topic.is_some_and(|t| topics.contains(&t)) {
        let expected: Vec<String> = topics.iter().map(|t| format!("`{t}`")).collect();
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "webhook.unexpected_topic",
            format!(
                "expected topic {}, got `{}`",
                expected.join(" or "),
                topic.unwrap_or_default()
            ),
        ));
    }
    header("x-shopify-shop-domain")
        .map(str::to_ascii_lowercase)
        .filter(|s| auth::is_shop_host(s))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "webhook.invalid_shop",
                "missing or invalid X-Shopify-Shop-Domain",
            )
        })
}

async fn verify(
    state: &AppState,
    headers: &HeaderMap,
    body: &Body,
    topic: &'static str,
) -> Result<Delivery, ApiError> {
    let shop = verified_shop(state, headers, body, &[topic])?;
    let webhook_id = headers
        .get("x-shopify-webhook-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty());
    let first = match webhook_id {
        Some(id) => state.store.first_delivery(&shop, id).await?,
        // Without an id, every delivery is handled: each of these is idempotent.
        None => true,
    };
    Ok(Delivery { shop, first })
}

fn duplicate() -> Json<Value> {
    Json(json!({"outcome": "duplicate"}))
}

/// `POST /webhooks/shopify/app/uninstalled`: the shop's Shopify tokens are deleted.
pub(crate) async fn app_uninstalled(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let delivery = verify(&state, &headers, &body, "app/uninstalled").await?;
    if !delivery.first {
        return Ok(duplicate());
    }
    let deleted = state
        .store
        .delete_credentials(&delivery.shop, Platform::Shopify)
        .await?;
    state.set_installed(&delivery.shop, false);
    tracing::info!(
        shop = delivery.shop,
        tokens_deleted = deleted,
        "app uninstalled"
    );
    Ok(Json(json!({"outcome": "uninstalled"})))
}

/// `POST /webhooks/shopify/customers/data_request`: no customer's data is stored.
pub(crate) async fn customers_data_request(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let delivery = verify(&state, &headers, &body, "customers/data_request").await?;
    if !delivery.first {
        return Ok(duplicate());
    }
    Ok(Json(json!({"outcome": "no_customer_data_stored"})))
}

/// `POST /webhooks/shopify/customers/redact`: no customer's data is stored, so none to erase.
pub(crate) async fn customers_redact(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let delivery = verify(&state, &headers, &body, "customers/redact").await?;
    if !delivery.first {
        return Ok(duplicate());
    }
    Ok(Json(json!({"outcome": "no_customer_data_stored"})))
}

/// `POST /webhooks/shopify/shop/redact`: every row of the shop is deleted; answers how many, per table.
pub(crate) async fn shop_redact(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let delivery = verify(&state, &headers, &body, "shop/redact").await?;
    // Deleted even on a repeat: the delivery's own record goes with the rest.
    let deleted = state.store.delete_shop(&delivery.shop).await?;
    state.set_installed(&delivery.shop, false);
    let counts: serde_json::Map<String, Value> = deleted
        .into_iter()
        .map(|(table, n)| (table.to_owned(), json!(n)))
        .collect();
    tracing::info!(shop = delivery.shop, "shop redacted");
    Ok(Json(json!({"outcome": "redacted", "deleted": counts})))
}
