//! Running a `Sql` on a rusqlite connection, on the calling thread: the statement comes from
//! the connection's cache of prepared statements, and its `$N` placeholders are bound by
//! number as sqlx binds them.

use super::decode::{from_row, DecodeError};
use crate::db::{Sql, SqlArg};
use rusqlite::{CachedStatement, Connection};
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("statement has a placeholder ${0} without a value")]
    MissingValue(usize),
    /// Arrays are PostgreSQL's (set-based writes); SQLite gets one row per statement instead.
    #[error("statement binds an array to ${0}, which SQLite cannot take")]
    ArrayValue(usize),
}

/// Prepared statements each connection keeps: every statement text scimd sends, with room
/// for the few that vary (multi-row inserts of several sizes, filters).
pub const CACHED_STATEMENTS: usize = 256;

/// Where each statement is logged, at debug level (as sqlx logs PostgreSQL's).
pub const LOG_TARGET: &str = "scimd::sql";

fn prepared<'c>(conn: &'c Connection, sql: &Sql) -> Result<CachedStatement<'c>, StatementError> {
    tracing::debug!(target: LOG_TARGET, statement = sql.text());
    let mut statement = conn.prepare_cached(sql.text())?;
    for index in 1..=statement.parameter_count() {
        let number = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix(['$', '?', ':', '@']))
            .and_then(|number| number.parse::<usize>().ok())
            .unwrap_or(index);
        let value = number
            .checked_sub(1)
            .and_then(|at| sql.args().get(at))
            .ok_or(StatementError::MissingValue(number))?;
        match value {
            SqlArg::Bool(value) => statement.raw_bind_parameter(index, value)?,
            SqlArg::Int(value) => statement.raw_bind_parameter(index, value)?,
            SqlArg::Text(value) => statement.raw_bind_parameter(index, value.as_deref())?,
            SqlArg::Texts(_) | SqlArg::Ints(_) | SqlArg::Bools(_) => {
                return Err(StatementError::ArrayValue(number))
            }
        }
    }
    Ok(statement)
}

/// Runs a statement and returns the rows it changed. Text of several statements (schema
/// changes, a savepoint's rollback and release) runs as a batch, which binds nothing: a
/// prepared statement would run only the first of them.
pub fn execute(conn: &Connection, sql: &Sql) -> Result<u64, StatementError> {
    if holds_several(sql.text()) {
        if !sql.args().is_empty() {
            return Err(rusqlite::Error::MultipleStatement.into());
        }
        conn.execute_batch(sql.text())?;
        return Ok(conn.changes());
    }
    let mut statement = prepared(conn, sql)?;
    let writes = !statement.readonly();
    let mut rows = statement.raw_query();
    while rows.next()?.is_some() {}
    Ok(if writes { conn.changes() } else { 0 })
}

/// Whether `text` may be more than one statement: a semicolon before its end. (One inside a
/// literal or a trigger's body only sends a single statement the batch way, which runs it
/// the same.)
fn holds_several(text: &str) -> bool {
    text.trim_end().trim_end_matches(';').contains(';')
}

/// Hands each row of a query to `each`, read as a `T`.
pub fn for_each<T: DeserializeOwned>(
    conn: &Connection,
    sql: &Sql,
    mut each: impl FnMut(T),
) -> Result<(), StatementError> {
    let mut statement = prepared(conn, sql)?;
    let columns = column_names(&statement);
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        each(from_row(row, &columns)?);
    }
    Ok(())
}

pub fn fetch_all<T: DeserializeOwned>(
    conn: &Connection,
    sql: &Sql,
) -> Result<Vec<T>, StatementError> {
    let mut all = Vec::new();
    for_each(conn, sql, |row| all.push(row))?;
    Ok(all)
}

pub fn fetch_optional<T: DeserializeOwned>(
    conn: &Connection,
    sql: &Sql,
) -> Result<Option<T>, StatementError> {
    let mut statement = prepared(conn, sql)?;
    let columns = column_names(&statement);
    let mut rows = statement.raw_query();
    match rows.next()? {
        Some(row) => Ok(Some(from_row(row, &columns)?)),
        None => Ok(None),
    }
}

/// The names rows of `statement` are read by, owned so that the rows can borrow it.
fn column_names(statement: &CachedStatement<'_>) -> Vec<String> {
    statement
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect()
}
