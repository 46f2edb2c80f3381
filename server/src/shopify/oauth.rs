//! Shopify's token endpoint: a session token exchanged for an expiring offline access token, and its
//! refresh (the refresh token rotates on each use).
//!
//! `POST https://{shop}/admin/oauth/access_token` (shopify.dev, "Token exchange" and "Offline access
//! tokens: expiry and refresh"), JSON in and out. Tokens travel as [`SecretString`]; no error message
//! carries one.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

pub use super::Endpoint;
use crate::tokens::{ExposeSecret, SecretString};

/// What the token endpoint grants.
#[derive(Debug)]
pub struct TokenGrant {
    /// The access token.
    pub access_token: SecretString,
    /// Its lifetime, in seconds.
    pub expires_in: Option<u64>,
    /// The refresh token.
    pub refresh_token: Option<SecretString>,
    /// Its lifetime, in seconds.
    pub refresh_token_expires_in: Option<u64>,
    /// The scopes granted, comma-separated.
    pub scope: String,
}

/// Why the token endpoint gave no token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// Shopify refused: a bad session token at exchange, a bad or spent refresh token, wrong client
    /// credentials. `error` is Shopify's code (`invalid_subject_token`, `invalid_grant`, …).
    #[error("shopify refused the token request ({status}): {error}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Shopify's error code.
        error: String,
    },
    /// No answer, or one that is not the token endpoint's: the request may have been applied.
    #[error("the token request got no usable answer: {0}")]
    Transport(String),
}

impl OAuthError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused { error, .. } if error == "invalid_subject_token" => "auth.invalid_token",
            Self::Refused { .. } => "shopify.token_refused",
            Self::Transport(_) => "shopify.unavailable",
        }
    }

    /// Whether the answer was lost (a refresh may have rotated the pair: retry with the same refresh
    /// token, which Shopify keeps valid until the new pair is first used).
    #[must_use]
    pub const fn answer_lost(&self) -> bool {
        matches!(self, Self::Transport(_))
    }
}

#[derive(Deserialize)]
struct GrantBody {
    access_token: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    refresh_token_expires_in: Option<u64>,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// The token endpoint's client, for one app.
#[derive(Clone)]
pub struct TokenClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    client_id: String,
    client_secret: SecretString,
}

impl std::fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenClient")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenClient {
    /// A client of `endpoint` for the app `client_id` with its secret; requests time out after 10 s.
    ///
    /// # Errors
    /// [`OAuthError::Transport`] when the HTTP client cannot be built.
    pub fn new(
        endpoint: Endpoint,
        client_id: &str,
        client_secret: SecretString,
    ) -> Result<Self, OAuthError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OAuthError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            endpoint,
            client_id: client_id.to_owned(),
            client_secret,
        })
    }

    /// Exchanges a shop's session token for an expiring offline access token and its refresh token.
    ///
    /// # Errors
    /// [`OAuthError::Refused`] (an expired or forged session token: `invalid_subject_token`), or
    /// [`OAuthError::Transport`].
    pub async fn exchange(
        &self,
        shop: &str,
        session_token: &str,
    ) -> Result<TokenGrant, OAuthError> {
        let body = json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose_secret(),
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": session_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
            "expiring": "1",
        });
        self.post(shop, &body).await
    }

    /// Refreshes a shop's access token: a new access token and a new refresh token (the one given stops
    /// working once the new pair is used).
    ///
    /// # Errors
    /// [`OAuthError::Refused`] (`invalid_grant`: the merchant must reload the app), or
    /// [`OAuthError::Transport`] (retry with the same refresh token).
    pub async fn refresh(
        &self,
        shop: &str,
        refresh_token: &SecretString,
    ) -> Result<TokenGrant, OAuthError> {
        let body = json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose_secret(),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.expose_secret(),
        });
        self.post(shop, &body).await
    }

    async fn post(&self, shop: &str, body: &serde_json::Value) -> Result<TokenGrant, OAuthError> {
        let response = self
            .http
            .post(self.endpoint.token_url(shop))
            .json(body)
            .send()
            .await
            // reqwest's error names the URL, which holds no secret; never the body.
            .map_err(|e| OAuthError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| OAuthError::Transport(e.without_url().to_string()))?;
        if status.is_success() {
            let grant: GrantBody = serde_json::from_slice(&bytes)
                .map_err(|_| OAuthError::Transport(format!("{status}: not a token grant")))?;
            return Ok(TokenGrant {
                access_token: SecretString::from(grant.access_token),
                expires_in: grant.expires_in,
                refresh_token: grant.refresh_token.map(SecretString::from),
                refresh_token_expires_in: grant.refresh_token_expires_in,
                scope: grant.scope,
            });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(e) if status.is_client_error() => Err(OAuthError::Refused {
                status: status.as_u16(),
                error: e.error.chars().take(64).collect(),
            }),
            _ => Err(OAuthError::Transport(format!("answered {status}"))),
        }
    }
}
