//! What a storage call can fail with, each with a stable code.

use tokio_postgres::error::SqlState;

use super::push::PushState;

/// Why a storage call failed.
///
/// [`StoreError::code`] gives a stable machine code; the API gives each variant its status in
/// [`crate::error::store_status`] (noted on each variant).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (I/O, corruption, a lock held past the busy timeout). API: 500.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed a statement. API: 500.
    #[error("database error: {0}")]
    Postgres(#[source] tokio_postgres::Error),
    /// The database cannot be reached now (PostgreSQL down, restarting or out of connections, the
    /// connection lost, no connection free in time). API: 503: the request may be sent again.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A storage call stopped before it answered (it panicked, or the runtime is shutting down).
    /// API: 500.
    #[error("a storage call failed: {0}")]
    Task(String),
    /// Migrating the schema failed. API: 500.
    #[error("migrating the schema failed: {0}")]
    Migration(String),
    /// A pragma set at open did not read back with the value asked for: the server must not start.
    /// API: 500.
    #[error("pragma `{name}` reads back `{actual}`, expected `{expected}`")]
    Pragma {
        /// The pragma, like `journal_mode`.
        name: &'static str,
        /// The value asked for.
        expected: String,
        /// The value read back.
        actual: String,
    },
    /// The database was migrated by a newer version of this program. API: 500.
    #[error("database schema version {found} is newer than the supported {supported}")]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// An argument is not acceptable (empty shop, a payload that is not JSON, a timestamp without
    /// offset, a failed push without its failure). API: 400.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// What was wrong, like `updated_at`.
        field: &'static str,
        /// Why, in one lowercase line.
        message: String,
    },
    /// The row does not exist for this shop (another shop's row reads as absent). API: 404.
    #[error("{what} `{id}` not found")]
    NotFound {
        /// The kind of row: `fulfillment`, `push`, `idempotency key`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The pagination cursor was not one this store issued. API: 400, with the path `cursor`.
    #[error("invalid cursor `{0}`")]
    InvalidCursor(String),
    /// The transition is not an edge of the push state machine. API: 500 (a bug in the caller).
    #[error("a push cannot go from `{from}` to `{to}`")]
    IllegalTransition {
        /// The state the caller expected the push to be in.
        from: PushState,
        /// The state asked for.
        to: PushState,
    },
    /// The push is no longer in the state the caller read: someone else moved it. API: 409.
    #[error("push {push_id} is `{actual}`, not `{expected}`")]
    PushStateChanged {
        /// The push.
        push_id: i64,
        /// The state the caller expected.
        expected: PushState,
        /// The state found.
        actual: PushState,
    },
    /// The fulfillment already has a push that is not finished. API: 409.
    #[error("fulfillment `{fulfillment_id}` already has push {push_id} in flight")]
    PushInFlight {
        /// The fulfillment.
        fulfillment_id: String,
        /// The open push.
        push_id: i64,
    },
    /// The idempotency key was first used with another request. API: 422.
    #[error("idempotency key `{0}` was used with another request")]
    IdempotencyMismatch(String),
    /// The first request with this idempotency key is still running. API: 409.
    #[error("a request with idempotency key `{0}` is still in progress")]
    IdempotencyInProgress(String),
}

impl StoreError {
    /// The stable machine code of this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Database(_) | Self::Postgres(_) => "store.database",
            Self::Unavailable(_) => "store.unavailable",
            Self::Migration(_) => "store.migration_failed",
            Self::Task(_) => "store.task_failed",
            Self::Pragma { .. } => "store.pragma_not_applied",
            Self::SchemaTooNew { .. } => "store.schema_too_new",
            Self::InvalidInput { .. } => "store.invalid_input",
            Self::NotFound { .. } => "store.not_found",
            Self::InvalidCursor(_) => "store.invalid_cursor",
            Self::IllegalTransition { .. } => "push.illegal_transition",
            Self::PushStateChanged { .. } => "push.state_changed",
            Self::PushInFlight { .. } => "push.in_flight",
            Self::IdempotencyMismatch(_) => "idempotency.key_reused",
            Self::IdempotencyInProgress(_) => "idempotency.in_progress",
        }
    }

    /// A PostgreSQL error as the store answers it: a connection lost or refused, or a server
    /// shutting down, starting or out of connections, is [`StoreError::Unavailable`]; text that
    /// PostgreSQL cannot hold (a NUL character) is [`StoreError::InvalidInput`]; anything else is
    /// [`StoreError::Postgres`].
    #[must_use]
    pub fn from_postgres(error: tokio_postgres::Error) -> Self {
        if is_connection_failure(&error) {
            return Self::Unavailable(error.to_string());
        }
        if error.code() == Some(&SqlState::CHARACTER_NOT_IN_REPERTOIRE) {
            return Self::invalid("text", "a NUL character cannot be stored");
        }
        Self::Postgres(error)
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            id: id.into(),
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::from_postgres(error)
    }
}

/// Whether a PostgreSQL error says to send the request again rather than that it is wrong: the
/// connection closed, an I/O failure (refused, reset, timed out), SQLSTATE class 08 (connection
/// exception), 57P01 to 57P03 (the server shutting down or starting), 53300 (too many connections),
/// 25006 (read-only: a failover under way) or 57014 (a statement cancelled). (A deadlock or a
/// serialization failure is run again by the store, and answered as unavailable when it persists.)
fn is_connection_failure(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.as_db_error() {
        Some(db) => {
            let code = db.code();
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                    SqlState::READ_ONLY_SQL_TRANSACTION,
                    SqlState::QUERY_CANCELED,
                ]
                .contains(code)
        }
        None => {
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                if cause.is::<std::io::Error>() {
                    return true;
                }
                source = cause.source();
            }
            false
        }
    }
}
