//! The admin HTTP API: instances, keys, instance settings and the directory over HTTP, behind
//! the admin token.

use crate::common::admin_api::{admin, call, with_admin_api, ADMIN_TOKEN};
use crate::common::{user, TestApp};
use crate::{on_both_stores, on_both_stores_with};
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores_with!(with_admin_api;
    only_the_admin_token_opens_the_admin_api,
    instances_and_keys_are_managed_over_http,
    roles_fields_and_mappings_are_managed_over_http,
    the_directory_and_re_application_are_served_over_http,
    the_history_is_served_page_by_page,
    the_chain_audit_is_served_over_http,
);
on_both_stores!(without_a_token_the_admin_api_does_not_exist);

async fn only_the_admin_token_opens_the_admin_api(app: TestApp) {
    let path = "/instances/default/roles";
    let (status, body) = admin(&app, Method::GET, path, None, None).await;
    assert_eq!(status, 401);
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("admin token")));
    // A live SCIM key is a credential, but not for this API.
    let (status, body) = admin(&app, Method::GET, path, Some(&app.token), None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("SCIM")));
    assert_eq!(
        challenge_of(&app, &app.token).await,
        (
            403,
            Some("Bearer realm=\"scimd-admin\", error=\"insufficient_scope\"".into())
        )
    );
    // Anything else is no credential at all: a revoked key, a key with a wrong secret, an
    // admin token one character off, garbage.
    let revoked = app.key_for("default", "retired").await;
    let revoked_id = revoked.split('_').nth(1).unwrap_or_default().to_string();
    scimd::admin::revoke_key(&app.store, &revoked_id, &crate::common::operator())
        .await
        .expect("the key is revoked");
    let wrong_secret = format!("{}x", app.token);
    let near_miss = format!("{}x", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]);
    let invalid = Some("Bearer realm=\"scimd-admin\", error=\"invalid_token\"".to_string());
    for token in [revoked.as_str(), &wrong_secret, &near_miss, "garbage"] {
        assert_eq!(
            challenge_of(&app, token).await,
            (401, invalid.clone()),
            "{token}"
        );
    }
    let missing = app
        .client
        .get(format!("http://{}/admin/v1{path}", app.address))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(
        missing
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer realm=\"scimd-admin\"")
    );
    let (status, body) = call(&app, Method::GET, path, None).await;
    assert_eq!(
        (status, body),
        (200, json!({"allowed": ["User"], "default": ["User"]}))
    );
    // And the admin token opens no SCIM endpoint.
    let scim = app
        .send(Method::GET, "/Users", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(scim.status, 401);
    let (status, body) = call(&app, Method::GET, "/instances/nope/roles", None).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("nope")));
}

/// The status and `WWW-Authenticate` of an admin request with `token`.
async fn challenge_of(app: &TestApp, token: &str) -> (u16, Option<String>) {
    let reply = app
        .client
        .get(format!(
            "http://{}/admin/v1/instances/default/roles",
            app.address
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("scimd answers");
    let challenge = reply
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (reply.status().as_u16(), challenge)
}

async fn roles_fields_and_mappings_are_managed_over_http(app: TestApp) {
    let base = "/instances/default";
    let (status, roles) = call(
        &app,
        Method::PUT,
        &format!("{base}/roles/allowed"),
        Some(json!({"roles": ["User", "Viewer"]})),
    )
    .await;
    assert_eq!(
        (status, roles["allowed"].clone()),
        (200, json!(["User", "Viewer"]))
    );
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/roles/default"),
        Some(json!({"roles": ["Administrator"]})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("User, Viewer")));
    // The roles take effect on SCIM at once.
    let mut viewer = user("val");
    viewer["roles"] = json!([{"value": "Viewer"}]);
    assert_eq!(app.post("/Users", viewer).await.status, 201);

    let (status, _) = call(
        &app,
        Method::POST,
        &format!("{base}/fields"),
        Some(json!({"name": "Country"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, mapped) = call(
        &app,
        Method::PUT,
        &format!("{base}/mappings/Country"),
        Some(json!({"attribute": "addresses[type eq \"work\"].country"})),
    )
    .await;
    assert_eq!(status, 200, "{mapped:?}");
    assert!(mapped["mapping"]
        .as_array()
        .is_some_and(|rows| rows.iter().any(|row| row["field"] == "Country")));
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{base}/mappings/Country"),
        Some(json!({"attribute": "name"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("complex")));
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("{base}/mappings/User%20Name"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("{base}/mappings/Country"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, reset) = call(&app, Method::POST, &format!("{base}/mappings/reset"), None).await;
    assert_eq!(status, 200);
    assert_eq!(reset["mapping"].as_array().map(Vec::len), Some(9));
    assert_eq!(reset["customFields"], json!(["Country"]));
}

async fn the_directory_and_re_application_are_served_over_http(app: TestApp) {
    let created = app
        .post(
            "/Users",
            json!({"userName": "wes", "title": "CFO", "nickName": "W"}),
        )
        .await;
    assert_eq!(created.status, 201);
    let base = "/instances/default";
    let (status, entry) = call(&app, Method::GET, &format!("{base}/directory/WES"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        entry,
        json!({
            "id": created.id(),
            "userName": "wes",
            "state": "active",
            "managedByScim": true,
            "fields": {"User Name": "wes", "Scim Sync Job Title": "CFO"},
            "manager": null
        })
    );
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("{base}/mappings/Display%20Name"),
        Some(json!({"attribute": "nickName"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, report) = call(&app, Method::POST, &format!("{base}/mappings/apply"), None).await;
    assert_eq!((status, report), (200, json!({"users": 1, "changed": 1})));
    let (_, entry) = call(&app, Method::GET, &format!("{base}/directory/wes"), None).await;
    assert_eq!(entry["fields"]["Display Name"], "W");
    let (status, _) = call(&app, Method::GET, &format!("{base}/directory/nobody"), None).await;
    assert_eq!(status, 404);
}

async fn without_a_token_the_admin_api_does_not_exist(app: TestApp) {
    let (status, _) = admin(
        &app,
        Method::GET,
        "/instances/default/roles",
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

async fn the_history_is_served_page_by_page(app: TestApp) {
    let id = app.create_user("hal").await;
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    let base = "/instances/default/history";
    let (status, all) = call(&app, Method::GET, &format!("{base}?user=HAL"), None).await;
    assert_eq!(status, 200, "{all:?}");
    let entries = all["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 4, "{all:?}");
    assert_eq!(all["nextCursor"], Value::Null);
    let (_, first) = call(&app, Method::GET, &format!("{base}?user=hal&count=3"), None).await;
    let cursor = first["nextCursor"].as_str().unwrap_or_default().to_string();
    let (_, rest) = call(
        &app,
        Method::GET,
        &format!("{base}?user=hal&count=3&cursor={cursor}"),
        None,
    )
    .await;
    let mut paged = first["entries"].as_array().cloned().unwrap_or_default();
    paged.extend(rest["entries"].as_array().cloned().unwrap_or_default());
    assert_eq!(paged, entries);
    // Latest first, paged the same way, is the same history backwards.
    let newest = format!("{base}?user=hal&count=3&order=newest");
    let (_, first) = call(&app, Method::GET, &newest, None).await;
    let cursor = first["nextCursor"].as_str().unwrap_or_default().to_string();
    let (_, rest) = call(
        &app,
        Method::GET,
        &format!("{newest}&cursor={cursor}"),
        None,
    )
    .await;
    let mut backwards = first["entries"].as_array().cloned().unwrap_or_default();
    backwards.extend(rest["entries"].as_array().cloned().unwrap_or_default());
    assert_eq!(rest["nextCursor"], Value::Null);
    assert_eq!(backwards, entries.iter().rev().cloned().collect::<Vec<_>>());
    let (status, _) = call(&app, Method::GET, &format!("{base}?order=sideways"), None).await;
    assert_eq!(status, 400);
    let (status, body) = call(&app, Method::GET, &format!("{base}?since=soon"), None).await;
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("RFC 3339")));
    let (status, _) = call(&app, Method::GET, &format!("{base}?cursor=nope"), None).await;
    assert_eq!(status, 400);
}

async fn the_chain_audit_is_served_over_http(app: TestApp) {
    let alice = app.create_user("alice@corp.example").await;
    let (status, intact) = call(&app, Method::GET, "/instances/default/audit", None).await;
    assert_eq!(status, 200, "{intact}");
    assert_eq!(intact["intact"], true, "{intact}");
    assert_eq!(intact["discrepancy"], Value::Null, "{intact}");

    let edit = crate::audit::edit_payload(app.store.db.dialect(), &alice, 1);
    let edited = app.store.db.execute(&edit).await.expect("the edit runs");
    assert_eq!(edited, 1);
    let (status, broken) = call(&app, Method::GET, "/instances/default/audit", None).await;
    assert_eq!(status, 200, "{broken}");
    assert_eq!(broken["intact"], false, "{broken}");
    assert_eq!(broken["discrepancy"]["kind"], "altered", "{broken}");
    assert_eq!(
        broken["discrepancy"]["event"]["aggregateId"],
        alice.as_str()
    );
    let (status, _) = call(&app, Method::GET, "/instances/nope/audit", None).await;
    assert_eq!(status, 404);
}

async fn instances_and_keys_are_managed_over_http(app: TestApp) {
    let (status, before) = call(&app, Method::GET, "/instances", None).await;
    assert_eq!(status, 200, "{before}");
    let existing = before[0]["name"].as_str().unwrap_or_default().to_string();
    assert!(!existing.is_empty(), "{before}");

    let globex = json!({"name": "globex"});
    let (status, created) = call(&app, Method::POST, "/instances", Some(globex.clone())).await;
    assert_eq!(
        (status, &created["name"]),
        (201, &json!("globex")),
        "{created}"
    );
    let (status, body) = call(&app, Method::POST, "/instances", Some(globex)).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = call(
        &app,
        Method::POST,
        "/instances",
        Some(json!({"name": "no spaces"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (_, after) = call(&app, Method::GET, "/instances", None).await;
    assert_eq!(
        after.as_array().map(Vec::len),
        before.as_array().map(|a| a.len() + 1)
    );

    // The new key is shown once, kept by no cache, and works at once.
    let response = app
        .client
        .post(format!(
            "http://{}/admin/v1/instances/globex/keys",
            app.address
        ))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"integrationUser": "okta"}))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(response.status().as_u16(), 201);
    let cache_control = response.headers().get("cache-control").cloned();
    assert_eq!(
        cache_control
            .and_then(|v| v.to_str().ok().map(str::to_string))
            .as_deref(),
        Some("no-store")
    );
    let issued: Value = response.json().await.expect("JSON");
    let key = issued["key"].as_str().unwrap_or_default().to_string();
    let key_id = issued["keyId"].as_str().unwrap_or_default().to_string();
    assert_eq!(issued["integrationUser"], "okta");
    let scim = |token: String| {
        let app = &app;
        async move {
            app.send(Method::GET, "/Users", Some(&token), None)
                .await
                .status
        }
    };
    assert_eq!(scim(key.clone()).await, 200);

    let (status, listed) = call(&app, Method::GET, "/instances/globex/keys", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["keyId"], key_id.as_str(), "{listed}");
    assert_eq!(listed[0]["revokedAt"], Value::Null);
    // After `scimd_` and the hex key id; the secret's own alphabet has `_`.
    let secret = key
        .strip_prefix(&format!("scimd_{key_id}_"))
        .unwrap_or(&key);
    assert!(
        !listed.to_string().contains(secret),
        "a listing never shows a secret"
    );

    let (status, body) = call(
        &app,
        Method::POST,
        "/instances/nowhere/keys",
        Some(json!({"integrationUser": "okta"})),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    // A key is revoked through its own instance only.
    let elsewhere = format!("/instances/{existing}/keys/{key_id}");
    let (status, body) = call(&app, Method::DELETE, &elsewhere, None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(scim(key.clone()).await, 200);

    let own = format!("/instances/globex/keys/{key_id}");
    let (status, body) = call(&app, Method::DELETE, &own, None).await;
    assert_eq!((status, body), (200, json!({"revoked": key_id})));
    assert_eq!(scim(key.clone()).await, 401);
    let (status, body) = call(&app, Method::DELETE, &own, None).await;
    assert_eq!(status, 409, "{body}");
    let (_, listed) = call(&app, Method::GET, "/instances/globex/keys", None).await;
    assert!(listed[0]["revokedAt"].is_string(), "{listed}");
}
