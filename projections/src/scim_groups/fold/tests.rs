use super::*;
use crate::test_log::{at, TestLog, INSTANCE};
use aggregates::group::{DisplayName, Member, MemberId, MemberKind};
use aggregates::values::{ExternalId, InstanceId};
use proptest::prelude::*;

fn name(text: &str) -> DisplayName {
    DisplayName::parse(text).unwrap_or_else(|error| panic!("{error}"))
}

fn external_id(text: &str) -> ExternalId {
    ExternalId::parse(text).unwrap_or_else(|error| panic!("{error}"))
}

fn group(event: GroupEvent) -> DomainEvent {
    DomainEvent::Group(event)
}

fn created(display_name: &str) -> DomainEvent {
    group(GroupEvent::GroupCreated {
        instance_id: InstanceId::new(INSTANCE),
        display_name: name(display_name),
        external_id: None,
    })
}

fn member(id: &str, kind: MemberKind) -> Member {
    Member {
        id: MemberId::new(id),
        kind,
    }
}

fn added(id: &str) -> DomainEvent {
    group(GroupEvent::GroupMemberAdded {
        member: member(id, MemberKind::User),
    })
}

fn removed(id: &str) -> DomainEvent {
    group(GroupEvent::GroupMemberRemoved {
        member: member(id, MemberKind::User),
    })
}

fn stored(id: &str, display_name: &str) -> GroupState {
    GroupState::from(StoredGroup {
        id: id.into(),
        instance_id: INSTANCE.into(),
        display_name: display_name.into(),
        external_id: None,
        version: 7,
        created_position: 1,
        created_at: "2026-01-01T00:00:00.000000Z".into(),
        last_modified: "2026-01-01T00:00:00.000000Z".into(),
        managed: true,
    })
}

/// Folds `batch` over `given` (each group's row before it; those it needs and is not given
/// are absent), as the projection does.
fn fold(given: &[GroupState], batch: &[RecordedEvent]) -> FoldedGroups {
    let mut fold = GroupsFold::default();
    for id in rows_needed(batch) {
        let row = given.iter().find(|state| state.row.id == id).cloned();
        fold.given(&id, row);
    }
    for recorded in batch {
        fold.apply(recorded);
    }
    fold.finish()
}

fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(group, member)| (group.to_string(), member.to_string()))
        .collect()
}

#[test]
fn members_added_to_a_group_are_one_set_and_its_row_is_written_once() {
    let mut log = TestLog::default();
    for n in 0..400 {
        log.push("g1", added(&format!("u{n:03}")));
    }
    assert_eq!(
        rows_needed(log.events()),
        BTreeSet::from(["g1".to_string()])
    );

    let folded = fold(&[stored("g1", "Eng")], log.events());

    assert_eq!(folded.members_added.len(), 400);
    assert_eq!(
        folded.members_added[0],
        ("g1".into(), "u000".into(), "User".into())
    );
    assert!(folded.members_deleted.is_empty() && folded.cleared.is_empty());
    let mut touched = stored("g1", "Eng");
    touched.row.version = 400;
    touched.row.last_modified = at(400);
    assert_eq!(folded.upserted, vec![touched.clone()]);
    assert_eq!(folded.known, vec![touched]);
    assert!(folded.deleted.is_empty() && folded.totals.is_empty());
}

#[test]
fn a_member_added_then_removed_in_a_batch_is_not_inserted_and_one_removed_then_added_is_replaced() {
    let mut log = TestLog::default();
    log.push("g1", added("u1"))
        .push("g1", removed("u1"))
        .push("g1", removed("u2"))
        .push("g1", added("u2"))
        .push("g1", added("u3"))
        .push("g1", added("u3"));

    let folded = fold(&[stored("g1", "Eng")], log.events());

    assert_eq!(folded.members_deleted, pairs(&[("g1", "u1"), ("g1", "u2")]));
    assert_eq!(
        folded.members_added,
        vec![
            ("g1".into(), "u2".into(), "User".into()),
            ("g1".into(), "u3".into(), "User".into())
        ]
    );
}

#[test]
fn a_deleted_group_loses_its_row_and_every_membership_and_counts_one_less() {
    let mut log = TestLog::default();
    log.push("g1", added("u1"))
        .push("g2", created("Ops"))
        .push("g2", added("u1"))
        .push("g1", removed("u9"))
        .push("g1", group(GroupEvent::GroupDeleted))
        .push("g2", group(GroupEvent::GroupDeleted))
        .push("g3", added("u1"));

    let folded = fold(&[stored("g1", "Eng"), stored("g3", "Sales")], log.events());

    assert_eq!(folded.deleted, vec!["g1".to_string(), "g2".to_string()]);
    assert_eq!(folded.cleared, vec!["g1".to_string(), "g2".to_string()]);
    assert!(folded.members_deleted.is_empty());
    assert_eq!(
        folded.members_added,
        vec![("g3".into(), "u1".into(), "User".into())]
    );
    // One group created and two deleted: the instance's row is written even where they cancel.
    assert_eq!(folded.totals, vec![(INSTANCE.to_string(), -1)]);
    assert_eq!(folded.upserted.len(), 1);
    assert_eq!(folded.upserted[0].row.id, "g3");
}

#[test]
fn a_group_created_and_changed_in_a_batch_is_one_row_and_needs_no_read() {
    let mut log = TestLog::default();
    log.push(
        "g1",
        group(GroupEvent::GroupImported {
            instance_id: InstanceId::new(INSTANCE),
            display_name: name("eng"),
        }),
    )
    .push("g1", group(GroupEvent::GroupAdopted))
    .push(
        "g1",
        group(GroupEvent::GroupRenamed {
            old_display_name: name("eng"),
            new_display_name: name("Engineering"),
        }),
    )
    .push(
        "g1",
        group(GroupEvent::GroupExternalIdChanged {
            old_external_id: None,
            new_external_id: Some(external_id("x1")),
        }),
    );
    assert!(rows_needed(log.events()).is_empty());

    let folded = fold(&[], log.events());

    let expected = GroupState {
        row: GroupRecord {
            id: "g1".into(),
            instance_id: INSTANCE.into(),
            display_name: "Engineering".into(),
            external_id: Some("x1".into()),
            version: 4,
            created_position: 1,
            created_at: at(1),
            last_modified: at(4),
        },
        managed: true,
        members: BTreeMap::new(),
    };
    assert_eq!(folded.upserted, vec![expected]);
    assert_eq!(folded.totals, vec![(INSTANCE.to_string(), 1)]);
}

#[test]
fn a_change_to_a_group_without_a_row_writes_no_row_but_its_memberships() {
    let mut log = TestLog::default();
    log.push("gone", group(GroupEvent::GroupAdopted))
        .push("gone", added("u1"));
    let folded = fold(&[], log.events());
    assert!(folded.upserted.is_empty() && folded.deleted.is_empty());
    assert_eq!(
        folded.members_added,
        vec![("gone".into(), "u1".into(), "User".into())]
    );
}

/// The SCIM group tables, in memory.
#[derive(Debug, Clone, Default, PartialEq)]
struct Tables {
    groups: BTreeMap<String, GroupState>,
    members: BTreeMap<(String, String), String>,
    totals: BTreeMap<String, i64>,
}

impl Tables {
    /// What the single-row statements each event used to run (one event at a time) do.
    fn apply_one_by_one(&mut self, recorded: &RecordedEvent) {
        let DomainEvent::Group(event) = &recorded.event else {
            return;
        };
        let id = recorded.aggregate_id.clone();
        let instance_id = recorded.metadata.instance_id.clone();
        let touched = |tables: &mut Self, edit: &dyn Fn(&mut GroupState)| {
            if let Some(state) = tables.groups.get_mut(&id) {
                edit(state);
                state.row.version = recorded.sequence;
                state.row.last_modified = recorded.metadata.occurred_at.clone();
            }
        };
        match event {
            GroupEvent::GroupCreated {
                display_name,
                external_id,
                ..
            } => self.insert(recorded, display_name, external_id.as_ref(), true),
            GroupEvent::GroupImported { display_name, .. } => {
                self.insert(recorded, display_name, None, false)
            }
            GroupEvent::GroupAdopted => touched(self, &|state| state.managed = true),
            GroupEvent::GroupRenamed {
                new_display_name, ..
            } => touched(self, &|state| {
                state.row.display_name = new_display_name.to_string()
            }),
            GroupEvent::GroupExternalIdChanged {
                new_external_id, ..
            } => touched(self, &|state| {
                state.row.external_id = new_external_id.as_ref().map(|id| id.as_str().into())
            }),
            GroupEvent::GroupMemberAdded { member } => {
                self.members
                    .entry((id.clone(), member.id.as_str().into()))
                    .or_insert_with(|| member.kind.as_str().into());
                touched(self, &|_| {});
            }
            GroupEvent::GroupMemberRemoved { member } => {
                self.members
                    .remove(&(id.clone(), member.id.as_str().into()));
                touched(self, &|_| {});
            }
            GroupEvent::GroupDeleted => {
                *self.totals.entry(instance_id).or_default() -= 1;
                self.members.retain(|(group, _), _| *group != id);
                self.groups.remove(&id);
            }
        }
    }

    fn insert(
        &mut self,
        recorded: &RecordedEvent,
        display_name: &DisplayName,
        external_id: Option<&ExternalId>,
        managed: bool,
    ) {
        let at = recorded.metadata.occurred_at.clone();
        *self
            .totals
            .entry(recorded.metadata.instance_id.clone())
            .or_default() += 1;
        let state = GroupState {
            row: GroupRecord {
                id: recorded.aggregate_id.clone(),
                instance_id: recorded.metadata.instance_id.clone(),
                display_name: display_name.to_string(),
                external_id: external_id.map(|id| id.as_str().into()),
                version: recorded.sequence,
                created_position: recorded.position.position,
                created_at: at.clone(),
                last_modified: at,
            },
            managed,
            members: BTreeMap::new(),
        };
        self.groups.insert(recorded.aggregate_id.clone(), state);
    }

    /// What the set-based statements of a folded batch do, in the order the projection sends
    /// them.
    fn write(&mut self, folded: FoldedGroups) {
        for id in folded.deleted {
            self.groups.remove(&id);
        }
        for state in folded.upserted {
            self.groups.insert(state.row.id.clone(), state);
        }
        for group in folded.cleared {
            self.members.retain(|(member_of, _), _| *member_of != group);
        }
        for key in folded.members_deleted {
            self.members.remove(&key);
        }
        for (group, member, kind) in folded.members_added {
            self.members.entry((group, member)).or_insert(kind);
        }
        for (instance_id, by) in folded.totals {
            *self.totals.entry(instance_id).or_default() += by;
        }
    }
}

/// One event on one of three groups (members of either kind, so that a member re-added as
/// another kind shows which addition counts).
fn any_event() -> impl Strategy<Value = (usize, GroupEvent)> {
    let member = (0..4usize, any::<bool>()).prop_map(|(n, user)| {
        let kind = if user {
            MemberKind::User
        } else {
            MemberKind::Group
        };
        member(&format!("m{n}"), kind)
    });
    let event = prop_oneof![
        1 => (0..3usize).prop_map(|n| GroupEvent::GroupCreated {
            instance_id: InstanceId::new(INSTANCE),
            display_name: name(&format!("G{n}")),
            external_id: None,
        }),
        1 => Just(GroupEvent::GroupImported {
            instance_id: InstanceId::new(INSTANCE),
            display_name: name("Imported"),
        }),
        1 => Just(GroupEvent::GroupAdopted),
        1 => (0..3usize).prop_map(|n| GroupEvent::GroupRenamed {
            old_display_name: name("old"),
            new_display_name: name(&format!("R{n}")),
        }),
        1 => proptest::option::of(0..2usize).prop_map(|n| GroupEvent::GroupExternalIdChanged {
            old_external_id: None,
            new_external_id: n.map(|n| external_id(&format!("x{n}"))),
        }),
        4 => member.clone().prop_map(|member| GroupEvent::GroupMemberAdded { member }),
        3 => member.prop_map(|member| GroupEvent::GroupMemberRemoved { member }),
        1 => Just(GroupEvent::GroupDeleted),
    ];
    (0..3usize, event)
}

proptest! {
    /// Whatever the events and wherever a batch begins, the tables written from the fold of
    /// the batch are the tables its events used to make one statement at a time.
    #[test]
    fn a_folded_batch_writes_what_its_events_one_by_one_did(
        events in proptest::collection::vec(any_event(), 0..60),
        cut in 0..60usize,
    ) {
        let mut log = TestLog::default();
        for (n, event) in events {
            log.push(&format!("g{n}"), group(event));
        }
        let cut = cut.min(log.events().len());
        let (history, batch) = log.events().split_at(cut);
        let mut before = Tables::default();
        for recorded in history {
            before.apply_one_by_one(recorded);
        }
        let mut one_by_one = before.clone();
        for recorded in batch {
            one_by_one.apply_one_by_one(recorded);
        }
        let given: Vec<GroupState> = before.groups.values().cloned().collect();
        let mut folded = before;
        folded.write(fold(&given, batch));
        prop_assert_eq!(folded, one_by_one);
    }
}
