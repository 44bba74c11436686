//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` tell the truth about the server.

use crate::common::TestApp;
use crate::on_both_stores;
use serde_json::json;

on_both_stores!(
    the_service_provider_config_describes_the_features,
    resource_types_name_users_and_groups,
    schemas_publish_the_enforced_attributes,
    discovery_endpoints_refuse_writes_and_unknown_paths_are_scim_errors,
);

async fn the_service_provider_config_describes_the_features(app: TestApp) {
    let reply = app.get("/ServiceProviderConfig").await;
    assert_eq!(reply.status, 200);
    let config = &reply.body;
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["etag"]["supported"], true);
    assert_eq!(config["changePassword"]["supported"], false);
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
}

async fn resource_types_name_users_and_groups(app: TestApp) {
    let reply = app.get("/ResourceTypes").await;
    assert_eq!(reply.body["totalResults"], 2);
    let user = app.get("/ResourceTypes/User").await;
    assert_eq!(user.body["endpoint"], "/Users");
    assert_eq!(
        user.body["schemaExtensions"],
        json!([{"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": false}])
    );
    assert_eq!(app.get("/ResourceTypes/Device").await.status, 404);
}

async fn schemas_publish_the_enforced_attributes(app: TestApp) {
    let reply = app.get("/Schemas").await;
    assert_eq!(reply.body["totalResults"], 3);
    let user = app
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(user.status, 200);
    let attributes = user.body["attributes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let user_name = attributes
        .iter()
        .find(|a| a["name"] == "userName")
        .cloned()
        .unwrap_or_default();
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    let password = attributes
        .iter()
        .find(|a| a["name"] == "password")
        .cloned()
        .unwrap_or_default();
    assert_eq!(password["returned"], "never");
    let group = app
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
        .await;
    assert_eq!(group.body["attributes"][1]["name"], "members");
}

async fn discovery_endpoints_refuse_writes_and_unknown_paths_are_scim_errors(app: TestApp) {
    let reply = app.post("/Schemas", json!({})).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.body["status"], "405");
    let reply = app.get("/Devices").await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
}
