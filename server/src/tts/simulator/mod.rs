//! A TikTok Shop simulator: the platform modelled on its own, without the rules engine.
//!
//! Orders are made of unit line items (one line item is one unit); Mark Package As Shipped puts units in
//! a new package, and a package's tracking number may be updated once within 72 hours of shipping. Each
//! refusal answers with TikTok Shop's own error code. In three parts: `model` (the platform, a plain
//! struct with a synchronous API), `faults` (what a test asks to go wrong: latency, answers delayed or
//! dropped after the push applied, rate limits) and [`http`] (the Open API's paths, signatures and
//! envelopes). [`Simulator`] holds the model behind a mutex and also implements [`Tts`] in process.
//!
//! For tests it has a settable clock and a ledger of every applied push.

pub mod http;

pub mod auth;
mod faults;
mod model;
mod webhooks;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::error::{codes, TtsError};
use super::types::{
    LineItem, MarkPackageShippedData, MarkPackageShippedRequest, Order, PackageDetail,
    ShippingProvider, UpdateShippingInfoRequest,
};
use super::{ShopContext, Tts};
use auth::AuthState;
pub use auth::{AuthorizedShop, Seller};
use faults::Faults;
pub use faults::{RateLimit, Throttled, DEFAULT_DROP_HOLD};
use model::{refuse, unix_now, SimOrder, State};
pub use model::{LedgerEntry, Push, ShopProfile, MAX_TRACKING_UPDATES, UPDATE_WINDOW_SECS};
use webhooks::WebhookState;
pub use webhooks::{Notification, RETRY_SCHEDULE_SECS};

/// External order references: (shop cipher, platform, external id) → TikTok Shop order ids.
type ExternalReferences = BTreeMap<(String, String, String), Vec<String>>;

/// The simulator: cheap to clone, every clone shares one platform.
#[derive(Clone, Debug)]
pub struct Simulator {
    app_key: Arc<str>,
    app_secret: Arc<str>,
    state: Arc<Mutex<State>>,
    auth: Arc<Mutex<AuthState>>,
    webhooks: Arc<Mutex<WebhookState>>,
    http: reqwest::Client,
    /// External order references.
    external: Arc<Mutex<ExternalReferences>>,
}

impl Simulator {
    /// A simulator with no orders, accepting requests signed with this app key and secret; its clock
    /// starts at the current time.
    #[must_use]
    pub fn new(app_key: &str, app_secret: &str) -> Self {
        Self {
            app_key: app_key.into(),
            app_secret: app_secret.into(),
            state: Arc::new(Mutex::new(State {
                now: unix_now(),
                shops: BTreeMap::new(),
                tiktok_shipping_labels: std::collections::BTreeSet::new(),
                orders: BTreeMap::new(),
                packages: BTreeMap::new(),
                providers: BTreeMap::new(),
                ledger: Vec::new(),
                next_id: 0,
                faults: Faults::new(),
            })),
            auth: Arc::default(),
            webhooks: Arc::default(),
            http: reqwest::Client::new(),
            external: Arc::default(),
        }
    }

    /// Add External Order References for the shop of `cipher`: an order the shop does not have is
    /// refused (`36020001`, "Invalid order_id"), the others attached.
    #[must_use]
    pub fn add_external_orders(
        &self,
        cipher: &str,
        orders: &[crate::tts::types::ExternalOrderReference],
    ) -> crate::tts::types::ExternalOrderErrors {
        let mut errors = Vec::new();
        for reference in orders {
            if self
                .orders(cipher, std::slice::from_ref(&reference.id))
                .is_empty()
            {
                errors.push(crate::tts::types::ExternalOrderError {
                    code: "36020001".into(),
                    message: "Invalid order_id".into(),
                });
                continue;
            }
            let key = (
                cipher.to_owned(),
                reference.external_order.platform.clone(),
                reference.external_order.id.clone(),
            );
            let mut external = self.external.lock().unwrap_or_else(PoisonError::into_inner);
            let ids = external.entry(key).or_default();
            if !ids.contains(&reference.id) {
                ids.push(reference.id.clone());
            }
        }
        crate::tts::types::ExternalOrderErrors { errors }
    }

    /// The TikTok Shop orders of the shop of `cipher` an external order is attached to.
    #[must_use]
    pub fn search_external_orders(
        &self,
        cipher: &str,
        platform: &str,
        external_id: &str,
    ) -> Vec<String> {
        self.external
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(
                cipher.to_owned(),
                platform.to_owned(),
                external_id.to_owned(),
            ))
            .cloned()
            .unwrap_or_default()
    }

    fn webhooks(&self) -> MutexGuard<'_, WebhookState> {
        self.webhooks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of the shop of `cipher`, when an authorized seller holds it.
    fn shop_id_of(&self, cipher: &str) -> Option<String> {
        self.auth().shop_of(cipher).map(|s| s.id.clone())
    }

    fn auth(&self) -> MutexGuard<'_, AuthState> {
        self.auth.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A seller with shops, who may authorize the app.
    pub fn add_seller(&self, seller: Seller) {
        self.auth().add_seller(seller);
    }

    /// The seller approves the app on TikTok Shop's authorization page: the code TikTok Shop sends back
    /// to the app's redirect URL, or `None` for an unknown seller.
    #[must_use]
    pub fn authorize(&self, open_id: &str) -> Option<String> {
        let now = self.now();
        self.auth().authorize(open_id, now)
    }

    /// Registers the app's redirect URL (Partner Center's "Redirect URL"): the authorization page
    /// (`GET /open/authorize` over HTTP) sends the seller back there with `code` and `state`.
    pub fn set_redirect_url(&self, url: &str) {
        self.auth().redirect_url = Some(url.to_owned());
    }

    /// The app's redirect URL, once registered.
    pub(crate) fn redirect_url(&self) -> Option<String> {
        self.auth().redirect_url.clone()
    }

    /// Each seller's id and name.
    pub(crate) fn sellers(&self) -> Vec<(String, String)> {
        self.auth().sellers()
    }

    /// The seller withdraws the app: every token of theirs stops working.
    pub fn deauthorize(&self, open_id: &str) {
        self.auth().deauthorize(open_id);
    }

    /// `token/get` or `token/refresh` (`refresh` tells which) for `credential` (the code or the refresh
    /// token), the app's key and secret checked first: the grant, or TikTok Shop's code and message.
    pub(crate) fn token(
        &self,
        app_key: &str,
        app_secret: &str,
        refresh: bool,
        credential: &str,
    ) -> Result<serde_json::Value, (u64, &'static str)> {
        if app_key != &*self.app_key || app_secret != &*self.app_secret {
            return Err((
                auth::codes::INVALID_APP,
                "The app key or secret is invalid.",
            ));
        }
        let now = self.now();
        let mut a = self.auth();
        if refresh {
            a.token_refresh(credential, now)
        } else {
            a.token_get(credential, now)
        }
    }

    /// The shops the seller of a live access token authorized, or `None` for a bad token.
    #[must_use]
    pub fn authorized_shops(&self, access_token: &str) -> Option<Vec<AuthorizedShop>> {
        let now = self.now();
        self.auth()
            .seller_of(access_token, now)
            .map(|s| s.shops.clone())
    }

    /// Whether a shop call with this cipher and access token may act: always for a shop of no seller
    /// (orders added without an authorization), else only with a live token of its seller.
    #[must_use]
    pub fn may_act_for(&self, cipher: &str, access_token: &str) -> bool {
        let now = self.now();
        let a = self.auth();
        !a.has_seller(cipher) || a.may_act_for(access_token, cipher, now)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The app key requests must carry.
    #[must_use]
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// The app secret requests are signed with.
    #[must_use]
    pub fn app_secret(&self) -> &str {
        &self.app_secret
    }

    // Clock.

    /// The simulator's clock, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.lock().now
    }

    /// Sets the clock, in Unix seconds.
    pub fn set_now(&self, unix_seconds: i64) {
        self.lock().now = unix_seconds;
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut s = self.lock();
        s.now = s
            .now
            .saturating_add(i64::try_from(by.as_secs()).unwrap_or(i64::MAX));
    }

    // Seeding.

    /// Sets who a shop is (a US local seller without exceptions until then).
    pub fn set_shop_profile(&self, shop_cipher: &str, profile: ShopProfile) {
        self.lock().shops.insert(shop_cipher.to_owned(), profile);
    }

    /// Records a label bought through TikTok Shipping, by its tracking number.
    pub fn add_tiktok_shipping_label(&self, tracking_number: &str) {
        self.lock()
            .tiktok_shipping_labels
            .insert(tracking_number.to_owned());
    }

    /// Adds providers to a delivery option.
    pub fn add_providers(
        &self,
        delivery_option_id: &str,
        providers: impl IntoIterator<Item = ShippingProvider>,
    ) {
        self.lock()
            .providers
            .entry(delivery_option_id.to_owned())
            .or_default()
            .extend(providers);
    }

    /// Replaces a delivery option's providers (the seller edited it in Seller Center).
    pub fn set_providers(
        &self,
        delivery_option_id: &str,
        providers: impl IntoIterator<Item = ShippingProvider>,
    ) {
        self.lock().providers.insert(
            delivery_option_id.to_owned(),
            providers.into_iter().collect(),
        );
    }

    /// Removes a delivery option: Get Shipping Providers refuses it from now on.
    pub fn remove_delivery_option(&self, delivery_option_id: &str) {
        self.lock().providers.remove(delivery_option_id);
    }

    /// Adds (or replaces) an order of a shop. Its line items' package fields are ignored: packages come
    /// only from pushes. Unit cancellation is `display_status: CANCELLED`.
    pub fn add_order(&self, shop_cipher: &str, order: Order) {
        let mut s = self.lock();
        s.orders.insert(
            order.id.clone(),
            SimOrder {
                shop_cipher: shop_cipher.to_owned(),
                order,
                package_ids: Vec::new(),
            },
        );
    }

    /// A seller-fulfilled, seller-shipped order awaiting shipment, with one line item per
    /// `(line item id, seller SKU)`.
    #[must_use]
    pub fn awaiting_shipment(
        order_id: &str,
        delivery_option_id: &str,
        units: &[(&str, &str)],
    ) -> Order {
        Order {
            id: order_id.to_owned(),
            status: "AWAITING_SHIPMENT".to_owned(),
            fulfillment_type: Some("FULFILLMENT_BY_SELLER".to_owned()),
            shipping_type: Some("SELLER".to_owned()),
            delivery_option_id: Some(delivery_option_id.to_owned()),
            line_items: units
                .iter()
                .map(|(id, sku)| LineItem {
                    id: (*id).to_owned(),
                    seller_sku: Some((*sku).to_owned()),
                    ..LineItem::default()
                })
                .collect(),
            ..Order::default()
        }
    }

    /// Sets an order's status (`CANCELLED`, `UNPAID`, …). Returns whether the order exists.
    pub fn set_order_status(&self, order_id: &str, status: &str) -> bool {
        self.lock()
            .orders
            .get_mut(order_id)
            .map(|o| o.order.status = status.to_owned())
            .is_some()
    }

    /// Sets who fulfils an order (`FULFILLMENT_BY_SELLER` or `FULFILLMENT_BY_TIKTOK`) and who ships it
    /// (`SELLER` or `TIKTOK`). Returns whether the order exists.
    pub fn set_order_types(
        &self,
        order_id: &str,
        fulfillment_type: Option<String>,
        shipping_type: Option<String>,
    ) -> bool {
        self.lock()
            .orders
            .get_mut(order_id)
            .map(|o| {
                o.order.fulfillment_type = fulfillment_type;
                o.order.shipping_type = shipping_type;
            })
            .is_some()
    }

    /// Marks a package delivered. Returns whether the package exists.
    pub fn deliver_package(&self, package_id: &str) -> bool {
        let mut s = self.lock();
        let now = s.now;
        s.packages
            .get_mut(package_id)
            .map(|p| {
                p.delivered = true;
                p.updated_at = now;
            })
            .is_some()
    }

    // The platform's operations, synchronous.

    /// Mark Package As Shipped, applied now.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] with the code TikTok Shop would answer.
    pub fn ship(
        &self,
        shop_cipher: &str,
        order_id: &str,
        request: &MarkPackageShippedRequest,
    ) -> Result<MarkPackageShippedData, TtsError> {
        self.lock().ship(shop_cipher, order_id, request)
    }

    /// Update Package Shipping Info, applied now.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] with the code TikTok Shop would answer.
    pub fn update_shipping_info(
        &self,
        shop_cipher: &str,
        package_id: &str,
        request: &UpdateShippingInfoRequest,
    ) -> Result<(), TtsError> {
        self.lock().update(shop_cipher, package_id, request)
    }

    /// Get Package Detail.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] 21011028 for a package of no order of the shop.
    pub fn package(&self, shop_cipher: &str, package_id: &str) -> Result<PackageDetail, TtsError> {
        self.lock().package_detail(shop_cipher, package_id)
    }

    /// Get Order Detail: the shop's orders among `order_ids`, with their packages.
    #[must_use]
    pub fn orders(&self, shop_cipher: &str, order_ids: &[String]) -> Vec<Order> {
        let s = self.lock();
        order_ids
            .iter()
            .filter_map(|id| s.orders.get(id))
            .filter(|o| o.shop_cipher == shop_cipher)
            .map(|o| s.order_detail(o))
            .collect()
    }

    /// Get Shipping Providers.
    ///
    /// # Errors
    ///
    /// [`TtsError::Api`] 21008116 for an unknown delivery option.
    pub fn providers(&self, delivery_option_id: &str) -> Result<Vec<ShippingProvider>, TtsError> {
        match self.lock().providers.get(delivery_option_id) {
            Some(p) => Ok(p.clone()),
            None => refuse(
                codes::INVALID_DELIVERY_OPTION,
                "The delivery option is invalid.",
            ),
        }
    }

    // The ledger.

    /// Every push applied, in order.
    #[must_use]
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.lock().ledger.clone()
    }

    /// How many pushes applied.
    #[must_use]
    pub fn push_count(&self) -> usize {
        self.lock().ledger.len()
    }

    // Faults.

    /// Waits this long before handling each request.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().faults.latency = latency;
    }

    /// Waits this long after applying each request, before answering.
    pub fn set_answer_delay(&self, delay: Duration) {
        self.lock().faults.answer_delay = delay;
    }

    /// Applies the next `n` pushes but drops their answers: over HTTP the answer is held (see
    /// [`Simulator::set_drop_hold`]) until the caller gives up; in process the call ends with
    /// [`TtsError::Unknown`].
    pub fn drop_next_answers(&self, n: u32) {
        self.lock().faults.drop_answers = n;
    }

    /// How long a dropped answer is held over HTTP before the connection is answered with 504
    /// (60 seconds unless set).
    pub fn set_drop_hold(&self, hold: Duration) {
        self.lock().faults.drop_hold = hold;
    }

    /// Refuses requests past a rate limit with HTTP 429 and code 36009002; `None` lifts it.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut s = self.lock();
        s.faults.rate_limit = limit;
        s.faults.window.clear();
    }

    /// How many requests were refused for the rate limit so far.
    #[must_use]
    pub fn throttled(&self) -> u64 {
        self.lock().faults.throttled
    }

    /// Answers the next `n` requests over HTTP with 503 Service Unavailable (a body that is no
    /// envelope), whatever they ask; nothing is applied.
    pub fn unavailable_next(&self, n: u32) {
        self.lock().faults.unavailable = n;
    }

    /// Whether this request is answered 503 (one of the next `n` set by [`Simulator::unavailable_next`]).
    pub(crate) fn take_unavailable(&self) -> bool {
        let mut s = self.lock();
        if s.faults.unavailable > 0 {
            s.faults.unavailable -= 1;
            true
        } else {
            false
        }
    }

    /// Refuses the next `n` requests as rate limited, answering `Retry-After: retry_after_secs`.
    pub fn rate_limit_next(&self, n: u32, retry_after_secs: u64) {
        let mut s = self.lock();
        s.faults.forced_429 = n;
        s.faults.forced_retry_after = Some(retry_after_secs);
    }

    /// Adds a warning to every successful Mark Package As Shipped (`None` removes it).
    pub fn set_ship_warning(&self, message: Option<String>) {
        self.lock().faults.ship_warning = message;
    }

    /// Counts a request against the rate limit.
    ///
    /// # Errors
    ///
    /// [`Throttled`] when the request is over the limit.
    pub fn admit(&self) -> Result<(), Throttled> {
        self.lock().faults.admit()
    }

    fn latency(&self) -> Duration {
        self.lock().faults.latency
    }

    fn answer_delay(&self) -> Duration {
        self.lock().faults.answer_delay
    }

    /// Whether this push's answer is to be dropped (counts it).
    fn take_drop(&self) -> bool {
        let mut s = self.lock();
        let drop = s.faults.drop_answers > 0;
        if drop {
            s.faults.drop_answers -= 1;
        }
        drop
    }

    fn drop_hold(&self) -> Duration {
        self.lock().faults.drop_hold
    }

    async fn before(&self) -> Result<(), TtsError> {
        sleep(self.latency()).await;
        self.admit().map_err(|t| TtsError::Api {
            kind: super::TtsErrorKind::RateLimited,
            code: codes::RATE_LIMITED,
            message: "Too many requests".to_owned(),
            request_id: String::new(),
            retry_after: Some(Duration::from_secs(t.retry_after_secs)),
        })
    }

    async fn after_push<T>(&self, result: Result<T, TtsError>) -> Result<T, TtsError> {
        let dropped = self.take_drop();
        sleep(self.answer_delay()).await;
        if dropped {
            return Err(TtsError::Unknown(
                "the simulator dropped the answer".to_owned(),
            ));
        }
        result
    }
}

async fn sleep(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

#[async_trait]
impl Tts for Simulator {
    async fn mark_package_shipped(
        &self,
        shop: &ShopContext,
        order_id: &str,
        request: &MarkPackageShippedRequest,
    ) -> Result<MarkPackageShippedData, TtsError> {
        self.before().await?;
        let result = self.ship(&shop.shop_cipher, order_id, request);
        self.after_push(result).await
    }

    async fn update_package_shipping_info(
        &self,
        shop: &ShopContext,
        package_id: &str,
        request: &UpdateShippingInfoRequest,
    ) -> Result<(), TtsError> {
        self.before().await?;
        let result = self.update_shipping_info(&shop.shop_cipher, package_id, request);
        self.after_push(result).await
    }

    async fn get_package_detail(
        &self,
        shop: &ShopContext,
        package_id: &str,
    ) -> Result<PackageDetail, TtsError> {
        self.before().await?;
        let result = self.package(&shop.shop_cipher, package_id);
        sleep(self.answer_delay()).await;
        result
    }

    async fn get_order_detail(
        &self,
        shop: &ShopContext,
        order_ids: &[String],
    ) -> Result<Vec<Order>, TtsError> {
        self.before().await?;
        let result = self.orders(&shop.shop_cipher, order_ids);
        sleep(self.answer_delay()).await;
        Ok(result)
    }

    async fn get_shipping_providers(
        &self,
        _shop: &ShopContext,
        delivery_option_id: &str,
    ) -> Result<Vec<ShippingProvider>, TtsError> {
        self.before().await?;
        let result = self.providers(delivery_option_id);
        sleep(self.answer_delay()).await;
        result
    }

    async fn add_external_orders(
        &self,
        shop: &ShopContext,
        orders: &[crate::tts::types::ExternalOrderReference],
    ) -> Result<(), TtsError> {
        self.before().await?;
        let errors = Simulator::add_external_orders(self, &shop.shop_cipher, orders);
        match errors.errors.first() {
            None => Ok(()),
            Some(e) => Err(TtsError::api(
                e.code.parse().unwrap_or(codes::INTERNAL),
                e.message.clone(),
            )),
        }
    }

    async fn search_external_order(
        &self,
        shop: &ShopContext,
        external_order_id: &str,
    ) -> Result<Vec<String>, TtsError> {
        self.before().await?;
        Ok(self.search_external_orders(
            &shop.shop_cipher,
            crate::tts::SHOPIFY_PLATFORM,
            external_order_id,
        ))
    }

    async fn get_authorized_shops(
        &self,
        access_token: &str,
    ) -> Result<Vec<crate::tts::types::AuthorizedShop>, TtsError> {
        self.before().await?;
        let shops = self.authorized_shops(access_token).ok_or_else(|| {
            TtsError::api(
                auth::codes::INVALID_ACCESS_TOKEN,
                "The access token is invalid or expired.",
            )
        })?;
        Ok(shops
            .into_iter()
            .map(|s| crate::tts::types::AuthorizedShop {
                id: s.id,
                name: s.name,
                region: s.region,
                seller_type: s.seller_type,
                cipher: s.cipher,
                code: s.code,
            })
            .collect())
    }
}
