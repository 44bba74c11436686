//! Instances (tenants) and their API keys.

use super::settings::record_settings_change;
use super::{
    instance, now, Action, AdminError, Source, DEFAULT_INSTANCE, DEFAULT_INTEGRATION_USER,
    FIRST_START_ACTOR, MAX_INTEGRATION_USER_CHARS, MAX_NAME_CHARS,
};
use crate::api_key::{NewApiKey, PresentedKey};
use crate::store::key_uses;
use crate::store::tenancy::{self, InstanceRecord, KeyCredential, KeyRecord};
use crate::store::Store;
use aggregates::settings::SettingsCommand;
use projections::db::DbError;

/// Who a valid key acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub instance_id: String,
    pub instance_name: String,
    pub integration_user: String,
    pub key_id: String,
}

/// The instance and key a request came with, whether or not the key admitted it: whose
/// provisioning log a request goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub instance_id: String,
    pub key_id: String,
}

/// What a bearer token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// A live key with the right secret.
    Admitted(Principal),
    /// Refused; `holder` is set when the token names an existing key (revoked, or presented
    /// with a wrong secret), so that the refusal is logged for that key's instance.
    Refused { holder: Option<KeyHolder> },
}

impl Authentication {
    /// Whose key the token is, admitted or not.
    pub fn holder(&self) -> Option<KeyHolder> {
        match self {
            Self::Admitted(principal) => Some(KeyHolder {
                instance_id: principal.instance_id.clone(),
                key_id: principal.key_id.clone(),
            }),
            Self::Refused { holder } => holder.clone(),
        }
    }
}

/// A key just made: its record, and the token to show once.
pub struct IssuedKey {
    pub record: KeyRecord,
    pub token: String,
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

/// Creates an instance; its creation is the first event of its log, made by `action`.
pub async fn create_instance(
    store: &Store,
    name: &str,
    action: &Action,
) -> Result<InstanceRecord, AdminError> {
    check_instance_name(name)?;
    let instance = InstanceRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
        created_at: now(),
    };
    if !tenancy::insert_instance(&store.db, &instance).await? {
        // The name in the case it was created in, which may not be the one asked for.
        let existing = tenancy::instance_named(&store.db, name).await?;
        let taken = existing.map_or_else(|| name.to_string(), |existing| existing.name);
        return Err(AdminError::InstanceExists(taken));
    }
    // After the row: the unique name decides which of two racing creations wins, and only the
    // winner's creation is recorded.
    let command = SettingsCommand::RecordInstanceCreated {
        name: instance.name.clone(),
    };
    record_settings_change(store, &instance.id, command, action).await?;
    Ok(instance)
}

pub async fn list_instances(store: &Store) -> Result<Vec<InstanceRecord>, AdminError> {
    Ok(tenancy::instances(&store.db).await?)
}

/// Issues a key, recorded in the instance's log as issued by `action` (never its secret).
pub async fn create_key(
    store: &Store,
    instance_name: &str,
    integration_user: &str,
    action: &Action,
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
        last_used_at: None,
    };
    // Recorded before the key exists: no key ever works without its issue in the log.
    let command = SettingsCommand::RecordKeyIssued {
        key_id: record.id.clone(),
        integration_user: record.integration_user.clone(),
    };
    record_settings_change(store, &record.instance_id, command, action).await?;
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

/// Revokes a key, recorded in its instance's log as revoked by `action`.
pub async fn revoke_key(store: &Store, key_id: &str, action: &Action) -> Result<(), AdminError> {
    if tenancy::revoke_key(&store.db, key_id, &now()).await? {
        tracing::info!(key_id, "API key revoked");
        // After the revocation: the key stops working first, whatever happens to the record.
        if let Some(key) = tenancy::credential(&store.db, key_id).await? {
            let command = SettingsCommand::RecordKeyRevoked {
                key_id: key.id,
                integration_user: key.integration_user,
            };
            record_settings_change(store, &key.instance_id, command, action).await?;
        }
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
    let action = Action::new(FIRST_START_ACTOR, Source::Cli);
    match create_instance(store, DEFAULT_INSTANCE, &action).await {
        Ok(_) => {}
        Err(AdminError::InstanceExists(_)) => return Ok(None),
        Err(error) => return Err(error),
    }
    create_key(store, DEFAULT_INSTANCE, DEFAULT_INTEGRATION_USER, &action)
        .await
        .map(Some)
}

/// The principal a bearer token acts for, if the token is a live key. A key admitted before is
/// admitted again from memory while no key or instance changed (see `VerifiedKeys`), so a
/// revocation, by any process, takes effect on the next request.
pub async fn authenticate(store: &Store, token: &str) -> Result<Authentication, DbError> {
    Ok(authenticate_with_settings(store, token).await?.0)
}

/// The last sequence number of an instance's settings, read by a request with its key check
/// (see `Store::current_settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsSequence {
    pub instance_id: String,
    pub sequence: i64,
}

/// As `authenticate`, reading in the same statement as the key generation the last sequence
/// number of the settings of the key's instance, when this process knows the key: a write
/// then learns that its key and its instance's held settings are current in one round trip.
pub async fn authenticate_with_settings(
    store: &Store,
    token: &str,
) -> Result<(Authentication, Option<SettingsSequence>), DbError> {
    let Some(presented) = PresentedKey::parse(token) else {
        return Ok((Authentication::Refused { holder: None }, None));
    };
    // Read before the key's row, so that a key held at this generation is at least as new.
    let (generation, settings) = match store.verified_keys.instance_of(presented.key_id) {
        Some(instance_id) => {
            let (generation, sequence) =
                tenancy::key_generation_and_settings(&store.db, &instance_id).await?;
            let settings = SettingsSequence {
                instance_id,
                sequence,
            };
            (generation, Some(settings))
        }
        None => (tenancy::key_generation(&store.db).await?, None),
    };
    let authentication = authenticate_at(store, &presented, generation).await?;
    // A key never moves to another instance; checked all the same.
    let settings = settings.filter(|settings| match &authentication {
        Authentication::Admitted(principal) => principal.instance_id == settings.instance_id,
        Authentication::Refused { .. } => false,
    });
    Ok((authentication, settings))
}

/// The key admitted from memory, without reading the store, with the key generation it was
/// held at: for a request that reads the generation with its own first statement, and is
/// answered only if that generation is this one (see `http::auth`).
pub fn admit_held(store: &Store, token: &str) -> Option<(Principal, i64)> {
    let presented = PresentedKey::parse(token)?;
    let (generation, credential) = store.verified_keys.admit_held(&presented)?;
    note_use(store, &credential.id);
    Some((principal(credential), generation))
}

async fn authenticate_at(
    store: &Store,
    presented: &PresentedKey<'_>,
    generation: i64,
) -> Result<Authentication, DbError> {
    if let Some(credential) = store.verified_keys.admit(generation, presented) {
        note_use(store, &credential.id);
        return Ok(Authentication::Admitted(principal(credential)));
    }
    store.metrics.key_lookups.inc();
    let Some(credential) = tenancy::credential(&store.db, presented.key_id).await? else {
        return Ok(Authentication::Refused { holder: None });
    };
    let genuine = presented.matches(&credential.secret_sha256);
    if genuine {
        // A revoked key's use too: "is the IdP still on the revoked key?"
        note_use(store, &credential.id);
    }
    if credential.revoked_at.is_some() || !genuine {
        let holder = KeyHolder {
            instance_id: credential.instance_id,
            key_id: credential.id,
        };
        return Ok(Authentication::Refused {
            holder: Some(holder),
        });
    }
    store.verified_keys.hold(generation, &credential);
    Ok(Authentication::Admitted(principal(credential)))
}

/// Notes a use of `key_id`; when its minute is up, writes it in the background, so that the
/// request never waits for that write (a failure is only logged: the next minute tries again).
fn note_use(store: &Store, key_id: &str) {
    let now = chrono::Utc::now();
    if !store.key_uses.due(key_id, now) {
        return;
    }
    let db = store.db.clone();
    let key_id = key_id.to_string();
    tokio::spawn(async move {
        if let Err(error) = key_uses::record_use(&db, &key_id, now).await {
            tracing::warn!(%error, key_id, "cannot record the key's last use");
        }
    });
}

fn principal(credential: KeyCredential) -> Principal {
    Principal {
        instance_id: credential.instance_id,
        instance_name: credential.instance_name,
        integration_user: credential.integration_user,
        key_id: credential.id,
    }
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
