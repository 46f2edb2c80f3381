//! TikTok Shop's authorization: the page a seller authorizes the app on, and the token endpoints that
//! turn its `code` into a seller's access and refresh tokens and refresh them.
//!
//! TikTok Shop Partner Center, "Authorization guide (202309)" and "Authorization overview (202407)":
//! - the authorization page is `{services host}/open/authorize?service_id=…&state=…`, on the US host for
//!   US sellers and the global host for the rest of the world ([`AUTHORIZE_HOSTS`]); the seller comes
//!   back to the app's redirect URL with `code` (single use, valid 30 minutes) and `state`;
//! - `GET https://auth.tiktok-shops.com/api/v2/token/get?app_key&app_secret&auth_code&grant_type=authorized_code`
//!   and `GET …/api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token` answer
//!   `{code, message, data: {access_token, access_token_expire_in, refresh_token,
//!   refresh_token_expire_in, open_id, seller_name, seller_base_region, user_type}}`, the expiries as
//!   Unix seconds (the access token lives about seven days).
//!
//! Tokens travel as [`SecretString`]; no error message carries one.

use std::time::Duration;

use serde::Deserialize;

use crate::tokens::{ExposeSecret, SecretString};

/// The authorization page's host per market: `(market, host)`. The US has its own host (TikTok Shop
/// partner docs, "Authorization overview (202407)"); every other market uses [`GLOBAL_AUTHORIZE_HOST`].
pub const AUTHORIZE_HOSTS: &[(&str, &str)] = &[("US", "https://services.tiktokshops.us")];

/// The authorization page's host for the markets [`AUTHORIZE_HOSTS`] does not name.
pub const GLOBAL_AUTHORIZE_HOST: &str = "https://services.tiktokshop.com";

/// The token endpoints' host.
pub const LIVE_AUTH_BASE: &str = "https://auth.tiktok-shops.com";

/// The authorization page a seller of `market` (a two-letter region, `US` for the United States) is
/// sent to, for the app `service_id`, with `state`.
#[must_use]
pub fn authorize_url(market: &str, service_id: &str, state: &str) -> String {
    let host = AUTHORIZE_HOSTS
        .iter()
        .find(|(m, _)| m.eq_ignore_ascii_case(market))
        .map_or(GLOBAL_AUTHORIZE_HOST, |(_, h)| h);
    authorize_url_on(host, service_id, state)
}

/// The authorization page on `host` (like `https://services.tiktokshops.us`, or a simulator's
/// address), for the app `service_id`, with `state`.
#[must_use]
pub fn authorize_url_on(host: &str, service_id: &str, state: &str) -> String {
    let query = serde_urlencoded::to_string([("service_id", service_id), ("state", state)])
        .unwrap_or_default();
    format!("{}/open/authorize?{query}", host.trim_end_matches('/'))
}

/// What the token endpoints grant.
#[derive(Debug)]
pub struct SellerGrant {
    /// The seller's access token (`x-tts-access-token`).
    pub access_token: SecretString,
    /// When it expires, Unix seconds.
    pub access_expires_at: i64,
    /// The refresh token.
    pub refresh_token: SecretString,
    /// When it expires (the end of the authorization), Unix seconds.
    pub refresh_expires_at: i64,
    /// The seller's id for this app.
    pub open_id: String,
    /// The seller's name.
    pub seller_name: String,
    /// The seller's base region, like `US`.
    pub seller_base_region: String,
}

/// Why no token was granted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// TikTok Shop refused: a wrong, spent or expired code or refresh token, wrong app credentials.
    #[error("tiktok shop refused the token request ({code}): {message}")]
    Refused {
        /// TikTok Shop's code.
        code: u64,
        /// Its message.
        message: String,
    },
    /// No answer, or not the token endpoint's.
    #[error("the token request got no usable answer: {0}")]
    Transport(String),
}

impl AuthError {
    /// The stable code of this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Refused { .. } => "tiktok.token_refused",
            Self::Transport(_) => "tiktok.unavailable",
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    code: u64,
    #[serde(default)]
    message: String,
    data: Option<GrantBody>,
}

#[derive(Deserialize)]
struct GrantBody {
    access_token: String,
    access_token_expire_in: i64,
    refresh_token: String,
    refresh_token_expire_in: i64,
    #[serde(default)]
    open_id: String,
    #[serde(default)]
    seller_name: String,
    #[serde(default)]
    seller_base_region: String,
}

/// How many times a token request is sent while TikTok Shop does not answer it.
pub const TOKEN_ATTEMPTS: usize = 3;

/// The token endpoints' client, for one app.
#[derive(Clone)]
pub struct AuthClient {
    http: reqwest::Client,
    base: String,
    app_key: String,
    app_secret: SecretString,
}

impl std::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("base", &self.base)
            .field("app_key", &self.app_key)
            .finish_non_exhaustive()
    }
}

impl AuthClient {
    /// A client of the token endpoints at `base` ([`LIVE_AUTH_BASE`], or a simulator's
    /// `http://127.0.0.1:PORT`); each request times out after 4 s, so that a refresh sent
    /// [`TOKEN_ATTEMPTS`] times still ends within a request's 15 s.
    ///
    /// # Errors
    /// [`AuthError::Transport`] when the HTTP client cannot be built.
    pub fn new(base: &str, app_key: &str, app_secret: SecretString) -> Result<Self, AuthError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(4))
            .build()
            .map_err(|e| AuthError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            app_key: app_key.to_owned(),
            app_secret,
        })
    }

    /// Exchanges an authorization code for the seller's tokens, once: a code is good once, so a request
    /// whose answer was lost is not sent again (the seller starts over).
    ///
    /// # Errors
    /// [`AuthError::Refused`] for a wrong, spent or expired code; [`AuthError::Transport`].
    pub async fn get(&self, auth_code: &str) -> Result<SellerGrant, AuthError> {
        self.call_once(
            "/api/v2/token/get",
            &[("auth_code", auth_code), ("grant_type", "authorized_code")],
        )
        .await
    }

    /// Refreshes the seller's access token, sent again while TikTok Shop does not answer (see
    /// [`TOKEN_ATTEMPTS`]).
    ///
    /// # Errors
    /// [`AuthError::Refused`] for an expired or revoked refresh token; [`AuthError::Transport`].
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<SellerGrant, AuthError> {
        self.call(
            "/api/v2/token/refresh",
            &[
                ("refresh_token", refresh_token.expose_secret()),
                ("grant_type", "refresh_token"),
            ],
        )
        .await
    }

    /// Whether `signature` (a webhook's `Authorization` header) is the hex HMAC-SHA256, under the app
    /// secret, of the app key followed by the raw body (TikTok Shop partner docs, "Webhooks overview";
    /// the public SDKs compute the same). Compared in constant time.
    #[must_use]
    pub fn verify_webhook(&self, body: &[u8], signature: &str) -> bool {
        use hmac::{Hmac, Mac};
        let Ok(expected) = hex::decode(signature.trim()) else {
            return false;
        };
        let Ok(mut mac) =
            Hmac::<sha2::Sha256>::new_from_slice(self.app_secret.expose_secret().as_bytes())
        else {
            return false;
        };
        mac.update(self.app_key.as_bytes());
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    }

    /// A token request sent again (up to [`TOKEN_ATTEMPTS`] in all, after waits of about 0.2 s then
    /// 0.4 s with full jitter) while TikTok Shop does not answer it: a refusal is final.
    async fn call(&self, path: &str, params: &[(&str, &str)]) -> Result<SellerGrant, AuthError> {
        use backon::Retryable;
        let backoff = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(TOKEN_ATTEMPTS - 1)
            .with_jitter();
        (|| self.call_once(path, params))
            .retry(backoff)
            .when(|e| matches!(e, AuthError::Transport(_)))
            .await
    }

    async fn call_once(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<SellerGrant, AuthError> {
        let mut query = vec![
            ("app_key", self.app_key.as_str()),
            ("app_secret", self.app_secret.expose_secret()),
        ];
        query.extend_from_slice(params);
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(&query)
            .send()
            .await
            // Without the URL: its query holds the app secret and the code.
            .map_err(|e| AuthError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        // An overloaded or failing gateway says nothing of the credential, whatever its body.
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(AuthError::Transport(format!("answered {status}")));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| AuthError::Transport(e.without_url().to_string()))?;
        let envelope: Envelope = serde_json::from_slice(&bytes)
            .map_err(|_| AuthError::Transport(format!("answered {status}, not a token answer")))?;
        match (envelope.code, envelope.data) {
            (0, Some(g)) => Ok(SellerGrant {
                access_token: SecretString::from(g.access_token),
                access_expires_at: g.access_token_expire_in,
                refresh_token: SecretString::from(g.refresh_token),
                refresh_expires_at: g.refresh_token_expire_in,
                open_id: g.open_id,
                seller_name: g.seller_name,
                seller_base_region: g.seller_base_region,
            }),
            (0, None) => Err(AuthError::Transport("a success without data".into())),
            (code, _) => Err(AuthError::Refused {
                code,
                message: envelope.message.chars().take(200).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_sellers_authorize_on_the_us_host_and_others_on_the_global_one() {
        let us = authorize_url("US", "7172", "a b&c");
        assert_eq!(
            us,
            "https://services.tiktokshops.us/open/authorize?service_id=7172&state=a+b%26c"
        );
        assert!(authorize_url("GB", "7172", "s").starts_with("https://services.tiktokshop.com/"));
    }
}
