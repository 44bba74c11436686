//! Each internal event, or command of them, against the public events it publishes.

use super::*;
use crate::feed::state::{group_after, user_after, Lifecycle};
use aggregates::attributes::{AttributeChange, Attributes};
use aggregates::group::{DisplayName, Member as GroupMember};
use aggregates::settings::mapping::FieldChange;
use aggregates::user::UserName;
use aggregates::values::{ExternalId, InstanceId};
use serde_json::json;

const ID: &str = "u1";

fn attributes(value: Value) -> Attributes {
    match value {
        Value::Object(map) => Attributes::new(map),
        _ => Attributes::default(),
    }
}

fn created(active: bool) -> UserEvent {
    UserEvent::UserCreated {
        instance_id: InstanceId::new("i1"),
        user_name: UserName::parse("alice@example.com").expect("a valid userName"),
        external_id: ExternalId::parse("00u1").ok(),
        attributes: attributes(json!({"active": active, "name": {"givenName": "Alice"}})),
        invitation_sent: false,
    }
}

fn imported() -> UserEvent {
    UserEvent::UserImported {
        instance_id: InstanceId::new("i1"),
        user_name: UserName::parse("alice@example.com").expect("a valid userName"),
        external_id: None,
        attributes: attributes(json!({"active": true})),
    }
}

fn mapped(field: &str, old: Option<&str>, new: Option<&str>) -> UserEvent {
    UserEvent::UserMapped {
        changes: vec![FieldChange {
            field: field.into(),
            old: old.map(Into::into),
            new: new.map(Into::into),
        }],
    }
}

fn updated(changes: Vec<AttributeChange>) -> UserEvent {
    UserEvent::UserUpdated { changes }
}

fn given_name(old: &str, new: &str) -> AttributeChange {
    AttributeChange {
        attribute: "name".into(),
        sub_attribute: Some("givenName".into()),
        old: Some(json!(old)),
        new: Some(json!(new)),
    }
}

fn active(old: bool, new: bool) -> AttributeChange {
    AttributeChange::whole("active", Some(json!(old)), Some(json!(new)))
}

fn suspended() -> UserEvent {
    UserEvent::UserSuspended { reason: None }
}

/// The user after `events`, from `before`.
fn fold(before: Option<&UserState>, events: &[(i64, UserEvent)]) -> UserState {
    events
        .iter()
        .fold(before.cloned(), |state, (_, event)| {
            Some(user_after(state, event))
        })
        .unwrap_or_default()
}

/// The drafts of one command on a user that was `before`.
fn publish(before: Option<&UserState>, events: &[(i64, UserEvent)]) -> Vec<Draft> {
    user_command(ID, before, events, &fold(before, events))
}

fn types(drafts: &[Draft]) -> Vec<(i64, &'static str)> {
    drafts
        .iter()
        .map(|draft| (draft.sequence, draft.event_type))
        .collect()
}

fn alice() -> UserState {
    fold(
        None,
        &[(1, created(true)), (2, mapped("Email", None, Some("a@x")))],
    )
}

#[test]
fn a_create_publishes_one_user_created_with_the_fields_mapped_at_creation() {
    let drafts = publish(
        None,
        &[
            (1, created(true)),
            (2, mapped("Email", None, Some("alice@example.com"))),
            (
                3,
                UserEvent::ManagerLinked {
                    reference: "bob".into(),
                    manager_id: "u2".into(),
                },
            ),
        ],
    );
    assert_eq!(types(&drafts), [(1, "user.created")]);
    assert_eq!(
        drafts[0].data["resource"],
        json!({
            "id": ID, "userName": "alice@example.com", "externalId": "00u1", "active": true,
            "state": "active", "attributes": {"name": {"givenName": "Alice"}},
            "fields": {"Email": "alice@example.com"}, "managerId": "u2",
        })
    );
}

#[test]
fn a_user_created_inactive_is_created_suspended_without_a_suspension() {
    let drafts = publish(None, &[(1, created(false))]);
    assert_eq!(types(&drafts), [(1, "user.created")]);
    assert_eq!(drafts[0].data["resource"]["state"], "suspended");
    assert_eq!(drafts[0].data["resource"]["active"], false);
}

#[test]
fn an_update_with_attribute_and_field_changes_and_a_suspension_is_one_update_and_a_suspension() {
    let before = alice();
    let drafts = publish(
        Some(&before),
        &[
            (
                3,
                updated(vec![active(true, false), given_name("Alice", "Ali")]),
            ),
            (4, suspended()),
            (5, mapped("First Name", Some("Alice"), Some("Ali"))),
        ],
    );
    assert_eq!(types(&drafts), [(3, "user.updated"), (4, "user.suspended")]);
    assert_eq!(
        drafts[0].data["changes"],
        json!([
            {"kind": "attribute", "name": "name.givenName", "old": "Alice", "new": "Ali"},
            {"kind": "field", "name": "First Name", "old": "Alice", "new": "Ali"},
        ])
    );
    for draft in &drafts {
        assert_eq!(draft.data["resource"]["state"], "suspended");
        assert_eq!(draft.data["resource"]["fields"]["First Name"], "Ali");
    }
}

#[test]
fn a_change_of_active_alone_is_only_a_suspension_or_a_reactivation() {
    let before = alice();
    let drafts = publish(
        Some(&before),
        &[(3, updated(vec![active(true, false)])), (4, suspended())],
    );
    assert_eq!(types(&drafts), [(4, "user.suspended")]);
    let suspended_user = fold(
        Some(&before),
        &[(3, updated(vec![active(true, false)])), (4, suspended())],
    );
    let drafts = publish(
        Some(&suspended_user),
        &[
            (5, updated(vec![active(false, true)])),
            (6, UserEvent::UserReactivated { reason: None }),
        ],
    );
    assert_eq!(types(&drafts), [(6, "user.reactivated")]);
    assert_eq!(drafts[0].data["resource"]["state"], "active");
    assert_eq!(drafts[0].data["resource"]["active"], true);
}

#[test]
fn a_delete_publishes_user_deleted_with_the_user_as_deleted() {
    let before = alice();
    let drafts = publish(
        Some(&before),
        &[(3, UserEvent::UserDeleted { reason: None })],
    );
    assert_eq!(types(&drafts), [(3, "user.deleted")]);
    assert_eq!(drafts[0].data["resource"]["state"], "deleted");
}

#[test]
fn a_manager_linked_later_is_a_change_of_the_manager_id() {
    let before = alice();
    let linked = UserEvent::ManagerLinked {
        reference: "bob".into(),
        manager_id: "u2".into(),
    };
    let drafts = publish(Some(&before), &[(3, linked)]);
    assert_eq!(types(&drafts), [(3, "user.updated")]);
    assert_eq!(
        drafts[0].data["changes"],
        json!([{"kind": "manager", "name": "managerId", "old": null, "new": "u2"}])
    );
    // Still waiting for a manager that is not provisioned: nothing the application sees.
    let pending = UserEvent::ManagerPending {
        reference: "carol".into(),
    };
    assert!(publish(Some(&before), &[(3, pending)]).is_empty());
}

#[test]
fn an_imported_account_publishes_nothing_until_adopted_and_then_only_its_changes() {
    let imported_user = fold(
        None,
        &[(1, imported()), (2, mapped("Email", None, Some("a@x")))],
    );
    assert!(publish(
        None,
        &[(1, imported()), (2, mapped("Email", None, Some("a@x")))]
    )
    .is_empty());
    assert!(publish(
        Some(&imported_user),
        &[(3, mapped("Email", Some("a@x"), Some("b@x")))]
    )
    .is_empty());
    assert!(publish(Some(&imported_user), &[(3, UserEvent::UserAdopted)]).is_empty());
    let drafts = publish(
        Some(&imported_user),
        &[
            (3, UserEvent::UserAdopted),
            (4, updated(vec![given_name("A", "Alice")])),
        ],
    );
    assert_eq!(types(&drafts), [(3, "user.updated")]);
}

#[test]
fn user_name_and_external_id_changes_are_attribute_changes_and_fold_into_the_resource() {
    let before = alice();
    let events = [(
        3,
        updated(vec![
            AttributeChange::whole(
                "userName",
                Some(json!("alice@example.com")),
                Some(json!("ali@example.com")),
            ),
            AttributeChange::whole("externalId", Some(json!("00u1")), None),
        ]),
    )];
    let drafts = publish(Some(&before), &events);
    assert_eq!(drafts[0].data["resource"]["userName"], "ali@example.com");
    assert_eq!(drafts[0].data["resource"]["externalId"], Value::Null);
    assert_eq!(drafts[0].data["changes"][0]["name"], "userName");
    assert_eq!(fold(Some(&before), &events).lifecycle, Lifecycle::Active);
}

fn group_created() -> GroupEvent {
    GroupEvent::GroupCreated {
        instance_id: InstanceId::new("i1"),
        display_name: DisplayName::parse("Engineering").expect("a valid name"),
        external_id: None,
    }
}

fn group_publish(before: Option<&GroupState>, sequence: i64, event: &GroupEvent) -> Option<Draft> {
    let after = group_after(before.cloned(), event);
    group_event("g1", sequence, event, before, &after)
}

#[test]
fn group_events_publish_one_public_event_each_without_the_members() {
    let draft = group_publish(None, 1, &group_created());
    assert_eq!(draft.as_ref().map(|d| d.event_type), Some("group.created"));
    assert_eq!(
        draft.map(|d| d.data["resource"].clone()),
        Some(json!({"id": "g1", "displayName": "Engineering", "externalId": null}))
    );
    let group = group_after(None, &group_created());
    let renamed = GroupEvent::GroupRenamed {
        old_display_name: DisplayName::parse("Engineering").expect("a valid name"),
        new_display_name: DisplayName::parse("R&D").expect("a valid name"),
    };
    let draft = group_publish(Some(&group), 2, &renamed);
    assert_eq!(draft.as_ref().map(|d| d.event_type), Some("group.renamed"));
    assert_eq!(
        draft
            .as_ref()
            .map(|d| d.data["previousDisplayName"].clone()),
        Some(json!("Engineering"))
    );
    assert_eq!(
        draft.map(|d| d.data["resource"]["displayName"].clone()),
        Some(json!("R&D"))
    );
    let added = GroupEvent::GroupMemberAdded {
        member: GroupMember::user("u1"),
    };
    let draft = group_publish(Some(&group), 3, &added);
    assert_eq!(
        draft.as_ref().map(|d| d.event_type),
        Some("group.member_added")
    );
    assert_eq!(
        draft.and_then(|d| d.member),
        Some(Member {
            kind: MemberKind::User,
            id: "u1".into()
        })
    );
    let removed = GroupEvent::GroupMemberRemoved {
        member: GroupMember::group("g2"),
    };
    let draft = group_publish(Some(&group), 4, &removed);
    assert_eq!(
        draft.as_ref().map(|d| d.event_type),
        Some("group.member_removed")
    );
    let external_id = GroupEvent::GroupExternalIdChanged {
        old_external_id: None,
        new_external_id: ExternalId::parse("x").ok(),
    };
    assert_eq!(group_publish(Some(&group), 5, &external_id), None);
    assert_eq!(
        group_after(Some(group.clone()), &external_id)
            .external_id
            .as_deref(),
        Some("x")
    );
    let draft = group_publish(Some(&group), 6, &GroupEvent::GroupDeleted);
    assert_eq!(draft.map(|d| d.event_type), Some("group.deleted"));
}

#[test]
fn an_imported_group_publishes_nothing_until_adopted() {
    let import = GroupEvent::GroupImported {
        instance_id: InstanceId::new("i1"),
        display_name: DisplayName::parse("Sales").expect("a valid name"),
    };
    assert_eq!(group_publish(None, 1, &import), None);
    let group = group_after(None, &import);
    let added = GroupEvent::GroupMemberAdded {
        member: GroupMember::user("u1"),
    };
    assert_eq!(group_publish(Some(&group), 2, &added), None);
    assert_eq!(
        group_publish(Some(&group), 3, &GroupEvent::GroupAdopted),
        None
    );
    let adopted = group_after(Some(group), &GroupEvent::GroupAdopted);
    assert!(group_publish(Some(&adopted), 4, &added).is_some());
}

fn metadata(correlation_id: &str, occurred_at: &str) -> EventMetadata {
    EventMetadata {
        instance_id: "i1".into(),
        actor: "okta".into(),
        key_id: Some("k1".into()),
        correlation_id: correlation_id.into(),
        user_agent: None,
        source: "scim".into(),
        occurred_at: occurred_at.into(),
    }
}

#[test]
fn a_command_is_the_run_of_consecutive_events_with_one_correlation_id_and_time() {
    let at = "2026-01-31T12:00:00.000001Z";
    let first = metadata("c1", at);
    assert!(same_command((3, &first), (4, &metadata("c1", at))));
    assert!(!same_command((3, &first), (5, &metadata("c1", at))));
    assert!(!same_command((3, &first), (4, &metadata("c2", at))));
    // Two commands of one request are handled one after the other.
    assert!(!same_command(
        (3, &first),
        (4, &metadata("c1", "2026-01-31T12:00:00.000002Z"))
    ));
}

#[test]
fn a_document_carries_the_envelope_and_the_member_named_at_the_time() {
    let draft = Draft {
        sequence: 7,
        event_type: "group.member_added",
        data: Map::from_iter([("resource".to_string(), json!({"id": "g1"}))]),
        member: Some(Member {
            kind: MemberKind::User,
            id: "u1".into(),
        }),
    };
    let at = "2026-01-31T12:00:00.000000Z";
    let document = document(&draft, "g1", 42, &metadata("c1", at), Some("alice"));
    assert_eq!(
        document,
        json!({
            "id": "evt_g1_7", "type": "group.member_added", "version": 1, "cursor": "42",
            "instanceId": "i1", "occurredAt": at,
            "actor": {"name": "okta", "keyId": "k1", "source": "scim"},
            "correlationId": "c1",
            "data": {"resource": {"id": "g1"},
                     "member": {"type": "user", "id": "u1", "userName": "alice"}},
        })
    );
    assert_eq!(event_id("g1", 7), "evt_g1_7");
}
