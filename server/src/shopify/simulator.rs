//! A Shopify simulator: the parts of Shopify the sync API talks to, modelled on their own (it never calls
//! the server's logic). Today: session tokens for a shop, and the token endpoint
//! (`POST /admin/oauth/access_token`): token exchange for expiring offline tokens, refresh with rotation
//! (the previous refresh token works until the new pair is first used), and Shopify's refusals.
//!
//! Served on loopback, each shop under `/shops/{shop}`: `{base}/shops/{shop}/admin/oauth/access_token`
//! stands for `https://{shop}/admin/oauth/access_token`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How long an access token lives, in seconds (Shopify: 60 minutes).
pub const ACCESS_TTL_SECS: i64 = 3600;
/// How long a refresh token lives, in seconds (Shopify: 90 days).
pub const REFRESH_TTL_SECS: i64 = 90 * 24 * 3600;

/// The grant types of the token endpoint.
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const OFFLINE: &str = "urn:shopify:params:oauth:token-type:offline-access-token";

#[derive(Debug)]
struct Grant {
    shop: String,
    expires_at: i64,
}

#[derive(Debug, Default)]
struct ShopState {
    /// The refresh token of the pair in use, and whether its access token was used yet.
    current_refresh: Option<String>,
    current_used: bool,
    /// The refresh token the current pair came from: valid until the current pair is first used.
    previous_refresh: Option<String>,
    refresh_expires_at: i64,
}

#[derive(Debug)]
struct Sim {
    now: i64,
    next: u64,
    access: BTreeMap<String, Grant>,
    shops: BTreeMap<String, ShopState>,
    /// Refused from now on (the app was uninstalled).
    uninstalled: Vec<String>,
}

/// The simulator: cheap to clone, every clone shares one platform.
#[derive(Clone, Debug)]
pub struct ShopifySimulator {
    client_id: Arc<str>,
    client_secret: Arc<str>,
    state: Arc<Mutex<Sim>>,
}

#[derive(Serialize, Deserialize)]
struct SessionClaims {
    iss: String,
    dest: String,
    aud: String,
    sub: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    sid: String,
}

impl ShopifySimulator {
    /// A simulator of an app with this client id and secret; its clock starts at `now` (Unix seconds).
    #[must_use]
    pub fn new(client_id: &str, client_secret: &str, now: i64) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            state: Arc::new(Mutex::new(Sim {
                now,
                next: 0,
                access: BTreeMap::new(),
                shops: BTreeMap::new(),
                uninstalled: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sim> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the clock, in Unix seconds.
    pub fn set_now(&self, now: i64) {
        self.lock().now = now;
    }

    /// The clock, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.lock().now
    }

    /// A session token App Bridge would hand the app's page in `shop` (HS256 under the client secret,
    /// one minute).
    #[must_use]
    pub fn session_token(&self, shop: &str, user: &str) -> String {
        let now = self.now();
        let claims = SessionClaims {
            iss: format!("https://{shop}/admin"),
            dest: format!("https://{shop}"),
            aud: self.client_id.to_string(),
            sub: user.to_owned(),
            exp: now + 60,
            nbf: now - 5,
            iat: now,
            jti: format!("sim-{now}-{user}"),
            sid: String::new(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.client_secret.as_bytes()),
        )
        .unwrap_or_default()
    }

    /// Whether `access_token` is a live access token of `shop`.
    #[must_use]
    pub fn access_token_valid(&self, shop: &str, access_token: &str) -> bool {
        let mut s = self.lock();
        let now = s.now;
        if s.uninstalled.iter().any(|u| u == shop) {
            return false;
        }
        let valid = s
            .access
            .get(access_token)
            .is_some_and(|g| g.shop == shop && now < g.expires_at);
        if valid {
            // The pair is in use: the refresh token it came from stops working.
            let current = s.shops.get(shop).and_then(|st| st.current_refresh.clone());
            if let Some(st) = s.shops.get_mut(shop) {
                if current.is_some() && !st.current_used {
                    st.current_used = true;
                    st.previous_refresh = None;
                }
            }
        }
        valid
    }

    /// The app is uninstalled from `shop`: its tokens stop working until a merchant's session token is
    /// exchanged again.
    pub fn uninstall(&self, shop: &str) {
        let mut s = self.lock();
        s.uninstalled.push(shop.to_owned());
        s.access.retain(|_, g| g.shop != shop);
        s.shops.remove(shop);
    }

    /// How many access tokens were issued, for tests.
    #[must_use]
    pub fn issued(&self) -> u64 {
        self.lock().next
    }

    fn issue(&self, s: &mut Sim, shop: &str, previous: Option<String>) -> serde_json::Value {
        s.next += 1;
        let n = s.next;
        let access = format!("shpat_sim{n:08}{}", tail(shop));
        let refresh = format!("shprt_sim{n:08}{}", tail(shop));
        let now = s.now;
        s.access.insert(
            access.clone(),
            Grant {
                shop: shop.to_owned(),
                expires_at: now + ACCESS_TTL_SECS,
            },
        );
        s.shops.insert(
            shop.to_owned(),
            ShopState {
                current_refresh: Some(refresh.clone()),
                current_used: false,
                previous_refresh: previous,
                refresh_expires_at: now + REFRESH_TTL_SECS,
            },
        );
        json!({
            "access_token": access,
            "expires_in": ACCESS_TTL_SECS - 1,
            "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_TTL_SECS - 1,
            "scope": "write_orders,write_merchant_managed_fulfillment_orders",
        })
    }

    fn token(&self, shop: &str, form: &TokenRequest) -> Result<serde_json::Value, Refusal> {
        if form.client_id != *self.client_id || form.client_secret != *self.client_secret {
            return Err(Refusal::new(
                "invalid_client",
                "Client credentials are invalid",
            ));
        }
        let mut s = self.lock();
        match form.grant_type.as_str() {
            TOKEN_EXCHANGE => {
                let offline = form.requested_token_type.as_deref() == Some(OFFLINE);
                let expiring = form.expiring.as_deref() == Some("1");
                if form.subject_token_type.as_deref() != Some(ID_TOKEN) || !offline || !expiring {
                    return Err(Refusal::new("invalid_request", "Unsupported token request"));
                }
                let subject = form.subject_token.as_deref().unwrap_or_default();
                let mut validation = Validation::new(Algorithm::HS256);
                validation.set_audience(&[&*self.client_id]);
                validation.validate_nbf = true;
                validation.leeway = 5;
                // The simulator's clock, not the machine's.
                validation.validate_exp = false;
                let claims = jsonwebtoken::decode::<SessionClaims>(
                    subject,
                    &DecodingKey::from_secret(self.client_secret.as_bytes()),
                    &validation,
                )
                .map_err(|_| Refusal::new("invalid_subject_token", "Invalid session token"))?
                .claims;
                let now = s.now;
                if claims.dest != format!("https://{shop}") || now >= claims.exp + 5 {
                    return Err(Refusal::new(
                        "invalid_subject_token",
                        "Invalid session token",
                    ));
                }
                // A merchant opening the app installs it again.
                s.uninstalled.retain(|u| u != shop);
                Ok(self.issue(&mut s, shop, None))
            }
            "refresh_token" => {
                let given = form.refresh_token.as_deref().unwrap_or_default();
                let now = s.now;
                let st = s
                    .shops
                    .get(shop)
                    .ok_or_else(|| Refusal::new("invalid_grant", "Invalid refresh token"))?;
                let current = st.current_refresh.as_deref() == Some(given);
                let previous = st.previous_refresh.as_deref() == Some(given) && !st.current_used;
                if !(current || previous) || now >= st.refresh_expires_at {
                    return Err(Refusal::new("invalid_grant", "Invalid refresh token"));
                }
                // Access tokens already issued live out their hour.
                Ok(self.issue(&mut s, shop, Some(given.to_owned())))
            }
            _ => Err(Refusal::new(
                "unsupported_grant_type",
                "Unsupported grant type",
            )),
        }
    }
}

/// The last characters of a shop's name, so that tokens of two shops differ visibly in tests.
fn tail(shop: &str) -> String {
    shop.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect()
}

/// The token endpoint's form (JSON or `application/x-www-form-urlencoded`, as Shopify takes both).
#[derive(Debug, Deserialize)]
struct TokenRequest {
    client_id: String,
    client_secret: String,
    grant_type: String,
    subject_token: Option<String>,
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    expiring: Option<String>,
    refresh_token: Option<String>,
}

struct Refusal {
    error: &'static str,
    description: &'static str,
}

impl Refusal {
    const fn new(error: &'static str, description: &'static str) -> Self {
        Self { error, description }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = if self.error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        (
            status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response()
    }
}

async fn token_endpoint(
    State(sim): State<ShopifySimulator>,
    Path(shop): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let form: Result<TokenRequest, _> = serde_json::from_slice(&body)
        .or_else(|_| serde_urlencoded::from_bytes(&body).map_err(|_| ()));
    match form {
        Ok(form) => match sim.token(&shop, &form) {
            Ok(grant) => Json(grant).into_response(),
            Err(refusal) => refusal.into_response(),
        },
        Err(()) => Refusal::new("invalid_request", "Malformed request").into_response(),
    }
}

/// The simulator's HTTP routes.
pub fn router(sim: ShopifySimulator) -> Router {
    Router::new()
        .route(
            "/shops/{shop}/admin/oauth/access_token",
            post(token_endpoint),
        )
        .with_state(sim)
}

/// Serves the simulator on a loopback port: its address and its task.
///
/// # Errors
/// The port cannot be bound.
pub async fn spawn_on_loopback(
    sim: ShopifySimulator,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(sim)).await {
            tracing::error!(error = %e, "shopify simulator stopped");
        }
    });
    Ok((addr, task))
}
