//! What every event records besides its payload: who did it, through which key, on behalf of
//! which instance, when, and under which correlation id.
//!
//! cqrs-es stores metadata as a string map; this is its typed form. Times are formatted by
//! `timestamp` so that they sort as text.

use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;

/// Where a change came from.
pub const SOURCE_SCIM: &str = "scim";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMetadata {
    pub instance_id: String,
    /// The integration user the API key acts for.
    pub actor: String,
    pub key_id: Option<String>,
    pub correlation_id: String,
    pub user_agent: Option<String>,
    pub source: String,
    pub occurred_at: String,
}

const INSTANCE_ID: &str = "instance_id";
const ACTOR: &str = "actor";
const KEY_ID: &str = "key_id";
const CORRELATION_ID: &str = "correlation_id";
const USER_AGENT: &str = "user_agent";
const SOURCE: &str = "source";
const OCCURRED_AT: &str = "occurred_at";

impl EventMetadata {
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::from([
            (INSTANCE_ID.to_string(), self.instance_id.clone()),
            (ACTOR.to_string(), self.actor.clone()),
            (CORRELATION_ID.to_string(), self.correlation_id.clone()),
            (SOURCE.to_string(), self.source.clone()),
            (OCCURRED_AT.to_string(), self.occurred_at.clone()),
        ]);
        if let Some(key_id) = &self.key_id {
            map.insert(KEY_ID.to_string(), key_id.clone());
        }
        if let Some(user_agent) = &self.user_agent {
            map.insert(USER_AGENT.to_string(), user_agent.clone());
        }
        map
    }

    /// Reads metadata written by `to_map`; fields missing from older events read as empty.
    pub fn from_map(map: &HashMap<String, String>) -> Self {
        let text = |key: &str| map.get(key).cloned().unwrap_or_default();
        Self {
            instance_id: text(INSTANCE_ID),
            actor: text(ACTOR),
            key_id: map.get(KEY_ID).cloned(),
            correlation_id: text(CORRELATION_ID),
            user_agent: map.get(USER_AGENT).cloned(),
            source: text(SOURCE),
            occurred_at: text(OCCURRED_AT),
        }
    }
}

/// RFC 3339 in UTC with exactly six fractional digits: fixed width, so text order is time order.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn metadata_survives_the_string_map() {
        let metadata = EventMetadata {
            instance_id: "i1".into(),
            actor: "okta-sync".into(),
            key_id: Some("k1".into()),
            correlation_id: "c1".into(),
            user_agent: None,
            source: SOURCE_SCIM.into(),
            occurred_at: "2026-01-31T12:00:00.000000Z".into(),
        };
        assert_eq!(EventMetadata::from_map(&metadata.to_map()), metadata);
    }

    #[test]
    fn timestamps_have_a_fixed_width() {
        let whole_second = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).single();
        assert_eq!(
            whole_second.map(timestamp).as_deref(),
            Some("2026-01-31T12:00:00.000000Z")
        );
    }
}
