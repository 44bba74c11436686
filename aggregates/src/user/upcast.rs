//! Stored user events read in their current shape. Events are never edited (they are
//! hash-chained): every reader (the aggregate, the projections, time travel) goes through
//! `upcast_payload` instead.

use super::values::ACTIVE;
use serde_json::{json, Map, Value};

/// Event types first stored without fields (as a bare name), before they carried a reason.
const FORMERLY_UNIT: [&str; 3] = ["UserSuspended", "UserReactivated", "UserDeleted"];

/// Event types that bring a user into being with its attributes.
const BEGINNINGS: [&str; 2] = ["UserCreated", "UserImported"];

/// Brings a stored payload to the current shape of its event:
/// - a bare `"UserSuspended"` (as stored before reasons were kept) becomes
///   `{"UserSuspended": {}}`, whose reason reads as none;
/// - `active` left unstated (users created or imported without it, before it was recorded as
///   true) reads as `true`, which is what such a user was: at its beginning, and as the old
///   value of a deactivation (a recorded `null → false` is `true → false`). Any other change of
///   `active` reads as stored: a `null` new value is a removal of the attribute, which leaves
///   the user active, and a `null → true` is the first time it was stated.
pub fn upcast_payload(payload: Value) -> Value {
    match payload {
        Value::String(name) if FORMERLY_UNIT.contains(&name.as_str()) => json!({ name: {} }),
        Value::Object(mut tagged) => {
            for beginning in BEGINNINGS {
                if let Some(attributes) = fields(&mut tagged, beginning, "attributes") {
                    attributes.entry(ACTIVE).or_insert(Value::Bool(true));
                }
            }
            if let Some(Value::Array(changes)) = tagged
                .get_mut("UserUpdated")
                .and_then(|updated| updated.get_mut("changes"))
            {
                changes.iter_mut().for_each(deactivation_from_unstated);
            }
            Value::Object(tagged)
        }
        other => other,
    }
}

/// The object at `tagged[event][field]`, if the payload is of that event.
fn fields<'a>(
    tagged: &'a mut Map<String, Value>,
    event: &str,
    field: &str,
) -> Option<&'a mut Map<String, Value>> {
    tagged.get_mut(event)?.get_mut(field)?.as_object_mut()
}

/// Reads a deactivation of a user whose `active` was unstated as from `true`.
fn deactivation_from_unstated(change: &mut Value) {
    let Some(change) = change.as_object_mut() else {
        return;
    };
    let about_active = change.get("attribute").and_then(Value::as_str) == Some(ACTIVE)
        && change.get("sub_attribute").is_none_or(Value::is_null);
    let deactivation = change.get("new") == Some(&Value::Bool(false));
    if about_active && deactivation && change.get("old").is_none_or(Value::is_null) {
        change.insert("old".to_string(), Value::Bool(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::UserEvent;

    #[test]
    fn events_stored_before_reasons_read_without_one() {
        for name in FORMERLY_UNIT {
            let event: Result<UserEvent, _> = serde_json::from_value(upcast_payload(json!(name)));
            let reason = match event {
                Ok(UserEvent::UserSuspended { reason })
                | Ok(UserEvent::UserReactivated { reason })
                | Ok(UserEvent::UserDeleted { reason }) => reason,
                other => panic!("{name} reads as {other:?}"),
            };
            assert_eq!(reason, None);
        }
        let current = json!({"UserSuspended": {"reason": "PATCH /Users/u1: active set to false"}});
        assert_eq!(upcast_payload(current.clone()), current);
    }

    fn created(attributes: Value) -> Value {
        json!({"UserCreated": {
            "instance_id": "i1", "user_name": "alice@corp", "external_id": null,
            "attributes": attributes, "invitation_sent": false,
        }})
    }

    #[test]
    fn a_user_created_without_active_reads_as_created_active() {
        let stored = created(json!({"displayName": "Alice"}));
        assert_eq!(
            upcast_payload(stored),
            created(json!({"displayName": "Alice", "active": true}))
        );
        let imported = json!({"UserImported": {
            "instance_id": "i1", "user_name": "a", "external_id": null, "attributes": {},
        }});
        assert_eq!(
            upcast_payload(imported)["UserImported"]["attributes"],
            json!({"active": true})
        );
    }

    #[test]
    fn a_stated_active_reads_as_stored() {
        for stored in [
            created(json!({"active": false})),
            created(json!({"active": true})),
        ] {
            assert_eq!(upcast_payload(stored.clone()), stored);
        }
    }

    fn updated(changes: Value) -> Value {
        json!({"UserUpdated": {"changes": changes}})
    }

    #[test]
    fn a_deactivation_from_unstated_reads_as_from_true() {
        let title = json!({"attribute": "title", "old": null, "new": "Clerk"});
        assert_eq!(
            upcast_payload(updated(json!([
                {"attribute": "active", "old": null, "new": false},
                title,
            ]))),
            updated(json!([
                {"attribute": "active", "old": true, "new": false},
                title,
            ]))
        );
    }

    #[test]
    fn a_removal_or_a_first_statement_of_active_reads_as_stored() {
        for stored in [
            updated(json!([{"attribute": "active", "old": false, "new": null}])),
            updated(json!([{"attribute": "active", "old": true, "new": null}])),
            updated(json!([{"attribute": "active", "old": null, "new": true}])),
        ] {
            assert_eq!(upcast_payload(stored.clone()), stored);
        }
    }

    #[test]
    fn current_events_read_as_stored() {
        let current = updated(json!([{"attribute": "active", "old": true, "new": false}]));
        assert_eq!(upcast_payload(current.clone()), current);
        let events = [
            UserEvent::UserAdopted,
            UserEvent::UserSuspended { reason: None },
        ];
        for event in events {
            let stored = serde_json::to_value(&event).expect("serialises");
            assert_eq!(upcast_payload(stored.clone()), stored);
        }
    }
}
