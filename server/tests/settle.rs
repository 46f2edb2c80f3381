//! The settle worker on a real SQLite file and the TikTok Shop simulator, on a clock of the test's:
//! a push left `sending` past twice the push timeout, or `unknown` as long, is settled from what
//! TikTok Shop holds (`sent` when it holds the push, `failed` with `sync.not_applied` when it holds
//! nothing of it); a younger one is left to its request; nothing is ever pushed.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use preflight_server::api::AppState;
use preflight_server::auth::AppCredentials;
use preflight_server::settle;
use preflight_server::store::{
    Clock, FulfillmentPatch, FulfillmentWebhook, PushState, PushTransition, SqliteOptions,
    SqliteStore, Store,
};
use preflight_server::tts::simulator::Simulator;
use preflight_server::tts::types::MarkPackageShippedRequest;
use preflight_server::tts::ShippingProvider;
use serde_json::json;

const SHOP: &str = "acme.myshopify.com";
const UPS: &str = "7117859084333745966";

#[derive(Debug)]
struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A fulfillment `id` linked to an order of one unit awaiting shipment, and its push in `sending`:
/// the order's id and the push's id.
async fn sending(store: &dyn Store, sim: &Simulator, id: u64) -> (String, i64) {
    let order_id = format!("5764614130{id:09}");
    let unit = format!("{order_id}01");
    let order = Simulator::awaiting_shipment(&order_id, "DO1", &[(unit.as_str(), "TEE")]);
    sim.add_order(SHOP, order.clone());
    let payload = json!({"id": id, "updated_at": "2026-11-20T10:00:00Z", "status": "success",
        "tracking_company": "UPS", "tracking_number": format!("1Z999AA1{id:010}"),
        "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]})
    .to_string();
    let id = id.to_string();
    store
        .upsert_fulfillment(
            SHOP,
            &FulfillmentWebhook {
                fulfillment_id: &id,
                updated_at: "2026-11-20T10:00:00Z",
                payload_json: &payload,
                event_id: None,
            },
        )
        .await
        .unwrap();
    let patch = FulfillmentPatch {
        tts_order_json: Some(serde_json::to_string(&order).unwrap()),
        ..FulfillmentPatch::default()
    };
    let plan = json!({"action": "ship", "packageId": null, "lineItemIds": [unit],
        "shippingProviderId": UPS, "trackingNumber": format!("1Z999AA1{id:0>10}")});
    let push = store
        .start_push(SHOP, &id, &patch, &plan.to_string(), None)
        .await
        .unwrap();
    (order_id, push.id)
}

#[tokio::test]
async fn pushes_left_open_are_settled_from_what_tiktok_shop_holds_and_never_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(1_795_000_000_000)));
    let options = SqliteOptions {
        clock: clock.clone(),
        ..SqliteOptions::default()
    };
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open_with(dir.path().join("settle.sqlite3"), options).unwrap());
    let sim = Simulator::new("tts-key", "tts-secret");
    sim.add_providers("DO1", [ShippingProvider::new(UPS, "UPS")]);
    let state = Arc::new(
        AppState::new(
            store.clone(),
            Arc::new(sim.clone()),
            AppCredentials {
                key: "app-key".into(),
                secret: "app-secret".into(),
                previous_secret: None,
            },
            Vec::new(),
        )
        .with_clock(clock.clone())
        .with_push_timeout(Duration::from_secs(1)),
    );

    // Applied at TikTok Shop, its answer lost with its request.
    let (applied_order, applied) = sending(store.as_ref(), &sim, 1).await;
    sim.ship(
        SHOP,
        &applied_order,
        &MarkPackageShippedRequest {
            order_line_item_ids: vec![format!("{applied_order}01")],
            tracking_number: "1Z999AA10000000001".into(),
            shipping_provider_id: UPS.into(),
        },
    )
    .unwrap();
    // Not applied: its request died before TikTok Shop had it.
    let (_, lost) = sending(store.as_ref(), &sim, 2).await;
    // Unknown (a timeout) and not applied.
    let (_, timed_out) = sending(store.as_ref(), &sim, 3).await;
    store
        .transition_push(
            SHOP,
            timed_out,
            &PushTransition::new(PushState::Sending, PushState::Unknown),
        )
        .await
        .unwrap();
    let pushes = sim.push_count();

    // Younger than twice the push timeout: their requests may still be under way.
    assert_eq!(settle::run_due(&state).await, 0);
    assert_eq!(
        store.push(SHOP, lost).await.unwrap().unwrap().state,
        PushState::Sending
    );

    clock.0.fetch_add(2_500, Ordering::SeqCst);
    assert_eq!(settle::run_due(&state).await, 3);
    let applied = store.push(SHOP, applied).await.unwrap().unwrap();
    assert_eq!(applied.state, PushState::Sent);
    let synced = store.fulfillment(SHOP, "1").await.unwrap().unwrap();
    assert_eq!(synced.sync_status.kind().as_str(), "synced");
    for id in [lost, timed_out] {
        let push = store.push(SHOP, id).await.unwrap().unwrap();
        assert_eq!(push.state, PushState::Failed);
        assert_eq!(push.failure.unwrap().code, "sync.not_applied");
    }
    assert_eq!(sim.push_count(), pushes, "settling pushed");
    // Nothing left: a second run settles nothing.
    clock.0.fetch_add(600_000, Ordering::SeqCst);
    assert_eq!(settle::run_due(&state).await, 0);
}
