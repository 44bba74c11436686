//! Isolation: a key of instance B reaches nothing of instance A. Every SCIM endpoint and method
//! is tried with A's ids, names and externalIds in B's requests (the grid below), and each
//! answer must be the refusal or the empty result that B gets for ids and names that exist
//! nowhere: the same status, error and body, so that B cannot even tell that A's resources
//! exist. Afterwards A's resources, served to A, and the event log are exactly as before.
//!
//! One deliberate exception is not in the grid: a `userName` is unique across the deployment
//! (it is a login name), so B creating A's userName gets 409 `uniqueness`; that error names no
//! instance (tests/api/uniqueness.rs).

use crate::common::{encode, Reply, TestApp};
use crate::on_both_stores;
use projections::db::Sql;
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores!(
    a_key_of_another_instance_reaches_nothing_of_this_one,
    another_instance_s_id_is_refused_without_loading_its_aggregate,
);

/// What B must get back.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// 404, as for a resource that does not exist.
    NotFound,
    /// 200 with a ListResponse of B's own resources, none of A's.
    Listed,
    /// A BulkResponse whose operations failed with these statuses, in order.
    EachOperation(Vec<u16>),
    /// 400 `invalidValue`: members must be resources of the caller's instance.
    UnknownMember,
}
use Expect::{EachOperation, Listed, NotFound, UnknownMember};

/// One cell of the grid: a request of B's, written with placeholders for A's data.
struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Extra request headers.
    headers: &'static [(&'static str, &'static str)],
    expect: Expect,
}

fn case(method: Method, path: &str, body: Option<Value>, expect: Expect) -> Case {
    Case {
        method,
        path: path.to_string(),
        body,
        headers: &[],
        expect,
    }
}

/// Where a path's filter starts; the filter is encoded once its placeholders are filled.
const FILTER: &str = "?filter=";

/// `GET path?filter=...` for each filter.
fn filtered(path: &str, filters: &[&str]) -> Vec<Case> {
    filters
        .iter()
        .map(|filter| {
            case(
                Method::GET,
                &format!("{path}{FILTER}{filter}"),
                None,
                Listed,
            )
        })
        .collect()
}

/// `POST path` with a SearchRequest for each filter.
fn searched(path: &str, filters: &[&str]) -> Vec<Case> {
    filters
        .iter()
        .map(|filter| {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": filter,
            });
            case(Method::POST, path, Some(body), Listed)
        })
        .collect()
}

fn bulk(operations: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": operations,
    })
}

fn patch_op(operations: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    })
}

const USER_FILTERS: &[&str] = &[
    r#"userName eq "{userName}""#,
    r#"userName eq "{USERNAME}""#,
    r#"userName sw "{userName}""#,
    r#"externalId eq "{externalId}""#,
    r#"id eq "{user}""#,
    r#"emails.value eq "{userName}""#,
    r#"emails[type eq "work" and value co "{userName}"]"#,
    r#"name.familyName eq "{familyName}""#,
    r#"groups.value eq "{group}""#,
    r#"userName eq "{userName}" or id eq "{user}" or externalId eq "{externalId}""#,
    r#"not (userName ne "{userName}")"#,
    "userName pr",
];

const GROUP_FILTERS: &[&str] = &[
    r#"displayName eq "{displayName}""#,
    r#"externalId eq "{groupExternalId}""#,
    r#"id eq "{group}""#,
    r#"members.value eq "{user}""#,
    r#"members[value eq "{user}"]"#,
    r#"displayName sw "{displayName}" or members.value eq "{user}""#,
    "displayName pr",
];

const EVERYTHING_FILTERS: &[&str] = &[
    r#"id eq "{user}" or id eq "{group}""#,
    r#"externalId eq "{externalId}" or externalId eq "{groupExternalId}""#,
    r#"userName eq "{userName}" or displayName eq "{displayName}""#,
    "meta.resourceType pr",
];

/// The grid: every endpoint and method, with A's ids, names and filters in B's requests, one
/// request a row (kept from rustfmt so that it reads as the grid it is).
#[rustfmt::skip]
fn grid() -> Vec<Case> {
    let user_put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                          "userName": "{userName}", "active": false});
    let group_put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "displayName": "owned"});
    let deactivate = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    let rename = patch_op(json!([{"op": "replace", "path": "displayName", "value": "owned"}]));
    let remove_member = patch_op(json!([{"op": "remove", "path": "members[value eq \"{user}\"]"}]));
    let add_member = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": "{user}"}]}]));
    let group_with_member = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                   "displayName": "B-takes-A", "members": [{"value": "{user}"}]});
    let group_with_group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                  "displayName": "B-nests-A", "members": [{"value": "{group}"}]});

    let mut grid = vec![
        // One resource, by id.
        case(Method::GET,    "/Users/{user}",                               None,                         NotFound),
        case(Method::GET,    "/Users/{user}?attributes=userName",           None,                         NotFound),
        case(Method::PUT,    "/Users/{user}",                               Some(user_put.clone()),       NotFound),
        case(Method::PATCH,  "/Users/{user}",                               Some(deactivate.clone()),     NotFound),
        case(Method::DELETE, "/Users/{user}",                               None,                         NotFound),
        case(Method::GET,    "/Groups/{group}",                             None,                         NotFound),
        case(Method::GET,    "/Groups/{group}?excludedAttributes=members",  None,                         NotFound),
        case(Method::PUT,    "/Groups/{group}",                             Some(group_put.clone()),      NotFound),
        case(Method::PATCH,  "/Groups/{group}",                             Some(rename.clone()),         NotFound),
        case(Method::PATCH,  "/Groups/{group}",                             Some(remove_member),          NotFound),
        case(Method::DELETE, "/Groups/{group}",                             None,                         NotFound),
        // With A's current version: still 404, never 412 or 304, which would tell.
        Case { headers: &[("if-match", "{userVersion}")],
               ..case(Method::PUT,    "/Users/{user}",                      Some(user_put.clone()),       NotFound) },
        Case { headers: &[("if-match", "{groupVersion}")],
               ..case(Method::DELETE, "/Groups/{group}",                    None,                         NotFound) },
        Case { headers: &[("if-none-match", "{userVersion}")],
               ..case(Method::GET,    "/Users/{user}",                      None,                         NotFound) },
        // A's user or group as a member of B's groups.
        case(Method::POST,   "/Groups",                                     Some(group_with_member.clone()), UnknownMember),
        case(Method::POST,   "/Groups",                                     Some(group_with_group.clone()),  UnknownMember),
        case(Method::PATCH,  "/Groups/{bGroup}",                            Some(add_member.clone()),        UnknownMember),
        // Lists, unfiltered.
        case(Method::GET,    "/Users",                                      None,                         Listed),
        case(Method::GET,    "/Groups",                                     None,                         Listed),
        case(Method::GET,    "/Users?sortBy=userName&count=1000",           None,                         Listed),
        case(Method::GET,    "/Users?count=10&cursor=",                     None,                         Listed),
    ];
    grid.extend(filtered("/Users", USER_FILTERS));
    grid.extend(filtered("/Groups", GROUP_FILTERS));
    grid.extend(searched("/Users/.search", USER_FILTERS));
    grid.extend(searched("/Groups/.search", GROUP_FILTERS));
    grid.extend(searched("/.search", EVERYTHING_FILTERS));
    // Bulk: each operation alone, then all in one request.
    let bulk_operations = [
        (json!({"method": "PUT",    "path": "/Users/{user}",    "data": user_put}),                          404),
        (json!({"method": "PATCH",  "path": "/Users/{user}",    "data": deactivate}),                        404),
        (json!({"method": "DELETE", "path": "/Users/{user}"}),                                               404),
        (json!({"method": "DELETE", "path": "/Users/{user}",    "version": "{userVersion}"}),                404),
        (json!({"method": "PUT",    "path": "/Groups/{group}",  "data": group_put}),                         404),
        (json!({"method": "PATCH",  "path": "/Groups/{group}",  "data": rename}),                            404),
        (json!({"method": "DELETE", "path": "/Groups/{group}"}),                                             404),
        (json!({"method": "POST",   "path": "/Groups",          "bulkId": "g1", "data": group_with_member}), 400),
        (json!({"method": "POST",   "path": "/Groups",          "bulkId": "g2", "data": group_with_group}),  400),
        (json!({"method": "PATCH",  "path": "/Groups/{bGroup}", "data": add_member}),                        400),
    ];
    for (operation, status) in &bulk_operations {
        grid.push(case(Method::POST, "/Bulk", Some(bulk(json!([operation]))), EachOperation(vec![*status])));
    }
    let all: Vec<Value> = bulk_operations.iter().map(|(op, _)| op.clone()).collect();
    let statuses: Vec<u16> = bulk_operations.iter().map(|(_, status)| *status).collect();
    grid.push(case(Method::POST, "/Bulk", Some(bulk(json!(all))), EachOperation(statuses)));
    grid
}

/// The values the placeholders stand for: A's, or ones that exist nowhere.
struct Values(Vec<(&'static str, String)>);

impl Values {
    fn fill(&self, template: &str) -> String {
        self.0
            .iter()
            .fold(template.to_string(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    /// `template` with its strings filled, wherever they are.
    fn fill_json(&self, template: &Value) -> Value {
        match template {
            Value::String(text) => Value::String(self.fill(text)),
            Value::Array(items) => items.iter().map(|item| self.fill_json(item)).collect(),
            Value::Object(members) => members
                .iter()
                .map(|(name, value)| (name.clone(), self.fill_json(value)))
                .collect(),
            other => other.clone(),
        }
    }

    /// A path with its placeholders filled and its filter, if any, encoded.
    fn fill_path(&self, template: &str) -> String {
        match template.split_once(FILTER) {
            Some((path, filter)) => format!("{path}{FILTER}{}", encode(&self.fill(filter))),
            None => self.fill(template),
        }
    }

    /// `text` with each value put back as its placeholder, and correlation ids left out: what
    /// must read the same whichever values B sent.
    fn unfill(&self, text: &str) -> String {
        let mut text = self.0.iter().fold(text.to_string(), |text, (name, value)| {
            text.replace(value.as_str(), &format!("{{{name}}}"))
        });
        while let Some(start) = text.find(" (correlation id ") {
            let end = text[start..]
                .find(')')
                .map_or(text.len(), |end| start + end + 1);
            text.replace_range(start..end, "");
        }
        text
    }
}

async fn send(app: &TestApp, token: &str, case: &Case, values: &Values) -> Reply {
    let url = format!("{}{}", app.base, values.fill_path(&case.path));
    let mut request = app
        .client
        .request(case.method.clone(), url)
        .bearer_auth(token);
    for (name, value) in case.headers {
        request = request.header(*name, values.fill(value));
    }
    if let Some(body) = &case.body {
        request = request
            .header("content-type", "application/scim+json")
            .body(values.fill_json(body).to_string());
    }
    Reply::read(request.send().await.expect("scimd answers")).await
}

/// What a reply says, with the values B sent put back as placeholders.
fn seen(reply: &Reply, values: &Values) -> String {
    format!(
        "{} {}",
        reply.status,
        values.unfill(&reply.body.to_string())
    )
}

fn check(case: &Case, reply: &Reply) {
    let what = format!("{} {}: {}", case.method, case.path, reply.body);
    match &case.expect {
        NotFound => {
            assert_eq!(reply.status, 404, "{what}");
            assert_eq!(reply.body["status"], "404", "{what}");
        }
        Listed => {
            assert_eq!(reply.status, 200, "{what}");
            assert_eq!(
                reply.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse",
                "{what}"
            );
        }
        UnknownMember => {
            assert_eq!(reply.status, 400, "{what}");
            assert_eq!(reply.body["scimType"], "invalidValue", "{what}");
        }
        EachOperation(expected) => {
            assert_eq!(reply.status, 200, "{what}");
            let got: Vec<u16> = reply.body["Operations"]
                .as_array()
                .map(|operations| {
                    operations
                        .iter()
                        .filter_map(|op| op["status"].as_str()?.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(&got, expected, "{what}");
        }
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Count {
    total: i64,
}

/// Everything A's key is served, in full, and the number of events in the log.
async fn state_of_a(app: &TestApp, resources: &[String]) -> (Vec<String>, i64) {
    let mut served = Vec::new();
    for path in ["/Users?count=1000", "/Groups?count=1000"]
        .iter()
        .map(|path| path.to_string())
        .chain(resources.iter().cloned())
    {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
        served.push(reply.body.to_string());
    }
    let events: Count = app
        .store
        .db
        .fetch_one(&Sql::new("SELECT count(*) AS total FROM events"))
        .await
        .expect("the events are counted");
    (served, events.total)
}

async fn a_key_of_another_instance_reaches_nothing_of_this_one(app: TestApp) {
    // Instance A (`default`, the app's own key): two users and a group of both.
    let alice = app
        .post(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "userName": "private@a.example", "externalId": "ext-a",
                   "name": {"givenName": "Pat", "familyName": "Privates"},
                   "emails": [{"value": "private@a.example", "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(alice.status, 201, "{:?}", alice.body);
    let user = alice.id();
    let second = app.create_user("second@a.example").await;
    let group_reply = app
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "A-team", "externalId": "grp-a",
                   "members": [{"value": user}, {"value": second}]}),
        )
        .await;
    assert_eq!(group_reply.status, 201, "{:?}", group_reply.body);
    let group = group_reply.id();
    let user_version = app.get(&format!("/Users/{user}")).await.body["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let group_version = group_reply.body["meta"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Instance B: a key and one group of its own, to which it tries to add A's user.
    let b = app.key_for("instance-b", "mallory").await;
    let b_group = app
        .send(
            Method::POST,
            "/Groups",
            Some(&b),
            Some(&json!({"displayName": "B-team"})),
        )
        .await;
    assert_eq!(b_group.status, 201, "{:?}", b_group.body);
    let b_group = b_group.id();

    let of_a = Values(vec![
        ("user", user.clone()),
        ("group", group.clone()),
        ("userName", "private@a.example".into()),
        ("USERNAME", "PRIVATE@A.EXAMPLE".into()),
        ("externalId", "ext-a".into()),
        ("familyName", "Privates".into()),
        ("displayName", "A-team".into()),
        ("groupExternalId", "grp-a".into()),
        ("userVersion", user_version.clone()),
        ("groupVersion", group_version.clone()),
        ("bGroup", b_group.clone()),
    ]);
    let of_nobody = Values(vec![
        ("user", uuid::Uuid::new_v4().to_string()),
        ("group", uuid::Uuid::new_v4().to_string()),
        ("userName", "nobody@nowhere.example".into()),
        ("USERNAME", "NOBODY@NOWHERE.EXAMPLE".into()),
        ("externalId", "ext-nobody".into()),
        ("familyName", "Nobody".into()),
        ("displayName", "No-team".into()),
        ("groupExternalId", "grp-nobody".into()),
        ("userVersion", user_version.clone()),
        ("groupVersion", group_version.clone()),
        ("bGroup", b_group.clone()),
    ]);

    let resources_of_a = [
        format!("/Users/{user}"),
        format!("/Users/{second}"),
        format!("/Groups/{group}"),
    ];
    let before = state_of_a(&app, &resources_of_a).await;
    let grid = grid();
    assert!(grid.len() > 60, "the grid has {} cases", grid.len());
    for case in &grid {
        let with_a = send(&app, &b, case, &of_a).await;
        check(case, &with_a);
        let with_nobody = send(&app, &b, case, &of_nobody).await;
        assert_eq!(
            seen(&with_a, &of_a),
            seen(&with_nobody, &of_nobody),
            "{} {}: A's data gets another answer than data that exists nowhere",
            case.method,
            case.path
        );
        // Nothing of A in what B is shown, except what B itself sent.
        if case.expect == Listed {
            let text = with_a.body.to_string();
            for secret in [&user, &second, &group, "Privates", "second@a.example"] {
                assert!(
                    !text.contains(secret),
                    "{} {}: {secret} shown",
                    case.method,
                    case.path
                );
            }
        }
    }
    let after = state_of_a(&app, &resources_of_a).await;
    assert_eq!(before.1, after.1, "events were written");
    assert_eq!(before.0, after.0, "A's resources changed");
    // B still sees its own group: the grid's lists were not empty by accident.
    let own = app.send(Method::GET, "/Groups", Some(&b), None).await;
    assert_eq!(own.body["totalResults"], 1, "{:?}", own.body);
}

/// A's user and group are made unloadable (their events no longer parse), so that any request
/// that loads either fails with 500: B's DELETE, PUT and PATCH of them must still get 404,
/// refused before the load, as ids that exist nowhere are. Loading first would answer alike
/// but take longer for A's ids, telling B by timing that they exist.
async fn another_instance_s_id_is_refused_without_loading_its_aggregate(app: TestApp) {
    let user = app.create_user("loaded-never@a.example").await;
    let group = app.create_group("Never-loaded", &[]).await;
    app.store
        .db
        .execute(
            &Sql::new("UPDATE events SET payload = '{\"unreadable\": true}' WHERE aggregate_id IN ($1, $2)")
                .bind(user.as_str())
                .bind(group.as_str()),
        )
        .await
        .expect("the events are writable");
    let b = app.key_for("instance-b", "mallory").await;
    let replace = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                         "userName": "loaded-never@a.example"});
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]});
    let requests = [
        (Method::DELETE, format!("/Users/{user}"), None),
        (Method::PUT, format!("/Users/{user}"), Some(&replace)),
        (Method::PATCH, format!("/Users/{user}"), Some(&rename)),
        (Method::DELETE, format!("/Groups/{group}"), None),
        (Method::PATCH, format!("/Groups/{group}"), Some(&rename)),
    ];
    for (method, path, body) in requests {
        let reply = app.send(method.clone(), &path, Some(&b), body).await;
        assert_eq!(reply.status, 404, "{method} {path}: {:?}", reply.body);
    }
    // The premise: A's own DELETE does load the aggregate, and fails on it.
    let own = app.delete(&format!("/Users/{user}")).await;
    assert_eq!(own.status, 500, "{:?}", own.body);
}
