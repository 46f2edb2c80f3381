//! One refresh of a shop's tokens at a time, across every instance sharing the store: a request whose
//! access token is due claims the refresh ([`Store::claim_refresh`], a lease of [`REFRESH_LEASE`]) and
//! refreshes; the others use the access token while it still lives, or wait for the new one. Shared
//! by TikTok Shop's and Shopify's tokens; each caller also takes one refresh of a shop at a time in
//! its process ([`RefreshLocks`]).

use std::sync::Arc;
use std::time::Duration;

use crate::store::locks::{KeyGuard, KeyedLocks};
use crate::store::{millis, Clock, Platform, ShopCredentials, Store, StoreError};

/// How long a claim on a shop's refresh lasts: past a refresh's own tries (Shopify: two of 10 s;
/// TikTok Shop: three of 4 s). An instance that dies with it leaves the refresh to another after it.
pub const REFRESH_LEASE: Duration = Duration::from_secs(45);
/// How often a request waiting on another instance's refresh reads the tokens again.
const POLL: Duration = Duration::from_millis(100);

/// What a request whose access token is due does.
pub(crate) enum Turn {
    /// Use these credentials' access token: fresh (another refresh ended), or still live while
    /// another instance refreshes.
    Use(ShopCredentials),
    /// Refresh these credentials, under this request's claim: storing new credentials lets go of it;
    /// otherwise [`Claim::release`].
    Refresh(ShopCredentials, Claim),
    /// No credentials stored (any more).
    Gone,
    /// Marked refused, or nothing to refresh with: the merchant must connect again.
    Refused,
    /// Another instance's refresh did not end within [`REFRESH_LEASE`], and the access token expired.
    Busy,
}

/// A request's claim on a shop's refresh.
pub(crate) struct Claim {
    store: Arc<dyn Store>,
    shop: String,
    platform: Platform,
    owner: String,
}

impl Claim {
    /// Lets go of the claim (best effort: it lapses with its lease anyway). A claim already let go, by
    /// new credentials stored, is not another's to lose: only this claim's owner is released.
    pub(crate) async fn release(self) {
        let _ = self
            .store
            .release_refresh(&self.shop, self.platform, &self.owner)
            .await;
    }
}

/// One lock per shop being refreshed in this process.
#[derive(Clone, Debug, Default)]
pub(crate) struct RefreshLocks(Arc<KeyedLocks>);

impl RefreshLocks {
    /// Waits for the shop's turn in this process.
    pub(crate) async fn lock(&self, shop: &str) -> KeyGuard {
        self.0.lock(shop).await
    }
}

/// Whether credentials' access token has more than `margin_millis` to live at `now`.
pub(crate) fn fresh(stored: &ShopCredentials, margin_millis: i64, now: i64) -> bool {
    stored
        .access_expires_at
        .is_none_or(|at| at.saturating_sub(margin_millis) > now)
}

/// The turn of a request whose access token for `shop` at `platform` is due (less than
/// `margin_millis` to live).
///
/// # Errors
/// The store's; a claim taken is let go first.
pub(crate) async fn take_turn(
    store: &Arc<dyn Store>,
    clock: &dyn Clock,
    shop: &str,
    platform: Platform,
    margin_millis: i64,
) -> Result<Turn, StoreError> {
    let claim = Claim {
        store: store.clone(),
        shop: shop.to_owned(),
        platform,
        owner: format!("{:032x}", rand::random::<u128>()),
    };
    // Past the lease: a claimant that died lets this request take over before it gives up.
    let deadline = tokio::time::Instant::now() + REFRESH_LEASE + POLL * 50;
    let mut claimed = false;
    loop {
        let stored = match store.credentials(shop, platform).await {
            Ok(stored) => stored,
            Err(error) => {
                if claimed {
                    claim.release().await;
                }
                return Err(error);
            }
        };
        let now = clock.now_millis();
        let settled = match &stored {
            None => Some(Turn::Gone),
            Some(s) if s.needs_reconnect => Some(Turn::Refused),
            Some(s) if fresh(s, margin_millis, now) => Some(Turn::Use(s.clone())),
            Some(s) if s.refresh_token.is_none() => Some(Turn::Refused),
            Some(_) => None,
        };
        let stored = match (settled, stored) {
            (Some(turn), _) => {
                if claimed {
                    claim.release().await;
                }
                return Ok(turn);
            }
            (None, Some(stored)) => stored,
            (None, None) => return Ok(Turn::Gone),
        };
        if claimed {
            return Ok(Turn::Refresh(stored, claim));
        }
        claimed = store
            .claim_refresh(shop, platform, &claim.owner, millis(REFRESH_LEASE))
            .await?;
        if claimed {
            // Read once more: a refresh that ended just before the claim made it needless.
            continue;
        }
        if stored.access_expires_at.is_some_and(|at| at > now) {
            return Ok(Turn::Use(stored));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Turn::Busy);
        }
        tokio::time::sleep(POLL).await;
    }
}
