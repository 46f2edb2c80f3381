//! Connecting a Shopify shop to its TikTok Shop shop: the widget asks for the authorization page (with
//! a single-use `state` bound to the shop), the seller authorizes the app there, and TikTok Shop sends
//! the browser back to the callback with `code` and `state`. The callback checks the state, turns the
//! code into the seller's tokens, keeps the shop's cipher, and makes the shop's region and seller type
//! its settings (the engine's dated rules read them).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use preflight::{Region, SellerType};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::{settings_text, AppState};
use crate::store::TiktokShop;
use crate::tts::auth::{authorize_url, authorize_url_on};

/// How long a `state` stays good, in milliseconds (TikTok Shop's code lives 30 minutes).
pub const STATE_TTL_MS: i64 = 30 * 60 * 1000;

fn not_configured() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "tiktok.not_configured",
        "this server does not connect shops to TikTok Shop",
    )
}

/// The market of the shop's settings, as TikTok Shop's hosts name it.
async fn market(state: &AppState, shop: &str) -> Result<String, ApiError> {
    let text = settings_text(state, shop).await?;
    let region = text
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| v.get("region").and_then(Value::as_str).map(str::to_owned));
    Ok(region.unwrap_or_else(|| "US".to_owned()))
}

/// `POST /api/tiktok/connect`: `{"url": …}`, the authorization page to open, carrying a new
/// single-use `state` bound to the shop.
pub(crate) async fn start(state: &Arc<AppState>, shop: &str) -> Result<Json<Value>, ApiError> {
    let Some((_, service_id)) = &state.tiktok else {
        return Err(not_configured());
    };
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    state
        .store
        .put_oauth_state(shop, &nonce, state.clock.now_millis())
        .await?;
    let url = match &state.tiktok_authorize_host {
        Some(host) => authorize_url_on(host, service_id, &nonce),
        None => authorize_url(&market(state, shop).await?, service_id, &nonce),
    };
    Ok(Json(json!({ "url": url })))
}

/// How long before the authorization ends the merchant is asked to connect again: 30 days.
pub const EXPIRY_NOTICE_SECS: i64 = 30 * 24 * 3600;

/// `GET /api/tiktok`: the shop's connection, `{connected, needsReconnect, authorizationExpiresAt,
/// expiringSoon, shop: {name, region, sellerType}}`; `authorizationExpiresAt` (RFC 3339) is when the
/// seller's authorization ends (its refresh token's end, or the date an
/// `UPCOMING_AUTHORIZATION_EXPIRATION` announced), `expiringSoon` whether that is within
/// [`EXPIRY_NOTICE_SECS`].
pub(crate) async fn status(
    state: &Arc<AppState>,
    shop_domain: &str,
) -> Result<Json<Value>, ApiError> {
    connection(state, shop_domain)
        .await?
        .map(Json)
        .ok_or_else(not_configured)
}

/// The shop's connection as `GET /api/tiktok` shows it, or `None` when this server does not connect
/// shops to TikTok Shop.
pub(crate) async fn connection(
    state: &AppState,
    shop_domain: &str,
) -> Result<Option<Value>, ApiError> {
    let Some((connections, _)) = &state.tiktok else {
        return Ok(None);
    };
    let failed = |e: crate::tts::connection::ConnectionError| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.code(), e.to_string())
    };
    let shop = connections.shop(shop_domain).await.map_err(failed)?;
    let reconnect = connections
        .needs_reconnect(shop_domain)
        .await
        .map_err(failed)?;
    let ends = shop.as_ref().and_then(|s| s.authorization_expires_at);
    let now = state.clock.now_millis().div_euclid(1000);
    Ok(Some(json!({
        "connected": shop.is_some(),
        "needsReconnect": reconnect,
        "authorizationExpiresAt": ends.map(|at| preflight::Timestamp::from_unix(at).to_string()),
        "expiringSoon": ends.is_some_and(|at| at.saturating_sub(now) <= EXPIRY_NOTICE_SECS),
        "shop": shop.map(|s| json!({
            "name": s.name,
            "region": s.region,
            "sellerType": s.seller_type,
        })),
    })))
}

/// The callback's query: `code` and `state`, or `error`.
#[derive(Debug, Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /tiktok/callback?code=&state=`: where TikTok Shop sends the seller back. A wrong, spent or
/// old `state` is refused and nothing is stored; so is a code TikTok Shop refuses. A callback with no
/// `state` (a seller who installed from TikTok Shop's app store) is told to connect from the Shopify
/// admin, which names the shop. Answers a page for the seller.
pub(crate) async fn callback(
    State(state): State<Arc<AppState>>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    match connect(&state, query).await {
        Ok((shop, tiktok)) => {
            // Back to the app in the shop's admin (the demo page stands in for it in demo mode).
            let back = match &state.demo_shop {
                Some(_) => "/".to_owned(),
                None => format!("https://{shop}/admin/apps/{}", state.shopify.key),
            };
            page(
                StatusCode::OK,
                "TikTok Shop connected",
                &format!(
                    "{} ({}) is connected: fulfillments are checked against this shop now.",
                    tiktok.name, tiktok.region
                ),
                Some(&back),
            )
        }
        Err(error) => page(
            error.status,
            "TikTok Shop not connected",
            &format!("{} ({})", error.message, error.code),
            None,
        ),
    }
}

async fn connect(
    state: &Arc<AppState>,
    query: CallbackQuery,
) -> Result<(String, TiktokShop), ApiError> {
    let bad = |code: &str, message: &str| ApiError::new(StatusCode::BAD_REQUEST, code, message);
    if let Some(error) = query.error {
        let message = format!(
            "TikTok Shop answered `{}`: the app was not authorized.",
            error.chars().take(40).collect::<String>()
        );
        return Err(bad("tiktok.authorization_denied", &message));
    }
    let Some(nonce) = query.state.filter(|s| !s.is_empty()) else {
        return Err(bad(
            "tiktok.no_state",
            "Open Fulfillment Preflight in your Shopify admin and choose Connect TikTok Shop there: it names the Shopify store to connect.",
        ));
    };
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| bad("tiktok.no_code", "TikTok Shop sent no authorization code."))?;
    complete(state, &code, &nonce).await
}

/// Completes an authorization: spends `state` (30 minutes at most, once), turns `code` into the
/// seller's tokens and the shop's cipher, and makes the shop's region and seller type its settings.
/// Answers the Shopify shop and the TikTok Shop shop connected.
///
/// # Errors
/// 400 `tiktok.invalid_state` for a state unknown, spent or old; 400 `tiktok.authorization_refused` or
/// `tiktok.no_shop`; 502 when TikTok Shop does not answer; 404 `tiktok.not_configured`.
pub async fn complete(
    state: &Arc<AppState>,
    code: &str,
    nonce: &str,
) -> Result<(String, TiktokShop), ApiError> {
    let Some((connections, _)) = &state.tiktok else {
        return Err(not_configured());
    };
    let shop = state
        .store
        .take_oauth_state(nonce, state.clock.now_millis(), STATE_TTL_MS)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "tiktok.invalid_state",
                "This authorization link is unknown, used already or too old: start again from the Shopify admin.",
            )
        })?;
    let market = market(state, &shop).await?;
    let tiktok = connections
        .connect(&shop, code, &market)
        .await
        .map_err(|e| {
            let status = match e {
                crate::tts::connection::ConnectionError::Refused(_)
                | crate::tts::connection::ConnectionError::NoShop => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            };
            ApiError::new(status, e.code(), e.to_string())
        })?;
    adopt(state, &shop, &tiktok).await?;
    Ok((shop, tiktok))
}

/// The connected shop's region (when the engine knows it) and seller type become the shop's settings.
async fn adopt(state: &AppState, shop: &str, tiktok: &TiktokShop) -> Result<(), ApiError> {
    let text = settings_text(state, shop).await?;
    let mut settings = text
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({ "region": "US" }));
    if let Some(map) = settings.as_object_mut() {
        if let Some(region) = Region::from_code(&tiktok.region) {
            map.insert("region".into(), json!(region.code()));
        }
        if let Some(kind) = SellerType::ALL
            .into_iter()
            .find(|k| k.code() == tiktok.seller_type)
        {
            map.insert("sellerType".into(), json!(kind.code()));
        }
    }
    let text = settings.to_string();
    // Checked by the engine before it is kept.
    let checked = text.clone();
    state
        .engine
        .run(move || crate::wire::settings_of(Some(&checked)).map(|_| ()))
        .await??;
    Ok(state.store.put_settings(shop, &text).await?)
}

/// A page for the seller; its text enters the page escaped.
fn page(status: StatusCode, title: &str, text: &str, back: Option<&str>) -> Response {
    let link = back.map_or_else(String::new, |href| {
        format!(
            "<p><a href=\"{}\">Back to Fulfillment Preflight</a></p>",
            html_escape::encode_double_quoted_attribute(href)
        )
    });
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>{t}</title></head>\
         <body><main><h1>{t}</h1><p>{p}</p>{link}</main></body></html>",
        t = html_escape::encode_text(title),
        p = html_escape::encode_text(text)
    );
    (status, Html(body)).into_response()
}
