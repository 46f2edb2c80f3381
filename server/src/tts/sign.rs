//! Request signing of the TikTok Shop Open API (202309 and later).
//!
//! The signed string is the URL path, then every query parameter but `sign` and `access_token` as
//! `{key}{value}` in key order, then the raw body (unless the request is multipart), wrapped in the app
//! secret on both sides. The signature is its HMAC-SHA256 keyed with the app secret, in lowercase hex.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Query parameters left out of the signed string.
const UNSIGNED: [&str; 2] = ["sign", "access_token"];

/// The string that is signed, before it is wrapped in the secret.
///
/// `body` is the exact bytes sent; pass `None` for a multipart request or a request without a body.
#[must_use]
pub fn string_to_sign<K, V>(path: &str, query: &[(K, V)], body: Option<&[u8]>) -> Vec<u8>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut params: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| !UNSIGNED.contains(k))
        .collect();
    params.sort_by(|a, b| a.0.cmp(b.0));
    let mut s = Vec::with_capacity(path.len() + 128 + body.map_or(0, <[u8]>::len));
    s.extend_from_slice(path.as_bytes());
    for (k, v) in params {
        s.extend_from_slice(k.as_bytes());
        s.extend_from_slice(v.as_bytes());
    }
    if let Some(body) = body {
        s.extend_from_slice(body);
    }
    s
}

/// The keyed MAC over the wrapped string; `None` only if the key were refused, which HMAC never does.
fn mac<K, V>(
    app_secret: &str,
    path: &str,
    query: &[(K, V)],
    body: Option<&[u8]>,
) -> Option<HmacSha256>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let secret = app_secret.as_bytes();
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(secret);
    mac.update(&string_to_sign(path, query, body));
    mac.update(secret);
    Some(mac)
}

/// The `sign` query parameter of a request, in lowercase hex.
///
/// `body` is the exact bytes sent; pass `None` for a multipart request or a request without a body.
#[must_use]
pub fn sign<K, V>(app_secret: &str, path: &str, query: &[(K, V)], body: Option<&[u8]>) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    mac(app_secret, path, query, body)
        .map(|mac| hex::encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Whether `signature` (hex, any case) is the signature of the request, compared in constant time.
#[must_use]
pub fn verify<K, V>(
    app_secret: &str,
    path: &str,
    query: &[(K, V)],
    body: Option<&[u8]>,
    signature: &str,
) -> bool
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    match hex::decode(signature) {
        Ok(bytes) => {
            mac(app_secret, path, query, body).is_some_and(|mac| mac.verify_slice(&bytes).is_ok())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_example() {
        let query = [("app_key", "29a39d"), ("timestamp", "1623812664")];
        assert_eq!(
            string_to_sign("/authorization/202309/shops", &query, None),
            b"/authorization/202309/shopsapp_key29a39dtimestamp1623812664"
        );
        assert_eq!(
            sign("e59af819cc", "/authorization/202309/shops", &query, None),
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
    }

    const PATH: &str = "/fulfillment/202309/orders/576461413038785752/packages";
    const BODY: &str = r#"{"order_line_item_ids":["2321312321311"],"tracking_number":"1Z999AA10123456784","shipping_provider_id":"7117859084333745966"}"#;

    fn query() -> Vec<(&'static str, &'static str)> {
        vec![
            ("timestamp", "1790000000"),
            ("sign", "ignored"),
            ("shop_cipher", "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3"),
            ("access_token", "ignored"),
            ("app_key", "38abcd"),
        ]
    }

    #[test]
    fn sorts_keys_skips_sign_and_token_and_appends_the_body() {
        let expected = format!(
            "{PATH}app_key38abcdshop_cipherGCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3timestamp1790000000{BODY}"
        );
        assert_eq!(
            string_to_sign(PATH, &query(), Some(BODY.as_bytes())),
            expected.as_bytes()
        );
        assert_eq!(
            sign("sim-secret-0001", PATH, &query(), Some(BODY.as_bytes())),
            "468bb59e34d86d7defc967b2d2e51d634243df12cefbd7120e47a79e70b0f203"
        );
        assert_eq!(
            sign("sim-secret-0001", PATH, &query(), None),
            "5a83d4ffaea770852ca83fa437e1c4b432b4deda97df05a215749d6a6ae7a58b"
        );
    }

    #[test]
    fn verifies_in_any_case_and_refuses_changes() {
        let good = "468bb59e34d86d7defc967b2d2e51d634243df12cefbd7120e47a79e70b0f203";
        let body = Some(BODY.as_bytes());
        assert!(verify("sim-secret-0001", PATH, &query(), body, good));
        assert!(verify(
            "sim-secret-0001",
            PATH,
            &query(),
            body,
            &good.to_uppercase()
        ));
        assert!(!verify("other", PATH, &query(), body, good));
        assert!(!verify("sim-secret-0001", PATH, &query(), None, good));
        assert!(!verify("sim-secret-0001", PATH, &query(), body, "zz"));
        assert!(!verify("sim-secret-0001", PATH, &query(), body, ""));
    }
}
