use super::*;
use crate::db::sqlite::{SqliteOptions, SqliteStore, StatementError};
use crate::db::{Db, DbError};
use proptest::prelude::*;
use std::time::Duration;

const PEOPLE: Shape = Shape {
    table: "people",
    key: &["team", "id"],
    columns: &[
        ("team", Kind::Text),
        ("id", Kind::Int),
        ("note", Kind::Text),
        ("active", Kind::Bool),
    ],
};

fn person(team: &str, id: i64, note: Option<&str>, active: Option<bool>) -> Vec<SqlArg> {
    vec![team.into(), id.into(), note.into(), active.into()]
}

#[test]
fn postgres_upserts_every_row_in_one_statement_of_arrays() {
    let rows = vec![
        person("a", 1, Some("x"), Some(true)),
        person("b", 2, None, None),
    ];
    let statements = PEOPLE.upsert(Dialect::Postgres, rows);
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0].text(),
        "INSERT INTO people (team, id, note, active) SELECT * FROM \
         UNNEST($1::text[], $2::bigint[], $3::text[], $4::boolean[]) \
         ON CONFLICT (team, id) DO UPDATE SET note = excluded.note, active = excluded.active"
    );
    assert_eq!(
        statements[0].args(),
        [
            SqlArg::Texts(vec![Some("a".into()), Some("b".into())]),
            SqlArg::Ints(vec![Some(1), Some(2)]),
            SqlArg::Texts(vec![Some("x".into()), None]),
            SqlArg::Bools(vec![Some(true), None]),
        ]
    );
}

#[test]
fn sqlite_gets_one_single_row_statement_per_row() {
    let rows = vec![
        person("a", 1, Some("x"), Some(true)),
        person("b", 2, None, None),
    ];
    let statements = PEOPLE.insert_new(Dialect::Sqlite, rows.clone());
    let text = "INSERT INTO people (team, id, note, active) VALUES ($1, $2, $3, $4) \
                ON CONFLICT (team, id) DO NOTHING";
    assert_eq!(statements.len(), 2);
    for (statement, row) in statements.iter().zip(&rows) {
        assert_eq!(statement.text(), text);
        assert_eq!(statement.args(), row.as_slice());
    }
}

#[test]
fn keys_select_and_delete_by_one_array_per_key_column() {
    let keys = vec![vec!["a".into(), 1i64.into()], vec!["b".into(), 2i64.into()]];
    let select = PEOPLE.select_by_keys(Dialect::Postgres, "id, note", keys.clone());
    assert_eq!(select.len(), 1);
    assert_eq!(
        select[0].text(),
        "SELECT id, note FROM people WHERE (team, id) IN \
         (SELECT * FROM UNNEST($1::text[], $2::bigint[]))"
    );
    let delete = PEOPLE.delete(Dialect::Sqlite, keys);
    assert_eq!(delete.len(), 2);
    assert_eq!(
        delete[1].text(),
        "DELETE FROM people WHERE team = $1 AND id = $2"
    );
    assert_eq!(delete[1].args(), [SqlArg::from("b"), SqlArg::from(2i64)]);

    let single = Shape {
        table: "t",
        key: &["id"],
        columns: &[("id", Kind::Text)],
    };
    let delete = single.delete(Dialect::Postgres, vec![vec!["x".into()]]);
    assert_eq!(delete[0].text(), "DELETE FROM t WHERE id = ANY($1::text[])");
    // Every column in the key: nothing to update on a conflict.
    let upsert = single.upsert(Dialect::Postgres, vec![vec!["x".into()]]);
    assert!(upsert[0].text().ends_with("ON CONFLICT (id) DO NOTHING"));
}

#[test]
fn nothing_to_write_or_read_is_no_statement() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        assert!(PEOPLE.upsert(dialect, vec![]).is_empty());
        assert!(PEOPLE.insert_new(dialect, vec![]).is_empty());
        assert!(PEOPLE.delete(dialect, vec![]).is_empty());
        assert!(PEOPLE.select_by_keys(dialect, "id", vec![]).is_empty());
    }
}

#[test]
fn rows_that_do_not_fit_the_shape_go_one_by_one_as_they_are() {
    // An id given as text: bound as it is, for the store to refuse, never made NULL.
    let rows = vec![
        person("a", 1, None, None),
        vec![
            "b".into(),
            "2".into(),
            SqlArg::Text(None),
            SqlArg::Bool(None),
        ],
    ];
    let statements = PEOPLE.upsert(Dialect::Postgres, rows.clone());
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[1].args(), rows[1].as_slice());
}

fn arb_row() -> impl Strategy<Value = Vec<SqlArg>> {
    (
        "[a-z]{0,3}",
        any::<i64>(),
        proptest::option::of("[a-z ]{0,5}"),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(team, id, note, active)| {
            vec![team.into(), id.into(), note.into(), active.into()]
        })
}

proptest! {
    /// On PostgreSQL the text is the same whatever the number of rows (prepared once), and
    /// array N holds value N of every row, in order.
    #[test]
    fn postgres_text_does_not_depend_on_the_rows(rows in proptest::collection::vec(arb_row(), 1..40)) {
        let one = PEOPLE.upsert(Dialect::Postgres, rows[..1].to_vec());
        let all = PEOPLE.upsert(Dialect::Postgres, rows.clone());
        prop_assert_eq!(all.len(), 1);
        prop_assert_eq!(one[0].text(), all[0].text());
        for (column, array) in all[0].args().iter().enumerate() {
            let values: Vec<SqlArg> = rows.iter().map(|row| row[column].clone()).collect();
            let kind = PEOPLE.columns[column].1;
            prop_assert_eq!(Some(array.clone()), kind.array(values));
        }
        let keys: Vec<Vec<SqlArg>> = rows.iter().map(|row| row[..2].to_vec()).collect();
        let one = PEOPLE.delete(Dialect::Postgres, keys[..1].to_vec());
        let all = PEOPLE.delete(Dialect::Postgres, keys);
        prop_assert_eq!(all.len(), 1);
        prop_assert_eq!(one[0].text(), all[0].text());
    }

    /// On SQLite each row is its own statement of the one text, with the row's values.
    #[test]
    fn sqlite_binds_each_row_as_it_is(rows in proptest::collection::vec(arb_row(), 0..20)) {
        let statements = PEOPLE.upsert(Dialect::Sqlite, rows.clone());
        prop_assert_eq!(statements.len(), rows.len());
        for (statement, row) in statements.iter().zip(&rows) {
            prop_assert_eq!(statement.text(), statements[0].text());
            prop_assert_eq!(statement.args(), row.as_slice());
        }
    }
}

async fn store(dir: &tempfile::TempDir) -> Db {
    let options = SqliteOptions {
        path: dir.path().join("store.db"),
        readers: 2,
        durable: true,
        busy_timeout: Duration::from_secs(5),
    };
    let db = Db::Sqlite(SqliteStore::open(&options).expect("opens"));
    db.execute(&Sql::new(
        "CREATE TABLE people (team TEXT NOT NULL, id INTEGER NOT NULL, note TEXT,
                              active INTEGER, PRIMARY KEY (team, id))",
    ))
    .await
    .expect("creates the table");
    db
}

#[derive(Debug, PartialEq, sqlx::FromRow, serde::Deserialize)]
struct Person {
    team: String,
    id: i64,
    note: Option<String>,
    #[serde(default, deserialize_with = "crate::db::sqlite::optional_flag")]
    active: Option<bool>,
}

async fn people(tx: &mut crate::db::Tx, keys: Vec<Vec<SqlArg>>) -> Vec<Person> {
    let mut found = Vec::new();
    for sql in PEOPLE.select_by_keys(tx.dialect(), "team, id, note, active", keys) {
        found.extend(tx.fetch_all::<Person>(&sql).await.expect("reads"));
    }
    found.sort_by(|a, b| (&a.team, a.id).cmp(&(&b.team, b.id)));
    found
}

#[tokio::test]
async fn a_real_sqlite_file_upserts_inserts_new_deletes_and_reads_by_key() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = store(&dir).await;
    let mut tx = db.begin_write().await.expect("begins");
    let dialect = tx.dialect();
    let written = vec![
        person("a", 1, Some("first"), Some(true)),
        person("a", 2, None, None),
        person("b", 1, Some("other"), Some(false)),
    ];
    tx.write_all(PEOPLE.upsert(dialect, written))
        .await
        .expect("upserts");
    // Replaces a's 1, leaves b's 1 alone as it exists, adds b's 2.
    tx.write_all(PEOPLE.upsert(dialect, vec![person("a", 1, Some("again"), None)]))
        .await
        .expect("upserts again");
    tx.write_all(PEOPLE.insert_new(
        dialect,
        vec![
            person("b", 1, Some("ignored"), None),
            person("b", 2, None, Some(true)),
        ],
    ))
    .await
    .expect("inserts the new");
    tx.write_all(PEOPLE.delete(dialect, vec![vec!["a".into(), 2i64.into()]]))
        .await
        .expect("deletes");
    let keys = |pairs: &[(&str, i64)]| -> Vec<Vec<SqlArg>> {
        pairs
            .iter()
            .map(|(team, id)| vec![(*team).into(), (*id).into()])
            .collect()
    };
    let found = people(
        &mut tx,
        keys(&[("a", 1), ("a", 2), ("b", 1), ("b", 2), ("z", 9)]),
    )
    .await;
    let expected = |team: &str, id, note: Option<&str>, active| Person {
        team: team.into(),
        id,
        note: note.map(str::to_string),
        active,
    };
    assert_eq!(
        found,
        [
            expected("a", 1, Some("again"), None),
            expected("b", 1, Some("other"), Some(false)),
            expected("b", 2, None, Some(true)),
        ]
    );
    let sent = tx.statements_sent();
    assert_eq!(
        sent,
        3 + 1 + 2 + 1 + 5,
        "one statement per row and key on SQLite"
    );
    tx.commit().await.expect("commits");
}

#[tokio::test]
async fn sqlite_refuses_an_array_with_a_typed_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = store(&dir).await;
    let arrays =
        Sql::new("DELETE FROM people WHERE team = $1").bind(SqlArg::Texts(vec![Some("a".into())]));
    let refused = db.execute(&arrays).await;
    assert!(
        matches!(refused, Err(DbError::Sqlite(StatementError::ArrayValue(_)))),
        "{refused:?}"
    );
}
