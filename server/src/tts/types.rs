//! Requests and answers of the TikTok Shop endpoints used, with TikTok Shop's own field names.
//!
//! Unknown fields are ignored (TikTok Shop adds fields over time); absent ones take their default.

use serde::{Deserialize, Serialize};

use super::error::TtsError;

/// The envelope of every answer: `{code, message, request_id, data}`; `code` 0 is success.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// 0 on success, else a TikTok Shop error code.
    pub code: u64,
    /// `Success`, or what went wrong.
    #[serde(default)]
    pub message: String,
    /// TikTok Shop's id of the request, for support.
    #[serde(default)]
    pub request_id: String,
    /// The answer, on success.
    pub data: Option<T>,
}

/// Mark Package As Shipped (`POST /fulfillment/202309/orders/{order_id}/packages`): the body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkPackageShippedRequest {
    /// The units shipped in the package.
    pub order_line_item_ids: Vec<String>,
    /// The carrier's tracking number.
    pub tracking_number: String,
    /// The TikTok Shop shipping provider.
    pub shipping_provider_id: String,
}

/// Mark Package As Shipped: the answer's `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkPackageShippedData {
    /// The order.
    #[serde(default)]
    pub order_id: String,
    /// The units in the package.
    #[serde(default)]
    pub order_line_item_ids: Vec<String>,
    /// The new package.
    pub package_id: String,
    /// A warning on success (US): no provider found for the number, several match, or "Did you mean …?".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<Warning>,
}

/// A warning that came with a success.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The warning's text.
    #[serde(default)]
    pub message: String,
}

/// Update Package Shipping Info (`POST /fulfillment/202309/packages/{package_id}/shipping_info/update`):
/// the body. The answer's `data` is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateShippingInfoRequest {
    /// The new tracking number.
    pub tracking_number: String,
    /// The new shipping provider.
    pub shipping_provider_id: String,
}

/// Get Package Detail (`GET /fulfillment/202309/packages/{package_id}`): the answer's `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageDetail {
    /// The package.
    pub package_id: String,
    /// The orders in the package.
    #[serde(default)]
    pub orders: Vec<PackageOrder>,
    /// `PROCESSING`, `FULFILLING`, `COMPLETED` or `CANCELLED`.
    #[serde(default)]
    pub package_status: String,
    /// The shipping provider's name.
    #[serde(default)]
    pub shipping_provider_name: String,
    /// The shipping provider.
    #[serde(default)]
    pub shipping_provider_id: String,
    /// `TIKTOK` or `SELLER`.
    #[serde(default)]
    pub shipping_type: String,
    /// The delivery option.
    #[serde(default)]
    pub delivery_option_id: String,
    /// The tracking number.
    #[serde(default)]
    pub tracking_number: String,
    /// When the package was created, in Unix seconds.
    #[serde(default)]
    pub create_time: i64,
    /// When the package was last updated, in Unix seconds.
    #[serde(default)]
    pub update_time: i64,
    /// The units in the package.
    #[serde(default)]
    pub order_line_item_ids: Vec<String>,
}

/// An order of a package.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageOrder {
    /// The order.
    pub id: String,
}

/// Get Order Detail (`GET /order/202309/orders?ids=`): the answer's `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetailData {
    /// The orders found.
    #[serde(default)]
    pub orders: Vec<Order>,
}

/// A TikTok Shop order, in the Order Detail shape (the fields the checks read).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order.
    pub id: String,
    /// `UNPAID`, `ON_HOLD`, `AWAITING_SHIPMENT`, `PARTIALLY_SHIPPING`, `AWAITING_COLLECTION`, `IN_TRANSIT`,
    /// `DELIVERED`, `COMPLETED` or `CANCELLED`.
    #[serde(default)]
    pub status: String,
    /// `FULFILLMENT_BY_SELLER` or `FULFILLMENT_BY_TIKTOK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_type: Option<String>,
    /// `SELLER` or `TIKTOK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_type: Option<String>,
    /// The delivery option, whose providers are the only ones accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_option_id: Option<String>,
    /// The buyer asked to cancel.
    #[serde(default)]
    pub is_buyer_request_cancel: bool,
    /// The order is on hold.
    #[serde(default)]
    pub is_on_hold_order: bool,
    /// The latest time to ship, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rts_sla_time: Option<i64>,
    /// When TikTok Shop cancels the order if it is not handed over, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_due_time: Option<i64>,
    /// The units.
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// The packages.
    #[serde(default)]
    pub packages: Vec<OrderPackage>,
}

/// One unit of an order (TikTok Shop has no quantity: one line item is one unit).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// The line item.
    pub id: String,
    /// TikTok Shop's SKU id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<String>,
    /// The seller's SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<String>,
    /// The product's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// `CANCELLED` when the unit was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_status: Option<String>,
    /// The package holding the unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    /// `TO_FULFILL`, `PROCESSING`, `FULFILLING`, `COMPLETED` or `CANCELLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_status: Option<String>,
    /// The package's tracking number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// The package's shipping provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_provider_id: Option<String>,
    /// The provider's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_provider_name: Option<String>,
    /// When the unit was marked ready to ship, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rts_time: Option<i64>,
    /// Who asked to cancel the unit, while a request is pending or after it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_user: Option<String>,
    /// A virtual bundle's unit: the SKUs it stands for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub combined_listing_skus: Vec<CombinedListingSku>,
}

/// One SKU a virtual bundle unit stands for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombinedListingSku {
    /// The SKU id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<String>,
    /// The seller SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<String>,
    /// How many of it one bundle unit holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_count: Option<u32>,
    /// The product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
}

/// A package of an order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPackage {
    /// The package.
    pub id: String,
}

impl Order {
    /// The order as the rules engine reads it.
    ///
    /// # Errors
    ///
    /// [`TtsError::InvalidOrder`] when the engine refuses the order (an id it cannot read).
    pub fn to_engine(&self) -> Result<preflight::model::TtsOrder, TtsError> {
        let text =
            serde_json::to_string(self).map_err(|e| TtsError::InvalidOrder(e.to_string()))?;
        preflight::from_json::<preflight::model::TtsOrder>(&text)
            .map_err(|e| TtsError::InvalidOrder(e.to_string()))
    }
}

/// Get Shipping Providers (`GET /logistics/202309/delivery_options/{id}/shipping_providers`): the
/// answer's `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingProvidersData {
    /// The providers of the delivery option.
    #[serde(default)]
    pub shipping_providers: Vec<ShippingProvider>,
}

/// A shipping provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShippingProvider {
    /// The provider id, like `7117858858072016686`.
    pub id: String,
    /// The provider's name, like `USPS`.
    pub name: String,
}

impl ShippingProvider {
    /// A provider.
    #[must_use]
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_answers() {
        let text = r#"{"code":0,"data":{"order_id":"32131324123321","order_line_item_ids":["31322412312312"],"package_id":"32141235124234","warning":{"message":"match more than one provider"}},"message":"Success","request_id":"202203070749000101890810281E8C70B7"}"#;
        let e: Envelope<MarkPackageShippedData> = serde_json::from_str(text).unwrap();
        let data = e.data.unwrap();
        assert_eq!(data.package_id, "32141235124234");
        assert_eq!(
            data.warning.unwrap().message,
            "match more than one provider"
        );

        let text = r#"{"code":0,"data":{},"message":"Success","request_id":"x"}"#;
        let e: Envelope<serde_json::Value> = serde_json::from_str(text).unwrap();
        assert_eq!(e.code, 0);

        let text = r#"{"code":21011051,"message":"The tracking number can only be updated once.","request_id":"x"}"#;
        let e: Envelope<serde_json::Value> = serde_json::from_str(text).unwrap();
        assert_eq!((e.code, e.data), (21_011_051, None));
    }

    #[test]
    fn an_order_reads_in_the_engine() {
        let text = r#"{"id":"576461413038785752","status":"AWAITING_SHIPMENT","fulfillment_type":"FULFILLMENT_BY_SELLER",
            "shipping_type":"SELLER","delivery_option_id":"7091146663229654785","buyer_email":"x",
            "line_items":[{"id":"1","seller_sku":"A","package_id":"9","package_status":"FULFILLING",
            "tracking_number":"1Z","shipping_provider_id":"7117859084333745966","rts_time":1790000000},{"id":"2"}],
            "packages":[{"id":"9"}]}"#;
        let order: Order = serde_json::from_str(text).unwrap();
        let engine = order.to_engine().unwrap();
        assert_eq!(engine.id, "576461413038785752");
        assert_eq!(engine.line_items.len(), 2);
        assert!(engine.line_items[0].is_shipped());
        assert!(!engine.line_items[1].is_shipped());
        assert_eq!(engine.line_items[0].rts_time, Some(1_790_000_000));
    }
}

/// A shop the seller authorized the app for (Get Authorized Shops, `data.shops[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizedShop {
    /// The shop's id.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its market, like `US`.
    #[serde(default)]
    pub region: String,
    /// `LOCAL` or `CROSS_BORDER`.
    #[serde(default)]
    pub seller_type: String,
    /// The shop cipher every call for the shop carries.
    pub cipher: String,
    /// The shop's code.
    #[serde(default)]
    pub code: String,
}

/// Get Authorized Shops' `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizedShopsData {
    /// The shops.
    #[serde(default)]
    pub shops: Vec<AuthorizedShop>,
}

/// An order of another system (Shopify) attached to a TikTok Shop order (Add External Order
/// References, `orders[].external_order`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalOrder {
    /// The order's id in the other system.
    pub id: String,
    /// The other system: `SHOPIFY`.
    pub platform: String,
    /// Its line items, each with the TikTok Shop line item it stands for.
    #[serde(default)]
    pub line_items: Vec<ExternalLineItem>,
}

/// A line item of an external order and the TikTok Shop line item it stands for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalLineItem {
    /// The line item's id in the other system.
    pub id: String,
    /// The TikTok Shop line item's id.
    pub origin_id: String,
}

/// A TikTok Shop order and the external order attached to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalOrderReference {
    /// The TikTok Shop order id.
    pub id: String,
    /// The external order.
    pub external_order: ExternalOrder,
}

/// Add External Order References' body, and Search Order by External Order Reference's `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalOrders {
    /// The orders (at most 100 in a request).
    #[serde(default)]
    pub orders: Vec<ExternalOrderReference>,
}

/// Add External Order References' `data`: one entry per order refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalOrderErrors {
    /// The refusals.
    #[serde(default)]
    pub errors: Vec<ExternalOrderError>,
}

/// An order Add External Order References refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalOrderError {
    /// TikTok Shop's code, as text.
    pub code: String,
    /// Its message.
    #[serde(default)]
    pub message: String,
}
