//! The members each group has now, as its member changes left them, so that a group's
//! deletion, whose event names no member, is in the history of every member it still had:
//! the deletion's entry once per member, naming it by its name then, in
//! `history_group_deletions` (a member's history reads it beside `history_entries`).
//!
//! A batch folds its member changes (`Memberships`): each (group, member) pair ends present
//! or gone, written once at the batch's end as two sets (rows added, rows removed). A
//! deletion needs the group's members at that moment: the stored ones of every group the
//! batch deletes are read in one statement before the batch applies (`stored_members`), and
//! the batch's own changes before the deletion are laid over them.

use crate::db::set_based::{Kind, Shape};
use crate::db::{Dialect, Sql, SqlArg, Tx};
use crate::error::ProjectionError;
use std::collections::{BTreeMap, HashMap};

/// A member of a group: its id and its type (`User` or `Group`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub(super) struct Membership {
    pub group_id: String,
    pub member_id: String,
    pub member_type: String,
}

/// What one batch does to `history_group_members`, folded.
#[derive(Debug, Default)]
pub(super) struct Memberships {
    /// The stored members of each group the batch deletes, by id, with their type.
    stored: HashMap<String, BTreeMap<String, String>>,
    /// Each (group, member) pair the batch changed: present with the member's type, or gone.
    changes: BTreeMap<(String, String), Option<String>>,
}

impl Memberships {
    /// A batch's fold, starting from `stored`: every stored member of each group it deletes.
    pub fn new(stored: Vec<Membership>) -> Self {
        let mut by_group: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        for row in stored {
            by_group
                .entry(row.group_id)
                .or_default()
                .insert(row.member_id, row.member_type);
        }
        Self {
            stored: by_group,
            changes: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, group_id: &str, member_id: &str, member_type: &str) {
        self.changes.insert(
            (group_id.to_string(), member_id.to_string()),
            Some(member_type.to_string()),
        );
    }

    pub fn remove(&mut self, group_id: &str, member_id: &str) {
        self.changes
            .insert((group_id.to_string(), member_id.to_string()), None);
    }

    /// The members `group_id` has as it is deleted (id and type, by id), which it then no
    /// longer has: those stored before the batch, with the batch's changes so far laid over.
    pub fn delete(&mut self, group_id: &str) -> Vec<(String, String)> {
        let mut members = self.stored.remove(group_id).unwrap_or_default();
        for ((_, member_id), change) in self.changes_of(group_id) {
            match change {
                Some(member_type) => members.insert(member_id.clone(), member_type.clone()),
                None => members.remove(member_id),
            };
        }
        for member_id in members.keys() {
            self.remove(group_id, member_id);
        }
        members.into_iter().collect()
    }

    fn changes_of<'a>(
        &'a self,
        group_id: &'a str,
    ) -> impl Iterator<Item = (&'a (String, String), &'a Option<String>)> + 'a {
        let from = (group_id.to_string(), String::new());
        self.changes
            .range(from..)
            .take_while(move |((group, _), _)| group == group_id)
    }

    /// The batch's writes, emptying the fold: the rows to add, and the (group, member) keys
    /// of the rows to remove.
    pub fn take(&mut self) -> (Vec<Membership>, Vec<(String, String)>) {
        self.stored.clear();
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for ((group_id, member_id), change) in std::mem::take(&mut self.changes) {
            match change {
                Some(member_type) => added.push(Membership {
                    group_id,
                    member_id,
                    member_type,
                }),
                None => removed.push((group_id, member_id)),
            }
        }
        (added, removed)
    }
}

/// The table: who is in which group.
const MEMBERS: Shape = Shape {
    table: "history_group_members",
    key: &["group_id", "member_id"],
    columns: &[
        ("group_id", Kind::Text),
        ("member_id", Kind::Text),
        ("member_type", Kind::Text),
    ],
};

/// The same table, read by group.
const BY_GROUP: Shape = Shape {
    key: &["group_id"],
    ..MEMBERS
};

/// The stored members of `groups`, in one statement on PostgreSQL.
pub(super) async fn stored_members<'a>(
    tx: &mut Tx,
    groups: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Membership>, ProjectionError> {
    let keys = groups
        .into_iter()
        .map(|group_id| vec![SqlArg::from(group_id)])
        .collect();
    Ok(BY_GROUP
        .fetch_by_keys(tx, "group_id, member_id, member_type", keys)
        .await?)
}

/// The statements that write what `memberships` gathered, emptying it: one per set on
/// PostgreSQL (rows removed, rows added), none for an empty set.
pub(super) fn writes(dialect: Dialect, memberships: &mut Memberships) -> Vec<Sql> {
    let (added, removed) = memberships.take();
    let added = added
        .into_iter()
        .map(|row| {
            vec![
                SqlArg::from(row.group_id),
                SqlArg::from(row.member_id),
                SqlArg::from(row.member_type),
            ]
        })
        .collect();
    let removed = removed
        .into_iter()
        .map(|(group_id, member_id)| vec![SqlArg::from(group_id), SqlArg::from(member_id)])
        .collect();
    let mut writes = MEMBERS.delete(dialect, removed);
    writes.extend(MEMBERS.insert_new(dialect, added));
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(group: &str, member: &str) -> Membership {
        Membership {
            group_id: group.into(),
            member_id: member.into(),
            member_type: "User".into(),
        }
    }

    fn members(list: &[&str]) -> Vec<(String, String)> {
        list.iter()
            .map(|id| (id.to_string(), "User".to_string()))
            .collect()
    }

    #[test]
    fn a_deletion_names_the_stored_members_and_those_the_batch_added_before_it() {
        let mut fold = Memberships::new(vec![stored("g1", "u1"), stored("g1", "u2")]);
        fold.add("g1", "u3", "User");
        fold.remove("g1", "u2");
        fold.add("g2", "u4", "User");
        assert_eq!(fold.delete("g1"), members(&["u1", "u3"]));
        let (added, removed) = fold.take();
        assert_eq!(added, vec![stored("g2", "u4")]);
        let keys = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(g, m)| (g.to_string(), m.to_string()))
                .collect()
        };
        assert_eq!(removed, keys(&[("g1", "u1"), ("g1", "u2"), ("g1", "u3")]));
    }

    #[test]
    fn a_member_added_after_the_deletion_is_not_in_it() {
        let mut fold = Memberships::new(vec![stored("g1", "u1")]);
        assert_eq!(fold.delete("g1"), members(&["u1"]));
        fold.add("g1", "u2", "User");
        assert_eq!(fold.delete("g1"), members(&["u2"]));
        let (added, removed) = fold.take();
        assert!(added.is_empty());
        assert_eq!(removed.len(), 2);
    }

    #[test]
    fn repeated_changes_of_one_membership_leave_the_last() {
        let mut fold = Memberships::default();
        fold.add("g1", "u1", "User");
        fold.remove("g1", "u1");
        fold.add("g1", "u1", "User");
        fold.remove("g1", "u2");
        fold.add("g1", "u2", "Group");
        fold.add("g1", "u3", "User");
        fold.remove("g1", "u3");
        let (added, removed) = fold.take();
        assert_eq!(
            added,
            vec![
                stored("g1", "u1"),
                Membership {
                    member_type: "Group".into(),
                    ..stored("g1", "u2")
                }
            ]
        );
        assert_eq!(removed, vec![("g1".to_string(), "u3".to_string())]);
        assert_eq!(fold.take(), (vec![], vec![]));
    }

    #[test]
    fn a_group_whose_id_begins_like_another_keeps_its_own_members() {
        let mut fold = Memberships::new(vec![]);
        fold.add("g1", "u1", "User");
        fold.add("g10", "u2", "User");
        fold.add("g", "u3", "User");
        assert_eq!(fold.delete("g1"), members(&["u1"]));
    }

    #[test]
    fn a_batch_writes_its_memberships_in_one_statement_per_set_on_postgres() {
        let mut fold = Memberships::default();
        assert!(writes(Dialect::Postgres, &mut fold).is_empty());
        for n in 0..100 {
            fold.add("g1", &format!("u{n}"), "User");
            fold.remove("g2", &format!("u{n}"));
        }
        assert_eq!(writes(Dialect::Postgres, &mut fold).len(), 2);
        fold.add("g1", "u1", "User");
        fold.add("g1", "u2", "User");
        assert_eq!(writes(Dialect::Sqlite, &mut fold).len(), 2);
    }
}
