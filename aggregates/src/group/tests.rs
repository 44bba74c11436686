//! Given events, when a command, then events (or a typed error).

use super::*;
use async_trait::async_trait;
use cqrs_es::test::TestFramework;
use std::sync::Arc;

const GROUP_ID: &str = "group-1";

/// The membership view the read model would hold after `events`: the aggregate's own
/// member events folded, at the version they bring the group to.
struct FoldedMembership {
    members: BTreeMap<MemberId, Member>,
    version: u64,
}

#[async_trait]
impl MembershipReader for FoldedMembership {
    async fn members(
        &self,
        _group_id: &str,
        version: u64,
        among: Option<&[MemberId]>,
    ) -> Result<Vec<Member>, MembershipReadError> {
        if version < self.version {
            return Err(MembershipReadError::Ahead { version });
        }
        Ok(self
            .members
            .values()
            .filter(|member| among.is_none_or(|ids| ids.contains(&member.id)))
            .cloned()
            .collect())
    }
}

fn given(events: Vec<GroupEvent>) -> cqrs_es::test::AggregateTestExecutor<Group> {
    let mut members = BTreeMap::new();
    for event in &events {
        match event {
            GroupEvent::GroupMemberAdded { member } => {
                members.insert(member.id.clone(), member.clone());
            }
            GroupEvent::GroupMemberRemoved { member } => {
                members.remove(&member.id);
            }
            _ => {}
        }
    }
    let membership = Arc::new(FoldedMembership {
        members,
        version: events.len() as u64,
    });
    TestFramework::<Group>::with(GroupServices { membership }).given(events)
}

fn instance() -> InstanceId {
    InstanceId::new("instance-a")
}

fn name(text: &str) -> DisplayName {
    DisplayName::parse(text).expect("valid test displayName")
}

fn created(display_name: &str) -> GroupEvent {
    GroupEvent::GroupCreated {
        instance_id: instance(),
        display_name: name(display_name),
        external_id: None,
    }
}

fn added(id: &str) -> GroupEvent {
    GroupEvent::GroupMemberAdded {
        member: Member::user(id),
    }
}

fn removed(id: &str) -> GroupEvent {
    GroupEvent::GroupMemberRemoved {
        member: Member::user(id),
    }
}

fn update(version: u64, display_name: &str, membership: Vec<MembershipChange>) -> GroupCommand {
    GroupCommand::Update {
        instance_id: instance(),
        group_id: GROUP_ID.into(),
        expected_version: Some(version),
        display_name: Some(name(display_name)),
        external_id: None,
        membership,
    }
}

fn change_members(membership: Vec<MembershipChange>) -> GroupCommand {
    GroupCommand::Update {
        instance_id: instance(),
        group_id: GROUP_ID.into(),
        expected_version: None,
        display_name: None,
        external_id: None,
        membership,
    }
}

fn ids(ids: &[&str]) -> Vec<MemberId> {
    ids.iter().map(|id| MemberId::new(*id)).collect()
}

#[test]
fn creating_a_group_records_each_member_once_in_the_order_named() {
    given(vec![])
        .when(GroupCommand::Create {
            instance_id: instance(),
            display_name: name("Engineering"),
            external_id: None,
            members: vec![
                Member::user("u2"),
                Member::user("u1"),
                Member::user("u2"),
                Member::user("u0"),
            ],
        })
        .then_expect_events(vec![
            created("Engineering"),
            added("u2"),
            added("u1"),
            added("u0"),
        ]);
}

#[test]
fn creating_an_existing_group_is_refused() {
    given(vec![created("Engineering")])
        .when(GroupCommand::Create {
            instance_id: instance(),
            display_name: name("Engineering"),
            external_id: None,
            members: vec![],
        })
        .then_expect_error(GroupError::AlreadyExists);
}

#[test]
fn renaming_records_old_and_new_names() {
    given(vec![created("Engineering")])
        .when(update(1, "R&D", vec![]))
        .then_expect_events(vec![GroupEvent::GroupRenamed {
            old_display_name: name("Engineering"),
            new_display_name: name("R&D"),
        }]);
}

#[test]
fn changing_the_external_id_records_old_and_new() {
    let external_id = ExternalId::parse("ext-9").expect("valid test externalId");
    given(vec![created("Engineering")])
        .when(GroupCommand::Update {
            instance_id: instance(),
            group_id: GROUP_ID.into(),
            expected_version: Some(1),
            display_name: None,
            external_id: Some(Some(external_id.clone())),
            membership: vec![],
        })
        .then_expect_events(vec![GroupEvent::GroupExternalIdChanged {
            old_external_id: None,
            new_external_id: Some(external_id),
        }]);
}

#[test]
fn adding_members_records_only_those_not_yet_members() {
    given(vec![created("Engineering"), added("u1")])
        .when(update(
            2,
            "Engineering",
            vec![MembershipChange::Add(vec![
                Member::user("u1"),
                Member::user("u2"),
            ])],
        ))
        .then_expect_events(vec![added("u2")]);
}

#[test]
fn added_members_are_recorded_in_the_order_the_request_names_them() {
    given(vec![created("Engineering"), added("u5")])
        .when(change_members(vec![MembershipChange::Add(vec![
            Member::user("u3"),
            Member::user("u9"),
            Member::user("u5"),
            Member::user("u1"),
            Member::user("u9"),
        ])]))
        .then_expect_events(vec![added("u3"), added("u9"), added("u1")]);
}

#[test]
fn removed_members_are_recorded_in_the_order_the_request_names_them() {
    given(vec![
        created("Engineering"),
        added("u1"),
        added("u2"),
        added("u3"),
    ])
    .when(change_members(vec![MembershipChange::Remove(ids(&[
        "u3", "u1", "u3", "u2",
    ]))]))
    .then_expect_events(vec![removed("u3"), removed("u1"), removed("u2")]);
}

#[test]
fn member_events_of_several_operations_follow_the_operations() {
    given(vec![created("Engineering"), added("u1"), added("u2")])
        .when(change_members(vec![
            MembershipChange::Add(vec![Member::user("u8")]),
            MembershipChange::Remove(ids(&["u2"])),
            MembershipChange::Add(vec![Member::user("u4")]),
            MembershipChange::Remove(ids(&["u1"])),
        ]))
        .then_expect_events(vec![added("u8"), removed("u2"), added("u4"), removed("u1")]);
}

#[test]
fn a_replacement_removes_the_others_then_adds_in_the_order_named() {
    given(vec![
        created("Engineering"),
        added("u3"),
        added("u1"),
        added("u2"),
    ])
    .when(change_members(vec![MembershipChange::ReplaceAll(vec![
        Member::user("u9"),
        Member::user("u2"),
        Member::user("u7"),
        Member::user("u9"),
    ])]))
    .then_expect_events(vec![removed("u1"), removed("u3"), added("u9"), added("u7")]);
}

#[test]
fn removing_members_records_only_current_members() {
    given(vec![created("Engineering"), added("u1"), added("u2")])
        .when(update(
            3,
            "Engineering",
            vec![MembershipChange::Remove(ids(&["u2", "u9"]))],
        ))
        .then_expect_events(vec![removed("u2")]);
}

#[test]
fn membership_changes_apply_in_order() {
    given(vec![created("Engineering"), added("u1")])
        .when(update(
            2,
            "Engineering",
            vec![
                MembershipChange::Add(vec![Member::user("u2")]),
                MembershipChange::Remove(ids(&["u2", "u1"])),
                MembershipChange::Add(vec![Member::user("u3")]),
            ],
        ))
        .then_expect_events(vec![removed("u1"), added("u3")]);
}

#[test]
fn replacing_all_members_records_the_difference() {
    given(vec![created("Engineering"), added("u1"), added("u2")])
        .when(update(
            3,
            "Engineering",
            vec![MembershipChange::ReplaceAll(vec![
                Member::user("u2"),
                Member::user("u3"),
            ])],
        ))
        .then_expect_events(vec![removed("u1"), added("u3")]);
}

#[test]
fn removing_all_members_records_each_removal() {
    given(vec![created("Engineering"), added("u1"), added("u2")])
        .when(update(3, "Engineering", vec![MembershipChange::RemoveAll]))
        .then_expect_events(vec![removed("u1"), removed("u2")]);
}

#[test]
fn a_rename_and_member_changes_in_one_request_are_all_recorded() {
    given(vec![created("Engineering")])
        .when(update(
            1,
            "R&D",
            vec![MembershipChange::Add(vec![Member::user("u1")])],
        ))
        .then_expect_events(vec![
            GroupEvent::GroupRenamed {
                old_display_name: name("Engineering"),
                new_display_name: name("R&D"),
            },
            added("u1"),
        ]);
}

#[test]
fn member_changes_need_no_expected_version() {
    given(vec![created("Engineering"), added("u1"), added("u2")])
        .when(change_members(vec![MembershipChange::Add(vec![
            Member::user("u3"),
        ])]))
        .then_expect_events(vec![added("u3")]);
}

#[test]
fn an_unchanged_name_is_not_renamed() {
    given(vec![created("Engineering")])
        .when(change_members(vec![]))
        .then_expect_events(vec![]);
}

#[test]
fn a_group_cannot_contain_itself() {
    given(vec![created("Engineering")])
        .when(update(
            1,
            "Engineering",
            vec![MembershipChange::Add(vec![Member::group(GROUP_ID)])],
        ))
        .then_expect_error(GroupError::SelfMembership);
}

#[test]
fn a_membership_view_ahead_of_the_group_is_reported_as_stale() {
    // The group was loaded at version 1, but the view has seen version 2 (a concurrent add).
    let membership = Arc::new(FoldedMembership {
        members: BTreeMap::new(),
        version: 2,
    });
    TestFramework::<Group>::with(GroupServices { membership })
        .given(vec![created("Engineering")])
        .when(update(
            1,
            "Engineering",
            vec![MembershipChange::Add(vec![Member::user("u1")])],
        ))
        .then_expect_error(GroupError::StaleMembership);
}

#[test]
fn an_update_based_on_an_old_version_is_refused() {
    given(vec![created("Engineering"), added("u1")])
        .when(update(1, "R&D", vec![]))
        .then_expect_error(GroupError::VersionMismatch {
            expected: 1,
            actual: 2,
        });
}

#[test]
fn forgetting_a_deleted_member_removes_it() {
    given(vec![created("Engineering"), added("u1")])
        .when(GroupCommand::ForgetMember {
            instance_id: instance(),
            group_id: GROUP_ID.into(),
            member: MemberId::new("u1"),
        })
        .then_expect_events(vec![removed("u1")]);
}

#[test]
fn forgetting_a_non_member_records_nothing() {
    given(vec![created("Engineering")])
        .when(GroupCommand::ForgetMember {
            instance_id: instance(),
            group_id: GROUP_ID.into(),
            member: MemberId::new("u1"),
        })
        .then_expect_events(vec![]);
}

#[test]
fn deleting_a_group_records_the_deletion() {
    given(vec![created("Engineering")])
        .when(GroupCommand::Delete {
            instance_id: instance(),
            expected_version: None,
        })
        .then_expect_events(vec![GroupEvent::GroupDeleted]);
}

#[test]
fn a_deleted_group_is_not_found() {
    given(vec![created("Engineering"), GroupEvent::GroupDeleted])
        .when(update(2, "R&D", vec![]))
        .then_expect_error(GroupError::NotFound);
}

#[test]
fn a_group_of_another_instance_is_not_found() {
    given(vec![created("Engineering")])
        .when(GroupCommand::Delete {
            instance_id: InstanceId::new("instance-b"),
            expected_version: None,
        })
        .then_expect_error(GroupError::NotFound);
}

fn imported(display_name: &str) -> GroupEvent {
    GroupEvent::GroupImported {
        instance_id: instance(),
        display_name: name(display_name),
    }
}

#[test]
fn an_existing_group_is_imported_with_its_members() {
    given(vec![])
        .when(GroupCommand::Import {
            instance_id: instance(),
            display_name: name("Finance"),
            members: vec![Member::user("u2"), Member::user("u1"), Member::user("u2")],
        })
        .then_expect_events(vec![imported("Finance"), added("u2"), added("u1")]);
    given(vec![created("Finance")])
        .when(GroupCommand::Import {
            instance_id: instance(),
            display_name: name("Finance"),
            members: vec![],
        })
        .then_expect_error(GroupError::AlreadyExists);
}

#[test]
fn only_an_imported_group_can_be_adopted_and_only_once() {
    let adopt = GroupCommand::Adopt {
        instance_id: instance(),
    };
    given(vec![imported("Finance")])
        .when(adopt.clone())
        .then_expect_events(vec![GroupEvent::GroupAdopted]);
    given(vec![imported("Finance"), GroupEvent::GroupAdopted])
        .when(adopt.clone())
        .then_expect_error(GroupError::AlreadyManaged);
    given(vec![created("Finance")])
        .when(adopt)
        .then_expect_error(GroupError::AlreadyManaged);
}

#[test]
fn snapshots_from_before_imports_read_as_provisioned_groups() {
    let old_snapshot = serde_json::json!({
        "status": "Live",
        "instance_id": "instance-a",
        "display_name": "Finance",
        "external_id": null,
        "version": 3
    });
    let group: Result<Group, _> = serde_json::from_value(old_snapshot);
    assert!(group.is_ok_and(|group| group.managed));
}
