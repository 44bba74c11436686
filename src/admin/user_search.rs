//! Finding an instance's users by the start of their userName, displayName or an email
//! address (any case), a page at a time in userName order: `scimd users search` and the admin
//! API's user search, which the console's users page reads.

use super::paging::split_page;
use super::{catch_up, instance, AdminError};
use crate::store::Store;
use projections::user_search::{search_users as search_page, FoundUser, UserSearch};

/// Users per page when none is asked for, and the most a page holds.
pub const USER_SEARCH_PAGE: i64 = 50;
pub const MAX_USER_SEARCH_PAGE: i64 = 1000;

/// Where the next page of a search starts: the userName key and creation position of the last
/// user shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearchCursor {
    pub user_name_key: String,
    pub created_position: i64,
}

impl UserSearchCursor {
    /// `{position}.{key}`: the position has no dot, so the first one ends it.
    pub fn parse(text: &str) -> Option<Self> {
        let (position, key) = text.split_once('.')?;
        Some(Self {
            created_position: position.parse().ok()?,
            user_name_key: key.to_string(),
        })
    }

    pub fn render(&self) -> String {
        format!("{}.{}", self.created_position, self.user_name_key)
    }
}

/// One page of at most `limit` users of the instance whose userName, displayName or an email
/// address starts with `prefix` (every user when it is empty), after `after`; and where the
/// next page starts (`None` on the last page).
pub async fn search_users(
    store: &Store,
    instance_name: &str,
    prefix: &str,
    after: Option<UserSearchCursor>,
    limit: i64,
) -> Result<(Vec<FoundUser>, Option<UserSearchCursor>), AdminError> {
    let instance = instance(store, instance_name).await?;
    catch_up(store).await?;
    let page = limit.clamp(1, MAX_USER_SEARCH_PAGE);
    let search = UserSearch {
        instance_id: instance.id,
        prefix: prefix.trim().to_string(),
        after: after.map(|cursor| (cursor.user_name_key, cursor.created_position)),
        // One more than the page tells whether another page follows.
        limit: page + 1,
    };
    let found = search_page(&store.db, &search).await?;
    Ok(split_page(found, page, |user| UserSearchCursor {
        user_name_key: user.user_name_key.clone(),
        created_position: user.created_position,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written_even_with_dots_in_the_name() {
        let cursor = UserSearchCursor {
            user_name_key: "ada.lovelace@example.com".into(),
            created_position: 42,
        };
        assert_eq!(UserSearchCursor::parse(&cursor.render()), Some(cursor));
        assert_eq!(UserSearchCursor::parse("ada"), None);
        assert_eq!(UserSearchCursor::parse("x.ada"), None);
    }
}
