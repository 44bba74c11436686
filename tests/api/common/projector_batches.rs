//! What a projector batch costs: the events a server wrote applied again, batch by batch, by a
//! projector of the projections under test alone (their tables emptied first), counting the
//! statements each batch sends; and the tables' rows, to check that applying the events in
//! big batches leaves what the server's own small batches left.

use super::TestApp;
use projections::db::{Db, Sql};
use projections::runner::{Projection, Projector};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Events and statements of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchCost {
    pub events: usize,
    pub statements: u64,
}

/// Empties `projections` and applies every event `app` wrote to them again, as `scimd
/// rebuild` would: the cost of each batch. The server's own projector stays idle meanwhile,
/// as long as the test sends it nothing.
pub async fn rebuild(app: &TestApp, projections: Vec<Arc<dyn Projection>>) -> Vec<BatchCost> {
    let projector = Projector::new(app.store.db.clone(), projections, Duration::from_secs(60));
    projector
        .reset()
        .await
        .expect("the projections are emptied");
    let batches = Mutex::new(Vec::new());
    projector
        .catch_up_reporting(|events| {
            let cost = BatchCost {
                events,
                statements: projector.last_batch_statements(),
            };
            batches.lock().expect("not poisoned").push(cost);
        })
        .await
        .expect("the events apply again");
    let batches = batches.into_inner().expect("not poisoned");
    batches.into_iter().filter(|cost| cost.events > 0).collect()
}

/// How many events the store holds.
pub async fn events(db: &Db) -> i64 {
    let count: Count = db
        .fetch_one(&Sql::new("SELECT COUNT(*) AS n FROM events"))
        .await
        .expect("counts the events");
    count.n
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Count {
    n: i64,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Line {
    line: String,
}

/// Every row of `table`, each its `columns` as text, in `order`: for comparing a table
/// before and after its rebuild.
pub async fn rows(db: &Db, table: &str, columns: &[&str], order: &str) -> Vec<String> {
    let fields: Vec<String> = columns
        .iter()
        .map(|column| format!("COALESCE(CAST({column} AS TEXT), '(null)')"))
        .collect();
    let sql = Sql::new(format!(
        "SELECT {} AS line FROM {table} ORDER BY {order}",
        fields.join(" || '|' || ")
    ));
    let lines: Vec<Line> = db.fetch_all(&sql).await.expect("reads the table");
    lines.into_iter().map(|line| line.line).collect()
}
