//! Reading the change history: a filtered page in the log's order (or its reverse), each
//! filter on an index that holds that order. A user or group asked for by id or name is found
//! both where an entry is about it and where a group's member change names it as the member,
//! or a group's deletion does (see `memberships`).

use super::{HistoryEntry, HISTORY_COLUMNS};
use crate::db::{Conditions, DbError, Dialect, Sql};
use aggregates::values::case_insensitive_key;

/// What a history query asks for; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub instance_id: String,
    /// Entries about this user or group, and the member changes (and deletions of groups it
    /// was still in) naming it as the member.
    pub entity_id: Option<String>,
    /// Entries about whoever bore this userName or displayName then (any case), and the
    /// member changes and group deletions naming such a member.
    pub user_name: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// RFC 3339 bounds, inclusive, in scimd's fixed-width form.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Entries beyond this `(transaction_id, position)` in reading order, for paging.
    pub after: Option<(i64, i64)>,
    /// Read from the latest entry back instead of from the first on.
    pub newest_first: bool,
    pub limit: i64,
}

/// One page of the history, in the event log's order (or its reverse).
pub async fn history_page(
    db: &crate::db::Db,
    query: &HistoryQuery,
) -> Result<Vec<HistoryEntry>, DbError> {
    db.fetch_all(&history_statement(db.dialect(), query)).await
}

/// The statement `history_page` runs, for checking its plan.
pub fn history_statement(dialect: Dialect, query: &HistoryQuery) -> Sql {
    let mut conditions = Conditions::default();
    conditions.bind("instance_id = ?", [query.instance_id.as_str().into()]);
    if let Some(actor) = &query.actor {
        conditions.bind("actor = ?", [actor.as_str().into()]);
    }
    if let Some(action) = &query.action {
        conditions.bind("action = ?", [action.as_str().into()]);
    }
    if let Some(since) = &query.since {
        conditions.bind("occurred_at >= ?", [since.as_str().into()]);
    }
    if let Some(until) = &query.until {
        conditions.bind("occurred_at <= ?", [until.as_str().into()]);
    }
    let after = query
        .after
        .map(|(transaction_id, position)| vec![transaction_id.into(), position.into()]);
    let order = conditions.page_after(&["transaction_id", "position"], after, query.newest_first);
    let select = format!("SELECT {HISTORY_COLUMNS} FROM history_entries");
    let mut about = Vec::new();
    let mut naming = Vec::new();
    if let Some(id) = &query.entity_id {
        let id = conditions.placeholder(id.as_str().into());
        about.push(format!("entity_id = {id}"));
        naming.push(format!("member_id = {id}"));
    }
    if let Some(user_name) = &query.user_name {
        let key = conditions.placeholder(case_insensitive_key(user_name).into());
        about.push(format!("entity_name_key = {key}"));
        naming.push(format!("member_name_key = {key}"));
    }
    if about.is_empty() {
        return conditions.select(&select, &order, query.limit);
    }
    let about = about.join(" AND ");
    // A group named like the user it adds is both; its entry comes once, as the group's.
    let naming = format!("{} AND ({about}) IS NOT TRUE", naming.join(" AND "));
    let branches = [
        ("history_entries", about),
        ("history_entries", naming.clone()),
        // A group deleted with the member still in it: its deletion, naming the member.
        ("history_group_deletions", naming),
    ];
    conditions.select_either(dialect, HISTORY_COLUMNS, &branches, &order, query.limit)
}

/// The users (or groups: `entity_type`) of `instance_id` that ever bore `name` (any case),
/// deleted ones included, in the order they first did.
pub async fn entities_once_named(
    db: &crate::db::Db,
    instance_id: &str,
    entity_type: &str,
    name: &str,
) -> Result<Vec<String>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Entity {
        entity_id: String,
    }
    let sql = Sql::new(
        "SELECT entity_id FROM history_entries
          WHERE instance_id = $1 AND entity_name_key = $2 AND entity_type = $3
          GROUP BY entity_id
          ORDER BY min(position)",
    )
    .bind(instance_id)
    .bind(case_insensitive_key(name))
    .bind(entity_type);
    let found: Vec<Entity> = db.fetch_all(&sql).await?;
    Ok(found.into_iter().map(|entity| entity.entity_id).collect())
}
