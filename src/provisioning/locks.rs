//! One request at a time per aggregate within this process.
//!
//! Requests on one user or group would otherwise race: all but one would find the aggregate
//! changed under them and start again, and under a burst (an IdP adding 32 members to a group
//! at once) some would give up. Queuing them here costs nothing extra, since an aggregate takes
//! one change at a time anyway. Other processes sharing the database are still handled by the
//! event store's optimistic concurrency.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::OwnedMutexGuard;

type Slot = Arc<tokio::sync::Mutex<()>>;

#[derive(Default)]
pub struct AggregateLocks {
    slots: Mutex<HashMap<String, Slot>>,
}

/// Held while a request works on one aggregate.
pub struct AggregateGuard<'l> {
    locks: &'l AggregateLocks,
    id: String,
    held: Option<OwnedMutexGuard<()>>,
}

impl AggregateLocks {
    pub async fn lock(&self, id: &str) -> AggregateGuard<'_> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(slots.entry(id.to_string()).or_default())
        };
        AggregateGuard {
            locks: self,
            id: id.to_string(),
            held: Some(slot.lock_owned().await),
        }
    }
}

impl Drop for AggregateGuard<'_> {
    fn drop(&mut self) {
        self.held.take();
        let mut slots = self
            .locks
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Nobody else holds or waits for it (only the map's reference is left): forget it.
        if slots
            .get(&self.id)
            .is_some_and(|slot| Arc::strong_count(slot) == 1)
        {
            slots.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn requests_on_one_aggregate_take_turns() {
        let locks = Arc::new(AggregateLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (locks, inside, most) =
                    (Arc::clone(&locks), Arc::clone(&inside), Arc::clone(&most));
                tokio::spawn(async move {
                    let _guard = locks.lock("g1").await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for task in tasks {
            task.await.ok();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert!(locks
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty());
    }

    #[tokio::test]
    async fn different_aggregates_do_not_wait_for_each_other() {
        let locks = AggregateLocks::default();
        let _first = locks.lock("a").await;
        let second = tokio::time::timeout(Duration::from_millis(100), locks.lock("b")).await;
        assert!(second.is_ok());
    }
}
