//! The store behind scimd: the event store and read models in one SQLite file or one
//! PostgreSQL database, chosen by URL, migrated on open, with the command bus and the
//! projector that sit on top of it.

pub mod admins;
mod claims;
mod commands;
mod connect;
pub mod key_confirmation;
pub mod key_uses;
mod membership;
pub mod metrics;
pub mod provisioning_log;
mod scratch;
mod settings;
mod snapshots;
mod split_repository;
mod sqlite_events;
pub mod tenancy;
mod upcasting;
mod verified_keys;
pub mod webhooks;

pub use claims::{orphaned_before, Claim, NameClaims, NameKind, UniqueName};
pub use commands::{backoff, CommandBus, CommandError};
pub use connect::{redact, IfAbsent, StoreError};
pub use key_uses::KeyUses;
pub use scratch::Scratch;
pub use verified_keys::VerifiedKeys;

use aggregates::group::GroupServices;
use metrics::StoreMetrics;
use projections::db::Db;
use projections::runner::Projector;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub database_url: String,
    pub pool_size: u32,
    /// How long a request waits for the read model to show its own write.
    pub projection_wait: Duration,
    /// The longest a statement may run on PostgreSQL, or wait for the write lock on SQLite,
    /// before it fails; `None`: no limit (administrative commands that scan everything).
    pub statement_timeout: Option<Duration>,
    /// Whether a database that holds no scimd store yet is set up or refused.
    pub if_absent: IfAbsent,
}

impl StoreSettings {
    pub const DEFAULT_PROJECTION_WAIT: Duration = Duration::from_secs(10);

    /// Settings with the defaults: a 10 s projection wait, no statement timeout, and a store
    /// created where there is none yet.
    pub fn new(database_url: &str, pool_size: u32) -> Self {
        Self {
            database_url: database_url.to_string(),
            pool_size,
            projection_wait: Self::DEFAULT_PROJECTION_WAIT,
            statement_timeout: None,
            if_absent: IfAbsent::Create,
        }
    }
}

pub struct Store {
    pub db: Db,
    pub commands: CommandBus,
    pub projector: Arc<Projector>,
    pub claims: NameClaims,
    /// Counted by this store's commands and appends, shown by `/metrics`.
    pub metrics: StoreMetrics,
    held_settings: settings::HeldSettings,
    /// Keys this process admitted, admitted again while no key or instance changed.
    pub verified_keys: VerifiedKeys,
    /// When this process last wrote each key's use (at most once a minute per key).
    pub key_uses: KeyUses,
}

impl Store {
    pub async fn open(settings: &StoreSettings) -> Result<Self, StoreError> {
        let db = connect::connect(settings).await?;
        let projector = Arc::new(Projector::new(
            db.clone(),
            projections::all(),
            settings.projection_wait,
        ));
        projector.apply_in_group_commits();
        let membership = Arc::new(membership::ProjectedMembership::new(
            db.clone(),
            Arc::clone(&projector),
        ));
        let metrics = StoreMetrics::default();
        let commands = CommandBus::new(&db, GroupServices { membership }, &metrics);
        Ok(Self {
            metrics,
            claims: NameClaims::new(db.clone()),
            db,
            commands,
            projector,
            held_settings: settings::HeldSettings::default(),
            verified_keys: VerifiedKeys::default(),
            key_uses: KeyUses::default(),
        })
    }
}
