//! The platform as the simulator models it: orders of unit line items, packages, shipping providers,
//! the ledger of applied pushes and the clock, with TikTok Shop's own refusals.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use super::faults::Faults;
use crate::tts::error::{codes, TtsError};
use crate::tts::types::{
    LineItem, MarkPackageShippedData, MarkPackageShippedRequest, Order, OrderPackage,
    PackageDetail, PackageOrder, ShippingProvider, UpdateShippingInfoRequest, Warning,
};

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

#[derive(Clone, Debug)]
pub(super) struct SimOrder {
    pub(super) shop_cipher: String,
    pub(super) order: Order,
    pub(super) package_ids: Vec<String>,
}

#[derive(Clone, Debug)]
pub(super) struct SimPackage {
    pub(super) id: String,
    pub(super) shop_cipher: String,
    pub(super) order_id: String,
    pub(super) line_item_ids: Vec<String>,
    pub(super) provider_id: String,
    pub(super) tracking_number: String,
    pub(super) delivered: bool,
    pub(super) shipped_at: i64,
    pub(super) updated_at: i64,
    pub(super) updates_used: u32,
}

/// Who a shop is, as TikTok Shop knows it: its market and seller type, and the exceptions it was granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopProfile {
    /// The market, like `US`.
    pub region: String,
    /// `LOCAL` or `CROSS_BORDER`.
    pub seller_type: String,
    /// The shop may push USPS labels bought outside TikTok Shipping.
    pub usps_exception: bool,
    /// The shop's market refuses one SKU's units split over packages.
    pub sku_split_forbidden: bool,
}

impl Default for ShopProfile {
    fn default() -> Self {
        Self {
            region: "US".to_owned(),
            seller_type: "LOCAL".to_owned(),
            usps_exception: false,
            sku_split_forbidden: false,
        }
    }
}

/// From when US sellers must buy USPS labels through TikTok Shipping: cross-border sellers from
/// 2025-10-27, every seller from 2026-01-01 (00:00 UTC), in Unix seconds.
const USPS_VIA_TIKTOK_SHIPPING_CROSS_BORDER: i64 = 1_761_523_200;
const USPS_VIA_TIKTOK_SHIPPING_ALL: i64 = 1_767_225_600;

/// The platform: every shop's orders and packages, the providers of each delivery option, the ledger,
/// the clock, and the faults in force.
#[derive(Debug)]
pub(super) struct State {
    pub(super) now: i64,
    pub(super) shops: BTreeMap<String, ShopProfile>,
    /// Tracking numbers of labels bought through TikTok Shipping.
    pub(super) tiktok_shipping_labels: BTreeSet<String>,
    pub(super) orders: BTreeMap<String, SimOrder>,
    pub(super) packages: BTreeMap<String, SimPackage>,
    pub(super) providers: BTreeMap<String, Vec<ShippingProvider>>,
    pub(super) ledger: Vec<LedgerEntry>,
    pub(super) next_id: u64,
    pub(super) faults: Faults,
}

pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(super) fn refuse<T>(code: u64, message: &str) -> Result<T, TtsError> {
    Err(TtsError::api(code, message))
}

pub(super) fn is_cancelled(item: &LineItem) -> bool {
    item.display_status.as_deref() == Some("CANCELLED")
        || item.package_status.as_deref() == Some("CANCELLED")
}

pub(super) fn check_tracking_number(tracking_number: &str) -> Result<(), TtsError> {
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
    pub(super) fn order(&self, shop_cipher: &str, order_id: &str) -> Result<&SimOrder, TtsError> {
        match self.orders.get(order_id) {
            Some(o) if o.shop_cipher == shop_cipher => Ok(o),
            _ => refuse(codes::INVALID_PARAMETERS, "The order does not exist."),
        }
    }

    pub(super) fn package(
        &self,
        shop_cipher: &str,
        package_id: &str,
    ) -> Result<&SimPackage, TtsError> {
        match self.packages.get(package_id) {
            Some(p) if p.shop_cipher == shop_cipher => Ok(p),
            _ => refuse(
                codes::PACKAGE_NOT_IN_SHOP,
                "The package does not belong to the current shop.",
            ),
        }
    }

    pub(super) fn provider(
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

    pub(super) fn provider_name(&self, provider_id: &str) -> String {
        self.providers
            .values()
            .flatten()
            .find(|p| p.id == provider_id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    /// Refuses a USPS label bought outside TikTok Shipping where the shop may no longer push one.
    pub(super) fn check_usps_label(
        &self,
        shop_cipher: &str,
        provider_id: &str,
        tracking_number: &str,
    ) -> Result<(), TtsError> {
        let profile = self.shops.get(shop_cipher).cloned().unwrap_or_default();
        let since = if profile.seller_type == "CROSS_BORDER" {
            USPS_VIA_TIKTOK_SHIPPING_CROSS_BORDER
        } else {
            USPS_VIA_TIKTOK_SHIPPING_ALL
        };
        let usps = self.provider_name(provider_id).eq_ignore_ascii_case("USPS");
        if usps
            && profile.region == "US"
            && self.now >= since
            && !profile.usps_exception
            && !self.tiktok_shipping_labels.contains(tracking_number)
        {
            return refuse(
                codes::MATCH_PROVIDER_FAILED,
                "match provider failed. USPS labels must be purchased through TikTok Shipping.",
            );
        }
        Ok(())
    }

    /// Whether shipping `ids` leaves other units of one of their SKUs unshipped.
    fn splits_a_sku(&self, order: &SimOrder, ids: &[String]) -> bool {
        let waiting = |item: &&LineItem| {
            !ids.contains(&item.id)
                && !is_cancelled(item)
                && self.package_of(order, &item.id).is_none()
        };
        order
            .order
            .line_items
            .iter()
            .filter(|item| ids.contains(&item.id))
            .filter_map(|item| item.sku_id.as_ref())
            .any(|sku| {
                order
                    .order
                    .line_items
                    .iter()
                    .filter(waiting)
                    .any(|other| other.sku_id.as_ref() == Some(sku))
            })
    }

    pub(super) fn tracking_used_elsewhere(
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

    pub(super) fn package_of(&self, order: &SimOrder, line_item_id: &str) -> Option<&SimPackage> {
        order
            .package_ids
            .iter()
            .filter_map(|id| self.packages.get(id))
            .find(|p| p.line_item_ids.iter().any(|l| l == line_item_id))
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn record(&mut self, shop_cipher: &str, push: Push) {
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

    pub(super) fn ship(
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
            if item.cancel_user.is_some() {
                return refuse(
                    codes::AFTER_SALE,
                    "Package item has after-sale request, please process the after-sale request first.",
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
        self.check_usps_label(
            shop_cipher,
            &request.shipping_provider_id,
            &request.tracking_number,
        )?;
        let split_forbidden = self
            .shops
            .get(shop_cipher)
            .is_some_and(|p| p.sku_split_forbidden);
        if split_forbidden && self.splits_a_sku(sim_order, ids) {
            return refuse(
                codes::SKU_SPLIT_NOT_ALLOWED,
                "split same sku in Multi Package not allow.",
            );
        }
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

    pub(super) fn update(
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
        self.check_usps_label(
            shop_cipher,
            &request.shipping_provider_id,
            &request.tracking_number,
        )?;
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

    pub(super) fn package_detail(
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

    pub(super) fn order_detail(&self, sim_order: &SimOrder) -> Order {
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
}
