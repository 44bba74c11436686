//! Digests of read-model tables, so that two copies of a projection (the live one and one
//! rebuilt from the event log) can be compared without trusting either.
//!
//! Each row is read as one JSON array of its columns, hashed, and the row hashes are kept
//! sorted: the digest does not depend on the order the database returns rows in, and two
//! digests that differ can name the rows that differ.

use crate::db::{DbError, Dialect, Sql, Tx};
use sha2::{Digest, Sha256};

pub type RowHash = [u8; 32];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub table: &'static str,
    /// Every row's hash, sorted.
    pub rows: Vec<RowHash>,
}

impl TableDigest {
    pub fn digest(&self) -> RowHash {
        let mut hasher = Sha256::new();
        for row in &self.rows {
            hasher.update(row);
        }
        hasher.finalize().into()
    }
}

/// One digest over several tables: the projection's, from its tables' digests in order.
pub fn combined(tables: &[TableDigest]) -> RowHash {
    let mut hasher = Sha256::new();
    for table in tables {
        hasher.update(table.table.as_bytes());
        hasher.update(table.digest());
    }
    hasher.finalize().into()
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct ColumnName {
    name: String,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct RowText {
    row: String,
}

/// The table's rows, each as the JSON array of its columns in declaration order.
async fn rows_as_text(tx: &mut Tx, table: &str) -> Result<Sql, DbError> {
    let columns_sql = match tx.dialect() {
        Dialect::Sqlite => Sql::new("SELECT name FROM pragma_table_info($1) ORDER BY cid"),
        Dialect::Postgres => Sql::new(
            "SELECT column_name::text AS name FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = $1
              ORDER BY ordinal_position",
        ),
    }
    .bind(table);
    let columns: Vec<ColumnName> = tx.fetch_all(&columns_sql).await?;
    let quoted: Vec<String> = columns
        .iter()
        .map(|column| format!("\"{}\"", column.name.replace('"', "\"\"")))
        .collect();
    let list = quoted.join(", ");
    Ok(Sql::new(match tx.dialect() {
        Dialect::Sqlite => format!("SELECT json_array({list}) AS row FROM {table}"),
        Dialect::Postgres => format!("SELECT json_build_array({list})::text AS row FROM {table}"),
    }))
}

/// The digest of one table, streamed: only the row hashes are held.
pub async fn table_digest(tx: &mut Tx, table: &'static str) -> Result<TableDigest, DbError> {
    let sql = rows_as_text(tx, table).await?;
    let mut rows = Vec::new();
    tx.for_each(&sql, |row: RowText| {
        rows.push(Sha256::digest(row.row.as_bytes()).into())
    })
    .await?;
    rows.sort_unstable();
    Ok(TableDigest { table, rows })
}

/// Up to `limit` rows of `table` whose hashes are in `wanted`, as text: what a report shows of
/// rows that one copy has and the other lacks.
pub async fn rows_with_hashes(
    tx: &mut Tx,
    table: &str,
    wanted: &[RowHash],
    limit: usize,
) -> Result<Vec<String>, DbError> {
    let sql = rows_as_text(tx, table).await?;
    let mut found = Vec::new();
    tx.for_each(&sql, |row: RowText| {
        let hash: RowHash = Sha256::digest(row.row.as_bytes()).into();
        if found.len() < limit && wanted.binary_search(&hash).is_ok() {
            found.push(row.row);
        }
    })
    .await?;
    Ok(found)
}

/// The hashes only `ours` has, and those only `theirs` has (both sorted, duplicates counted).
pub fn differences(ours: &[RowHash], theirs: &[RowHash]) -> (Vec<RowHash>, Vec<RowHash>) {
    let (mut only_ours, mut only_theirs) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < ours.len() || j < theirs.len() {
        match (ours.get(i), theirs.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                only_ours.push(*a);
                i += 1;
            }
            (Some(_), Some(b)) => {
                only_theirs.push(*b);
                j += 1;
            }
            (Some(a), None) => {
                only_ours.push(*a);
                i += 1;
            }
            (None, Some(b)) => {
                only_theirs.push(*b);
                j += 1;
            }
            (None, None) => break,
        }
    }
    (only_ours, only_theirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u8) -> RowHash {
        [n; 32]
    }

    #[test]
    fn differences_name_rows_on_each_side_and_count_duplicates() {
        let ours = [hash(1), hash(2), hash(2), hash(4)];
        let theirs = [hash(2), hash(3), hash(4), hash(5)];
        let (only_ours, only_theirs) = differences(&ours, &theirs);
        assert_eq!(only_ours, vec![hash(1), hash(2)]);
        assert_eq!(only_theirs, vec![hash(3), hash(5)]);
    }

    #[test]
    fn the_digest_depends_on_every_row() {
        let rows = vec![hash(1), hash(2), hash(3)];
        let one = TableDigest { table: "t", rows };
        for changed in 0..one.rows.len() {
            let mut other = one.clone();
            other.rows[changed] = hash(9);
            assert_ne!(one.digest(), other.digest(), "row {changed} changed");
            assert_ne!(
                combined(std::slice::from_ref(&one)),
                combined(&[other]),
                "row {changed} changed"
            );
        }
    }
}
