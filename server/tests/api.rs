//! The HTTP API over real HTTP on loopback, on a real SQLite file: authentication, shop scoping, body
//! limits, the webhook, and every golden vector through `POST /api/validate`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::sync::Arc;

use preflight_server::api::{self, AppState};
use preflight_server::auth::{self, AppCredentials};
use preflight_server::store::{SqliteStore, Store};
use preflight_server::tts::simulator::Simulator;
use serde_json::{json, Value};

const SHOP: &str = "acme.myshopify.com";
const OTHER: &str = "other.myshopify.com";

struct Server {
    url: String,
    store: Arc<SqliteStore>,
    app: AppCredentials,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("api.sqlite3")).unwrap());
        let app = AppCredentials {
            key: "app-key".into(),
            secret: "app-secret".into(),
            previous_secret: Some("old-secret".into()),
        };
        let state = Arc::new(AppState {
            store: store.clone(),
            tts: Arc::new(Simulator::new("tts-key", "tts-secret")),
            shopify: app.clone(),
            allowed_origins: vec!["https://admin.shopify.com".into()],
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, api::router(state)).await });
        Self {
            url,
            store,
            app,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            _dir: dir,
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
async fn webhooks_are_verified_idempotent_and_scoped_by_shop() {
    let s = Server::start().await;
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

#[tokio::test]
async fn every_golden_vector_gives_the_native_report() {
    let s = Server::start().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    let mut ran = 0;
    for file in names {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let Ok(validator) = preflight::Validator::from_json(&vector["settings"].to_string()) else {
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
