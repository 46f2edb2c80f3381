//! [`Store`] on one SQLite file: WAL, `synchronous=FULL`, every write in `BEGIN IMMEDIATE`.
//!
//! Connections come from a small pool behind a mutex; each is configured and checked when opened.
//! Writers queue on SQLite's write lock (for up to the busy timeout), readers run beside them (WAL).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::locks::{KeyGuard, KeyedLocks};
use super::migrations::MIGRATIONS;
use super::rules::{
    check_id, check_idempotency_key, check_json, check_oauth_state, check_patch, check_providers,
    check_sealed, check_shop, check_transition, cut_page, decode_cursor, fix_to_reapply, millis,
    parse_updated_at, reuse_key, ts, upsert_outcome, writeback_columns, KeyReuse, StoredKey,
    SHOP_TABLES,
};
use super::{
    Backfill, BackfillState, Clock, DeliveryOptionRecord, FulfillmentPage, FulfillmentPatch,
    FulfillmentQuery, FulfillmentRecord, FulfillmentWebhook, IdempotencyStart, Platform, Purged,
    PushRecord, PushState, PushTransition, Recovery, ShopCredentials, StoreError, StoredResponse,
    SyncFailure, SyncStatus, SyncStatusKind, SystemClock, TiktokEvent, TiktokShop, UpsertOutcome,
    Writeback, WritebackOutcome, WritebackState, IDEMPOTENCY_RETENTION, MAX_PAGE_LIMIT,
    WEBHOOK_EVENT_RETENTION,
};

/// How a [`SqliteStore`] is opened.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// How long a write waits for another writer before failing (`busy_timeout`).
    pub busy_timeout: Duration,
    /// How many idle connections are kept.
    pub pool_size: usize,
    /// The clock of the stored times and of retention.
    pub clock: Arc<dyn Clock>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_millis(5000),
            pool_size: 8,
            clock: Arc::new(SystemClock),
        }
    }
}

/// The pragmas of a connection, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pragmas {
    /// `journal_mode`: `wal`.
    pub journal_mode: String,
    /// `synchronous`: 2 (`FULL`).
    pub synchronous: i64,
    /// `busy_timeout`, in milliseconds.
    pub busy_timeout_ms: i64,
    /// `foreign_keys`: 1.
    pub foreign_keys: i64,
}

/// The [`Store`] on an embedded SQLite file.
///
/// A handle: clones share one pool of connections.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    options: SqliteOptions,
    idle: Mutex<Vec<Connection>>,
    /// Writers of this process queue here, in order, rather than in SQLite's busy handler, which
    /// sleeps in steps of up to 100 ms; other processes still wait up to the busy timeout.
    writer: Mutex<()>,
    /// Each fulfillment being synced, held by one request at a time.
    locks: Arc<KeyedLocks>,
}

const OPEN_STATES: &str = "('pending', 'sending', 'unknown', 'needs_review')";
const PUSH_COLUMNS: &str = "id, fulfillment_id, state, plan_json, attempts, response_json, \
     failure_code, failure_reason, failure_solution, idempotency_key, created_at, updated_at, sending_at";
const FULFILLMENT_COLUMNS: &str = "id, fulfillment_id, shopify_json, shopify_updated_at, \
     tts_order_json, history_json, report_json, sync_status, failure_code, failure_reason, \
     failure_solution, created_at, updated_at, link_json, writeback_state, writeback_number, \
     writeback_company, writeback_replaces, writeback_attempts, writeback_error_code, \
     writeback_error_message, writeback_next_at";

impl SqliteStore {
    /// Opens (creating if needed) the database file with the default options, checks its pragmas and
    /// migrates it.
    ///
    /// # Errors
    /// [`StoreError::Pragma`] when a pragma did not take (a `:memory:` database cannot be WAL);
    /// [`StoreError::SchemaTooNew`]; [`StoreError::Database`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the database file with `options`; see [`SqliteStore::open`].
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let store = Self {
            inner: Arc::new(Shared {
                path: path.as_ref().to_path_buf(),
                options,
                idle: Mutex::new(Vec::new()),
                writer: Mutex::new(()),
                locks: Arc::default(),
            }),
        };
        let mut conn = store.connect()?;
        migrate(&mut conn, store.now())?;
        store.checkin(conn);
        Ok(store)
    }

    /// The pragmas of a pooled connection, read back.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn pragmas(&self) -> Result<Pragmas, StoreError> {
        self.with_conn(|conn| read_pragmas(conn))
    }

    /// The schema version (the last migration applied).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with_conn(|conn| {
            Ok(conn.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )?)
        })
    }

    /// The newest schema version this build knows.
    #[must_use]
    pub fn latest_schema_version() -> i64 {
        MIGRATIONS.last().map_or(0, |m| m.0)
    }

    /// `PRAGMA integrity_check`: `ok`, or the problems found.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare("PRAGMA integrity_check")?;
            let lines = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(lines.join("\n"))
        })
    }

    fn now(&self) -> i64 {
        self.inner.options.clock.now_millis()
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(&self.inner.path)?;
        let busy_ms = super::millis(self.inner.options.busy_timeout);
        // busy_timeout first, so that switching to WAL waits for other processes.
        conn.busy_timeout(self.inner.options.busy_timeout)?;
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        let got = read_pragmas(&conn)?;
        check_pragma(
            "journal_mode",
            "wal",
            &got.journal_mode.to_ascii_lowercase(),
        )?;
        check_pragma("synchronous", "2", &got.synchronous.to_string())?;
        check_pragma(
            "busy_timeout",
            &busy_ms.to_string(),
            &got.busy_timeout_ms.to_string(),
        )?;
        check_pragma("foreign_keys", "1", &got.foreign_keys.to_string())?;
        Ok(conn)
    }

    fn checkout(&self) -> Result<Connection, StoreError> {
        let pooled = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn checkin(&self, conn: Connection) {
        // A connection left inside a transaction is dropped (which rolls it back), never reused.
        if conn.is_autocommit() {
            let mut idle = self
                .inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if idle.len() < self.inner.options.pool_size {
                idle.push(conn);
            }
        }
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.checkout()?;
        let out = f(&mut conn);
        self.checkin(conn);
        out
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, committed when `f` succeeds; `f` gets the time
    /// taken once the write lock is held.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, i64) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_conn(|conn| {
            let _writer = self
                .inner
                .writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx, self.now())?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Runs `f` in a read transaction (one snapshot).
    fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

fn read_pragmas(conn: &Connection) -> Result<Pragmas, StoreError> {
    let int = |name: &str| -> Result<i64, StoreError> {
        Ok(conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?)
    };
    Ok(Pragmas {
        journal_mode: conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
        synchronous: int("synchronous")?,
        busy_timeout_ms: int("busy_timeout")?,
        foreign_keys: int("foreign_keys")?,
    })
}

fn check_pragma(name: &'static str, expected: &str, actual: &str) -> Result<(), StoreError> {
    if expected == actual {
        Ok(())
    } else {
        Err(StoreError::Pragma {
            name,
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        })
    }
}

/// Moves a push, with its effect on the fulfillment, in `tx` (checked by [`check_transition`]).
fn apply_transition(
    tx: &Transaction<'_>,
    shop: &str,
    push_id: i64,
    transition: &PushTransition,
    now: i64,
) -> Result<PushRecord, StoreError> {
    let PushTransition {
        from,
        to,
        response_json,
        failure,
        history_json,
        tts_order_json,
        report_json,
        writeback_number,
        attempts,
    } = transition;
    let (from, to) = (*from, *to);
    let push = load_push(tx, shop, push_id)?
        .ok_or_else(|| StoreError::not_found("push", push_id.to_string()))?;
    if push.state != from || attempts.is_some_and(|a| a != push.attempts) {
        return Err(StoreError::PushStateChanged {
            push_id,
            expected: from,
            actual: push.state,
        });
    }
    let sending = to == PushState::Sending;
    tx.prepare_cached(
        "UPDATE pushes SET state = ?3, updated_at = ?4, \
         attempts = attempts + ?5, \
         sending_at = CASE WHEN ?5 = 1 THEN ?4 ELSE sending_at END, \
         response_json = COALESCE(?6, response_json), \
         failure_code = CASE WHEN ?7 IS NOT NULL THEN ?7 WHEN ?3 = 'sent' THEN NULL \
                        ELSE failure_code END, \
         failure_reason = CASE WHEN ?7 IS NOT NULL THEN ?8 WHEN ?3 = 'sent' THEN NULL \
                          ELSE failure_reason END, \
         failure_solution = CASE WHEN ?7 IS NOT NULL THEN ?9 WHEN ?3 = 'sent' THEN NULL \
                            ELSE failure_solution END \
         WHERE shop = ?1 AND id = ?2",
    )?
    .execute(params![
        shop,
        push_id,
        to.as_str(),
        now,
        i64::from(sending),
        response_json,
        failure.as_ref().map(|f| f.code.as_str()),
        failure.as_ref().map(|f| f.reason.as_str()),
        failure.as_ref().map(|f| f.solution.as_str()),
    ])?;
    match (to, failure) {
        (PushState::Sent, _) => {
            set_sync_status(tx, shop, &push.fulfillment_id, &SyncStatus::Synced, now)?;
            if history_json.is_some() || tts_order_json.is_some() || report_json.is_some() {
                tx.prepare_cached(
                    "UPDATE fulfillments SET history_json = COALESCE(?3, history_json), \
                     tts_order_json = COALESCE(?4, tts_order_json), \
                     report_json = COALESCE(?5, report_json) \
                     WHERE shop = ?1 AND fulfillment_id = ?2",
                )?
                .execute(params![
                    shop,
                    push.fulfillment_id,
                    history_json,
                    tts_order_json,
                    report_json
                ])?;
            }
            if let Some(number) = writeback_number {
                // TikTok Shop has the fix: Shopify is told now.
                release(tx, shop, &push.fulfillment_id, number, now)?;
            }
        }
        (PushState::Failed | PushState::NeedsReview, Some(failure)) => {
            let status = SyncStatus::SyncFailed(failure.clone());
            set_sync_status(tx, shop, &push.fulfillment_id, &status, now)?;
        }
        _ => {}
    }
    load_push(tx, shop, push_id)?.ok_or_else(|| StoreError::not_found("push", push_id.to_string()))
}

/// A `held` or `failed` write-back made `pending` for `number`, due at `now`.
fn release(
    tx: &Transaction<'_>,
    shop: &str,
    fulfillment_id: &str,
    number: &str,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached(
            "UPDATE fulfillments SET writeback_state = 'pending', writeback_number = ?3, \
             writeback_next_at = ?4, writeback_error_code = NULL, writeback_error_message = NULL \
             WHERE shop = ?1 AND fulfillment_id = ?2 AND writeback_state IN ('held', 'failed')",
        )?
        .execute(params![shop, fulfillment_id, number, now])?
        == 1)
}

/// Records the answer of the request holding an idempotency key.
fn complete_key(
    tx: &Transaction<'_>,
    shop: &str,
    key: &str,
    fingerprint: &str,
    response: &StoredResponse,
    now: i64,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE idempotency_keys SET state = 'completed', response_status = ?4, \
             response_body = ?5, completed_at = ?6 \
             WHERE shop = ?1 AND key = ?2 AND fingerprint = ?3 AND state = 'in_progress'",
        )?
        .execute(params![
            shop,
            key,
            fingerprint,
            response.status,
            response.body,
            now
        ])?;
    if changed == 0 {
        return Err(StoreError::not_found("idempotency key", key));
    }
    Ok(())
}

/// Sets the given fields of a fulfillment.
fn apply_patch(
    tx: &Transaction<'_>,
    shop: &str,
    fulfillment_id: &str,
    patch: &FulfillmentPatch,
    now: i64,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE fulfillments SET tts_order_json = COALESCE(?3, tts_order_json), \
             history_json = COALESCE(?4, history_json), \
             report_json = COALESCE(?5, report_json), updated_at = ?6, \
             shopify_json = COALESCE(?7, shopify_json) \
             WHERE shop = ?1 AND fulfillment_id = ?2",
        )?
        .execute(params![
            shop,
            fulfillment_id,
            patch.tts_order_json,
            patch.history_json,
            patch.report_json,
            now,
            patch.shopify_json
        ])?;
    if changed == 0 {
        return Err(StoreError::not_found("fulfillment", fulfillment_id));
    }
    if let Some(status) = &patch.sync_status {
        set_sync_status(tx, shop, fulfillment_id, status, now)?;
    }
    if let Some(link) = &patch.link_json {
        tx.prepare_cached(
            "UPDATE fulfillments SET link_json = ?3 WHERE shop = ?1 AND fulfillment_id = ?2",
        )?
        .execute(params![shop, fulfillment_id, link])?;
    }
    if let Some(fix) = &patch.hold_writeback {
        tx.prepare_cached(
            "UPDATE fulfillments SET writeback_state = 'held', writeback_number = ?3, \
             writeback_company = ?4, writeback_replaces = ?5, writeback_attempts = 0, \
             writeback_error_code = NULL, writeback_error_message = NULL, writeback_next_at = NULL \
             WHERE shop = ?1 AND fulfillment_id = ?2",
        )?
        .execute(params![
            shop,
            fulfillment_id,
            fix.number,
            fix.company,
            fix.replaces
        ])?;
    }
    Ok(())
}

/// Creates a push, `pending`, or already `sending` (one attempt), unless one is open.
fn insert_push(
    tx: &Transaction<'_>,
    shop: &str,
    fulfillment_id: &str,
    plan_json: &str,
    idempotency_key: Option<&str>,
    sending: bool,
    now: i64,
) -> Result<PushRecord, StoreError> {
    let open: Option<i64> = tx
        .prepare_cached(&format!(
            "SELECT id FROM pushes WHERE shop = ?1 AND fulfillment_id = ?2 AND state IN {OPEN_STATES}"
        ))?
        .query_row(params![shop, fulfillment_id], |r| r.get(0))
        .optional()?;
    if let Some(push_id) = open {
        return Err(StoreError::PushInFlight {
            fulfillment_id: fulfillment_id.to_owned(),
            push_id,
        });
    }
    tx.prepare_cached(
        "INSERT INTO pushes (shop, fulfillment_id, state, plan_json, attempts, idempotency_key, \
         created_at, updated_at, sending_at) \
         VALUES (?1, ?2, CASE WHEN ?6 THEN 'sending' ELSE 'pending' END, ?3, ?6, ?4, ?5, ?5, \
         CASE WHEN ?6 THEN ?5 END)",
    )?
    .execute(params![
        shop,
        fulfillment_id,
        plan_json,
        idempotency_key,
        now,
        i64::from(sending)
    ])?;
    let id = tx.last_insert_rowid();
    load_push(tx, shop, id)?.ok_or_else(|| StoreError::not_found("push", id.to_string()))
}

/// Applies the migrations not applied yet, each in its own `BEGIN IMMEDIATE` transaction, so that
/// two processes opening the file at once apply each one once.
fn migrate(conn: &mut Connection, now: i64) -> Result<(), StoreError> {
    let latest = SqliteStore::latest_schema_version();
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at INTEGER NOT NULL
             ) STRICT",
        )?;
        tx.commit()?;
    }
    for &(version, name, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = applied_version(&tx, latest)?;
        if current >= version {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![version, name, now],
        )?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, name, "database migrated");
    }
    applied_version(conn, latest).map(|_| ())
}

/// The last migration applied; a database migrated by a newer build is refused.
fn applied_version(conn: &Connection, latest: i64) -> Result<i64, StoreError> {
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    if current > latest {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: latest,
        });
    }
    Ok(current)
}

fn conversion_error(column: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unexpected {column} `{value}`").into(),
    )
}

fn failure_from_row(
    row: &Row<'_>,
    code: &str,
    reason: &str,
    solution: &str,
) -> rusqlite::Result<Option<SyncFailure>> {
    let code: Option<String> = row.get(code)?;
    Ok(match code {
        Some(code) => Some(SyncFailure {
            code,
            reason: row.get::<_, Option<String>>(reason)?.unwrap_or_default(),
            solution: row.get::<_, Option<String>>(solution)?.unwrap_or_default(),
        }),
        None => None,
    })
}

fn push_from_row(row: &Row<'_>) -> rusqlite::Result<PushRecord> {
    let state: String = row.get("state")?;
    Ok(PushRecord {
        id: row.get("id")?,
        fulfillment_id: row.get("fulfillment_id")?,
        state: PushState::parse(&state).ok_or_else(|| conversion_error("state", &state))?,
        plan_json: row.get("plan_json")?,
        attempts: row.get("attempts")?,
        response_json: row.get("response_json")?,
        failure: failure_from_row(row, "failure_code", "failure_reason", "failure_solution")?,
        idempotency_key: row.get("idempotency_key")?,
        created_at: ts(row.get("created_at")?),
        updated_at: ts(row.get("updated_at")?),
        sending_at: row.get::<_, Option<i64>>("sending_at")?.map(ts),
    })
}

/// A fulfillment row, with its row id (the pagination key), without its latest push.
fn fulfillment_from_row(row: &Row<'_>) -> rusqlite::Result<(i64, FulfillmentRecord)> {
    let status: String = row.get("sync_status")?;
    let sync_status = match SyncStatusKind::parse(&status) {
        Some(SyncStatusKind::NotSynced) => SyncStatus::NotSynced,
        Some(SyncStatusKind::Synced) => SyncStatus::Synced,
        Some(SyncStatusKind::SyncFailed) => SyncStatus::SyncFailed(
            failure_from_row(row, "failure_code", "failure_reason", "failure_solution")?
                .ok_or_else(|| conversion_error("failure_code", "NULL"))?,
        ),
        None => return Err(conversion_error("sync_status", &status)),
    };
    Ok((
        row.get("id")?,
        FulfillmentRecord {
            fulfillment_id: row.get("fulfillment_id")?,
            shopify_json: row.get("shopify_json")?,
            shopify_updated_at: row.get("shopify_updated_at")?,
            tts_order_json: row.get("tts_order_json")?,
            history_json: row.get("history_json")?,
            report_json: row.get("report_json")?,
            sync_status,
            created_at: ts(row.get("created_at")?),
            updated_at: ts(row.get("updated_at")?),
            latest_push: None,
            link_json: row.get("link_json")?,
            writeback: writeback_from_row(row)?,
        },
    ))
}

/// A fulfillment row's write-back, when it has one.
fn writeback_from_row(row: &Row<'_>) -> rusqlite::Result<Option<Writeback>> {
    let Some(state) = row.get::<_, Option<String>>("writeback_state")? else {
        return Ok(None);
    };
    let state =
        WritebackState::parse(&state).ok_or_else(|| conversion_error("writeback_state", &state))?;
    let code: Option<String> = row.get("writeback_error_code")?;
    let message: Option<String> = row.get("writeback_error_message")?;
    Ok(Some(Writeback {
        state,
        tracking_number: row
            .get::<_, Option<String>>("writeback_number")?
            .unwrap_or_default(),
        company: row.get("writeback_company")?,
        replaces: row.get("writeback_replaces")?,
        attempts: row.get("writeback_attempts")?,
        error: code.map(|c| (c, message.unwrap_or_default())),
        next_attempt_at: row.get::<_, Option<i64>>("writeback_next_at")?.map(ts),
    }))
}

fn latest_push(
    tx: &Transaction<'_>,
    shop: &str,
    fulfillment_id: &str,
) -> Result<Option<PushRecord>, StoreError> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {PUSH_COLUMNS} FROM pushes WHERE shop = ?1 AND fulfillment_id = ?2 \
             ORDER BY id DESC LIMIT 1"
        ))?
        .query_row(params![shop, fulfillment_id], push_from_row)
        .optional()?)
}

fn load_fulfillment(
    tx: &Transaction<'_>,
    shop: &str,
    fulfillment_id: &str,
) -> Result<Option<FulfillmentRecord>, StoreError> {
    let found = tx
        .prepare_cached(&format!(
            "SELECT {FULFILLMENT_COLUMNS} FROM fulfillments WHERE shop = ?1 AND fulfillment_id = ?2"
        ))?
        .query_row(params![shop, fulfillment_id], fulfillment_from_row)
        .optional()?;
    match found {
        Some((_, mut record)) => {
            record.latest_push = latest_push(tx, shop, fulfillment_id)?;
            Ok(Some(record))
        }
        None => Ok(None),
    }
}

fn load_push(
    tx: &Transaction<'_>,
    shop: &str,
    push_id: i64,
) -> Result<Option<PushRecord>, StoreError> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {PUSH_COLUMNS} FROM pushes WHERE shop = ?1 AND id = ?2"
        ))?
        .query_row(params![shop, push_id], push_from_row)
        .optional()?)
}

fn fulfillment_exists(
    tx: &Transaction<'_>,
    shop: &str,
    fulfillment_id: &str,
) -> Result<bool, StoreError> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM fulfillments WHERE shop = ?1 AND fulfillment_id = ?2")?
        .exists(params![shop, fulfillment_id])?)
}

fn set_sync_status(
    tx: &Transaction<'_>,
    shop: &str,
    fulfillment_id: &str,
    status: &SyncStatus,
    now: i64,
) -> Result<(), StoreError> {
    let failure = match status {
        SyncStatus::SyncFailed(f) => Some(f),
        SyncStatus::NotSynced | SyncStatus::Synced => None,
    };
    tx.prepare_cached(
        "UPDATE fulfillments SET sync_status = ?3, failure_code = ?4, failure_reason = ?5, \
         failure_solution = ?6, updated_at = ?7 WHERE shop = ?1 AND fulfillment_id = ?2",
    )?
    .execute(params![
        shop,
        fulfillment_id,
        status.kind().as_str(),
        failure.map(|f| f.code.as_str()),
        failure.map(|f| f.reason.as_str()),
        failure.map(|f| f.solution.as_str()),
        now
    ])?;
    Ok(())
}

/// The shop's settings, in `tx`.
fn settings_in(tx: &Transaction<'_>, shop: &str) -> Result<Option<String>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT settings_json FROM shop_settings WHERE shop = ?1")?
        .query_row([shop], |r| r.get(0))
        .optional()?)
}

/// The shop's delivery options' providers, in `tx`.
fn delivery_options_in(
    tx: &Transaction<'_>,
    shop: &str,
) -> Result<Vec<DeliveryOptionRecord>, StoreError> {
    let mut statement = tx.prepare_cached(
        "SELECT delivery_option_id, providers_json, fetched_at \
         FROM delivery_option_providers WHERE shop = ?1 ORDER BY delivery_option_id",
    )?;
    let rows = statement.query_map([shop], |r| {
        Ok(DeliveryOptionRecord {
            delivery_option_id: r.get(0)?,
            providers_json: r.get(1)?,
            fetched_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The operations of [`Store`], blocking: each runs on the calling thread (the `Store` impl runs them
/// on tokio's blocking pool). Tools and tests call them directly.
impl SqliteStore {
    /// Blocking [`Store::settings`].
    pub fn settings(&self, shop: &str) -> Result<Option<String>, StoreError> {
        self.read(|tx| settings_in(tx, shop))
    }

    /// Blocking [`Store::put_settings`].
    pub fn put_settings(&self, shop: &str, settings_json: &str) -> Result<(), StoreError> {
        check_shop(shop)?;
        check_json("settings", settings_json)?;
        self.write(|tx, now| {
            tx.prepare_cached(
                "INSERT INTO shop_settings (shop, settings_json, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (shop) DO UPDATE SET settings_json = excluded.settings_json, \
                 updated_at = excluded.updated_at",
            )?
            .execute(params![shop, settings_json, now])?;
            Ok(())
        })
    }

    /// Blocking [`Store::upsert_fulfillment`].
    pub fn upsert_fulfillment(
        &self,
        shop: &str,
        webhook: &FulfillmentWebhook<'_>,
    ) -> Result<UpsertOutcome, StoreError> {
        check_shop(shop)?;
        check_id("fulfillment_id", webhook.fulfillment_id)?;
        let incoming = parse_updated_at(webhook.updated_at)?;
        check_json("fulfillment", webhook.payload_json)?;
        let event_id = webhook.event_id.filter(|e| !e.is_empty());
        if let Some(e) = event_id {
            check_id("event_id", e)?;
        }
        self.write(|tx, now| {
            if let Some(event_id) = event_id {
                let fresh = tx
                    .prepare_cached(
                        "INSERT INTO webhook_events (shop, event_id, seen_at) VALUES (?1, ?2, ?3) \
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![shop, event_id, now])?;
                if fresh == 0 {
                    return Ok(UpsertOutcome::DuplicateEvent);
                }
            }
            let stored: Option<String> = tx
                .prepare_cached(
                    "SELECT shopify_updated_at FROM fulfillments \
                     WHERE shop = ?1 AND fulfillment_id = ?2",
                )?
                .query_row(params![shop, webhook.fulfillment_id], |r| r.get(0))
                .optional()?;
            let Some(stored) = stored else {
                tx.prepare_cached(
                    "INSERT INTO fulfillments (shop, fulfillment_id, shopify_json, \
                     shopify_updated_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )?
                .execute(params![
                    shop,
                    webhook.fulfillment_id,
                    webhook.payload_json,
                    webhook.updated_at,
                    now
                ])?;
                return Ok(UpsertOutcome::Inserted);
            };
            let outcome = upsert_outcome(incoming, &stored);
            if outcome == UpsertOutcome::Updated {
                tx.prepare_cached(
                    "UPDATE fulfillments SET shopify_json = ?3, shopify_updated_at = ?4, \
                     updated_at = ?5 WHERE shop = ?1 AND fulfillment_id = ?2",
                )?
                .execute(params![
                    shop,
                    webhook.fulfillment_id,
                    webhook.payload_json,
                    webhook.updated_at,
                    now
                ])?;
            }
            Ok(outcome)
        })
    }

    /// Blocking [`Store::fulfillment`].
    pub fn fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Option<FulfillmentRecord>, StoreError> {
        self.read(|tx| load_fulfillment(tx, shop, fulfillment_id))
    }

    /// Blocking [`Store::update_fulfillment`].
    pub fn update_fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
        patch: &FulfillmentPatch,
    ) -> Result<FulfillmentRecord, StoreError> {
        check_patch(patch)?;
        self.write(|tx, now| {
            apply_patch(tx, shop, fulfillment_id, patch, now)?;
            load_fulfillment(tx, shop, fulfillment_id)?
                .ok_or_else(|| StoreError::not_found("fulfillment", fulfillment_id))
        })
    }

    /// Blocking [`Store::list_fulfillments`].
    pub fn list_fulfillments(
        &self,
        shop: &str,
        query: &FulfillmentQuery,
    ) -> Result<FulfillmentPage, StoreError> {
        let before = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let limit = query.limit.clamp(1, MAX_PAGE_LIMIT);
        let mut sql = format!("SELECT {FULFILLMENT_COLUMNS} FROM fulfillments WHERE shop = ?1");
        if query.status.is_some() {
            sql.push_str(" AND sync_status = ?2");
        }
        if before.is_some() {
            sql.push_str(" AND id < ?3");
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?4");
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            let mut bind = vec![(1, rusqlite::types::Value::from(shop.to_owned()))];
            if let Some(status) = query.status {
                bind.push((2, status.as_str().to_owned().into()));
            }
            if let Some(before) = before {
                bind.push((3, before.into()));
            }
            bind.push((4, (i64::from(limit) + 1).into()));
            for (index, value) in &bind {
                stmt.raw_bind_parameter(*index, value)?;
            }
            let mut rows = Vec::new();
            let mut raw = stmt.raw_query();
            while let Some(row) = raw.next()? {
                rows.push(fulfillment_from_row(row)?);
            }
            drop(raw);
            let next_cursor = cut_page(&mut rows, limit);
            let mut items = Vec::with_capacity(rows.len());
            for (_, mut record) in rows {
                record.latest_push = latest_push(tx, shop, &record.fulfillment_id)?;
                items.push(record);
            }
            Ok(FulfillmentPage { items, next_cursor })
        })
    }

    /// Blocking [`Store::create_push`].
    pub fn create_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
        plan_json: &str,
        idempotency_key: Option<&str>,
    ) -> Result<PushRecord, StoreError> {
        check_json("plan", plan_json)?;
        self.write(|tx, now| {
            if !fulfillment_exists(tx, shop, fulfillment_id)? {
                return Err(StoreError::not_found("fulfillment", fulfillment_id));
            }
            insert_push(
                tx,
                shop,
                fulfillment_id,
                plan_json,
                idempotency_key,
                false,
                now,
            )
        })
    }

    /// Blocking [`Store::start_push`].
    pub fn start_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
        patch: &FulfillmentPatch,
        plan_json: &str,
        idempotency_key: Option<&str>,
    ) -> Result<PushRecord, StoreError> {
        check_json("plan", plan_json)?;
        check_patch(patch)?;
        self.write(|tx, now| {
            apply_patch(tx, shop, fulfillment_id, patch, now)?;
            insert_push(
                tx,
                shop,
                fulfillment_id,
                plan_json,
                idempotency_key,
                true,
                now,
            )
        })
    }

    /// Blocking [`Store::push`].
    pub fn push(&self, shop: &str, push_id: i64) -> Result<Option<PushRecord>, StoreError> {
        self.read(|tx| load_push(tx, shop, push_id))
    }

    /// Blocking [`Store::open_push`].
    pub fn open_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Option<PushRecord>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(&format!(
                    "SELECT {PUSH_COLUMNS} FROM pushes WHERE shop = ?1 AND fulfillment_id = ?2 \
                     AND state IN {OPEN_STATES}"
                ))?
                .query_row(params![shop, fulfillment_id], push_from_row)
                .optional()?)
        })
    }

    /// Blocking [`Store::pushes`].
    pub fn pushes(&self, shop: &str, fulfillment_id: &str) -> Result<Vec<PushRecord>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {PUSH_COLUMNS} FROM pushes WHERE shop = ?1 AND fulfillment_id = ?2 \
                 ORDER BY id"
            ))?;
            let rows = stmt
                .query_map(params![shop, fulfillment_id], push_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Blocking [`Store::transition_push`].
    pub fn transition_push(
        &self,
        shop: &str,
        push_id: i64,
        transition: &PushTransition,
    ) -> Result<PushRecord, StoreError> {
        check_transition(transition)?;
        self.write(|tx, now| apply_transition(tx, shop, push_id, transition, now))
    }

    /// Blocking [`Store::finish_push`].
    pub fn finish_push(
        &self,
        shop: &str,
        push_id: i64,
        transition: &PushTransition,
        key: &str,
        fingerprint: &str,
        answer: &dyn Fn(&FulfillmentRecord) -> StoredResponse,
    ) -> Result<StoredResponse, StoreError> {
        check_transition(transition)?;
        self.write(|tx, now| {
            let push = apply_transition(tx, shop, push_id, transition, now)?;
            let record = load_fulfillment(tx, shop, &push.fulfillment_id)?
                .ok_or_else(|| StoreError::not_found("fulfillment", &push.fulfillment_id))?;
            let response = answer(&record);
            complete_key(tx, shop, key, fingerprint, &response, now)?;
            Ok(response)
        })
    }

    /// Blocking [`Store::recover_interrupted`].
    pub fn recover_interrupted(&self) -> Result<Recovery, StoreError> {
        self.write(|tx, now| {
            let mut stmt = tx.prepare_cached(&format!(
                "UPDATE pushes SET state = 'unknown', updated_at = ?1 WHERE state = 'sending' \
                 RETURNING shop, {PUSH_COLUMNS}"
            ))?;
            let pushes = stmt
                .query_map([now], |r| Ok((r.get("shop")?, push_from_row(r)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            drop(stmt);
            let idempotency_keys_released = tx
                .prepare_cached("DELETE FROM idempotency_keys WHERE state = 'in_progress'")?
                .execute([])?;
            for (shop, push) in &pushes {
                tracing::warn!(
                    shop = %shop,
                    push_id = push.id,
                    fulfillment_id = %push.fulfillment_id,
                    "push interrupted while sending: outcome unknown"
                );
            }
            Ok(Recovery {
                pushes,
                idempotency_keys_released,
            })
        })
    }

    /// Blocking [`Store::begin_idempotent`].
    pub fn begin_idempotent(
        &self,
        shop: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<IdempotencyStart, StoreError> {
        check_shop(shop)?;
        check_idempotency_key(key)?;
        check_id("fingerprint", fingerprint)?;
        self.write(|tx, now| {
            let row = tx
                .prepare_cached(
                    "SELECT fingerprint, state, response_status, response_body, created_at, \
                     locked_at FROM idempotency_keys WHERE shop = ?1 AND key = ?2",
                )?
                .query_row(params![shop, key], |r| {
                    Ok(StoredKey {
                        fingerprint: r.get(0)?,
                        state: r.get(1)?,
                        status: r.get(2)?,
                        body: r.get(3)?,
                        created_at: r.get(4)?,
                        locked_at: r.get(5)?,
                    })
                })
                .optional()?;
            let reuse = match row {
                Some(stored) => reuse_key(key, fingerprint, stored, now)?,
                None => KeyReuse::Expired,
            };
            match reuse {
                KeyReuse::Replay(response) => return Ok(IdempotencyStart::Replay(response)),
                KeyReuse::TakeOver => {
                    tx.prepare_cached(
                        "UPDATE idempotency_keys SET locked_at = ?3 WHERE shop = ?1 AND key = ?2",
                    )?
                    .execute(params![shop, key, now])?;
                }
                KeyReuse::Expired => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO idempotency_keys \
                         (shop, key, fingerprint, state, created_at, locked_at) \
                         VALUES (?1, ?2, ?3, 'in_progress', ?4, ?4)",
                    )?
                    .execute(params![shop, key, fingerprint, now])?;
                }
            }
            Ok(IdempotencyStart::Started)
        })
    }

    /// Blocking [`Store::complete_idempotent`].
    pub fn complete_idempotent(
        &self,
        shop: &str,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        self.write(|tx, now| complete_key(tx, shop, key, fingerprint, response, now))
    }

    /// Blocking [`Store::release_idempotent`].
    pub fn release_idempotent(&self, shop: &str, key: &str) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "DELETE FROM idempotency_keys WHERE shop = ?1 AND key = ?2 AND state = 'in_progress'",
            )?
            .execute(params![shop, key])?;
            Ok(())
        })
    }

    /// Blocking [`Store::purge_expired`].
    pub fn purge_expired(&self) -> Result<Purged, StoreError> {
        self.write(|tx, now| {
            let idempotency_keys = tx
                .prepare_cached("DELETE FROM idempotency_keys WHERE created_at <= ?1")?
                .execute([now.saturating_sub(millis(IDEMPOTENCY_RETENTION))])?;
            let webhook_events = tx
                .prepare_cached("DELETE FROM webhook_events WHERE seen_at <= ?1")?
                .execute([now.saturating_sub(millis(WEBHOOK_EVENT_RETENTION))])?;
            Ok(Purged {
                idempotency_keys,
                webhook_events,
            })
        })
    }

    /// Blocking [`Store::first_delivery`].
    pub fn first_delivery(&self, shop: &str, webhook_id: &str) -> Result<bool, StoreError> {
        check_shop(shop)?;
        check_id("webhook_id", webhook_id)?;
        self.write(|tx, now| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO webhook_events (shop, event_id, seen_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![shop, webhook_id, now])?;
            Ok(inserted > 0)
        })
    }

    /// Blocking [`Store::delete_shop`].
    pub fn delete_shop(&self, shop: &str) -> Result<Vec<(&'static str, usize)>, StoreError> {
        self.write(|tx, _| {
            let mut deleted = Vec::with_capacity(SHOP_TABLES.len());
            for table in SHOP_TABLES {
                let n = tx
                    .prepare_cached(&format!("DELETE FROM {table} WHERE shop = ?1"))?
                    .execute([shop])?;
                deleted.push((table, n));
            }
            Ok(deleted)
        })
    }

    /// Blocking [`Store::record_writeback`].
    pub fn record_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: &str,
        outcome: &WritebackOutcome,
    ) -> Result<bool, StoreError> {
        let (state, code, message, next_at) = writeback_columns(outcome);
        self.write(|tx, now| {
            Ok(tx
                .prepare_cached(
                    "UPDATE fulfillments SET writeback_state = ?4, \
                     writeback_attempts = writeback_attempts + 1, writeback_error_code = ?5, \
                     writeback_error_message = ?6, writeback_next_at = ?7, updated_at = ?8 \
                     WHERE shop = ?1 AND fulfillment_id = ?2 AND writeback_number = ?3 \
                     AND writeback_state IN ('pending', 'failed')",
                )?
                .execute(params![
                    shop,
                    fulfillment_id,
                    tracking_number,
                    state,
                    code,
                    message,
                    next_at,
                    now
                ])?
                == 1)
        })
    }

    /// Blocking [`Store::release_writeback`].
    pub fn release_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: &str,
    ) -> Result<bool, StoreError> {
        self.write(|tx, now| release(tx, shop, fulfillment_id, tracking_number, now))
    }

    /// Blocking [`Store::claim_writeback`].
    pub fn claim_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        now_millis: i64,
        lease_until_millis: i64,
    ) -> Result<bool, StoreError> {
        self.write(|tx, _| {
            Ok(tx
                .prepare_cached(
                    "UPDATE fulfillments SET writeback_next_at = ?3 \
                     WHERE shop = ?1 AND fulfillment_id = ?2 AND writeback_state = 'pending' \
                     AND writeback_next_at <= ?4",
                )?
                .execute(params![
                    shop,
                    fulfillment_id,
                    lease_until_millis,
                    now_millis
                ])?
                == 1)
        })
    }

    /// Blocking [`Store::due_writebacks`].
    pub fn due_writebacks(
        &self,
        now_millis: i64,
        limit: u32,
    ) -> Result<Vec<(String, String, Writeback)>, StoreError> {
        self.read(|tx| {
            let mut statement = tx.prepare_cached(&format!(
                "SELECT shop, {FULFILLMENT_COLUMNS} FROM fulfillments \
                 WHERE writeback_state = 'pending' AND writeback_next_at <= ?1 \
                 ORDER BY writeback_next_at LIMIT ?2"
            ))?;
            let rows = statement.query_map(params![now_millis, limit], |row| {
                let shop: String = row.get("shop")?;
                let (_, record) = fulfillment_from_row(row)?;
                Ok((shop, record))
            })?;
            let mut due = Vec::new();
            for row in rows {
                let (shop, record) = row?;
                if let Some(writeback) = record.writeback {
                    due.push((shop, record.fulfillment_id, writeback));
                }
            }
            Ok(due)
        })
    }

    /// Blocking [`Store::shopify_tracking_seen`].
    pub fn shopify_tracking_seen(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: Option<&str>,
    ) -> Result<Option<Writeback>, StoreError> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "UPDATE fulfillments SET writeback_state = 'done', writeback_error_code = NULL, \
                 writeback_error_message = NULL, writeback_next_at = NULL \
                 WHERE shop = ?1 AND fulfillment_id = ?2 AND writeback_number = ?3 \
                 AND writeback_state IN ('pending', 'failed')",
            )?
            .execute(params![shop, fulfillment_id, tracking_number])?;
            // A third number: the merchant changed it in Shopify, and the fix held here is moot.
            tx.prepare_cached(
                "UPDATE fulfillments SET writeback_state = NULL, writeback_number = NULL, \
                 writeback_company = NULL, writeback_replaces = NULL, writeback_attempts = 0 \
                 WHERE shop = ?1 AND fulfillment_id = ?2 AND writeback_state = 'held' \
                 AND ?3 IS NOT NULL AND ?3 IS NOT writeback_number AND ?3 IS NOT writeback_replaces",
            )?
            .execute(params![shop, fulfillment_id, tracking_number])?;
            let record = load_fulfillment(tx, shop, fulfillment_id)?;
            Ok(fix_to_reapply(
                record.and_then(|r| r.writeback),
                tracking_number,
            ))
        })
    }

    /// Blocking [`Store::backfill`].
    pub fn backfill(&self, shop: &str) -> Result<Option<Backfill>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT state, since, cursor, orders_read, fulfillments_read, error_code, \
                     started_at FROM backfills WHERE shop = ?1",
                )?
                .query_row([shop], |r| {
                    let state: String = r.get(0)?;
                    let state = match state.as_str() {
                        "running" => BackfillState::Running,
                        "done" => BackfillState::Done,
                        "failed" => BackfillState::Failed,
                        other => return Err(conversion_error("state", other)),
                    };
                    Ok(Backfill {
                        state,
                        since: r.get(1)?,
                        cursor: r.get(2)?,
                        orders_read: r.get(3)?,
                        fulfillments_read: r.get(4)?,
                        error_code: r.get(5)?,
                        started_at: r.get(6)?,
                    })
                })
                .optional()?)
        })
    }

    /// Blocking [`Store::put_backfill`].
    pub fn put_backfill(&self, shop: &str, backfill: &Backfill) -> Result<(), StoreError> {
        self.write(|tx, now| {
            tx.prepare_cached(
                "INSERT INTO backfills (shop, state, since, cursor, orders_read, fulfillments_read, \
                 error_code, started_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (shop) DO UPDATE SET state = excluded.state, since = excluded.since, \
                 cursor = excluded.cursor, orders_read = excluded.orders_read, \
                 fulfillments_read = excluded.fulfillments_read, error_code = excluded.error_code, \
                 started_at = excluded.started_at, updated_at = excluded.updated_at, \
                 claimed_by = CASE WHEN excluded.state = 'running' THEN claimed_by END, \
                 claimed_until = CASE WHEN excluded.state = 'running' THEN claimed_until END",
            )?
            .execute(params![
                shop,
                backfill.state.as_str(),
                backfill.since,
                backfill.cursor,
                backfill.orders_read,
                backfill.fulfillments_read,
                backfill.error_code,
                backfill.started_at,
                now
            ])?;
            Ok(())
        })
    }

    /// Blocking [`Store::tiktok_shop`].
    pub fn tiktok_shop(&self, shop: &str) -> Result<Option<TiktokShop>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT tts_shop_id, shop_name, region, seller_type, cipher, open_id, \
                     connected_at, authorization_expires_at FROM tiktok_shops WHERE shop = ?1",
                )?
                .query_row([shop], |r| {
                    Ok(TiktokShop {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        region: r.get(2)?,
                        seller_type: r.get(3)?,
                        cipher: r.get(4)?,
                        open_id: r.get(5)?,
                        connected_at: r.get(6)?,
                        authorization_expires_at: r.get(7)?,
                    })
                })
                .optional()?)
        })
    }

    /// Blocking [`Store::put_tiktok_shop`].
    pub fn put_tiktok_shop(&self, shop: &str, tiktok: &TiktokShop) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "INSERT INTO tiktok_shops (shop, tts_shop_id, shop_name, region, seller_type, cipher, \
                 open_id, connected_at, authorization_expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (shop) DO UPDATE SET tts_shop_id = excluded.tts_shop_id, \
                 shop_name = excluded.shop_name, region = excluded.region, \
                 seller_type = excluded.seller_type, cipher = excluded.cipher, \
                 open_id = excluded.open_id, connected_at = excluded.connected_at, \
                 authorization_expires_at = excluded.authorization_expires_at",
            )?
            .execute(params![
                shop,
                tiktok.id,
                tiktok.name,
                tiktok.region,
                tiktok.seller_type,
                tiktok.cipher,
                tiktok.open_id,
                tiktok.connected_at,
                tiktok.authorization_expires_at
            ])?;
            Ok(())
        })
    }

    /// Blocking [`Store::shop_of_tiktok`].
    pub fn shop_of_tiktok(&self, tts_shop_id: &str) -> Result<Option<String>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT shop FROM tiktok_shops WHERE tts_shop_id = ?1 LIMIT 1")?
                .query_row([tts_shop_id], |r| r.get(0))
                .optional()?)
        })
    }

    /// Blocking [`Store::shop_version`].
    pub fn shop_version(&self, shop: &str) -> Result<i64, StoreError> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT version FROM shop_versions WHERE shop = ?1")?
                .query_row([shop], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        })
    }

    /// Blocking [`Store::delivery_options`].
    pub fn delivery_options(&self, shop: &str) -> Result<Vec<DeliveryOptionRecord>, StoreError> {
        self.read(|tx| delivery_options_in(tx, shop))
    }

    /// Blocking [`Store::settings_and_delivery_options`]: one read transaction.
    pub fn settings_and_delivery_options(
        &self,
        shop: &str,
    ) -> Result<(Option<String>, Vec<DeliveryOptionRecord>), StoreError> {
        self.read(|tx| Ok((settings_in(tx, shop)?, delivery_options_in(tx, shop)?)))
    }

    /// Blocking [`Store::put_delivery_option`].
    pub fn put_delivery_option(
        &self,
        shop: &str,
        option: &DeliveryOptionRecord,
    ) -> Result<(), StoreError> {
        check_providers(&option.providers_json)?;
        self.write(|tx, _| {
            tx.prepare_cached(
                "INSERT INTO delivery_option_providers \
                 (shop, delivery_option_id, providers_json, fetched_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (shop, delivery_option_id) DO UPDATE SET \
                 providers_json = excluded.providers_json, fetched_at = excluded.fetched_at",
            )?
            .execute(params![
                shop,
                option.delivery_option_id,
                option.providers_json,
                option.fetched_at
            ])?;
            Ok(())
        })
    }

    /// Blocking [`Store::set_tiktok_expiry`].
    pub fn set_tiktok_expiry(&self, shop: &str, expires_at: i64) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "UPDATE tiktok_shops SET authorization_expires_at = ?2 WHERE shop = ?1",
            )?
            .execute(params![shop, expires_at])?;
            Ok(())
        })
    }

    /// Blocking [`Store::enqueue_tiktok_event`].
    pub fn enqueue_tiktok_event(&self, event: &TiktokEvent) -> Result<bool, StoreError> {
        self.write(|tx, _| {
            Ok(tx
                .prepare_cached(
                    "INSERT INTO tiktok_events (notification_id, shop, event_type, data_json, \
                     received_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    event.notification_id,
                    event.shop,
                    event.event_type,
                    event.data_json,
                    event.received_at
                ])?
                == 1)
        })
    }

    /// Blocking [`Store::claim_tiktok_events`].
    pub fn claim_tiktok_events(
        &self,
        limit: u32,
        lease_millis: i64,
    ) -> Result<Vec<TiktokEvent>, StoreError> {
        // One write transaction: no other worker claims the same events meanwhile.
        self.write(|tx, now| {
            let mut statement = tx.prepare_cached(
                "UPDATE tiktok_events SET claimed_until = ?2 \
                 WHERE notification_id IN (SELECT notification_id FROM tiktok_events \
                     WHERE done_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?3) \
                     ORDER BY received_at LIMIT ?1) \
                 RETURNING notification_id, shop, event_type, data_json, received_at",
            )?;
            let until = now.saturating_add(lease_millis);
            let rows = statement.query_map(params![limit, until, now], |r| {
                Ok(TiktokEvent {
                    notification_id: r.get(0)?,
                    shop: r.get(1)?,
                    event_type: r.get(2)?,
                    data_json: r.get(3)?,
                    received_at: r.get(4)?,
                })
            })?;
            let mut events = rows.collect::<Result<Vec<_>, _>>()?;
            events.sort_by_key(|e| e.received_at);
            Ok(events)
        })
    }

    /// Blocking [`Store::claim_unsettled_pushes`].
    pub fn claim_unsettled_pushes(
        &self,
        limit: u32,
        stale_millis: i64,
        lease_millis: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.write(|tx, now| {
            let mut statement = tx.prepare_cached(
                "UPDATE pushes SET settle_claimed_until = ?2 \
                 WHERE id IN (SELECT id FROM pushes \
                     WHERE state IN ('pending', 'sending', 'unknown') AND updated_at <= ?3 \
                     AND (settle_claimed_until IS NULL OR settle_claimed_until <= ?4) \
                     ORDER BY updated_at, id LIMIT ?1) \
                 RETURNING shop, fulfillment_id, updated_at, id",
            )?;
            let until = now.saturating_add(lease_millis);
            let rows = statement.query_map(
                params![limit, until, now.saturating_sub(stale_millis), now],
                |r| {
                    Ok((
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get(0)?,
                        r.get(1)?,
                    ))
                },
            )?;
            let mut claimed = rows.collect::<Result<Vec<(i64, i64, String, String)>, _>>()?;
            claimed.sort();
            Ok(claimed
                .into_iter()
                .map(|(_, id, s, f)| (s, f, id))
                .collect())
        })
    }

    /// Blocking [`Store::claim_backfill`].
    pub fn claim_backfill(
        &self,
        shop: &str,
        owner: &str,
        lease_millis: i64,
    ) -> Result<bool, StoreError> {
        self.write(|tx, now| {
            let changed = tx
                .prepare_cached(
                    "UPDATE backfills SET claimed_by = ?2, claimed_until = ?3 WHERE shop = ?1 \
                     AND (claimed_by IS NULL OR claimed_by = ?2 OR claimed_until <= ?4)",
                )?
                .execute(params![shop, owner, now.saturating_add(lease_millis), now])?;
            Ok(changed == 1)
        })
    }

    /// Blocking [`Store::release_backfill`].
    pub fn release_backfill(&self, shop: &str, owner: &str) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "UPDATE backfills SET claimed_by = NULL, claimed_until = NULL \
                 WHERE shop = ?1 AND claimed_by = ?2",
            )?
            .execute(params![shop, owner])?;
            Ok(())
        })
    }

    /// Blocking [`Store::claim_refresh`].
    pub fn claim_refresh(
        &self,
        shop: &str,
        platform: Platform,
        owner: &str,
        lease_millis: i64,
    ) -> Result<bool, StoreError> {
        self.write(|tx, now| {
            let changed = tx
                .prepare_cached(
                    "UPDATE shop_credentials SET refresh_claimed_by = ?3, refresh_claimed_until = ?4 \
                     WHERE shop = ?1 AND platform = ?2 \
                     AND (refresh_claimed_until IS NULL OR refresh_claimed_until <= ?5)",
                )?
                .execute(params![
                    shop,
                    platform.as_str(),
                    owner,
                    now.saturating_add(lease_millis),
                    now
                ])?;
            Ok(changed == 1)
        })
    }

    /// Blocking [`Store::release_refresh`].
    pub fn release_refresh(
        &self,
        shop: &str,
        platform: Platform,
        owner: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "UPDATE shop_credentials SET refresh_claimed_by = NULL, refresh_claimed_until = NULL \
                 WHERE shop = ?1 AND platform = ?2 AND refresh_claimed_by = ?3",
            )?
            .execute(params![shop, platform.as_str(), owner])?;
            Ok(())
        })
    }

    /// The lock of one fulfillment, in this process ([`Store::lock_fulfillment`]).
    pub(crate) async fn lock_fulfillment(&self, shop: &str, fulfillment_id: &str) -> KeyGuard {
        self.inner
            .locks
            .lock(&format!("{shop}/{fulfillment_id}"))
            .await
    }

    /// Blocking [`Store::finish_tiktok_event`].
    pub fn finish_tiktok_event(&self, notification_id: &str) -> Result<(), StoreError> {
        self.write(|tx, now| {
            tx.prepare_cached("UPDATE tiktok_events SET done_at = ?2 WHERE notification_id = ?1")?
                .execute(params![notification_id, now])?;
            Ok(())
        })
    }

    /// Blocking [`Store::fulfillments_of_order`].
    pub fn fulfillments_of_order(
        &self,
        shop: &str,
        order_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.read(|tx| {
            let mut statement = tx.prepare_cached(
                "SELECT fulfillment_id FROM fulfillments WHERE shop = ?1 \
                 AND json_extract(tts_order_json, '$.id') = ?2",
            )?;
            let rows = statement.query_map(params![shop, order_id], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
    }

    /// Blocking [`Store::put_oauth_state`].
    pub fn put_oauth_state(
        &self,
        shop: &str,
        state: &str,
        now_millis: i64,
    ) -> Result<(), StoreError> {
        check_oauth_state(state)?;
        self.write(|tx, _| {
            tx.prepare_cached(
                "INSERT INTO oauth_states (state, shop, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![state, shop, now_millis])?;
            Ok(())
        })
    }

    /// Blocking [`Store::take_oauth_state`].
    pub fn take_oauth_state(
        &self,
        state: &str,
        now_millis: i64,
        max_age_millis: i64,
    ) -> Result<Option<String>, StoreError> {
        self.write(|tx, _| {
            let found: Option<(String, i64)> = tx
                .prepare_cached(
                    "UPDATE oauth_states SET used_at = ?2 WHERE state = ?1 AND used_at IS NULL \
                     RETURNING shop, created_at",
                )?
                .query_row(params![state, now_millis], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            Ok(found
                .filter(|(_, created)| now_millis.saturating_sub(*created) <= max_age_millis)
                .map(|(shop, _)| shop))
        })
    }

    /// Blocking [`Store::credentials`].
    pub fn credentials(
        &self,
        shop: &str,
        platform: Platform,
    ) -> Result<Option<ShopCredentials>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT access_token, access_expires_at, refresh_token, refresh_expires_at, \
                     previous_refresh_token, needs_reconnect FROM shop_credentials \
                     WHERE shop = ?1 AND platform = ?2",
                )?
                .query_row(params![shop, platform.as_str()], |r| {
                    Ok(ShopCredentials {
                        access_token: r.get(0)?,
                        access_expires_at: r.get(1)?,
                        refresh_token: r.get(2)?,
                        refresh_expires_at: r.get(3)?,
                        previous_refresh_token: r.get(4)?,
                        needs_reconnect: r.get::<_, i64>(5)? != 0,
                    })
                })
                .optional()?)
        })
    }

    /// Blocking [`Store::swap_credentials`].
    pub fn swap_credentials(
        &self,
        shop: &str,
        platform: Platform,
        expected_refresh: Option<&str>,
        credentials: &ShopCredentials,
    ) -> Result<bool, StoreError> {
        check_shop(shop)?;
        check_sealed(credentials)?;
        self.write(|tx, now| {
            let stored: Option<Option<String>> = tx
                .prepare_cached(
                    "SELECT refresh_token FROM shop_credentials WHERE shop = ?1 AND platform = ?2",
                )?
                .query_row(params![shop, platform.as_str()], |r| r.get(0))
                .optional()?;
            if let (Some(expected), Some(stored)) = (expected_refresh, &stored) {
                if stored.as_deref() != Some(expected) {
                    return Ok(false);
                }
            }
            tx.prepare_cached(
                "INSERT INTO shop_credentials (shop, platform, access_token, access_expires_at, \
                 refresh_token, refresh_expires_at, previous_refresh_token, needs_reconnect, \
                 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (shop, platform) DO UPDATE SET access_token = excluded.access_token, \
                 access_expires_at = excluded.access_expires_at, \
                 refresh_token = excluded.refresh_token, \
                 refresh_expires_at = excluded.refresh_expires_at, \
                 previous_refresh_token = excluded.previous_refresh_token, \
                 needs_reconnect = excluded.needs_reconnect, updated_at = excluded.updated_at, \
                 refresh_claimed_by = NULL, refresh_claimed_until = NULL",
            )?
            .execute(params![
                shop,
                platform.as_str(),
                credentials.access_token,
                credentials.access_expires_at,
                credentials.refresh_token,
                credentials.refresh_expires_at,
                credentials.previous_refresh_token,
                i64::from(credentials.needs_reconnect),
                now
            ])?;
            Ok(true)
        })
    }

    /// Blocking [`Store::all_credentials`].
    pub fn all_credentials(&self) -> Result<Vec<(String, Platform, ShopCredentials)>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT shop, platform, access_token, access_expires_at, refresh_token, \
                 refresh_expires_at, previous_refresh_token, needs_reconnect FROM shop_credentials \
                 ORDER BY shop, platform",
            )?;
            let rows = stmt.query_map([], |r| {
                let platform = match r.get::<_, String>(1)?.as_str() {
                    "tiktok" => Platform::Tiktok,
                    _ => Platform::Shopify,
                };
                Ok((
                    r.get::<_, String>(0)?,
                    platform,
                    ShopCredentials {
                        access_token: r.get(2)?,
                        access_expires_at: r.get(3)?,
                        refresh_token: r.get(4)?,
                        refresh_expires_at: r.get(5)?,
                        previous_refresh_token: r.get(6)?,
                        needs_reconnect: r.get::<_, i64>(7)? != 0,
                    },
                ))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Blocking [`Store::mark_reconnect`].
    pub fn mark_reconnect(
        &self,
        shop: &str,
        platform: Platform,
        refused: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.write(|tx, now| {
            let changed = tx
                .prepare_cached(
                    "UPDATE shop_credentials SET needs_reconnect = 1, updated_at = ?3, \
                     refresh_claimed_by = NULL, refresh_claimed_until = NULL \
                     WHERE shop = ?1 AND platform = ?2 AND (?4 IS NULL OR refresh_token = ?4)",
                )?
                .execute(params![shop, platform.as_str(), now, refused])?;
            Ok(changed > 0)
        })
    }

    /// Blocking [`Store::delete_credentials`].
    pub fn delete_credentials(&self, shop: &str, platform: Platform) -> Result<bool, StoreError> {
        self.write(|tx, _| {
            let deleted = tx
                .prepare_cached("DELETE FROM shop_credentials WHERE shop = ?1 AND platform = ?2")?
                .execute(params![shop, platform.as_str()])?;
            Ok(deleted > 0)
        })
    }

    /// Blocking [`Store::ping`].
    pub fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
    }
}
