//! What the app reads from and writes to a shop's Admin GraphQL API: an order with what links it to
//! TikTok Shop and its fulfillments, the orders of a period page by page, a fulfillment's tracking
//! info, and the order's link metafield. Each call takes the shop's access token from
//! [`ShopifyCredentials`] (refreshed when due).
//!
//! Only the fields the features need are asked: no buyer's name, address, e-mail or phone.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::credentials::{CredentialsError, ShopifyCredentials};
use super::graphql::{no_user_errors, GraphqlClient, GraphqlError, UserError};

/// The namespace and key of the order metafield holding the TikTok Shop order id, once confirmed.
/// `$app:` makes the namespace the app's own (shopify.dev, "App-owned metafields").
pub const LINK_NAMESPACE: &str = "$app:tiktok_shop";
/// The key of that metafield.
pub const LINK_KEY: &str = "order_id";

/// The fields of a fulfillment the engine and the widget read, in the GraphQL shape.
const FULFILLMENT_FIELDS: &str = "id legacyResourceId name status createdAt updatedAt \
     trackingInfo { company number url } \
     fulfillmentLineItems(first: 20) { nodes { id quantity lineItem { id sku name } } }";

/// An order with what may link it to TikTok Shop and its fulfillments.
fn order_fields() -> String {
    format!(
        "id legacyResourceId name createdAt note tags sourceIdentifier sourceName \
         customAttributes {{ key value }} \
         metafield(namespace: \"{LINK_NAMESPACE}\", key: \"{LINK_KEY}\") {{ value }} \
         lineItems(first: 20) {{ nodes {{ id sku }} }} \
         fulfillments(first: 5) {{ {FULFILLMENT_FIELDS} }}"
    )
}

/// Orders per page of [`ShopifyAdmin::orders_since`]. An order with its fields costs about 245 points
/// as requested (five fulfillments of twenty lines each; Shopify refunds what the answer did not use),
/// so a page of three asks about 740 of the 1,000 points a query may cost.
pub const ORDERS_PER_PAGE: u32 = 3;

/// Why an Admin call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No access token at hand.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The call failed.
    #[error(transparent)]
    Graphql(#[from] GraphqlError),
}

impl AdminError {
    /// The stable code of this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Credentials(e) => e.code(),
            Self::Graphql(e) => e.code(),
        }
    }

    /// The `userErrors` of a refused mutation.
    #[must_use]
    pub fn user_errors(&self) -> Option<&[UserError]> {
        match self {
            Self::Graphql(GraphqlError::UserErrors(errors)) => Some(errors),
            _ => None,
        }
    }
}

/// A key and value of an order's additional details.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Attribute {
    /// The key, as the connector named it.
    pub key: String,
    /// The value.
    pub value: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}

#[derive(Clone, Debug, Deserialize)]
struct SkuNode {
    #[serde(default)]
    id: Option<String>,
    sku: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct MetafieldValue {
    value: String,
}

/// A Shopify order as the app reads it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyOrder {
    /// `gid://shopify/Order/…`.
    pub id: String,
    /// The decimal id.
    pub legacy_resource_id: String,
    /// Its name, like `#1001`.
    pub name: String,
    /// When created (RFC 3339).
    pub created_at: String,
    /// The order note.
    pub note: Option<String>,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The id of the order on the channel it came from.
    pub source_identifier: Option<String>,
    /// The channel it came from.
    pub source_name: Option<String>,
    /// Its additional details.
    #[serde(default)]
    pub custom_attributes: Vec<Attribute>,
    metafield: Option<MetafieldValue>,
    line_items: Nodes<SkuNode>,
    /// Its fulfillments in the GraphQL shape, as Shopify answered them.
    #[serde(default)]
    pub fulfillments: Vec<Value>,
}

impl ShopifyOrder {
    /// The TikTok Shop order id the app stored on the order once it was confirmed.
    #[must_use]
    pub fn linked_order_id(&self) -> Option<&str> {
        self.metafield.as_ref().map(|m| m.value.as_str())
    }

    /// The SKUs of its lines.
    #[must_use]
    pub fn skus(&self) -> Vec<&str> {
        self.line_items
            .nodes
            .iter()
            .filter_map(|n| n.sku.as_deref())
            .filter(|s| !s.trim().is_empty())
            .collect()
    }

    /// Its lines' decimal ids and SKUs (lines without a SKU left out).
    #[must_use]
    pub fn line_items(&self) -> Vec<(String, String)> {
        self.line_items
            .nodes
            .iter()
            .filter_map(|n| {
                let id = n.id.as_deref()?;
                let id = id.rsplit('/').next().unwrap_or(id).to_owned();
                Some((id, n.sku.clone().filter(|s| !s.trim().is_empty())?))
            })
            .collect()
    }

    /// Its fulfillments as stored: each with `order { id }` (the GraphQL shape names its order).
    #[must_use]
    pub fn fulfillments_with_order(&self) -> Vec<Value> {
        self.fulfillments
            .iter()
            .cloned()
            .map(|mut f| {
                if let Value::Object(map) = &mut f {
                    map.insert("order".into(), json!({ "id": self.id }));
                }
                f
            })
            .collect()
    }

    /// An order of these fields, for tests of the resolver chain.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn for_linking(
        name: &str,
        note: Option<&str>,
        tags: &[&str],
        custom_attributes: &[(&str, &str)],
        source_identifier: Option<&str>,
        metafield: Option<&str>,
        skus: &[&str],
    ) -> Self {
        Self {
            id: "gid://shopify/Order/1".into(),
            legacy_resource_id: "1".into(),
            name: name.into(),
            created_at: "2026-11-29T10:00:00Z".into(),
            note: note.map(str::to_owned),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            source_identifier: source_identifier.map(str::to_owned),
            source_name: None,
            custom_attributes: custom_attributes
                .iter()
                .map(|(k, v)| Attribute {
                    key: (*k).to_owned(),
                    value: Some((*v).to_owned()),
                })
                .collect(),
            metafield: metafield.map(|v| MetafieldValue {
                value: v.to_owned(),
            }),
            line_items: Nodes {
                nodes: skus
                    .iter()
                    .map(|s| SkuNode {
                        id: None,
                        sku: Some((*s).to_owned()),
                    })
                    .collect(),
            },
            fulfillments: Vec::new(),
        }
    }
}

/// A page of orders.
#[derive(Clone, Debug)]
pub struct OrdersPage {
    /// The orders.
    pub orders: Vec<ShopifyOrder>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct OrderData {
    order: Option<ShopifyOrder>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderConnection {
    nodes: Vec<ShopifyOrder>,
    page_info: PageInfo,
}

#[derive(Deserialize)]
struct OrdersData {
    orders: OrderConnection,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingUpdated {
    fulfillment_tracking_info_update: Payload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetafieldsSet {
    metafields_set: Payload,
}

/// A shop's Admin API, as the app uses it.
#[derive(Clone, Debug)]
pub struct ShopifyAdmin {
    graphql: GraphqlClient,
    credentials: Arc<ShopifyCredentials>,
}

/// `gid://shopify/{kind}/{id}` for a decimal id; a gid is kept as it is.
#[must_use]
pub fn to_gid(kind: &str, id: &str) -> String {
    if id.starts_with("gid://") {
        id.to_owned()
    } else {
        format!("gid://shopify/{kind}/{id}")
    }
}

impl ShopifyAdmin {
    /// The Admin API through `graphql`, with each shop's token from `credentials`.
    #[must_use]
    pub const fn new(graphql: GraphqlClient, credentials: Arc<ShopifyCredentials>) -> Self {
        Self {
            graphql,
            credentials,
        }
    }

    async fn run<T: serde::de::DeserializeOwned>(
        &self,
        shop: &str,
        query: &str,
        variables: Value,
    ) -> Result<T, AdminError> {
        let token = self.credentials.access_token(shop, None).await?;
        Ok(self.graphql.execute(shop, &token, query, variables).await?)
    }

    /// An order (by decimal id or gid), with what may link it and its fulfillments; `None` when the
    /// shop has no such order.
    ///
    /// # Errors
    /// [`AdminError`].
    pub async fn order(
        &self,
        shop: &str,
        order_id: &str,
    ) -> Result<Option<ShopifyOrder>, AdminError> {
        let query = format!(
            "query Order($id: ID!) {{ order(id: $id) {{ {} }} }}",
            order_fields()
        );
        let data: OrderData = self
            .run(shop, &query, json!({ "id": to_gid("Order", order_id) }))
            .await?;
        Ok(data.order)
    }

    /// The orders created at or after `since` (RFC 3339), oldest first, a page at a time from `after`.
    ///
    /// # Errors
    /// [`AdminError`].
    pub async fn orders_since(
        &self,
        shop: &str,
        since: &str,
        after: Option<&str>,
    ) -> Result<OrdersPage, AdminError> {
        let query = format!(
            "query Orders($first: Int!, $after: String, $query: String) {{ \
             orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {{ \
             nodes {{ {} }} pageInfo {{ hasNextPage endCursor }} }} }}",
            order_fields()
        );
        let variables = json!({
            "first": ORDERS_PER_PAGE,
            "after": after,
            "query": format!("created_at:>='{since}'"),
        });
        let data: OrdersData = self.run(shop, &query, variables).await?;
        let info = data.orders.page_info;
        Ok(OrdersPage {
            orders: data.orders.nodes,
            next: info.end_cursor.filter(|_| info.has_next_page),
        })
    }

    /// Sets a fulfillment's tracking info (`fulfillmentTrackingInfoUpdate`), the customer not
    /// notified.
    ///
    /// # Errors
    /// [`AdminError`]; Shopify's refusal as [`GraphqlError::UserErrors`].
    pub async fn update_tracking(
        &self,
        shop: &str,
        fulfillment_id: &str,
        company: Option<&str>,
        number: &str,
    ) -> Result<(), AdminError> {
        const MUTATION: &str = "mutation UpdateTracking($fulfillmentId: ID!, \
             $trackingInfoInput: FulfillmentTrackingInput!) { \
             fulfillmentTrackingInfoUpdate(fulfillmentId: $fulfillmentId, \
             trackingInfoInput: $trackingInfoInput, notifyCustomer: false) { \
             fulfillment { id } userErrors { field message } } }";
        let input = match company {
            Some(company) => json!({ "number": number, "company": company }),
            None => json!({ "number": number }),
        };
        let variables = json!({
            "fulfillmentId": to_gid("Fulfillment", fulfillment_id),
            "trackingInfoInput": input,
        });
        let data: TrackingUpdated = self.run(shop, MUTATION, variables).await?;
        Ok(no_user_errors(
            data.fulfillment_tracking_info_update.user_errors,
        )?)
    }

    /// Stores a confirmed TikTok Shop order id on the Shopify order (the app's metafield, read first by
    /// the resolver chain next time).
    ///
    /// # Errors
    /// [`AdminError`]; Shopify's refusal as [`GraphqlError::UserErrors`].
    pub async fn set_link(
        &self,
        shop: &str,
        order_id: &str,
        tts_order_id: &str,
    ) -> Result<(), AdminError> {
        const MUTATION: &str = "mutation SetLink($metafields: [MetafieldsSetInput!]!) { \
             metafieldsSet(metafields: $metafields) { metafields { id } userErrors { field message } } }";
        let variables = json!({ "metafields": [{
            "ownerId": to_gid("Order", order_id),
            "namespace": LINK_NAMESPACE,
            "key": LINK_KEY,
            "type": "single_line_text_field",
            "value": tts_order_id,
        }]});
        let data: MetafieldsSet = self.run(shop, MUTATION, variables).await?;
        Ok(no_user_errors(data.metafields_set.user_errors)?)
    }
}
