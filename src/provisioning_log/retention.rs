//! Forgetting entries older than the retention period: at start-up, then periodically, in
//! bounded chunks so that pruning a long backlog never holds the store for long. The webhook
//! attempt log, the other operational log, is kept as long and pruned with it.

use crate::store::{provisioning_log, webhooks};
use chrono::Utc;
use projections::db::{Db, DbError};
use projections::metadata::timestamp;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Entries deleted per statement.
const CHUNK: i64 = 1000;

/// Deletes the entries older than `retention`; how many.
pub async fn prune(db: &Db, retention: Duration) -> Result<u64, DbError> {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let Some(cutoff) = Utc::now().checked_sub_signed(retention) else {
        return Ok(0);
    };
    let cutoff = timestamp(cutoff);
    let pruned = provisioning_log::prune(db, &cutoff, CHUNK).await?;
    if pruned > 0 {
        tracing::info!(pruned, "pruned provisioning log entries past retention");
    }
    let attempts = webhooks::prune_attempts(db, &cutoff, CHUNK).await?;
    if attempts > 0 {
        tracing::info!(attempts, "pruned webhook attempts past retention");
    }
    Ok(pruned)
}

/// Prunes now, then every `every` in a background task, which it returns (to abort at
/// shutdown). A failed pruning is a warning: the next one catches up.
pub async fn start_pruning(db: Db, retention: Duration, every: Duration) -> JoinHandle<()> {
    prune_or_warn(&db, retention).await;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            prune_or_warn(&db, retention).await;
        }
    })
}

async fn prune_or_warn(db: &Db, retention: Duration) {
    if let Err(error) = prune(db, retention).await {
        tracing::warn!(%error, "cannot prune the provisioning log");
    }
}
