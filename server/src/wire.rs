//! Our records as the API shows them: fulfillments with their sync status, preview and pushes, and the
//! shop's settings, written as the engine reads them back.

use preflight::json::ObjectWriter;
use preflight::{CarrierMapping, Region, Settings};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::store::{FulfillmentRecord, SyncStatus};

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
        "updatedAt": record.updated_at.to_string(),
    })
}
