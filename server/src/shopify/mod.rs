//! Shopify: the token endpoint's client (token exchange, refresh) and a simulator of the parts of
//! Shopify the sync API talks to.

pub mod credentials;
pub mod oauth;
pub mod simulator;
