//! What one group event does to the group's row and its membership rows, decided in one pure
//! place: the live projection turns the decision into SQL, the time-travel fold applies it in
//! memory, so that a group read as of a past time and the group served live can never be
//! derived differently.

use super::{GroupRecord, MemberRecord};
use crate::event_log::RecordedEvent;
use aggregates::group::{DisplayName, GroupEvent, Member};
use aggregates::values::ExternalId;
use std::collections::BTreeMap;

/// The change one event makes. Every variant but `Insert` and `Delete` makes the event's
/// sequence the group's version and its time the group's `last_modified`.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupRowChange<'e> {
    /// The group begins; `managed` is false for an imported group no IdP has adopted yet.
    Insert {
        row: GroupRecord,
        managed: bool,
    },
    Adopt,
    Rename(&'e DisplayName),
    ChangeExternalId(Option<&'e ExternalId>),
    /// Adding a member twice keeps the first membership.
    AddMember(&'e Member),
    RemoveMember(&'e Member),
    /// The group and all its membership rows go.
    Delete,
}

/// The change `event`, recorded as `recorded`, makes.
pub fn group_row_change<'e>(recorded: &RecordedEvent, event: &'e GroupEvent) -> GroupRowChange<'e> {
    let insert =
        |instance_id: &str, display_name: &DisplayName, external_id: Option<&ExternalId>| {
            let at = recorded.metadata.occurred_at.clone();
            GroupRecord {
                id: recorded.aggregate_id.clone(),
                instance_id: instance_id.to_string(),
                display_name: display_name.as_str().to_string(),
                external_id: external_id.map(|id| id.as_str().to_string()),
                version: recorded.sequence,
                created_position: recorded.position.position,
                created_at: at.clone(),
                last_modified: at,
            }
        };
    match event {
        GroupEvent::GroupCreated {
            instance_id,
            display_name,
            external_id,
        } => GroupRowChange::Insert {
            row: insert(instance_id.as_str(), display_name, external_id.as_ref()),
            managed: true,
        },
        GroupEvent::GroupImported {
            instance_id,
            display_name,
        } => GroupRowChange::Insert {
            row: insert(instance_id.as_str(), display_name, None),
            managed: false,
        },
        GroupEvent::GroupAdopted => GroupRowChange::Adopt,
        GroupEvent::GroupRenamed {
            new_display_name, ..
        } => GroupRowChange::Rename(new_display_name),
        GroupEvent::GroupExternalIdChanged {
            new_external_id, ..
        } => GroupRowChange::ChangeExternalId(new_external_id.as_ref()),
        GroupEvent::GroupMemberAdded { member } => GroupRowChange::AddMember(member),
        GroupEvent::GroupMemberRemoved { member } => GroupRowChange::RemoveMember(member),
        GroupEvent::GroupDeleted => GroupRowChange::Delete,
    }
}

/// A group in memory: its row and its membership rows by member id (the order the read model
/// lists members in).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupState {
    pub row: GroupRecord,
    pub managed: bool,
    pub members: BTreeMap<String, MemberRecord>,
}

impl GroupRowChange<'_> {
    /// The group after this change, in memory, from the group before it (`None`: no group).
    /// Like the live UPDATEs, a change to a missing group changes nothing.
    pub fn apply_to(
        self,
        state: Option<GroupState>,
        recorded: &RecordedEvent,
    ) -> Option<GroupState> {
        let edited = |edit: &dyn Fn(&mut GroupState)| {
            let mut state = state?;
            edit(&mut state);
            state.row.version = recorded.sequence;
            state.row.last_modified = recorded.metadata.occurred_at.clone();
            Some(state)
        };
        match self {
            Self::Insert { row, managed } => Some(GroupState {
                row,
                managed,
                members: BTreeMap::new(),
            }),
            Self::Delete => None,
            Self::Adopt => edited(&|state| state.managed = true),
            Self::Rename(name) => edited(&|state| state.row.display_name = name.to_string()),
            Self::ChangeExternalId(id) => edited(&|state| {
                state.row.external_id = id.map(|id| id.as_str().to_string());
            }),
            Self::AddMember(member) => edited(&|state| {
                let id = member.id.as_str().to_string();
                state.members.entry(id.clone()).or_insert(MemberRecord {
                    member_id: id,
                    member_kind: member.kind.as_str().to_string(),
                });
            }),
            Self::RemoveMember(member) => edited(&|state| {
                state.members.remove(member.id.as_str());
            }),
        }
    }
}
