//! Instance settings are held in memory and loaded from their events again only once they
//! changed, whoever changed them: this process, or the CLI in another one, whose change the
//! very next request honours.

use crate::common::cli::run_cli;
use crate::common::{user, TestApp};
use crate::on_both_stores;
use aggregates::settings::SettingsCommand;
use serde_json::json;

on_both_stores!(
    settings_are_loaded_again_only_once_they_change,
    a_change_by_the_cli_is_honoured_by_the_next_request,
);

fn with_roles(user_name: &str, roles: &[&str]) -> serde_json::Value {
    let mut resource = user(user_name);
    resource["roles"] = roles.iter().map(|role| json!({"value": role})).collect();
    resource
}

async fn settings_are_loaded_again_only_once_they_change(app: TestApp) {
    let loads = || app.store.metrics.settings_loads.get();
    let before = loads();
    let ann = app.create_user("ann").await;
    for n in 0..4 {
        app.create_user(&format!("user{n}")).await;
    }
    let patched = app
        .patch(
            &format!("/Users/{ann}"),
            json!([{"op": "replace", "path": "title", "value": "Lead"}]),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(loads() - before, 1, "six writes, one load");

    let allow = SettingsCommand::AllowRoles {
        roles: vec!["User".into(), "Viewer".into()],
    };
    app.change_settings(allow).await;
    let viewer = app.post("/Users", with_roles("bob", &["Viewer"])).await;
    assert_eq!(viewer.status, 201, "{:?}", viewer.body);
    app.create_user("carl").await;
    assert_eq!(loads() - before, 2, "loaded again once, after the change");
}

async fn a_change_by_the_cli_is_honoured_by_the_next_request(app: TestApp) {
    let refused = app.post("/Users", with_roles("ann", &["Viewer"])).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    // Held now: the server has just used the settings.
    let cli = |args: &'static [&'static str]| run_cli(&app.database_url, args);
    let (ok, _, err) = cli(&["roles", "allow", "--instance", "default", "User", "Viewer"]).await;
    assert!(ok, "{err}");
    let admitted = app.post("/Users", with_roles("ann", &["Viewer"])).await;
    assert_eq!(admitted.status, 201, "{:?}", admitted.body);

    let (ok, _, err) = cli(&["roles", "default", "--instance", "default", "Viewer"]).await;
    assert!(ok, "{err}");
    let defaulted = app.post("/Users", user("bob")).await;
    assert_eq!(defaulted.status, 201, "{:?}", defaulted.body);
    assert_eq!(defaulted.body["roles"], json!([{"value": "Viewer"}]));

    let (ok, _, err) = cli(&["roles", "allow", "--instance", "default", "Viewer"]).await;
    assert!(ok, "{err}");
    let no_longer = app.post("/Users", with_roles("carl", &["User"])).await;
    assert_eq!(no_longer.status, 400, "{:?}", no_longer.body);
}
