//! A log of events as the projector reads it, written by hand for the tests of the batch folds:
//! events of several aggregates interleaved, each numbered in its aggregate and in the log.

use crate::event_log::{DomainEvent, Position, RecordedEvent};
use crate::metadata::EventMetadata;
use std::collections::HashMap;

pub const INSTANCE: &str = "i1";

#[derive(Default)]
pub struct TestLog {
    events: Vec<RecordedEvent>,
    sequences: HashMap<String, i64>,
}

impl TestLog {
    /// `event` of aggregate `id`, after every event so far; its time tells its log position.
    pub fn push(&mut self, id: &str, event: DomainEvent) -> &mut Self {
        let sequence = self.sequences.entry(id.to_string()).or_default();
        *sequence += 1;
        let position = i64::try_from(self.events.len()).unwrap_or(i64::MAX) + 1;
        let aggregate_type = match &event {
            DomainEvent::User(_) => "User",
            DomainEvent::Group(_) => "Group",
            DomainEvent::Settings(_) => "InstanceSettings",
        };
        self.events.push(RecordedEvent {
            position: Position {
                transaction_id: 0,
                position,
            },
            aggregate_type: aggregate_type.to_string(),
            aggregate_id: id.to_string(),
            sequence: *sequence,
            event,
            metadata: EventMetadata {
                instance_id: INSTANCE.into(),
                actor: "okta".into(),
                key_id: None,
                correlation_id: "c".into(),
                user_agent: None,
                source: "scim".into(),
                occurred_at: at(position),
            },
            // The folds never look at the stored form.
            content_digest: [0; 32],
        });
        self
    }

    pub fn events(&self) -> &[RecordedEvent] {
        &self.events
    }
}

/// The time of the event at log position `position`.
pub fn at(position: i64) -> String {
    format!("2026-01-31T12:00:00.{position:06}Z")
}
