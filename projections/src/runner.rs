//! The projector: applies events to every read model in global order, one batch per
//! transaction, with each projection's checkpoint written in that same transaction.
//!
//! A crash at any point leaves tables and checkpoints consistent; the next batch resumes from
//! the checkpoints. Several processes may share one database: on PostgreSQL an advisory lock
//! lets one batch run at a time, on SQLite the write lock does. Requests that wrote events call
//! `wait_for` so that their response, and the client's next read, see them. On SQLite a batch
//! also runs inside each group commit that appends events (`FollowUp`), so that those events
//! are usually applied by the time their writers hear back; the projector's own batches then
//! only pick up what that missed.

use crate::db::set_based::{Kind, Shape};
use crate::db::{Db, DbError, Dialect, FollowUp, Sql, SqlArg, Tx};
use crate::error::ProjectionError;
use crate::event_log::{self, Position, RecordedEvent};
use crate::held::Slot;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// A read model built from events alone.
#[async_trait]
pub trait Projection: Send + Sync {
    /// Stable name, the key of its checkpoint.
    fn name(&self) -> &'static str;
    /// Raise it when the tables or their meaning change: the projection is then emptied and
    /// rebuilt from the first event.
    fn version(&self) -> i64;
    /// The tables it owns, emptied before a rebuild.
    fn tables(&self) -> &'static [&'static str];
    /// False for a record that must survive rebuilds and version changes (the hash chain):
    /// building it again from the events as they are now would hide changes made to them.
    fn rebuildable(&self) -> bool {
        true
    }
    /// Called as each batch begins, before any event of it is applied. `continuing`: the batch
    /// goes on from exactly where this process's last batch committed, so what a projection
    /// held from it is still true; otherwise (another process applied events meanwhile, a batch
    /// failed, a rebuild began) it must be forgotten.
    fn start_batch(&self, continuing: bool) {
        let _ = continuing;
    }
    /// Called after `start_batch` with the batch's events this projection has not applied yet
    /// (those after its checkpoint), before any is applied: for reading, in one statement per
    /// table, what the batch will change and did not create, rather than a read per event.
    async fn prepare_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let _ = (tx, events);
        Ok(())
    }
    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), ProjectionError>;
    /// Called once a batch's events are applied, before its checkpoints are written: for a
    /// projection that writes what it gathered over the batch once (each row once, however
    /// many events changed it) or decides what it could not at one event alone. `cut_short`:
    /// the batch stopped at its size limit, so the log may go on within the transaction of its
    /// last event; otherwise every event of that transaction was in the batch.
    async fn finish_batch(&self, tx: &mut Tx, cut_short: bool) -> Result<(), ProjectionError> {
        let _ = (tx, cut_short);
        Ok(())
    }
}

/// Serialises projector batches across processes sharing a PostgreSQL database.
const POSTGRES_LOCK_KEY: i64 = 0x5c1d_0001;
const BATCH_SIZE: i64 = 500;
/// Events a batch applies at most in a rebuild (`scimd rebuild`, `scimd verify`): a batch
/// costs a fixed number of statements whatever its size, so larger batches spread them over
/// more events. Memory stays bounded: the events, and the rows gathered from them, of one
/// batch (a few megabytes for the largest events).
pub const REBUILD_BATCH_SIZE: i64 = 5_000;
const CHECKPOINTS: Shape = Shape {
    table: "projection_checkpoints",
    key: &["name"],
    columns: &[
        ("name", Kind::Text),
        ("version", Kind::Int),
        ("transaction_id", Kind::Int),
        ("position", Kind::Int),
    ],
};
/// How often a waiting request looks again when nothing told it to: PostgreSQL can hold back an
/// event behind a slower transaction, and another process may have done the work.
const RECHECK: Duration = Duration::from_millis(5);

pub struct Projector {
    db: Db,
    projections: Vec<Arc<dyn Projection>>,
    applied: watch::Sender<Position>,
    wake: Notify,
    wait_timeout: Duration,
    /// Fault injection for tests of crash recovery: see `abort_before_commit`.
    abort_before_commit: AtomicBool,
    /// Each projection's checkpoint as this process's last batch committed it; `None` until
    /// one has, and while a batch runs.
    committed: Slot<Vec<Position>>,
    /// A batch applied inside a group commit (see `FollowUp`), until that commits or fails.
    in_group: Slot<Batch>,
    /// The statements the last batch that applied events sent (`last_batch_statements`).
    last_batch_statements: AtomicU64,
}

/// What one batch applied: how many events, and the position each projection reached.
#[derive(Debug, Clone)]
struct Batch {
    events: usize,
    reached: Vec<Position>,
}

impl Batch {
    /// The position all projections have reached.
    fn all_reached(&self) -> Position {
        self.reached.iter().min().copied().unwrap_or_default()
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct CheckpointRow {
    name: String,
    version: i64,
    transaction_id: i64,
    position: i64,
}

impl Projector {
    pub fn new(db: Db, projections: Vec<Arc<dyn Projection>>, wait_timeout: Duration) -> Self {
        Self {
            db,
            projections,
            applied: watch::Sender::new(Position::default()),
            wake: Notify::new(),
            wait_timeout,
            abort_before_commit: AtomicBool::new(false),
            committed: Slot::default(),
            in_group: Slot::default(),
            last_batch_statements: AtomicU64::new(0),
        }
    }

    /// How many statements the last batch that applied events sent, from reading the
    /// checkpoints to writing them (not the lock, `BEGIN` and `COMMIT` around them): on
    /// PostgreSQL each a round trip. What tests assert a projection's cost per batch by.
    pub fn last_batch_statements(&self) -> u64 {
        self.last_batch_statements.load(AtomicOrdering::SeqCst)
    }

    /// On SQLite, has each group commit that appends events apply them before it commits.
    pub fn apply_in_group_commits(self: &Arc<Self>) {
        let follow_up: Arc<dyn FollowUp> = Arc::clone(self) as Arc<dyn FollowUp>;
        self.db.follow_group_commits(Arc::downgrade(&follow_up));
    }

    /// Makes the process abort in the first batch that applies events, after applying them and
    /// before committing: events committed, projections not. Only for testing that a restart
    /// recovers from a crash at that point.
    pub fn abort_before_commit(&self) {
        self.abort_before_commit.store(true, AtomicOrdering::SeqCst);
    }

    /// Empties every rebuildable projection and starts it again from the first event (`scimd
    /// rebuild`).
    pub async fn reset(&self) -> Result<(), ProjectionError> {
        self.committed.take();
        let mut tx = self.lock().await?;
        for projection in self.projections.iter().filter(|p| p.rebuildable()) {
            Self::empty(&mut tx, projection.as_ref()).await?;
        }
        tx.commit().await?;
        self.applied.send_replace(Position::default());
        Ok(())
    }

    /// Empties and restarts every rebuildable projection whose version differs from the
    /// recorded one; a projection without a checkpoint starts from the first event.
    pub async fn prepare(&self) -> Result<(), ProjectionError> {
        self.committed.take();
        let mut tx = self.lock().await?;
        let recorded = Self::checkpoints(&mut tx).await?;
        let mut reached = Vec::with_capacity(self.projections.len());
        for projection in &self.projections {
            let current = recorded.get(projection.name());
            let kept = current
                .filter(|row| row.version == projection.version() || !projection.rebuildable());
            if let Some(row) = kept {
                reached.push(Position {
                    transaction_id: row.transaction_id,
                    position: row.position,
                });
                continue;
            }
            reached.push(Position::default());
            if !projection.rebuildable() {
                // Its tables may hold entries even without a checkpoint; they stay, and what is
                // already recorded is skipped when the first events come round again.
                Self::save_checkpoint(&mut tx, projection.as_ref(), Position::default()).await?;
                continue;
            }
            if current.is_some() {
                tracing::warn!(
                    projection = projection.name(),
                    version = projection.version(),
                    "projection version changed; rebuilding it from the first event"
                );
            }
            Self::empty(&mut tx, projection.as_ref()).await?;
        }
        tx.commit().await?;
        // Waiters must not take a projection that restarted for one that is caught up.
        self.applied
            .send_replace(reached.into_iter().min().unwrap_or_default());
        Ok(())
    }

    /// Applies everything committed so far, batch after batch.
    pub async fn catch_up(&self) -> Result<Position, ProjectionError> {
        self.catch_up_reporting(|_| {}).await
    }

    /// As `catch_up`, telling `report` how many events each batch applied.
    pub async fn catch_up_reporting(
        &self,
        report: impl Fn(usize),
    ) -> Result<Position, ProjectionError> {
        self.catch_up_in_batches(BATCH_SIZE, report).await
    }

    /// As `catch_up_reporting`, in batches of up to `batch_size` events (`REBUILD_BATCH_SIZE`
    /// for a rebuild).
    pub async fn catch_up_in_batches(
        &self,
        batch_size: i64,
        report: impl Fn(usize),
    ) -> Result<Position, ProjectionError> {
        loop {
            let batch = self.run_batch(batch_size).await?;
            report(batch.events);
            let reached = batch.all_reached();
            self.advance(reached);
            if (batch.events as i64) < batch_size {
                return Ok(reached);
            }
        }
    }

    /// Tells waiters that every projection has applied `reached`.
    fn advance(&self, reached: Position) {
        self.applied.send_if_modified(|position| {
            let advanced = reached > *position;
            if advanced {
                *position = reached;
            }
            advanced
        });
    }

    /// Runs until the task is aborted: catches up whenever woken, and every `poll` anyway, to
    /// pick up events written by other processes.
    pub async fn run(self: Arc<Self>, poll: Duration) {
        let mut failures: u32 = 0;
        loop {
            let woken = tokio::select! {
                _ = self.wake.notified() => true,
                _ = tokio::time::sleep(poll) => false,
            };
            // An idle poll only looks; taking the write lock for nothing would make every
            // writer wait for it.
            if !woken && !self.behind().await {
                continue;
            }
            match self.catch_up().await {
                Ok(_) => failures = 0,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::error!(%error, failures, "projector could not apply events");
                    let backoff = Duration::from_millis(100 * u64::from(failures.min(50)));
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }

    /// Returns once every projection has applied `target`, or fails after the wait timeout.
    pub async fn wait_for(&self, target: Position) -> Result<(), ProjectionError> {
        let deadline = Instant::now() + self.wait_timeout;
        let mut applied = self.applied.subscribe();
        loop {
            if *applied.borrow_and_update() >= target {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ProjectionError::Lagging { target });
            }
            self.wake.notify_one();
            tokio::select! {
                _ = applied.changed() => {}
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    }

    /// Waits until the read model reflects every event of one aggregate committed so far.
    pub async fn wait_for_aggregate(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<(), ProjectionError> {
        match event_log::last_position_of(&self.db, aggregate_type, aggregate_id).await? {
            Some(target) => self.wait_for(target).await,
            None => Ok(()),
        }
    }

    /// Waits until the read model reflects every event committed, by any process, before this
    /// call: what a reader needs in order to see other aggregates' changes, not only its own.
    pub async fn wait_for_committed(&self) -> Result<(), ProjectionError> {
        let target = event_log::head(&self.db).await?;
        self.wait_for(target).await
    }

    /// Whether the event log has anything this process has not seen applied.
    async fn behind(&self) -> bool {
        match event_log::head(&self.db).await {
            Ok(head) => head > self.applied(),
            Err(_) => true,
        }
    }

    /// How many committed events the slowest projection has yet to apply, by the checkpoints
    /// as stored: it counts what any process sharing the database applied, not only this one.
    pub async fn lag(&self) -> Result<i64, ProjectionError> {
        // One snapshot, so that the count is of events after the checkpoints as read.
        let mut read = self.db.begin_snapshot().await?;
        let recorded = Self::checkpoint_positions(&mut read).await?;
        let slowest = self
            .projections
            .iter()
            .map(|projection| recorded.get(projection.name()).copied().unwrap_or_default())
            .min()
            .unwrap_or_default();
        event_log::count_after(&mut read, slowest).await
    }

    /// Told each time this process's projections advance: what a reader waiting for new
    /// rows (the events API's long poll, the webhook deliveries) wakes on.
    pub fn progress(&self) -> watch::Receiver<Position> {
        self.applied.subscribe()
    }

    /// The position every projection has applied, as this process last saw it.
    pub fn applied(&self) -> Position {
        *self.applied.borrow()
    }

    async fn lock(&self) -> Result<Tx, DbError> {
        let mut tx = self.db.begin_write().await?;
        if tx.dialect() == Dialect::Postgres {
            tx.execute(&Sql::new("SELECT pg_advisory_xact_lock($1)").bind(POSTGRES_LOCK_KEY))
                .await?;
        }
        Ok(tx)
    }

    /// Empties a projection's tables and moves its checkpoint back to the first event.
    async fn empty(tx: &mut Tx, projection: &dyn Projection) -> Result<(), DbError> {
        for table in projection.tables() {
            tx.execute(&Sql::new(format!("DELETE FROM {table}")))
                .await?;
        }
        Self::save_checkpoint(tx, projection, Position::default()).await
    }

    async fn checkpoints(tx: &mut Tx) -> Result<HashMap<String, CheckpointRow>, DbError> {
        let rows: Vec<CheckpointRow> = tx
            .fetch_all(&Sql::new(
                "SELECT name, version, transaction_id, position FROM projection_checkpoints",
            ))
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.name.clone(), row))
            .collect())
    }

    /// Where each projection's checkpoint stands, as seen by `tx`.
    pub async fn checkpoint_positions(tx: &mut Tx) -> Result<HashMap<String, Position>, DbError> {
        Ok(Self::checkpoints(tx)
            .await?
            .into_iter()
            .map(|(name, row)| {
                let at = Position {
                    transaction_id: row.transaction_id,
                    position: row.position,
                };
                (name, at)
            })
            .collect())
    }

    async fn save_checkpoint(
        tx: &mut Tx,
        projection: &dyn Projection,
        at: Position,
    ) -> Result<(), DbError> {
        Self::save_checkpoints(tx, [(projection, at)]).await
    }

    /// Every checkpoint of `reached` in one statement (on PostgreSQL).
    async fn save_checkpoints<'p>(
        tx: &mut Tx,
        reached: impl IntoIterator<Item = (&'p dyn Projection, Position)>,
    ) -> Result<(), DbError> {
        let rows: Vec<Vec<SqlArg>> = reached
            .into_iter()
            .map(|(projection, at)| {
                vec![
                    projection.name().into(),
                    projection.version().into(),
                    at.transaction_id.into(),
                    at.position.into(),
                ]
            })
            .collect();
        tx.write_all(CHECKPOINTS.upsert(tx.dialect(), rows)).await
    }

    /// One transaction: the next events after the slowest checkpoint, applied to each
    /// projection that has not seen them.
    async fn run_batch(&self, batch_size: i64) -> Result<Batch, ProjectionError> {
        let mut tx = self.lock().await?;
        let batch = self.apply_batch(&mut tx, batch_size).await?;
        if batch.events > 0 && self.abort_before_commit.load(AtomicOrdering::SeqCst) {
            tracing::error!("aborting before the projections commit, as asked");
            std::process::abort();
        }
        tx.commit().await?;
        self.committed.put(batch.reached.clone());
        Ok(batch)
    }

    /// The work of a batch, in a transaction the caller commits.
    async fn apply_batch(&self, tx: &mut Tx, batch_size: i64) -> Result<Batch, ProjectionError> {
        let sent_before = tx.statements_sent();
        let recorded = Self::checkpoints(tx).await?;
        let mut reached: Vec<Position> = self
            .projections
            .iter()
            .map(|projection| {
                recorded
                    .get(projection.name())
                    .map(|row| Position {
                        transaction_id: row.transaction_id,
                        position: row.position,
                    })
                    .unwrap_or_default()
            })
            .collect();
        let continuing = self.committed.take().as_ref() == Some(&reached);
        for projection in &self.projections {
            projection.start_batch(continuing);
        }
        let from = reached.iter().min().copied().unwrap_or_default();
        let events = event_log::read_after(tx, from, batch_size).await?;
        if !events.is_empty() {
            for (projection, at) in self.projections.iter().zip(&reached) {
                let unseen = events.partition_point(|event| event.position <= *at);
                if unseen < events.len() {
                    projection.prepare_batch(tx, &events[unseen..]).await?;
                }
            }
        }
        for event in &events {
            for (projection, at) in self.projections.iter().zip(reached.iter_mut()) {
                if event.position > *at {
                    projection.apply(tx, event).await?;
                    *at = event.position;
                }
            }
        }
        if !events.is_empty() {
            let cut_short = events.len() as i64 == batch_size;
            for projection in &self.projections {
                projection.finish_batch(tx, cut_short).await?;
            }
            let checkpoints = self
                .projections
                .iter()
                .map(|projection| projection.as_ref())
                .zip(reached.iter().copied());
            Self::save_checkpoints(tx, checkpoints).await?;
            // Sent now rather than at the commit, so that the count has them.
            tx.flush().await?;
            let sent = tx.statements_sent() - sent_before;
            self.last_batch_statements
                .store(sent, AtomicOrdering::SeqCst);
            tracing::debug!(
                events = events.len(),
                scimd_projector_batch_statements = sent,
                "projector batch applied"
            );
        }
        Ok(Batch {
            events: events.len(),
            reached,
        })
    }
}

/// A batch inside each SQLite group commit that appended events: they commit together.
#[async_trait]
impl FollowUp for Projector {
    async fn within(&self, tx: &mut Tx) -> bool {
        // A crash between the events' commit and the projections' is what the fault injection
        // is for; applied in the same commit, there would be no such moment.
        if self.abort_before_commit.load(AtomicOrdering::SeqCst) {
            self.wake.notify_one();
            return false;
        }
        match self.apply_batch(tx, BATCH_SIZE).await {
            Ok(batch) => {
                self.in_group.put(batch);
                true
            }
            Err(error) => {
                tracing::error!(%error, "projector could not apply events in a group commit");
                // The projector's own batches take over, and report again if it persists.
                self.wake.notify_one();
                false
            }
        }
    }

    fn settled(&self, committed: bool) {
        let Some(batch) = self.in_group.take() else {
            return;
        };
        if !committed {
            self.wake.notify_one();
            return;
        }
        self.committed.put(batch.reached.clone());
        self.advance(batch.all_reached());
        if batch.events == BATCH_SIZE as usize {
            self.wake.notify_one();
        }
    }
}
