//! An event repository that reads through one pool and writes through another: on SQLite,
//! loading an aggregate must not queue behind the single writing connection (see
//! `projections::db::SqlitePools`; on PostgreSQL both are the same pool), and a command
//! without events does not write at all.

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use projections::db::{Db, Sql};
use serde_json::Value;

pub struct SplitRepository<R> {
    reads: R,
    writes: R,
    /// Where events are appended through SQLite's group commit (`Db::append_events`), if
    /// anywhere; a snapshot still goes through `writes`, with its events.
    grouped_appends: Option<Db>,
}

impl<R> SplitRepository<R> {
    pub fn new(reads: R, writes: R) -> Self {
        Self {
            reads,
            writes,
            grouped_appends: None,
        }
    }

    pub fn appending_through(mut self, db: Db) -> Self {
        self.grouped_appends = Some(db);
        self
    }
}

/// The same rows the store crate's own append writes, as one atomic write; a sequence taken
/// already is a concurrent command's, which cqrs-es then retries.
async fn append(
    db: &Db,
    aggregate_type: &str,
    events: &[SerializedEvent],
) -> Result<(), PersistenceError> {
    let mut statements = Vec::with_capacity(events.len());
    for event in events {
        let payload = serde_json::to_string(&event.payload)?;
        let metadata = serde_json::to_string(&event.metadata)?;
        statements.push(
            Sql::new(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                     event_version, payload, metadata)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(aggregate_type)
            .bind(event.aggregate_id.as_str())
            .bind(u64::try_from(event.sequence).unwrap_or(u64::MAX))
            .bind(event.event_type.as_str())
            .bind(event.event_version.as_str())
            .bind(payload)
            .bind(metadata),
        );
    }
    match db.append_events(statements).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_unique_violation() => Err(PersistenceError::OptimisticLockError),
        Err(error) => Err(PersistenceError::UnknownError(Box::new(error))),
    }
}

impl<R: PersistedEventRepository> PersistedEventRepository for SplitRepository<R> {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads.get_events::<A>(aggregate_id).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.reads.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        // A command that changed nothing (a manager linked already) would still open and
        // commit a transaction on the one writing connection.
        if events.is_empty() && snapshot_update.is_none() {
            return Ok(());
        }
        match (&self.grouped_appends, snapshot_update) {
            (Some(db), None) => append(db, A::TYPE, events).await,
            (_, snapshot_update) => self.writes.persist::<A>(events, snapshot_update).await,
        }
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_all_events::<A>().await
    }
}
