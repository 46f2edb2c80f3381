//! What every handler shares: the store (which also holds each fulfillment being synced, across
//! instances), TikTok Shop, the app's credentials, the clock and the engine's pool, with the store reads
//! every layer needs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use preflight::Timestamp;

use crate::auth::AppCredentials;
use crate::engine::EnginePool;
use crate::error::ApiError;
use crate::shopify::admin::ShopifyAdmin;
use crate::shopify::credentials::ShopifyCredentials;
use crate::store::{Clock, Store, SystemClock, PUSH_TIMEOUT};
use crate::tts::connection::TtsConnections;
use crate::tts::{ShopContext, Tts};

/// Folders of pages to serve.
#[derive(Clone, Debug)]
pub struct Pages {
    /// Served at `/` (`index.html` for the folder).
    pub www: std::path::PathBuf,
    /// Served at `/pkg/`: the browser package.
    pub pkg: Option<std::path::PathBuf>,
}

/// Where the demo's changes at TikTok Shop are played: the simulator in this process, or the one of a
/// `preflight-simulators` process several instances share (its `POST /demo/changes`).
#[derive(Clone, Debug)]
pub enum DemoTiktok {
    /// The simulator this server uses.
    Simulator(crate::tts::simulator::Simulator),
    /// The simulators process at this base URL (`http://host:port`).
    Remote {
        /// Its base URL.
        url: String,
        /// The client that calls it.
        http: reqwest::Client,
    },
}

/// What every handler shares.
pub struct AppState {
    /// Where everything is kept.
    pub store: Arc<dyn Store>,
    /// TikTok Shop, live or simulated.
    pub tts: Arc<dyn Tts>,
    /// The Shopify app's key and secrets (session tokens and webhooks).
    pub shopify: AppCredentials,
    /// Origins allowed to call `/api/*` from a browser.
    pub allowed_origins: Vec<String>,
    /// In demo mode (loopback only), the shop whose session tokens `GET /demo/token` serves.
    pub demo_shop: Option<String>,
    /// The pages served (the widget's host page at `/`, the package at `/pkg/`), when any.
    pub pages: Option<Pages>,
    /// The clock the engine validates with and pushes are dated by (the system clock unless set).
    pub clock: Arc<dyn Clock>,
    /// Where the engine runs: a bounded pool of blocking threads, one per CPU unless set.
    pub engine: EnginePool,
    /// How long a push may wait for TikTok Shop's answer before its outcome is unknown
    /// ([`PUSH_TIMEOUT`] unless set).
    pub push_timeout: Duration,
    /// Each shop's Shopify access token, when the server talks to Shopify (live or simulated).
    pub shopify_tokens: Option<Arc<ShopifyCredentials>>,
    /// Shops known to hold a Shopify access token, so that only a shop's first request asks the store.
    installed: std::sync::Mutex<HashSet<String>>,
    /// Each shop's Admin API, when the server talks to Shopify (live or simulated).
    pub shopify_admin: Option<Arc<ShopifyAdmin>>,
    /// This instance's id, random: it names the work it claims (a backfill run) among the instances
    /// sharing the store.
    pub instance: String,
    /// Each shop's TikTok Shop connection, and the app's `service_id` its authorization page names,
    /// when the server connects shops to TikTok Shop.
    pub tiktok: Option<(Arc<TtsConnections>, String)>,
    /// Wakes the worker of TikTok Shop's webhooks when one is queued.
    pub tiktok_events: tokio::sync::Notify,
    /// When listing each (shop, delivery option)'s providers last failed, Unix milliseconds: it is
    /// not asked again for a while.
    pub(crate) listing_failures: std::sync::Mutex<HashMap<(String, String), i64>>,
    /// The host of TikTok Shop's authorization page, when not the market's own (a simulator's).
    pub tiktok_authorize_host: Option<String>,
    /// In demo mode, the TikTok Shop simulator the demo page's "Change at TikTok Shop" plays on.
    pub demo_tiktok: Option<DemoTiktok>,
}

impl AppState {
    /// The state of a server.
    pub fn new(
        store: Arc<dyn Store>,
        tts: Arc<dyn Tts>,
        shopify: AppCredentials,
        allowed_origins: Vec<String>,
    ) -> Self {
        Self {
            store,
            tts,
            shopify,
            allowed_origins,
            demo_shop: None,
            pages: None,
            clock: Arc::new(SystemClock),
            engine: EnginePool::per_cpu(),
            push_timeout: PUSH_TIMEOUT,
            shopify_tokens: None,
            installed: std::sync::Mutex::default(),
            shopify_admin: None,
            instance: format!("{:032x}", rand::random::<u128>()),
            tiktok: None,
            tiktok_events: tokio::sync::Notify::new(),
            demo_tiktok: None,
            tiktok_authorize_host: None,
            listing_failures: std::sync::Mutex::default(),
        }
    }

    /// The same state connecting shops to TikTok Shop through `connections`, for the app whose
    /// authorization page is `service_id`'s.
    #[must_use]
    pub fn with_tiktok(mut self, connections: TtsConnections, service_id: &str) -> Self {
        self.tiktok = Some((Arc::new(connections), service_id.to_owned()));
        self
    }

    /// The same state reading and writing each shop's Shopify through `admin`.
    #[must_use]
    pub fn with_shopify_admin(mut self, admin: ShopifyAdmin) -> Self {
        self.shopify_admin = Some(Arc::new(admin));
        self
    }

    /// The same state keeping each shop's Shopify access token with `tokens`.
    #[must_use]
    pub fn with_shopify_tokens(self, tokens: ShopifyCredentials) -> Self {
        self.with_shopify_credentials(Arc::new(tokens))
    }

    /// The same state keeping each shop's Shopify access token with `tokens`, shared.
    #[must_use]
    pub fn with_shopify_credentials(mut self, tokens: Arc<ShopifyCredentials>) -> Self {
        self.shopify_tokens = Some(tokens);
        self
    }

    /// Whether the shop is known to hold a Shopify access token in this process.
    pub fn is_installed(&self, shop: &str) -> bool {
        self.installed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(shop)
    }

    /// Records whether the shop holds a Shopify access token.
    pub fn set_installed(&self, shop: &str, installed: bool) {
        let mut set = self
            .installed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if installed {
            set.insert(shop.to_owned());
        } else {
            set.remove(shop);
        }
    }

    /// The same state in demo mode: `GET /demo/token` serves session tokens of `shop`. Only for a
    /// server bound to loopback.
    #[must_use]
    pub fn with_demo_shop(mut self, shop: impl Into<String>) -> Self {
        self.demo_shop = Some(shop.into());
        self
    }

    /// The same state sending sellers to the authorization page on `host` (a simulator's address)
    /// rather than their market's.
    #[must_use]
    pub fn with_tiktok_authorize_host(mut self, host: impl Into<String>) -> Self {
        self.tiktok_authorize_host = Some(host.into());
        self
    }

    /// The same state letting the demo page change orders at TikTok Shop's simulator
    /// (`POST /demo/tiktok-changes`).
    #[must_use]
    pub fn with_demo_tiktok(mut self, demo: DemoTiktok) -> Self {
        self.demo_tiktok = Some(demo);
        self
    }

    /// The same state serving pages: `www` at `/` and, when given, `pkg` at `/pkg/`.
    #[must_use]
    pub fn with_pages(mut self, pages: Pages) -> Self {
        self.pages = Some(pages);
        self
    }

    /// The same state on another clock (the demo seed dates its past pushes with one).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same state running the engine on `engine`.
    #[must_use]
    pub fn with_engine(mut self, engine: EnginePool) -> Self {
        self.engine = engine;
        self
    }

    /// The same state giving each push `timeout` for TikTok Shop's answer.
    #[must_use]
    pub const fn with_push_timeout(mut self, timeout: Duration) -> Self {
        self.push_timeout = timeout;
        self
    }

    /// How long a push stays `sending` at most while its request lives (twice the push timeout): one
    /// older was left by a request that died, and whoever holds its fulfillment may settle it.
    #[must_use]
    pub fn abandoned_after(&self) -> Duration {
        self.push_timeout.saturating_mul(2)
    }

    /// The current instant, by the state's clock.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.clock.now_millis())
    }
}

/// The shop's settings as stored (JSON), when ever saved.
pub(crate) async fn settings_text(
    state: &AppState,
    shop: &str,
) -> Result<Option<String>, ApiError> {
    Ok(state.store.settings(shop).await?)
}

/// The TikTok Shop context of a shop's calls: its connected shop's cipher and a live access token
/// (refreshed when due). A shop never connected is named by its Shopify domain, without a token, as
/// the simulator's shops of no seller are.
///
/// # Errors
/// 409 `tiktok.reconnect_needed` when the authorization ended (nothing is called with an expired
/// token); 502 `tiktok.unavailable` when a due refresh got no answer; the store's.
pub(crate) async fn tiktok_context(state: &AppState, shop: &str) -> Result<ShopContext, ApiError> {
    let Some((connections, _)) = &state.tiktok else {
        return Ok(ShopContext::new(shop, ""));
    };
    match connections.context(shop).await {
        Ok(Some(context)) => Ok(context),
        Ok(None) => Ok(ShopContext::new(shop, "")),
        Err(error) => {
            let status = match &error {
                crate::tts::connection::ConnectionError::ReconnectNeeded => StatusCode::CONFLICT,
                crate::tts::connection::ConnectionError::Unavailable(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Err(ApiError::new(status, error.code(), error.to_string()))
        }
    }
}
