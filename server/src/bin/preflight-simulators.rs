//! `preflight-simulators`: TikTok Shop and Shopify, simulated, in a process of their own, so that
//! several `preflight-server` instances (`--simulators URL`) share one simulated platform. One address
//! serves both: Shopify's token endpoint and Admin GraphQL under `/shops/{shop}/admin/…`, TikTok Shop's
//! Open API, token endpoints and authorization page on the other paths; `GET /healthz` answers once
//! the platform is ready, and `POST /demo/changes` plays the demo page's changes at TikTok Shop.
//!
//! With `--demo`, the demo shop is seeded first, through the same code paths as a single server's
//! demo, into `--database` (the instances' database), its tokens sealed with the instances' key ring.
//! Both simulators send their webhooks to `--app-url` (one instance, or a load balancer in front of
//! them).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use preflight_server::demo::{self, DemoShopify};
use preflight_server::shopify::admin::ShopifyAdmin;
use preflight_server::shopify::credentials::ShopifyCredentials;
use preflight_server::shopify::graphql::{GraphqlClient, RetryConfig};
use preflight_server::shopify::oauth::{Endpoint, TokenClient};
use preflight_server::shopify::simulator::{self as shopify_simulator, ShopifySimulator};
use preflight_server::store::{Clock, Database, PgOptions, SqliteOptions, SystemClock};
use preflight_server::tokens::{KeyRing, SecretString};
use preflight_server::tts::auth::AuthClient;
use preflight_server::tts::connection::TtsConnections;
use preflight_server::tts::simulator::{self, Simulator};
use serde_json::json;

/// TikTok Shop and Shopify, simulated, for several sync API instances.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Config {
    /// Address to serve both simulators on.
    #[arg(
        long,
        env = "PREFLIGHT_SIMULATORS_LISTEN",
        default_value = "127.0.0.1:8790"
    )]
    listen: SocketAddr,
    /// Where the simulators send webhooks: the app's base URL (an instance, or a load balancer).
    #[arg(
        long,
        env = "PREFLIGHT_APP_URL",
        default_value = "http://127.0.0.1:8787"
    )]
    app_url: String,
    /// The TikTok Shop app key the instances sign with.
    #[arg(long, env = "PREFLIGHT_TTS_APP_KEY", default_value = "")]
    tts_app_key: String,
    /// The TikTok Shop app secret.
    #[arg(
        long,
        env = "PREFLIGHT_TTS_APP_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    tts_app_secret: String,
    /// The Shopify app's client id.
    #[arg(long, env = "PREFLIGHT_SHOPIFY_APP_KEY", default_value = "")]
    shopify_app_key: String,
    /// The Shopify app's client secret (session tokens and webhook HMAC).
    #[arg(
        long,
        env = "PREFLIGHT_SHOPIFY_APP_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    shopify_app_secret: String,
    /// Seed the demo shop into `--database` before answering `/healthz`.
    #[arg(long, env = "PREFLIGHT_DEMO")]
    demo: bool,
    /// The shop of demo mode.
    #[arg(
        long,
        env = "PREFLIGHT_DEMO_SHOP",
        default_value = "preflight-demo.myshopify.com"
    )]
    demo_shop: String,
    /// The instances' database, for the demo's seed: an SQLite file or a PostgreSQL URL.
    #[arg(long, env = "PREFLIGHT_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// A file holding the instances' token key ring, when `PREFLIGHT_TOKEN_KEYS` is not set.
    #[arg(long, env = "PREFLIGHT_TOKEN_KEY_FILE")]
    token_key_file: Option<std::path::PathBuf>,
}

/// What the routes share.
#[derive(Clone)]
struct Platform {
    tts: Simulator,
    ready: Arc<AtomicBool>,
}

async fn healthz(State(platform): State<Platform>) -> Response {
    if platform.ready.load(Ordering::SeqCst) {
        Json(json!({"ok": true})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"ok": false}))).into_response()
    }
}

async fn demo_change(State(platform): State<Platform>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    match demo::play_tiktok_change(&platform.tts, &text).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Both simulators on one router: Shopify's routes, ours, and TikTok Shop's on every other path.
fn router(platform: Platform, shopify: ShopifySimulator) -> Router {
    let ours = Router::new()
        .route("/healthz", get(healthz))
        .route("/demo/changes", post(demo_change))
        .with_state(platform.clone());
    shopify_simulator::router(shopify)
        .merge(ours)
        .merge(simulator::http::router(platform.tts))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    let run = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start: {e}"))
        .and_then(|runtime| runtime.block_on(run(config)));
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("preflight-simulators: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), String> {
    let tts = Simulator::new(&config.tts_app_key, &config.tts_app_secret);
    let now = SystemClock.now_millis().div_euclid(1000);
    let shopify = ShopifySimulator::new(&config.shopify_app_key, &config.shopify_app_secret, now);
    let platform = Platform {
        tts: tts.clone(),
        ready: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let base = format!("http://{}", config.listen);
    let app = router(platform.clone(), shopify.clone());
    let served = tokio::spawn(async move { axum::serve(listener, app).await });
    tracing::info!(address = %config.listen, "TikTok Shop and Shopify simulated");
    if config.demo {
        seed(&config, &tts, &shopify, &base).await?;
    }
    // Webhooks from here on: the seed's own changes are in the database already.
    let app = config.app_url.trim_end_matches('/');
    tts.subscribe_webhooks(&format!("{app}/webhooks/tiktok"));
    tts.set_redirect_url(&format!("{app}/tiktok/callback"));
    shopify.subscribe_webhooks(app, demo::WEBHOOK_SUBSCRIPTIONS);
    platform.ready.store(true, Ordering::SeqCst);
    tracing::info!(app = %app, "ready");
    served
        .await
        .map_err(|e| format!("the simulators stopped: {e}"))?
        .map_err(|e| format!("the simulators stopped: {e}"))
}

/// Seeds the demo shop into the instances' database, through the simulators served at `base`.
async fn seed(
    config: &Config,
    tts: &Simulator,
    shopify: &ShopifySimulator,
    base: &str,
) -> Result<(), String> {
    let database: Database = config
        .database
        .as_deref()
        .ok_or("--demo seeds the instances' database: name it with --database")?
        .parse()
        .map_err(|e| format!("--database: {e}"))?;
    let store = database
        .open(SqliteOptions::default(), &PgOptions::default())
        .await
        .map_err(|e| format!("cannot open {database}: {e}"))?;
    let ring = KeyRing::from_env_or_file(config.token_key_file.as_deref())
        .map_err(|e| e.to_string())?
        .ok_or("--demo seals the demo's tokens with the instances' key ring: PREFLIGHT_TOKEN_KEYS or --token-key-file")?;
    let ring = Arc::new(ring);
    let endpoint = Endpoint::Simulated(base.to_owned());
    let client = TokenClient::new(
        endpoint.clone(),
        &config.shopify_app_key,
        SecretString::from(config.shopify_app_secret.clone()),
    )
    .map_err(|e| format!("cannot build the Shopify client: {e}"))?;
    let credentials = Arc::new(ShopifyCredentials::new(
        client,
        ring.clone(),
        store.clone(),
        Arc::new(SystemClock),
    ));
    let graphql = GraphqlClient::new(endpoint, RetryConfig::default())
        .map_err(|e| format!("cannot build the Shopify client: {e}"))?;
    let admin = ShopifyAdmin::new(graphql, credentials.clone());
    let auth = AuthClient::new(
        base,
        &config.tts_app_key,
        SecretString::from(config.tts_app_secret.clone()),
    )
    .map_err(|e| format!("cannot build the TikTok Shop token client: {e}"))?;
    let connections = TtsConnections::new(
        auth,
        Arc::new(tts.clone()),
        ring,
        store.clone(),
        Arc::new(SystemClock),
    );
    let shopify = DemoShopify {
        sim: shopify.clone(),
        credentials,
        admin,
    };
    let summary = demo::seed(store, tts, &shopify, connections, &config.demo_shop)
        .await
        .map_err(|e| format!("cannot seed the demo shop: {} ({})", e.message(), e.code()))?;
    tracing::info!(shop = %config.demo_shop, seeded = summary.fulfillments, %summary, "demo shop seeded");
    Ok(())
}
