//! Each shop's Shopify access token, against the Shopify simulator on loopback and a real SQLite file:
//! exchanged on the merchant's first request and sealed at rest, reused while fresh, refreshed before
//! expiry with the pair rotated once even when requests race, a refused refresh asking for a reload.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use preflight_server::shopify::credentials::{CredentialsError, ShopifyCredentials};
use preflight_server::shopify::oauth::{Endpoint, TokenClient};
use preflight_server::shopify::simulator::{spawn_on_loopback, ShopifySimulator};
use preflight_server::store::{Clock, Platform, SqliteOptions, SqliteStore};
use preflight_server::tokens::{ExposeSecret, KeyRing, SecretString};
use tempfile::TempDir;

const SHOP: &str = "acme.myshopify.com";
const T0: i64 = 1_795_000_000;

#[derive(Debug)]
struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct World {
    sim: ShopifySimulator,
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    credentials: ShopifyCredentials,
    _dir: TempDir,
}

impl World {
    async fn new() -> Self {
        let sim = ShopifySimulator::new("id", "secret", T0);
        let (addr, _task) = spawn_on_loopback(sim.clone()).await.unwrap();
        let dir = TempDir::new().unwrap();
        let clock = Arc::new(ManualClock(AtomicI64::new(T0 * 1000)));
        let options = SqliteOptions {
            clock: clock.clone(),
            ..SqliteOptions::default()
        };
        let store = Arc::new(SqliteStore::open_with(dir.path().join("p.db"), options).unwrap());
        let client = TokenClient::new(
            Endpoint::Simulated(format!("http://{addr}")),
            "id",
            SecretString::from("secret".to_owned()),
        )
        .unwrap();
        let spec = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned();
        let ring = Arc::new(KeyRing::parse(&SecretString::from(spec)).unwrap());
        let credentials = ShopifyCredentials::new(client, ring, store.clone(), clock.clone());
        Self {
            sim,
            store,
            clock,
            credentials,
            _dir: dir,
        }
    }

    /// Both clocks move on.
    fn advance(&self, secs: i64) {
        self.clock.0.fetch_add(secs * 1000, Ordering::SeqCst);
        self.sim.set_now(self.sim.now() + secs);
    }
}

#[tokio::test]
async fn exchanged_on_first_request_reused_then_refreshed() {
    let w = World::new().await;
    let err = w.credentials.access_token(SHOP, None).await.unwrap_err();
    assert!(matches!(err, CredentialsError::NotInstalled), "{err}");

    let session = w.sim.session_token(SHOP, "42");
    let first = w
        .credentials
        .access_token(SHOP, Some(&session))
        .await
        .unwrap();
    assert!(w.sim.access_token_valid(SHOP, first.expose_secret()));
    let stored = w
        .store
        .credentials(SHOP, Platform::Shopify)
        .unwrap()
        .unwrap();
    assert!(stored.access_token.starts_with("v1.k1."));
    assert!(!stored.access_token.contains(first.expose_secret()));

    // Fresh: reused, nothing issued.
    w.advance(30 * 60);
    let again = w.credentials.access_token(SHOP, None).await.unwrap();
    assert_eq!(again.expose_secret(), first.expose_secret());
    assert_eq!(w.sim.issued(), 1);

    // Within five minutes of expiry: refreshed, the pair rotated and stored whole.
    w.advance(27 * 60);
    let refreshed = w.credentials.access_token(SHOP, None).await.unwrap();
    assert_ne!(refreshed.expose_secret(), first.expose_secret());
    assert!(w.sim.access_token_valid(SHOP, refreshed.expose_secret()));
    assert_eq!(w.sim.issued(), 2);
    let rotated = w
        .store
        .credentials(SHOP, Platform::Shopify)
        .unwrap()
        .unwrap();
    assert_ne!(rotated.refresh_token, stored.refresh_token);
    assert_eq!(rotated.previous_refresh_token, stored.refresh_token);
}

#[tokio::test]
async fn racing_requests_rotate_the_pair_once() {
    let w = World::new().await;
    let session = w.sim.session_token(SHOP, "42");
    w.credentials
        .access_token(SHOP, Some(&session))
        .await
        .unwrap();
    w.advance(58 * 60);
    let (a, b) = tokio::join!(
        w.credentials.access_token(SHOP, None),
        w.credentials.access_token(SHOP, None)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.expose_secret(), b.expose_secret());
    assert_eq!(w.sim.issued(), 2);
    // The stored refresh token is the one Shopify takes next.
    w.advance(58 * 60);
    assert!(w.credentials.access_token(SHOP, None).await.is_ok());
    assert_eq!(w.sim.issued(), 3);
}

#[tokio::test]
async fn a_refused_refresh_asks_for_a_reload_and_a_session_token_reinstalls() {
    let w = World::new().await;
    let session = w.sim.session_token(SHOP, "42");
    w.credentials
        .access_token(SHOP, Some(&session))
        .await
        .unwrap();
    // Uninstalled and installed again at Shopify: the stored refresh token is refused.
    w.sim.uninstall(SHOP);
    w.advance(58 * 60);
    let err = w.credentials.access_token(SHOP, None).await.unwrap_err();
    assert!(matches!(err, CredentialsError::ReloadNeeded), "{err}");
    assert_eq!(err.code(), "shopify.reload_needed");
    let marked = w
        .store
        .credentials(SHOP, Platform::Shopify)
        .unwrap()
        .unwrap();
    assert!(marked.needs_reconnect);
    // A forged session token is refused and changes nothing.
    let forged = ShopifySimulator::new("id", "other", T0).session_token(SHOP, "42");
    let err = w
        .credentials
        .access_token(SHOP, Some(&forged))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth.invalid_token");
    assert!(
        w.store
            .credentials(SHOP, Platform::Shopify)
            .unwrap()
            .unwrap()
            .needs_reconnect
    );
    // The merchant reloads: their session token installs the app again.
    let session = w.sim.session_token(SHOP, "42");
    let token = w
        .credentials
        .access_token(SHOP, Some(&session))
        .await
        .unwrap();
    assert!(w.sim.access_token_valid(SHOP, token.expose_secret()));
    let stored = w
        .store
        .credentials(SHOP, Platform::Shopify)
        .unwrap()
        .unwrap();
    assert!(!stored.needs_reconnect);
}

mod first_request {
    use super::*;
    use preflight_server::api::{self, AppState};
    use preflight_server::auth::{self, AppCredentials};
    use preflight_server::store::SystemClock;
    use preflight_server::tts::simulator::Simulator;
    use preflight_server::ServeConfig;

    /// The sync API on loopback keeping Shopify tokens with a Shopify simulator; its app's session
    /// tokens are the simulator's.
    async fn server() -> (String, ShopifySimulator, Arc<SqliteStore>, TempDir) {
        server_with("app-secret").await
    }

    /// As [`server`], its token client holding `client_secret`.
    async fn server_with(
        client_secret: &str,
    ) -> (String, ShopifySimulator, Arc<SqliteStore>, TempDir) {
        let now = SystemClock.now_millis() / 1000;
        let sim = ShopifySimulator::new("app-key", "app-secret", now);
        let (addr, _task) = spawn_on_loopback(sim.clone()).await.unwrap();
        let dir = TempDir::new().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("p.db")).unwrap());
        let client = TokenClient::new(
            Endpoint::Simulated(format!("http://{addr}")),
            "app-key",
            SecretString::from(client_secret.to_owned()),
        )
        .unwrap();
        let ring = Arc::new(KeyRing::generate("test"));
        let tokens = ShopifyCredentials::new(client, ring, store.clone(), Arc::new(SystemClock));
        let app = AppCredentials {
            key: "app-key".into(),
            secret: "app-secret".into(),
            previous_secret: None,
        };
        let state = AppState::new(
            store.clone(),
            Arc::new(Simulator::new("k", "s")),
            app,
            Vec::new(),
        )
        .with_shopify_tokens(tokens);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(preflight_server::serve(
            listener,
            api::router(Arc::new(state)),
            ServeConfig::default(),
            std::future::pending(),
        ));
        (url, sim, store, dir)
    }

    #[tokio::test]
    async fn the_first_request_installs_and_an_uninstall_forgets() {
        let (url, sim, store, _dir) = server().await;
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let get = |token: String| {
            let http = http.clone();
            let url = url.clone();
            async move {
                http.get(format!("{url}/api/settings"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(get(sim.session_token(SHOP, "42")).await, 200);
        assert_eq!(sim.issued(), 1);
        assert!(store
            .credentials(SHOP, Platform::Shopify)
            .unwrap()
            .is_some());
        // Later requests use what is stored: nothing exchanged again.
        assert_eq!(get(sim.session_token(SHOP, "42")).await, 200);
        assert_eq!(sim.issued(), 1);

        // Uninstalled: the tokens go, and the next request (a reinstall) exchanges again.
        let body = r#"{"id": 1}"#;
        let response = http
            .post(format!("{url}/webhooks/shopify/app/uninstalled"))
            .header(
                "x-shopify-hmac-sha256",
                auth::webhook_hmac("app-secret", body.as_bytes()),
            )
            .header("x-shopify-shop-domain", SHOP)
            .header("x-shopify-topic", "app/uninstalled")
            .header("x-shopify-webhook-id", "w1")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(store
            .credentials(SHOP, Platform::Shopify)
            .unwrap()
            .is_none());
        assert_eq!(get(sim.session_token(SHOP, "42")).await, 200);
        assert_eq!(sim.issued(), 2);
    }

    #[tokio::test]
    async fn a_refused_authorization_serves_nothing_of_the_shop() {
        let (url, sim, store, _dir) = server_with("not-the-client-secret").await;
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("{url}/api/settings"))
            .bearer_auth(sim.session_token(SHOP, "42"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "shopify.reload_needed");
        assert!(store
            .credentials(SHOP, Platform::Shopify)
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn a_key_rotation_reseals_every_stored_token() {
    use preflight_server::shopify::credentials::reseal_all;
    let w = World::new().await;
    let session = w.sim.session_token(SHOP, "42");
    let token = w
        .credentials
        .access_token(SHOP, Some(&session))
        .await
        .unwrap();
    let k1 = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let k2 = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let ring = |spec: String| KeyRing::parse(&SecretString::from(spec)).unwrap();

    // The new key first: every row sealed again under it, once.
    let rotated = ring(format!("{k2},{k1}"));
    assert_eq!(
        reseal_all(w.store.as_ref(), &rotated).await.unwrap(),
        (1, 0)
    );
    assert_eq!(
        reseal_all(w.store.as_ref(), &rotated).await.unwrap(),
        (0, 0)
    );
    let stored = w
        .store
        .credentials(SHOP, Platform::Shopify)
        .unwrap()
        .unwrap();
    assert!(stored.access_token.starts_with("v1.k2."));
    assert!(stored.refresh_token.unwrap().starts_with("v1.k2."));

    // The old key retired: the tokens still open.
    let only_new = ring(k2.to_owned());
    let opened = only_new
        .open(
            SHOP,
            preflight_server::tokens::Purpose::ShopifyAccess,
            &stored.access_token,
        )
        .unwrap();
    assert_eq!(opened.expose_secret(), token.expose_secret());

    // A ring that opens nothing leaves the row as it is, counted unreadable.
    let k3 = "k3:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
    assert_eq!(
        reseal_all(w.store.as_ref(), &ring(k3.to_owned()))
            .await
            .unwrap(),
        (0, 1)
    );
}
