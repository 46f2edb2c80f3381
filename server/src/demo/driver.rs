//! How a case is seeded: through the real code paths (the order at Shopify, the webhook's store call,
//! the link by the resolver chain, the sync under an idempotency key), with the seed's clock and the
//! simulators' moved together.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;

use super::data::{seed_error, shopify_time, Ago, Case, TTS_CIPHER};
use crate::error::ApiError;
use crate::linking::{self, Linked};
use crate::shopify::link::Resolution;
use crate::shopify::simulator::ShopifySimulator;
use crate::state::AppState;
use crate::store::{Clock, FulfillmentWebhook};
use crate::sync;
use crate::tts::simulator::Simulator;
use crate::tts::types::{MarkPackageShippedRequest, Order};

/// The seed's clock: set, not running.
#[derive(Debug)]
pub(super) struct SeedClock(pub(super) AtomicI64);

impl Clock for SeedClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub(super) struct Seeder<'a> {
    pub(super) state: Arc<AppState>,
    pub(super) sim: &'a Simulator,
    pub(super) shopify: &'a ShopifySimulator,
    pub(super) clock: Arc<SeedClock>,
    pub(super) shop: String,
    pub(super) start: i64,
    pub(super) keys: u32,
    pub(super) events: u32,
}

impl Seeder<'_> {
    /// Moves both clocks to `ago` before the start.
    pub(super) fn at(&self, ago: Ago) -> i64 {
        let t = self.start - ago.minutes * 60;
        self.clock.0.store(t * 1000, Ordering::SeqCst);
        self.sim.set_now(t);
        self.shopify.set_now(t);
        t
    }

    /// The order and its fulfillment at Shopify, with `tracking` as the fulfillment's number since
    /// `updated` (Unix seconds): created the first time, edited after.
    fn at_shopify(
        &self,
        case: &Case,
        tracking: &str,
        created: i64,
        updated: i64,
    ) -> Result<(), ApiError> {
        let (order_id, fulfillment_id) = case.shopify_ids()?;
        let carrier = Some(case.carrier);
        if self
            .shopify
            .set_tracking(&self.shop, fulfillment_id, carrier, tracking, updated)
        {
            return Ok(());
        }
        if self.shopify.order(&self.shop, order_id).is_none() {
            self.shopify
                .add_order(&self.shop, case.shopify_order(created));
        }
        self.shopify
            .fulfill(
                &self.shop,
                order_id,
                case.shopify_fulfillment(tracking, created),
            )
            .ok_or_else(|| {
                seed_error(format!(
                    "#{}: the Shopify order lacks its items",
                    case.number
                ))
            })?;
        self.shopify
            .set_tracking(&self.shop, fulfillment_id, carrier, tracking, updated);
        Ok(())
    }

    /// The order at TikTok Shop, as given.
    pub(super) fn add_order(&self, order: Order) {
        self.sim.add_order(TTS_CIPHER, order);
    }

    /// Shopify's `fulfillments/create` or `fulfillments/update` webhook, stored as the webhook route
    /// stores it (and the preview refreshed), at `ago`.
    pub(super) async fn webhook(
        &mut self,
        case: &Case,
        tracking: &str,
        ago: Ago,
    ) -> Result<(), ApiError> {
        let created = self.start - case.created.minutes * 60;
        let updated = self.at(ago);
        self.at_shopify(case, tracking, created, updated)?;
        let payload = case.payload(tracking, &shopify_time(created), &shopify_time(updated));
        let updated_at = shopify_time(updated);
        let id = case.fulfillment_id();
        self.events += 1;
        let event = format!("demo-{:08x}-{}", self.events, case.number);
        self.state
            .store
            .upsert_fulfillment(
                &self.shop,
                &FulfillmentWebhook {
                    fulfillment_id: &id,
                    updated_at: &updated_at,
                    payload_json: &payload,
                    event_id: Some(&event),
                },
            )
            .await?;
        sync::refresh_preview(&self.state, &self.shop, &id).await
    }

    /// Creates the order at TikTok Shop and the fulfillment, then links them, at `ago`.
    pub(super) async fn create(&mut self, case: &Case, ago: Ago) -> Result<(), ApiError> {
        self.add_order(case.order());
        self.create_fulfillment(case, ago).await?;
        self.link(case, ago).await
    }

    /// As [`Seeder::create`], with the order as given, at the case's creation.
    pub(super) async fn create_with(&mut self, case: &Case, order: Order) -> Result<(), ApiError> {
        self.add_order(order);
        self.create_fulfillment(case, case.created).await?;
        self.link(case, case.created).await
    }

    pub(super) async fn create_fulfillment(
        &mut self,
        case: &Case,
        ago: Ago,
    ) -> Result<(), ApiError> {
        let tracking = case.tracking.clone();
        self.webhook(case, &tracking, ago).await
    }

    /// Links the fulfillment on its own, as the server links a new one: the resolver chain reads the
    /// Shopify order and confirms its TikTok Shop order id.
    pub(super) async fn link(&mut self, case: &Case, ago: Ago) -> Result<(), ApiError> {
        self.at(ago);
        match linking::link_fulfillment(&self.state, &self.shop, &case.fulfillment_id()).await? {
            Linked::Resolved(Resolution::Linked { order_id, .. })
                if order_id == case.tts_order_id() =>
            {
                Ok(())
            }
            other => Err(seed_error(format!(
                "#{} did not link: {other:?}",
                case.number
            ))),
        }
    }

    /// A sync as `POST /api/fulfillments/{id}/sync` runs it, at `ago`; answers its status.
    pub(super) async fn sync(&mut self, case: &Case, ago: Ago) -> Result<StatusCode, ApiError> {
        self.at(ago);
        self.keys += 1;
        let id = case.fulfillment_id();
        let key = format!("demo-seed-{id}-{}", self.keys);
        let path = format!("/api/fulfillments/{id}/sync");
        let answer =
            crate::api::sync_request(&self.state, &self.shop, &id, &key, &path, b"").await?;
        Ok(answer.status)
    }

    /// Ships the case's units in TikTok Shop Seller Center (at the simulator, not through us).
    pub(super) fn ship_in_seller_center(
        &self,
        case: &Case,
        units: Vec<String>,
        tracking: &str,
        provider_id: &str,
        ago: Ago,
    ) -> Result<(), ApiError> {
        self.at(ago);
        // Seller Center buys its USPS labels through TikTok Shipping.
        self.sim.add_tiktok_shipping_label(tracking);
        self.sim
            .ship(
                TTS_CIPHER,
                &case.tts_order_id(),
                &MarkPackageShippedRequest {
                    order_line_item_ids: units,
                    tracking_number: tracking.to_owned(),
                    shipping_provider_id: provider_id.to_owned(),
                },
            )
            .map(|_| ())
            .map_err(|e| seed_error(format!("seller center ship: {e}")))
    }
}
