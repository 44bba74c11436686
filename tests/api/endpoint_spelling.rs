//! Endpoint names in any case and with a trailing slash, as Microsoft's SCIM test collection
//! sends them: answered as the canonical endpoint would, shown in canonical form, logged as
//! sent. Ids are never case-folded, unknown endpoints stay 404, and the admin API is not
//! forgiving.

use crate::common::admin_api::{call, with_admin_api};
use crate::common::{encode, user, TestApp};
use crate::metrics::scrape;
use crate::on_both_stores_with;
use crate::provisioning_log::log_of;
use reqwest::Method;
use serde_json::json;

on_both_stores_with!(with_admin_api;
    endpoint_names_are_forgiven_their_case_and_a_trailing_slash,
    only_the_endpoint_name_is_forgiven,
);

const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

async fn endpoint_names_are_forgiven_their_case_and_a_trailing_slash(app: TestApp) {
    let created = app.post("/users", user("ann")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let ann = created.id();
    let canonical = format!("{}/Users/{ann}", app.base);
    assert_eq!(created.header("location"), Some(canonical.as_str()));
    assert_eq!(created.body["meta"]["location"], canonical);
    assert_eq!(created.body["meta"]["resourceType"], "User");

    let read = app.get(&format!("/USERS/{ann}/")).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    assert_eq!(read.body["meta"]["location"], canonical);

    let filter = encode("userName eq \"ann\"");
    for path in [
        format!("/Users/?filter={filter}"),
        format!("/users?filter={filter}"),
    ] {
        let found = app.get(&path).await;
        assert_eq!(found.body["totalResults"], 1, "{path}: {:?}", found.body);
        assert_eq!(found.resources()[0]["meta"]["location"], canonical);
    }
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"ann\"",
    });
    for path in ["/users/.search", "/Users/.SEARCH/", "/.Search"] {
        let found = app.post(path, search.clone()).await;
        assert_eq!(found.body["totalResults"], 1, "{path}: {:?}", found.body);
    }

    let group = json!({"displayName": "Team", "members": [{"value": ann}]});
    let team = app.post("/GROUPS/", group).await;
    assert_eq!(team.status, 201, "{:?}", team.body);
    let team_location = format!("{}/Groups/{}", app.base, team.id());
    assert_eq!(team.header("location"), Some(team_location.as_str()));
    assert_eq!(team.body["meta"]["resourceType"], "Group");
    let rename = json!([{"op": "replace", "path": "displayName", "value": "Team EU"}]);
    let renamed = app.patch(&format!("/groups/{}", team.id()), rename).await;
    assert!(renamed.status < 300, "{:?}", renamed.body);
    assert_eq!(app.get("/groups").await.body["totalResults"], 1);

    let replaced = app
        .put(
            &format!("/users/{ann}/"),
            json!({"userName": "ann", "title": "Lead"}),
        )
        .await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(replaced.body["meta"]["location"], canonical);

    for path in [
        "/serviceproviderconfig",
        "/ServiceProviderConfig/",
        "/schemas",
        "/resourcetypes/",
        "/RESOURCETYPES/User",
        "/schemas/urn:ietf:params:scim:schemas:core:2.0:User",
    ] {
        assert_eq!(app.get(path).await.status, 200, "{path}");
    }
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "bulkId": "b", "path": "/Users", "data": user("bob")}],
    });
    let bulk = app.post("/bulk", bulk).await;
    assert_eq!(bulk.status, 200, "{:?}", bulk.body);
    assert_eq!(
        bulk.body["Operations"][0]["status"], "201",
        "{:?}",
        bulk.body
    );

    assert_eq!(app.delete(&format!("/users/{ann}/")).await.status, 204);
    assert_eq!(app.get(&format!("/Users/{ann}")).await.status, 404);

    // Support sees the path as the IdP sent it.
    let paths: Vec<String> = log_of(&app, "default", "")
        .await
        .iter()
        .filter_map(|entry| entry["path"].as_str().map(str::to_string))
        .collect();
    assert_eq!(paths.first().map(String::as_str), Some("/scim/v2/users"));
    assert!(
        paths.contains(&format!("/scim/v2/USERS/{ann}/")),
        "{paths:#?}"
    );
    assert!(paths.contains(&"/scim/v2/bulk".to_string()), "{paths:#?}");
    // Metrics count each spelling under its route's template: no series per spelling.
    let (_, metrics) = scrape(&app).await;
    assert!(
        metrics.contains("route=\"/scim/v2/Users/{id}\""),
        "{metrics}"
    );
    for spelling in ["/scim/v2/users", "/scim/v2/USERS", "/scim/v2/bulk"] {
        assert!(
            !metrics.contains(&format!("\"{spelling}")),
            "{spelling}: {metrics}"
        );
    }
}

async fn only_the_endpoint_name_is_forgiven(app: TestApp) {
    let ann = app.create_user("ann").await;
    // Ids are matched exactly.
    let shouted = app.get(&format!("/Users/{}", ann.to_uppercase())).await;
    assert_eq!(shouted.status, 404);
    let schema = app
        .get("/Schemas/URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER")
        .await;
    assert_eq!(schema.status, 404);
    // Unknown endpoints, and forms that are not one trailing slash, are still SCIM 404s.
    for path in [
        "/Devices".to_string(),
        "/Userss".to_string(),
        format!("/users/{ann}/groups"),
        "/Users//".to_string(),
        "/".to_string(),
    ] {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.body["schemas"], json!([ERROR]), "{path}");
    }
    // A method the endpoint does not support is still 405.
    assert_eq!(app.post("/schemas/", json!({})).await.status, 405);
    // The admin API keeps its exact paths.
    let (status, _) = call(&app, Method::GET, "/instances", None).await;
    assert_eq!(status, 200);
    let (status, body) = call(&app, Method::GET, "/INSTANCES", None).await;
    assert_eq!(status, 404, "{body}");
}
