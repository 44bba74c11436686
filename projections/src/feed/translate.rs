//! From internal events to public ones: pure decisions, no store.
//!
//! A user's events are translated a command at a time: one IdP request on a user is one
//! command whose events (`UserUpdated`, `UserSuspended`, `UserMapped`, `ManagerLinked`, ...)
//! commit together, and the application gets one `user.updated` for all of its attribute,
//! field and manager changes, plus `user.suspended` / `user.reactivated` / `user.deleted` for a
//! lifecycle change. Which events form one command is decided from the log alone
//! (`same_command`), so the same log always gives the same feed.
//!
//! What publishes nothing: `UserImported` and `GroupImported` (an account the application
//! already has), and anything else of a user or group until an IdP adopts it; `UserAdopted` and
//! `GroupAdopted` by themselves (an adoption publishes the changes it makes, if any);
//! `ManagerPending` unless it unlinks a manager; `GroupExternalIdChanged` (the group resource
//! of the next event shows it). `ManagerLinked` and a user's externalId change are changes of
//! a `user.updated`.

use super::state::{group_resource, user_resource, GroupState, UserState};
use crate::metadata::EventMetadata;
use aggregates::group::{GroupEvent, MemberKind};
use aggregates::user::{UserEvent, ACTIVE};
use serde_json::{json, Map, Value};

/// The version of the public schema every document carries (docs/events.md).
pub const SCHEMA_VERSION: u32 = 1;

/// A public event decided but not yet numbered.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The internal event it is published at (its id derives from it): each internal event
    /// publishes at most one public event.
    pub sequence: i64,
    pub event_type: &'static str,
    /// `data` without the member's name, which `Member` says how to find.
    pub data: Map<String, Value>,
    pub member: Option<Member>,
}

/// The member a group's member event names; its name is looked up as it is at that moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub kind: MemberKind,
    pub id: String,
}

/// Whether `next` (the event after `previous` in the log) belongs to the same command. A
/// command's events are consecutive in the aggregate, carry its correlation id, and the time
/// its command was handled: two commands of one request are handled at different times.
pub fn same_command(previous: (i64, &EventMetadata), next: (i64, &EventMetadata)) -> bool {
    next.0 == previous.0 + 1
        && next.1.correlation_id == previous.1.correlation_id
        && next.1.occurred_at == previous.1.occurred_at
}

/// The public id of the event published at an aggregate's event: stable, so that every
/// delivery of it carries the same `webhook-id`.
pub fn event_id(aggregate_id: &str, sequence: i64) -> String {
    format!("evt_{aggregate_id}_{sequence}")
}

fn is_lifecycle(event: &UserEvent) -> bool {
    matches!(
        event,
        UserEvent::UserSuspended { .. }
            | UserEvent::UserReactivated { .. }
            | UserEvent::UserDeleted { .. }
    )
}

/// The public events of one command on a user: `before` the user as it was (`None` for a new
/// one), `events` the command's events with their sequence numbers, `after` the user as the
/// command left it. In the order of the events they are published at.
pub fn user_command(
    id: &str,
    before: Option<&UserState>,
    events: &[(i64, UserEvent)],
    after: &UserState,
) -> Vec<Draft> {
    if !after.managed {
        return Vec::new();
    }
    let resource = || {
        let mut data = Map::new();
        data.insert("resource".into(), user_resource(id, after));
        data
    };
    let draft = |sequence, event_type, data| Draft {
        sequence,
        event_type,
        data,
        member: None,
    };
    if let Some((sequence, _)) = events
        .iter()
        .find(|(_, event)| matches!(event, UserEvent::UserCreated { .. }))
    {
        return vec![draft(*sequence, "user.created", resource())];
    }
    let mut drafts = Vec::new();
    let changes = user_changes(before, events, after);
    let first_change = events.iter().find(|(_, event)| !is_lifecycle(event));
    if let (false, Some((sequence, _))) = (changes.is_empty(), first_change) {
        let mut data = resource();
        data.insert("changes".into(), Value::Array(changes));
        drafts.push(draft(*sequence, "user.updated", data));
    }
    for (sequence, event) in events {
        let event_type = match event {
            UserEvent::UserSuspended { .. } => "user.suspended",
            UserEvent::UserReactivated { .. } => "user.reactivated",
            UserEvent::UserDeleted { .. } => "user.deleted",
            _ => continue,
        };
        drafts.push(draft(*sequence, event_type, resource()));
    }
    drafts.sort_by_key(|draft| draft.sequence);
    drafts
}

/// Every attribute, mapped field and manager change of a command, old and new; `active` is
/// left to the lifecycle events.
fn user_changes(
    before: Option<&UserState>,
    events: &[(i64, UserEvent)],
    after: &UserState,
) -> Vec<Value> {
    let mut changes = Vec::new();
    for (_, event) in events {
        match event {
            UserEvent::UserUpdated { changes: updated } => changes.extend(
                updated
                    .iter()
                    .filter(|change| change.attribute != ACTIVE)
                    .map(|change| {
                        json!({"kind": "attribute", "name": change.to_string(),
                                   "old": change.old, "new": change.new})
                    }),
            ),
            UserEvent::UserMapped { changes: mapped } => {
                changes.extend(mapped.iter().map(|change| {
                    json!({"kind": "field", "name": change.field,
                           "old": change.old, "new": change.new})
                }))
            }
            _ => {}
        }
    }
    let old_manager = before.and_then(|user| user.manager_id.clone());
    if old_manager != after.manager_id {
        changes.push(json!({"kind": "manager", "name": "managerId",
                            "old": old_manager, "new": after.manager_id}));
    }
    changes
}

/// The public event of one group event, if it publishes one: `after` the group as the event
/// left it.
pub fn group_event(
    id: &str,
    sequence: i64,
    event: &GroupEvent,
    before: Option<&GroupState>,
    after: &GroupState,
) -> Option<Draft> {
    if !after.managed {
        return None;
    }
    let mut data = Map::new();
    data.insert("resource".into(), group_resource(id, after));
    let mut member = None;
    let event_type = match event {
        GroupEvent::GroupCreated { .. } => "group.created",
        GroupEvent::GroupRenamed {
            old_display_name, ..
        } => {
            data.insert(
                "previousDisplayName".into(),
                Value::from(old_display_name.as_str()),
            );
            "group.renamed"
        }
        GroupEvent::GroupDeleted => "group.deleted",
        GroupEvent::GroupMemberAdded { member: added } => {
            member = Some(Member {
                kind: added.kind,
                id: added.id.as_str().to_string(),
            });
            "group.member_added"
        }
        GroupEvent::GroupMemberRemoved { member: removed } => {
            member = Some(Member {
                kind: removed.kind,
                id: removed.id.as_str().to_string(),
            });
            "group.member_removed"
        }
        GroupEvent::GroupImported { .. }
        | GroupEvent::GroupAdopted
        | GroupEvent::GroupExternalIdChanged { .. } => return None,
    };
    // A group deleted twice (never, but the log is not ours to judge) publishes once.
    if event_type == "group.deleted" && before.is_some_and(|group| group.deleted) {
        return None;
    }
    Some(Draft {
        sequence,
        event_type,
        data,
        member,
    })
}

/// The `member` object of a member event: its type, id and name at the time (`None` for a
/// member the feed has never seen).
pub fn member_object(member: &Member, name: Option<&str>) -> Value {
    match member.kind {
        MemberKind::User => json!({"type": "user", "id": member.id, "userName": name}),
        MemberKind::Group => json!({"type": "group", "id": member.id, "displayName": name}),
    }
}

/// The complete public document of a draft published at `cursor`.
pub fn document(
    draft: &Draft,
    aggregate_id: &str,
    cursor: i64,
    metadata: &EventMetadata,
    member_name: Option<&str>,
) -> Value {
    let mut data = draft.data.clone();
    if let Some(member) = &draft.member {
        data.insert("member".into(), member_object(member, member_name));
    }
    json!({
        "id": event_id(aggregate_id, draft.sequence),
        "type": draft.event_type,
        "version": SCHEMA_VERSION,
        "cursor": cursor.to_string(),
        "instanceId": metadata.instance_id,
        "occurredAt": metadata.occurred_at,
        "actor": {
            "name": metadata.actor,
            "keyId": metadata.key_id,
            "source": metadata.source,
        },
        "correlationId": metadata.correlation_id,
        "data": data,
    })
}

#[cfg(test)]
mod tests;
