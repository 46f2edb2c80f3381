//! Each Shopify shop's connection to its TikTok Shop shop: the authorization's code turned into the
//! seller's tokens (sealed at rest with the same key ring as Shopify's, never logged), the shop chosen
//! among those the seller authorized (its cipher, region and seller type kept), and the access token
//! refreshed a day before it expires. A refused refresh marks the shop for reconnection; no call is
//! made with an expired token.

use std::sync::Arc;

use super::auth::{AuthClient, AuthError, SellerGrant};
use super::{ShopContext, Tts, TtsError};
use crate::store::{Clock, Platform, ShopCredentials, Store, StoreError, TiktokShop};
use crate::tokens::{KeyRing, OpenError, Purpose, SecretString};

/// How long before its expiry an access token is refreshed, in milliseconds.
pub const REFRESH_MARGIN_MS: i64 = 24 * 3600 * 1000;
/// How long one instance's claim on a shop's refresh lasts: past the refresh's own retries (3 tries of
/// 4 s); an instance that dies with it leaves the refresh to another after it.
pub const REFRESH_LEASE: std::time::Duration = std::time::Duration::from_secs(20);
/// How often an instance waiting on another's refresh reads the tokens again.
const REFRESH_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// What a refresh's claim found.
enum Claimed {
    /// Tokens fresh already, or one still live while another instance refreshes.
    Token(SecretString),
    /// This instance refreshes these credentials.
    Refresh(ShopCredentials),
}

/// Why a shop has no TikTok Shop access at hand.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// TikTok Shop refused the code (wrong, spent or expired) or the app's credentials.
    #[error("TikTok Shop refused the authorization: {0}")]
    Refused(String),
    /// The seller authorized no shop.
    #[error("the TikTok Shop account authorized no shop")]
    NoShop,
    /// The authorization ended or was withdrawn: the merchant must connect again.
    #[error("TikTok Shop's authorization ended: connect TikTok Shop again")]
    ReconnectNeeded,
    /// TikTok Shop did not answer.
    #[error("TikTok Shop is unavailable: {0}")]
    Unavailable(String),
    /// A stored token does not open.
    #[error("the shop's stored TikTok Shop token does not open: {0}")]
    Sealed(#[from] OpenError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A task of ours failed.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl ConnectionError {
    /// The stable code of this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Refused(_) => "tiktok.authorization_refused",
            Self::NoShop => "tiktok.no_shop",
            Self::ReconnectNeeded => "tiktok.reconnect_needed",
            Self::Unavailable(_) => "tiktok.unavailable",
            Self::Sealed(_) => "tiktok.token_unreadable",
            Self::Store(e) => e.code(),
            Self::Internal(_) => "internal",
        }
    }
}

/// Whether the stored access token has more than [`REFRESH_MARGIN_MS`] to live at `now` (Unix ms).
fn fresh(stored: &ShopCredentials, now: i64) -> bool {
    stored
        .access_expires_at
        .is_none_or(|at| at - REFRESH_MARGIN_MS > now)
}

impl From<AuthError> for ConnectionError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Refused { code, message } => Self::Refused(format!("{code}: {message}")),
            AuthError::Transport(m) => Self::Unavailable(m),
        }
    }
}

/// Each Shopify shop's TikTok Shop connection.
#[derive(Clone)]
pub struct TtsConnections {
    auth: AuthClient,
    tts: Arc<dyn Tts>,
    ring: Arc<KeyRing>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// One refresh of a shop at a time in this process: each shop's lock.
    refreshing: Arc<std::sync::Mutex<std::collections::HashMap<String, RefreshLock>>>,
}

/// The lock one shop's refresh holds.
type RefreshLock = Arc<tokio::sync::Mutex<()>>;

impl std::fmt::Debug for TtsConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtsConnections")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl TtsConnections {
    /// Connections obtained through `auth` and `tts`, kept in `store`, sealed under `ring`.
    #[must_use]
    pub fn new(
        auth: AuthClient,
        tts: Arc<dyn Tts>,
        ring: Arc<KeyRing>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            auth,
            tts,
            ring,
            store,
            clock,
            refreshing: Arc::default(),
        }
    }

    fn sealed(&self, shop: &str, grant: &SellerGrant, previous: Option<String>) -> ShopCredentials {
        ShopCredentials {
            access_token: self
                .ring
                .seal(shop, Purpose::TiktokAccess, &grant.access_token),
            access_expires_at: Some(grant.access_expires_at.saturating_mul(1000)),
            refresh_token: Some(
                self.ring
                    .seal(shop, Purpose::TiktokRefresh, &grant.refresh_token),
            ),
            refresh_expires_at: Some(grant.refresh_expires_at.saturating_mul(1000)),
            previous_refresh_token: previous,
            needs_reconnect: false,
        }
    }

    /// Connects the Shopify shop with the seller's authorization `code`: the tokens, then the shop the
    /// seller authorized (the one in `market` when there are several, else the first). Nothing is
    /// stored unless every step succeeded.
    ///
    /// # Errors
    /// [`ConnectionError::Refused`] for a bad code, [`ConnectionError::NoShop`],
    /// [`ConnectionError::Unavailable`], or the store's.
    pub async fn connect(
        &self,
        shop: &str,
        code: &str,
        market: &str,
    ) -> Result<TiktokShop, ConnectionError> {
        use crate::tokens::ExposeSecret;
        let grant = self.auth.get(code).await?;
        let shops = self
            .tts
            .get_authorized_shops(grant.access_token.expose_secret())
            .await
            .map_err(|e| match e {
                TtsError::Api { .. } => ConnectionError::Refused(e.to_string()),
                other => ConnectionError::Unavailable(other.to_string()),
            })?;
        let chosen = shops
            .iter()
            .find(|s| s.region.eq_ignore_ascii_case(market))
            .or_else(|| shops.first())
            .ok_or(ConnectionError::NoShop)?;
        let tiktok = TiktokShop {
            id: chosen.id.clone(),
            name: chosen.name.clone(),
            region: chosen.region.clone(),
            seller_type: chosen.seller_type.clone(),
            cipher: chosen.cipher.clone(),
            open_id: grant.open_id.clone(),
            connected_at: self.clock.now_millis(),
            authorization_expires_at: Some(grant.refresh_expires_at),
        };
        let credentials = self.sealed(shop, &grant, None);
        self.store
            .swap_credentials(shop, Platform::Tiktok, None, &credentials)
            .await?;
        self.store.put_tiktok_shop(shop, &tiktok).await?;
        Ok(tiktok)
    }

    /// Whether a webhook's `Authorization` header signs its raw body (see [`AuthClient::verify_webhook`]).
    #[must_use]
    pub fn verify_webhook(&self, body: &[u8], signature: &str) -> bool {
        self.auth.verify_webhook(body, signature)
    }

    /// The TikTok Shop shop the Shopify shop is connected to, when it is.
    ///
    /// # Errors
    /// The store's.
    pub async fn shop(&self, shop: &str) -> Result<Option<TiktokShop>, ConnectionError> {
        Ok(self.store.tiktok_shop(shop).await?)
    }

    /// Whether the shop's authorization needs the merchant to connect again.
    ///
    /// # Errors
    /// The store's.
    pub async fn needs_reconnect(&self, shop: &str) -> Result<bool, ConnectionError> {
        Ok(self
            .store
            .credentials(shop, Platform::Tiktok)
            .await?
            .is_some_and(|c| c.needs_reconnect))
    }

    /// The context of the shop's calls (its cipher and a live access token, refreshed when due), or
    /// `None` when the shop never connected.
    ///
    /// # Errors
    /// [`ConnectionError::ReconnectNeeded`] when the authorization ended (nothing is called with an
    /// expired token); [`ConnectionError::Unavailable`] when TikTok Shop did not answer a due refresh;
    /// the store's or the seal's.
    pub async fn context(&self, shop: &str) -> Result<Option<ShopContext>, ConnectionError> {
        use crate::tokens::ExposeSecret;
        let (tiktok, stored) = tokio::try_join!(
            self.store.tiktok_shop(shop),
            self.store.credentials(shop, Platform::Tiktok)
        )?;
        let Some((tiktok, stored)) = tiktok.zip(stored) else {
            return Ok(None);
        };
        let token = if stored.needs_reconnect {
            return Err(ConnectionError::ReconnectNeeded);
        } else if fresh(&stored, self.clock.now_millis()) {
            self.ring
                .open(shop, Purpose::TiktokAccess, &stored.access_token)?
        } else {
            self.refresh(shop, stored).await?
        };
        Ok(Some(ShopContext::new(tiktok.cipher, token.expose_secret())))
    }

    async fn refresh(
        &self,
        shop: &str,
        stored: ShopCredentials,
    ) -> Result<SecretString, ConnectionError> {
        let lock = self
            .refreshing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(shop.to_owned())
            .or_default()
            .clone();
        let _one_at_a_time = lock.lock().await;
        let stored = match self.claim_refresh(shop, stored).await? {
            Claimed::Token(token) => return Ok(token),
            Claimed::Refresh(stored) => stored,
        };
        let refreshed = self.refresh_claimed(shop, &stored).await;
        // Stored tokens let go of the claim already; one that failed lets go here. Either way, an
        // instance claiming next reads the tokens again before refreshing.
        let _ = self.store.release_refresh(shop, Platform::Tiktok).await;
        refreshed
    }

    /// Waits until this instance may refresh the shop's tokens (its claim, across instances), or until
    /// another's refresh made them fresh. While another instance refreshes, a live access token is used
    /// as it is.
    async fn claim_refresh(
        &self,
        shop: &str,
        stored: ShopCredentials,
    ) -> Result<Claimed, ConnectionError> {
        let lease = i64::try_from(REFRESH_LEASE.as_millis()).unwrap_or(i64::MAX);
        let deadline = tokio::time::Instant::now() + REFRESH_LEASE;
        let mut claimed = false;
        loop {
            let stored = self
                .store
                .credentials(shop, Platform::Tiktok)
                .await?
                .unwrap_or_else(|| stored.clone());
            let now = self.clock.now_millis();
            if stored.needs_reconnect || fresh(&stored, now) {
                if claimed {
                    self.store.release_refresh(shop, Platform::Tiktok).await?;
                }
                if stored.needs_reconnect {
                    return Err(ConnectionError::ReconnectNeeded);
                }
                return Ok(Claimed::Token(self.ring.open(
                    shop,
                    Purpose::TiktokAccess,
                    &stored.access_token,
                )?));
            }
            // Read once more after the claim: a refresh that ended just before it made it needless.
            if claimed {
                return Ok(Claimed::Refresh(stored));
            }
            claimed = self
                .store
                .claim_refresh(shop, Platform::Tiktok, lease)
                .await?;
            if claimed {
                continue;
            }
            if stored.access_expires_at.is_some_and(|at| at > now) {
                return Ok(Claimed::Token(self.ring.open(
                    shop,
                    Purpose::TiktokAccess,
                    &stored.access_token,
                )?));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ConnectionError::Unavailable(
                    "another instance's refresh of the tokens did not end".into(),
                ));
            }
            tokio::time::sleep(REFRESH_POLL).await;
        }
    }

    /// Refreshes under this instance's claim: the access token.
    async fn refresh_claimed(
        &self,
        shop: &str,
        stored: &ShopCredentials,
    ) -> Result<SecretString, ConnectionError> {
        let now = self.clock.now_millis();
        let Some(sealed) = stored.refresh_token.clone() else {
            return Err(ConnectionError::ReconnectNeeded);
        };
        let expired = stored.refresh_expires_at.is_some_and(|at| at <= now);
        let answer = if expired {
            Err(AuthError::Refused {
                code: 0,
                message: "the refresh token expired".into(),
            })
        } else {
            let refresh = self.ring.open(shop, Purpose::TiktokRefresh, &sealed)?;
            self.auth.refresh(&refresh).await
        };
        match answer {
            Ok(grant) => {
                let credentials = self.sealed(shop, &grant, Some(sealed.clone()));
                self.store
                    .swap_credentials(shop, Platform::Tiktok, Some(&sealed), &credentials)
                    .await?;
                Ok(grant.access_token)
            }
            Err(AuthError::Refused { .. }) => {
                self.mark_reconnect(shop).await?;
                Err(ConnectionError::ReconnectNeeded)
            }
            // The access token may still be live: no call is made with an expired one.
            Err(AuthError::Transport(m)) => match stored.access_expires_at {
                Some(at) if at > now => {
                    Ok(self
                        .ring
                        .open(shop, Purpose::TiktokAccess, &stored.access_token)?)
                }
                _ => Err(ConnectionError::Unavailable(m)),
            },
        }
    }

    /// The seller withdrew the app, or its authorization ends: the merchant is asked to connect again.
    ///
    /// # Errors
    /// The store's.
    pub async fn mark_reconnect(&self, shop: &str) -> Result<(), ConnectionError> {
        self.store.mark_reconnect(shop, Platform::Tiktok).await?;
        Ok(())
    }
}
