//! Console sign-ins. Signing in trades a credential for a session: a random token the browser
//! keeps in an HttpOnly cookie (so no page script can read it) and the store keeps only as a
//! SHA-256, with an expiry. Every tab of the browser sends the cookie, so one sign-in serves
//! them all; signing out deletes the stored session, so the cookie is refused everywhere.
//!
//! A session is checked against the store on every request: a revoked administrator's
//! sessions, and the bootstrap token's once the server runs with another token, are refused at
//! once.

use super::admins::Administrator;
use super::token::AdminToken;
use super::{now, AdminError};
use crate::store::admins;
use crate::store::Store;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use projections::db::DbError;
use projections::hex::to_hex;
use projections::metadata::timestamp;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long a sign-in lasts: a working day, then the console asks again.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
const SESSION_TOKEN_BYTES: usize = 32;

fn digest(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// Starts a session for `administrator`; the token for the cookie.
pub async fn start_session(
    store: &Store,
    administrator: &Administrator,
    bootstrap: &AdminToken,
) -> Result<String, AdminError> {
    let mut bytes = [0u8; SESSION_TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(AdminError::Randomness)?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let started = Utc::now();
    let lifetime = chrono::Duration::from_std(SESSION_LIFETIME).unwrap_or_default();
    let (admin_id, fingerprint) = match administrator {
        Administrator::Named { id, .. } => (Some(id.as_str()), None),
        Administrator::Bootstrap => (None, Some(bootstrap.fingerprint())),
    };
    admins::delete_expired_sessions(&store.db, &timestamp(started)).await?;
    admins::insert_session(
        &store.db,
        &digest(&token),
        admin_id,
        fingerprint.as_deref(),
        &timestamp(started),
        &timestamp(started + lifetime),
    )
    .await?;
    Ok(token)
}

/// The administrator a session token signs in, if it is a live session of a live one.
pub async fn session(
    store: &Store,
    token: &str,
    bootstrap: &AdminToken,
) -> Result<Option<Administrator>, DbError> {
    let Some(found) = admins::session(&store.db, &digest(token)).await? else {
        return Ok(None);
    };
    if found.expires_at <= now() {
        return Ok(None);
    }
    Ok(
        match (found.admin_id, found.admin_name, found.admin_revoked_at) {
            (Some(id), Some(name), None) => Some(Administrator::Named { id, name }),
            (None, _, _) if found.bootstrap_fingerprint == Some(bootstrap.fingerprint()) => {
                Some(Administrator::Bootstrap)
            }
            _ => None,
        },
    )
}

/// Ends a session, in every tab and process.
pub async fn end_session(store: &Store, token: &str) -> Result<(), AdminError> {
    Ok(admins::delete_session(&store.db, &digest(token)).await?)
}
