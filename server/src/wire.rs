//! Our records as the API shows them: fulfillments with their sync status, preview and pushes, and the
//! shop's settings, written as the engine reads them back.

use preflight::json::ObjectWriter;
use preflight::{CarrierMapping, Region, Settings};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::store::{FulfillmentRecord, SyncStatus};

/// The fields of a Shopify fulfillment (REST/webhook or GraphQL shape) the engine and the widget read;
/// everything else (the destination address, the customer, receipts, prices, line-item properties) is
/// never stored.
const FULFILLMENT_FIELDS: &[&str] = &[
    "id",
    "admin_graphql_api_id",
    "legacyResourceId",
    "order_id",
    "order",
    "name",
    "status",
    "service",
    "location_id",
    "shipment_status",
    "tracking_company",
    "tracking_number",
    "tracking_numbers",
    "tracking_url",
    "tracking_urls",
    "trackingInfo",
    "created_at",
    "updated_at",
    "createdAt",
    "updatedAt",
    "line_items",
    "fulfillmentLineItems",
];

/// The fields of a fulfillment's line item kept (REST shape; GraphQL line items keep their `lineItem`
/// reference's id, SKU, name and variant).
const LINE_ITEM_FIELDS: &[&str] = &[
    "id",
    "variant_id",
    "product_id",
    "title",
    "variant_title",
    "name",
    "sku",
    "quantity",
    "fulfillable_quantity",
    "fulfillment_status",
    "requires_shipping",
    "node",
    "lineItem",
    "variant",
    "edges",
    "nodes",
];

fn keep(value: &mut Value, fields: &[&str]) {
    if let Value::Object(map) = value {
        map.retain(|k, _| fields.contains(&k.as_str()));
    }
}

/// A Shopify fulfillment payload as stored: only the fields the engine and the widget read (no buyer
/// names, addresses, e-mails or phones). `order` keeps its id alone.
///
/// # Errors
/// [`ApiError`] 400 `input.malformed_json` when the text is not JSON.
pub(crate) fn stored_fulfillment(text: &str) -> Result<String, ApiError> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "input.malformed_json",
            e.to_string(),
        )
    })?;
    keep(&mut value, FULFILLMENT_FIELDS);
    if let Some(order) = value.get_mut("order") {
        keep(order, &["id"]);
    }
    for list in ["line_items", "fulfillmentLineItems"] {
        match value.get_mut(list) {
            Some(Value::Array(items)) => items.iter_mut().for_each(prune_item),
            Some(connection @ Value::Object(_)) => {
                keep(connection, &["edges", "nodes"]);
                for key in ["edges", "nodes"] {
                    if let Some(Value::Array(items)) = connection.get_mut(key) {
                        items.iter_mut().for_each(prune_item);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(value.to_string())
}

/// A line item (or a GraphQL edge or node of one) with its kept fields only.
fn prune_item(item: &mut Value) {
    keep(item, LINE_ITEM_FIELDS);
    if let Some(node) = item.get_mut("node") {
        prune_item(node);
    }
    if let Some(line) = item.get_mut("lineItem") {
        keep(line, &["id", "sku", "name", "variant"]);
        if let Some(variant) = line.get_mut("variant") {
            keep(variant, &["id", "sku"]);
        }
    }
}

/// `{"carrierMappings": [...]}`, as `PUT /api/settings/carrier-mappings` takes it.
pub(crate) fn mappings_json(mappings: &[CarrierMapping]) -> String {
    let mut out = String::new();
    ObjectWriter::new(&mut out)
        .field("carrierMappings", mappings)
        .end();
    out
}

/// Settings as stored, read by the engine: the default (US, no mappings) for none. Engine work: run it
/// on the engine pool.
pub(crate) fn settings_of(text: Option<&str>) -> Result<Settings, ApiError> {
    match text {
        Some(text) => Ok(preflight::from_json::<Settings>(text)?),
        None => Ok(Settings::new(Region::Us)),
    }
}

fn parse_json(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// A fulfillment as the API shows it: its sync status, latest preview, and what was pushed.
pub(crate) fn fulfillment_json(record: &FulfillmentRecord) -> Value {
    let (status, failure) = match &record.sync_status {
        SyncStatus::NotSynced => ("not_synced", Value::Null),
        SyncStatus::Synced => ("synced", Value::Null),
        SyncStatus::SyncFailed(f) => (
            "sync_failed",
            json!({ "code": f.code, "reason": f.reason, "solution": f.solution }),
        ),
    };
    json!({
        "id": record.fulfillment_id,
        "fulfillment": parse_json(Some(&record.shopify_json)),
        "order": parse_json(record.tts_order_json.as_deref()),
        "history": parse_json(record.history_json.as_deref()),
        "report": parse_json(record.report_json.as_deref()),
        "syncStatus": status,
        "failure": failure,
        "latestPush": record.latest_push.as_ref().map(|p| json!({
            "id": p.id,
            "state": p.state.as_str(),
            "plan": parse_json(Some(&p.plan_json)),
            "attempts": p.attempts,
            "updatedAt": p.updated_at.to_string(),
        })),
        "link": parse_json(record.link_json.as_deref()),
        "shopifyWriteback": record.writeback.as_ref().map(|w| json!({
            "state": w.state.as_str(),
            "trackingNumber": w.tracking_number,
            "attempts": w.attempts,
            "error": w.error.as_ref().map(|(code, message)| json!({ "code": code, "message": message })),
            "nextAttemptAt": w.next_attempt_at.map(|t| t.to_string()),
        })),
        "updatedAt": record.updated_at.to_string(),
    })
}
