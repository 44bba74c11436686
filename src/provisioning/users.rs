//! Provisioning users: create, edit, delete and read, with userName reservations.

use super::{Provisioning, ProvisioningError, RequestContext, EDIT_ATTEMPTS};
use crate::store::{Claim, CommandError};
use aggregates::group::{GroupCommand, GroupError, MemberId};
use aggregates::user::{User, UserCommand, UserError, UserProfile};
use aggregates::values::case_insensitive_key;
use cqrs_es::Aggregate;
use projections::db::Sql;
use projections::metadata::timestamp;
use projections::scim_groups::groups_with_member;
use projections::scim_users::{find_user, UserRecord};

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

    pub async fn users(
        &self,
        statements: (Sql, Sql),
    ) -> Result<(i64, Vec<UserRecord>), ProvisioningError> {
        let (count, page) = statements;
        let total: Count = self.store.db.fetch_one(&count).await?;
        let records = self.store.db.fetch_all(&page).await?;
        Ok((total.total, records))
    }

    pub async fn create_user(
        &self,
        ctx: &RequestContext,
        profile: UserProfile,
    ) -> Result<UserRecord, ProvisioningError> {
        let id = uuid::Uuid::new_v4().to_string();
        let key = profile.user_name.key();
        let now = timestamp(chrono::Utc::now());
        let claim = self
            .store
            .claims
            .claim_user_name(&key, &ctx.principal.instance_id, &id, &now)
            .await?;
        if claim == Claim::Taken {
            tracing::info!(user_name = %profile.user_name, "userName already in use");
            return Err(ProvisioningError::UserNameTaken);
        }
        let command = UserCommand::Create {
            instance_id: ctx.instance_id(),
            profile,
        };
        if let Err(error) = self
            .store
            .commands
            .execute_user(&id, command, &ctx.metadata())
            .await
        {
            self.release_user_name(&key, &id).await;
            return Err(user_error(error));
        }
        tracing::info!(user_id = %id, "user created");
        self.user_after_write(ctx, &id).await
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
        let _turn = self.locks.lock(id).await;
        for _ in 0..EDIT_ATTEMPTS {
            let current = self.user(ctx, id).await?;
            if if_match.is_some_and(|expected| expected != current.version) {
                return Err(ProvisioningError::PreconditionFailed.into());
            }
            let profile = change(&current)?;
            let old_key = case_insensitive_key(&current.user_name);
            let new_key = profile.user_name.key();
            let renamed = old_key != new_key;
            let mut claimed = false;
            if renamed {
                let now = timestamp(chrono::Utc::now());
                match self
                    .store
                    .claims
                    .claim_user_name(&new_key, &ctx.principal.instance_id, id, &now)
                    .await
                    .map_err(ProvisioningError::from)?
                {
                    Claim::Taken => return Err(ProvisioningError::UserNameTaken.into()),
                    Claim::Claimed => claimed = true,
                    Claim::AlreadyHeld => {}
                }
            }
            let command = UserCommand::Update {
                instance_id: ctx.instance_id(),
                expected_version: u64::try_from(current.version).unwrap_or_default(),
                profile,
            };
            match self
                .store
                .commands
                .execute_user(id, command, &ctx.metadata())
                .await
            {
                Ok(()) => {
                    if renamed {
                        self.release_user_name(&old_key, id).await;
                    }
                    return Ok(self.user_after_write(ctx, id).await?);
                }
                Err(error) => {
                    if claimed {
                        self.release_user_name(&new_key, id).await;
                    }
                    match error {
                        CommandError::Rejected(UserError::VersionMismatch { .. })
                            if if_match.is_none() =>
                        {
                            self.store
                                .projector
                                .wait_for_aggregate(User::TYPE, id)
                                .await
                                .map_err(ProvisioningError::from)?;
                        }
                        CommandError::Rejected(UserError::VersionMismatch { .. }) => {
                            return Err(ProvisioningError::PreconditionFailed.into())
                        }
                        other => return Err(user_error(other).into()),
                    }
                }
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
        let turn = self.locks.lock(id).await;
        let current = self.user(ctx, id).await?;
        if if_match.is_some_and(|expected| expected != current.version) {
            return Err(ProvisioningError::PreconditionFailed);
        }
        let command = UserCommand::Delete {
            instance_id: ctx.instance_id(),
            expected_version: if_match.map(|version| u64::try_from(version).unwrap_or_default()),
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
        tracing::info!(user_id = %id, "user deleted");
        drop(turn);
        self.store.claims.release_user(id).await?;
        self.forget_member(ctx, id).await?;
        self.store
            .projector
            .wait_for_aggregate(User::TYPE, id)
            .await?;
        Ok(())
    }

    /// Removes a deleted user or group from every group that lists it, each removal an event
    /// of that group.
    pub(super) async fn forget_member(
        &self,
        ctx: &RequestContext,
        member_id: &str,
    ) -> Result<(), ProvisioningError> {
        for group_id in groups_with_member(&self.store.db, member_id).await? {
            let _turn = self.locks.lock(&group_id).await;
            let command = GroupCommand::ForgetMember {
                instance_id: ctx.instance_id(),
                group_id: group_id.clone(),
                member: MemberId::new(member_id),
            };
            match self
                .store
                .commands
                .execute_group(&group_id, command, &ctx.metadata())
                .await
            {
                Ok(()) | Err(CommandError::Rejected(GroupError::NotFound)) => {}
                Err(error) => return Err(error.into()),
            }
            self.store
                .projector
                .wait_for_aggregate("Group", &group_id)
                .await?;
        }
        Ok(())
    }

    /// A leftover claim only blocks its name until the reconciler runs, so a failure to release
    /// one is logged rather than failing the request.
    async fn release_user_name(&self, key: &str, id: &str) {
        if let Err(error) = self.store.claims.release_user_name(key, id).await {
            tracing::warn!(%error, user_id = id, "could not release a userName claim");
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct Count {
    pub total: i64,
}

fn user_error(error: CommandError<UserError>) -> ProvisioningError {
    match error {
        CommandError::Rejected(UserError::NotFound) => ProvisioningError::NotFound,
        other => other.into(),
    }
}
