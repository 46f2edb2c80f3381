//! Fulfillments linked to their TikTok Shop order on their own: the Shopify order is read, the
//! resolver chain ([`crate::shopify::link`]) names candidates, TikTok Shop confirms one, and the link
//! is kept (with the order and the preview) and written to the order's metafield, so that the chain
//! finds it first next time. A fulfillment the chain cannot link shows why; a manual link is never
//! replaced.

use std::collections::HashMap;
use std::sync::Arc;

use preflight::model::read::Read as _;
use serde_json::json;

use crate::error::ApiError;
use crate::shopify::admin::ShopifyOrder;
use crate::shopify::link::{self, Check, Resolution, Source};
use crate::state::AppState;
use crate::store::FulfillmentRecord;
use crate::sync;
use crate::tts::types::Order as TtsOrder;
use crate::tts::{ExternalLineItem, ExternalOrder, ExternalOrderReference, ShopContext};

/// The most TikTok Shop orders Get Order Detail reads at once (TikTok Shop, "Get Order Detail":
/// `ids` holds up to 50).
const MAX_ORDERS_PER_READ: usize = 50;

/// What linking a fulfillment did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Linked {
    /// It was linked already (by the chain or by hand): nothing done.
    Already,
    /// The chain decided (linked or not, with why).
    Resolved(Resolution),
}

/// `{"state": "not_linked", "code": …, "reason": …}`: why a fulfillment is not linked.
fn not_linked_json(code: &str, reason: &str) -> String {
    json!({ "state": "not_linked", "code": code, "reason": reason }).to_string()
}

/// The Shopify order id a stored fulfillment names (`order_id`, or `order.id` in the GraphQL shape).
fn order_id_of(record: &FulfillmentRecord) -> Option<String> {
    let value = preflight::json::parse(&record.shopify_json).ok()?;
    let fulfillment =
        preflight::model::Fulfillment::read(&value, &preflight::model::read::Path::Root).ok()?;
    fulfillment.order_id
}

/// Whether the chain may link this fulfillment: never linked, or not linked by hand and no order yet.
fn needs_link(record: &FulfillmentRecord) -> bool {
    let manual = record
        .link_json
        .as_deref()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .is_some_and(|l| l.get("source").and_then(serde_json::Value::as_str) == Some("manual"));
    !manual && record.tts_order_json.is_none()
}

/// Links a stored fulfillment on its own, reading its Shopify order first.
///
/// # Errors
/// 404 for an unknown fulfillment; the store's errors. Shopify or TikTok Shop failing is recorded on
/// the row as `link.unavailable`, not an error.
pub async fn link_fulfillment(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
) -> Result<Linked, ApiError> {
    let record = state
        .store
        .fulfillment(shop, fulfillment_id)
        .await?
        .ok_or_else(|| ApiError::not_found("fulfillment"))?;
    if !needs_link(&record) {
        return Ok(Linked::Already);
    }
    let Some(admin) = state.shopify_admin.clone() else {
        return Ok(Linked::Already);
    };
    let resolution = match order_id_of(&record) {
        None => Resolution::NotLinked {
            code: "link.no_order",
            reason: "The fulfillment names no Shopify order.".into(),
        },
        Some(order_id) => match admin.order(shop, &order_id).await {
            Ok(Some(order)) => return link_order(state, shop, &order, &[fulfillment_id]).await,
            Ok(None) => Resolution::NotLinked {
                code: "link.no_order",
                reason: format!("Shopify has no order {order_id} in this shop."),
            },
            Err(error) => Resolution::NotLinked {
                code: "link.unavailable",
                reason: format!(
                    "The Shopify order could not be read ({}); linking is tried again with the next change.",
                    error.code()
                ),
            },
        },
    };
    record_not_linked(state, shop, fulfillment_id, &resolution).await?;
    Ok(Linked::Resolved(resolution))
}

async fn record_not_linked(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    resolution: &Resolution,
) -> Result<(), ApiError> {
    if let Resolution::NotLinked { code, reason } = resolution {
        record_link(
            state,
            shop,
            fulfillment_id,
            LinkOutcome::NotLinked(not_linked_json(code, reason)),
        )
        .await?;
    }
    Ok(())
}

/// What linking a fulfillment ends in.
enum LinkOutcome {
    /// The TikTok Shop order (its JSON) and how it was found.
    Attach(String, String),
    /// Why not (its JSON).
    NotLinked(String),
}

/// Stores what linking found, under the fulfillment's lock and only while it still needs a link: a
/// manual link or another linking that got there first stands.
async fn record_link(
    state: &Arc<AppState>,
    shop: &str,
    fulfillment_id: &str,
    outcome: LinkOutcome,
) -> Result<(), ApiError> {
    let _held = state.store.lock_fulfillment(shop, fulfillment_id).await?;
    let still = state
        .store
        .fulfillment(shop, fulfillment_id)
        .await?
        .is_some_and(|r| needs_link(&r));
    if !still {
        return Ok(());
    }
    match outcome {
        LinkOutcome::Attach(order_json, link) => {
            sync::attach_order(state, shop, fulfillment_id, order_json, link).await?;
        }
        LinkOutcome::NotLinked(link) => {
            let patch = crate::store::FulfillmentPatch {
                link_json: Some(link),
                ..crate::store::FulfillmentPatch::default()
            };
            state
                .store
                .update_fulfillment(shop, fulfillment_id, &patch)
                .await?;
        }
    }
    Ok(())
}

/// Links fulfillments of one Shopify order (already read) through the chain: each gets the same
/// resolution. The first confirmed link is written to the order's metafield.
///
/// # Errors
/// The store's errors; a fulfillment that is not stored is 404.
pub async fn link_order(
    state: &Arc<AppState>,
    shop: &str,
    order: &ShopifyOrder,
    fulfillment_ids: &[&str],
) -> Result<Linked, ApiError> {
    let chain = link::candidates(order);
    let mut ids = link::all_ids(&chain);
    ids.truncate(MAX_ORDERS_PER_READ);
    let context = crate::state::tiktok_context(state, shop)
        .await
        .map_err(|e| format!("{} ({})", e.message, e.code));
    let read = |context: &ShopContext, ids: Vec<String>| {
        let tts = state.tts.clone();
        let context = context.clone();
        async move {
            if ids.is_empty() {
                return Ok(HashMap::new());
            }
            tts.get_order_detail(&context, &ids)
                .await
                .map(|orders| {
                    orders
                        .into_iter()
                        .map(|o| (o.id.clone(), o))
                        .collect::<HashMap<_, _>>()
                })
                .map_err(|e| e.to_string())
        }
    };
    let found = match &context {
        Ok(context) => read(context, ids).await,
        Err(e) => Err(e.clone()),
    };
    let skus: Vec<String> = order.skus().iter().map(|s| normalized(s)).collect();
    let (resolution, mut found) = match found {
        Err(error) => (
            Resolution::NotLinked {
                code: "link.unavailable",
                reason: format!(
                    "TikTok Shop could not be asked about the order ({error}); linking is tried again with the next change."
                ),
            },
            HashMap::new(),
        ),
        Ok(found) => (
            link::resolve(&chain, |id| match found.get(id) {
                None => Check::NotFound,
                Some(tts) if shares_sku(tts, &skus) => Check::Confirmed,
                Some(_) => Check::ItemsDiffer,
            }),
            found,
        ),
    };
    // The last place: the reference TikTok Shop keeps of the Shopify order, when one was recorded.
    let resolution = match (&resolution, &context) {
        (Resolution::NotLinked { code, .. }, Ok(context))
            if !matches!(*code, "link.ambiguous" | "link.unavailable") =>
        {
            match state
                .tts
                .search_external_order(context, &order.legacy_resource_id)
                .await
            {
                Ok(referenced) => {
                    let unread: Vec<String> = referenced
                        .iter()
                        .filter(|id| !found.contains_key(*id))
                        .cloned()
                        .collect();
                    if let Ok(more) = read(context, unread).await {
                        found.extend(more);
                    }
                    let confirmed: Vec<&String> = referenced
                        .iter()
                        .filter(|id| found.get(*id).is_some_and(|t| shares_sku(t, &skus)))
                        .collect();
                    match confirmed.as_slice() {
                        [one] => Resolution::Linked {
                            order_id: (*one).clone(),
                            source: Source::ExternalReference,
                        },
                        _ => resolution,
                    }
                }
                Err(error) => {
                    tracing::warn!(shop, code = ?error.code(), "external order search failed");
                    resolution
                }
            }
        }
        _ => resolution,
    };
    if let Resolution::Linked { order_id, source } = &resolution {
        if let Some(tts) = found.get(order_id) {
            if let Ok(order_json) = serde_json::to_string(tts) {
                for id in fulfillment_ids {
                    let link = sync::link_json(source.as_str(), order_id);
                    record_link(
                        state,
                        shop,
                        id,
                        LinkOutcome::Attach(order_json.clone(), link),
                    )
                    .await?;
                }
            }
            if let (Ok(context), false) = (&context, *source == Source::ExternalReference) {
                record_at_tiktok(state, context, order, tts).await;
            }
        }
        remember(state, shop, order, order_id, *source).await;
        return Ok(Linked::Resolved(resolution));
    }
    for id in fulfillment_ids {
        record_not_linked(state, shop, id, &resolution).await?;
    }
    Ok(Linked::Resolved(resolution))
}

/// Records the link at TikTok Shop as an external order reference (platform `SHOPIFY`), each Shopify
/// line item paired with the TikTok Shop line items of its SKU. A failure is logged: the link stands.
async fn record_at_tiktok(
    state: &AppState,
    context: &ShopContext,
    order: &ShopifyOrder,
    tts: &TtsOrder,
) {
    let lines = order.line_items();
    let line_items = tts
        .line_items
        .iter()
        .filter_map(|unit| {
            let sku = normalized(unit.seller_sku.as_deref()?);
            let (id, _) = lines.iter().find(|(_, s)| normalized(s) == sku)?;
            Some(ExternalLineItem {
                id: id.clone(),
                origin_id: unit.id.clone(),
            })
        })
        .collect();
    let reference = ExternalOrderReference {
        id: tts.id.clone(),
        external_order: ExternalOrder {
            id: order.legacy_resource_id.clone(),
            platform: crate::tts::SHOPIFY_PLATFORM.into(),
            line_items,
        },
    };
    if let Err(error) = state.tts.add_external_orders(context, &[reference]).await {
        tracing::warn!(order = order.name, code = ?error.code(), "external order reference not recorded");
    }
}

/// Links those of the order's fulfillments that need it ([`link_order`] on them).
///
/// # Errors
/// As [`link_order`].
pub async fn link_unlinked(
    state: &Arc<AppState>,
    shop: &str,
    order: &ShopifyOrder,
    fulfillment_ids: &[&str],
) -> Result<Option<Linked>, ApiError> {
    let mut unlinked = Vec::new();
    for id in fulfillment_ids {
        if let Some(record) = state.store.fulfillment(shop, id).await? {
            if needs_link(&record) {
                unlinked.push(*id);
            }
        }
    }
    if unlinked.is_empty() {
        return Ok(None);
    }
    link_order(state, shop, order, &unlinked).await.map(Some)
}

/// Writes a confirmed link to the order's metafield, unless it came from there. A failure is logged:
/// the chain finds the link again next time.
async fn remember(
    state: &AppState,
    shop: &str,
    order: &ShopifyOrder,
    tts_order_id: &str,
    source: Source,
) {
    let Some(admin) = state.shopify_admin.as_ref() else {
        return;
    };
    if source == Source::Metafield {
        return;
    }
    if let Err(error) = admin.set_link(shop, &order.id, tts_order_id).await {
        tracing::warn!(
            shop,
            order = order.name,
            code = error.code(),
            "link metafield not written"
        );
    }
}

fn normalized(sku: &str) -> String {
    sku.trim().to_ascii_lowercase()
}

/// Whether a TikTok Shop order holds one of the SKUs (normalized).
fn shares_sku(order: &TtsOrder, skus: &[String]) -> bool {
    order
        .line_items
        .iter()
        .filter_map(|l| l.seller_sku.as_deref())
        .any(|sku| skus.contains(&normalized(sku)))
}

/// Writes a manual link to the Shopify order's metafield, in the background (a failure is logged).
pub fn spawn_remember(
    state: Arc<AppState>,
    shop: String,
    record: &FulfillmentRecord,
    tts_order_id: String,
) {
    let (Some(admin), Some(order_id)) = (state.shopify_admin.clone(), order_id_of(record)) else {
        return;
    };
    tokio::spawn(async move {
        let gid = crate::shopify::admin::to_gid("Order", &order_id);
        if let Err(error) = admin.set_link(&shop, &gid, &tts_order_id).await {
            tracing::warn!(
                shop,
                code = error.code(),
                "manual link not written to Shopify"
            );
        }
    });
}

/// Links, in the background, a fulfillment a webhook just stored.
pub fn spawn_link(state: Arc<AppState>, shop: String, fulfillment_id: String) {
    if state.shopify_admin.is_none() {
        return;
    }
    tokio::spawn(async move {
        if let Err(error) = link_fulfillment(&state, &shop, &fulfillment_id).await {
            tracing::warn!(
                shop,
                fulfillment_id,
                code = error.code,
                "fulfillment not linked"
            );
        }
    });
}
