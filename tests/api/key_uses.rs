//! When each key was last used, in the admin API and `keys list`: written on a key's first use
//! and then at most once a minute (the minute itself is tested as a pure unit in
//! src/store/key_uses.rs, with the clock handed in), also for a revoked key still presented,
//! whose refused requests the provisioning log lists by key.

use crate::common::admin_api::{call as admin_call, with_admin_api};
use crate::common::cli::run_cli;
use crate::common::TestApp;
use crate::on_both_stores_with;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

on_both_stores_with!(with_admin_api;
    a_keys_first_use_is_listed_and_later_uses_within_the_minute_are_not_written,
    a_revoked_key_still_presented_shows_its_refused_use_and_requests,
);

/// The key of `instance` acting for `integration_user`, as the admin API lists it.
async fn listed_key(app: &TestApp, instance: &str, integration_user: &str) -> Value {
    let (status, keys) = admin_call(
        app,
        Method::GET,
        &format!("/instances/{instance}/keys"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{keys}");
    keys.as_array()
        .and_then(|keys| {
            keys.iter()
                .find(|key| key["integrationUser"] == integration_user)
        })
        .cloned()
        .unwrap_or_else(|| panic!("no key of {integration_user} in {keys}"))
}

/// The key's `lastUsedAt` once it is written: the write runs beside the request, not in it.
async fn written_use(app: &TestApp, instance: &str, integration_user: &str) -> String {
    for _ in 0..500 {
        let key = listed_key(app, instance, integration_user).await;
        if let Some(at) = key["lastUsedAt"].as_str() {
            return at.to_string();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the use of {integration_user}'s key was never written");
}

async fn a_keys_first_use_is_listed_and_later_uses_within_the_minute_are_not_written(app: TestApp) {
    let token = app.key_for("acme", "okta").await;
    let unused = listed_key(&app, "acme", "okta").await;
    assert_eq!(unused["lastUsedAt"], Value::Null, "not used yet: {unused}");

    let before = chrono::Utc::now();
    let first = app.send(Method::GET, "/Users", Some(&token), None).await;
    assert_eq!(first.status, 200);
    let used = written_use(&app, "acme", "okta").await;
    let used_at = chrono::DateTime::parse_from_rfc3339(&used).expect("an RFC 3339 time");
    assert!(used_at >= before, "{used} is the request's time");

    for _ in 0..5 {
        let again = app.send(Method::GET, "/Users", Some(&token), None).await;
        assert_eq!(again.status, 200);
    }
    // A write would have been started by one of those requests: let it land if it was.
    let later = app.send(Method::GET, "/Users", Some(&token), None).await;
    assert_eq!(later.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let listed = listed_key(&app, "acme", "okta").await;
    assert_eq!(
        listed["lastUsedAt"],
        used.as_str(),
        "uses within the minute are not written"
    );

    let (ok, out, err) = run_cli(&app.database_url, &["keys", "list", "--instance", "acme"]).await;
    assert!(ok, "{err}");
    assert!(
        out.lines().next().unwrap_or_default().contains("LAST USED"),
        "{out}"
    );
    let row = out
        .lines()
        .find(|line| line.contains("okta"))
        .unwrap_or_default();
    assert!(
        row.trim_end().ends_with(&used),
        "the CLI shows the same time: {out}"
    );

    let (ok, out, err) = run_cli(
        &app.database_url,
        &["--json", "keys", "list", "--instance", "acme"],
    )
    .await;
    assert!(ok, "{err}");
    let keys: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(keys[0]["lastUsedAt"], used.as_str());
}

async fn a_revoked_key_still_presented_shows_its_refused_use_and_requests(app: TestApp) {
    let token = app.key_for("globex", "entra").await;
    let key = listed_key(&app, "globex", "entra").await;
    let key_id = key["keyId"].as_str().unwrap_or_default().to_string();
    let path = format!("/instances/globex/keys/{key_id}");
    let (status, body) = admin_call(&app, Method::DELETE, &path, None).await;
    assert_eq!(status, 200, "{body}");

    let refused = app.send(Method::GET, "/Users", Some(&token), None).await;
    assert_eq!(refused.status, 401);
    let used = written_use(&app, "globex", "entra").await;
    let revoked = listed_key(&app, "globex", "entra").await;
    let revoked_at = revoked["revokedAt"].as_str().unwrap_or_default();
    assert!(
        used.as_str() > revoked_at,
        "used at {used}, after its revocation at {revoked_at}"
    );

    // Another key of the instance, whose requests the key filter leaves out.
    let other = app.key_for("globex", "okta").await;
    assert_eq!(
        app.send(Method::GET, "/Groups", Some(&other), None)
            .await
            .status,
        200
    );
    let query = format!("/instances/GLOBEX/provisioning-log?key={key_id}");
    let (status, page) = admin_call(&app, Method::GET, &query, None).await;
    assert_eq!(status, 200, "{page}");
    let entries = page["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "only the revoked key's request: {page}");
    assert_eq!(entries[0]["status"], 401);
    assert_eq!(entries[0]["keyId"], key_id.as_str());
    assert_eq!(entries[0]["failed"], true);
}
