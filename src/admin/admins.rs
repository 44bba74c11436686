//! Named administrators: one credential per person for the admin API and the console, shown
//! once, kept only as a digest, revocable, so that every administrative change names who made
//! it. The bootstrap token (`SCIMD_ADMIN_TOKEN`) stays as the identity that creates the first
//! of them, and is recorded as itself (`BOOTSTRAP_ACTOR`), never as a person.

use super::token::AdminToken;
use super::{now, AdminError, BOOTSTRAP_ACTOR, FIRST_START_ACTOR, MAX_NAME_CHARS};
use crate::api_key::{NewApiKey, PresentedKey};
use crate::store::admins::{self, AdminRecord};
use crate::store::Store;
use aggregates::values::case_insensitive_key;
use projections::db::DbError;

/// Names that would pass for something other than a person in the history.
const RESERVED_NAMES: [&str; 3] = [BOOTSTRAP_ACTOR, FIRST_START_ACTOR, "scimd-admin"];

/// Who is administering: a named person, or the bootstrap token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Administrator {
    Named { id: String, name: String },
    Bootstrap,
}

impl Administrator {
    /// The actor the history records for this administrator's changes.
    pub fn actor(&self) -> &str {
        match self {
            Self::Named { name, .. } => name,
            Self::Bootstrap => BOOTSTRAP_ACTOR,
        }
    }
}

/// An administrator just made: their record, and the credential to show once.
pub struct IssuedAdmin {
    pub record: AdminRecord,
    pub token: String,
}

fn checked_name(name: &str) -> Result<String, AdminError> {
    let name = name.trim();
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.chars().any(char::is_control)
        && !RESERVED_NAMES
            .iter()
            .any(|reserved| reserved.eq_ignore_ascii_case(name));
    if valid {
        Ok(name.to_string())
    } else {
        Err(AdminError::InvalidAdminName(name.to_string()))
    }
}

pub async fn create_admin(store: &Store, name: &str) -> Result<IssuedAdmin, AdminError> {
    let name = checked_name(name)?;
    let key = NewApiKey::generate().map_err(AdminError::Randomness)?;
    let record = AdminRecord {
        id: key.key_id.clone(),
        name: name.clone(),
        created_at: now(),
        revoked_at: None,
    };
    let key_of_name = case_insensitive_key(&name);
    if !admins::insert_admin(&store.db, &record, &key_of_name, &key.secret_digest()).await? {
        return Err(AdminError::AdminExists(name));
    }
    tracing::info!(admin_id = %record.id, admin = %record.name, "administrator created");
    Ok(IssuedAdmin {
        record,
        token: key.admin_token(),
    })
}

pub async fn list_admins(store: &Store) -> Result<Vec<AdminRecord>, AdminError> {
    Ok(admins::admins(&store.db).await?)
}

/// Revokes the administrator with this id, or else the live one with this name; their
/// credential and sign-ins are refused from the next request on, in every process.
pub async fn revoke_admin(store: &Store, id_or_name: &str) -> Result<AdminRecord, AdminError> {
    let key_of_name = case_insensitive_key(id_or_name.trim());
    let Some(mut admin) =
        admins::admin_by_id_or_name(&store.db, id_or_name.trim(), &key_of_name).await?
    else {
        return Err(AdminError::UnknownAdmin(id_or_name.to_string()));
    };
    let at = now();
    if !admins::revoke_admin(&store.db, &admin.id, &at).await? {
        return Err(AdminError::AdminAlreadyRevoked(admin.name));
    }
    tracing::info!(admin_id = %admin.id, admin = %admin.name, "administrator revoked");
    admin.revoked_at = Some(at);
    Ok(admin)
}

/// The administrator a presented credential is, if any: the bootstrap token, or a live named
/// administrator's credential. The bootstrap token is compared first and whole, in constant
/// time, so that the store's answer tells nothing of it.
pub async fn authenticate_admin(
    store: &Store,
    bootstrap: &AdminToken,
    presented: &str,
) -> Result<Option<Administrator>, DbError> {
    if bootstrap.admits(presented) {
        return Ok(Some(Administrator::Bootstrap));
    }
    let Some(presented) = PresentedKey::parse_admin(presented.trim()) else {
        return Ok(None);
    };
    let Some(credential) = admins::credential(&store.db, presented.key_id).await? else {
        return Ok(None);
    };
    if credential.revoked_at.is_some() || !presented.matches(&credential.secret_sha256) {
        return Ok(None);
    }
    Ok(Some(Administrator::Named {
        id: credential.id,
        name: credential.name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_pass_for_no_person_are_refused() {
        assert_eq!(
            checked_name(" Ada Lovelace ").ok(),
            Some("Ada Lovelace".into())
        );
        for bad in ["", "  ", "Bootstrap Admin Token", "scimd-admin", "a\u{7}b"] {
            assert!(checked_name(bad).is_err(), "{bad:?}");
        }
        assert!(checked_name(&"x".repeat(65)).is_err());
    }
}
