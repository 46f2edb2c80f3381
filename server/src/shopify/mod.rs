//! Shopify: the token endpoint's client (token exchange, refresh), each shop's access token, the Admin
//! GraphQL client and the operations on it, the linking of orders to TikTok Shop, and a simulator of
//! the parts of Shopify the sync API talks to.

pub mod admin;
pub mod credentials;
pub mod graphql;
pub mod link;
pub mod oauth;
pub mod simulator;

/// Where a shop's Shopify is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Shopify itself: `https://{shop}/…`.
    Live,
    /// A simulator: `{base}/shops/{shop}/…`.
    Simulated(String),
}

impl Endpoint {
    /// The base URL of a shop's Admin: `https://{shop}` or `{base}/shops/{shop}`.
    fn shop_base(&self, shop: &str) -> String {
        match self {
            Self::Live => format!("https://{shop}"),
            Self::Simulated(base) => format!("{}/shops/{shop}", base.trim_end_matches('/')),
        }
    }

    /// The token endpoint of a shop: `…/admin/oauth/access_token`.
    #[must_use]
    pub fn token_url(&self, shop: &str) -> String {
        format!("{}/admin/oauth/access_token", self.shop_base(shop))
    }

    /// The Admin GraphQL endpoint of a shop at an API version: `…/admin/api/{version}/graphql.json`.
    #[must_use]
    pub fn graphql_url(&self, shop: &str, version: &str) -> String {
        format!("{}/admin/api/{version}/graphql.json", self.shop_base(shop))
    }
}
