//! The member events of one request are recorded in the order the request names the members
//! (each once, where first named), whatever the store: an auditor reads the history as the IdP
//! sent it.

use crate::common::admin_api::with_admin_api;
use crate::common::{user, TestApp};
use crate::membership_history::{history, send, INTEGRATION_USER};
use crate::on_both_stores_with;
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores_with!(with_admin_api;
    member_events_follow_the_order_of_the_request,
);

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Indexes 0..n in a fixed order that is neither the creation order nor sorted by id.
fn shuffled(n: usize, step: usize) -> Vec<usize> {
    (0..n).map(|i| (i * step + 3) % n).collect()
}

fn values(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

/// The member ids of the group's `action` entries after the first `skip` of them.
async fn recorded(app: &TestApp, group: &str, action: &str, skip: usize) -> Vec<String> {
    let entries = history(app, &format!("id={group}&action={action}"), 1000).await;
    entries
        .iter()
        .skip(skip)
        .filter_map(|entry| entry["memberId"].as_str().map(str::to_string))
        .collect()
}

async fn member_events_follow_the_order_of_the_request(app: TestApp) {
    let key = app.key_for("default", INTEGRATION_USER).await;
    let mut users = Vec::new();
    for i in 0..30 {
        let created = send(
            &app,
            &key,
            Method::POST,
            "/Users",
            user(&format!("m{i:02}")),
        )
        .await;
        users.push(created.id());
    }
    let ids_at =
        |order: &[usize]| -> Vec<&str> { order.iter().map(|i| users[*i].as_str()).collect() };

    // Created with members: five, one named twice (the first naming counts).
    let initial = ids_at(&[4, 1, 3, 0, 2]);
    let mut named = initial.clone();
    named.push(initial[1]);
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Ordered",
        "members": values(&named),
    });
    let group = send(&app, &key, Method::POST, "/Groups", group).await.id();
    let path = format!("/Groups/{group}");
    assert_eq!(recorded(&app, &group, "GroupMemberAdded", 0).await, initial);

    // One PATCH adds twenty in a shuffled order, with a repeat and a current member.
    let twenty: Vec<usize> = shuffled(20, 7).into_iter().map(|i| i + 5).collect();
    let added = ids_at(&twenty);
    let mut named = added.clone();
    named.insert(10, added[3]);
    named.insert(0, initial[2]);
    let patch = json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": values(&named)}],
    });
    send(&app, &key, Method::PATCH, &path, patch).await;
    assert_eq!(recorded(&app, &group, "GroupMemberAdded", 5).await, added);

    // One PATCH removes ten in another order: listed in `value` (Entra ID), then by filter.
    let removed = ids_at(&[17, 2, 9, 24, 0, 12, 21, 6, 15, 4]);
    let filter = removed[6..]
        .iter()
        .map(|id| format!("value eq \"{id}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let patch = json!({
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Remove", "path": "members", "value": values(&removed[..6])},
            {"op": "remove", "path": format!("members[{filter}]")},
        ],
    });
    send(&app, &key, Method::PATCH, &path, patch).await;
    assert_eq!(
        recorded(&app, &group, "GroupMemberRemoved", 0).await,
        removed
    );

    // A PUT: the members it leaves out go (in id order), then the new ones come as listed.
    let kept = ids_at(&[10, 11]);
    let newcomers = ids_at(&[29, 26, 28, 25, 27]);
    let mut replacement = newcomers.clone();
    replacement.insert(2, kept[0]);
    replacement.push(kept[1]);
    let members_before: Vec<&str> = users[..25]
        .iter()
        .map(String::as_str)
        .filter(|id| !removed.contains(id))
        .collect();
    let mut left: Vec<&str> = members_before
        .into_iter()
        .filter(|id| !kept.contains(id))
        .collect();
    left.sort_unstable();
    let put = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Ordered",
        "members": values(&replacement),
    });
    send(&app, &key, Method::PUT, &path, put).await;
    assert_eq!(recorded(&app, &group, "GroupMemberRemoved", 10).await, left);
    assert_eq!(
        recorded(&app, &group, "GroupMemberAdded", 25).await,
        newcomers
    );
}
