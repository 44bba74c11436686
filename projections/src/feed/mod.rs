//! The application's change feed: public events (`user.created`, `group.member_added`, ...)
//! derived from the event log, in log order, numbered by `seq`. A stable contract with the
//! application (docs/events.md), separate from the internal event payloads, which may change
//! and be upcast: the events API and the webhooks read only this.

mod projection;
pub mod state;
pub mod translate;

pub use projection::Feed;

use crate::db::{Conditions, Db, DbError, Sql, SqlArg};

/// Every public event type, in the order docs/events.md lists them.
pub const EVENT_TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.suspended",
    "user.reactivated",
    "user.deleted",
    "group.created",
    "group.renamed",
    "group.deleted",
    "group.member_added",
    "group.member_removed",
];

/// One published event as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct FeedEvent {
    /// Its place in the feed: the cursor that follows it.
    pub seq: i64,
    /// The public id, also the `webhook-id` of every delivery of it.
    pub id: String,
    pub instance_id: String,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: String,
    /// The whole public document, as JSON text.
    pub document: String,
}

const FEED_COLUMNS: &str = "seq, id, instance_id, type, occurred_at, document";

/// What a page of the feed asks for.
#[derive(Debug, Clone, Default)]
pub struct FeedQuery {
    pub instance_id: String,
    /// Events after this `seq` (0: from the first).
    pub after: i64,
    /// Only these types; empty: every type.
    pub types: Vec<String>,
    pub limit: i64,
}

/// The events of `query.instance_id` after `query.after`, in feed order. Pages never overlap
/// or leave a gap: the projector commits events in `seq` order.
pub async fn events_after(db: &Db, query: &FeedQuery) -> Result<Vec<FeedEvent>, DbError> {
    let mut conditions = Conditions::default();
    conditions.bind("instance_id = ?", [query.instance_id.as_str().into()]);
    conditions.bind("seq > ?", [query.after.into()]);
    if !query.types.is_empty() {
        let marks = vec!["?"; query.types.len()].join(", ");
        let types = query.types.iter().map(|t| SqlArg::from(t.as_str()));
        conditions.bind(&format!("type IN ({marks})"), types);
    }
    let sql = conditions.select(
        &format!("SELECT {FEED_COLUMNS} FROM feed_events"),
        "ORDER BY seq",
        query.limit,
    );
    db.fetch_all(&sql).await
}

/// The `seq` of the feed's latest event of any instance (0 when it is empty): where a new
/// webhook endpoint starts, so that it receives what happens from now on.
pub async fn latest_seq(db: &Db) -> Result<i64, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Latest {
        seq: i64,
    }
    let latest: Latest = db
        .fetch_one(&Sql::new(
            "SELECT coalesce(max(seq), 0) AS seq FROM feed_events",
        ))
        .await?;
    Ok(latest.seq)
}
