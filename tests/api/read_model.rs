//! The read model is derived from events alone: dropped and rebuilt, it comes back identical.

use crate::common::stuck::{stick_read_model, unstick_read_model};
use crate::common::{user, StoreKind, TestApp};
use crate::{on_both_store_kinds, on_both_stores};
use projections::db::Sql;
use projections::directory::{AppUserRecord, APP_USER_COLUMNS};
use projections::history::{HistoryEntry, HISTORY_COLUMNS};
use projections::runner::Projector;
use projections::scim_groups::{GroupRecord, GROUP_COLUMNS};
use projections::scim_users::{UserRecord, USER_COLUMNS};
use scimd::admin;
use scimd::startup::ServerSettings;
use serde_json::json;
use std::time::Duration;

on_both_stores!(
    a_rebuilt_read_model_equals_the_live_one,
    lifecycle_events_say_why_and_older_ones_still_read,
    verify_finds_where_the_read_model_strays_from_the_log,
);
on_both_store_kinds!(a_create_committed_while_the_read_model_is_stuck_answers_what_it_made);

#[derive(Debug, PartialEq, sqlx::FromRow, serde::Deserialize)]
struct Membership {
    group_id: String,
    member_id: String,
    member_kind: String,
}

type Snapshot = (
    Vec<UserRecord>,
    Vec<GroupRecord>,
    Vec<Membership>,
    Vec<AppUserRecord>,
    Vec<HistoryEntry>,
);

async fn snapshot(app: &TestApp) -> Snapshot {
    let db = &app.store.db;
    let users = db
        .fetch_all(&Sql::new(format!(
            "SELECT {USER_COLUMNS} FROM scim_users ORDER BY id"
        )))
        .await
        .expect("users are readable");
    let groups = db
        .fetch_all(&Sql::new(format!(
            "SELECT {GROUP_COLUMNS} FROM scim_groups ORDER BY id"
        )))
        .await
        .expect("groups are readable");
    let members = db
        .fetch_all(&Sql::new(
            "SELECT group_id, member_id, member_kind FROM scim_group_members ORDER BY group_id, member_id",
        ))
        .await
        .expect("memberships are readable");
    let directory = db
        .fetch_all(&Sql::new(format!(
            "SELECT {APP_USER_COLUMNS} FROM app_users ORDER BY id"
        )))
        .await
        .expect("the directory is readable");
    let history = db
        .fetch_all(&Sql::new(format!(
            "SELECT {HISTORY_COLUMNS} FROM history_entries ORDER BY transaction_id, position"
        )))
        .await
        .expect("the history is readable");
    (users, groups, members, directory, history)
}

/// Forgets every checkpoint's version, so that preparing empties every projection for a
/// rebuild; the projector returned is one of its own, so that the server's does not join in.
async fn outdated_projections(app: &TestApp) -> Projector {
    app.store
        .db
        .execute(&Sql::new("UPDATE projection_checkpoints SET version = 0"))
        .await
        .expect("checkpoints are writable");
    Projector::new(
        app.store.db.clone(),
        projections::all(),
        Duration::from_secs(10),
    )
}

/// Users with a name, a manager and one waiting for a manager, nested groups, changes and a
/// deletion: something of every kind each projection keeps.
async fn provision_a_little(app: &TestApp) {
    let a = app
        .post(
            "/Users",
            json!({"userName": "a", "name": {"givenName": "A"}, "externalId": "x1",
                   "emails": [{"value": "a@example.com"}]}),
        )
        .await
        .id();
    let b = app.create_user("b").await;
    let c = app.create_user("c").await;
    // One report of a, one waiting for a manager nobody provisioned.
    let manager = |reference: &str| {
        json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"manager": {"value": reference}}})
    };
    let mut d = manager("A");
    d["userName"] = json!("d");
    let mut e = manager("nobody");
    e["userName"] = json!("e");
    assert_eq!(app.post("/Users", d).await.status, 201);
    assert_eq!(app.post("/Users", e).await.status, 201);
    let group = app.create_group("G", &[&a, &b]).await;
    let inner = app.create_group("Inner", &[&c]).await;
    app.patch(
        &format!("/Users/{a}"),
        json!([{"op": "replace", "path": "name.givenName", "value": "Ay"},
               {"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    app.patch(
        &format!("/Groups/{group}"),
        json!([{"op": "add", "path": "members", "value": [{"value": inner}]},
               {"op": "replace", "path": "displayName", "value": "G2"}]),
    )
    .await;
    assert_eq!(app.delete(&format!("/Users/{b}")).await.status, 204);
}

async fn a_rebuilt_read_model_equals_the_live_one(app: TestApp) {
    provision_a_little(&app).await;
    let live = snapshot(&app).await;
    assert_eq!(live.0.len(), 4);
    assert_eq!(live.2.len(), 3);
    // The directory keeps deleted users, marked deleted.
    assert_eq!(live.3.len(), 5);
    let linked = live
        .3
        .iter()
        .filter(|user| user.manager_id.is_some())
        .count();
    assert_eq!(linked, 1);

    let projector = outdated_projections(&app).await;
    projector.prepare().await.expect("projections reset");
    assert!(
        snapshot(&app).await.0.is_empty(),
        "prepare empties outdated projections"
    );
    projector.catch_up().await.expect("projections rebuilt");
    assert_eq!(snapshot(&app).await, live);
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Stored {
    event_type: String,
    payload: String,
}

async fn lifecycle_events(app: &TestApp, id: &str) -> Vec<(String, serde_json::Value)> {
    let sql = match app.store.db.dialect() {
        projections::db::Dialect::Sqlite => "SELECT event_type, payload FROM events
              WHERE aggregate_id = $1 AND event_type IN ('UserSuspended', 'UserReactivated', 'UserDeleted')
              ORDER BY sequence",
        projections::db::Dialect::Postgres => "SELECT event_type, payload::text AS payload FROM events
              WHERE aggregate_id = $1 AND event_type IN ('UserSuspended', 'UserReactivated', 'UserDeleted')
              ORDER BY sequence",
    };
    let rows: Vec<Stored> = app
        .store
        .db
        .fetch_all(&Sql::new(sql).bind(id))
        .await
        .expect("the log reads");
    rows.into_iter()
        .map(|row| {
            let payload = serde_json::from_str(&row.payload).unwrap_or_default();
            (row.event_type, payload)
        })
        .collect()
}

async fn lifecycle_events_say_why_and_older_ones_still_read(app: TestApp) {
    let id = app.create_user("una").await;
    let path = format!("/Users/{id}");
    let off = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(off.status, 200);
    let events = lifecycle_events(&app, &id).await;
    let reason = events[0].1["UserSuspended"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.starts_with("PATCH "), "{reason}");
    assert!(reason.ends_with(": active set to false"), "{reason}");

    // As stored before reasons were kept: a bare event name.
    let legacy = match app.store.db.dialect() {
        projections::db::Dialect::Sqlite => {
            "UPDATE events SET payload = '\"UserSuspended\"' WHERE event_type = 'UserSuspended'"
        }
        projections::db::Dialect::Postgres => {
            "UPDATE events SET payload = '\"UserSuspended\"'::jsonb WHERE event_type = 'UserSuspended'"
        }
    };
    app.store
        .db
        .execute(&Sql::new(legacy))
        .await
        .expect("the log is writable");
    // The aggregate still loads, and decides on it.
    let on = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!(on.status, 200, "{:?}", on.body);
    assert_eq!(app.delete(&path).await.status, 204);
    let events = lifecycle_events(&app, &id).await;
    let types: Vec<&str> = events.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(types, ["UserSuspended", "UserReactivated", "UserDeleted"]);
    let deleted = events[2].1["UserDeleted"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(deleted.starts_with("DELETE "), "{deleted}");

    // And the projections rebuild through it.
    let projector = outdated_projections(&app).await;
    projector.prepare().await.expect("projections reset");
    projector
        .catch_up()
        .await
        .expect("projections rebuilt from older events");
}

async fn verify_finds_where_the_read_model_strays_from_the_log(app: TestApp) {
    provision_a_little(&app).await;
    let report = admin::verify(&app.store, |_| {})
        .await
        .expect("verification runs");
    assert!(report.identical(), "{report:#?}");
    assert!(report.events > 10, "{report:#?}");
    for projection in &report.projections {
        assert!(projection.live_rows() > 0, "{report:#?}");
    }

    app.store
        .db
        .execute(&Sql::new(
            "UPDATE scim_users SET display_name = 'Mallory' WHERE user_name = 'c'",
        ))
        .await
        .expect("the read model is writable");
    let report = admin::verify(&app.store, |_| {})
        .await
        .expect("verification runs");
    assert_eq!(report.differing(), ["scim_users"]);
    let users = &report.projections[0].tables[0];
    assert_eq!(
        (users.table, users.live_rows, users.rebuilt_rows),
        ("scim_users", 4, 4)
    );
    assert_eq!(users.only_live.len(), 1);
    assert!(users.only_live[0].contains("Mallory"), "{users:?}");
    assert_eq!(users.only_rebuilt.len(), 1);
    assert!(!users.only_rebuilt[0].contains("Mallory"), "{users:?}");
    assert!(users.only_rebuilt[0].contains(r#""c""#), "{users:?}");
    assert_no_scratch_schema_is_left(&app).await;
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct SchemaName {
    name: String,
}

async fn assert_no_scratch_schema_is_left(app: &TestApp) {
    if app.store.db.dialect() != projections::db::Dialect::Postgres {
        return;
    }
    let left: Vec<SchemaName> = app
        .store
        .db
        .fetch_all(&Sql::new(
            "SELECT nspname::text AS name FROM pg_namespace WHERE nspname LIKE 'scimd_scratch_%'",
        ))
        .await
        .expect("the catalogue reads");
    let names: Vec<&str> = left.iter().map(|schema| schema.name.as_str()).collect();
    assert!(names.is_empty(), "{names:?}");
}

/// A create whose read model lags past the wait has committed all the same: it answers 201
/// with the resource as its events make it, which is what the read model shows once it moves
/// again. A 503 "retry" would be wrong: the retry finds the name taken.
async fn a_create_committed_while_the_read_model_is_stuck_answers_what_it_made(kind: StoreKind) {
    let wait = Duration::from_millis(300);
    let app = TestApp::spawn_waiting(kind, ServerSettings::default(), wait).await;
    let member = app.create_user("member@example.com").await;
    stick_read_model(&app).await;
    let created = app.post("/Users", user("late@example.com")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let location = format!("{}/Users/{}", app.base, created.id());
    assert_eq!(created.header("location"), Some(location.as_str()));
    let group = app
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Late team", "members": [{"value": member}]}),
        )
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    // The name is the created user's: the IdP's retry is told so.
    let retry = app.post("/Users", user("late@example.com")).await;
    assert_eq!(retry.status, 409, "{:?}", retry.body);

    unstick_read_model(&app).await;
    let shown = app.get(&format!("/Users/{}", created.id())).await;
    assert_eq!(shown.body, created.body);
    let shown = app.get(&format!("/Groups/{}", group.id())).await;
    assert_eq!(shown.body, group.body);
}
