//! The instance's role rules on provisioned users: new users without roles get the default
//! roles, a role the instance does not allow is refused with the allowed ones named, and a
//! profile push that does not carry roles keeps them.

use crate::common::{user, TestApp};
use crate::on_both_stores;
use aggregates::settings::SettingsCommand;
use serde_json::json;

on_both_stores!(
    a_user_without_roles_gets_the_default_role,
    roles_outside_the_allowed_set_are_refused_and_named,
    allowed_and_default_roles_follow_the_instance_settings,
    a_profile_push_without_roles_keeps_the_users_roles,
);

fn with_roles(user_name: &str, roles: &[&str]) -> serde_json::Value {
    let mut resource = user(user_name);
    resource["roles"] = roles.iter().map(|role| json!({"value": role})).collect();
    resource
}

async fn a_user_without_roles_gets_the_default_role(app: TestApp) {
    let created = app.post("/Users", user("ann")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["roles"], json!([{"value": "User"}]));
    let read = app.get(&format!("/Users/{}", created.id())).await;
    assert_eq!(read.body["roles"], json!([{"value": "User"}]));
}

async fn roles_outside_the_allowed_set_are_refused_and_named(app: TestApp) {
    for roles in [
        vec!["Administrator"],
        vec!["User", "Superuser"],
        vec!["Financial user"],
    ] {
        let refused = app.post("/Users", with_roles("bob", &roles)).await;
        assert_eq!(refused.status, 400, "{roles:?}");
        assert_eq!(refused.body["scimType"], "invalidValue");
        let detail = refused.body["detail"].as_str().unwrap_or_default();
        let named = roles[roles.len() - 1];
        assert!(
            detail.starts_with(&format!("role {named} is not allowed")),
            "{detail}"
        );
        assert!(detail.contains("allowed roles: User"), "{detail}");
    }
    let two_refused = app
        .post("/Users", with_roles("bob", &["Superuser", "Auditor"]))
        .await;
    let detail = two_refused.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("roles Superuser, Auditor are not allowed"),
        "{detail}"
    );
    let id = app.create_user("carol").await;
    let patched = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "roles", "value": [{"value": "Administrator"}]}]),
        )
        .await;
    assert_eq!(patched.status, 400, "{:?}", patched.body);
    let replaced = app
        .put(&format!("/Users/{id}"), with_roles("carol", &["Superuser"]))
        .await;
    assert_eq!(replaced.status, 400, "{:?}", replaced.body);
    let unchanged = app.get(&format!("/Users/{id}")).await;
    // Created and mapped, nothing since.
    assert_eq!(unchanged.body["meta"]["version"], "W/\"2\"");
    assert_eq!(unchanged.body["roles"], json!([{"value": "User"}]));
}

async fn allowed_and_default_roles_follow_the_instance_settings(app: TestApp) {
    app.change_settings(SettingsCommand::AllowRoles {
        roles: vec!["User".into(), "Viewer".into()],
    })
    .await;
    app.change_settings(SettingsCommand::SetDefaultRoles {
        roles: vec!["Viewer".into()],
    })
    .await;
    let created = app.post("/Users", user("dan")).await;
    assert_eq!(created.body["roles"], json!([{"value": "Viewer"}]));
    let named = app.post("/Users", with_roles("eve", &["viewer"])).await;
    assert_eq!(named.status, 201, "{:?}", named.body);
    let refused = app.post("/Users", with_roles("fay", &["Auditor"])).await;
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("allowed roles: User, Viewer"), "{detail}");

    app.change_settings(SettingsCommand::AllowAnyRole).await;
    let any = app.post("/Users", with_roles("fay", &["Auditor"])).await;
    assert_eq!(any.status, 201, "{:?}", any.body);
    assert_eq!(any.body["roles"], json!([{"value": "Auditor"}]));
}

async fn a_profile_push_without_roles_keeps_the_users_roles(app: TestApp) {
    // Okta's and OneLogin's profile pushes are PUTs of the attributes they map, roles not
    // among them unless the operator adds them.
    let id = app.create_user("gus").await;
    let mut push = user("gus");
    push["title"] = json!("Clerk");
    let pushed = app.put(&format!("/Users/{id}"), push).await;
    assert_eq!(pushed.status, 200, "{:?}", pushed.body);
    assert_eq!(pushed.body["title"], "Clerk");
    assert_eq!(pushed.body["roles"], json!([{"value": "User"}]));
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.body["roles"],
        json!([{"value": "User"}])
    );

    // Stating them still replaces them, and a PATCH still removes them.
    app.change_settings(SettingsCommand::AllowRoles {
        roles: vec!["User".into(), "Viewer".into()],
    })
    .await;
    let restated = app
        .put(&format!("/Users/{id}"), with_roles("gus", &["Viewer"]))
        .await;
    assert_eq!(restated.body["roles"], json!([{"value": "Viewer"}]));
    let removed = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "remove", "path": "roles"}]),
        )
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    assert!(removed.body.get("roles").is_none(), "{:?}", removed.body);
}
