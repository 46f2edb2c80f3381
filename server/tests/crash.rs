//! The real `preflight-server` binary, killed with SIGKILL while TikTok Shop (the simulator, over HTTP
//! in this process) holds the answer of a push it applied: after a restart the push is `unknown`, and
//! the next sync reads TikTok Shop and settles it without a second push.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test: a failure panics with what it found"
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
#[expect(
    clippy::zombie_processes,
    reason = "the child is killed and waited for by the test that started it"
)]
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
        .header("x-shopify-topic", "fulfillments/create")
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

/// Seeds `count` fulfillments, each linked to an order of one unit awaiting shipment.
fn seed(db: &std::path::Path, sim: &Simulator, count: usize) {
    use preflight_server::store::{FulfillmentPatch, FulfillmentWebhook, SqliteStore, Store};
    let store = SqliteStore::open(db).unwrap();
    for i in 0..count {
        let order_id = format!("5764614130{i:09}");
        let unit = format!("{order_id}01");
        let order = Simulator::awaiting_shipment(&order_id, "DO1", &[(unit.as_str(), "TEE")]);
        sim.add_order(SHOP, order.clone());
        let id = (5_000_000 + i).to_string();
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
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_loop_under_sync_load_loses_nothing_and_never_pushes_twice() {
    use preflight_server::store::Store;
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::{Arc, Mutex};

    const FULFILLMENTS: usize = 120;
    const CYCLES: usize = 50;
    let sim = Simulator::new("tts-key", "tts-secret");
    sim.add_providers("DO1", [ShippingProvider::new("7117859084333745966", "UPS")]);
    // Answers come late, so that kills land between a push applying and its answer.
    sim.set_answer_delay(Duration::from_millis(15));
    let (tts, _task) = http::spawn_on_loopback(sim.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.sqlite3");
    seed(&db, &sim, FULFILLMENTS);
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut interrupted = 0;

    for cycle in 0..CYCLES {
        let (mut server, url) = start(&db, tts, &client).await;
        let mut load = Vec::new();
        for worker in 0..6 {
            let (client, url, acknowledged) = (client.clone(), url.clone(), acknowledged.clone());
            load.push(tokio::spawn(async move {
                for n in 0.. {
                    let id = 5_000_000 + (cycle * 37 + worker * 11 + n * 7) % FULFILLMENTS;
                    let response = client
                        .post(format!("{url}/api/fulfillments/{id}/sync"))
                        .bearer_auth(token())
                        .header("idempotency-key", format!("c{cycle}-w{worker}-n{n}"))
                        .send()
                        .await;
                    let Ok(response) = response else { break };
                    if response.status().as_u16() == 200 {
                        if let Ok(body) = response.json::<Value>().await {
                            if body["syncStatus"] == "synced" {
                                acknowledged.lock().unwrap().insert(id);
                            }
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(40 + (cycle as u64 * 13) % 90)).await;
        server.kill().unwrap();
        server.wait().unwrap();
        for task in load {
            task.await.unwrap();
        }
        // What the next start recovers: pushes the kill left `sending`.
        interrupted += preflight_server::store::SqliteStore::open(&db)
            .unwrap()
            .recover_interrupted()
            .unwrap()
            .pushes
            .len();
    }

    eprintln!(
        "{CYCLES} kills: {} syncs acknowledged, {} pushes applied, {interrupted} pushes interrupted",
        acknowledged.lock().unwrap().len(),
        sim.push_count()
    );

    // After the last restart every fulfillment is synced once more: unknown pushes get settled.
    let (mut server, url) = start(&db, tts, &client).await;
    for i in 0..FULFILLMENTS {
        let id = 5_000_000 + i;
        let response = client
            .post(format!("{url}/api/fulfillments/{id}/sync"))
            .bearer_auth(token())
            .header("idempotency-key", format!("final-{id}"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(body["syncStatus"], "synced", "{id}: {body}");
    }
    let acknowledged: Vec<usize> = acknowledged.lock().unwrap().iter().copied().collect();
    for id in acknowledged {
        let body: Value = client
            .get(format!("{url}/api/fulfillments/{id}"))
            .bearer_auth(token())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["syncStatus"], "synced",
            "an acknowledged sync was lost: {body}"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let mut ships: BTreeMap<String, usize> = BTreeMap::new();
    for entry in sim.ledger() {
        if let preflight_server::tts::simulator::Push::Ship { order_id, .. } = entry.push {
            *ships.entry(order_id).or_default() += 1;
        }
    }
    assert_eq!(ships.len(), FULFILLMENTS, "every order shipped");
    assert!(
        ships.values().all(|&n| n == 1),
        "an order was shipped twice: {ships:?}"
    );
    let store = preflight_server::store::SqliteStore::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[tokio::test]
async fn demo_mode_serves_tokens_on_loopback_only() {
    let sim = Simulator::new("tts-key", "tts-secret");
    let (tts, _task) = http::spawn_on_loopback(sim).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let (mut server, url) = start(&dir.path().join("off.sqlite3"), tts, &client).await;
    let off = client
        .get(format!("{url}/demo/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status().as_u16(), 404);
    server.kill().unwrap();
    server.wait().unwrap();

    let port = free_port();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_preflight-server"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--demo"])
        .arg("--database")
        .arg(dir.path().join("demo.sqlite3"))
        .args([
            "--shopify-app-key",
            "app-key",
            "--shopify-app-secret",
            "app-secret",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let token: Value = loop {
        if let Ok(r) = client.get(format!("{url}/demo/token")).send().await {
            break r.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "the demo server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let list = client
        .get(format!("{url}/api/fulfillments"))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(list.status().as_u16(), 200);
    demo.kill().unwrap();
    demo.wait().unwrap();

    let refused = Command::new(env!("CARGO_BIN_EXE_preflight-server"))
        .args(["--listen", "0.0.0.0:0", "--demo"])
        .arg("--database")
        .arg(dir.path().join("open.sqlite3"))
        .args([
            "--shopify-app-key",
            "app-key",
            "--shopify-app-secret",
            "app-secret",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));
}
