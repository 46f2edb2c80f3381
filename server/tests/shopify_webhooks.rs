//! Shopify's lifecycle and privacy webhooks on loopback, on a real SQLite file: each verified (a bad
//! HMAC is 401 and changes nothing), each deduplicated by its webhook id, `app/uninstalled` deleting the
//! shop's tokens, and `shop/redact` leaving no row of the shop in any table (counted per table), the
//! other shop's rows untouched.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use std::path::PathBuf;
use std::sync::Arc;

use preflight_server::api::{self, AppState};
use preflight_server::auth::{self, AppCredentials};
use preflight_server::store::{Backfill, BackfillState, Platform, ShopCredentials, SqliteStore};
use preflight_server::tts::simulator::Simulator;
use preflight_server::ServeConfig;
use serde_json::{json, Value};

const SHOP: &str = "acme.myshopify.com";
const OTHER: &str = "bravo.myshopify.com";
const SECRET: &str = "app-secret";

struct Server {
    url: String,
    http: reqwest::Client,
    store: Arc<SqliteStore>,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("test.sqlite3");
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        let app = AppCredentials {
            key: "app-key".into(),
            secret: SECRET.into(),
            previous_secret: None,
        };
        let state = Arc::new(AppState::new(
            store.clone(),
            Arc::new(Simulator::new("k", "s")),
            app,
            Vec::new(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(preflight_server::serve(
            listener,
            api::router(state),
            ServeConfig::default(),
            std::future::pending(),
        ));
        Self {
            url,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            store,
            db,
            _dir: dir,
        }
    }

    async fn deliver(
        &self,
        topic: &str,
        shop: &str,
        id: &str,
        body: &str,
        secret: &str,
    ) -> (u16, Value) {
        let path = match topic {
            "fulfillments/update" => "fulfillments",
            other => other,
        };
        let response = self
            .http
            .post(format!("{}/webhooks/shopify/{path}", self.url))
            .header(
                "x-shopify-hmac-sha256",
                auth::webhook_hmac(secret, body.as_bytes()),
            )
            .header("x-shopify-shop-domain", shop)
            .header("x-shopify-topic", topic)
            .header("x-shopify-webhook-id", id)
            .header("x-shopify-event-id", id)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Rows of `shop` in every table that has a `shop` column.
    fn rows(&self, shop: &str) -> Vec<(String, i64)> {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        tables
            .into_iter()
            .filter(|t| {
                conn.prepare(&format!("SELECT shop FROM {t} LIMIT 0"))
                    .is_ok()
            })
            .map(|t| {
                let n = conn
                    .query_row(
                        &format!("SELECT COUNT(*) FROM {t} WHERE shop = ?1"),
                        [shop],
                        |r| r.get(0),
                    )
                    .unwrap();
                (t, n)
            })
            .collect()
    }

    async fn seed(&self, shop: &str) {
        let fulfillment = json!({"id": 4711, "updated_at": "2026-11-20T10:00:00-05:00",
            "status": "success", "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
            "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]})
        .to_string();
        let (status, _) = self
            .deliver(
                "fulfillments/update",
                shop,
                &format!("{shop}-f1"),
                &fulfillment,
                SECRET,
            )
            .await;
        assert_eq!(status, 200);
        self.store
            .put_settings(shop, r#"{"region": "US"}"#)
            .unwrap();
        let sealed = ShopCredentials {
            access_token: "v1.k1.c2VhbGVk".into(),
            access_expires_at: None,
            refresh_token: None,
            refresh_expires_at: None,
            previous_refresh_token: None,
            needs_reconnect: false,
        };
        assert!(self
            .store
            .swap_credentials(shop, Platform::Shopify, None, &sealed)
            .unwrap());
        let backfill = Backfill {
            state: BackfillState::Done,
            since: "2026-10-21T10:00:00Z".into(),
            cursor: None,
            orders_read: 1,
            fulfillments_read: 1,
            error_code: None,
            started_at: 0,
        };
        self.store.put_backfill(shop, &backfill).unwrap();
    }
}

#[tokio::test]
async fn uninstall_deletes_the_tokens_and_keeps_the_data() {
    let s = Server::start().await;
    s.seed(SHOP).await;
    let body = json!({"id": 1, "domain": SHOP}).to_string();
    let (status, _) = s
        .deliver("app/uninstalled", SHOP, "u1", &body, "forged")
        .await;
    assert_eq!(status, 401);
    assert!(s
        .store
        .credentials(SHOP, Platform::Shopify)
        .unwrap()
        .is_some());

    let (status, answer) = s
        .deliver("app/uninstalled", SHOP, "u1", &body, SECRET)
        .await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("uninstalled"))
    );
    assert!(s
        .store
        .credentials(SHOP, Platform::Shopify)
        .unwrap()
        .is_none());
    assert!(
        s.store.settings(SHOP).unwrap().is_some(),
        "data kept until shop/redact"
    );

    // A replay changes nothing; the wrong topic for the path is refused.
    let (status, answer) = s
        .deliver("app/uninstalled", SHOP, "u1", &body, SECRET)
        .await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    let response = s
        .http
        .post(format!("{}/webhooks/shopify/app/uninstalled", s.url))
        .header(
            "x-shopify-hmac-sha256",
            auth::webhook_hmac(SECRET, body.as_bytes()),
        )
        .header("x-shopify-shop-domain", SHOP)
        .header("x-shopify-topic", "shop/redact")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn customer_requests_find_no_customer_data() {
    let s = Server::start().await;
    s.seed(SHOP).await;
    let request = json!({"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 9, "email": "ada@example.com"},
        "orders_requested": [6123456789012345678_u64], "data_request": {"id": 1}})
    .to_string();
    for topic in ["customers/data_request", "customers/redact"] {
        let (status, _) = s
            .deliver(topic, SHOP, &format!("{topic}-1"), &request, "forged")
            .await;
        assert_eq!(status, 401, "{topic}");
        let (status, answer) = s
            .deliver(topic, SHOP, &format!("{topic}-1"), &request, SECRET)
            .await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (200, Some("no_customer_data_stored"))
        );
        let (_, answer) = s
            .deliver(topic, SHOP, &format!("{topic}-1"), &request, SECRET)
            .await;
        assert_eq!(answer["outcome"], "duplicate", "{topic}");
    }
    // The request's e-mail was never stored anywhere.
    for file in std::fs::read_dir(s.db.parent().unwrap()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!bytes.windows(15).any(|w| w == b"ada@example.com"));
    }
}

#[tokio::test]
async fn shop_redact_leaves_no_row_of_the_shop_in_any_table() {
    let s = Server::start().await;
    s.seed(SHOP).await;
    s.seed(OTHER).await;
    let before = s.rows(SHOP);
    assert!(
        before.iter().filter(|(_, n)| *n > 0).count() >= 5,
        "{before:?}"
    );
    let other_before = s.rows(OTHER);

    let body = json!({"shop_id": 1, "shop_domain": SHOP}).to_string();
    let (status, _) = s.deliver("shop/redact", SHOP, "r1", &body, "forged").await;
    assert_eq!(status, 401);
    assert_eq!(s.rows(SHOP), before);

    let (status, answer) = s.deliver("shop/redact", SHOP, "r1", &body, SECRET).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("redacted"))
    );
    let after = s.rows(SHOP);
    assert!(after.iter().all(|(_, n)| *n == 0), "rows left: {after:?}");
    assert_eq!(s.rows(OTHER), other_before, "another shop's rows untouched");
    // A replay deletes nothing more, and leaves nothing behind either.
    let (status, _) = s.deliver("shop/redact", SHOP, "r1", &body, SECRET).await;
    assert_eq!(status, 200);
    assert!(s.rows(SHOP).iter().all(|(_, n)| *n == 0));
}
