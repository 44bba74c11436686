//! Reading the event log in global order, as the projection runner and waiting requests need.
//!
//! On SQLite, `position` is assigned in commit order. On PostgreSQL it is not, so the order is
//! (`transaction_id`, `position`) and reading stops below the oldest running transaction: see
//! migrations/postgres/0001_event_store.sql.

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
    pub aggregate_id: String,
    pub sequence: i64,
    pub event: DomainEvent,
    pub metadata: EventMetadata,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    position: i64,
    transaction_id: i64,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_version: String,
    payload: String,
    metadata: String,
}

impl EventRow {
    fn position(&self) -> Position {
        Position {
            transaction_id: self.transaction_id,
            position: self.position,
        }
    }

    fn decode(self) -> Result<RecordedEvent, ProjectionError> {
        let position = self.position();
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
            aggregate_id: self.aggregate_id,
            sequence: self.sequence,
            event,
            metadata: EventMetadata::from_map(&metadata),
        })
    }
}

/// The columns of an `EventRow`, as each store reads them.
fn event_columns(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "position, 0 AS transaction_id, aggregate_type, aggregate_id, sequence, \
             event_version, payload, metadata"
        }
        Dialect::Postgres => {
            "position, transaction_id::text::bigint AS transaction_id, aggregate_type, \
             aggregate_id, sequence, event_version, payload::text AS payload, \
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
              ORDER BY transaction_id, position
              LIMIT $3"
        ))
        .bind(after.transaction_id.to_string())
        .bind(after.position)
        .bind(limit),
    };
    let rows: Vec<EventRow> = tx.fetch_all(&sql).await?;
    rows.into_iter().map(EventRow::decode).collect()
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
    let rows: Vec<EventRow> = db.fetch_all(&sql).await?;
    rows.into_iter().map(EventRow::decode).collect()
}

#[derive(sqlx::FromRow)]
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

/// The position of the newest event committed so far.
pub async fn head(db: &Db) -> Result<Position, ProjectionError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => Sql::new(
            "SELECT position, 0 AS transaction_id FROM events ORDER BY position DESC LIMIT 1",
        ),
        Dialect::Postgres => Sql::new(
            "SELECT position, transaction_id::text::bigint AS transaction_id FROM events
              ORDER BY transaction_id DESC, position DESC LIMIT 1",
        ),
    };
    let row: Option<PositionRow> = db.fetch_optional(&sql).await?;
    Ok(row
        .map(|row| Position {
            transaction_id: row.transaction_id,
            position: row.position,
        })
        .unwrap_or_default())
}
