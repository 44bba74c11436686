//! The User `groups` attribute (RFC 7643 §4.1.2): the groups a user is a direct member of,
//! derived from the groups' members, read-only, and never part of the user's own events.

use crate::common::{encode, user, TestApp};
use crate::on_both_stores;
use projections::db::Sql;
use serde_json::{json, Value};

on_both_stores!(
    a_user_shows_the_groups_it_was_added_to,
    a_user_removed_from_a_group_no_longer_shows_it,
    a_renamed_group_shows_its_new_display_name,
    a_deleted_group_disappears_from_its_members,
    a_page_of_users_shows_each_users_groups,
    groups_follow_attributes_and_excluded_attributes,
    groups_sent_by_a_client_are_ignored_and_never_stored,
    the_schema_publishes_groups_as_read_only,
    a_cached_user_is_not_kept_once_its_groups_change,
);

/// The `(value, display)` pairs of a user's `groups`, sorted by display.
fn groups(user: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = user["groups"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .map(|group| {
                    (
                        group["value"].as_str().unwrap_or_default().to_string(),
                        group["display"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    pairs.sort_by(|a, b| a.1.cmp(&b.1));
    pairs
}

fn pair(id: &str, display: &str) -> (String, String) {
    (id.to_string(), display.to_string())
}

async fn a_user_shows_the_groups_it_was_added_to(app: TestApp) {
    let ann = app.create_user("ann").await;
    assert!(app
        .get(&format!("/Users/{ann}"))
        .await
        .body
        .get("groups")
        .is_none());
    let sales = app.create_group("Sales", &[&ann]).await;
    let admins = app.create_group("Admins", &[]).await;
    let added = app
        .patch(
            &format!("/Groups/{admins}"),
            json!([{"op": "add", "path": "members", "value": [{"value": ann}]}]),
        )
        .await;
    assert_eq!(added.status, 204, "{:?}", added.body);

    let read = app.get(&format!("/Users/{ann}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(
        read.body["groups"],
        json!([
            {"value": admins, "$ref": format!("{}/Groups/{admins}", app.base), "display": "Admins", "type": "direct"},
            {"value": sales, "$ref": format!("{}/Groups/{sales}", app.base), "display": "Sales", "type": "direct"}
        ])
    );
    // Membership is the group's change, not the user's: the user's own version stays, and
    // the tag adds a digest of the groups shown.
    let tag = read.body["meta"]["version"].as_str().unwrap_or_default();
    assert!(tag.starts_with("W/\"2."), "{tag}");
}

async fn a_user_removed_from_a_group_no_longer_shows_it(app: TestApp) {
    let ann = app.create_user("ann").await;
    let sales = app.create_group("Sales", &[&ann]).await;
    let legal = app.create_group("Legal", &[&ann]).await;
    let removed = app
        .patch(
            &format!("/Groups/{sales}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]),
        )
        .await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    let read = app.get(&format!("/Users/{ann}")).await;
    assert_eq!(groups(&read.body), vec![pair(&legal, "Legal")]);
    app.patch(
        &format!("/Groups/{legal}"),
        json!([{"op": "remove", "path": "members"}]),
    )
    .await;
    assert!(app
        .get(&format!("/Users/{ann}"))
        .await
        .body
        .get("groups")
        .is_none());
}

async fn a_renamed_group_shows_its_new_display_name(app: TestApp) {
    let ann = app.create_user("ann").await;
    let group = app.create_group("Sales", &[&ann]).await;
    let renamed = app
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "replace", "path": "displayName", "value": "Sales EMEA"}]),
        )
        .await;
    assert_eq!(renamed.status, 204, "{:?}", renamed.body);
    let read = app.get(&format!("/Users/{ann}")).await;
    assert_eq!(groups(&read.body), vec![pair(&group, "Sales EMEA")]);
    let put = app
        .put(
            &format!("/Groups/{group}"),
            json!({"displayName": "Sales Europe"}),
        )
        .await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    let read = app.get(&format!("/Users/{ann}")).await;
    assert_eq!(groups(&read.body), vec![pair(&group, "Sales Europe")]);
}

async fn a_deleted_group_disappears_from_its_members(app: TestApp) {
    let ann = app.create_user("ann").await;
    let doomed = app.create_group("Doomed", &[&ann]).await;
    let kept = app.create_group("Kept", &[&ann]).await;
    assert_eq!(app.delete(&format!("/Groups/{doomed}")).await.status, 204);
    let read = app.get(&format!("/Users/{ann}")).await;
    assert_eq!(groups(&read.body), vec![pair(&kept, "Kept")]);
}

async fn a_page_of_users_shows_each_users_groups(app: TestApp) {
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let cid = app.create_user("cid").await;
    let both = app.create_group("Both", &[&ann, &bob]).await;
    let only_bob = app.create_group("Only Bob", &[&bob]).await;
    // A group in a group: the outer group lists the inner one, not its users.
    app.create_group("Outer", &[&both]).await;

    let page = app.get("/Users?startIndex=1&count=100").await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let by_id = |id: &str| {
        page.resources()
            .into_iter()
            .find(|user| user["id"] == id)
            .unwrap_or_default()
    };
    assert_eq!(groups(&by_id(&ann)), vec![pair(&both, "Both")]);
    assert_eq!(
        groups(&by_id(&bob)),
        vec![pair(&both, "Both"), pair(&only_bob, "Only Bob")]
    );
    assert!(by_id(&cid).get("groups").is_none());
    assert!(by_id(&cid)["id"].is_string());

    let filter = encode(r#"userName eq "bob""#);
    let found = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(groups(&found.resources()[0]).len(), 2);
    // A page lists a user's groups as a single read does, by name whatever order they were
    // joined in, though the page reads them with the users and the single read apart.
    app.create_group("Alpha", &[&bob]).await;
    let single = app.get(&format!("/Users/{bob}")).await;
    let listed = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(single.body["groups"][0]["display"], "Alpha");
    assert_eq!(single.body["groups"].as_array().map(Vec::len), Some(3));
    assert_eq!(listed.resources()[0]["groups"], single.body["groups"]);
    // A group's own representation has no `groups`.
    assert!(app
        .get(&format!("/Groups/{both}"))
        .await
        .body
        .get("groups")
        .is_none());
}

async fn groups_follow_attributes_and_excluded_attributes(app: TestApp) {
    let ann = app.create_user("ann").await;
    let group = app.create_group("Sales", &[&ann]).await;
    let path = format!("/Users/{ann}");

    let without = app.get(&format!("{path}?excludedAttributes=groups")).await;
    assert!(without.body.get("groups").is_none());
    assert_eq!(without.body["userName"], "ann");

    let only = app.get(&format!("{path}?attributes=groups")).await;
    assert_eq!(only.body["groups"][0]["value"], group.as_str());
    assert!(only.body.get("userName").is_none());

    let values = app.get(&format!("{path}?attributes=groups.display")).await;
    assert_eq!(values.body["groups"], json!([{"display": "Sales"}]));

    let other = app.get(&format!("{path}?attributes=userName")).await;
    assert!(other.body.get("groups").is_none());

    let listed = app.get("/Users?excludedAttributes=groups").await;
    assert!(listed.resources()[0].get("groups").is_none());

    // Write responses show them too, and follow the selection the same way.
    let patched = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "displayName", "value": "Ann"}]),
        )
        .await;
    assert_eq!(patched.body["groups"][0]["display"], "Sales");
    let patched = app
        .patch(
            &format!("{path}?excludedAttributes=groups"),
            json!([{"op": "replace", "path": "displayName", "value": "Ann A."}]),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert!(patched.body.get("groups").is_none());
}

async fn groups_sent_by_a_client_are_ignored_and_never_stored(app: TestApp) {
    let real = app.create_group("Real", &[]).await;
    let mut body = user("ann");
    body["groups"] = json!([{"value": real, "display": "Real"}]);
    let created = app.post("/Users", body.clone()).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert!(created.body.get("groups").is_none());
    let ann = created.id();
    let path = format!("/Users/{ann}");
    // Writing `groups` on the user makes no one a member.
    assert!(app.get(&format!("/Groups/{real}")).await.body["members"]
        .as_array()
        .is_some_and(Vec::is_empty));

    let member_of = app.create_group("Member Of", &[&ann]).await;
    // A PUT that leaves groups out, or sends other ones, changes no membership.
    let put = app.put(&path, body).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(groups(&put.body), vec![pair(&member_of, "Member Of")]);
    let path_less = app
        .patch(
            &path,
            json!([{"op": "replace", "value": {"groups": [], "displayName": "Ann"}}]),
        )
        .await;
    assert_eq!(path_less.status, 200, "{:?}", path_less.body);
    assert_eq!(groups(&path_less.body), vec![pair(&member_of, "Member Of")]);
    // Naming it as a PATCH path is a change of a read-only attribute.
    let explicit = app
        .patch(
            &path,
            json!([{"op": "add", "path": "groups", "value": [{"value": real}]}]),
        )
        .await;
    assert_eq!(explicit.status, 400, "{:?}", explicit.body);
    assert_eq!(explicit.body["scimType"], "mutability");

    // Nothing of it reached the user's events or its stored attributes.
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Payload {
        payload: String,
    }
    let payloads: Vec<Payload> = app
        .store
        .db
        .fetch_all(
            &Sql::new(
                "SELECT CAST(payload AS text) AS payload FROM events
                  WHERE aggregate_type = 'User' AND aggregate_id = $1",
            )
            .bind(ann.as_str()),
        )
        .await
        .expect("events are readable");
    assert!(!payloads.is_empty());
    for event in payloads {
        assert!(!event.payload.contains("\"groups\""), "{}", event.payload);
    }
}

async fn the_schema_publishes_groups_as_read_only(app: TestApp) {
    let schema = app
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(schema.status, 200);
    let groups = schema.body["attributes"]
        .as_array()
        .and_then(|attributes| attributes.iter().find(|a| a["name"] == "groups").cloned())
        .unwrap_or_default();
    assert_eq!(groups["type"], "complex");
    assert_eq!(groups["multiValued"], true);
    assert_eq!(groups["mutability"], "readOnly");
    assert_eq!(groups["returned"], "default");
    let subs: Vec<&str> = groups["subAttributes"]
        .as_array()
        .map(|subs| subs.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(subs, vec!["value", "$ref", "display", "type"]);
    assert!(groups["subAttributes"]
        .as_array()
        .is_some_and(|subs| subs.iter().all(|s| s["mutability"] == "readOnly")));
}

async fn a_cached_user_is_not_kept_once_its_groups_change(app: TestApp) {
    let ann = app.create_user("ann").await;
    let url = format!("{}/Users/{ann}", app.base);
    let read_with = |tag: String| {
        app.client
            .get(&url)
            .bearer_auth(&app.token)
            .header("if-none-match", tag)
            .send()
    };
    let before = app.get(&format!("/Users/{ann}")).await;
    let tag = before.header("etag").unwrap_or_default().to_string();
    let cached = read_with(tag.clone()).await.expect("scimd answers");
    assert_eq!(cached.status().as_u16(), 304);

    let sales = app.create_group("Sales", &[&ann]).await;
    let stale = read_with(tag).await.expect("scimd answers");
    assert_eq!(
        stale.status().as_u16(),
        200,
        "joining a group changes the tag"
    );
    let joined = app.get(&format!("/Users/{ann}")).await;
    let joined_tag = joined.header("etag").unwrap_or_default().to_string();
    assert_eq!(joined.body["meta"]["version"], json!(joined_tag));

    let renamed = app
        .patch(
            &format!("/Groups/{sales}"),
            json!([{"op": "replace", "path": "displayName", "value": "Sales EU"}]),
        )
        .await;
    assert_eq!(renamed.status, 204);
    let stale = read_with(joined_tag.clone()).await.expect("scimd answers");
    assert_eq!(
        stale.status().as_u16(),
        200,
        "a renamed group changes the tag"
    );

    // The tag still names the user's own version for writes.
    let write = app
        .client
        .patch(&url)
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .header("if-match", joined_tag)
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "Lead"}],
            })
            .to_string(),
        )
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(write.status().as_u16(), 200);
}
