//! Whether an HTTP/2 connection is in use: the requests it has in flight, and how long it has
//! had none. hyper times out neither HTTP/2 headers nor idle HTTP/2 connections; without this a
//! client could keep its place under the connection cap for ever by holding a connection open
//! and quiet (and answering pings), where an HTTP/1.1 one is closed after the header read
//! timeout.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The requests in flight on one connection.
#[derive(Clone)]
pub struct Activity {
    in_flight: Arc<watch::Sender<usize>>,
}

/// One request in flight, until dropped (answered, or abandoned).
pub struct Busy(Arc<watch::Sender<usize>>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0
            .send_modify(|in_flight| *in_flight = in_flight.saturating_sub(1));
    }
}

impl Activity {
    pub fn new() -> Self {
        Self {
            in_flight: Arc::new(watch::channel(0).0),
        }
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn busy(&self) -> Busy {
        self.in_flight.send_modify(|in_flight| *in_flight += 1);
        Busy(Arc::clone(&self.in_flight))
    }

    /// Resolves once the connection has had no request in flight for `timeout` on end.
    pub async fn idle_for(&self, timeout: Duration) {
        let mut in_flight = self.in_flight.subscribe();
        loop {
            // The sender lives as long as `self`: this cannot fail.
            let _ = in_flight.wait_for(|in_flight| *in_flight == 0).await;
            // A request that starts (or ends) meanwhile starts the wait anew.
            if tokio::time::timeout(timeout, in_flight.changed())
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(30);

    #[tokio::test(start_paused = true)]
    async fn idle_is_counted_from_the_last_answer() {
        let activity = Activity::new();
        let started = tokio::time::Instant::now();
        let busy = activity.busy();
        let idle = tokio::spawn({
            let activity = activity.clone();
            async move { activity.idle_for(TIMEOUT).await }
        });
        tokio::time::sleep(TIMEOUT * 2).await;
        assert!(!idle.is_finished(), "a request in flight is not idle");
        drop(busy);
        idle.await.expect("the wait ends");
        assert_eq!(started.elapsed(), TIMEOUT * 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_between_starts_the_wait_anew() {
        let activity = Activity::new();
        let started = tokio::time::Instant::now();
        let idle = tokio::spawn({
            let activity = activity.clone();
            async move { activity.idle_for(TIMEOUT).await }
        });
        tokio::time::sleep(TIMEOUT / 2).await;
        drop(activity.busy());
        idle.await.expect("the wait ends");
        assert_eq!(started.elapsed(), TIMEOUT / 2 + TIMEOUT);
    }
}
