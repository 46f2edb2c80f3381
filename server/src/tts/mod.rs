//! TikTok Shop, two ways behind one trait: the live Open API ([`client::TtsClient`]) and a simulator
//! that models the platform on its own ([`simulator::Simulator`]), served over the same HTTP paths.
//!
//! ```no_run
//! # async fn demo() -> Result<(), preflight_server::tts::TtsError> {
//! use preflight_server::tts::{client::{ClientConfig, TtsClient}, ShopContext, Tts};
//!
//! let tts = TtsClient::new(ClientConfig::new("https://open-api.tiktokglobalshop.com", "key", "secret"))?;
//! let shop = ShopContext::new("GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3", "TTP_access_token");
//! let providers = tts.get_shipping_providers(&shop, "7091146663229654785").await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod client;
pub mod connection;
pub mod error;
pub mod sign;
pub mod simulator;
pub mod types;

use async_trait::async_trait;

pub use error::{codes, TtsError, TtsErrorKind};
pub use types::{
    AuthorizedShop, ExternalLineItem, ExternalOrder, ExternalOrderReference, LineItem,
    MarkPackageShippedData, MarkPackageShippedRequest, Order, OrderPackage, PackageDetail,
    ShippingProvider, UpdateShippingInfoRequest, Warning,
};

/// The shop a call acts for: its cipher (a query parameter) and the seller's access token (a header).
#[derive(Clone, PartialEq, Eq)]
pub struct ShopContext {
    /// The shop cipher, from Get Authorized Shops.
    pub shop_cipher: String,
    /// The seller's access token, sent as `x-tts-access-token`.
    pub access_token: String,
}

impl ShopContext {
    /// A shop context.
    #[must_use]
    pub fn new(shop_cipher: impl Into<String>, access_token: impl Into<String>) -> Self {
        Self {
            shop_cipher: shop_cipher.into(),
            access_token: access_token.into(),
        }
    }
}

impl std::fmt::Debug for ShopContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopContext")
            .field("shop_cipher", &self.shop_cipher)
            .field("access_token", &"…")
            .finish()
    }
}

/// The TikTok Shop endpoints the sync API uses, live or simulated.
#[async_trait]
pub trait Tts: Send + Sync {
    /// Mark Package As Shipped: ship units of an order in a new package with a tracking number.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] with TikTok Shop's code when refused; [`TtsError::Unknown`] when the push may
    /// have applied but no answer came back.
    async fn mark_package_shipped(
        &self,
        shop: &ShopContext,
        order_id: &str,
        request: &MarkPackageShippedRequest,
    ) -> Result<MarkPackageShippedData, TtsError>;

    /// Update Package Shipping Info: change a shipped package's tracking number and provider (once,
    /// within 72 hours of shipping).
    ///
    /// # Errors
    ///
    /// As [`Tts::mark_package_shipped`].
    async fn update_package_shipping_info(
        &self,
        shop: &ShopContext,
        package_id: &str,
        request: &UpdateShippingInfoRequest,
    ) -> Result<(), TtsError>;

    /// Get Package Detail.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] when refused (an unknown package is 21011028), or the transport's error.
    async fn get_package_detail(
        &self,
        shop: &ShopContext,
        package_id: &str,
    ) -> Result<PackageDetail, TtsError>;

    /// Get Order Detail for up to 50 orders; unknown ids are left out of the answer.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] when refused, or the transport's error.
    async fn get_order_detail(
        &self,
        shop: &ShopContext,
        order_ids: &[String],
    ) -> Result<Vec<Order>, TtsError>;

    /// Get Shipping Providers of a delivery option.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] when refused (an unknown delivery option is 21008116), or the transport's error.
    async fn get_shipping_providers(
        &self,
        shop: &ShopContext,
        delivery_option_id: &str,
    ) -> Result<Vec<ShippingProvider>, TtsError>;

    /// Get Authorized Shops: the shops the seller of `access_token` authorized the app for, each with
    /// the cipher its calls carry, its region and seller type.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] when refused (a bad or expired access token), or the transport's error.
    async fn get_authorized_shops(
        &self,
        access_token: &str,
    ) -> Result<Vec<AuthorizedShop>, TtsError>;

    /// Add External Order References: attaches each Shopify order to its TikTok Shop order.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] when refused, the first refused order's code included; the transport's error.
    async fn add_external_orders(
        &self,
        shop: &ShopContext,
        orders: &[ExternalOrderReference],
    ) -> Result<(), TtsError>;

    /// Search Order by External Order Reference: the TikTok Shop orders a Shopify order is attached to.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] when refused, or the transport's error.
    async fn search_external_order(
        &self,
        shop: &ShopContext,
        external_order_id: &str,
    ) -> Result<Vec<String>, TtsError>;
}

/// The platform name TikTok Shop gives Shopify in external order references.
pub const SHOPIFY_PLATFORM: &str = "SHOPIFY";

/// The paths of the endpoints, shared by the client and the simulator.
pub mod paths {
    /// Mark Package As Shipped.
    #[must_use]
    pub fn mark_package_shipped(order_id: &str) -> String {
        format!("/fulfillment/202309/orders/{order_id}/packages")
    }

    /// Update Package Shipping Info.
    #[must_use]
    pub fn update_package_shipping_info(package_id: &str) -> String {
        format!("/fulfillment/202309/packages/{package_id}/shipping_info/update")
    }

    /// Get Package Detail.
    #[must_use]
    pub fn package_detail(package_id: &str) -> String {
        format!("/fulfillment/202309/packages/{package_id}")
    }

    /// Get Authorized Shops (no shop cipher).
    pub const AUTHORIZED_SHOPS: &str = "/authorization/202309/shops";

    /// Add External Order References.
    pub const EXTERNAL_ORDERS: &str = "/order/202406/orders/external_orders";

    /// Search Order by External Order Reference (`platform` and `external_order_id` in the query).
    pub const EXTERNAL_ORDER_SEARCH: &str = "/order/202406/orders/external_order_search";

    /// Get Order Detail (the ids go in the `ids` query parameter, comma-separated).
    pub const ORDER_DETAIL: &str = "/order/202309/orders";

    /// Get Shipping Providers.
    #[must_use]
    pub fn shipping_providers(delivery_option_id: &str) -> String {
        format!("/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers")
    }
}
