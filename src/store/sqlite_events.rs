//! cqrs-es's event repository on SQLite, through scimd's own SQLite connections (see
//! `projections::db::sqlite`): loading an aggregate is a read on the request's own thread, and
//! appends go through the group commit. The tables and what is stored in them are those of the
//! store crate it replaces (sqlite-es 0.5): events, and one snapshot row per aggregate whose
//! `current_snapshot` guards against two writers snapshotting at once.

use super::split_repository::inserts;
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use projections::db::{Db, DbError, Dialect, Sql};
use serde_json::Value;

pub struct SqliteEvents {
    db: Db,
}

impl SqliteEvents {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn select(&self, sql: Sql) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let rows: Vec<EventRow> = self.db.fetch_all(&sql).await.map_err(unknown)?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    /// Appends `events` and stores the aggregate's snapshot in one transaction.
    async fn persist_with_snapshot<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        (aggregate_id, aggregate, current_snapshot): (String, Value, usize),
    ) -> Result<(), PersistenceError> {
        let last_sequence = events.last().map_or(0, |event| event.sequence);
        let payload = serde_json::to_string(&aggregate).map_err(unknown)?;
        let snapshot = if current_snapshot == 1 {
            Sql::new(
                "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence,
                     current_snapshot, payload)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(A::TYPE)
            .bind(aggregate_id.as_str())
            .bind(last_sequence as u64)
            .bind(current_snapshot as u64)
            .bind(payload)
        } else {
            Sql::new(
                "UPDATE snapshots SET last_sequence = $1, payload = $2, current_snapshot = $3
                  WHERE aggregate_type = $4 AND aggregate_id = $5 AND current_snapshot = $6",
            )
            .bind(last_sequence as u64)
            .bind(payload)
            .bind(current_snapshot as u64)
            .bind(A::TYPE)
            .bind(aggregate_id.as_str())
            .bind(current_snapshot.saturating_sub(1) as u64)
        };
        let appends = inserts(Dialect::Sqlite, A::TYPE, events).map_err(unknown)?;
        let mut tx = self.db.begin_write().await.map_err(unknown)?;
        for insert in &appends {
            tx.execute(insert).await.map_err(conflict_or_unknown)?;
        }
        let stored = tx.execute(&snapshot).await.map_err(conflict_or_unknown)?;
        if stored != 1 {
            return Err(PersistenceError::OptimisticLockError);
        }
        tx.commit().await.map_err(unknown)
    }
}

const EVENT_COLUMNS: &str =
    "aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata";

#[derive(sqlx::FromRow, serde::Deserialize)]
struct EventRow {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
}

impl EventRow {
    fn into_event(self) -> Result<SerializedEvent, PersistenceError> {
        Ok(SerializedEvent {
            aggregate_id: self.aggregate_id,
            sequence: usize::try_from(self.sequence).map_err(unknown)?,
            aggregate_type: self.aggregate_type,
            event_type: self.event_type,
            event_version: self.event_version,
            payload: serde_json::from_str(&self.payload).map_err(unknown)?,
            metadata: serde_json::from_str(&self.metadata).map_err(unknown)?,
        })
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct SnapshotRow {
    aggregate_id: String,
    last_sequence: i64,
    current_snapshot: i64,
    payload: String,
}

fn unknown(error: impl std::error::Error + Send + Sync + 'static) -> PersistenceError {
    PersistenceError::UnknownError(Box::new(error))
}

/// A sequence or snapshot taken already is a concurrent command's, which cqrs-es retries.
fn conflict_or_unknown(error: DbError) -> PersistenceError {
    if error.is_unique_violation() {
        PersistenceError::OptimisticLockError
    } else {
        unknown(error)
    }
}

impl PersistedEventRepository for SqliteEvents {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let sql = Sql::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events
              WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"
        ))
        .bind(A::TYPE)
        .bind(aggregate_id);
        self.select(sql).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let sql = Sql::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events
              WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
              ORDER BY sequence"
        ))
        .bind(A::TYPE)
        .bind(aggregate_id)
        .bind(last_sequence as u64);
        self.select(sql).await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        let sql = Sql::new(
            "SELECT aggregate_id, last_sequence, current_snapshot, payload FROM snapshots
              WHERE aggregate_type = $1 AND aggregate_id = $2",
        )
        .bind(A::TYPE)
        .bind(aggregate_id);
        let Some(row) = self
            .db
            .fetch_optional::<SnapshotRow>(&sql)
            .await
            .map_err(unknown)?
        else {
            return Ok(None);
        };
        Ok(Some(SerializedSnapshot {
            aggregate_id: row.aggregate_id,
            aggregate: serde_json::from_str(&row.payload).map_err(unknown)?,
            current_sequence: usize::try_from(row.last_sequence).map_err(unknown)?,
            current_snapshot: usize::try_from(row.current_snapshot).map_err(unknown)?,
        }))
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        match snapshot_update {
            Some(snapshot) => self.persist_with_snapshot::<A>(events, snapshot).await,
            None => {
                let appends = inserts(Dialect::Sqlite, A::TYPE, events).map_err(unknown)?;
                self.db
                    .append_events(appends)
                    .await
                    .map(drop)
                    .map_err(conflict_or_unknown)
            }
        }
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        let events = self.get_events::<A>(aggregate_id).await?;
        Ok(replay(events))
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        let sql = Sql::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE aggregate_type = $1 ORDER BY sequence"
        ))
        .bind(A::TYPE);
        Ok(replay(self.select(sql).await?))
    }
}

/// `events` as cqrs-es's stream, fed by a task of its own.
fn replay(events: Vec<SerializedEvent>) -> ReplayStream {
    let (mut feed, stream) = ReplayStream::new(events.len().clamp(1, 200));
    tokio::spawn(async move {
        for event in events {
            if feed.push(Ok(event)).await.is_err() {
                return;
            }
        }
    });
    stream
}
