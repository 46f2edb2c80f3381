//! The demo shop: realistic fulfillments covering every outcome, seeded through the real code paths.
//!
//! [`seed`] installs the app in the simulated Shopify store (the merchant's session token exchanged at
//! the token endpoint), creates each order there as its connector left it (the TikTok Shop order id in
//! the additional details, the note, the tags or the source identifier), stores Shopify's webhook of
//! its fulfillment with [`Store::upsert_fulfillment`], adds the TikTok Shop order to the
//! [`Simulator`], links the fulfillment on its own through the resolver chain
//! ([`crate::linking::link_fulfillment`]: the order read over Admin GraphQL, the id confirmed at TikTok
//! Shop) and pushes with real syncs under idempotency keys ([`crate::api::sync_request`]). In three parts: `data` (products, cases, their ids
//! and numbers), `cases` (each case's story) and `driver` (how each step runs through the real code
//! paths). Past shipments are dated by moving the simulator's clock and
//! the seed's own clock together, so TikTok Shop's `rts_time` and our history's `shippedAt` agree; the
//! server that serves the demo afterwards validates with the real clock.
//!
//! Tracking numbers are made valid for their carriers by the engine's own recognizer
//! ([`preflight::carrier::tracking::recognize`]), except the ones that are wrong on purpose.
//!
//! The cases, by Shopify order (the fulfillment is `#number.1`):
//!
//! | orders | case |
//! | --- | --- |
//! | #1001, #1003, #1004, #1006, #1008, #1009, #1011, #1013 | synced: pushed 2 to 52 hours ago (UPS, FedEx, Amazon, OnTrac; several units and lines) |
//! | #1015 | synced after its one tracking update |
//! | #1014, #1019 | `tracking.update_limit_reached`: the update spent, and Shopify has a third number |
//! | #1002, #1005 | `tracking.update_window_expired`: pushed 96 and 100 hours ago, a new number now |
//! | #1007 | ready update, `tracking.only_update_left`: pushed 67 hours ago, the window closes in about 5 hours |
//! | #1021 | `line_items.already_fulfilled`: one of its two items shipped from Seller Center (a TikTok Shipping USPS label) |
//! | #1024 | ready update, `tracking.only_update_left`: both its items shipped from Seller Center in one package (UPS), never by us: Shopify's FedEx number is that package's update |
//! | #1026, #1027, #1029, #1030 | `order.cancelled`, `order.fulfilled_by_tiktok`, `order.cancellation_requested`, `order.on_hold` |
//! | #1031, #1033, #1035, #1063 | `carrier.not_integrated`: "Bob's Local Courier", "Fedx" (FedEx suggested), "Sunrise Courier Co.", and [`XSS_CARRIER`] |
//! | #1032 | `carrier.missing`: "Other" with no mapping and a number of no known format |
//! | #1053, #1054 | `carrier.not_integrated` until the mapping [`MAPPING_FROM`] → [`MAPPING_TO`] |
//! | #1041, #1044 | `carrier.not_in_delivery_option`: the economy delivery option offers USPS and UPS only (TikTok Shop lists its providers), not FedEx or Amazon |
//! | #1046 | sync failed: TikTok Shop refused the push (21011025: #1001's number pasted again) |
//! | #1048, #1049, #1050, #1051, #1052, #1057 | ready to ship (FedEx, UPS ×3, FedEx with three lines, Lasership, "Other" told by a UPS number, Amazon) |
//! | #1055 | `carrier.usps_self_shipping_not_allowed`: "USPS Priority Mail" with a label bought outside TikTok Shipping |
//! | #1059, #1069 | `tracking.invalid_check_digit`: a FedEx and a UPS number one digit off |
//! | #1077 | ready as last read, 422 at the sync's re-check |
//!
//! The newcomer's walk: [`WALK_MAPPING`] (a carrier one mapping fixes, with [`MAPPING_FROM`] →
//! [`MAPPING_TO`]), [`WALK_CHECK_DIGIT`] (a UPS number one digit off, fixed with
//! [`WALK_CHECK_DIGIT_FIX`]), [`WALK_RECHECK`] (ready in the preview, refused with 422 at the sync's
//! re-check) and [`WALK_XSS`] (a carrier name that is markup, to be shown as text).

mod cases;
mod data;
mod driver;
pub(crate) mod tiktok;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use preflight::json::ToJson;
use preflight::{Region, Settings};
use serde_json::Value;

pub use data::{
    ECONOMY_DELIVERY, MAPPING_FROM, MAPPING_TO, SHOP, STANDARD_DELIVERY, TTS_CIPHER,
    WALK_CHECK_DIGIT, WALK_CHECK_DIGIT_FIX, WALK_MAPPING, WALK_MAPPING_TWIN, WALK_RECHECK,
    WALK_RECHECK_NAME, WALK_XSS, XSS_CARRIER,
};
use data::{UPS_ID, USPS_ID};
use driver::{SeedClock, Seeder};
pub use tiktok::play_json as play_tiktok_change;

use crate::auth::AppCredentials;
use crate::error::ApiError;
use crate::shopify::admin::ShopifyAdmin;
use crate::shopify::credentials::ShopifyCredentials;
use crate::shopify::simulator::ShopifySimulator;
use crate::state::AppState;
use crate::store::{Clock, FulfillmentQuery, Store, SystemClock, MAX_PAGE_LIMIT};
use crate::tts::connection::TtsConnections;
use crate::tts::simulator::{AuthorizedShop, Seller, Simulator};
use crate::tts::types::ShippingProvider;

/// What [`seed`] made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// How many fulfillments the shop holds.
    pub fulfillments: usize,
    /// Stored preview reports per verdict (`none` for a fulfillment with none).
    pub verdicts: BTreeMap<String, usize>,
    /// Fulfillments per diagnostic code of error severity in their stored report.
    pub errors: BTreeMap<String, usize>,
    /// Fulfillments per sync status (`not_synced`, `synced`, `sync_failed`).
    pub statuses: BTreeMap<String, usize>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |map: &BTreeMap<String, usize>| {
            map.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "{} fulfillments; verdicts: {}; errors: {}; sync: {}",
            self.fulfillments,
            list(&self.verdicts),
            list(&self.errors),
            list(&self.statuses)
        )
    }
}

/// The demo's Shopify: the simulated store, and the app's way into it (the same credentials and Admin
/// API the server then serves with).
#[derive(Clone, Debug)]
pub struct DemoShopify {
    /// The simulated Shopify.
    pub sim: ShopifySimulator,
    /// Each shop's access token, kept in the demo's store.
    pub credentials: Arc<ShopifyCredentials>,
    /// The Admin API.
    pub admin: ShopifyAdmin,
}

/// The webhook subscriptions of `shopify.app.toml`: each topic and the path it is sent to.
pub const WEBHOOK_SUBSCRIPTIONS: &[(&str, &str)] = &[
    ("fulfillments/create", "/webhooks/shopify/fulfillments"),
    ("fulfillments/update", "/webhooks/shopify/fulfillments"),
    ("app/uninstalled", "/webhooks/shopify/app/uninstalled"),
    (
        "customers/data_request",
        "/webhooks/shopify/customers/data_request",
    ),
    ("customers/redact", "/webhooks/shopify/customers/redact"),
    ("shop/redact", "/webhooks/shopify/shop/redact"),
];

/// Seeds the demo shop `shop`: installs the app in the simulated Shopify store, then settings (US, no
/// mappings), the simulator's delivery options, and the fulfillments listed in the module's
/// documentation; answers what the shop holds. Leaves the simulators' clocks at the current time.
/// The demo store is on a Shopify Plus plan (its Admin API bucket restores 1,000 points a second).
///
/// # Errors
/// What a step of the real code paths answers, or `demo.seed` when a demo number is not what it must
/// be or an order does not link; the shop is then partly seeded.
pub async fn seed(
    store: Arc<dyn Store>,
    sim: &Simulator,
    shopify: &DemoShopify,
    tiktok: TtsConnections,
    shop: &str,
) -> Result<Summary, ApiError> {
    let start = SystemClock.now_millis().div_euclid(1000);
    let clock = Arc::new(SeedClock(AtomicI64::new(start * 1000)));
    shopify.sim.set_bucket(20_000.0, 1_000.0);
    shopify
        .credentials
        .install(shop, &shopify.sim.session_token(shop, "demo-merchant"))
        .await
        .map_err(|e| data::seed_error(format!("install in the simulated Shopify: {e}")))?;
    let state = Arc::new(
        AppState::new(
            store.clone(),
            Arc::new(sim.clone()),
            AppCredentials {
                key: String::new(),
                secret: String::new(),
                previous_secret: None,
            },
            Vec::new(),
        )
        .with_clock(clock.clone())
        .with_shopify_credentials(shopify.credentials.clone())
        .with_shopify_admin(shopify.admin.clone())
        .with_tiktok(tiktok, "simulated-service"),
    );
    let settings = Settings::new(Region::Us).to_json();
    store.put_settings(shop, &settings).await?;
    connect_tiktok(&state, sim, shop).await?;
    sim.add_providers(
        STANDARD_DELIVERY,
        preflight::carrier::catalog::providers(Region::Us)
            .iter()
            .map(|p| ShippingProvider::new(p.id, p.name)),
    );
    sim.add_providers(
        ECONOMY_DELIVERY,
        [
            ShippingProvider::new(USPS_ID, "USPS"),
            ShippingProvider::new(UPS_ID, "UPS"),
        ],
    );
    let mut seeder = Seeder {
        state,
        sim,
        shopify: &shopify.sim,
        clock,
        shop: shop.to_owned(),
        start,
        keys: 0,
        events: 0,
    };
    let result = cases::seed_cases(&mut seeder).await;
    sim.set_now(SystemClock.now_millis().div_euclid(1000));
    shopify
        .sim
        .set_now(SystemClock.now_millis().div_euclid(1000));
    result?;
    summary(store, shop).await
}

/// Connects the demo shop to its TikTok Shop shop through the real authorization path: a `state` for
/// the shop, the seller's approval at the simulator, and the callback's work.
async fn connect_tiktok(
    state: &Arc<AppState>,
    sim: &Simulator,
    shop: &str,
) -> Result<(), ApiError> {
    sim.add_seller(Seller {
        open_id: data::TTS_OPEN_ID.into(),
        name: "Fernwood Goods".into(),
        base_region: "US".into(),
        shops: vec![AuthorizedShop {
            id: data::TTS_SHOP_ID.into(),
            name: "Fernwood Goods US".into(),
            region: "US".into(),
            seller_type: "LOCAL".into(),
            cipher: data::TTS_CIPHER.into(),
            code: "USLCFERNWD".into(),
        }],
    });
    let nonce = format!("demo-{}", SystemClock.now_millis());
    state
        .store
        .put_oauth_state(shop, &nonce, state.clock.now_millis())
        .await?;
    let code = sim
        .authorize(data::TTS_OPEN_ID)
        .ok_or_else(|| data::seed_error("the demo seller cannot authorize"))?;
    crate::connect::complete(state, &code, &nonce)
        .await
        .map(|_| ())
}

/// What the shop holds: counts per stored verdict, error code and sync status.
///
/// # Errors
/// What the store answers.
pub async fn summary(store: Arc<dyn Store>, shop: &str) -> Result<Summary, ApiError> {
    let mut summary = Summary::default();
    let mut cursor = None;
    loop {
        let query = FulfillmentQuery {
            status: None,
            cursor: cursor.clone(),
            limit: MAX_PAGE_LIMIT,
        };
        let page = store.list_fulfillments(shop, &query).await?;
        for record in &page.items {
            summary.fulfillments += 1;
            let report = record
                .report_json
                .as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .unwrap_or(Value::Null);
            let verdict = report
                .get("verdict")
                .and_then(Value::as_str)
                .unwrap_or("none");
            *summary.verdicts.entry(verdict.to_owned()).or_default() += 1;
            let mut codes: Vec<&str> = report
                .get("diagnostics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|d| d.get("severity").and_then(Value::as_str) == Some("error"))
                .filter_map(|d| d.get("code").and_then(Value::as_str))
                .collect();
            codes.sort_unstable();
            codes.dedup();
            for code in codes {
                *summary.errors.entry(code.to_owned()).or_default() += 1;
            }
            let status = record.sync_status.kind().as_str();
            *summary.statuses.entry(status.to_owned()).or_default() += 1;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(summary),
        }
    }
}
