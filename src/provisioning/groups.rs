//! Provisioning groups: create, edit, delete and read, with displayName reservations and
//! member changes that name only the members they touch.

use super::{
    check_if_match, command_version, Provisioning, ProvisioningError, RequestContext, EDIT_ATTEMPTS,
};
use crate::correlation;
use crate::scim::patch::members::MemberEdit;
use crate::scim::resource::GroupFields;
use crate::store::{CommandError, NameKind, UniqueName};
use aggregates::group::{
    DisplayName, Group, GroupCommand, GroupError, Member, MemberId, MemberKind, MembershipChange,
};
use aggregates::user::User;
use aggregates::values::ExternalId;
use cqrs_es::Aggregate;
use projections::event_log::ended_by;
use projections::scim_groups::{
    find_group, member_kinds, members_of_groups, unmanaged_group_named, GroupRecord, MemberRecord,
};
use projections::time_travel::{group_as_of, AsOf, Cut};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A group a create wrote. `members` are given when the read model lagged behind the create
/// and the group was read from its events: render those, not the read model's (none yet).
#[derive(Debug, Clone)]
pub struct WrittenGroup {
    pub record: GroupRecord,
    pub members: Option<Vec<MemberRecord>>,
}

/// What an edit makes of a group: its new name and externalId, and its member changes.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupChange {
    pub display_name: DisplayName,
    pub external_id: Option<ExternalId>,
    pub members: Vec<MemberEdit>,
}

impl Provisioning {
    pub async fn group(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<GroupRecord, ProvisioningError> {
        find_group(&self.store.db, &ctx.principal.instance_id, id)
            .await?
            .ok_or(ProvisioningError::NotFound)
    }

    pub async fn members_of_groups(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<MemberRecord>>, ProvisioningError> {
        Ok(members_of_groups(&self.store.db, ids).await?)
    }

    async fn group_after_write(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<GroupRecord, ProvisioningError> {
        self.store
            .projector
            .wait_for_aggregate(Group::TYPE, id)
            .await?;
        self.group(ctx, id).await
    }

    pub async fn create_group(
        &self,
        ctx: &RequestContext,
        fields: GroupFields,
    ) -> Result<WrittenGroup, ProvisioningError> {
        let members = self
            .resolve_members(ctx, fields.member_ids.as_deref().unwrap_or_default())
            .await?;
        let id = crate::ids::new_id();
        correlation::record_aggregate(&id);
        let name = self.group_name(ctx, fields.display_name.as_str());
        let added = members.clone();
        let command = GroupCommand::Create {
            instance_id: ctx.instance_id(),
            display_name: fields.display_name.clone(),
            external_id: fields.external_id.clone(),
            members,
        };
        let (store, owner, metadata) = (Arc::clone(&self.store), id.clone(), ctx.metadata());
        let create = async move {
            let created = store.commands.execute_group(&owner, command, &metadata);
            created.await.map_err(group_error)
        };
        match self.create_detached(name, &id, create).await {
            Ok(()) => {}
            Err(ProvisioningError::GroupNameTaken) => {
                let instance_id = &ctx.principal.instance_id;
                let existing =
                    unmanaged_group_named(&self.store.db, instance_id, &fields.display_name)
                        .await?;
                return match existing {
                    Some(existing) => Ok(WrittenGroup {
                        record: self.adopt_group(ctx, &existing, fields).await?,
                        members: None,
                    }),
                    None => Err(ProvisioningError::GroupNameTaken),
                };
            }
            Err(error) => return Err(error),
        }
        tracing::info!(group_id = %id, "group created");
        let shown = async {
            self.forget_deleted_members(ctx, &id, &added).await?;
            self.group_after_write(ctx, &id).await
        };
        match shown.await {
            Ok(record) => Ok(WrittenGroup {
                record,
                members: None,
            }),
            // The create stands: answered as its events make it (see `answer_written_user`).
            Err(ProvisioningError::Lagging(lag)) => {
                tracing::warn!(%lag, group_id = %id, "read model lagging: the new group is answered from its events");
                let instance_id = &ctx.principal.instance_id;
                match group_as_of(&self.store.db, instance_id, &id, Cut::Everything).await? {
                    Some(AsOf::Live(group)) => Ok(WrittenGroup {
                        record: group.record,
                        members: Some(group.members),
                    }),
                    _ => Err(ProvisioningError::Lagging(lag)),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Takes over a group imported before provisioning whose name the IdP now provisions: same
    /// id, the IdP's name, externalId and (if it sent them) members, now managed. The group is
    /// brought to the IdP's state before it is marked adopted, so that a retried POST after a
    /// crash in between adopts it again rather than finding its name taken.
    async fn adopt_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        fields: GroupFields,
    ) -> Result<GroupRecord, ProvisioningError> {
        let members: Vec<MemberEdit> = fields
            .member_ids
            .map(|ids| vec![MemberEdit::ReplaceAll(ids)])
            .unwrap_or_default();
        let change = GroupChange {
            display_name: fields.display_name,
            external_id: fields.external_id,
            members,
        };
        self.update_group(ctx, id, None, |_| {
            Ok::<_, ProvisioningError>(change.clone())
        })
        .await?;
        let command = GroupCommand::Adopt {
            instance_id: ctx.instance_id(),
        };
        match self
            .store
            .commands
            .execute_group(id, command, &ctx.metadata())
            .await
        {
            Ok(()) => {}
            Err(CommandError::Rejected(GroupError::AlreadyManaged)) => {
                return Err(ProvisioningError::GroupNameTaken)
            }
            Err(error) => return Err(group_error(error)),
        }
        tracing::info!(group_id = %id, "imported group adopted");
        self.group_after_write(ctx, id).await
    }

    /// Applies what `change` derives from the group's current state; re-derived if another
    /// request changes the group meanwhile, unless the client pinned a version with If-Match.
    pub async fn update_group<F, E>(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<i64>,
        change: F,
    ) -> Result<GroupRecord, E>
    where
        F: Fn(&GroupRecord) -> Result<GroupChange, E>,
        E: From<ProvisioningError>,
    {
        correlation::record_aggregate(id);
        let _turn = self.locks.lock(id).await;
        for attempt in 0..EDIT_ATTEMPTS {
            let current = self.group(ctx, id).await?;
            check_if_match(if_match, current.version)?;
            let change = change(&current)?;
            let membership = self.membership_changes(ctx, change.members).await?;
            let added: Vec<Member> = membership
                .iter()
                .flat_map(|change| match change {
                    MembershipChange::Add(members) | MembershipChange::ReplaceAll(members) => {
                        members.as_slice()
                    }
                    MembershipChange::Remove(_) | MembershipChange::RemoveAll => &[],
                })
                .cloned()
                .collect();
            let display_name = (change.display_name.as_str() != current.display_name)
                .then_some(change.display_name);
            let external_id = (change.external_id.as_ref().map(ExternalId::as_str)
                != current.external_id.as_deref())
            .then_some(change.external_id);
            // Only a name or externalId derived from what was read can be outdated; member
            // changes are deltas the group applies to its own current state.
            let pinned = if_match.is_some() || display_name.is_some() || external_id.is_some();
            let rename = match &display_name {
                Some(new) => {
                    let old = self.group_name(ctx, &current.display_name);
                    self.begin_rename(old, self.group_name(ctx, new.as_str()), id)
                        .await?
                }
                None => None,
            };
            let command = GroupCommand::Update {
                instance_id: ctx.instance_id(),
                group_id: id.to_string(),
                expected_version: pinned.then(|| command_version(current.version)),
                display_name,
                external_id,
                membership,
            };
            let renamed = rename.as_ref().map(|rename| &rename.new);
            let metadata = ctx.metadata();
            let update = self.store.commands.execute_group(id, command, &metadata);
            let outcome = self.holding(renamed, id, update).await;
            self.end_rename(rename, id, outcome.is_ok()).await;
            match outcome {
                Ok(()) => {
                    self.forget_deleted_members(ctx, id, &added).await?;
                    return Ok(self.group_after_write(ctx, id).await?);
                }
                Err(CommandError::Rejected(GroupError::VersionMismatch { .. })) => {
                    self.await_fresh_state(Group::TYPE, id, if_match, attempt)
                        .await?
                }
                Err(error) => return Err(group_error(error).into()),
            }
        }
        Err(ProvisioningError::ConcurrentModification.into())
    }

    /// Deletes a group, frees its name, and takes it out of the groups it was a member of.
    pub async fn delete_group(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<i64>,
    ) -> Result<(), ProvisioningError> {
        correlation::record_aggregate(id);
        self.ensure_in_instance(ctx, Group::TYPE, id).await?;
        // The aggregate itself answers "not found" and checks the If-Match version.
        let turn = self.locks.lock(id).await;
        let command = GroupCommand::Delete {
            instance_id: ctx.instance_id(),
            expected_version: if_match.map(command_version),
        };
        match self
            .store
            .commands
            .execute_group(id, command, &ctx.metadata())
            .await
        {
            Ok(()) => {}
            Err(CommandError::Rejected(GroupError::VersionMismatch { .. })) => {
                return Err(ProvisioningError::PreconditionFailed)
            }
            Err(error) => return Err(group_error(error)),
        }
        drop(turn);
        self.after_deletion(ctx, Group::TYPE, id).await
    }

    /// Takes out again those of the members a committed write added that were deleted
    /// meanwhile. A deletion takes its user or group out of the groups the read model shows it
    /// in, once that read model has caught up (see `after_deletion`); an add that committed
    /// after that scan would stay behind, naming a member that no longer exists. So the adder
    /// looks too, in the log, which shows a deletion as soon as it commits: of a deletion and
    /// an add racing (in one process or through two replicas), one always sees the other.
    async fn forget_deleted_members(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        added: &[Member],
    ) -> Result<(), ProvisioningError> {
        if added.is_empty() {
            return Ok(());
        }
        let ids_of = |kind: MemberKind| -> Vec<String> {
            added
                .iter()
                .filter(|member| member.kind == kind)
                .map(|member| member.id.as_str().to_string())
                .collect()
        };
        let db = &self.store.db;
        // A deletion is final: neither aggregate takes a command after it. Event types never
        // change once written (see aggregates' events).
        let users = ids_of(MemberKind::User);
        let mut deleted = ended_by(db, User::TYPE, "UserDeleted", &users).await?;
        let groups = ids_of(MemberKind::Group);
        deleted.extend(ended_by(db, Group::TYPE, "GroupDeleted", &groups).await?);
        for member in deleted {
            tracing::info!(
                group_id,
                member,
                "member deleted as it was added; taken out again"
            );
            self.forget_member(ctx, group_id, &member).await?;
        }
        Ok(())
    }

    fn group_name(&self, ctx: &RequestContext, display_name: &str) -> UniqueName {
        UniqueName::new(
            NameKind::GroupName,
            &ctx.principal.instance_id,
            display_name,
        )
    }

    /// The members `ids` name, each known to be a user or a group of the caller's instance,
    /// once each in the order first named: the history records them in the request's order.
    async fn resolve_members(
        &self,
        ctx: &RequestContext,
        ids: &[String],
    ) -> Result<Vec<Member>, ProvisioningError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut seen = HashSet::with_capacity(ids.len());
        let wanted: Vec<String> = ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect();
        let kinds: HashMap<String, String> =
            member_kinds(&self.store.db, &ctx.principal.instance_id, &wanted)
                .await?
                .into_iter()
                .collect();
        let unknown: Vec<String> = wanted
            .iter()
            .filter(|id| !kinds.contains_key(*id))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(ProvisioningError::UnknownMembers(unknown));
        }
        Ok(wanted
            .into_iter()
            .map(|id| {
                let kind = match kinds.get(&id).map(String::as_str) {
                    Some("Group") => MemberKind::Group,
                    _ => MemberKind::User,
                };
                Member {
                    id: MemberId::new(id),
                    kind,
                }
            })
            .collect())
    }

    async fn membership_changes(
        &self,
        ctx: &RequestContext,
        edits: Vec<MemberEdit>,
    ) -> Result<Vec<MembershipChange>, ProvisioningError> {
        let mut changes = Vec::with_capacity(edits.len());
        for edit in edits {
            changes.push(match edit {
                MemberEdit::Add(ids) => {
                    MembershipChange::Add(self.resolve_members(ctx, &ids).await?)
                }
                MemberEdit::ReplaceAll(ids) => {
                    MembershipChange::ReplaceAll(self.resolve_members(ctx, &ids).await?)
                }
                MemberEdit::Remove(ids) => {
                    MembershipChange::Remove(ids.into_iter().map(MemberId::new).collect())
                }
                MemberEdit::RemoveAll => MembershipChange::RemoveAll,
            });
        }
        Ok(changes)
    }
}

fn group_error(error: CommandError<GroupError>) -> ProvisioningError {
    match error {
        CommandError::Rejected(GroupError::NotFound) => ProvisioningError::NotFound,
        CommandError::Rejected(GroupError::SelfMembership) => ProvisioningError::SelfMembership,
        CommandError::Rejected(GroupError::StaleMembership) => {
            ProvisioningError::ConcurrentModification
        }
        other => other.into(),
    }
}
