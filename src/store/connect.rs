//! Opening a store by URL and bringing its schema up to date.

use super::StoreSettings;
use projections::db::{Db, DbError, SqliteOptions, SqliteStore};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a transaction acknowledged to an IdP survives a power cut, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(busy_timeout);
        let store = SqliteOptions {
            path: options.get_filename().to_path_buf(),
            readers: usize::try_from(pool_size).unwrap_or(usize::MAX),
            durable: true,
            busy_timeout,
        };
        open_sqlite(url, options, &sqlx::migrate!("./migrations/sqlite"), store).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut options = PgConnectOptions::from_str(url).map_err(connect_error)?;
        if let Some(timeout) = settings.statement_timeout {
            let millis = timeout.as_millis().to_string();
            options = options.options([("statement_timeout", millis.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(pool_size)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(migrate_error)?;
        Ok(Db::Postgres(pool))
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
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
