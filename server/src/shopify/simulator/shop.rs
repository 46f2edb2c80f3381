//! The simulated shops' data: orders as merchants and connectors leave them (custom attributes, note,
//! tags, name, source identifier, metafields), their line items and fulfillments with tracking info,
//! and the REST shape Shopify's fulfillment webhooks carry (buyer's data included, as Shopify sends it).

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// An order line.
#[derive(Clone, Debug)]
pub struct SimLineItem {
    /// Its id.
    pub id: u64,
    /// The variant's SKU.
    pub sku: Option<String>,
    /// The product's title.
    pub name: String,
    /// Units ordered.
    pub quantity: u32,
}

/// A tracking entry of a fulfillment.
#[derive(Clone, Debug)]
pub struct SimTracking {
    /// The carrier, as the merchant typed or chose it.
    pub company: Option<String>,
    /// The tracking number.
    pub number: String,
    /// The tracking page, when known.
    pub url: Option<String>,
}

/// A fulfilled line: units of one order line.
#[derive(Clone, Debug)]
pub struct SimFulfillmentLine {
    /// The fulfillment line item's id.
    pub id: u64,
    /// The order line's id.
    pub line_item_id: u64,
    /// Units fulfilled.
    pub quantity: u32,
}

/// A fulfillment.
#[derive(Clone, Debug)]
pub struct SimFulfillment {
    /// Its id.
    pub id: u64,
    /// Its name, like `#1001.1`.
    pub name: String,
    /// `SUCCESS`, `CANCELLED`, …
    pub status: String,
    /// When created, Unix seconds.
    pub created_at: i64,
    /// When last changed, Unix seconds.
    pub updated_at: i64,
    /// Its tracking entries.
    pub tracking: Vec<SimTracking>,
    /// What it fulfilled.
    pub lines: Vec<SimFulfillmentLine>,
}

/// A metafield.
#[derive(Clone, Debug)]
pub struct SimMetafield {
    /// Its id.
    pub id: u64,
    /// The namespace, `$app:` already resolved to the app's own.
    pub namespace: String,
    /// The key.
    pub key: String,
    /// Its type, like `single_line_text_field`.
    pub kind: String,
    /// Its value.
    pub value: String,
}

/// An order.
#[derive(Clone, Debug)]
pub struct SimOrder {
    /// Its id.
    pub id: u64,
    /// Its name, like `#1001`.
    pub name: String,
    /// When created, Unix seconds.
    pub created_at: i64,
    /// When last changed, Unix seconds.
    pub updated_at: i64,
    /// The order note.
    pub note: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its additional details (`customAttributes`).
    pub custom_attributes: Vec<(String, String)>,
    /// The id of the order on the channel it came from.
    pub source_identifier: Option<String>,
    /// The channel it came from.
    pub source_name: Option<String>,
    /// The buyer's e-mail (sent in webhooks; never asked by the app).
    pub email: String,
    /// The lines.
    pub line_items: Vec<SimLineItem>,
    /// The fulfillments.
    pub fulfillments: Vec<SimFulfillment>,
    /// The metafields.
    pub metafields: Vec<SimMetafield>,
}

/// An order to create: what a connector leaves on it.
#[derive(Clone, Debug, Default)]
pub struct NewOrder {
    /// Its id, when the caller chooses it (else the next free one).
    pub id: Option<u64>,
    /// Its name, like `#1001`.
    pub name: String,
    /// When created, Unix seconds.
    pub created_at: i64,
    /// The order note.
    pub note: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its additional details.
    pub custom_attributes: Vec<(String, String)>,
    /// The id on the channel it came from.
    pub source_identifier: Option<String>,
    /// The channel it came from.
    pub source_name: Option<String>,
    /// Its lines: SKU, title, units.
    pub lines: Vec<(String, String, u32)>,
}

/// A fulfillment to create.
#[derive(Clone, Debug, Default)]
pub struct NewFulfillment {
    /// Its id, when the caller chooses it (else the next free one).
    pub id: Option<u64>,
    /// The carrier.
    pub company: Option<String>,
    /// The tracking number (none: fulfilled without tracking).
    pub number: Option<String>,
    /// What it fulfills: the order line's SKU and units.
    pub lines: Vec<(String, u32)>,
    /// When created, Unix seconds.
    pub created_at: i64,
}

/// One shop's data.
#[derive(Debug, Default)]
pub struct ShopData {
    /// Its orders, by id.
    pub orders: BTreeMap<u64, SimOrder>,
}

impl ShopData {
    /// The order holding a fulfillment.
    #[must_use]
    pub fn order_of_fulfillment(&self, fulfillment_id: u64) -> Option<&SimOrder> {
        self.orders
            .values()
            .find(|o| o.fulfillments.iter().any(|f| f.id == fulfillment_id))
    }

    /// A fulfillment and its order, mutable.
    pub fn fulfillment_mut(&mut self, fulfillment_id: u64) -> Option<&mut SimFulfillment> {
        self.orders
            .values_mut()
            .flat_map(|o| o.fulfillments.iter_mut())
            .find(|f| f.id == fulfillment_id)
    }
}

/// The id in a `gid://shopify/{kind}/{id}`, or a bare decimal id.
#[must_use]
pub fn gid_id(gid: &str, kind: &str) -> Option<u64> {
    let tail = gid
        .strip_prefix("gid://shopify/")
        .map_or(Some(gid), |rest| rest.strip_prefix(kind)?.strip_prefix('/'))?;
    tail.parse().ok()
}

/// `gid://shopify/{kind}/{id}`.
#[must_use]
pub fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// Unix seconds as Shopify's GraphQL writes them (`2026-11-29T10:00:00Z`).
#[must_use]
pub fn iso(seconds: i64) -> String {
    preflight::Timestamp::from_unix_millis(seconds.saturating_mul(1000))
        .to_string()
        .replace(".000Z", "Z")
}

/// A fulfillment in the REST shape of a `fulfillments/create|update` webhook, with the destination
/// (the buyer's name, address, phone) and e-mail Shopify puts in it.
#[must_use]
pub fn fulfillment_webhook_payload(order: &SimOrder, fulfillment: &SimFulfillment) -> Value {
    let first = fulfillment.tracking.first();
    let numbers: Vec<&str> = fulfillment
        .tracking
        .iter()
        .map(|t| t.number.as_str())
        .collect();
    let urls: Vec<&str> = fulfillment
        .tracking
        .iter()
        .filter_map(|t| t.url.as_deref())
        .collect();
    let lines: Vec<Value> = fulfillment
        .lines
        .iter()
        .filter_map(|line| {
            let item = order
                .line_items
                .iter()
                .find(|l| l.id == line.line_item_id)?;
            Some(json!({
                "id": item.id,
                "admin_graphql_api_id": gid("LineItem", item.id),
                "sku": item.sku,
                "name": item.name,
                "title": item.name,
                "quantity": line.quantity,
                "requires_shipping": true,
                "fulfillment_status": "fulfilled",
                "properties": [],
                "price": "19.00",
            }))
        })
        .collect();
    json!({
        "id": fulfillment.id,
        "admin_graphql_api_id": gid("Fulfillment", fulfillment.id),
        "order_id": order.id,
        "name": fulfillment.name,
        "status": fulfillment.status.to_ascii_lowercase(),
        "service": "manual",
        "created_at": iso(fulfillment.created_at),
        "updated_at": iso(fulfillment.updated_at),
        "tracking_company": first.and_then(|t| t.company.clone()),
        "tracking_number": first.map(|t| t.number.clone()),
        "tracking_numbers": numbers,
        "tracking_url": urls.first(),
        "tracking_urls": urls,
        "email": order.email,
        "destination": {
            "first_name": "Sam",
            "last_name": "Buyer",
            "address1": "1 Main Street",
            "city": "Springfield",
            "zip": "12345",
            "country_code": "US",
            "phone": "+15555550100",
        },
        "line_items": lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gids_read_back() {
        assert_eq!(gid_id(&gid("Order", 42), "Order"), Some(42));
        assert_eq!(gid_id("42", "Order"), Some(42));
        assert_eq!(gid_id("gid://shopify/Fulfillment/42", "Order"), None);
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    }
}
