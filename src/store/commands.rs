//! Executing commands on aggregates, whichever store holds them, with the request's metadata.
//!
//! Two commands on one aggregate may race: the event store lets one append and reports the
//! other as a conflict. The loser is re-run against the fresh state (it may now be refused on
//! its merits), so that clients never see a conflict as a failure of scimd.

use super::metrics::{AggregateLabel, StoreMetrics};
use super::snapshots::SnapshotStore;
use super::split_repository::SplitRepository;
use super::sqlite_events::SqliteEvents;
use super::upcasting::user_upcasters;
use aggregates::group::{Group, GroupCommand, GroupError, GroupServices};
use aggregates::settings::{InstanceSettings, SettingsCommand, SettingsError};
use aggregates::user::{User, UserCommand, UserError};
use cqrs_es::persist::{PersistedEventRepository, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, EventStore};
use postgres_es::PostgresEventRepository;
use projections::db::Db;
use projections::metadata::EventMetadata;
use std::time::Duration;

/// Snapshots every this many events keep loading a group cheap however many member events it
/// has accumulated (the group aggregate itself stays small: see aggregates::group).
const GROUP_SNAPSHOT_EVERY: usize = 100;
/// Enough for replicas that keep writing one group at once: each loses a race at most about
/// half the time, and sixteen losses in a row (some 1.2 s of backoff) are vanishingly rare.
const ATTEMPTS: u32 = 16;

type Users<R> = CqrsFramework<User, PersistedEventStore<R, User>>;
type Groups<R> = CqrsFramework<Group, SnapshotStore<R, Group>>;
type Settings<R> = (
    CqrsFramework<InstanceSettings, PersistedEventStore<R, InstanceSettings>>,
    PersistedEventStore<R, InstanceSettings>,
);

/// The same code on whichever store's frameworks `bus` holds (their types differ).
macro_rules! on_store {
    ($bus:expr, $frameworks:ident => $body:expr) => {
        match $bus {
            CommandBus::Sqlite($frameworks) => $body,
            CommandBus::Postgres($frameworks) => $body,
        }
    };
}

pub enum CommandBus {
    Sqlite(Box<Frameworks<SplitRepository<SqliteEvents>>>),
    Postgres(Box<Frameworks<SplitRepository<PostgresEventRepository>>>),
}

pub struct Frameworks<R: PersistedEventRepository> {
    users: Users<R>,
    groups: Groups<R>,
    settings: Settings<R>,
    metrics: StoreMetrics,
}

impl<R: PersistedEventRepository> Frameworks<R> {
    fn new(
        repository: impl Fn() -> R,
        group_services: GroupServices,
        metrics: &StoreMetrics,
    ) -> Self {
        Self {
            users: CqrsFramework::new(
                PersistedEventStore::new_event_store(repository()).with_upcasters(user_upcasters()),
                vec![],
                (),
            ),
            groups: CqrsFramework::new(
                SnapshotStore::new(repository(), GROUP_SNAPSHOT_EVERY),
                vec![],
                group_services,
            ),
            settings: settings(repository(), repository()),
            metrics: metrics.clone(),
        }
    }
}

/// An instance's settings: the framework that changes them and the store they are read from.
fn settings<R: PersistedEventRepository>(writes: R, reads: R) -> Settings<R> {
    let framework = CqrsFramework::new(PersistedEventStore::new_event_store(writes), vec![], ());
    (framework, PersistedEventStore::new_event_store(reads))
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    #[error(transparent)]
    Rejected(E),
    #[error("the aggregate kept changing; gave up after {ATTEMPTS} attempts")]
    Conflict,
    #[error("event store failure: {0}")]
    Store(String),
}

impl CommandBus {
    pub fn new(db: &Db, group_services: GroupServices, metrics: &StoreMetrics) -> Self {
        match db {
            Db::Sqlite(_) => Self::Sqlite(Box::new(Frameworks::new(
                || {
                    SplitRepository::new(
                        SqliteEvents::new(db.clone()),
                        SqliteEvents::new(db.clone()),
                    )
                    .appending_through(db.clone())
                    .counting_appends(metrics.events_appended.clone())
                },
                group_services,
                metrics,
            ))),
            Db::Postgres(pool) => Self::Postgres(Box::new(Frameworks::new(
                || {
                    SplitRepository::new(
                        PostgresEventRepository::new(pool.clone()),
                        PostgresEventRepository::new(pool.clone()),
                    )
                    .appending_through(db.clone())
                    .counting_appends(metrics.events_appended.clone())
                },
                group_services,
                metrics,
            ))),
        }
    }

    pub async fn execute_settings(
        &self,
        instance_id: &str,
        command: SettingsCommand,
        metadata: &EventMetadata,
    ) -> Result<(), CommandError<SettingsError>> {
        on_store!(self, frameworks => {
            let framework = &frameworks.settings.0;
            execute(framework, &frameworks.metrics, instance_id, command, metadata, |_| false).await
        })
    }

    /// The current settings of an instance (the defaults if it never changed them). Settings
    /// change rarely and have few events, so they are read from the event store directly.
    pub async fn settings(
        &self,
        instance_id: &str,
    ) -> Result<InstanceSettings, CommandError<SettingsError>> {
        let loaded = on_store!(self, frameworks => {
            frameworks.settings.1.load_aggregate(instance_id).await
        });
        loaded
            .map(|context| context.aggregate)
            .map_err(|error| CommandError::Store(error.to_string()))
    }

    pub async fn execute_user(
        &self,
        id: &str,
        command: UserCommand,
        metadata: &EventMetadata,
    ) -> Result<(), CommandError<UserError>> {
        on_store!(self, frameworks => {
            execute(&frameworks.users, &frameworks.metrics, id, command, metadata, |_| false).await
        })
    }

    pub async fn execute_group(
        &self,
        id: &str,
        command: GroupCommand,
        metadata: &EventMetadata,
    ) -> Result<(), CommandError<GroupError>> {
        // The membership view moved on while the group was being loaded: load it again.
        let stale = |error: &GroupError| *error == GroupError::StaleMembership;
        on_store!(self, frameworks => {
            execute(&frameworks.groups, &frameworks.metrics, id, command, metadata, stale).await
        })
    }
}

async fn execute<A, ES>(
    framework: &CqrsFramework<A, ES>,
    metrics: &StoreMetrics,
    id: &str,
    command: A::Command,
    metadata: &EventMetadata,
    retry_rejection: impl Fn(&A::Error) -> bool,
) -> Result<(), CommandError<A::Error>>
where
    A: Aggregate,
    A::Command: Clone,
    ES: EventStore<A>,
{
    let label = AggregateLabel::of(A::TYPE);
    for attempt in 0..ATTEMPTS {
        match framework
            .execute_with_metadata(id, command.clone(), metadata.to_map())
            .await
        {
            Ok(()) => return Ok(()),
            Err(AggregateError::AggregateConflict) => {}
            Err(AggregateError::UserError(error)) if retry_rejection(&error) => {}
            Err(AggregateError::UserError(error)) => return Err(CommandError::Rejected(error)),
            Err(other) => return Err(CommandError::Store(other.to_string())),
        }
        metrics.conflicts.get_or_create(&label).inc();
        if attempt + 1 == ATTEMPTS {
            break;
        }
        metrics.retries.get_or_create(&label).inc();
        tracing::debug!(
            aggregate = A::TYPE,
            id,
            attempt,
            "command conflicted; retrying"
        );
        tokio::time::sleep(backoff(attempt)).await;
    }
    metrics.retries_exhausted.get_or_create(&label).inc();
    tracing::warn!(aggregate = A::TYPE, id, "command kept conflicting; gave up");
    Err(CommandError::Conflict)
}

/// Exponential up to 64 ms, with jitter as large as the wait itself, so that racing writers
/// (in other processes too) spread out instead of colliding again.
pub fn backoff(attempt: u32) -> Duration {
    let base_ms = 1u64 << attempt.min(6);
    let jitter_ms = u64::from(getrandom::u32().unwrap_or(0)) % (base_ms + 1);
    Duration::from_millis(base_ms + jitter_ms)
}
