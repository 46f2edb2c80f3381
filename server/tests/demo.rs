//! The demo shop, seeded into a real SQLite file and served over loopback: every outcome is there, and
//! the newcomer's walk (a carrier mapping, a tracking-number fix, the re-check's 422) works.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

use std::collections::BTreeSet;
use std::sync::Arc;

use preflight::Timestamp;
use preflight_server::api::{self, AppState};
use preflight_server::auth::{self, AppCredentials};
use preflight_server::demo::{self, SHOP};
use preflight_server::shopify::admin::ShopifyAdmin;
use preflight_server::shopify::credentials::ShopifyCredentials;
use preflight_server::shopify::graphql::{GraphqlClient, RetryConfig};
use preflight_server::shopify::oauth::{Endpoint, TokenClient};
use preflight_server::shopify::simulator::{spawn_on_loopback, ShopifySimulator};
use preflight_server::store::{Clock, SqliteStore, SystemClock};
use preflight_server::tokens::{KeyRing, SecretString};
use preflight_server::tts::auth::AuthClient;
use preflight_server::tts::connection::TtsConnections;
use preflight_server::tts::simulator::Simulator;
use serde_json::{json, Value};

struct Demo {
    url: String,
    sim: Simulator,
    app: AppCredentials,
    http: reqwest::Client,
    summary: demo::Summary,
    keys: std::sync::atomic::AtomicU32,
    _dir: tempfile::TempDir,
}

impl Demo {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("demo.sqlite3")).unwrap());
        let sim = Simulator::new("demo", "demo-secret");
        let app = AppCredentials {
            key: "preflight-demo".into(),
            secret: "demo-app-secret".into(),
            previous_secret: None,
        };
        let now = SystemClock.now_millis() / 1000;
        let shopify = ShopifySimulator::new(&app.key, &app.secret, now);
        let (address, _task) = spawn_on_loopback(shopify.clone()).await.unwrap();
        let endpoint = Endpoint::Simulated(format!("http://{address}"));
        let tokens = TokenClient::new(
            endpoint.clone(),
            &app.key,
            SecretString::from(app.secret.clone()),
        )
        .unwrap();
        let credentials = Arc::new(ShopifyCredentials::new(
            tokens,
            Arc::new(KeyRing::generate("test")),
            store.clone(),
            Arc::new(SystemClock),
        ));
        let admin = ShopifyAdmin::new(
            GraphqlClient::new(endpoint, RetryConfig::default()).unwrap(),
            credentials.clone(),
        );
        let demo_shopify = demo::DemoShopify {
            sim: shopify.clone(),
            credentials: credentials.clone(),
            admin: admin.clone(),
        };
        let (tts_address, _tts_task) =
            preflight_server::tts::simulator::http::spawn_on_loopback(sim.clone())
                .await
                .unwrap();
        let auth = AuthClient::new(
            &format!("http://{tts_address}"),
            "demo",
            SecretString::from("demo-secret".to_owned()),
        )
        .unwrap();
        let tiktok = TtsConnections::new(
            auth,
            Arc::new(sim.clone()),
            Arc::new(KeyRing::generate("test-tts")),
            store.clone(),
            Arc::new(SystemClock),
        );
        let summary = demo::seed(store.clone(), &sim, &demo_shopify, tiktok.clone(), SHOP)
            .await
            .unwrap();
        let state = Arc::new(
            AppState::new(store, Arc::new(sim.clone()), app.clone(), Vec::new())
                .with_demo_shop(SHOP)
                .with_tiktok(tiktok, "simulated-service")
                .with_shopify_credentials(credentials)
                .with_shopify_admin(admin),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(preflight_server::serve(
            listener,
            api::router(state),
            preflight_server::ServeConfig::default(),
            std::future::pending(),
        ));
        Self {
            url,
            sim,
            app,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            summary,
            keys: std::sync::atomic::AtomicU32::new(0),
            _dir: dir,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let token = auth::issue_session_token(&self.app, SHOP, "1", now, 60).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if path.ends_with("/sync") {
            let n = self.keys.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            request = request.header("idempotency-key", format!("test-{n}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn sync(&self, id: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            &format!("/api/fulfillments/{id}/sync"),
            None,
        )
        .await
    }
}

/// The Shopify fulfillment id of the demo's order `#number` (as the demo numbers them).
fn demo_id(number: u64) -> String {
    (5_603_918_000_000_u64 + number * 281).to_string()
}

fn codes(item: &Value) -> Vec<String> {
    item["report"]["diagnostics"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|d| d["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_demo_shop_holds_every_outcome() {
    let d = Demo::start().await;
    let list = d.get("/api/fulfillments?limit=250").await;
    let items = list["items"].as_array().unwrap();
    assert!(items.len() >= 34, "{} fulfillments", items.len());
    assert_eq!(items.len(), d.summary.fulfillments);
    assert_eq!(list["nextCursor"], Value::Null);

    // The demo shop is connected to its TikTok Shop shop through the authorization path.
    let tiktok = d.get("/api/tiktok").await;
    assert_eq!(tiktok["connected"], true, "{tiktok}");
    assert_eq!(tiktok["shop"]["sellerType"], "LOCAL");
    // Every order linked on its own, from wherever its connector left the TikTok Shop order id.
    let sources: BTreeSet<&str> = items
        .iter()
        .filter_map(|i| i["link"]["source"].as_str())
        .collect();
    assert_eq!(
        sources,
        BTreeSet::from(["customAttributes", "note", "sourceIdentifier", "tags"])
    );
    assert!(items.iter().all(|i| i["link"]["state"] == "linked"));

    let all: BTreeSet<String> = items.iter().flat_map(codes).collect();
    for code in [
        "carrier.not_integrated",
        "tracking.update_limit_reached",
        "tracking.update_window_expired",
        "line_items.already_fulfilled",
        "tracking.invalid_check_digit",
        "tracking.only_update_left",
        "order.cancelled",
        "order.fulfilled_by_tiktok",
    ] {
        assert!(all.contains(code), "no `{code}` in {all:?}");
    }
    // Each headline at least twice; line items once, as #1024 shows their other side (a package of
    // exactly its items is its update, not a conflict).
    for (headline, least) in [
        ("carrier.not_integrated", 2),
        ("tracking.update_limit_reached", 2),
        ("tracking.update_window_expired", 2),
        ("line_items.already_fulfilled", 1),
    ] {
        assert!(
            d.summary.errors.get(headline).copied().unwrap_or(0) >= least,
            "{headline}: {}",
            d.summary
        );
    }
    let shipped_elsewhere = d.get(&format!("/api/fulfillments/{}", demo_id(1024))).await;
    assert_eq!(
        shipped_elsewhere["report"]["plan"]["action"],
        "update_tracking"
    );
    assert_eq!(codes(&shipped_elsewhere), ["tracking.only_update_left"]);
    let statuses: BTreeSet<&str> = items
        .iter()
        .map(|i| i["syncStatus"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from(["not_synced", "synced", "sync_failed"])
    );
    assert!(d.summary.statuses["synced"] >= 6, "{}", d.summary);
    assert!(d.summary.statuses["sync_failed"] >= 1, "{}", d.summary);
    // The economy delivery option's providers, as TikTok Shop lists them, before any sync.
    for n in [1041, 1044] {
        let item = d.get(&format!("/api/fulfillments/{}", demo_id(n))).await;
        assert_eq!(item["syncStatus"], "not_synced", "#{n}");
        assert_eq!(codes(&item), ["carrier.not_in_delivery_option"], "#{n}");
    }
    assert!(items
        .iter()
        .filter(|i| i["syncStatus"] == "sync_failed")
        .all(|i| i["failure"]["code"].as_str().unwrap().starts_with("2101")));

    // Realistic payloads, and only the intended bad check digits.
    for item in items {
        let f = &item["fulfillment"];
        assert!(f["name"].as_str().unwrap().starts_with('#'), "{f}");
        assert!(f["order_id"].is_u64(), "{f}");
        for line in f["line_items"].as_array().unwrap() {
            assert!(
                line["title"].is_string() && line["sku"].is_string(),
                "{line}"
            );
        }
        if codes(item).contains(&"tracking.invalid_check_digit".to_owned()) {
            assert!(
                ["#1059.1", "#1069.1"].contains(&f["name"].as_str().unwrap()),
                "{f}"
            );
        }
    }
    let xss = d
        .get(&format!("/api/fulfillments/{}", demo::WALK_XSS))
        .await;
    assert_eq!(xss["fulfillment"]["tracking_company"], demo::XSS_CARRIER);
    assert_eq!(codes(&xss), ["carrier.not_integrated"]);

    // Our history and TikTok Shop agree on when each package shipped.
    let mut pushed = 0;
    for item in items.iter().filter(|i| !i["history"].is_null()) {
        let shipped = Timestamp::parse(item["history"]["shippedAt"].as_str().unwrap()).unwrap();
        let order_id = item["order"]["id"].as_str().unwrap().to_owned();
        let order = d.sim.orders(demo::TTS_CIPHER, &[order_id]).pop().unwrap();
        let package = item["history"]["packageId"].as_str().unwrap();
        let unit = order
            .line_items
            .iter()
            .find(|u| u.package_id.as_deref() == Some(package))
            .unwrap();
        assert_eq!(unit.rts_time, Some(shipped.unix_seconds()), "{item}");
        pushed += 1;
    }
    assert!(pushed >= 10, "{pushed}");

    // The last update left closes 72 hours after shipping.
    let closing = items
        .iter()
        .find(|i| {
            codes(i).contains(&"tracking.only_update_left".to_owned())
                && i["report"]["plan"]["packageId"] == i["history"]["packageId"]
                && i["history"]["trackingUpdatesUsed"] == 0
        })
        .unwrap();
    assert_eq!(closing["report"]["verdict"], "ready");
    let deadline = Timestamp::parse(closing["report"]["updateDeadline"].as_str().unwrap()).unwrap();
    let shipped = Timestamp::parse(closing["history"]["shippedAt"].as_str().unwrap()).unwrap();
    assert_eq!(shipped.plus_hours(72), Some(deadline));

    let settings = d.get("/api/settings").await;
    assert_eq!(settings["region"], "US");
    assert_eq!(settings["carrierMappings"], json!([]));
}

#[tokio::test]
async fn the_walk_mapping_fix_and_recheck() {
    let d = Demo::start().await;

    // The re-check: ready as last read, refused now that Seller Center shipped the units.
    let path = format!("/api/fulfillments/{}", demo::WALK_RECHECK);
    let recheck = d.get(&path).await;
    assert_eq!(recheck["fulfillment"]["name"], demo::WALK_RECHECK_NAME);
    assert_eq!(recheck["report"]["verdict"], "ready");
    let pushes = d.sim.push_count();
    let (status, body) = d.sync(demo::WALK_RECHECK).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "sync.blocked");
    assert!(
        codes(&body).contains(&"line_items.already_fulfilled".to_owned()),
        "{body}"
    );
    assert_eq!(d.sim.push_count(), pushes);

    // One mapping fixes both Harbor 3PL fulfillments.
    for id in [demo::WALK_MAPPING, demo::WALK_MAPPING_TWIN] {
        let item = d.get(&format!("/api/fulfillments/{id}")).await;
        assert_eq!(item["fulfillment"]["tracking_company"], demo::MAPPING_FROM);
        assert_eq!(codes(&item), ["carrier.not_integrated"]);
        let (status, body) = d.sync(id).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("sync.blocked"))
        );
    }
    let mappings =
        json!({"carrierMappings": [{"from": demo::MAPPING_FROM, "to": demo::MAPPING_TO}]});
    let (status, body) = d
        .call(
            reqwest::Method::PUT,
            "/api/settings/carrier-mappings",
            Some(mappings),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for id in [demo::WALK_MAPPING, demo::WALK_MAPPING_TWIN] {
        let (status, body) = d.sync(id).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["syncStatus"], "synced", "{body}");
        // UPS.
        assert_eq!(body["history"]["shippingProviderId"], "7117859084333745966");
    }

    // The bad check digit, fixed in place, then synced.
    let path = format!("/api/fulfillments/{}/tracking", demo::WALK_CHECK_DIGIT);
    let before = d
        .get(&format!("/api/fulfillments/{}", demo::WALK_CHECK_DIGIT))
        .await;
    assert_eq!(codes(&before), ["tracking.invalid_check_digit"]);
    let (status, fixed) = d
        .call(
            reqwest::Method::PUT,
            &path,
            Some(json!({"trackingNumber": demo::WALK_CHECK_DIGIT_FIX})),
        )
        .await;
    assert_eq!(status, 200, "{fixed}");
    assert_eq!(fixed["report"]["verdict"], "ready", "{fixed}");
    let (status, body) = d.sync(demo::WALK_CHECK_DIGIT).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["syncStatus"], "synced");
    assert_eq!(
        body["history"]["trackingNumber"],
        demo::WALK_CHECK_DIGIT_FIX
    );
}
