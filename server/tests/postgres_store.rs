//! The PostgreSQL store against a real server: `cargo xtask test` starts one (Debian's `postgresql`,
//! a cluster in `target/postgres/`) and names it in `PREFLIGHT_TEST_POSTGRES`; each test makes a
//! database of its own. Run alone with `cargo test`, without that variable, these tests say so and
//! check nothing.
//!
//! The schema migrated on connect, by one instance at a time when several start together; a database
//! migrated by a newer build refused; a server that cannot be reached answered as unavailable (503);
//! the shop's version kept by the schema's triggers; a fulfillment locked across instances, and let go
//! when its holder dies.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use std::time::Duration;

use preflight_server::store::{PgOptions, PgStore, StoreError};
use tokio_postgres::NoTls;

/// A fresh database on the test server: its URL, or `None` when no server is named.
async fn fresh_database() -> Option<String> {
    let Ok(admin) = std::env::var("PREFLIGHT_TEST_POSTGRES") else {
        eprintln!(
            "PREFLIGHT_TEST_POSTGRES is not set: run `cargo xtask test` for the PostgreSQL suites"
        );
        return None;
    };
    let (client, connection) = tokio_postgres::connect(&admin, NoTls).await.unwrap();
    tokio::spawn(connection);
    let name = format!("t_{:016x}", rand::random::<u64>());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    Some(format!("{base}/{name}"))
}

async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn the_schema_is_migrated_once_by_instances_starting_together() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let options = PgOptions::default();
    let started = futures_join(&url, &options).await;
    for store in &started {
        assert_eq!(
            store.schema_version().await.unwrap(),
            PgStore::newest_version()
        );
        store.ping().await.unwrap();
    }
    let client = raw(&url).await;
    let applied: i64 = client
        .query_one("SELECT COUNT(*) FROM refinery_schema_history", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied, PgStore::newest_version());
}

/// Three instances connecting at once.
async fn futures_join(url: &str, options: &PgOptions) -> Vec<PgStore> {
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (url, options) = (url.to_owned(), options.clone());
            tokio::spawn(async move { PgStore::connect(&url, &options).await })
        })
        .collect();
    let mut stores = Vec::new();
    for task in tasks {
        stores.push(task.await.unwrap().unwrap());
    }
    stores
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_build_is_refused() {
    let Some(url) = fresh_database().await else {
        return;
    };
    PgStore::connect(&url, &PgOptions::default()).await.unwrap();
    let newer = PgStore::newest_version() + 1;
    let client = raw(&url).await;
    client
        .execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
             VALUES ($1, 'from_the_future', '2030-01-01T00:00:00Z', '0')",
            &[&i32::try_from(newer).unwrap()],
        )
        .await
        .unwrap();
    let refused = PgStore::connect(&url, &PgOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::SchemaTooNew { found, supported }
            if found == newer && supported == PgStore::newest_version()),
        "{refused:?}"
    );
    assert_eq!(refused.code(), "store.schema_too_new");
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_is_unavailable() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = PgOptions {
        wait: Duration::from_millis(500),
        ..PgOptions::default()
    };
    let refused = PgStore::connect(
        &format!("postgres://preflight@127.0.0.1:{port}/x"),
        &options,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), "store.unavailable", "{refused:?}");
    let bad = PgStore::connect("mysql://nowhere", &options)
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "store.invalid_input", "{bad:?}");
}

#[tokio::test]
async fn the_shops_version_moves_with_each_change_it_covers() {
    let Some(url) = fresh_database().await else {
        return;
    };
    PgStore::connect(&url, &PgOptions::default()).await.unwrap();
    let client = raw(&url).await;
    let version = |shop: &'static str| {
        let client = &client;
        async move {
            client
                .query_opt(
                    "SELECT version FROM shop_versions WHERE shop = $1",
                    &[&shop],
                )
                .await
                .unwrap()
                .map_or(0, |r| r.get::<_, i64>(0))
        }
    };
    assert_eq!(version("a.myshopify.com").await, 0);
    client
        .execute(
            "INSERT INTO fulfillments (shop, fulfillment_id, shopify_json, shopify_updated_at, \
             created_at, updated_at) VALUES ('a.myshopify.com', '1', '{}', 'x', 0, 0)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(version("a.myshopify.com").await, 1);
    client
        .execute(
            "INSERT INTO shop_settings (shop, settings_json, updated_at) \
             VALUES ('a.myshopify.com', '{\"region\":\"US\"}', 0)",
            &[],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO shop_credentials (shop, platform, access_token, updated_at) \
             VALUES ('a.myshopify.com', 'tiktok', 'v1.x', 0)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(version("a.myshopify.com").await, 2, "a token is no change");
    client
        .execute(
            "UPDATE shop_credentials SET needs_reconnect = TRUE WHERE shop = 'a.myshopify.com'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        version("a.myshopify.com").await,
        3,
        "the reconnect prompt is"
    );
    assert_eq!(version("b.myshopify.com").await, 0, "per shop");
    // Not JSON is refused.
    let refused = client
        .execute(
            "INSERT INTO fulfillments (shop, fulfillment_id, shopify_json, shopify_updated_at, \
             created_at, updated_at) VALUES ('a.myshopify.com', '2', '{oops', 'x', 0, 0)",
            &[],
        )
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_fulfillment_is_locked_across_instances_and_let_go_when_its_holder_dies() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let options = PgOptions::default();
    let (one, two) = (
        PgStore::connect(&url, &options).await.unwrap(),
        PgStore::connect(&url, &options).await.unwrap(),
    );
    let held = one
        .lock_fulfillment("a.myshopify.com", "4711")
        .await
        .unwrap();
    // Another fulfillment, or another shop's, is not held up.
    two.lock_fulfillment("a.myshopify.com", "4712")
        .await
        .unwrap()
        .unlock()
        .await
        .unwrap();
    two.lock_fulfillment("b.myshopify.com", "4711")
        .await
        .unwrap()
        .unlock()
        .await
        .unwrap();
    // The same one waits for its holder on the other instance.
    let waiting = tokio::spawn({
        let two = two.clone();
        async move { two.lock_fulfillment("a.myshopify.com", "4711").await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "granted while held elsewhere");
    held.unlock().await.unwrap();
    let second = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // A holder that dies (its lock dropped, not unlocked) lets go too: its connection is closed.
    drop(second);
    tokio::time::timeout(
        Duration::from_secs(5),
        one.lock_fulfillment("a.myshopify.com", "4711"),
    )
    .await
    .unwrap()
    .unwrap()
    .unlock()
    .await
    .unwrap();
}
