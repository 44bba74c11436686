//! The provisioning log as stored: a plain table written by the server as it answers, with a
//! side table of whom each entry is about. Not events and not a projection: it records requests
//! that changed nothing (refusals, lookups), and `scimd rebuild` never touches it.

use aggregates::values::case_insensitive_key;
use projections::db::{Conditions, Db, DbError, Dialect, Sql};

/// What a log entry can be found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    /// A userName, stored as its case-insensitive key.
    UserName,
    ExternalId,
    /// The id of the User or Group the request addressed or created.
    ResourceId,
}

impl SubjectKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::UserName => "userName",
            Self::ExternalId => "externalId",
            Self::ResourceId => "id",
        }
    }
}

/// One SCIM request and its outcome. `sequence` orders the entries; it is 0 until stored.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct LogEntry {
    pub sequence: i64,
    pub instance_id: String,
    pub at: String,
    pub method: String,
    /// The path with its query string.
    pub path: String,
    pub status: i64,
    pub latency_us: i64,
    pub correlation_id: String,
    pub key_id: Option<String>,
    pub user_agent: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    /// The request failed, or (Bulk) at least one of its operations did.
    pub failed: bool,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    /// JSON text: the request body with credentials redacted, or a string saying why not.
    pub body: Option<String>,
    /// Every userName, externalId and resource id the request named.
    #[sqlx(skip)]
    #[serde(skip)]
    pub subjects: Vec<(SubjectKind, String)>,
}

/// The columns of an entry as read. A request by id (PATCH, PUT, DELETE /Users/{id}) names no
/// userName, so the one read is the name the user had when the request came, from the change
/// history (the latest entry of that id at or before the request; failing that, its first).
const COLUMNS: &str = "sequence, instance_id, at, method, path, status, latency_us, \
     correlation_id, key_id, user_agent, resource_type, resource_id, \
     COALESCE(user_name, \
        (SELECT h.entity_name FROM history_entries h \
          WHERE h.instance_id = provisioning_log.instance_id AND h.entity_type = 'User' \
            AND provisioning_log.resource_type = 'User' \
            AND h.entity_id = provisioning_log.resource_id AND h.entity_name IS NOT NULL \
            AND h.occurred_at <= provisioning_log.at \
          ORDER BY h.transaction_id DESC, h.position DESC LIMIT 1), \
        (SELECT h.entity_name FROM history_entries h \
          WHERE h.instance_id = provisioning_log.instance_id AND h.entity_type = 'User' \
            AND provisioning_log.resource_type = 'User' \
            AND h.entity_id = provisioning_log.resource_id AND h.entity_name IS NOT NULL \
          ORDER BY h.transaction_id, h.position LIMIT 1)) AS user_name, \
     external_id, failed, scim_type, detail, body";

/// Stores `entries` all or nothing; on SQLite in a transaction shared with other writes (see
/// `Db::execute_all`), on PostgreSQL in one statement whatever their number (`batch_statement`).
pub async fn insert(db: &Db, entries: &[LogEntry]) -> Result<(), DbError> {
    if entries.is_empty() {
        return Ok(());
    }
    if db.dialect() == Dialect::Postgres {
        return db.execute(&batch_statement(entries)).await.map(drop);
    }
    let mut statements = Vec::with_capacity(entries.len() * 4);
    for entry in entries {
        entry_statements(db.dialect(), entry, &mut statements);
    }
    db.execute_all(statements).await.map(|_| ())
}

/// The whole batch as one PostgreSQL statement, its text the same for any batch, so prepared
/// once: a statement per entry and per subject made the log's writer a round trip per row,
/// which under 10,000 lookups a second was more than one connection could send. The entries
/// travel as one JSON array; each takes its number from the log's own sequence, in the
/// batch's order (PostgreSQL calls a volatile function of the select list after the sort), and its subjects are inserted with that number in the same statement.
fn batch_statement(entries: &[LogEntry]) -> Sql {
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .enumerate()
        .map(|(place, entry)| {
            let subjects: Vec<serde_json::Value> = distinct_subjects(entry)
                .into_iter()
                .map(|(kind, value)| serde_json::json!({ "kind": kind.as_str(), "value": value }))
                .collect();
            serde_json::json!({
                "instance_id": entry.instance_id,
                "at": entry.at,
                "method": entry.method,
                "path": entry.path,
                "status": entry.status,
                "latency_us": entry.latency_us,
                "correlation_id": entry.correlation_id,
                "key_id": entry.key_id,
                "user_agent": entry.user_agent,
                "resource_type": entry.resource_type,
                "resource_id": entry.resource_id,
                "user_name": entry.user_name,
                "external_id": entry.external_id,
                "failed": entry.failed,
                "scim_type": entry.scim_type,
                "detail": entry.detail,
                "body": entry.body,
                "subjects": subjects,
                "place": place,
            })
        })
        .collect();
    Sql::new(
        "WITH entries AS MATERIALIZED (
             SELECT nextval(pg_get_serial_sequence('provisioning_log', 'sequence')) AS sequence,
                    e.*
               FROM json_to_recordset($1::json) AS e(
                    instance_id text, at text, method text, path text, status bigint,
                    latency_us bigint, correlation_id text, key_id text, user_agent text,
                    resource_type text, resource_id text, user_name text, external_id text,
                    failed boolean, scim_type text, detail text, body text, subjects json,
                    place bigint)
              ORDER BY e.place
         ), logged AS (
             INSERT INTO provisioning_log (sequence, instance_id, at, method, path, status,
                 latency_us, correlation_id, key_id, user_agent, resource_type, resource_id,
                 user_name, external_id, failed, scim_type, detail, body)
             OVERRIDING SYSTEM VALUE
             SELECT sequence, instance_id, at, method, path, status, latency_us,
                    correlation_id, key_id, user_agent, resource_type, resource_id, user_name,
                    external_id, failed, scim_type, detail, body
               FROM entries
         )
         INSERT INTO provisioning_log_subjects (entry, instance_id, kind, value)
         SELECT entries.sequence, entries.instance_id, subject.kind, subject.value
           FROM entries
          CROSS JOIN LATERAL json_to_recordset(entries.subjects) AS subject(kind text, value text)",
    )
    .bind(serde_json::Value::Array(rows).to_string())
}

/// The subjects of `entry`, each once: a userName as its case-insensitive key.
fn distinct_subjects(entry: &LogEntry) -> Vec<(SubjectKind, String)> {
    let mut seen = std::collections::HashSet::new();
    entry
        .subjects
        .iter()
        .map(|(kind, value)| match kind {
            SubjectKind::UserName => (*kind, case_insensitive_key(value)),
            _ => (*kind, value.clone()),
        })
        .filter(|subject| seen.insert(subject.clone()))
        .collect()
}

fn entry_statements(dialect: Dialect, entry: &LogEntry, statements: &mut Vec<Sql>) {
    let sql = Sql::new(
        "INSERT INTO provisioning_log (instance_id, at, method, path, status, latency_us,
             correlation_id, key_id, user_agent, resource_type, resource_id, user_name,
             external_id, failed, scim_type, detail, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(entry.instance_id.as_str())
    .bind(entry.at.as_str())
    .bind(entry.method.as_str())
    .bind(entry.path.as_str())
    .bind(entry.status)
    .bind(entry.latency_us)
    .bind(entry.correlation_id.as_str())
    .bind(entry.key_id.as_deref())
    .bind(entry.user_agent.as_deref())
    .bind(entry.resource_type.as_deref())
    .bind(entry.resource_id.as_deref())
    .bind(entry.user_name.as_deref())
    .bind(entry.external_id.as_deref())
    .bind(entry.failed)
    .bind(entry.scim_type.as_deref())
    .bind(entry.detail.as_deref())
    .bind(entry.body.as_deref());
    statements.push(sql);
    // The entry just inserted, named without reading its number back, so that a whole batch
    // is sent at once: the writer holds SQLite's write lock, so the newest entry is its own;
    // on PostgreSQL `currval` is this session's, whatever other replicas insert meanwhile.
    let entry_just_inserted = match dialect {
        Dialect::Sqlite => "(SELECT max(sequence) FROM provisioning_log)",
        Dialect::Postgres => "currval(pg_get_serial_sequence('provisioning_log', 'sequence'))",
    };
    for (kind, value) in distinct_subjects(entry) {
        let subject = Sql::new(format!(
            "INSERT INTO provisioning_log_subjects (entry, instance_id, kind, value)
             VALUES ({entry_just_inserted}, $1, $2, $3)"
        ))
        .bind(entry.instance_id.as_str())
        .bind(kind.as_str())
        .bind(value);
        statements.push(subject);
    }
}

/// What a log query asks for; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub instance_id: String,
    pub failed_only: bool,
    /// Entries naming this userName (any case), or addressing a user that had it.
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    /// The request with this correlation id (its `X-Request-Id`), in any case.
    pub correlation_id: Option<String>,
    /// Requests sent with this key.
    pub key_id: Option<String>,
    /// RFC 3339 bounds, inclusive, in scimd's fixed-width form.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Entries beyond this sequence in reading order, for paging.
    pub after: Option<i64>,
    /// Read from the latest entry back instead of from the first on.
    pub newest_first: bool,
    pub limit: i64,
}

/// One page of the log, in the order the entries were stored (or its reverse).
pub async fn page(db: &Db, query: &LogQuery) -> Result<Vec<LogEntry>, DbError> {
    let mut conditions = Conditions::default();
    conditions.bind("instance_id = ?", [query.instance_id.as_str().into()]);
    if query.failed_only {
        // Spelled as the partial index's condition, so that the index serves it.
        conditions.bind("failed", []);
    }
    if let Some(user_name) = &query.user_name {
        // A request by id (PATCH /Users/{id}) does not name the user: the change history
        // knows which ids have had this name, including users deleted since. ($1 is the
        // instance.)
        let key = case_insensitive_key(user_name);
        conditions.bind(
            "sequence IN (
                SELECT entry FROM provisioning_log_subjects
                 WHERE instance_id = $1 AND kind = 'userName' AND value = ?
                UNION
                SELECT s.entry FROM provisioning_log_subjects s
                 WHERE s.instance_id = $1 AND s.kind = 'id' AND s.value IN (
                    SELECT h.entity_id FROM history_entries h
                     WHERE h.instance_id = $1 AND h.entity_type = 'User'
                       AND h.entity_name_key = ?))",
            [key.as_str().into(), key.into()],
        );
    }
    if let Some(external_id) = &query.external_id {
        conditions.bind(
            "sequence IN (SELECT entry FROM provisioning_log_subjects
                 WHERE instance_id = $1 AND kind = 'externalId' AND value = ?)",
            [external_id.as_str().into()],
        );
    }
    if let Some(correlation_id) = &query.correlation_id {
        // scimd makes every correlation id itself (`ids::new_id`), always in lower case, so a
        // search in any case is the lower-cased search, and the index still serves it.
        let wanted = correlation_id.trim().to_ascii_lowercase();
        conditions.bind("correlation_id = ?", [wanted.into()]);
    }
    if let Some(key_id) = &query.key_id {
        conditions.bind("key_id = ?", [key_id.trim().into()]);
    }
    if let Some(since) = &query.since {
        conditions.bind("at >= ?", [since.as_str().into()]);
    }
    if let Some(until) = &query.until {
        conditions.bind("at <= ?", [until.as_str().into()]);
    }
    let after = query.after.map(|sequence| vec![sequence.into()]);
    let order = conditions.page_after(&["sequence"], after, query.newest_first);
    let sql = conditions.select(
        &format!("SELECT {COLUMNS} FROM provisioning_log"),
        &order,
        query.limit,
    );
    db.fetch_all(&sql).await
}

/// Deletes entries older than `before`, `chunk` at a time so that no statement holds the
/// store for long; how many it deleted.
pub async fn prune(db: &Db, before: &str, chunk: i64) -> Result<u64, DbError> {
    let sql = Sql::new(
        "DELETE FROM provisioning_log WHERE sequence IN (
             SELECT sequence FROM provisioning_log WHERE at < $1 ORDER BY at LIMIT $2)",
    )
    .bind(before)
    .bind(chunk);
    db.delete_in_chunks(&sql, chunk).await
}
