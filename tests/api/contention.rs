//! Many clients writing one aggregate at once through one server, as an IdP's parallel workers
//! do on a big group: every request succeeds, no change is lost and each change is recorded
//! exactly once. Within one process, commands on an aggregate queue for it; across replicas
//! their appends conflict and are retried, which
//! `replicas::edits::thirty_two_workers_on_both_replicas_changing_one_group_lose_nothing`
//! covers.

use crate::common::audit_trail::{event_log, member_of};
use crate::common::{member_ids, TestApp};
use crate::on_both_stores;
use futures::future::join_all;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

on_both_stores!(
    thirty_two_clients_changing_one_groups_members_lose_nothing,
    thirty_two_clients_editing_one_user_all_succeed
);

const CLIENTS: usize = 32;
/// Members each client adds, one PATCH each; it then removes every other one again.
const ADDED_PER_CLIENT: usize = 6;

/// Statuses a PATCH may answer with; a 409 would be a conflict leaking out, a 500 worse.
fn succeeded(status: u16) -> bool {
    status == 200 || status == 204
}

/// The users one client adds, then the ones it removes again.
async fn add_then_remove_half(app: Arc<TestApp>, client: usize, group: Arc<String>) -> Vec<String> {
    let mut added = Vec::with_capacity(ADDED_PER_CLIENT);
    for n in 0..ADDED_PER_CLIENT {
        let id = app
            .create_user(&format!("c{client}-{n}@contention.example"))
            .await;
        let reply = app
            .patch(
                &format!("/Groups/{group}"),
                json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
            )
            .await;
        assert!(
            succeeded(reply.status),
            "client {client} adding: {:?}",
            reply.body
        );
        added.push(id);
    }
    let mut kept = Vec::new();
    for (n, id) in added.into_iter().enumerate() {
        if n % 2 == 0 {
            kept.push(id);
            continue;
        }
        let path = format!("members[value eq \"{id}\"]");
        let reply = app
            .patch(
                &format!("/Groups/{group}"),
                json!([{"op": "remove", "path": path}]),
            )
            .await;
        assert!(
            succeeded(reply.status),
            "client {client} removing: {:?}",
            reply.body
        );
    }
    kept
}

async fn thirty_two_clients_changing_one_groups_members_lose_nothing(app: TestApp) {
    let group = Arc::new(app.create_group("Everyone", &[]).await);
    let app = Arc::new(app);
    let clients = (0..CLIENTS).map(|client| {
        tokio::spawn(add_then_remove_half(
            Arc::clone(&app),
            client,
            Arc::clone(&group),
        ))
    });
    let mut expected = BTreeSet::new();
    for kept in join_all(clients).await {
        expected.extend(kept.expect("a client finishes"));
    }
    assert_eq!(expected.len(), CLIENTS * ADDED_PER_CLIENT / 2);

    let reply = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(reply.status, 200);
    let members: BTreeSet<String> = member_ids(&reply.body).into_iter().collect();
    assert_eq!(members, expected);

    // Exactly one event per change: a retried command must not record its change twice.
    let events = event_log(&app.database_url).await;
    let on_group = |event_type: &str| -> Vec<String> {
        events
            .iter()
            .filter(|event| event.aggregate_id == *group && event.event_type == event_type)
            .map(member_of)
            .collect()
    };
    let added = on_group("GroupMemberAdded");
    let removed = on_group("GroupMemberRemoved");
    assert_eq!(added.len(), CLIENTS * ADDED_PER_CLIENT);
    assert_eq!(added.iter().collect::<BTreeSet<_>>().len(), added.len());
    assert_eq!(removed.len(), CLIENTS * ADDED_PER_CLIENT / 2);
    assert!(removed.iter().all(|id| !expected.contains(id)));
}

async fn thirty_two_clients_editing_one_user_all_succeed(app: TestApp) {
    let id = Arc::new(app.create_user("contended@contention.example").await);
    let app = Arc::new(app);
    let titles: Vec<String> = (0..CLIENTS)
        .map(|client| format!("title {client}"))
        .collect();
    let edits = titles.iter().cloned().map(|title| {
        let (app, id) = (Arc::clone(&app), Arc::clone(&id));
        tokio::spawn(async move {
            let operations = json!([{"op": "replace", "path": "title", "value": title}]);
            app.patch(&format!("/Users/{id}"), operations).await
        })
    });
    for reply in join_all(edits).await {
        let reply = reply.expect("an edit finishes");
        assert!(succeeded(reply.status), "{:?}", reply.body);
    }

    let shown = app.get(&format!("/Users/{id}")).await.body["title"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(titles.contains(&shown), "{shown:?}");
    // Every title differs from the one before it, so each edit is one recorded change.
    let events = event_log(&app.database_url).await;
    let updates = events
        .iter()
        .filter(|event| event.aggregate_id == *id && event.event_type == "UserUpdated")
        .count();
    assert_eq!(
        updates, CLIENTS,
        "one recorded change per acknowledged edit"
    );
}
