//! The set-based statements the projector writes with, on a real store: on PostgreSQL each
//! call is one statement whatever the number of rows (one array per column), and the rows
//! come out as they went in, on either store.

use crate::common::TestApp;
use crate::on_both_stores;
use projections::db::set_based::{Kind, Shape};
use projections::db::{Db, Dialect, Sql, SqlArg};

const ITEMS: Shape = Shape {
    table: "set_based_items",
    key: &["owner", "id"],
    columns: &[
        ("owner", Kind::Text),
        ("id", Kind::Int),
        ("label", Kind::Text),
        ("flag", Kind::Bool),
    ],
};

#[derive(Debug, PartialEq, sqlx::FromRow, serde::Deserialize)]
struct Item {
    owner: String,
    id: i64,
    label: Option<String>,
    #[serde(default, deserialize_with = "projections::db::sqlite::optional_flag")]
    flag: Option<bool>,
}

fn item(owner: &str, id: i64, label: Option<String>, flag: Option<bool>) -> Vec<SqlArg> {
    vec![owner.into(), id.into(), label.into(), flag.into()]
}

fn key(owner: &str, id: i64) -> Vec<SqlArg> {
    vec![owner.into(), id.into()]
}

/// Writes `count` items, rewrites them, deletes every third, inserts new ones over all of them
/// (only the deleted come back), logs a row per item through `defer_row`, and reads everything
/// back by key, in one transaction: what it left, and the statements it took.
async fn round(db: &Db, owner: &str, count: i64) -> (Vec<Item>, u64, i64) {
    let mut tx = db.begin_write().await.expect("begins");
    let dialect = tx.dialect();
    let before = tx.statements_sent();
    let rows = |label: &str| {
        (0..count)
            .map(|id| item(owner, id, Some(format!("{label} {id}")), Some(id % 2 == 0)))
            .collect::<Vec<_>>()
    };
    tx.write_all(ITEMS.upsert(dialect, rows("first")))
        .await
        .expect("inserts");
    tx.write_all(ITEMS.upsert(dialect, rows("second")))
        .await
        .expect("replaces");
    let thirds = (0..count).filter(|id| id % 3 == 0);
    tx.write_all(ITEMS.delete(dialect, thirds.map(|id| key(owner, id)).collect()))
        .await
        .expect("deletes");
    let unlabelled = (0..count).map(|id| item(owner, id, None, None)).collect();
    tx.write_all(ITEMS.insert_new(dialect, unlabelled))
        .await
        .expect("inserts the new");
    for id in 0..count {
        let log = Sql::new(
            "INSERT INTO set_based_log (owner, id, note) VALUES ($1, $2, upper($3))
             ON CONFLICT DO NOTHING",
        )
        .bind(owner)
        .bind(id)
        .bind(format!("logged {id}"));
        tx.defer_row(log).await.expect("logs");
    }
    let mut items: Vec<Item> = Vec::new();
    let keys = (0..count).map(|id| key(owner, id)).collect();
    for sql in ITEMS.select_by_keys(dialect, "owner, id, label, flag", keys) {
        items.extend(tx.fetch_all::<Item>(&sql).await.expect("reads"));
    }
    let sent = tx.statements_sent() - before;
    let logged: Option<Count> = tx
        .fetch_optional(
            &Sql::new(
                "SELECT COUNT(*) AS n FROM set_based_log WHERE owner = $1 AND note LIKE 'LOGGED %'",
            )
            .bind(owner),
        )
        .await
        .expect("counts");
    tx.commit().await.expect("commits");
    items.sort_by_key(|item| item.id);
    (items, sent, logged.map_or(0, |logged| logged.n))
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Count {
    n: i64,
}

async fn set_based_writes_cost_one_statement_per_call_on_postgres(app: TestApp) {
    let db = &app.store.db;
    let flag = match db.dialect() {
        Dialect::Sqlite => "INTEGER",
        Dialect::Postgres => "boolean",
    };
    db.execute_all(vec![
        Sql::new(format!(
            "CREATE TABLE set_based_items (owner TEXT NOT NULL, id BIGINT NOT NULL, label TEXT,
                 flag {flag}, PRIMARY KEY (owner, id))"
        )),
        Sql::new(
            "CREATE TABLE set_based_log (owner TEXT NOT NULL, id BIGINT NOT NULL, note TEXT,
                 PRIMARY KEY (owner, id))",
        ),
    ])
    .await
    .expect("creates the tables");

    let (few, few_sent, few_logged) = round(db, "few", 3).await;
    let (many, many_sent, many_logged) = round(db, "many", 400).await;

    for (items, count) in [(&few, 3), (&many, 400)] {
        assert_eq!(items.len(), count, "every item is there once");
        for item in items.iter() {
            let expected = if item.id % 3 == 0 {
                (None, None)
            } else {
                (Some(format!("second {}", item.id)), Some(item.id % 2 == 0))
            };
            assert_eq!((item.label.clone(), item.flag), expected, "{item:?}");
        }
    }
    assert_eq!((few_logged, many_logged), (3, 400));
    match db.dialect() {
        // Upsert, upsert, delete, insert, the logged rows and the read: one statement each.
        Dialect::Postgres => assert_eq!((few_sent, many_sent), (6, 6)),
        // A statement per row and key, none of them a round trip.
        Dialect::Sqlite => assert_eq!(
            (few_sent, many_sent),
            (3 + 3 + 1 + 3 + 3 + 3, 400 + 400 + 134 + 400 + 400 + 400)
        ),
    }
}

on_both_stores!(set_based_writes_cost_one_statement_per_call_on_postgres);
