//! What one projector batch costs the directory and the SCIM group tables: on PostgreSQL a
//! fixed number of statements (each a round trip), whatever the number of members a batch adds
//! or of users it changes; on both stores the same read model.
//!
//! Each batch is the events of some requests applied again by a projector of one projection,
//! whose checkpoint is moved back to before them: applying an event twice leaves its rows as
//! they were, and the batch is exactly those events.

use crate::common::TestApp;
use crate::on_both_stores;
use projections::db::{Dialect, Sql};
use projections::directory::{app_user, Directory};
use projections::event_log::Position;
use projections::runner::{Projection, Projector};
use projections::scim_groups::{membership_snapshot, ScimGroups};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

on_both_stores!(
    a_batch_adding_members_costs_the_same_for_ten_or_four_hundred,
    a_batch_of_user_changes_costs_the_directory_the_same_for_ten_or_a_hundred,
);

async fn checkpoint(app: &TestApp, name: &str) -> Position {
    let mut tx = app.store.db.begin_snapshot().await.expect("a snapshot");
    let checkpoints = Projector::checkpoint_positions(&mut tx)
        .await
        .expect("the checkpoints read");
    checkpoints.get(name).copied().unwrap_or_default()
}

/// Applies again, in one batch of a projector of `projection` alone, what `projection` applied
/// since `since`; the statements that batch sent.
async fn batch_again(app: &TestApp, projection: Arc<dyn Projection>, since: Position) -> u64 {
    app.store
        .db
        .execute(
            &Sql::new(
                "UPDATE projection_checkpoints SET transaction_id = $1, position = $2
                  WHERE name = $3",
            )
            .bind(since.transaction_id)
            .bind(since.position)
            .bind(projection.name()),
        )
        .await
        .expect("the checkpoint moves back");
    let projector = Projector::new(
        app.store.db.clone(),
        vec![projection],
        Duration::from_secs(10),
    );
    let before = projector.last_batch_statements();
    projector.catch_up().await.expect("the batch applies");
    let sent = projector.last_batch_statements();
    assert_ne!(sent, before, "a batch applied events");
    sent
}

async fn users(app: &TestApp, prefix: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        ids.push(app.create_user(&format!("{prefix}{n:03}")).await);
    }
    ids
}

/// One PATCH adding `members` to a new group, applied again as one batch; the statements it
/// cost and the group's id.
async fn members_added(app: &TestApp, name: &str, members: &[String]) -> (u64, String) {
    let group = app.create_group(name, &[]).await;
    let since = checkpoint(app, "scim_groups").await;
    let values: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "add", "path": "members", "value": values}]),
        )
        .await;
    // Without `attributes`, a PATCH that only adds members answers 204.
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    let sent = batch_again(app, Arc::new(ScimGroups::default()), since).await;
    let snapshot = membership_snapshot(&app.store.db, &group, None)
        .await
        .expect("the memberships read")
        .expect("the group is there");
    assert_eq!(snapshot.members.len(), members.len());
    assert_eq!(
        snapshot.version,
        i64::try_from(members.len()).unwrap_or(0) + 1
    );
    (sent, group)
}

async fn a_batch_adding_members_costs_the_same_for_ten_or_four_hundred(app: TestApp) {
    let ids = users(&app, "member", 400).await;
    let (ten, _) = members_added(&app, "Ten", &ids[..10]).await;
    let (four_hundred, group) = members_added(&app, "Four hundred", &ids).await;
    let listed = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(listed.body["members"].as_array().map(Vec::len), Some(400));
    if app.store.db.dialect() == Dialect::Postgres {
        // The checkpoints and the events read, the group read and written, the members
        // inserted, the checkpoint written.
        assert_eq!((ten, four_hundred), (6, 6));
    }
}

/// A PATCH of each of `ids` changing what the directory keeps (a mapped field, the userName,
/// `active`), applied again as one batch; the statements it cost.
async fn users_changed(app: &TestApp, ids: &[String], title: &str) -> u64 {
    let since = checkpoint(app, "directory").await;
    for (n, id) in ids.iter().enumerate() {
        let reply = app
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "replace", "path": "title", "value": title},
                       {"op": "replace", "path": "userName", "value": format!("{title}{n:03}")},
                       {"op": "replace", "path": "active", "value": false}]),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    let sent = batch_again(app, Arc::new(Directory::default()), since).await;
    for (n, id) in ids.iter().enumerate() {
        let row = app_user(&app.store.db, id)
            .await
            .expect("the directory reads")
            .expect("the user is in the directory");
        assert_eq!(row.user_name, format!("{title}{n:03}"));
        assert_eq!(row.state, "suspended");
        assert_eq!(
            row.fields().get("Scim Sync Job Title").map(String::as_str),
            Some(title)
        );
    }
    sent
}

async fn a_batch_of_user_changes_costs_the_directory_the_same_for_ten_or_a_hundred(app: TestApp) {
    let ids = users(&app, "user", 110).await;
    let ten = users_changed(&app, &ids[..10], "lead").await;
    let hundred = users_changed(&app, &ids[10..], "engineer").await;
    if app.store.db.dialect() == Dialect::Postgres {
        // The checkpoints and the events read, the users read and written, the checkpoint
        // written.
        assert_eq!((ten, hundred), (5, 5));
    }
}
