//! The simulator's authorization: sellers and their shops, the authorization a seller gives the app
//! (a single-use code, valid 30 minutes), the token endpoints (get and refresh, with expiries), Get
//! Authorized Shops, and a seller withdrawing the app. Modelled on TikTok Shop's partner docs on their
//! own ("Authorization guide (202309)"), never on the server's code.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

/// A code lives 30 minutes.
pub const CODE_TTL_SECS: i64 = 30 * 60;
/// An access token lives seven days.
pub const ACCESS_TTL_SECS: i64 = 7 * 86_400;
/// An authorization (the refresh token) lives a year.
pub const REFRESH_TTL_SECS: i64 = 365 * 86_400;

/// TikTok Shop's codes for the token endpoints' refusals (the simulator's choice where the docs give
/// none): a bad app, a bad code, a bad refresh token.
pub mod codes {
    /// The app key or secret is wrong.
    pub const INVALID_APP: u64 = 36_004_003;
    /// The authorization code is wrong, spent or expired.
    pub const INVALID_AUTH_CODE: u64 = 36_004_004;
    /// The refresh token is wrong, expired or revoked.
    pub const INVALID_REFRESH_TOKEN: u64 = 36_004_005;
    /// The access token is wrong or expired.
    pub const INVALID_ACCESS_TOKEN: u64 = 105_002;
}

/// A shop of a seller, as Get Authorized Shops lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthorizedShop {
    /// The shop's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its market, like `US`.
    pub region: String,
    /// `LOCAL` or `CROSS_BORDER`.
    pub seller_type: String,
    /// The shop cipher every shop call carries.
    pub cipher: String,
    /// The shop's code.
    pub code: String,
}

/// A seller with the shops an authorization covers.
#[derive(Clone, Debug)]
pub struct Seller {
    /// The seller's id for the app.
    pub open_id: String,
    /// The seller's name.
    pub name: String,
    /// The seller's base region.
    pub base_region: String,
    /// The seller's shops.
    pub shops: Vec<AuthorizedShop>,
}

#[derive(Clone, Debug)]
struct Grant {
    open_id: String,
    expires_at: i64,
}

/// The authorization side of the platform.
#[derive(Debug, Default)]
pub(super) struct AuthState {
    sellers: BTreeMap<String, Seller>,
    /// The app's redirect URL, as registered in Partner Center: where the authorization page sends
    /// the seller back.
    pub(super) redirect_url: Option<String>,
    /// Code → (seller, issued at, used).
    codes: BTreeMap<String, (String, i64, bool)>,
    access: BTreeMap<String, Grant>,
    refresh: BTreeMap<String, Grant>,
    next: u64,
}

/// A refusal: TikTok Shop's code and message.
pub(super) type Refusal = (u64, &'static str);

impl AuthState {
    pub(super) fn add_seller(&mut self, seller: Seller) {
        self.sellers.insert(seller.open_id.clone(), seller);
    }

    /// The seller approves the app: a new code.
    pub(super) fn authorize(&mut self, open_id: &str, now: i64) -> Option<String> {
        self.sellers.get(open_id)?;
        self.next += 1;
        let code = format!("TTP_simcode{:08}", self.next);
        self.codes
            .insert(code.clone(), (open_id.to_owned(), now, false));
        Some(code)
    }

    fn issue(&mut self, open_id: &str, now: i64, refresh_expires_at: i64) -> Value {
        self.next += 1;
        let access = format!("TTP_simaccess{:08}", self.next);
        let refresh = format!("TTP_simrefresh{:08}", self.next);
        self.access.insert(
            access.clone(),
            Grant {
                open_id: open_id.to_owned(),
                expires_at: now + ACCESS_TTL_SECS,
            },
        );
        self.refresh.insert(
            refresh.clone(),
            Grant {
                open_id: open_id.to_owned(),
                expires_at: refresh_expires_at,
            },
        );
        let seller = self.sellers.get(open_id);
        json!({
            "access_token": access,
            "access_token_expire_in": now + ACCESS_TTL_SECS,
            "refresh_token": refresh,
            "refresh_token_expire_in": refresh_expires_at,
            "open_id": open_id,
            "seller_name": seller.map(|s| s.name.clone()).unwrap_or_default(),
            "seller_base_region": seller.map(|s| s.base_region.clone()).unwrap_or_default(),
            "user_type": 0,
        })
    }

    /// `token/get`: a code for the seller's tokens, once.
    pub(super) fn token_get(&mut self, code: &str, now: i64) -> Result<Value, Refusal> {
        let refused = (
            codes::INVALID_AUTH_CODE,
            "The auth code is invalid or expired.",
        );
        let (open_id, issued, used) = self.codes.get(code).cloned().ok_or(refused)?;
        if used || now >= issued + CODE_TTL_SECS || !self.sellers.contains_key(&open_id) {
            return Err(refused);
        }
        if let Some(entry) = self.codes.get_mut(code) {
            entry.2 = true;
        }
        Ok(self.issue(&open_id, now, now + REFRESH_TTL_SECS))
    }

    /// `token/refresh`: a new access token (and refresh token) until the authorization ends.
    pub(super) fn token_refresh(&mut self, refresh: &str, now: i64) -> Result<Value, Refusal> {
        let refused = (
            codes::INVALID_REFRESH_TOKEN,
            "The refresh token is invalid or expired.",
        );
        let grant = self.refresh.get(refresh).cloned().ok_or(refused)?;
        if now >= grant.expires_at || !self.sellers.contains_key(&grant.open_id) {
            return Err(refused);
        }
        Ok(self.issue(&grant.open_id, now, grant.expires_at))
    }

    /// The seller a live access token is of.
    pub(super) fn seller_of(&self, access_token: &str, now: i64) -> Option<&Seller> {
        let grant = self.access.get(access_token)?;
        (now < grant.expires_at)
            .then(|| self.sellers.get(&grant.open_id))
            .flatten()
    }

    /// Whether a live access token may act for the shop of `cipher`.
    pub(super) fn may_act_for(&self, access_token: &str, cipher: &str, now: i64) -> bool {
        self.seller_of(access_token, now)
            .is_some_and(|s| s.shops.iter().any(|shop| shop.cipher == cipher))
    }

    /// Each seller's id and name, for the authorization page.
    pub(super) fn sellers(&self) -> Vec<(String, String)> {
        self.sellers
            .values()
            .map(|s| (s.open_id.clone(), s.name.clone()))
            .collect()
    }

    /// The seller withdraws the app: every token of theirs stops working.
    pub(super) fn deauthorize(&mut self, open_id: &str) {
        self.access.retain(|_, g| g.open_id != open_id);
        self.refresh.retain(|_, g| g.open_id != open_id);
    }

    /// The shop of `cipher`, when a seller holds it.
    pub(super) fn shop_of(&self, cipher: &str) -> Option<&AuthorizedShop> {
        self.sellers
            .values()
            .flat_map(|s| s.shops.iter())
            .find(|shop| shop.cipher == cipher)
    }

    /// Whether the shop of `cipher` belongs to a seller who authorized the app (shops of no seller are
    /// served without tokens, as before sellers existed in the simulator).
    pub(super) fn has_seller(&self, cipher: &str) -> bool {
        self.sellers
            .values()
            .any(|s| s.shops.iter().any(|shop| shop.cipher == cipher))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seller() -> Seller {
        Seller {
            open_id: "open1".into(),
            name: "Fernwood Goods".into(),
            base_region: "US".into(),
            shops: vec![AuthorizedShop {
                id: "7000".into(),
                name: "Fernwood".into(),
                region: "US".into(),
                seller_type: "LOCAL".into(),
                cipher: "ROW_cipher1".into(),
                code: "USLCX1".into(),
            }],
        }
    }

    #[test]
    fn a_code_is_good_once_and_for_30_minutes() {
        let mut a = AuthState::default();
        a.add_seller(seller());
        let code = a.authorize("open1", 1000).unwrap_or_default();
        let grant = a.token_get(&code, 1010).unwrap_or_default();
        assert_eq!(grant["open_id"], "open1");
        assert_eq!(
            a.token_get(&code, 1020).map(|_| ()),
            Err((
                codes::INVALID_AUTH_CODE,
                "The auth code is invalid or expired."
            ))
        );
        let late = a.authorize("open1", 1000).unwrap_or_default();
        assert!(a.token_get(&late, 1000 + CODE_TTL_SECS).is_err());
        let access = grant["access_token"].as_str().unwrap_or_default();
        assert!(a.may_act_for(access, "ROW_cipher1", 1020));
        assert!(!a.may_act_for(access, "ROW_other", 1020));
        assert!(!a.may_act_for(access, "ROW_cipher1", 1010 + ACCESS_TTL_SECS));
        let refresh = grant["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(a.token_refresh(&refresh, 2000).is_ok());
        a.deauthorize("open1");
        assert!(a.token_refresh(&refresh, 2000).is_err());
        assert!(!a.may_act_for(access, "ROW_cipher1", 1020));
    }
}
