//! The provisioning log: every SCIM request of an instance with its outcome, found by the
//! correlation id the IdP saw, by userName or externalId, by failure and by time; failures
//! keep their SCIM error and their body without credentials; old entries are pruned.

use crate::common::admin_api::{call as admin_call, with_admin_api};
use crate::common::cli::{database_with_instance, open_store, run_cli};
use crate::common::server::{call, new_key, Server};
use crate::common::{encode, user, Reply, StoreKind, TestApp};
use crate::{on_both_store_kinds, on_both_stores_with};
use reqwest::Method;
use scimd::admin;
use scimd::startup::ServerSettings;
use scimd::store::provisioning_log::{insert, LogEntry, SubjectKind};
use serde_json::{json, Value};
use std::time::Duration;

on_both_stores_with!(with_admin_api;
    creates_and_conflicts_are_logged_with_the_ids_the_idp_saw,
    a_failure_keeps_its_body_but_never_a_credential,
    the_log_is_found_by_failure_user_and_time_and_read_page_by_page,
    a_bulk_request_with_a_failed_operation_is_a_failure,
    the_cli_table_shows_what_a_request_sent_as_text,
);
on_both_stores_with!(pruning_often;
    entries_past_retention_are_pruned_while_the_server_runs,
);
on_both_store_kinds!(
    the_cli_prints_the_log_as_a_table_and_as_json_lines,
    entries_past_retention_are_pruned_when_the_server_starts,
);

fn pruning_often() -> ServerSettings {
    ServerSettings {
        provisioning_log_prune_every: Duration::from_millis(50),
        ..with_admin_api()
    }
}

const USER_AGENT: &str = "Okta SCIM Client 1.0.0";

/// A SCIM request as an IdP sends it, with its user agent.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("user-agent", USER_AGENT);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    Reply::read(request.send().await.expect("scimd answers")).await
}

/// The entries of `instance`'s log the admin API lists for `query`, all on one page.
pub(crate) async fn log_of(app: &TestApp, instance: &str, query: &str) -> Vec<Value> {
    let path = format!("/instances/{instance}/provisioning-log?{query}");
    let (status, page) = admin_call(app, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["nextCursor"], Value::Null, "{page}");
    page["entries"].as_array().cloned().unwrap_or_default()
}

async fn log(app: &TestApp, query: &str) -> Vec<Value> {
    log_of(app, admin::DEFAULT_INSTANCE, query).await
}

fn statuses(entries: &[Value]) -> Vec<i64> {
    entries
        .iter()
        .filter_map(|e| e["status"].as_i64())
        .collect()
}

fn key_id(token: &str) -> String {
    token.split('_').nth(1).unwrap_or_default().to_string()
}

async fn creates_and_conflicts_are_logged_with_the_ids_the_idp_saw(app: TestApp) {
    let new_user = json!({"userName": "ann@corp", "externalId": "00u-ann"});
    let created = send(&app, Method::POST, "/Users", &app.token, Some(new_user)).await;
    assert_eq!(created.status, 201);
    let again = json!({"userName": "ANN@corp"});
    let conflict = send(
        &app,
        Method::POST,
        "/Users",
        &app.token,
        Some(again.clone()),
    )
    .await;
    assert_eq!(conflict.status, 409);

    let entries = log(&app, "").await;
    assert_eq!(statuses(&entries), [201, 409], "{entries:#?}");
    for (entry, reply) in entries.iter().zip([&created, &conflict]) {
        assert_eq!(entry["method"], "POST");
        assert_eq!(entry["path"], "/scim/v2/Users");
        assert_eq!(
            entry["correlationId"],
            reply.header("x-request-id").unwrap_or("?")
        );
        assert_eq!(entry["keyId"], key_id(&app.token));
        assert_eq!(entry["userAgent"], USER_AGENT);
        assert!(
            entry["latencyMs"].as_f64().is_some_and(|ms| ms > 0.0),
            "{entry}"
        );
    }
    let (ok, failed) = (&entries[0], &entries[1]);
    assert_eq!(ok["failed"], false);
    assert_eq!(ok["resourceId"], created.id());
    assert_eq!(ok["userName"], "ann@corp");
    assert_eq!(ok["externalId"], "00u-ann");
    assert_eq!(ok["body"], Value::Null);
    assert_eq!(failed["failed"], true);
    assert_eq!(failed["scimType"], "uniqueness");
    assert_eq!(failed["detail"], "userName is already in use");
    assert_eq!(failed["body"], again);
    // The IdP's own log shows the detail with our correlation id in it.
    let correlation = failed["correlationId"].as_str().unwrap_or("?");
    assert!(conflict.body["detail"]
        .as_str()
        .is_some_and(|detail| detail.contains(correlation)));

    // A conflict with another instance's user is in that instance's log, not in ours.
    let other = app.key_for("other", "entra").await;
    let clash = send(&app, Method::POST, "/Users", &other, Some(user("ann@corp"))).await;
    assert_eq!(clash.status, 409);
    let theirs = log_of(&app, "other", "failed=true").await;
    assert_eq!(statuses(&theirs), [409]);
    assert_eq!(theirs[0]["scimType"], "uniqueness");
    assert_eq!(theirs[0]["keyId"], key_id(&other));
    assert_eq!(log(&app, "").await.len(), 2);
}

const SECRET: &str = "Hunter2-must-never-be-logged";

#[derive(sqlx::FromRow, serde::Deserialize)]
struct StoredText {
    stored: Option<String>,
}

async fn a_failure_keeps_its_body_but_never_a_credential(app: TestApp) {
    let refused = send(
        &app,
        Method::POST,
        "/Users",
        &app.token,
        Some(json!({
            "userName": "cred@corp",
            "password": SECRET,
            "roles": [{"value": "Administrator"}],
            "urn:example:params:custom": {"api_token": SECRET, "pin": SECRET},
        })),
    )
    .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    let patch = json!({"Operations": [
        {"op": "replace", "path": "password", "value": SECRET},
        {"op": "Replace", "value": {"password": SECRET, "active": false}},
    ]});
    let missing = send(
        &app,
        Method::PATCH,
        "/Users/no-such-user",
        &app.token,
        Some(patch),
    )
    .await;
    assert_eq!(missing.status, 404);
    let filter = encode(&format!("password eq \"{SECRET}\""));
    send(
        &app,
        Method::GET,
        &format!("/Users?filter={filter}"),
        &app.token,
        None,
    )
    .await;
    // Not JSON, so not stored at all: a form post of a password is still a password.
    let form = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body(format!("userName=cred&password={SECRET}"))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(form.status().as_u16(), 400);

    let entries = log(&app, "").await;
    assert_eq!(entries.len(), 4, "{entries:#?}");
    let body = &entries[0]["body"];
    assert_eq!(body["userName"], "cred@corp");
    assert_eq!(body["password"], "[redacted]");
    assert_eq!(body["urn:example:params:custom"]["api_token"], "[redacted]");
    assert_eq!(entries[0]["scimType"], "invalidValue");
    assert_eq!(entries[1]["body"]["Operations"][0]["value"], "[redacted]");
    assert_eq!(entries[2]["path"], "/scim/v2/Users?[redacted]");
    let withheld = format!(
        "body withheld: not valid JSON ({} bytes)",
        23 + SECRET.len()
    );
    assert_eq!(entries[3]["body"], withheld);
    // Every column of every row, as the database holds it.
    let rows: Vec<StoredText> = app
        .store
        .db
        .fetch_all(&projections::db::Sql::new(
            "SELECT path || ' ' || coalesce(body, '') || ' ' || coalesce(detail, '') || ' ' ||
                    coalesce(user_name, '') || ' ' || coalesce(external_id, '') AS stored
               FROM provisioning_log
             UNION ALL
             SELECT value AS stored FROM provisioning_log_subjects",
        ))
        .await
        .expect("the log reads");
    let stored: Vec<String> = rows.into_iter().filter_map(|row| row.stored).collect();
    assert!(stored.iter().any(|text| text.contains("cred@corp")));
    assert!(
        stored.iter().all(|text| !text.contains(SECRET)),
        "{stored:#?}"
    );
}

async fn the_log_is_found_by_failure_user_and_time_and_read_page_by_page(app: TestApp) {
    let ann = app.create_user("ann").await;
    assert_eq!(app.post("/Users", user("ann")).await.status, 409);
    let title = json!([{"op": "replace", "path": "title", "value": "Lead"}]);
    assert_eq!(app.patch(&format!("/Users/{ann}"), title).await.status, 200);
    let lookup = format!("/Users?filter={}", encode("userName eq \"bob\""));
    assert_eq!(app.get(&lookup).await.status, 200);
    let bob = json!({"userName": "bob", "externalId": "ext-bob"});
    assert_eq!(app.post("/Users", bob).await.status, 201);
    assert_eq!(app.delete("/Users/no-such-user").await.status, 404);
    // A wrong path is the IdP's mistake, but support must see it.
    assert_eq!(app.get("/Userz").await.status, 404);
    // A revoked key of this instance is refused and logged; a token naming no key is not.
    let revoked = app.key_for(admin::DEFAULT_INSTANCE, "old-sync").await;
    admin::revoke_key(&app.store, &key_id(&revoked), &crate::common::operator())
        .await
        .expect("the key is revoked");
    assert_eq!(
        send(&app, Method::GET, "/Users", &revoked, None)
            .await
            .status,
        401
    );
    let unknown = "scimd_00000000000000000000000000000000_nope";
    assert_eq!(
        send(&app, Method::GET, "/Users", unknown, None)
            .await
            .status,
        401
    );

    let all = log(&app, "").await;
    assert_eq!(
        statuses(&all),
        [201, 409, 200, 200, 201, 404, 404, 401],
        "{all:#?}"
    );
    assert_eq!(all[6]["path"], "/scim/v2/Userz");
    assert_eq!(all[7]["keyId"], key_id(&revoked));
    let sequences: Vec<i64> = all.iter().filter_map(|e| e["sequence"].as_i64()).collect();
    assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]));

    assert_eq!(
        statuses(&log(&app, "failed=true").await),
        [409, 404, 404, 401]
    );
    // The PATCH by id is about ann too: the change history knows whose id it is.
    let about_ann = log(&app, "user=ANN").await;
    let methods: Vec<&str> = about_ann
        .iter()
        .filter_map(|e| e["method"].as_str())
        .collect();
    assert_eq!(methods, ["POST", "POST", "PATCH"], "{about_ann:#?}");
    let about_bob = log(&app, "user=bob").await;
    assert_eq!(about_bob, [all[3].clone(), all[4].clone()]);
    assert_eq!(log(&app, "externalId=ext-bob").await, [all[4].clone()]);
    assert_eq!(log(&app, "user=ann&failed=true").await, [all[1].clone()]);
    // The X-Request-Id an IdP's error quotes leads to exactly that request.
    let correlation_id = all[1]["correlationId"].as_str().unwrap_or_default();
    assert!(!correlation_id.is_empty(), "{:?}", all[1]);
    let by_correlation = log(&app, &format!("correlationId={correlation_id}")).await;
    assert_eq!(by_correlation, [all[1].clone()]);
    assert!(log(&app, "correlationId=no-such-request").await.is_empty());

    let at = |index: usize| encode(all[index]["at"].as_str().unwrap_or_default());
    assert_eq!(log(&app, &format!("since={}", at(4))).await, all[4..]);
    assert_eq!(log(&app, &format!("until={}", at(1))).await, all[..2]);
    assert!(log(&app, "since=2999-01-01T00:00:00Z").await.is_empty());

    let base = "/instances/default/provisioning-log";
    let mut paged = Vec::new();
    let mut query = format!("{base}?count=3");
    loop {
        let (status, page) = admin_call(&app, Method::GET, &query, None).await;
        assert_eq!(status, 200);
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        assert!(entries.len() <= 3);
        paged.extend(entries);
        match page["nextCursor"].as_str() {
            Some(cursor) => query = format!("{base}?count=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, all);
    // Latest first, as the console shows it: the same entries backwards, page by page.
    let mut backwards = Vec::new();
    let mut query = format!("{base}?count=3&order=newest");
    loop {
        let (status, page) = admin_call(&app, Method::GET, &query, None).await;
        assert_eq!(status, 200);
        backwards.extend(page["entries"].as_array().cloned().unwrap_or_default());
        match page["nextCursor"].as_str() {
            Some(cursor) => query = format!("{base}?count=3&order=newest&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(backwards, all.iter().rev().cloned().collect::<Vec<_>>());
    let (status, _) = admin_call(&app, Method::GET, &format!("{base}?cursor=x"), None).await;
    assert_eq!(status, 400);
    let (status, body) = admin_call(&app, Method::GET, &format!("{base}?since=soon"), None).await;
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("RFC 3339")));
    let (status, _) = admin_call(&app, Method::GET, "/instances/nope/provisioning-log", None).await;
    assert_eq!(status, 404);
}

async fn a_bulk_request_with_a_failed_operation_is_a_failure(app: TestApp) {
    app.create_user("ann").await;
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "cat"}},
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "ann"}},
        ],
    });
    let reply = app.post("/Bulk", bulk).await;
    assert_eq!(reply.status, 200);
    // Larger than the server accepts: still refused with 413, and logged without its body.
    // Its own client: scimd closes a connection whose body it did not read, and a pooled
    // connection reused for the next request would fail with it.
    let huge = json!({"userName": "big", "title": "x".repeat(2 * 1024 * 1024)});
    let response = reqwest::Client::new()
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body(huge.to_string())
        .send()
        .await
        .expect("scimd answers");
    let too_large = Reply::read(response).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.body["status"], "413");

    let failures = log(&app, "failed=true").await;
    assert_eq!(statuses(&failures), [200, 413], "{failures:#?}");
    let entry = &failures[0];
    assert_eq!(entry["path"], "/scim/v2/Bulk");
    assert_eq!(entry["scimType"], "uniqueness");
    assert_eq!(
        entry["detail"],
        "1 of 2 operations failed; first: POST /Users 409 uniqueness: userName is already in use"
    );
    // Found by the user of either operation.
    assert_eq!(log(&app, "user=cat").await, std::slice::from_ref(entry));
    assert!(log(&app, "user=ann").await.contains(entry));
    assert!(failures[1]["body"]
        .as_str()
        .is_some_and(|note| note.starts_with("body withheld: not read whole")));
}

async fn the_cli_prints_the_log_as_a_table_and_as_json_lines(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let token = new_key(&url, "acme", "okta").await;
    let mut server = Server::start(&url).await;
    let users = format!("{}/Users", server.base);
    let (status, _) = call(Method::POST, &users, &token, Some(user("zed@corp"))).await;
    assert_eq!(status, 201);
    let again = json!({"userName": "zed@corp", "password": SECRET});
    let (status, _) = call(Method::POST, &users, &token, Some(again)).await;
    assert_eq!(status, 409);
    // A graceful stop writes what is still queued.
    assert!(server.signal("TERM").await.success());

    let show = |options: &'static [&'static str]| {
        let url = url.clone();
        async move {
            let mut args = vec!["provisioning-log", "--instance", "acme"];
            args.extend_from_slice(options);
            run_cli(&url, &args).await
        }
    };
    let (ok, table, err) = show(&[]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("TIME") && lines[0].contains("CORRELATION ID"),
        "{table}"
    );
    assert!(
        lines[1].contains(" 201 ") && lines[1].contains("zed@corp"),
        "{table}"
    );
    assert!(
        lines[2].contains(" 409 ") && lines[2].ends_with("uniqueness: userName is already in use"),
        "{table}"
    );

    let (ok, out, err) = show(&["--failed", "--format", "jsonl"]).await;
    assert!(ok, "{err}");
    let failed: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_default())
        .collect();
    assert_eq!(failed.len(), 1, "{out}");
    assert_eq!(failed[0]["status"], 409);
    assert_eq!(failed[0]["scimType"], "uniqueness");
    assert_eq!(failed[0]["body"]["password"], "[redacted]");
    assert!(!out.contains(SECRET));

    let correlation_id = failed[0]["correlationId"].as_str().unwrap_or_default();
    let by_correlation = ["--correlation-id", correlation_id, "--format", "jsonl"];
    let (ok, out, err) = run_cli(
        &url,
        &[
            &["provisioning-log", "--instance", "acme"][..],
            &by_correlation,
        ]
        .concat(),
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("\"status\":409"), "{out}");

    let (ok, out, err) = show(&["--user", "ZED@corp", "--format", "jsonl"]).await;
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    let (ok, out, _) = show(&["--until", "2000-01-01T00:00:00Z", "--format", "jsonl"]).await;
    assert!(ok);
    assert_eq!(out, "");
    let (ok, _, err) = show(&["--since", "yesterday"]).await;
    assert!(!ok);
    assert!(err.contains("RFC 3339"), "{err}");
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Kept {
    path: String,
}

async fn kept_entries(url: &str) -> (Vec<String>, i64) {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Count {
        total: i64,
    }
    let store = open_store(url).await;
    let sql = projections::db::Sql::new("SELECT path FROM provisioning_log ORDER BY sequence");
    let kept: Vec<Kept> = store.db.fetch_all(&sql).await.expect("the log reads");
    let count =
        projections::db::Sql::new("SELECT count(*) AS total FROM provisioning_log_subjects");
    let subjects: Count = store
        .db
        .fetch_one(&count)
        .await
        .expect("the subjects count");
    store.db.close().await;
    (
        kept.into_iter().map(|row| row.path).collect(),
        subjects.total,
    )
}

/// Waits until the server serves requests: by then it has pruned (the port is bound, and
/// printed, earlier).
async fn serving(server: &Server) {
    let healthz = server.base.replace("/scim/v2", "/healthz");
    let answered = reqwest::get(&healthz)
        .await
        .map(|reply| reply.status().as_u16());
    assert_eq!(answered.ok(), Some(200));
}

/// Stops a server once it serves (a SIGTERM before it listens for signals would kill it).
async fn stop(mut server: Server) {
    serving(&server).await;
    assert!(server.signal("TERM").await.success());
}

async fn entries_past_retention_are_pruned_when_the_server_starts(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let store = open_store(&url).await;
    let instance = admin::instance(&store, "acme").await.expect("acme exists");
    let entry = |days| entry_of_days_ago(&instance.id, days);
    insert(&store.db, &[entry(120), entry(91), entry(89), entry(1)])
        .await
        .expect("old entries are written");
    store.db.close().await;

    // 0 keeps entries forever.
    stop(Server::start_with(&url, &["--provisioning-log-retention-days", "0"]).await).await;
    assert_eq!(kept_entries(&url).await.0.len(), 4);

    let server = Server::start(&url).await;
    serving(&server).await;
    let (kept, subjects) = kept_entries(&url).await;
    assert_eq!(
        kept,
        ["/scim/v2/Users?days=89", "/scim/v2/Users?days=1"],
        "the default keeps 90 days"
    );
    assert_eq!(subjects, 2, "pruned entries take their subjects along");
    stop(server).await;

    let server = Server::start_with(&url, &["--provisioning-log-retention-days", "30"]).await;
    serving(&server).await;
    assert_eq!(kept_entries(&url).await.0, ["/scim/v2/Users?days=1"]);
    stop(server).await;
}

/// An entry of `instance_id` in the log, made `days` ago.
fn entry_of_days_ago(instance_id: &str, days: i64) -> LogEntry {
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    LogEntry {
        instance_id: instance_id.to_string(),
        at: projections::metadata::timestamp(at),
        method: "GET".into(),
        path: format!("/scim/v2/Users?days={days}"),
        status: 200,
        correlation_id: uuid::Uuid::new_v4().to_string(),
        subjects: vec![(SubjectKind::UserName, format!("user-{days}"))],
        ..LogEntry::default()
    }
}

async fn entries_past_retention_are_pruned_while_the_server_runs(app: TestApp) {
    let instance = admin::instance(&app.store, admin::DEFAULT_INSTANCE)
        .await
        .expect("the default instance exists");
    let entries = [
        entry_of_days_ago(&instance.id, 91),
        entry_of_days_ago(&instance.id, 2),
    ];
    insert(&app.store.db, &entries)
        .await
        .expect("entries are written");
    // Pruned every 50 ms; polled for up to 30 s, for a loaded machine.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let paths: Vec<Value> = log(&app, "")
            .await
            .iter()
            .map(|e| e["path"].clone())
            .collect();
        if paths == [json!("/scim/v2/Users?days=2")] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not pruned: {paths:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A request's text is chosen by whoever sends it, without a key too: on the operator's
/// terminal, a newline in it would forge a row and an escape sequence retitle the window.
async fn the_cli_table_shows_what_a_request_sent_as_text(app: TestApp) {
    let forged = "\u{1b}]0;owned\u{7}\n2026-01-01T00:00:00.000000Z  201  forged\u{9b}2J";
    let filter = format!(
        "userName eq {}",
        serde_json::to_string(forged).unwrap_or_default()
    );
    let found = app.get(&format!("/Users?filter={}", encode(&filter))).await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    let path = format!("/Users/{}", encode(forged));
    assert_eq!(app.get(&path).await.status, 404);
    let refused = app.post("/Users", user(&format!("x{forged}"))).await;
    assert_eq!(refused.status, 400);
    let logged = log(&app, "").await;

    let args = ["provisioning-log", "--instance", admin::DEFAULT_INSTANCE];
    let (ok, table, err) = run_cli(&app.database_url, &args).await;
    assert!(ok, "{err}");
    assert_eq!(table.lines().count(), logged.len() + 1, "{table}");
    let acted_on = |c: char| c != '\n' && c.is_control();
    assert!(!table.chars().any(acted_on), "{table:?}");
    assert!(
        table.contains("\\u{1b}]0;owned\\u{7}\\n2026-01-01T00:00:00.000000Z  201  forged\\u{9b}2J"),
        "{table}"
    );
}
