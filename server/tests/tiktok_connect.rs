//! Connecting a Shopify shop to TikTok Shop, end to end on loopback with the simulator served over HTTP
//! and the live client signing every call: the authorization page with a single-use `state`, the
//! callback turning the code into the seller's tokens and the shop's cipher, region and seller type
//! (the settings follow), calls made with the shop's cipher and token, the access token refreshed
//! before it expires, and a seller who withdrew the app asked to connect again, with no call made with
//! a dead token. Wrong, reused or missing `state` and wrong codes are refused and store nothing.
//! TikTok Shop's webhooks: verified, deduplicated, answered before the work, an order cancelled at
//! TikTok Shop turning its row's preview to Will fail, a deauthorization asking to connect again, and
//! TikTok Shop's retry schedule for a delivery the app did not take.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use preflight_server::api::{self, AppState};
use preflight_server::auth::{self, AppCredentials};
use preflight_server::store::{Clock, SqliteStore, SystemClock};
use preflight_server::tokens::{KeyRing, SecretString};
use preflight_server::tts::auth::AuthClient;
use preflight_server::tts::client::{ClientConfig, TtsClient};
use preflight_server::tts::connection::TtsConnections;
use preflight_server::tts::simulator::{http, AuthorizedShop, Seller, Simulator};
use preflight_server::tts::types::ShippingProvider;
use preflight_server::ServeConfig;
use serde_json::{json, Value};

const SHOP: &str = "acme.myshopify.com";
const CIPHER: &str = "ROW_simcipher1";
const OPEN_ID: &str = "open-acme";
const ORDER: &str = "576461413038785752";
const DAY: i64 = 86_400;

#[derive(Debug)]
struct Moving(AtomicI64);

impl Clock for Moving {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct App {
    url: String,
    http: reqwest::Client,
    app: AppCredentials,
    sim: Simulator,
    store: Arc<SqliteStore>,
    clock: Arc<Moving>,
    _dir: tempfile::TempDir,
}

impl App {
    async fn start() -> Self {
        let sim = Simulator::new("tts-key", "tts-secret");
        sim.add_seller(Seller {
            open_id: OPEN_ID.into(),
            name: "Fernwood Goods".into(),
            base_region: "US".into(),
            shops: vec![AuthorizedShop {
                id: "7494560000000000001".into(),
                name: "Fernwood US".into(),
                region: "US".into(),
                seller_type: "CROSS_BORDER".into(),
                cipher: CIPHER.into(),
                code: "USLCFERN".into(),
            }],
        });
        sim.add_providers("DO1", [ShippingProvider::new("7117859084333745966", "UPS")]);
        sim.add_order(
            CIPHER,
            Simulator::awaiting_shipment(ORDER, "DO1", &[("577086512123755123", "MUG")]),
        );
        let (address, _task) = http::spawn_on_loopback(sim.clone()).await.unwrap();
        let base = format!("http://{address}");
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("t.sqlite3")).unwrap());
        let clock = Arc::new(Moving(AtomicI64::new(SystemClock.now_millis())));
        let tts =
            Arc::new(TtsClient::new(ClientConfig::new(&base, "tts-key", "tts-secret")).unwrap());
        let auth = AuthClient::new(
            &base,
            "tts-key",
            SecretString::from("tts-secret".to_owned()),
        )
        .unwrap();
        let connections = TtsConnections::new(
            auth,
            tts.clone(),
            Arc::new(KeyRing::generate("test")),
            store.clone(),
            clock.clone(),
        );
        let app = AppCredentials {
            key: "app-key".into(),
            secret: "app-secret".into(),
            previous_secret: None,
        };
        let state = Arc::new(
            AppState::new(store.clone(), tts, app.clone(), Vec::new())
                .with_clock(clock.clone())
                .with_tiktok(connections, "7172000000000070150"),
        );
        let _events = preflight_server::tiktok_events::spawn_worker(state.clone());
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
            app,
            sim,
            store,
            clock,
            _dir: dir,
        }
    }

    /// Both clocks move on.
    fn advance(&self, secs: i64) {
        self.clock.0.fetch_add(secs * 1000, Ordering::SeqCst);
        self.sim.set_now(self.sim.now() + secs);
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let now = u64::try_from(SystemClock.now_millis() / 1000).unwrap();
        let token = auth::issue_session_token(&self.app, SHOP, "7", now, 60).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if path.ends_with("/sync") {
            request = request.header("idempotency-key", format!("k-{}", self.clock.now_millis()));
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// The authorization page's `state`.
    async fn start_connect(&self) -> String {
        let (status, body) = self
            .call(reqwest::Method::POST, "/api/tiktok/connect", None)
            .await;
        assert_eq!(status, 200, "{body}");
        let url = url::Url::parse(body["url"].as_str().unwrap()).unwrap();
        assert_eq!(url.host_str(), Some("services.tiktokshops.us"));
        assert_eq!(url.path(), "/open/authorize");
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(query.contains(&("service_id".into(), "7172000000000070150".into())));
        query
            .into_iter()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v)
            .unwrap()
    }

    /// TikTok Shop sends the browser back: the status and the page.
    async fn callback(&self, query: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}/tiktok/callback", self.url))
            .query(query)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn link_and_read(&self) -> (u16, Value) {
        let fulfillment =
            json!({"id": 4711, "updated_at": "2026-11-29T10:00:00Z", "status": "success",
            "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
            "line_items": [{"id": 1, "sku": "MUG", "quantity": 1}]})
            .to_string();
        let hmac = auth::webhook_hmac("app-secret", fulfillment.as_bytes());
        let stored = self
            .http
            .post(format!("{}/webhooks/shopify/fulfillments", self.url))
            .header("x-shopify-hmac-sha256", hmac)
            .header("x-shopify-topic", "fulfillments/create")
            .header("x-shopify-shop-domain", SHOP)
            .body(fulfillment)
            .send()
            .await
            .unwrap();
        assert_eq!(stored.status().as_u16(), 200);
        self.call(
            reqwest::Method::PUT,
            "/api/fulfillments/4711/tts-order",
            Some(json!({ "orderId": ORDER })),
        )
        .await
    }
}

#[tokio::test]
async fn a_shop_connects_through_the_authorization_and_its_calls_carry_its_cipher_and_token() {
    let app = App::start().await;
    let (status, body) = app.call(reqwest::Method::GET, "/api/tiktok", None).await;
    assert_eq!((status, &body["connected"]), (200, &json!(false)));
    // Not connected: the Shopify shop names no TikTok Shop shop, so its order is not found.
    let (status, body) = app.link_and_read().await;
    assert_eq!(status, 404, "{body}");

    let state = app.start_connect().await;
    let code = app.sim.authorize(OPEN_ID).unwrap();
    let (status, page) = app.callback(&[("code", &code), ("state", &state)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Fernwood US (US) is connected"), "{page}");

    let (_, body) = app.call(reqwest::Method::GET, "/api/tiktok", None).await;
    assert_eq!(body["connected"], true, "{body}");
    assert_eq!(body["shop"]["sellerType"], "CROSS_BORDER");
    let (_, settings) = app.call(reqwest::Method::GET, "/api/settings", None).await;
    assert_eq!(settings["sellerType"], "CROSS_BORDER", "{settings}");
    assert_eq!(settings["region"], "US");
    // The tokens are sealed at rest.
    let stored = app
        .store
        .credentials(SHOP, preflight_server::store::Platform::Tiktok)
        .unwrap()
        .unwrap();
    assert!(stored.access_token.starts_with("v1.") && !stored.access_token.contains("TTP_"));

    // Calls now carry the shop's cipher and the seller's token.
    let (status, row) = app.link_and_read().await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["order"]["id"], ORDER);

    // Six and a half days on, the token is refreshed before it is used; the call goes through.
    app.advance(6 * DAY + DAY / 2);
    let (status, row) = app.link_and_read().await;
    assert_eq!(status, 200, "{row}");
    let refreshed = app
        .store
        .credentials(SHOP, preflight_server::store::Platform::Tiktok)
        .unwrap()
        .unwrap();
    assert_ne!(refreshed.access_token, stored.access_token);
}

#[tokio::test]
async fn tiktok_shop_down_during_a_refresh_is_retried_and_nothing_is_pushed_with_an_expired_token()
{
    use preflight_server::tts::auth::TOKEN_ATTEMPTS;
    let app = App::start().await;
    app.connected().await;
    assert_eq!(app.link_and_read().await.0, 200);
    let stored = || {
        app.store
            .credentials(SHOP, preflight_server::store::Platform::Tiktok)
            .unwrap()
            .unwrap()
    };
    let first = stored().access_token;
    // Due for a refresh: the first two token requests get a 503, the third is answered.
    app.advance(6 * DAY + DAY / 2);
    app.sim.unavailable_next(2);
    let (status, row) = app.link_and_read().await;
    assert_eq!(status, 200, "{row}");
    let second = stored().access_token;
    assert_ne!(second, first, "refreshed");

    // Past the new token's expiry, TikTok Shop answers no token request: 502, and no push.
    app.advance(7 * DAY + 1);
    let pushes = app.sim.push_count();
    app.sim
        .unavailable_next(u32::try_from(TOKEN_ATTEMPTS).unwrap());
    let (status, body) = app
        .call(reqwest::Method::POST, "/api/fulfillments/4711/sync", None)
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (502, &json!("tiktok.unavailable")),
        "{body}"
    );
    assert_eq!(app.sim.push_count(), pushes);
    // The shop stays connected: the next sync refreshes and pushes.
    let (_, connection) = app.call(reqwest::Method::GET, "/api/tiktok", None).await;
    assert_eq!(
        (&connection["connected"], &connection["needsReconnect"]),
        (&json!(true), &json!(false))
    );
    let (status, body) = app
        .call(reqwest::Method::POST, "/api/fulfillments/4711/sync", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.sim.push_count(), pushes + 1);
}

#[tokio::test]
async fn a_seller_who_withdrew_the_app_is_asked_to_connect_again_and_nothing_is_pushed() {
    let app = App::start().await;
    let state = app.start_connect().await;
    let code = app.sim.authorize(OPEN_ID).unwrap();
    assert_eq!(
        app.callback(&[("code", &code), ("state", &state)]).await.0,
        200
    );
    assert_eq!(app.link_and_read().await.0, 200);
    app.sim.deauthorize(OPEN_ID);
    // When the token is due for a refresh, TikTok Shop refuses it: reconnect.
    app.advance(6 * DAY + DAY / 2);
    let pushes = app.sim.push_count();
    let (status, body) = app
        .call(reqwest::Method::POST, "/api/fulfillments/4711/sync", None)
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "tiktok.reconnect_needed");
    assert_eq!(app.sim.push_count(), pushes);
    let (_, body) = app.call(reqwest::Method::GET, "/api/tiktok", None).await;
    assert_eq!(body["needsReconnect"], true, "{body}");
    // The list's first page carries it, for the widget's prompt.
    let (_, page) = app
        .call(reqwest::Method::GET, "/api/fulfillments", None)
        .await;
    assert_eq!(page["tiktok"]["needsReconnect"], true, "{page}");
    // Connecting again clears it.
    let state = app.start_connect().await;
    let code = app.sim.authorize(OPEN_ID).unwrap();
    assert_eq!(
        app.callback(&[("code", &code), ("state", &state)]).await.0,
        200
    );
    let (_, body) = app.call(reqwest::Method::GET, "/api/tiktok", None).await;
    assert_eq!(body["needsReconnect"], false, "{body}");
}

#[tokio::test]
async fn wrong_reused_or_missing_states_and_codes_are_refused_and_store_nothing() {
    let app = App::start().await;
    let code = app.sim.authorize(OPEN_ID).unwrap();
    // A state the server never gave.
    let (status, page) = app.callback(&[("code", &code), ("state", "forged")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("tiktok.invalid_state"), "{page}");
    // No state: a seller from TikTok Shop's app store is told where to connect.
    let (status, page) = app.callback(&[("code", &code)]).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("tiktok.no_state") && page.contains("Shopify admin"),
        "{page}"
    );
    // A wrong code, with a good state: refused, and the state is spent.
    let state = app.start_connect().await;
    let (status, page) = app
        .callback(&[("code", "TTP_wrong"), ("state", &state)])
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("tiktok.authorization_refused"), "{page}");
    let (status, page) = app.callback(&[("code", &code), ("state", &state)]).await;
    assert_eq!(status, 400);
    assert!(page.contains("tiktok.invalid_state"), "{page}");
    // The seller declined.
    let (status, page) = app
        .callback(&[("error", "auth_denied"), ("state", "x")])
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("tiktok.authorization_denied"), "{page}");
    // A state older than 30 minutes.
    let state = app.start_connect().await;
    app.clock.0.fetch_add(31 * 60 * 1000, Ordering::SeqCst);
    let (status, _) = app.callback(&[("code", &code), ("state", &state)]).await;
    assert_eq!(status, 400);
    assert!(app.store.tiktok_shop(SHOP).unwrap().is_none());
    assert!(app
        .store
        .credentials(SHOP, preflight_server::store::Platform::Tiktok)
        .unwrap()
        .is_none());
    // Merchant text in the page is text.
    let (_, page) = app.callback(&[("error", "<script>x</script>")]).await;
    assert!(!page.contains("<script>x"), "{page}");
}

impl App {
    async fn connected(&self) {
        let state = self.start_connect().await;
        let code = self.sim.authorize(OPEN_ID).unwrap();
        assert_eq!(
            self.callback(&[("code", &code), ("state", &state)]).await.0,
            200
        );
        self.sim
            .subscribe_webhooks(&format!("{}/webhooks/tiktok", self.url));
    }

    async fn row(&self) -> Value {
        self.call(reqwest::Method::GET, "/api/fulfillments/4711", None)
            .await
            .1
    }

    /// Waits (bounded) until `done` holds of the row.
    async fn until(&self, done: impl Fn(&Value) -> bool) -> Value {
        let mut seen = Value::Null;
        for _ in 0..100 {
            seen = self.row().await;
            if done(&seen) {
                return seen;
            }
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        }
        seen
    }
}

#[tokio::test]
async fn an_order_cancelled_at_tiktok_shop_turns_its_preview_to_will_fail() {
    let app = App::start().await;
    app.connected().await;
    let (status, row) = app.link_and_read().await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["report"]["verdict"], "ready");
    // An open list's first page: its version, and the connection for the widget's prompt.
    let (_, page) = app
        .call(reqwest::Method::GET, "/api/fulfillments", None)
        .await;
    assert_eq!(page["tiktok"]["connected"], true, "{page}");
    let version = page["version"].as_str().unwrap().to_owned();
    let (_, changes) = app.call(reqwest::Method::GET, "/api/changes", None).await;
    assert_eq!(changes["version"], version.as_str());

    assert!(app.sim.set_order_status(ORDER, "CANCELLED"));
    let sent = app
        .sim
        .notify(
            CIPHER,
            1,
            json!({"order_id": ORDER, "order_status": "CANCEL", "update_time": 1}),
        )
        .await
        .unwrap();
    assert_eq!(sent.statuses, [Some(200)]);
    let row = app.until(|r| r["report"]["verdict"] == "blocked").await;
    let codes: Vec<&str> = row["report"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"order.cancelled"), "{codes:?}");
    // The list's version moved: an open widget reads itself again.
    let (_, changes) = app.call(reqwest::Method::GET, "/api/changes", None).await;
    assert_ne!(changes["version"], version.as_str(), "{changes}");
}

fn codes(row: &Value) -> Vec<&str> {
    row["report"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect()
}

#[tokio::test]
async fn an_authorization_about_to_end_is_shown_until_the_seller_connects_again() {
    let app = App::start().await;
    app.connected().await;
    // Connected for a year (the refresh token's life): nothing to say yet.
    let (_, connection) = app.call(reqwest::Method::GET, "/api/tiktok", None).await;
    assert!(
        connection["authorizationExpiresAt"].is_string(),
        "{connection}"
    );
    assert_eq!(connection["expiringSoon"], false);
    // TikTok Shop announces the end in 7 days (`expiration_time` a string, as its docs show it).
    let ends = app.sim.now() + 7 * DAY;
    let sent = app
        .sim
        .notify(
            CIPHER,
            7,
            json!({"message": "Authorization is expiring in 7 days.", "expiration_time": ends.to_string()}),
        )
        .await
        .unwrap();
    assert_eq!(sent.statuses, [Some(200)]);
    let expected = preflight::Timestamp::from_unix(ends).to_string();
    let mut connection = Value::Null;
    for _ in 0..100 {
        connection = app.call(reqwest::Method::GET, "/api/tiktok", None).await.1;
        if connection["authorizationExpiresAt"] == expected.as_str() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        connection["authorizationExpiresAt"],
        expected.as_str(),
        "{connection}"
    );
    assert_eq!(connection["expiringSoon"], true);
    // The first page carries it, for the widget's prompt; connecting again renews it.
    let (_, page) = app
        .call(reqwest::Method::GET, "/api/fulfillments", None)
        .await;
    assert_eq!(page["tiktok"]["expiringSoon"], true);
    app.connected().await;
    let (_, connection) = app.call(reqwest::Method::GET, "/api/tiktok", None).await;
    assert_eq!(connection["expiringSoon"], false, "{connection}");
}

#[tokio::test]
async fn each_orders_delivery_option_lists_the_providers_its_preview_accepts() {
    const UPS: &str = "7117859084333745966";
    const USPS: &str = "7117858858072016686";
    const HOUR: i64 = 3600;
    let app = App::start().await;
    app.connected().await;
    // DO1 offers UPS: the UPS fulfillment is ready, and the settings the widget reads say so.
    let (status, row) = app.link_and_read().await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["report"]["verdict"], "ready", "{row}");
    let (_, settings) = app.call(reqwest::Method::GET, "/api/settings", None).await;
    assert_eq!(
        settings["deliveryOptionProviders"]["DO1"],
        json!([{"id": UPS, "name": "UPS"}]),
        "{settings}"
    );

    // The seller offers USPS only from now on. The list is kept 6 hours…
    app.sim
        .set_providers("DO1", [ShippingProvider::new(USPS, "USPS")]);
    app.advance(5 * HOUR);
    let (_, row) = app.link_and_read().await;
    assert_eq!(row["report"]["verdict"], "ready", "{row}");
    // …then listed again: UPS is no longer the option's, before any push.
    app.advance(HOUR + 1);
    let (_, row) = app.link_and_read().await;
    assert_eq!(row["report"]["verdict"], "blocked", "{row}");
    assert_eq!(codes(&row), ["carrier.not_in_delivery_option"]);
    let (_, settings) = app.call(reqwest::Method::GET, "/api/settings", None).await;
    assert_eq!(
        settings["deliveryOptionProviders"]["DO1"],
        json!([{"id": USPS, "name": "USPS"}])
    );
    // The sync API's own check agrees, and pushes nothing.
    let (status, body) = app
        .call(reqwest::Method::POST, "/api/fulfillments/4711/sync", None)
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (422, &json!("sync.blocked"))
    );

    // A provider only the option names (not in the market's catalog) is not a mapping's target: it
    // may leave the list, and the mapping would then name nothing.
    app.sim.set_providers(
        "DO1",
        [
            ShippingProvider::new(USPS, "USPS"),
            ShippingProvider::new("7300000000000000001", "Harbor Local Express"),
        ],
    );
    app.advance(6 * HOUR + 1);
    assert_eq!(app.link_and_read().await.0, 200);
    let mapping = json!({"carrierMappings": [{"from": "Harbor", "to": "Harbor Local Express"}]});
    let (status, body) = app
        .call(
            reqwest::Method::PUT,
            "/api/settings/carrier-mappings",
            Some(mapping),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("input.unknown_provider")),
        "{body}"
    );
    // An empty list says nothing of the option: any integrated provider passes.
    app.sim.set_providers("DO1", []);
    app.advance(6 * HOUR + 1);
    let (_, row) = app.link_and_read().await;
    assert_eq!(row["report"]["verdict"], "ready", "{row}");
    app.sim
        .set_providers("DO1", [ShippingProvider::new(USPS, "USPS")]);
    app.advance(6 * HOUR + 1);
    let (_, row) = app.link_and_read().await;
    assert_eq!(codes(&row), ["carrier.not_in_delivery_option"]);

    // TikTok Shop cannot list the option: the last list stays in use for up to 7 days…
    app.sim.remove_delivery_option("DO1");
    app.advance(6 * HOUR + 1);
    let (_, row) = app.link_and_read().await;
    assert_eq!(codes(&row), ["carrier.not_in_delivery_option"]);
    // …and is then dropped: the option is unknown, any integrated provider passes.
    app.advance(7 * 24 * HOUR);
    let (status, row) = app.link_and_read().await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["report"]["verdict"], "ready", "{row}");
}

#[tokio::test]
async fn webhooks_are_verified_deduplicated_and_scoped_to_known_shops() {
    let app = App::start().await;
    app.connected().await;
    app.link_and_read().await;
    let post = |body: String, signature: String| {
        let request = app
            .http
            .post(format!("{}/webhooks/tiktok", app.url))
            .header("authorization", signature)
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let sign = |body: &str| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"tts-secret").unwrap();
        mac.update(b"tts-key");
        mac.update(body.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let body = json!({"type": 6, "tts_notification_id": "n-1", "shop_id": "7494560000000000001",
        "timestamp": 1, "data": {}})
    .to_string();
    // A bad signature: 401, nothing done.
    let (status, answer) = post(body.clone(), sign("another body")).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], "auth.invalid_signature");
    let (_, tiktok) = app.call(reqwest::Method::GET, "/api/tiktok", None).await;
    assert_eq!(tiktok["needsReconnect"], false);
    // Good: queued, then worked off (the seller withdrew the app: connect again).
    let (status, answer) = post(body.clone(), sign(&body)).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("queued")));
    let mut reconnect = false;
    for _ in 0..100 {
        let (_, tiktok) = app.call(reqwest::Method::GET, "/api/tiktok", None).await;
        if tiktok["needsReconnect"] == true {
            reconnect = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    assert!(reconnect);
    // Replayed: 200, nothing done twice.
    let (status, answer) = post(body.clone(), sign(&body)).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    // A shop no Shopify shop is connected to: 200, logged.
    let other = json!({"type": 1, "tts_notification_id": "n-2", "shop_id": "999",
        "timestamp": 1, "data": {"order_id": ORDER}})
    .to_string();
    let (status, answer) = post(other.clone(), sign(&other)).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("unknown_shop"))
    );
    // Not an event: 400.
    let (status, _) = post("{}".into(), sign("{}")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_delivery_the_app_did_not_take_is_sent_again_on_tiktok_shops_schedule() {
    let app = App::start().await;
    app.connected().await;
    app.link_and_read().await;
    // The app answers 404 at first (a wrong address), then is reachable.
    app.sim
        .subscribe_webhooks(&format!("{}/webhooks/nowhere", app.url));
    let sent = app
        .sim
        .notify(
            CIPHER,
            1,
            json!({"order_id": ORDER, "order_status": "AWAITING_SHIPMENT"}),
        )
        .await
        .unwrap();
    assert_eq!(sent.statuses, [Some(404)]);
    assert_eq!(sent.next_at, Some(app.sim.now() + 120));
    app.advance(60);
    assert_eq!(app.sim.redeliver_due().await, 0);
    app.advance(60);
    assert_eq!(app.sim.redeliver_due().await, 1);
    let last = app.sim.notifications().pop().unwrap();
    assert_eq!(last.statuses, [Some(404), Some(404)]);
    assert_eq!(last.next_at, Some(app.sim.now() + 30 * 60));
    app.sim
        .subscribe_webhooks(&format!("{}/webhooks/tiktok", app.url));
    app.advance(30 * 60);
    assert_eq!(app.sim.redeliver_due().await, 1);
    let last = app.sim.notifications().pop().unwrap();
    assert_eq!(last.statuses, [Some(404), Some(404), Some(200)]);
    assert_eq!(last.next_at, None);
}
