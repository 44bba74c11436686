//! Writing the log without slowing provisioning down: requests hand their entries to a bounded
//! queue and never wait; one background task stores whatever has queued up, in one transaction
//! per batch. When the store falls so far behind that the queue is full, entries are dropped
//! and counted rather than making IdPs wait; so are entries the store refused twice.

use super::bound::bound;
use crate::store::provisioning_log::{self, LogEntry};
use projections::db::Db;
use prometheus_client::metrics::counter::Counter;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

/// Entries waiting to be written, at most: bounds the memory a stalled store can take
/// (an entry keeps at most `STORED_BODY_LIMIT` of body, and `bound` caps the rest).
pub const QUEUE_CAPACITY: usize = 4096;
/// Entries written in one transaction, at most.
const BATCH: usize = 256;
/// How long a batch waits for more entries after its first. Each batch is a commit, and every
/// commit makes SQLite's readers drop their page caches: under a load of lookups, writing each
/// handful of entries at once cost the readers more than the entries cost the writer.
const LINGER: Duration = Duration::from_millis(20);
/// A failed batch is tried once more after this pause, then given up.
const RETRY_AFTER: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("the provisioning log writer has stopped")]
    Stopped,
}

enum Message {
    Entry(Box<LogEntry>),
    /// Answered once every entry queued before it is stored (or given up).
    Flush(oneshot::Sender<()>),
}

/// The sending side of the log, cheap to clone into every request.
#[derive(Clone)]
pub struct ProvisioningLog {
    queue: mpsc::Sender<Message>,
    /// Entries never stored, for whatever reason (`/metrics` shows it).
    dropped: Counter,
    /// Fields cut to their bound (`/metrics` shows it).
    truncated: Counter,
}

impl ProvisioningLog {
    /// The log and the task that writes it to `db`; the task ends when every clone of the
    /// log is gone and the queue is drained.
    pub fn start(db: Db) -> (Self, JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let dropped = Counter::default();
        let writer = tokio::spawn(write(db, receiver, dropped.clone()));
        let log = Self {
            queue,
            dropped,
            truncated: Counter::default(),
        };
        (log, writer)
    }

    /// Queues `entry`, cut to size, without waiting; drops it, counted, when the queue is full.
    pub fn record(&self, mut entry: LogEntry) {
        self.truncated.inc_by(bound(&mut entry));
        match self.queue.try_send(Message::Entry(Box::new(entry))) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = self.dropped.inc() + 1;
                // One warning per power of two keeps a flood of drops from flooding the log.
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "provisioning log queue is full: entries dropped");
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.dropped.inc();
                tracing::warn!("provisioning log writer has stopped: entry dropped");
            }
        }
    }

    /// How many entries were dropped: the queue was full, the writer had stopped, or the
    /// store refused them twice.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    /// The counter behind `dropped`, for a metrics registry.
    pub fn dropped_counter(&self) -> Counter {
        self.dropped.clone()
    }

    /// The count of fields cut to their bound, for a metrics registry.
    pub fn truncated_counter(&self) -> Counter {
        self.truncated.clone()
    }

    /// Waits until every entry recorded so far is stored, so that a reader sees its own
    /// requests.
    pub async fn flush(&self) -> Result<(), LogError> {
        let (done, flushed) = oneshot::channel();
        self.queue
            .send(Message::Flush(done))
            .await
            .map_err(|_| LogError::Stopped)?;
        flushed.await.map_err(|_| LogError::Stopped)
    }
}

async fn write(db: Db, mut queue: mpsc::Receiver<Message>, dropped: Counter) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushes = Vec::new();
    while let Some(first) = queue.recv().await {
        let gathered_until = Instant::now() + LINGER;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Entry(entry) => batch.push(*entry),
                Message::Flush(done) => flushes.push(done),
            }
            if batch.len() < BATCH && flushes.is_empty() {
                next = timeout_at(gathered_until, queue.recv())
                    .await
                    .ok()
                    .flatten();
            }
        }
        if !batch.is_empty() {
            store(&db, &batch, &dropped).await;
            batch.clear();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn store(db: &Db, batch: &[LogEntry], dropped: &Counter) {
    let Err(error) = provisioning_log::insert(db, batch).await else {
        return;
    };
    tracing::warn!(%error, entries = batch.len(), "cannot write the provisioning log; retrying");
    tokio::time::sleep(RETRY_AFTER).await;
    if let Err(error) = provisioning_log::insert(db, batch).await {
        dropped.inc_by(u64::try_from(batch.len()).unwrap_or(u64::MAX));
        tracing::error!(%error, lost = batch.len(), "provisioning log entries lost");
    }
}
