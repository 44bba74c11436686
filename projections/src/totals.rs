//! Per-instance totals of a read-model table, kept as its rows are inserted and deleted, so
//! that an unfiltered listing knows its `totalResults` without counting every row.
//!
//! A projection folds a batch's inserts and deletes into one delta per instance (`Deltas`) and
//! writes them in one statement per totals table (on PostgreSQL).

use crate::db::set_based::{Kind, Shape};
use crate::db::{Dialect, Sql, SqlArg};
use std::collections::BTreeMap;

/// The totals table of each counted table.
pub const USER_TOTALS: &str = "scim_user_totals";
pub const GROUP_TOTALS: &str = "scim_group_totals";

/// Moves `instance_id`'s total in `totals` by `by` (one row inserted: 1; deleted: -1).
pub fn change(totals: &'static str, instance_id: &str, by: i64) -> Sql {
    Sql::new(format!(
        "INSERT INTO {totals} (instance_id, total) VALUES ($1, $2)
         ON CONFLICT (instance_id) DO UPDATE SET total = {totals}.total + excluded.total"
    ))
    .bind(instance_id)
    .bind(by)
}

/// How much each instance's total moves over a batch: its rows inserted less its rows deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Deltas(BTreeMap<String, i64>);

impl Deltas {
    pub fn add(&mut self, instance_id: &str, by: i64) {
        *self.0.entry(instance_id.to_string()).or_default() += by;
    }

    /// The statements moving each instance's total in `totals` (one on PostgreSQL). An
    /// instance whose rows came and went is written too: its total row exists from then on,
    /// as it would had each change been written on its own.
    pub fn statements(self, totals: &'static str, dialect: Dialect) -> Vec<Sql> {
        let shape = Shape {
            table: totals,
            key: &["instance_id"],
            columns: &[("instance_id", Kind::Text), ("total", Kind::Int)],
        };
        let rows: Vec<Vec<SqlArg>> = self
            .0
            .into_iter()
            .map(|(instance_id, by)| vec![instance_id.into(), by.into()])
            .collect();
        shape.insert_or_update(
            dialect,
            rows,
            &format!("total = {totals}.total + excluded.total"),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The statement reading `instance_id`'s total (`total`; 0 before its first row), with the
/// instance bound as `$1`.
pub fn read(totals: &'static str) -> String {
    format!("SELECT COALESCE((SELECT total FROM {totals} WHERE instance_id = $1), 0) AS total")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_moves_each_instance_once_by_the_sum_of_its_changes() {
        let mut deltas = Deltas::default();
        for (instance, by) in [("a", 1), ("b", 1), ("a", 1), ("b", -1), ("a", -1)] {
            deltas.add(instance, by);
        }
        let statements = deltas.clone().statements(USER_TOTALS, Dialect::Postgres);
        assert_eq!(statements.len(), 1);
        assert_eq!(
            statements[0].args(),
            [
                SqlArg::Texts(vec![Some("a".into()), Some("b".into())]),
                SqlArg::Ints(vec![Some(1), Some(0)]),
            ]
        );
        assert!(statements[0]
            .text()
            .ends_with("DO UPDATE SET total = scim_user_totals.total + excluded.total"));
        assert_eq!(deltas.statements(USER_TOTALS, Dialect::Sqlite).len(), 2);
        assert!(Deltas::default()
            .statements(GROUP_TOTALS, Dialect::Postgres)
            .is_empty());
    }
}
