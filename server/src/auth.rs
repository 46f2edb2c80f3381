//! Authentication of the requests the sync API takes from Shopify: session (ID) tokens from the
//! embedded app, and the HMAC of webhooks.
//!
//! Checks follow Shopify's own libraries: a session token is a JWT signed HS256 with the app secret
//! (any other `alg` is refused), `exp` and `nbf` are checked with 10 s of leeway, `aud` is the app key,
//! `dest` is a `*.myshopify.com` shop whose host equals the host of `iss`, and the shop is `dest`'s host.
//! During a secret rotation the previous secret is accepted too.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Seconds of clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 10;

/// How far, in seconds, the `timestamp` of a signed app query may lie from now, either way: Shopify's
/// own `HMAC_TIMESTAMP_PERMITTED_CLOCK_TOLERANCE_SEC` (90, in `lib/utils/hmac-validator.ts` of
/// Shopify/shopify-api-js).
pub const APP_QUERY_TOLERANCE_SECONDS: u64 = 90;

/// Why a request was not authenticated. Each answers 401 with its code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    MissingToken,
    /// Not a well-formed HS256 JWT, or its signature does not verify.
    #[error("invalid session token")]
    InvalidToken,
    /// Past `exp` (or before `nbf`), leeway included.
    #[error("session token expired or not yet valid")]
    Expired,
    /// `aud` is not this app's key.
    #[error("session token is for another app")]
    WrongAudience,
    /// `dest` is not a `*.myshopify.com` shop, or `iss` is another host.
    #[error("session token names no valid shop")]
    InvalidShop,
    /// A webhook whose HMAC does not verify.
    #[error("invalid webhook hmac")]
    InvalidHmac,
    /// A signed app query without `timestamp`, or one more than [`APP_QUERY_TOLERANCE_SECONDS`] from
    /// now.
    #[error("signed query is stale or has no timestamp")]
    StaleQuery,
}

impl AuthError {
    /// The stable code, like `auth.expired`.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "auth.missing_token",
            Self::InvalidToken => "auth.invalid_token",
            Self::Expired => "auth.expired",
            Self::WrongAudience => "auth.wrong_audience",
            Self::InvalidShop => "auth.invalid_shop",
            Self::InvalidHmac => "auth.invalid_hmac",
            Self::StaleQuery => "auth.stale_query",
        }
    }
}

/// The app's credentials: its key, its secret, and the previous secret during a rotation.
#[derive(Clone)]
pub struct AppCredentials {
    /// The app's client id (the `aud` of its session tokens).
    pub key: String,
    /// The app's client secret.
    pub secret: String,
    /// The secret before the last rotation, still accepted while the rotation lasts.
    pub previous_secret: Option<String>,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl AppCredentials {
    fn secrets(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.secret.as_str()).chain(self.previous_secret.as_deref())
    }
}

/// The claims of a Shopify session token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The shop's admin URL, like `https://acme.myshopify.com/admin`.
    pub iss: String,
    /// The shop's URL, like `https://acme.myshopify.com`.
    pub dest: String,
    /// The app's key.
    pub aud: String,
    /// The user.
    #[serde(default)]
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Not before, Unix seconds.
    pub nbf: u64,
    /// Issued at, Unix seconds.
    #[serde(default)]
    pub iat: u64,
    /// The token's id.
    #[serde(default)]
    pub jti: String,
    /// The session id.
    #[serde(default)]
    pub sid: String,
}

/// A verified request's shop and user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The shop's host, like `acme.myshopify.com`: every row the request touches is scoped by it.
    pub shop: String,
    /// The user, as Shopify names them.
    pub user: String,
}

/// The host of an `https://` URL, lowercased; `None` for another scheme or no host.
fn https_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether `host` is a shop's own domain: `{name}.myshopify.com`.
#[must_use]
pub fn is_shop_host(host: &str) -> bool {
    host.strip_suffix(".myshopify.com").is_some_and(|name| {
        !name.is_empty()
            && name.len() <= 60
            && !name.starts_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

/// Verifies a session token from an `Authorization` header value (`Bearer …`).
///
/// # Errors
/// An [`AuthError`] saying why the token is refused.
pub fn verify_bearer(
    authorization: Option<&str>,
    app: &AppCredentials,
) -> Result<Session, AuthError> {
    let token = authorization
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::MissingToken)?;
    verify_session_token(token, app)
}

/// Verifies a session token.
///
/// # Errors
/// An [`AuthError`] saying why the token is refused.
pub fn verify_session_token(token: &str, app: &AppCredentials) -> Result<Session, AuthError> {
    use jsonwebtoken::errors::ErrorKind;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_exp = true;
    // jsonwebtoken checks `nbf` only when told to.
    validation.validate_nbf = true;
    validation.set_audience(&[app.key.as_str()]);
    validation.set_required_spec_claims(&["exp", "nbf", "aud"]);

    let mut last = AuthError::InvalidToken;
    for secret in app.secrets() {
        let key = DecodingKey::from_secret(secret.as_bytes());
        match jsonwebtoken::decode::<Claims>(token, &key, &validation) {
            Ok(data) => return session_of(&data.claims),
            Err(e) => {
                last = match e.kind() {
                    // Another secret may still verify it.
                    ErrorKind::InvalidSignature => AuthError::InvalidToken,
                    ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => {
                        return Err(AuthError::Expired)
                    }
                    ErrorKind::InvalidAudience => return Err(AuthError::WrongAudience),
                    _ => return Err(AuthError::InvalidToken),
                };
            }
        }
    }
    Err(last)
}

fn session_of(claims: &Claims) -> Result<Session, AuthError> {
    let dest = https_host(&claims.dest).ok_or(AuthError::InvalidShop)?;
    let iss = https_host(&claims.iss).ok_or(AuthError::InvalidShop)?;
    if !is_shop_host(&dest) || iss != dest {
        return Err(AuthError::InvalidShop);
    }
    Ok(Session {
        shop: dest,
        user: claims.sub.clone(),
    })
}

/// Signs a session token for `shop`, valid `ttl_seconds` from `now` (Unix seconds), as Shopify would:
/// for the demo page and for tests.
///
/// # Errors
/// `AuthError::InvalidShop` for a host that is not a shop's.
pub fn issue_session_token(
    app: &AppCredentials,
    shop: &str,
    user: &str,
    now: u64,
    ttl_seconds: u64,
) -> Result<String, AuthError> {
    if !is_shop_host(shop) {
        return Err(AuthError::InvalidShop);
    }
    let claims = Claims {
        iss: format!("https://{shop}/admin"),
        dest: format!("https://{shop}"),
        aud: app.key.clone(),
        sub: user.to_owned(),
        exp: now + ttl_seconds,
        nbf: now,
        iat: now,
        jti: format!("{now:x}-{user}"),
        sid: String::new(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(app.secret.as_bytes()),
    )
    .map_err(|_| AuthError::InvalidToken)
}

type HmacSha256 = Hmac<Sha256>;

/// The `X-Shopify-Hmac-Sha256` of a webhook body: base64 of HMAC-SHA256 keyed with the secret.
#[must_use]
pub fn webhook_hmac(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length: the error branch cannot happen.
    match <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Verifies a webhook's `X-Shopify-Hmac-Sha256` header against its raw body, in constant time, with the
/// current secret or, during a rotation, the previous one.
///
/// # Errors
/// `AuthError::InvalidHmac` when the header is missing, malformed, or matches neither secret.
pub fn verify_webhook(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    previous_secret: Option<&str>,
) -> Result<(), AuthError> {
    let expected = header
        .and_then(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h.trim())
                .ok()
        })
        .ok_or(AuthError::InvalidHmac)?;
    let matches = |secret: &str| {
        <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).is_ok_and(|mut mac| {
            mac.update(body);
            // `verify_slice` compares in constant time.
            mac.verify_slice(&expected).is_ok()
        })
    };
    if matches(secret) || previous_secret.is_some_and(matches) {
        Ok(())
    } else {
        Err(AuthError::InvalidHmac)
    }
}

/// A query's parameters, and its `hmac` taken out.
fn query_pairs(query: &str) -> (Vec<(String, String)>, Option<String>) {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let hmac = pairs
        .iter()
        .position(|(k, _)| k == "hmac")
        .map(|i| pairs.remove(i).1);
    (pairs, hmac)
}

/// What Shopify signs of a query: the parameters sorted by name, joined as `name=value&…`.
fn signed_message(pairs: &mut [(String, String)]) -> String {
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Verifies the query Shopify signs when it loads an app page (`shop`, `host`, `timestamp`, …, `hmac`):
/// the hex HMAC-SHA256, keyed with the app secret (or the previous one), of the other parameters sorted
/// by name and joined as `name=value&…`, and its `timestamp` (Unix seconds) within
/// [`APP_QUERY_TOLERANCE_SECONDS`] of `now` (Unix seconds), either way, as Shopify's own
/// `validateHmac` checks it (Shopify/shopify-api-js, `lib/utils/hmac-validator.ts`,
/// `validateHmacTimestamp`). Unlike that library, which lets a query without `timestamp` through, a
/// query must carry one: without it, a signed query would be good for ever. Answers the shop it
/// names.
///
/// # Errors
/// `AuthError::InvalidHmac` when the signature is missing or wrong; `AuthError::StaleQuery` when
/// `timestamp` is missing, not a whole number, or too far from `now`; `AuthError::InvalidShop` when
/// the signed `shop` is no shop's host.
pub fn verify_app_query(
    query: &str,
    secret: &str,
    previous_secret: Option<&str>,
    now: u64,
) -> Result<String, AuthError> {
    let (mut pairs, signature) = query_pairs(query);
    let signature = signature
        .and_then(|h| hex::decode(h).ok())
        .ok_or(AuthError::InvalidHmac)?;
    let message = signed_message(&mut pairs);
    let matches = |secret: &str| {
        <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).is_ok_and(|mut mac| {
            mac.update(message.as_bytes());
            mac.verify_slice(&signature).is_ok()
        })
    };
    if !(matches(secret) || previous_secret.is_some_and(matches)) {
        return Err(AuthError::InvalidHmac);
    }
    let timestamp = pairs
        .iter()
        .find(|(k, _)| k == "timestamp")
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .ok_or(AuthError::StaleQuery)?;
    if timestamp.abs_diff(now) > APP_QUERY_TOLERANCE_SECONDS {
        return Err(AuthError::StaleQuery);
    }
    pairs
        .into_iter()
        .find(|(k, _)| k == "shop")
        .map(|(_, v)| v.to_ascii_lowercase())
        .filter(|shop| is_shop_host(shop))
        .ok_or(AuthError::InvalidShop)
}

/// Whether a `Host` header names this machine: `localhost`, an address of `127.0.0.0/8` or `[::1]`,
/// with or without a port. A name that merely resolves to one (a DNS-rebinding page's) is not.
#[must_use]
pub fn is_loopback_host(host: &str) -> bool {
    let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    let name = authority.host();
    // Nothing but the host and, maybe, a port: no user info, no port that is not a number.
    let port_ok = match authority.as_str().strip_prefix(name) {
        Some("") => true,
        Some(port) => port
            .strip_prefix(':')
            .is_some_and(|port| port.parse::<u16>().is_ok()),
        None => false,
    };
    if !port_ok {
        return false;
    }
    match name.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
    }
}

/// Signs an app page's query as Shopify does (for tests and the demo).
#[must_use]
pub fn sign_app_query(query: &str, secret: &str) -> String {
    let (mut pairs, _) = query_pairs(query);
    let message = signed_message(&mut pairs);
    match <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(message.as_bytes());
            format!("{query}&hmac={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => query.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> AppCredentials {
        AppCredentials {
            key: "app-key".into(),
            secret: "new-secret".into(),
            previous_secret: Some("old-secret".into()),
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn token(secret: &str, claims: &Claims, alg: Algorithm) -> String {
        jsonwebtoken::encode(
            &Header::new(alg),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn claims(shop: &str) -> Claims {
        let t = now();
        Claims {
            iss: format!("https://{shop}/admin"),
            dest: format!("https://{shop}"),
            aud: "app-key".into(),
            sub: "42".into(),
            exp: t + 60,
            nbf: t - 1,
            iat: t - 1,
            jti: "j".into(),
            sid: "s".into(),
        }
    }

    #[test]
    fn accepts_a_good_token_with_either_secret() {
        for secret in ["new-secret", "old-secret"] {
            let t = token(secret, &claims("acme.myshopify.com"), Algorithm::HS256);
            let session = verify_bearer(Some(&format!("Bearer {t}")), &app()).unwrap();
            assert_eq!(session.shop, "acme.myshopify.com");
            assert_eq!(session.user, "42");
        }
        let issued = issue_session_token(&app(), "acme.myshopify.com", "7", now(), 60).unwrap();
        assert_eq!(
            verify_session_token(&issued, &app()).unwrap().shop,
            "acme.myshopify.com"
        );
    }

    #[test]
    fn refuses_bad_tokens_with_their_codes() {
        let good = claims("acme.myshopify.com");
        let t = now();
        let cases: Vec<(String, &str)> = vec![
            (
                token("other", &good, Algorithm::HS256),
                "auth.invalid_token",
            ),
            (
                token("new-secret", &good, Algorithm::HS512),
                "auth.invalid_token",
            ),
            (
                token(
                    "new-secret",
                    &Claims {
                        exp: t - 11,
                        ..good.clone()
                    },
                    Algorithm::HS256,
                ),
                "auth.expired",
            ),
            (
                token(
                    "new-secret",
                    &Claims {
                        nbf: t + 30,
                        ..good.clone()
                    },
                    Algorithm::HS256,
                ),
                "auth.expired",
            ),
            (
                token(
                    "new-secret",
                    &Claims {
                        aud: "other".into(),
                        ..good.clone()
                    },
                    Algorithm::HS256,
                ),
                "auth.wrong_audience",
            ),
            (
                token(
                    "new-secret",
                    &Claims {
                        dest: "https://evil.example.com".into(),
                        iss: "https://evil.example.com/admin".into(),
                        ..good.clone()
                    },
                    Algorithm::HS256,
                ),
                "auth.invalid_shop",
            ),
            (
                token(
                    "new-secret",
                    &Claims {
                        iss: "https://other.myshopify.com/admin".into(),
                        ..good.clone()
                    },
                    Algorithm::HS256,
                ),
                "auth.invalid_shop",
            ),
            (
                token(
                    "new-secret",
                    &Claims {
                        dest: "http://acme.myshopify.com".into(),
                        ..good.clone()
                    },
                    Algorithm::HS256,
                ),
                "auth.invalid_shop",
            ),
            ("not.a.jwt".into(), "auth.invalid_token"),
        ];
        for (t, code) in cases {
            assert_eq!(
                verify_session_token(&t, &app()).unwrap_err().code(),
                code,
                "{t}"
            );
        }
        // An unsigned token: alg `none`.
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&good).unwrap());
        assert_eq!(
            verify_session_token(&format!("{header}.{body}."), &app()).unwrap_err(),
            AuthError::InvalidToken
        );
        assert_eq!(
            verify_bearer(None, &app()).unwrap_err(),
            AuthError::MissingToken
        );
        assert_eq!(
            verify_bearer(Some("Basic x"), &app()).unwrap_err(),
            AuthError::MissingToken
        );
    }

    #[test]
    fn leeway_is_ten_seconds() {
        let t = now();
        let within = Claims {
            exp: t - 5,
            ..claims("acme.myshopify.com")
        };
        assert!(
            verify_session_token(&token("new-secret", &within, Algorithm::HS256), &app()).is_ok()
        );
    }

    #[test]
    fn app_queries_are_verified() {
        let now = 1_795_000_000;
        let query = "host=YWRtaW4&shop=acme.myshopify.com&timestamp=1795000000";
        let signed = sign_app_query(query, "new-secret");
        assert_eq!(
            verify_app_query(&signed, "new-secret", None, now).unwrap(),
            "acme.myshopify.com"
        );
        assert_eq!(
            verify_app_query(&signed, "other", Some("new-secret"), now).unwrap(),
            "acme.myshopify.com"
        );
        assert_eq!(
            verify_app_query(&signed, "other", None, now),
            Err(AuthError::InvalidHmac)
        );
        let tampered = signed.replace("acme", "evil");
        assert_eq!(
            verify_app_query(&tampered, "new-secret", None, now),
            Err(AuthError::InvalidHmac)
        );
        assert_eq!(
            verify_app_query(query, "new-secret", None, now),
            Err(AuthError::InvalidHmac)
        );
        let not_a_shop = sign_app_query("shop=evil.example.com&timestamp=1795000000", "new-secret");
        assert_eq!(
            verify_app_query(&not_a_shop, "new-secret", None, now),
            Err(AuthError::InvalidShop)
        );
    }

    #[test]
    fn shop_hosts() {
        assert!(is_shop_host("acme-2.myshopify.com"));
        for bad in [
            "myshopify.com",
            ".myshopify.com",
            "ACME.myshopify.com",
            "a.b.myshopify.com",
            "acme.myshopify.com.evil.com",
            "-x.myshopify.com",
        ] {
            assert!(!is_shop_host(bad), "{bad}");
        }
    }

    #[test]
    fn webhook_hmac_verifies_in_either_secret() {
        let body = br#"{"id": 1}"#;
        let header = webhook_hmac("new-secret", body);
        assert!(verify_webhook(Some(&header), body, "new-secret", None).is_ok());
        let old = webhook_hmac("old-secret", body);
        assert!(verify_webhook(Some(&old), body, "new-secret", Some("old-secret")).is_ok());
        assert_eq!(
            verify_webhook(Some(&old), body, "new-secret", None),
            Err(AuthError::InvalidHmac)
        );
        assert_eq!(
            verify_webhook(Some(&header), b"{}", "new-secret", None),
            Err(AuthError::InvalidHmac)
        );
        assert_eq!(
            verify_webhook(Some("%%%"), body, "new-secret", None),
            Err(AuthError::InvalidHmac)
        );
        assert_eq!(
            verify_webhook(None, body, "new-secret", None),
            Err(AuthError::InvalidHmac)
        );
    }
}
