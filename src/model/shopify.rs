//! The Shopify fulfillment, read from its REST/webhook shape or its GraphQL shape.
//!
//! Both shapes come straight from Shopify's APIs; unknown fields are ignored. The shape is told apart by
//! its fields (`trackingInfo`, `fulfillmentLineItems`, `createdAt` are GraphQL's).

use serde::Deserialize;

use super::de;
use crate::Timestamp;

/// A Shopify fulfillment: what the connector would push to TikTok Shop.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawFulfillment")]
pub struct Fulfillment {
    /// The fulfillment id as Shopify sent it: decimal text for REST, a `gid://shopify/Fulfillment/…` for
    /// GraphQL.
    pub id: String,
    /// The Shopify order id, when sent.
    pub order_id: Option<String>,
    /// The fulfillment's name, like `#1001.1`, when sent.
    pub name: Option<String>,
    /// Shopify's fulfillment status.
    pub status: FulfillmentStatus,
    /// The carrier name, free text (`tracking_company` or `trackingInfo[0].company`).
    pub tracking_company: Option<String>,
    /// The tracking numbers, the first being the one pushed.
    pub tracking_numbers: Vec<String>,
    /// When the fulfillment was created.
    pub created_at: Option<Timestamp>,
    /// The fulfilled line items with their quantities.
    pub line_items: Vec<FulfillmentLineItem>,
    /// Which API shape it came in; used to name fields in diagnostics.
    pub shape: Shape,
}

/// The API shape a fulfillment came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// REST Admin API or a `fulfillments/create|update` webhook.
    Rest,
    /// GraphQL Admin API.
    GraphQl,
}

impl Shape {
    /// The input path of the carrier name.
    #[must_use]
    pub const fn carrier_field(self) -> &'static str {
        match self {
            Self::Rest => "fulfillment.tracking_company",
            Self::GraphQl => "fulfillment.trackingInfo[0].company",
        }
    }

    /// The input path of the tracking number.
    #[must_use]
    pub const fn tracking_field(self) -> &'static str {
        match self {
            Self::Rest => "fulfillment.tracking_number",
            Self::GraphQl => "fulfillment.trackingInfo[0].number",
        }
    }

    /// The input path of the line items.
    #[must_use]
    pub const fn line_items_field(self) -> &'static str {
        match self {
            Self::Rest => "fulfillment.line_items",
            Self::GraphQl => "fulfillment.fulfillmentLineItems",
        }
    }
}

/// Shopify's fulfillment status (REST lowercase, GraphQL uppercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FulfillmentStatus {
    /// `pending`: not yet processed.
    Pending,
    /// `open`: being processed.
    Open,
    /// `success`: fulfilled.
    Success,
    /// `cancelled`.
    Cancelled,
    /// `error`.
    Error,
    /// `failure`.
    Failure,
    /// Absent, or a status Shopify added later.
    Unknown,
}

impl FulfillmentStatus {
    fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "pending" => Self::Pending,
            "open" => Self::Open,
            "success" => Self::Success,
            "cancelled" | "canceled" => Self::Cancelled,
            "error" => Self::Error,
            "failure" => Self::Failure,
            _ => Self::Unknown,
        }
    }
}

/// One fulfilled Shopify line item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfillmentLineItem {
    /// The Shopify line item id.
    pub id: Option<String>,
    /// The product variant id, numeric (a GraphQL gid is reduced to its number).
    pub variant_id: Option<String>,
    /// The variant's SKU, matched against TikTok Shop's `seller_sku`.
    pub sku: Option<String>,
    /// How many units this fulfillment ships.
    pub quantity: u32,
    /// The item's title, for people.
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(expecting = "a Shopify fulfillment object")]
struct RawFulfillment {
    #[serde(default, deserialize_with = "de::opt_id")]
    id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    order_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    status: Option<String>,
    // REST / webhook
    #[serde(default)]
    tracking_company: Option<String>,
    #[serde(default)]
    tracking_number: Option<String>,
    #[serde(default)]
    tracking_numbers: Option<Vec<Option<String>>>,
    #[serde(default)]
    created_at: Option<Timestamp>,
    #[serde(default)]
    line_items: Option<Vec<RestLineItem>>,
    // GraphQL
    #[serde(default, rename = "trackingInfo")]
    tracking_info: Option<Vec<GqlTrackingInfo>>,
    #[serde(default, rename = "fulfillmentLineItems")]
    fulfillment_line_items: Option<GqlList<GqlFulfillmentLineItem>>,
    #[serde(default, rename = "createdAt")]
    created_at_gql: Option<Timestamp>,
    #[serde(default)]
    order: Option<GqlOrder>,
}

#[derive(Deserialize)]
#[serde(expecting = "a Shopify line item object")]
struct RestLineItem {
    #[serde(default, deserialize_with = "de::opt_id")]
    id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_id")]
    variant_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    sku: Option<String>,
    #[serde(deserialize_with = "de::count")]
    quantity: u32,
    #[serde(default, deserialize_with = "de::opt_string")]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(expecting = "a tracking info object")]
struct GqlTrackingInfo {
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    number: Option<String>,
}

/// A GraphQL list: a connection with `edges[].node` or `nodes[]`, or a plain array. Read by hand rather
/// than as an untagged enum, so that an error inside keeps its kind and path.
enum GqlList<T> {
    Plain(Vec<T>),
    Connection {
        edges: Option<Vec<GqlEdge<T>>>,
        nodes: Option<Vec<T>>,
    },
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for GqlList<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = GqlList<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list, or a connection with `edges` or `nodes`")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(GqlList::Plain(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let (mut edges, mut nodes) = (None, None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "edges" => edges = map.next_value()?,
                        "nodes" => nodes = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(GqlList::Connection { edges, nodes })
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(expecting = "an edge object with a node")]
struct GqlEdge<T> {
    node: T,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(expecting = "a fulfillment line item object")]
struct GqlFulfillmentLineItem {
    #[serde(deserialize_with = "de::count")]
    quantity: u32,
    #[serde(default)]
    line_item: Option<GqlLineItem>,
}

#[derive(Deserialize)]
#[serde(expecting = "a line item object")]
struct GqlLineItem {
    #[serde(default, deserialize_with = "de::opt_id")]
    id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    sku: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    name: Option<String>,
    #[serde(default)]
    variant: Option<GqlVariant>,
}

#[derive(Deserialize)]
#[serde(expecting = "a variant object")]
struct GqlVariant {
    #[serde(default, deserialize_with = "de::opt_id")]
    id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    sku: Option<String>,
}

#[derive(Deserialize)]
#[serde(expecting = "an order object")]
struct GqlOrder {
    #[serde(default, deserialize_with = "de::opt_id")]
    id: Option<String>,
}

/// The number at the end of a `gid://shopify/Type/123` (or the text itself when it is no gid).
fn legacy_id(id: String) -> String {
    match id.strip_prefix("gid://shopify/") {
        Some(rest) => rest
            .rsplit('/')
            .next()
            .map(|n| n.split('?').next().unwrap_or(n).to_owned())
            .unwrap_or(id),
        None => id,
    }
}

impl TryFrom<RawFulfillment> for Fulfillment {
    type Error = String;

    fn try_from(raw: RawFulfillment) -> Result<Self, String> {
        let id = raw.id.ok_or("missing field `id`")?;
        let graphql = raw.tracking_info.is_some()
            || raw.fulfillment_line_items.is_some()
            || raw.created_at_gql.is_some();
        let status = raw
            .status
            .as_deref()
            .map_or(FulfillmentStatus::Unknown, FulfillmentStatus::parse);
        if graphql {
            let mut infos = raw.tracking_info.unwrap_or_default().into_iter();
            let first = infos.next();
            let tracking_company = first.as_ref().and_then(|i| i.company.clone());
            let tracking_numbers = first
                .and_then(|i| i.number)
                .into_iter()
                .chain(infos.filter_map(|i| i.number))
                .collect();
            let items = match raw
                .fulfillment_line_items
                .ok_or("missing field `fulfillmentLineItems`")?
            {
                GqlList::Plain(items) => items,
                GqlList::Connection { edges, nodes } => match (edges, nodes) {
                    (Some(edges), _) => edges.into_iter().map(|e| e.node).collect(),
                    (None, Some(nodes)) => nodes,
                    (None, None) => return Err("missing field `nodes`".into()),
                },
            };
            let line_items = items
                .into_iter()
                .map(|item| {
                    let line = item.line_item;
                    let variant = line.as_ref().and_then(|l| l.variant.as_ref());
                    FulfillmentLineItem {
                        id: line.as_ref().and_then(|l| l.id.clone()).map(legacy_id),
                        variant_id: variant.and_then(|v| v.id.clone()).map(legacy_id),
                        sku: line
                            .as_ref()
                            .and_then(|l| l.sku.clone())
                            .or_else(|| variant.and_then(|v| v.sku.clone())),
                        quantity: item.quantity,
                        name: line.and_then(|l| l.name),
                    }
                })
                .collect();
            Ok(Self {
                id,
                order_id: raw.order.and_then(|o| o.id).map(legacy_id).or(raw.order_id),
                name: raw.name,
                status,
                tracking_company,
                tracking_numbers,
                created_at: raw.created_at_gql.or(raw.created_at),
                line_items,
                shape: Shape::GraphQl,
            })
        } else {
            let mut tracking_numbers: Vec<String> = raw
                .tracking_numbers
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect();
            if let Some(number) = raw.tracking_number {
                if !tracking_numbers.contains(&number) {
                    tracking_numbers.insert(0, number);
                }
            }
            let line_items = raw
                .line_items
                .ok_or("missing field `line_items`")?
                .into_iter()
                .map(|item| FulfillmentLineItem {
                    id: item.id,
                    variant_id: item.variant_id,
                    sku: item.sku,
                    quantity: item.quantity,
                    name: item.name,
                })
                .collect();
            Ok(Self {
                id,
                order_id: raw.order_id,
                name: raw.name,
                status,
                tracking_company: raw.tracking_company,
                tracking_numbers,
                created_at: raw.created_at,
                line_items,
                shape: Shape::Rest,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::from_json;

    #[test]
    fn reads_the_rest_shape_with_big_ids() {
        let f: Fulfillment = from_json(
            r#"{"id": 18446744073709551615, "order_id": "5678", "status": "success",
                "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
                "tracking_numbers": ["1Z999AA10123456784"], "created_at": "2026-11-20T10:00:00-05:00",
                "line_items": [{"id": 9007199254740993, "variant_id": 42, "sku": "TEE-M", "quantity": 2,
                                "extra": {"ignored": true}}], "new_field": 1}"#,
        )
        .unwrap();
        assert_eq!(f.id, "18446744073709551615");
        assert_eq!(f.line_items[0].id.as_deref(), Some("9007199254740993"));
        assert_eq!(f.tracking_numbers, ["1Z999AA10123456784"]);
        assert_eq!(f.status, FulfillmentStatus::Success);
        assert_eq!(f.shape, Shape::Rest);
    }

    #[test]
    fn reads_the_graphql_shape() {
        let f: Fulfillment = from_json(
            r#"{"id": "gid://shopify/Fulfillment/255858046", "status": "SUCCESS",
                "createdAt": "2026-11-20T10:00:00Z",
                "trackingInfo": [{"company": "FedEx", "number": "123456789012", "url": null}],
                "fulfillmentLineItems": {"edges": [{"node": {"id": "gid://shopify/FulfillmentLineItem/1",
                  "quantity": 1, "lineItem": {"id": "gid://shopify/LineItem/7", "sku": "MUG",
                  "variant": {"id": "gid://shopify/ProductVariant/99"}}}}]}}"#,
        )
        .unwrap();
        assert_eq!(f.shape, Shape::GraphQl);
        assert_eq!(f.tracking_company.as_deref(), Some("FedEx"));
        assert_eq!(f.line_items[0].variant_id.as_deref(), Some("99"));
        assert_eq!(f.line_items[0].id.as_deref(), Some("7"));
    }

    #[test]
    fn names_the_missing_field() {
        let e = from_json::<Fulfillment>(r#"{"id": 1}"#).unwrap_err();
        assert_eq!(
            (e.code(), e.path.as_str()),
            ("input.missing_field", "line_items")
        );
        let e = from_json::<Fulfillment>(r#"{"id": 1.5e300, "line_items": []}"#).unwrap_err();
        assert_eq!(e.code(), "input.imprecise_id");
    }
}
