//! The HTTP API over real HTTP on loopback, on a real SQLite file: authentication, shop scoping, body
//! limits, the webhook, and every golden vector through `POST /api/validate`. The webhook, sync and
//! golden-vector tests run on PostgreSQL too when `cargo xtask test` names a server.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use std::path::Path;

// The line-item shapes of the engine's own tests; this file takes one of them.
mod backends;
#[expect(dead_code, reason = "the shapes are shared with tests that use others")]
#[path = "../../tests/common/shapes.rs"]
mod shapes;
use std::sync::Arc;

use preflight_server::api::{self, AppState};
use preflight_server::auth::{self, AppCredentials};
use preflight_server::store::{SqliteStore, Store, SystemClock};
use preflight_server::tts::simulator::Simulator;
use preflight_server::tts::ShippingProvider;
use serde_json::{json, Value};

const SHOP: &str = "acme.myshopify.com";
const OTHER: &str = "other.myshopify.com";

struct Server {
    url: String,
    store: Arc<dyn Store>,
    sim: Simulator,
    app: AppCredentials,
    http: reqwest::Client,
    _backend: backends::Backend,
}

impl Server {
    /// A server on SQLite.
    async fn start() -> Self {
        Self::on(backends::sqlite(Arc::new(SystemClock)).await).await
    }

    /// A server on each store: SQLite, and PostgreSQL when `cargo xtask test` names a server.
    async fn each() -> Vec<Self> {
        let mut servers = Vec::new();
        for backend in backends::each().await {
            servers.push(Self::on(backend).await);
        }
        servers
    }

    async fn on(backend: backends::Backend) -> Self {
        let store = backend.store.clone();
        let app = AppCredentials {
            key: "app-key".into(),
            secret: "app-secret".into(),
            previous_secret: Some("old-secret".into()),
        };
        let sim = Simulator::new("tts-key", "tts-secret");
        let state = Arc::new(AppState::new(
            store.clone(),
            Arc::new(sim.clone()),
            app.clone(),
            vec!["https://admin.shopify.com".into()],
        ));
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
            store,
            sim,
            app,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            _backend: backend,
        }
    }

    fn token(&self, shop: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        auth::issue_session_token(&self.app, shop, "7", now, 60).unwrap()
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        shop: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(shop) = shop {
            request = request.bearer_auth(self.token(shop));
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn webhook(&self, body: &str, event: &str, secret: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/webhooks/shopify/fulfillments", self.url))
            .header(
                "x-shopify-hmac-sha256",
                auth::webhook_hmac(secret, body.as_bytes()),
            )
            .header("x-shopify-shop-domain", SHOP)
            .header("x-shopify-topic", "fulfillments/update")
            .header("x-shopify-event-id", event)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn input() -> Value {
    json!({
        "fulfillment": {"id": "5012345678901234567", "status": "success", "tracking_company": "Acme",
            "tracking_number": "1Z999AA10123456784", "updated_at": "2026-11-20T10:00:00-05:00",
            "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]},
        "order": {"id": "576461413038785752", "status": "AWAITING_SHIPMENT",
            "line_items": [{"id": "577086512123755101", "seller_sku": "TEE"}]},
        "history": null
    })
}

#[tokio::test]
async fn health_and_authentication() {
    let s = Server::start().await;
    let (status, body) = s.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!((status, body["ok"].clone()), (200, json!(true)));

    let path = "/api/validate";
    let (status, body) = s
        .call(reqwest::Method::POST, path, None, Some(input().to_string()))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth.missing_token"))
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = AppCredentials {
        secret: "wrong".into(),
        previous_secret: None,
        ..s.app.clone()
    };
    let other_app = AppCredentials {
        key: "other-app".into(),
        ..s.app.clone()
    };
    for (token, code) in [
        (
            auth::issue_session_token(&forged, SHOP, "7", now, 60).unwrap(),
            "auth.invalid_token",
        ),
        (
            auth::issue_session_token(&s.app, SHOP, "7", now - 120, 60).unwrap(),
            "auth.expired",
        ),
        (
            auth::issue_session_token(&other_app, SHOP, "7", now, 60).unwrap(),
            "auth.wrong_audience",
        ),
    ] {
        let response = s
            .http
            .post(format!("{}{path}", s.url))
            .bearer_auth(token)
            .body(input().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
    }
}

#[tokio::test]
async fn validate_uses_the_shops_mappings_and_refuses_bad_input() {
    let s = Server::start().await;
    let path = "/api/validate?now=2026-11-24T12:00:00Z";
    let (status, report) = s
        .call(
            reqwest::Method::POST,
            path,
            Some(SHOP),
            Some(input().to_string()),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["verdict"], "blocked");
    assert_eq!(report["diagnostics"][0]["code"], "carrier.not_integrated");

    let mappings =
        json!({"carrierMappings": [{"from": "Acme", "to": "Nowhere Express"}]}).to_string();
    let (status, body) = s
        .call(
            reqwest::Method::PUT,
            "/api/settings/carrier-mappings",
            Some(SHOP),
            Some(mappings),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "input.unknown_provider");
    assert_eq!(body["error"]["path"], "carrierMappings[0].to");

    let mappings = json!({"carrierMappings": [{"from": "Acme", "to": "UPS"}]}).to_string();
    let (status, _) = s
        .call(
            reqwest::Method::PUT,
            "/api/settings/carrier-mappings",
            Some(SHOP),
            Some(mappings),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = s
        .call(
            reqwest::Method::GET,
            "/api/settings/carrier-mappings",
            Some(SHOP),
            None,
        )
        .await;
    assert_eq!(body["carrierMappings"][0]["to"], "UPS");
    let (_, report) = s
        .call(
            reqwest::Method::POST,
            path,
            Some(SHOP),
            Some(input().to_string()),
        )
        .await;
    assert_eq!(report["verdict"], "ready");
    // Another shop keeps its own settings.
    let (_, report) = s
        .call(
            reqwest::Method::POST,
            path,
            Some(OTHER),
            Some(input().to_string()),
        )
        .await;
    assert_eq!(report["verdict"], "blocked");

    let (status, body) = s
        .call(reqwest::Method::POST, path, Some(SHOP), Some("{".into()))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("input.malformed_json"))
    );
    let mut bad = input();
    bad["fulfillment"]["line_items"][0]["quantity"] = json!("2");
    let (status, body) = s
        .call(
            reqwest::Method::POST,
            path,
            Some(SHOP),
            Some(bad.to_string()),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["path"], "fulfillment.line_items[0].quantity");

    let huge = format!("{{\"x\": \"{}\"}}", "a".repeat(api::MAX_BODY_BYTES + 1));
    let response = s
        .http
        .post(format!("{}{path}", s.url))
        .bearer_auth(s.token(SHOP))
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);

    let (status, body) = s
        .call(
            reqwest::Method::GET,
            "/api/carriers?region=UK",
            Some(SHOP),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(body
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "Royal Mail"));
}

#[tokio::test]
async fn a_fulfillment_webhook_stores_no_buyer_data() {
    let s = Server::start().await;
    let payload = json!({"id": 4712, "order_id": 6123456789012345678_u64, "name": "#1042.1",
        "updated_at": "2026-11-20T10:00:00-05:00", "status": "success",
        "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
        "destination": {"first_name": "Ada", "last_name": "Lovelace", "address1": "12 Analytical Row",
                        "phone": "+44 20 7946 0000", "zip": "N1 9GU"},
        "email": "ada@example.com", "receipt": {"authorization": "xyz"},
        "line_items": [{"id": 1, "sku": "TEE", "quantity": 1, "name": "Tee", "price": "28.00",
                        "properties": [{"name": "Engraving", "value": "For Ada"}],
                        "origin_location": {"address1": "1 Warehouse Way"}}]})
    .to_string();
    let (status, _) = s.webhook(&payload, "p1", "app-secret").await;
    assert_eq!(status, 200);
    let (_, body) = s
        .call(
            reqwest::Method::GET,
            "/api/fulfillments/4712",
            Some(SHOP),
            None,
        )
        .await;
    let stored = body["fulfillment"].to_string();
    for personal in [
        "Ada",
        "Lovelace",
        "Analytical",
        "+44",
        "ada@example.com",
        "xyz",
        "Warehouse",
    ] {
        assert!(!stored.contains(personal), "{personal} stored: {stored}");
    }
    assert_eq!(body["fulfillment"]["line_items"][0]["sku"], "TEE");
    assert_eq!(
        body["fulfillment"]["order_id"],
        json!(6123456789012345678_u64)
    );
    assert_eq!(body["fulfillment"]["name"], "#1042.1");
}

#[tokio::test]
async fn webhooks_are_verified_idempotent_and_scoped_by_shop() {
    for s in Server::each().await {
        let v1 = json!({"id": 4711, "updated_at": "2026-11-20T10:00:00-05:00", "status": "success",
        "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
        "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]})
        .to_string();
        let (status, _) = s.webhook(&v1, "e1", "forged").await;
        assert_eq!(status, 401);
        let (status, body) = s.webhook(&v1, "e1", "app-secret").await;
        assert_eq!((status, body["outcome"].as_str()), (200, Some("inserted")));
        let (_, body) = s.webhook(&v1, "e1", "app-secret").await;
        assert_eq!(body["outcome"], "duplicate_event");
        let (_, body) = s.webhook(&v1, "e2", "old-secret").await;
        assert_eq!(body["outcome"], "unchanged");
        let older = v1.replace("10:00:00-05:00", "09:00:00-05:00");
        let (_, body) = s.webhook(&older, "e3", "app-secret").await;
        assert_eq!(body["outcome"], "stale");
        let (status, body) = s.webhook("{\"id\": 1}", "e4", "app-secret").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("input.missing_field"))
        );

        let (status, body) = s
            .call(
                reqwest::Method::GET,
                "/api/fulfillments/4711",
                Some(SHOP),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["syncStatus"], "not_synced");
        assert_eq!(body["fulfillment"]["tracking_number"], "1Z999AA10123456784");
        let (status, _) = s
            .call(
                reqwest::Method::GET,
                "/api/fulfillments/4711",
                Some(OTHER),
                None,
            )
            .await;
        assert_eq!(status, 404);
        let (_, body) = s
            .call(
                reqwest::Method::GET,
                "/api/fulfillments?status=not_synced",
                Some(SHOP),
                None,
            )
            .await;
        assert_eq!(body["items"].as_array().unwrap().len(), 1);
        let (_, body) = s
            .call(reqwest::Method::GET, "/api/fulfillments", Some(OTHER), None)
            .await;
        assert_eq!(body["items"].as_array().unwrap().len(), 0);
        let (status, _) = s
            .call(
                reqwest::Method::GET,
                "/api/fulfillments?status=nope",
                Some(SHOP),
                None,
            )
            .await;
        assert_eq!(status, 400);
    }
}

#[tokio::test]
async fn every_golden_vector_gives_the_native_report() {
    for s in Server::each().await {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        let mut ran = 0;
        for file in names {
            let vector: Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let Ok(validator) = preflight::Validator::from_json(&vector["settings"].to_string())
            else {
                continue; // a settings error: the API keeps only settings it accepted
            };
            let input = match &vector["input"] {
                Value::String(raw) => raw.clone(),
                other => other.to_string(),
            };
            let now = vector["now"].as_str().unwrap();
            let native = validator.validate_json(&input, now);
            s.store
                .put_settings(SHOP, &vector["settings"].to_string())
                .await
                .unwrap();
            let path = format!("/api/validate?now={}", now.replace('+', "%2B"));
            let (status, body) = s
                .call(reqwest::Method::POST, &path, Some(SHOP), Some(input))
                .await;
            match native {
                Ok(report) => {
                    assert_eq!(status, 200, "{}", file.display());
                    assert_eq!(
                        body,
                        serde_json::from_str::<Value>(&report).unwrap(),
                        "{}",
                        file.display()
                    );
                }
                Err(e) => {
                    assert_eq!(status, 400, "{}", file.display());
                    assert_eq!(body["error"]["code"], e.code(), "{}", file.display());
                    assert_eq!(body["error"]["path"], e.path.as_str(), "{}", file.display());
                }
            }
            ran += 1;
        }
        assert!(ran >= 80, "only {ran} vectors ran");
    }
}

const UPS: &str = "7117859084333745966";

/// A fulfillment of one unit of `sku`, as a webhook body.
fn fulfillment(id: u64, carrier: &str, number: &str, updated_at: &str, sku: &str) -> String {
    json!({"id": id, "updated_at": updated_at, "status": "success", "tracking_company": carrier,
        "tracking_number": number, "line_items": [{"id": 1, "sku": sku, "quantity": 1}]})
    .to_string()
}

impl Server {
    /// An order of one `sku` unit at the simulator, a fulfillment of it, linked.
    async fn seed(&self, id: u64, order: &str, carrier: &str, number: &str) {
        self.sim
            .add_providers("DO1", [ShippingProvider::new(UPS, "UPS")]);
        self.sim.add_order(
            SHOP,
            Simulator::awaiting_shipment(order, "DO1", &[(&format!("{order}01"), "TEE")]),
        );
        let body = fulfillment(id, carrier, number, "2026-11-20T10:00:00Z", "TEE");
        assert_eq!(
            self.webhook(&body, &format!("e{id}"), "app-secret").await.0,
            200
        );
        let link = json!({"orderId": order}).to_string();
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/api/fulfillments/{id}/tts-order"),
                Some(SHOP),
                Some(link),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn sync(&self, id: u64, key: &str) -> (u16, Value, bool) {
        let response = self
            .http
            .post(format!("{}/api/fulfillments/{id}/sync", self.url))
            .bearer_auth(self.token(SHOP))
            .header("idempotency-key", key)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let replayed = response.headers().get("idempotent-replayed").is_some();
        (
            status,
            response.json().await.unwrap_or(Value::Null),
            replayed,
        )
    }
}

#[tokio::test]
async fn sync_ships_once_replays_and_refuses_what_would_fail() {
    for s in Server::each().await {
        s.seed(4711, "576461413038785752", "UPS", "1Z999AA10123456784")
            .await;

        let response = s
            .http
            .post(format!("{}/api/fulfillments/4711/sync", s.url))
            .bearer_auth(s.token(SHOP))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);

        let (status, body, replayed) = s.sync(4711, "k1").await;
        assert_eq!((status, replayed), (200, false), "{body}");
        assert_eq!(body["syncStatus"], "synced");
        assert_eq!(body["history"]["trackingNumber"], "1Z999AA10123456784");
        assert_eq!(s.sim.push_count(), 1);

        let (status, again, replayed) = s.sync(4711, "k1").await;
        assert_eq!((status, replayed), (200, true));
        assert_eq!(again, body);
        let response = s
            .http
            .post(format!("{}/api/fulfillments/4711/sync", s.url))
            .bearer_auth(s.token(SHOP))
            .header("idempotency-key", "k1")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422);

        // Nothing left to push: in sync, no second push.
        let (status, body, _) = s.sync(4711, "k2").await;
        assert_eq!((status, body["syncStatus"].as_str()), (200, Some("synced")));
        assert_eq!(s.sim.push_count(), 1);

        // The one tracking update, then no more.
        let v2 = fulfillment(
            4711,
            "UPS",
            "1Z5R89390357567127",
            "2026-11-20T11:00:00Z",
            "TEE",
        );
        assert_eq!(s.webhook(&v2, "e4711b", "app-secret").await.0, 200);
        // The webhook refreshed the preview: this change spends the one update.
        let (_, seen) = s
            .call(
                reqwest::Method::GET,
                "/api/fulfillments/4711",
                Some(SHOP),
                None,
            )
            .await;
        assert_eq!(seen["report"]["verdict"], "ready", "{seen}");
        assert_eq!(seen["report"]["plan"]["action"], "update_tracking");
        assert_eq!(
            seen["report"]["diagnostics"][0]["code"],
            "tracking.only_update_left"
        );
        let (status, body, _) = s.sync(4711, "k3").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["history"]["trackingUpdatesUsed"], 1);
        assert_eq!(s.sim.push_count(), 2);
        let v3 = fulfillment(
            4711,
            "UPS",
            "1Z999AA10123456784",
            "2026-11-20T12:00:00Z",
            "TEE",
        );
        assert_eq!(s.webhook(&v3, "e4711c", "app-secret").await.0, 200);
        let (status, body, _) = s.sync(4711, "k4").await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "sync.blocked");
        assert!(body["report"]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "tracking.update_limit_reached"));
        assert_eq!(s.sim.push_count(), 2);

        // A carrier TikTok Shop does not take: refused before any push.
        s.seed(
            4712,
            "576461413038785753",
            "Bob's Trucks",
            "1Z999AA10123456784",
        )
        .await;
        let (status, body, _) = s.sync(4712, "k5").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("sync.blocked"))
        );
        assert_eq!(s.sim.push_count(), 2);
        let (status, _, _) = s.sync(4999, "k6").await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn a_dropped_answer_is_reconciled_never_pushed_twice() {
    for s in Server::each().await {
        s.seed(4713, "576461413038785754", "UPS", "1Z999AA10123456784")
            .await;
        s.sim.drop_next_answers(1);
        let (status, body, _) = s.sync(4713, "k1").await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["latestPush"]["state"], "unknown");
        assert_eq!(s.sim.push_count(), 1);
        let (status, body, _) = s.sync(4713, "k2").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["syncStatus"], "synced");
        assert_eq!(body["latestPush"]["state"], "sent");
        assert_eq!(s.sim.push_count(), 1);
    }
}

#[tokio::test]
async fn concurrent_syncs_of_one_fulfillment_push_once() {
    for s in Server::each().await {
        let s = Arc::new(s);
        s.seed(4714, "576461413038785755", "UPS", "1Z999AA10123456784")
            .await;
        let mut tasks = Vec::new();
        for i in 0..100 {
            let s = s.clone();
            tasks.push(tokio::spawn(
                async move { s.sync(4714, &format!("c{i}")).await },
            ));
        }
        for task in tasks {
            let (status, body, _) = task.await.unwrap();
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["syncStatus"], "synced");
        }
        assert_eq!(s.sim.push_count(), 1);
    }
}

#[tokio::test]
async fn an_update_whose_answer_is_dropped_is_never_sent_twice() {
    for s in Server::each().await {
        s.seed(4715, "576461413038785756", "UPS", "1Z999AA10123456784")
            .await;
        let (status, _, _) = s.sync(4715, "ship").await;
        assert_eq!(status, 200);
        let v2 = fulfillment(
            4715,
            "UPS",
            "1Z5R89390357567127",
            "2026-11-20T11:00:00Z",
            "TEE",
        );
        assert_eq!(s.webhook(&v2, "e4715b", "app-secret").await.0, 200);
        s.sim.drop_next_answers(1);
        let (status, body, _) = s.sync(4715, "update").await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["latestPush"]["state"], "unknown");
        assert_eq!(s.sim.push_count(), 2);
        let (status, body, _) = s.sync(4715, "again").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["latestPush"]["state"], "sent");
        assert_eq!(body["history"]["trackingNumber"], "1Z5R89390357567127");
        assert_eq!(body["history"]["trackingUpdatesUsed"], 1);
        assert_eq!(s.sim.push_count(), 2, "the update was sent twice");
    }
}

#[tokio::test]
async fn pages_are_framed_only_by_the_verified_shop_and_run_no_inline_script() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        www.join("index.html"),
        "<!doctype html><title>preflight</title>",
    )
    .unwrap();
    std::fs::write(pkg.join("preflight_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("pages.sqlite3")).unwrap());
    let app = AppCredentials {
        key: "app-key".into(),
        secret: "app-secret".into(),
        previous_secret: None,
    };
    let state = Arc::new(
        AppState::new(store, Arc::new(Simulator::new("k", "s")), app, Vec::new()).with_pages(
            api::Pages {
                www,
                pkg: Some(pkg),
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(preflight_server::serve(
        listener,
        api::router(state),
        preflight_server::ServeConfig::default(),
        std::future::pending(),
    ));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signed = auth::sign_app_query(
        &format!("host=YWRtaW4&shop=acme.myshopify.com&timestamp={now}"),
        "app-secret",
    );
    let page = http.get(format!("{url}/?{signed}")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors https://acme.myshopify.com https://admin.shopify.com"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(page.text().await.unwrap().contains("preflight"));

    let forged = signed.replace("acme", "evil");
    let page = http.get(format!("{url}/?{forged}")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    let wasm = http
        .get(format!("{url}/pkg/preflight_bg.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.status().as_u16(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    // The API is still the API.
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn settings_read_as_the_engine_reads_them_and_lists_carry_the_servers_clock() {
    let s = Server::start().await;
    let (status, body) = s
        .call(reqwest::Method::GET, "/api/settings", Some(SHOP), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"region": "US", "sellerType": "LOCAL", "carrierMappings": [], "shippingProviders": null,
            "deliveryOptionProviders": {},
            "policy": {"updateWindowHours": 72, "maxTrackingUpdates": 1}, "ruleOverrides": {}})
    );
    let (status, _) = s
        .call(reqwest::Method::GET, "/api/settings", None, None)
        .await;
    assert_eq!(status, 401);
    let mappings = json!({"carrierMappings": [{"from": "Acme", "to": "UPS"}]}).to_string();
    s.call(
        reqwest::Method::PUT,
        "/api/settings/carrier-mappings",
        Some(SHOP),
        Some(mappings),
    )
    .await;
    let (_, body) = s
        .call(reqwest::Method::GET, "/api/settings", Some(SHOP), None)
        .await;
    assert_eq!(
        body["carrierMappings"],
        json!([{"from": "Acme", "to": "UPS"}])
    );
    // The engine reads back what it answers.
    preflight::Validator::from_json(&body.to_string()).unwrap();

    let (status, body) = s
        .call(reqwest::Method::GET, "/api/fulfillments", Some(SHOP), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["nextCursor"], Value::Null);
    let now = body["now"].as_str().unwrap();
    preflight::Timestamp::parse(now).unwrap();
    // RFC 3339 in UTC with milliseconds: 2026-11-24T21:50:00.123Z.
    assert_eq!(now.len(), 24, "{now}");
    assert!(now.ends_with('Z') && now.as_bytes()[19] == b'.', "{now}");
}

impl Server {
    async fn put_tracking(&self, id: &str, shop: &str, body: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::PUT,
            &format!("/api/fulfillments/{id}/tracking"),
            Some(shop),
            Some(body.to_owned()),
        )
        .await
    }
}

#[tokio::test]
async fn a_tracking_number_is_fixed_in_place_and_the_preview_follows() {
    for s in Server::each().await {
        // A UPS number one digit off: its check digit fails.
        s.seed(4716, "576461413038785757", "UPS", "1Z999AA10123456785")
            .await;
        let (_, seen) = s
            .call(
                reqwest::Method::GET,
                "/api/fulfillments/4716",
                Some(SHOP),
                None,
            )
            .await;
        assert_eq!(seen["report"]["verdict"], "blocked");
        assert_eq!(
            seen["report"]["diagnostics"][0]["code"],
            "tracking.invalid_check_digit"
        );

        for (body, code, path) in [
            ("{}", "input.missing_field", Some("trackingNumber")),
            (
                r#"{"trackingNumber": 12}"#,
                "input.invalid_type",
                Some("trackingNumber"),
            ),
            (
                r#"{"trackingNumber": "   "}"#,
                "input.invalid_value",
                Some("trackingNumber"),
            ),
            (
                r#"{"trackingNumber": "1Z 999"}"#,
                "input.invalid_value",
                Some("trackingNumber"),
            ),
            (
                r#"{"trackingNumber": "1Z\u0007"}"#,
                "input.invalid_value",
                Some("trackingNumber"),
            ),
            (
                r#"{"trackingNumber": "1Z", "carrier": "UPS"}"#,
                "input.unknown_field",
                Some("carrier"),
            ),
            ("[", "input.malformed_json", Some("")),
        ] {
            let (status, answer) = s.put_tracking("4716", SHOP, body).await;
            assert_eq!(status, 400, "{body}: {answer}");
            assert_eq!(answer["error"]["code"], code, "{body}");
            assert_eq!(answer["error"]["path"].as_str(), path, "{body}");
        }
        let long = json!({"trackingNumber": "9".repeat(65)}).to_string();
        let (status, answer) = s.put_tracking("4716", SHOP, &long).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("input.invalid_value"))
        );
        let fix = r#"{"trackingNumber": "  1Z999AA10123456784 "}"#;
        assert_eq!(s.put_tracking("4716", OTHER, fix).await.0, 404);
        assert_eq!(s.put_tracking("4999", SHOP, fix).await.0, 404);

        let (status, fixed) = s.put_tracking("4716", SHOP, fix).await;
        assert_eq!(status, 200, "{fixed}");
        assert_eq!(
            fixed["fulfillment"]["tracking_number"],
            "1Z999AA10123456784"
        );
        assert_eq!(
            fixed["fulfillment"]["tracking_numbers"],
            json!(["1Z999AA10123456784"])
        );
        assert_eq!(fixed["fulfillment"]["tracking_company"], "UPS");
        assert_eq!(fixed["report"]["verdict"], "ready", "{fixed}");
        let (_, seen) = s
            .call(
                reqwest::Method::GET,
                "/api/fulfillments/4716",
                Some(SHOP),
                None,
            )
            .await;
        assert_eq!(seen, fixed);
        let (status, body, _) = s.sync(4716, "fix").await;
        assert_eq!(
            (status, body["syncStatus"].as_str()),
            (200, Some("synced")),
            "{body}"
        );
        assert_eq!(body["history"]["trackingNumber"], "1Z999AA10123456784");

        // A push under way: no edit until it settles.
        s.seed(4717, "576461413038785758", "UPS", "1Z5R89390357567127")
            .await;
        s.store
            .create_push(SHOP, "4717", r#"{"action": "ship"}"#, None)
            .await
            .unwrap();
        let (status, answer) = s
            .put_tracking("4717", SHOP, r#"{"trackingNumber": "1Z999AA10123456784"}"#)
            .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (409, Some("sync.in_progress"))
        );
    }
}

#[tokio::test]
async fn a_graphql_fulfillment_takes_the_number_in_its_tracking_info() {
    use preflight_server::sync::with_tracking_number;
    let graphql = json!({"id": "gid://shopify/Fulfillment/1", "createdAt": "2026-11-20T10:00:00Z",
        "trackingInfo": [{"company": "UPS", "number": "1Z1", "url": "https://x"}]});
    let out: Value =
        serde_json::from_str(&with_tracking_number(&graphql.to_string(), "1Z2").unwrap()).unwrap();
    assert_eq!(
        out["trackingInfo"],
        json!([{"company": "UPS", "number": "1Z2"}])
    );
    let bare = json!({"id": "1", "createdAt": "2026-11-20T10:00:00Z"});
    let out: Value =
        serde_json::from_str(&with_tracking_number(&bare.to_string(), "1Z2").unwrap()).unwrap();
    assert_eq!(out["trackingInfo"], json!([{"number": "1Z2"}]));
    let rest = json!({"id": 1, "tracking_company": "UPS", "tracking_number": "1Z1",
        "tracking_numbers": ["1Z1", "1Z0"], "tracking_url": "https://x"});
    let out: Value =
        serde_json::from_str(&with_tracking_number(&rest.to_string(), "1Z2").unwrap()).unwrap();
    assert_eq!(
        out,
        json!({"id": 1, "tracking_company": "UPS", "tracking_number": "1Z2", "tracking_numbers": ["1Z2"]})
    );
}

/// One bound for every path: a tracking number a webhook brings is held to the one the merchant's edit is.
#[tokio::test]
async fn a_tracking_number_too_long_from_a_webhook_is_blocked_and_never_pushed() {
    let s = Server::start().await;
    let long = "9".repeat(500_000);
    s.seed(4712, "576461413038785753", "UPS", &long).await;
    let (_, seen) = s
        .call(
            reqwest::Method::GET,
            "/api/fulfillments/4712",
            Some(SHOP),
            None,
        )
        .await;
    assert_eq!(seen["report"]["verdict"], "blocked");
    let codes: Vec<&str> = seen["report"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"tracking.too_long"), "{codes:?}");
    let (status, body, _) = s.sync(4712, "k1").await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "sync.blocked");
    assert_eq!(s.sim.push_count(), 0);

    let edit =
        json!({ "trackingNumber": "9".repeat(preflight::carrier::MAX_TRACKING_NUMBER_CHARS + 1) });
    let (status, body) = s
        .call(
            reqwest::Method::PUT,
            "/api/fulfillments/4712/tracking",
            Some(SHOP),
            Some(edit.to_string()),
        )
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (400, Some("trackingNumber"))
    );
}

/// The browser boundary's BigInt mark means nothing to the server's reader: the id is the string sent.
#[tokio::test]
async fn a_string_shaped_like_the_browser_boundarys_mark_is_data_on_the_server() {
    let s = Server::start().await;
    let forged = "\u{0}js:bigint:abc def";
    let input = json!({
        "fulfillment": {"id": forged, "status": "success", "tracking_company": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]},
        "order": {"id": "576461413038785752", "status": "AWAITING_SHIPMENT",
            "line_items": [{"id": "577086512123755101", "seller_sku": "TEE"}]},
        "history": null
    });
    let (status, report) = s
        .call(
            reqwest::Method::POST,
            "/api/validate",
            Some(SHOP),
            Some(input.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["fulfillmentId"], forged);
}

/// The shape that took 14.6 s and 1.2 GB here: thousands of items of one SKU, each with its own variant
/// id, against as many units. Two at once, with a health check beside them: every answer comes, whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_large_bodies_of_one_sku_validate_beside_a_health_check() {
    let s = Server::start().await;
    let n = 12_000;
    let body = shapes::Shape::OneSku.input(n).to_string();
    assert!(body.len() < api::MAX_BODY_BYTES, "{} bytes", body.len());
    let validate = || {
        s.call(
            reqwest::Method::POST,
            "/api/validate?now=2026-11-24T12:00:00Z",
            Some(SHOP),
            Some(body.clone()),
        )
    };
    let health = async {
        let response = s
            .http
            .get(format!("{}/healthz", s.url))
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    };
    let ((a, first), (b, second), healthz) = tokio::join!(validate(), validate(), health);
    assert_eq!((a, b, healthz), (200, 200, 200));
    for report in [first, second] {
        assert_eq!(report["verdict"], "ready");
        assert_eq!(report["plan"]["lineItemIds"].as_array().unwrap().len(), n);
    }
}
