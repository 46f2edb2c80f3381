//! The simulator over HTTP, on the Open API's paths: requests are signed and timestamped as for the
//! real API, every answer is the `{code, message, request_id, data}` envelope.
//!
//! Refusals: a bad `app_key` or signature is HTTP 401 with 106001; a timestamp more than 5 minutes old
//! or 30 seconds ahead (of the real time, not the simulator's clock) is 36009004; over the rate limit is
//! HTTP 429 with 36009002 and `Retry-After` in seconds; business refusals are HTTP 200 with their code.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Json, Router};
use html_escape::{encode_double_quoted_attribute, encode_text};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{sleep, unix_now, Simulator};
use crate::tts::error::{codes, TtsError};
use crate::tts::sign;
use crate::tts::types::{
    Envelope, MarkPackageShippedRequest, OrderDetailData, ShippingProvidersData,
    UpdateShippingInfoRequest,
};

/// Oldest accepted `timestamp`, in seconds before now.
const TIMESTAMP_PAST_SECS: i64 = 300;
/// Newest accepted `timestamp`, in seconds after now.
const TIMESTAMP_FUTURE_SECS: i64 = 30;

pub use super::DEFAULT_DROP_HOLD;

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(0);

/// The simulator's HTTP service.
pub fn router(sim: Simulator) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

/// Serves the simulator on `127.0.0.1` on a free port, in a task; returns the address.
///
/// # Errors
///
/// When the port cannot be bound.
pub async fn spawn_on_loopback(sim: Simulator) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(sim)).await {
            tracing::error!(error = %e, "tts simulator stopped");
        }
    });
    Ok((addr, task))
}

fn request_id() -> String {
    let n = REQUEST_SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{}SIM{n:010}", unix_now())
}

fn answer<T: Serialize>(status: StatusCode, result: Result<T, TtsError>) -> Response {
    let (status, envelope) = match result.and_then(|data| {
        serde_json::to_value(data).map_err(|e| TtsError::api(codes::INTERNAL, e.to_string()))
    }) {
        Ok(data) => (
            status,
            Envelope {
                code: codes::OK,
                message: "Success".to_owned(),
                request_id: request_id(),
                data: Some(data),
            },
        ),
        Err(e) => {
            let (code, message) = match e {
                TtsError::Api { code, message, .. } => (code, message),
                other => (codes::INTERNAL, other.to_string()),
            };
            let status = match code {
                codes::INVALID_SIGNATURE => StatusCode::UNAUTHORIZED,
                codes::INTERNAL => StatusCode::INTERNAL_SERVER_ERROR,
                _ => status,
            };
            (
                status,
                Envelope {
                    code,
                    message,
                    request_id: request_id(),
                    data: None,
                },
            )
        }
    };
    (status, Json(envelope)).into_response()
}

/// `GET /open/authorize?service_id=&state=`: a page naming each seller, each with a button that
/// approves the app as them.
fn authorize_page(sim: &Simulator, query: &[(String, String)]) -> Response {
    let service = param(query, "service_id").unwrap_or_default();
    let state = param(query, "state").unwrap_or_default();
    let mut forms = String::new();
    for (open_id, name) in sim.sellers() {
        forms.push_str(&format!(
            "<form method=\"get\" action=\"/open/authorize/grant\">\
             <input type=\"hidden\" name=\"open_id\" value=\"{}\">\
             <input type=\"hidden\" name=\"state\" value=\"{}\">\
             <button type=\"submit\">Authorize as {}</button></form>",
            encode_double_quoted_attribute(&open_id),
            encode_double_quoted_attribute(state),
            encode_text(&name),
        ));
    }
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
         <title>Authorize the app</title></head><body><main><h1>Authorize the app</h1>\
         <p>The app {} asks to manage your shop's orders and fulfillments.</p>{forms}</main></body></html>",
        encode_text(service),
    );
    (StatusCode::OK, Html(body)).into_response()
}

/// `GET /open/authorize/grant?open_id=&state=`: the seller approved; back to the app's redirect URL
/// with a fresh `code` and the `state` as given.
fn grant(sim: &Simulator, query: &[(String, String)]) -> Response {
    let (Some(redirect), Some(code)) = (
        sim.redirect_url(),
        param(query, "open_id").and_then(|id| sim.authorize(id)),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "unknown seller, or no redirect URL",
        )
            .into_response();
    };
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = param(query, "state").filter(|s| !s.is_empty()) {
        pairs.push(("state", state));
    }
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if redirect.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{redirect}{separator}{query}")).into_response()
}

fn refusal(code: u64, message: &str) -> Response {
    answer::<()>(StatusCode::OK, Err(TtsError::api(code, message)))
}

fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, TtsError> {
    serde_json::from_slice(bytes).map_err(|e| {
        TtsError::api(
            codes::INVALID_PARAMETERS,
            format!("Invalid parameters: {e}"),
        )
    })
}

/// Checks the app key, the signature and the timestamp.
fn authenticate(
    sim: &Simulator,
    uri: &Uri,
    headers: &HeaderMap,
    query: &[(String, String)],
    raw: &[u8],
) -> Result<(), TtsError> {
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let body = (!multipart && !raw.is_empty()).then_some(raw);
    let signed = param(query, "app_key") == Some(sim.app_key())
        && param(query, "sign")
            .is_some_and(|s| sign::verify(sim.app_secret(), uri.path(), query, body, s));
    if !signed {
        return Err(TtsError::api(
            codes::INVALID_SIGNATURE,
            "Invalid credentials: the signature is invalid.",
        ));
    }
    let now = unix_now();
    let fresh = param(query, "timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .is_some_and(|t| t >= now - TIMESTAMP_PAST_SECS && t <= now + TIMESTAMP_FUTURE_SECS);
    if !fresh {
        return Err(TtsError::api(
            codes::INVALID_TIMESTAMP,
            "The timestamp is invalid or expired.",
        ));
    }
    Ok(())
}

async fn handle(
    State(sim): State<Simulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    sleep(sim.latency()).await;
    if sim.take_unavailable() {
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    let query: Vec<(String, String)> = match Query::try_from_uri(&uri) {
        Ok(Query(q)) => q,
        Err(_) => return refusal(codes::INVALID_PARAMETERS, "Invalid query parameters."),
    };
    // The authorization page (services.tiktokshop(s).com), where a seller approves the app.
    if method == Method::GET {
        match uri.path() {
            "/open/authorize" => return authorize_page(&sim, &query),
            "/open/authorize/grant" => return grant(&sim, &query),
            _ => {}
        }
    }
    // The token endpoints (auth.tiktok-shops.com): the app's key and secret in the query, not signed.
    if method == Method::GET {
        let refresh = match uri.path() {
            "/api/v2/token/get" => Some(false),
            "/api/v2/token/refresh" => Some(true),
            _ => None,
        };
        if let Some(refresh) = refresh {
            let (grant, credential) = if refresh {
                ("refresh_token", param(&query, "refresh_token"))
            } else {
                ("authorized_code", param(&query, "auth_code"))
            };
            if param(&query, "grant_type") != Some(grant) {
                return refusal(codes::INVALID_PARAMETERS, "grant_type is invalid.");
            }
            let result = sim.token(
                param(&query, "app_key").unwrap_or_default(),
                param(&query, "app_secret").unwrap_or_default(),
                refresh,
                credential.unwrap_or_default(),
            );
            return match result {
                Ok(grant) => answer(StatusCode::OK, Ok(grant)),
                Err((code, message)) => refusal(code, message),
            };
        }
    }
    if let Err(refused) = authenticate(&sim, &uri, &headers, &query, &raw) {
        return answer::<()>(StatusCode::OK, Err(refused));
    }
    let access_token = headers
        .get("x-tts-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if method == Method::GET && uri.path() == "/authorization/202309/shops" {
        return match sim.authorized_shops(&access_token) {
            Some(shops) => answer(StatusCode::OK, Ok(serde_json::json!({ "shops": shops }))),
            None => refusal(
                super::auth::codes::INVALID_ACCESS_TOKEN,
                "The access token is invalid or expired.",
            ),
        };
    }
    if let Err(throttled) = sim.admit() {
        let mut response = answer::<()>(
            StatusCode::TOO_MANY_REQUESTS,
            Err(TtsError::api(codes::RATE_LIMITED, "Too many requests.")),
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(throttled.retry_after_secs),
        );
        return response;
    }
    let Some(shop) = param(&query, "shop_cipher").map(str::to_owned) else {
        return refusal(codes::INVALID_PARAMETERS, "shop_cipher is required.");
    };
    if !sim.may_act_for(&shop, &access_token) {
        return refusal(
            super::auth::codes::INVALID_ACCESS_TOKEN,
            "The access token is invalid or expired.",
        );
    }
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    let push = match (&method, segments.as_slice()) {
        (&Method::POST, ["fulfillment", "202309", "orders", order_id, "packages"]) => {
            let result =
                body::<MarkPackageShippedRequest>(&raw).and_then(|r| sim.ship(&shop, order_id, &r));
            Some(answer(StatusCode::OK, result))
        }
        (
            &Method::POST,
            ["fulfillment", "202309", "packages", package_id, "shipping_info", "update"],
        ) => {
            let result = body::<UpdateShippingInfoRequest>(&raw)
                .and_then(|r| sim.update_shipping_info(&shop, package_id, &r))
                .map(|()| serde_json::json!({}));
            Some(answer(StatusCode::OK, result))
        }
        _ => None,
    };
    if let Some(response) = push {
        let dropped = sim.take_drop();
        sleep(sim.answer_delay()).await;
        if dropped {
            tokio::time::sleep(sim.drop_hold()).await;
            return refusal_with(
                StatusCode::GATEWAY_TIMEOUT,
                codes::INTERNAL,
                "Gateway timeout.",
            );
        }
        return response;
    }
    let response = match (&method, segments.as_slice()) {
        (&Method::POST, ["order", "202406", "orders", "external_orders"]) => answer(
            StatusCode::OK,
            body::<crate::tts::types::ExternalOrders>(&raw)
                .map(|request| sim.add_external_orders(&shop, &request.orders)),
        ),
        (&Method::POST, ["order", "202406", "orders", "external_order_search"]) => {
            let found = sim.search_external_orders(
                &shop,
                param(&query, "platform").unwrap_or_default(),
                param(&query, "external_order_id").unwrap_or_default(),
            );
            answer(
                StatusCode::OK,
                Ok(crate::tts::types::ExternalOrders {
                    orders: found
                        .into_iter()
                        .map(|id| crate::tts::types::ExternalOrderReference {
                            id,
                            ..crate::tts::types::ExternalOrderReference::default()
                        })
                        .collect(),
                }),
            )
        }
        (&Method::GET, ["fulfillment", "202309", "packages", package_id]) => {
            answer(StatusCode::OK, sim.package(&shop, package_id))
        }
        (&Method::GET, ["order", "202309" | "202507", "orders"]) => {
            let ids: Vec<String> = param(&query, "ids")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if ids.is_empty() || ids.len() > 50 {
                refusal(
                    codes::INVALID_PARAMETERS,
                    "ids must hold 1 to 50 order ids.",
                )
            } else {
                answer(
                    StatusCode::OK,
                    Ok(OrderDetailData {
                        orders: sim.orders(&shop, &ids),
                    }),
                )
            }
        }
        (
            &Method::GET,
            ["logistics", "202309", "delivery_options", option_id, "shipping_providers"],
        ) => answer(
            StatusCode::OK,
            sim.providers(option_id)
                .map(|shipping_providers| ShippingProvidersData { shipping_providers }),
        ),
        _ => refusal_with(
            StatusCode::NOT_FOUND,
            codes::INVALID_PARAMETERS,
            "No such API.",
        ),
    };
    sleep(sim.answer_delay()).await;
    response
}

fn refusal_with(status: StatusCode, code: u64, message: &str) -> Response {
    let mut response = refusal(code, message);
    *response.status_mut() = status;
    response
}
