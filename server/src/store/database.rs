//! Which database a server keeps its state in: an SQLite file (the default: one process, nothing to
//! install) or a PostgreSQL server (several instances sharing it).

use std::path::PathBuf;
use std::sync::Arc;

use super::{PgOptions, PgStore, SqliteOptions, SqliteStore, Store, StoreError};

/// A database, as `--database` names it: `postgres://…` or `postgresql://…` for PostgreSQL; a file
/// path, or `sqlite:` and a path, for SQLite.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file, created when missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user:password@host:port/database`).
    Postgres(String),
}

impl std::str::FromStr for Database {
    type Err = StoreError;

    /// # Errors
    /// [`StoreError::InvalidInput`] (field `database`) for an empty name, a PostgreSQL URL that does
    /// not parse, or a `key=value` connection string (given as a URL instead, so that it is never
    /// taken for a file name). The messages never repeat the text, which may hold a password.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            text.parse::<tokio_postgres::Config>()
                .map_err(|e| StoreError::invalid("database", e.to_string()))?;
            return Ok(Self::Postgres(text.to_owned()));
        }
        if is_key_value(text) {
            return Err(StoreError::invalid(
                "database",
                "a PostgreSQL connection string: give it as a postgres:// URL",
            ));
        }
        let path = text.strip_prefix("sqlite:").unwrap_or(text);
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(StoreError::invalid(
                "database",
                "name an SQLite file or a postgres:// URL",
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// Whether `text` reads as libpq's `key=value` connection string (`host=db user=app …`) rather than a
/// file name.
fn is_key_value(text: &str) -> bool {
    const KEYS: [&str; 8] = [
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "sslmode",
        "application_name",
    ];
    text.split_whitespace().any(|word| {
        word.split_once('=')
            .is_some_and(|(key, _)| KEYS.contains(&key.to_ascii_lowercase().as_str()))
    })
}

/// Names the database without its password: fit for logs.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    // A password may come in the query too.
                    let query: Vec<(String, String)> = parsed
                        .query_pairs()
                        .map(|(k, v)| {
                            let hidden = k.eq_ignore_ascii_case("password");
                            (
                                k.into_owned(),
                                if hidden { "***".into() } else { v.into_owned() },
                            )
                        })
                        .collect();
                    if !query.is_empty() {
                        parsed.query_pairs_mut().clear().extend_pairs(query);
                    }
                    write!(f, "{parsed}")
                }
                // Not a URL the parser reads (tokio-postgres took it): only its kind is named.
                Err(_) => f.write_str("postgres (a URL)"),
            },
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({self})")
    }
}

impl Database {
    /// Opens the store: an SQLite file is created and migrated; a PostgreSQL database is connected to
    /// and migrated (one instance at a time).
    ///
    /// # Errors
    /// As [`SqliteStore::open_with`] and [`PgStore::connect`].
    pub async fn open(
        &self,
        sqlite: SqliteOptions,
        postgres: &PgOptions,
    ) -> Result<Arc<dyn Store>, StoreError> {
        match self {
            Self::Sqlite(path) => {
                let path = path.clone();
                let store =
                    tokio::task::spawn_blocking(move || SqliteStore::open_with(path, sqlite))
                        .await
                        .map_err(|e| StoreError::Task(e.to_string()))??;
                Ok(Arc::new(store))
            }
            Self::Postgres(url) => Ok(Arc::new(PgStore::connect(url, postgres).await?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Database;

    #[test]
    fn names_parse_and_passwords_never_show() {
        let db: Database = "postgres://app:s3cret@db.internal:5432/preflight"
            .parse()
            .unwrap();
        assert_eq!(
            db.to_string(),
            "postgres://app:***@db.internal:5432/preflight"
        );
        assert!(!format!("{db:?}").contains("s3cret"));
        let db: Database = "postgres://app@db/preflight?sslmode=disable&password=s3cret"
            .parse()
            .unwrap();
        assert!(!db.to_string().contains("s3cret"), "{db}");
        assert!(db.to_string().contains("sslmode=disable"), "{db}");
        let refused = "host=db user=app password=s3cret"
            .parse::<Database>()
            .unwrap_err();
        assert!(!refused.to_string().contains("s3cret"));
        // A file name with `=` in it is a file name.
        assert_eq!(
            "/srv/env=prod/p.db".parse::<Database>().unwrap(),
            Database::Sqlite("/srv/env=prod/p.db".into())
        );
        assert_eq!(
            "sqlite:data/p.db".parse::<Database>().unwrap(),
            Database::Sqlite("data/p.db".into())
        );
        assert_eq!(
            "preflight.sqlite3".parse::<Database>().unwrap(),
            Database::Sqlite("preflight.sqlite3".into())
        );
        assert_eq!(
            "".parse::<Database>().unwrap_err().code(),
            "store.invalid_input"
        );
        assert!("postgres://h:notaport/db".parse::<Database>().is_err());
    }
}
