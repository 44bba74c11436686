//! A throwaway store beside the live one, with the same schema, for rebuilding projections
//! without touching the live read models (`scimd verify`).
//!
//! On SQLite it is a temporary file; on PostgreSQL a schema of its own in the same database,
//! so that no right to create databases is needed. Either way its event log keeps the
//! positions it is given instead of numbering events itself.

use super::connect::{open_sqlite, redact, StoreError};
use projections::db::{Db, DbError, Sql, SqliteOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use std::path::PathBuf;

const SCRATCH_POOL_SIZE: u32 = 2;
/// How errors name the scratch store, whose connection details are the live store's.
const SCHEMA: &str = "the scratch schema";

pub struct Scratch {
    pub db: Db,
    place: Place,
}

enum Place {
    File(PathBuf),
    Schema { live: Db, name: String },
}

impl Scratch {
    /// Creates an empty scratch store beside `live`.
    pub async fn create(live: &Db) -> Result<Self, StoreError> {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        match live {
            Db::Sqlite(_) => {
                let path = std::env::temp_dir().join(format!("scimd-scratch-{suffix}.db"));
                let scratch = Self {
                    db: Self::open_file(&path).await?,
                    place: Place::File(path),
                };
                match scratch.keep_given_positions().await {
                    Ok(()) => Ok(scratch),
                    Err(error) => {
                        scratch.discard().await;
                        Err(error)
                    }
                }
            }
            Db::Postgres(pool) => {
                let name = format!("scimd_scratch_{suffix}");
                live.execute(&Sql::new(format!("CREATE SCHEMA {name}")))
                    .await
                    .map_err(|error| Self::failed(SCHEMA, error))?;
                let options = pool.connect_options().as_ref().clone();
                match Self::open_schema(options, &name).await {
                    Ok(db) => Ok(Self {
                        db,
                        place: Place::Schema {
                            live: live.clone(),
                            name,
                        },
                    }),
                    Err(error) => {
                        drop_schema(live, &name).await;
                        Err(error)
                    }
                }
            }
        }
    }

    /// Removes the scratch store. Failing to is only logged: it holds nothing of value.
    pub async fn discard(self) {
        match self.place {
            Place::File(path) => {
                self.db.close().await;
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    if let Err(error) = std::fs::remove_file(&file) {
                        if error.kind() != std::io::ErrorKind::NotFound {
                            tracing::warn!(%error, ?file, "could not remove the scratch store");
                        }
                    }
                }
            }
            Place::Schema { live, name } => {
                self.db.close().await;
                drop_schema(&live, &name).await;
            }
        }
    }

    async fn open_file(path: &std::path::Path) -> Result<Db, StoreError> {
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A scratch copy that a crash loses is simply made again.
            .synchronous(SqliteSynchronous::Off);
        let store = SqliteOptions {
            path: path.to_path_buf(),
            readers: SCRATCH_POOL_SIZE as usize,
            durable: false,
            busy_timeout: std::time::Duration::from_secs(10),
        };
        open_sqlite(&url, options, &sqlx::migrate!("./migrations/sqlite"), store).await
    }

    async fn open_schema(live: PgConnectOptions, schema: &str) -> Result<Db, StoreError> {
        let options = live.options([("search_path", schema)]);
        let pool = PgPoolOptions::new()
            .max_connections(SCRATCH_POOL_SIZE)
            .connect_with(options)
            .await
            .map_err(|error| Self::failed(SCHEMA, error.into()))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                url: SCHEMA.to_string(),
                source,
            })?;
        Ok(Db::Postgres(pool))
    }

    /// SQLite's log numbers events as they arrive; a copy must keep the original numbers, which
    /// the read models record. (PostgreSQL accepts given positions with OVERRIDING SYSTEM VALUE.)
    async fn keep_given_positions(&self) -> Result<(), StoreError> {
        self.db
            .execute(&Sql::new("DROP TRIGGER events_are_numbered"))
            .await
            .map_err(|error| Self::failed("the scratch store", error))?;
        Ok(())
    }

    fn failed(url: &str, source: DbError) -> StoreError {
        StoreError::Connect {
            url: redact(url),
            source,
        }
    }
}

async fn drop_schema(live: &Db, name: &str) {
    let drop = Sql::new(format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
    if let Err(error) = live.execute(&drop).await {
        tracing::warn!(%error, schema = name, "could not drop the scratch schema");
    }
}
