//! Reading an instance's whole application directory, a page at a time, in the order its
//! entries last changed: how an application copies the directory and then keeps its copy up to
//! date by reading again from the last change it saw (`updated_since`).
//!
//! Every entry is listed whatever its state: a deleted user stays, marked deleted, so that the
//! application learns of the deletion. Pages follow `(updated_at, id)`, the index of migration
//! 0022, so a page costs its own length however large the instance.

use super::{AppUserRecord, APP_USER_COLUMNS};
use crate::db::{Conditions, Db, DbError, Sql};

/// What a directory listing asks for.
#[derive(Debug, Clone, Default)]
pub struct DirectoryQuery {
    pub instance_id: String,
    /// Entries last changed at or after this moment, in scimd's fixed-width RFC 3339 form.
    pub updated_since: Option<String>,
    /// Entries beyond this `(updated_at, id)`, the last of the previous page.
    pub after: Option<(String, String)>,
    pub limit: i64,
}

/// One page of the directory, in `(updated_at, id)` order.
pub async fn directory_page(
    db: &Db,
    query: &DirectoryQuery,
) -> Result<Vec<AppUserRecord>, DbError> {
    db.fetch_all(&directory_statement(query)).await
}

/// The statement `directory_page` runs, for checking its plan.
pub fn directory_statement(query: &DirectoryQuery) -> Sql {
    let mut conditions = Conditions::default();
    conditions.bind("instance_id = ?", [query.instance_id.as_str().into()]);
    if let Some(since) = &query.updated_since {
        conditions.bind("updated_at >= ?", [since.as_str().into()]);
    }
    let after = query
        .after
        .as_ref()
        .map(|(at, id)| vec![at.as_str().into(), id.as_str().into()]);
    let order = conditions.page_after(&["updated_at", "id"], after, false);
    conditions.select(
        &format!("SELECT {APP_USER_COLUMNS} FROM app_users"),
        &order,
        query.limit,
    )
}
