//! A group deleted with members still in it: its deletion event names none of them, yet each
//! member left the group then. Each member's history says so (the group's name then, who
//! deleted it, through which key and request), in the admin API, the CLI and its exports; the
//! as-of view agrees, and a rebuild from the event log gives the same history.

use crate::common::admin_api::{call, with_admin_api};
use crate::common::{encode, user, TestApp};
use crate::membership_history::{actions, cli, history, member_patch, send, INTEGRATION_USER};
use crate::on_both_stores_with;
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores_with!(with_admin_api;
    each_member_of_a_deleted_group_left_it_by_the_deletion,
);

fn group(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members,
    })
}

async fn each_member_of_a_deleted_group_left_it_by_the_deletion(app: TestApp) {
    // ada joins Payroll (bob and the Auditors group are in it from its creation), carol joins
    // and leaves, Payroll becomes "Payroll EU" and ada "ada.lovelace"; then Payroll is deleted.
    let key = app.key_for("default", INTEGRATION_USER).await;
    let mut ids = Vec::new();
    for name in ["ada", "bob", "carol"] {
        ids.push(
            send(&app, &key, Method::POST, "/Users", user(name))
                .await
                .id(),
        );
    }
    let (ada, bob, carol) = (&ids[0], &ids[1], &ids[2]);
    let auditors = send(&app, &key, Method::POST, "/Groups", group("Auditors", &[]))
        .await
        .id();
    let payroll = group("Payroll", &[bob, &auditors]);
    let payroll = send(&app, &key, Method::POST, "/Groups", payroll)
        .await
        .id();
    let path = format!("/Groups/{payroll}");
    for (op, id) in [("add", ada), ("add", carol), ("remove", carol)] {
        send(&app, &key, Method::PATCH, &path, member_patch(op, id)).await;
    }
    let rename = |attribute: &str, value: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": attribute, "value": value}],
        })
    };
    let group_rename = rename("displayName", "Payroll EU");
    send(&app, &key, Method::PATCH, &path, group_rename).await;
    let user_rename = rename("userName", "ada.lovelace");
    send(
        &app,
        &key,
        Method::PATCH,
        &format!("/Users/{ada}"),
        user_rename,
    )
    .await;
    let deleted = app.send(Method::DELETE, &path, Some(&key), None).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);

    let api = history(&app, &format!("id={ada}"), 1000).await;
    assert_eq!(
        actions(&api),
        [
            "UserCreated",
            "UserMapped",
            "GroupMemberAdded",
            "UserUpdated",
            "UserMapped",
            "GroupDeleted"
        ],
        "{api:#?}"
    );
    let left = &api[5];
    assert_eq!(left["entityType"], "Group");
    assert_eq!(left["entityId"], payroll);
    assert_eq!(left["entityName"], "Payroll EU", "the group's name then");
    assert_eq!(left["memberType"], "User");
    assert_eq!(left["memberId"], ada.as_str());
    assert_eq!(left["memberName"], "ada.lovelace", "the member's name then");
    assert_eq!(left["actor"], INTEGRATION_USER);
    assert_eq!(left["source"], "scim");
    assert!(
        left["keyId"]
            .as_str()
            .is_some_and(|id| !id.is_empty() && key.contains(id)),
        "{left} by key {key}"
    );
    assert_eq!(
        left["correlationId"].as_str(),
        deleted.header("x-request-id")
    );
    // The member's entry is the deletion's own, seen from the member.
    let group_history = history(&app, &format!("id={payroll}"), 1000).await;
    let deletion = group_history.last().cloned().unwrap_or_default();
    assert_eq!(deletion["action"], "GroupDeleted");
    assert!(deletion["memberId"].is_null(), "{deletion}");
    for field in [
        "position",
        "occurredAt",
        "correlationId",
        "keyId",
        "entityName",
    ] {
        assert_eq!(left[field], deletion[field], "{field}");
    }
    assert_eq!(
        history(&app, "action=GroupDeleted", 1000).await,
        std::slice::from_ref(&deletion),
        "one deletion in the instance's history, not one per member"
    );

    // Found by its old name and its new, a page at a time either way, with other filters.
    assert_eq!(history(&app, "user=ADA.lovelace", 1).await, api[3..]);
    assert_eq!(history(&app, "user=ada", 1000).await, api[..3]);
    let mut newest = history(&app, &format!("id={ada}&order=newest"), 1).await;
    newest.reverse();
    assert_eq!(newest, api);
    let deletions = history(&app, &format!("id={ada}&action=GroupDeleted"), 1000).await;
    assert_eq!(deletions, std::slice::from_ref(left));

    // Every member it still had left it, a group too; carol, who had left before, did not.
    for (id, kind, name) in [(bob, "User", "bob"), (&auditors, "Group", "Auditors")] {
        let theirs = history(&app, &format!("id={id}"), 1000).await;
        let last = theirs.last().cloned().unwrap_or_default();
        assert_eq!(last["action"], "GroupDeleted", "{theirs:#?}");
        assert_eq!(last["memberType"], kind);
        assert_eq!(last["memberName"], name);
        assert_eq!(last["position"], deletion["position"]);
    }
    let carols = history(&app, &format!("id={carol}"), 1000).await;
    assert!(!actions(&carols).contains(&"GroupDeleted"), "{carols:#?}");

    // A group named like its member: its deletion comes once in that member's history.
    let namesake = send(&app, &key, Method::POST, "/Groups", group("Bob", &[bob]))
        .await
        .id();
    let gone = app
        .send(
            Method::DELETE,
            &format!("/Groups/{namesake}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(gone.status, 204);
    let bobs = history(&app, "user=bob", 1000).await;
    let deleted_bob: Vec<&Value> = bobs
        .iter()
        .filter(|e| e["action"] == "GroupDeleted" && e["entityId"] == namesake.as_str())
        .collect();
    assert_eq!(deleted_bob.len(), 1, "{bobs:#?}");
    assert_eq!(history(&app, "user=bob", 1).await, bobs);

    // The CLI's table, JSON lines and CSV tell the same.
    let table = cli(&app, &["history", "--instance", "default", "--id", ada]).await;
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), api.len(), "{table}");
    for shown in [
        "GroupDeleted",
        "Payroll EU",
        INTEGRATION_USER,
        &format!("member: ada.lovelace (User {ada})"),
    ] {
        assert!(rows[5].contains(shown), "{shown:?} in {}", rows[5]);
    }
    let export = |format: &'static str| {
        let app = &app;
        async move {
            let args = [
                "history",
                "--instance",
                "default",
                "--id",
                ada,
                "--format",
                format,
            ];
            cli(app, &args).await
        }
    };
    let jsonl: Vec<Value> = export("jsonl")
        .await
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(jsonl, api);
    let csv = export("csv").await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let records: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
    assert_eq!(records.len(), api.len(), "{csv}");
    let cell = |name: &str| {
        let index = header.iter().position(|cell| cell == name);
        index
            .and_then(|index| records[5].get(index))
            .unwrap_or_default()
    };
    assert_eq!(cell("action"), "GroupDeleted", "{csv}");
    assert_eq!(cell("member_type"), "User", "{csv}");
    assert_eq!(cell("member_id"), ada.as_str(), "{csv}");
    assert_eq!(cell("member_name"), "ada.lovelace", "{csv}");

    // As of the deletion ada is in no group; just before it, in Payroll EU.
    let groups_at = |at: String| {
        let path = format!("/instances/default/users/{ada}?at={}", encode(&at));
        let app = &app;
        async move {
            let (status, user) = call(app, Method::GET, &path, None).await;
            assert_eq!(status, 200, "{user}");
            user["groups"].as_array().cloned().unwrap_or_default()
        }
    };
    let renamed_at = api[3]["occurredAt"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let before = groups_at(renamed_at).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["display"], "Payroll EU");
    let left_at = left["occurredAt"].as_str().unwrap_or_default().to_string();
    assert_eq!(groups_at(left_at).await, Vec::<Value>::new());

    // Rebuilt from the event log, the history is the same, the deletions' entries included.
    let verified = cli(&app, &["verify"]).await;
    assert!(
        verified
            .lines()
            .any(|line| line.starts_with("history") && line.contains("identical")),
        "{verified}"
    );
    assert!(!verified.contains("DIFFERENT"), "{verified}");
}
