//! Reading a long listing in order, a page at a time, by a cursor (the change history, the
//! provisioning log): one way of paging for every listing, so that none holds more than a
//! page in memory.

use super::AdminError;

/// The first `page` of `entries` (read one longer than a page) and, when there were more, the
/// cursor of the last one kept, where the next page starts.
pub(super) fn split_page<T, C>(
    mut entries: Vec<T>,
    page: i64,
    cursor: impl Fn(&T) -> C,
) -> (Vec<T>, Option<C>) {
    let page = usize::try_from(page).unwrap_or(0);
    let more = entries.len() > page;
    entries.truncate(page);
    let next = more.then(|| entries.last().map(cursor)).flatten();
    (entries, next)
}

/// Every page `read` gives from the start (`None`) on, each handed to `each`, until one comes
/// back empty; how many entries there were.
pub(super) async fn each_page<T, C>(
    mut read: impl AsyncFnMut(Option<C>) -> Result<Vec<T>, AdminError>,
    cursor: impl Fn(&T) -> C,
    mut each: impl FnMut(&[T]) -> Result<(), AdminError>,
) -> Result<usize, AdminError> {
    let mut after = None;
    let mut total = 0;
    loop {
        let page = read(after.take()).await?;
        let Some(last) = page.last() else {
            return Ok(total);
        };
        after = Some(cursor(last));
        total += page.len();
        each(&page)?;
    }
}
