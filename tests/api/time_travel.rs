//! Time travel: a user or group read as of a past moment, from the admin API and from
//! `scimd show`, must be exactly the document GET served at that moment, meta and groups or
//! members included; before creation and after deletion there is nothing to show.

use crate::common::admin_api::{call, with_admin_api};
use crate::common::cli::run_cli;
use crate::common::{encode, user, TestApp};
use crate::on_both_stores_with;
use aggregates::user::UserCommand;
use aggregates::values::InstanceId;
use chrono::{SecondsFormat, Utc};
use projections::metadata::EventMetadata;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

on_both_stores_with!(with_admin_api;
    a_user_reads_as_get_served_it_at_each_moment,
    a_group_reads_with_its_members_as_of_each_moment,
    a_name_borne_by_two_users_means_the_one_bearing_it_then,
    a_change_logged_after_a_later_stamped_one_is_not_shown_before_it,
);

/// The present moment, with distinct moments on either side: whatever happens before this
/// call happened before it, whatever happens after it happens after it.
async fn moment() -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    tokio::time::sleep(Duration::from_millis(5)).await;
    now
}

/// The admin API's answer for `kind` ("users" or "groups") `id` at `at`.
async fn as_of(app: &TestApp, kind: &str, id: &str, at: &str) -> (u16, Value) {
    let path = format!("/instances/default/{kind}/{id}?at={}", encode(at));
    call(app, Method::GET, &path, None).await
}

/// `scimd show ARGS` on the app's store, with the app's address as the public URL: the
/// printed document, or the error it printed.
async fn show(app: &TestApp, args: &[&str]) -> Result<Value, String> {
    let public_url = format!("http://{}", app.address);
    let mut all = vec!["show", "--instance", "default", "--public-url", &public_url];
    all.extend_from_slice(args);
    let (ok, out, err) = run_cli(&app.database_url, &all).await;
    if ok {
        serde_json::from_str(&out).map_err(|error| format!("{error}: {out}"))
    } else {
        Err(err)
    }
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

async fn a_user_reads_as_get_served_it_at_each_moment(app: TestApp) {
    let before_creation = moment().await;
    let created = app
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "tt.ann@corp",
                "displayName": "Ann",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": "ann@corp", "type": "work", "primary": true}],
                "active": true,
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.id();
    let path = format!("/Users/{id}");
    let at_creation = app.get(&path).await.body;
    let t1 = moment().await;

    let replaced = app
        .put(
            &path,
            json!({
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                ],
                "userName": "tt.ann.lee@corp",
                "externalId": "okta-17",
                "displayName": "Ann Lee",
                "title": "Engineer",
                "active": true,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "department": "R&D"
                },
            }),
        )
        .await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    let sales = app.create_group("Sales", &[&id]).await;
    let in_sales = app.get(&path).await.body;
    let t2 = moment().await;

    let renamed = app
        .patch(
            &format!("/Groups/{sales}"),
            json!([{"op": "replace", "path": "displayName", "value": "Sales EU"}]),
        )
        .await;
    assert_eq!(renamed.status, 204, "{:?}", renamed.body);
    let suspended = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(suspended.status, 200, "{:?}", suspended.body);
    let suspended = app.get(&path).await.body;
    assert_eq!(suspended["groups"][0]["display"], "Sales EU");
    let t3 = moment().await;
    // Without a time: now, which is also what GET serves now.
    let (status, now) = call(
        &app,
        Method::GET,
        &format!("/instances/default/users/{id}"),
        None,
    )
    .await;
    assert_eq!((status, &now), (200, &suspended));

    assert_eq!(app.delete(&path).await.status, 204);
    let after_deletion = moment().await;

    for (at, served) in [(&t1, &at_creation), (&t2, &in_sales), (&t3, &suspended)] {
        let (status, body) = as_of(&app, "users", &id, at).await;
        // As text: the same attributes in the same order, not merely equal JSON.
        assert_eq!(
            (status, body.to_string()),
            (200, served.to_string()),
            "at {at}"
        );
    }
    let (status, body) = as_of(&app, "users", &id, &before_creation).await;
    assert_eq!(status, 404, "{body}");
    assert!(error_of(&body).contains("did not exist yet"), "{body}");
    let (status, body) = as_of(&app, "users", &id, &after_deletion).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        error_of(&body).contains("was deleted") && error_of(&body).contains(&after_deletion),
        "{body}"
    );
    let (status, body) = as_of(&app, "users", &id, "last tuesday").await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("RFC 3339"), "{body}");
    let (status, _) = as_of(&app, "groups", &id, &t1).await;
    assert_eq!(status, 404, "a user is not a group");

    // The CLI finds the user by the userName it had then, or by id, and prints the same.
    assert_eq!(
        show(&app, &["--user", "tt.ann@corp", "--at", &t1]).await,
        Ok(at_creation)
    );
    assert_eq!(
        show(&app, &["--user", "TT.ANN.LEE@corp", "--at", &t2]).await,
        Ok(in_sales)
    );
    assert_eq!(show(&app, &["--id", &id, "--at", &t3]).await, Ok(suspended));
    let deleted = show(&app, &["--user", "tt.ann.lee@corp"]).await;
    assert!(
        deleted
            .as_ref()
            .is_err_and(|err| err.contains("was deleted")),
        "{deleted:?}"
    );
    let invalid = show(&app, &["--id", &id, "--at", "2026-13-01"]).await;
    assert!(
        invalid.as_ref().is_err_and(|err| err.contains("RFC 3339")),
        "{invalid:?}"
    );
}

async fn a_group_reads_with_its_members_as_of_each_moment(app: TestApp) {
    let ann = app.create_user("tt.ann").await;
    let bob = app.create_user("tt.bob").await;
    let before_creation = moment().await;
    let eng = app.create_group("Eng", &[&ann]).await;
    let path = format!("/Groups/{eng}");
    let with_ann = app.get(&path).await.body;
    let t1 = moment().await;

    let changed = app
        .patch(
            &path,
            json!([
                {"op": "add", "path": "members", "value": [{"value": bob}]},
                {"op": "replace", "path": "displayName", "value": "Engineering"},
                {"op": "replace", "path": "externalId", "value": "okta-eng"},
            ]),
        )
        .await;
    assert_eq!(changed.status, 204, "{:?}", changed.body);
    let both = app.get(&path).await.body;
    let t2 = moment().await;

    assert_eq!(app.delete(&format!("/Users/{ann}")).await.status, 204);
    let without_ann = app.get(&path).await.body;
    assert_eq!(without_ann["members"].as_array().map(Vec::len), Some(1));
    let t3 = moment().await;
    assert_eq!(app.delete(&path).await.status, 204);
    let after_deletion = moment().await;

    for (at, served) in [(&t1, &with_ann), (&t2, &both), (&t3, &without_ann)] {
        let (status, body) = as_of(&app, "groups", &eng, at).await;
        // As text: the same attributes in the same order, not merely equal JSON.
        assert_eq!(
            (status, body.to_string()),
            (200, served.to_string()),
            "at {at}"
        );
    }
    for at in [&before_creation, &after_deletion] {
        let (status, body) = as_of(&app, "groups", &eng, at).await;
        assert_eq!(status, 404, "at {at}: {body}");
    }
    // By the name it bore then, although it was renamed and deleted since.
    assert_eq!(
        show(&app, &["--group", "eng", "--at", &t1]).await,
        Ok(with_ann)
    );
    assert_eq!(show(&app, &["--id", &eng, "--at", &t2]).await, Ok(both));
    let missing = show(&app, &["--group", "Nobody"]).await;
    assert!(
        missing
            .as_ref()
            .is_err_and(|err| err.contains("no group named")),
        "{missing:?}"
    );
}

async fn a_name_borne_by_two_users_means_the_one_bearing_it_then(app: TestApp) {
    let before = moment().await;
    let first = app.create_user("tt.sam").await;
    let t1 = moment().await;
    assert_eq!(app.delete(&format!("/Users/{first}")).await.status, 204);
    let between = moment().await;
    let second = app.post("/Users", user("TT.Sam")).await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    let second = second.id();
    let t2 = moment().await;

    let shown_id = |shown: Result<Value, String>| shown.map(|user| user["id"].clone());
    assert_eq!(
        shown_id(show(&app, &["--user", "tt.sam", "--at", &t1]).await),
        Ok(json!(first))
    );
    assert_eq!(
        shown_id(show(&app, &["--user", "tt.sam", "--at", &t2]).await),
        Ok(json!(second))
    );
    assert_eq!(
        shown_id(show(&app, &["--user", "tt.sam"]).await),
        Ok(json!(second))
    );
    for at in [&before, &between] {
        let ambiguous = show(&app, &["--user", "tt.sam", "--at", at]).await;
        assert!(
            ambiguous
                .as_ref()
                .is_err_and(|err| err.contains(&first) && err.contains(&second)),
            "at {at}: {ambiguous:?}"
        );
    }
}

/// A command's events carry the time it was stamped, before it ran: one that was retried is
/// logged after changes stamped later. At its stamp the log held neither, and that is what
/// the as-of view must show, never the late change without the one logged before it.
async fn a_change_logged_after_a_later_stamped_one_is_not_shown_before_it(app: TestApp) {
    let id = app.create_user("tt.late").await;
    let path = format!("/Users/{id}");
    let at_creation = app.get(&path).await.body;
    let stamped = moment().await;
    let titled = app
        .patch(
            &path,
            json!([{"op": "add", "path": "title", "value": "Lead"}]),
        )
        .await;
    assert_eq!(titled.status, 200, "{:?}", titled.body);
    // A deletion stamped before the PATCH ran, logged after it.
    let instance = scimd::admin::instance(&app.store, scimd::admin::DEFAULT_INSTANCE)
        .await
        .expect("the default instance");
    let late = EventMetadata {
        instance_id: instance.id.clone(),
        actor: "okta".into(),
        key_id: None,
        correlation_id: "retried".into(),
        user_agent: None,
        source: "scim".into(),
        occurred_at: stamped.clone(),
    };
    let delete = UserCommand::Delete {
        instance_id: InstanceId::new(instance.id),
        expected_version: None,
        cause: format!("DELETE {path}"),
    };
    app.store
        .commands
        .execute_user(&id, delete, &late)
        .await
        .expect("the deletion is logged");
    let after_all = moment().await;

    let (status, body) = as_of(&app, "users", &id, &stamped).await;
    assert_eq!(
        (status, body.to_string()),
        (200, at_creation.to_string()),
        "the log before the PATCH, not the deletion without the PATCH"
    );
    let (status, body) = as_of(&app, "users", &id, &after_all).await;
    assert_eq!(status, 404, "{body}");
    assert!(error_of(&body).contains("was deleted"), "{body}");
}
