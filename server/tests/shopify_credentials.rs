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
use preflight_server::store::{Clock, Platform, SqliteOptions, SqliteStore, Store};
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
