//! The Shopify fulfillment, read from its REST/webhook shape or its GraphQL shape.
//!
//! Both shapes come straight from Shopify's APIs; unknown fields are ignored. The shape is told apart by
//! its fields (`trackingInfo`, `fulfillmentLineItems`, `createdAt` are GraphQL's).

use super::read::{self, Object, Path, Read};
use crate::error::InputError;
use crate::json::Value;
use crate::Timestamp;

/// A Shopify fulfillment: what the connector would push to TikTok Shop.
#[derive(Clone, Debug, PartialEq, Eq)]
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

impl Read for Fulfillment {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a Shopify fulfillment object")?;
        let id = o.required_id("id")?;
        let status = o
            .text("status")?
            .map_or(FulfillmentStatus::Unknown, |s| FulfillmentStatus::parse(&s));
        let name = o.text("name")?;
        let graphql = ["trackingInfo", "fulfillmentLineItems", "createdAt"]
            .iter()
            .any(|key| o.get(key).is_some());
        if graphql {
            read_graphql(&o, id, status, name)
        } else {
            read_rest(&o, id, status, name)
        }
    }
}

fn read_rest(
    o: &Object<'_, '_>,
    id: String,
    status: FulfillmentStatus,
    name: Option<String>,
) -> Result<Fulfillment, InputError> {
    let mut tracking_numbers: Vec<String> = o
        .optional("tracking_numbers", |v, p| {
            read::list(v, p, |v, p| match v {
                Value::Null => Ok(None),
                v => read::text(v, p),
            })
        })?
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    if let Some(number) = o.any_text("tracking_number")? {
        if !tracking_numbers.contains(&number) {
            tracking_numbers.insert(0, number);
        }
    }
    let line_items = o.required("line_items", |v, p| {
        read::list(v, p, |v, p| {
            let item = Object::new(v, p, "a Shopify line item object")?;
            Ok(FulfillmentLineItem {
                id: item.id("id")?,
                variant_id: item.id("variant_id")?,
                sku: item.text("sku")?,
                quantity: item.required("quantity", read::count)?,
                name: item.text("name")?,
            })
        })
    })?;
    Ok(Fulfillment {
        id,
        order_id: o.id("order_id")?,
        name,
        status,
        tracking_company: o.any_text("tracking_company")?,
        tracking_numbers,
        created_at: o.timestamp("created_at")?,
        line_items,
        shape: Shape::Rest,
    })
}

fn read_graphql(
    o: &Object<'_, '_>,
    id: String,
    status: FulfillmentStatus,
    name: Option<String>,
) -> Result<Fulfillment, InputError> {
    let infos = o
        .optional("trackingInfo", |v, p| {
            read::list(v, p, |v, p| {
                let info = Object::new(v, p, "a tracking info object")?;
                Ok((info.any_text("company")?, info.any_text("number")?))
            })
        })?
        .unwrap_or_default();
    let mut infos = infos.into_iter();
    let first = infos.next();
    let tracking_company = first.as_ref().and_then(|(company, _)| company.clone());
    let tracking_numbers = first
        .and_then(|(_, number)| number)
        .into_iter()
        .chain(infos.filter_map(|(_, number)| number))
        .collect();
    let line_items = o.required("fulfillmentLineItems", |v, p| {
        read_gql_items(v, p).map(Some)
    })?;
    let order_id = o
        .optional("order", |v, p| {
            Object::new(v, p, "an order object")?.id("id")
        })?
        .map(legacy_id);
    Ok(Fulfillment {
        id,
        order_id,
        name,
        status,
        tracking_company,
        tracking_numbers,
        created_at: o.timestamp("createdAt")?,
        line_items,
        shape: Shape::GraphQl,
    })
}

/// A GraphQL list of fulfillment line items: a connection with `edges[].node` or `nodes[]`, or a list.
fn read_gql_items(
    value: &Value<'_>,
    path: &Path<'_>,
) -> Result<Vec<FulfillmentLineItem>, InputError> {
    if let Value::Array(_) = value {
        return Ok(read::list(value, path, read_gql_item)?.unwrap_or_default());
    }
    let o = Object::new(
        value,
        path,
        "a list, or a connection with `edges` or `nodes`",
    )?;
    if o.get("edges").is_some() {
        let edges = o.optional("edges", |v, p| {
            read::list(v, p, |v, p| {
                Object::new(v, p, "an edge object with a node")?
                    .required("node", |v, p| read_gql_item(v, p).map(Some))
            })
        })?;
        return Ok(edges.unwrap_or_default());
    }
    o.required("nodes", |v, p| read::list(v, p, read_gql_item))
}

fn read_gql_item(value: &Value<'_>, path: &Path<'_>) -> Result<FulfillmentLineItem, InputError> {
    let item = Object::new(value, path, "a fulfillment line item object")?;
    let quantity = item.required("quantity", read::count)?;
    let mut out = FulfillmentLineItem {
        id: None,
        variant_id: None,
        sku: None,
        quantity,
        name: None,
    };
    let line_path = item.path.key("lineItem");
    if let Some(value) = item.get("lineItem").filter(|v| **v != Value::Null) {
        let line = Object::new(value, &line_path, "a line item object")?;
        out.id = line.id("id")?.map(legacy_id);
        out.sku = line.text("sku")?;
        out.name = line.text("name")?;
        let variant_path = line_path.key("variant");
        if let Some(value) = line.get("variant").filter(|v| **v != Value::Null) {
            let variant = Object::new(value, &variant_path, "a variant object")?;
            out.variant_id = variant.id("id")?.map(legacy_id);
            if out.sku.is_none() {
                out.sku = variant.text("sku")?;
            }
        }
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::read::from_json;

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
