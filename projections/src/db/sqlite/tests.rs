//! The SQLite path against a real file: binding, row decoding, errors and transactions.

use super::*;
use crate::db::{Db, Sql};
use std::time::Duration;

/// A store on a fresh file in `dir`, with no tables.
pub(crate) fn open(dir: &tempfile::TempDir) -> Db {
    let options = SqliteOptions {
        path: dir.path().join("store.db"),
        readers: 2,
        durable: true,
        busy_timeout: Duration::from_secs(5),
    };
    Db::Sqlite(SqliteStore::open(&options).expect("opens"))
}

async fn store(dir: &tempfile::TempDir) -> Db {
    let db = open(dir);
    db.execute(&Sql::new(
        "CREATE TABLE people (id TEXT PRIMARY KEY, age INTEGER, active INTEGER, note TEXT);
         CREATE TABLE counted (n INTEGER)",
    ))
    .await
    .expect("creates the tables");
    db
}

#[derive(Debug, PartialEq, sqlx::FromRow, serde::Deserialize)]
struct Person {
    id: String,
    age: i64,
    active: bool,
    note: Option<String>,
}

#[derive(Debug, PartialEq, sqlx::FromRow, serde::Deserialize)]
struct Named {
    #[sqlx(flatten)]
    #[serde(flatten)]
    person: Flagged,
    label: String,
}

#[derive(Debug, PartialEq, sqlx::FromRow, serde::Deserialize)]
struct Flagged {
    id: String,
    #[serde(default, deserialize_with = "optional_flag")]
    active: Option<bool>,
}

fn insert(id: &str, age: i64, active: bool, note: Option<&str>) -> Sql {
    // Placeholders out of order, one of them twice: bound by number, as sqlx binds them.
    Sql::new("INSERT INTO people (note, active, age, id) VALUES ($4, $3, $2 + 0 * $2, $1)")
        .bind(id)
        .bind(age)
        .bind(active)
        .bind(note)
}

#[tokio::test]
async fn rows_read_back_as_they_were_written() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = store(&dir).await;
    db.execute_all(vec![
        insert("a", 30, true, Some("first")),
        insert("b", 41, false, None),
    ])
    .await
    .expect("writes");
    let people: Vec<Person> = db
        .fetch_all(&Sql::new(
            "SELECT id, age, active, note FROM people ORDER BY id",
        ))
        .await
        .expect("reads");
    assert_eq!(
        people,
        [
            Person {
                id: "a".into(),
                age: 30,
                active: true,
                note: Some("first".into())
            },
            Person {
                id: "b".into(),
                age: 41,
                active: false,
                note: None
            },
        ]
    );
    let flattened: Option<Named> = db
        .fetch_optional(
            &Sql::new("SELECT id, active, 'x' AS label FROM people WHERE id = $1").bind("b"),
        )
        .await
        .expect("reads");
    assert_eq!(
        flattened.map(|named| (named.person.active, named.label)),
        Some((Some(false), "x".to_string()))
    );
    let none: Option<Person> = db
        .fetch_optional(&Sql::new(
            "SELECT id, age, active, note FROM people WHERE id = 'z'",
        ))
        .await
        .expect("reads");
    assert_eq!(none, None);
}

#[tokio::test]
async fn a_missing_value_or_column_is_an_error_not_a_guess() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = store(&dir).await;
    let unbound = db
        .execute(&Sql::new("INSERT INTO counted (n) VALUES ($2)").bind(1i64))
        .await;
    assert!(matches!(
        unbound,
        Err(DbError::Sqlite(StatementError::MissingValue(2)))
    ));
    let several = db
        .execute(
            &Sql::new("INSERT INTO counted (n) VALUES ($1); INSERT INTO counted (n) VALUES (2)")
                .bind(1i64),
        )
        .await;
    assert!(several.is_err(), "not only the first of them runs");
    db.execute(&insert("a", 30, true, None))
        .await
        .expect("writes");
    let short: Result<Vec<Person>, _> = db.fetch_all(&Sql::new("SELECT id, age FROM people")).await;
    assert!(matches!(
        short,
        Err(DbError::Sqlite(StatementError::Decode(_)))
    ));
    let wrong_type: Result<Vec<Person>, _> = db
        .fetch_all(&Sql::new(
            "SELECT id, 'old' AS age, active, note FROM people",
        ))
        .await;
    assert!(wrong_type.is_err());
}

#[tokio::test]
async fn a_duplicate_key_is_a_unique_violation() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = store(&dir).await;
    db.execute(&insert("a", 30, true, None))
        .await
        .expect("writes");
    let again = db.execute(&insert("a", 31, true, None)).await;
    assert!(again.is_err_and(|error| error.is_unique_violation()));
    let other = db
        .execute(&Sql::new("INSERT INTO nowhere (n) VALUES (1)"))
        .await;
    assert!(other.is_err_and(|error| !error.is_unique_violation()));
}

#[tokio::test]
async fn a_transaction_dropped_before_commit_leaves_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = store(&dir).await;
    let mut tx = db.begin_write().await.expect("begins");
    tx.execute(&Sql::new("INSERT INTO counted (n) VALUES (1)"))
        .await
        .expect("writes");
    drop(tx);
    let mut tx = db.begin_write().await.expect("the writer is free again");
    tx.execute(&Sql::new("INSERT INTO counted (n) VALUES (2)"))
        .await
        .expect("writes");
    tx.commit().await.expect("commits");
    let counts: Vec<(i64,)> = db
        .fetch_all(&Sql::new("SELECT n FROM counted"))
        .await
        .expect("reads");
    assert_eq!(counts, [(2,)]);
}

#[tokio::test]
async fn a_snapshot_does_not_see_later_commits() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = store(&dir).await;
    db.execute(&Sql::new("INSERT INTO counted (n) VALUES (1)"))
        .await
        .expect("writes");
    let mut snapshot = db.begin_snapshot().await.expect("begins");
    let before: Vec<(i64,)> = snapshot
        .fetch_all(&Sql::new("SELECT count(*) FROM counted"))
        .await
        .expect("reads");
    db.execute(&Sql::new("INSERT INTO counted (n) VALUES (2)"))
        .await
        .expect("writes");
    let still: Vec<(i64,)> = snapshot
        .fetch_all(&Sql::new("SELECT count(*) FROM counted"))
        .await
        .expect("reads");
    assert_eq!(before, still);
    drop(snapshot);
    let after: Vec<(i64,)> = db
        .fetch_all(&Sql::new("SELECT count(*) FROM counted"))
        .await
        .expect("reads");
    assert_eq!(after, [(2,)]);
}
