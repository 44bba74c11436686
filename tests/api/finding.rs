//! Finding things through the admin API and the CLI: users by the start of a name or address,
//! a group's members by name, what re-applying the mapping would change before it does, every
//! instance's chain audit and the projections' verification.

use crate::common::admin_api::{call, with_admin_api};
use crate::common::cli::run_cli;
use crate::common::{encode, TestApp};
use crate::on_both_stores_with;
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores_with!(with_admin_api;
    users_are_found_by_the_start_of_a_user_name_display_name_or_email_in_any_case,
    a_search_reads_every_match_once_page_by_page_in_user_name_order,
    the_cli_finds_users_as_the_admin_api_does,
    a_group_is_read_with_its_members_named_page_by_page,
    a_preview_of_apply_counts_and_shows_the_changes_and_writes_nothing,
    every_instance_chain_and_the_projections_verification_are_served,
);

async fn create(app: &TestApp, user_name: &str, display_name: &str, emails: &[&str]) -> String {
    let emails: Vec<Value> = emails.iter().map(|email| json!({"value": email})).collect();
    let reply = app
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "displayName": display_name,
                "emails": emails,
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.id()
}

/// The userNames a search of `instance` for `q` finds, in order, reading every page of `count`.
async fn found(app: &TestApp, instance: &str, q: &str, count: i64) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/instances/{instance}/users?q={}&count={count}", encode(q));
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={}", encode(cursor)));
        }
        let (status, page) = call(app, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        assert!(
            entries.len() <= usize::try_from(count).unwrap_or(0),
            "{page}"
        );
        names.extend(
            entries
                .iter()
                .map(|user| user["userName"].as_str().unwrap_or_default().to_string()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return names,
        }
    }
}

async fn users_are_found_by_the_start_of_a_user_name_display_name_or_email_in_any_case(
    app: TestApp,
) {
    let ada = create(&app, "ada.l", "Countess Lovelace", &["al@example.com"]).await;
    create(&app, "grace", "Ada Hopper", &["grace@example.com"]).await;
    create(
        &app,
        "linus",
        "Linus",
        &["x@example.com", "ADAM@corp.example"],
    )
    .await;
    create(&app, "bob", "Bob", &["bob@example.com"]).await;
    let other = app.key_for("globex", "okta").await;
    let reply = app
        .send(
            Method::POST,
            "/Users",
            Some(&other),
            Some(&json!({"userName": "ada.globex"})),
        )
        .await;
    assert_eq!(reply.status, 201);

    // By userName, by displayName, by an address that is not the first, in any case; never a
    // user of another instance.
    assert_eq!(
        found(&app, "default", "ADA", 50).await,
        ["ada.l", "grace", "linus"]
    );
    assert_eq!(found(&app, "default", "countess", 50).await, ["ada.l"]);
    assert_eq!(found(&app, "default", "al@EX", 50).await, ["ada.l"]);
    assert_eq!(
        found(&app, "default", "adb", 50).await,
        Vec::<String>::new()
    );
    assert_eq!(found(&app, "globex", "ada", 50).await, ["ada.globex"]);

    let (_, page) = call(&app, Method::GET, "/instances/default/users?q=al%40", None).await;
    assert_eq!(
        page,
        json!({
            "entries": [{
                "id": ada,
                "userName": "ada.l",
                "displayName": "Countess Lovelace",
                // Created without `active`: active.
                "active": true,
                "emails": ["al@example.com"],
            }],
            "nextCursor": null,
        })
    );

    // A changed address is found by its new start only; a deleted user no more.
    let replaced = app
        .patch(
            &format!("/Users/{ada}"),
            json!([{"op": "replace", "path": "emails", "value": [{"value": "countess@example.com"}]}]),
        )
        .await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(
        found(&app, "default", "al@", 50).await,
        Vec::<String>::new()
    );
    assert_eq!(found(&app, "default", "countess@", 50).await, ["ada.l"]);
    assert_eq!(app.delete(&format!("/Users/{ada}")).await.status, 204);
    assert_eq!(found(&app, "default", "ada", 50).await, ["grace", "linus"]);

    let (status, body) = call(&app, Method::GET, "/instances/nope/users?q=a", None).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(
        &app,
        Method::GET,
        "/instances/default/users?cursor=nonsense",
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

async fn a_search_reads_every_match_once_page_by_page_in_user_name_order(app: TestApp) {
    // Each matches "pa" by name and by address, one twice by address: still once each.
    let mut expected = Vec::new();
    for n in (0..7).rev() {
        let name = format!("pat-{n}");
        let email = format!("pat{n}@example.com");
        let again = format!("PAT{n}@corp.example");
        create(&app, &name, &format!("Pat {n}"), &[&email, &again]).await;
        expected.push(name);
    }
    create(&app, "quinn", "Quinn", &["q@example.com"]).await;
    expected.sort();
    assert_eq!(found(&app, "default", "pa", 2).await, expected);
    assert_eq!(found(&app, "default", "pa", 1000).await, expected);
    // No prefix: everyone, from the userName index.
    let mut everyone = expected.clone();
    everyone.push("quinn".into());
    assert_eq!(found(&app, "default", "", 3).await, everyone);
}

async fn the_cli_finds_users_as_the_admin_api_does(app: TestApp) {
    create(&app, "ada.l", "Countess Lovelace", &["al@example.com"]).await;
    create(&app, "bob", "Bob", &["bob@example.com"]).await;
    let url = app.database_url.as_str();
    let (ok, out, err) = run_cli(url, &["users", "search", "--instance", "default", "AL@"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("ada.l") && out.contains("Countess Lovelace"),
        "{out}"
    );
    assert!(!out.contains("bob"), "{out}");
    let args = ["--json", "users", "search", "--instance", "default"];
    let (ok, out, err) = run_cli(url, &[&args[..], &["--count", "1"]].concat()).await;
    assert!(ok, "{err}");
    let page: Value = serde_json::from_str(&out).expect("JSON");
    let (_, api) = call(&app, Method::GET, "/instances/default/users?count=1", None).await;
    assert_eq!(page, api, "the CLI prints what the admin API serves");
    let cursor = page["nextCursor"].as_str().unwrap_or_default().to_string();
    let (ok, out, err) = run_cli(url, &[&args[..], &["--cursor", &cursor]].concat()).await;
    assert!(ok, "{err}");
    assert!(out.contains("\"bob\"") && !out.contains("ada.l"), "{out}");
    let (ok, _, err) = run_cli(url, &[&args[..], &["--cursor", "nonsense"]].concat()).await;
    assert!(!ok && err.contains("cursor"), "{err}");
}

async fn a_group_is_read_with_its_members_named_page_by_page(app: TestApp) {
    let ada = create(&app, "ada", "Ada Lovelace", &[]).await;
    let bob = create(&app, "bob", "Bob", &[]).await;
    let eve = create(&app, "eve", "Eve", &[]).await;
    let auditors = app.create_group("Auditors", &[&eve]).await;
    let finance = app
        .create_group("Finance", &[&ada, &bob, &eve, &auditors])
        .await;
    let base = format!("/instances/default/groups/{finance}/members");
    let mut members = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("{base}?count=3&cursor={cursor}"),
            None => format!("{base}?count=3"),
        };
        let (status, page) = call(&app, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["group"]["displayName"], "Finance");
        assert_eq!(page["group"]["id"], finance.as_str());
        assert_eq!(page["group"]["members"], 4);
        members.extend(page["entries"].as_array().cloned().unwrap_or_default());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let mut expected = vec![
        json!({"id": ada, "kind": "User", "userName": "ada", "displayName": "Ada Lovelace"}),
        json!({"id": bob, "kind": "User", "userName": "bob", "displayName": "Bob"}),
        json!({"id": eve, "kind": "User", "userName": "eve", "displayName": "Eve"}),
        json!({"id": auditors, "kind": "Group", "userName": null, "displayName": "Auditors"}),
    ];
    expected.sort_by_key(|member| member["id"].as_str().unwrap_or_default().to_string());
    assert_eq!(members, expected);

    // A deleted member is no longer listed, nor counted.
    assert_eq!(app.delete(&format!("/Users/{bob}")).await.status, 204);
    let (_, page) = call(&app, Method::GET, &base, None).await;
    assert_eq!(page["group"]["members"], 3);
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(3));

    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/instances/default/groups/{ada}/members"),
        None,
    )
    .await;
    assert_eq!(status, 404, "a user is not a group");
    app.key_for("globex", "okta").await;
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/instances/globex/groups/{finance}/members"),
        None,
    )
    .await;
    assert_eq!(status, 404, "a group of another instance is unknown here");
}

async fn mapped_events(app: &TestApp) -> Value {
    let path = "/instances/default/history?action=UserMapped&count=1000";
    call(app, Method::GET, path, None).await.1["entries"].clone()
}

/// The dangerous action: Display Name pointed at an attribute no user has, then Apply.
/// The preview must say that 19 users would lose their Display Name, before anything changes.
async fn a_preview_of_apply_counts_and_shows_the_changes_and_writes_nothing(app: TestApp) {
    for n in 0..19 {
        create(&app, &format!("user-{n:02}"), &format!("User {n:02}"), &[]).await;
    }
    let base = "/instances/default";
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("{base}/mappings/Display%20Name"),
        Some(json!({"attribute": "nickName"})),
    )
    .await;
    assert_eq!(status, 200);
    let mapped_before = mapped_events(&app).await;

    let (status, preview) =
        call(&app, Method::GET, &format!("{base}/mappings/preview"), None).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(
        (&preview["users"], &preview["changed"]),
        (&json!(19), &json!(19))
    );
    let sample = preview["sample"].as_array().cloned().unwrap_or_default();
    assert_eq!(sample.len(), 10, "ten by default");
    assert_eq!(sample[0]["userName"], "user-00");
    assert_eq!(
        sample[0]["changes"],
        json!([{"field": "Display Name", "old": "User 00", "new": null}])
    );
    let (_, small) = call(
        &app,
        Method::GET,
        &format!("{base}/mappings/preview?sample=2"),
        None,
    )
    .await;
    assert_eq!(small["sample"].as_array().map(Vec::len), Some(2));

    // Nothing was written: no mapped event, every directory entry as it was.
    assert_eq!(mapped_events(&app).await, mapped_before);
    let (_, entry) = call(
        &app,
        Method::GET,
        &format!("{base}/directory/user-07"),
        None,
    )
    .await;
    assert_eq!(entry["fields"]["Display Name"], "User 07");

    // The apply then does what the preview said, and a preview after it finds nothing to do.
    let (_, report) = call(&app, Method::POST, &format!("{base}/mappings/apply"), None).await;
    assert_eq!(report, json!({"users": 19, "changed": 19}));
    let (_, entry) = call(
        &app,
        Method::GET,
        &format!("{base}/directory/user-07"),
        None,
    )
    .await;
    assert_eq!(entry["fields"].get("Display Name"), None);
    let (_, after) = call(&app, Method::GET, &format!("{base}/mappings/preview"), None).await;
    assert_eq!(after, json!({"users": 19, "changed": 0, "sample": []}));

    let (status, _) = call(&app, Method::GET, "/instances/nope/mappings/preview", None).await;
    assert_eq!(status, 404);
}

async fn every_instance_chain_and_the_projections_verification_are_served(app: TestApp) {
    create(&app, "ada", "Ada", &["ada@example.com"]).await;
    app.key_for("globex", "okta").await;
    let (status, chains) = call(&app, Method::GET, "/audit", None).await;
    assert_eq!(status, 200, "{chains}");
    let chains = chains.as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = chains
        .iter()
        .filter_map(|c| c["instance"].as_str())
        .collect();
    assert_eq!(names, ["default", "globex"]);
    for chain in &chains {
        assert_eq!(chain["intact"], true, "{chain}");
        assert_eq!(chain["discrepancy"], Value::Null, "{chain}");
    }
    // Each is the instance's own audit, as `audit verify --instance` reports it.
    let (_, default) = call(&app, Method::GET, "/instances/default/audit", None).await;
    assert_eq!(chains[0], default);
    assert!(chains[0]["events"].as_i64().unwrap_or(0) >= 1);
    assert_eq!(chains[0]["head"].as_str().map(str::len), Some(64));

    let (status, run) = call(&app, Method::GET, "/verify", None).await;
    assert_eq!((status, run), (200, json!({"state": "none"})));
    let (status, run) = call(&app, Method::POST, "/verify", None).await;
    assert_eq!(status, 202, "{run}");
    assert_eq!(run["state"], "running", "{run}");
    // A second start joins the run under way.
    let (status, again) = call(&app, Method::POST, "/verify", None).await;
    assert_eq!(status, 202, "{again}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let report = loop {
        let (_, run) = call(&app, Method::GET, "/verify", None).await;
        match run["state"].as_str() {
            Some("running") => {
                assert!(run["done"].as_i64().unwrap_or(-1) >= 0, "{run}");
                assert!(std::time::Instant::now() < deadline, "still running: {run}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Some("done") => break run["report"].clone(),
            _ => panic!("the verification did not finish: {run}"),
        }
    };
    assert_eq!(report["identical"], true, "{report}");
    let projections = report["projections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let emails = projections
        .iter()
        .find(|p| p["name"] == "scim_user_emails")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(emails["identical"], true, "{report}");
    assert_eq!(emails["liveRows"], 1, "{report}");
    assert_eq!(emails["liveDigest"].as_str().map(str::len), Some(64));
}
