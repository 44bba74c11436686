//! Keys and isolation: a key alone decides the instance, revocation bites on the next request,
//! and nothing of one instance is visible or changeable with another's key.

use crate::common::{encode, user, TestApp};
use crate::on_both_stores;
use reqwest::Method;
use serde_json::json;

on_both_stores!(
    requests_without_a_valid_key_are_unauthorized,
    a_revoked_key_stops_working_at_once,
    changes_are_recorded_as_made_by_the_keys_integration_user,
    another_instance_cannot_see_or_change_anything,
);

async fn requests_without_a_valid_key_are_unauthorized(app: TestApp) {
    let forged = format!("{}x", app.token);
    for token in [None, Some("not-a-key"), Some(forged.as_str())] {
        let reply = app.send(Method::GET, "/Users", token, None).await;
        assert_eq!(reply.status, 401, "{token:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"scimd\"")
        );
        assert_eq!(reply.body["status"], "401");
    }
    let basic = app
        .client
        .get(format!("{}/Users", app.base))
        .header("authorization", format!("Basic {}", app.token))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(basic.status().as_u16(), 401);
}

async fn a_revoked_key_stops_working_at_once(app: TestApp) {
    let token = app.key_for("default", "okta").await;
    assert_eq!(
        app.send(Method::GET, "/Users", Some(&token), None)
            .await
            .status,
        200
    );
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    scimd::admin::revoke_key(&app.store, &key_id)
        .await
        .expect("the key is revoked");
    assert_eq!(
        app.send(Method::GET, "/Users", Some(&token), None)
            .await
            .status,
        401
    );
    // Other keys of the instance still work.
    assert_eq!(app.get("/Users").await.status, 200);
}

async fn changes_are_recorded_as_made_by_the_keys_integration_user(app: TestApp) {
    let token = app.key_for("default", "okta-provisioning").await;
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    let reply = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("user-agent", "Okta SCIM Client 1.0.0")
        .body(user("tess").to_string())
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(reply.status().as_u16(), 201);
    let correlation = reply
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    #[derive(sqlx::FromRow)]
    struct Metadata {
        metadata: String,
    }
    let sql = match app.store.db.dialect() {
        projections::db::Dialect::Sqlite => "SELECT metadata FROM events",
        projections::db::Dialect::Postgres => "SELECT metadata::text AS metadata FROM events",
    };
    let rows: Vec<Metadata> = app
        .store
        .db
        .fetch_all(&projections::db::Sql::new(sql))
        .await
        .expect("events are readable");
    // The user's creation and the mapping of its application fields.
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let metadata: serde_json::Value =
            serde_json::from_str(&row.metadata).expect("JSON metadata");
        assert_eq!(metadata["actor"], "okta-provisioning");
    }
    let metadata: serde_json::Value =
        serde_json::from_str(&rows[0].metadata).expect("JSON metadata");
    assert_eq!(metadata["key_id"], key_id.as_str());
    assert_eq!(metadata["correlation_id"], correlation.as_str());
    assert_eq!(metadata["user_agent"], "Okta SCIM Client 1.0.0");
    assert_eq!(metadata["source"], "scim");
    assert!(
        !rows[0].metadata.contains(&token),
        "the key itself is never recorded"
    );
}

async fn another_instance_cannot_see_or_change_anything(app: TestApp) {
    let user_id = app
        .post(
            "/Users",
            json!({"userName": "private@a.example", "externalId": "ext-a"}),
        )
        .await
        .id();
    let group_id = app.create_group("A-team", &[&user_id]).await;
    let intruder = app.key_for("instance-b", "mallory").await;
    let b = Some(intruder.as_str());
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "displayName", "value": "owned"}]});
    for (method, path, body) in [
        (Method::GET, format!("/Users/{user_id}"), None),
        (
            Method::PUT,
            format!("/Users/{user_id}"),
            Some(user("owned")),
        ),
        (
            Method::PATCH,
            format!("/Users/{user_id}"),
            Some(patch.clone()),
        ),
        (Method::DELETE, format!("/Users/{user_id}"), None),
        (Method::GET, format!("/Groups/{group_id}"), None),
        (
            Method::PUT,
            format!("/Groups/{group_id}"),
            Some(json!({"displayName": "owned"})),
        ),
        (
            Method::PATCH,
            format!("/Groups/{group_id}"),
            Some(patch.clone()),
        ),
        (Method::DELETE, format!("/Groups/{group_id}"), None),
    ] {
        let reply = app.send(method.clone(), &path, b, body.as_ref()).await;
        assert_eq!(reply.status, 404, "{method} {path}");
    }
    for path in [
        "/Users".to_string(),
        "/Groups".to_string(),
        format!(
            "/Users?filter={}",
            encode(r#"userName eq "private@a.example""#)
        ),
        format!("/Users?filter={}", encode(r#"externalId eq "ext-a""#)),
        format!("/Users?filter={}", encode(&format!(r#"id eq "{user_id}""#))),
        format!("/Groups?filter={}", encode(r#"displayName eq "A-team""#)),
    ] {
        let reply = app.send(Method::GET, &path, b, None).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.body["totalResults"], 0, "{path}");
    }
    // B's group cannot take A's user as a member either.
    let b_group = app
        .send(
            Method::POST,
            "/Groups",
            b,
            Some(&json!({"displayName": "B-team", "members": [{"value": user_id}]})),
        )
        .await;
    assert_eq!(b_group.status, 400);
    // And A's resources are untouched.
    let user_now = app.get(&format!("/Users/{user_id}")).await;
    assert_eq!(user_now.body["userName"], "private@a.example");
    let version = user_now.body["meta"]["version"]
        .as_str()
        .unwrap_or_default();
    assert!(
        version.starts_with("W/\"2."),
        "still version 2 (created, mapped), in A-team: {version}"
    );
    let group_now = app.get(&format!("/Groups/{group_id}")).await;
    assert_eq!(group_now.body["displayName"], "A-team");
}
