//! The `scimd` binary as an operator runs it: the CLI, the first start on an empty store, and
//! restarts (graceful and after SIGKILL) that must keep every acknowledged change.

use crate::common::cli::{database_with_instance, open_store, run_cli};
use crate::common::fresh_database;
use crate::common::server::{call, new_key, Server};
use crate::common::StoreKind;
use crate::on_both_store_kinds;
use serde_json::{json, Value};
use std::time::Duration;

on_both_store_kinds!(
    data_survives_graceful_and_abrupt_restarts,
    a_crash_between_event_commit_and_projection_loses_nothing,
    the_cli_manages_instances_and_keys,
    the_cli_manages_an_instances_roles_as_events,
    the_cli_manages_fields_and_mappings,
    the_cli_imports_existing_accounts,
    the_cli_exports_the_history,
);

/// A resource without `meta.location`, which names the port of the process that served it.
/// The resource without what depends on the port the server listened on.
fn without_location(mut resource: Value) -> Value {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("location");
    }
    if let Some(groups) = resource.get_mut("groups").and_then(Value::as_array_mut) {
        for group in groups.iter_mut().filter_map(Value::as_object_mut) {
            group.remove("$ref");
        }
    }
    resource
}

async fn data_survives_graceful_and_abrupt_restarts(kind: StoreKind) {
    let (url, _dir) = fresh_database(kind).await;
    let mut server = Server::start(&url).await;
    let token = server
        .printed_key
        .clone()
        .expect("a first start prints a key");
    let (status, created) = call(
        reqwest::Method::POST,
        &format!("{}/Users", server.base),
        &token,
        Some(json!({"userName": "uma@corp.example", "title": "Engineer"})),
    )
    .await;
    assert_eq!(status, 201);
    let user_id = created["id"].as_str().unwrap_or_default().to_string();
    let (status, group) = call(
        reqwest::Method::POST,
        &format!("{}/Groups", server.base),
        &token,
        Some(json!({"displayName": "Keepers", "members": [{"value": user_id}]})),
    )
    .await;
    assert_eq!(status, 201);
    let group_id = group["id"].as_str().unwrap_or_default().to_string();

    let exit = server.signal("TERM").await;
    assert!(exit.success(), "SIGTERM ends scimd cleanly: {exit:?}");

    let mut server = Server::start(&url).await;
    assert_eq!(
        server.printed_key, None,
        "the default key is printed only once"
    );
    let (status, user) = call(
        reqwest::Method::GET,
        &format!("{}/Users/{user_id}", server.base),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Since the POST answered, the user joined Keepers, which its read-only `groups` shows.
    let mut user = user;
    let groups = user
        .as_object_mut()
        .and_then(|user| user.remove("groups"))
        .unwrap_or_default();
    assert_eq!(groups[0]["value"], group_id.as_str());
    // Its tag covers those groups too; the user's own version is unchanged.
    let tag = user["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let own = created["meta"]["version"].as_str().unwrap_or_default();
    assert!(
        tag.starts_with(own.trim_end_matches('"')),
        "{tag} after {own}"
    );
    user["meta"]["version"] = created["meta"]["version"].clone();
    assert_eq!(without_location(user), without_location(created));
    let (status, patched) = call(
        reqwest::Method::PATCH,
        &format!("{}/Users/{user_id}", server.base),
        &token,
        Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
    )
    .await;
    assert_eq!(status, 200);
    server.signal("KILL").await;

    let server = Server::start(&url).await;
    let (_, user) = call(
        reqwest::Method::GET,
        &format!("{}/Users/{user_id}", server.base),
        &token,
        None,
    )
    .await;
    assert_eq!(without_location(user), without_location(patched));
    let (_, group_now) = call(
        reqwest::Method::GET,
        &format!("{}/Groups/{group_id}", server.base),
        &token,
        None,
    )
    .await;
    assert_eq!(group_now["members"][0]["value"], user_id.as_str());
    assert_eq!(group_now["displayName"], "Keepers");
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Count {
    total: i64,
}

async fn count(database_url: &str, sql: &str) -> i64 {
    let store = open_store(database_url).await;
    let counted: Count = store
        .db
        .fetch_one(&projections::db::Sql::new(sql.to_string()))
        .await
        .expect("the store reads");
    store.db.close().await;
    counted.total
}

async fn a_crash_between_event_commit_and_projection_loses_nothing(kind: StoreKind) {
    let (url, _dir) = fresh_database(kind).await;
    let mut server = Server::start_with(&url, &["--abort-before-projection-commit"]).await;
    let token = server
        .printed_key
        .clone()
        .expect("a first start prints a key");
    let sent = reqwest::Client::new()
        .post(format!("{}/Users", server.base))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({"userName": "cass@corp.example", "title": "Survivor"}).to_string())
        .send()
        .await;
    assert!(sent.is_err(), "the process died before answering: {sent:?}");
    let exit = tokio::time::timeout(Duration::from_secs(15), server.child.wait())
        .await
        .expect("scimd exits within 15 s")
        .expect("the exit status is readable");
    assert!(!exit.success(), "{exit:?}");
    // It died in the gap: the event is in the log, the read model never saw it.
    let created = "SELECT count(*) AS total FROM events WHERE event_type = 'UserCreated'";
    assert_eq!(count(&url, created).await, 1);
    let projected = "SELECT count(*) AS total FROM scim_users";
    assert_eq!(count(&url, projected).await, 0);

    let server = Server::start(&url).await;
    let (status, found) = call(
        reqwest::Method::GET,
        &format!(
            "{}/Users?filter=userName%20eq%20%22cass@corp.example%22",
            server.base
        ),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["title"], "Survivor");
    let (ok, out, err) = run_cli(&url, &["verify"]).await;
    assert!(ok, "{out}{err}");
    assert_eq!(out.matches("identical").count(), 5, "{out}");
}

async fn the_cli_manages_instances_and_keys(kind: StoreKind) {
    let (url, _dir) = fresh_database(kind).await;
    let (ok, out, err) = run_cli(&url, &["instances", "create", "acme"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("acme"));
    let (ok, _, err) = run_cli(&url, &["instances", "create", "acme"]).await;
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    let (ok, _, err) = run_cli(&url, &["instances", "create", "bad name"]).await;
    assert!(!ok);
    assert!(err.contains("instance names"), "{err}");
    let (_, out, _) = run_cli(&url, &["instances", "list"]).await;
    assert!(out.lines().any(|line| line.starts_with("acme ")), "{out}");
    let (_, out, _) = run_cli(&url, &["--json", "instances", "list"]).await;
    let listed: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(listed[0]["name"], "acme", "{out}");
    let (ok, out, err) = run_cli(
        &url,
        &[
            "keys",
            "create",
            "--instance",
            "acme",
            "--integration-user",
            "bot",
            "--json",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let issued: Value = serde_json::from_str(&out).unwrap_or_default();
    assert!(
        issued["key"]
            .as_str()
            .is_some_and(|key| key.starts_with("scimd_")),
        "{out}"
    );
    assert_eq!(issued["integrationUser"], "bot");

    let (ok, out, err) = run_cli(
        &url,
        &[
            "keys",
            "create",
            "--instance",
            "acme",
            "--integration-user",
            "okta",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap_or_default().to_string();
    assert!(token.starts_with("scimd_"), "{out}");
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    let (ok, _, err) = run_cli(
        &url,
        &[
            "keys",
            "create",
            "--instance",
            "nope",
            "--integration-user",
            "x",
        ],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("no instance"), "{err}");

    // The second argument form: --database instead of the environment.
    let (ok, out, _) = run_cli(
        "sqlite://ignored",
        &["keys", "list", "--instance", "acme", "--database", &url],
    )
    .await;
    assert!(ok);
    assert!(out.contains(&key_id) && out.contains("okta"), "{out}");
    assert!(!out.contains(&token), "a listing never shows the secret");

    let server = Server::start(&url).await;
    assert_eq!(
        server.printed_key, None,
        "a store with instances gets no default key"
    );
    let users = format!("{}/Users", server.base);
    assert_eq!(
        call(reqwest::Method::GET, &users, &token, None).await.0,
        200
    );
    let (ok, _, err) = run_cli(&url, &["keys", "revoke", &key_id]).await;
    assert!(ok, "{err}");
    assert_eq!(
        call(reqwest::Method::GET, &users, &token, None).await.0,
        401
    );
    let (ok, _, err) = run_cli(&url, &["keys", "revoke", &key_id]).await;
    assert!(!ok);
    assert!(err.contains("already revoked"), "{err}");
    let (_, out, _) = run_cli(&url, &["keys", "list", "--instance", "acme"]).await;
    let revoked = out.lines().find(|line| line.starts_with(key_id.as_str()));
    assert!(revoked.is_some_and(|line| !line.ends_with(" -")), "{out}");
}

async fn the_cli_manages_an_instances_roles_as_events(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let show = || run_cli(&url, &["roles", "show", "--instance", "acme", "--json"]);
    let roles = |out: &str| serde_json::from_str::<Value>(out).unwrap_or_default();
    let (ok, out, err) = show().await;
    assert!(ok, "{err}");
    assert_eq!(
        roles(&out),
        json!({"allowed": ["User"], "default": ["User"]})
    );

    let (ok, out, err) = run_cli(
        &url,
        &[
            "roles",
            "allow",
            "--instance",
            "acme",
            "User",
            "Viewer",
            "Auditor",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("Allowed roles: User, Viewer, Auditor"),
        "{out}"
    );
    // A default must be allowed, and the allowed roles must keep the defaults.
    let (ok, _, err) = run_cli(
        &url,
        &["roles", "default", "--instance", "acme", "Administrator"],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("allowed roles are: User, Viewer, Auditor"),
        "{err}"
    );
    let (ok, _, err) = run_cli(&url, &["roles", "default", "--instance", "acme", "viewer"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = run_cli(&url, &["roles", "allow", "--instance", "acme", "User"]).await;
    assert!(!ok);
    assert!(
        err.contains("default role \"Viewer\" is not allowed"),
        "{err}"
    );
    let (_, out, _) = show().await;
    assert_eq!(
        roles(&out),
        json!({"allowed": ["User", "Viewer", "Auditor"], "default": ["Viewer"]})
    );
    let (ok, _, err) = run_cli(&url, &["roles", "show", "--instance", "nope"]).await;
    assert!(!ok);
    assert!(err.contains("no instance"), "{err}");
    // An application without role semantics takes any role and gives none by default.
    let (ok, out, err) = run_cli(&url, &["roles", "allow", "--instance", "acme", "--any"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("Allowed roles: any"), "{out}");
    let (ok, out, err) = run_cli(&url, &["roles", "default", "--instance", "acme", "--none"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("Default roles: none"), "{out}");
    let (_, out, _) = show().await;
    assert_eq!(roles(&out), json!({"allowed": "any", "default": []}));
    let (ok, _, _) = run_cli(&url, &["roles", "allow", "--instance", "acme"]).await;
    assert!(!ok, "roles or --any is required");

    // Each change is an event of the instance's settings, for the change history; the server's
    // projections read past them.
    let store = open_store(&url).await;
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        event_type: String,
    }
    let rows: Vec<Row> = store
        .db
        .fetch_all(&projections::db::Sql::new(
            "SELECT event_type FROM events WHERE aggregate_type = 'InstanceSettings' ORDER BY sequence",
        ))
        .await
        .expect("the event log reads");
    let types: Vec<&str> = rows.iter().map(|row| row.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "InstanceCreated",
            "AllowedRolesSet",
            "DefaultRolesSet",
            "AnyRoleAllowed",
            "DefaultRolesSet"
        ]
    );
    store.db.close().await;
    let mut server = Server::start(&url).await;
    let token = new_key(&url, "acme", "okta").await;
    let (status, _) = call(
        reqwest::Method::POST,
        &format!("{}/Users", server.base),
        &token,
        Some(json!({"userName": "after-settings"})),
    )
    .await;
    assert_eq!(status, 201);
    let exit = server.signal("TERM").await;
    assert!(exit.success());
}

async fn the_cli_manages_fields_and_mappings(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let show = || run_cli(&url, &["mappings", "show", "--instance", "acme", "--json"]);
    let mapped = |out: &str| -> Vec<(String, String)> {
        let shown: Value = serde_json::from_str(out).unwrap_or_default();
        shown["mapping"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        let text = |key: &str| row[key].as_str().unwrap_or_default().to_string();
                        (text("field"), text("attribute"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ok, defaults, err) = show().await;
    assert!(ok, "{err}");
    assert!(mapped(&defaults).contains(&("First Name".into(), "name.givenName".into())));
    assert_eq!(mapped(&defaults).len(), 9);

    let (ok, _, err) = run_cli(&url, &["fields", "add", "--instance", "acme", "Country"]).await;
    assert!(ok, "{err}");
    let set = |field: &'static str, attribute: &'static str| {
        let args = [
            "mappings",
            "set",
            "--instance",
            "acme",
            "--attribute",
            attribute,
            "--field",
            field,
        ];
        let url = url.clone();
        async move { run_cli(&url, &args).await }
    };
    let (ok, _, err) = set("country", r#"addresses[type eq "work"].country"#).await;
    assert!(ok, "{err}");
    let (ok, _, err) = set("Salary", "title").await;
    assert!(!ok);
    assert!(err.contains("no text field \"Salary\""), "{err}");
    let (ok, _, err) = set("Country", "name").await;
    assert!(!ok);
    assert!(err.contains("complex attribute"), "{err}");
    let (ok, _, err) = set("User Name", "emails.value").await;
    assert!(!ok);
    assert!(err.contains("read-only"), "{err}");
    let (ok, _, err) = run_cli(
        &url,
        &[
            "mappings",
            "delete",
            "--instance",
            "acme",
            "--field",
            "Scim Sync Job Title",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let (_, changed, _) = show().await;
    let rows = mapped(&changed);
    assert!(rows.contains(&(
        "Country".into(),
        r#"addresses[type eq "work"].country"#.into()
    )));
    assert!(!rows.iter().any(|(field, _)| field == "Scim Sync Job Title"));

    let (ok, _, err) = run_cli(&url, &["mappings", "reset", "--instance", "acme"]).await;
    assert!(ok, "{err}");
    let (_, reset, _) = show().await;
    assert_eq!(mapped(&reset), mapped(&defaults));
    let (_, table, _) = run_cli(&url, &["mappings", "show", "--instance", "acme"]).await;
    assert!(
        table
            .lines()
            .any(|line| line.starts_with("User Name") && line.contains("read-only")),
        "{table}"
    );
    // A user provisioned through SCIM, then a mapping applied from the command line.
    let mut server = Server::start(&url).await;
    let token = new_key(&url, "acme", "okta").await;
    let (status, zoe) = call(
        reqwest::Method::POST,
        &format!("{}/Users", server.base),
        &token,
        Some(json!({
            "userName": "zoe",
            "title": "CTO",
            "addresses": [{"type": "work", "country": "NZ"}]
        })),
    )
    .await;
    assert_eq!(status, 201);
    assert!(server.signal("TERM").await.success());
    let (ok, _, err) = set("Country", r#"addresses[type eq "work"].country"#).await;
    assert!(ok, "{err}");
    // The preview says what the apply will do, and writes nothing.
    let preview = |format: &'static str| {
        let url = url.clone();
        async move {
            let mut args = vec!["mappings", "preview", "--instance", "acme"];
            args.extend((format == "json").then_some("--json"));
            run_cli(&url, &args).await
        }
    };
    let (ok, out, err) = preview("table").await;
    assert!(ok, "{err}");
    assert!(
        out.contains("would change 1 of 1 users; nothing has been written"),
        "{out}"
    );
    assert!(
        out.lines().any(|line| line.starts_with("zoe")
            && line.contains("Country")
            && line.contains("(blank)")
            && line.contains("NZ")),
        "{out}"
    );
    let (_, out, _) = preview("json").await;
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap_or_default(),
        json!({"users": 1, "changed": 1, "sample": [
            {"id": zoe["id"], "userName": "zoe",
             "changes": [{"field": "Country", "old": null, "new": "NZ"}]}
        ]})
    );
    let apply = || run_cli(&url, &["mappings", "apply", "--instance", "acme", "--json"]);
    let (ok, out, err) = apply().await;
    assert!(ok, "{err}");
    assert!(err.contains("mapped 1 users so far, 1 changed"), "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap_or_default(),
        json!({"users": 1, "changed": 1})
    );
    let (ok, out, err) = run_cli(&url, &["directory", "show", "--instance", "acme", "ZOE"]).await;
    assert!(ok, "{err}");
    let entry: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(entry["state"], "active");
    assert_eq!(entry["managedByScim"], true);
    assert_eq!(
        entry["fields"],
        json!({"User Name": "zoe", "Scim Sync Job Title": "CTO", "Country": "NZ"})
    );
    let (_, out, _) = apply().await;
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap_or_default(),
        json!({"users": 1, "changed": 0})
    );
    let (ok, _, err) = run_cli(&url, &["directory", "show", "--instance", "acme", "nobody"]).await;
    assert!(!ok);
    assert!(err.contains("no user named"), "{err}");
}

async fn the_cli_imports_existing_accounts(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let files = tempfile::tempdir().expect("a temporary directory");
    let good = files.path().join("accounts.jsonl");
    std::fs::write(
        &good,
        "{\"userName\": \"ann@corp\"}\n{\"userName\": \"bob@corp\", \"title\": \"Clerk\"}\n",
    )
    .expect("the file is written");
    let path = good.to_string_lossy().to_string();
    let import = |path: String| {
        let url = url.clone();
        async move { run_cli(&url, &["import", "--instance", "acme", &path, "--json"]).await }
    };
    let (ok, out, err) = import(path.clone()).await;
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(report, json!({"imported": 2, "skipped": 0, "rejected": []}));
    assert!(err.contains("imported 2 accounts so far"), "{err}");
    let (_, out, _) = import(path).await;
    let report: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(report["skipped"], 2);

    let bad = files.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"userName\": \"cat@corp\"}\nnot json\n").expect("written");
    let (ok, _, err) = run_cli(
        &url,
        &["import", "--instance", "acme", &bad.to_string_lossy()],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("line 2: not a JSON object"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let (ok, out, _) = run_cli(
        &url,
        &["directory", "show", "--instance", "acme", "cat@corp"],
    )
    .await;
    assert!(!ok, "{out}");
    let (ok, out, err) = run_cli(
        &url,
        &["directory", "show", "--instance", "acme", "bob@corp"],
    )
    .await;
    assert!(ok, "{err}");
    let entry: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(entry["managedByScim"], false);
}

async fn the_cli_exports_the_history(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let files = tempfile::tempdir().expect("a temporary directory");
    let accounts = files.path().join("accounts.jsonl");
    std::fs::write(
        &accounts,
        "{\"userName\": \"ann\", \"title\": \"Clerk, senior\"}\n",
    )
    .expect("the file is written");
    let (ok, _, err) = run_cli(
        &url,
        &["import", "--instance", "acme", &accounts.to_string_lossy()],
    )
    .await;
    assert!(ok, "{err}");
    let history = |format: &'static str| {
        let url = url.clone();
        async move {
            run_cli(
                &url,
                &[
                    "history",
                    "--instance",
                    "acme",
                    "--format",
                    format,
                    "--user",
                    "ANN",
                ],
            )
            .await
        }
    };
    let (ok, out, err) = history("jsonl").await;
    assert!(ok, "{err}");
    let entries: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_default())
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["UserImported", "UserMapped"]);
    assert_eq!(entries[0]["source"], "import");
    assert_eq!(
        entries[0]["details"]["attributes"]["title"],
        "Clerk, senior"
    );

    let (ok, out, err) = history("csv").await;
    assert!(ok, "{err}");
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let headers = reader.headers().cloned().unwrap_or_default();
    assert_eq!(headers.get(10), Some("action"));
    let rows: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get(10), Some("UserImported"));
    assert!(rows[0]
        .get(11)
        .is_some_and(|details| details.contains("Clerk, senior")));

    // Rebuilt from the event log, the history reads the same.
    let (ok, rebuilt, err) = run_cli(&url, &["rebuild", "--json"]).await;
    assert!(ok, "{err}");
    let rebuilt: Value = serde_json::from_str(&rebuilt).unwrap_or_default();
    // The instance's creation, and ann's two.
    assert_eq!(rebuilt["events"], 3, "{rebuilt}");
    let (_, again, _) = history("jsonl").await;
    let again: Vec<Value> = again
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_default())
        .collect();
    assert_eq!(again, entries);

    let (ok, out, _) = history("table").await;
    assert!(ok);
    assert!(
        out.lines()
            .next()
            .is_some_and(|line| line.starts_with("POSITION")),
        "{out}"
    );
    let (ok, _, err) = run_cli(
        &url,
        &["history", "--instance", "acme", "--since", "yesterday"],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("RFC 3339"), "{err}");
}
