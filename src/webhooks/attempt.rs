//! What an attempt is signed with and how it is logged, the same for a feed event's delivery
//! and for a test message.

use super::{Outcome, Secret};
use crate::store::webhooks::{NewAttempt, SecretRecord};
use chrono::Utc;
use projections::metadata::timestamp;

/// The secrets of `stored` that sign at `now` (RFC 3339): the current one, and the previous
/// one until its overlap ends.
pub fn signing_secrets(stored: &SecretRecord, now: &str) -> Vec<Secret> {
    let current = Secret::parse(&stored.secret).ok();
    let previous = match (&stored.previous_secret, &stored.previous_expires_at) {
        (Some(previous), Some(expires)) if expires.as_str() > now => Secret::parse(previous).ok(),
        _ => None,
    };
    current.into_iter().chain(previous).collect()
}

/// The attempt log's record of `outcome`, the `number`-th attempt at message `id`; stamped
/// with when it started.
pub fn attempt(id: &str, event_type: &str, number: i64, outcome: &Outcome) -> NewAttempt {
    let latency = chrono::Duration::from_std(outcome.latency).unwrap_or_default();
    NewAttempt {
        event_id: id.to_string(),
        event_type: event_type.to_string(),
        attempt: number,
        at: timestamp(Utc::now() - latency),
        status: outcome.status.map(i64::from),
        error: outcome.error.clone(),
        latency_ms: i64::try_from(outcome.latency.as_millis()).unwrap_or(i64::MAX),
        response: outcome.response.clone(),
        succeeded: outcome.succeeded(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::signature::SECRET_BYTES;

    #[test]
    fn the_previous_secret_signs_until_its_overlap_ends() {
        let current = Secret::from_random([1; SECRET_BYTES]);
        let previous = Secret::from_random([2; SECRET_BYTES]);
        let stored = SecretRecord {
            secret: current.as_str().into(),
            previous_secret: Some(previous.as_str().into()),
            previous_expires_at: Some("2026-01-02T00:00:00.000000Z".into()),
        };
        let before = signing_secrets(&stored, "2026-01-01T23:59:59.000000Z");
        assert_eq!(before, [current.clone(), previous]);
        let after = signing_secrets(&stored, "2026-01-02T00:00:00.000000Z");
        assert_eq!(after, [current]);
    }
}
