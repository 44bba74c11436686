//! The events time travel folds, read by aggregate through the events table's primary key
//! (aggregate_type, aggregate_id, sequence), never the whole log where it can be avoided.

use super::fold::happened_by;
use crate::db::{placeholders, Db, Dialect, SqlArg};
use crate::error::ProjectionError;
use crate::event_log::{events_where, RecordedEvent};
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

/// Which of `ids` (users or groups) had been deleted by `until`.
pub async fn deleted_among(
    db: &Db,
    ids: &[String],
    until: Option<&str>,
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
                .filter(|recorded| happened_by(recorded, until))
                .map(|recorded| recorded.aggregate_id),
        );
    }
    Ok(deleted)
}
