//! What one projector batch costs the directory and the SCIM group tables: on PostgreSQL a
//! fixed number of statements (each a round trip), whatever the number of members a batch adds
//! or of users it changes; on both stores the same read model.
//!
//! Each batch is the events of some requests applied again by a projector of one projection,
//! under a name of its own whose checkpoint is put just before them (so that the server's
//! projector never takes that batch over): applying an event twice leaves its rows as they
//! were, and the batch is exactly those events.

use crate::common::TestApp;
use crate::on_both_stores;
use async_trait::async_trait;
use projections::db::{Dialect, Sql, Tx};
use projections::directory::{app_user, Directory};
use projections::error::ProjectionError;
use projections::event_log::{Position, RecordedEvent};
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

/// A projection applying what `inner` applies, with a checkpoint of its own.
struct Probe(Arc<dyn Projection>);

#[async_trait]
impl Projection for Probe {
    fn name(&self) -> &'static str {
        "batch_statements_probe"
    }

    fn version(&self) -> i64 {
        self.0.version()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.0.tables()
    }

    fn start_batch(&self, continuing: bool) {
        self.0.start_batch(continuing);
    }

    async fn prepare_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        self.0.prepare_batch(tx, events).await
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), ProjectionError> {
        self.0.apply(tx, event).await
    }

    async fn finish_batch(&self, tx: &mut Tx, cut_short: bool) -> Result<(), ProjectionError> {
        self.0.finish_batch(tx, cut_short).await
    }
}

/// Applies again, in one batch of a projector of `projection` alone, what the server applied
/// since `since`; the statements that batch sent.
async fn batch_again(app: &TestApp, projection: Arc<dyn Projection>, since: Position) -> u64 {
    let probe = Probe(projection);
    app.store
        .db
        .execute(
            &Sql::new(
                "INSERT INTO projection_checkpoints (name, version, transaction_id, position)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE
                    SET transaction_id = excluded.transaction_id, position = excluded.position",
            )
            .bind(probe.name())
            .bind(probe.version())
            .bind(since.transaction_id)
            .bind(since.position),
        )
        .await
        .expect("the probe's checkpoint is put");
    let projector = Projector::new(
        app.store.db.clone(),
        vec![Arc::new(probe)],
        Duration::from_secs(10),
    );
    let reached = projector.catch_up().await.expect("the batch applies");
    assert!(reached > since, "the batch applied events");
    projector.last_batch_statements()
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
