//! A TikTok Shop simulator: the platform modelled on its own, without the rules engine.
//!
//! Orders are made of unit line items (one line item is one unit); Mark Package As Shipped puts units in
//! a new package, and a package's tracking number may be updated once within 72 hours of shipping. Each
//! refusal answers with TikTok Shop's own error code. The model is a plain struct behind a mutex with a
//! synchronous API; [`http::router`] serves it on the Open API's paths, and [`Simulator`] also implements
//! [`Tts`] in process.
//!
//! For tests it has a settable clock, a ledger of every applied push, latency, answers delayed or
//! dropped after the push applied, and a rate limit.

pub mod http;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::error::{codes, TtsError};
use super::types::{
    LineItem, MarkPackageShippedData, MarkPackageShippedRequest, Order, OrderPackage,
    PackageDetail, PackageOrder, ShippingProvider, UpdateShippingInfoRequest, Warning,
};
use super::{ShopContext, Tts};

/// Seconds after shipping during which the tracking number may be updated.
pub const UPDATE_WINDOW_SECS: i64 = 72 * 3600;
/// How many times a package's tracking number may be updated.
pub const MAX_TRACKING_UPDATES: u32 = 1;

/// A push the simulator applied, as recorded in its ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Push {
    /// Mark Package As Shipped created a package.
    Ship {
        /// The order.
        order_id: String,
        /// The new package.
        package_id: String,
        /// The units shipped.
        order_line_item_ids: Vec<String>,
        /// The provider.
        shipping_provider_id: String,
        /// The tracking number.
        tracking_number: String,
    },
    /// Update Package Shipping Info changed a package's tracking.
    Update {
        /// The package.
        package_id: String,
        /// The new provider.
        shipping_provider_id: String,
        /// The new tracking number.
        tracking_number: String,
    },
}

/// One entry of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The entry's position, from 1.
    pub seq: u64,
    /// The simulator's clock when the push applied, in Unix seconds.
    pub at: i64,
    /// The shop.
    pub shop_cipher: String,
    /// What applied.
    pub push: Push,
}

/// A rate limit: at most `max` requests per `per`, across every endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in a window.
    pub max: u32,
    /// The window.
    pub per: Duration,
}

#[derive(Clone, Debug)]
struct SimOrder {
    shop_cipher: String,
    order: Order,
    package_ids: Vec<String>,
}

#[derive(Clone, Debug)]
struct SimPackage {
    id: String,
    shop_cipher: String,
    order_id: String,
    line_item_ids: Vec<String>,
    provider_id: String,
    tracking_number: String,
    delivered: bool,
    shipped_at: i64,
    updated_at: i64,
    updates_used: u32,
}

#[derive(Debug, Default)]
struct Faults {
    latency: Duration,
    answer_delay: Duration,
    drop_answers: u32,
    drop_hold: Duration,
    rate_limit: Option<RateLimit>,
    window: VecDeque<Instant>,
    forced_429: u32,
    forced_retry_after: Option<u64>,
    ship_warning: Option<String>,
}

#[derive(Debug)]
struct State {
    now: i64,
    orders: BTreeMap<String, SimOrder>,
    packages: BTreeMap<String, SimPackage>,
    providers: BTreeMap<String, Vec<ShippingProvider>>,
    ledger: Vec<LedgerEntry>,
    next_id: u64,
    faults: Faults,
}

/// The simulator: cheap to clone, every clone shares one platform.
#[derive(Clone, Debug)]
pub struct Simulator {
    app_key: Arc<str>,
    app_secret: Arc<str>,
    state: Arc<Mutex<State>>,
}

/// A refusal for a rate limit, with the seconds to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds to wait, sent as `Retry-After`.
    pub retry_after_secs: u64,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn refuse<T>(code: u64, message: &str) -> Result<T, TtsError> {
    Err(TtsError::api(code, message))
}

fn is_cancelled(item: &LineItem) -> bool {
    item.display_status.as_deref() == Some("CANCELLED")
        || item.package_status.as_deref() == Some("CANCELLED")
}

fn check_tracking_number(tracking_number: &str) -> Result<(), TtsError> {
    if tracking_number.is_empty() {
        return refuse(codes::INVALID_PARAMETERS, "tracking_number is required");
    }
    if !tracking_number.chars().all(|c| c.is_ascii_alphanumeric()) {
        return refuse(
            codes::TRACKING_NUMBER_SPECIAL_CHARACTERS,
            "Tracking number has special characters, verify failed.",
        );
    }
    Ok(())
}

impl State {
    fn order(&self, shop_cipher: &str, order_id: &str) -> Result<&SimOrder, TtsError> {
        match self.orders.get(order_id) {
            Some(o) if o.shop_cipher == shop_cipher => Ok(o),
            _ => refuse(codes::INVALID_PARAMETERS, "The order does not exist."),
        }
    }

    fn package(&self, shop_cipher: &str, package_id: &str) -> Result<&SimPackage, TtsError> {
        match self.packages.get(package_id) {
            Some(p) if p.shop_cipher == shop_cipher => Ok(p),
            _ => refuse(
                codes::PACKAGE_NOT_IN_SHOP,
                "The package does not belong to the current shop.",
            ),
        }
    }

    fn provider(
        &self,
        delivery_option_id: Option<&str>,
        provider_id: &str,
    ) -> Option<&ShippingProvider> {
        match delivery_option_id {
            Some(option) => self
                .providers
                .get(option)?
                .iter()
                .find(|p| p.id == provider_id),
            None => self
                .providers
                .values()
                .flatten()
                .find(|p| p.id == provider_id),
        }
    }

    fn provider_name(&self, provider_id: &str) -> String {
        self.providers
            .values()
            .flatten()
            .find(|p| p.id == provider_id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    fn tracking_used_elsewhere(
        &self,
        shop_cipher: &str,
        tracking_number: &str,
        except: Option<&str>,
    ) -> bool {
        self.packages.values().any(|p| {
            p.shop_cipher == shop_cipher
                && Some(p.id.as_str()) != except
                && p.tracking_number.eq_ignore_ascii_case(tracking_number)
        })
    }

    fn package_of(&self, order: &SimOrder, line_item_id: &str) -> Option<&SimPackage> {
        order
            .package_ids
            .iter()
            .filter_map(|id| self.packages.get(id))
            .find(|p| p.line_item_ids.iter().any(|l| l == line_item_id))
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn record(&mut self, shop_cipher: &str, push: Push) {
        let seq = u64::try_from(self.ledger.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        self.ledger.push(LedgerEntry {
            seq,
            at: self.now,
            shop_cipher: shop_cipher.to_owned(),
            push,
        });
    }

    fn ship(
        &mut self,
        shop_cipher: &str,
        order_id: &str,
        request: &MarkPackageShippedRequest,
    ) -> Result<MarkPackageShippedData, TtsError> {
        let sim_order = self.order(shop_cipher, order_id)?;
        let order = &sim_order.order;
        if order.fulfillment_type.as_deref() == Some("FULFILLMENT_BY_TIKTOK")
            || order.shipping_type.as_deref() == Some("TIKTOK")
        {
            return refuse(
                codes::FULFILLED_BY_PLATFORM,
                "Seller cannot operate orders which are fulfilled by platform",
            );
        }
        match order.status.as_str() {
            "CANCELLED" => {
                return refuse(codes::ORDER_CANCELLED, "The order is cancelled.");
            }
            "UNPAID" | "ON_HOLD" => {
                return refuse(
                    codes::ORDER_STATUS,
                    "You cannot ship the order due to its current status, please try again later.",
                );
            }
            _ => {}
        }
        if order.is_on_hold_order {
            return refuse(
                codes::ORDER_STATUS,
                "You cannot ship the order due to its current status, please try again later.",
            );
        }
        if order.is_buyer_request_cancel {
            return refuse(
                codes::AFTER_SALE,
                "Package item has after-sale request, please process the after-sale request first.",
            );
        }
        let ids = &request.order_line_item_ids;
        if ids.is_empty() {
            return refuse(codes::INVALID_PARAMETERS, "order_line_item_ids is required");
        }
        for (i, id) in ids.iter().enumerate() {
            if ids.iter().take(i).any(|other| other == id) {
                return refuse(
                    codes::INVALID_PARAMETERS,
                    "order_line_item_ids has duplicates",
                );
            }
            let Some(item) = order.line_items.iter().find(|l| &l.id == id) else {
                return refuse(
                    codes::LINE_ITEM_NOT_IN_ORDER,
                    "order does not belong to fulfill unit",
                );
            };
            if is_cancelled(item) {
                return refuse(
                    codes::CANCELLED,
                    "Cannot complete the operation when order is cancelled.",
                );
            }
            if self.package_of(sim_order, id).is_some() {
                return refuse(codes::ALREADY_SHIPPED, "These orders are already shipped.");
            }
        }
        if self
            .provider(
                order.delivery_option_id.as_deref(),
                &request.shipping_provider_id,
            )
            .is_none()
        {
            return refuse(
                codes::INVALID_PROVIDER,
                "Invalid tracking number or provider ID. Please double check and try again.",
            );
        }
        check_tracking_number(&request.tracking_number)?;
        if self.tracking_used_elsewhere(shop_cipher, &request.tracking_number, None) {
            return refuse(
                codes::DUPLICATE_TRACKING_NUMBER,
                "Duplicate tracking number.",
            );
        }

        let n = self.next_id();
        let package_id = (1_153_132_168_000_000_000_u64 + n).to_string();
        let package = SimPackage {
            id: package_id.clone(),
            shop_cipher: shop_cipher.to_owned(),
            order_id: order_id.to_owned(),
            line_item_ids: ids.clone(),
            provider_id: request.shipping_provider_id.clone(),
            tracking_number: request.tracking_number.clone(),
            delivered: false,
            shipped_at: self.now,
            updated_at: self.now,
            updates_used: 0,
        };
        self.packages.insert(package_id.clone(), package);
        if let Some(o) = self.orders.get_mut(order_id) {
            o.package_ids.push(package_id.clone());
        }
        self.record(
            shop_cipher,
            Push::Ship {
                order_id: order_id.to_owned(),
                package_id: package_id.clone(),
                order_line_item_ids: ids.clone(),
                shipping_provider_id: request.shipping_provider_id.clone(),
                tracking_number: request.tracking_number.clone(),
            },
        );
        Ok(MarkPackageShippedData {
            order_id: order_id.to_owned(),
            order_line_item_ids: ids.clone(),
            package_id,
            warning: self
                .faults
                .ship_warning
                .clone()
                .map(|message| Warning { message }),
        })
    }

    fn update(
        &mut self,
        shop_cipher: &str,
        package_id: &str,
        request: &UpdateShippingInfoRequest,
    ) -> Result<(), TtsError> {
        let package = self.package(shop_cipher, package_id)?;
        let order = self.orders.get(&package.order_id).map(|o| &o.order);
        if let Some(order) = order {
            if order.fulfillment_type.as_deref() == Some("FULFILLMENT_BY_TIKTOK")
                || order.shipping_type.as_deref() == Some("TIKTOK")
            {
                return refuse(
                    codes::NOT_SELLER_SHIPPED,
                    "This API cannot be used to update package shipping information for packages that are not shipped by sellers.",
                );
            }
            if order.status == "CANCELLED" {
                return refuse(
                    codes::CANCELLED,
                    "Cannot complete the operation when order is cancelled.",
                );
            }
        }
        if package.delivered {
            return refuse(
                codes::DELIVERED,
                "Package has already been delivered. If you would still like to update the tracking number, please contact the platform for assistance.",
            );
        }
        if package.tracking_number.is_empty() {
            return refuse(codes::NOT_SHIPPED, "The package has not been shipped yet.");
        }
        if package.updates_used >= MAX_TRACKING_UPDATES {
            return refuse(
                codes::UPDATE_LIMIT_REACHED,
                "The tracking number can only be updated once.",
            );
        }
        if self.now >= package.shipped_at.saturating_add(UPDATE_WINDOW_SECS) {
            return refuse(
                codes::UPDATE_WINDOW_EXPIRED,
                "The tracking number can only be updated within a certain number of hours.",
            );
        }
        let delivery_option = order.and_then(|o| o.delivery_option_id.as_deref());
        if self
            .provider(delivery_option, &request.shipping_provider_id)
            .is_none()
        {
            return refuse(
                codes::INVALID_PROVIDER,
                "Invalid tracking number or provider ID. Please double check and try again.",
            );
        }
        check_tracking_number(&request.tracking_number)?;
        if self.tracking_used_elsewhere(shop_cipher, &request.tracking_number, Some(package_id)) {
            return refuse(
                codes::DUPLICATE_TRACKING_NUMBER,
                "Duplicate tracking number.",
            );
        }
        let now = self.now;
        if let Some(p) = self.packages.get_mut(package_id) {
            p.tracking_number.clone_from(&request.tracking_number);
            p.provider_id.clone_from(&request.shipping_provider_id);
            p.updates_used += 1;
            p.updated_at = now;
        }
        self.record(
            shop_cipher,
            Push::Update {
                package_id: package_id.to_owned(),
                shipping_provider_id: request.shipping_provider_id.clone(),
                tracking_number: request.tracking_number.clone(),
            },
        );
        Ok(())
    }

    fn package_detail(
        &self,
        shop_cipher: &str,
        package_id: &str,
    ) -> Result<PackageDetail, TtsError> {
        let p = self.package(shop_cipher, package_id)?;
        let delivery_option_id = self
            .orders
            .get(&p.order_id)
            .and_then(|o| o.order.delivery_option_id.clone())
            .unwrap_or_default();
        Ok(PackageDetail {
            package_id: p.id.clone(),
            orders: vec![PackageOrder {
                id: p.order_id.clone(),
            }],
            package_status: if p.delivered {
                "COMPLETED"
            } else {
                "FULFILLING"
            }
            .to_owned(),
            shipping_provider_name: self.provider_name(&p.provider_id),
            shipping_provider_id: p.provider_id.clone(),
            shipping_type: "SELLER".to_owned(),
            delivery_option_id,
            tracking_number: p.tracking_number.clone(),
            create_time: p.shipped_at,
            update_time: p.updated_at,
            order_line_item_ids: p.line_item_ids.clone(),
        })
    }

    fn order_detail(&self, sim_order: &SimOrder) -> Order {
        let mut order = sim_order.order.clone();
        let mut live = 0_usize;
        let mut shipped = 0_usize;
        let mut delivered = 0_usize;
        for item in &mut order.line_items {
            let cancelled = is_cancelled(item);
            match self.package_of(sim_order, &item.id) {
                Some(p) => {
                    item.package_id = Some(p.id.clone());
                    item.package_status = Some(
                        if p.delivered {
                            "COMPLETED"
                        } else {
                            "FULFILLING"
                        }
                        .to_owned(),
                    );
                    item.tracking_number = Some(p.tracking_number.clone());
                    item.shipping_provider_id = Some(p.provider_id.clone());
                    item.shipping_provider_name = Some(self.provider_name(&p.provider_id));
                    item.rts_time = Some(p.shipped_at);
                    shipped += 1;
                    delivered += usize::from(p.delivered);
                }
                None if cancelled => {}
                None => {
                    item.package_id = None;
                    item.package_status = Some("TO_FULFILL".to_owned());
                    item.tracking_number = None;
                    item.shipping_provider_id = None;
                    item.shipping_provider_name = None;
                    item.rts_time = None;
                }
            }
            live += usize::from(!cancelled);
        }
        if matches!(
            order.status.as_str(),
            "AWAITING_SHIPMENT" | "PARTIALLY_SHIPPING"
        ) && shipped > 0
        {
            order.status = if shipped < live {
                "PARTIALLY_SHIPPING"
            } else if delivered == shipped {
                "DELIVERED"
            } else {
                "IN_TRANSIT"
            }
            .to_owned();
        }
        order.packages = sim_order
            .package_ids
            .iter()
            .map(|id| OrderPackage { id: id.clone() })
            .collect();
        order
    }

    fn admit(&mut self) -> Result<(), Throttled> {
        let f = &mut self.faults;
        if f.forced_429 > 0 {
            f.forced_429 -= 1;
            return Err(Throttled {
                retry_after_secs: f.forced_retry_after.unwrap_or(1),
            });
        }
        let Some(limit) = f.rate_limit else {
            return Ok(());
        };
        let now = Instant::now();
        while f
            .window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= limit.per)
        {
            f.window.pop_front();
        }
        if u32::try_from(f.window.len()).unwrap_or(u32::MAX) >= limit.max {
            let wait = f.window.front().map_or(limit.per, |t| {
                limit.per.saturating_sub(now.saturating_duration_since(*t))
            });
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(Throttled {
                retry_after_secs: secs.max(1),
            });
        }
        f.window.push_back(now);
        Ok(())
    }
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
                orders: BTreeMap::new(),
                packages: BTreeMap::new(),
                providers: BTreeMap::new(),
                ledger: Vec::new(),
                next_id: 0,
                faults: Faults {
                    drop_hold: http::DEFAULT_DROP_HOLD,
                    ..Faults::default()
                },
            })),
        }
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
        self.lock().admit()
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
}
