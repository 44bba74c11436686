//! The limits `serve` puts on what a client sends: each answers with its SCIM error, follows
//! its setting, is reported where SCIM reports it, and changes nothing.

use crate::common::admin_api::{call, with_admin_api, ADMIN_TOKEN};
use crate::common::wire::{body_of, exchange};
use crate::common::{encode, user, Reply, TestApp};
use crate::on_both_stores_with;
use reqwest::Method;
use scimd::limits::Limits;
use scimd::scim::bulk::BulkLimits;
use scimd::scim::filter::FilterLimits;
use scimd::scim::limits::ValueLimits;
use scimd::scim::list::ListLimits;
use scimd::startup::ServerSettings;
use serde_json::{json, Value};
use std::net::SocketAddr;

fn small_limits() -> ServerSettings {
    ServerSettings {
        limits: Limits {
            max_body_bytes: 8 * 1024,
            bulk: BulkLimits {
                max_operations: 7,
                max_payload_bytes: 32 * 1024,
            },
            list: ListLimits {
                filter: FilterLimits {
                    max_length: 100,
                    max_depth: 3,
                },
                max_page_size: 5,
            },
            values: ValueLimits {
                max_chars: 50,
                max_values: 3,
                max_members: 4,
            },
            ..Limits::default()
        },
        ..with_admin_api()
    }
}

on_both_stores_with!(small_limits;
    service_provider_config_reports_the_limits,
    a_body_over_the_limit_is_413_on_every_route_chunked_or_not,
    filters_past_their_length_or_depth_are_invalid_filters,
    a_larger_count_is_clamped_to_the_page_size,
    values_past_their_limits_are_invalid_values_naming_the_attribute,
);

/// The small limits, with room in a PATCH path for a filter naming five members.
fn small_limits_long_filters() -> ServerSettings {
    let mut settings = small_limits();
    settings.limits.list.filter.max_length = 1024;
    settings
}

on_both_stores_with!(small_limits_long_filters;
    members_named_by_one_request_are_bounded,
);

/// The SCIM error a reply carries, as (status, scimType).
fn scim_error(reply: &Reply) -> (u16, Option<&str>) {
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "a SCIM error document: {:?}",
        reply.body
    );
    assert_eq!(reply.body["status"], reply.status.to_string());
    (reply.status, reply.body["scimType"].as_str())
}

fn detail(reply: &Reply) -> &str {
    reply.body["detail"].as_str().unwrap_or_default()
}

/// The userNames of every user, sorted, from a listing that must succeed: an error answer
/// (whose `Resources` are none) is not an empty store.
async fn user_names(app: &TestApp) -> Vec<String> {
    let reply = app.get("/Users?count=5").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]),
        "{:?}",
        reply.body
    );
    let mut names: Vec<String> = reply
        .resources()
        .iter()
        .filter_map(|user| user["userName"].as_str().map(str::to_string))
        .collect();
    // Within one page: every user is in it.
    assert_eq!(reply.body["totalResults"], names.len(), "{:?}", reply.body);
    names.sort();
    names
}

async fn service_provider_config_reports_the_limits(app: TestApp) {
    let reply = app.get("/ServiceProviderConfig").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let config = reply.body;
    assert_eq!(config["filter"]["maxResults"], 5);
    assert_eq!(config["pagination"]["maxPageSize"], 5);
    assert_eq!(config["pagination"]["defaultPageSize"], 5);
    assert_eq!(config["bulk"]["maxOperations"], 7);
    assert_eq!(config["bulk"]["maxPayloadSize"], 32 * 1024);
}

/// One HTTP/1.1 exchange over a fresh connection: (status, JSON body).
async fn exchange_json(address: SocketAddr, request: &[u8]) -> (u16, Value) {
    let (status, answer) = exchange(address, request).await;
    let body = serde_json::from_str(body_of(&answer)).unwrap_or(Value::Null);
    (status, body)
}

/// A request with a chunked body of `chunks` chunks of `chunk` bytes, and no Content-Length.
fn chunked(method: &str, target: &str, token: &str, chunk: &str, chunks: usize) -> Vec<u8> {
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    for _ in 0..chunks {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    request.into_bytes()
}

async fn a_body_over_the_limit_is_413_on_every_route_chunked_or_not(app: TestApp) {
    let roles = "/instances/default/roles";
    let (status, roles_before) = call(&app, Method::GET, roles, None).await;
    assert_eq!(status, 200, "{roles_before}");
    let mut big = user("big@example.com");
    big["nickName"] = json!("x".repeat(9 * 1024));
    let reply = app.post("/Users", big.clone()).await;
    assert_eq!(scim_error(&reply), (413, None));
    assert!(detail(&reply).contains("8192 bytes"), "{}", detail(&reply));

    // Chunked: the size is known only as it is read.
    let chunk = format!("\"{}\"", "y".repeat(1022));
    let chunk = &chunk[..1024];
    for (method, target, token) in [
        ("POST", "/scim/v2/Users", app.token.as_str()),
        ("PATCH", "/scim/v2/Users/some-id", app.token.as_str()),
        ("POST", "/scim/v2/Users/.search", app.token.as_str()),
        (
            "PUT",
            "/admin/v1/instances/default/roles/allowed",
            ADMIN_TOKEN,
        ),
        ("POST", "/healthz", ADMIN_TOKEN),
    ] {
        let (status, body) =
            exchange_json(app.address, &chunked(method, target, token, chunk, 9)).await;
        assert_eq!(status, 413, "{method} {target}: {body}");
        assert_eq!(body["status"], "413", "{method} {target}: {body}");
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
            "{method} {target}"
        );
    }
    // Bulk has its own limit, maxPayloadSize: a body over the other limit passes.
    let (status, body) = exchange_json(
        app.address,
        &chunked("POST", "/scim/v2/Bulk", &app.token, chunk, 9),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = exchange_json(
        app.address,
        &chunked("POST", "/scim/v2/Bulk", &app.token, chunk, 33),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (413, json!("413")),
        "{body}"
    );
    assert!(body["detail"]
        .as_str()
        .is_some_and(|detail| detail.contains("maxPayloadSize")));
    // Admin API: a declared length over the limit too.
    let response = app
        .client
        .put(format!(
            "http://{}/admin/v1/instances/default/roles/allowed",
            app.address
        ))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"roles": ["x".repeat(9 * 1024)]}))
        .send()
        .await
        .expect("scimd answers");
    let reply = Reply::read(response).await;
    assert_eq!(scim_error(&reply), (413, None));

    // Nothing refused was applied.
    assert_eq!(user_names(&app).await, Vec::<String>::new());
    assert_eq!(
        call(&app, Method::GET, roles, None).await,
        (200, roles_before)
    );
}

async fn filters_past_their_length_or_depth_are_invalid_filters(app: TestApp) {
    let ann = app.create_user("ann").await;
    let within = format!("userName eq \"{}\"", "a".repeat(80));
    assert_eq!(
        app.get(&format!("/Users?filter={}", encode(&within)))
            .await
            .status,
        200
    );
    let long = format!("userName eq \"{}\"", "a".repeat(90));
    let deep = "(((( userName pr ))))";
    let shallow = "((( userName pr )))";
    let reply = app.get(&format!("/Users?filter={}", encode(shallow))).await;
    assert_eq!(
        (reply.status, &reply.body["totalResults"]),
        (200, &json!(1))
    );
    for filter in [long.as_str(), deep] {
        let reply = app.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_eq!(scim_error(&reply), (400, Some("invalidFilter")), "{filter}");
        let search = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": filter,
        });
        let reply = app.post("/Groups/.search", search).await;
        assert_eq!(scim_error(&reply), (400, Some("invalidFilter")), "{filter}");
    }
    // A PATCH path's value filter is a filter too; past the length it is not a path.
    let path = |value_length: usize| {
        let value = "a".repeat(value_length);
        json!([{"op": "remove", "path": format!("emails[value eq \"{value}\"]")}])
    };
    let reply = app.patch(&format!("/Users/{ann}"), path(70)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = app.patch(&format!("/Users/{ann}"), path(90)).await;
    assert_eq!(scim_error(&reply), (400, Some("invalidPath")));
}

async fn a_larger_count_is_clamped_to_the_page_size(app: TestApp) {
    for n in 0..7 {
        app.create_user(&format!("user{n}")).await;
    }
    for query in ["", "?count=100", "?count=5000&startIndex=2"] {
        let reply = app.get(&format!("/Users{query}")).await;
        assert_eq!(reply.status, 200, "{query}");
        assert_eq!(reply.body["totalResults"], 7, "{query}");
        assert_eq!(reply.body["itemsPerPage"], 5, "{query}");
        assert_eq!(reply.resources().len(), 5, "{query}");
    }
    let reply = app.get("/Users?count=3").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["itemsPerPage"], 3);
    assert_eq!(reply.resources().len(), 3);
}

async fn values_past_their_limits_are_invalid_values_naming_the_attribute(app: TestApp) {
    let id = app.create_user("ann").await;
    let long = "é".repeat(51);
    let emails: Vec<Value> = (0..4)
        .map(|n| json!({"value": format!("a{n}@example.com")}))
        .collect();
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let cases = [
        (
            json!({"userName": "bob", "title": long}),
            "title is 51 characters long",
        ),
        (
            json!({"userName": "bob", "name": {"givenName": long}}),
            "name.givenName is 51",
        ),
        (
            json!({"userName": "bob", "emails": emails}),
            "emails has 4 values",
        ),
        (
            json!({"userName": "bob", enterprise: {"department": long}}),
            "enterprise:2.0:User:department is 51",
        ),
    ];
    for (body, expected) in &cases {
        let reply = app.post("/Users", body.clone()).await;
        assert_eq!(scim_error(&reply), (400, Some("invalidValue")), "{body}");
        assert!(detail(&reply).contains(expected), "{}", detail(&reply));
        let reply = app.put(&format!("/Users/{id}"), body.clone()).await;
        assert_eq!(scim_error(&reply), (400, Some("invalidValue")), "{body}");
    }
    // A PATCH is judged by its result: three emails are fine, a fourth is not.
    let three = json!([{"op": "add", "path": "emails", "value": &emails[..3]}]);
    assert_eq!(app.patch(&format!("/Users/{id}"), three).await.status, 200);
    let fourth = json!([{"op": "add", "path": "emails", "value": [&emails[3]]}]);
    let reply = app.patch(&format!("/Users/{id}"), fourth).await;
    assert_eq!(scim_error(&reply), (400, Some("invalidValue")));
    let title = json!([{"op": "replace", "path": "title", "value": long}]);
    let reply = app.patch(&format!("/Users/{id}"), title).await;
    assert_eq!(scim_error(&reply), (400, Some("invalidValue")));
    // Bulk operations meet the same limits.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b", "data": cases[0].0}],
    });
    let reply = app.post("/Bulk", bulk).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        reply.body["Operations"][0]["status"], "400",
        "{:?}",
        reply.body
    );

    assert_eq!(user_names(&app).await, ["ann"]);
    let reply = app.get(&format!("/Users/{id}")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let ann = reply.body;
    assert_eq!(ann["emails"].as_array().map(Vec::len), Some(3));
    assert_eq!(ann["title"], Value::Null);
}

async fn members_named_by_one_request_are_bounded(app: TestApp) {
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.create_user(&format!("member{n}")).await);
    }
    let members = |ids: &[String]| -> Value { ids.iter().map(|id| json!({"value": id})).collect() };
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Big",
        "members": members(&ids),
    });
    let reply = app.post("/Groups", group).await;
    assert_eq!(scim_error(&reply), (400, Some("invalidValue")));
    assert!(
        detail(&reply).contains("at most 4 members"),
        "{}",
        detail(&reply)
    );

    let four: Vec<&str> = ids[..4].iter().map(String::as_str).collect();
    let group_id = app.create_group("Big", &four).await;
    let path = format!("/Groups/{group_id}");
    let put = json!({"displayName": "Big", "members": members(&ids)});
    assert_eq!(
        scim_error(&app.put(&path, put).await),
        (400, Some("invalidValue"))
    );
    // Okta adds and removes in separate operations of one PATCH: they add up.
    let add_and_remove = json!([
        {"op": "add", "path": "members", "value": members(&ids[4..])},
        {"op": "remove", "path": "members", "value": members(&ids[..4])},
    ]);
    let reply = app.patch(&path, add_and_remove).await;
    assert_eq!(scim_error(&reply), (400, Some("invalidValue")));
    let filter = ids
        .iter()
        .map(|id| format!("value eq \"{id}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let by_filter = json!([{"op": "remove", "path": format!("members[{filter}]")}]);
    let reply = app.patch(&path, by_filter).await;
    assert_eq!(scim_error(&reply), (400, Some("invalidValue")));
    let group = app.get(&path).await;
    assert_eq!(group.status, 200, "{:?}", group.body);
    assert_eq!(group.body["members"].as_array().map(Vec::len), Some(4));

    // Within the limit, a group grows past it: the limit is per request, not per group.
    let add = json!([{"op": "add", "path": "members", "value": members(&ids[4..])}]);
    assert_eq!(app.patch(&path, add).await.status, 204);
    let group = app.get(&path).await;
    assert_eq!(group.status, 200, "{:?}", group.body);
    assert_eq!(group.body["members"].as_array().map(Vec::len), Some(5));
}
