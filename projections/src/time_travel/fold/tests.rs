use super::*;
use crate::event_log::Position;
use crate::metadata::EventMetadata;
use aggregates::attributes::{AttributeChange, Attributes};
use aggregates::group::{DisplayName, Member};
use aggregates::user::UserName;
use aggregates::values::InstanceId;
use serde_json::json;

const INSTANCE: &str = "i1";

fn at(minute: u32) -> String {
    format!("2026-01-31T12:{minute:02}:00.000000Z")
}

/// Events of one aggregate, each `(minute, event)`, numbered in order.
fn recorded(id: &str, events: Vec<(u32, DomainEvent)>) -> Vec<RecordedEvent> {
    events
        .into_iter()
        .zip(1..)
        .map(|((minute, event), sequence)| RecordedEvent {
            position: Position {
                transaction_id: 0,
                position: i64::from(minute) * 100 + sequence,
            },
            aggregate_type: match &event {
                DomainEvent::User(_) => "User",
                DomainEvent::Group(_) => "Group",
                DomainEvent::Settings(_) => "InstanceSettings",
            }
            .to_string(),
            aggregate_id: id.to_string(),
            sequence,
            event,
            metadata: EventMetadata {
                instance_id: INSTANCE.into(),
                actor: "okta".into(),
                key_id: None,
                correlation_id: "c".into(),
                user_agent: None,
                source: "scim".into(),
                occurred_at: at(minute),
            },
            // The fold never looks at the stored form.
            content_digest: [0; 32],
        })
        .collect()
}

/// The cut of a log of `events` for `minute`, as `read::cut_at` finds it in the store: the
/// first event in log order stamped after it.
fn cut(events: &[RecordedEvent], minute: u32) -> Cut {
    let until = at(minute);
    events
        .iter()
        .filter(|recorded| recorded.metadata.occurred_at > until)
        .map(|recorded| recorded.position)
        .min()
        .map_or(Cut::Everything, Cut::Before)
}

fn user_created(user_name: &str) -> DomainEvent {
    let attributes = match json!({"active": true, "displayName": "Ann"}) {
        serde_json::Value::Object(map) => Attributes::new(map),
        _ => Attributes::default(),
    };
    DomainEvent::User(UserEvent::UserCreated {
        instance_id: InstanceId::new(INSTANCE),
        user_name: UserName::parse(user_name).unwrap_or_else(|error| panic!("{error}")),
        external_id: None,
        attributes,
        invitation_sent: false,
    })
}

fn user_updated(attribute: &str, old: serde_json::Value, new: serde_json::Value) -> DomainEvent {
    DomainEvent::User(UserEvent::UserUpdated {
        changes: vec![AttributeChange::whole(attribute, Some(old), Some(new))],
    })
}

fn name(text: &str) -> DisplayName {
    DisplayName::parse(text).unwrap_or_else(|error| panic!("{error}"))
}

fn group_created(display_name: &str) -> DomainEvent {
    DomainEvent::Group(GroupEvent::GroupCreated {
        instance_id: InstanceId::new(INSTANCE),
        display_name: name(display_name),
        external_id: None,
    })
}

fn group(event: GroupEvent) -> DomainEvent {
    DomainEvent::Group(event)
}

#[test]
fn a_user_folds_to_its_row_as_it_was_at_each_moment() {
    let events = recorded(
        "u1",
        vec![
            (1, user_created("ann")),
            (2, user_updated("userName", json!("ann"), json!("ann.lee"))),
            (3, user_updated("active", json!(true), json!(false))),
            (
                3,
                DomainEvent::User(UserEvent::UserSuspended { reason: None }),
            ),
            (
                5,
                DomainEvent::User(UserEvent::UserDeleted { reason: None }),
            ),
        ],
    );
    let fold_at = |minute: u32| fold_user(&events, cut(&events, minute)).map_err(|e| e.to_string());

    assert_eq!(fold_at(0), Ok(AsOf::NotYetCreated));
    let created = fold_at(1).map(AsOf::live);
    let Ok(Some(created)) = created else {
        panic!("ann exists at 12:01: {created:?}");
    };
    assert_eq!((created.user_name.as_str(), created.version), ("ann", 1));
    assert_eq!(created.created_at, at(1));

    let Ok(Some(renamed)) = fold_at(2).map(AsOf::live) else {
        panic!("ann exists at 12:02");
    };
    assert_eq!(renamed.user_name, "ann.lee");
    assert_eq!((renamed.version, renamed.active), (2, Some(true)));
    assert_eq!((renamed.created_at, renamed.last_modified), (at(1), at(2)));

    let Ok(Some(suspended)) = fold_at(4).map(AsOf::live) else {
        panic!("ann exists at 12:04");
    };
    assert_eq!((suspended.version, suspended.active), (4, Some(false)));
    assert_eq!(suspended.last_modified, at(3));
    assert_eq!(suspended.attributes(), renamed_attributes(false));

    assert_eq!(fold_at(6), Ok(AsOf::Deleted { deleted_at: at(5) }));
    assert_eq!(created_in(&events), Some(INSTANCE));
}

fn renamed_attributes(active: bool) -> serde_json::Map<String, serde_json::Value> {
    match json!({"active": active, "displayName": "Ann"}) {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

#[test]
fn a_members_groups_are_those_it_was_in_under_their_names_of_the_time() {
    let mut events = recorded(
        "g1",
        vec![
            (1, group_created("Sales")),
            (
                2,
                group(GroupEvent::GroupMemberAdded {
                    member: Member::user("u1"),
                }),
            ),
            (
                4,
                group(GroupEvent::GroupRenamed {
                    old_display_name: name("Sales"),
                    new_display_name: name("Sales EU"),
                }),
            ),
        ],
    );
    events.extend(recorded(
        "g2",
        vec![
            (1, group_created("alpha")),
            (
                2,
                group(GroupEvent::GroupMemberAdded {
                    member: Member::user("u1"),
                }),
            ),
            (
                3,
                group(GroupEvent::GroupMemberRemoved {
                    member: Member::user("u1"),
                }),
            ),
        ],
    ));
    events.extend(recorded(
        "g3",
        vec![
            (1, group_created("Beta")),
            (
                2,
                group(GroupEvent::GroupMemberAdded {
                    member: Member::user("u1"),
                }),
            ),
            (4, group(GroupEvent::GroupDeleted)),
        ],
    ));
    let groups_at = |minute: u32| -> Vec<(String, String)> {
        memberships("u1", INSTANCE, &events, cut(&events, minute))
            .unwrap_or_default()
            .into_iter()
            .map(|group| (group.group_id, group.display_name))
            .collect()
    };
    let pair = |id: &str, name: &str| (id.to_string(), name.to_string());

    assert_eq!(groups_at(1), []);
    // By name without regard to case: alpha, Beta, Sales.
    assert_eq!(
        groups_at(2),
        [pair("g2", "alpha"), pair("g3", "Beta"), pair("g1", "Sales")]
    );
    assert_eq!(groups_at(3), [pair("g3", "Beta"), pair("g1", "Sales")]);
    assert_eq!(groups_at(4), [pair("g1", "Sales EU")]);
    // Another instance's groups are never its groups.
    assert_eq!(
        memberships("u1", "i2", &events, Cut::Everything).ok(),
        Some(vec![])
    );
}

#[test]
fn a_group_folds_to_its_members_and_version_and_hides_deleted_members() {
    let events = recorded(
        "g1",
        vec![
            (1, group_created("Sales")),
            (
                2,
                group(GroupEvent::GroupMemberAdded {
                    member: Member::user("u2"),
                }),
            ),
            (
                2,
                group(GroupEvent::GroupMemberAdded {
                    member: Member::user("u1"),
                }),
            ),
            (
                3,
                group(GroupEvent::GroupMemberAdded {
                    member: Member::group("g9"),
                }),
            ),
            (
                4,
                group(GroupEvent::GroupMemberRemoved {
                    member: Member::user("u2"),
                }),
            ),
        ],
    );
    let Ok(AsOf::Live(state)) = fold_group(&events, cut(&events, 3)) else {
        panic!("the group exists at 12:03");
    };
    assert_eq!(
        (state.row.version, state.row.last_modified.clone()),
        (4, at(3))
    );
    let ids = |members: Vec<MemberRecord>| -> Vec<String> {
        members.into_iter().map(|member| member.member_id).collect()
    };
    assert_eq!(
        ids(listed_members(&state, &HashSet::new())),
        ["g9", "u1", "u2"]
    );
    let deleted = HashSet::from(["u1".to_string()]);
    assert_eq!(ids(listed_members(&state, &deleted)), ["g9", "u2"]);
    let Ok(AsOf::Live(later)) = fold_group(&events, Cut::Everything) else {
        panic!("the group exists now");
    };
    assert_eq!(later.row.version, 5);
    assert_eq!(ids(listed_members(&later, &HashSet::new())), ["g9", "u1"]);
}

/// A command stamped at 12:02 but logged after one stamped at 12:03 (it was retried): at
/// 12:02 the log held neither change, never the later-logged one alone.
#[test]
fn an_event_logged_after_a_later_stamped_one_is_not_shown_without_it() {
    let mut events = recorded(
        "u1",
        vec![
            (1, user_created("ann")),
            (3, user_updated("title", json!(null), json!("Lead"))),
            (
                2,
                user_updated("displayName", json!("Ann"), json!("Ann Lee")),
            ),
        ],
    );
    // In log order, whatever the stamps say.
    for (recorded, position) in events.iter_mut().zip(1..) {
        recorded.position.position = position;
    }
    let version_at = |minute: u32| match fold_user(&events, cut(&events, minute)) {
        Ok(AsOf::Live(row)) => row.version,
        other => panic!("ann exists at 12:0{minute}: {other:?}"),
    };
    assert_eq!(version_at(1), 1);
    assert_eq!(
        version_at(2),
        1,
        "the rename was logged after the new title"
    );
    assert_eq!(version_at(3), 3);
}
