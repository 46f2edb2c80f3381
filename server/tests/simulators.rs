//! The simulators as their own process (`preflight-simulators`, seeding the demo shop) and three
//! `preflight-server` instances sharing them and one PostgreSQL database, as `cargo xtask demo
//! --instances 3 --database postgres` runs them: every instance serves the same shop, a sync through
//! one shows through another, and a change at TikTok Shop played through a third reaches them all.
//! Without `PREFLIGHT_TEST_POSTGRES` (`cargo xtask test` names a server) it says so and checks nothing.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

mod backends;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const KEYS: &str = "test:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stops every process when dropped, the test failing or not.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(binary: &str, database: &str, args: &[&str]) -> Child {
    Command::new(binary)
        .args(args)
        .env("PREFLIGHT_DATABASE", database)
        .env("PREFLIGHT_TOKEN_KEYS", KEYS)
        .env("PREFLIGHT_SHOPIFY_APP_KEY", "app-key")
        .env("PREFLIGHT_SHOPIFY_APP_SECRET", "app-secret")
        .env("PREFLIGHT_TTS_APP_KEY", "tts-key")
        .env("PREFLIGHT_TTS_APP_SECRET", "tts-secret")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "{url} never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_one_simulated_platform_and_one_database() {
    let Some(database) = backends::fresh_postgres_database().await else {
        return;
    };
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let simulators = format!("http://127.0.0.1:{}", free_port());
    let mut processes = Processes(Vec::new());
    processes.0.push(spawn(
        env!("CARGO_BIN_EXE_preflight-simulators"),
        &database,
        &[
            "--demo",
            "--listen",
            simulators.trim_start_matches("http://"),
            "--app-url",
            &urls[0],
        ],
    ));
    wait_healthy(&http, &simulators).await;
    for url in &urls {
        processes.0.push(spawn(
            env!("CARGO_BIN_EXE_preflight-server"),
            &database,
            &[
                "--demo",
                "--listen",
                url.trim_start_matches("http://"),
                "--simulators",
                &simulators,
            ],
        ));
        wait_healthy(&http, url).await;
    }
    let token: Value = http
        .get(format!("{}/demo/token", urls[1]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    // One shop behind every instance.
    let mut lists = Vec::new();
    for url in &urls {
        lists.push(get(&http, &format!("{url}/api/fulfillments?limit=250"), &token).await);
    }
    let ids = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&lists[0]).len(), 40);
    assert!(lists.iter().all(|l| ids(l) == ids(&lists[0])));
    assert_eq!(lists[2]["tiktok"]["connected"], true);

    // The ready ones, not synced yet.
    let ready: Vec<String> = lists[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["report"]["verdict"] == "ready" && f["syncStatus"] == "not_synced")
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ready.len() >= 2, "{ready:?}");

    // A sync through the second instance, read through the third.
    let mut synced = None;
    for id in &ready {
        let response = http
            .post(format!("{}/api/fulfillments/{id}/sync", urls[1]))
            .bearer_auth(&token)
            .header("idempotency-key", format!("sync-{id}"))
            .send()
            .await
            .unwrap();
        if response.status().as_u16() == 200 {
            synced = Some(id.clone());
            break;
        }
    }
    let synced = synced.expect("a ready fulfillment syncs");
    let seen = get(
        &http,
        &format!("{}/api/fulfillments/{synced}", urls[2]),
        &token,
    )
    .await;
    assert_eq!(seen["syncStatus"], "synced", "{seen}");

    // The buyer cancels another at TikTok Shop, played through the third instance: the simulators
    // send the webhook to the first, and the second sees the row blocked.
    let other = ready.iter().find(|id| **id != synced).unwrap();
    let played = http
        .post(format!("{}/demo/tiktok-changes", urls[2]))
        .bearer_auth(&token)
        .json(&json!({"change": "cancel", "fulfillmentId": other}))
        .send()
        .await
        .unwrap();
    assert_eq!(played.status().as_u16(), 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let row = get(
            &http,
            &format!("{}/api/fulfillments/{other}", urls[1]),
            &token,
        )
        .await;
        let codes: Vec<&str> = row["report"]["diagnostics"]
            .as_array()
            .map(|d| d.iter().filter_map(|x| x["code"].as_str()).collect())
            .unwrap_or_default();
        if codes.contains(&"order.cancelled") {
            break;
        }
        if Instant::now() >= deadline {
            panic!("the cancellation never reached the row: {row}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
