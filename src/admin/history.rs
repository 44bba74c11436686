//! Reading an instance's change history: filtered, in the event log's order, page by page, so
//! that an export of any size never holds more than one page in memory.

use super::paging::{each_page, split_page};
use super::{catch_up, instance, AdminError};
use crate::store::Store;
use projections::error::ProjectionError;
use projections::history::{history_page, HistoryEntry, HistoryQuery};
use projections::metadata::timestamp;
use projections::runner::REBUILD_BATCH_SIZE;
use std::cell::Cell;

/// Entries read per round trip.
pub const HISTORY_PAGE: i64 = 1000;

/// Which entries to read; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// The user or group the entry is about, or the member a group's member change names.
    pub entity_id: Option<String>,
    /// The userName or group displayName the entry is about (any case), or that the member a
    /// group's member change names bore then.
    pub name: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// RFC 3339 date-times, inclusive.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Latest first (a console's view) rather than in the log's order (an export's).
    pub newest_first: bool,
}

/// A position in the history, to read on from.
pub type HistoryCursor = (i64, i64);

/// An RFC 3339 date-time as the event log writes times, so that the two compare as text.
pub(super) fn instant(text: &str) -> Result<String, AdminError> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|at| timestamp(at.with_timezone(&chrono::Utc)))
        .map_err(|_| AdminError::InvalidTime(text.to_string()))
}

/// The bounds of a time range as the event log writes times; an empty range (from after
/// until) is refused rather than answered with nothing, which would look like "no changes".
pub(super) fn time_range(
    since: Option<&str>,
    until: Option<&str>,
) -> Result<(Option<String>, Option<String>), AdminError> {
    let from = since.map(instant).transpose()?;
    let to = until.map(instant).transpose()?;
    if let (Some(from), Some(to)) = (&from, &to) {
        // Fixed-width UTC text: compared as text, as the queries compare them.
        if from > to {
            return Err(AdminError::InvertedRange {
                since: since.unwrap_or_default().trim().to_string(),
                until: until.unwrap_or_default().trim().to_string(),
            });
        }
    }
    Ok((from, to))
}

async fn query(
    store: &Store,
    instance_name: &str,
    filter: &HistoryFilter,
) -> Result<HistoryQuery, AdminError> {
    let (since, until) = time_range(filter.since.as_deref(), filter.until.as_deref())?;
    let instance = instance(store, instance_name).await?;
    Ok(HistoryQuery {
        instance_id: instance.id,
        entity_id: filter.entity_id.clone(),
        user_name: filter.name.clone(),
        actor: filter.actor.clone(),
        action: filter.action.clone(),
        since,
        until,
        after: None,
        newest_first: filter.newest_first,
        limit: HISTORY_PAGE,
    })
}

/// One page of at most `limit` entries after `after`, and where the next page starts (`None`
/// on the last page).
pub async fn history(
    store: &Store,
    instance_name: &str,
    filter: &HistoryFilter,
    after: Option<HistoryCursor>,
    limit: i64,
) -> Result<(Vec<HistoryEntry>, Option<HistoryCursor>), AdminError> {
    let mut query = query(store, instance_name, filter).await?;
    catch_up(store).await?;
    let page = limit.clamp(1, HISTORY_PAGE);
    query.after = after;
    // One entry more than the page tells whether another page follows.
    query.limit = page + 1;
    let entries = history_page(&store.db, &query).await?;
    Ok(split_page(entries, page, |entry| {
        (entry.transaction_id, entry.position)
    }))
}

/// Every matching entry, handed to `each` a page at a time; how many there were.
pub async fn each_history_page(
    store: &Store,
    instance_name: &str,
    filter: &HistoryFilter,
    each: impl FnMut(&[HistoryEntry]) -> Result<(), AdminError>,
) -> Result<usize, AdminError> {
    let mut query = query(store, instance_name, filter).await?;
    catch_up(store).await?;
    let read = async |after| {
        query.after = after;
        Ok(history_page(&store.db, &query).await?)
    };
    each_page(read, |entry| (entry.transaction_id, entry.position), each).await
}

/// Empties every projection and rebuilds it from the event log; how many events it applied.
/// `progress` hears the count so far after each batch. Run it with the servers stopped: they
/// would see the read models empty meanwhile.
pub async fn rebuild(store: &Store, progress: impl Fn(usize)) -> Result<usize, AdminError> {
    let failed = |error: ProjectionError| AdminError::Store(error.to_string());
    store.projector.reset().await.map_err(failed)?;
    let applied = Cell::new(0usize);
    store
        .projector
        .catch_up_in_batches(REBUILD_BATCH_SIZE, |batch| {
            applied.set(applied.get() + batch);
            progress(applied.get());
        })
        .await
        .map_err(failed)?;
    Ok(applied.get())
}

/// How many events the log holds.
pub async fn event_count(store: &Store) -> Result<i64, AdminError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Count {
        total: i64,
    }
    let count: Count = store
        .db
        .fetch_one(&projections::db::Sql::new(
            "SELECT count(*) AS total FROM events",
        ))
        .await?;
    Ok(count.total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_refused_only_when_from_is_after_until() {
        let range = |since, until| time_range(since, until);
        assert!(range(Some("2026-01-01T00:00:00Z"), Some("2026-01-01T00:00:00Z")).is_ok());
        assert!(range(
            Some("2026-01-01T00:00:00Z"),
            Some("2026-01-01T00:00:00.000001Z")
        )
        .is_ok());
        assert!(range(Some("2026-01-01T00:00:00Z"), None).is_ok());
        assert!(range(None, Some("2026-01-01T00:00:00Z")).is_ok());
        // Compared as instants, not as the text typed: 01:00+01:00 is midnight UTC.
        assert!(range(
            Some("2026-01-01T01:00:00+01:00"),
            Some("2026-01-01T00:00:00Z")
        )
        .is_ok());
        assert!(matches!(
            range(Some("2026-01-01T00:00:01Z"), Some("2026-01-01T00:00:00Z")),
            Err(AdminError::InvertedRange { .. })
        ));
        assert!(matches!(
            range(Some("yesterday"), Some("2026-01-01T00:00:00Z")),
            Err(AdminError::InvalidTime(_))
        ));
    }
}
