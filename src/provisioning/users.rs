//! Provisioning users: create, edit, delete and read, with userName reservations.

use super::{
    check_if_match, command_version, Provisioning, ProvisioningError, RequestContext, EDIT_ATTEMPTS,
};
use crate::correlation;
use crate::scim::mapping::{manager_reference, mapped_fields};
use crate::store::{CommandError, NameKind, UniqueName};
use aggregates::settings::mapping::filled_fields;
use aggregates::settings::roles::{requested_roles, with_roles};
use aggregates::settings::InstanceSettings;
use aggregates::user::{ManagerRef, User, UserCommand, UserError, UserProfile};
use cqrs_es::Aggregate;
use projections::directory::{unmanaged_user_named, waiting_for_manager};
use projections::scim_groups::{groups_of_members, MembershipRecord};
use projections::scim_users::{find_manager, find_user, UserRecord};
use projections::time_travel::{user_row_as_of, AsOf, Cut};
use std::collections::HashMap;
use std::sync::Arc;

impl Provisioning {
    pub async fn user(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<UserRecord, ProvisioningError> {
        find_user(&self.store.db, &ctx.principal.instance_id, id)
            .await?
            .ok_or(ProvisioningError::NotFound)
    }

    /// The user as the read model shows it once it has applied everything the user's
    /// aggregate has committed: what the client's next GET will see.
    async fn user_after_write(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<UserRecord, ProvisioningError> {
        self.store
            .projector
            .wait_for_aggregate(User::TYPE, id)
            .await?;
        self.user(ctx, id).await
    }

    /// The groups each of `ids` is a direct member of (the users' `groups` attribute), read
    /// in one query for a whole page.
    pub async fn groups_of_users(
        &self,
        instance_id: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<MembershipRecord>>, ProvisioningError> {
        Ok(groups_of_members(&self.store.db, instance_id, ids).await?)
    }

    /// The manager `profile` names, resolved against the instance's users. A manager outside
    /// the sync group stays a pending reference: it is never made into a user.
    async fn manager_of(
        &self,
        ctx: &RequestContext,
        profile: &UserProfile,
    ) -> Result<Option<ManagerRef>, ProvisioningError> {
        let Some(reference) = manager_reference(profile) else {
            return Ok(None);
        };
        let manager_id =
            find_manager(&self.store.db, &ctx.principal.instance_id, &reference).await?;
        Ok(Some(ManagerRef {
            reference,
            manager_id,
        }))
    }

    /// Links the users that were waiting for `manager` as their manager. The new user's
    /// creation stands whatever happens here; a failure is logged.
    async fn link_waiting_reports(&self, ctx: &RequestContext, manager: &UserRecord) {
        let waiting = waiting_for_manager(
            &self.store.db,
            &ctx.principal.instance_id,
            &manager.id,
            manager.external_id.as_deref(),
            &manager.user_name,
        )
        .await;
        let waiting = match waiting {
            Ok(waiting) => waiting,
            Err(error) => {
                tracing::error!(%error, manager = %manager.id, "cannot look up reports waiting for their manager");
                return;
            }
        };
        for report in waiting {
            let command = UserCommand::LinkManager {
                instance_id: ctx.instance_id(),
                reference: report.manager_reference,
                manager_id: manager.id.clone(),
            };
            let linked = self
                .store
                .commands
                .execute_user(&report.id, command, &ctx.metadata())
                .await;
            match linked {
                Ok(()) => {
                    tracing::info!(user_id = %report.id, manager = %manager.id, "manager linked")
                }
                Err(error) => {
                    tracing::error!(%error, user_id = %report.id, "cannot link the manager");
                    continue;
                }
            }
            // The link is part of what this request did: once it is answered, the next read
            // of the report (its directory entry, its version) must show it.
            let shown = self
                .store
                .projector
                .wait_for_aggregate(User::TYPE, &report.id)
                .await;
            if let Err(error) = shown {
                tracing::error!(%error, user_id = %report.id, "the manager link is not shown yet");
            }
        }
    }

    /// Links a user whose command left its manager pending, if that manager was provisioned
    /// meanwhile. The manager's own request links the reports it finds waiting in the read
    /// model; a report whose pending reference committed too late for that look would wait
    /// forever. So the report looks again after its commit, once the read model has applied
    /// everything committed so far. Of a report and its manager created at once (in one
    /// process or through two replicas), one always finds the other: if the manager committed
    /// before this look, the look finds it; if after, the report committed before the manager
    /// and the manager's look finds it (see `await_earlier_reports`).
    async fn link_late_manager(
        &self,
        ctx: &RequestContext,
        id: &str,
        pending: Option<String>,
    ) -> Result<(), ProvisioningError> {
        let Some(reference) = pending else {
            return Ok(());
        };
        self.store.projector.wait_for_committed().await?;
        let instance_id = &ctx.principal.instance_id;
        let Some(manager_id) = find_manager(&self.store.db, instance_id, &reference).await? else {
            return Ok(());
        };
        let command = UserCommand::LinkManager {
            instance_id: ctx.instance_id(),
            reference,
            manager_id: manager_id.clone(),
        };
        // Not linked if the manager's request linked it first: the command then does nothing.
        self.store
            .commands
            .execute_user(id, command, &ctx.metadata())
            .await
            .map_err(user_error)?;
        tracing::info!(user_id = %id, manager = %manager_id, "manager provisioned meanwhile linked");
        Ok(())
    }

    /// Called by a new (or adopted) user right after its commit, before it looks for reports
    /// waiting for it: every report whose pending reference committed before this one will
    /// be in the read model then. On PostgreSQL the user's own position is not enough, since
    /// the order is by transaction id, not by commit. Reading the head right after the commit
    /// keeps the wait to about what waiting for the user's own events costs, and covers them:
    /// the caller then reads the user as its response without a wait of its own.
    async fn await_earlier_reports(&self) -> Result<(), ProvisioningError> {
        Ok(self.store.projector.wait_for_committed().await?)
    }

    pub async fn create_user(
        &self,
        ctx: &RequestContext,
        profile: UserProfile,
    ) -> Result<UserRecord, ProvisioningError> {
        let settings = self.settings(ctx).await?;
        let profile = with_role_rules(&settings, profile, true)?;
        let id = crate::ids::new_id();
        correlation::record_aggregate(&id);
        let name = self.user_name(ctx, profile.user_name.as_str());
        let manager = self.manager_of(ctx, &profile).await?;
        let pending = pending_reference(manager.as_ref());
        let command = UserCommand::Create {
            instance_id: ctx.instance_id(),
            mapped: mapped_fields(settings.mapping(), &profile),
            manager,
            profile: profile.clone(),
        };
        let (store, owner, metadata) = (Arc::clone(&self.store), id.clone(), ctx.metadata());
        let create = async move {
            let created = store.commands.execute_user(&owner, command, &metadata);
            created.await.map_err(user_error)
        };
        match self.create_detached(name, &id, create).await {
            Ok(()) => {}
            Err(ProvisioningError::UserNameTaken) => {
                let instance_id = &ctx.principal.instance_id;
                let user_name = profile.user_name.as_str();
                return match unmanaged_user_named(&self.store.db, instance_id, user_name).await? {
                    Some(existing) => self.adopt_user(ctx, &existing, profile, &settings).await,
                    None => Err(ProvisioningError::UserNameTaken),
                };
            }
            Err(error) => return Err(error),
        }
        tracing::info!(user_id = %id, "user created");
        self.answer_written_user(ctx, &id, pending).await
    }

    /// What a create or an adoption answers once its command has committed: the user as the
    /// read model shows it after the manager links. The write stands whatever the read model
    /// does, so a read model lagging past the wait must not turn it into an error: the retry
    /// would find the name taken, and Bulk would lose the id. The user is then answered as its
    /// events make it, which is what the read model will show.
    async fn answer_written_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        pending: Option<String>,
    ) -> Result<UserRecord, ProvisioningError> {
        let shown = async {
            self.link_late_manager(ctx, id, pending).await?;
            self.await_earlier_reports().await?;
            let written = self.user(ctx, id).await?;
            self.link_waiting_reports(ctx, &written).await;
            Ok::<_, ProvisioningError>(written)
        };
        match shown.await {
            Err(ProvisioningError::Lagging(lag)) => {
                tracing::warn!(%lag, user_id = %id, "read model lagging: the written user is answered from its events, without its manager links");
                let instance_id = &ctx.principal.instance_id;
                let folded =
                    user_row_as_of(&self.store.db, instance_id, id, Cut::Everything).await?;
                folded
                    .and_then(AsOf::live)
                    .ok_or(ProvisioningError::Lagging(lag))
            }
            shown => shown,
        }
    }

    /// Takes over an account imported before provisioning whose name the IdP now provisions:
    /// same id, now managed, with the IdP's profile; the fields the import gave that the
    /// mapping does not fill stay.
    async fn adopt_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        profile: UserProfile,
        settings: &InstanceSettings,
    ) -> Result<UserRecord, ProvisioningError> {
        correlation::record_aggregate(id);
        let _turn = self.locks.lock(id).await;
        let manager = self.manager_of(ctx, &profile).await?;
        let pending = pending_reference(manager.as_ref());
        let command = UserCommand::Adopt {
            instance_id: ctx.instance_id(),
            mapped: mapped_fields(settings.mapping(), &profile),
            filled: filled_fields(settings.mapping()),
            manager,
            profile,
            cause: ctx.request.clone(),
        };
        match self
            .store
            .commands
            .execute_user(id, command, &ctx.metadata())
            .await
        {
            Ok(()) => {}
            // Another request adopted it first: the name is now a managed user's.
            Err(CommandError::Rejected(UserError::AlreadyManaged)) => {
                return Err(ProvisioningError::UserNameTaken)
            }
            Err(error) => return Err(user_error(error)),
        }
        tracing::info!(user_id = %id, "imported user adopted");
        self.answer_written_user(ctx, id, pending).await
    }

    /// Replaces a user's profile with what `change` derives from its current state. If another
    /// request changes the user meanwhile, `change` is applied again to the fresh state, unless
    /// the client pinned a version with If-Match.
    pub async fn update_user<F, E>(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<i64>,
        change: F,
    ) -> Result<UserRecord, E>
    where
        F: Fn(&UserRecord) -> Result<UserProfile, E>,
        E: From<ProvisioningError>,
    {
        correlation::record_aggregate(id);
        let _turn = self.locks.lock(id).await;
        let settings = self.settings(ctx).await?;
        for attempt in 0..EDIT_ATTEMPTS {
            let current = self.user(ctx, id).await?;
            check_if_match(if_match, current.version)?;
            let profile = with_role_rules(&settings, change(&current)?, false)?;
            let rename = self
                .begin_rename(
                    self.user_name(ctx, &current.user_name),
                    self.user_name(ctx, profile.user_name.as_str()),
                    id,
                )
                .await?;
            let manager = self.manager_of(ctx, &profile).await?;
            let pending = pending_reference(manager.as_ref());
            let command = UserCommand::Update {
                instance_id: ctx.instance_id(),
                expected_version: command_version(current.version),
                mapped: mapped_fields(settings.mapping(), &profile),
                filled: filled_fields(settings.mapping()),
                manager,
                profile,
                cause: ctx.request.clone(),
            };
            let renamed = rename.as_ref().map(|rename| &rename.new);
            let metadata = ctx.metadata();
            let update = self.store.commands.execute_user(id, command, &metadata);
            let outcome = self.holding(renamed, id, update).await;
            self.end_rename(rename, id, outcome.is_ok()).await;
            match outcome {
                Ok(()) => {
                    self.link_late_manager(ctx, id, pending).await?;
                    return Ok(self.user_after_write(ctx, id).await?);
                }
                Err(CommandError::Rejected(UserError::VersionMismatch { .. })) => {
                    self.await_fresh_state(User::TYPE, id, if_match, attempt)
                        .await?
                }
                Err(error) => return Err(user_error(error).into()),
            }
        }
        Err(ProvisioningError::ConcurrentModification.into())
    }

    /// Deletes a user, frees its userName, and takes it out of every group it was in.
    pub async fn delete_user(
        &self,
        ctx: &RequestContext,
        id: &str,
        if_match: Option<i64>,
    ) -> Result<(), ProvisioningError> {
        correlation::record_aggregate(id);
        self.ensure_in_instance(ctx, User::TYPE, id).await?;
        // The aggregate itself answers "not found" and checks the If-Match version.
        let turn = self.locks.lock(id).await;
        let command = UserCommand::Delete {
            instance_id: ctx.instance_id(),
            expected_version: if_match.map(command_version),
            cause: ctx.request.clone(),
        };
        match self
            .store
            .commands
            .execute_user(id, command, &ctx.metadata())
            .await
        {
            Ok(()) => {}
            Err(CommandError::Rejected(UserError::VersionMismatch { .. })) => {
                return Err(ProvisioningError::PreconditionFailed)
            }
            Err(error) => return Err(user_error(error)),
        }
        drop(turn);
        self.after_deletion(ctx, User::TYPE, id).await
    }

    fn user_name(&self, ctx: &RequestContext, user_name: &str) -> UniqueName {
        UniqueName::new(NameKind::UserName, &ctx.principal.instance_id, user_name)
    }
}

fn user_error(error: CommandError<UserError>) -> ProvisioningError {
    match error {
        CommandError::Rejected(UserError::NotFound) => ProvisioningError::NotFound,
        other => other.into(),
    }
}

/// The profile as the instance's role rules make it: a new user without roles gets the default
/// ones, and every role asked for must be allowed.
fn with_role_rules(
    settings: &InstanceSettings,
    profile: UserProfile,
    creating: bool,
) -> Result<UserProfile, ProvisioningError> {
    let requested = requested_roles(&profile.attributes);
    if requested.is_empty() && !creating {
        return Ok(profile);
    }
    let roles =
        settings
            .roles_for(&requested)
            .map_err(|refused| ProvisioningError::RolesNotAllowed {
                refused,
                allowed: settings.allowed_roles().to_vec(),
            })?;
    if !requested.is_empty() || roles.is_empty() {
        return Ok(profile);
    }
    Ok(UserProfile {
        attributes: with_roles(profile.attributes, &roles),
        ..profile
    })
}

/// The reference of a manager that is named but not provisioned (yet).
fn pending_reference(manager: Option<&ManagerRef>) -> Option<String> {
    manager
        .filter(|manager| manager.manager_id.is_none())
        .map(|manager| manager.reference.clone())
}
