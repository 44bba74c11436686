//! A user row with its groups in the same row: a page of users and the groups each belongs to
//! in one query, where `groups_of_members` takes a second one. An IdP's lookup before each
//! create is such a page.

use super::{UserRecord, USER_COLUMNS};
use crate::db::Dialect;
use crate::scim_groups::MembershipRecord;

/// A `UserRecord` and its direct groups as JSON text: `[[id, displayName, key], …]`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct UserWithGroups {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub user: UserRecord,
    pub user_groups: String,
}

/// The columns of a `UserWithGroups`, for a query `FROM scim_users`.
pub fn user_with_groups_columns(dialect: Dialect) -> String {
    let groups = match dialect {
        Dialect::Sqlite => {
            "(SELECT json_group_array(json_array(g.id, g.display_name, g.display_name_key))
                FROM scim_group_members m JOIN scim_groups g ON g.id = m.group_id
               WHERE m.member_id = scim_users.id AND g.instance_id = scim_users.instance_id)"
        }
        Dialect::Postgres => {
            "(SELECT coalesce(json_agg(json_build_array(g.id, g.display_name,
                                                       g.display_name_key)), '[]')::text
                FROM scim_group_members m JOIN scim_groups g ON g.id = m.group_id
               WHERE m.member_id = scim_users.id AND g.instance_id = scim_users.instance_id)"
        }
    };
    format!("{USER_COLUMNS}, {groups} AS user_groups")
}

impl UserWithGroups {
    /// The user's groups, in the order `groups_of_members` gives them (by name key, byte by
    /// byte, then id). A store's JSON aggregate promises no order, so it is sorted here.
    pub fn groups(&self) -> Result<Vec<MembershipRecord>, serde_json::Error> {
        let mut groups: Vec<(String, String, Option<String>)> =
            serde_json::from_str(&self.user_groups)?;
        // A group without a name key (none is stored without one) comes last.
        let order = |(id, _, key): &(String, String, Option<String>)| {
            (key.is_none(), key.clone().unwrap_or_default(), id.clone())
        };
        groups.sort_by_key(order);
        Ok(groups
            .into_iter()
            .map(|(group_id, display_name, _)| MembershipRecord {
                group_id,
                display_name,
            })
            .collect())
    }
}
