//! Administration: instances and their keys, instance settings and the application directory,
//! imports, and the admin API's token. The one implementation behind the CLI and the admin HTTP
//! API, so that both can do exactly the same things.

mod action;
mod admins;
mod audit;
mod directory;
mod events;
mod group_members;
mod history;
pub mod import;
mod paging;
mod provisioning_log;
pub mod sessions;
mod settings;
mod tenancy;
mod time_travel;
pub mod token;
mod user_search;
mod verify;
pub mod views;
mod webhooks;

pub use action::*;
pub use admins::*;
pub use audit::*;
pub use directory::*;
pub use events::*;
pub use group_members::*;
pub use history::*;
pub use provisioning_log::*;
pub use settings::*;
pub use tenancy::*;
pub use time_travel::*;
pub use user_search::*;
pub use verify::*;
pub use webhooks::*;

use crate::scim::mapping::MappingSourceError;
use crate::store::tenancy::{instance_named, InstanceRecord};
use crate::store::{CommandError, Store};
use aggregates::settings::SettingsError;
use chrono::Utc;
use projections::db::DbError;
use projections::error::ProjectionError;
use projections::event_log;
use projections::metadata::timestamp;
use std::time::{Duration, Instant};

pub const DEFAULT_INSTANCE: &str = "default";
const DEFAULT_INTEGRATION_USER: &str = "scimd-admin";
const MAX_NAME_CHARS: usize = 64;
const MAX_INTEGRATION_USER_CHARS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("instance names are 1 to {MAX_NAME_CHARS} letters, digits, '.', '_' or '-', starting with a letter or digit: {0:?}")]
    InvalidInstanceName(String),
    #[error("the integration user must be 1 to {MAX_INTEGRATION_USER_CHARS} printable characters")]
    InvalidIntegrationUser,
    #[error("instance {0:?} already exists (instance names are unique in any case)")]
    InstanceExists(String),
    #[error("no instance is named {0:?}")]
    UnknownInstance(String),
    #[error("an administrator's name must be 1 to {MAX_NAME_CHARS} characters without control characters, and name a person: {0:?}")]
    InvalidAdminName(String),
    #[error("an administrator named {0:?} exists already")]
    AdminExists(String),
    #[error("no administrator has the id or name {0:?}")]
    UnknownAdmin(String),
    #[error("administrator {0:?} is already revoked")]
    AdminAlreadyRevoked(String),
    #[error("no key has id {0:?}")]
    UnknownKey(String),
    #[error("key {0:?} is already revoked")]
    AlreadyRevoked(String),
    #[error("the system's random number generator failed: {0}")]
    Randomness(getrandom::Error),
    #[error(transparent)]
    Settings(SettingsError),
    #[error(transparent)]
    MappingSource(#[from] MappingSourceError),
    #[error("the event store failed: {0}")]
    Store(String),
    #[error("instance has no user named {0:?}")]
    UnknownUser(String),
    #[error("instance has no group named {0:?}")]
    UnknownGroup(String),
    #[error("instance has no user or group with id {0:?}")]
    UnknownId(String),
    #[error("{entity} did not exist yet at {at}")]
    NotYetCreated { entity: String, at: String },
    #[error("{entity} was deleted at {deleted_at}, before {at}")]
    DeletedBy {
        entity: String,
        deleted_at: String,
        at: String,
    },
    #[error("{name:?} was the name of several entities over time ({candidates}), and not of exactly one at {at}: choose one by id")]
    AmbiguousName {
        name: String,
        at: String,
        candidates: String,
    },
    #[error("user {0} cannot be read back as a SCIM user: {1}")]
    Unreadable(String, String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0:?} is not an RFC 3339 date-time (e.g. 2026-01-31T12:00:00Z)")]
    InvalidTime(String),
    #[error("{given:?} is not a page size: a whole number from 1 to {max}")]
    InvalidPageSize { given: String, max: i64 },
    #[error("the time range is empty: from {since} is after until {until}")]
    InvertedRange { since: String, until: String },
    #[error("cannot write the output: {0}")]
    Output(String),
    #[error("the event log of {0} instance(s) does not match its hash chain")]
    ChainBroken(usize),
    #[error("{0:?} is not a head hash (64 hex digits, as `audit verify` prints them)")]
    InvalidHead(String),
    #[error("{0} is not a number of events")]
    InvalidHeadCount(i64),
    #[error(transparent)]
    FeedRequest(#[from] FeedRequestError),
    #[error("instance {instance}: {detail}")]
    UnexpectedHead { instance: String, detail: String },
    #[error(transparent)]
    WebhookUrl(crate::webhooks::url_policy::UrlRefused),
    #[error("{0:?} is not an event type; the types are: {types}", types = projections::feed::EVENT_TYPES.join(", "))]
    UnknownEventType(String),
    #[error("a webhook description is at most {max} characters, without control characters", max = webhooks::MAX_DESCRIPTION_CHARS)]
    InvalidWebhookDescription,
    #[error("the instance has no webhook endpoint {0:?}")]
    UnknownWebhook(String),
    #[error("an overlap is at most {max} hours, not {0}", max = webhooks::MAX_OVERLAP_HOURS)]
    InvalidOverlap(u32),
    #[error("{0:?} is neither a cursor nor the id of one of the instance's events")]
    UnknownReplayStart(String),
}

impl From<CommandError<SettingsError>> for AdminError {
    fn from(error: CommandError<SettingsError>) -> Self {
        match error {
            CommandError::Rejected(refusal) => Self::Settings(refusal),
            other => Self::Store(other.to_string()),
        }
    }
}

const CATCH_UP_WAIT: Duration = Duration::from_secs(10);
const CATCH_UP_RETRY: Duration = Duration::from_millis(10);

fn now() -> String {
    timestamp(Utc::now())
}

pub async fn instance(store: &Store, name: &str) -> Result<InstanceRecord, AdminError> {
    instance_named(&store.db, name)
        .await?
        .ok_or_else(|| AdminError::UnknownInstance(name.to_string()))
}

/// Brings the read models up to the event log as it is now, so that what an administrator
/// reads next includes what was just written, with or without a server running. On PostgreSQL
/// an event may be held back while an older transaction is still open, hence the retries.
pub async fn catch_up(store: &Store) -> Result<(), AdminError> {
    let lagging = |error: ProjectionError| AdminError::Store(error.to_string());
    let target = event_log::head(&store.db).await.map_err(lagging)?;
    let deadline = Instant::now() + CATCH_UP_WAIT;
    loop {
        let reached = store.projector.catch_up().await.map_err(lagging)?;
        if reached >= target {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(AdminError::Store(format!(
                "the read models did not reach {target} within {CATCH_UP_WAIT:?}"
            )));
        }
        tokio::time::sleep(CATCH_UP_RETRY).await;
    }
}
