//! Reading the event log in global order, as the projection runner and waiting requests need.
//!
//! On SQLite, `position` is assigned in commit order. On PostgreSQL it is not, so the order is
//! (`transaction_id`, `position`) and reading stops below the oldest running transaction: see
//! migrations/postgres/0001_event_store.sql.

use crate::chain::{Digest, EventContent};
use crate::db::{Db, Dialect, Sql, SqlArg, Tx};
use crate::error::ProjectionError;
use crate::metadata::EventMetadata;
use aggregates::group::{Group, GroupEvent};
use aggregates::settings::{InstanceSettings, SettingsEvent};
use aggregates::user::{upcast_payload, User, UserEvent};
use cqrs_es::Aggregate;
use std::collections::HashMap;
use std::fmt;

/// A place in the global order of events. SQLite leaves `transaction_id` at 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub transaction_id: i64,
    pub position: i64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.transaction_id == 0 {
            write!(f, "position {}", self.position)
        } else {
            write!(
                f,
                "position {} (transaction {})",
                self.position, self.transaction_id
            )
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    User(UserEvent),
    Group(GroupEvent),
    Settings(SettingsEvent),
}

/// An event as stored, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub position: Position,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event: DomainEvent,
    pub metadata: EventMetadata,
    /// The digest of the row as stored, which the hash chain seals.
    pub content_digest: Digest,
}

/// An event exactly as stored: what the projector decodes, the chain seals, and `scimd verify`
/// copies elsewhere.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct StoredEvent {
    pub position: i64,
    pub transaction_id: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
}

impl StoredEvent {
    fn position(&self) -> Position {
        Position {
            transaction_id: self.transaction_id,
            position: self.position,
        }
    }

    fn decode(self) -> Result<RecordedEvent, ProjectionError> {
        let position = self.position();
        let content_digest = EventContent {
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            sequence: self.sequence,
            event_type: &self.event_type,
            event_version: &self.event_version,
            payload: &self.payload,
            metadata: &self.metadata,
        }
        .digest();
        let unreadable = |reason: String| ProjectionError::UnreadableEvent { position, reason };
        if self.event_version != aggregates::EVENT_VERSION {
            return Err(unreadable(format!(
                "event version {} is not known to this build",
                self.event_version
            )));
        }
        let event = match self.aggregate_type.as_str() {
            User::TYPE => serde_json::from_str(&self.payload)
                .and_then(|payload| serde_json::from_value(upcast_payload(payload)))
                .map(DomainEvent::User),
            Group::TYPE => serde_json::from_str(&self.payload).map(DomainEvent::Group),
            InstanceSettings::TYPE => {
                serde_json::from_str(&self.payload).map(DomainEvent::Settings)
            }
            other => return Err(unreadable(format!("unknown aggregate type {other}"))),
        }
        .map_err(|error| unreadable(error.to_string()))?;
        let metadata: HashMap<String, String> =
            serde_json::from_str(&self.metadata).map_err(|error| unreadable(error.to_string()))?;
        Ok(RecordedEvent {
            position,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            sequence: self.sequence,
            event,
            metadata: EventMetadata::from_map(&metadata),
            content_digest,
        })
    }
}

/// The columns of a `StoredEvent`, as each store reads them.
fn event_columns(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "position, 0 AS transaction_id, aggregate_type, aggregate_id, sequence, \
             event_type, event_version, payload, metadata"
        }
        Dialect::Postgres => {
            "position, transaction_id::text::bigint AS transaction_id, aggregate_type, \
             aggregate_id, sequence, event_type, event_version, payload::text AS payload, \
             metadata::text AS metadata"
        }
    }
}

/// Up to `limit` events after `after`, in global order.
pub async fn read_after(
    tx: &mut Tx,
    after: Position,
    limit: i64,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let columns = event_columns(tx.dialect());
    let sql = match tx.dialect() {
        Dialect::Sqlite => Sql::new(format!(
            "SELECT {columns} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(after.position)
        .bind(limit),
        Dialect::Postgres => Sql::new(format!(
            "SELECT {columns} FROM events
              WHERE (transaction_id, position) > ($1::text::xid8, $2)
                AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY events.transaction_id, events.position
              LIMIT $3"
        ))
        .bind(after.transaction_id.to_string())
        .bind(after.position)
        .bind(limit),
    };
    let rows: Vec<StoredEvent> = tx.fetch_all(&sql).await?;
    rows.into_iter().map(StoredEvent::decode).collect()
}

/// The events `condition` (SQL over `events`, its arguments `$1`… bound in `args`) selects,
/// each aggregate's in sequence order.
pub async fn events_where(
    db: &Db,
    condition: &str,
    args: Vec<SqlArg>,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let text = format!(
        "SELECT {} FROM events WHERE {condition}
          ORDER BY aggregate_type, aggregate_id, sequence",
        event_columns(db.dialect())
    );
    let sql = args.into_iter().fold(Sql::new(text), Sql::bind);
    let rows: Vec<StoredEvent> = db.fetch_all(&sql).await?;
    rows.into_iter().map(StoredEvent::decode).collect()
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct PositionRow {
    position: i64,
    transaction_id: i64,
}

/// Where the last event of one aggregate stands in the global order: once the read model has
/// passed it, it reflects everything that aggregate has committed so far.
pub async fn last_position_of(
    db: &Db,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Option<Position>, ProjectionError> {
    let transaction_id = match db.dialect() {
        Dialect::Sqlite => "0",
        Dialect::Postgres => "transaction_id::text::bigint",
    };
    let sql = Sql::new(format!(
        "SELECT position, {transaction_id} AS transaction_id FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2
          ORDER BY sequence DESC LIMIT 1"
    ))
    .bind(aggregate_type)
    .bind(aggregate_id);
    let row: Option<PositionRow> = db.fetch_optional(&sql).await?;
    Ok(row.map(|row| Position {
        transaction_id: row.transaction_id,
        position: row.position,
    }))
}

/// The sequence number of the aggregate's last event, 0 if it has none: one row read backwards
/// along the primary key, however long its history. Events are never edited, so an aggregate
/// whose last sequence is unchanged is unchanged.
pub async fn last_sequence_of(
    db: &Db,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<i64, ProjectionError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Last {
        sequence: i64,
    }
    let sql = Sql::new(
        "SELECT sequence FROM events WHERE aggregate_type = $1 AND aggregate_id = $2
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(aggregate_type)
    .bind(aggregate_id);
    let last: Option<Last> = db.fetch_optional(&sql).await?;
    Ok(last.map_or(0, |last| last.sequence))
}

/// Whether the aggregate's first event was written in `instance_id`. One row is read by the
/// primary key whether the aggregate is the instance's, another instance's or no one's, so
/// the answer takes alike for each: a request can be refused an id of another instance without
/// loading that aggregate's history, whose cost would tell that the id exists.
pub async fn written_in(
    db: &Db,
    aggregate_type: &str,
    aggregate_id: &str,
    instance_id: &str,
) -> Result<bool, ProjectionError> {
    let instance = match db.dialect() {
        Dialect::Sqlite => "json_extract(metadata, '$.instance_id')",
        Dialect::Postgres => "metadata ->> 'instance_id'",
    };
    let sql = Sql::new(format!(
        "SELECT COUNT(*) AS count FROM (SELECT metadata FROM events
                                  WHERE aggregate_type = $1 AND aggregate_id = $2
                                  ORDER BY sequence LIMIT 1) first_event
          WHERE {instance} = $3"
    ))
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(instance_id);
    let row: CountRow = db.fetch_one(&sql).await?;
    Ok(row.count > 0)
}

/// Those of `ids` (aggregates of `aggregate_type`) whose last event so far is of
/// `event_type`: for a final event such as a deletion, those that ended so. Read from the log
/// itself, which shows every committed event at once, whereas the read models may still be
/// catching up. Only each aggregate's last row is read (the primary key, backwards), so the
/// cost does not grow with its history: a group member may be a group with 100,000 events.
pub async fn ended_by(
    db: &Db,
    aggregate_type: &str,
    event_type: &str,
    ids: &[String],
) -> Result<Vec<String>, ProjectionError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Found {
        aggregate_id: String,
    }
    /// Well inside SQLite's limit of 500 terms in one compound SELECT.
    const CHUNK: usize = 100;
    let mut found = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        // One LIMIT 1 subquery per aggregate; both stores need it wrapped to take ORDER BY.
        let selects: Vec<String> = (0..chunk.len())
            .map(|n| {
                format!(
                    "SELECT aggregate_id FROM (
                         SELECT aggregate_id, event_type FROM events
                          WHERE aggregate_type = $1 AND aggregate_id = ${}
                          ORDER BY sequence DESC LIMIT 1) AS last_{n}
                      WHERE event_type = $2",
                    n + 3
                )
            })
            .collect();
        let mut sql = Sql::new(selects.join(" UNION ALL "))
            .bind(aggregate_type)
            .bind(event_type);
        for id in chunk {
            sql.push_arg(id.as_str());
        }
        let rows: Vec<Found> = db.fetch_all(&sql).await?;
        found.extend(rows.into_iter().map(|row| row.aggregate_id));
    }
    Ok(found)
}

/// The statement `head` runs. On PostgreSQL the order is by `events.transaction_id`, qualified
/// (as in the catch-up reads): unqualified, `ORDER BY` would take the selected `bigint` of that
/// name, which no index orders, and sort the whole log on every call.
pub fn head_statement(dialect: Dialect) -> Sql {
    match dialect {
        Dialect::Sqlite => Sql::new(
            "SELECT position, 0 AS transaction_id FROM events ORDER BY position DESC LIMIT 1",
        ),
        Dialect::Postgres => Sql::new(
            "SELECT position, transaction_id::text::bigint AS transaction_id FROM events
              ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1",
        ),
    }
}

/// The position of the newest event committed so far.
pub async fn head(db: &Db) -> Result<Position, ProjectionError> {
    let sql = head_statement(db.dialect());
    let row: Option<PositionRow> = db.fetch_optional(&sql).await?;
    Ok(row
        .map(|row| Position {
            transaction_id: row.transaction_id,
            position: row.position,
        })
        .unwrap_or_default())
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct CountRow {
    count: i64,
}

/// How many events `tx` sees committed after `after`.
pub async fn count_after(tx: &mut Tx, after: Position) -> Result<i64, ProjectionError> {
    let sql = match tx.dialect() {
        Dialect::Sqlite => Sql::new("SELECT COUNT(*) AS count FROM events WHERE position > $1")
            .bind(after.position),
        Dialect::Postgres => Sql::new(
            "SELECT COUNT(*) AS count FROM events
              WHERE (transaction_id, position) > ($1::text::xid8, $2)",
        )
        .bind(after.transaction_id.to_string())
        .bind(after.position),
    };
    let row: Option<CountRow> = tx.fetch_optional(&sql).await?;
    Ok(row.map_or(0, |row| row.count))
}

/// Up to `limit` stored events after `after` and up to `until`, in global order.
pub async fn stored_between(
    tx: &mut Tx,
    after: Position,
    until: Position,
    limit: i64,
) -> Result<Vec<StoredEvent>, ProjectionError> {
    let columns = event_columns(tx.dialect());
    let sql = match tx.dialect() {
        Dialect::Sqlite => Sql::new(format!(
            "SELECT {columns} FROM events WHERE position > $1 AND position <= $2
              ORDER BY position LIMIT $3"
        ))
        .bind(after.position)
        .bind(until.position)
        .bind(limit),
        Dialect::Postgres => Sql::new(format!(
            "SELECT {columns} FROM events
              WHERE (transaction_id, position) > ($1::text::xid8, $2)
                AND (transaction_id, position) <= ($3::text::xid8, $4)
              ORDER BY events.transaction_id, events.position
              LIMIT $5"
        ))
        .bind(after.transaction_id.to_string())
        .bind(after.position)
        .bind(until.transaction_id.to_string())
        .bind(until.position)
        .bind(limit),
    };
    Ok(tx.fetch_all(&sql).await?)
}

/// Appends `events` to another store's log with their positions (and transaction ids) as they
/// were, so that a copy orders them as the original does. The copy's log must not number
/// events itself: see `scimd verify`'s scratch store.
pub async fn insert_stored(tx: &mut Tx, events: &[StoredEvent]) -> Result<(), ProjectionError> {
    if events.is_empty() {
        return Ok(());
    }
    let postgres = tx.dialect() == Dialect::Postgres;
    let per_row = if postgres { 9 } else { 8 };
    let rows: Vec<String> = (0..events.len())
        .map(|row| {
            let n = |column: usize| row * per_row + column;
            if postgres {
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}::jsonb, ${}::jsonb, ${}, ${}::text::xid8)",
                    n(1),
                    n(2),
                    n(3),
                    n(4),
                    n(5),
                    n(6),
                    n(7),
                    n(8),
                    n(9)
                )
            } else {
                format!("({})", crate::db::placeholders(n(1), per_row))
            }
        })
        .collect();
    let (columns, overriding) = if postgres {
        ("position, transaction_id", "OVERRIDING SYSTEM VALUE")
    } else {
        ("position", "")
    };
    let mut sql = Sql::new(format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata, {columns}) {overriding}
         VALUES {}",
        rows.join(", ")
    ));
    for event in events {
        sql.push_arg(event.aggregate_type.as_str());
        sql.push_arg(event.aggregate_id.as_str());
        sql.push_arg(event.sequence);
        sql.push_arg(event.event_type.as_str());
        sql.push_arg(event.event_version.as_str());
        sql.push_arg(event.payload.as_str());
        sql.push_arg(event.metadata.as_str());
        sql.push_arg(event.position);
        if postgres {
            sql.push_arg(event.transaction_id.to_string());
        }
    }
    tx.execute(&sql).await?;
    Ok(())
}

/// Up to `limit` events of one aggregate with `from <= sequence <= until`, in sequence order:
/// read along the primary key.
pub async fn aggregate_events_between(
    tx: &mut Tx,
    aggregate_type: &str,
    aggregate_id: &str,
    (from, until): (i64, i64),
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let sql = Sql::new(format!(
        "SELECT {} FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence >= $3 AND sequence <= $4
          ORDER BY sequence",
        event_columns(tx.dialect())
    ))
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(from)
    .bind(until);
    let rows: Vec<StoredEvent> = tx.fetch_all(&sql).await?;
    rows.into_iter().map(StoredEvent::decode).collect()
}
