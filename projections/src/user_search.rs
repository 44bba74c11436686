//! Finding an instance's users by the start of their userName, displayName or an email
//! address, in any case, a page at a time in userName order.
//!
//! Each of the three is a range of its own index (`prefix <= key < successor(prefix)`), so a
//! search reads the users that match and no others, however large the instance. Their union is
//! then put in userName order: a page costs the number of matches, not the number of users
//! (the price of three orders merged into one: a common prefix on a huge instance sorts many).
//! With no prefix every user matches, and the page is read straight off the userName index.
//! Keys compare byte for byte (`COLLATE "C"` on PostgreSQL, as the indexes are built), so the
//! ranges and the page order agree on both stores.

use crate::db::{Db, DbError, Dialect, Sql, SqlArg};
use crate::user_emails::USER_EMAILS;
use aggregates::values::case_insensitive_key;

/// A search of one instance's users.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    pub instance_id: String,
    /// Matched against the start of userName, displayName and every email, in any case.
    pub prefix: String,
    /// Users after this `(userName key, creation position)` in the listing's order, for paging.
    pub after: Option<(String, i64)>,
    pub limit: i64,
}

/// A user a search found.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct FoundUser {
    pub id: String,
    pub user_name: String,
    pub user_name_key: String,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::db::sqlite::optional_flag")]
    pub active: Option<bool>,
    /// The user's attributes as JSON text (its emails are among them).
    pub attributes: String,
    pub created_position: i64,
}

/// One page of the users `search` finds, in userName order.
pub async fn search_users(db: &Db, search: &UserSearch) -> Result<Vec<FoundUser>, DbError> {
    db.fetch_all(&search_statement(db.dialect(), search)).await
}

/// The least string greater than every string that starts with `prefix`, if there is one.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The statement `search_users` runs, for checking its plan.
pub fn search_statement(dialect: Dialect, search: &UserSearch) -> Sql {
    // Byte order on PostgreSQL whatever the database's collation, as the indexes are built.
    // SQLite's CROSS JOIN keeps the matches as the outer loop: left to itself it would walk
    // the userName index in page order, testing every user of the instance until a page of
    // matches came by.
    let (c, join) = match dialect {
        Dialect::Sqlite => ("", "CROSS JOIN"),
        Dialect::Postgres => (r#" COLLATE "C""#, "JOIN"),
    };
    let prefix = case_insensitive_key(&search.prefix);
    let mut args: Vec<SqlArg> = vec![search.instance_id.as_str().into()];
    // With a prefix, the matches are of the instance already: naming it again would only offer
    // the planner the whole instance as a way in.
    let (source, mut conditions) = if prefix.is_empty() {
        (
            "scim_users u".to_string(),
            vec!["u.instance_id = $1".to_string()],
        )
    } else {
        let to = successor(&prefix);
        args.push(prefix.into());
        if let Some(to) = to.clone() {
            args.push(to.into());
        }
        let range = |column: &str| match to {
            Some(_) => format!("{column}{c} >= $2 AND {column}{c} < $3"),
            None => format!("{column}{c} >= $2"),
        };
        let source = format!(
            "(SELECT id FROM scim_users WHERE instance_id = $1 AND {}
              UNION
              SELECT id FROM scim_users WHERE instance_id = $1 AND {}
              UNION
              SELECT user_id FROM {USER_EMAILS} WHERE instance_id = $1 AND {}) AS matches
             {join} scim_users u ON u.id = matches.id",
            range("user_name_key"),
            range("display_name_key"),
            range("email_key"),
        );
        (source, Vec::new())
    };
    if let Some((key, position)) = &search.after {
        let (k, p) = (args.len() + 1, args.len() + 2);
        args.push(key.as_str().into());
        args.push((*position).into());
        conditions.push(format!(
            "(u.user_name_key{c} > ${k} OR (u.user_name_key{c} = ${k} AND u.created_position > ${p}))"
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let text = format!(
        "SELECT u.id, u.user_name, u.user_name_key, u.display_name, u.active, u.attributes,
                u.created_position
           FROM {source}
          {filter}
          ORDER BY u.user_name_key{c}, u.created_position
          LIMIT {}",
        search.limit.max(0),
    );
    args.into_iter().fold(Sql::new(text), Sql::bind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_successor_of_a_prefix_bounds_exactly_the_strings_that_start_with_it() {
        assert_eq!(successor("ada").as_deref(), Some("adb"));
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{d7ff}").as_deref(), Some("\u{e000}"));
        assert_eq!(successor("\u{10FFFF}"), None);
        assert_eq!(successor(""), None);
        let bound = successor("ad").unwrap_or_default();
        for inside in ["ad", "ada", "ad\u{10FFFF}x", "adz"] {
            assert!(inside >= "ad" && inside < bound.as_str(), "{inside}");
        }
        for outside in ["ac\u{10FFFF}", "ae", "b", "a"] {
            assert!(!(outside >= "ad" && outside < bound.as_str()), "{outside}");
        }
    }
}
