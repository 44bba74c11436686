//! The events time travel folds, read by aggregate through the events table's primary key
//! (aggregate_type, aggregate_id, sequence), never the whole log where it can be avoided; and
//! the cut of the log for a moment, which reads the stamps after that moment from their index.

use super::fold::Cut;
use crate::db::{placeholders, Db, Dialect, Sql, SqlArg};
use crate::error::ProjectionError;
use crate::event_log::{events_where, Position, RecordedEvent};
use aggregates::group::Group;
use cqrs_es::Aggregate;
use std::collections::HashSet;

/// Keeps each statement's parameter count well inside both stores' limits.
const CHUNK: usize = 500;

/// Every event of one aggregate, in order.
pub async fn aggregate_events(
    db: &Db,
    aggregate_type: &str,
    id: &str,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let args = vec![aggregate_type.into(), id.into()];
    events_where(db, "aggregate_type = $1 AND aggregate_id = $2", args).await
}

const MEMBER_EVENTS: &str = "'GroupMemberAdded', 'GroupMemberRemoved'";

/// Every member change about `member_id`, in any group. The member is inside the payload, which
/// no index covers: this scans the group events of the store with a cheap predicate on each,
/// and decodes only the matches.
pub async fn member_events(
    db: &Db,
    member_id: &str,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let member = match db.dialect() {
        Dialect::Sqlite => "json_extract(payload, '$.' || event_type || '.member.id')",
        Dialect::Postgres => "payload -> event_type -> 'member' ->> 'id'",
    };
    let condition =
        format!("aggregate_type = $1 AND event_type IN ({MEMBER_EVENTS}) AND {member} = $2");
    events_where(db, &condition, vec![Group::TYPE.into(), member_id.into()]).await
}

/// The groups' own events (created, renamed, deleted, ...), without their member changes.
pub async fn group_own_events(
    db: &Db,
    group_ids: &[String],
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let mut events = Vec::new();
    for chunk in group_ids.chunks(CHUNK) {
        let condition = format!(
            "aggregate_type = $1 AND aggregate_id IN ({}) AND event_type NOT IN ({MEMBER_EVENTS})",
            placeholders(2, chunk.len())
        );
        let mut args: Vec<SqlArg> = vec![Group::TYPE.into()];
        args.extend(chunk.iter().map(SqlArg::from));
        events.extend(events_where(db, &condition, args).await?);
    }
    Ok(events)
}

/// Which of `ids` (users or groups) had been deleted before `cut`.
pub async fn deleted_among(
    db: &Db,
    ids: &[String],
    cut: Cut,
) -> Result<HashSet<String>, ProjectionError> {
    let mut deleted = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let condition = format!(
            "aggregate_type IN ('User', 'Group') AND aggregate_id IN ({})
               AND event_type IN ('UserDeleted', 'GroupDeleted')",
            placeholders(1, chunk.len())
        );
        let args = chunk.iter().map(SqlArg::from).collect();
        let events = events_where(db, &condition, args).await?;
        deleted.extend(
            events
                .into_iter()
                .filter(|recorded| cut.includes(recorded))
                .map(|recorded| recorded.aggregate_id),
        );
    }
    Ok(deleted)
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct CutRow {
    transaction_id: i64,
    position: i64,
}

/// The cut of the log for `until` (fixed-width RFC 3339 text, so text order is time order; no
/// bound means now): the first event, in the order the projector applies them, stamped after
/// it, or the end of the log as it is now, so that events logged while an answer is read stay
/// out of it too.
///
/// On PostgreSQL that order is (`transaction_id`, `position`), and a transaction still open
/// may yet commit events ahead of those visible: the cut is also never beyond the oldest open
/// transaction, as the projector never reads beyond it either (see `event_log::read_after`).
pub async fn cut_at(db: &Db, until: Option<&str>) -> Result<Cut, ProjectionError> {
    let Some(until) = until else {
        return Ok(Cut::Everything);
    };
    let sql = cut_statement(db.dialect(), until);
    let row: Option<CutRow> = db.fetch_optional(&sql).await?;
    Ok(row.map_or(Cut::Everything, |row| {
        Cut::Before(Position {
            transaction_id: row.transaction_id,
            position: row.position,
        })
    }))
}

/// The statement `cut_at` runs. Both read the events stamped after `until` from the stamp's
/// index (migration 0014), not the log from its start: a moment after the last event reads
/// nothing.
pub fn cut_statement(dialect: Dialect, until: &str) -> Sql {
    match dialect {
        // MIN over the index's range of stamps: only events stamped after the moment are
        // visited. Left to itself, SQLite answers MIN(position) by walking the
        // positions from the first, reading each event's stamp: the cost this index avoids.
        Dialect::Sqlite => Sql::new(
            "SELECT 0 AS transaction_id, COALESCE(
                 (SELECT MIN(position) FROM events INDEXED BY events_by_stamp
                   WHERE json_extract(metadata, '$.occurred_at') > $1),
                 (SELECT COALESCE(MAX(position), 0) + 1 FROM events)) AS position",
        ),
        // The stamps compare as bytes, whatever the database's collation, as the index holds
        // them. Transactions that start later get later ids than the oldest open one: the end
        // of the log as it is now.
        Dialect::Postgres => Sql::new(
            "SELECT transaction_id, position FROM (
                 (SELECT transaction_id::text::bigint AS transaction_id, position FROM events
                   WHERE (metadata ->> 'occurred_at') COLLATE \"C\" > $1
                   ORDER BY events.transaction_id, events.position LIMIT 1)
                 UNION ALL
                 SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, 0
             ) AS cuts
             ORDER BY transaction_id, position LIMIT 1",
        ),
    }
    .bind(until)
}
