//! The Group aggregate: a named set of users (and groups) of one instance.
//!
//! The aggregate holds the group's name and externalId but not its members (see
//! `membership`): it decides member changes by asking a `MembershipReader` about exactly the
//! members a command touches.

mod commands;
mod error;
mod events;
mod membership;
mod values;

pub use commands::{GroupCommand, MembershipChange};
pub use error::GroupError;
pub use events::GroupEvent;
pub use membership::{GroupServices, MembershipReadError, MembershipReader};
pub use values::{DisplayName, Member, MemberId, MemberKind};

use crate::values::{ExternalId, InstanceId};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
enum Status {
    #[default]
    NotCreated,
    Live,
    Deleted,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Group {
    status: Status,
    instance_id: InstanceId,
    display_name: Option<DisplayName>,
    external_id: Option<ExternalId>,
    /// Whether an IdP provisions the group (false for an imported group not yet adopted).
    /// Snapshots taken before imports existed lack it: those groups were all provisioned.
    #[serde(default = "provisioned")]
    managed: bool,
    /// Number of events applied; equals the event store's sequence and the SCIM `meta.version`.
    version: u64,
}

fn provisioned() -> bool {
    true
}

impl Aggregate for Group {
    const TYPE: &'static str = "Group";
    type Command = GroupCommand;
    type Event = GroupEvent;
    type Error = GroupError;
    type Services = GroupServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            GroupCommand::Create {
                instance_id,
                display_name,
                external_id,
                members,
            } => {
                self.create(instance_id, display_name, external_id, members, sink)
                    .await
            }
            GroupCommand::Import {
                instance_id,
                display_name,
                members,
            } => {
                if self.status != Status::NotCreated {
                    return Err(GroupError::AlreadyExists);
                }
                let imported = GroupEvent::GroupImported {
                    instance_id,
                    display_name,
                };
                sink.write(imported, self).await;
                self.add_initial_members(members, sink).await;
                Ok(())
            }
            GroupCommand::Adopt { instance_id } => {
                self.ensure_live(&instance_id, None)?;
                if self.managed {
                    return Err(GroupError::AlreadyManaged);
                }
                sink.write(GroupEvent::GroupAdopted, self).await;
                Ok(())
            }
            GroupCommand::Update {
                instance_id,
                group_id,
                expected_version,
                display_name,
                external_id,
                membership,
            } => {
                self.ensure_live(&instance_id, expected_version)?;
                let member_events = self
                    .membership_events(&group_id, &membership, services)
                    .await?;
                if let Some(display_name) = display_name {
                    self.rename(display_name, sink).await;
                }
                if let Some(external_id) = external_id {
                    self.change_external_id(external_id, sink).await;
                }
                for event in member_events {
                    sink.write(event, self).await;
                }
                Ok(())
            }
            GroupCommand::ForgetMember {
                instance_id,
                group_id,
                member,
            } => {
                self.ensure_live(&instance_id, None)?;
                let removal = [MembershipChange::Remove(vec![member])];
                for event in self
                    .membership_events(&group_id, &removal, services)
                    .await?
                {
                    sink.write(event, self).await;
                }
                Ok(())
            }
            GroupCommand::Delete {
                instance_id,
                expected_version,
            } => {
                self.ensure_live(&instance_id, expected_version)?;
                sink.write(GroupEvent::GroupDeleted, self).await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        self.version += 1;
        match event {
            GroupEvent::GroupCreated {
                instance_id,
                display_name,
                external_id,
            } => {
                self.status = Status::Live;
                self.instance_id = instance_id;
                self.display_name = Some(display_name);
                self.external_id = external_id;
                self.managed = true;
            }
            GroupEvent::GroupImported {
                instance_id,
                display_name,
            } => {
                self.status = Status::Live;
                self.instance_id = instance_id;
                self.display_name = Some(display_name);
                self.managed = false;
            }
            GroupEvent::GroupAdopted => self.managed = true,
            GroupEvent::GroupRenamed {
                new_display_name, ..
            } => self.display_name = Some(new_display_name),
            GroupEvent::GroupExternalIdChanged {
                new_external_id, ..
            } => self.external_id = new_external_id,
            GroupEvent::GroupMemberAdded { .. } | GroupEvent::GroupMemberRemoved { .. } => {}
            GroupEvent::GroupDeleted => self.status = Status::Deleted,
        }
    }
}

impl Group {
    async fn create(
        &mut self,
        instance_id: InstanceId,
        display_name: DisplayName,
        external_id: Option<ExternalId>,
        members: Vec<Member>,
        sink: &EventSink<Self>,
    ) -> Result<(), GroupError> {
        if self.status != Status::NotCreated {
            return Err(GroupError::AlreadyExists);
        }
        let created = GroupEvent::GroupCreated {
            instance_id,
            display_name,
            external_id,
        };
        sink.write(created, self).await;
        self.add_initial_members(members, sink).await;
        Ok(())
    }

    /// The members a new group starts with, each once, in the order they were named (the
    /// history shows them as the request listed them; the first naming of an id wins).
    async fn add_initial_members(&mut self, members: Vec<Member>, sink: &EventSink<Self>) {
        let mut seen = BTreeSet::new();
        for member in members {
            if seen.insert(member.id.clone()) {
                sink.write(GroupEvent::GroupMemberAdded { member }, self)
                    .await;
            }
        }
    }

    async fn rename(&mut self, display_name: DisplayName, sink: &EventSink<Self>) {
        let Some(old_display_name) = self.display_name.clone() else {
            return;
        };
        if old_display_name != display_name {
            let renamed = GroupEvent::GroupRenamed {
                old_display_name,
                new_display_name: display_name,
            };
            sink.write(renamed, self).await;
        }
    }

    async fn change_external_id(
        &mut self,
        external_id: Option<ExternalId>,
        sink: &EventSink<Self>,
    ) {
        if self.external_id != external_id {
            let changed = GroupEvent::GroupExternalIdChanged {
                old_external_id: self.external_id.clone(),
                new_external_id: external_id,
            };
            sink.write(changed, self).await;
        }
    }

    /// Refuses commands for groups that do not exist for this instance, and edits based on a
    /// version that is no longer current.
    fn ensure_live(
        &self,
        instance_id: &InstanceId,
        expected: Option<u64>,
    ) -> Result<(), GroupError> {
        if self.status != Status::Live || &self.instance_id != instance_id {
            return Err(GroupError::NotFound);
        }
        match expected {
            Some(expected) if expected != self.version => Err(GroupError::VersionMismatch {
                expected,
                actual: self.version,
            }),
            _ => Ok(()),
        }
    }

    /// The member events that `changes`, applied in order, amount to, in the order the
    /// changes name the members (a removal and re-addition of one member stay in that order).
    /// Members a whole replacement or removal takes out without naming them come at that
    /// change, in id order. Must run before this command writes any event, because the
    /// membership is read as of the version the aggregate was loaded at.
    async fn membership_events(
        &self,
        group_id: &str,
        changes: &[MembershipChange],
        services: &GroupServices,
    ) -> Result<Vec<GroupEvent>, GroupError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let mut touched = Vec::new();
        let mut needs_all = false;
        for change in changes {
            match change {
                MembershipChange::Add(members) | MembershipChange::ReplaceAll(members) => {
                    if members.iter().any(|member| member.id.as_str() == group_id) {
                        return Err(GroupError::SelfMembership);
                    }
                    touched.extend(members.iter().map(|member| member.id.clone()));
                    needs_all |= matches!(change, MembershipChange::ReplaceAll(_));
                }
                MembershipChange::Remove(ids) => touched.extend(ids.iter().cloned()),
                MembershipChange::RemoveAll => needs_all = true,
            }
        }
        if touched.is_empty() && !needs_all {
            return Ok(Vec::new());
        }
        touched.sort();
        touched.dedup();
        let among = (!needs_all).then_some(touched.as_slice());
        let current = services
            .membership
            .members(group_id, self.version, among)
            .await
            .map_err(|error| match error {
                MembershipReadError::Ahead { .. } => GroupError::StaleMembership,
                MembershipReadError::Unavailable(reason) => {
                    GroupError::MembershipUnavailable(reason)
                }
            })?;
        let before: BTreeMap<MemberId, Member> = current
            .into_iter()
            .map(|member| (member.id.clone(), member))
            .collect();
        let mut after = before.clone();
        let mut named = NamingOrder::default();
        for change in changes {
            named.note(change, &after);
            apply_membership_change(&mut after, change);
        }
        let mut events = Vec::new();
        for id in named.ids {
            let (was, is) = (before.get(&id), after.get(&id));
            if was == is {
                continue;
            }
            if let Some(member) = was {
                events.push(GroupEvent::GroupMemberRemoved {
                    member: member.clone(),
                });
            }
            if let Some(member) = is {
                events.push(GroupEvent::GroupMemberAdded {
                    member: member.clone(),
                });
            }
        }
        Ok(events)
    }
}

/// The member ids a request's changes touch, each once, where it is first touched.
#[derive(Default)]
struct NamingOrder {
    ids: Vec<MemberId>,
    seen: BTreeSet<MemberId>,
}

impl NamingOrder {
    /// Notes what `change` touches, given the members before it.
    fn note(&mut self, change: &MembershipChange, members: &BTreeMap<MemberId, Member>) {
        match change {
            MembershipChange::Add(added) => self.extend(added.iter().map(|member| &member.id)),
            MembershipChange::Remove(ids) => self.extend(ids.iter()),
            MembershipChange::RemoveAll => self.extend(members.keys()),
            MembershipChange::ReplaceAll(replacement) => {
                self.extend(members.keys());
                self.extend(replacement.iter().map(|member| &member.id));
            }
        }
    }

    fn extend<'a>(&mut self, ids: impl Iterator<Item = &'a MemberId>) {
        for id in ids {
            if self.seen.insert(id.clone()) {
                self.ids.push(id.clone());
            }
        }
    }
}

fn apply_membership_change(members: &mut BTreeMap<MemberId, Member>, change: &MembershipChange) {
    match change {
        MembershipChange::Add(added) => {
            for member in added {
                members.insert(member.id.clone(), member.clone());
            }
        }
        MembershipChange::Remove(ids) => {
            for id in ids {
                members.remove(id);
            }
        }
        MembershipChange::RemoveAll => members.clear(),
        MembershipChange::ReplaceAll(replacement) => {
            members.clear();
            for member in replacement {
                members.insert(member.id.clone(), member.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
