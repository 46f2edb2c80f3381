//! The real `preflight-server` binary, killed with SIGKILL while TikTok Shop (the simulator, over HTTP
//! in this process) holds the answer of a push it applied: after a restart the push is taken for
//! abandoned (at once on SQLite; on PostgreSQL once twice the push timeout has passed), and the next
//! sync reads TikTok Shop and settles it without a second push. Then kill loops under sync
//! load: one instance on SQLite, and three instances sharing PostgreSQL (when `cargo xtask test` names
//! a server), a random one killed and started again each cycle while the others carry on.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

mod backends;
mod process;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use preflight_server::auth;
use preflight_server::tts::simulator::{http, Push, Simulator};
use preflight_server::tts::ShippingProvider;
use process::{free_port, start, token, FIRST_ID, SHOP};
use rand::Rng as _;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_interrupted_by_sigkill_is_settled_after_restart_without_a_second_push() {
    for backend in backends::each().await {
        interrupted_push(&backend).await;
    }
}

async fn interrupted_push(backend: &backends::Backend) {
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
    let client = process::client(None);

    let (mut server, url) = start(&backend.location, tts, &client).await;
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

    // After a restart the push is `sending` (PostgreSQL: until twice the push timeout has passed,
    // as another instance may still be sending it) or `unknown` (SQLite: one process, none is). A
    // sync then reads TikTok Shop, which holds it: `sent`, with no second push.
    let (mut server, url) = start(&backend.location, tts, &client).await;
    let seen: Value = client
        .get(format!("{url}/api/fulfillments/4711"))
        .bearer_auth(token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let state = seen["latestPush"]["state"].as_str().unwrap_or("");
    let expected: &[&str] = if backend.name == "sqlite" {
        &["unknown"]
    } else {
        // `unknown` once twice the push timeout has passed since it was sent.
        &["sending", "unknown"]
    };
    assert!(expected.contains(&state), "{}: {seen}", backend.name);
    let (status, after) = process::sync_settled(&client, &url, 4711, "second").await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["syncStatus"], "synced", "{after}");
    assert_eq!(after["latestPush"]["state"], "sent");
    assert_eq!(sim.push_count(), 1, "tiktok shop saw a second push");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// What a kill loop saw.
#[derive(Debug, Default)]
struct KillLoop {
    kills: usize,
    acknowledged: usize,
    pushes: usize,
    interrupted: usize,
}

/// `cycles` kills of a random one of `instances` servers on `backend`, under sync load spread over the
/// live ones; each killed server is started again while the others carry on. Then every fulfillment is
/// synced once more. Asserts that every acknowledged sync is still synced and that no order shipped
/// twice.
async fn kill_loop(backend: &backends::Backend, instances: usize, cycles: usize) -> KillLoop {
    const FULFILLMENTS: usize = 120;
    const WORKERS: usize = 6;
    let sim = Simulator::new("tts-key", "tts-secret");
    sim.add_providers("DO1", [ShippingProvider::new("7117859084333745966", "UPS")]);
    // Answers come late, so that kills land between a push applying and its answer.
    sim.set_answer_delay(Duration::from_millis(15));
    let (tts, _task) = http::spawn_on_loopback(sim.clone()).await.unwrap();
    process::seed(backend.store.as_ref(), &sim, FULFILLMENTS).await;
    let client = process::client(Some(Duration::from_secs(10)));
    let mut servers = Vec::new();
    for _ in 0..instances {
        servers.push(start(&backend.location, tts, &client).await);
    }
    let live: Arc<Mutex<Vec<Option<String>>>> = Arc::new(Mutex::new(
        servers.iter().map(|(_, url)| Some(url.clone())).collect(),
    ));
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..WORKERS {
        let (client, live, acknowledged, stop) = (
            client.clone(),
            live.clone(),
            acknowledged.clone(),
            stop.clone(),
        );
        load.push(tokio::spawn(async move {
            for n in 0_usize.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let id = FIRST_ID + (worker * 11 + n * 7) % FULFILLMENTS;
                let url = {
                    let live = live.lock().unwrap();
                    let up: Vec<&String> = live.iter().flatten().collect();
                    up.get((worker + n) % up.len().max(1)).map(|u| (*u).clone())
                };
                let Some(url) = url else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let key = format!("w{worker}-n{n}");
                if let Some((200, body)) = process::sync(&client, &url, id, &key).await {
                    if body["syncStatus"] == "synced" {
                        acknowledged.lock().unwrap().insert(id);
                    }
                }
            }
        }));
    }
    let mut seen = KillLoop::default();
    let mut interrupted_pushes = BTreeSet::new();
    for cycle in 0..cycles {
        tokio::time::sleep(Duration::from_millis(40 + (cycle as u64 * 13) % 90)).await;
        let victim = rand::rng().random_range(0..instances);
        live.lock().unwrap()[victim] = None;
        let (server, _) = &mut servers[victim];
        server.kill().unwrap();
        server.wait().unwrap();
        seen.kills += 1;
        interrupted_pushes.extend(interrupted(backend).await);
        servers[victim] = start(&backend.location, tts, &client).await;
        live.lock().unwrap()[victim] = Some(servers[victim].1.clone());
    }
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }

    // Every fulfillment is synced once more: unknown pushes get settled.
    for i in 0..FULFILLMENTS {
        let id = FIRST_ID + i;
        let url = &servers[i % instances].1;
        let (status, body) = process::sync_settled(&client, url, id, &format!("final-{id}")).await;
        assert_eq!(status, 200, "{}: {id}: {body}", backend.name);
        assert_eq!(body["syncStatus"], "synced", "{id}: {body}");
    }
    seen.acknowledged = acknowledged.lock().unwrap().len();
    let acknowledged: Vec<usize> = acknowledged.lock().unwrap().iter().copied().collect();
    for id in acknowledged {
        let record = backend
            .store
            .fulfillment(SHOP, &id.to_string())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            record.sync_status.kind().as_str(),
            "synced",
            "an acknowledged sync was lost: {id}"
        );
    }
    for (server, _) in &mut servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }

    let mut ships: BTreeMap<String, usize> = BTreeMap::new();
    for entry in sim.ledger() {
        if let Push::Ship { order_id, .. } = entry.push {
            *ships.entry(order_id).or_default() += 1;
        }
    }
    assert_eq!(ships.len(), FULFILLMENTS, "every order shipped");
    assert!(
        ships.values().all(|&n| n == 1),
        "an order was shipped twice: {ships:?}"
    );
    seen.pushes = sim.push_count();
    seen.interrupted = interrupted_pushes.len();
    seen
}

/// The pushes a kill just left `sending`: on SQLite, what a start recovers (all of them); on
/// PostgreSQL, those whose fulfillment no live instance holds (the others' pushes under way are
/// theirs), found without changing them.
async fn interrupted(backend: &backends::Backend) -> BTreeSet<i64> {
    if backend.name == "sqlite" {
        let store = backend.instance().await;
        let recovered = store.recover_interrupted().await.unwrap().pushes;
        return recovered.into_iter().map(|(_, push)| push.id).collect();
    }
    let (client, connection) = tokio_postgres::connect(&backend.location, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let free = client
        .query(
            "SELECT id FROM pushes WHERE state = 'sending' \
             AND pg_try_advisory_lock(hashtextextended(shop || '/' || fulfillment_id, 0))",
            &[],
        )
        .await
        .unwrap();
    client
        .execute("SELECT pg_advisory_unlock_all()", &[])
        .await
        .unwrap();
    free.iter().map(|row| row.get(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_loop_under_sync_load_loses_nothing_and_never_pushes_twice() {
    let backend = backends::sqlite(Arc::new(preflight_server::store::SystemClock)).await;
    let seen = kill_loop(&backend, 1, 50).await;
    eprintln!(
        "SQLite, 1 instance: {} kills, {} syncs acknowledged, {} pushes applied, {} pushes interrupted",
        seen.kills, seen.acknowledged, seen.pushes, seen.interrupted
    );
    let store = preflight_server::store::SqliteStore::open(&backend.location).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_postgres_lose_nothing_when_one_is_killed_under_load() {
    let Some(backend) = backends::postgres(Arc::new(preflight_server::store::SystemClock)).await
    else {
        return;
    };
    let seen = kill_loop(&backend, 3, 20).await;
    eprintln!(
        "PostgreSQL, 3 instances: {} kills, {} syncs acknowledged, {} pushes applied, {} pushes interrupted",
        seen.kills, seen.acknowledged, seen.pushes, seen.interrupted
    );
}

#[tokio::test]
async fn demo_mode_serves_tokens_on_loopback_only() {
    let sim = Simulator::new("tts-key", "tts-secret");
    let (tts, _task) = http::spawn_on_loopback(sim).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = process::client(None);

    let off = dir.path().join("off.sqlite3");
    let (mut server, url) = start(off.to_str().unwrap(), tts, &client).await;
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
