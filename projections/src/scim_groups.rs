//! The SCIM read model of groups: one row per live group and one row per membership, so that
//! a member change touches one row whatever the size of the group.

use crate::db::set_based::{Kind, Shape};
use crate::db::{placeholders, Db, DbError, Dialect, Sql, SqlArg, Tx};
use crate::error::ProjectionError;
use crate::event_log::RecordedEvent;
use crate::held::{locked, Held};
use crate::runner::Projection;
use crate::totals;
use aggregates::group::DisplayName;
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use fold::{rows_needed, FoldedGroups, GroupsFold, StoredGroup};
use std::collections::HashMap;
use std::sync::Mutex;

mod fold;
mod row;
pub use row::{group_row_change, GroupRowChange, GroupState};

/// A batch reads the group rows it changes and did not create in one statement, folds its
/// events (see `fold`), and writes each table once: each changed group row once, memberships
/// as sets, whatever the number of events. The rows of the groups it touched are held (members
/// aside), so that a group changed again in the next batches is not read again.
#[derive(Default)]
pub struct ScimGroups {
    rows: Held<GroupState>,
    /// The batch under way; only one runs at a time, so the lock is never contended.
    fold: Mutex<GroupsFold>,
}

const GROUPS: Shape = Shape {
    table: "scim_groups",
    key: &["id"],
    columns: &[
        ("id", Kind::Text),
        ("instance_id", Kind::Text),
        ("display_name", Kind::Text),
        ("display_name_key", Kind::Text),
        ("external_id", Kind::Text),
        ("version", Kind::Int),
        ("created_position", Kind::Int),
        ("created_at", Kind::Text),
        ("last_modified", Kind::Text),
        ("managed", Kind::Bool),
    ],
};

const MEMBERS: Shape = Shape {
    table: "scim_group_members",
    key: &["group_id", "member_id"],
    columns: &[
        ("group_id", Kind::Text),
        ("member_id", Kind::Text),
        ("member_kind", Kind::Text),
    ],
};

/// The membership rows of whole groups, only ever deleted by it: `group_id` is no unique key,
/// but a delete by keys needs none.
const MEMBERS_OF_GROUPS: Shape = Shape {
    table: "scim_group_members",
    key: &["group_id"],
    columns: &[("group_id", Kind::Text)],
};

/// The columns a batch reads a group row by.
const STORED_GROUP_COLUMNS: &str = "id, instance_id, display_name, external_id, version, \
     created_position, created_at, last_modified, managed";

/// A group's values in the order of `GROUPS`' columns.
fn group_args(state: GroupState) -> Vec<SqlArg> {
    let row = state.row;
    let display_name_key = case_insensitive_key(&row.display_name);
    vec![
        row.id.into(),
        row.instance_id.into(),
        row.display_name.into(),
        display_name_key.into(),
        row.external_id.into(),
        row.version.into(),
        row.created_position.into(),
        row.created_at.into(),
        row.last_modified.into(),
        state.managed.into(),
    ]
}

/// Keys of text columns, as the set-based statements take them.
fn text_keys(keys: impl IntoIterator<Item = Vec<String>>) -> Vec<Vec<SqlArg>> {
    keys.into_iter()
        .map(|key| key.into_iter().map(SqlArg::from).collect())
        .collect()
}

/// The columns of a `GroupRecord`, in a form list queries can select.
pub const GROUP_COLUMNS: &str =
    "id, instance_id, display_name, external_id, version, created_position, created_at, last_modified";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct GroupRecord {
    pub id: String,
    pub instance_id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub version: i64,
    pub created_position: i64,
    pub created_at: String,
    pub last_modified: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct MemberRecord {
    pub member_id: String,
    pub member_kind: String,
}

/// A live group of `instance_id`, if there is one with that id.
pub async fn find_group(
    db: &Db,
    instance_id: &str,
    id: &str,
) -> Result<Option<GroupRecord>, DbError> {
    let sql = Sql::new(format!(
        "SELECT {GROUP_COLUMNS} FROM scim_groups WHERE instance_id = $1 AND id = $2"
    ))
    .bind(instance_id)
    .bind(id);
    db.fetch_optional(&sql).await
}

/// The live members of each of `group_ids`, in one query for a page of groups (or one group).
/// Memberships of deleted users or groups linger until their removal events are applied; the
/// joins hide them meanwhile.
pub async fn members_of_groups(
    db: &Db,
    group_ids: &[String],
) -> Result<HashMap<String, Vec<MemberRecord>>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        group_id: String,
        member_id: String,
        member_kind: String,
    }
    let mut members: HashMap<String, Vec<MemberRecord>> = HashMap::new();
    if group_ids.is_empty() {
        return Ok(members);
    }
    let mut sql = Sql::new(format!(
        "SELECT m.group_id, m.member_id, m.member_kind
           FROM scim_group_members m
           LEFT JOIN scim_users u ON m.member_kind = 'User' AND u.id = m.member_id
           LEFT JOIN scim_groups g ON m.member_kind = 'Group' AND g.id = m.member_id
          WHERE m.group_id IN ({}) AND (u.id IS NOT NULL OR g.id IS NOT NULL)
          ORDER BY m.group_id, m.member_id",
        placeholders(1, group_ids.len())
    ));
    for id in group_ids {
        sql.push_arg(id.as_str());
    }
    let rows: Vec<Row> = db.fetch_all(&sql).await?;
    for row in rows {
        members.entry(row.group_id).or_default().push(MemberRecord {
            member_id: row.member_id,
            member_kind: row.member_kind,
        });
    }
    Ok(members)
}

/// A group something is a direct member of, as the member's `groups` attribute names it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct MembershipRecord {
    pub group_id: String,
    pub display_name: String,
}

/// The live groups of `instance_id` each of `member_ids` directly belongs to, by member id,
/// in one query, so that a page of users costs one query whatever its size (a page is at
/// most 1000 ids, well inside both stores' parameter limits). Each member's groups come in
/// displayName order, compared byte by byte on both stores (PostgreSQL would otherwise use the
/// database's locale), as time travel, which sorts in memory, lists them too.
pub async fn groups_of_members(
    db: &Db,
    instance_id: &str,
    member_ids: &[String],
) -> Result<HashMap<String, Vec<MembershipRecord>>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        member_id: String,
        group_id: String,
        display_name: String,
    }
    let mut groups: HashMap<String, Vec<MembershipRecord>> = HashMap::new();
    if member_ids.is_empty() {
        return Ok(groups);
    }
    let bytewise = match db.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => " COLLATE \"C\"",
    };
    let mut sql = Sql::new(format!(
        "SELECT m.member_id, g.id AS group_id, g.display_name
           FROM scim_group_members m
           JOIN scim_groups g ON g.id = m.group_id
          WHERE g.instance_id = $1 AND m.member_id IN ({})
          ORDER BY m.member_id, g.display_name_key{bytewise}, g.id",
        placeholders(2, member_ids.len())
    ))
    .bind(instance_id);
    for id in member_ids {
        sql.push_arg(id.as_str());
    }
    let rows: Vec<Row> = db.fetch_all(&sql).await?;
    for row in rows {
        groups
            .entry(row.member_id)
            .or_default()
            .push(MembershipRecord {
                group_id: row.group_id,
                display_name: row.display_name,
            });
    }
    Ok(groups)
}

/// Which of `ids` are users or groups of `instance_id`, and which of the two each is.
pub async fn member_kinds(
    db: &Db,
    instance_id: &str,
    ids: &[String],
) -> Result<Vec<(String, String)>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        id: String,
        kind: String,
    }
    /// Keeps each statement's parameter count well inside both stores' limits.
    const CHUNK: usize = 500;
    let mut kinds = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let list = placeholders(2, chunk.len());
        let mut sql = Sql::new(format!(
            "SELECT id, 'User' AS kind FROM scim_users WHERE instance_id = $1 AND id IN ({list})
             UNION ALL
             SELECT id, 'Group' AS kind FROM scim_groups WHERE instance_id = $1 AND id IN ({list})"
        ))
        .bind(instance_id);
        for id in chunk {
            sql.push_arg(id.as_str());
        }
        let rows: Vec<Row> = db.fetch_all(&sql).await?;
        kinds.extend(rows.into_iter().map(|row| (row.id, row.kind)));
    }
    Ok(kinds)
}

/// The groups `member_id` is recorded as a member of, including memberships of a member that
/// was just deleted (those are what the caller wants to clean up).
pub async fn groups_with_member(db: &Db, member_id: &str) -> Result<Vec<String>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct GroupId {
        group_id: String,
    }
    let sql =
        Sql::new("SELECT group_id FROM scim_group_members WHERE member_id = $1").bind(member_id);
    let rows: Vec<GroupId> = db.fetch_all(&sql).await?;
    Ok(rows.into_iter().map(|row| row.group_id).collect())
}

/// A group's memberships as one consistent reading: the group's version and its members at
/// that version.
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipSnapshot {
    pub version: i64,
    pub members: Vec<(String, String)>,
}

/// Reads the version and the members (all, or those among `among`) in one statement, so both
/// come from the same snapshot. `None` if the read model has no such group (yet).
pub async fn membership_snapshot(
    db: &Db,
    group_id: &str,
    among: Option<&[String]>,
) -> Result<Option<MembershipSnapshot>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        version: i64,
        member_id: Option<String>,
        member_kind: Option<String>,
    }
    let filter = match among {
        Some(ids) => format!("AND m.member_id IN ({})", placeholders(2, ids.len())),
        None => String::new(),
    };
    let mut sql = Sql::new(format!(
        "SELECT g.version, m.member_id, m.member_kind
           FROM scim_groups g
           LEFT JOIN scim_group_members m ON m.group_id = g.id {filter}
          WHERE g.id = $1"
    ))
    .bind(group_id);
    for id in among.unwrap_or_default() {
        sql.push_arg(id.as_str());
    }
    let rows: Vec<Row> = db.fetch_all(&sql).await?;
    let Some(version) = rows.first().map(|row| row.version) else {
        return Ok(None);
    };
    let members = rows
        .into_iter()
        .filter_map(|row| row.member_id.zip(row.member_kind))
        .collect();
    Ok(Some(MembershipSnapshot { version, members }))
}

#[async_trait]
impl Projection for ScimGroups {
    fn name(&self) -> &'static str {
        "scim_groups"
    }

    fn version(&self) -> i64 {
        // 2: with the groups' totals.
        2
    }

    fn tables(&self) -> &'static [&'static str] {
        &["scim_group_members", "scim_groups", totals::GROUP_TOTALS]
    }

    fn start_batch(&self, continuing: bool) {
        self.rows.start_batch(continuing);
        // What a failed batch left is not this batch's.
        *locked(&self.fold) = GroupsFold::default();
    }

    async fn prepare_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut fold = GroupsFold::default();
        let mut unread = Vec::new();
        for id in rows_needed(events) {
            match self.rows.get(&id) {
                Some(state) => fold.given(&id, Some(state)),
                None => unread.push(vec![id]),
            }
        }
        let dialect = tx.dialect();
        for sql in GROUPS.select_by_keys(dialect, STORED_GROUP_COLUMNS, text_keys(unread)) {
            let rows: Vec<StoredGroup> = tx.fetch_all(&sql).await?;
            for row in rows {
                fold.given(&row.id.clone(), Some(row.into()));
            }
        }
        *locked(&self.fold) = fold;
        Ok(())
    }

    async fn apply(&self, _tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        locked(&self.fold).apply(recorded);
        Ok(())
    }

    async fn finish_batch(&self, tx: &mut Tx, _cut_short: bool) -> Result<(), ProjectionError> {
        let FoldedGroups {
            upserted,
            deleted,
            cleared,
            members_deleted,
            members_added,
            totals,
            known,
        } = std::mem::take(&mut *locked(&self.fold)).finish();
        for state in known {
            self.rows.insert(&state.row.id.clone(), state);
        }
        let dialect = tx.dialect();
        let one = |id: String| vec![id];
        let mut statements = GROUPS.delete(dialect, text_keys(deleted.into_iter().map(one)));
        statements.extend(GROUPS.upsert(dialect, upserted.into_iter().map(group_args).collect()));
        // The memberships of deleted groups go first: the changes after are to what is left.
        statements
            .extend(MEMBERS_OF_GROUPS.delete(dialect, text_keys(cleared.into_iter().map(one))));
        let members_deleted = members_deleted
            .into_iter()
            .map(|(group, member)| vec![group, member]);
        statements.extend(MEMBERS.delete(dialect, text_keys(members_deleted)));
        let members_added = members_added
            .into_iter()
            .map(|(group, member, kind)| vec![group, member, kind]);
        statements.extend(MEMBERS.insert_new(dialect, text_keys(members_added)));
        for (instance_id, by) in totals {
            statements.push(totals::change(totals::GROUP_TOTALS, &instance_id, by));
        }
        tx.write_all(statements).await?;
        Ok(())
    }
}

/// The live group of `instance_id` named `display_name` (any case) that SCIM does not manage
/// yet: an imported group an IdP may adopt.
pub async fn unmanaged_group_named(
    db: &Db,
    instance_id: &str,
    display_name: &DisplayName,
) -> Result<Option<String>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Found {
        id: String,
    }
    let sql = Sql::new(
        "SELECT id FROM scim_groups
          WHERE instance_id = $1 AND display_name_key = $2 AND NOT managed",
    )
    .bind(instance_id)
    .bind(display_name.key());
    let found: Option<Found> = db.fetch_optional(&sql).await?;
    Ok(found.map(|found| found.id))
}
