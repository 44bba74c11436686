//! Microsoft Entra ID, replayed: the requests its provisioning service sends, as Microsoft's
//! "Develop and plan provisioning for a SCIM endpoint" request examples and "Known issues and
//! resolutions with SCIM 2.0 protocol compliance" describe them: lookups by userName (with the
//! query string `+`-encoded), the enterprise manager as a bare id, capitalised PATCH ops,
//! booleans as strings, path-less PATCH values keyed by dotted paths and URNs, `Add` to a
//! filtered email path, groups read with `excludedAttributes=members`, and member removals
//! that list the members to remove.

use crate::common::{encode, member_ids, user, TestApp};
use crate::on_both_stores;
use aggregates::settings::SettingsCommand;
use serde_json::{json, Value};

on_both_stores!(
    entra_looks_users_up_by_user_name_as_it_encodes_them,
    entra_creates_a_user_with_the_enterprise_extension_and_a_bare_manager,
    entra_patches_with_capitalised_ops_and_string_booleans,
    entra_patches_without_path_using_dotted_and_urn_keys,
    entra_adds_a_work_email_that_is_absent_and_replaces_one_that_is_present,
    entra_sets_and_removes_sub_attributes_through_filtered_paths,
    entra_provisions_groups_and_their_members,
    entra_disables_then_deletes_a_user,
);

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Entra's create body, from Microsoft's request examples.
fn entra_user(user_name: &str, manager: Option<&str>) -> Value {
    let mut body = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            ENTERPRISE
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": true,
        "displayName": "Test User",
        "emails": [{"primary": true, "type": "work", "value": "test.user@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        ENTERPRISE: {"department": "Engineering", "employeeNumber": "701984"}
    });
    if let Some(manager) = manager {
        body[ENTERPRISE]["manager"] = json!(manager);
    }
    body
}

async fn entra_looks_users_up_by_user_name_as_it_encodes_them(app: TestApp) {
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1";
    // Nothing yet: an empty ListResponse, not a 404.
    let none = app
        .get(&format!("/Users?filter=userName+eq+%22{user_name}%22"))
        .await;
    assert_eq!(none.status, 200, "{:?}", none.body);
    assert_eq!(none.header("content-type"), Some("application/scim+json"));
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));
    assert_eq!(
        none.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );

    let id = app.create_user(user_name).await;
    let plus_name = "ann+scim@corp.example";
    let plus_id = app.create_user(plus_name).await;

    // `+` for the spaces of the query, as Entra's provisioning logs show it.
    let plus = app
        .get(&format!("/Users?filter=userName+eq+%22{user_name}%22"))
        .await;
    assert_eq!(plus.status, 200, "{:?}", plus.body);
    assert_eq!(plus.body["totalResults"], 1, "{:?}", plus.body);
    assert_eq!(plus.resources()[0]["id"], id.as_str());
    assert_eq!(plus.resources()[0]["userName"], user_name);

    // The same filter percent-encoded throughout.
    let percent = app
        .get(&format!(
            "/Users?filter={}",
            encode(&format!(r#"userName eq "{user_name}""#))
        ))
        .await;
    assert_eq!(percent.body["totalResults"], 1, "{:?}", percent.body);

    // A literal `+` in the value arrives as %2B and must stay a plus.
    let literal_plus = app
        .get(&format!(
            "/Users?filter={}",
            encode(&format!(r#"userName eq "{plus_name}""#))
        ))
        .await;
    assert_eq!(
        literal_plus.body["totalResults"], 1,
        "{:?}",
        literal_plus.body
    );
    assert_eq!(literal_plus.resources()[0]["id"], plus_id.as_str());

    // Entra also matches on externalId and on the work email.
    let by_external = app
        .get(&format!(
            "/Users?filter={}",
            encode(r#"externalId eq "no-such-external-id""#)
        ))
        .await;
    assert_eq!(by_external.status, 200);
    assert_eq!(by_external.body["totalResults"], 0);
}

async fn entra_creates_a_user_with_the_enterprise_extension_and_a_bare_manager(app: TestApp) {
    let manager = app.create_user("manager@testuser.com").await;
    let created = app
        .post(
            "/Users",
            entra_user("Test_User_1@testuser.com", Some(&manager)),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        created.header("content-type"),
        Some("application/scim+json")
    );
    assert!(created.header("etag").is_some());
    let id = created.id();
    assert_eq!(created.body["userName"], "Test_User_1@testuser.com");
    assert_eq!(created.body["active"], true);
    assert_eq!(
        created.body["externalId"],
        "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    );
    assert_eq!(created.body[ENTERPRISE]["department"], "Engineering");
    assert_eq!(
        created.body[ENTERPRISE]["manager"]["value"],
        manager.as_str()
    );
    assert!(created.body["schemas"]
        .as_array()
        .is_some_and(|schemas| schemas.contains(&json!(ENTERPRISE))));
    assert_eq!(
        created.body["meta"]["location"],
        format!("{}/Users/{id}", app.base).as_str()
    );
    let read = app.get(&format!("/Users/{id}")).await;
    assert_eq!(read.body, created.body);

    // A manager change is an Add of the bare id to the manager's URN path.
    let other = app.create_user("other.manager@testuser.com").await;
    let changed = app
        .patch(
            &format!("/Users/{id}"),
            json!([{
                "op": "Add",
                "path": format!("{ENTERPRISE}:manager"),
                "value": other
            }]),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body[ENTERPRISE]["manager"]["value"], other.as_str());
    assert_eq!(changed.body[ENTERPRISE]["department"], "Engineering");
    let removed = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}]),
        )
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    assert!(removed.body[ENTERPRISE].get("manager").is_none());
}

async fn entra_patches_with_capitalised_ops_and_string_booleans(app: TestApp) {
    // The application defines an Admin app role besides User.
    let allow = SettingsCommand::AllowRoles {
        roles: vec!["User".into(), "Admin".into()],
    };
    app.change_settings(allow).await;
    let id = app
        .post("/Users", entra_user("Test_User_2@testuser.com", None))
        .await
        .id();
    let path = format!("/Users/{id}");
    let replaced = app
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "title", "value": "Engineer"},
                // App role assignments, with `primary` as a string.
                {"op": "Add", "path": "roles", "value": [
                    {"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}
                ]}
            ]),
        )
        .await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(
        replaced.header("content-type"),
        Some("application/scim+json")
    );
    assert_eq!(
        replaced.body["emails"],
        json!([{"primary": true, "type": "work", "value": "updatedEmail@microsoft.com"}])
    );
    assert_eq!(replaced.body["name"]["familyName"], "updatedFamilyName");
    assert_eq!(replaced.body["name"]["givenName"], "givenName");
    assert_eq!(replaced.body["active"], false);
    assert_eq!(replaced.body["title"], "Engineer");
    // Added to the default role the user was created with.
    assert_eq!(
        replaced.body["roles"],
        json!([
            {"value": "User"},
            {"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}
        ])
    );

    let renamed = app
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"},
                {"op": "Replace", "path": "active", "value": "True"}
            ]),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(renamed.body["userName"], "5b50642d@testuser.com");
    assert_eq!(renamed.body["active"], true);
    let found = app
        .get("/Users?filter=userName+eq+%225b50642d%40testuser.com%22")
        .await;
    assert_eq!(found.body["totalResults"], 1, "{:?}", found.body);
    assert_eq!(found.resources()[0]["id"], id.as_str());
}

async fn entra_patches_without_path_using_dotted_and_urn_keys(app: TestApp) {
    let id = app
        .post("/Users", entra_user("Test_User_3@testuser.com", None))
        .await
        .id();
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            json!([{
                "op": "Replace",
                "value": {
                    "name.givenName": "X",
                    "displayName": "X familyName",
                    format!("{ENTERPRISE}:department"): "Y",
                    "active": "False"
                }
            }]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["name"]["givenName"], "X");
    assert_eq!(reply.body["name"]["familyName"], "familyName");
    assert_eq!(reply.body["displayName"], "X familyName");
    assert_eq!(reply.body[ENTERPRISE]["department"], "Y");
    assert_eq!(reply.body[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(reply.body["active"], false);
    let read = app.get(&format!("/Users/{id}")).await;
    assert_eq!(read.body, reply.body);
}

async fn entra_adds_a_work_email_that_is_absent_and_replaces_one_that_is_present(app: TestApp) {
    let id = app.create_user("Test_User_4@testuser.com").await;
    let path = format!("/Users/{id}");
    let added = app
        .patch(
            &path,
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "first@testuser.com"}]),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(
        added.body["emails"],
        json!([{"type": "work", "value": "first@testuser.com"}])
    );
    // Entra sends Add again when the address changes; it must not make a second work email.
    let again = app
        .patch(
            &path,
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "second@testuser.com"}]),
        )
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(
        again.body["emails"],
        json!([{"type": "work", "value": "second@testuser.com"}])
    );
    // With the work email as its matching attribute, Entra looks users up by it, in the
    // PATCH-path form `emails[type eq "work"].value eq ...`.
    for (address, total) in [("second@testuser.com", 1), ("first@testuser.com", 0)] {
        let filter = format!(r#"emails[type eq "work"].value eq "{address}""#);
        let found = app.get(&format!("/Users?filter={}", encode(&filter))).await;
        assert_eq!(found.status, 200, "{:?}", found.body);
        assert_eq!(found.body["totalResults"], total, "{address}");
    }
}

async fn entra_sets_and_removes_sub_attributes_through_filtered_paths(app: TestApp) {
    let id = app.create_user("Test_User_6@testuser.com").await;
    let path = format!("/Users/{id}");
    let set = app
        .patch(
            &path,
            json!([
                {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0199"}
            ]),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(
        set.body["addresses"],
        json!([{"type": "work", "streetAddress": "1 Main St", "locality": "Redmond"}])
    );
    assert_eq!(
        set.body["phoneNumbers"],
        json!([
            {"type": "mobile", "value": "+1 555 0100"},
            {"type": "work", "value": "+1 555 0199"}
        ])
    );
    let removed = app
        .patch(
            &path,
            json!([{"op": "Remove", "path": "phoneNumbers[type eq \"mobile\"]"}]),
        )
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    assert_eq!(
        removed.body["phoneNumbers"],
        json!([{"type": "work", "value": "+1 555 0199"}])
    );
}

async fn entra_provisions_groups_and_their_members(app: TestApp) {
    let ann = app.create_user("ann@testuser.com").await;
    let bob = app.create_user("bob@testuser.com").await;
    let cid = app.create_user("cid@testuser.com").await;

    let by_external = format!(
        "/Groups?excludedAttributes=members&filter={}",
        encode(r#"externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159""#)
    );
    let none = app.get(&by_external).await;
    assert_eq!(none.status, 200, "{:?}", none.body);
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));

    let created = app
        .post(
            "/Groups",
            json!({
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
                ],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Entra Group",
                "meta": {"resourceType": "Group"}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        created.header("content-type"),
        Some("application/scim+json")
    );
    assert!(created.header("etag").is_some());
    let group = created.id();
    let path = format!("/Groups/{group}");

    let read = app.get(&format!("{path}?excludedAttributes=members")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["displayName"], "Entra Group");
    assert!(read.body.get("members").is_none());
    assert!(read.header("etag").is_some());

    let found = app.get(&by_external).await;
    assert_eq!(found.body["totalResults"], 1, "{:?}", found.body);
    assert_eq!(found.resources()[0]["id"], group.as_str());
    assert!(found.resources()[0].get("members").is_none());
    let by_name = app
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            encode(r#"displayName eq "Entra Group""#)
        ))
        .await;
    assert_eq!(by_name.body["totalResults"], 1, "{:?}", by_name.body);
    assert_eq!(by_name.resources()[0]["id"], group.as_str());

    let renamed = app
        .patch(
            &path,
            json!([{"op": "Replace", "path": "displayName", "value": "Entra Group updated"}]),
        )
        .await;
    // Entra asks for no attributes: the answer has no body (RFC 7644 §3.5.2).
    assert_eq!(renamed.status, 204, "{:?}", renamed.body);
    assert!(renamed.header("etag").is_some());
    let read = app.get(&format!("{path}?excludedAttributes=members")).await;
    assert_eq!(read.body["displayName"], "Entra Group updated");

    // Entra sends `$ref: null` beside each member's value.
    let added = app
        .patch(
            &path,
            json!([{"op": "Add", "path": "members", "value": [
                {"$ref": null, "value": ann},
                {"$ref": null, "value": bob},
                {"$ref": null, "value": cid}
            ]}]),
        )
        .await;
    assert_eq!(added.status, 204, "{:?}", added.body);
    let mut all = vec![ann.clone(), bob.clone(), cid.clone()];
    all.sort();
    assert_eq!(member_ids(&app.get(&path).await.body), all);

    let removed = app
        .patch(
            &path,
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": bob}]}]),
        )
        .await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    let mut left = vec![ann.clone(), cid.clone()];
    left.sort();
    assert_eq!(member_ids(&app.get(&path).await.body), left);

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(app.get(&by_external).await.body["totalResults"], 0);
}

async fn entra_disables_then_deletes_a_user(app: TestApp) {
    let id = app
        .post("/Users", user("Test_User_5@testuser.com"))
        .await
        .id();
    let path = format!("/Users/{id}");
    let disabled = app
        .patch(
            &path,
            json!([{"op": "Replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(disabled.status, 200, "{:?}", disabled.body);
    assert_eq!(disabled.body["active"], false);

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, 204);
    let gone = app.get(&path).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.header("content-type"), Some("application/scim+json"));
    assert_eq!(gone.body["status"], "404");
    let lookup = app
        .get("/Users?filter=userName+eq+%22Test_User_5%40testuser.com%22")
        .await;
    assert_eq!(lookup.body["totalResults"], 0);
    // Entra deletes again when its first DELETE timed out: still a clean 404.
    assert_eq!(app.delete(&path).await.status, 404);
}
