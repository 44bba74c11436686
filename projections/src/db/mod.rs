//! One handle on either store, so that read models, claims and keys are written once for both.
//!
//! SQL text is shared where the dialects agree (`$1` placeholders work in both: PostgreSQL's
//! through sqlx, SQLite's bound by number in `sqlite`); the few statements that differ ask
//! for `Db::dialect`. Values are always bound, never pasted into SQL text.

mod deferred;
mod group_commit;
mod rows;
pub mod set_based;
pub mod sqlite;

use deferred::Deferred;
use futures_util::TryStreamExt;
pub use group_commit::FollowUp;
pub use rows::merged as multi_row_inserts;
use rows::Rows;
use serde::de::DeserializeOwned;
use sqlite::{Held, SqliteTx, StatementError};
pub use sqlite::{SqliteOptions, SqliteStore};
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::{FromRow, Postgres, Transaction};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqliteStore),
    Postgres(PgPool),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Postgres(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] StatementError),
    #[error("the store is closed")]
    Closed,
    #[error("the query returned no row")]
    NoRow,
    #[error("the shared write transaction failed: {0}")]
    SharedWrite(String),
}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error.into())
    }
}

impl DbError {
    /// A unique or primary-key constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Postgres(sqlx::Error::Database(error)) => error.is_unique_violation(),
            Self::Sqlite(StatementError::Sqlite(rusqlite::Error::SqliteFailure(error, _))) => {
                matches!(
                    error.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                )
            }
            _ => false,
        }
    }
}

/// A value bound to a statement parameter. A NULL keeps its type: PostgreSQL refuses a text
/// NULL for a boolean column. The arrays are bound as PostgreSQL arrays, for set-based
/// statements (`set_based`, `rows`) that expand them with `UNNEST`; SQLite refuses them.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlArg {
    Bool(Option<bool>),
    Int(Option<i64>),
    Text(Option<String>),
    Bools(Vec<Option<bool>>),
    Ints(Vec<Option<i64>>),
    Texts(Vec<Option<String>>),
}

impl From<bool> for SqlArg {
    fn from(value: bool) -> Self {
        Self::Bool(Some(value))
    }
}

impl From<Option<bool>> for SqlArg {
    fn from(value: Option<bool>) -> Self {
        Self::Bool(value)
    }
}

impl From<i64> for SqlArg {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}

impl From<u64> for SqlArg {
    /// Versions and counts never get near `i64::MAX`; saturate rather than wrap if one did.
    fn from(value: u64) -> Self {
        Self::Int(Some(i64::try_from(value).unwrap_or(i64::MAX)))
    }
}

impl From<&str> for SqlArg {
    fn from(value: &str) -> Self {
        Self::Text(Some(value.to_string()))
    }
}

impl From<String> for SqlArg {
    fn from(value: String) -> Self {
        Self::Text(Some(value))
    }
}

impl From<&String> for SqlArg {
    fn from(value: &String) -> Self {
        Self::Text(Some(value.clone()))
    }
}

impl From<Option<&str>> for SqlArg {
    fn from(value: Option<&str>) -> Self {
        Self::Text(value.map(str::to_string))
    }
}

impl From<Option<String>> for SqlArg {
    fn from(value: Option<String>) -> Self {
        Self::Text(value)
    }
}

/// A statement and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    text: Cow<'static, str>,
    args: Vec<SqlArg>,
    planned_each_time: bool,
}

impl Sql {
    pub fn new(text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
            planned_each_time: false,
        }
    }

    /// On PostgreSQL, plans the statement with its values at each run instead of keeping it
    /// prepared on the connection. A prepared statement soon runs on a generic plan, made once
    /// from the table's statistics as they were: one first made while a table was empty can
    /// walk every row of an instance for ever after (until an analyze of the table), where a
    /// plan for the values at hand reads one index entry. For statements whose indexes tie on
    /// an empty table; the others keep their prepared plans.
    pub fn planned_each_time(mut self) -> Self {
        self.planned_each_time = true;
        self
    }

    pub fn bind(mut self, arg: impl Into<SqlArg>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn push_arg(&mut self, arg: impl Into<SqlArg>) {
        self.args.push(arg.into());
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn args(&self) -> &[SqlArg] {
        &self.args
    }

    fn into_parts(self) -> (Cow<'static, str>, Vec<SqlArg>) {
        (self.text, self.args)
    }
}

/// The conditions of a `WHERE` clause, each with the values it binds, numbered as they come:
/// a query with optional filters is built without counting placeholders by hand.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    conditions: Vec<String>,
    args: Vec<SqlArg>,
}

impl Conditions {
    /// Adds `condition`, each `?` in it standing for the next of `values`.
    pub fn bind(&mut self, condition: &str, values: impl IntoIterator<Item = SqlArg>) {
        let mut values = values.into_iter();
        let mut numbered = String::with_capacity(condition.len());
        for c in condition.chars() {
            let value = if c == '?' { values.next() } else { None };
            match value {
                Some(value) => {
                    self.args.push(value);
                    numbered.push_str(&format!("${}", self.args.len()));
                }
                None => numbered.push(c),
            }
        }
        self.conditions.push(numbered);
    }

    /// Keyset paging over `columns`, the listing's order: adds the condition that reads on
    /// past `after` (the previous page's last key, one value per column), forwards or, with
    /// `newest_first`, backwards, and returns the `ORDER BY` that reads that way.
    pub fn page_after(
        &mut self,
        columns: &[&str],
        after: Option<Vec<SqlArg>>,
        newest_first: bool,
    ) -> String {
        let (beyond, direction) = if newest_first {
            ("<", " DESC")
        } else {
            (">", "")
        };
        if let Some(after) = after {
            let condition = match columns {
                [column] => format!("{column} {beyond} ?"),
                _ => format!(
                    "({}) {beyond} ({})",
                    columns.join(", "),
                    vec!["?"; columns.len()].join(", ")
                ),
            };
            self.bind(&condition, after);
        }
        let order: Vec<String> = columns
            .iter()
            .map(|column| format!("{column}{direction}"))
            .collect();
        format!("ORDER BY {}", order.join(", "))
    }

    /// Binds `value` for a condition written by hand (see `select_either`): its placeholder.
    pub fn placeholder(&mut self, value: SqlArg) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    /// The rows `SELECT {columns} FROM {table} WHERE {conditions}` finds that also match
    /// `condition`, for each `(table, condition)` of `branches`, in `order`, at most `limit`
    /// rows: a `UNION ALL` of one statement per branch, so that each reads an index of its own
    /// in order and the pages merge (an `OR` of the branches would leave the planner one
    /// index, or a sort of every match). Every table has `columns` and those of `conditions`.
    /// A row that matches two branches comes twice: write the branches to exclude each other.
    ///
    /// SQLite merges the branches of a union in `order` as they are. PostgreSQL (15) merges
    /// only branches ordered and limited on their own, and otherwise sorts every match of
    /// every branch (also when the union is a subquery): each branch reads at most a page.
    pub fn select_either(
        self,
        dialect: Dialect,
        columns: &str,
        branches: &[(&str, String)],
        order: &str,
        limit: i64,
    ) -> Sql {
        let mut args = self.args;
        args.push(limit.into());
        let limit = format!("LIMIT ${}", args.len());
        let statements: Vec<String> = branches
            .iter()
            .enumerate()
            .map(|(n, (table, branch))| {
                let mut all = self.conditions.clone();
                all.push(branch.clone());
                let branch = format!("SELECT {columns} FROM {table} WHERE {}", all.join(" AND "));
                match dialect {
                    Dialect::Sqlite => branch,
                    Dialect::Postgres => {
                        format!("SELECT {columns} FROM ({branch} {order} {limit}) AS branch_{n}")
                    }
                }
            })
            .collect();
        let text = format!("{} {order} {limit}", statements.join(" UNION ALL "));
        args.into_iter().fold(Sql::new(text), Sql::bind)
    }

    /// `{select} WHERE {conditions} {order} LIMIT {limit}`, with every value bound.
    pub fn select(self, select: &str, order: &str, limit: i64) -> Sql {
        let mut args = self.args;
        args.push(limit.into());
        let text = format!(
            "{select} WHERE {} {order} LIMIT ${}",
            self.conditions.join(" AND "),
            args.len()
        );
        args.into_iter().fold(Sql::new(text), Sql::bind)
    }
}

/// A row type decodable from both stores: `#[derive(sqlx::FromRow, serde::Deserialize)]`
/// (sqlx reads PostgreSQL's rows, serde SQLite's; see `sqlite::decode`).
pub trait Record: for<'r> FromRow<'r, PgRow> + DeserializeOwned + Send + Unpin {}
impl<T> Record for T where T: for<'r> FromRow<'r, PgRow> + DeserializeOwned + Send + Unpin {}

/// Binds each argument with the type it has, on whichever query type `$query` is.
macro_rules! bind_each {
    ($query:expr, $args:expr) => {
        $args.iter().fold($query, |query, arg| match arg {
            SqlArg::Bool(value) => query.bind(*value),
            SqlArg::Int(value) => query.bind(*value),
            SqlArg::Text(value) => query.bind(value.as_deref()),
            SqlArg::Bools(values) => query.bind(values.as_slice()),
            SqlArg::Ints(values) => query.bind(values.as_slice()),
            SqlArg::Texts(values) => query.bind(values.as_slice()),
        })
    };
}

fn bound(sql: &Sql) -> sqlx::query::Query<'_, Postgres, PgArguments> {
    bind_each!(
        sqlx::query(sql.text()).persistent(!sql.planned_each_time),
        sql.args
    )
}

fn bound_as<T>(sql: &Sql) -> sqlx::query::QueryAs<'_, Postgres, T, PgArguments>
where
    T: for<'r> FromRow<'r, PgRow>,
{
    bind_each!(
        sqlx::query_as(sql.text()).persistent(!sql.planned_each_time),
        sql.args
    )
}

impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Sqlite(_) => Dialect::Sqlite,
            Self::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement that writes, committed on its own or, on SQLite, together with
    /// others' (see `GroupCommit`): committed when this returns.
    pub async fn execute(&self, sql: &Sql) -> Result<u64, DbError> {
        match self {
            Self::Sqlite(store) => store.grouped.write(vec![sql.clone()], false).await,
            Self::Postgres(pool) => Ok(bound(sql).execute(pool).await?.rows_affected()),
        }
    }

    /// Runs a `DELETE` limited to `chunk` rows again and again until it deletes fewer, so that
    /// no one statement holds the store for long (pruning); how many rows it deleted in all.
    pub async fn delete_in_chunks(&self, sql: &Sql, chunk: i64) -> Result<u64, DbError> {
        let chunk = u64::try_from(chunk).unwrap_or(u64::MAX);
        let mut total = 0;
        loop {
            let deleted = self.execute(sql).await?;
            total += deleted;
            if deleted < chunk {
                return Ok(total);
            }
        }
    }

    pub async fn fetch_all<T: Record>(&self, sql: &Sql) -> Result<Vec<T>, DbError> {
        match self {
            Self::Sqlite(store) => Ok(sqlite::fetch_all(&*store.reader().await?, sql)?),
            Self::Postgres(pool) => Ok(bound_as(sql).fetch_all(pool).await?),
        }
    }

    pub async fn fetch_optional<T: Record>(&self, sql: &Sql) -> Result<Option<T>, DbError> {
        match self {
            Self::Sqlite(store) => Ok(sqlite::fetch_optional(&*store.reader().await?, sql)?),
            Self::Postgres(pool) => Ok(bound_as(sql).fetch_optional(pool).await?),
        }
    }

    pub async fn fetch_one<T: Record>(&self, sql: &Sql) -> Result<T, DbError> {
        match self {
            Self::Sqlite(store) => {
                sqlite::fetch_optional(&*store.reader().await?, sql)?.ok_or(DbError::NoRow)
            }
            Self::Postgres(pool) => Ok(bound_as(sql).fetch_one(pool).await?),
        }
    }

    /// A transaction that will write. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads first cannot wait for the lock when it
    /// later writes, and fails with SQLITE_BUSY instead. Waiting for another process's lock
    /// happens off the runtime's workers.
    pub async fn begin_write(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Self::Sqlite(store) => {
                let writer = Held::Writer(store.writer().await);
                let begun =
                    tokio::task::spawn_blocking(move || SqliteTx::begin(writer, "BEGIN IMMEDIATE"))
                        .await
                        .map_err(|_| DbError::Closed)??;
                Tx::sqlite(begun, true)
            }
            Self::Postgres(pool) => Tx::postgres(pool.begin().await?),
        })
    }

    /// A read-only transaction that sees one snapshot of the store throughout, so that several
    /// reads (a checkpoint and the tables it describes) agree with each other.
    pub async fn begin_snapshot(&self) -> Result<Tx, DbError> {
        Ok(match self {
            // A deferred transaction in WAL mode reads one snapshot from its first read on.
            Self::Sqlite(store) => {
                let reader = Held::Reader(store.reader().await?);
                Tx::sqlite(SqliteTx::begin(reader, "BEGIN")?, false)
            }
            Self::Postgres(pool) => Tx::postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }

    /// Runs `statements` all or nothing, and returns the rows they changed once committed.
    pub async fn execute_all(&self, statements: Vec<Sql>) -> Result<u64, DbError> {
        self.write_all(statements, false).await
    }

    /// As `execute_all`, for statements that append events: on SQLite, what follows group
    /// commits (`follow_group_commits`) applies them before the shared commit.
    pub async fn append_events(&self, statements: Vec<Sql>) -> Result<u64, DbError> {
        self.write_all(statements, true).await
    }

    /// Has every group commit that appended events run `follow_up` in its transaction (SQLite
    /// only: PostgreSQL commits each write on its own).
    pub fn follow_group_commits(&self, follow_up: std::sync::Weak<dyn FollowUp>) {
        if let Self::Sqlite(store) = self {
            store.grouped.follow_with(follow_up);
        }
    }

    async fn write_all(&self, statements: Vec<Sql>, appends_events: bool) -> Result<u64, DbError> {
        match self {
            Self::Sqlite(store) => store.grouped.write(statements, appends_events).await,
            // One statement is atomic by itself: no transaction around it, one round trip.
            Self::Postgres(pool) if statements.len() == 1 => {
                Ok(bound(&statements[0]).execute(pool).await?.rows_affected())
            }
            Self::Postgres(_) => {
                let mut tx = self.begin_write().await?;
                let mut changed = 0;
                for statement in &statements {
                    changed += tx.execute(statement).await?;
                }
                tx.commit().await?;
                Ok(changed)
            }
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close(),
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// An open transaction on either store; rolled back if dropped without `commit`.
pub struct Tx {
    conn: TxConn,
    deferred: Deferred,
    rows: Rows,
    /// Statements sent so far (`statements_sent`).
    sent: u64,
}

enum TxConn {
    /// `offload`: wait for the commit's fsync off the runtime's workers (a transaction begun
    /// by a request's task rather than by the group committer's own thread).
    Sqlite {
        tx: SqliteTx,
        offload: bool,
    },
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    fn sqlite(tx: SqliteTx, offload: bool) -> Self {
        Self {
            conn: TxConn::Sqlite { tx, offload },
            deferred: Deferred::default(),
            rows: Rows::default(),
            sent: 0,
        }
    }

    fn postgres(tx: Transaction<'static, Postgres>) -> Self {
        Self {
            conn: TxConn::Postgres(tx),
            deferred: Deferred::default(),
            rows: Rows::default(),
            sent: 0,
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.conn {
            TxConn::Sqlite { .. } => Dialect::Sqlite,
            TxConn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// How many statements this transaction has run: on PostgreSQL each is a round trip to
    /// the server (the `BEGIN` and `COMMIT` around them are not counted). What tests assert a
    /// projector batch's cost by.
    pub fn statements_sent(&self) -> u64 {
        self.sent
    }

    /// Drops the deferred writes: for a caller about to undo everything since a savepoint.
    fn discard_deferred(&mut self) {
        self.deferred.take();
        self.rows.take();
    }

    /// Holds a write back until the transaction next reads, writes otherwise or commits: for
    /// statements whose outcome the caller does not need (a failure still fails the
    /// transaction, only later). On SQLite, where a statement costs no round trip, it runs
    /// at once.
    pub async fn defer(&mut self, sql: Sql) -> Result<(), DbError> {
        if let TxConn::Sqlite { tx, .. } = &self.conn {
            self.sent += 1;
            return sqlite::execute(tx.conn(), &sql)
                .map(drop)
                .map_err(Into::into);
        }
        self.deferred.push(sql);
        if self.deferred.is_full() {
            self.flush().await?;
        }
        Ok(())
    }

    /// Holds back a row insert that no other write of the transaction depends on, and that
    /// depends on none, like `defer`; rows of the same statement then go out as one multi-row
    /// `INSERT` (see `rows`), before or after the writes deferred around them. On SQLite the
    /// row goes in at once, through the connection's prepared single-row statement.
    pub async fn defer_row(&mut self, sql: Sql) -> Result<(), DbError> {
        if let TxConn::Sqlite { tx, .. } = &self.conn {
            self.sent += 1;
            return sqlite::execute(tx.conn(), &sql)
                .map(drop)
                .map_err(Into::into);
        }
        self.rows.push(sql);
        if self.rows.is_full() {
            self.flush().await?;
        }
        Ok(())
    }

    /// Defers each of `statements` in turn (see `defer`): the set-based writes of `set_based`.
    pub async fn write_all(&mut self, statements: Vec<Sql>) -> Result<(), DbError> {
        for sql in statements {
            self.defer(sql).await?;
        }
        Ok(())
    }

    /// Sends PostgreSQL's deferred writes and rows now, one by one (its protocol takes a single
    /// statement with bound values), rather than at the next read or the commit.
    pub async fn flush(&mut self) -> Result<(), DbError> {
        if self.deferred.is_empty() && self.rows.is_empty() {
            return Ok(());
        }
        let mut statements = self.rows.take_unnested();
        statements.extend(self.deferred.take());
        if let TxConn::Postgres(tx) = &mut self.conn {
            for sql in &statements {
                self.sent += 1;
                bound(sql).execute(&mut **tx).await?;
            }
        }
        Ok(())
    }

    pub async fn execute(&mut self, sql: &Sql) -> Result<u64, DbError> {
        self.flush().await?;
        self.sent += 1;
        match &mut self.conn {
            TxConn::Sqlite { tx, .. } => Ok(sqlite::execute(tx.conn(), sql)?),
            TxConn::Postgres(tx) => Ok(bound(sql).execute(&mut **tx).await?.rows_affected()),
        }
    }

    pub async fn fetch_all<T: Record>(&mut self, sql: &Sql) -> Result<Vec<T>, DbError> {
        self.flush().await?;
        self.sent += 1;
        match &mut self.conn {
            TxConn::Sqlite { tx, .. } => Ok(sqlite::fetch_all(tx.conn(), sql)?),
            TxConn::Postgres(tx) => Ok(bound_as(sql).fetch_all(&mut **tx).await?),
        }
    }

    pub async fn fetch_optional<T: Record>(&mut self, sql: &Sql) -> Result<Option<T>, DbError> {
        self.flush().await?;
        self.sent += 1;
        match &mut self.conn {
            TxConn::Sqlite { tx, .. } => Ok(sqlite::fetch_optional(tx.conn(), sql)?),
            TxConn::Postgres(tx) => Ok(bound_as(sql).fetch_optional(&mut **tx).await?),
        }
    }

    /// Hands each row to `each` as it arrives, never holding the whole result.
    pub async fn for_each<T: Record>(
        &mut self,
        sql: &Sql,
        mut each: impl FnMut(T),
    ) -> Result<(), DbError> {
        self.flush().await?;
        self.sent += 1;
        match &mut self.conn {
            TxConn::Sqlite { tx, .. } => Ok(sqlite::for_each(tx.conn(), sql, each)?),
            TxConn::Postgres(tx) => {
                let mut rows = bound_as(sql).fetch(&mut **tx);
                while let Some(row) = rows.try_next().await? {
                    each(row);
                }
                Ok(())
            }
        }
    }

    pub async fn commit(mut self) -> Result<(), DbError> {
        self.flush().await?;
        match self.conn {
            TxConn::Sqlite { tx, offload: true } => {
                tokio::task::spawn_blocking(move || tx.commit())
                    .await
                    .map_err(|_| DbError::Closed)??
            }
            TxConn::Sqlite { tx, offload: false } => tx.commit()?,
            TxConn::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// `$from, $from+1, …` for `count` values: the placeholder list of an `IN (…)`.
pub fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_number_their_values_in_order() {
        let mut conditions = Conditions::default();
        conditions.bind("instance_id = ?", ["i1".into()]);
        conditions.bind("failed", []);
        conditions.bind("(a, b) > (?, ?)", [1i64.into(), 2i64.into()]);
        let sql = conditions.select("SELECT a FROM t", "ORDER BY a", 10);
        assert_eq!(
            sql.text(),
            "SELECT a FROM t WHERE instance_id = $1 AND failed AND (a, b) > ($2, $3) ORDER BY a LIMIT $4"
        );
        assert_eq!(
            sql.args(),
            [
                SqlArg::from("i1"),
                SqlArg::from(1i64),
                SqlArg::from(2i64),
                SqlArg::from(10i64)
            ]
        );
    }

    #[test]
    fn a_keyset_page_reads_on_past_its_key_either_way() {
        let page = |columns: &[&str], after: Option<Vec<SqlArg>>, newest_first| {
            let mut conditions = Conditions::default();
            conditions.bind("instance_id = ?", ["i1".into()]);
            let order = conditions.page_after(columns, after, newest_first);
            conditions
                .select("SELECT a FROM t", &order, 10)
                .text()
                .to_string()
        };
        let key = || Some(vec![1i64.into(), 2i64.into()]);
        assert_eq!(
            page(&["a", "b"], key(), false),
            "SELECT a FROM t WHERE instance_id = $1 AND (a, b) > ($2, $3) ORDER BY a, b LIMIT $4"
        );
        assert_eq!(
            page(&["a", "b"], key(), true),
            "SELECT a FROM t WHERE instance_id = $1 AND (a, b) < ($2, $3) ORDER BY a DESC, b DESC LIMIT $4"
        );
        assert_eq!(
            page(&["seq"], Some(vec![7i64.into()]), true),
            "SELECT a FROM t WHERE instance_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
        );
        assert_eq!(
            page(&["seq"], None, false),
            "SELECT a FROM t WHERE instance_id = $1 ORDER BY seq LIMIT $2"
        );
    }

    #[test]
    fn placeholders_are_numbered_from_the_given_index() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
    }
}
