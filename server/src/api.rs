//! The HTTP API: JSON in camelCase, every error `{ "error": { "code", "message" } }`.
//!
//! `/api/*` takes a Shopify session token and scopes every row by its shop; the webhook takes
//! Shopify's HMAC. Bodies are capped at [`MAX_BODY_BYTES`] and every request has a timeout.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth::{self, Session};
use crate::delivery_options::settings as shop_settings;
pub use crate::error::ApiError;
use crate::error::{Body, Query};
use crate::shopify::credentials::CredentialsError;
use crate::state::settings_text;
pub use crate::state::{AppState, Pages};
use crate::store::{FulfillmentQuery, FulfillmentWebhook, SyncStatusKind, UpsertOutcome};
use crate::webhooks;
use crate::wire::{fulfillment_json, mappings_json, settings_of};
use preflight::json::ToJson;
use preflight::{
    CarrierMapping, InputError, InputErrorKind, Region, Settings, Timestamp, Validator,
};

pub use crate::error::MAX_BODY_BYTES;

/// The longest tracking number `PUT /api/fulfillments/{id}/tracking` takes, in characters: the engine's
/// one bound, which also blocks a longer number that comes from a webhook.
pub use preflight::carrier::MAX_TRACKING_NUMBER_CHARS;

/// How long a request may take before it answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The verified shop of an `/api/*` request.
pub struct ShopSession(pub Session);

impl FromRequestParts<Arc<AppState>> for ShopSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let session = auth::verify_bearer(header, &state.shopify)?;
        install_on_first_request(state, &session, header).await?;
        Ok(Self(session))
    }
}

/// On a shop's first request, its session token is exchanged for a Shopify access token (kept sealed).
/// A refused session token or authorization is 401; Shopify unavailable is logged and retried on the
/// next request.
async fn install_on_first_request(
    state: &Arc<AppState>,
    session: &Session,
    header: Option<&str>,
) -> Result<(), ApiError> {
    let Some(tokens) = &state.shopify_tokens else {
        return Ok(());
    };
    if state.is_installed(&session.shop) {
        return Ok(());
    }
    let bearer = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    match tokens.access_token(&session.shop, bearer).await {
        Ok(_) => {
            state.set_installed(&session.shop, true);
            // The shop's recent orders, so that the widget is not empty on first open.
            crate::backfill::start(state.clone(), session.shop.clone()).await;
            Ok(())
        }
        Err(CredentialsError::InvalidSessionToken) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth.invalid_token",
            "Shopify refused the session token",
        )),
        // The app is not installed for Shopify (or its authorization was withdrawn): nothing of the
        // shop is served until a reload authorizes it again.
        Err(CredentialsError::ReloadNeeded) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "shopify.reload_needed",
            "Shopify did not authorize the app for this shop: reload the app",
        )),
        Err(error) => {
            tracing::warn!(
                shop = session.shop,
                code = error.code(),
                "no Shopify access token yet"
            );
            Ok(())
        }
    }
}

/// The API's routes, with body cap, timeout and CORS allow-list. Every answer under `/api/` carries
/// `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`, errors included; served folders
/// serve only what lies inside them.
pub fn router(state: Arc<AppState>) -> Router {
    let origins: Vec<HeaderValue> = state
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderName::from_static("idempotency-key"),
        ]);
    let api = Router::new()
        .route("/validate", post(validate))
        .route("/carriers", get(carriers))
        .route("/settings", get(get_settings))
        .route(
            "/settings/carrier-mappings",
            get(get_mappings).put(put_mappings),
        )
        .route("/fulfillments", get(list_fulfillments))
        .route("/backfill", get(get_backfill))
        .route("/changes", get(get_changes))
        .route("/tiktok", get(tiktok_status))
        .route("/tiktok/connect", post(tiktok_connect))
        .route("/fulfillments/{id}", get(get_fulfillment))
        .route(
            "/fulfillments/{id}/tts-order",
            axum::routing::put(link_order),
        )
        .route(
            "/fulfillments/{id}/tracking",
            axum::routing::put(put_tracking),
        )
        .route("/fulfillments/{id}/sync", post(sync_fulfillment))
        .fallback(api_not_found)
        .layer(timeout())
        // Outside the timeout, so that every answer under `/api/` has them, a 408 too.
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/webhooks/shopify/fulfillments", post(fulfillment_webhook))
        .route("/tiktok/callback", get(crate::connect::callback))
        .route("/webhooks/tiktok", post(crate::tiktok_events::receive))
        .route(
            "/webhooks/shopify/app/uninstalled",
            post(webhooks::app_uninstalled),
        )
        .route(
            "/webhooks/shopify/customers/data_request",
            post(webhooks::customers_data_request),
        )
        .route(
            "/webhooks/shopify/customers/redact",
            post(webhooks::customers_redact),
        )
        .route("/webhooks/shopify/shop/redact", post(webhooks::shop_redact));
    let router = if state.demo_shop.is_some() {
        router
            .route("/demo/token", get(demo_token))
            .route("/demo/tiktok-changes", post(demo_tiktok_change))
    } else {
        router
    };
    let router = match state.pages.clone() {
        Some(pages) => {
            let mut served = Router::new();
            if let Some(pkg) = pages.pkg {
                served = served.nest_service("/pkg", files(pkg));
            }
            let served = served
                .fallback_service(files(pages.www))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    page_headers,
                ))
                .with_state(state.clone());
            router.fallback_service(served)
        }
        None => router,
    };
    router
        .layer(timeout())
        .nest("/api", api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors)
        .with_state(state)
}

/// The timeout of every request: 408 past [`REQUEST_TIMEOUT`].
fn timeout() -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT)
}

/// Any other path under `/api/`: 404 `not_found`.
async fn api_not_found() -> ApiError {
    ApiError::not_found("route")
}

/// A folder served as files, only what lies inside it once symlinks are resolved: a link to a file
/// outside answers 404.
fn files(root: std::path::PathBuf) -> Router {
    Router::new()
        .fallback_service(tower_http::services::ServeDir::new(&root))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(root),
            only_inside,
        ))
}

/// Lets a request for a file through only when the file resolves inside the folder (see
/// [`resolves_inside`]); 404 otherwise.
async fn only_inside(
    State(root): State<Arc<std::path::PathBuf>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let requested = request.uri().path().to_owned();
    let inside = tokio::task::spawn_blocking(move || resolves_inside(&root, &requested))
        .await
        .unwrap_or(false);
    if inside {
        next.run(request).await
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Whether the file `ServeDir` serves for the URI path `requested` under `root` (the folder's
/// `index.html` for the folder) lies inside `root` once both are canonicalized. A path `ServeDir`
/// refuses or does not find passes: it answers 404 itself.
fn resolves_inside(root: &std::path::Path, requested: &str) -> bool {
    use std::path::Component;
    let Ok(root) = root.canonicalize() else {
        return false;
    };
    let Ok(decoded) =
        percent_encoding::percent_decode_str(requested.trim_start_matches('/')).decode_utf8()
    else {
        return true;
    };
    let mut path = root.clone();
    for component in std::path::Path::new(&*decoded).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    let Ok(real) = path.canonicalize() else {
        return true;
    };
    if !real.starts_with(&root) {
        return false;
    }
    if real.is_dir() {
        return real
            .join("index.html")
            .canonicalize()
            .map_or(true, |index| index.starts_with(&root));
    }
    true
}

async fn healthz(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(json!({ "ok": true })))
}

#[derive(Deserialize)]
struct NowQuery {
    now: Option<String>,
}

/// An instant as RFC 3339 in UTC with milliseconds (`2026-11-24T21:50:00.123Z`).
fn rfc3339_millis(millis: i64) -> String {
    let whole = Timestamp::from_unix(millis.div_euclid(1000)).to_string();
    let seconds = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{seconds}.{:03}Z", millis.rem_euclid(1000))
}

/// `POST /api/validate`: the engine, natively, on one input (the same JSON as the JS API's). The
/// settings and the body are read, validated and the report written on the engine pool.
async fn validate(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
    Query(query): Query<NowQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let now = match query.now {
        Some(now) => preflight::parse_now(&now)?,
        None => state.now(),
    };
    let settings = crate::delivery_options::shop_settings(&state, &session.shop).await?;
    let report = state
        .engine
        .run(move || -> Result<String, ApiError> {
            let validator = Validator::new(settings.read()?)?;
            let input = preflight::from_json::<preflight::Input>(&body.0)?;
            Ok(validator.validate(&input, now).to_json())
        })
        .await??;
    Ok(json_text(StatusCode::OK, report))
}

/// An answer whose body is JSON text already.
fn json_text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct RegionQuery {
    region: Option<String>,
}

/// `GET /api/carriers`: the TikTok Shop providers of the shop's region (or `?region=`).
async fn carriers(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
    Query(query): Query<RegionQuery>,
) -> Result<Response, ApiError> {
    let region = match query.region {
        Some(code) => Region::from_code(&code).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "input.unknown_region",
                format!("unknown region `{code}`, expected one of `US`, `UK`"),
            )
        })?,
        None => shop_settings(&state, &session.shop).await?.region,
    };
    Ok(json_text(
        StatusCode::OK,
        preflight::carrier::catalog::providers(region).to_json(),
    ))
}

/// `GET /api/settings`: the shop's settings as the engine reads them (`region`, `carrierMappings`,
/// `shippingProviders`, `policy`), the defaults when never saved.
async fn get_settings(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
) -> Result<Response, ApiError> {
    let settings = shop_settings(&state, &session.shop).await?;
    Ok(json_text(StatusCode::OK, settings.to_json()))
}

/// `GET /api/settings/carrier-mappings`.
async fn get_mappings(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
) -> Result<Response, ApiError> {
    let settings = shop_settings(&state, &session.shop).await?;
    Ok(json_text(
        StatusCode::OK,
        mappings_json(&settings.carrier_mappings),
    ))
}

/// `PUT /api/settings/carrier-mappings`: `{"carrierMappings": [...]}`, each checked against the
/// region's providers before it is saved.
async fn put_mappings(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
    body: Body,
) -> Result<Response, ApiError> {
    // Checked against the market's catalog as the stored settings restrict it: a provider only a
    // delivery option's list names may leave that list, and a mapping to it would then name nothing.
    let stored = settings_text(&state, &session.shop).await?;
    let settings = state
        .engine
        .run(move || -> Result<Settings, ApiError> {
            let mappings = read_mappings(&body.0)?;
            let mut settings = settings_of(stored.as_deref())?;
            let mut validator = Validator::new(settings.clone())?;
            // Its errors name the field, like `carrierMappings[0].to`.
            validator.set_carrier_mappings(mappings.clone())?;
            settings.carrier_mappings = mappings;
            Ok(settings)
        })
        .await??;
    let json = settings.to_json();
    state.store.put_settings(&session.shop, &json).await?;
    Ok(json_text(
        StatusCode::OK,
        mappings_json(&settings.carrier_mappings),
    ))
}

/// The mappings of a `{"carrierMappings": [...]}` body, read by the engine's reader.
fn read_mappings(text: &str) -> Result<Vec<CarrierMapping>, InputError> {
    use preflight::model::read::{Object, Path as ReadPath};
    let value = preflight::json::parse(text)?;
    let root = ReadPath::Root;
    let o = Object::new(&value, &root, "an object with `carrierMappings`")?;
    o.only(&["carrierMappings"])?;
    o.required("carrierMappings", preflight::model::read::list_of)
}

/// The `X-Shopify-Topic`s the fulfillment webhook takes.
const FULFILLMENT_TOPICS: [&str; 2] = ["fulfillments/create", "fulfillments/update"];

/// `POST /webhooks/shopify/fulfillments`: `fulfillments/create|update`, verified by HMAC,
/// deduplicated on `X-Shopify-Event-Id`, idempotent per fulfillment id and `updated_at`. Another
/// topic, or none, answers 400 `webhook.unexpected_topic` and stores nothing.
async fn fulfillment_webhook(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let shop = webhooks::verified_shop(&state, &headers, &body, &FULFILLMENT_TOPICS)?;
    let event_id = headers
        .get("x-shopify-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (text, id, updated_at, tracking_number) = state
        .engine
        .run(move || -> Result<_, ApiError> {
            let (id, updated_at, tracking_number) = webhook_identity(&body.0)?;
            // Only what the engine and the widget read is stored: no buyer's data.
            let text = crate::wire::stored_fulfillment(&body.0)?;
            Ok((text, id, updated_at, tracking_number))
        })
        .await??;
    let outcome = state
        .store
        .upsert_fulfillment(
            &shop,
            &FulfillmentWebhook {
                fulfillment_id: &id,
                updated_at: &updated_at,
                payload_json: &text,
                event_id: event_id.as_deref(),
            },
        )
        .await?;
    if matches!(outcome, UpsertOutcome::Inserted | UpsertOutcome::Updated) {
        // What Shopify holds now settles a tracking write-back; a fix held here that Shopify does
        // not have yet stays in the stored payload.
        let seen = state
            .store
            .shopify_tracking_seen(&shop, &id, tracking_number.as_deref())
            .await;
        let reapplied = match seen {
            Ok(Some(held)) => {
                let kept = async {
                    let _held = state.store.lock_fulfillment(&shop, &id).await?;
                    crate::sync::set_tracking_number(&state, &shop, &id, &held.tracking_number)
                        .await
                }
                .await;
                if let Err(error) = kept {
                    tracing::warn!(
                        shop,
                        fulfillment_id = id,
                        code = error.code,
                        "held fix not kept"
                    );
                    false
                } else {
                    true
                }
            }
            Ok(None) => false,
            Err(error) => {
                tracing::warn!(
                    shop,
                    fulfillment_id = id,
                    code = error.code(),
                    "write-back not settled"
                );
                false
            }
        };
        crate::linking::spawn_link(state.clone(), shop.clone(), id.clone());
        // The preview follows the merchant's edit (the held fix's write computed it already); a
        // failure here must not fail the webhook, which Shopify would send again.
        if !reapplied {
            if let Err(error) = crate::sync::refresh_preview(&state, &shop, &id).await {
                tracing::warn!(
                    shop,
                    fulfillment_id = id,
                    code = error.code,
                    "preview not refreshed"
                );
            }
        }
    }
    Ok(Json(json!({ "outcome": outcome })))
}

/// A fulfillment webhook's id, `updated_at` and first tracking number, checked by the engine's
/// reader.
fn webhook_identity(text: &str) -> Result<(String, String, Option<String>), InputError> {
    use preflight::model::read::{Object, Path as ReadPath, Read};
    let value = preflight::json::parse(text)?;
    let root = ReadPath::Root;
    let o = Object::new(&value, &root, "a Shopify fulfillment object")?;
    let id = o.required_id("id")?;
    let updated_at = o.required("updated_at", preflight::model::read::any_text)?;
    o.required("updated_at", preflight::model::read::timestamp)?;
    // The tracking number only settles a write-back: a payload the engine cannot read is still stored.
    let number = preflight::model::Fulfillment::read(&value, &root)
        .ok()
        .and_then(|f| f.tracking_numbers.into_iter().next());
    Ok((id, updated_at, number))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/fulfillments?status=&cursor=&limit=`: `{items, nextCursor, now}`, `now` being the
/// server's clock (RFC 3339, UTC, milliseconds), for a browser whose clock disagrees.
async fn list_fulfillments(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(name) => Some(SyncStatusKind::parse(name).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "input.invalid_value",
                format!(
                    "unknown status `{name}`, expected `not_synced`, `synced` or `sync_failed`"
                ),
            )
        })?),
    };
    if query.cursor.is_none() {
        // A backfill that stopped (Shopify failing, a restart) goes on when the list is opened.
        crate::backfill::start(state.clone(), session.shop.clone()).await;
    }
    let first = query.cursor.is_none();
    // The shop's version is read before anything it covers: a change made meanwhile shows as a newer
    // version later.
    let version = if first {
        state.store.shop_version(&session.shop).await?
    } else {
        0
    };
    // The first page says how the shop's TikTok Shop connection stands, for the widget's prompt.
    let tiktok = if first {
        crate::connect::connection(&state, &session.shop).await?
    } else {
        None
    };
    let now = rfc3339_millis(state.clock.now_millis());
    let page = state
        .store
        .list_fulfillments(
            &session.shop,
            &FulfillmentQuery {
                status,
                cursor: query.cursor,
                limit: query.limit.unwrap_or(50),
            },
        )
        .await?;
    let backfill = if first {
        state.store.backfill(&session.shop).await?
    } else {
        None
    };
    // The rows' JSON is written off the async threads.
    let page = tokio::task::spawn_blocking(move || {
        let mut answer = json!({
            "items": page.items.iter().map(fulfillment_json).collect::<Vec<_>>(),
            "nextCursor": page.next_cursor,
            "now": now,
        });
        // The first page says how the import of recent orders goes and the shop's version, so that
        // a list can follow them.
        if let (true, Some(map)) = (first, answer.as_object_mut()) {
            map.insert("backfill".into(), backfill_json(backfill.as_ref()));
            map.insert("version".into(), version.to_string().into());
            if let Some(tiktok) = tiktok {
                map.insert("tiktok".into(), tiktok);
            }
        }
        answer
    })
    .await
    .map_err(|_| ApiError::internal("a task failed"))?;
    Ok(Json(page))
}

/// A backfill as the API shows it: `{state: none | running | done | failed, since, ordersRead,
/// fulfillmentsRead, errorCode}`.
fn backfill_json(backfill: Option<&crate::store::Backfill>) -> Value {
    match backfill {
        None => json!({ "state": "none" }),
        Some(b) => json!({
            "state": b.state.as_str(),
            "since": b.since,
            "ordersRead": b.orders_read,
            "fulfillmentsRead": b.fulfillments_read,
            "errorCode": b.error_code,
        }),
    }
}

/// `GET /api/fulfillments/{id}`: another shop's fulfillment is as absent as a missing one.
async fn get_fulfillment(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = state.store.fulfillment(&session.shop, &id).await?;
    record
        .as_ref()
        .map(|r| Json(fulfillment_json(r)))
        .ok_or_else(|| ApiError::not_found("fulfillment"))
}

/// `PUT /api/fulfillments/{id}/tracking`: `{"trackingNumber": "…"}` fixes the fulfillment's tracking
/// number in place: the stored Shopify payload takes it and the preview is recomputed with the order
/// as last read. Answers the fulfillment as `GET /api/fulfillments/{id}` does; 409 `sync.in_progress`
/// while a push of it is under way. The fix is held for Shopify: it is written back
/// (`fulfillmentTrackingInfoUpdate`) once TikTok Shop has it (see [`crate::writeback`]).
async fn put_tracking(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let number = state
        .engine
        .run(move || Ok::<_, ApiError>(read_tracking_number(&body.0)?))
        .await??;
    let _held = state.store.lock_fulfillment(&session.shop, &id).await?;
    let record = crate::sync::set_tracking_number(&state, &session.shop, &id, &number).await?;
    Ok(Json(fulfillment_json(&record)))
}

/// The tracking number of a `{"trackingNumber": "…"}` body: a string, trimmed, not empty, at most
/// [`MAX_TRACKING_NUMBER_CHARS`] characters, printable, with no whitespace inside.
fn read_tracking_number(text: &str) -> Result<String, InputError> {
    use preflight::model::read::{error, Object, Path as ReadPath};
    let value = preflight::json::parse(text)?;
    let root = ReadPath::Root;
    let o = Object::new(&value, &root, "an object with `trackingNumber`")?;
    o.only(&["trackingNumber"])?;
    let raw = o.required("trackingNumber", preflight::model::read::any_text)?;
    let path = root.key("trackingNumber");
    let invalid = |message: String| error(InputErrorKind::InvalidValue, &path, message);
    let number = raw.trim();
    if number.is_empty() {
        return Err(invalid("the tracking number is empty".into()));
    }
    let chars = number.chars().count();
    if chars > MAX_TRACKING_NUMBER_CHARS {
        return Err(invalid(format!(
            "the tracking number has {chars} characters, at most {MAX_TRACKING_NUMBER_CHARS} are allowed"
        )));
    }
    if let Some(c) = number.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(format!(
            "the tracking number `{}` holds whitespace or a control character (U+{:04X})",
            number.escape_default(),
            u32::from(c)
        )));
    }
    Ok(number.to_owned())
}

/// The order id of a `{"orderId": "…"}` body, read by the engine's reader.
fn read_link(text: &str) -> Result<String, InputError> {
    use preflight::model::read::{Object, Path as ReadPath};
    let value = preflight::json::parse(text)?;
    let root = ReadPath::Root;
    let o = Object::new(&value, &root, "an object with `orderId`")?;
    o.only(&["orderId"])?;
    o.required("orderId", preflight::model::read::any_text)
}

/// `PUT /api/fulfillments/{id}/tts-order`: `{"orderId": "…"}` links the fulfillment to its TikTok
/// Shop order, read at TikTok Shop, and stores the preview report.
async fn link_order(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let order_id = read_link(&body.0)?;
    let _held = state.store.lock_fulfillment(&session.shop, &id).await?;
    let record = crate::sync::link_order(&state, &session.shop, &id, &order_id).await?;
    // The order's other fulfillments find the link where the chain reads first.
    crate::linking::spawn_remember(state.clone(), session.shop.clone(), &record, order_id);
    Ok(Json(fulfillment_json(&record)))
}

/// `POST /api/tiktok/connect`: see [`crate::connect`].
async fn tiktok_connect(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
) -> Result<Json<Value>, ApiError> {
    crate::connect::start(&state, &session.shop).await
}

/// `GET /api/tiktok`: see [`crate::connect`].
async fn tiktok_status(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
) -> Result<Json<Value>, ApiError> {
    crate::connect::status(&state, &session.shop).await
}

/// `GET /api/backfill`: the shop's backfill of recent orders, `{state, since, ordersRead,
/// fulfillmentsRead, errorCode}`; `state` is `none` (never started), `running`, `done` or `failed`.
async fn get_backfill(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
) -> Result<Json<Value>, ApiError> {
    let backfill = state.store.backfill(&session.shop).await?;
    Ok(Json(backfill_json(backfill.as_ref())))
}

/// `GET /api/changes`: `{"version": "…"}`, the shop's version, an opaque string that changes with every
/// change of its fulfillments, pushes, settings, delivery options or TikTok Shop connection. An open
/// list compares it
/// with its first page's `version` and reads itself again when it differs: one indexed read a poll.
async fn get_changes(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
) -> Result<Json<Value>, ApiError> {
    let version = state.store.shop_version(&session.shop).await?;
    Ok(Json(json!({ "version": version.to_string() })))
}

/// `POST /api/fulfillments/{id}/sync`, with a required `Idempotency-Key`: the same key and body
/// replay the first answer (`Idempotent-Replayed: true`), the same key with another body is 422, a
/// key whose first request still runs is 409. Keys are kept 24 hours.
async fn sync_fulfillment(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    body: Body,
) -> Result<Response, ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency.key_missing",
                "the Idempotency-Key header is required",
            )
        })?
        .to_owned();
    let answer = sync_request(
        &state,
        &session.shop,
        &id,
        &key,
        uri.path(),
        body.0.as_bytes(),
    )
    .await?;
    let mut response = json_text(answer.status, answer.body);
    if answer.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// What a sync request answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncAnswer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: String,
    /// Whether it is the stored answer of an earlier request with the same key.
    pub replayed: bool,
}

/// A sync request under an idempotency key, as `POST /api/fulfillments/{id}/sync` runs it: begins
/// the key (replaying a finished request's answer), syncs under the fulfillment's lock, and stores
/// the answer under the key (a server error releases it, so the same key may be retried). `path` and
/// `body` are the request's, for its fingerprint.
///
/// # Errors
/// 422 `idempotency.key_reused` for a key used with another request, 409
/// `idempotency.in_progress` while the key's first request runs, and the server errors of
/// [`crate::sync::sync`] and its 409 `sync.in_progress` (the key is then free to be sent again); its
/// other errors are answers, stored under the key.
pub async fn sync_request(
    state: &Arc<AppState>,
    shop: &str,
    id: &str,
    key: &str,
    path: &str,
    body: &[u8],
) -> Result<SyncAnswer, ApiError> {
    let fingerprint = crate::store::request_fingerprint("POST", path, body);
    // To its end in a task of its own: a request cut off (its timeout, a closed connection) must not
    // let go of the fulfillment while its push is under way, nor leave its outcome unrecorded.
    let (state, shop, id, key) = (
        state.clone(),
        shop.to_owned(),
        id.to_owned(),
        key.to_owned(),
    );
    tokio::spawn(async move { keyed_sync(&state, &shop, &id, &key, &fingerprint).await })
        .await
        .map_err(|_| ApiError::internal("a sync task failed"))?
}

/// [`sync_request`]'s work, with the request's fingerprint.
async fn keyed_sync(
    state: &Arc<AppState>,
    shop: &str,
    id: &str,
    key: &str,
    fingerprint: &str,
) -> Result<SyncAnswer, ApiError> {
    use crate::store::{IdempotencyStart, StoredResponse};
    let start = state
        .store
        .begin_idempotent(shop, key, fingerprint)
        .await
        .map_err(ApiError::from);
    match start {
        Ok(IdempotencyStart::Started) => {}
        Ok(IdempotencyStart::Replay(stored)) => {
            return Ok(SyncAnswer {
                status: StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
                body: stored.body,
                replayed: true,
            });
        }
        // A reused key is 422 and one still running 409, as `store_status` maps them.
        Err(e) => return Err(e),
    }
    let outcome = async {
        let _held = state.store.lock_fulfillment(shop, id).await?;
        let idempotency = crate::sync::Idempotency { key, fingerprint };
        crate::sync::sync(state, shop, id, &idempotency).await
    }
    .await;
    let (status, body) = match outcome {
        // A push's outcome is stored with its answer already.
        Ok(((status, body), true)) => {
            return Ok(SyncAnswer {
                status,
                body: body.to_string(),
                replayed: false,
            })
        }
        Ok(((status, body), false)) => (status, body),
        // Nothing was recorded as done (a server error, or another push of the fulfillment still
        // under way): the same key may be sent again.
        Err(error) if error.status.is_server_error() || error.code == "sync.in_progress" => {
            let _ = state.store.release_idempotent(shop, key).await;
            return Err(error);
        }
        Err(error) => (error.status, error.body()),
    };
    let text = body.to_string();
    let stored = StoredResponse {
        status: status.as_u16(),
        body: text.clone(),
    };
    state
        .store
        .complete_idempotent(shop, key, fingerprint, &stored)
        .await?;
    Ok(SyncAnswer {
        status,
        body: text,
        replayed: false,
    })
}

/// The system clock in Unix seconds, as session tokens are checked against it.
fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `POST /demo/tiktok-changes` (demo mode only): see [`crate::demo::tiktok::play`].
async fn demo_tiktok_change(
    State(state): State<Arc<AppState>>,
    ShopSession(session): ShopSession,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    crate::demo::tiktok::play(&state, &session.shop, &body.0)
        .await
        .map(Json)
}

/// `GET /demo/token` (demo mode only): a session token of the demo shop, valid one minute, as App
/// Bridge's `shopify.idToken()` gives one in the Shopify admin. Only to a request whose `Host` is a
/// loopback one (see [`auth::is_loopback_host`]): a page of another site that rebinds its name to
/// 127.0.0.1 sends its own name, and gets 403 `demo.host_not_loopback`.
async fn demo_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let shop = state
        .demo_shop
        .as_deref()
        .ok_or_else(|| ApiError::not_found("route"))?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    if !host.is_some_and(auth::is_loopback_host) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "demo.host_not_loopback",
            format!(
                "demo session tokens are served to a loopback host only, not `{}`",
                host.unwrap_or_default()
            ),
        ));
    }
    let token = auth::issue_session_token(&state.shopify, shop, "demo", unix_seconds(), 60)?;
    Ok(Json(json!({ "token": token, "shop": shop })))
}

/// The headers of every page served: scripts only from here (wasm compiled, nothing evaluated), and
/// framed only by the shop whose signed query loaded it and by the Shopify admin.
async fn page_headers(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let now = unix_seconds();
    let shop = request.uri().query().and_then(|query| {
        auth::verify_app_query(
            query,
            &state.shopify.secret,
            state.shopify.previous_secret.as_deref(),
            now,
        )
        .ok()
    });
    let ancestors = shop.map_or_else(
        || "'none'".to_owned(),
        |shop| format!("https://{shop} https://admin.shopify.com"),
    );
    let policy = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; \
         base-uri 'none'; frame-ancestors {ancestors}"
    );
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
    response.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
