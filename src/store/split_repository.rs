//! An event repository that reads through one pool and writes through another: on SQLite,
//! loading an aggregate must not queue behind the single writing connection (see
//! `projections::db::SqlitePools`; on PostgreSQL both are the same pool), and a command
//! without events does not write at all.

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde_json::Value;

pub struct SplitRepository<R> {
    reads: R,
    writes: R,
}

impl<R> SplitRepository<R> {
    pub fn new(reads: R, writes: R) -> Self {
        Self { reads, writes }
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
        self.writes.persist::<A>(events, snapshot_update).await
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
