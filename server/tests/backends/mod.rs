//! The stores a suite runs on: SQLite on a fresh file, always, and PostgreSQL on a fresh database when
//! `PREFLIGHT_TEST_POSTGRES` names a server (`cargo xtask test` starts one and names it). Run alone
//! with `cargo test`, without that variable, the PostgreSQL runs say so and are skipped. The
//! PostgreSQL store takes a push `sending` for abandoned as soon as no instance holds its
//! fulfillment, as SQLite does at start.

#![expect(
    clippy::expect_used,
    reason = "a test's set-up: a failure panics with what it could not have"
)]
#![allow(dead_code, reason = "each suite uses a part")]

use std::sync::Arc;

use preflight_server::store::{
    Clock, PgOptions, PgStore, SqliteOptions, SqliteStore, Store, SystemClock,
};
use tokio_postgres::NoTls;

/// A store of one backend, with what it needs kept alive.
pub struct Backend {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Where the SQLite file is, or the PostgreSQL database's URL.
    pub location: String,
    clock: Arc<dyn Clock>,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    /// Another instance on the same database, as another process would have.
    pub async fn instance(&self) -> Arc<dyn Store> {
        open(self.name, &self.location, self.clock.clone()).await
    }
}

/// The store of backend `name` (`sqlite` or `postgres`) at `location`, as [`Backend::location`]
/// gives it: for a child process.
pub async fn open(name: &str, location: &str, clock: Arc<dyn Clock>) -> Arc<dyn Store> {
    if name == "postgres" {
        let options = PgOptions {
            clock,
            abandoned_after: std::time::Duration::ZERO,
            ..PgOptions::default()
        };
        Arc::new(
            PgStore::connect(location, &options)
                .await
                .expect("PostgreSQL"),
        )
    } else {
        let options = SqliteOptions {
            clock,
            ..SqliteOptions::default()
        };
        Arc::new(SqliteStore::open_with(location, options).expect("SQLite"))
    }
}

/// The server `cargo xtask test` started, when it named one.
pub fn postgres_server() -> Option<String> {
    let url = std::env::var("PREFLIGHT_TEST_POSTGRES").ok();
    if url.is_none() {
        eprintln!("PREFLIGHT_TEST_POSTGRES is not set: the PostgreSQL run is skipped (run `cargo xtask test`)");
    }
    url
}

/// A fresh, empty database on the test server: its URL, or `None` when no server is named.
pub async fn fresh_postgres_database() -> Option<String> {
    let admin = postgres_server()?;
    let (client, connection) = tokio_postgres::connect(&admin, NoTls)
        .await
        .expect("the test server");
    tokio::spawn(connection);
    let name = format!("t_{:016x}", rand::random::<u64>());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("a database");
    let base = admin.rsplit_once('/').expect("a URL with a database").0;
    Some(format!("{base}/{name}"))
}

/// SQLite on a fresh file, on `clock`.
pub async fn sqlite(clock: Arc<dyn Clock>) -> Backend {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let location = dir.path().join("preflight.db").display().to_string();
    Backend {
        name: "sqlite",
        store: open("sqlite", &location, clock.clone()).await,
        location,
        clock,
        _dir: Some(dir),
    }
}

/// PostgreSQL on a fresh database, on `clock`, when a server is named.
pub async fn postgres(clock: Arc<dyn Clock>) -> Option<Backend> {
    let location = fresh_postgres_database().await?;
    Some(Backend {
        name: "postgres",
        store: open("postgres", &location, clock.clone()).await,
        location,
        clock,
        _dir: None,
    })
}

/// Every backend, on `clock`.
pub async fn each_on(clock: Arc<dyn Clock>) -> Vec<Backend> {
    let mut all = vec![sqlite(clock.clone()).await];
    all.extend(postgres(clock).await);
    all
}

/// Every backend, on the system clock.
pub async fn each() -> Vec<Backend> {
    each_on(Arc::new(SystemClock)).await
}
