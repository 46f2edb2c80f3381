//! PostgreSQL stopped and started again under sync load on three instances: while it is down every
//! request is answered 503 `store.unavailable` (to be sent again), once it is back every request
//! succeeds (but for a push the outage cut off, 409 `sync.in_progress` until it is taken for
//! abandoned), and nothing acknowledged is lost and no order is shipped twice.
//!
//! It stops the server `cargo xtask test` started (`PREFLIGHT_TEST_POSTGRES_CTL`), so it is a test
//! binary of its own: no other test runs beside it. Without that variable it says so and checks
//! nothing.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

mod backends;
mod process;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use preflight_server::store::SystemClock;
use preflight_server::tts::simulator::{http, Push, Simulator};
use preflight_server::tts::ShippingProvider;
use process::{start, FIRST_ID, SHOP};

const FULFILLMENTS: usize = 60;
const INSTANCES: usize = 3;
const WORKERS: usize = 6;

/// Where the run is: the database up, down, or back up.
const UP: u8 = 0;
const DOWN: u8 = 1;
const BACK: u8 = 2;

/// How many answers of each (phase the request started in, status, error code).
type Answers = BTreeMap<(u8, u16, String), usize>;

/// Runs `pg_ctl` on the test server: `stop` or `start`.
fn pg_ctl(control: &str, action: &str) {
    let words: Vec<&str> = control.split('\t').collect();
    let status = std::process::Command::new(words[0])
        .args(&words[1..])
        .arg(action)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl {action} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_answers_503_while_down_then_succeeds_losing_and_doubling_nothing() {
    let Ok(control) = std::env::var("PREFLIGHT_TEST_POSTGRES_CTL") else {
        eprintln!("PREFLIGHT_TEST_POSTGRES_CTL is not set: run `cargo xtask test`");
        return;
    };
    let Some(backend) = backends::postgres(Arc::new(SystemClock)).await else {
        return;
    };
    let sim = Simulator::new("tts-key", "tts-secret");
    sim.add_providers("DO1", [ShippingProvider::new("7117859084333745966", "UPS")]);
    sim.set_answer_delay(Duration::from_millis(10));
    let (tts, _task) = http::spawn_on_loopback(sim.clone()).await.unwrap();
    process::seed(backend.store.as_ref(), &sim, FULFILLMENTS).await;
    let client = process::client(Some(Duration::from_secs(20)));
    let mut servers = Vec::new();
    for _ in 0..INSTANCES {
        servers.push(start(&backend.location, tts, &client).await);
    }
    let urls: Arc<Vec<String>> = Arc::new(servers.iter().map(|(_, u)| u.clone()).collect());

    let phase = Arc::new(AtomicU8::new(UP));
    // Per phase the request started in: each answer's status and code, and how many.
    let answers: Arc<Mutex<Answers>> = Arc::default();
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut load = Vec::new();
    for worker in 0..WORKERS {
        let (client, urls, phase, answers, acknowledged) = (
            client.clone(),
            urls.clone(),
            phase.clone(),
            answers.clone(),
            acknowledged.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut after = 0;
            for n in 0_usize.. {
                let started = phase.load(Ordering::SeqCst);
                // Once back, enough requests to show every one succeeds.
                if started == BACK {
                    after += 1;
                    if after > 40 {
                        break;
                    }
                }
                let id = FIRST_ID + (worker * 7 + n * 5) % FULFILLMENTS;
                let url = &urls[(worker + n) % INSTANCES];
                let key = format!("w{worker}-n{n}");
                let (status, body) = process::sync(&client, url, id, &key).await.unwrap();
                let code = body["error"]["code"].as_str().unwrap_or("").to_owned();
                *answers
                    .lock()
                    .unwrap()
                    .entry((started, status, code))
                    .or_default() += 1;
                if status == 200 && body["syncStatus"] == "synced" {
                    acknowledged.lock().unwrap().insert(id);
                }
                if started == DOWN {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    // Load while up, then down for a while, then back.
    while acknowledged.lock().unwrap().len() < 10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    phase.store(DOWN, Ordering::SeqCst);
    pg_ctl(&control, "stop");
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg_ctl(&control, "start");
    // Requests that started while it was down may still be answered now; those that start from here
    // on must succeed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    phase.store(BACK, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }

    let answers = answers.lock().unwrap().clone();
    eprintln!("answers by (phase, status, code): {answers:?}");
    // A push the outage cut off stays `sending` until twice the push timeout has passed: its
    // fulfillment's syncs meanwhile are 409, the key free to be sent again.
    let in_progress = |status: u16, code: &str| status == 409 && code == "sync.in_progress";
    for ((phase, status, code), count) in &answers {
        match *phase {
            UP => assert!(
                *status == 200 || (*status == 503 && code == "store.unavailable"),
                "while up or stopping: {status} {code} ×{count}"
            ),
            DOWN => assert!(
                *status == 503 && code == "store.unavailable"
                    || *status == 200
                    || in_progress(*status, code),
                "while down: {status} {code} ×{count}"
            ),
            _ => assert!(
                *status == 200 || in_progress(*status, code),
                "once back: {status} {code} ×{count}"
            ),
        }
    }
    assert!(
        answers.keys().any(|(p, s, _)| *p == DOWN && *s == 503),
        "no request was refused while the database was down"
    );
    assert!(answers.keys().any(|(p, s, _)| *p == BACK && *s == 200));

    // Every fulfillment synced once more; every acknowledged one still synced; no order twice.
    for i in 0..FULFILLMENTS {
        let id = FIRST_ID + i;
        let (status, body) =
            process::sync_settled(&client, &urls[i % INSTANCES], id, &format!("final-{id}")).await;
        assert_eq!(
            (status, body["syncStatus"].as_str()),
            (200, Some("synced")),
            "{id}: {body}"
        );
    }
    let store = backend.instance().await;
    let acknowledged: Vec<usize> = acknowledged.lock().unwrap().iter().copied().collect();
    for id in acknowledged {
        let record = store
            .fulfillment(SHOP, &id.to_string())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.sync_status.kind().as_str(), "synced", "lost: {id}");
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
    assert_eq!(ships.len(), FULFILLMENTS);
    assert!(
        ships.values().all(|&n| n == 1),
        "an order was shipped twice: {ships:?}"
    );
}
