//! The real `preflight-server` binary, killed with SIGKILL while TikTok Shop (the simulator, over HTTP
//! in this process) holds the answer of a push it applied: after a restart the push is `unknown`, and
//! the next sync reads TikTok Shop and settles it without a second push.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use preflight_server::auth::{self, AppCredentials};
use preflight_server::tts::simulator::{http, Simulator};
use preflight_server::tts::ShippingProvider;
use serde_json::{json, Value};

const SHOP: &str = "acme.myshopify.com";

fn app() -> AppCredentials {
    AppCredentials {
        key: "app-key".into(),
        secret: "app-secret".into(),
        previous_secret: None,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server binary on `db`, against the simulator at `tts`, and waits until it answers. The
/// caller kills and reaps it.
#[allow(clippy::zombie_processes)]
async fn start(
    db: &std::path::Path,
    tts: std::net::SocketAddr,
    http: &reqwest::Client,
) -> (Child, String) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_preflight-server"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--database")
        .arg(db)
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
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not start");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    auth::issue_session_token(&app(), SHOP, "7", now, 300).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_interrupted_by_sigkill_is_settled_after_restart_without_a_second_push() {
    let sim = Simulator::new("tts-key", "tts-secret");
    sim.add_providers("DO1", [ShippingProvider::new("7117859084333745966", "UPS")]);
    sim.add_order(
        SHOP,
        Simulator::awaiting_shipment(
            "576461413038785752",
            "DO1",
            &[("57646141303878575201", "TEE")],
        ),
    );
    let (tts, _task) = http::spawn_on_loopback(sim.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.sqlite3");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let (mut server, url) = start(&db, tts, &client).await;
    let body = json!({"id": 4711, "updated_at": "2026-11-20T10:00:00Z", "status": "success",
        "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
        "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]})
    .to_string();
    let response = client
        .post(format!("{url}/webhooks/shopify/fulfillments"))
        .header(
            "x-shopify-hmac-sha256",
            auth::webhook_hmac("app-secret", body.as_bytes()),
        )
        .header("x-shopify-shop-domain", SHOP)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = client
        .put(format!("{url}/api/fulfillments/4711/tts-order"))
        .bearer_auth(token())
        .body(json!({"orderId": "576461413038785752"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    // TikTok Shop applies the push and holds its answer; the server dies waiting for it.
    sim.drop_next_answers(1);
    sim.set_drop_hold(Duration::from_secs(20));
    let pending = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .post(format!("{url}/api/fulfillments/4711/sync"))
                .bearer_auth(token())
                .header("idempotency-key", "first")
                .send()
                .await
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.push_count() == 0 {
        assert!(
            Instant::now() < deadline,
            "the push never reached tiktok shop"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        pending.await.unwrap().is_err(),
        "the killed server answered"
    );

    let (mut server, url) = start(&db, tts, &client).await;
    let seen: Value = client
        .get(format!("{url}/api/fulfillments/4711"))
        .bearer_auth(token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["latestPush"]["state"], "unknown", "{seen}");
    let response = client
        .post(format!("{url}/api/fulfillments/4711/sync"))
        .bearer_auth(token())
        .header("idempotency-key", "second")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["syncStatus"], "synced", "{after}");
    assert_eq!(after["latestPush"]["state"], "sent");
    assert_eq!(sim.push_count(), 1, "tiktok shop saw a second push");
    server.kill().unwrap();
    server.wait().unwrap();
}
