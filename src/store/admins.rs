//! Named administrators and the console's sign-in sessions, as stored. Plain tables like the
//! API keys: a credential's digest must never reach the event log.
//!
//! Neither is held in memory: the admin plane serves people, not IdPs, and reading one row by
//! its primary key per request is what makes a revocation or a sign-out, by this process or
//! any other (the CLI, another replica), refuse the very next request.

use projections::db::{Db, DbError, Sql};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct AdminRecord {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// What checking an administrator's credential needs.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct AdminCredential {
    pub id: String,
    pub name: String,
    pub secret_sha256: String,
    pub revoked_at: Option<String>,
}

/// A stored sign-in, with its administrator (none for the bootstrap token).
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct SessionRecord {
    pub admin_id: Option<String>,
    pub admin_name: Option<String>,
    pub admin_revoked_at: Option<String>,
    pub bootstrap_fingerprint: Option<String>,
    pub expires_at: String,
}

/// False when a live administrator has that name already (any case).
pub async fn insert_admin(
    db: &Db,
    admin: &AdminRecord,
    name_key: &str,
    secret_sha256: &str,
) -> Result<bool, DbError> {
    let sql = Sql::new(
        "INSERT INTO admins (id, name, name_key, secret_sha256, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name_key) WHERE revoked_at IS NULL DO NOTHING",
    )
    .bind(&admin.id)
    .bind(&admin.name)
    .bind(name_key)
    .bind(secret_sha256)
    .bind(&admin.created_at);
    Ok(db.execute(&sql).await? == 1)
}

pub async fn admins(db: &Db) -> Result<Vec<AdminRecord>, DbError> {
    db.fetch_all(&Sql::new(
        "SELECT id, name, created_at, revoked_at FROM admins ORDER BY created_at, id",
    ))
    .await
}

/// The administrator with id `id`, or else the live one named `name_key`.
pub async fn admin_by_id_or_name(
    db: &Db,
    id: &str,
    name_key: &str,
) -> Result<Option<AdminRecord>, DbError> {
    let by_id =
        Sql::new("SELECT id, name, created_at, revoked_at FROM admins WHERE id = $1").bind(id);
    if let Some(found) = db.fetch_optional(&by_id).await? {
        return Ok(Some(found));
    }
    let by_name = Sql::new(
        "SELECT id, name, created_at, revoked_at FROM admins
          WHERE name_key = $1 AND revoked_at IS NULL",
    )
    .bind(name_key);
    db.fetch_optional(&by_name).await
}

pub async fn credential(db: &Db, id: &str) -> Result<Option<AdminCredential>, DbError> {
    let sql =
        Sql::new("SELECT id, name, secret_sha256, revoked_at FROM admins WHERE id = $1").bind(id);
    db.fetch_optional(&sql).await
}

/// Marks an administrator revoked and ends their sign-ins; false if revoked already.
pub async fn revoke_admin(db: &Db, id: &str, at: &str) -> Result<bool, DbError> {
    let sql = Sql::new("UPDATE admins SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(at);
    let revoked = db.execute(&sql).await? == 1;
    // The session check refuses a revoked administrator anyway; this only tidies up.
    db.execute(&Sql::new("DELETE FROM admin_sessions WHERE admin_id = $1").bind(id))
        .await?;
    Ok(revoked)
}

pub async fn insert_session(
    db: &Db,
    token_sha256: &str,
    admin_id: Option<&str>,
    bootstrap_fingerprint: Option<&str>,
    created_at: &str,
    expires_at: &str,
) -> Result<(), DbError> {
    let sql = Sql::new(
        "INSERT INTO admin_sessions
             (token_sha256, admin_id, bootstrap_fingerprint, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_sha256)
    .bind(admin_id)
    .bind(bootstrap_fingerprint)
    .bind(created_at)
    .bind(expires_at);
    db.execute(&sql).await.map(drop)
}

pub async fn session(db: &Db, token_sha256: &str) -> Result<Option<SessionRecord>, DbError> {
    let sql = Sql::new(
        "SELECT s.admin_id, a.name AS admin_name, a.revoked_at AS admin_revoked_at,
                s.bootstrap_fingerprint, s.expires_at
           FROM admin_sessions s LEFT JOIN admins a ON a.id = s.admin_id
          WHERE s.token_sha256 = $1",
    )
    .bind(token_sha256);
    db.fetch_optional(&sql).await
}

pub async fn delete_session(db: &Db, token_sha256: &str) -> Result<(), DbError> {
    let sql = Sql::new("DELETE FROM admin_sessions WHERE token_sha256 = $1").bind(token_sha256);
    db.execute(&sql).await.map(drop)
}

/// Forgets the sign-ins that expired before `now`.
pub async fn delete_expired_sessions(db: &Db, now: &str) -> Result<(), DbError> {
    let sql = Sql::new("DELETE FROM admin_sessions WHERE expires_at < $1").bind(now);
    db.execute(&sql).await.map(drop)
}
