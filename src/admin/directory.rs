//! Reading an instance's whole application directory in the order its entries last changed, a
//! page at a time: the admin API's directory listing and `scimd directory list`, by which an
//! application copies every user (deleted ones too) with its state and mapped fields, then
//! reads again from the last change it saw.

use super::history::instant;
use super::paging::{each_page, split_page};
use super::{catch_up, instance, AdminError};
use crate::store::Store;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use projections::directory::listing::{directory_page, DirectoryQuery};
use projections::directory::AppUserRecord;

/// Entries per page when none is asked for, and the most a page holds.
pub const DIRECTORY_PAGE: i64 = 100;
pub const MAX_DIRECTORY_PAGE: i64 = 1000;

/// Where the next page starts: the last entry shown, by the time it last changed and its id.
/// Opaque to clients (base64url), so that none builds one by hand and the form may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryCursor {
    pub updated_at: String,
    pub id: String,
}

impl DirectoryCursor {
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (updated_at, id) = text.split_once(' ')?;
        // Only a time as the directory writes it can be a position in its order.
        if id.is_empty() || instant(updated_at).ok()? != updated_at {
            return None;
        }
        Some(Self {
            updated_at: updated_at.to_string(),
            id: id.to_string(),
        })
    }

    pub fn render(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{} {}", self.updated_at, self.id))
    }

    fn of(entry: &AppUserRecord) -> Self {
        Self {
            updated_at: entry.updated_at.clone(),
            id: entry.id.clone(),
        }
    }
}

/// Which part of the directory to read.
#[derive(Debug, Clone, Default)]
pub struct DirectoryListing {
    /// RFC 3339: only the entries that changed at or after it.
    pub updated_since: Option<String>,
    pub after: Option<DirectoryCursor>,
    /// Entries per page: 1 to `MAX_DIRECTORY_PAGE`.
    pub limit: i64,
}

/// A page size as a client wrote it, or why it is not one.
pub fn page_size(text: &str) -> Result<i64, AdminError> {
    text.trim()
        .parse()
        .ok()
        .filter(|size| (1..=MAX_DIRECTORY_PAGE).contains(size))
        .ok_or_else(|| AdminError::InvalidPageSize {
            given: text.to_string(),
            max: MAX_DIRECTORY_PAGE,
        })
}

async fn query(
    store: &Store,
    instance_name: &str,
    listing: &DirectoryListing,
) -> Result<DirectoryQuery, AdminError> {
    let updated_since = listing.updated_since.as_deref().map(instant).transpose()?;
    if !(1..=MAX_DIRECTORY_PAGE).contains(&listing.limit) {
        return Err(AdminError::InvalidPageSize {
            given: listing.limit.to_string(),
            max: MAX_DIRECTORY_PAGE,
        });
    }
    let instance = instance(store, instance_name).await?;
    catch_up(store).await?;
    Ok(DirectoryQuery {
        instance_id: instance.id,
        updated_since,
        after: listing
            .after
            .as_ref()
            .map(|cursor| (cursor.updated_at.clone(), cursor.id.clone())),
        limit: listing.limit,
    })
}

/// One page of the instance's directory in `(updatedAt, id)` order, and where the next page
/// starts (`None` on the last page).
pub async fn list_directory(
    store: &Store,
    instance_name: &str,
    listing: &DirectoryListing,
) -> Result<(Vec<AppUserRecord>, Option<DirectoryCursor>), AdminError> {
    let mut query = query(store, instance_name, listing).await?;
    // One more than the page tells whether another page follows.
    query.limit = listing.limit + 1;
    let entries = directory_page(&store.db, &query).await?;
    Ok(split_page(entries, listing.limit, DirectoryCursor::of))
}

/// Every entry of the listing from its start on, handed to `each` a page at a time; how many
/// there were.
pub async fn each_directory_page(
    store: &Store,
    instance_name: &str,
    listing: &DirectoryListing,
    each: impl FnMut(&[AppUserRecord]) -> Result<(), AdminError>,
) -> Result<usize, AdminError> {
    let mut query = query(store, instance_name, listing).await?;
    let read = async |after: Option<DirectoryCursor>| {
        query.after = after.map(|cursor| (cursor.updated_at, cursor.id));
        Ok(directory_page(&store.db, &query).await?)
    };
    each_page(read, DirectoryCursor::of, each).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        let cursor = DirectoryCursor {
            updated_at: "2026-12-07T05:07:01.123456Z".into(),
            id: "0193a7c2-5f1e-7c1a-9d2e-1a2b3c4d5e6f".into(),
        };
        assert_eq!(DirectoryCursor::parse(&cursor.render()), Some(cursor));
    }

    #[test]
    fn anything_but_a_cursor_is_refused() {
        let encoded = |text: &str| URL_SAFE_NO_PAD.encode(text);
        for text in [
            "nope".to_string(),
            String::new(),
            encoded("2026-12-07T05:07:01.123456Z"),
            encoded("2026-12-07T05:07:01.123456Z "),
            // A time, but not as the directory writes times: no position in its order.
            encoded("2026-12-07T05:07:01Z some-id"),
            encoded("yesterday some-id"),
        ] {
            assert_eq!(DirectoryCursor::parse(&text), None, "{text}");
        }
    }

    #[test]
    fn a_page_size_is_a_whole_number_up_to_the_most_a_page_holds() {
        assert_eq!(page_size("1").ok(), Some(1));
        assert_eq!(page_size(" 1000").ok(), Some(1000));
        for bad in ["0", "-5", "1001", "ten", "2.5", ""] {
            assert!(page_size(bad).is_err(), "{bad}");
        }
    }
}
