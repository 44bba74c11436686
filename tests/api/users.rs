//! `/Users`: create, read, list, replace, patch, delete.

use crate::common::{encode, user, TestApp};
use crate::on_both_stores;
use serde_json::json;

on_both_stores!(
    creating_a_user_returns_it_with_meta_location_and_etag,
    a_created_user_reads_back_as_created,
    creating_without_a_user_name_is_an_invalid_value,
    a_malformed_body_is_invalid_syntax,
    a_user_is_found_by_user_name_in_any_case,
    a_lookup_that_matches_nothing_is_an_empty_list,
    filters_combine_with_and,
    an_unknown_filter_attribute_is_an_invalid_filter,
    lists_are_paged_with_exact_totals,
    replacing_a_user_records_the_new_attributes_and_version,
    patching_active_suspends_and_reactivates,
    a_patch_without_path_applies_each_value,
    patch_adds_replaces_and_removes_complex_and_multi_valued_attributes,
    a_failing_operation_leaves_the_user_unchanged,
    deleting_a_user_makes_it_disappear_and_frees_its_name,
    an_unknown_user_is_not_found,
    if_match_guards_writes_and_if_none_match_saves_reads,
    events_are_numbered_in_a_global_order,
);

async fn creating_a_user_returns_it_with_meta_location_and_etag(app: TestApp) {
    let reply = app
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "alice@corp.example",
                "externalId": "okta-1",
                "name": {"givenName": "Alice", "familyName": "Liddell"},
                "emails": [{"value": "alice@corp.example", "type": "work", "primary": true}],
                "active": true
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    let id = reply.id();
    assert!(!id.is_empty());
    let location = format!("{}/Users/{id}", app.base);
    assert_eq!(reply.header("location"), Some(location.as_str()));
    // Created, then its application fields mapped: two events, version 2.
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
    let meta = &reply.body["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["location"], location.as_str());
    assert_eq!(meta["version"], "W/\"2\"");
    assert_eq!(meta["created"], meta["lastModified"]);
    assert_eq!(reply.body["externalId"], "okta-1");
    assert_eq!(reply.body["name"]["familyName"], "Liddell");
    assert!(reply.header("x-request-id").is_some());
}

async fn a_created_user_reads_back_as_created(app: TestApp) {
    let created = app
        .post(
            "/Users",
            json!({"userName": "bob", "displayName": "Bob", "title": "Engineer",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}}),
        )
        .await;
    let read = app.get(&format!("/Users/{}", created.id())).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created.body);
    assert_eq!(
        read.body["schemas"],
        json!([
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ])
    );
}

async fn creating_without_a_user_name_is_an_invalid_value(app: TestApp) {
    let reply = app.post("/Users", json!({"displayName": "Nobody"})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["scimType"], "invalidValue");
    assert_eq!(reply.body["status"], "400");
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    let correlation = reply.header("x-request-id").unwrap_or_default().to_string();
    assert!(reply.body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains(&correlation));
}

async fn a_malformed_body_is_invalid_syntax(app: TestApp) {
    let reply = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body("{\"userName\": ")
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(reply.status().as_u16(), 400);
    let body: serde_json::Value = reply.json().await.expect("a SCIM error");
    assert_eq!(body["scimType"], "invalidSyntax");
}

async fn a_user_is_found_by_user_name_in_any_case(app: TestApp) {
    let id = app.create_user("Carol@Corp.Example").await;
    app.create_user("dave@corp.example").await;
    let filter = encode(r#"userName eq "carol@corp.example""#);
    let reply = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["totalResults"], 1);
    assert_eq!(reply.resources()[0]["id"], id.as_str());
    assert_eq!(reply.resources()[0]["userName"], "Carol@Corp.Example");
}

async fn a_lookup_that_matches_nothing_is_an_empty_list(app: TestApp) {
    let filter = encode(r#"userName eq "nobody@corp.example""#);
    let reply = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["totalResults"], 0);
    assert_eq!(reply.body["Resources"], json!([]));
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
}

async fn filters_combine_with_and(app: TestApp) {
    let erin = app
        .post(
            "/Users",
            json!({"userName": "erin", "externalId": "ext-erin"}),
        )
        .await
        .id();
    app.post(
        "/Users",
        json!({"userName": "frank", "externalId": "ext-erin-2"}),
    )
    .await;
    let filter = encode(&format!(r#"externalId eq "ext-erin" and id eq "{erin}""#));
    let reply = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(reply.body["totalResults"], 1, "{:?}", reply.body);
    let filter = encode(r#"externalId eq "ext-erin" and userName eq "frank""#);
    let reply = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(reply.body["totalResults"], 0);
    // Entra ID sends spaces as '+'.
    let reply = app.get("/Users?filter=userName+eq+%22frank%22").await;
    assert_eq!(reply.body["totalResults"], 1);
}

async fn an_unknown_filter_attribute_is_an_invalid_filter(app: TestApp) {
    for filter in [
        r#"favouriteColour eq "blue""#,
        "userName eq",
        "userName zz \"a\"",
    ] {
        let reply = app.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_eq!(reply.status, 400, "{filter}");
        assert_eq!(reply.body["scimType"], "invalidFilter", "{filter}");
    }
}

async fn lists_are_paged_with_exact_totals(app: TestApp) {
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.create_user(&format!("user{n}")).await);
    }
    let page = app.get("/Users?startIndex=3&count=2").await;
    assert_eq!(page.body["totalResults"], 5);
    assert_eq!(page.body["startIndex"], 3);
    assert_eq!(page.body["itemsPerPage"], 2);
    let page_ids: Vec<&str> = page.body["Resources"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["id"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(page_ids, vec![ids[2].as_str(), ids[3].as_str()]);
    let counted = app.get("/Users?count=0").await;
    assert_eq!(counted.body["totalResults"], 5);
    assert_eq!(counted.body["Resources"], json!([]));
}

async fn replacing_a_user_records_the_new_attributes_and_version(app: TestApp) {
    let id = app
        .post(
            "/Users",
            json!({"userName": "gina", "title": "Engineer", "nickName": "G"}),
        )
        .await
        .id();
    let reply = app
        .put(
            &format!("/Users/{id}"),
            json!({"userName": "gina", "title": "Manager", "id": id, "meta": {"version": "ignored"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["title"], "Manager");
    assert!(reply.body.get("nickName").is_none());
    // Created and mapped; updated, and its job title mapped anew.
    assert_eq!(reply.body["meta"]["version"], "W/\"4\"");
    assert_eq!(app.get(&format!("/Users/{id}")).await.body, reply.body);
}

async fn patching_active_suspends_and_reactivates(app: TestApp) {
    let id = app.create_user("hank").await;
    let off = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(off.status, 200, "{:?}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["active"], false);
    // Entra ID's spelling: capitalised op, boolean as a string.
    let on = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )
        .await;
    assert_eq!(on.body["active"], true);
    // Created and mapped; then each toggle records the attribute change and the suspension
    // or reactivation.
    assert_eq!(on.body["meta"]["version"], "W/\"6\"");
    let removed = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "remove", "path": "active"}]),
        )
        .await;
    // RFC 7644 §3.5.2.2: the attribute is removed; unassigned, the user stays active (and is
    // still found by its state: nothing suspends it).
    assert_eq!(removed.status, 200);
    assert!(removed.body.get("active").is_none(), "{:?}", removed.body);
    assert_eq!(removed.body["meta"]["version"], "W/\"7\"");
}

async fn a_patch_without_path_applies_each_value(app: TestApp) {
    let id = app.create_user("ivy").await;
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {
                "active": false,
                "name.givenName": "Ivy",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"
            }}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["active"], false);
    assert_eq!(reply.body["name"]["givenName"], "Ivy");
    assert_eq!(
        reply.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Sales"
    );
}

async fn patch_adds_replaces_and_removes_complex_and_multi_valued_attributes(app: TestApp) {
    let id = app
        .post(
            "/Users",
            json!({"userName": "jack", "name": {"givenName": "Jack", "familyName": "Black"},
                   "emails": [{"value": "jack@home.example", "type": "home"}]}),
        )
        .await
        .id();
    let path = format!("/Users/{id}");
    let reply = app
        .patch(
            &path,
            json!([
                {"op": "add", "path": "emails", "value": [{"value": "jack@corp.example", "type": "work"}]},
                {"op": "replace", "path": "emails[type eq \"home\"].value", "value": "jb@home.example"},
                {"op": "replace", "path": "name.familyName", "value": "White"},
                {"op": "remove", "path": "name.givenName"},
                {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}
            ]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        reply.body["emails"],
        json!([
            {"value": "jb@home.example", "type": "home"},
            {"value": "jack@corp.example", "type": "work"}
        ])
    );
    assert_eq!(reply.body["name"], json!({"familyName": "White"}));
    assert_eq!(
        reply.body["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    let removed = app
        .patch(
            &path,
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        )
        .await;
    assert_eq!(
        removed.body["emails"],
        json!([{"value": "jb@home.example", "type": "home"}])
    );
}

async fn a_failing_operation_leaves_the_user_unchanged(app: TestApp) {
    let id = app
        .post("/Users", json!({"userName": "kim", "title": "Engineer"}))
        .await
        .id();
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "title", "value": "Manager"},
                {"op": "replace", "path": "noSuchAttribute", "value": "x"}
            ]),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["scimType"], "invalidPath");
    let after = app.get(&format!("/Users/{id}")).await;
    assert_eq!(after.body["title"], "Engineer");
    assert_eq!(after.body["meta"]["version"], "W/\"2\"");
}

async fn deleting_a_user_makes_it_disappear_and_frees_its_name(app: TestApp) {
    let id = app.create_user("lena").await;
    let reply = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(reply.status, 204);
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 404);
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, 404);
    let listed = app
        .get(&format!(
            "/Users?filter={}",
            encode(r#"userName eq "lena""#)
        ))
        .await;
    assert_eq!(listed.body["totalResults"], 0);
    let again = app.post("/Users", user("LENA")).await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_ne!(again.id(), id);
}

async fn an_unknown_user_is_not_found(app: TestApp) {
    for reply in [
        app.get("/Users/00000000-0000-0000-0000-000000000000").await,
        app.put("/Users/nope", user("x")).await,
        app.patch(
            "/Users/nope",
            json!([{"op": "replace", "path": "title", "value": "x"}]),
        )
        .await,
        app.delete("/Users/nope").await,
    ] {
        assert_eq!(reply.status, 404);
        assert_eq!(reply.body["status"], "404");
    }
}

async fn if_match_guards_writes_and_if_none_match_saves_reads(app: TestApp) {
    let id = app.create_user("mona").await;
    let url = format!("{}/Users/{id}", app.base);
    let stale = app
        .client
        .put(&url)
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .header("if-match", "W/\"7\"")
        .body(user("mona").to_string())
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(stale.status().as_u16(), 412);
    let current = app
        .client
        .put(&url)
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .header("if-match", "W/\"2\"")
        .body(json!({"userName": "mona", "title": "Boss"}).to_string())
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(current.status().as_u16(), 200);
    let unchanged = app
        .client
        .get(&url)
        .bearer_auth(&app.token)
        .header("if-none-match", "W/\"4\"")
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(unchanged.status().as_u16(), 304);
    let delete = app
        .client
        .delete(&url)
        .bearer_auth(&app.token)
        .header("if-match", "W/\"1\"")
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(delete.status().as_u16(), 412);
    assert_eq!(app.get(&format!("/Users/{id}")).await.status, 200);
}

async fn events_are_numbered_in_a_global_order(app: TestApp) {
    let first = app.create_user("nina").await;
    app.patch(
        &format!("/Users/{first}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    app.create_user("otto").await;
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Numbered {
        position: i64,
        aggregate_id: String,
        sequence: i64,
    }
    let rows: Vec<Numbered> = app
        .store
        .db
        .fetch_all(&projections::db::Sql::new(
            "SELECT position, aggregate_id, sequence FROM events
              WHERE aggregate_type = 'User' ORDER BY position",
        ))
        .await
        .expect("the events table is readable");
    // Created, mapped, updated (active), suspended; created, mapped (the instance's creation
    // and its key are events of its settings, before these).
    assert_eq!(rows.len(), 6);
    let positions: Vec<i64> = rows.iter().map(|row| row.position).collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{positions:?}"
    );
    assert_eq!(
        (rows[0].aggregate_id.as_str(), rows[0].sequence),
        (first.as_str(), 1)
    );
    assert_eq!(
        (rows[1].aggregate_id.as_str(), rows[1].sequence),
        (first.as_str(), 2)
    );
    assert_eq!(
        (rows[3].aggregate_id.as_str(), rows[3].sequence),
        (first.as_str(), 4)
    );
    assert_ne!(rows[4].aggregate_id, first);
    assert_eq!(rows[5].sequence, 2);
}

on_both_stores!(responses_carry_the_attributes_asked_for);

async fn responses_carry_the_attributes_asked_for(app: TestApp) {
    let created = app
        .post(
            "/Users?attributes=userName",
            json!({"userName": "vera", "title": "CTO", "name": {"givenName": "Vera", "familyName": "V"}}),
        )
        .await;
    assert_eq!(created.status, 201);
    let id = created.id();
    assert_eq!(
        created.body,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id, "userName": "vera"})
    );
    let one = app
        .get(&format!("/Users/{id}?attributes=name.givenName,title"))
        .await;
    assert_eq!(one.body["name"], json!({"givenName": "Vera"}));
    assert_eq!(one.body["title"], "CTO");
    assert!(one.body.get("userName").is_none());
    let without = app
        .get(&format!(
            "/Users/{id}?excludedAttributes=title,name.familyName"
        ))
        .await;
    assert!(without.body.get("title").is_none());
    assert_eq!(without.body["name"], json!({"givenName": "Vera"}));
    assert_eq!(without.body["userName"], "vera");
    let listed = app.get("/Users?attributes=userName").await;
    assert_eq!(
        listed.resources()[0],
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id, "userName": "vera"})
    );
    let patched = app
        .patch(
            &format!("/Users/{id}?excludedAttributes=name"),
            json!([{"op": "replace", "path": "title", "value": "CEO"}]),
        )
        .await;
    assert_eq!(patched.body["title"], "CEO");
    assert!(patched.body.get("name").is_none());
}
