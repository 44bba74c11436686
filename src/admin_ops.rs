//! Administrative operations on instances, keys and instance settings: the one implementation
//! behind the CLI (and, later, the admin HTTP API), so both can do exactly the same things.

use crate::api_key::{NewApiKey, PresentedKey};
use crate::scim::list::statements::Statements;
use crate::scim::mapping::{check_mapping_source, mapped_fields, MappingSourceError};
use crate::scim::resource::{decode, user_document, user_profile};
use crate::scim::schema::ResourceType;
use crate::store::tenancy::{self, InstanceRecord, KeyRecord};
use crate::store::{CommandError, Store};
use aggregates::settings::{InstanceSettings, SettingsCommand, SettingsError};
use aggregates::user::{UserCommand, UserError};
use aggregates::values::InstanceId;
use chrono::Utc;
use projections::db::DbError;
use projections::directory::{app_user, find_app_user, AppUserRecord};
use projections::error::ProjectionError;
use projections::event_log;
use projections::metadata::{timestamp, EventMetadata};
use projections::scim_users::UserRecord;
use serde_json::Value;
use std::time::{Duration, Instant};

pub const DEFAULT_INSTANCE: &str = "default";
const DEFAULT_INTEGRATION_USER: &str = "scimd-admin";
/// Who administrative changes (CLI, admin API, imports) are recorded as made by.
pub const ADMIN_ACTOR: &str = DEFAULT_INTEGRATION_USER;
const MAX_NAME_CHARS: usize = 64;
const MAX_INTEGRATION_USER_CHARS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("instance names are 1 to {MAX_NAME_CHARS} letters, digits, '.', '_' or '-', starting with a letter or digit: {0:?}")]
    InvalidInstanceName(String),
    #[error("the integration user must be 1 to {MAX_INTEGRATION_USER_CHARS} printable characters")]
    InvalidIntegrationUser,
    #[error("instance {0:?} already exists")]
    InstanceExists(String),
    #[error("no instance is named {0:?}")]
    UnknownInstance(String),
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
    #[error("user {0} cannot be read back as a SCIM user: {1}")]
    Unreadable(String, String),
    #[error(transparent)]
    Db(#[from] DbError),
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

/// Users read per round trip when re-applying a mapping.
const REMAP_BATCH: i64 = 500;

/// Where administrative changes come from, in the change history.
const SOURCE_ADMIN_CLI: &str = "cli";

/// Who a valid key acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub instance_id: String,
    pub instance_name: String,
    pub integration_user: String,
    pub key_id: String,
}

/// A key just made: its record, and the token to show once.
pub struct IssuedKey {
    pub record: KeyRecord,
    pub token: String,
}

fn now() -> String {
    timestamp(Utc::now())
}

fn check_instance_name(name: &str) -> Result<(), AdminError> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(AdminError::InvalidInstanceName(name.to_string()))
    }
}

pub async fn create_instance(store: &Store, name: &str) -> Result<InstanceRecord, AdminError> {
    check_instance_name(name)?;
    let instance = InstanceRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
        created_at: now(),
    };
    if !tenancy::insert_instance(&store.db, &instance).await? {
        return Err(AdminError::InstanceExists(name.to_string()));
    }
    Ok(instance)
}

pub async fn list_instances(store: &Store) -> Result<Vec<InstanceRecord>, AdminError> {
    Ok(tenancy::instances(&store.db).await?)
}

pub async fn instance(store: &Store, name: &str) -> Result<InstanceRecord, AdminError> {
    tenancy::instance_named(&store.db, name)
        .await?
        .ok_or_else(|| AdminError::UnknownInstance(name.to_string()))
}

/// An instance's settings: custom fields, attribute mapping and roles.
pub async fn settings(store: &Store, instance_name: &str) -> Result<InstanceSettings, AdminError> {
    let instance = instance(store, instance_name).await?;
    Ok(store.commands.settings(&instance.id).await?)
}

/// Changes an instance's settings, recorded as done by the administrator through the CLI, and
/// returns them as they now are.
pub async fn change_settings(
    store: &Store,
    instance_name: &str,
    command: SettingsCommand,
) -> Result<InstanceSettings, AdminError> {
    let instance = instance(store, instance_name).await?;
    store
        .commands
        .execute_settings(&instance.id, command, &admin_metadata(&instance.id))
        .await?;
    Ok(store.commands.settings(&instance.id).await?)
}

/// The metadata of events an administrator causes.
fn admin_metadata(instance_id: &str) -> EventMetadata {
    EventMetadata {
        instance_id: instance_id.to_string(),
        actor: DEFAULT_INTEGRATION_USER.to_string(),
        key_id: None,
        correlation_id: uuid::Uuid::new_v4().to_string(),
        user_agent: None,
        source: SOURCE_ADMIN_CLI.to_string(),
        occurred_at: now(),
    }
}

/// How many users a re-application of the mapping looked at, and how many it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemapReport {
    pub users: usize,
    pub changed: usize,
}

/// Fills every live user's application fields again with the instance's current mapping; each
/// user whose fields change gets a mapped event. `progress` hears after each batch.
pub async fn apply_mappings(
    store: &Store,
    instance_name: &str,
    progress: impl Fn(RemapReport),
) -> Result<RemapReport, AdminError> {
    let instance = instance(store, instance_name).await?;
    let settings = store.commands.settings(&instance.id).await?;
    let users = Statements::new(ResourceType::User, store.db.dialect(), &instance.id, None);
    let mut report = RemapReport {
        users: 0,
        changed: 0,
    };
    let mut after = 0;
    loop {
        let batch: Vec<UserRecord> = store.db.fetch_all(&users.scan(after, REMAP_BATCH)).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.created_position;
        for record in &batch {
            let document = Value::Object(user_document(record));
            let profile = decode(ResourceType::User, &document)
                .and_then(user_profile)
                .map_err(|error| AdminError::Unreadable(record.id.clone(), error.detail))?;
            let mapped = mapped_fields(settings.mapping(), &profile);
            let current = app_user(&store.db, &record.id)
                .await?
                .map(|user| user.fields());
            report.users += 1;
            if current.as_ref() == Some(&mapped) {
                continue;
            }
            let command = UserCommand::Remap {
                instance_id: InstanceId::new(instance.id.clone()),
                mapped,
            };
            match store
                .commands
                .execute_user(&record.id, command, &admin_metadata(&instance.id))
                .await
            {
                Ok(()) => report.changed += 1,
                // Deleted since the batch was read: nothing left to map.
                Err(CommandError::Rejected(UserError::NotFound)) => {}
                Err(error) => return Err(AdminError::Store(error.to_string())),
            }
        }
        progress(report);
    }
    catch_up(store).await?;
    Ok(report)
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

/// The application User entity of an instance's user, by User Name.
pub async fn directory_entry(
    store: &Store,
    instance_name: &str,
    user_name: &str,
) -> Result<AppUserRecord, AdminError> {
    let instance = instance(store, instance_name).await?;
    catch_up(store).await?;
    find_app_user(&store.db, &instance.id, user_name)
        .await?
        .ok_or_else(|| AdminError::UnknownUser(user_name.to_string()))
}

/// Maps the SCIM attribute `attribute` onto the User entity field `field`, once the attribute
/// is known to name a single simple value of a User.
pub async fn set_mapping(
    store: &Store,
    instance_name: &str,
    field: &str,
    attribute: &str,
) -> Result<InstanceSettings, AdminError> {
    let command = SettingsCommand::SetMapping {
        field: field.to_string(),
        attribute: check_mapping_source(attribute)?,
    };
    change_settings(store, instance_name, command).await
}

pub async fn create_key(
    store: &Store,
    instance_name: &str,
    integration_user: &str,
) -> Result<IssuedKey, AdminError> {
    let user_ok = !integration_user.trim().is_empty()
        && integration_user.chars().count() <= MAX_INTEGRATION_USER_CHARS
        && !integration_user.chars().any(char::is_control);
    if !user_ok {
        return Err(AdminError::InvalidIntegrationUser);
    }
    let instance = instance(store, instance_name).await?;
    let key = NewApiKey::generate().map_err(AdminError::Randomness)?;
    let record = KeyRecord {
        id: key.key_id.clone(),
        instance_id: instance.id,
        integration_user: integration_user.to_string(),
        created_at: now(),
        revoked_at: None,
    };
    tenancy::insert_key(&store.db, &record, &key.secret_digest()).await?;
    tracing::info!(key_id = %record.id, instance = instance_name, "API key created");
    Ok(IssuedKey {
        record,
        token: key.token(),
    })
}

pub async fn list_keys(store: &Store, instance_name: &str) -> Result<Vec<KeyRecord>, AdminError> {
    let instance = instance(store, instance_name).await?;
    Ok(tenancy::keys_of(&store.db, &instance.id).await?)
}

pub async fn revoke_key(store: &Store, key_id: &str) -> Result<(), AdminError> {
    if tenancy::revoke_key(&store.db, key_id, &now()).await? {
        tracing::info!(key_id, "API key revoked");
        return Ok(());
    }
    if tenancy::key_exists(&store.db, key_id).await? {
        Err(AdminError::AlreadyRevoked(key_id.to_string()))
    } else {
        Err(AdminError::UnknownKey(key_id.to_string()))
    }
}

/// On a store without any instance, creates `default` with one key and returns that key, so
/// that a newcomer can call the API at once. Returns `None` when instances exist already (or
/// another replica just created it).
pub async fn ensure_default_instance(store: &Store) -> Result<Option<IssuedKey>, AdminError> {
    if !list_instances(store).await?.is_empty() {
        return Ok(None);
    }
    match create_instance(store, DEFAULT_INSTANCE).await {
        Ok(_) => {}
        Err(AdminError::InstanceExists(_)) => return Ok(None),
        Err(error) => return Err(error),
    }
    create_key(store, DEFAULT_INSTANCE, DEFAULT_INTEGRATION_USER)
        .await
        .map(Some)
}

/// The principal a bearer token acts for, if the token is a live key. Every request looks the
/// key up afresh, so a revocation takes effect on the next request.
pub async fn authenticate(store: &Store, token: &str) -> Result<Option<Principal>, DbError> {
    let Some(presented) = PresentedKey::parse(token) else {
        return Ok(None);
    };
    let Some(credential) = tenancy::credential(&store.db, presented.key_id).await? else {
        return Ok(None);
    };
    if credential.revoked_at.is_some() || !presented.matches(&credential.secret_sha256) {
        return Ok(None);
    }
    Ok(Some(Principal {
        instance_id: credential.instance_id,
        instance_name: credential.instance_name,
        integration_user: credential.integration_user,
        key_id: credential.id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_are_checked() {
        for good in ["default", "acme-prod", "a", "eu1.acme_2"] {
            assert!(check_instance_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-acme", "acme corp", "ümlaut", &"x".repeat(65)] {
            assert!(check_instance_name(bad).is_err(), "{bad}");
        }
    }
}
