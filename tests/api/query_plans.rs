//! The statements every write runs follow an index on PostgreSQL, however long the log: a plan
//! that sorts would make each request slower as the store grows.

use crate::common::{StoreKind, TestApp};
use projections::db::{Dialect, Sql};
use projections::event_log::head_statement;

#[derive(sqlx::FromRow)]
struct PlanLine {
    #[sqlx(rename = "QUERY PLAN")]
    line: String,
}

/// The plan of `sql` when sorting is made as costly as the planner allows: a plan that still
/// sorts has no index to follow.
async fn plan_without_sorting(app: &TestApp, sql: &Sql) -> String {
    let mut tx = app.store.db.begin_snapshot().await.expect("a transaction");
    tx.execute(&Sql::new("SET LOCAL enable_sort = off"))
        .await
        .expect("the setting is taken");
    let explain = sql
        .args()
        .iter()
        .cloned()
        .fold(Sql::new(format!("EXPLAIN {}", sql.text())), Sql::bind);
    let lines: Vec<PlanLine> = tx.fetch_all(&explain).await.expect("a plan");
    lines.into_iter().map(|plan| plan.line + "\n").collect()
}

#[tokio::test]
async fn the_head_of_the_log_is_read_from_the_commit_order_index() {
    let app = TestApp::spawn(StoreKind::Postgres).await;
    app.create_user("planned").await;
    let plan = plan_without_sorting(&app, &head_statement(Dialect::Postgres)).await;
    assert!(!plan.contains("Sort"), "{plan}");
    assert!(plan.contains("events_in_commit_order"), "{plan}");
}
