//! An event repository in front of the store's own: a command's events are appended as
//! multi-row `INSERT`s (on SQLite through the group commit, so that they share its commit and
//! its projector batch), a command without events does not write at all, and appends are
//! counted. Reads and snapshots go to the repository underneath (`reads` and `writes` are the
//! same store on either side: SQLite's reads never queue behind its writer, see
//! `projections::db::sqlite`).

use super::metrics::{AggregateLabel, ByAggregate};
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use projections::db::{multi_row_inserts, Db, Dialect, Sql};
use serde_json::Value;

pub struct SplitRepository<R> {
    reads: R,
    writes: R,
    /// Where `append` writes events (`Db::append_events`), if anywhere; a command that also
    /// takes a snapshot still goes through `writes`, which stores both in one transaction.
    grouped_appends: Option<Db>,
    /// Counts the events each successful append stored.
    appended: Option<ByAggregate>,
}

impl<R> SplitRepository<R> {
    pub fn new(reads: R, writes: R) -> Self {
        Self {
            reads,
            writes,
            grouped_appends: None,
            appended: None,
        }
    }

    pub fn appending_through(mut self, db: Db) -> Self {
        self.grouped_appends = Some(db);
        self
    }

    pub fn counting_appends(mut self, appended: ByAggregate) -> Self {
        self.appended = Some(appended);
        self
    }
}

/// The same rows the store crate's own append writes, as one atomic write of multi-row
/// `INSERT`s (one for any ordinary command: a single round trip, where the crate sends a
/// statement per event inside a transaction); a sequence taken already is a concurrent
/// command's, which cqrs-es then retries.
async fn append(
    db: &Db,
    aggregate_type: &str,
    events: &[SerializedEvent],
) -> Result<(), PersistenceError> {
    let statements = inserts(db.dialect(), aggregate_type, events)?;
    match db.append_events(statements).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_unique_violation() => Err(PersistenceError::OptimisticLockError),
        Err(error) => Err(PersistenceError::UnknownError(Box::new(error))),
    }
}

/// The `INSERT`s that append `events`: multi-row ones (see `multi_row_inserts`).
pub(super) fn inserts(
    dialect: Dialect,
    aggregate_type: &str,
    events: &[SerializedEvent],
) -> Result<Vec<Sql>, serde_json::Error> {
    let json = match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => "::jsonb",
    };
    let text = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
             event_version, payload, metadata)
         VALUES ($1, $2, $3, $4, $5, $6{json}, $7{json})"
    );
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        rows.push(
            Sql::new(text.clone())
                .bind(aggregate_type)
                .bind(event.aggregate_id.as_str())
                .bind(u64::try_from(event.sequence).unwrap_or(u64::MAX))
                .bind(event.event_type.as_str())
                .bind(event.event_version.as_str())
                .bind(serde_json::to_string(&event.payload)?)
                .bind(serde_json::to_string(&event.metadata)?),
        );
    }
    Ok(multi_row_inserts(rows))
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
        }?;
        if let Some(appended) = &self.appended {
            let count = u64::try_from(events.len()).unwrap_or(u64::MAX);
            appended
                .get_or_create(&AggregateLabel::of(A::TYPE))
                .inc_by(count);
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn events(count: usize) -> Vec<SerializedEvent> {
        (1..=count)
            .map(|sequence| SerializedEvent {
                aggregate_id: "g1".to_string(),
                sequence,
                aggregate_type: "Group".to_string(),
                event_type: "GroupMemberAdded".to_string(),
                event_version: "1".to_string(),
                payload: json!({"n": sequence}),
                metadata: json!({}),
            })
            .collect()
    }

    #[test]
    fn a_long_append_is_split_into_bounded_inserts_in_order() {
        let statements = inserts(Dialect::Postgres, "Group", &events(2_500)).unwrap_or_default();
        let rows: Vec<usize> = statements.iter().map(|s| s.args().len() / 7).collect();
        assert_eq!(rows, [1_000, 1_000, 500]);
        assert!(statements[2]
            .text()
            .contains("($3494, $3495, $3496, $3497, $3498, $3499::jsonb, $3500::jsonb)"));
        assert_eq!(
            statements[1].args()[2],
            projections::db::SqlArg::from(1_001i64)
        );
        let sqlite = inserts(Dialect::Sqlite, "Group", &events(1)).unwrap_or_default();
        assert!(sqlite[0]
            .text()
            .ends_with("VALUES ($1, $2, $3, $4, $5, $6, $7)"));
    }
}
