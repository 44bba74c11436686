//! The application layer between the SCIM protocol and the domain: it reserves unique names,
//! turns requests into commands with their metadata, retries edits that raced, and answers
//! only once the read model shows the change (read-your-writes). No HTTP, no SQL text.

mod context;
mod error;
mod groups;
mod locks;
pub mod managers;
mod users;

pub use context::RequestContext;
pub use error::ProvisioningError;
pub use groups::{GroupChange, WrittenGroup};

use crate::store::metrics::AggregateLabel;
use crate::store::{orphaned_before, Claim, NameKind, Store, UniqueName};
use aggregates::group::{GroupCommand, GroupError, MemberId};
use aggregates::settings::InstanceSettings;
use locks::AggregateLocks;
use projections::db::{Record, Sql};
use projections::event_log::written_in;
use projections::metadata::timestamp;
use projections::scim_groups::groups_with_member;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Count {
    total: i64,
}

/// Edits based on a version that another process changed meanwhile are re-derived from the
/// fresh version this many times before giving up (replicas editing one user at once each
/// lose about half their races).
const EDIT_ATTEMPTS: u32 = 16;

#[derive(Clone)]
pub struct Provisioning {
    store: Arc<Store>,
    locks: Arc<AggregateLocks>,
    /// How long a claim of a never-created owner must have gone unrenewed before a create may
    /// take it over.
    claim_grace: Duration,
    /// How often a request renews the claims it holds: well within the grace.
    renew_claims_every: Duration,
}

/// The shortest renewal period, for very short (test) graces.
const SHORTEST_RENEWAL: Duration = Duration::from_millis(100);

impl Provisioning {
    pub fn new(store: Arc<Store>, claim_grace: Duration) -> Self {
        Self {
            store,
            locks: Arc::default(),
            claim_grace,
            renew_claims_every: (claim_grace / 4).max(SHORTEST_RENEWAL),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, for work that outlives the request (a stream of events).
    pub fn store_arc(&self) -> &Arc<Store> {
        &self.store
    }

    /// The settings of the request's instance: roles and attribute mapping.
    async fn settings(
        &self,
        ctx: &RequestContext,
    ) -> Result<Arc<InstanceSettings>, ProvisioningError> {
        let instance_id = &ctx.principal.instance_id;
        let known = ctx
            .settings_sequence
            .as_ref()
            .filter(|known| &known.instance_id == instance_id)
            .map(|known| known.sequence);
        Ok(self.store.current_settings(instance_id, known).await?)
    }

    /// The read-model rows a listing's query selects (see `scim::list::statements`).
    pub async fn read<T: Record>(&self, sql: &Sql) -> Result<Vec<T>, ProvisioningError> {
        Ok(self.store.db.fetch_all(sql).await?)
    }

    /// The number a listing's `count(*) AS total` query gives.
    pub async fn read_total(&self, sql: &Sql) -> Result<i64, ProvisioningError> {
        let count: Count = self.store.db.fetch_one(sql).await?;
        Ok(count.total)
    }

    /// Reserves `name` for `owner`. `Ok(true)` means this call reserved it, and must release it
    /// if the owner's command fails.
    async fn reserve(&self, name: &UniqueName, owner: &str) -> Result<bool, ProvisioningError> {
        let now = chrono::Utc::now();
        let orphaned_before = orphaned_before(now, self.claim_grace);
        let now = timestamp(now);
        match self
            .store
            .claims
            .claim(name, owner, &now, &orphaned_before)
            .await?
        {
            Claim::Claimed => Ok(true),
            Claim::AlreadyHeld => Ok(false),
            Claim::Taken => {
                tracing::info!(kind = ?name.kind, "name already in use");
                Err(match name.kind {
                    NameKind::UserName => ProvisioningError::UserNameTaken,
                    NameKind::GroupName => ProvisioningError::GroupNameTaken,
                })
            }
        }
    }

    /// Reserves `name` for the new `owner`, then runs `command`, its create, and releases the
    /// name if that fails. Both run as a task of their own, renewing the reservation meanwhile
    /// (see `holding`): a client that disconnects, or a request timeout, drops the request's
    /// future, and a create dropped between its reservation and its command would leave the
    /// name reserved for an owner that never comes, refusing the IdP's retry. The task carries
    /// on to the end either way.
    async fn create_detached<F>(
        &self,
        name: UniqueName,
        owner: &str,
        command: F,
    ) -> Result<(), ProvisioningError>
    where
        F: Future<Output = Result<(), ProvisioningError>> + Send + 'static,
    {
        let this = self.clone();
        let owner = owner.to_string();
        let create = async move {
            this.reserve(&name, &owner).await?;
            let outcome = this.holding(Some(&name), &owner, command).await;
            if outcome.is_err() {
                this.release(&name, &owner).await;
            }
            outcome
        };
        tokio::spawn(create.in_current_span())
            .await
            .map_err(|failed| ProvisioningError::Store(failed.to_string()))?
    }

    /// Runs `work` while renewing `owner`'s reservation of `name`, if given. A reservation not
    /// renewed for the claim grace, whose owner has no event, is an orphan (its process died)
    /// that another create takes over; renewed, it is held however long `work` takes.
    async fn holding<T>(
        &self,
        name: Option<&UniqueName>,
        owner: &str,
        work: impl Future<Output = T>,
    ) -> T {
        let Some(name) = name else {
            return work.await;
        };
        tokio::pin!(work);
        let every = self.renew_claims_every;
        let mut renewals = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                done = &mut work => return done,
                _ = renewals.tick() => {
                    let now = timestamp(chrono::Utc::now());
                    if let Err(error) = self.store.claims.renew(name, owner, &now).await {
                        tracing::warn!(%error, owner, "could not renew a name reservation");
                    }
                }
            }
        }
    }

    /// Reserves `new` when an edit changes a unique name from `old`; `None` if it does not.
    async fn begin_rename(
        &self,
        old: UniqueName,
        new: UniqueName,
        owner: &str,
    ) -> Result<Option<Rename>, ProvisioningError> {
        if old == new {
            return Ok(None);
        }
        let reserved = self.reserve(&new, owner).await?;
        Ok(Some(Rename { old, new, reserved }))
    }

    /// Releases whichever name the edit's outcome left unused.
    async fn end_rename(&self, rename: Option<Rename>, owner: &str, committed: bool) {
        match rename {
            Some(rename) if committed => self.release(&rename.old, owner).await,
            Some(rename) if rename.reserved => self.release(&rename.new, owner).await,
            _ => {}
        }
    }

    /// A leftover reservation only blocks its name until the reconciler runs, so a failure to
    /// release one is logged rather than failing the request.
    async fn release(&self, name: &UniqueName, owner: &str) {
        if let Err(error) = self.store.claims.release(name, owner).await {
            tracing::warn!(%error, owner, "could not release a name reservation");
        }
    }

    /// After an edit found its aggregate changed since it was read: wait until the read model
    /// shows the change, so the edit can be derived again, unless the client pinned the version
    /// it saw with If-Match. Counted with the command bus's conflicts: the same race, seen
    /// before the command rather than by the event store.
    async fn await_fresh_state(
        &self,
        aggregate_type: &'static str,
        id: &str,
        if_match: Option<i64>,
        attempt: u32,
    ) -> Result<(), ProvisioningError> {
        let metrics = &self.store.metrics;
        let label = AggregateLabel::of(aggregate_type);
        metrics.conflicts.get_or_create(&label).inc();
        if if_match.is_some() {
            return Err(ProvisioningError::PreconditionFailed);
        }
        if attempt + 1 >= EDIT_ATTEMPTS {
            metrics.retries_exhausted.get_or_create(&label).inc();
            return Err(ProvisioningError::ConcurrentModification);
        }
        metrics.retries.get_or_create(&label).inc();
        self.store
            .projector
            .wait_for_aggregate(aggregate_type, id)
            .await?;
        // Another replica's writer is not queued behind ours: give it room to finish.
        tokio::time::sleep(crate::store::backoff(attempt)).await;
        Ok(())
    }

    /// Refuses, as not found, an id the request's instance never wrote, before its aggregate is
    /// loaded: answering another instance's id only after loading its history would tell, by
    /// the time taken, that the id exists. The log decides, not the read model, so a resource
    /// committed but not projected yet is found; the aggregate still checks its instance.
    async fn ensure_in_instance(
        &self,
        ctx: &RequestContext,
        aggregate_type: &str,
        id: &str,
    ) -> Result<(), ProvisioningError> {
        let instance_id = &ctx.principal.instance_id;
        match written_in(&self.store.db, aggregate_type, id, instance_id).await? {
            true => Ok(()),
            false => Err(ProvisioningError::NotFound),
        }
    }

    /// What follows the deletion of a user or group: its names are free, it leaves every group
    /// it was in, and the read model shows it gone.
    async fn after_deletion(
        &self,
        ctx: &RequestContext,
        aggregate_type: &str,
        id: &str,
    ) -> Result<(), ProvisioningError> {
        tracing::info!(aggregate = aggregate_type, id, "deleted");
        self.store.claims.release_all_of(id).await?;
        // An add of this member to a group, by another request or replica, may have committed
        // without the read model showing it yet. Once the read model has applied everything
        // committed so far, the scan below finds every add that committed before this point;
        // an add that commits later finds this deletion in the log (`forget_deleted_members`).
        self.store.projector.wait_for_committed().await?;
        for group_id in groups_with_member(&self.store.db, id).await? {
            let _turn = self.locks.lock(&group_id).await;
            self.forget_member(ctx, &group_id, id).await?;
        }
        Ok(self
            .store
            .projector
            .wait_for_aggregate(aggregate_type, id)
            .await?)
    }

    /// Takes `member` out of a group (nothing happens if it is no member, or the group is
    /// gone) and waits until the read model shows it. The caller holds the group's turn.
    async fn forget_member(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        member: &str,
    ) -> Result<(), ProvisioningError> {
        let command = GroupCommand::ForgetMember {
            instance_id: ctx.instance_id(),
            group_id: group_id.to_string(),
            member: MemberId::new(member),
        };
        match self
            .store
            .commands
            .execute_group(group_id, command, &ctx.metadata())
            .await
        {
            Ok(()) | Err(crate::store::CommandError::Rejected(GroupError::NotFound)) => {}
            Err(error) => return Err(error.into()),
        }
        Ok(self
            .store
            .projector
            .wait_for_aggregate("Group", group_id)
            .await?)
    }
}

/// A change of a unique name under way: the new name is reserved before the command runs.
struct Rename {
    old: UniqueName,
    new: UniqueName,
    /// Reserved by this edit (not held already), so to be released if the edit fails.
    reserved: bool,
}

/// The version `If-Match` pins must be the one read.
fn check_if_match(if_match: Option<i64>, version: i64) -> Result<(), ProvisioningError> {
    match if_match {
        Some(expected) if expected != version => Err(ProvisioningError::PreconditionFailed),
        _ => Ok(()),
    }
}

/// Read-model versions are never negative; commands count in `u64`.
fn command_version(version: i64) -> u64 {
    u64::try_from(version).unwrap_or_default()
}
