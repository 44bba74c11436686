//! Names that must be unique: a userName across every instance of the deployment, a group's
//! displayName within its instance; and races for either.

use crate::common::{user, TestApp};
use crate::on_both_stores;
use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

on_both_stores!(
    a_user_name_of_another_instance_is_a_conflict_that_names_no_instance,
    user_names_clash_without_regard_to_case,
    concurrent_creates_of_one_user_name_give_exactly_one_user,
    renaming_onto_a_taken_user_name_is_refused_and_renames_free_the_old_name,
    group_names_are_unique_per_instance,
    concurrent_creates_of_one_group_name_give_exactly_one_group,
    concurrent_member_changes_to_one_group_lose_nothing,
);

async fn a_user_name_of_another_instance_is_a_conflict_that_names_no_instance(app: TestApp) {
    let other = app.key_for("acme-secret-tenant", "okta").await;
    let first = app
        .send(
            Method::POST,
            "/Users",
            Some(&other),
            Some(&user("pat@corp.example")),
        )
        .await;
    assert_eq!(first.status, 201);
    let clash = app.post("/Users", user("pat@corp.example")).await;
    assert_eq!(clash.status, 409);
    assert_eq!(clash.body["scimType"], "uniqueness");
    let detail = clash.body["detail"].as_str().unwrap_or_default();
    assert!(!detail.contains("acme"), "{detail}");
    assert!(!detail.contains(&first.id()), "{detail}");
}

async fn user_names_clash_without_regard_to_case(app: TestApp) {
    app.create_user("Quinn@Corp.Example").await;
    let clash = app.post("/Users", user("quinn@corp.EXAMPLE")).await;
    assert_eq!(clash.status, 409);
}

async fn concurrent_creates_of_one_user_name_give_exactly_one_user(app: TestApp) {
    let attempts = (0..20).map(|n| {
        let body = user(if n % 2 == 0 {
            "race@corp.example"
        } else {
            "RACE@corp.example"
        });
        let app = &app;
        async move { app.post("/Users", body).await.status }
    });
    let mut statuses = join_all(attempts).await;
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|status| *status == 201 || *status == 409),
        "{statuses:?}"
    );
    let listed = app.get("/Users").await;
    assert_eq!(listed.body["totalResults"], 1);
}

async fn renaming_onto_a_taken_user_name_is_refused_and_renames_free_the_old_name(app: TestApp) {
    let rita = app.create_user("rita").await;
    app.create_user("sam").await;
    let clash = app.put(&format!("/Users/{rita}"), user("SAM")).await;
    assert_eq!(clash.status, 409);
    assert_eq!(clash.body["scimType"], "uniqueness");
    assert_eq!(
        app.get(&format!("/Users/{rita}")).await.body["userName"],
        "rita"
    );
    let renamed = app
        .patch(
            &format!("/Users/{rita}"),
            json!([{"op": "replace", "path": "userName", "value": "rita.new"}]),
        )
        .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["userName"], "rita.new");
    assert_eq!(app.post("/Users", user("rita")).await.status, 201);
    assert_eq!(app.post("/Users", user("Rita.New")).await.status, 409);
}

async fn group_names_are_unique_per_instance(app: TestApp) {
    app.create_group("Admins", &[]).await;
    let clash = app.post("/Groups", json!({"displayName": "ADMINS"})).await;
    assert_eq!(clash.status, 409);
    assert_eq!(clash.body["scimType"], "uniqueness");
    let other = app.key_for("other", "entra").await;
    let elsewhere = app
        .send(
            Method::POST,
            "/Groups",
            Some(&other),
            Some(&json!({"displayName": "Admins"})),
        )
        .await;
    assert_eq!(elsewhere.status, 201);
}

async fn concurrent_creates_of_one_group_name_give_exactly_one_group(app: TestApp) {
    let attempts = (0..12).map(|_| {
        let app = &app;
        async move {
            app.post("/Groups", json!({"displayName": "Racers"}))
                .await
                .status
        }
    });
    let statuses = join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(app.get("/Groups").await.body["totalResults"], 1);
}

async fn concurrent_member_changes_to_one_group_lose_nothing(app: TestApp) {
    let group = app.create_group("Crowd", &[]).await;
    let mut ids = Vec::new();
    for n in 0..32 {
        ids.push(app.create_user(&format!("crowd{n}")).await);
    }
    let additions = ids.iter().map(|id| {
        let app = &app;
        let path = format!("/Groups/{group}");
        async move {
            app.patch(
                &path,
                json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
            )
            .await
            .status
        }
    });
    let statuses = join_all(additions).await;
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    let group_now = app.get(&format!("/Groups/{group}")).await;
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(crate::common::member_ids(&group_now.body), expected);
    assert_eq!(group_now.body["meta"]["version"], "W/\"33\"");
}
