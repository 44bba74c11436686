//! Administrative operations on instances, keys and instance settings: the one implementation
//! behind the CLI (and, later, the admin HTTP API), so both can do exactly the same things.

use crate::api_key::{NewApiKey, PresentedKey};
use crate::scim::mapping::{check_mapping_source, MappingSourceError};
use crate::store::tenancy::{self, InstanceRecord, KeyRecord};
use crate::store::{CommandError, Store};
use aggregates::settings::{InstanceSettings, SettingsCommand, SettingsError};
use chrono::Utc;
use projections::db::DbError;
use projections::metadata::{timestamp, EventMetadata};

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

async fn instance(store: &Store, name: &str) -> Result<InstanceRecord, AdminError> {
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
    let metadata = EventMetadata {
        instance_id: instance.id.clone(),
        actor: DEFAULT_INTEGRATION_USER.to_string(),
        key_id: None,
        correlation_id: uuid::Uuid::new_v4().to_string(),
        user_agent: None,
        source: SOURCE_ADMIN_CLI.to_string(),
        occurred_at: now(),
    };
    store
        .commands
        .execute_settings(&instance.id, command, &metadata)
        .await?;
    Ok(store.commands.settings(&instance.id).await?)
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
