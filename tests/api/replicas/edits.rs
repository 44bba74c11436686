//! Racing edits through both replicas: member PATCHes of one group, PATCHes of one user, and
//! deletions of users racing their adds to a group. Nothing is lost, nothing applied twice.

use super::{
    assert_all, assert_audit_trail_is_complete_and_ordered, assert_same, count, event_log,
    member_of, LoggedEvent, Replica, Replicas, A, B,
};
use crate::common::{encode, member_ids};
use futures::future::join_all;
use projections::db::Sql;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_member_patches_from_both_replicas_lose_and_duplicate_nothing() {
    let replicas = Replicas::start().await;
    // Each replica adds its own 50 users; both add the same 10 shared ones; 10 initial members
    // leave, half through each replica.
    let create = |replica: Replica, prefix: &'static str, n: usize| {
        let replicas = &replicas;
        async move {
            replicas
                .create_user(replica, &format!("{prefix}{n}@corp.example"))
                .await
        }
    };
    let own_a = join_all((0..50).map(|n| create(A, "a", n))).await;
    let own_b = join_all((0..50).map(|n| create(B, "b", n))).await;
    let shared = join_all((0..10).map(|n| create(Replica::alternating(n), "shared", n))).await;
    let leavers = join_all((0..10).map(|n| create(Replica::alternating(n), "leaver", n))).await;

    let members: Vec<Value> = leavers.iter().map(|id| json!({"value": id})).collect();
    let group = replicas
        .post(
            A,
            "/Groups",
            json!({"displayName": "Racers", "members": members}),
        )
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let group_id = group.id();
    let path = format!("/Groups/{group_id}");

    let add = |ids: &[String]| {
        let value: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
        json!([{"op": "add", "path": "members", "value": value}])
    };
    let remove =
        |id: &String| json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]);
    let mut patches: Vec<(Replica, Value)> = Vec::new();
    patches.extend(own_a.chunks(5).map(|chunk| (A, add(chunk))));
    patches.extend(own_b.chunks(5).map(|chunk| (B, add(chunk))));
    for chunk in shared.chunks(2) {
        patches.extend([(A, add(chunk)), (B, add(chunk))]);
    }
    patches.extend(
        leavers
            .iter()
            .enumerate()
            .map(|(n, id)| (Replica::alternating(n), remove(id))),
    );
    let patches = patches
        .into_iter()
        .map(|(replica, operations)| replicas.patch(replica, &path, operations));
    let replies = join_all(patches).await;
    assert_all(&replies, 204, "every PATCH succeeds");

    let expected: BTreeSet<String> = own_a.iter().chain(&own_b).chain(&shared).cloned().collect();
    let expected: Vec<String> = expected.into_iter().collect();
    assert_eq!(expected.len(), 110);
    for replica in [A, B] {
        let read = replicas.get(replica, &path).await;
        assert_eq!(read.status, 200);
        assert_eq!(
            member_ids(&read.body),
            expected,
            "members read through {replica:?}"
        );
        // Each member's own `groups` shows the group, through either replica.
        let filter = encode(&format!("groups.value eq \"{group_id}\""));
        let listed = replicas
            .get(replica, &format!("/Users?filter={filter}&count=1000"))
            .await;
        assert_eq!(listed.status, 200, "{:?}", listed.body);
        assert_eq!(listed.body["totalResults"], 110, "{:?}", listed.body);
    }

    // One event per member change: the shared members were added once, though both replicas
    // asked for them.
    let events: Vec<LoggedEvent> = event_log(&replicas.database_url)
        .await
        .into_iter()
        .filter(|event| event.aggregate_id == group_id)
        .collect();
    let added: Vec<String> = events
        .iter()
        .filter(|event| event.event_type == "GroupMemberAdded")
        .map(member_of)
        .collect();
    let removed: Vec<String> = events
        .iter()
        .filter(|event| event.event_type == "GroupMemberRemoved")
        .map(member_of)
        .collect();
    let mut expected_added: Vec<String> = expected.iter().chain(&leavers).cloned().collect();
    expected_added.sort();
    let mut added_sorted = added.clone();
    added_sorted.sort();
    assert_eq!(
        added_sorted, expected_added,
        "each member added exactly once"
    );
    let mut removed_sorted = removed.clone();
    removed_sorted.sort();
    let mut expected_removed = leavers.clone();
    expected_removed.sort();
    assert_eq!(
        removed_sorted, expected_removed,
        "each leaver removed exactly once"
    );
    assert_eq!(events.len(), 1 + 120 + 10, "{events:?}");
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_of_one_user_from_both_replicas_keep_every_change() {
    let replicas = Replicas::start().await;
    const PATCHES: usize = 30;
    let id = replicas.create_user(A, "busy@corp.example").await;
    let path = format!("/Users/{id}");
    // Each PATCH adds an address of its own: a lost update would lose one.
    let replies = join_all((0..PATCHES).map(|n| {
        let address = json!({"type": "other", "locality": format!("Town {n}")});
        replicas.patch(
            Replica::alternating(n),
            &path,
            json!([{"op": "add", "path": "addresses", "value": [address]}]),
        )
    }))
    .await;
    assert_all(&replies, 200, "every PATCH succeeds");

    let expected: Vec<String> = (0..PATCHES).map(|n| format!("Town {n}")).collect();
    for replica in [A, B] {
        let read = replicas.get(replica, &path).await;
        assert_eq!(read.status, 200);
        let towns: Vec<String> = read.body["addresses"]
            .as_array()
            .map(|addresses| {
                addresses
                    .iter()
                    .filter_map(|address| address["locality"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            towns.len(),
            PATCHES,
            "one address per PATCH, none lost or doubled: {towns:?}"
        );
        assert_same(
            &towns,
            &expected,
            &format!("addresses read through {replica:?}"),
        );
    }
    let updates = Sql::new(
        "SELECT count(*) AS total FROM events WHERE aggregate_id = $1 AND event_type = 'UserUpdated'",
    )
    .bind(id.as_str());
    assert_eq!(count(&replicas.database_url, updates).await, PATCHES as i64);
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_through_one_replica_while_joining_a_group_through_the_other_is_no_member() {
    let replicas = Replicas::start().await;
    const USERS: usize = 40;
    let users = join_all((0..USERS).map(|n| {
        let replicas = &replicas;
        async move {
            replicas
                .create_user(Replica::alternating(n), &format!("goner{n}@corp.example"))
                .await
        }
    }))
    .await;
    let group = replicas
        .post(B, "/Groups", json!({"displayName": "Departed"}))
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let group_id = group.id();
    let group_path = format!("/Groups/{group_id}");

    // Each user is deleted through A while B adds it to the group: whichever comes first, the
    // group must not end up naming a user that no longer exists.
    let races = users.iter().map(|id| {
        let (replicas, group_path) = (&replicas, &group_path);
        async move {
            let user_path = format!("/Users/{id}");
            let delete = replicas.send(A, Method::DELETE, &user_path, None);
            let add = replicas.patch(
                B,
                group_path,
                json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
            );
            let (deleted, added) = tokio::join!(delete, add);
            assert_eq!(deleted.status, 204, "{:?}", deleted.body);
            // Too late to join: the user was already gone.
            let refused = added.status == 400 && added.body["scimType"] == "invalidValue";
            assert!(added.status == 204 || refused, "{:?}", added.body);
        }
    });
    join_all(races).await;

    for replica in [A, B] {
        let read = replicas.get(replica, &group_path).await;
        assert_same(
            &member_ids(&read.body),
            &[],
            "members of a group of deleted users",
        );
    }
    let rows = Sql::new("SELECT count(*) AS total FROM scim_group_members WHERE group_id = $1")
        .bind(group_id.as_str());
    assert_eq!(count(&replicas.database_url, rows).await, 0);
    // Every member that was added was removed again, by an event of its own.
    let events: Vec<LoggedEvent> = event_log(&replicas.database_url)
        .await
        .into_iter()
        .filter(|event| event.aggregate_id == group_id)
        .collect();
    let mut added: Vec<String> = events
        .iter()
        .filter(|event| event.event_type == "GroupMemberAdded")
        .map(member_of)
        .collect();
    let mut removed: Vec<String> = events
        .iter()
        .filter(|event| event.event_type == "GroupMemberRemoved")
        .map(member_of)
        .collect();
    added.sort();
    removed.sort();
    assert_eq!(added, removed);
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
}

/// Thirty-two IdP workers, half on each replica, each adding its own members to one group one
/// PATCH at a time and then removing half of them: the replicas' appends conflict, and every
/// conflict is retried inside scimd, never answered as 409 or 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_workers_on_both_replicas_changing_one_group_lose_nothing() {
    const WORKERS: usize = 32;
    const ADDED: usize = 4;
    let replicas = Replicas::start().await;
    let group = replicas
        .post(A, "/Groups", json!({"displayName": "Crowd"}))
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let path = format!("/Groups/{}", group.id());
    let worker = |worker: usize| {
        let (replicas, path) = (&replicas, &path);
        async move {
            let replica = Replica::alternating(worker);
            let mut kept = Vec::new();
            for n in 0..ADDED {
                let id = replicas
                    .create_user(replica, &format!("w{worker}-{n}@crowd.example"))
                    .await;
                let add = json!([{"op": "add", "path": "members", "value": [{"value": id}]}]);
                let reply = replicas.patch(replica, path, add).await;
                assert_eq!(
                    reply.status, 204,
                    "worker {worker} adding: {:?}",
                    reply.body
                );
                if n % 2 == 0 {
                    kept.push(id);
                    continue;
                }
                let remove =
                    json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]);
                let reply = replicas.patch(replica, path, remove).await;
                assert_eq!(
                    reply.status, 204,
                    "worker {worker} removing: {:?}",
                    reply.body
                );
            }
            kept
        }
    };
    let kept: BTreeSet<String> = join_all((0..WORKERS).map(worker))
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(kept.len(), WORKERS * ADDED / 2);
    for replica in [A, B] {
        let read = replicas.get(replica, &path).await;
        let members: BTreeSet<String> = member_ids(&read.body).into_iter().collect();
        assert_eq!(members, kept, "members read through {replica:?}");
    }
    let group_id = group.id();
    let events = event_log(&replicas.database_url).await;
    let changes = |event_type: &str| {
        events
            .iter()
            .filter(|event| event.aggregate_id == group_id && event.event_type == event_type)
            .count()
    };
    assert_eq!(changes("GroupMemberAdded"), WORKERS * ADDED);
    assert_eq!(changes("GroupMemberRemoved"), WORKERS * ADDED / 2);
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
}
