//! `/Bulk` (RFC 7644 §3.7): many operations in one request, `bulkId` references between them,
//! `failOnErrors`, versions, and the advertised limits enforced.

use crate::common::stuck::{stick_read_model, unstick_read_model};
use crate::common::{encode, member_ids, user, StoreKind, TestApp};
use crate::{on_both_store_kinds, on_both_stores};
use scimd::limits::Limits;
use scimd::scim::bulk::BulkLimits;
use scimd::startup::ServerSettings;
use serde_json::{json, Value};

on_both_stores!(
    users_and_a_group_of_them_are_created_in_one_request,
    a_forward_reference_waits_for_the_post_it_names,
    fail_on_errors_stops_after_that_many_failures,
    a_failed_operation_does_not_stop_the_others,
    a_reference_to_a_failed_post_or_a_cycle_fails_with_409,
    patch_and_delete_run_through_bulk,
    a_stale_version_fails_its_operation_with_412,
    more_operations_than_max_operations_is_413,
    a_body_over_max_payload_size_is_413,
    the_service_provider_config_advertises_the_limits,
    a_malformed_bulk_request_is_refused_whole,
);
on_both_store_kinds!(posts_committed_while_the_read_model_is_stuck_keep_their_ids);

fn bulk(operations: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": operations,
    })
}

fn post_user(bulk_id: &str, user_name: &str) -> Value {
    json!({"method": "POST", "bulkId": bulk_id, "path": "/Users", "data": user(user_name)})
}

fn post_group(bulk_id: &str, display_name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"method": "POST", "bulkId": bulk_id, "path": "/Groups", "data": {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": display_name,
        "members": members,
    }})
}

/// The `Operations` of a BulkResponse.
fn results(body: &Value) -> Vec<Value> {
    body["Operations"].as_array().cloned().unwrap_or_default()
}

fn statuses(body: &Value) -> Vec<String> {
    results(body)
        .iter()
        .map(|result| result["status"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The id at the end of a result's location.
fn id_of(result: &Value) -> String {
    result["location"]
        .as_str()
        .and_then(|location| location.rsplit('/').next())
        .unwrap_or_default()
        .to_string()
}

async fn users_and_a_group_of_them_are_created_in_one_request(app: TestApp) {
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([
                post_user("ann", "ann@example.com"),
                post_user("bob", "bob@example.com"),
                post_group("eng", "Engineering", &["bulkId:ann", "bulkId:bob"]),
            ])),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    assert_eq!(statuses(&reply.body), ["201", "201", "201"]);
    let results = results(&reply.body);
    assert_eq!(results[0]["method"], "POST");
    assert_eq!(results[0]["bulkId"], "ann");
    assert!(results[0].get("response").is_none());
    assert!(results[0]["version"].as_str().is_some());
    let ann = id_of(&results[0]);
    let bob = id_of(&results[1]);
    assert_eq!(
        results[0]["location"],
        format!("{}/Users/{ann}", app.base).as_str()
    );
    assert_eq!(app.get(&format!("/Users/{ann}")).await.status, 200);
    let group = app.get(&format!("/Groups/{}", id_of(&results[2]))).await;
    assert_eq!(group.body["displayName"], "Engineering");
    let mut expected = vec![ann, bob];
    expected.sort();
    assert_eq!(member_ids(&group.body), expected);
}

async fn a_forward_reference_waits_for_the_post_it_names(app: TestApp) {
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([
                post_group("ops", "Operations", &["bulkId:cat"]),
                {"method": "PATCH", "path": "/Groups/bulkId:ops", "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "Ops"}],
                }},
                post_user("cat", "cat@example.com"),
            ])),
        )
        .await;
    assert_eq!(reply.status, 200);
    // Reported in the order of the request, though the user was created first.
    assert_eq!(statuses(&reply.body), ["201", "200", "201"]);
    let results = results(&reply.body);
    assert_eq!(results[0]["bulkId"], "ops");
    assert_eq!(results[1]["method"], "PATCH");
    assert_eq!(results[2]["bulkId"], "cat");
    let group = app.get(&format!("/Groups/{}", id_of(&results[0]))).await;
    assert_eq!(group.body["displayName"], "Ops");
    assert_eq!(member_ids(&group.body), [id_of(&results[2])]);
}

async fn fail_on_errors_stops_after_that_many_failures(app: TestApp) {
    app.create_user("taken@example.com").await;
    let mut request = bulk(json!([
        post_user("a", "a@example.com"),
        post_user("b", "taken@example.com"),
        post_user("c", "c@example.com"),
    ]));
    request["failOnErrors"] = json!(1);
    let reply = app.post("/Bulk", request).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(statuses(&reply.body), ["201", "409"]);
    let failed = &results(&reply.body)[1];
    assert_eq!(failed["bulkId"], "b");
    assert!(failed.get("location").is_none());
    assert_eq!(failed["response"]["scimType"], "uniqueness");
    let filter = encode("userName eq \"c@example.com\"");
    let found = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(found.body["totalResults"], 0, "the third POST never ran");
}

async fn a_failed_operation_does_not_stop_the_others(app: TestApp) {
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "GET", "path": "/Users/x"},
                {"method": "DELETE", "path": "/Users/no-such-user"},
                {"method": "POST", "bulkId": "bad", "path": "/Users", "data": {"displayName": "no userName"}},
                {"method": "DELETE", "path": "/Devices/1"},
                post_user("ok", "ok@example.com"),
            ])),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(statuses(&reply.body), ["400", "404", "400", "400", "201"]);
    let results = results(&reply.body);
    assert_eq!(results[0]["method"], "GET");
    assert_eq!(results[0]["response"]["scimType"], "invalidValue");
    assert_eq!(
        results[1]["response"]["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(results[1]["response"]["status"], "404");
    assert_eq!(
        results[1]["location"],
        format!("{}/Users/no-such-user", app.base).as_str()
    );
    assert!(results[2]["response"]["detail"].as_str().is_some());
    assert_eq!(
        app.get(&format!("/Users/{}", id_of(&results[4])))
            .await
            .status,
        200
    );
}

async fn a_reference_to_a_failed_post_or_a_cycle_fails_with_409(app: TestApp) {
    app.create_user("taken@example.com").await;
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([
                post_user("dup", "taken@example.com"),
                post_group("g1", "Refers to a failure", &["bulkId:dup"]),
                post_group("a", "A", &["bulkId:b"]),
                post_group("b", "B", &["bulkId:a"]),
                post_group("c", "Refers to nothing", &["bulkId:nowhere"]),
                post_group("ok", "Fine", &[]),
            ])),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        statuses(&reply.body),
        ["409", "409", "409", "409", "409", "201"]
    );
    let detail = results(&reply.body)[2]["response"]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(detail.contains("cycle"), "{detail}");
}

async fn patch_and_delete_run_through_bulk(app: TestApp) {
    let ann = app.create_user("ann@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let group = app.create_group("Sales", &[&ann]).await;
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([
                {"method": "PATCH", "path": format!("/Users/{ann}"), "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "Ann A."}],
                }},
                {"method": "PATCH", "path": format!("/Groups/{group}"), "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": bob}]}],
                }},
                {"method": "PUT", "path": format!("/Groups/{group}"), "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Sales EMEA",
                }},
                {"method": "DELETE", "path": format!("/Users/{ann}")},
            ])),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(statuses(&reply.body), ["200", "200", "200", "204"]);
    let results = results(&reply.body);
    assert_eq!(
        results[3]["location"],
        format!("{}/Users/{ann}", app.base).as_str()
    );
    assert!(results[3].get("version").is_none());
    assert_eq!(app.get(&format!("/Users/{ann}")).await.status, 404);
    let group = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(group.body["displayName"], "Sales EMEA");
    assert_eq!(member_ids(&group.body), [bob]);
}

async fn a_stale_version_fails_its_operation_with_412(app: TestApp) {
    let created = app.post("/Users", user("ann@example.com")).await;
    let id = created.id();
    let first = created.body["meta"]["version"].clone();
    let patched = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "displayName", "value": "Ann"}]),
        )
        .await;
    let current = patched.body["meta"]["version"].clone();
    let put = |version: &Value, name: &str| {
        json!({"method": "PUT", "path": format!("/Users/{id}"), "version": version,
               "data": {"userName": "ann@example.com", "displayName": name}})
    };
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([put(&first, "Stale"), put(&current, "Fresh")])),
        )
        .await;
    assert_eq!(statuses(&reply.body), ["412", "200"], "{:?}", reply.body);
    let results = results(&reply.body);
    assert_eq!(results[0]["response"]["status"], "412");
    assert_ne!(results[1]["version"], current);
    let user = app.get(&format!("/Users/{id}")).await;
    assert_eq!(user.body["displayName"], "Fresh");
    assert_eq!(user.header("etag"), results[1]["version"].as_str());
}

async fn more_operations_than_max_operations_is_413(app: TestApp) {
    let operations: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let reply = app.post("/Bulk", bulk(Value::Array(operations))).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.body["status"], "413");
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert!(reply.body["detail"]
        .as_str()
        .is_some_and(|detail| detail.contains("maxOperations")));
}

async fn a_body_over_max_payload_size_is_413(app: TestApp) {
    let padding = "x".repeat(1024 * 1024);
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([{"method": "POST", "bulkId": "big", "path": "/Users",
                          "data": {"userName": "big@example.com", "nickName": padding}}])),
        )
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.body["status"], "413");
    assert!(reply.body["detail"]
        .as_str()
        .is_some_and(|detail| detail.contains("maxPayloadSize")));
    let filter = encode("userName eq \"big@example.com\"");
    let found = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(found.body["totalResults"], 0);
}

async fn the_service_provider_config_advertises_the_limits(app: TestApp) {
    let config = app.get("/ServiceProviderConfig").await.body;
    assert_eq!(config["bulk"]["supported"], true);
    assert_eq!(config["bulk"]["maxOperations"], 1000);
    assert_eq!(config["bulk"]["maxPayloadSize"], 1024 * 1024);
}

async fn a_malformed_bulk_request_is_refused_whole(app: TestApp) {
    let wrong_schema = app
        .post(
            "/Bulk",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}),
        )
        .await;
    assert_eq!(wrong_schema.status, 400);
    assert_eq!(wrong_schema.body["scimType"], "invalidSyntax");
    let no_operations = app
        .post(
            "/Bulk",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]}),
        )
        .await;
    assert_eq!(no_operations.status, 400);
    let twice = app
        .post(
            "/Bulk",
            bulk(json!([
                post_user("x", "a@example.com"),
                post_user("x", "b@example.com")
            ])),
        )
        .await;
    assert_eq!(twice.status, 400);
    assert_eq!(twice.body["scimType"], "invalidValue");
    let filter = encode("userName eq \"a@example.com\"");
    assert_eq!(
        app.get(&format!("/Users?filter={filter}")).await.body["totalResults"],
        0
    );
    let anonymous = app
        .send(reqwest::Method::POST, "/Bulk", None, Some(&bulk(json!([]))))
        .await;
    assert_eq!(anonymous.status, 401);
    let empty = app.post("/Bulk", bulk(json!([]))).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["Operations"], json!([]));
}

/// The limits come from the settings, and the Bulk payload limit is not the one for single
/// resources: a Bulk body may be larger than `max_body_bytes`.
async fn the_limits_follow_the_settings(kind: StoreKind) {
    let settings = ServerSettings {
        limits: Limits {
            max_body_bytes: 4 * 1024,
            bulk: BulkLimits {
                max_operations: 2,
                max_payload_bytes: 64 * 1024,
            },
            ..Limits::default()
        },
        ..ServerSettings::default()
    };
    let app = TestApp::spawn_with(kind, settings).await;
    let config = app.get("/ServiceProviderConfig").await.body;
    assert_eq!(config["bulk"]["maxOperations"], 2);
    assert_eq!(config["bulk"]["maxPayloadSize"], 64 * 1024);

    let mut big_user = user("big@example.com");
    big_user["nickName"] = json!("x".repeat(8 * 1024));
    assert_eq!(app.post("/Users", big_user.clone()).await.status, 413);
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([{"method": "POST", "bulkId": "big", "path": "/Users", "data": big_user}])),
        )
        .await;
    assert_eq!(statuses(&reply.body), ["201"], "{:?}", reply.body);

    let three = bulk(json!([
        post_user("a", "a@example.com"),
        post_user("b", "b@example.com"),
        post_user("c", "c@example.com"),
    ]));
    assert_eq!(app.post("/Bulk", three).await.status, 413);
    big_user["nickName"] = json!("x".repeat(80 * 1024));
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([{"method": "POST", "bulkId": "big", "path": "/Users", "data": big_user}])),
        )
        .await;
    assert_eq!(reply.status, 413);
}

mod the_limits_follow_the_settings {
    use crate::common::StoreKind;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::the_limits_follow_the_settings(StoreKind::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::the_limits_follow_the_settings(StoreKind::Postgres).await
    }
}

/// Creates whose read model lags past the wait have committed all the same: each reports 201
/// with its location, so that the IdP keeps the id (a 503 would lose it, and a retry would
/// find the name taken).
async fn posts_committed_while_the_read_model_is_stuck_keep_their_ids(kind: StoreKind) {
    let wait = std::time::Duration::from_millis(300);
    let app = TestApp::spawn_waiting(kind, ServerSettings::default(), wait).await;
    stick_read_model(&app).await;
    let reply = app
        .post(
            "/Bulk",
            bulk(json!([
                post_user("late", "late@example.com"),
                post_group("slow", "Slow team", &[]),
            ])),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(statuses(&reply.body), ["201", "201"], "{:?}", reply.body);
    let results = results(&reply.body);
    let (user_id, group_id) = (id_of(&results[0]), id_of(&results[1]));
    unstick_read_model(&app).await;
    let created = app.get(&format!("/Users/{user_id}")).await;
    assert_eq!(created.body["userName"], "late@example.com");
    let created = app.get(&format!("/Groups/{group_id}")).await;
    assert_eq!(created.body["displayName"], "Slow team");
}
