//! The directory listing of the admin API: every user of an instance, deleted ones too, with
//! its state and mapped fields, a page at a time in the order they last changed, as an
//! application copies the directory and then keeps its copy up to date.

use crate::common::admin_api::{call, with_admin_api};
use crate::common::cli::run_cli;
use crate::common::{encode, TestApp};
use crate::on_both_stores_with;
use reqwest::Method;
use scimd::admin::import::import_users;
use scimd::admin::DEFAULT_INSTANCE;
use serde_json::{json, Value};

on_both_stores_with!(with_admin_api;
    every_user_is_listed_once_with_its_state_and_mapped_fields,
    updated_since_lists_what_changed_from_then_on,
    a_user_changed_while_a_client_pages_comes_again_at_the_end,
    an_instance_lists_only_its_own_users,
    bad_listing_parameters_are_refused_with_the_reason,
    the_cli_lists_the_directory_as_json_lines,
);

const LISTING: &str = "/instances/default/directory";

/// Every page of `path` (with or without a query) at `limit` users a page: the users in the
/// order served, and how many pages there were.
async fn read_all(app: &TestApp, path: &str, limit: usize) -> (Vec<Value>, usize) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut users = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}{separator}limit={limit}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={}", encode(cursor)));
        }
        let (status, page) = call(app, Method::GET, &url, None).await;
        assert_eq!(status, 200, "{url}: {page}");
        let entries = page["users"].as_array().cloned().unwrap_or_default();
        assert!(entries.len() <= limit, "{page}");
        pages += 1;
        users.extend(entries);
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (users, pages),
        }
        assert!(pages < 100, "the listing ends");
    }
}

fn user_names(users: &[Value]) -> Vec<&str> {
    users
        .iter()
        .filter_map(|user| user["userName"].as_str())
        .collect()
}

fn find<'a>(users: &'a [Value], user_name: &str) -> &'a Value {
    users
        .iter()
        .find(|user| user["userName"] == user_name)
        .unwrap_or_else(|| panic!("{user_name} is listed: {users:?}"))
}

/// `(updatedAt, id)`: the order the listing promises.
fn position(user: &Value) -> (String, String) {
    let text = |key: &str| user[key].as_str().unwrap_or_default().to_string();
    (text("updatedAt"), text("id"))
}

async fn suspend(app: &TestApp, id: &str) {
    let path = format!("/Users/{id}");
    let operations = json!([{"op": "replace", "path": "active", "value": false}]);
    let suspended = app.patch(&path, operations).await;
    assert_eq!(suspended.status, 200, "{:?}", suspended.body);
}

async fn every_user_is_listed_once_with_its_state_and_mapped_fields(app: TestApp) {
    let boss = app.create_user("boss@corp.example").await;
    let ann = app
        .post(
            "/Users",
            json!({
                "userName": "ann@corp.example",
                "displayName": "Ann Lee",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "title": "Engineer",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                    {"manager": {"value": boss}}
            }),
        )
        .await;
    assert_eq!(ann.status, 201, "{:?}", ann.body);
    let suspended = app.create_user("sue@corp.example").await;
    suspend(&app, &suspended).await;
    let deleted = app.create_user("dan@corp.example").await;
    assert_eq!(app.delete(&format!("/Users/{deleted}")).await.status, 204);
    for n in 0..5 {
        app.create_user(&format!("user-{n}@corp.example")).await;
    }
    import_users(
        &app.store,
        DEFAULT_INSTANCE,
        r#"{"userName": "legacy@corp.example"}"#,
        &crate::common::operator(),
        |_| {},
    )
    .await
    .expect("the account is imported");

    let (users, pages) = read_all(&app, LISTING, 3).await;
    assert_eq!(users.len(), 10, "{users:?}");
    assert_eq!(pages, 4);
    let mut ids: Vec<&str> = users.iter().filter_map(|u| u["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), users.len(), "no user twice: {users:?}");
    let positions: Vec<(String, String)> = users.iter().map(position).collect();
    let mut ordered = positions.clone();
    ordered.sort();
    assert_eq!(positions, ordered, "in (updatedAt, id) order");

    assert_eq!(
        find(&users, "ann@corp.example"),
        &json!({
            "id": ann.id(),
            "userName": "ann@corp.example",
            "state": "active",
            "managed": true,
            "fields": {
                "User Name": "ann@corp.example",
                "Display Name": "Ann Lee",
                "First Name": "Ann",
                "Last Name": "Lee",
                "Direct Manager": boss,
                "Scim Sync Job Title": "Engineer"
            },
            "managerId": boss,
            "updatedAt": find(&users, "ann@corp.example")["updatedAt"],
        })
    );
    assert_eq!(find(&users, "sue@corp.example")["state"], "suspended");
    let dan = find(&users, "dan@corp.example");
    assert_eq!(
        (&dan["state"], &dan["id"]),
        (&json!("deleted"), &json!(deleted))
    );
    assert_eq!(find(&users, "legacy@corp.example")["managed"], false);
    assert_eq!(find(&users, "boss@corp.example")["managerId"], Value::Null);

    // One page holds them all, the same; the default page too.
    let (whole, pages) = read_all(&app, LISTING, 1000).await;
    assert_eq!((whole.clone(), pages), (users.clone(), 1));
    let (status, page) = call(&app, Method::GET, LISTING, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page, json!({"users": users, "next": null}));
}

async fn updated_since_lists_what_changed_from_then_on(app: TestApp) {
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(app.create_user(&format!("user-{n}@corp.example")).await);
    }
    let (before, _) = read_all(&app, LISTING, 100).await;
    let seen = before
        .iter()
        .map(position)
        .max()
        .map(|(at, _)| at)
        .unwrap_or_default();

    suspend(&app, &ids[1]).await;
    assert_eq!(app.delete(&format!("/Users/{}", ids[2])).await.status, 204);
    app.create_user("late@corp.example").await;

    let since = format!("{LISTING}?updatedSince={}", encode(&seen));
    let (changed, _) = read_all(&app, &since, 2).await;
    let (everyone, _) = read_all(&app, LISTING, 100).await;
    let expected: Vec<Value> = everyone
        .iter()
        .filter(|user| user["updatedAt"].as_str().unwrap_or_default() >= seen.as_str())
        .cloned()
        .collect();
    assert_eq!(changed, expected);
    // The last user seen comes again (the bound is inclusive), then what changed since.
    let names = user_names(&changed);
    assert_eq!(names.first(), Some(&"user-5@corp.example"), "{names:?}");
    assert_eq!(
        names[names.len() - 3..],
        [
            "user-1@corp.example",
            "user-2@corp.example",
            "late@corp.example"
        ]
    );
    assert_eq!(find(&changed, "user-2@corp.example")["state"], "deleted");
    assert!(!names.contains(&"user-0@corp.example"), "{names:?}");

    // Any RFC 3339 form of a moment reads the same, its offset included.
    let (status, later) = call(
        &app,
        Method::GET,
        &format!(
            "{LISTING}?updatedSince={}",
            encode("2999-01-01T01:00:00+01:00")
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{later}");
    assert_eq!(later, json!({"users": [], "next": null}));
}

async fn a_user_changed_while_a_client_pages_comes_again_at_the_end(app: TestApp) {
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.create_user(&format!("user-{n}@corp.example")).await);
    }
    let (status, first) = call(&app, Method::GET, &format!("{LISTING}?limit=2"), None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        user_names(first["users"].as_array().map_or(&[], Vec::as_slice)),
        ["user-0@corp.example", "user-1@corp.example"]
    );
    suspend(&app, &ids[0]).await;
    let cursor = first["next"].as_str().unwrap_or_default();
    let (status, rest) = call(
        &app,
        Method::GET,
        &format!("{LISTING}?limit=10&cursor={}", encode(cursor)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{rest}");
    let rest = rest["users"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        user_names(&rest),
        [
            "user-2@corp.example",
            "user-3@corp.example",
            "user-4@corp.example",
            "user-0@corp.example"
        ]
    );
    assert_eq!(rest[3]["state"], "suspended");
}

async fn an_instance_lists_only_its_own_users(app: TestApp) {
    app.create_user("home@corp.example").await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/instances",
        Some(json!({"name": "globex"})),
    )
    .await;
    assert_eq!(status, 201);
    let key = app.key_for("globex", "okta").await;
    let created = app
        .send(
            Method::POST,
            "/Users",
            Some(&key),
            Some(&json!({"userName": "away@globex.example"})),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);

    let (home, _) = read_all(&app, LISTING, 10).await;
    assert_eq!(user_names(&home), ["home@corp.example"]);
    let (away, _) = read_all(&app, "/instances/GLOBEX/directory", 10).await;
    assert_eq!(user_names(&away), ["away@globex.example"]);
    // A cursor of one instance reads nothing of another.
    let (_, first) = call(&app, Method::GET, &format!("{LISTING}?limit=1"), None).await;
    assert_eq!(first["next"], Value::Null);
    let (status, body) = call(&app, Method::GET, "/instances/nope/directory", None).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("nope")));
}

async fn bad_listing_parameters_are_refused_with_the_reason(app: TestApp) {
    app.create_user("one@corp.example").await;
    let refusals = [
        ("updatedSince=yesterday", "RFC 3339"),
        ("updatedSince=2026-13-01T00:00:00Z", "RFC 3339"),
        ("cursor=nope", "not a directory cursor"),
        // A cursor's parts, but not one the listing wrote.
        (
            "cursor=MjAyNi0xMi0wN1QwNTowNzowMVogaWQ",
            "not a directory cursor",
        ),
        ("limit=0", "1 to 1000"),
        ("limit=1001", "1 to 1000"),
        ("limit=-1", "1 to 1000"),
        ("limit=ten", "1 to 1000"),
    ];
    for (query, reason) in refusals {
        let (status, body) = call(&app, Method::GET, &format!("{LISTING}?{query}"), None).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(reason)),
            "{query}: {body}"
        );
    }
    let (status, _) = call(&app, Method::GET, &format!("{LISTING}?colour=red"), None).await;
    assert_eq!(status, 400);
}

async fn the_cli_lists_the_directory_as_json_lines(app: TestApp) {
    let first = app.create_user("first@corp.example").await;
    app.create_user("second@corp.example").await;
    let (ok, out, err) = run_cli(
        &app.database_url,
        &["directory", "list", "--instance", "default"],
    )
    .await;
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let (served, _) = read_all(&app, LISTING, 100).await;
    assert_eq!(lines, served);
    assert_eq!(lines[0]["id"], first.as_str());

    let since = served[1]["updatedAt"].as_str().unwrap_or_default();
    let args = [
        "directory",
        "list",
        "--instance",
        "default",
        "--updated-since",
        since,
    ];
    let (ok, out, err) = run_cli(&app.database_url, &args).await;
    assert!(ok, "{err}");
    assert_eq!(
        user_names(&[serde_json::from_str(out.trim()).unwrap_or_default()]),
        ["second@corp.example"]
    );
    let args = [
        "directory",
        "list",
        "--instance",
        "default",
        "--updated-since",
        "soon",
    ];
    let (ok, _, err) = run_cli(&app.database_url, &args).await;
    assert!(!ok);
    assert!(err.contains("RFC 3339"), "{err}");
}
