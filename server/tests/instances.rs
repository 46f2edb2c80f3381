//! Three instances of the real `preflight-server` binary on one PostgreSQL database, against one TikTok
//! Shop simulator (over HTTP, in this process): syncs of one fulfillment spread over the instances push
//! once, and an idempotency key holds whichever instance a request reaches. Without
//! `PREFLIGHT_TEST_POSTGRES` (`cargo xtask test` names a server) these tests say so and check nothing.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

mod backends;
mod process;

use std::sync::Arc;
use std::time::Duration;

use preflight_server::store::SystemClock;
use preflight_server::tts::simulator::{http, Simulator};
use preflight_server::tts::ShippingProvider;
use process::{start, token, Running, FIRST_ID};
use serde_json::Value;

const INSTANCES: usize = 3;

/// Three instances on a fresh database, with `count` fulfillments seeded: the simulator, the
/// instances' processes and URLs, and the database's URL.
async fn three_instances(count: usize) -> Option<(Simulator, Vec<(Running, String)>, String)> {
    let backend = backends::postgres(Arc::new(SystemClock)).await?;
    let sim = Simulator::new("tts-key", "tts-secret");
    sim.add_providers("DO1", [ShippingProvider::new("7117859084333745966", "UPS")]);
    // Served for as long as the test's runtime runs (its handle dropped, the task goes on).
    let (tts, _) = http::spawn_on_loopback(sim.clone()).await.unwrap();
    process::seed(backend.store.as_ref(), &sim, count).await;
    let client = process::client(None);
    let mut servers = Vec::new();
    for _ in 0..INSTANCES {
        servers.push(start(&backend.location, tts, &client).await);
    }
    Some((sim, servers, backend.location.clone()))
}

fn stop(servers: &mut [(Running, String)]) {
    for (server, _) in servers {
        server.kill().unwrap();
        server.wait().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_syncs_of_one_fulfillment_across_three_instances_push_once() {
    let Some((sim, mut servers, _)) = three_instances(1).await else {
        return;
    };
    // A slow answer, so that the syncs overlap the push.
    sim.set_answer_delay(Duration::from_millis(50));
    let client = process::client(Some(Duration::from_secs(60)));
    let urls: Vec<String> = servers.iter().map(|(_, u)| u.clone()).collect();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (client, url) = (client.clone(), urls[i % INSTANCES].clone());
        tasks.push(tokio::spawn(async move {
            process::sync(&client, &url, FIRST_ID, &format!("c{i}")).await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap().unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["syncStatus"], "synced", "{body}");
    }
    assert_eq!(sim.push_count(), 1, "pushed more than once");
    stop(&mut servers);
}

/// A sync with `key` and `body` at `url`: the status, whether it was replayed, and the body.
async fn keyed(client: &reqwest::Client, url: &str, key: &str, body: &str) -> (u16, bool, Value) {
    let response = client
        .post(format!("{url}/api/fulfillments/{FIRST_ID}/sync"))
        .bearer_auth(token())
        .header("idempotency-key", key)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (
        status,
        replayed,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_holds_whichever_instance_a_request_reaches() {
    let Some((sim, mut servers, database)) = three_instances(1).await else {
        return;
    };
    let (db, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let client = process::client(Some(Duration::from_secs(60)));
    let urls: Vec<String> = servers.iter().map(|(_, u)| u.clone()).collect();

    // In progress on one instance: 409 on another.
    // Within the servers' push timeout.
    sim.set_answer_delay(Duration::from_millis(700));
    let first = tokio::spawn({
        let (client, url) = (client.clone(), urls[0].clone());
        async move { keyed(&client, &url, "k1", "").await }
    });
    // Once the first request holds the key.
    loop {
        let held: i64 = db
            .query_one(
                "SELECT count(*) FROM idempotency_keys WHERE key = 'k1'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if held == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _, busy) = keyed(&client, &urls[1], "k1", "").await;
    assert_eq!(status, 409, "{busy}");
    assert_eq!(busy["error"]["code"], "idempotency.in_progress", "{busy}");
    let (status, replayed, answer) = first.await.unwrap();
    assert_eq!((status, replayed), (200, false), "{answer}");
    sim.set_answer_delay(Duration::ZERO);

    // Done on one instance: replayed on the others, the same answer; another body is 422.
    for url in &urls[1..] {
        let (status, replayed, again) = keyed(&client, url, "k1", "").await;
        assert_eq!((status, replayed), (200, true));
        assert_eq!(again, answer);
    }
    let (status, _, refused) = keyed(&client, &urls[2], "k1", "{}").await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "idempotency.key_reused");
    assert_eq!(sim.push_count(), 1);
    stop(&mut servers);
}
