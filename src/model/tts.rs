//! The TikTok Shop order in its Order Detail shape (`GET /order/202309/orders`, `data.orders[]`).
//!
//! Field names are TikTok Shop's own. Unknown fields are ignored; empty strings read as absent, as TikTok
//! Shop sends unset values. One line item is one unit: the API has no quantity field.

use super::read::{self, Object, Path, Read};
use crate::error::InputError;
use crate::json::Value;

/// A TikTok Shop order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TtsOrder {
    /// The order id, about 19 digits.
    pub id: String,
    /// The order status.
    pub status: OrderStatus,
    /// Who fulfils: `FULFILLMENT_BY_SELLER` or `FULFILLMENT_BY_TIKTOK`.
    pub fulfillment_type: Option<String>,
    /// Who ships: `SELLER` or `TIKTOK` (TikTok Shipping labels).
    pub shipping_type: Option<String>,
    /// The delivery option, whose providers are the only ones accepted.
    pub delivery_option_id: Option<String>,
    /// The buyer asked to cancel.
    pub is_buyer_request_cancel: bool,
    /// The order is on hold (the buyer's remorse period).
    pub is_on_hold_order: bool,
    /// The latest time to ship (`rts_sla_time`), in Unix seconds: later counts as late dispatch.
    pub rts_sla_time: Option<i64>,
    /// When TikTok Shop cancels the order if it is not handed over (`shipping_due_time`), in Unix seconds.
    pub shipping_due_time: Option<i64>,
    /// The order's unit line items.
    pub line_items: Vec<TtsLineItem>,
    /// The order's packages.
    pub packages: Vec<TtsPackage>,
}

impl TtsOrder {
    /// Whether TikTok fulfils the order (the seller cannot push).
    #[must_use]
    pub fn fulfilled_by_tiktok(&self) -> bool {
        self.fulfillment_type.as_deref() == Some("FULFILLMENT_BY_TIKTOK")
    }

    /// Whether TikTok ships the order with its own label (the seller cannot push a tracking number).
    #[must_use]
    pub fn shipped_by_tiktok(&self) -> bool {
        self.shipping_type.as_deref() == Some("TIKTOK")
    }
}

/// A TikTok Shop order status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderStatus {
    /// `UNPAID`.
    Unpaid,
    /// `ON_HOLD`: the buyer's remorse period.
    OnHold,
    /// `AWAITING_SHIPMENT`.
    AwaitingShipment,
    /// `PARTIALLY_SHIPPING`.
    PartiallyShipping,
    /// `AWAITING_COLLECTION`.
    AwaitingCollection,
    /// `IN_TRANSIT`.
    InTransit,
    /// `DELIVERED`.
    Delivered,
    /// `COMPLETED`.
    Completed,
    /// `CANCELLED`.
    Cancelled,
    /// Absent, or a status TikTok Shop added later.
    #[default]
    Unknown,
}

impl OrderStatus {
    /// The status as TikTok Shop writes it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unpaid => "UNPAID",
            Self::OnHold => "ON_HOLD",
            Self::AwaitingShipment => "AWAITING_SHIPMENT",
            Self::PartiallyShipping => "PARTIALLY_SHIPPING",
            Self::AwaitingCollection => "AWAITING_COLLECTION",
            Self::InTransit => "IN_TRANSIT",
            Self::Delivered => "DELIVERED",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl OrderStatus {
    fn parse(text: Option<&str>) -> Self {
        match text {
            Some("UNPAID") => Self::Unpaid,
            Some("ON_HOLD") => Self::OnHold,
            Some("AWAITING_SHIPMENT") => Self::AwaitingShipment,
            Some("PARTIALLY_SHIPPING") => Self::PartiallyShipping,
            Some("AWAITING_COLLECTION") => Self::AwaitingCollection,
            Some("IN_TRANSIT") => Self::InTransit,
            Some("DELIVERED") => Self::Delivered,
            Some("COMPLETED") => Self::Completed,
            Some("CANCELLED") => Self::Cancelled,
            _ => Self::Unknown,
        }
    }
}

/// The status of the package a line item is in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PackageStatus {
    /// `TO_FULFILL`: in no package yet.
    ToFulfill,
    /// `PROCESSING`: packed, not shipped.
    Processing,
    /// `FULFILLING`: shipped, in transit.
    Fulfilling,
    /// `COMPLETED`: delivered.
    Completed,
    /// `CANCELLED`.
    Cancelled,
    /// Absent, or a status TikTok Shop added later.
    #[default]
    Unknown,
}

impl PackageStatus {
    fn parse(text: Option<&str>) -> Self {
        match text {
            Some("TO_FULFILL") => Self::ToFulfill,
            Some("PROCESSING") => Self::Processing,
            Some("FULFILLING") => Self::Fulfilling,
            Some("COMPLETED") => Self::Completed,
            Some("CANCELLED") => Self::Cancelled,
            _ => Self::Unknown,
        }
    }
}

/// One unit of an order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TtsLineItem {
    /// The line item id, pushed in `order_line_item_ids`.
    pub id: String,
    /// TikTok Shop's SKU id.
    pub sku_id: Option<String>,
    /// The seller's SKU, matched against Shopify's.
    pub seller_sku: Option<String>,
    /// The product name, for people.
    pub product_name: Option<String>,
    /// `CANCELLED` when the unit was cancelled.
    pub display_status: Option<String>,
    /// The package holding the unit, if any.
    pub package_id: Option<String>,
    /// That package's status.
    pub package_status: PackageStatus,
    /// The package's tracking number, once shipped.
    pub tracking_number: Option<String>,
    /// The package's shipping provider, once shipped.
    pub shipping_provider_id: Option<String>,
    /// The provider's name, once shipped.
    pub shipping_provider_name: Option<String>,
    /// When the unit was marked ready to ship (shipped, for seller shipping), in Unix seconds.
    pub rts_time: Option<i64>,
    /// Who asked to cancel the unit (`cancel_user`: `BUYER`, `SELLER`, …), when someone did.
    pub cancel_user: Option<String>,
    /// For a unit of a virtual bundle, the SKUs it stands for (`combined_listing_skus`); empty otherwise.
    pub combined_listing_skus: Vec<BundleComponent>,
}

/// One SKU a virtual bundle unit stands for (Order Detail 202507, `line_items[].combined_listing_skus[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleComponent {
    /// The component's TikTok Shop SKU id.
    pub sku_id: Option<String>,
    /// The component's seller SKU, as the connector created the Shopify order with it.
    pub seller_sku: Option<String>,
    /// How many of it one bundle unit holds (`sku_count`; at least 1).
    pub sku_count: u32,
}

impl TtsLineItem {
    /// Whether the unit was cancelled.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.package_status == PackageStatus::Cancelled
            || self.display_status.as_deref() == Some("CANCELLED")
    }

    /// Whether a cancellation (after-sale) request on the unit is pending: someone asked, and the unit is
    /// not cancelled yet.
    #[must_use]
    pub fn has_cancel_request(&self) -> bool {
        self.cancel_user.is_some() && !self.is_cancelled()
    }

    /// Whether the unit is in a package that has shipped (or at least has a tracking number).
    #[must_use]
    pub fn is_shipped(&self) -> bool {
        self.package_id.is_some()
            && (matches!(
                self.package_status,
                PackageStatus::Fulfilling | PackageStatus::Completed
            ) || self.tracking_number.is_some())
    }
}

/// A package of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TtsPackage {
    /// The package id.
    pub id: String,
}

impl Read for TtsOrder {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a TikTok Shop order object")?;
        Ok(Self {
            id: o.required_id("id")?,
            status: OrderStatus::parse(o.text("status")?.as_deref()),
            fulfillment_type: o.text("fulfillment_type")?,
            shipping_type: o.text("shipping_type")?,
            delivery_option_id: o.id("delivery_option_id")?,
            is_buyer_request_cancel: o.flag("is_buyer_request_cancel")?.unwrap_or(false),
            is_on_hold_order: o.flag("is_on_hold_order")?.unwrap_or(false),
            rts_sla_time: o
                .optional("rts_sla_time", read::seconds)?
                .filter(|&t| t > 0),
            shipping_due_time: o
                .optional("shipping_due_time", read::seconds)?
                .filter(|&t| t > 0),
            line_items: o.optional("line_items", read::list_of)?.unwrap_or_default(),
            packages: o.optional("packages", read::list_of)?.unwrap_or_default(),
        })
    }
}

impl Read for TtsLineItem {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a TikTok Shop line item object")?;
        Ok(Self {
            id: o.required_id("id")?,
            sku_id: o.id("sku_id")?,
            seller_sku: o.text("seller_sku")?,
            product_name: o.text("product_name")?,
            display_status: o.text("display_status")?,
            package_id: o.id("package_id")?,
            package_status: PackageStatus::parse(o.text("package_status")?.as_deref()),
            tracking_number: o.text("tracking_number")?,
            shipping_provider_id: o.id("shipping_provider_id")?,
            shipping_provider_name: o.text("shipping_provider_name")?,
            rts_time: o.optional("rts_time", read::seconds)?,
            cancel_user: o.text("cancel_user")?,
            combined_listing_skus: o
                .optional("combined_listing_skus", read::list_of)?
                .unwrap_or_default(),
        })
    }
}

impl Read for BundleComponent {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a combined listing SKU object")?;
        Ok(Self {
            sku_id: o.id("sku_id")?,
            seller_sku: o.text("seller_sku")?,
            sku_count: o.count("sku_count")?.unwrap_or(1).max(1),
        })
    }
}

impl Read for TtsPackage {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a TikTok Shop package object")?;
        Ok(Self {
            id: o.required_id("id")?,
        })
    }
}
