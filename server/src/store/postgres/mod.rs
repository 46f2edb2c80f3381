//! The store on PostgreSQL, for several sync API instances sharing one database: a deadpool pool of
//! tokio-postgres connections, the schema migrated by refinery from `server/migrations/postgres/`
//! (one instance at a time, under an advisory lock), and a database migrated by a newer build refused.
//!
//! Every read-then-write runs in one READ COMMITTED transaction that locks what it read before writing
//! (a fulfillment's row before its pushes), first-use rows go in with `INSERT … ON CONFLICT`, claims
//! skip the rows another instance holds, and a transaction that meets a deadlock or a serialization
//! failure runs again, whole. A lost connection or a server shutting down answers
//! [`StoreError::Unavailable`].
//!
//! tokio-postgres with deadpool-postgres over sqlx: measured on loopback with 8 concurrent workers
//! each running `BEGIN; SELECT … FOR UPDATE; UPDATE; COMMIT`, about 8,700 transactions a second
//! against sqlx's 6,700, with fewer dependencies to build.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{
    ClientWrapper, Hook, HookError, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod,
    Runtime,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use super::locks::{KeyGuard, KeyedLocks};
use super::{Clock, StoreError, SystemClock};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// How many times a transaction that may succeed when run again ([`retryable`]) runs again.
const RETRIES: u32 = 4;

/// Runs `$attempt`, a future answering `Result<T, StoreError>` made anew each time, again while it
/// fails with what a second run may not meet ([`retryable`]), up to [`RETRIES`] times; a deadlock or
/// a serialization failure met every time answers [`StoreError::Unavailable`] (send again).
macro_rules! retrying {
    ($attempt:expr) => {{
        let mut retries = 0_u32;
        loop {
            match $attempt.await {
                Err(error)
                    if retries < $crate::store::postgres::RETRIES
                        && $crate::store::postgres::retryable(&error) =>
                {
                    retries += 1;
                    $crate::store::postgres::backoff(retries).await;
                }
                Err(error) if $crate::store::postgres::contended(&error) => {
                    break Err($crate::store::StoreError::Unavailable(error.to_string()))
                }
                outcome => break outcome,
            }
        }
    }};
}

/// Runs `$body` (a block answering `Result<T, StoreError>`; `?` and `return` leave it) in a READ
/// COMMITTED transaction on one of `$store`'s connections, `$tx` the transaction and `$now` the
/// store's clock read at its start (Unix milliseconds): committed when it answers `Ok`, rolled back
/// otherwise, and run again, whole, as [`retrying`] says.
macro_rules! transaction {
    ($store:expr, |$tx:ident, $now:pat_param| $($body:tt)*) => {{
        let store: &$crate::store::PgStore = $store;
        retrying!(on_connection!(store, |mut client| async {
            let transaction = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::ReadCommitted)
                .start()
                .await?;
            let $now = store.now();
            let out = {
                let $tx = &transaction;
                async {
                    let out: Result<_, StoreError> = { $($body)* };
                    out
                }
                .await?
            };
            transaction.commit().await?;
            Ok::<_, StoreError>(out)
        }))
    }};
}

/// Runs `$call`, a future using `$client` (a connection of `$store`'s pool), as a future
/// that gives the connection back to the pool after, or closes it when the call found it broken.
macro_rules! on_connection {
    ($store:expr, |mut $client:ident| $call:expr) => {
        async {
            let mut $client = $store.client().await?;
            let outcome = $call.await;
            $crate::store::postgres::give_back($client, &outcome);
            outcome
        }
    };
    ($store:expr, |$client:ident| $call:expr) => {
        async {
            let $client = $store.client().await?;
            let outcome = $call.await;
            $crate::store::postgres::give_back($client, &outcome);
            outcome
        }
    };
}

mod ops;
mod rows;
mod store;

/// Whether a failed transaction may succeed when run again, as if it had run alone: it met a
/// deadlock (40P01), a serialization failure (40001), a second open push of one fulfillment (a unique
/// violation of `pushes_one_open`: the next run answers [`StoreError::PushInFlight`]), or a row that
/// another transaction deleted under it (a foreign key violation: a shop's rows deleted meanwhile).
fn retryable(error: &StoreError) -> bool {
    let StoreError::Postgres(error) = error else {
        return false;
    };
    error.as_db_error().is_some_and(|db| {
        let code = db.code();
        *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::FOREIGN_KEY_VIOLATION
            || (*code == SqlState::UNIQUE_VIOLATION && db.constraint() == Some("pushes_one_open"))
    })
}

/// Whether a failed transaction met a deadlock (40P01) or a serialization failure (40001).
fn contended(error: &StoreError) -> bool {
    let StoreError::Postgres(error) = error else {
        return false;
    };
    error.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::T_R_DEADLOCK_DETECTED
            || *db.code() == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// Gives a connection back to the pool after a call, or closes it when the call found it broken (the
/// server restarted or ended it): the next call opens a new one rather than meet the same failure.
fn give_back<T>(client: deadpool_postgres::Object, outcome: &Result<T, StoreError>) {
    if matches!(outcome, Err(StoreError::Unavailable(_))) {
        drop(deadpool_postgres::Object::take(client));
    }
}

/// Waits before the `retry`th run of a transaction: up to 5 ms, doubled each time, at random so
/// that the transactions that met do not meet again.
async fn backoff(retry: u32) {
    let ceiling = 5_u64 << retry.saturating_sub(1).min(8);
    tokio::time::sleep(Duration::from_millis(rand::random_range(1..=ceiling))).await;
}

/// The advisory lock key instances take while migrating ("preflight" in ASCII, as a number).
const MIGRATION_LOCK: i64 = 0x7072_6566_6c69_6768;

/// How the pool connects.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Connections at most, per instance, for queries; as many again hold fulfillments' locks.
    pub max_connections: usize,
    /// How long a request waits for a free connection, or for a new one to open, before the store
    /// answers [`StoreError::Unavailable`].
    pub wait: Duration,
    /// The clock of the stored times, of leases and of retention.
    pub clock: Arc<dyn Clock>,
    /// How long a push stays `sending` at most while its request lives (twice the server's push
    /// timeout): [`crate::store::Store::recover_interrupted`] leaves younger ones
    /// to their request, which may still be under way on an instance whose hold on the fulfillment
    /// went with its database connection.
    pub abandoned_after: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            wait: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            abandoned_after: super::PUSH_TIMEOUT.saturating_mul(2),
        }
    }
}

/// The store on PostgreSQL.
///
/// A handle: clones share one pool of connections.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Connections that hold fulfillments' advisory locks, apart from `pool` so that requests holding
    /// locks never take every connection their queries need.
    lock_pool: Pool,
    /// This instance's requests queue here, per fulfillment, before one asks the server.
    locks: Arc<KeyedLocks>,
    clock: Arc<dyn Clock>,
    abandoned_after: Duration,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStore")
            .field("size", &status.size)
            .field("max_size", &status.max_size)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`), migrates the schema to this
    /// build's newest version, and answers the store.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a URL that is not a PostgreSQL one; [`StoreError::Unavailable`]
    /// when the server cannot be reached; [`StoreError::SchemaTooNew`] when a newer build migrated the
    /// database; [`StoreError::Migration`] when a migration fails.
    pub async fn connect(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::invalid("database", e.to_string()))?;
        let builder = |config: tokio_postgres::Config| {
            let manager = Manager::from_config(
                config,
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(options.max_connections)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(options.wait))
                .create_timeout(Some(options.wait))
                .recycle_timeout(Some(options.wait))
        };
        let invalid =
            |e: deadpool_postgres::BuildError| StoreError::invalid("database", e.to_string());
        // A lock's session must end soon after its instance's host is lost without a word, so that
        // its locks go: the server probes it every few seconds (by default only after 2 hours).
        let keepalives = Hook::async_fn(|client: &mut ClientWrapper, _| {
            Box::pin(async move {
                client
                    .batch_execute(
                        "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
                         SET tcp_keepalives_count = 3",
                    )
                    .await
                    .map_err(HookError::Backend)
            })
        });
        let store = Self {
            pool: builder(config.clone()).build().map_err(invalid)?,
            lock_pool: builder(config)
                .post_create(keepalives)
                .build()
                .map_err(invalid)?,
            locks: Arc::default(),
            clock: options.clock.clone(),
            abandoned_after: options.abandoned_after,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The time of the store's clock, Unix milliseconds.
    fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// A connection from the pool.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when none is free in time or none can be opened;
    /// [`StoreError::Postgres`] when the server refuses to open one (a role or a database that does
    /// not exist, a password refused).
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => StoreError::from_postgres(e),
            other => StoreError::Unavailable(other.to_string()),
        })
    }

    /// Applies the migrations this build has and the database lacks, one instance at a time.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let applied = embedded::migrations::runner()
            .set_abort_missing(true)
            .set_abort_divergent(true)
            .run_async(&mut **client)
            .await;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await?;
        // Back to the pool before another is asked for (a pool of one would wait on itself).
        drop(client);
        match applied {
            Ok(_) => Ok(()),
            Err(error) => {
                let found = self.schema_version().await.unwrap_or_default();
                let supported = Self::newest_version();
                if found > supported {
                    Err(StoreError::SchemaTooNew { found, supported })
                } else {
                    Err(StoreError::Migration(error.to_string()))
                }
            }
        }
    }

    /// The newest schema version this build has.
    #[must_use]
    pub fn newest_version() -> i64 {
        embedded::migrations::runner()
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max()
            .unwrap_or(0)
    }

    /// The schema version the database is at (0 before any migration).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`]; [`StoreError::Postgres`].
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM refinery_schema_history",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    /// A connection from the pool of locks.
    async fn lock_client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.lock_pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => StoreError::from_postgres(e),
            other => StoreError::Unavailable(other.to_string()),
        })
    }

    /// Holds one fulfillment across every instance: this instance's queue first ([`KeyedLocks`]),
    /// then a session advisory lock on `shop/fulfillment_id`, on a connection of the lock pool, asked
    /// every 20 ms until granted (a cancelled wait leaves nothing granted in a pool).
    async fn hold(&self, shop: &str, fulfillment_id: &str) -> Result<AdvisoryLock, StoreError> {
        let key = format!("{shop}/{fulfillment_id}");
        let queued = self.locks.lock(&key).await;
        // The guard owns the connection before the lock is asked: dropped at any point, it lets go.
        let lock = AdvisoryLock {
            client: Some(self.lock_client().await?),
            key,
            queued: Some(queued),
        };
        loop {
            if try_advisory_lock(lock.connection()?, &lock.key).await? {
                return Ok(lock);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Holds one fulfillment across every instance if no instance holds it now, without waiting.
    async fn try_hold(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Option<AdvisoryLock>, StoreError> {
        let lock = AdvisoryLock {
            client: Some(self.lock_client().await?),
            key: format!("{shop}/{fulfillment_id}"),
            queued: None,
        };
        Ok(try_advisory_lock(lock.connection()?, &lock.key)
            .await?
            .then_some(lock))
    }

    /// Whether the database answers.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`]; [`StoreError::Postgres`].
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_connection!(self, |client| async {
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await
    }
}

/// Asks the advisory lock of `key` on `client`'s session, without waiting: whether it was granted.
async fn try_advisory_lock(
    client: &deadpool_postgres::Object,
    key: &str,
) -> Result<bool, StoreError> {
    Ok(client
        .query_one(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
            &[&key],
        )
        .await?
        .try_get(0)?)
}

/// Lets go of the advisory lock of `key` on `client`'s session.
async fn advisory_unlock(client: &deadpool_postgres::Object, key: &str) -> Result<(), StoreError> {
    client
        .query_one(
            "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
            &[&key],
        )
        .await?;
    Ok(())
}

/// A fulfillment held across instances ([`PgStore::hold`]). Dropped, it lets go: the server is told
/// in a task of its own (the connection then goes back to the pool, and this instance's next request
/// for the fulfillment goes after), or, when that fails or no runtime runs, the connection is closed,
/// which lets go of the lock all the same.
struct AdvisoryLock {
    client: Option<deadpool_postgres::Object>,
    key: String,
    queued: Option<KeyGuard>,
}

impl AdvisoryLock {
    fn connection(&self) -> Result<&deadpool_postgres::Object, StoreError> {
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the lock's connection is gone".into()))
    }
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let (Some(client), queued) = (self.client.take(), self.queued.take()) else {
            return;
        };
        let key = std::mem::take(&mut self.key);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if advisory_unlock(&client, &key).await.is_err() {
                        drop(deadpool_postgres::Object::take(client));
                    }
                    drop(queued);
                });
            }
            Err(_) => drop(deadpool_postgres::Object::take(client)),
        }
    }
}
