//! Set-based writes and reads of a table by its key, rendered for a dialect: what lets a
//! projector batch write each table once, whatever the number of rows it changed.
//!
//! On PostgreSQL every call is at most one statement: each column's values bound as one array,
//! expanded with `UNNEST`, so the text is the same for any number of rows and is prepared once
//! (one round trip per table per batch, not one per row). On SQLite, where a statement costs
//! no round trip, each row gets its own single-row statement, prepared once and cached.

use super::{DbError, Dialect, Record, Sql, SqlArg, Tx};

/// The type of a column, which names the array type its values are bound as on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Bool,
}

impl Kind {
    /// The kind of a scalar value; `None` for an array.
    pub(super) fn of(value: &SqlArg) -> Option<Self> {
        match value {
            SqlArg::Text(_) => Some(Self::Text),
            SqlArg::Int(_) => Some(Self::Int),
            SqlArg::Bool(_) => Some(Self::Bool),
            SqlArg::Texts(_) | SqlArg::Ints(_) | SqlArg::Bools(_) => None,
        }
    }

    pub(super) fn array_type(self) -> &'static str {
        match self {
            Self::Text => "text[]",
            Self::Int => "bigint[]",
            Self::Bool => "boolean[]",
        }
    }

    /// The array of `values`, when each is a scalar of this kind.
    pub(super) fn array(self, values: impl IntoIterator<Item = SqlArg>) -> Option<SqlArg> {
        let values = values.into_iter();
        Some(match self {
            Self::Text => SqlArg::Texts(
                values
                    .map(|value| match value {
                        SqlArg::Text(text) => Some(text),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            ),
            Self::Int => SqlArg::Ints(
                values
                    .map(|value| match value {
                        SqlArg::Int(int) => Some(int),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            ),
            Self::Bool => SqlArg::Bools(
                values
                    .map(|value| match value {
                        SqlArg::Bool(flag) => Some(flag),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            ),
        })
    }
}

/// A table as set-based statements see it: its key, and the columns they write.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub table: &'static str,
    /// The columns of the table's primary key (or of a unique index), each among `columns`.
    pub key: &'static [&'static str],
    pub columns: &'static [(&'static str, Kind)],
}

impl Shape {
    /// Each row (one value per column, in `columns` order; no two rows share a key) inserted,
    /// or replacing every non-key column of the row with that key.
    pub fn upsert(&self, dialect: Dialect, rows: Vec<Vec<SqlArg>>) -> Vec<Sql> {
        let updates: Vec<String> = self
            .columns
            .iter()
            .map(|(column, _)| *column)
            .filter(|column| !self.key.contains(column))
            .map(|column| format!("{column} = excluded.{column}"))
            .collect();
        let conflict = if updates.is_empty() {
            "DO NOTHING".to_string()
        } else {
            format!("DO UPDATE SET {}", updates.join(", "))
        };
        self.insert(dialect, rows, &conflict)
    }

    /// Each row inserted unless a row with its key exists (which is left as it is).
    pub fn insert_new(&self, dialect: Dialect, rows: Vec<Vec<SqlArg>>) -> Vec<Sql> {
        self.insert(dialect, rows, "DO NOTHING")
    }

    /// Each row inserted, or the row with its key changed by `set` (`column = …`, which may
    /// name the row's values as `excluded.column`): for accumulating writes (totals).
    pub fn insert_or_update(
        &self,
        dialect: Dialect,
        rows: Vec<Vec<SqlArg>>,
        set: &str,
    ) -> Vec<Sql> {
        self.insert(dialect, rows, &format!("DO UPDATE SET {set}"))
    }

    /// The rows with these keys (each one value per key column, in `key` order) deleted.
    pub fn delete(&self, dialect: Dialect, keys: Vec<Vec<SqlArg>>) -> Vec<Sql> {
        let head = format!("DELETE FROM {} WHERE", self.table);
        self.by_keys(dialect, &head, keys)
    }

    /// `SELECT {select} FROM {table}` of the rows with these keys: on PostgreSQL one
    /// statement, on SQLite one per key (each an indexed lookup, prepared once).
    pub fn select_by_keys(
        &self,
        dialect: Dialect,
        select: &str,
        keys: Vec<Vec<SqlArg>>,
    ) -> Vec<Sql> {
        let head = format!("SELECT {select} FROM {} WHERE", self.table);
        self.by_keys(dialect, &head, keys)
    }

    /// The rows `select_by_keys` selects, read in `tx`.
    pub async fn fetch_by_keys<T: Record>(
        &self,
        tx: &mut Tx,
        select: &str,
        keys: Vec<Vec<SqlArg>>,
    ) -> Result<Vec<T>, DbError> {
        let mut rows = Vec::new();
        for sql in self.select_by_keys(tx.dialect(), select, keys) {
            rows.extend(tx.fetch_all::<T>(&sql).await?);
        }
        Ok(rows)
    }

    fn insert(&self, dialect: Dialect, rows: Vec<Vec<SqlArg>>, conflict: &str) -> Vec<Sql> {
        if rows.is_empty() {
            return Vec::new();
        }
        let names: Vec<&str> = self.columns.iter().map(|(column, _)| *column).collect();
        let head = format!("INSERT INTO {} ({})", self.table, names.join(", "));
        let conflict = format!("ON CONFLICT ({}) {conflict}", self.key.join(", "));
        if dialect == Dialect::Postgres {
            let kinds: Vec<Kind> = self.columns.iter().map(|(_, kind)| *kind).collect();
            if let Some(arrays) = columns_of(&kinds, rows.clone()) {
                let text = format!("{head} SELECT * FROM {} {conflict}", unnest(&kinds));
                return vec![bound(text, arrays)];
            }
        }
        // Single-row statements: SQLite's way, and PostgreSQL's for rows whose values do not
        // fit the shape (which then fail there, as they would have to).
        let text = format!(
            "{head} VALUES ({}) {conflict}",
            super::placeholders(1, self.columns.len())
        );
        rows.into_iter()
            .map(|row| bound(text.clone(), row))
            .collect()
    }

    /// `{head} key IN keys`: one statement on PostgreSQL, one per key on SQLite.
    fn by_keys(&self, dialect: Dialect, head: &str, keys: Vec<Vec<SqlArg>>) -> Vec<Sql> {
        if keys.is_empty() {
            return Vec::new();
        }
        if dialect == Dialect::Postgres {
            let kinds: Vec<Kind> = self.key.iter().map(|column| self.kind_of(column)).collect();
            if let Some(arrays) = columns_of(&kinds, keys.clone()) {
                let text = match self.key {
                    [column] => format!("{head} {column} = ANY($1::{})", kinds[0].array_type()),
                    _ => format!(
                        "{head} ({}) IN (SELECT * FROM {})",
                        self.key.join(", "),
                        unnest(&kinds)
                    ),
                };
                return vec![bound(text, arrays)];
            }
        }
        let condition: Vec<String> = self
            .key
            .iter()
            .enumerate()
            .map(|(at, column)| format!("{column} = ${}", at + 1))
            .collect();
        let text = format!("{head} {}", condition.join(" AND "));
        keys.into_iter()
            .map(|key| bound(text.clone(), key))
            .collect()
    }

    /// A key column's kind; a key column not among `columns` is taken as text.
    fn kind_of(&self, key: &str) -> Kind {
        self.columns
            .iter()
            .find(|(column, _)| *column == key)
            .map_or(Kind::Text, |(_, kind)| *kind)
    }
}

/// `UNNEST($1::type[], $2::type[], …)` for columns of these kinds.
fn unnest(kinds: &[Kind]) -> String {
    let arrays: Vec<String> = kinds
        .iter()
        .enumerate()
        .map(|(at, kind)| format!("${}::{}", at + 1, kind.array_type()))
        .collect();
    format!("UNNEST({})", arrays.join(", "))
}

/// The rows turned into one array per column, when every row has one value of the column's
/// kind per column.
fn columns_of(kinds: &[Kind], rows: Vec<Vec<SqlArg>>) -> Option<Vec<SqlArg>> {
    if rows.iter().any(|row| row.len() != kinds.len()) {
        return None;
    }
    let mut columns: Vec<Vec<SqlArg>> = vec![Vec::with_capacity(rows.len()); kinds.len()];
    for row in rows {
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    kinds
        .iter()
        .zip(columns)
        .map(|(kind, values)| kind.array(values))
        .collect()
}

fn bound(text: String, args: Vec<SqlArg>) -> Sql {
    args.into_iter().fold(Sql::new(text), Sql::bind)
}

#[cfg(test)]
mod tests;
