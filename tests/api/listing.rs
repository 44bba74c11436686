//! Listing and searching: filters on any attribute, sorting, index and cursor paging, and
//! POST `.search`, with SQL and Rust evaluation giving the same answers.

use crate::common::{encode, TestApp};
use crate::on_both_stores;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

on_both_stores!(
    filters_on_any_attribute_give_exact_totals,
    group_filters_reach_member_details,
    sort_orders_are_total_and_missing_values_come_last,
    cursors_walk_every_match_exactly_once,
    foreign_or_forged_cursors_are_invalid,
    search_endpoints_take_the_query_in_the_body,
    sql_and_rust_evaluation_agree,
    unfiltered_totals_follow_creates_and_deletes_per_instance,
    and_or_chains_as_long_as_the_filter_may_be_are_answered,
);

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A small directory with attributes present, absent and differently cased.
async fn directory(app: &TestApp) {
    let people = [
        json!({
            "userName": "alice@corp.example", "displayName": "Alice Z", "title": "Engineer",
            "name": {"givenName": "Alice", "familyName": "Zeta"},
            "emails": [{"value": "alice@corp.example", "type": "work", "primary": true}],
            "active": true, ENTERPRISE: {"department": "R&D"}
        }),
        json!({
            "userName": "Bob@corp.example", "title": "Manager", "externalId": "x-bob",
            "name": {"givenName": "Bob", "familyName": "Young"},
            "emails": [
                {"value": "bob@home.example", "type": "home"},
                {"value": "bob@corp.example", "type": "work"}
            ],
            "active": false, ENTERPRISE: {"department": "Sales"}
        }),
        json!({
            "userName": "carol@other.example", "displayName": "carol",
            "name": {"givenName": "Carol", "familyName": "adams"},
            ENTERPRISE: {"department": "R&D"}
        }),
        json!({
            "userName": "dave@corp.example", "displayName": "Dave", "title": "engineer",
            "externalId": "x-dave", "name": {"givenName": "Dave", "familyName": "Brown"},
            "active": true
        }),
        json!({
            "userName": "erin@corp.example",
            "emails": [{"value": "erin@CORP.example", "type": "work"}],
            "active": true
        }),
    ];
    for mut person in people {
        person["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
        let reply = app.post("/Users", person).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    }
}

fn user_names(resources: &[Value]) -> Vec<String> {
    resources
        .iter()
        .map(|resource| resource["userName"].as_str().unwrap_or("?").to_string())
        .collect()
}

async fn listed(app: &TestApp, query: &str) -> (i64, Vec<String>) {
    let reply = app.get(&format!("/Users?{query}")).await;
    assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
    let total = reply.body["totalResults"].as_i64().unwrap_or(-1);
    (total, user_names(&reply.resources()))
}

async fn filters_on_any_attribute_give_exact_totals(app: TestApp) {
    directory(&app).await;
    let cases: [(&str, &[&str]); 12] = [
        (
            r#"emails[type eq "work" and value co "@corp"]"#,
            &[
                "alice@corp.example",
                "Bob@corp.example",
                "erin@corp.example",
            ],
        ),
        (r#"emails.value ew "home.example""#, &["Bob@corp.example"]),
        (r#"emails eq "ERIN@corp.example""#, &["erin@corp.example"]),
        (
            r#"name.givenName sw "c" or name.familyName eq "BROWN""#,
            &["carol@other.example", "dave@corp.example"],
        ),
        (
            r#"title eq "engineer""#,
            &["alice@corp.example", "dave@corp.example"],
        ),
        (
            r#"not (title pr)"#,
            &["carol@other.example", "erin@corp.example"],
        ),
        // carol, created without `active`, is active like any user nobody suspended.
        (
            &format!(r#"{ENTERPRISE}:department eq "r&d" and active eq true"#),
            &["alice@corp.example", "carol@other.example"],
        ),
        (
            r#"userName sw "b" or urn:ietf:params:scim:schemas:core:2.0:User:title co "nag""#,
            &["Bob@corp.example"],
        ),
        (r#"meta.lastModified lt "2000-01-01T00:00:00Z""#, &[]),
        (
            r#"meta.created gt "2000-01-01T00:00:00+02:00" and externalId pr"#,
            &["Bob@corp.example", "dave@corp.example"],
        ),
        (r#"active ne true"#, &["Bob@corp.example"]),
        (
            r#"emails[primary eq "True"] or displayName eq "CAROL""#,
            &["alice@corp.example", "carol@other.example"],
        ),
    ];
    for (filter, expected) in cases {
        let (total, names) = listed(&app, &format!("filter={}", encode(filter))).await;
        assert_eq!(names, expected, "{filter}");
        assert_eq!(total, expected.len() as i64, "{filter}");
        // A one-element page still counts every match.
        let (total, names) = listed(&app, &format!("filter={}&count=1", encode(filter))).await;
        assert_eq!(total, expected.len() as i64, "{filter}");
        assert_eq!(names.len(), expected.len().min(1), "{filter}");
    }
    for filter in [
        r#"favouriteColour eq "blue""#,
        r#"title gt 3"#,
        r#"active co "t""#,
        r#"emails[shade eq "x"]"#,
    ] {
        let reply = app.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_eq!(reply.status, 400, "{filter}");
        assert_eq!(reply.body["scimType"], "invalidFilter", "{filter}");
    }
}

async fn group_filters_reach_member_details(app: TestApp) {
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    app.create_group("Engineering", &[&alice, &bob]).await;
    app.create_group("Sales", &[&bob]).await;
    app.create_group("Empty", &[]).await;
    let names = |reply: &crate::common::Reply| -> Vec<String> {
        reply
            .resources()
            .iter()
            .map(|group| group["displayName"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    for (filter, expected) in [
        (
            format!(r#"members[value eq "{bob}"]"#),
            vec!["Engineering", "Sales"],
        ),
        (
            format!(r#"members[type eq "User" and value eq "{alice}"]"#),
            vec!["Engineering"],
        ),
        (
            r#"not (members pr) or displayName sw "s""#.to_string(),
            vec!["Sales", "Empty"],
        ),
        (
            format!(r#"members ne "{alice}" and members.type eq "User""#),
            vec!["Sales"],
        ),
    ] {
        let reply = app
            .get(&format!(
                "/Groups?filter={}&excludedAttributes=members",
                encode(&filter)
            ))
            .await;
        assert_eq!(reply.status, 200, "{filter}: {:?}", reply.body);
        assert_eq!(names(&reply), expected, "{filter}");
        assert!(reply.resources().iter().all(|g| g.get("members").is_none()));
    }
    // And from the other side: users by the groups they are in.
    let filter = r#"groups[display eq "sales"] or groups.value eq "none""#;
    let (total, users) = listed(&app, &format!("filter={}", encode(filter))).await;
    assert_eq!((total, users), (1, vec!["bob".to_string()]));
}

async fn sort_orders_are_total_and_missing_values_come_last(app: TestApp) {
    directory(&app).await;
    let (_, by_family_name) = listed(&app, "sortBy=name.familyName").await;
    assert_eq!(
        by_family_name,
        [
            "carol@other.example",
            "dave@corp.example",
            "Bob@corp.example",
            "alice@corp.example",
            "erin@corp.example"
        ]
    );
    let (_, reversed) = listed(&app, "sortBy=name.familyName&sortOrder=descending").await;
    assert_eq!(
        reversed,
        by_family_name.iter().rev().cloned().collect::<Vec<_>>()
    );
    let (_, by_user_name) = listed(&app, "sortby=USERNAME&sortorder=Descending&count=3").await;
    assert_eq!(
        by_user_name,
        [
            "erin@corp.example",
            "dave@corp.example",
            "carol@other.example"
        ]
    );
    // displayName is missing on two users: they come last, in creation order.
    let (_, by_display_name) = listed(&app, "sortBy=displayName").await;
    assert_eq!(
        by_display_name,
        [
            "alice@corp.example",
            "carol@other.example",
            "dave@corp.example",
            "Bob@corp.example",
            "erin@corp.example"
        ]
    );
    let (_, by_email) = listed(&app, "sortBy=emails&filter=emails%20pr").await;
    assert_eq!(
        by_email,
        [
            "alice@corp.example",
            "Bob@corp.example",
            "erin@corp.example"
        ]
    );
    let reply = app.get("/Users?sortBy=shoeSize").await;
    assert_eq!(
        (reply.status, &reply.body["scimType"]),
        (400, &json!("invalidValue"))
    );
    let reply = app.get("/Users?sortBy=userName&sortOrder=sideways").await;
    assert_eq!(reply.status, 400);
}

/// Every page of `query` by cursor, in order.
async fn walk(app: &TestApp, path: &str, query: &str, count: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let reply = app
            .get(&format!(
                "{path}?{query}&count={count}&cursor={}",
                encode(&cursor)
            ))
            .await;
        assert_eq!(reply.status, 200, "{query}: {:?}", reply.body);
        assert!(reply.body.get("startIndex").is_none());
        let page = user_names(&reply.resources());
        assert!(page.len() <= count);
        names.extend(page);
        match reply.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => return names,
        }
    }
    panic!("{query}: the cursor never ended");
}

async fn cursors_walk_every_match_exactly_once(app: TestApp) {
    directory(&app).await;
    for user_name in ["frank", "grace", "heidi", "ivan"] {
        app.create_user(user_name).await;
    }
    for query in [
        String::new(),
        "sortBy=userName&sortOrder=descending".to_string(),
        "sortBy=displayName".to_string(),
        "sortBy=active&sortOrder=descending".to_string(),
        "sortBy=name.familyName".to_string(),
        format!("filter={}", encode(r#"title pr or userName gt "f""#)),
        format!(
            "filter={}&sortBy=meta.created&sortOrder=descending",
            encode(r#"emails pr or active pr"#)
        ),
    ] {
        let (total, everything) = listed(&app, &format!("{query}&count=1000")).await;
        assert_eq!(total, everything.len() as i64);
        for count in [1, 2, 4] {
            let walked = walk(&app, "/Users", &query, count).await;
            assert_eq!(walked, everything, "{query} by {count}");
        }
    }
    // A cursor stays valid while the directory changes: a user created after the first page
    // shows up later in creation order, and nothing is repeated.
    let first = app.get("/Users?cursor=&count=3").await;
    let next = first.body["nextCursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    app.create_user("judy").await;
    let rest = app
        .get(&format!("/Users?cursor={}&count=1000", encode(&next)))
        .await;
    let mut seen = user_names(&first.resources());
    seen.extend(user_names(&rest.resources()));
    assert_eq!(seen.len(), 10);
    assert_eq!(seen.last().map(String::as_str), Some("judy"));
    assert!(rest.body.get("nextCursor").is_none());
}

async fn foreign_or_forged_cursors_are_invalid(app: TestApp) {
    directory(&app).await;
    let first = app.get("/Users?cursor=&count=1&sortBy=userName").await;
    let next = first.body["nextCursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!next.is_empty());
    for query in [
        format!("cursor={}&count=1", encode(&next)),
        format!("cursor={}&sortBy=title", encode(&next)),
        "cursor=bm90LWEtY3Vyc29y".to_string(),
    ] {
        let reply = app.get(&format!("/Users?{query}")).await;
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.body["scimType"], "invalidCursor", "{query}");
    }
    let groups = app
        .get(&format!("/Groups?cursor={}&sortBy=userName", encode(&next)))
        .await;
    assert_eq!(groups.status, 400);
    let both = app.get("/Users?cursor=&startIndex=2").await;
    assert_eq!(
        (both.status, &both.body["scimType"]),
        (400, &json!("invalidValue"))
    );
}

async fn search_endpoints_take_the_query_in_the_body(app: TestApp) {
    directory(&app).await;
    app.create_group("Engineering", &[]).await;
    app.create_group("Dave's team", &[]).await;
    let search = |filter: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": filter,
            "attributes": ["userName", "displayName"],
            "sortBy": "userName",
            "startIndex": 1,
            "count": 2,
        })
    };
    let reply = app
        .post("/Users/.search", search(r#"emails.type eq "work""#))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["totalResults"], 3);
    assert_eq!(
        user_names(&reply.resources()),
        ["alice@corp.example", "Bob@corp.example"]
    );
    assert!(reply.resources()[0].get("emails").is_none());
    assert!(reply.resources()[0].get("id").is_some());

    let reply = app
        .post(
            "/Groups/.search",
            json!({"filter": "displayName sw \"eng\""}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["totalResults"], 1);

    // The root searches every type, in one order.
    let reply = app
        .post(
            "/.search",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "displayName sw \"Da\" or displayName eq \"ENGINEERING\"",
                "sortBy": "meta.created",
            }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let kinds: Vec<String> = reply
        .resources()
        .iter()
        .map(|resource| {
            resource["meta"]["resourceType"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["User", "Group", "Group"]);
    assert_eq!(reply.body["totalResults"], 3);
    // Groups have no userName: for them it is an attribute without a value.
    let reply = app
        .post(
            "/.search",
            json!({"filter": "userName sw \"erin\"", "count": 10}),
        )
        .await;
    assert_eq!(reply.body["totalResults"], 1, "{:?}", reply.body);
    let reply = app
        .post(
            "/.search",
            json!({"filter": "not (userName pr) or userName eq \"erin@corp.example\""}),
        )
        .await;
    let names: Vec<String> = reply
        .resources()
        .iter()
        .map(|r| {
            r["displayName"]
                .as_str()
                .or(r["userName"].as_str())
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    assert_eq!(names, ["erin@corp.example", "Engineering", "Dave's team"]);

    let reply = app
        .post("/.search", json!({"filter": "shoeSize gt 40"}))
        .await;
    assert_eq!(
        (reply.status, &reply.body["scimType"]),
        (400, &json!("invalidFilter"))
    );
    let reply = app
        .post(
            "/Users/.search",
            json!({"schemas": ["urn:wrong"], "filter": "userName pr"}),
        )
        .await;
    assert_eq!(
        (reply.status, &reply.body["scimType"]),
        (400, &json!("invalidSyntax"))
    );
}

/// Random filters over the attributes with columns: answered in SQL, and answered by the Rust
/// evaluator when a conjunct without a column (never-set `nickName`) forces a scan.
async fn sql_and_rust_evaluation_agree(app: TestApp) {
    directory(&app).await;
    let middle = app
        .get("/Users?filter=userName%20eq%20%22carol@other.example%22")
        .await;
    let created = middle.resources()[0]["meta"]["created"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let text = prop::sample::select(vec![
        "alice@corp.example",
        "BOB@CORP.EXAMPLE",
        "corp",
        ".example",
        "c",
        "",
        "dave",
        "x-dave",
        "zzz",
    ]);
    let op = prop::sample::select(vec!["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]);
    let attribute = prop::sample::select(vec!["userName", "displayName", "externalId", "id"]);
    let string_leaf = (attribute, op.clone(), text).prop_map(|(a, o, v)| format!("{a} {o} {v:?}"));
    let flag = prop::sample::select(vec!["true", "false", "\"True\""]);
    let boolean_leaf =
        (prop::sample::select(vec!["eq", "ne"]), flag).prop_map(|(o, v)| format!("active {o} {v}"));
    let instant = prop::sample::select(vec![
        "2000-01-01T00:00:00Z".to_string(),
        created.clone(),
        "2100-01-01T00:00:00+05:00".to_string(),
    ]);
    let time_op = prop::sample::select(vec!["eq", "ne", "gt", "ge", "lt", "le"]);
    let time_leaf = (
        prop::sample::select(vec!["meta.created", "meta.lastModified"]),
        time_op,
        instant,
    )
        .prop_map(|(a, o, v)| format!("{a} {o} {v:?}"));
    let present = prop::sample::select(vec!["displayName", "externalId", "active", "userName"])
        .prop_map(|a| format!("{a} pr"));
    let leaf = prop_oneof![string_leaf, boolean_leaf, time_leaf, present];
    let filter = leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    });
    let mut runner = TestRunner::new(Config::with_cases(48));
    for _ in 0..48 {
        let Ok(tree) = filter.new_tree(&mut runner) else {
            panic!("the filter strategy produces values");
        };
        let filter = tree.current();
        let in_sql = listed(&app, &format!("filter={}", encode(&filter))).await;
        let forced = format!(r#"({filter}) and not (nickName eq "never")"#);
        let in_rust = listed(&app, &format!("filter={}", encode(&forced))).await;
        assert_eq!(in_sql, in_rust, "{filter}");
        let sorted_sql = listed(
            &app,
            &format!("filter={}&sortBy=displayName", encode(&filter)),
        )
        .await;
        let sorted_rust = listed(
            &app,
            &format!("filter={}&sortBy=displayName", encode(&forced)),
        )
        .await;
        assert_eq!(sorted_sql, sorted_rust, "{filter} sorted");
    }
}

/// Unfiltered listings take their total from the count the projections keep, not from counting
/// rows: it must follow every create and delete, and each instance has its own.
async fn unfiltered_totals_follow_creates_and_deletes_per_instance(app: TestApp) {
    let users: Vec<String> = futures::future::join_all((0..4).map(|n| {
        let app = &app;
        async move { app.create_user(&format!("total{n}")).await }
    }))
    .await;
    let group = app.create_group("Counted", &[]).await;
    app.create_group("Kept", &[]).await;
    assert_eq!(
        app.delete(&format!("/Users/{}", users[1])).await.status,
        204
    );
    assert_eq!(app.delete(&format!("/Groups/{group}")).await.status, 204);
    let other = app.key_for("elsewhere", "okta").await;
    let elsewhere = app
        .send(
            reqwest::Method::POST,
            "/Users",
            Some(&other),
            Some(&json!({"userName": "elsewhere0"})),
        )
        .await;
    assert_eq!(elsewhere.status, 201);

    for path in [
        "/Users?startIndex=3&count=1",
        "/Users?count=0",
        "/Users?count=1&cursor",
    ] {
        assert_eq!(app.get(path).await.body["totalResults"], 3, "{path}");
    }
    // A first page that holds everything is its own total.
    assert_eq!(app.get("/Users").await.body["totalResults"], 3);
    assert_eq!(app.get("/Groups?count=0").await.body["totalResults"], 1);
    let seen_elsewhere = app
        .send(reqwest::Method::GET, "/Users?count=0", Some(&other), None)
        .await;
    assert_eq!(seen_elsewhere.body["totalResults"], 1);
}

/// `term(n)` joined by `op` as often as fits in the longest filter accepted, then `last`.
fn longest_chain(term: impl Fn(usize) -> String, op: &str, last: &str) -> (String, usize) {
    let limit = scimd::scim::filter::MAX_FILTER_LENGTH;
    let mut filter = String::new();
    let mut terms = 0;
    loop {
        let next = format!("{} {op} ", term(terms));
        if filter.len() + next.len() + last.len() > limit {
            break;
        }
        filter.push_str(&next);
        terms += 1;
    }
    filter.push_str(last);
    (filter, terms + 1)
}

/// A chain of `and`s or `or`s is as long as the filter's length allows (over 1,800 terms), not
/// as deep as its nesting: SQLite refuses an expression tree deeper than 1,000 and the Rust
/// evaluator must not recurse once per term, so the chain must be answered, not fail with 500.
async fn and_or_chains_as_long_as_the_filter_may_be_are_answered(app: TestApp) {
    directory(&app).await;
    let cases = [
        // In SQL: the shortest terms make the longest chain.
        longest_chain(|_| "id pr".into(), "or", "id pr"),
        longest_chain(|_| "active pr".into(), "and", r#"userName sw "a""#),
        longest_chain(
            |n| format!(r#"userName eq "nobody{n}""#),
            "or",
            r#"userName eq "ALICE@corp.example""#,
        ),
        // In Rust: `title` has no column, so the chain is evaluated on each candidate.
        longest_chain(
            |n| format!(r#"title eq "t{n}""#),
            "or",
            r#"title eq "manager""#,
        ),
        longest_chain(|_| "title pr".into(), "and", r#"not (nickName pr)"#),
    ];
    let expected = [5, 1, 1, 1, 3];
    for ((filter, terms), want) in cases.iter().zip(expected) {
        assert!(*terms > 500, "{terms} terms");
        let search = json!({"filter": filter, "sortBy": "userName"});
        let reply = app.post("/Users/.search", search).await;
        let head: String = filter.chars().take(60).collect();
        assert_eq!(
            reply.status, 200,
            "{terms} terms of {head}: {:?}",
            reply.body
        );
        assert_eq!(reply.body["totalResults"], want, "{head}");
    }
}
