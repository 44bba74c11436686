//! Membership from both sides: a user's history holds the member changes of the groups it
//! joined and left (with the group's name then, who did it, through which key and request),
//! a group's entries name their members as they were named then, and the CLI, the admin API,
//! the exports and the as-of view all tell the same story.

use crate::common::admin_api::{call, with_admin_api};
use crate::common::cli::run_cli;
use crate::common::{encode, user, Reply, TestApp};
use crate::on_both_stores_with;
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores_with!(with_admin_api;
    a_users_history_says_when_it_joined_a_group_who_put_it_there_and_when_it_left,
    a_groups_member_changes_name_each_member_as_it_was_named_then,
    the_cli_exports_and_as_of_view_agree_with_the_admin_api,
);

pub(crate) const INTEGRATION_USER: &str = "okta-sync";

/// What an identity provider did: users, a group and member changes through one key.
struct Story {
    key: String,
    ada: String,
    bob: String,
    finance: String,
    added: Reply,
    removed: Reply,
}

pub(crate) async fn send(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Value,
) -> Reply {
    let reply = app.send(method, path, Some(key), Some(&body)).await;
    assert!(reply.status < 300, "{path}: {:?}", reply.body);
    reply
}

pub(crate) fn member_patch(op: &str, id: &str) -> Value {
    let value = match op {
        "add" => json!({"op": "add", "path": "members", "value": [{"value": id}]}),
        _ => json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}),
    };
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [value]})
}

/// ada joins Finance (bob is in it from its creation), Finance becomes "Finance EU", ada leaves.
async fn story(app: &TestApp) -> Story {
    let key = app.key_for("default", INTEGRATION_USER).await;
    let ada = send(app, &key, Method::POST, "/Users", user("ada"))
        .await
        .id();
    let bob = send(app, &key, Method::POST, "/Users", user("bob"))
        .await
        .id();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Finance",
        "members": [{"value": bob}],
    });
    let finance = send(app, &key, Method::POST, "/Groups", group).await.id();
    let path = format!("/Groups/{finance}");
    let added = send(app, &key, Method::PATCH, &path, member_patch("add", &ada)).await;
    let rename = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Finance EU"}],
    });
    send(app, &key, Method::PATCH, &path, rename).await;
    let removed = send(
        app,
        &key,
        Method::PATCH,
        &path,
        member_patch("remove", &ada),
    )
    .await;
    Story {
        key,
        ada,
        bob,
        finance,
        added,
        removed,
    }
}

/// Every entry the admin API lists for `query`, read `count` at a time.
pub(crate) async fn history(app: &TestApp, query: &str, count: usize) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/instances/default/history?{query}&count={count}{cursor}");
        let (status, page) = call(app, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        let listed = page["entries"].as_array().cloned().unwrap_or_default();
        assert!(listed.len() <= count, "{page}");
        entries.extend(listed);
        match page["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={}", encode(next)),
            None => return entries,
        }
    }
}

pub(crate) fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect()
}

async fn a_users_history_says_when_it_joined_a_group_who_put_it_there_and_when_it_left(
    app: TestApp,
) {
    let story = story(&app).await;
    let by_name = history(&app, "user=ADA", 1000).await;
    assert_eq!(
        actions(&by_name),
        [
            "UserCreated",
            "UserMapped",
            "GroupMemberAdded",
            "GroupMemberRemoved"
        ],
        "{by_name:#?}"
    );
    let (joined, left) = (&by_name[2], &by_name[3]);
    // The group as it was named at each change.
    assert_eq!(joined["entityType"], "Group");
    assert_eq!(joined["entityId"], story.finance);
    assert_eq!(joined["entityName"], "Finance");
    assert_eq!(left["entityName"], "Finance EU");
    for (entry, reply) in [(joined, &story.added), (left, &story.removed)] {
        assert_eq!(entry["memberType"], "User");
        assert_eq!(entry["memberId"], story.ada);
        assert_eq!(entry["memberName"], "ada");
        assert_eq!(entry["actor"], INTEGRATION_USER);
        assert_eq!(entry["source"], "scim");
        assert!(
            entry["keyId"]
                .as_str()
                .is_some_and(|id| !id.is_empty() && story.key.contains(id)),
            "{entry} by key {}",
            story.key
        );
        assert_eq!(
            entry["correlationId"].as_str(),
            reply.header("x-request-id"),
            "{entry}"
        );
        assert!(entry["occurredAt"].as_str().is_some());
    }
    assert!(
        by_name.iter().all(|e| e["memberId"] != story.bob),
        "bob's membership is not ada's: {by_name:#?}"
    );

    // By id, one entry a page either way, the same entries.
    let by_id = history(&app, &format!("id={}", story.ada), 1000).await;
    assert_eq!(by_id, by_name);
    assert_eq!(history(&app, &format!("id={}", story.ada), 1).await, by_id);
    let mut newest = history(&app, &format!("id={}&order=newest", story.ada), 1).await;
    newest.reverse();
    assert_eq!(newest, by_id);
    // Other filters still apply to member changes.
    let removals = history(&app, "user=ada&action=GroupMemberRemoved", 1000).await;
    assert_eq!(removals, [by_name[3].clone()]);
    let (_, since) = call(
        &app,
        Method::GET,
        "/instances/default/history?user=bob",
        None,
    )
    .await;
    let bob = since["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        actions(&bob),
        ["UserCreated", "UserMapped", "GroupMemberAdded"]
    );
    assert_eq!(bob[2]["entityName"], "Finance");

    // A group named like its member: its member change is about "ada" and names "ada", once.
    let namesake = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Ada",
        "members": [{"value": story.ada}],
    });
    send(&app, &story.key, Method::POST, "/Groups", namesake).await;
    let with_namesake = history(&app, "user=ada", 1000).await;
    assert_eq!(
        actions(&with_namesake)[4..],
        ["GroupCreated", "GroupMemberAdded"],
        "{with_namesake:#?}"
    );
    assert_eq!(history(&app, "user=ada", 1).await, with_namesake);

    // The group's own history is unchanged: its entries, none of its members'.
    let group = history(&app, &format!("id={}", story.finance), 1000).await;
    assert_eq!(
        actions(&group),
        [
            "GroupCreated",
            "GroupMemberAdded",
            "GroupMemberAdded",
            "GroupRenamed",
            "GroupMemberRemoved"
        ]
    );
}

async fn a_groups_member_changes_name_each_member_as_it_was_named_then(app: TestApp) {
    let story = story(&app).await;
    // A group in a group, named by its displayName; renamed later, as is bob.
    let key = &story.key;
    let auditors = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Auditors",
    });
    let auditors = send(&app, key, Method::POST, "/Groups", auditors)
        .await
        .id();
    let path = format!("/Groups/{}", story.finance);
    send(
        &app,
        key,
        Method::PATCH,
        &path,
        member_patch("add", &auditors),
    )
    .await;
    let rename = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "userName", "value": "robert"}],
    });
    send(
        &app,
        key,
        Method::PATCH,
        &format!("/Users/{}", story.bob),
        rename,
    )
    .await;
    send(
        &app,
        key,
        Method::PATCH,
        &path,
        member_patch("remove", &story.bob),
    )
    .await;

    let changes = history(&app, "action=GroupMemberAdded", 1000).await;
    let named: Vec<(&str, &str)> = changes
        .iter()
        .map(|e| {
            let kind = e["memberType"].as_str().unwrap_or_default();
            (kind, e["memberName"].as_str().unwrap_or_default())
        })
        .collect();
    assert_eq!(
        named,
        [("User", "bob"), ("User", "ada"), ("Group", "Auditors")]
    );
    assert_eq!(changes[2]["memberId"], auditors);
    // The event's own account is kept as it was.
    assert_eq!(
        changes[0]["details"],
        json!({"member": {"id": story.bob, "kind": "User"}})
    );
    let removed = history(&app, "action=GroupMemberRemoved", 1000).await;
    let names: Vec<&str> = removed
        .iter()
        .filter_map(|e| e["memberName"].as_str())
        .collect();
    assert_eq!(names, ["ada", "robert"], "the name at the time of each");
    // A member's old name still finds the changes made while it bore it, its id all of them.
    let as_bob = history(&app, "user=bob&action=GroupMemberAdded", 1000).await;
    assert_eq!(as_bob.len(), 1);
    let by_id = history(&app, &format!("id={}", story.bob), 1000).await;
    assert_eq!(
        actions(&by_id)
            .into_iter()
            .filter(|action| action.starts_with("Group"))
            .collect::<Vec<_>>(),
        ["GroupMemberAdded", "GroupMemberRemoved"]
    );
    // The group's membership in another is in the group's history.
    let auditors_history = history(&app, &format!("id={auditors}"), 1000).await;
    assert_eq!(
        actions(&auditors_history),
        ["GroupCreated", "GroupMemberAdded"]
    );
    assert_eq!(auditors_history[1]["entityName"], "Finance EU");
    // Entries that are not member changes have no member.
    let created = history(&app, "action=UserCreated", 1000).await;
    assert!(created.iter().all(|e| e["memberId"].is_null()
        && e["memberName"].is_null()
        && e["memberType"].is_null()));
}

pub(crate) async fn cli(app: &TestApp, args: &[&str]) -> String {
    let (ok, out, err) = run_cli(&app.database_url, args).await;
    assert!(ok, "scimd {args:?}: {err}");
    out
}

async fn the_cli_exports_and_as_of_view_agree_with_the_admin_api(app: TestApp) {
    let story = story(&app).await;
    let api = history(&app, "user=ada", 1000).await;

    let table = cli(&app, &["history", "--instance", "default", "--user", "ada"]).await;
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), api.len(), "{table}");
    let joined = rows[2];
    for shown in [
        "Finance",
        "GroupMemberAdded",
        INTEGRATION_USER,
        &format!("member: ada (User {})", story.ada),
    ] {
        assert!(joined.contains(shown), "{shown:?} in {joined}");
    }
    assert!(!joined.contains("\"kind\""), "no raw member JSON: {joined}");
    assert!(rows[3].contains("Finance EU") && rows[3].contains("GroupMemberRemoved"));
    let by_id = cli(
        &app,
        &["history", "--instance", "default", "--id", &story.ada],
    )
    .await;
    assert_eq!(by_id, table);

    let jsonl = cli(
        &app,
        &[
            "history",
            "--instance",
            "default",
            "--user",
            "ada",
            "--format",
            "jsonl",
        ],
    )
    .await;
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines, api);

    let csv = cli(
        &app,
        &[
            "history",
            "--instance",
            "default",
            "--user",
            "ada",
            "--format",
            "csv",
        ],
    )
    .await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let column = |name: &str| header.iter().position(|cell| cell == name);
    let (kind, id, name) = (
        column("member_type"),
        column("member_id"),
        column("member_name"),
    );
    let records: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
    assert_eq!(records.len(), api.len(), "{csv}");
    for (record, entry) in records.iter().zip(&api) {
        let cell = |index: Option<usize>| index.and_then(|index| record.get(index));
        let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
        assert_eq!(
            cell(kind),
            Some(text(&entry["memberType"]).as_str()),
            "{csv}"
        );
        assert_eq!(cell(id), Some(text(&entry["memberId"]).as_str()), "{csv}");
        assert_eq!(
            cell(name),
            Some(text(&entry["memberName"]).as_str()),
            "{csv}"
        );
    }

    // As of each membership change, the user's groups and the group's members say the same.
    let groups_at = |at: &str| {
        let path = format!("/instances/default/users/{}?at={}", story.ada, encode(at));
        let app = &app;
        async move {
            let (status, user) = call(app, Method::GET, &path, None).await;
            assert_eq!(status, 200, "{user}");
            user["groups"].as_array().cloned().unwrap_or_default()
        }
    };
    let members_at = |at: &str| {
        let path = format!(
            "/instances/default/groups/{}?at={}",
            story.finance,
            encode(at)
        );
        let app = &app;
        async move {
            let (status, group) = call(app, Method::GET, &path, None).await;
            assert_eq!(status, 200, "{group}");
            let members = group["members"].as_array().cloned().unwrap_or_default();
            members
                .iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
        }
    };
    let (joined, left) = (&api[2], &api[3]);
    let joined_at = joined["occurredAt"].as_str().unwrap_or_default();
    let groups = groups_at(joined_at).await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["value"], story.finance);
    assert_eq!(groups[0]["display"], joined["entityName"]);
    assert!(members_at(joined_at).await.contains(&story.ada));
    let left_at = left["occurredAt"].as_str().unwrap_or_default();
    assert_eq!(groups_at(left_at).await, Vec::<Value>::new());
    assert!(!members_at(left_at).await.contains(&story.ada));

    // Rebuilt from the event log, the history is the same, member names included.
    let verified = cli(&app, &["verify"]).await;
    assert!(
        verified
            .lines()
            .any(|line| line.starts_with("history") && line.contains("identical")),
        "{verified}"
    );
    assert!(!verified.contains("DIFFERENT"), "{verified}");
}
