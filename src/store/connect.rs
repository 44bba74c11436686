//! Opening a store by URL and bringing its schema up to date.

use super::StoreSettings;
use projections::db::{Db, DbError, SqliteOptions, SqliteStore};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;
use std::str::FromStr;
use std::time::Duration;

/// What opening does with a database that holds no scimd store yet: `serve` and first-time
/// setup make one; every other administrative command refuses, so that a command run from the
/// wrong folder or with a mistyped URL does not quietly work on a new, empty store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfAbsent {
    Create,
    Refuse,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("there is no scimd store at {path}: the file does not exist (nothing was created)")]
    NoSuchFile { path: String },
    #[error(
        "{url} is not a scimd store yet: it holds none of scimd's tables (it was left untouched)"
    )]
    NotAStoreYet { url: String },
    #[error("unsupported database URL {0}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot open {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: DbError,
    },
    #[error("cannot migrate {url}: {source}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl StoreError {
    /// Whether the database holds no scimd store, as opposed to one that could not be opened.
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::NoSuchFile { .. } | Self::NotAStoreYet { .. })
    }
}

/// Brings the SQLite file `options` names up to date with `migrations` (sqlx's migrator, on a
/// connection of its own that is closed again), then opens scimd's own connections on it.
pub async fn open_sqlite(
    url: &str,
    options: SqliteConnectOptions,
    migrations: &sqlx::migrate::Migrator,
    store: SqliteOptions,
) -> Result<Db, StoreError> {
    let connect_error = |source: sqlx::Error| StoreError::Connect {
        url: redact(url),
        source: source.into(),
    };
    let migrating = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.disable_statement_logging())
        .await
        .map_err(connect_error)?;
    let migrated = migrations.run(&migrating).await;
    migrating.close().await;
    migrated.map_err(|source| StoreError::Migrate {
        url: redact(url),
        source,
    })?;
    let store = SqliteStore::open(&store).map_err(|source| StoreError::Connect {
        url: redact(url),
        source,
    })?;
    Ok(Db::Sqlite(store))
}

/// Prepared statements kept per PostgreSQL connection (sqlx keeps 100): every connection
/// serves requests, the projector and the background writers alike, and their statements
/// together number more than 100, so a lookup's statement was evicted and prepared again.
const STATEMENT_CACHE: usize = 1_000;

/// A PostgreSQL connection idle this long is checked before use (see `connect`).
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(30);

/// How long a SQLite statement waits for the write lock when no timeout is set.
const SQLITE_LOCK_WAIT: Duration = Duration::from_secs(10);

pub async fn connect(settings: &StoreSettings) -> Result<Db, StoreError> {
    let url = settings.database_url.as_str();
    let pool_size = settings.pool_size;
    let connect_error = |source: sqlx::Error| StoreError::Connect {
        url: redact(url),
        source: source.into(),
    };
    let migrate_error = |source| StoreError::Migrate {
        url: redact(url),
        source,
    };
    if url.starts_with("sqlite:") {
        let busy_timeout = settings.statement_timeout.unwrap_or(SQLITE_LOCK_WAIT);
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_error)?
            .create_if_missing(settings.if_absent == IfAbsent::Create)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a transaction acknowledged to an IdP survives a power cut, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(busy_timeout);
        let path = options.get_filename().to_path_buf();
        if settings.if_absent == IfAbsent::Refuse && !path.exists() {
            return Err(StoreError::NoSuchFile {
                path: std::path::absolute(&path)
                    .unwrap_or_else(|_| path.clone())
                    .display()
                    .to_string(),
            });
        }
        let store = SqliteOptions {
            path,
            readers: usize::try_from(pool_size).unwrap_or(usize::MAX),
            durable: true,
            busy_timeout,
        };
        open_sqlite(url, options, &sqlx::migrate!("./migrations/sqlite"), store).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(connect_error)?
            .statement_cache_capacity(STATEMENT_CACHE);
        if let Some(timeout) = settings.statement_timeout {
            let millis = timeout.as_millis().to_string();
            options = options.options([("statement_timeout", millis.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(pool_size)
            // sqlx pings every connection it hands out by default: a round trip before each
            // statement, which doubled a lookup's. Only a connection idle long enough to have
            // been dropped by the server or the network is checked; a dead one is closed and
            // another taken.
            .test_before_acquire(false)
            .before_acquire(|connection, held| {
                Box::pin(async move {
                    if held.idle_for < CHECK_IDLE_AFTER {
                        return Ok(true);
                    }
                    sqlx::Connection::ping(connection).await.map(|()| true)
                })
            })
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        let refused = settings.if_absent == IfAbsent::Refuse
            && !migrated_before(&pool).await.map_err(connect_error)?;
        if refused {
            pool.close().await;
            return Err(StoreError::NotAStoreYet { url: redact(url) });
        }
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(migrate_error)?;
        Ok(Db::Postgres(pool))
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}

/// Whether scimd's migrations ever ran on this database. A database another program migrated
/// with sqlx passes too, and then fails in the migrator as it always did (unknown versions).
async fn migrated_before(pool: &sqlx::PgPool) -> Result<bool, sqlx::Error> {
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !has_table {
        return Ok(false);
    }
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM _sqlx_migrations WHERE success)")
        .fetch_one(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://scimd:s3cret@db:5432/scimd"),
            "postgres://scimd:***@db:5432/scimd"
        );
        assert_eq!(
            redact("postgres://scimd@db/scimd"),
            "postgres://scimd@db/scimd"
        );
        assert_eq!(redact("sqlite://./scimd.db"), "sqlite://./scimd.db");
    }
}
