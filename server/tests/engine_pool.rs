//! The engine runs on a bounded pool of blocking threads, not on the async workers: with every permit
//! held by a job that does not end, a server on one async worker still answers health checks and
//! lists, and a validation waits for a permit, then answers.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a failure panics with what it found"
)]

use std::num::NonZeroUsize;
use std::sync::mpsc;
use std::time::Duration;

use preflight_server::engine::EnginePool;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

mod common;

use common::TestServer;

/// Long enough for anything that should happen to happen on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// How long a request that must not be answered is watched.
const WATCH: Duration = Duration::from_millis(400);

/// The shared test server, and the engine pool it runs on.
struct Server {
    server: TestServer,
    engine: EnginePool,
}

impl std::ops::Deref for Server {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl Server {
    async fn start(threads: usize) -> Self {
        let engine = EnginePool::new(NonZeroUsize::new(threads).unwrap());
        let pool = engine.clone();
        let server = TestServer::start_with(move |state| state.with_engine(pool)).await;
        Self { server, engine }
    }

    /// Fills every permit of the pool with a job that runs until its sender sends or is dropped.
    async fn occupy(&self) -> Vec<mpsc::Sender<()>> {
        let mut releases = Vec::new();
        for _ in 0..self.engine.threads().get() {
            let (release, wait) = mpsc::channel::<()>();
            let pool = self.engine.clone();
            tokio::spawn(async move { pool.run(move || wait.recv()).await });
            releases.push(release);
        }
        tokio::time::timeout(PATIENCE, async {
            while self.engine.available() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the jobs take every permit");
        releases
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = tokio::time::timeout(
            PATIENCE,
            self.http
                .get(format!("{}{path}", self.url))
                .bearer_auth(self.token())
                .send(),
        )
        .await
        .unwrap_or_else(|_| panic!("GET {path} answered while the engine pool is busy"))
        .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /api/validate` on its own task: answers its status and report.
    fn validate(&self) -> JoinHandle<(u16, Value)> {
        let request = self
            .http
            .post(format!(
                "{}/api/validate?now=2026-11-24T12:00:00Z",
                self.url
            ))
            .bearer_auth(self.token())
            .header("content-type", "application/json")
            .body(input().to_string());
        tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        })
    }
}

fn input() -> Value {
    json!({
        "fulfillment": {"id": "5012345678901234567", "status": "success", "tracking_company": "UPS",
            "tracking_number": "1Z999AA10123456784", "updated_at": "2026-11-20T10:00:00-05:00",
            "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]},
        "order": {"id": "576461413038785752", "status": "AWAITING_SHIPMENT",
            "line_items": [{"id": "577086512123755101", "seller_sku": "TEE"}]},
        "history": null
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_full_engine_pool_leaves_health_checks_and_lists_answered() {
    let s = Server::start(2).await;
    let releases = s.occupy().await;
    // Queued behind the jobs: it waits for a permit without holding the one async worker.
    let waiting = s.validate();

    for _ in 0..3 {
        let (status, body) = s.get("/healthz").await;
        assert_eq!((status, &body["ok"]), (200, &json!(true)));
        let (status, body) = s.get("/api/fulfillments").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["items"], json!([]));
    }
    assert!(!waiting.is_finished(), "validate ran without a permit");

    drop(releases);
    let (status, report) = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("validate answers once the pool frees up")
        .unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["fulfillmentId"], "5012345678901234567");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn validate_waits_for_the_engine_pool() {
    let s = Server::start(1).await;
    let releases = s.occupy().await;
    let mut waiting = s.validate();
    assert!(
        tokio::time::timeout(WATCH, &mut waiting).await.is_err(),
        "validate answered while the one permit was held"
    );
    let (status, _) = s.get("/healthz").await;
    assert_eq!(status, 200);
    assert!(!waiting.is_finished());

    for release in releases {
        release.send(()).unwrap();
    }
    let (status, report) = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("validate answers once the job is released")
        .unwrap();
    assert_eq!(status, 200, "{report}");
    assert!(report["verdict"].is_string(), "{report}");
    assert_eq!(s.engine.available(), 1, "every permit is given back");
}
