//! Reading an instance's provisioning log: filtered, in the order entries were stored, page by
//! page, so that a listing of any length never holds more than one page in memory.

use super::history::time_range;
use super::paging::{each_page, split_page};
use super::{instance, AdminError};
use crate::store::provisioning_log::{page, LogEntry, LogQuery};
use crate::store::Store;

/// Entries read per round trip.
pub const PROVISIONING_LOG_PAGE: i64 = 1000;

/// Which entries to read; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub failed_only: bool,
    /// A userName the request named (any case), or of the user a request by id addressed.
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    /// The request with this correlation id (`X-Request-Id`, quoted in every SCIM error), in
    /// any case.
    pub correlation_id: Option<String>,
    /// Requests sent with this key (admitted or refused).
    pub key_id: Option<String>,
    /// RFC 3339 date-times, inclusive.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Latest first (a console's view) rather than in the order stored (an export's).
    pub newest_first: bool,
}

async fn query(
    store: &Store,
    instance_name: &str,
    filter: &LogFilter,
) -> Result<LogQuery, AdminError> {
    let (since, until) = time_range(filter.since.as_deref(), filter.until.as_deref())?;
    let instance = instance(store, instance_name).await?;
    Ok(LogQuery {
        instance_id: instance.id,
        failed_only: filter.failed_only,
        user_name: filter.user_name.clone(),
        external_id: filter.external_id.clone(),
        correlation_id: filter.correlation_id.clone(),
        key_id: filter.key_id.clone(),
        since,
        until,
        after: None,
        newest_first: filter.newest_first,
        limit: PROVISIONING_LOG_PAGE,
    })
}

/// One page of at most `limit` entries after the sequence `after`, and where the next page
/// starts (`None` on the last page).
pub async fn provisioning_log(
    store: &Store,
    instance_name: &str,
    filter: &LogFilter,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<LogEntry>, Option<i64>), AdminError> {
    let mut query = query(store, instance_name, filter).await?;
    let size = limit.clamp(1, PROVISIONING_LOG_PAGE);
    query.after = after;
    // One entry more than the page tells whether another page follows.
    query.limit = size + 1;
    let entries = page(&store.db, &query).await?;
    Ok(split_page(entries, size, |entry| entry.sequence))
}

/// Every matching entry, handed to `each` a page at a time; how many there were.
pub async fn each_provisioning_log_page(
    store: &Store,
    instance_name: &str,
    filter: &LogFilter,
    each: impl FnMut(&[LogEntry]) -> Result<(), AdminError>,
) -> Result<usize, AdminError> {
    let mut query = query(store, instance_name, filter).await?;
    let read = async |after| {
        query.after = after;
        Ok(page(&store.db, &query).await?)
    };
    each_page(read, |entry| entry.sequence, each).await
}
