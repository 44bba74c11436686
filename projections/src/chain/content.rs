//! The content digest of one stored event: what the hash chain commits to.
//!
//! It is computed from the row as stored, never from a decoded or upcast event: an upcaster
//! changing the decoded shape must not look like tampering, and a change to the stored row must
//! never be hidden by decoding. SQLite keeps JSON as text and PostgreSQL as jsonb (which
//! reorders keys and drops whitespace), so JSON is canonicalised first: the same event has the
//! same digest on both stores.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// A SHA-256 value.
pub type Digest = [u8; 32];

/// Names the digest's definition, so that a future definition can never collide with this one.
const CONTENT_TAG: &[u8] = b"scimd-event-content-v1";
/// Marks a JSON field that parsed (and is hashed canonically) or did not (hashed as stored).
const CANONICAL_JSON: u8 = b'j';
const RAW_TEXT: u8 = b'r';

/// The stored columns of an event that its digest covers. `position` is not among them: where
/// an event stands is checked against the chain entry, not hashed into the event.
#[derive(Debug, Clone, Copy)]
pub struct EventContent<'a> {
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub sequence: i64,
    pub event_type: &'a str,
    pub event_version: &'a str,
    pub payload: &'a str,
    pub metadata: &'a str,
}

impl EventContent<'_> {
    /// SHA-256 over the tag and each field (the sequence as decimal text), every one preceded
    /// by its length (8 bytes, big endian) so that no two different events frame to the same
    /// bytes.
    pub fn digest(&self) -> Digest {
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update(u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
            hasher.update(bytes);
        };
        field(CONTENT_TAG);
        field(self.aggregate_type.as_bytes());
        field(self.aggregate_id.as_bytes());
        field(self.sequence.to_string().as_bytes());
        field(self.event_type.as_bytes());
        field(self.event_version.as_bytes());
        field(&json_field(self.payload));
        field(&json_field(self.metadata));
        hasher.finalize().into()
    }
}

/// A JSON column in canonical form; text that is not JSON (only SQLite can hold it, and only if
/// someone wrote it there) is hashed as it is, marked so that it cannot pass for JSON.
fn json_field(text: &str) -> Vec<u8> {
    let (marker, body) = match serde_json::from_str::<Value>(text) {
        Ok(value) => (CANONICAL_JSON, canonical_json(&value)),
        Err(_) => (RAW_TEXT, text.to_string()),
    };
    let mut bytes = Vec::with_capacity(body.len() + 1);
    bytes.push(marker);
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// JSON without whitespace, object keys sorted by their UTF-8 bytes at every depth. Strings and
/// numbers are written as serde_json writes them, so escapes spelled differently agree.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (index, (key, value)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn content<'a>(payload: &'a str, metadata: &'a str) -> EventContent<'a> {
        EventContent {
            aggregate_type: "User",
            aggregate_id: "u1",
            sequence: 3,
            event_type: "UserUpdated",
            event_version: "1.0",
            payload,
            metadata,
        }
    }

    const METADATA: &str = r#"{"instance_id":"i1","actor":"okta"}"#;

    #[test]
    fn key_order_and_whitespace_do_not_change_the_digest() {
        let stored_as_text = content(r#"{"b":1,"a":{"y":[1,2],"x":"é"}}"#, METADATA);
        let stored_as_jsonb = content(
            r#"{"a": {"x": "\u00e9", "y": [1, 2]}, "b": 1}"#,
            r#"{"actor": "okta", "instance_id": "i1"}"#,
        );
        assert_eq!(stored_as_text.digest(), stored_as_jsonb.digest());
    }

    #[test]
    fn any_field_changes_the_digest() {
        let original = content(r#"{"a":1}"#, METADATA);
        let changed = [
            content(r#"{"a":2}"#, METADATA),
            content(r#"{"a":1}"#, r#"{"instance_id":"i2","actor":"okta"}"#),
            EventContent {
                sequence: 4,
                ..original
            },
            EventContent {
                aggregate_id: "u2",
                ..original
            },
            EventContent {
                event_type: "UserSuspended",
                ..original
            },
            EventContent {
                event_version: "1.1",
                ..original
            },
            EventContent {
                aggregate_type: "Group",
                ..original
            },
        ];
        for other in changed {
            assert_ne!(original.digest(), other.digest(), "{other:?}");
        }
    }

    #[test]
    fn fields_cannot_borrow_bytes_from_their_neighbours() {
        let one = EventContent {
            aggregate_type: "User",
            aggregate_id: "u1",
            ..content("{}", "{}")
        };
        let other = EventContent {
            aggregate_type: "Useru",
            aggregate_id: "1",
            ..content("{}", "{}")
        };
        assert_ne!(one.digest(), other.digest());
    }

    #[test]
    fn text_that_is_not_json_is_hashed_as_stored_and_never_as_json() {
        assert_ne!(
            content(r#""x""#, METADATA).digest(),
            content("x", METADATA).digest()
        );
        assert_ne!(
            content("{oops", METADATA).digest(),
            content("{oops ", METADATA).digest()
        );
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-zé\"\\\\ ]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec(("[a-d]{1,2}", inner), 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// The same value with every object's keys in reverse order, pretty-printed.
    fn respelled(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .rev()
                    .map(|(key, value)| (key.clone(), respelled(value)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(respelled).collect()),
            scalar => scalar.clone(),
        }
    }

    proptest! {
        #[test]
        fn the_digest_depends_on_the_json_value_not_its_spelling(payload in json()) {
            let compact = payload.to_string();
            let pretty = serde_json::to_string_pretty(&respelled(&payload))
                .unwrap_or_default();
            prop_assert_eq!(
                content(&compact, METADATA).digest(),
                content(&pretty, METADATA).digest()
            );
        }

        #[test]
        fn a_different_payload_has_a_different_digest(a in json(), b in json()) {
            prop_assume!(a != b);
            prop_assert_ne!(
                content(&a.to_string(), METADATA).digest(),
                content(&b.to_string(), METADATA).digest()
            );
        }
    }
}
