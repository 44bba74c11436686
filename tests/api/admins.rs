//! Named administrators and "who changed this?": `scimd admins` and `/admin/v1/admins`, the
//! console's sign-in session, and every administrative change in the instance's history with
//! the person, the source and one correlation id per action.

use crate::common::admin_api::{admin, call, with_admin_api, ADMIN_TOKEN};
use crate::common::cli::{run_cli, SCIMD};
use crate::common::TestApp;
use crate::on_both_stores_with;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores_with!(with_admin_api;
    administrators_made_by_the_cli_sign_in_until_the_cli_revokes_them,
    administrators_are_managed_over_the_admin_api,
    every_admin_plane_change_names_the_person_the_source_and_one_correlation_id,
    one_apply_is_one_correlation_id,
    the_cli_records_the_operating_system_user_and_an_import_as_one_action,
    a_console_session_is_a_cookie_that_sign_out_and_revocation_end,
);

/// The history of `instance`, oldest first.
async fn history(app: &TestApp, instance: &str) -> Vec<Value> {
    let path = format!("/instances/{instance}/history?count=1000");
    let (status, body) = call(app, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().cloned().unwrap_or_default()
}

/// The entries of `history` with this action.
fn with_action<'h>(history: &'h [Value], action: &str) -> Vec<&'h Value> {
    history.iter().filter(|e| e["action"] == action).collect()
}

/// Runs the CLI with extra environment variables: whether it succeeded, stdout, stderr.
async fn cli_as(app: &TestApp, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(SCIMD);
    command
        .args(args)
        .env("SCIMD_DATABASE_URL", &app.database_url);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().await.expect("scimd runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

async fn administrators_made_by_the_cli_sign_in_until_the_cli_revokes_them(app: TestApp) {
    let (ok, out, err) = run_cli(&app.database_url, &["admins", "create", "Ada Lovelace"]).await;
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap_or_default().to_string();
    assert!(token.starts_with("scimdadmin_"), "{out}");

    let (ok, out, err) = run_cli(&app.database_url, &["--json", "admins", "list"]).await;
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(listed[0]["name"], "Ada Lovelace", "{out}");
    assert_eq!(listed[0]["revokedAt"], Value::Null, "{out}");
    assert!(
        !out.contains(&token[11..]),
        "a list never shows a credential"
    );

    let (status, body) = admin(&app, Method::GET, "/instances", Some(&token), None).await;
    assert_eq!(status, 200, "{body}");
    // A SCIM key is never an administrator, nor an administrator a SCIM key.
    let scim = app
        .send(Method::GET, "/Users", Some(&token), None)
        .await
        .status;
    assert_eq!(scim, 401);

    // Revoked by another process: refused from the very next request.
    let (ok, _, err) = run_cli(&app.database_url, &["admins", "revoke", "ada lovelace"]).await;
    assert!(ok, "{err}");
    let (status, _) = admin(&app, Method::GET, "/instances", Some(&token), None).await;
    assert_eq!(status, 401);
    let (ok, _, err) = run_cli(&app.database_url, &["admins", "revoke", "Ada Lovelace"]).await;
    assert!(!ok, "a revoked administrator is no longer found by name");
    assert!(err.contains("no administrator"), "{err}");
}

async fn administrators_are_managed_over_the_admin_api(app: TestApp) {
    let (status, made) = call(
        &app,
        Method::POST,
        "/admins",
        Some(json!({"name": "grace"})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let token = made["token"].as_str().unwrap_or_default().to_string();
    let (status, _) = call(
        &app,
        Method::POST,
        "/admins",
        Some(json!({"name": "GRACE"})),
    )
    .await;
    assert_eq!(status, 409, "names are unique without regard to case");
    let reserved = json!({"name": "bootstrap admin token"});
    let (status, _) = call(&app, Method::POST, "/admins", Some(reserved)).await;
    assert_eq!(status, 400, "no one may pass for the bootstrap token");

    // Grace adds Linus; the list shows both, without credentials.
    let linus = Some(json!({"name": "linus"}));
    let (status, _) = admin(&app, Method::POST, "/admins", Some(&token), linus).await;
    assert_eq!(status, 201);
    let (_, listed) = admin(&app, Method::GET, "/admins", Some(&token), None).await;
    let names: Vec<&str> = listed
        .as_array()
        .map(|all| all.iter().filter_map(|a| a["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["grace", "linus"]);
    assert!(!listed.to_string().contains("scimdadmin_"));

    let id = made["id"].as_str().unwrap_or_default();
    let (status, revoked) = call(&app, Method::DELETE, &format!("/admins/{id}"), None).await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revokedAt"].is_string());
    let (status, _) = admin(&app, Method::GET, "/admins", Some(&token), None).await;
    assert_eq!(status, 401, "refused from the next request on");
    let (status, _) = call(&app, Method::DELETE, &format!("/admins/{id}"), None).await;
    assert_eq!(status, 409);
    let (status, _) = call(&app, Method::DELETE, "/admins/nobody", None).await;
    assert_eq!(status, 404);
}

/// Signs in as the console does; the session cookie (`name=value`) and who it signs in.
async fn console_sign_in(app: &TestApp, token: &str) -> (String, Value) {
    let response = app
        .client
        .post(format!("http://{}/admin/v1/session", app.address))
        .header("x-scimd-console", "1")
        .json(&json!({"token": token}))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()[SET_COOKIE]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let who = response.json().await.unwrap_or_default();
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_string();
    (cookie, who)
}

/// A request to the admin API as the console makes it: the cookie, and the console's header
/// when `console_header`.
async fn console_call(
    app: &TestApp,
    cookie: &str,
    console_header: bool,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    let url = format!("http://{}/admin/v1{path}", app.address);
    let mut request = app.client.request(method, url).header(COOKIE, cookie);
    if console_header {
        request = request.header("x-scimd-console", "1");
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("scimd answers");
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, request_id)
}

async fn every_admin_plane_change_names_the_person_the_source_and_one_correlation_id(app: TestApp) {
    let (_, made) = call(&app, Method::POST, "/admins", Some(json!({"name": "ada"}))).await;
    let ada = made["token"].as_str().unwrap_or_default().to_string();
    let as_ada = |method: Method, path: &'static str, body: Option<Value>| {
        let ada = ada.clone();
        let app = &app;
        async move { admin(app, method, path, Some(&ada), body).await }
    };
    let (status, _) = as_ada(Method::POST, "/instances", Some(json!({"name": "acme"}))).await;
    assert_eq!(status, 201);
    let okta = json!({"integrationUser": "okta"});
    let (status, issued) = as_ada(Method::POST, "/instances/acme/keys", Some(okta)).await;
    assert_eq!(status, 201);
    let key_id = issued["keyId"].as_str().unwrap_or_default().to_string();
    let secret = issued["key"].as_str().unwrap_or_default().to_string();
    let roles = json!({"roles": ["User", "Viewer"]});
    as_ada(Method::PUT, "/instances/acme/roles/allowed", Some(roles)).await;
    as_ada(
        Method::POST,
        "/instances/acme/fields",
        Some(json!({"name": "Team"})),
    )
    .await;
    let title = json!({"attribute": "title"});
    as_ada(Method::PUT, "/instances/acme/mappings/Team", Some(title)).await;
    // The bootstrap token is recorded as itself, not as a person nor as an integration user.
    let path = format!("/instances/acme/keys/{key_id}");
    let (status, _) = call(&app, Method::DELETE, &path, None).await;
    assert_eq!(status, 200);
    // The console: told apart by its session.
    let (cookie, who) = console_sign_in(&app, &ada).await;
    assert_eq!(who["name"], "ada");
    let defaults = json!({"roles": ["Viewer"]});
    let (status, _, request_id) = console_call(
        &app,
        &cookie,
        true,
        Method::PUT,
        "/instances/acme/roles/default",
        Some(defaults),
    )
    .await;
    assert_eq!(status, 200);

    let entries = history(&app, "acme").await;
    let who_how = |e: &Value| {
        let text = |key: &str| e[key].as_str().unwrap_or_default().to_string();
        (text("action"), text("actor"), text("source"))
    };
    let seen: Vec<(String, String, String)> = entries.iter().map(who_how).collect();
    let expected = [
        ("InstanceCreated", "ada", "admin-api"),
        ("KeyIssued", "ada", "admin-api"),
        ("AllowedRolesSet", "ada", "admin-api"),
        ("FieldAdded", "ada", "admin-api"),
        ("MappingSet", "ada", "admin-api"),
        ("KeyRevoked", "bootstrap admin token", "admin-api"),
        ("DefaultRolesSet", "ada", "console"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(seen, expected);
    let issued_entry = &with_action(&entries, "KeyIssued")[0];
    assert_eq!(issued_entry["details"]["key_id"], key_id.as_str());
    assert!(
        !entries
            .iter()
            .any(|e| e.to_string().contains(&secret[22..])),
        "no key secret in the history"
    );
    // Each action's events carry that request's id, the one the client was answered with.
    assert_eq!(
        with_action(&entries, "DefaultRolesSet")[0]["correlationId"],
        request_id.as_str()
    );
    let ids: std::collections::HashSet<&str> = entries
        .iter()
        .filter_map(|e| e["correlationId"].as_str())
        .collect();
    assert_eq!(ids.len(), entries.len(), "one id per action");

    // The chain still holds, and the rebuilt projections equal the live ones.
    let (_, audit) = call(&app, Method::GET, "/instances/acme/audit", None).await;
    assert_eq!(audit["intact"], true, "{audit}");
    let (ok, out, err) = run_cli(&app.database_url, &["audit", "verify"]).await;
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run_cli(&app.database_url, &["verify"]).await;
    assert!(ok, "{out}{err}");
    assert!(!out.contains("DIFFERENT"), "{out}");
}

async fn one_apply_is_one_correlation_id(app: TestApp) {
    for (name, title) in [("ann", "Clerk"), ("bob", "Lead"), ("cy", "Chief")] {
        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "title": title,
        });
        assert_eq!(app.post("/Users", user).await.status, 201);
    }
    call(
        &app,
        Method::POST,
        "/instances/default/fields",
        Some(json!({"name": "Team"})),
    )
    .await;
    let title = json!({"attribute": "title"});
    call(
        &app,
        Method::PUT,
        "/instances/default/mappings/Team",
        Some(title),
    )
    .await;
    let (status, applied) = call(
        &app,
        Method::POST,
        "/instances/default/mappings/apply",
        None,
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["changed"], 3);

    let entries = history(&app, "default").await;
    let remapped: Vec<&Value> = with_action(&entries, "UserMapped")
        .into_iter()
        .filter(|e| e["source"] == "admin-api")
        .collect();
    assert_eq!(remapped.len(), 3, "{entries:#?}");
    let ids: std::collections::HashSet<&str> = remapped
        .iter()
        .filter_map(|e| e["correlationId"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "one apply, one correlation id: {ids:?}");
    assert!(remapped
        .iter()
        .all(|e| e["actor"] == "bootstrap admin token"));
}

async fn the_cli_records_the_operating_system_user_and_an_import_as_one_action(app: TestApp) {
    let alice = [("USER", "alice"), ("LOGNAME", "alice")];
    let (ok, _, err) = cli_as(&app, &alice, &["instances", "create", "globex"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = cli_as(
        &app,
        &alice,
        &["fields", "add", "--instance", "globex", "Team"],
    )
    .await;
    assert!(ok, "{err}");
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    let lines = [
        r#"{"userName": "ann"}"#,
        r#"{"userName": "bob"}"#,
        r#"{"name": "Staff", "members": ["ann", "bob"]}"#,
    ];
    std::fs::write(file.path(), lines.join("\n")).expect("the file is written");
    let path = file.path().to_string_lossy().to_string();
    let (ok, out, err) = cli_as(
        &app,
        &[("USER", "bob-ops"), ("LOGNAME", "bob-ops")],
        &["import", "--instance", "globex", &path],
    )
    .await;
    assert!(ok, "{out}{err}");

    let entries = history(&app, "globex").await;
    let created = &with_action(&entries, "InstanceCreated")[0];
    assert_eq!(
        (&created["actor"], &created["source"]),
        (&json!("alice"), &json!("cli"))
    );
    let field = &with_action(&entries, "FieldAdded")[0];
    assert_eq!(
        (&field["actor"], &field["source"]),
        (&json!("alice"), &json!("cli"))
    );
    let imported: Vec<&Value> = entries.iter().filter(|e| e["source"] == "import").collect();
    assert!(imported.len() >= 3, "{entries:#?}");
    assert!(imported.iter().all(|e| e["actor"] == "bob-ops"));
    let ids: std::collections::HashSet<&str> = imported
        .iter()
        .filter_map(|e| e["correlationId"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "one import, one correlation id: {ids:?}");
}

async fn a_console_session_is_a_cookie_that_sign_out_and_revocation_end(app: TestApp) {
    // A wrong credential is refused, and so is a sign-in without the console's header.
    let wrong = app
        .client
        .post(format!("http://{}/admin/v1/session", app.address))
        .header("x-scimd-console", "1")
        .json(&json!({"token": "not-a-credential-0123456789abcdef"}))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    let forged = app
        .client
        .post(format!("http://{}/admin/v1/session", app.address))
        .json(&json!({"token": ADMIN_TOKEN}))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(forged.status(), 403);

    let response = app
        .client
        .post(format!("http://{}/admin/v1/session", app.address))
        .header("x-scimd-console", "1")
        .json(&json!({"token": ADMIN_TOKEN}))
        .send()
        .await
        .expect("scimd answers");
    let set_cookie = response.headers()[SET_COOKIE]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        set_cookie.starts_with("scimd_admin_session="),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(
        !set_cookie.contains(ADMIN_TOKEN),
        "the cookie is not the credential"
    );
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_string();

    let (status, who, _) = console_call(&app, &cookie, false, Method::GET, "/session", None).await;
    assert_eq!(
        (status, &who["name"]),
        (200, &json!("bootstrap admin token"))
    );
    let (status, _, _) = console_call(&app, &cookie, false, Method::GET, "/instances", None).await;
    assert_eq!(status, 200, "reading needs no header");
    let team = Some(json!({"name": "Team"}));
    let path = "/instances/default/fields";
    let (status, _, _) = console_call(&app, &cookie, false, Method::POST, path, team.clone()).await;
    assert_eq!(
        status, 403,
        "a change riding on the cookie needs the console's header"
    );
    let fields = history(&app, "default").await;
    assert!(
        with_action(&fields, "FieldAdded").is_empty(),
        "nothing changed"
    );

    // Signing out ends the session for every tab (all share the cookie).
    let (status, _, _) = console_call(&app, &cookie, true, Method::DELETE, "/session", None).await;
    assert_eq!(status, 204);
    let (status, _, _) = console_call(&app, &cookie, false, Method::GET, "/instances", None).await;
    assert_eq!(status, 401);

    // A named administrator's session ends when they are revoked, by any process.
    let (_, made) = call(&app, Method::POST, "/admins", Some(json!({"name": "ada"}))).await;
    let ada = made["token"].as_str().unwrap_or_default().to_string();
    let (cookie, _) = console_sign_in(&app, &ada).await;
    let (status, _, _) = console_call(&app, &cookie, true, Method::POST, path, team).await;
    assert_eq!(status, 200);
    let (ok, _, err) = run_cli(&app.database_url, &["admins", "revoke", "ada"]).await;
    assert!(ok, "{err}");
    let (status, _, _) = console_call(&app, &cookie, false, Method::GET, "/instances", None).await;
    assert_eq!(status, 401);
}
