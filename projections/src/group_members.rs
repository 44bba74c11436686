//! A group's members a page at a time, each with its name, for an administrator reading a
//! group of any size: pages follow the membership table's key (group, member id), so each reads
//! only its own rows.

use crate::db::{Db, DbError, Sql};

/// A live member of a group, with its name (a user's userName and displayName, a group's
/// displayName).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct NamedMember {
    pub member_id: String,
    pub member_kind: String,
    pub user_name: Option<String>,
    pub display_name: Option<String>,
}

/// Up to `limit` live members of `group_id` after the member id `after`, in member id order.
/// Memberships of deleted users or groups linger until their removal events are applied; the
/// joins hide them meanwhile, as in the SCIM read model.
pub async fn member_page(
    db: &Db,
    group_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<NamedMember>, DbError> {
    let sql = Sql::new(format!(
        "SELECT m.member_id, m.member_kind, u.user_name,
                COALESCE(u.display_name, g.display_name) AS display_name
           FROM scim_group_members m
           LEFT JOIN scim_users u ON m.member_kind = 'User' AND u.id = m.member_id
           LEFT JOIN scim_groups g ON m.member_kind = 'Group' AND g.id = m.member_id
          WHERE m.group_id = $1 AND m.member_id > $2 AND (u.id IS NOT NULL OR g.id IS NOT NULL)
          ORDER BY m.member_id
          LIMIT {}",
        limit.max(0)
    ))
    .bind(group_id)
    // Every id is longer than the empty string: the first page starts before them all.
    .bind(after.unwrap_or(""));
    db.fetch_all(&sql).await
}

/// How many live members `group_id` has.
pub async fn member_total(db: &Db, group_id: &str) -> Result<i64, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Total {
        total: i64,
    }
    let sql = Sql::new(
        "SELECT COUNT(*) AS total
           FROM scim_group_members m
           LEFT JOIN scim_users u ON m.member_kind = 'User' AND u.id = m.member_id
           LEFT JOIN scim_groups g ON m.member_kind = 'Group' AND g.id = m.member_id
          WHERE m.group_id = $1 AND (u.id IS NOT NULL OR g.id IS NOT NULL)",
    )
    .bind(group_id);
    let total: Total = db.fetch_one(&sql).await?;
    Ok(total.total)
}
