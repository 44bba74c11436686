//! Webhooks: each instance's endpoints receive its feed events (docs/events.md) as signed
//! Standard Webhooks 1.0 messages, in feed order, at least once (docs/webhooks.md).
//!
//! `signature`, `schedule` and `url_policy` are pure decisions; `sender` makes one attempt;
//! `worker` schedules endpoints and `delivery` delivers to one. The feed is the outbox: an
//! endpoint's position in it is written in the same transaction as the attempts that moved it.

pub mod attempt;
mod delivery;
pub mod schedule;
pub mod sender;
pub mod signature;
pub mod url_policy;
pub mod worker;

pub use schedule::Backoff;
pub use sender::{Outcome, Sender};
pub use signature::Secret;
pub use worker::Worker;

use std::time::Duration;

/// Seconds an attempt may take, connection included, unless told otherwise.
pub const TIMEOUT_SECS: u64 = 10;
/// Seconds a process holds an endpoint it delivers to before another replica may take it over,
/// renewed as it goes: after a crash, the longest an endpoint waits for another process.
pub const LEASE_SECS: u64 = 30;

/// How webhooks are delivered (`scimd serve --webhook-…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `http://` URLs and loopback hosts allowed (development and tests).
    pub allow_loopback: bool,
    /// The deadline of one attempt.
    pub timeout: Duration,
    pub backoff: Backoff,
    /// How often the store is read for events other processes published and for endpoints
    /// whose retry is due; this process's own events wake delivery at once.
    pub poll: Duration,
    /// How long an endpoint's lease lasts unless renewed.
    pub lease: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            timeout: Duration::from_secs(TIMEOUT_SECS),
            backoff: Backoff::default(),
            poll: Duration::from_millis(500),
            lease: Duration::from_secs(LEASE_SECS),
        }
    }
}

/// A duration as a person says it: "3 days", "90 seconds".
pub fn spoken(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (count, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_spoken_in_their_largest_whole_unit() {
        let cases = [
            (259_200, "3 days"),
            (3_600, "1 hour"),
            (120, "2 minutes"),
            (90, "90 seconds"),
            (1, "1 second"),
        ];
        for (secs, spoken_as) in cases {
            assert_eq!(spoken(Duration::from_secs(secs)), spoken_as);
        }
    }
}
