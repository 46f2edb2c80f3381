//! `preflight-server`: the sync API on embedded SQLite or on PostgreSQL shared by several instances,
//! with TikTok Shop and Shopify live or simulated.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use preflight_server::api::{self, AppState};
use preflight_server::auth::AppCredentials;
use preflight_server::demo;
use preflight_server::engine::EnginePool;
use preflight_server::serve::{self, ServeConfig};
use preflight_server::shopify::admin::ShopifyAdmin;
use preflight_server::shopify::credentials::{reseal_all, ShopifyCredentials};
use preflight_server::shopify::graphql::{GraphqlClient, RetryConfig};
use preflight_server::shopify::oauth::{Endpoint, TokenClient};
use preflight_server::shopify::simulator::{self as shopify_simulator, ShopifySimulator};
use preflight_server::state::DemoTiktok;
use preflight_server::store::{Clock, SystemClock};
use preflight_server::store::{Database, FulfillmentQuery, PgOptions, SqliteOptions, Store};
use preflight_server::tokens::{KeyRing, SecretString, KEYS_ENV};
use preflight_server::tts::auth::AuthClient;
use preflight_server::tts::client::{ClientConfig, TtsClient};
use preflight_server::tts::connection::TtsConnections;
use preflight_server::tts::simulator::Simulator;
use preflight_server::tts::Tts;
use preflight_server::writeback;

/// Where TikTok Shop calls go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TtsMode {
    /// The built-in simulator of the platform.
    Simulator,
    /// The TikTok Shop Open API.
    Live,
}

/// Where Shopify's token endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ShopifyMode {
    /// A Shopify simulator, started on a loopback port.
    Simulator,
    /// Shopify itself: `https://{shop}/admin/oauth/access_token`.
    Live,
}

/// The sync API of Fulfillment Preflight.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Config {
    /// Address to listen on.
    #[arg(long, env = "PREFLIGHT_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Where state is kept: an SQLite file (created when missing; `sqlite:` before it is allowed), or
    /// a PostgreSQL URL (`postgres://user:password@host:port/database`) shared by several instances.
    #[arg(
        long,
        env = "PREFLIGHT_DATABASE",
        default_value = "preflight.sqlite3",
        hide_env_values = true
    )]
    database: String,
    /// How long a push waits for TikTok Shop's answer, in seconds (2 to 60), before its outcome is
    /// unknown (and read back before anything is pushed again). A push `sending` twice as long is taken for
    /// abandoned by its request: give every instance the same.
    #[arg(
        long,
        env = "PREFLIGHT_PUSH_TIMEOUT_SECS",
        default_value_t = 20,
        value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(2..=60)
    )]
    push_timeout_secs: u64,
    /// PostgreSQL connections this instance opens for queries, and as many again for the locks of
    /// fulfillments being synced.
    #[arg(
        long,
        env = "PREFLIGHT_DATABASE_POOL",
        default_value_t = 16,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000)
    )]
    database_pool: usize,
    /// TikTok Shop: the built-in simulator or the live Open API.
    #[arg(
        long,
        env = "PREFLIGHT_TTS_MODE",
        value_enum,
        default_value = "simulator"
    )]
    tts_mode: TtsMode,
    /// The TikTok Shop Open API base URL (live mode).
    #[arg(
        long,
        env = "PREFLIGHT_TTS_BASE_URL",
        default_value = "https://open-api.tiktokglobalshop.com"
    )]
    tts_base_url: String,
    /// The TikTok Shop app key.
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
    /// The TikTok Shop app's `service_id`, which its authorization page names (Partner Center, the
    /// app's page); empty: shops are not connected to TikTok Shop from the widget.
    #[arg(long, env = "PREFLIGHT_TTS_SERVICE_ID", default_value = "")]
    tts_service_id: String,
    /// TikTok Shop's token endpoints (live mode).
    #[arg(
        long,
        env = "PREFLIGHT_TTS_AUTH_BASE_URL",
        default_value = preflight_server::tts::auth::LIVE_AUTH_BASE
    )]
    tts_auth_base_url: String,
    /// The Shopify app's client id (the audience of its session tokens).
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
    /// The previous Shopify secret, accepted during a rotation.
    #[arg(
        long,
        env = "PREFLIGHT_SHOPIFY_PREVIOUS_SECRET",
        hide_env_values = true
    )]
    shopify_previous_secret: Option<String>,
    /// The `http://host:port` of a `preflight-simulators` process: TikTok Shop and Shopify simulated
    /// there, shared by several instances (in place of the built-in simulators and of the modes).
    #[arg(long, env = "PREFLIGHT_SIMULATORS")]
    simulators: Option<String>,
    /// Shopify's token endpoint: the built-in simulator or Shopify itself.
    #[arg(
        long,
        env = "PREFLIGHT_SHOPIFY_MODE",
        value_enum,
        default_value = "simulator"
    )]
    shopify_mode: ShopifyMode,
    /// A file holding the token key ring (`id:base64-key[,…]`, the first sealing), when
    /// `PREFLIGHT_TOKEN_KEYS` is not set.
    #[arg(long, env = "PREFLIGHT_TOKEN_KEY_FILE")]
    token_key_file: Option<PathBuf>,
    /// Demo mode: serve session tokens of `--demo-shop` at `GET /demo/token`, and seed the demo shop
    /// when it has no fulfillments yet. Only on a loopback address, with the simulator.
    #[arg(long, env = "PREFLIGHT_DEMO")]
    demo: bool,
    /// The shop of demo mode.
    #[arg(
        long,
        env = "PREFLIGHT_DEMO_SHOP",
        default_value = "preflight-demo.myshopify.com"
    )]
    demo_shop: String,
    /// A folder of pages to serve at `/` (the widget's host page).
    #[arg(long, env = "PREFLIGHT_WWW")]
    www: Option<PathBuf>,
    /// The browser package's folder, served at `/pkg/`.
    #[arg(long, env = "PREFLIGHT_PKG")]
    pkg: Option<PathBuf>,
    /// An origin allowed to call the API from a browser (repeatable).
    #[arg(
        long = "allowed-origin",
        env = "PREFLIGHT_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    allowed_origins: Vec<String>,
    /// How many engine jobs (reading a body, validating, writing the report) run at once, each on a
    /// blocking thread [default: the CPUs available].
    #[arg(long, env = "PREFLIGHT_ENGINE_THREADS")]
    engine_threads: Option<NonZeroUsize>,
    /// Seconds a client may take to send a request's headers; an idle keep-alive connection is
    /// closed after as long.
    #[arg(
        long,
        env = "PREFLIGHT_HEADER_READ_TIMEOUT_SECS",
        default_value_t = serve::DEFAULT_HEADER_READ_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    header_read_timeout_secs: u64,
    /// Connections open at most; past it, new ones wait until one closes.
    #[arg(
        long,
        env = "PREFLIGHT_MAX_CONNECTIONS",
        default_value_t = serve::DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    max_connections: usize,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("preflight-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: Config) -> Result<(), String> {
    if config.shopify_app_key.is_empty() || config.shopify_app_secret.is_empty() {
        return Err(
            "the Shopify app key and secret are required (--shopify-app-key, --shopify-app-secret)"
                .into(),
        );
    }
    let simulators = config
        .simulators
        .as_deref()
        .map(|url| url.trim_end_matches('/').to_owned());
    if config.demo && simulators.is_none() && config.tts_mode == TtsMode::Live {
        return Err("demo mode runs with the simulator only, not `--tts-mode live`".into());
    }
    if config.demo && simulators.is_none() && config.shopify_mode == ShopifyMode::Live {
        return Err("demo mode runs with the simulator only, not `--shopify-mode live`".into());
    }
    let database: Database = config
        .database
        .parse()
        .map_err(|e| format!("--database: {e}"))?;
    let push_timeout = std::time::Duration::from_secs(config.push_timeout_secs);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start: {e}"))?;
    let store = runtime.block_on(async {
        let postgres = PgOptions {
            max_connections: config.database_pool,
            abandoned_after: push_timeout.saturating_mul(2),
            ..PgOptions::default()
        };
        let store = database
            .open(SqliteOptions::default(), &postgres)
            .await
            .map_err(|e| format!("cannot open {database}: {e}"))?;
        let recovery = store
            .recover_interrupted()
            .await
            .map_err(|e| format!("cannot recover interrupted pushes: {e}"))?;
        if !recovery.pushes.is_empty() {
            tracing::warn!(
                pushes = recovery.pushes.len(),
                "pushes interrupted by a stop are now unknown; each is reconciled before any retry"
            );
        }
        Ok::<_, String>(store)
    })?;
    let mut simulator = None;
    let tts: Arc<dyn Tts> = match (config.tts_mode, &simulators) {
        (_, Some(url)) => {
            tracing::info!(%url, "TikTok Shop: a simulators process");
            Arc::new(
                TtsClient::new(ClientConfig::new(
                    url.clone(),
                    config.tts_app_key.clone(),
                    config.tts_app_secret.clone(),
                ))
                .map_err(|e| format!("cannot build the TikTok Shop client: {e}"))?,
            )
        }
        (TtsMode::Simulator, None) => {
            tracing::info!("TikTok Shop: the built-in simulator");
            let sim = Simulator::new(&config.tts_app_key, &config.tts_app_secret);
            // TikTok Shop sends the app's webhooks to the address its Partner Center entry names.
            sim.subscribe_webhooks(&format!("http://{}/webhooks/tiktok", config.listen));
            simulator = Some(sim.clone());
            Arc::new(sim)
        }
        (TtsMode::Live, None) => {
            if config.tts_app_key.is_empty() || config.tts_app_secret.is_empty() {
                return Err("live mode needs --tts-app-key and --tts-app-secret".into());
            }
            tracing::info!(base_url = %config.tts_base_url, "TikTok Shop: live");
            Arc::new(
                TtsClient::new(ClientConfig::new(
                    config.tts_base_url.clone(),
                    config.tts_app_key.clone(),
                    config.tts_app_secret.clone(),
                ))
                .map_err(|e| format!("cannot build the TikTok Shop client: {e}"))?,
            )
        }
    };
    if config.demo && !config.listen.ip().is_loopback() {
        return Err(format!(
            "demo mode serves session tokens to anyone who asks: it runs on a loopback address only, not {}",
            config.listen
        ));
    }
    let state = AppState::new(
        store.clone(),
        tts,
        AppCredentials {
            key: config.shopify_app_key.clone(),
            secret: config.shopify_app_secret.clone(),
            previous_secret: config.shopify_previous_secret.clone(),
        },
        config.allowed_origins.clone(),
    );
    let engine = config
        .engine_threads
        .map_or_else(EnginePool::per_cpu, EnginePool::new);
    tracing::info!(threads = engine.threads(), "engine pool");
    let state = state.with_engine(engine).with_push_timeout(push_timeout);
    let state = match config.www.clone() {
        Some(www) => state.with_pages(api::Pages {
            www,
            pkg: config.pkg.clone(),
        }),
        None => state,
    };
    let state = if config.demo {
        tracing::warn!(shop = %config.demo_shop, "demo mode: session tokens served at GET /demo/token");
        let state = state.with_demo_shop(config.demo_shop.clone());
        match (&simulator, &simulators) {
            (Some(sim), _) => state.with_demo_tiktok(DemoTiktok::Simulator(sim.clone())),
            (None, Some(url)) => state.with_demo_tiktok(DemoTiktok::Remote {
                url: url.clone(),
                http: reqwest::Client::builder()
                    .no_proxy()
                    .timeout(std::time::Duration::from_secs(15))
                    .build()
                    .map_err(|e| format!("cannot build the simulators' client: {e}"))?,
            }),
            (None, None) => state,
        }
    } else {
        tracing::info!("demo mode off");
        state
    };
    let ring = match KeyRing::from_env_or_file(config.token_key_file.as_deref()) {
        Ok(Some(ring)) => ring,
        Ok(None) if config.shopify_mode == ShopifyMode::Simulator && simulators.is_none() => {
            tracing::warn!(
                "no token key ring ({KEYS_ENV} or --token-key-file): tokens are sealed under a key of \
                 this run only, and exchanged again after a restart"
            );
            KeyRing::generate("run")
        }
        Ok(None) => {
            return Err(format!(
                "live Shopify needs a token key ring: {KEYS_ENV} or --token-key-file"
            ))
        }
        Err(e) => return Err(e.to_string()),
    };
    tracing::info!(key = ring.current(), "token key ring");
    let ring = Arc::new(ring);
    runtime.block_on(async move {
        match reseal_all(store.as_ref(), ring.as_ref()).await {
            Ok((0, 0)) => {}
            Ok((resealed, unreadable)) => tracing::warn!(
                resealed,
                unreadable,
                "tokens sealed under an older key were sealed again under the current one"
            ),
            Err(e) => return Err(format!("cannot reseal the stored tokens: {e}")),
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let mut shopify_sim = None;
        let endpoint = match (config.shopify_mode, &simulators) {
            (_, Some(url)) => {
                tracing::info!(%url, "Shopify: a simulators process");
                Endpoint::Simulated(url.clone())
            }
            (ShopifyMode::Live, None) => {
                tracing::info!("Shopify: live");
                Endpoint::Live
            }
            (ShopifyMode::Simulator, None) => {
                let sim = ShopifySimulator::new(
                    &config.shopify_app_key,
                    &config.shopify_app_secret,
                    SystemClock.now_millis().div_euclid(1000),
                );
                let (address, _task) = shopify_simulator::spawn_on_loopback(sim.clone())
                    .await
                    .map_err(|e| format!("cannot start the Shopify simulator: {e}"))?;
                tracing::info!(%address, "Shopify: the built-in simulator");
                // Shopify sends the app's webhooks, as `shopify.app.toml` subscribes them.
                sim.subscribe_webhooks(
                    &format!("http://{}", config.listen),
                    demo::WEBHOOK_SUBSCRIPTIONS,
                );
                shopify_sim = Some(sim);
                Endpoint::Simulated(format!("http://{address}"))
            }
        };
        let client = TokenClient::new(
            endpoint.clone(),
            &config.shopify_app_key,
            SecretString::from(config.shopify_app_secret.clone()),
        )
        .map_err(|e| format!("cannot build the Shopify client: {e}"))?;
        let tokens = Arc::new(ShopifyCredentials::new(
            client,
            ring.clone(),
            store.clone(),
            Arc::new(SystemClock),
        ));
        let graphql = GraphqlClient::new(endpoint, RetryConfig::default())
            .map_err(|e| format!("cannot build the Shopify client: {e}"))?;
        let admin = ShopifyAdmin::new(graphql, tokens.clone());
        let mut state = state
            .with_shopify_credentials(tokens.clone())
            .with_shopify_admin(admin.clone());
        // TikTok Shop's authorization: its page and token endpoints live, or the simulator's over
        // loopback (its page sends the seller back to this server's callback).
        let tts_auth_base = match (&simulator, &simulators) {
            (None, Some(url)) => {
                state = state.with_tiktok_authorize_host(url.clone());
                Some(url.clone())
            }
            (Some(sim), _) => {
                let (address, _task) =
                    preflight_server::tts::simulator::http::spawn_on_loopback(sim.clone())
                        .await
                        .map_err(|e| format!("cannot serve the TikTok Shop simulator: {e}"))?;
                sim.set_redirect_url(&format!("http://{}/tiktok/callback", config.listen));
                state = state.with_tiktok_authorize_host(format!("http://{address}"));
                Some(format!("http://{address}"))
            }
            (None, None) if !config.tts_service_id.is_empty() => {
                Some(config.tts_auth_base_url.clone())
            }
            (None, None) => None,
        };
        if let Some(base) = tts_auth_base {
            let auth = AuthClient::new(
                &base,
                &config.tts_app_key,
                SecretString::from(config.tts_app_secret.clone()),
            )
            .map_err(|e| format!("cannot build the TikTok Shop token client: {e}"))?;
            let connections = TtsConnections::new(
                auth,
                state.tts.clone(),
                ring.clone(),
                store.clone(),
                Arc::new(SystemClock),
            );
            let service_id = if config.tts_service_id.is_empty() {
                "simulated-service"
            } else {
                &config.tts_service_id
            };
            state = state.with_tiktok(connections, service_id);
        }
        let state = Arc::new(state);
        let _writebacks = writeback::spawn_worker(state.clone());
        let _tiktok_events = preflight_server::tiktok_events::spawn_worker(state.clone());
        let _settle = preflight_server::settle::spawn_worker(state.clone());
        if let (true, Some(sim), Some(shopify)) = (config.demo, simulator, shopify_sim) {
            let shopify = demo::DemoShopify {
                sim: shopify,
                credentials: tokens,
                admin,
            };
            let tiktok = state
                .tiktok
                .as_ref()
                .map(|(connections, _)| (**connections).clone())
                .ok_or("the demo connects its shop to the TikTok Shop simulator")?;
            seed_demo(store, &sim, &shopify, tiktok, &config.demo_shop).await?;
        }
        let limits = ServeConfig {
            header_read_timeout: std::time::Duration::from_secs(config.header_read_timeout_secs),
            max_connections: config.max_connections,
        };
        tracing::info!(
            address = %config.listen,
            database = %database,
            header_read_timeout_secs = config.header_read_timeout_secs,
            max_connections = limits.max_connections,
            "listening"
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        preflight_server::serve(listener, api::router(state), limits, shutdown)
            .await
            .map_err(|e| format!("server stopped: {e}"))
    })
}

/// Seeds the demo shop when it has no fulfillments yet, into the simulator the server uses.
async fn seed_demo(
    store: Arc<dyn Store>,
    sim: &Simulator,
    shopify: &demo::DemoShopify,
    tiktok: TtsConnections,
    shop: &str,
) -> Result<(), String> {
    let existing = store
        .list_fulfillments(
            shop,
            &FulfillmentQuery {
                limit: 1,
                ..FulfillmentQuery::default()
            },
        )
        .await
        .map_err(|e| format!("cannot read the demo shop: {e}"))?;
    if !existing.items.is_empty() {
        tracing::warn!(
            shop,
            "demo shop already seeded; the simulators start empty, so its TikTok Shop and Shopify orders are gone \
             (delete the database to seed afresh)"
        );
        return Ok(());
    }
    let summary = demo::seed(store, sim, shopify, tiktok, shop)
        .await
        .map_err(|e| format!("cannot seed the demo shop: {} ({})", e.message(), e.code()))?;
    tracing::info!(shop, seeded = summary.fulfillments, %summary, "demo shop seeded");
    Ok(())
}
