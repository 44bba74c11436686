//! The change history, the change feed and the hash chain cost a projector batch a fixed
//! number of statements on PostgreSQL, whatever the number of events in it: the names, the
//! members of deleted groups, the feed's snapshots and the chains' heads a batch needs are
//! read in one statement per table before it applies, and each table is written once at its
//! end. A batch that derives them from the whole log at once also gives exactly what the
//! server derived request by request.

use crate::common::TestApp;
use crate::on_both_stores;
use projections::chain::sealer::Sealer;
use projections::db::{Dialect, Sql};
use projections::digest::{self, TableDigest};
use projections::feed::Feed;
use projections::history::History;
use projections::runner::{Projection, Projector};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

on_both_stores!(history_feed_and_chain_cost_a_batch_the_same_statements_whatever_its_size);

/// The projections under test, and every table each keeps.
fn projections() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(Sealer::default()),
        Arc::new(History::default()),
        Arc::new(Feed::default()),
    ]
}

/// `members` users in two groups, then a member removed from one, that group and a user
/// renamed, a member added and that group deleted with its members in it, and a user deleted:
/// each kind of event these projections handle, in a number that grows with `members`.
async fn provision(app: &TestApp, team: &str, members: usize) {
    let mut ids = Vec::new();
    for n in 0..members {
        ids.push(app.create_user(&format!("{team}-{n}@example.com")).await);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    app.create_group(&format!("{team} kept"), &refs[2..]).await;
    let group = app.create_group(team, &refs[1..]).await;
    let path = format!("/Groups/{group}");
    let patched = app
        .patch(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])},
                   {"op": "replace", "path": "displayName", "value": format!("{team} renamed")}]),
        )
        .await;
    assert!(patched.status < 300, "{:?}", patched.body);
    let renamed = app
        .patch(
            &format!("/Users/{}", ids[0]),
            json!([{"op": "replace", "path": "userName", "value": format!("{team}-first@example.com")}]),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    let added = app
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": ids[0]}]}]),
        )
        .await;
    assert!(added.status < 300, "{:?}", added.body);
    assert_eq!(app.delete(&path).await.status, 204);
    assert_eq!(app.delete(&format!("/Users/{}", ids[1])).await.status, 204);
}

async fn digests(app: &TestApp) -> Vec<TableDigest> {
    let mut tx = app.store.db.begin_snapshot().await.expect("a snapshot");
    let mut all = Vec::new();
    for projection in projections() {
        for table in projection.tables() {
            all.push(
                digest::table_digest(&mut tx, table)
                    .await
                    .expect("the table reads"),
            );
        }
    }
    all
}

/// Empties the projections' tables and checkpoints, as a store that never had them, and
/// derives them again from the whole log in one batch: the statements that batch sent.
async fn derive_again(app: &TestApp) -> u64 {
    let mut statements = vec![Sql::new(
        "DELETE FROM projection_checkpoints WHERE name IN ('event_chain', 'history', 'feed')",
    )];
    for projection in projections() {
        for table in projection.tables() {
            statements.push(Sql::new(format!("DELETE FROM {table}")));
        }
    }
    app.store
        .db
        .execute_all(statements)
        .await
        .expect("the tables empty");
    let projector = Projector::new(app.store.db.clone(), projections(), Duration::from_secs(10));
    projector
        .prepare()
        .await
        .expect("the projections start over");
    projector.catch_up().await.expect("the log applies");
    projector.last_batch_statements()
}

async fn history_feed_and_chain_cost_a_batch_the_same_statements_whatever_its_size(app: TestApp) {
    provision(&app, "small", 3).await;
    let live = digests(&app).await;
    let few = derive_again(&app).await;
    assert_eq!(digests(&app).await, live, "the same tables from one batch");

    provision(&app, "large", 60).await;
    let live = digests(&app).await;
    let many = derive_again(&app).await;
    assert_eq!(digests(&app).await, live, "the same tables from one batch");

    match app.store.db.dialect() {
        // Reads: checkpoints, events, chain heads, names, members of deleted groups, feed
        // users, feed groups, the feed's numbering. Writes: chain, entries, deletions, names,
        // members removed and added, feed events, users and groups, checkpoints.
        Dialect::Postgres => assert_eq!((few, many), (18, 18)),
        // A statement per row, none of them a round trip.
        Dialect::Sqlite => assert!(many > few, "{few} {many}"),
    }
}
