//! A sync API for a test: a fresh SQLite file, the simulator, hyper's server on a free loopback port,
//! and session tokens of one shop.

#![expect(
    clippy::expect_used,
    reason = "a test's set-up: a failure panics with what it could not have"
)]

use std::sync::Arc;

use preflight_server::api::{self, AppState};
use preflight_server::auth::{self, AppCredentials};
use preflight_server::store::SqliteStore;
use preflight_server::tts::simulator::Simulator;
use preflight_server::ServeConfig;

/// The shop the tokens are of.
pub const SHOP: &str = "acme.myshopify.com";

/// A running server; its files go with it.
pub struct TestServer {
    /// `http://127.0.0.1:port`.
    pub url: String,
    /// A client that never goes through a proxy.
    pub http: reqwest::Client,
    app: AppCredentials,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server whose state `configure` finishes.
    ///
    /// # Panics
    /// When the database or the port cannot be had: the test cannot run.
    pub async fn start_with(configure: impl FnOnce(AppState) -> AppState) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = Arc::new(SqliteStore::open(dir.path().join("test.sqlite3")).expect("SQLite"));
        let app = AppCredentials {
            key: "app-key".into(),
            secret: "app-secret".into(),
            previous_secret: None,
        };
        let state = Arc::new(configure(AppState::new(
            store,
            Arc::new(Simulator::new("k", "s")),
            app.clone(),
            Vec::new(),
        )));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        tokio::spawn(preflight_server::serve(
            listener,
            api::router(state),
            ServeConfig::default(),
            std::future::pending(),
        ));
        Self {
            url,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("a client"),
            app,
            _dir: dir,
        }
    }

    /// A session token of [`SHOP`], valid ten minutes.
    ///
    /// # Panics
    /// When the clock is before 1970.
    pub fn token(&self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_secs();
        auth::issue_session_token(&self.app, SHOP, "7", now, 600).expect("a token")
    }
}
