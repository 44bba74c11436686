//! The statements every write runs follow an index on PostgreSQL, however long the log, and the
//! change history's filtered pages read an index in order on both stores: a plan that sorts, or
//! walks the whole instance to find a page of matches, gets slower as the store grows.

use crate::common::{StoreKind, TestApp};
use projections::db::{Dialect, Sql};
use projections::directory::listing::{directory_statement, DirectoryQuery};
use projections::event_log::head_statement;
use projections::history::{history_statement, HistoryQuery};
use projections::time_travel::cut_statement;
use projections::user_search::{search_statement, UserSearch};

#[derive(sqlx::FromRow, serde::Deserialize)]
struct PlanLine {
    #[sqlx(rename = "QUERY PLAN")]
    #[serde(rename = "QUERY PLAN")]
    line: String,
}

/// The plan of `sql` when sorting is made as costly as the planner allows: a plan that still
/// sorts has no index to follow.
async fn plan_without_sorting(app: &TestApp, sql: &Sql) -> String {
    plan_with(app, "SET LOCAL enable_sort = off", sql).await
}

/// The PostgreSQL plan of `sql` under one planner `setting`.
async fn plan_with(app: &TestApp, setting: &'static str, sql: &Sql) -> String {
    plan_with_all(app, &[setting], sql).await
}

/// The PostgreSQL plan of `sql` under planner `settings`.
async fn plan_with_all(app: &TestApp, settings: &[&'static str], sql: &Sql) -> String {
    let mut tx = app.store.db.begin_snapshot().await.expect("a transaction");
    for setting in settings {
        tx.execute(&Sql::new(*setting))
            .await
            .expect("the setting is taken");
    }
    let explain = sql
        .args()
        .iter()
        .cloned()
        .fold(Sql::new(format!("EXPLAIN {}", sql.text())), Sql::bind);
    let lines: Vec<PlanLine> = tx.fetch_all(&explain).await.expect("a plan");
    lines.into_iter().map(|plan| plan.line + "\n").collect()
}

/// Whether a PostgreSQL plan has a sort step (a Merge Append's "Sort Key" merges ordered
/// inputs: no sort).
fn sorts(plan: &str) -> bool {
    plan.lines().any(|line| {
        let step = line.trim_start().trim_start_matches("->").trim_start();
        // A step is its name, two spaces and its costs.
        matches!(step.split("  (").next(), Some("Sort" | "Incremental Sort"))
    })
}

#[tokio::test]
async fn the_head_of_the_log_is_read_from_the_commit_order_index() {
    let app = TestApp::spawn(StoreKind::Postgres).await;
    app.create_user("planned").await;
    let plan = plan_without_sorting(&app, &head_statement(Dialect::Postgres)).await;
    assert!(!plan.contains("Sort"), "{plan}");
    assert!(plan.contains("events_in_commit_order"), "{plan}");
}

/// The change history's pages for one user, one name and one kind of change, both ways, and
/// the indexes each reads (a user's and a name's: those of the member changes naming them too,
/// and of the deletions of groups they were still in).
fn history_statements(dialect: Dialect, instance_id: &str) -> Vec<(&'static [&'static str], Sql)> {
    let page = |filter: fn(&mut HistoryQuery), newest_first| {
        let mut query = HistoryQuery {
            instance_id: instance_id.to_string(),
            newest_first,
            limit: 51,
            ..HistoryQuery::default()
        };
        filter(&mut query);
        history_statement(dialect, &query)
    };
    let by_entity: fn(&mut HistoryQuery) = |query| query.entity_id = Some("some-id".into());
    let by_name: fn(&mut HistoryQuery) = |query| query.user_name = Some("user-7".into());
    let by_action: fn(&mut HistoryQuery) = |query| query.action = Some("UserSuspended".into());
    let by_id = &[
        "history_by_entity",
        "history_by_member",
        "history_deletions_by_member",
    ];
    let by_user_name = &[
        "history_by_name",
        "history_by_member_name",
        "history_deletions_by_member_name",
    ];
    vec![
        (by_id, page(by_entity, false)),
        (by_id, page(by_entity, true)),
        (by_user_name, page(by_name, false)),
        (by_user_name, page(by_name, true)),
        (&["history_by_action"], page(by_action, false)),
        (&["history_by_action"], page(by_action, true)),
    ]
}

async fn an_instance_with_history(kind: StoreKind) -> (TestApp, String) {
    let app = TestApp::spawn(kind).await;
    for n in 0..40 {
        app.create_user(&format!("user-{n}")).await;
    }
    let instances = scimd::admin::list_instances(&app.store)
        .await
        .expect("the instances");
    let id = instances[0].id.clone();
    (app, id)
}

/// Gives PostgreSQL's planner the statistics of a table (`statement`: `ANALYZE table`), as
/// autovacuum would on a store in use.
async fn analyze(app: &TestApp, statement: &'static str) {
    app.store
        .db
        .execute(&Sql::new(statement))
        .await
        .expect("statistics");
}

#[tokio::test]
async fn history_filters_read_their_own_index_in_order_on_postgres() {
    let (app, instance_id) = an_instance_with_history(StoreKind::Postgres).await;
    analyze(&app, "ANALYZE history_entries").await;
    for (indexes, sql) in history_statements(Dialect::Postgres, &instance_id) {
        let plan = plan_without_sorting(&app, &sql).await;
        assert!(!sorts(&plan), "{indexes:?}: {plan}");
        for index in indexes {
            assert!(plan.contains(index), "{index}: {plan}");
        }
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct SqlitePlanLine {
    detail: String,
}

async fn sqlite_plan(app: &TestApp, sql: &Sql) -> String {
    let explain = sql.args().iter().cloned().fold(
        Sql::new(format!("EXPLAIN QUERY PLAN {}", sql.text())),
        Sql::bind,
    );
    let lines: Vec<SqlitePlanLine> = app.store.db.fetch_all(&explain).await.expect("a plan");
    lines.into_iter().map(|line| line.detail + "\n").collect()
}

/// A moment after every event: the cut must find that nothing is stamped later without
/// reading the log from its start.
const AFTER_EVERY_EVENT: &str = "2999-01-01T00:00:00.000000Z";

#[tokio::test]
async fn the_time_travel_cut_reads_the_stamp_index_on_sqlite() {
    let (app, _) = an_instance_with_history(StoreKind::Sqlite).await;
    let plan = sqlite_plan(&app, &cut_statement(Dialect::Sqlite, AFTER_EVERY_EVENT)).await;
    assert!(plan.contains("USING INDEX events_by_stamp"), "{plan}");
}

#[tokio::test]
async fn the_time_travel_cut_reads_the_stamp_index_on_postgres() {
    let (app, _) = an_instance_with_history(StoreKind::Postgres).await;
    analyze(&app, "ANALYZE events").await;
    // A table this small is cheapest to read whole; the question is which index a large one
    // would follow: the stamps after the moment, not the commit order from its start.
    let sql = cut_statement(Dialect::Postgres, AFTER_EVERY_EVENT);
    let plan = plan_with(&app, "SET LOCAL enable_seqscan = off", &sql).await;
    assert!(plan.contains("events_by_stamp"), "{plan}");
}

#[tokio::test]
async fn history_filters_read_their_own_index_in_order_on_sqlite() {
    let (app, instance_id) = an_instance_with_history(StoreKind::Sqlite).await;
    for (indexes, sql) in history_statements(Dialect::Sqlite, &instance_id) {
        let plan = sqlite_plan(&app, &sql).await;
        assert!(!plan.contains("TEMP B-TREE"), "{indexes:?}: {plan}");
        for index in indexes {
            assert!(plan.contains(index), "{index}: {plan}");
        }
    }
}

/// A search by prefix, and the listing of every user, of the instance: each as a page after a
/// cursor, as the console's users page reads them.
fn user_searches(instance_id: &str, dialect: Dialect) -> (Sql, Sql) {
    let search = |prefix: &str| UserSearch {
        instance_id: instance_id.to_string(),
        prefix: prefix.to_string(),
        after: Some(("user-1".into(), 3)),
        limit: 51,
    };
    (
        search_statement(dialect, &search("USER-3")),
        search_statement(dialect, &search("")),
    )
}

/// The three ranges a search reads; reading any other way walks the instance's users.
const SEARCH_INDEXES: [&str; 3] = [
    "scim_users_sorted_by_user_name",
    "scim_users_by_display_name",
    "scim_user_emails_by_email",
];

#[tokio::test]
async fn a_user_search_reads_only_its_matches_off_three_indexes_on_sqlite() {
    let (app, instance_id) = an_instance_with_history(StoreKind::Sqlite).await;
    let (by_prefix, everyone) = user_searches(&instance_id, Dialect::Sqlite);
    let plan = sqlite_plan(&app, &by_prefix).await;
    for index in SEARCH_INDEXES {
        assert!(plan.contains(index), "{index}: {plan}");
    }
    assert!(
        !plan.contains("SCAN scim_user"),
        "no table is read whole: {plan}"
    );
    // The matches are the outer loop, each user then found by its id: the instance's users
    // are not walked in page order in search of matches.
    assert!(
        plan.contains("USING INDEX sqlite_autoindex_scim_users_1 (id=?)"),
        "{plan}"
    );
    let plan = sqlite_plan(&app, &everyone).await;
    assert!(plan.contains("scim_users_sorted_by_user_name"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

#[tokio::test]
async fn a_user_search_reads_only_its_matches_off_three_indexes_on_postgres() {
    let (app, instance_id) = an_instance_with_history(StoreKind::Postgres).await;
    analyze(&app, "ANALYZE scim_users").await;
    analyze(&app, "ANALYZE scim_user_emails").await;
    let (by_prefix, everyone) = user_searches(&instance_id, Dialect::Postgres);
    // Tables this small are cheapest to read whole, or to hash; the question is which indexes
    // large ones would be read by: the three ranges, then each match by its id.
    let settings = [
        "SET LOCAL enable_seqscan = off",
        "SET LOCAL enable_hashjoin = off",
        "SET LOCAL enable_mergejoin = off",
    ];
    let plan = plan_with_all(&app, &settings, &by_prefix).await;
    for index in [
        "scim_users_sorted_by_user_name",
        "scim_users_by_display_name_prefix",
        "scim_user_emails_by_email",
    ] {
        assert!(plan.contains(index), "{index}: {plan}");
    }
    assert!(!plan.contains("Seq Scan"), "{plan}");
    assert!(plan.contains("Index Scan using scim_users_pkey"), "{plan}");
    let plan = plan_without_sorting(&app, &everyone).await;
    assert!(plan.contains("scim_users_sorted_by_user_name"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");
}

/// The directory listing's pages: from the start, from a moment on, and after a cursor (with
/// and without a moment), as an application reads them.
fn directory_pages(instance_id: &str) -> Vec<Sql> {
    let page = |updated_since: Option<&str>, after: Option<(&str, &str)>| {
        directory_statement(&DirectoryQuery {
            instance_id: instance_id.to_string(),
            updated_since: updated_since.map(str::to_string),
            after: after.map(|(at, id)| (at.to_string(), id.to_string())),
            limit: 101,
        })
    };
    let since = Some("2026-01-01T00:00:00.000000Z");
    let after = Some(("2026-06-01T00:00:00.000000Z", "some-id"));
    vec![
        page(None, None),
        page(since, None),
        page(None, after),
        page(since, after),
    ]
}

#[tokio::test]
async fn the_directory_listing_reads_its_index_in_order_on_sqlite() {
    let (app, instance_id) = an_instance_with_history(StoreKind::Sqlite).await;
    for sql in directory_pages(&instance_id) {
        let plan = sqlite_plan(&app, &sql).await;
        assert!(plan.contains("USING INDEX app_users_by_update"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}

#[tokio::test]
async fn the_directory_listing_reads_its_index_in_order_on_postgres() {
    let (app, instance_id) = an_instance_with_history(StoreKind::Postgres).await;
    analyze(&app, "ANALYZE app_users").await;
    for sql in directory_pages(&instance_id) {
        // A table this small is cheapest to read whole and sort; the question is which index
        // a large one would be paged on.
        let plan = plan_with_all(
            &app,
            &[
                "SET LOCAL enable_seqscan = off",
                "SET LOCAL enable_sort = off",
            ],
            &sql,
        )
        .await;
        assert!(plan.contains("app_users_by_update"), "{plan}");
        assert!(!sorts(&plan), "{plan}");
        // The cursor bounds the index scan itself, not a filter over the instance's rows.
        if sql.text().contains("(updated_at, id) >") {
            let bounded = plan.lines().any(|line| {
                line.contains("Index Cond: ((instance_id = ")
                    && line.contains("(ROW(updated_at, id) > ROW(")
            });
            assert!(bounded, "{plan}");
        }
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Prepared {
    statement: String,
}

/// The manager lookup every create with a manager runs is planned with its values each time,
/// not prepared: prepared on an empty table, its generic plan walked every user of the instance
/// on each create until the table was next analyzed. A statement that stays prepared is shown
/// beside it, so that the view is known to list this connection's prepared statements.
#[tokio::test]
async fn the_manager_lookup_is_planned_with_its_values_each_time_on_postgres() {
    let app = TestApp::spawn(StoreKind::Postgres).await;
    let instances = scimd::admin::list_instances(&app.store)
        .await
        .expect("the instances");
    let instance_id = instances[0].id.clone();
    // One connection, so that the view below is read on the connection the lookups ran on.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&app.database_url)
        .await
        .expect("a connection");
    let db = projections::db::Db::Postgres(pool);
    // More runs than PostgreSQL makes before it settles on a generic plan.
    for _ in 0..8 {
        let manager = projections::scim_users::find_manager(&db, &instance_id, "nobody")
            .await
            .expect("the lookup runs");
        assert_eq!(manager, None);
        projections::scim_users::find_user(&db, &instance_id, "nobody")
            .await
            .expect("the read runs");
    }
    let prepared: Vec<Prepared> = db
        .fetch_all(&Sql::new("SELECT statement FROM pg_prepared_statements"))
        .await
        .expect("the prepared statements");
    let prepared: Vec<&str> = prepared.iter().map(|p| p.statement.as_str()).collect();
    assert!(
        prepared.iter().any(
            |s| s.contains("FROM scim_users WHERE instance_id = $1 AND id = $2")
                && !s.contains("preference")
        ),
        "{prepared:#?}"
    );
    assert!(
        !prepared.iter().any(|s| s.contains("AS preference")),
        "{prepared:#?}"
    );
}
