//! Okta, replayed: the requests Okta's SCIM 2.0 provisioning sends, in the order it sends them
//! (Okta developer docs, "SCIM 2.0 protocol reference" and "Build a SCIM provisioning
//! integration": a lookup by userName before every create, `Content-Type: application/json`,
//! a password in the create body, PUT for profile pushes, path-less PATCH with a value object
//! for (de)activation, and group push by PATCH whose rename value carries the read-only `id`).

use crate::common::{encode, member_ids, Reply, TestApp};
use crate::on_both_stores;
use reqwest::Method;
use serde_json::{json, Value};

on_both_stores!(
    okta_creates_a_user_after_a_lookup_that_finds_nothing,
    okta_pushes_a_profile_with_put,
    okta_deactivates_and_reactivates_with_a_path_less_patch,
    okta_pushes_a_group_renames_it_and_changes_its_members,
);

const USER_NAME: &str = "test.user@okta.local";

/// Okta sends JSON as `application/json` with a charset, not `application/scim+json`.
async fn send_as_okta(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> Reply {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("accept", "application/scim+json");
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string());
    }
    Reply::read(request.send().await.expect("scimd answers")).await
}

/// The lookup Okta runs before creating a user, with its own paging parameters.
async fn okta_lookup(app: &TestApp, user_name: &str) -> Reply {
    let filter = encode(&format!(r#"userName eq "{user_name}""#));
    send_as_okta(
        app,
        Method::GET,
        &format!("/Users?filter={filter}&startIndex=1&count=100"),
        None,
    )
    .await
}

/// The body of Okta's create request, as its reference shows it.
fn okta_user(given_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": USER_NAME,
        "name": {"givenName": given_name, "familyName": "User"},
        "emails": [{"primary": true, "value": USER_NAME, "type": "work"}],
        "displayName": format!("{given_name} User"),
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

async fn create_okta_user(app: &TestApp) -> String {
    let created = send_as_okta(app, Method::POST, "/Users", Some(&okta_user("Test"))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.id()
}

fn assert_scim_resource(reply: &Reply) {
    assert_eq!(
        reply.header("content-type"),
        Some("application/scim+json"),
        "{reply:?}"
    );
    assert!(reply.header("etag").is_some(), "no ETag: {reply:?}");
}

async fn okta_creates_a_user_after_a_lookup_that_finds_nothing(app: TestApp) {
    let lookup = okta_lookup(&app, USER_NAME).await;
    assert_eq!(lookup.status, 200, "{:?}", lookup.body);
    assert_eq!(lookup.header("content-type"), Some("application/scim+json"));
    assert_eq!(
        lookup.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(lookup.body["totalResults"], 0);
    assert_eq!(lookup.body["startIndex"], 1);
    assert_eq!(lookup.body["Resources"], json!([]));

    let created = send_as_okta(&app, Method::POST, "/Users", Some(&okta_user("Test"))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_scim_resource(&created);
    let id = created.id();
    assert!(!id.is_empty());
    assert_eq!(created.body["userName"], USER_NAME);
    assert_eq!(created.body["active"], true);
    assert_eq!(created.body["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(created.body["emails"][0]["value"], USER_NAME);
    // The password is discarded, never echoed back.
    assert!(created.body.get("password").is_none());
    let location = format!("{}/Users/{id}", app.base);
    assert_eq!(created.body["meta"]["location"], location.as_str());

    let read = send_as_okta(&app, Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(read.status, 200);
    assert_scim_resource(&read);
    assert_eq!(read.body["id"], id.as_str());
    assert_eq!(read.body["userName"], USER_NAME);
    assert_eq!(read.body["name"]["givenName"], "Test");

    let found = okta_lookup(&app, USER_NAME).await;
    assert_eq!(found.body["totalResults"], 1, "{:?}", found.body);
    assert_eq!(found.resources()[0]["id"], id.as_str());
    assert_eq!(found.resources()[0]["active"], true);

    // A second create for the same userName is a uniqueness conflict Okta can recognise.
    let again = send_as_okta(&app, Method::POST, "/Users", Some(&okta_user("Test"))).await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert_eq!(again.body["scimType"], "uniqueness");
}

async fn okta_pushes_a_profile_with_put(app: TestApp) {
    let id = create_okta_user(&app).await;
    let mut body = okta_user("Another");
    body["id"] = json!(id);
    body["name"]["middleName"] = json!("Test");
    body["meta"] = json!({"resourceType": "User"});
    let replaced = send_as_okta(&app, Method::PUT, &format!("/Users/{id}"), Some(&body)).await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_scim_resource(&replaced);
    assert_eq!(replaced.body["id"], id.as_str());
    assert_eq!(replaced.body["name"]["givenName"], "Another");
    assert_eq!(replaced.body["name"]["middleName"], "Test");
    assert_eq!(replaced.body["displayName"], "Another User");
    // Created and mapped (1, 2), then updated and its mapped names changed (3, 4).
    assert_eq!(replaced.header("etag"), Some("W/\"4\""));
    assert!(replaced.body.get("password").is_none());

    let read = send_as_okta(&app, Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(read.body["name"]["givenName"], "Another");

    // Okta's password sync sends the password alone; it is accepted and changes nothing.
    let password = send_as_okta(
        &app,
        Method::PATCH,
        &format!("/Users/{id}"),
        Some(&okta_patch(json!({"password": "n3wPassw0rd"}))),
    )
    .await;
    assert_eq!(password.status, 200, "{:?}", password.body);
    assert!(password.body.get("password").is_none());
    assert_eq!(password.body["name"]["givenName"], "Another");
}

fn okta_patch(value: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": value}]
    })
}

async fn okta_deactivates_and_reactivates_with_a_path_less_patch(app: TestApp) {
    let id = create_okta_user(&app).await;
    let path = format!("/Users/{id}");
    let deactivated = send_as_okta(
        &app,
        Method::PATCH,
        &path,
        Some(&okta_patch(json!({"active": false}))),
    )
    .await;
    assert_eq!(deactivated.status, 200, "{:?}", deactivated.body);
    assert_scim_resource(&deactivated);
    assert_eq!(deactivated.body["active"], false);
    assert_eq!(deactivated.body["userName"], USER_NAME);
    assert_eq!(deactivated.body["name"]["givenName"], "Test");
    let read = send_as_okta(&app, Method::GET, &path, None).await;
    assert_eq!(read.body["active"], false);
    // A deactivated user is still found by Okta's lookup (it reactivates rather than creates).
    let found = okta_lookup(&app, USER_NAME).await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.resources()[0]["active"], false);

    let reactivated = send_as_okta(
        &app,
        Method::PATCH,
        &path,
        Some(&okta_patch(json!({"active": true}))),
    )
    .await;
    assert_eq!(reactivated.status, 200, "{:?}", reactivated.body);
    assert_eq!(reactivated.body["active"], true);
    assert_eq!(
        send_as_okta(&app, Method::GET, &path, None).await.body["active"],
        true
    );
}

async fn okta_pushes_a_group_renames_it_and_changes_its_members(app: TestApp) {
    let user = create_okta_user(&app).await;
    let created = send_as_okta(
        &app,
        Method::POST,
        "/Groups",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Test SCIMv2",
            "members": []
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_scim_resource(&created);
    let group = created.id();
    assert_eq!(created.body["displayName"], "Test SCIMv2");
    assert_eq!(
        created.body["meta"]["location"],
        format!("{}/Groups/{group}", app.base).as_str()
    );
    let path = format!("/Groups/{group}");

    let read = send_as_okta(&app, Method::GET, &path, None).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["displayName"], "Test SCIMv2");

    // Okta renames with a path-less replace whose value repeats the read-only id.
    let renamed = send_as_okta(
        &app,
        Method::PATCH,
        &path,
        Some(&okta_patch(
            json!({"id": group, "displayName": "Test SCIMv2 renamed"}),
        )),
    )
    .await;
    // Okta asks for no attributes: the answer has no body (RFC 7644 §3.5.2).
    assert_eq!(renamed.status, 204, "{:?}", renamed.body);
    let read = send_as_okta(&app, Method::GET, &path, None).await;
    assert_eq!(read.body["displayName"], "Test SCIMv2 renamed");

    let added = send_as_okta(
        &app,
        Method::PATCH,
        &path,
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{
                "op": "add",
                "path": "members",
                "value": [{"value": user, "display": USER_NAME}]
            }]
        })),
    )
    .await;
    assert_eq!(added.status, 204, "{:?}", added.body);
    let read = send_as_okta(&app, Method::GET, &path, None).await;
    assert_eq!(member_ids(&read.body), vec![user.clone()]);
    assert_eq!(read.body["displayName"], "Test SCIMv2 renamed");
    let member = send_as_okta(&app, Method::GET, &format!("/Users/{user}"), None).await;
    assert_eq!(member.body["groups"][0]["value"], group.as_str());
    assert_eq!(member.body["groups"][0]["display"], "Test SCIMv2 renamed");

    let removed = send_as_okta(
        &app,
        Method::PATCH,
        &path,
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]
        })),
    )
    .await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    let read = send_as_okta(&app, Method::GET, &path, None).await;
    assert_eq!(member_ids(&read.body), Vec::<String>::new());
    // The user itself is untouched.
    let user_read = send_as_okta(&app, Method::GET, &format!("/Users/{user}"), None).await;
    assert_eq!(user_read.status, 200);

    // Older Okta group push replaces the whole group, members listed with their display.
    let put = send_as_okta(
        &app,
        Method::PUT,
        &path,
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": group,
            "displayName": "Test SCIMv2 renamed",
            "members": [{"value": user, "display": USER_NAME}]
        })),
    )
    .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_scim_resource(&put);
    assert_eq!(member_ids(&put.body), vec![user.clone()]);
    let emptied = send_as_okta(
        &app,
        Method::PUT,
        &path,
        Some(
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                     "id": group, "displayName": "Test SCIMv2 renamed", "members": []}),
        ),
    )
    .await;
    assert_eq!(member_ids(&emptied.body), Vec::<String>::new());

    let filter = encode(r#"displayName eq "Test SCIMv2 renamed""#);
    let found = send_as_okta(
        &app,
        Method::GET,
        &format!("/Groups?filter={filter}&startIndex=1&count=100"),
        None,
    )
    .await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.header("content-type"), Some("application/scim+json"));
    assert_eq!(found.body["totalResults"], 1, "{:?}", found.body);
    assert_eq!(found.resources()[0]["id"], group.as_str());
    let old = encode(r#"displayName eq "Test SCIMv2""#);
    let gone = send_as_okta(
        &app,
        Method::GET,
        &format!("/Groups?filter={old}&startIndex=1&count=100"),
        None,
    )
    .await;
    assert_eq!(gone.body["totalResults"], 0);

    let deleted = send_as_okta(&app, Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        send_as_okta(&app, Method::GET, &path, None).await.status,
        404
    );
}
