//! OneLogin, replayed: its "SCIM Provisioner with SAML (SCIM v2 Enterprise)" connector fills a
//! JSON template per user (OneLogin developer docs, "SCIM provisioning"; the templates vendors
//! publish for it): `emails` may be one object rather than a list, `active` is the text of
//! `{$user.active}`, `id` is sent as null, and the manager carries sub-attributes of
//! OneLogin's own. It looks users up by userName, pushes profile changes with PUT of the whole
//! template, deactivates by PUT with `active` false, and deletes.

use crate::common::{encode, TestApp};
use crate::on_both_stores;
use serde_json::{json, Value};

on_both_stores!(
    onelogin_provisions_updates_deactivates_and_deletes_a_user,
    onelogin_sends_a_single_email_object_as_a_list_of_one,
);

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER_NAME: &str = "jane.doe@onelogin.example";

/// OneLogin's template, filled in.
fn onelogin_user(family_name: &str, active: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": null,
        "userName": USER_NAME,
        "name": {"givenName": "Jane", "familyName": family_name, "formatted": format!("Jane {family_name}")},
        "emails": {"value": USER_NAME, "type": "work", "primary": true},
        "active": active,
        "meta": {"resourceType": "User"},
        ENTERPRISE: {
            "department": "Sales",
            "manager": {"managerId": "", "displayName": "Max Manager"}
        }
    })
}

async fn lookup(app: &TestApp) -> crate::common::Reply {
    let filter = encode(&format!(r#"userName eq "{USER_NAME}""#));
    app.get(&format!("/Users?filter={filter}")).await
}

async fn onelogin_provisions_updates_deactivates_and_deletes_a_user(app: TestApp) {
    let none = lookup(&app).await;
    assert_eq!(none.status, 200, "{:?}", none.body);
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));

    let created = app.post("/Users", onelogin_user("Doe", "true")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        created.header("content-type"),
        Some("application/scim+json")
    );
    assert!(created.header("etag").is_some());
    let id = created.id();
    assert!(!id.is_empty());
    assert_eq!(created.body["active"], true);
    assert_eq!(created.body[ENTERPRISE]["department"], "Sales");
    let path = format!("/Users/{id}");
    assert_eq!(
        created.body["meta"]["location"],
        format!("{}{path}", app.base).as_str()
    );

    let found = lookup(&app).await;
    assert_eq!(found.body["totalResults"], 1, "{:?}", found.body);
    assert_eq!(found.resources()[0]["id"], id.as_str());

    let updated = app.put(&path, onelogin_user("Smith", "true")).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["id"], id.as_str());
    assert_eq!(updated.body["name"]["familyName"], "Smith");
    assert_eq!(updated.body["name"]["formatted"], "Jane Smith");
    // Created and mapped (1, 2), then updated and its Last Name mapped anew (3, 4).
    assert_eq!(updated.header("etag"), Some("W/\"4\""));

    let deactivated = app.put(&path, onelogin_user("Smith", "false")).await;
    assert_eq!(deactivated.status, 200, "{:?}", deactivated.body);
    assert_eq!(deactivated.body["active"], false);
    assert_eq!(app.get(&path).await.body["active"], false);
    assert_eq!(lookup(&app).await.resources()[0]["active"], false);

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(app.get(&path).await.status, 404);
    assert_eq!(lookup(&app).await.body["totalResults"], 0);
}

async fn onelogin_sends_a_single_email_object_as_a_list_of_one(app: TestApp) {
    let created = app.post("/Users", onelogin_user("Doe", "true")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        created.body["emails"],
        json!([{"value": USER_NAME, "type": "work", "primary": true}])
    );
    let read = app.get(&format!("/Users/{}", created.id())).await;
    assert_eq!(read.body["emails"], created.body["emails"]);
    // Matching on the email finds the user through the list it became.
    let filter = format!(r#"emails.value eq "{}""#, USER_NAME.to_uppercase());
    let found = app.get(&format!("/Users?filter={}", encode(&filter))).await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.resources()[0]["id"], json!(created.id()));
}
