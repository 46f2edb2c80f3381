//! Each shop's Shopify access token: obtained by exchanging the merchant's session token on their first
//! request, sealed at rest, refreshed before it expires (the refresh token rotates: the new pair is
//! stored whole, and only from the refresh token it came from), and, when Shopify refuses a refresh,
//! the shop marked so that the merchant is asked to reload.

use std::sync::Arc;

use super::oauth::{OAuthError, TokenClient, TokenGrant};
use crate::refresh::{fresh, take_turn, RefreshLocks, Turn};
use crate::store::{Clock, Platform, ShopCredentials, Store, StoreError};
use crate::tokens::{KeyRing, OpenError, Purpose, SecretString};

/// How long before its expiry an access token is refreshed, in milliseconds.
pub const REFRESH_MARGIN_MS: i64 = 5 * 60 * 1000;

/// Why no access token is at hand.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// The shop has no token and no session token came to exchange.
    #[error("the shop has not authorized the app yet: open it from the Shopify admin")]
    NotInstalled,
    /// Shopify refused the session token at exchange (expired or forged).
    #[error("Shopify refused the session token")]
    InvalidSessionToken,
    /// Shopify refused a refresh: the merchant must reload the app to authorize it again.
    #[error("Shopify refused to refresh the shop's access: reload the app")]
    ReloadNeeded,
    /// Shopify did not answer, or answered nothing usable.
    #[error("Shopify's token endpoint is unavailable: {0}")]
    Unavailable(String),
    /// A stored token does not open (the key ring lacks its key, or it was altered).
    #[error("the shop's stored token does not open: {0}")]
    Sealed(#[from] OpenError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A task of ours failed.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl CredentialsError {
    /// The stable code of this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotInstalled => "shopify.not_installed",
            Self::InvalidSessionToken => "auth.invalid_token",
            Self::ReloadNeeded => "shopify.reload_needed",
            Self::Unavailable(_) => "shopify.unavailable",
            Self::Sealed(_) => "shopify.token_unreadable",
            Self::Store(e) => e.code(),
            Self::Internal(_) => "internal",
        }
    }
}

/// Each shop's Shopify access token, kept fresh.
#[derive(Clone)]
pub struct ShopifyCredentials {
    client: TokenClient,
    ring: Arc<KeyRing>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// One refresh of a shop at a time in this process (and, through the store's claim, across
    /// instances): two at once would rotate the pair twice, and the pair stored would hold a refresh
    /// token Shopify no longer takes.
    refreshing: RefreshLocks,
}

impl std::fmt::Debug for ShopifyCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopifyCredentials")
            .field("client", &self.client)
            .field("ring", &self.ring)
            .finish_non_exhaustive()
    }
}

impl ShopifyCredentials {
    /// Credentials kept in `store`, sealed under `ring`, obtained through `client`.
    #[must_use]
    pub fn new(
        client: TokenClient,
        ring: Arc<KeyRing>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            client,
            ring,
            store,
            clock,
            refreshing: RefreshLocks::default(),
        }
    }

    async fn stored(&self, shop: &str) -> Result<Option<ShopCredentials>, CredentialsError> {
        Ok(self.store.credentials(shop, Platform::Shopify).await?)
    }

    async fn swap(
        &self,
        shop: &str,
        expected: Option<String>,
        credentials: ShopCredentials,
    ) -> Result<bool, CredentialsError> {
        Ok(self
            .store
            .swap_credentials(shop, Platform::Shopify, expected.as_deref(), &credentials)
            .await?)
    }

    fn sealed(&self, shop: &str, grant: &TokenGrant, previous: Option<String>) -> ShopCredentials {
        let now = self.clock.now_millis();
        let at = |secs: Option<u64>| {
            secs.and_then(|s| i64::try_from(s).ok())
                .map(|s| now.saturating_add(s.saturating_mul(1000)))
        };
        ShopCredentials {
            access_token: self
                .ring
                .seal(shop, Purpose::ShopifyAccess, &grant.access_token),
            access_expires_at: at(grant.expires_in),
            refresh_token: grant
                .refresh_token
                .as_ref()
                .map(|r| self.ring.seal(shop, Purpose::ShopifyRefresh, r)),
            refresh_expires_at: at(grant.refresh_token_expires_in),
            previous_refresh_token: previous,
            needs_reconnect: false,
        }
    }

    /// Exchanges the merchant's session token and stores the pair, replacing whatever was stored.
    ///
    /// # Errors
    /// [`CredentialsError::InvalidSessionToken`], [`CredentialsError::Unavailable`], or the store's.
    pub async fn install(
        &self,
        shop: &str,
        session_token: &str,
    ) -> Result<SecretString, CredentialsError> {
        let grant = self
            .client
            .exchange(shop, session_token)
            .await
            .map_err(|e| match e {
                OAuthError::Refused { ref error, .. } if error == "invalid_subject_token" => {
                    CredentialsError::InvalidSessionToken
                }
                OAuthError::Refused { .. } => CredentialsError::ReloadNeeded,
                other => CredentialsError::Unavailable(other.to_string()),
            })?;
        let credentials = self.sealed(shop, &grant, None);
        self.swap(shop, None, credentials).await?;
        Ok(grant.access_token)
    }

    /// The shop's access token: the stored one while it has more than [`REFRESH_MARGIN_MS`] to live,
    /// else a refreshed one; with none stored (or its refresh refused), the merchant's `session_token`
    /// is exchanged when given.
    ///
    /// # Errors
    /// [`CredentialsError::NotInstalled`] with nothing stored and no session token;
    /// [`CredentialsError::ReloadNeeded`] when Shopify refused the refresh and no session token came;
    /// [`CredentialsError::Unavailable`] when Shopify did not answer twice; the store's or the seal's.
    pub async fn access_token(
        &self,
        shop: &str,
        session_token: Option<&str>,
    ) -> Result<SecretString, CredentialsError> {
        let Some(stored) = self.stored(shop).await? else {
            return match session_token {
                Some(token) => self.install(shop, token).await,
                None => Err(CredentialsError::NotInstalled),
            };
        };
        if !stored.needs_reconnect && fresh(&stored, REFRESH_MARGIN_MS, self.clock.now_millis()) {
            return Ok(self
                .ring
                .open(shop, Purpose::ShopifyAccess, &stored.access_token)?);
        }
        let refreshed = {
            let _one_at_a_time = self.refreshing.lock(shop).await;
            self.refresh_when_due(shop).await
        };
        match (refreshed, session_token) {
            (Err(CredentialsError::ReloadNeeded), Some(token)) => self.install(shop, token).await,
            (result, _) => result,
        }
    }

    /// The access token once this request has refreshed it under its claim (across instances), or
    /// once another's refresh made it fresh; while another instance refreshes, a live access token is
    /// used as it is.
    async fn refresh_when_due(&self, shop: &str) -> Result<SecretString, CredentialsError> {
        let turn = take_turn(
            &self.store,
            self.clock.as_ref(),
            shop,
            Platform::Shopify,
            REFRESH_MARGIN_MS,
        )
        .await?;
        match turn {
            Turn::Use(stored) => {
                Ok(self
                    .ring
                    .open(shop, Purpose::ShopifyAccess, &stored.access_token)?)
            }
            Turn::Refresh(stored, claim) => {
                let refreshed = match &stored.refresh_token {
                    Some(sealed) => self.refresh(shop, sealed).await,
                    None => Err(CredentialsError::ReloadNeeded),
                };
                claim.release().await;
                refreshed
            }
            Turn::Gone | Turn::Refused => Err(CredentialsError::ReloadNeeded),
            Turn::Busy => Err(CredentialsError::Unavailable(
                "another instance's refresh of the tokens did not end".into(),
            )),
        }
    }

    /// Refreshes with the stored refresh token, retried once with the same token when the answer is
    /// lost (Shopify keeps it valid until the new pair is used). A refusal marks the shop for reload.
    async fn refresh(&self, shop: &str, sealed: &str) -> Result<SecretString, CredentialsError> {
        let refresh = self.ring.open(shop, Purpose::ShopifyRefresh, sealed)?;
        let mut answer = self.client.refresh(shop, &refresh).await;
        if matches!(&answer, Err(e) if e.answer_lost()) {
            answer = self.client.refresh(shop, &refresh).await;
        }
        match answer {
            Ok(grant) => {
                let credentials = self.sealed(shop, &grant, Some(sealed.to_owned()));
                if self
                    .swap(shop, Some(sealed.to_owned()), credentials)
                    .await?
                {
                    return Ok(grant.access_token);
                }
                // Another request refreshed first: its pair stands.
                let stored = self
                    .stored(shop)
                    .await?
                    .ok_or(CredentialsError::NotInstalled)?;
                Ok(self
                    .ring
                    .open(shop, Purpose::ShopifyAccess, &stored.access_token)?)
            }
            Err(OAuthError::Refused { .. }) => {
                // Only while the refused token is still the stored one.
                self.store
                    .mark_reconnect(shop, Platform::Shopify, Some(sealed))
                    .await?;
                Err(CredentialsError::ReloadNeeded)
            }
            Err(other) => Err(CredentialsError::Unavailable(other.to_string())),
        }
    }
}

/// Seals again, under the ring's current key, every stored token sealed under an older one (a key
/// rotation: put the new key first, reseal, then retire the old key). Answers how many rows were
/// resealed, and how many hold a token no key of the ring opens (left as they are: their shops
/// exchange again on their next request).
///
/// # Errors
/// The store's.
pub async fn reseal_all(
    store: &dyn Store,
    ring: &KeyRing,
) -> Result<(usize, usize), CredentialsError> {
    let (mut resealed, mut unreadable) = (0, 0);
    for (shop, platform, stored) in store.all_credentials().await? {
        let fields = [
            Some(&stored.access_token),
            stored.refresh_token.as_ref(),
            stored.previous_refresh_token.as_ref(),
        ];
        if !fields.into_iter().flatten().any(|t| ring.needs_reseal(t)) {
            continue;
        }
        let (access, refresh) = match platform {
            Platform::Shopify => (Purpose::ShopifyAccess, Purpose::ShopifyRefresh),
            Platform::Tiktok => (Purpose::TiktokAccess, Purpose::TiktokRefresh),
        };
        let reseal = |purpose, sealed: &str| -> Result<String, OpenError> {
            Ok(ring.seal(&shop, purpose, &ring.open(&shop, purpose, sealed)?))
        };
        let reseal_opt = |sealed: Option<&str>| sealed.map(|t| reseal(refresh, t)).transpose();
        let fresh = (|| -> Result<ShopCredentials, OpenError> {
            Ok(ShopCredentials {
                access_token: reseal(access, &stored.access_token)?,
                refresh_token: reseal_opt(stored.refresh_token.as_deref())?,
                previous_refresh_token: reseal_opt(stored.previous_refresh_token.as_deref())?,
                ..stored.clone()
            })
        })();
        let Ok(fresh) = fresh else {
            unreadable += 1;
            continue;
        };
        // Only from the refresh token read: a refresh in between wins, already under the new key.
        if store
            .swap_credentials(&shop, platform, stored.refresh_token.as_deref(), &fresh)
            .await?
        {
            resealed += 1;
        }
    }
    Ok((resealed, unreadable))
}
