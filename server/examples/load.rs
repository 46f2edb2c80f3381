//! A load benchmark of the sync API on loopback: requests per second and p50/p99 latency for
//! `POST /api/validate` and for `POST /api/fulfillments/{id}/sync` (each sync a real push to the
//! simulator, in process, at zero latency), on a real SQLite file; then the sync on PostgreSQL with one
//! instance and with two (each its own server and pool, the requests alternating between them) when
//! `PREFLIGHT_BENCH_POSTGRES` names a server (`cargo xtask bench` starts one). Bounded: a few seconds
//! per case.
//!
//! `cargo run --release -p preflight-server --example load`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_server::api::{self, AppState};
use preflight_server::auth::{self, AppCredentials};
use preflight_server::store::{
    Database, FulfillmentPatch, FulfillmentWebhook, PgOptions, SqliteOptions, Store,
};
use preflight_server::tts::simulator::Simulator;
use preflight_server::tts::ShippingProvider;
use serde_json::json;

const SHOP: &str = "acme.myshopify.com";
const CONCURRENCY: usize = 8;
const DURATION: Duration = Duration::from_secs(4);
const SYNCS: usize = 6000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // In range: p is at most 1 and the index at most len - 1.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a count or a duration, far within the range of the other type"
    )]
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Runs `request(i)` from `CONCURRENCY` workers until `DURATION` passes or `limit` requests are made.
async fn run<F, Fut>(name: &str, limit: usize, request: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (request, next, failures) = (request.clone(), next.clone(), failures.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit || start.elapsed() > DURATION {
                    break;
                }
                let t = Instant::now();
                if !request(i).await {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap_or_default());
    }
    let elapsed = start.elapsed();
    all.sort_unstable();
    #[expect(
        clippy::cast_precision_loss,
        reason = "a count or a duration, far within the range of the other type"
    )]
    let rps = all.len() as f64 / elapsed.as_secs_f64();
    println!(
        "{name:<34} {:>7} requests  {rps:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  failures {}",
        all.len(),
        percentile(&all, 0.50).as_secs_f64() * 1000.0,
        percentile(&all, 0.99).as_secs_f64() * 1000.0,
        failures.load(Ordering::Relaxed),
    );
}

const APP_KEY: &str = "app-key";

fn app() -> AppCredentials {
    AppCredentials {
        key: APP_KEY.into(),
        secret: "app-secret".into(),
        previous_secret: None,
    }
}

/// A sync API on `store` against `sim`, on a free loopback port: its URL.
async fn serve(
    store: Arc<dyn Store>,
    sim: &Simulator,
) -> Result<String, Box<dyn std::error::Error>> {
    let state = Arc::new(AppState::new(
        store,
        Arc::new(sim.clone()),
        app(),
        Vec::new(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(preflight_server::serve(
        listener,
        api::router(state),
        preflight_server::ServeConfig::default(),
        std::future::pending(),
    ));
    Ok(url)
}

/// `SYNCS` fulfillments linked to orders awaiting shipment at `sim`, one push each.
async fn seed(store: &dyn Store, sim: &Simulator) -> Result<(), Box<dyn std::error::Error>> {
    for i in 0..SYNCS {
        let order = format!("5764614130{i:09}");
        let unit = format!("{order}01");
        let mut o = Simulator::awaiting_shipment(&order, "DO1", &[(unit.as_str(), "TEE")]);
        o.status = "AWAITING_SHIPMENT".into();
        sim.add_order(SHOP, o.clone());
        let id = (4_000_000 + i).to_string();
        // A number of its own (TikTok Shop refuses duplicates), of no known format.
        let payload = json!({"id": id, "updated_at": "2026-11-20T10:00:00Z", "status": "success",
            "tracking_company": "UPS", "tracking_number": format!("LOAD{i:010}"),
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
            .await?;
        store
            .update_fulfillment(
                SHOP,
                &id,
                &FulfillmentPatch {
                    tts_order_json: Some(serde_json::to_string(&o)?),
                    ..FulfillmentPatch::default()
                },
            )
            .await?;
    }
    Ok(())
}

fn simulator() -> Simulator {
    let sim = Simulator::new("tts-key", "tts-secret");
    sim.add_providers("DO1", [ShippingProvider::new("7117859084333745966", "UPS")]);
    sim
}

/// Syncs every seeded fulfillment once, through the servers at `urls` in turn.
async fn syncs(
    name: &str,
    http: &reqwest::Client,
    urls: Vec<String>,
    token: Arc<String>,
    sim: &Simulator,
) {
    let (http, urls) = (http.clone(), Arc::new(urls));
    run(name, SYNCS, move |i| {
        let (http, urls, token) = (http.clone(), urls.clone(), token.clone());
        async move {
            let url = urls.get(i % urls.len()).cloned().unwrap_or_default();
            http.post(format!("{url}/api/fulfillments/{}/sync", 4_000_000 + i))
                .bearer_auth(token.as_str())
                .header("idempotency-key", format!("load-{i}"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    println!(
        "{:<34} pushes applied at the simulator: {} (one per sync)",
        "",
        sim.push_count()
    );
}

/// A fresh database on the PostgreSQL server at `admin`: its URL.
async fn fresh_postgres(admin: &str, name: &str) -> Result<String, Box<dyn std::error::Error>> {
    let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    // One statement each: neither runs inside a transaction block.
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await?;
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("preflight-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = Database::Sqlite(dir.join("load.sqlite3"));
    let store = sqlite
        .open(SqliteOptions::default(), &PgOptions::default())
        .await?;
    let sim = simulator();
    seed(store.as_ref(), &sim).await?;
    let url = serve(store, &sim).await?;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let token = Arc::new(auth::issue_session_token(&app(), SHOP, "7", now, 3600)?);
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()?;

    let input = json!({
        "fulfillment": {"id": "5012345678901234567", "status": "success", "tracking_company": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}, {"id": 2, "sku": "MUG", "quantity": 1},
                           {"id": 3, "sku": "CAP", "quantity": 1}]},
        "order": {"id": "576461413038785752", "status": "AWAITING_SHIPMENT", "line_items": [
            {"id": "577086512123755101", "seller_sku": "TEE"}, {"id": "577086512123755102", "seller_sku": "MUG"},
            {"id": "577086512123755103", "seller_sku": "CAP"}]},
        "history": null
    })
    .to_string();

    println!("sync API on loopback, {CONCURRENCY} connections, simulator in process");
    {
        let (http, url, token, input) = (http.clone(), url.clone(), token.clone(), Arc::new(input));
        run("POST /api/validate (SQLite)", usize::MAX, move |_| {
            let (http, url, token, input) =
                (http.clone(), url.clone(), token.clone(), input.clone());
            async move {
                http.post(format!("{url}/api/validate"))
                    .bearer_auth(token.as_str())
                    .body(input.as_str().to_owned())
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
    }
    syncs(
        "POST …/sync (SQLite)",
        &http,
        vec![url],
        token.clone(),
        &sim,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);

    let Ok(admin) = std::env::var("PREFLIGHT_BENCH_POSTGRES") else {
        println!("PREFLIGHT_BENCH_POSTGRES is not set: no PostgreSQL figures (`cargo xtask bench` starts a server)");
        return Ok(());
    };
    for instances in [1, 2] {
        let database =
            Database::Postgres(fresh_postgres(&admin, &format!("load_{instances}")).await?);
        let sim = simulator();
        let mut urls = Vec::new();
        for _ in 0..instances {
            // Each instance its own store and pool, as each process would have.
            let store = database
                .open(SqliteOptions::default(), &PgOptions::default())
                .await?;
            if urls.is_empty() {
                seed(store.as_ref(), &sim).await?;
            }
            urls.push(serve(store, &sim).await?);
        }
        let name = format!("POST …/sync (PostgreSQL, {instances} inst.)");
        syncs(&name, &http, urls, token.clone(), &sim).await;
    }
    Ok(())
}
