//! Per-instance totals of a read-model table, kept as its rows are inserted and deleted, so
//! that an unfiltered listing knows its `totalResults` without counting every row.

use crate::db::Sql;

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

/// The statement reading `instance_id`'s total (`total`; 0 before its first row), with the
/// instance bound as `$1`.
pub fn read(totals: &'static str) -> String {
    format!("SELECT COALESCE((SELECT total FROM {totals} WHERE instance_id = $1), 0) AS total")
}
