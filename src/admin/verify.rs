//! `scimd verify`: rebuilds every projection from the event log into a scratch store and
//! compares it, table by table, with the live read models.
//!
//! The live side is read in one snapshot: its checkpoint and its tables agree, and the scratch
//! copy is given exactly the events up to that checkpoint, so a server may keep writing
//! meanwhile.

use super::{catch_up, AdminError};
use crate::store::{Scratch, Store};
use projections::db::{Db, Tx};
use projections::digest::{self, RowHash, TableDigest};
use projections::event_log::{self, Position};
use projections::runner::{Projection, Projector, REBUILD_BATCH_SIZE};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const COPY_PAGE: i64 = 1000;
/// How many rows of each side of a difference a report quotes.
const QUOTED_ROWS: usize = 5;
const SCRATCH_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many events the rebuild applied.
    pub events: usize,
    /// The position the live read models had reached, and the rebuild went to.
    pub at: Position,
    pub projections: Vec<ProjectionComparison>,
}

impl VerifyReport {
    pub fn identical(&self) -> bool {
        self.projections.iter().all(ProjectionComparison::identical)
    }

    /// The names of the projections whose rebuild differs from the live copy.
    pub fn differing(&self) -> Vec<&'static str> {
        self.projections
            .iter()
            .filter(|projection| !projection.identical())
            .map(|projection| projection.name)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionComparison {
    pub name: &'static str,
    pub live_digest: String,
    pub rebuilt_digest: String,
    pub tables: Vec<TableComparison>,
}

impl ProjectionComparison {
    pub fn identical(&self) -> bool {
        self.live_digest == self.rebuilt_digest
    }

    pub fn live_rows(&self) -> usize {
        self.tables.iter().map(|table| table.live_rows).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableComparison {
    pub table: &'static str,
    pub live_rows: usize,
    pub rebuilt_rows: usize,
    /// Rows (as JSON arrays of their columns) only the live table has, at most a few.
    pub only_live: Vec<String>,
    /// Rows only the rebuilt table has, at most a few.
    pub only_rebuilt: Vec<String>,
}

/// What a long verification is doing, for progress output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyStep {
    Copied(usize),
    Applied(usize),
}

pub async fn verify(
    store: &Store,
    progress: impl Fn(VerifyStep),
) -> Result<VerifyReport, AdminError> {
    catch_up(store).await?;
    let projections = rebuildable();
    let mut live = store.db.begin_snapshot().await?;
    let at = live_position(&mut live, &projections).await?;
    let live_digests = digests(&mut live, &projections).await?;
    let scratch = Scratch::create(&store.db)
        .await
        .map_err(|error| AdminError::Store(error.to_string()))?;
    let rebuilt = rebuild_into(&scratch.db, &mut live, at, &progress).await;
    let outcome = match rebuilt {
        Ok(events) => compare(&mut live, &scratch.db, &projections, live_digests)
            .await
            .map(|projections| VerifyReport {
                events,
                at,
                projections,
            }),
        Err(error) => Err(error),
    };
    scratch.discard().await;
    outcome
}

/// The projections derived from events alone. The hash chain is not: it records the log as it
/// was first seen, and `scimd audit verify` checks it.
fn rebuildable() -> Vec<Arc<dyn Projection>> {
    projections::all()
        .into_iter()
        .filter(|projection| projection.rebuildable())
        .collect()
}

/// The position every live projection has reached. They move together, one batch per
/// transaction; positions that differ mean one is being rebuilt right now.
async fn live_position(
    live: &mut Tx,
    projections: &[Arc<dyn Projection>],
) -> Result<Position, AdminError> {
    let recorded = Projector::checkpoint_positions(live).await?;
    let mut positions = projections
        .iter()
        .map(|projection| recorded.get(projection.name()).copied().unwrap_or_default());
    let first = positions.next().unwrap_or_default();
    if positions.any(|position| position != first) {
        return Err(AdminError::Store(
            "the live projections are at different positions (a rebuild is running?); \
             try again when it is done"
                .into(),
        ));
    }
    Ok(first)
}

async fn digests(
    tx: &mut Tx,
    projections: &[Arc<dyn Projection>],
) -> Result<Vec<Vec<TableDigest>>, AdminError> {
    let mut all = Vec::with_capacity(projections.len());
    for projection in projections {
        let mut tables = Vec::new();
        for table in projection.tables() {
            tables.push(digest::table_digest(tx, table).await?);
        }
        all.push(tables);
    }
    Ok(all)
}

/// Copies the events up to `until` from the live snapshot into the scratch log and projects
/// them there; how many events that was.
async fn rebuild_into(
    scratch: &Db,
    live: &mut Tx,
    until: Position,
    progress: &impl Fn(VerifyStep),
) -> Result<usize, AdminError> {
    let failed = |error: projections::error::ProjectionError| AdminError::Store(error.to_string());
    let mut after = Position::default();
    let mut copied = 0;
    loop {
        let page = event_log::stored_between(live, after, until, COPY_PAGE)
            .await
            .map_err(failed)?;
        let Some(last) = page.last() else { break };
        after = Position {
            transaction_id: last.transaction_id,
            position: last.position,
        };
        let mut tx = scratch.begin_write().await?;
        event_log::insert_stored(&mut tx, &page)
            .await
            .map_err(failed)?;
        tx.commit().await?;
        copied += page.len();
        progress(VerifyStep::Copied(copied));
    }
    let projector = Projector::new(scratch.clone(), rebuildable(), SCRATCH_WAIT);
    projector.prepare().await.map_err(failed)?;
    // Atomic rather than a Cell, so that the admin API can run a verification on its runtime.
    let applied = AtomicUsize::new(0);
    projector
        .catch_up_in_batches(REBUILD_BATCH_SIZE, |batch| {
            let so_far = applied.fetch_add(batch, Ordering::Relaxed) + batch;
            progress(VerifyStep::Applied(so_far));
        })
        .await
        .map_err(failed)?;
    Ok(applied.load(Ordering::Relaxed))
}

async fn compare(
    live: &mut Tx,
    scratch: &Db,
    projections: &[Arc<dyn Projection>],
    live_digests: Vec<Vec<TableDigest>>,
) -> Result<Vec<ProjectionComparison>, AdminError> {
    let mut rebuilt = scratch.begin_snapshot().await?;
    let rebuilt_digests = digests(&mut rebuilt, projections).await?;
    let mut comparisons = Vec::with_capacity(projections.len());
    for ((projection, live_tables), rebuilt_tables) in
        projections.iter().zip(live_digests).zip(rebuilt_digests)
    {
        let mut tables = Vec::with_capacity(live_tables.len());
        for (ours, theirs) in live_tables.iter().zip(&rebuilt_tables) {
            let (only_live, only_rebuilt) = digest::differences(&ours.rows, &theirs.rows);
            tables.push(TableComparison {
                table: ours.table,
                live_rows: ours.rows.len(),
                rebuilt_rows: theirs.rows.len(),
                only_live: quoted(live, ours.table, &only_live).await?,
                only_rebuilt: quoted(&mut rebuilt, theirs.table, &only_rebuilt).await?,
            });
        }
        comparisons.push(ProjectionComparison {
            name: projection.name(),
            live_digest: projections::hex::to_hex(&digest::combined(&live_tables)),
            rebuilt_digest: projections::hex::to_hex(&digest::combined(&rebuilt_tables)),
            tables,
        });
    }
    Ok(comparisons)
}

async fn quoted(tx: &mut Tx, table: &str, hashes: &[RowHash]) -> Result<Vec<String>, AdminError> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(digest::rows_with_hashes(tx, table, hashes, QUOTED_ROWS).await?)
}
