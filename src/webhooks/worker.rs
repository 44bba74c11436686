//! The delivery worker: finds the endpoints with something to deliver and delivers to each in
//! a task of its own (endpoints in parallel, each in order), holding the endpoint's lease so
//! that of several replicas sharing one PostgreSQL only one delivers to it at a time.
//!
//! Woken by this process's projector as soon as it has published feed events, and every
//! `poll` anyway: for events other replicas published, and for retries that came due.

use super::delivery::Delivery;
use super::{Sender, WebhookSettings};
use crate::store::{webhooks, Store};
use chrono::Utc;
use projections::metadata::timestamp;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// What every endpoint's task shares.
pub(super) struct Shared {
    pub store: Arc<Store>,
    pub sender: Sender,
    pub settings: WebhookSettings,
    /// This process, as a lease owner: unique per start, so that a restarted process does not
    /// mistake a dead one's lease for its own.
    pub owner: String,
    /// Endpoints this process is delivering to now.
    running: Mutex<HashSet<String>>,
    pub stop: watch::Receiver<bool>,
}

impl Worker {
    /// Starts delivering.
    pub fn start(store: Arc<Store>, sender: Sender, settings: WebhookSettings) -> Self {
        let (stop, stopping) = watch::channel(false);
        let woken = store.projector.progress();
        let shared = Arc::new(Shared {
            store,
            sender,
            settings,
            owner: crate::ids::new_id(),
            running: Mutex::new(HashSet::new()),
            stop: stopping,
        });
        let task = tokio::spawn(schedule(shared, woken));
        Self { stop, task }
    }

    /// Stops: deliveries in flight finish and are recorded (within `grace`), nothing new
    /// starts, and the leases are given back for another replica to take at once.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            tracing::warn!("webhook deliveries did not finish in time; unrecorded ones are sent again after the restart");
            task.abort();
        }
    }
}

async fn schedule(
    shared: Arc<Shared>,
    mut woken: watch::Receiver<projections::event_log::Position>,
) {
    let mut tasks = JoinSet::new();
    let mut stop = shared.stop.clone();
    loop {
        if *stop.borrow() {
            break;
        }
        let now = timestamp(Utc::now());
        match webhooks::due(&shared.store.db, &shared.owner, &now).await {
            Ok(due) => {
                for id in due {
                    if shared.claim(&id) {
                        let shared = Arc::clone(&shared);
                        tasks.spawn(async move {
                            Delivery::new(Arc::clone(&shared), id.clone()).run().await;
                            shared.unclaim(&id);
                        });
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot look for webhook endpoints to deliver to"),
        }
        while tasks.try_join_next().is_some() {}
        tokio::select! {
            changed = woken.changed() => {
                if changed.is_err() {
                    // The projector is gone: polling alone from here.
                    tokio::time::sleep(shared.settings.poll).await;
                }
            }
            _ = tokio::time::sleep(shared.settings.poll) => {}
            _ = stop.changed() => {}
        }
    }
    // Each task sees the stop between two attempts, records what it delivered and ends.
    while tasks.join_next().await.is_some() {}
}

impl Shared {
    fn claim(&self, id: &str) -> bool {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.insert(id.to_string())
    }

    fn unclaim(&self, id: &str) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.remove(id);
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }
}
