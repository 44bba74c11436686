//! The change feed as the application follows it: public events from IdP-shaped requests, paged
//! by cursor, long-polled, streamed, and printed by `scimd events`; published once, in log
//! order, for every instance apart, and never renumbered.

use crate::common::admin_api::{call, with_admin_api, ADMIN_TOKEN};
use crate::common::cli::{open_store, run_cli, SCIMD};
use crate::common::server::Server;
use crate::common::{fresh_database, StoreKind};
use crate::common::{user, TestApp};
use crate::{on_both_store_kinds, on_both_stores_with};
use projections::db::Sql;
use reqwest::Method;
use scimd::admin;
use serde_json::{json, Value};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

on_both_stores_with!(with_admin_api;
    every_type_is_published_with_the_resource_after_the_change,
    one_request_is_one_user_updated_with_attribute_and_field_changes,
    pages_give_every_event_once_in_order_while_writers_are_busy,
    types_filter_and_each_instance_sees_only_its_own,
    bad_requests_are_refused_with_the_reason,
    a_long_poll_returns_when_an_event_arrives_and_empty_when_the_wait_is_over,
    the_stream_delivers_events_and_resumes_after_the_last_event_id,
    the_cli_prints_the_feed_and_follows_it,
    a_store_without_a_feed_publishes_its_history_once,
    rebuild_and_verify_leave_the_feed_as_it_was,
    a_command_cut_by_the_end_of_a_batch_is_published_whole,
);

on_both_store_kinds!(an_open_stream_ends_when_the_server_shuts_down);

/// One page of the default instance's feed.
async fn page(app: &TestApp, query: &str) -> (u16, Value) {
    call(
        app,
        Method::GET,
        &format!("/instances/default/events{query}"),
        None,
    )
    .await
}

/// Every event of the default instance's feed.
async fn feed(app: &TestApp) -> Vec<Value> {
    let (status, body) = page(app, "?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().cloned().unwrap_or_default()
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["type"].as_str().unwrap_or_default())
        .collect()
}

async fn every_type_is_published_with_the_resource_after_the_change(app: TestApp) {
    let created = app
        .post(
            "/Users",
            json!({"userName": "ann@corp.example", "externalId": "00u1",
                   "name": {"givenName": "Ann", "familyName": "Lee"},
                   "emails": [{"value": "ann@corp.example", "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let ann = created.id();
    let path = format!("/Users/{ann}");
    let off = json!([{"op": "replace", "path": "active", "value": false}]);
    assert_eq!(app.patch(&path, off).await.status, 200);
    let on = json!([{"op": "replace", "path": "active", "value": true}]);
    assert_eq!(app.patch(&path, on).await.status, 200);
    let put = app
        .put(
            &path,
            json!({"userName": "ann@corp.example", "externalId": "00u1",
                   "name": {"givenName": "Ann", "familyName": "Smith"},
                   "emails": [{"value": "ann@corp.example", "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    let bob = app.create_user("bob@corp.example").await;
    let group = app.create_group("Engineering", &[&ann]).await;
    let group_path = format!("/Groups/{group}");
    let renamed = app
        .patch(
            &group_path,
            json!([{"op": "replace", "path": "displayName", "value": "R&D"}]),
        )
        .await;
    // Group PATCHes answer 204 unless the client asks for the resource.
    assert!(matches!(renamed.status, 200 | 204), "{:?}", renamed.body);
    let add = json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]);
    assert!(matches!(
        app.patch(&group_path, add).await.status,
        200 | 204
    ));
    let remove = json!([{"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]);
    assert!(matches!(
        app.patch(&group_path, remove).await.status,
        200 | 204
    ));
    assert_eq!(app.delete(&group_path).await.status, 204);
    assert_eq!(app.delete(&path).await.status, 204);

    let events = feed(&app).await;
    assert_eq!(
        types(&events),
        [
            "user.created",
            "user.suspended",
            "user.reactivated",
            "user.updated",
            "user.created",
            "group.created",
            "group.member_added",
            "group.renamed",
            "group.member_added",
            "group.member_removed",
            "group.deleted",
            "user.deleted",
        ]
    );
    let instance = admin::instance(&app.store, "default")
        .await
        .expect("the default instance");
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event["version"], 1);
        assert_eq!(event["instanceId"], instance.id.as_str());
        assert_eq!(event["actor"]["source"], "scim");
        assert!(event["actor"]["keyId"].is_string(), "{event}");
        assert!(event["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("evt_")));
        assert!(event["correlationId"].is_string() && event["occurredAt"].is_string());
        if n > 0 {
            let cursor = |e: &Value| e["cursor"].as_str().and_then(|c| c.parse::<i64>().ok());
            assert!(cursor(event) > cursor(&events[n - 1]), "{events:?}");
        }
    }
    let first = &events[0]["data"]["resource"];
    assert_eq!(first["id"], ann.as_str());
    assert_eq!(first["userName"], "ann@corp.example");
    assert_eq!(first["externalId"], "00u1");
    assert_eq!(first["state"], "active");
    assert_eq!(first["active"], true);
    assert_eq!(first["attributes"]["name"]["familyName"], "Lee");
    assert_eq!(first["fields"]["First Name"], "Ann");
    assert_eq!(events[1]["data"]["resource"]["state"], "suspended");
    assert_eq!(events[1]["data"]["resource"]["active"], false);
    assert_eq!(events[2]["data"]["resource"]["state"], "active");
    let updated = &events[3]["data"];
    assert_eq!(
        updated["resource"]["attributes"]["name"]["familyName"],
        "Smith"
    );
    assert_eq!(
        updated["changes"],
        json!([
            {"kind": "attribute", "name": "name.familyName", "old": "Lee", "new": "Smith"},
            {"kind": "field", "name": "Last Name", "old": "Lee", "new": "Smith"},
        ])
    );
    assert_eq!(
        events[5]["data"]["resource"],
        json!({"id": group, "displayName": "Engineering", "externalId": null})
    );
    assert_eq!(
        events[6]["data"]["member"],
        json!({"type": "user", "id": ann, "userName": "ann@corp.example"})
    );
    assert_eq!(events[7]["data"]["resource"]["displayName"], "R&D");
    assert_eq!(events[7]["data"]["previousDisplayName"], "Engineering");
    assert_eq!(events[8]["data"]["member"]["userName"], "bob@corp.example");
    assert_eq!(events[9]["data"]["member"]["id"], ann.as_str());
    assert_eq!(events[11]["data"]["resource"]["state"], "deleted");
}

async fn one_request_is_one_user_updated_with_attribute_and_field_changes(app: TestApp) {
    let id = app
        .post(
            "/Users",
            json!({"userName": "cy", "title": "Engineer", "name": {"givenName": "Cy"}}),
        )
        .await
        .id();
    let changed = app
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "title", "value": "Lead"},
                {"op": "replace", "path": "nickName", "value": "C"},
                {"op": "replace", "path": "active", "value": false}
            ]),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let events = feed(&app).await;
    assert_eq!(
        types(&events),
        ["user.created", "user.updated", "user.suspended"]
    );
    assert_eq!(
        events[0]["data"]["resource"]["fields"]["Scim Sync Job Title"],
        "Engineer"
    );
    assert_eq!(
        events[1]["data"]["changes"],
        json!([
            {"kind": "attribute", "name": "nickName", "old": null, "new": "C"},
            {"kind": "attribute", "name": "title", "old": "Engineer", "new": "Lead"},
            {"kind": "field", "name": "Scim Sync Job Title", "old": "Engineer", "new": "Lead"},
        ])
    );
    assert_eq!(events[1]["correlationId"], events[2]["correlationId"]);
    assert_ne!(events[1]["id"], events[2]["id"]);
}

async fn pages_give_every_event_once_in_order_while_writers_are_busy(app: TestApp) {
    const WRITERS: usize = 4;
    const USERS_EACH: usize = 15;
    let app = std::sync::Arc::new(app);
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let app = std::sync::Arc::clone(&app);
            tokio::spawn(async move {
                for n in 0..USERS_EACH {
                    app.create_user(&format!("w{writer}-{n}")).await;
                }
            })
        })
        .collect();
    let mut seen: Vec<Value> = Vec::new();
    let mut after = "0".to_string();
    let mut done = false;
    loop {
        let (status, body) = page(&app, &format!("?after={after}&limit=7")).await;
        assert_eq!(status, 200, "{body}");
        let events = body["events"].as_array().cloned().unwrap_or_default();
        after = body["next"].as_str().unwrap_or_default().to_string();
        let empty = events.is_empty();
        seen.extend(events);
        if done && empty {
            break;
        }
        done = writers.iter().all(|writer| writer.is_finished());
    }
    for writer in writers {
        writer.await.expect("the writer finished");
    }
    let cursors: Vec<i64> = seen
        .iter()
        .filter_map(|event| event["cursor"].as_str()?.parse().ok())
        .collect();
    assert!(
        cursors.windows(2).all(|pair| pair[0] < pair[1]),
        "{cursors:?}"
    );
    let mut names: Vec<&str> = seen
        .iter()
        .filter_map(|event| event["data"]["resource"]["userName"].as_str())
        .collect();
    assert_eq!(names.len(), WRITERS * USERS_EACH);
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), WRITERS * USERS_EACH);
    assert_eq!(seen, feed(&app).await);
}

async fn types_filter_and_each_instance_sees_only_its_own(app: TestApp) {
    let ann = app.create_user("ann").await;
    app.create_group("Sales", &[&ann]).await;
    let b_token = app.key_for("b", "okta").await;
    let b_user = app
        .send(Method::POST, "/Users", Some(&b_token), Some(&user("bea")))
        .await;
    assert_eq!(b_user.status, 201);
    let (_, only) = page(&app, "?types=group.created,group.member_added").await;
    let only = only["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(types(&only), ["group.created", "group.member_added"]);
    let (_, repeated) = page(&app, "?types=user.created&types=group.created").await;
    let repeated = repeated["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(types(&repeated), ["user.created", "group.created"]);
    let a_names: Vec<Value> = feed(&app)
        .await
        .iter()
        .map(|event| event["data"]["resource"]["id"].clone())
        .collect();
    assert!(!a_names.contains(&json!(b_user.id())));
    let b = admin::instance(&app.store, "b").await.expect("instance b");
    for name in ["b", b.id.as_str()] {
        let (status, body) = call(
            &app,
            Method::GET,
            &format!("/instances/{name}/events"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let events = body["events"].as_array().cloned().unwrap_or_default();
        assert_eq!(types(&events), ["user.created"]);
        assert_eq!(events[0]["data"]["resource"]["userName"], "bea");
        assert_eq!(events[0]["instanceId"], b.id.as_str());
    }
}

async fn bad_requests_are_refused_with_the_reason(app: TestApp) {
    for (query, says) in [
        ("?after=abc", "cursor"),
        ("?after=-3", "cursor"),
        ("?types=user.exploded", "user.exploded"),
        ("?wait=61", "wait"),
        ("?wait=soon", "wait"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
    ] {
        let (status, body) = page(&app, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|error| error.contains(says)),
            "{query}: {body}"
        );
    }
    let (status, body) = call(&app, Method::GET, "/instances/nowhere/events", None).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = crate::common::admin_api::admin(
        &app,
        Method::GET,
        "/instances/default/events",
        Some(&app.token),
        None,
    )
    .await;
    assert_eq!(status, 403, "a SCIM key is not an admin credential");
    let (status, _) = crate::common::admin_api::admin(
        &app,
        Method::GET,
        "/instances/default/events/stream",
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
}

async fn a_long_poll_returns_when_an_event_arrives_and_empty_when_the_wait_is_over(app: TestApp) {
    app.create_user("first").await;
    let (_, body) = page(&app, "").await;
    let next = body["next"].as_str().unwrap_or_default().to_string();
    let (status, empty) = page(&app, &format!("?after={next}&wait=1")).await;
    assert_eq!(status, 200);
    assert_eq!(empty, json!({"events": [], "next": next}));
    let app = std::sync::Arc::new(app);
    let polling = {
        let app = std::sync::Arc::clone(&app);
        let query = format!("?after={next}&wait=60");
        tokio::spawn(async move { page(&app, &query).await })
    };
    app.create_user("second").await;
    let (status, body) = polling.await.expect("the poll answers");
    assert_eq!(status, 200, "{body}");
    let events = body["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 1, "{body}");
    assert_eq!(events[0]["data"]["resource"]["userName"], "second");
    assert_eq!(body["next"], events[0]["cursor"]);
}

/// The SSE events of an open stream, as (id, event, data), until `count` have come.
async fn read_events(
    response: &mut reqwest::Response,
    count: usize,
) -> Vec<(String, String, Value)> {
    let mut text = String::new();
    let mut events = Vec::new();
    while events.len() < count {
        let chunk = response
            .chunk()
            .await
            .expect("the stream reads")
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|line| line.strip_prefix(&format!("{name}: ")))
                    .or_else(|| {
                        block
                            .lines()
                            .find_map(|line| line.strip_prefix(&format!("{name}:")))
                    })
                    .map(str::to_string)
            };
            if let (Some(id), Some(event), Some(data)) =
                (field("id"), field("event"), field("data"))
            {
                events.push((id, event, serde_json::from_str(&data).unwrap_or_default()));
            }
        }
    }
    events
}

async fn open_stream(app: &TestApp, last_event_id: Option<&str>) -> reqwest::Response {
    let url = format!(
        "http://{}/admin/v1/instances/default/events/stream",
        app.address
    );
    let mut request = app.client.get(url).bearer_auth(ADMIN_TOKEN);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.expect("scimd answers");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok()),
        Some("text/event-stream")
    );
    response
}

async fn the_stream_delivers_events_and_resumes_after_the_last_event_id(app: TestApp) {
    app.create_user("one").await;
    let mut stream = open_stream(&app, None).await;
    let first = read_events(&mut stream, 1).await;
    assert_eq!(first[0].1, "user.created");
    assert_eq!(first[0].2["data"]["resource"]["userName"], "one");
    assert_eq!(first[0].2["cursor"], first[0].0.as_str());
    app.create_user("two").await;
    app.create_user("three").await;
    let more = read_events(&mut stream, 2).await;
    let names: Vec<&Value> = more
        .iter()
        .map(|(_, _, doc)| &doc["data"]["resource"]["userName"])
        .collect();
    assert_eq!(names, [&json!("two"), &json!("three")]);
    drop(stream);
    let mut resumed = open_stream(&app, Some(&more[0].0)).await;
    let again = read_events(&mut resumed, 1).await;
    assert_eq!(again[0], more[1]);
}

async fn the_cli_prints_the_feed_and_follows_it(app: TestApp) {
    app.create_user("printed").await;
    let (ok, out, err) = run_cli(&app.database_url, &["events", "--instance", "default"]).await;
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a document"))
        .collect();
    assert_eq!(lines, feed(&app).await);
    let (ok, _, err) = run_cli(&app.database_url, &["events", "--instance", "nowhere"]).await;
    assert!(!ok);
    assert!(err.contains("nowhere"), "{err}");
    let (ok, _, err) = run_cli(
        &app.database_url,
        &["events", "--instance", "default", "--type", "user.exploded"],
    )
    .await;
    assert!(!ok && err.contains("user.exploded"), "{err}");

    let cursor = lines[0]["cursor"].as_str().unwrap_or_default().to_string();
    let mut follower = tokio::process::Command::new(SCIMD)
        .args([
            "events",
            "--instance",
            "default",
            "--follow",
            "--after",
            &cursor,
        ])
        .env("SCIMD_DATABASE_URL", &app.database_url)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("scimd runs");
    let stdout = follower.stdout.take().expect("its stdout");
    let mut lines = BufReader::new(stdout).lines();
    app.create_user("followed").await;
    let line = lines
        .next_line()
        .await
        .expect("stdout reads")
        .expect("a line comes");
    let followed: Value = serde_json::from_str(&line).expect("a document");
    assert_eq!(followed["data"]["resource"]["userName"], "followed");
    let pid = follower.id().expect("it runs").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(killed.success());
    let status = follower.wait().await.expect("it exits");
    assert!(status.success(), "{status:?}");
}

async fn all_documents(store: &scimd::store::Store) -> Vec<(i64, String, String)> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        seq: i64,
        id: String,
        document: String,
    }
    let rows: Vec<Row> = store
        .db
        .fetch_all(&Sql::new(
            "SELECT seq, id, document FROM feed_events ORDER BY seq",
        ))
        .await
        .expect("the feed reads");
    rows.into_iter()
        .map(|row| (row.seq, row.id, row.document))
        .collect()
}

async fn forget(store: &scimd::store::Store, tables: &[&str]) {
    let mut statements: Vec<Sql> = tables
        .iter()
        .map(|table| Sql::new(format!("DELETE FROM {table}")))
        .collect();
    statements.push(Sql::new(
        "DELETE FROM projection_checkpoints WHERE name = 'feed'",
    ));
    store
        .db
        .execute_all(statements)
        .await
        .expect("the feed is forgotten");
}

/// Another process starting on the store: it prepares the projections and catches up.
async fn start_again(database_url: &str) -> scimd::store::Store {
    let store = open_store(database_url).await;
    store
        .projector
        .prepare()
        .await
        .expect("the projections are prepared");
    admin::catch_up(&store).await.expect("it catches up");
    store
}

async fn a_store_without_a_feed_publishes_its_history_once(app: TestApp) {
    let ann = app.create_user("ann").await;
    let off = json!([{"op": "replace", "path": "active", "value": false},
                     {"op": "replace", "path": "title", "value": "Lead"}]);
    assert_eq!(app.patch(&format!("/Users/{ann}"), off).await.status, 200);
    app.create_group("Ops", &[&ann]).await;
    let published = all_documents(&app.store).await;
    assert_eq!(published.len(), 5);

    // A deployment upgrading to the feed: events, no feed, no checkpoint.
    forget(&app.store, &["feed_events", "feed_users", "feed_groups"]).await;
    let store = start_again(&app.database_url).await;
    assert_eq!(
        all_documents(&store).await,
        published,
        "the same log gives the same feed"
    );

    // A checkpoint lost with the feed kept: nothing is published twice, nothing renumbered.
    forget(&store, &[]).await;
    let store = start_again(&app.database_url).await;
    assert_eq!(all_documents(&store).await, published);
    app.create_user("bob").await;
    let now = all_documents(&app.store).await;
    assert_eq!(now.len(), published.len() + 1);
    assert_eq!(now[published.len()].0, published[published.len() - 1].0 + 1);
}

async fn rebuild_and_verify_leave_the_feed_as_it_was(app: TestApp) {
    let ann = app.create_user("ann").await;
    app.create_group("Ops", &[&ann]).await;
    assert_eq!(app.delete(&format!("/Users/{ann}")).await.status, 204);
    let published = all_documents(&app.store).await;
    let (ok, _, err) = run_cli(&app.database_url, &["rebuild"]).await;
    assert!(ok, "{err}");
    assert_eq!(all_documents(&app.store).await, published);
    let (ok, out, err) = run_cli(&app.database_url, &["--json", "verify"]).await;
    assert!(ok, "{out}{err}");
    assert_eq!(all_documents(&app.store).await, published);
    // Still numbered on from where it was.
    app.create_user("bob").await;
    let now = all_documents(&app.store).await;
    assert_eq!(now.len(), published.len() + 1);
}

/// The log's events in the projector's order: (aggregate id, event type, transaction, position).
async fn log_order(store: &scimd::store::Store) -> Vec<(String, String, i64, i64)> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        aggregate_id: String,
        event_type: String,
        transaction_id: i64,
        position: i64,
    }
    let sql = match store.db.dialect() {
        projections::db::Dialect::Sqlite => {
            "SELECT aggregate_id, event_type, 0 AS transaction_id, position FROM events
              ORDER BY position"
        }
        projections::db::Dialect::Postgres => {
            "SELECT aggregate_id, event_type, transaction_id::text::bigint AS transaction_id,
                    position FROM events ORDER BY events.transaction_id, events.position"
        }
    };
    let rows: Vec<Row> = store
        .db
        .fetch_all(&Sql::new(sql))
        .await
        .expect("the log reads");
    rows.into_iter()
        .map(|row| {
            (
                row.aggregate_id,
                row.event_type,
                row.transaction_id,
                row.position,
            )
        })
        .collect()
}

/// The projector applies at most this many events per batch.
const BATCH_SIZE: usize = 500;

async fn a_command_cut_by_the_end_of_a_batch_is_published_whole(app: TestApp) {
    // Each create is one command of two events (UserCreated, then UserMapped for User Name):
    // line them up so that the first batch ends between the two events of one of them.
    let before = log_order(&app.store).await.len();
    if (BATCH_SIZE - before) % 2 == 0 {
        app.create_group("Shift by one event", &[]).await;
    }
    let mut n = 0;
    while log_order(&app.store).await.len() < BATCH_SIZE + 2 {
        app.create_user(&format!("user-{n}")).await;
        n += 1;
    }
    let log = log_order(&app.store).await;
    let (cut_id, cut_type, cut_transaction, cut_position) = log[BATCH_SIZE - 1].clone();
    assert_eq!(cut_type, "UserCreated", "the batch ends inside a command");
    assert_eq!(log[BATCH_SIZE].0, cut_id);
    let published = all_documents(&app.store).await;

    // Published by a process whose batches follow each other: the command is held open.
    forget(&app.store, &["feed_events", "feed_users", "feed_groups"]).await;
    let store = start_again(&app.database_url).await;
    assert_eq!(all_documents(&store).await, published);

    // A process that stopped after the first batch: the next reads the command's start back.
    let cut_seq = published
        .iter()
        .find(|(_, id, _)| id.starts_with(&format!("evt_{cut_id}_")))
        .map(|(seq, _, _)| *seq)
        .expect("the cut user was published");
    store
        .db
        .execute_all(vec![
            Sql::new("DELETE FROM feed_events WHERE seq >= $1").bind(cut_seq),
            Sql::new(
                "UPDATE projection_checkpoints SET transaction_id = $1, position = $2
                  WHERE name = 'feed'",
            )
            .bind(cut_transaction)
            .bind(cut_position),
        ])
        .await
        .expect("the feed is set back into the command");
    let store = start_again(&app.database_url).await;
    assert_eq!(all_documents(&store).await, published);
}

async fn an_open_stream_ends_when_the_server_shuts_down(kind: StoreKind) {
    let (url, _dir) = fresh_database(kind).await;
    // A grace far longer than the test: only a stream that ends lets the server exit in it.
    let env = [("SCIMD_ADMIN_TOKEN", ADMIN_TOKEN), ("RUST_LOG", "warn")];
    let mut server = Server::start_logging(&url, &["--shutdown-grace-secs", "600"], &env).await;
    let admin = server.base.replace("/scim/v2", "/admin/v1");
    let client = reqwest::Client::new();
    let stream_url = format!("{admin}/instances/default/events/stream");
    let mut stream = client
        .get(&stream_url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(stream.status(), 200);
    server.send_signal("TERM").await;
    while let Ok(Some(_)) = stream.chunk().await {}
    let exit = server.child.wait().await.expect("scimd exits");
    assert!(exit.success(), "{exit:?}");
    let logs = match &server.logs {
        Some(logs) => logs.after_exit().await,
        None => Vec::new(),
    };
    assert!(
        !logs.iter().any(|line| line.contains("still in flight")),
        "{logs:?}"
    );
}
