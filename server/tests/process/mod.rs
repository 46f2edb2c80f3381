//! The real `preflight-server` binary for a test: started on a free loopback port against a TikTok Shop
//! simulator served over HTTP in the test's process, on any database (`--database`), with session
//! tokens and seeded fulfillments.

#![expect(
    clippy::unwrap_used,
    reason = "a test's set-up: a failure panics with what it could not have"
)]
#![allow(dead_code, reason = "each suite uses a part")]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use preflight_server::auth::{self, AppCredentials};
use preflight_server::store::{FulfillmentPatch, FulfillmentWebhook, Store};
use preflight_server::tts::simulator::Simulator;
use serde_json::json;

/// The shop the tokens are of.
pub const SHOP: &str = "acme.myshopify.com";
/// The first seeded fulfillment's id.
pub const FIRST_ID: usize = 5_000_000;
/// The push timeout the servers run with, in seconds: a push `sending` twice as long is abandoned.
pub const PUSH_TIMEOUT_SECS: u64 = 2;

/// The app's credentials, as the binary is started with them.
pub fn app() -> AppCredentials {
    AppCredentials {
        key: "app-key".into(),
        secret: "app-secret".into(),
        previous_secret: None,
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A session token of [`SHOP`], good for 5 minutes.
pub fn token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    auth::issue_session_token(&app(), SHOP, "7", now, 300).unwrap()
}

/// A client that never goes through a proxy.
pub fn client(timeout: Option<Duration>) -> reqwest::Client {
    let builder = reqwest::Client::builder().no_proxy();
    match timeout {
        Some(t) => builder.timeout(t),
        None => builder,
    }
    .build()
    .unwrap()
}

/// A server process, killed and reaped when dropped (a test that fails leaves none behind).
#[derive(Debug)]
pub struct Running(Child);

impl std::ops::Deref for Running {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server binary on `database` (a path or a URL), against the simulator at `tts`, and waits
/// until it answers: the process and its URL.
pub async fn start(
    database: &str,
    tts: std::net::SocketAddr,
    http: &reqwest::Client,
) -> (Running, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_preflight-server"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database", database])
        .args(["--push-timeout-secs", &PUSH_TIMEOUT_SECS.to_string()])
        .args([
            "--tts-mode",
            "live",
            "--tts-base-url",
            &format!("http://{tts}"),
        ])
        .args(["--tts-app-key", "tts-key", "--tts-app-secret", "tts-secret"])
        .args([
            "--shopify-app-key",
            "app-key",
            "--shopify-app-secret",
            "app-secret",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Running)
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return (child, url);
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Seeds `count` fulfillments (ids from [`FIRST_ID`]), each linked to an order of one unit awaiting
/// shipment at the simulator, on delivery option `DO1`.
pub async fn seed(store: &dyn Store, sim: &Simulator, count: usize) {
    for i in 0..count {
        let order_id = format!("5764614130{i:09}");
        let unit = format!("{order_id}01");
        let order = Simulator::awaiting_shipment(&order_id, "DO1", &[(unit.as_str(), "TEE")]);
        sim.add_order(SHOP, order.clone());
        let id = (FIRST_ID + i).to_string();
        let payload = json!({"id": id, "updated_at": "2026-11-20T10:00:00Z", "status": "success",
            "tracking_company": "UPS", "tracking_number": format!("KILL{i:010}"),
            "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]})
        .to_string();
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
        store
            .update_fulfillment(
                SHOP,
                &id,
                &FulfillmentPatch {
                    tts_order_json: Some(serde_json::to_string(&order).unwrap()),
                    ..FulfillmentPatch::default()
                },
            )
            .await
            .unwrap();
    }
}

/// Syncs fulfillment `id` with key `key` until it is no longer 409 `sync.in_progress` (a push a
/// killed server left `sending` is taken for abandoned after twice the push timeout): the status and
/// body.
pub async fn sync_settled(
    http: &reqwest::Client,
    url: &str,
    id: usize,
    key: &str,
) -> (u16, serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(PUSH_TIMEOUT_SECS * 2 + 20);
    loop {
        let (status, body) = sync(http, url, id, key).await.unwrap();
        let code = body
            .pointer("/error/code")
            .and_then(serde_json::Value::as_str);
        if status != 409 || code != Some("sync.in_progress") {
            return (status, body);
        }
        assert!(Instant::now() < deadline, "{id} stayed in progress: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Syncs fulfillment `id` with a fresh idempotency key: the status and body, or `None` when no answer
/// came (the server died).
pub async fn sync(
    http: &reqwest::Client,
    url: &str,
    id: usize,
    key: &str,
) -> Option<(u16, serde_json::Value)> {
    let response = http
        .post(format!("{url}/api/fulfillments/{id}/sync"))
        .bearer_auth(token())
        .header("idempotency-key", key)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let body = response.json().await.ok()?;
    Some((status, body))
}
