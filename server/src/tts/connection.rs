//! Each Shopify shop's connection to its TikTok Shop shop: the authorization's code turned into the
//! seller's tokens (sealed at rest with the same key ring as Shopify's, never logged), the shop chosen
//! among those the seller authorized (its cipher, region and seller type kept), and the access token
//! refreshed a day before it expires. A refused refresh marks the shop for reconnection; no call is
//! made with an expired token.

use std::sync::Arc;

use super::auth::{AuthClient, AuthError, SellerGrant};
use super::{ShopContext, Tts, TtsError};
use crate::refresh::{fresh, take_turn, RefreshLocks, Turn};
use crate::store::{Clock, Platform, ShopCredentials, Store, StoreError, TiktokShop};
use crate::tokens::{KeyRing, OpenError, Purpose, SecretString};

/// How long before its expiry an access token is refreshed, in milliseconds.
pub const REFRESH_MARGIN_MS: i64 = 24 * 3600 * 1000;

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
    /// One refresh of a shop at a time in this process.
    refreshing: RefreshLocks,
}

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
            refreshing: RefreshLocks::default(),
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
        } else if fresh(&stored, REFRESH_MARGIN_MS, self.clock.now_millis()) {
            self.ring
                .open(shop, Purpose::TiktokAccess, &stored.access_token)?
        } else {
            self.refresh(shop).await?
        };
        Ok(Some(ShopContext::new(tiktok.cipher, token.expose_secret())))
    }

    async fn refresh(&self, shop: &str) -> Result<SecretString, ConnectionError> {
        let _one_at_a_time = self.refreshing.lock(shop).await;
        let turn = take_turn(
            &self.store,
            self.clock.as_ref(),
            shop,
            Platform::Tiktok,
            REFRESH_MARGIN_MS,
        )
        .await?;
        match turn {
            Turn::Use(stored) => {
                Ok(self
                    .ring
                    .open(shop, Purpose::TiktokAccess, &stored.access_token)?)
            }
            Turn::Refresh(stored, claim) => {
                let refreshed = self.refresh_claimed(shop, &stored).await;
                claim.release().await;
                refreshed
            }
            Turn::Gone | Turn::Refused => Err(ConnectionError::ReconnectNeeded),
            Turn::Busy => Err(ConnectionError::Unavailable(
                "another instance's refresh of the tokens did not end".into(),
            )),
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
                // Only while the refused token is still the stored one.
                self.store
                    .mark_reconnect(shop, Platform::Tiktok, Some(&sealed))
                    .await?;
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
        self.store
            .mark_reconnect(shop, Platform::Tiktok, None)
            .await?;
        Ok(())
    }
}
