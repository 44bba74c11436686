//! The provisioning log as a support engineer triages with it: each listed entry carries its
//! SCIM error; a request by id names the user as it was named then; the log narrows to one
//! key; a correlation id is found in any case; a time range whose From is after its Until is
//! refused, by the admin API and the CLI (the change history's too).

use crate::common::admin_api::{call as admin_call, with_admin_api};
use crate::common::cli::run_cli;
use crate::common::{user, TestApp};
use crate::on_both_stores_with;
use crate::provisioning_log::log_of;
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores_with!(with_admin_api;
    every_listed_failure_carries_its_scim_error,
    a_request_by_id_names_the_user_as_it_was_named_then,
    the_log_narrows_to_one_key_in_the_api_and_the_cli,
    a_correlation_id_is_found_in_any_case,
    a_from_after_until_is_refused_with_a_clear_error,
);

fn key_id(token: &str) -> String {
    token.split('_').nth(1).unwrap_or_default().to_string()
}

async fn every_listed_failure_carries_its_scim_error(app: TestApp) {
    assert_eq!(app.post("/Users", user("ann@corp")).await.status, 201);
    assert_eq!(app.post("/Users", user("ANN@corp")).await.status, 409);
    assert_eq!(app.get("/Users/no-such-id").await.status, 404);
    for query in ["", "order=newest", "failed=true"] {
        let entries = log_of(&app, "default", query).await;
        let failures: Vec<&Value> = entries.iter().filter(|e| e["failed"] == true).collect();
        assert_eq!(failures.len(), 2, "{query}: {entries:#?}");
        for failure in failures {
            assert!(failure["status"]
                .as_i64()
                .is_some_and(|status| status >= 400));
            assert!(
                failure["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{failure}"
            );
        }
        let conflict = entries
            .iter()
            .find(|e| e["status"] == 409)
            .expect("the conflict");
        assert_eq!(conflict["scimType"], "uniqueness", "{query}");
        assert_eq!(conflict["detail"], "userName is already in use", "{query}");
    }
}

async fn a_request_by_id_names_the_user_as_it_was_named_then(app: TestApp) {
    let id = app.create_user("ada@corp").await;
    let by_id = format!("/scim/v2/Users/{id}");
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
    let title = json!([{"op": "replace", "path": "title", "value": "Engineer"}]);
    assert_eq!(app.patch(&format!("/Users/{id}"), title).await.status, 200);
    let rename = json!([{"op": "replace", "path": "userName", "value": "grace@corp"}]);
    assert_eq!(app.patch(&format!("/Users/{id}"), rename).await.status, 200);
    let active = json!([{"op": "replace", "path": "active", "value": false}]);
    assert_eq!(app.patch(&format!("/Users/{id}"), active).await.status, 200);
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 204);
    let malformed = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body("{\"userName\": \"lin@corp\",")
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(malformed.status().as_u16(), 400);

    let entries = log_of(&app, "default", "").await;
    let names: Vec<(&str, &Value)> = entries
        .iter()
        .filter(|entry| entry["path"] == by_id.as_str())
        .map(|e| (e["method"].as_str().unwrap_or("?"), &e["userName"]))
        .collect();
    assert_eq!(
        names,
        [
            ("GET", &json!("ada@corp")),
            ("PATCH", &json!("ada@corp")),
            ("PATCH", &json!("grace@corp")),
            ("PATCH", &json!("grace@corp")),
            ("DELETE", &json!("grace@corp")),
        ],
        "each request by id names the user as it was named when the request came: {entries:#?}"
    );
    // A body scimd could not read names nobody, and says why.
    let unreadable = entries
        .iter()
        .find(|e| e["status"] == 400)
        .expect("the malformed create");
    assert_eq!(unreadable["userName"], Value::Null);
    assert!(
        unreadable["body"]
            .as_str()
            .is_some_and(|note| note.contains("not valid JSON")),
        "{unreadable}"
    );

    // The CLI shows the same, and says when it could not read a body.
    let (ok, out, err) = run_cli(
        &app.database_url,
        &["provisioning-log", "--instance", "default"],
    )
    .await;
    assert!(ok, "{err}");
    let delete = out
        .lines()
        .find(|line| line.contains("DELETE"))
        .unwrap_or_default();
    assert!(delete.contains("grace@corp"), "{out}");
    let refused = out
        .lines()
        .find(|line| line.contains(" 400 "))
        .unwrap_or_default();
    assert!(refused.contains("(body unreadable)"), "{out}");
}

async fn the_log_narrows_to_one_key_in_the_api_and_the_cli(app: TestApp) {
    let okta = app.key_for("default", "okta").await;
    let entra = app.key_for("default", "entra").await;
    for token in [&okta, &entra, &okta] {
        let reply = app.send(Method::GET, "/Users", Some(token), None).await;
        assert_eq!(reply.status, 200);
    }
    let okta_id = key_id(&okta);
    let entries = log_of(&app, "default", &format!("key={okta_id}")).await;
    assert_eq!(entries.len(), 2, "{entries:#?}");
    assert!(entries
        .iter()
        .all(|entry| entry["keyId"] == okta_id.as_str()));
    assert!(log_of(&app, "default", "key=no-such-key").await.is_empty());

    let args = [
        "provisioning-log",
        "--instance",
        "default",
        "--key",
        &okta_id,
        "--format",
        "jsonl",
    ];
    let (ok, out, err) = run_cli(&app.database_url, &args).await;
    assert!(ok, "{err}");
    let keys: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON")["keyId"].clone())
        .collect();
    assert_eq!(keys, [json!(okta_id), json!(okta_id)], "{out}");
}

async fn a_correlation_id_is_found_in_any_case(app: TestApp) {
    let conflict = app.post("/Users", user("bob@corp")).await;
    assert_eq!(conflict.status, 201);
    let refused = app.post("/Users", user("bob@corp")).await;
    let correlation_id = refused
        .header("x-request-id")
        .unwrap_or_default()
        .to_string();
    let shouted = correlation_id.to_uppercase();
    assert_ne!(
        shouted, correlation_id,
        "the id has letters to change the case of"
    );
    let entries = log_of(&app, "default", &format!("correlationId=%20{shouted}%20")).await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["correlationId"], correlation_id.as_str());

    let args = [
        "provisioning-log",
        "--instance",
        "default",
        "--correlation-id",
        &shouted,
        "--format",
        "jsonl",
    ];
    let (ok, out, err) = run_cli(&app.database_url, &args).await;
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(&correlation_id), "{out}");
}

async fn a_from_after_until_is_refused_with_a_clear_error(app: TestApp) {
    assert_eq!(app.post("/Users", user("cy@corp")).await.status, 201);
    let inverted = "since=2026-06-02T00:00:00Z&until=2026-06-01T00:00:00Z";
    for listing in ["provisioning-log", "history"] {
        let path = format!("/instances/default/{listing}?{inverted}");
        let (status, body) = admin_call(&app, Method::GET, &path, None).await;
        assert_eq!(status, 400, "{listing}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("2026-06-02T00:00:00Z is after until 2026-06-01T00:00:00Z"),
            "{error}"
        );
        // The same moment as both ends is a range (of one instant), not an error.
        let same = format!(
            "/instances/default/{listing}?since=2026-06-01T00:00:00Z&until=2026-06-01T00:00:00Z"
        );
        assert_eq!(admin_call(&app, Method::GET, &same, None).await.0, 200);
    }
    for command in ["provisioning-log", "history"] {
        let args = [
            command,
            "--instance",
            "default",
            "--since",
            "2026-06-02T00:00:00Z",
            "--until",
            "2026-06-01T00:00:00+00:00",
        ];
        let (ok, _, err) = run_cli(&app.database_url, &args).await;
        assert!(!ok, "{command} refuses it");
        assert!(err.contains("is after until"), "{command}: {err}");
    }
}
