//! A batch's group events folded into what the SCIM group tables must become: each group row
//! once, as the batch's last event on it left it; memberships as sets of rows to delete and to
//! insert, where a member added and removed again within the batch nets out; the groups
//! deleted, whose memberships go whole; and each instance's change of its number of groups.
//!
//! Pure: the group rows as they stood before the batch come in (read in one statement, or held
//! from the last batch); membership rows are never read. Each event's effect is decided by
//! `group_row_change`, as for time travel.

use super::{group_row_change, GroupRecord, GroupRowChange, GroupState};
use crate::event_log::{DomainEvent, RecordedEvent};
use aggregates::group::GroupEvent;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A row of `scim_groups`, every column but the derived `display_name_key`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct StoredGroup {
    pub id: String,
    pub instance_id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub version: i64,
    pub created_position: i64,
    pub created_at: String,
    pub last_modified: String,
    pub managed: bool,
}

impl From<StoredGroup> for GroupState {
    fn from(stored: StoredGroup) -> Self {
        Self {
            row: GroupRecord {
                id: stored.id,
                instance_id: stored.instance_id,
                display_name: stored.display_name,
                external_id: stored.external_id,
                version: stored.version,
                created_position: stored.created_position,
                created_at: stored.created_at,
                last_modified: stored.last_modified,
            },
            managed: stored.managed,
            members: BTreeMap::new(),
        }
    }
}

/// The groups whose rows `events` change without creating them first: the rows the fold must
/// be given before it applies them.
pub fn rows_needed(events: &[RecordedEvent]) -> BTreeSet<String> {
    let mut created = BTreeSet::new();
    let mut needed = BTreeSet::new();
    for recorded in events {
        let DomainEvent::Group(event) = &recorded.event else {
            continue;
        };
        let id = &recorded.aggregate_id;
        match event {
            GroupEvent::GroupCreated { .. } | GroupEvent::GroupImported { .. } => {
                created.insert(id.clone());
            }
            _ if !created.contains(id) => {
                needed.insert(id.clone());
            }
            _ => {}
        }
    }
    needed
}

/// What the batch does to one membership row, relative to the table before the batch (and
/// after the memberships of the groups deleted in the batch went).
#[derive(Debug, Clone, PartialEq)]
enum Membership {
    /// There, of this kind. `replaced`: removed earlier in the batch, so a row already there
    /// goes first (the kind of the last addition counts); otherwise a row already there stays,
    /// as adding a member twice keeps the first membership.
    Added {
        kind: String,
        replaced: bool,
    },
    Removed,
}

#[derive(Debug, Default)]
pub struct GroupsFold {
    /// Every group row the fold was given or made, as the events so far left it (members
    /// aside: `None` is no row).
    groups: HashMap<String, Option<GroupState>>,
    changed: BTreeSet<String>,
    /// Groups deleted in the batch: every membership row of theirs goes, before `members`.
    cleared: BTreeSet<String>,
    /// By group, then member.
    members: BTreeMap<String, BTreeMap<String, Membership>>,
    /// By instance: groups created minus groups deleted. An instance is here once any group of
    /// its was created or deleted, even if the two cancel out, as its totals row then exists.
    totals: BTreeMap<String, i64>,
}

/// What the batch leaves to write, each list in key order.
#[derive(Debug, Default, PartialEq)]
pub struct FoldedGroups {
    /// Rows inserted or replaced.
    pub upserted: Vec<GroupState>,
    /// Rows deleted.
    pub deleted: Vec<String>,
    /// Groups whose membership rows are all deleted, before the two lists below.
    pub cleared: Vec<String>,
    /// Membership rows `(group, member)` deleted.
    pub members_deleted: Vec<(String, String)>,
    /// Membership rows `(group, member, kind)` inserted unless there.
    pub members_added: Vec<(String, String, String)>,
    /// How each instance's number of groups moves.
    pub totals: Vec<(String, i64)>,
    /// Every group row as it stands after the batch.
    pub known: Vec<GroupState>,
}

impl GroupsFold {
    /// The group `id` has `row` before the batch (`None`: no row).
    pub fn given(&mut self, id: &str, row: Option<GroupState>) {
        self.groups.insert(id.to_string(), row);
    }

    /// Applies one event. Like the single-row statements it stands for, a change to a group
    /// without a row changes no row, but member changes still write their memberships.
    pub fn apply(&mut self, recorded: &RecordedEvent) {
        let DomainEvent::Group(event) = &recorded.event else {
            return;
        };
        let id = recorded.aggregate_id.as_str();
        let change = group_row_change(recorded, event);
        match &change {
            GroupRowChange::Insert { row, .. } => {
                *self.totals.entry(row.instance_id.clone()).or_default() += 1;
            }
            GroupRowChange::Delete => {
                let instance_id = recorded.metadata.instance_id.as_str();
                *self.totals.entry(instance_id.to_string()).or_default() -= 1;
                self.cleared.insert(id.to_string());
                self.members.remove(id);
            }
            GroupRowChange::AddMember(member) => {
                let kind = member.kind.as_str().to_string();
                let members = self.members.entry(id.to_string()).or_default();
                let membership = match members.remove(member.id.as_str()) {
                    Some(added @ Membership::Added { .. }) => added,
                    Some(Membership::Removed) => Membership::Added {
                        kind,
                        replaced: true,
                    },
                    None => Membership::Added {
                        kind,
                        replaced: false,
                    },
                };
                members.insert(member.id.as_str().to_string(), membership);
            }
            GroupRowChange::RemoveMember(member) => {
                self.members
                    .entry(id.to_string())
                    .or_default()
                    .insert(member.id.as_str().to_string(), Membership::Removed);
            }
            GroupRowChange::Adopt
            | GroupRowChange::Rename(_)
            | GroupRowChange::ChangeExternalId(_) => {}
        }
        let before = self.groups.remove(id).flatten();
        let existed = before.is_some();
        let mut after = change.apply_to(before, recorded);
        if let Some(state) = after.as_mut() {
            // Membership rows are written from `members`, never from a group's state.
            state.members.clear();
        }
        if existed || after.is_some() {
            self.changed.insert(id.to_string());
        }
        self.groups.insert(id.to_string(), after);
    }

    pub fn finish(self) -> FoldedGroups {
        let mut folded = FoldedGroups::default();
        for id in &self.changed {
            match self.groups.get(id) {
                Some(Some(state)) => folded.upserted.push(state.clone()),
                _ => folded.deleted.push(id.clone()),
            }
        }
        folded.cleared = self.cleared.into_iter().collect();
        for (group, members) in self.members {
            for (member, membership) in members {
                match membership {
                    Membership::Removed => folded.members_deleted.push((group.clone(), member)),
                    Membership::Added { kind, replaced } => {
                        if replaced {
                            folded.members_deleted.push((group.clone(), member.clone()));
                        }
                        folded.members_added.push((group.clone(), member, kind));
                    }
                }
            }
        }
        folded.totals = self.totals.into_iter().collect();
        folded.known = self.groups.into_values().flatten().collect();
        folded
    }
}

#[cfg(test)]
mod tests;
