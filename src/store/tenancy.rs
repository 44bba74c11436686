//! Instances and API keys as stored. Plain tables, not events: a key's secret must never
//! reach the event log, and neither needs replaying.

use aggregates::settings::InstanceSettings;
use cqrs_es::Aggregate;
use projections::db::{Db, DbError, Sql};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct InstanceRecord {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct KeyRecord {
    pub id: String,
    pub instance_id: String,
    pub integration_user: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// The last request that presented the key with its secret, admitted or refused as
    /// revoked, as far as written (see `key_uses`).
    pub last_used_at: Option<String>,
}

/// What authenticating a request needs to know about a key.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct KeyCredential {
    pub id: String,
    pub instance_id: String,
    pub instance_name: String,
    pub integration_user: String,
    pub secret_sha256: String,
    pub revoked_at: Option<String>,
}

/// Inserts `instance`; false if an instance has its name in any case (migrations `0016`).
pub async fn insert_instance(db: &Db, instance: &InstanceRecord) -> Result<bool, DbError> {
    let sql = Sql::new(
        "INSERT INTO instances (id, name, created_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(&instance.id)
    .bind(&instance.name)
    .bind(&instance.created_at);
    Ok(db.execute(&sql).await? == 1)
}

pub async fn instances(db: &Db) -> Result<Vec<InstanceRecord>, DbError> {
    db.fetch_all(&Sql::new(
        "SELECT id, name, created_at FROM instances ORDER BY name",
    ))
    .await
}

pub async fn instance_named(db: &Db, name: &str) -> Result<Option<InstanceRecord>, DbError> {
    // Spelled as the unique index on lower(name), so that the index serves it.
    let sql = Sql::new("SELECT id, name, created_at FROM instances WHERE lower(name) = lower($1)")
        .bind(name);
    db.fetch_optional(&sql).await
}

pub async fn instance_with_id(db: &Db, id: &str) -> Result<Option<InstanceRecord>, DbError> {
    let sql = Sql::new("SELECT id, name, created_at FROM instances WHERE id = $1").bind(id);
    db.fetch_optional(&sql).await
}

pub async fn insert_key(db: &Db, key: &KeyRecord, secret_sha256: &str) -> Result<(), DbError> {
    let sql = Sql::new(
        "INSERT INTO api_keys (id, instance_id, integration_user, secret_sha256, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&key.id)
    .bind(&key.instance_id)
    .bind(&key.integration_user)
    .bind(secret_sha256)
    .bind(&key.created_at);
    db.execute(&sql).await.map(drop)
}

pub async fn keys_of(db: &Db, instance_id: &str) -> Result<Vec<KeyRecord>, DbError> {
    let sql = Sql::new(
        "SELECT k.id, k.instance_id, k.integration_user, k.created_at, k.revoked_at,
                u.last_used_at
           FROM api_keys k LEFT JOIN key_uses u ON u.key_id = k.id
          WHERE k.instance_id = $1 ORDER BY k.created_at, k.id",
    )
    .bind(instance_id);
    db.fetch_all(&sql).await
}

/// Marks a key revoked; false if there is no such key or it was revoked already.
pub async fn revoke_key(db: &Db, key_id: &str, at: &str) -> Result<bool, DbError> {
    let sql = Sql::new("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(key_id)
        .bind(at);
    Ok(db.execute(&sql).await? == 1)
}

pub async fn key_exists(db: &Db, key_id: &str) -> Result<bool, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Found {
        id: String,
    }
    let sql = Sql::new("SELECT id FROM api_keys WHERE id = $1").bind(key_id);
    let found: Option<Found> = db.fetch_optional(&sql).await?;
    Ok(found.is_some_and(|found| found.id == key_id))
}

/// The number every change of a key or an instance moves on (see `VerifiedKeys`).
pub async fn key_generation(db: &Db) -> Result<i64, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Generation {
        generation: i64,
    }
    let sql = Sql::new("SELECT generation FROM key_generation WHERE id = 1");
    let row: Generation = db.fetch_one(&sql).await?;
    Ok(row.generation)
}

/// The key generation and, in the same statement, the last sequence number of the settings
/// of `instance_id` (0: none yet), so that a write learns whether its held key and its held
/// settings are current in one round trip (see `Store::current_settings`).
pub async fn key_generation_and_settings(
    db: &Db,
    instance_id: &str,
) -> Result<(i64, i64), DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Freshness {
        generation: i64,
        settings_sequence: i64,
    }
    let sql = Sql::new(
        "SELECT (SELECT generation FROM key_generation WHERE id = 1) AS generation,
                COALESCE((SELECT sequence FROM events
                           WHERE aggregate_type = $1 AND aggregate_id = $2
                           ORDER BY sequence DESC LIMIT 1), 0) AS settings_sequence",
    )
    .bind(InstanceSettings::TYPE)
    .bind(instance_id);
    let row: Freshness = db.fetch_one(&sql).await?;
    Ok((row.generation, row.settings_sequence))
}

pub async fn credential(db: &Db, key_id: &str) -> Result<Option<KeyCredential>, DbError> {
    let sql = Sql::new(
        "SELECT k.id, k.instance_id, i.name AS instance_name, k.integration_user,
                k.secret_sha256, k.revoked_at
           FROM api_keys k JOIN instances i ON i.id = k.instance_id
          WHERE k.id = $1",
    )
    .bind(key_id);
    db.fetch_optional(&sql).await
}
