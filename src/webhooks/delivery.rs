//! Delivering to one endpoint: its instance's feed events after its cursor, of its types, one
//! at a time in feed order, while this process holds its lease.
//!
//! Attempts are recorded together with the cursor they moved, a group at a time (up to
//! `GROUP_SIZE` deliveries, or `GROUP_TIME` after the first): one transaction per group rather
//! than per event, so that delivery keeps up with a busy feed. A crash loses at most one
//! unrecorded group, whose events are then sent again with the same webhook-ids.
//!
//! A failure keeps the endpoint on that event (order before progress), records the attempt, and
//! schedules the next try by the backoff; an endpoint failing for the give-up period, or
//! answered `410 Gone`, is disabled, recorded as done by scimd.

use super::attempt::{attempt, signing_secrets};
use super::schedule::draw;
use super::signature::Secret;
use super::worker::Shared;
use super::{spoken, Outcome};
use crate::store::webhooks::{self, EndpointRecord, NewAttempt, Progress, Recorded};
use chrono::{DateTime, Utc};
use projections::feed::{events_after, FeedEvent, FeedQuery};
use projections::metadata::timestamp;
use reqwest::Url;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deliveries recorded in one transaction, at most.
const GROUP_SIZE: usize = 100;
/// The longest a delivery waits to be recorded.
const GROUP_TIME: Duration = Duration::from_millis(50);
/// Feed events read at a time.
const PAGE: i64 = 200;

pub(super) struct Delivery {
    shared: Arc<Shared>,
    id: String,
    lease_until: Instant,
}

/// Why delivery to the endpoint stops for now.
enum Pause {
    /// Nothing more to deliver, a retry is scheduled, or the endpoint is disabled: the lease is
    /// given back.
    Done,
    /// Another process holds the endpoint, or it was replayed or deleted meanwhile.
    Superseded,
}

/// Deliveries not yet recorded, and where they leave the endpoint.
struct Group {
    attempts: Vec<NewAttempt>,
    cursor: i64,
    failures: i64,
    failing_since: Option<String>,
    first_at: Option<Instant>,
}

impl Delivery {
    pub fn new(shared: Arc<Shared>, id: String) -> Self {
        Self {
            shared,
            id,
            lease_until: Instant::now(),
        }
    }

    pub async fn run(mut self) {
        if !self.renew().await {
            return;
        }
        let paused = self.deliver().await;
        if let Err(error) = &paused {
            tracing::warn!(%error, endpoint = %self.id, "webhook delivery interrupted");
        }
        if !matches!(paused, Ok(Pause::Superseded)) {
            let db = &self.shared.store.db;
            if let Err(error) = webhooks::release(db, &self.id, &self.shared.owner).await {
                tracing::warn!(%error, endpoint = %self.id, "cannot give back a webhook lease");
            }
        }
    }

    /// Takes or renews the lease; whether this process holds it.
    async fn renew(&mut self) -> bool {
        let now = Utc::now();
        let until = now + self.lease();
        let db = &self.shared.store.db;
        let owner = &self.shared.owner;
        match webhooks::lease(db, &self.id, owner, &timestamp(now), &timestamp(until)).await {
            Ok(true) => {
                self.lease_until = Instant::now() + self.shared.settings.lease;
                true
            }
            Ok(false) => false,
            Err(error) => {
                tracing::warn!(%error, endpoint = %self.id, "cannot take a webhook lease");
                false
            }
        }
    }

    /// Renews the lease when an attempt might outlast it; whether this process still holds it.
    async fn renew_if_due(&mut self) -> bool {
        let margin = self.shared.settings.timeout * 2;
        Instant::now() + margin <= self.lease_until || self.renew().await
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.shared.settings.lease).unwrap_or(chrono::Duration::MAX)
    }

    async fn deliver(&mut self) -> Result<Pause, webhooks_error::Error> {
        let mut progress = self.shared.store.projector.progress();
        let mut idle_since: Option<Instant> = None;
        loop {
            if self.shared.stopping() {
                return Ok(Pause::Done);
            }
            if !self.renew_if_due().await {
                return Ok(Pause::Superseded);
            }
            let db = &self.shared.store.db;
            let Some(endpoint) = webhooks::endpoint_by_id(db, &self.id).await? else {
                return Ok(Pause::Superseded);
            };
            let now = timestamp(Utc::now());
            let waiting = endpoint
                .next_attempt_at
                .as_ref()
                .is_some_and(|at| *at > now);
            if !endpoint.is_enabled() || waiting {
                return Ok(Pause::Done);
            }
            let head = webhooks::feed_head_of(db, &endpoint.instance_id).await?;
            let query = FeedQuery {
                instance_id: endpoint.instance_id.clone(),
                after: endpoint.cursor,
                types: endpoint.types(),
                limit: PAGE,
            };
            let events: Vec<FeedEvent> = events_after(db, &query)
                .await?
                .into_iter()
                .filter(|event| event.seq <= head)
                .collect();
            if events.is_empty() {
                // None of the events up to `head` is of the endpoint's types: skip past them,
                // so that they are not looked at again.
                if head > endpoint.cursor {
                    let group = Group::at(&endpoint);
                    let skipped = Group {
                        cursor: head,
                        ..group
                    };
                    if let Pause::Superseded = self.record(&endpoint, skipped, None).await? {
                        return Ok(Pause::Superseded);
                    }
                }
                // Caught up: stay a while for the next events rather than give the lease back
                // and take it again for each of a busy feed's batches.
                let idle = idle_since.get_or_insert_with(Instant::now);
                if idle.elapsed() >= self.shared.settings.lease / 2 {
                    return Ok(Pause::Done);
                }
                let mut stop = self.shared.stop.clone();
                tokio::select! {
                    _ = progress.changed() => {}
                    _ = tokio::time::sleep(self.shared.settings.poll) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            idle_since = None;
            let Ok(url) = Url::parse(&endpoint.url) else {
                tracing::error!(endpoint = %self.id, "a stored webhook URL does not parse");
                return Ok(Pause::Done);
            };
            let secrets = self.secrets().await?;
            let secrets: Vec<&Secret> = secrets.iter().collect();
            let mut group = Group::at(&endpoint);
            for event in &events {
                if self.shared.stopping() {
                    break;
                }
                if !self.renew_if_due().await {
                    return Ok(Pause::Superseded);
                }
                let outcome = self.send(&url, event, &secrets).await;
                let number = group.failures + 1;
                group.add(attempt(&event.id, &event.event_type, number, &outcome));
                if outcome.succeeded() {
                    group.cursor = event.seq;
                    group.failures = 0;
                    group.failing_since = None;
                    if group.is_due() {
                        let next = Group::at_cursor(group.cursor);
                        let full = std::mem::replace(&mut group, next);
                        if let Pause::Superseded = self.record(&endpoint, full, None).await? {
                            return Ok(Pause::Superseded);
                        }
                    }
                    continue;
                }
                return self.failed(&endpoint, group, &outcome).await;
            }
            if let Pause::Superseded = self.record(&endpoint, group, None).await? {
                return Ok(Pause::Superseded);
            }
        }
    }

    /// After a failed attempt: records it with the next try scheduled, or disables the endpoint.
    async fn failed(
        &mut self,
        endpoint: &EndpointRecord,
        mut group: Group,
        outcome: &Outcome,
    ) -> Result<Pause, webhooks_error::Error> {
        let now = Utc::now();
        group.failures += 1;
        let since = group
            .failing_since
            .get_or_insert_with(|| timestamp(now))
            .clone();
        let failing_for = DateTime::parse_from_rfc3339(&since)
            .map(|since| {
                (now - since.with_timezone(&Utc))
                    .to_std()
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let backoff = self.shared.settings.backoff;
        let give_up = if outcome.gone() {
            Some("the receiver answered 410 Gone".to_string())
        } else if backoff.gives_up(failing_for) {
            Some(format!(
                "failing for {} (since {since})",
                spoken(backoff.give_up_after)
            ))
        } else {
            None
        };
        let failures = u32::try_from(group.failures).unwrap_or(u32::MAX);
        let next = match give_up {
            Some(_) => None,
            None => {
                let delay = backoff.delay(failures, draw());
                let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                Some(timestamp(now + delay))
            }
        };
        if let Pause::Superseded = self.record(endpoint, group, next).await? {
            return Ok(Pause::Superseded);
        }
        if let Some(reason) = give_up {
            tracing::warn!(endpoint = %self.id, url = %endpoint.url, %reason, "webhook endpoint disabled");
            let store = &self.shared.store;
            crate::admin::disable_webhook_by_scimd(store, &endpoint.instance_id, &self.id, &reason)
                .await
                .map_err(|error| webhooks_error::Error::Disable(error.to_string()))?;
        }
        Ok(Pause::Done)
    }

    async fn record(
        &mut self,
        endpoint: &EndpointRecord,
        group: Group,
        next_attempt_at: Option<String>,
    ) -> Result<Pause, webhooks_error::Error> {
        let lease_until = Utc::now() + self.lease();
        let progress = Progress {
            cursor: group.cursor,
            failures: group.failures,
            failing_since: group.failing_since,
            next_attempt_at,
            lease_until: timestamp(lease_until),
        };
        let db = &self.shared.store.db;
        let owner = &self.shared.owner;
        let recorded = webhooks::record(
            db,
            &self.id,
            owner,
            endpoint.generation,
            &group.attempts,
            &progress,
        )
        .await?;
        Ok(match recorded {
            Recorded::Recorded => {
                self.lease_until = Instant::now() + self.shared.settings.lease;
                Pause::Done
            }
            Recorded::Superseded => Pause::Superseded,
        })
    }

    /// The secrets that sign now: the current one, and the previous one until it expires.
    async fn secrets(&self) -> Result<Vec<Secret>, webhooks_error::Error> {
        let db = &self.shared.store.db;
        let Some(stored) = webhooks::secrets(db, &self.id).await? else {
            return Ok(Vec::new());
        };
        Ok(signing_secrets(&stored, &timestamp(Utc::now())))
    }

    async fn send(&self, url: &Url, event: &FeedEvent, secrets: &[&Secret]) -> Outcome {
        let now = Utc::now().timestamp();
        self.shared
            .sender
            .send(url, &event.id, now, &event.document, secrets)
            .await
    }
}

impl Group {
    fn at(endpoint: &EndpointRecord) -> Self {
        Self {
            attempts: Vec::new(),
            cursor: endpoint.cursor,
            failures: endpoint.failures,
            failing_since: endpoint.failing_since.clone(),
            first_at: None,
        }
    }

    fn at_cursor(cursor: i64) -> Self {
        Self {
            attempts: Vec::new(),
            cursor,
            failures: 0,
            failing_since: None,
            first_at: None,
        }
    }

    fn add(&mut self, attempt: NewAttempt) {
        self.first_at.get_or_insert_with(Instant::now);
        self.attempts.push(attempt);
    }

    fn is_due(&self) -> bool {
        self.attempts.len() >= GROUP_SIZE
            || self
                .first_at
                .is_some_and(|first| first.elapsed() >= GROUP_TIME)
    }
}

mod webhooks_error {
    use projections::db::DbError;

    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        #[error(transparent)]
        Db(#[from] DbError),
        #[error("cannot disable the endpoint: {0}")]
        Disable(String),
    }
}
