//! Access tokens at rest: sealed with AES-256-GCM (RustCrypto's `aes-gcm`), each bound to its shop and
//! its purpose, under a key ring whose first key seals and whose every key opens.
//!
//! Rotation: put a new key first (`PREFLIGHT_TOKEN_KEYS=new:…,old:…`), reseal what
//! [`KeyRing::needs_reseal`] names, then drop the old key. A sealed token reads
//! `v1.<key id>.<base64 of the 12-byte nonce and the ciphertext>`; the key id says which key opens it.
//! Tokens travel as [`SecretString`], whose `Debug` prints nothing of them.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
pub use secrecy::{ExposeSecret, SecretString};

/// The environment variable holding the key ring: `id:base64-key[,id:base64-key…]`, the first sealing.
pub const KEYS_ENV: &str = "PREFLIGHT_TOKEN_KEYS";

const VERSION: &str = "v1";
const NONCE_BYTES: usize = 12;

/// What a sealed token is for, bound into it with its shop: a token sealed for one shop or purpose does
/// not open for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A Shopify Admin API access token.
    ShopifyAccess,
    /// A Shopify refresh token.
    ShopifyRefresh,
    /// A TikTok Shop seller access token.
    TiktokAccess,
    /// A TikTok Shop refresh token.
    TiktokRefresh,
}

impl Purpose {
    const fn name(self) -> &'static str {
        match self {
            Self::ShopifyAccess => "shopify.access_token",
            Self::ShopifyRefresh => "shopify.refresh_token",
            Self::TiktokAccess => "tiktok.access_token",
            Self::TiktokRefresh => "tiktok.refresh_token",
        }
    }
}

/// Why a key ring could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// No key at all.
    #[error("the token key ring is empty: give `id:base64-key`")]
    Empty,
    /// An entry is not `id:base64-key`.
    #[error("token key {position}: expected `id:base64-key`")]
    Malformed {
        /// The entry's position, from 1.
        position: usize,
    },
    /// A key id outside 1 to 16 of `a-z`, `0-9`, `-`, `_`.
    #[error("token key {position}: the id must be 1 to 16 of a-z, 0-9, `-` and `_`")]
    BadId {
        /// The entry's position, from 1.
        position: usize,
    },
    /// Not 32 bytes of standard base64.
    #[error("token key `{id}`: expected 32 bytes in standard base64 (`openssl rand -base64 32`)")]
    BadKey {
        /// The key's id.
        id: String,
    },
    /// Two keys with one id.
    #[error("token key `{id}` is given twice")]
    Duplicate {
        /// The repeated id.
        id: String,
    },
    /// The key file could not be read.
    #[error("cannot read the token key file: {0}")]
    File(String),
}

/// Why a sealed token did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// Not `v1.<key id>.<base64>`.
    #[error("not a sealed token")]
    Malformed,
    /// Sealed under a key the ring no longer holds.
    #[error("sealed under token key `{0}`, which the key ring does not hold")]
    UnknownKey(String),
    /// The key is right but the token was altered, or sealed for another shop or purpose.
    #[error("the sealed token does not open for this shop and purpose")]
    Refused,
}

struct RingKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The keys tokens are sealed and opened with; the first seals.
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

impl KeyRing {
    /// Reads `id:base64-key[,id:base64-key…]` (whitespace around entries ignored), the first key sealing.
    ///
    /// # Errors
    /// A [`KeyError`] naming the bad entry; never the key itself.
    pub fn parse(spec: &SecretString) -> Result<Self, KeyError> {
        let mut keys: Vec<RingKey> = Vec::new();
        let entries = spec
            .expose_secret()
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty());
        for (i, entry) in entries.enumerate() {
            let position = i + 1;
            let (id, key) = entry
                .split_once(':')
                .ok_or(KeyError::Malformed { position })?;
            let id = id.trim();
            let good_id = (1..=16).contains(&id.len())
                && id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !good_id {
                return Err(KeyError::BadId { position });
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyError::Duplicate { id: id.to_owned() });
            }
            let bytes = STANDARD
                .decode(key.trim())
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| KeyError::BadKey { id: id.to_owned() })?;
            keys.push(RingKey {
                id: id.to_owned(),
                cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
            });
        }
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self { keys })
    }

    /// A ring of one fresh random key named `id` (from the operating system's generator), for a run
    /// that keeps no tokens past itself.
    #[must_use]
    pub fn generate(id: &str) -> Self {
        Self {
            keys: vec![RingKey {
                id: id.to_owned(),
                cipher: Aes256Gcm::new(&Aes256Gcm::generate_key(OsRng)),
            }],
        }
    }

    /// The key ring of the environment variable [`KEYS_ENV`], else of `file` (same format), else none.
    ///
    /// # Errors
    /// As [`KeyRing::parse`], or the file cannot be read.
    pub fn from_env_or_file(file: Option<&Path>) -> Result<Option<Self>, KeyError> {
        if let Ok(spec) = std::env::var(KEYS_ENV) {
            return Self::parse(&SecretString::from(spec)).map(Some);
        }
        match file {
            Some(path) => {
                let spec = std::fs::read_to_string(path)
                    .map_err(|e| KeyError::File(format!("{}: {e}", path.display())))?;
                Self::parse(&SecretString::from(spec)).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The id of the key that seals.
    #[must_use]
    pub fn current(&self) -> &str {
        self.keys.first().map_or("", |k| k.id.as_str())
    }

    fn aad(shop: &str, purpose: Purpose) -> Vec<u8> {
        let mut aad = Vec::with_capacity(purpose.name().len() + 1 + shop.len());
        aad.extend_from_slice(purpose.name().as_bytes());
        aad.push(0);
        aad.extend_from_slice(shop.as_bytes());
        aad
    }

    /// Seals `token` for `shop` and `purpose` under the current key.
    #[must_use]
    pub fn seal(&self, shop: &str, purpose: Purpose, token: &SecretString) -> String {
        let Some(key) = self.keys.first() else {
            return String::new();
        };
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = Self::aad(shop, purpose);
        let payload = Payload {
            msg: token.expose_secret().as_bytes(),
            aad: &aad,
        };
        // Encryption fails only for a message past 64 GiB.
        let sealed = key.cipher.encrypt(&nonce, payload).unwrap_or_default();
        let mut bytes = Vec::with_capacity(NONCE_BYTES + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{VERSION}.{}.{}", key.id, STANDARD.encode(bytes))
    }

    /// Opens a token sealed for `shop` and `purpose`.
    ///
    /// # Errors
    /// An [`OpenError`]: malformed, sealed under a key the ring lacks, or altered or sealed for another
    /// shop or purpose.
    pub fn open(
        &self,
        shop: &str,
        purpose: Purpose,
        sealed: &str,
    ) -> Result<SecretString, OpenError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| OpenError::UnknownKey(id.chars().take(16).collect()))?;
        let bytes = STANDARD.decode(body).map_err(|_| OpenError::Malformed)?;
        if bytes.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let aad = Self::aad(shop, purpose);
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Refused)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| OpenError::Refused)
    }

    /// Whether a sealed token should be sealed again under the current key (it was sealed under an older
    /// one).
    #[must_use]
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        sealed
            .split('.')
            .nth(1)
            .is_some_and(|id| id != self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    fn ring(spec: &str) -> KeyRing {
        KeyRing::parse(&SecretString::from(spec.to_owned())).unwrap_or_else(|e| panic!("{e}"))
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn seals_and_opens_for_its_shop_and_purpose_only() {
        let r = ring(&format!("k1:{K1}"));
        let sealed = r.seal(
            "a.myshopify.com",
            Purpose::ShopifyAccess,
            &secret("shpat_123"),
        );
        assert!(sealed.starts_with("v1.k1."));
        assert!(!sealed.contains("shpat_123"));
        let opened = r.open("a.myshopify.com", Purpose::ShopifyAccess, &sealed);
        assert_eq!(
            opened.map(|s| s.expose_secret().to_owned()),
            Ok("shpat_123".to_owned())
        );
        // Another shop, another purpose, an altered byte: refused.
        assert_eq!(
            r.open("b.myshopify.com", Purpose::ShopifyAccess, &sealed)
                .err(),
            Some(OpenError::Refused)
        );
        assert_eq!(
            r.open("a.myshopify.com", Purpose::ShopifyRefresh, &sealed)
                .err(),
            Some(OpenError::Refused)
        );
        let mut bytes = STANDARD
            .decode(sealed.trim_start_matches("v1.k1."))
            .unwrap_or_default();
        if let Some(b) = bytes.last_mut() {
            *b ^= 1;
        }
        let altered = format!("v1.k1.{}", STANDARD.encode(bytes));
        assert_eq!(
            r.open("a.myshopify.com", Purpose::ShopifyAccess, &altered)
                .err(),
            Some(OpenError::Refused)
        );
        // Two seals of one token differ (a fresh nonce each).
        assert_ne!(
            sealed,
            r.seal(
                "a.myshopify.com",
                Purpose::ShopifyAccess,
                &secret("shpat_123")
            )
        );
    }

    #[test]
    fn rotation_opens_with_old_keys_and_seals_with_the_first() {
        let old = ring(&format!("k1:{K1}"));
        let sealed = old.seal("s", Purpose::TiktokAccess, &secret("tok"));
        let rotated = ring(&format!("k2:{K2}, k1:{K1}"));
        assert_eq!(rotated.current(), "k2");
        assert!(rotated.needs_reseal(&sealed));
        let opened = rotated.open("s", Purpose::TiktokAccess, &sealed);
        assert_eq!(
            opened.map(|s| s.expose_secret().to_owned()),
            Ok("tok".to_owned())
        );
        let resealed = rotated.seal("s", Purpose::TiktokAccess, &secret("tok"));
        assert!(!rotated.needs_reseal(&resealed));
        // Once the old key is retired, what it sealed names it.
        let retired = ring(&format!("k2:{K2}"));
        assert_eq!(
            retired.open("s", Purpose::TiktokAccess, &sealed).err(),
            Some(OpenError::UnknownKey("k1".to_owned()))
        );
        assert_eq!(
            retired
                .open("s", Purpose::TiktokAccess, "shpat_plain")
                .err(),
            Some(OpenError::Malformed)
        );
    }

    #[test]
    fn bad_key_rings_name_the_entry_and_never_the_key() {
        let parse = |s: &str| KeyRing::parse(&secret(s)).err();
        assert_eq!(parse(""), Some(KeyError::Empty));
        assert_eq!(parse(K1), Some(KeyError::Malformed { position: 1 }));
        assert_eq!(
            parse(&format!("K1:{K1}")),
            Some(KeyError::BadId { position: 1 })
        );
        assert_eq!(
            parse("k1:c2hvcnQ="),
            Some(KeyError::BadKey {
                id: "k1".to_owned()
            })
        );
        assert_eq!(
            parse(&format!("k1:{K1},k1:{K2}")),
            Some(KeyError::Duplicate {
                id: "k1".to_owned()
            })
        );
        let message = parse("k1:c2hvcnQ=")
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!message.contains("c2hvcnQ="));
        // Debug shows key ids only.
        let shown = format!("{:?}", ring(&format!("k1:{K1}")));
        assert!(shown.contains("k1") && !shown.contains(K1));
        let token = format!("{:?}", secret("shpat_secret"));
        assert!(!token.contains("shpat_secret"));
    }
}
