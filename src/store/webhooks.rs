//! Webhook endpoints, their secrets and their delivery attempts as stored (migration 0023).
//! Plain tables, not events: the audited account of each change is the instance's settings
//! events; a secret must never reach the event log.
//!
//! A delivering process holds an endpoint's lease (`lease_owner`, `lease_until`), and every
//! write of its progress is conditional on still holding it and on the endpoint's
//! `generation` (raised by a replay): a process that lost the lease, or a group begun before
//! a replay, can neither move the cursor nor record attempts.

use projections::db::{placeholders, Db, DbError, Sql, SqlArg};

/// An endpoint as listed and shown: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct EndpointRecord {
    pub id: String,
    pub instance_id: String,
    pub url: String,
    pub description: String,
    /// Space-separated; empty: every type.
    pub types: String,
    pub state: String,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub cursor: i64,
    pub generation: i64,
    pub failures: i64,
    pub failing_since: Option<String>,
    pub next_attempt_at: Option<String>,
    pub previous_expires_at: Option<String>,
}

pub const ENABLED: &str = "enabled";
pub const DISABLED: &str = "disabled";

impl EndpointRecord {
    pub fn types(&self) -> Vec<String> {
        self.types.split_whitespace().map(str::to_string).collect()
    }

    pub fn is_enabled(&self) -> bool {
        self.state == ENABLED
    }
}

const ENDPOINT_COLUMNS: &str = "e.id, e.instance_id, e.url, e.description, e.types, e.state,
     e.disabled_reason, e.created_at, e.cursor, e.generation, e.failures, e.failing_since,
     e.next_attempt_at, s.previous_expires_at";
const ENDPOINTS: &str = "webhook_endpoints e JOIN webhook_secrets s ON s.endpoint_id = e.id";

/// The secrets an endpoint signs with.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct SecretRecord {
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<String>,
}

/// One attempt to deliver an event (or a test message) to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct AttemptRecord {
    pub id: i64,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i64,
    pub at: String,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub response: String,
    pub succeeded: bool,
}

/// An attempt about to be recorded (its id is the store's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    pub event_id: String,
    pub event_type: String,
    pub attempt: i64,
    pub at: String,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub response: String,
    pub succeeded: bool,
}

pub async fn insert_endpoint(
    db: &Db,
    endpoint: &EndpointRecord,
    secret: &str,
) -> Result<(), DbError> {
    let insert = Sql::new(
        "INSERT INTO webhook_endpoints (id, instance_id, url, description, types, state,
             created_at, cursor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&endpoint.id)
    .bind(&endpoint.instance_id)
    .bind(&endpoint.url)
    .bind(&endpoint.description)
    .bind(&endpoint.types)
    .bind(&endpoint.state)
    .bind(&endpoint.created_at)
    .bind(endpoint.cursor);
    let secret = Sql::new("INSERT INTO webhook_secrets (endpoint_id, secret) VALUES ($1, $2)")
        .bind(&endpoint.id)
        .bind(secret);
    db.execute_all(vec![insert, secret]).await.map(|_| ())
}

pub async fn endpoints_of(db: &Db, instance_id: &str) -> Result<Vec<EndpointRecord>, DbError> {
    let sql = Sql::new(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM {ENDPOINTS} WHERE e.instance_id = $1
         ORDER BY e.created_at, e.id"
    ))
    .bind(instance_id);
    db.fetch_all(&sql).await
}

pub async fn endpoint_by_id(db: &Db, id: &str) -> Result<Option<EndpointRecord>, DbError> {
    let sql = Sql::new(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM {ENDPOINTS} WHERE e.id = $1"
    ))
    .bind(id);
    db.fetch_optional(&sql).await
}

pub async fn endpoint(
    db: &Db,
    instance_id: &str,
    id: &str,
) -> Result<Option<EndpointRecord>, DbError> {
    let sql = Sql::new(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM {ENDPOINTS} WHERE e.instance_id = $1 AND e.id = $2"
    ))
    .bind(instance_id)
    .bind(id);
    db.fetch_optional(&sql).await
}

pub async fn secrets(db: &Db, id: &str) -> Result<Option<SecretRecord>, DbError> {
    let sql = Sql::new(
        "SELECT secret, previous_secret, previous_expires_at FROM webhook_secrets
         WHERE endpoint_id = $1",
    )
    .bind(id);
    db.fetch_optional(&sql).await
}

pub async fn disable(db: &Db, id: &str, reason: &str) -> Result<(), DbError> {
    let sql = Sql::new(
        "UPDATE webhook_endpoints SET state = $2, disabled_reason = $3, next_attempt_at = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(DISABLED)
    .bind(reason);
    db.execute(&sql).await.map(|_| ())
}

/// Enables the endpoint again: delivery resumes at once with the event it stopped at, and the
/// give-up period starts anew.
pub async fn enable(db: &Db, id: &str) -> Result<(), DbError> {
    let sql = Sql::new(
        "UPDATE webhook_endpoints SET state = $2, disabled_reason = NULL, failing_since = NULL,
             next_attempt_at = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(ENABLED);
    db.execute(&sql).await.map(|_| ())
}

pub async fn delete(db: &Db, id: &str) -> Result<(), DbError> {
    let statements = [
        "DELETE FROM webhook_attempts WHERE endpoint_id = $1",
        "DELETE FROM webhook_secrets WHERE endpoint_id = $1",
        "DELETE FROM webhook_endpoints WHERE id = $1",
    ]
    .into_iter()
    .map(|text| Sql::new(text).bind(id))
    .collect();
    db.execute_all(statements).await.map(|_| ())
}

/// Makes `secret` the current one; the current one becomes the previous, signing until
/// `previous_expires_at`.
pub async fn rotate(
    db: &Db,
    id: &str,
    secret: &str,
    previous_expires_at: &str,
) -> Result<(), DbError> {
    let sql = Sql::new(
        "UPDATE webhook_secrets SET previous_secret = secret, previous_expires_at = $3,
             secret = $2
         WHERE endpoint_id = $1",
    )
    .bind(id)
    .bind(secret)
    .bind(previous_expires_at);
    db.execute(&sql).await.map(|_| ())
}

/// Sets delivery back to resume after feed `seq` `cursor`, at once; a group of deliveries in
/// flight when this commits is not recorded (its generation is past).
pub async fn replay(db: &Db, id: &str, cursor: i64) -> Result<(), DbError> {
    let sql = Sql::new(
        "UPDATE webhook_endpoints SET cursor = $2, generation = generation + 1, failures = 0,
             failing_since = NULL, next_attempt_at = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(cursor);
    db.execute(&sql).await.map(|_| ())
}

/// The feed `seq` of the event `event_id` of `instance_id`.
pub async fn feed_seq_of(
    db: &Db,
    instance_id: &str,
    event_id: &str,
) -> Result<Option<i64>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Seq {
        seq: i64,
    }
    let sql = Sql::new("SELECT seq FROM feed_events WHERE id = $1 AND instance_id = $2")
        .bind(event_id)
        .bind(instance_id);
    let found: Option<Seq> = db.fetch_optional(&sql).await?;
    Ok(found.map(|found| found.seq))
}

/// The `seq` of `instance_id`'s latest feed event (0: none). The feed commits in `seq` order,
/// so every event up to it is visible once this is read.
pub async fn feed_head_of(db: &Db, instance_id: &str) -> Result<i64, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Seq {
        seq: i64,
    }
    let sql =
        Sql::new("SELECT coalesce(max(seq), 0) AS seq FROM feed_events WHERE instance_id = $1")
            .bind(instance_id);
    let head: Seq = db.fetch_one(&sql).await?;
    Ok(head.seq)
}

const ATTEMPT_COLUMNS: &str = "id, endpoint_id, event_id, event_type, attempt, at, status, error,
     latency_ms, response, succeeded";

/// A page of an endpoint's attempts, newest first, older than attempt `before` if given.
pub async fn attempts(
    db: &Db,
    endpoint_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AttemptRecord>, DbError> {
    let sql = Sql::new(format!(
        "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts
         WHERE endpoint_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(endpoint_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit);
    db.fetch_all(&sql).await
}

fn attempt_insert(endpoint_id: &str, attempts: &[NewAttempt]) -> Option<Sql> {
    if attempts.is_empty() {
        return None;
    }
    const WIDTH: usize = 10;
    let rows: Vec<String> = (0..attempts.len())
        .map(|row| format!("({})", placeholders(row * WIDTH + 1, WIDTH)))
        .collect();
    let mut sql = Sql::new(format!(
        "INSERT INTO webhook_attempts (endpoint_id, event_id, event_type, attempt, at, status,
             error, latency_ms, response, succeeded)
         VALUES {}",
        rows.join(", ")
    ));
    for attempt in attempts {
        sql.push_arg(endpoint_id);
        sql.push_arg(attempt.event_id.as_str());
        sql.push_arg(attempt.event_type.as_str());
        sql.push_arg(attempt.attempt);
        sql.push_arg(attempt.at.as_str());
        sql.push_arg(SqlArg::Int(attempt.status));
        sql.push_arg(attempt.error.clone());
        sql.push_arg(attempt.latency_ms);
        sql.push_arg(attempt.response.as_str());
        sql.push_arg(attempt.succeeded);
    }
    Some(sql)
}

/// Records an attempt outside any delivery (a test message).
pub async fn insert_attempt(
    db: &Db,
    endpoint_id: &str,
    attempt: &NewAttempt,
) -> Result<i64, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Id {
        id: i64,
    }
    if let Some(insert) = attempt_insert(endpoint_id, std::slice::from_ref(attempt)) {
        db.execute(&insert).await?;
    }
    // The newest attempt of the endpoint: test messages are sent one at a time per request,
    // and deliveries never carry this event id.
    let sql = Sql::new(
        "SELECT id FROM webhook_attempts WHERE endpoint_id = $1 AND event_id = $2
         ORDER BY id DESC LIMIT 1",
    )
    .bind(endpoint_id)
    .bind(attempt.event_id.as_str());
    let found: Id = db.fetch_one(&sql).await?;
    Ok(found.id)
}

/// Deletes attempts made before `before`, `chunk` at a time; how many.
pub async fn prune_attempts(db: &Db, before: &str, chunk: i64) -> Result<u64, DbError> {
    let sql = Sql::new(
        "DELETE FROM webhook_attempts WHERE id IN (
             SELECT id FROM webhook_attempts WHERE at < $1 ORDER BY at LIMIT $2)",
    )
    .bind(before)
    .bind(chunk);
    db.delete_in_chunks(&sql, chunk).await
}

// The delivery worker's side.

/// The enabled endpoints due for delivery at `now` whose lease is free, expired or `owner`'s,
/// and whose instance's feed has events after their cursor (of any type: an idle poll only
/// reads, and an endpoint that filters is looked at and let go).
pub async fn due(db: &Db, owner: &str, now: &str) -> Result<Vec<String>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Id {
        id: String,
    }
    let sql = Sql::new(
        "SELECT e.id FROM webhook_endpoints e
         WHERE e.state = $1 AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= $2)
           AND (e.lease_owner IS NULL OR e.lease_owner = $3 OR e.lease_until < $2)
           AND EXISTS (SELECT 1 FROM feed_events f
                       WHERE f.instance_id = e.instance_id AND f.seq > e.cursor)
         ORDER BY e.id",
    )
    .bind(ENABLED)
    .bind(now)
    .bind(owner);
    let found: Vec<Id> = db.fetch_all(&sql).await?;
    Ok(found.into_iter().map(|found| found.id).collect())
}

/// Takes or renews the lease of endpoint `id` for `owner` until `until`; whether it holds it.
pub async fn lease(
    db: &Db,
    id: &str,
    owner: &str,
    now: &str,
    until: &str,
) -> Result<bool, DbError> {
    let sql = Sql::new(
        "UPDATE webhook_endpoints SET lease_owner = $2, lease_until = $4
         WHERE id = $1 AND state = $5
           AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $3)",
    )
    .bind(id)
    .bind(owner)
    .bind(now)
    .bind(until)
    .bind(ENABLED);
    Ok(db.execute(&sql).await? == 1)
}

/// Lets go of the lease, so that any replica may take the endpoint at once.
pub async fn release(db: &Db, id: &str, owner: &str) -> Result<(), DbError> {
    let sql = Sql::new(
        "UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = NULL
         WHERE id = $1 AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner);
    db.execute(&sql).await.map(|_| ())
}

/// Where delivery to an endpoint stands after a group of attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub cursor: i64,
    pub failures: i64,
    pub failing_since: Option<String>,
    pub next_attempt_at: Option<String>,
    pub lease_until: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Recorded,
    /// The lease was lost or a replay came in between: nothing was written.
    Superseded,
}

/// Records `attempts` and moves the endpoint to `progress`, in one transaction, only while
/// `owner` holds its lease at `generation`.
pub async fn record(
    db: &Db,
    id: &str,
    owner: &str,
    generation: i64,
    attempts: &[NewAttempt],
    progress: &Progress,
) -> Result<Recorded, DbError> {
    let update = Sql::new(
        "UPDATE webhook_endpoints SET cursor = $4, failures = $5, failing_since = $6,
             next_attempt_at = $7, lease_until = $8
         WHERE id = $1 AND lease_owner = $2 AND generation = $3",
    )
    .bind(id)
    .bind(owner)
    .bind(generation)
    .bind(progress.cursor)
    .bind(progress.failures)
    .bind(progress.failing_since.clone())
    .bind(progress.next_attempt_at.clone())
    .bind(progress.lease_until.as_str());
    let mut tx = db.begin_write().await?;
    // First: on PostgreSQL the row lock it takes holds off a replay or another replica's
    // takeover until this commits.
    if tx.execute(&update).await? != 1 {
        return Ok(Recorded::Superseded);
    }
    if let Some(insert) = attempt_insert(id, attempts) {
        tx.execute(&insert).await?;
    }
    tx.commit().await?;
    Ok(Recorded::Recorded)
}
