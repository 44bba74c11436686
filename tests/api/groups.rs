//! `/Groups`: members added and removed by name, renames, deletions, and the ways IdPs read
//! and change groups.

use crate::common::{encode, member_ids, TestApp};
use crate::on_both_stores;
use serde_json::json;

on_both_stores!(
    a_group_is_created_with_its_members,
    members_are_added_and_removed_by_patch,
    entra_removes_only_the_members_it_lists,
    removing_members_without_a_value_empties_the_group,
    replacing_members_sets_exactly_the_given_ones,
    a_rename_keeps_the_members,
    a_put_without_members_keeps_them,
    deleting_a_user_removes_it_from_its_groups,
    deleting_a_group_removes_it_from_groups_it_belonged_to,
    a_user_deleted_while_joining_a_group_is_no_member,
    unknown_members_are_refused,
    a_group_cannot_contain_itself,
    members_can_be_left_out_of_reads,
    groups_are_found_by_display_name_and_member,
    adding_an_existing_member_changes_nothing,
    a_thousand_members_are_added_in_one_patch,
    a_patch_asking_for_no_attributes_is_answered_without_a_body,
);

async fn a_group_is_created_with_its_members(app: TestApp) {
    let ann = app
        .post(
            "/Users",
            json!({"userName": "ann", "displayName": "Ann A."}),
        )
        .await
        .id();
    let bob = app.create_user("bob").await;
    let reply = app
        .post(
            "/Groups",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "externalId": "grp-1",
                "members": [{"value": ann}, {"value": bob, "type": "User"}]
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.body["displayName"], "Engineering");
    assert_eq!(reply.body["externalId"], "grp-1");
    assert_eq!(reply.body["meta"]["resourceType"], "Group");
    let mut expected = vec![ann.clone(), bob.clone()];
    expected.sort();
    assert_eq!(member_ids(&reply.body), expected);
    let ann_entry = reply.body["members"]
        .as_array()
        .and_then(|members| members.iter().find(|m| m["value"] == ann.as_str()).cloned())
        .unwrap_or_default();
    assert_eq!(ann_entry["type"], "User");
    assert_eq!(
        ann_entry["$ref"],
        format!("{}/Users/{ann}", app.base).as_str()
    );
    assert_eq!(
        app.get(&format!("/Groups/{}", reply.id())).await.body,
        reply.body
    );
}

async fn members_are_added_and_removed_by_patch(app: TestApp) {
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let group = app.create_group("Sales", &[&a]).await;
    let path = format!("/Groups/{group}");
    let added = app
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": b}]}]),
        )
        .await;
    assert_eq!(added.status, 204, "{:?}", added.body);
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(member_ids(&app.get(&path).await.body), both);
    let removed = app
        .patch(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
        )
        .await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    assert_eq!(member_ids(&app.get(&path).await.body), vec![b]);
}

async fn entra_removes_only_the_members_it_lists(app: TestApp) {
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let c = app.create_user("c").await;
    let group = app.create_group("Support", &[&a, &b, &c]).await;
    let path = format!("/Groups/{group}");
    let reply = app
        .patch(
            &path,
            json!([{"op": "Remove", "path": "members", "value": [{"value": a}, {"value": c}]}]),
        )
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert_eq!(member_ids(&app.get(&path).await.body), vec![b]);
}

async fn removing_members_without_a_value_empties_the_group(app: TestApp) {
    let a = app.create_user("a").await;
    let group = app.create_group("Temp", &[&a]).await;
    let path = format!("/Groups/{group}");
    let reply = app
        .patch(&path, json!([{"op": "remove", "path": "members"}]))
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert_eq!(member_ids(&app.get(&path).await.body), Vec::<String>::new());
}

async fn replacing_members_sets_exactly_the_given_ones(app: TestApp) {
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let c = app.create_user("c").await;
    let group = app.create_group("Ops", &[&a, &b]).await;
    let path = format!("/Groups/{group}");
    let reply = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "members", "value": [{"value": b}, {"value": c}]}]),
        )
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    let mut expected = vec![b, c];
    expected.sort();
    assert_eq!(member_ids(&app.get(&path).await.body), expected);
}

async fn a_rename_keeps_the_members(app: TestApp) {
    let a = app.create_user("a").await;
    let group = app.create_group("Old name", &[&a]).await;
    // Okta sends the read-only id back in a path-less rename.
    let path = format!("/Groups/{group}");
    let reply = app
        .patch(
            &path,
            json!([{"op": "replace", "value": {"id": group, "displayName": "New name"}}]),
        )
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    let renamed = app.get(&path).await;
    assert_eq!(renamed.body["displayName"], "New name");
    assert_eq!(member_ids(&renamed.body), vec![a]);
    // The old name is free again.
    app.create_group("old NAME", &[]).await;
}

async fn a_put_without_members_keeps_them(app: TestApp) {
    let a = app.create_user("a").await;
    let group = app.create_group("Finance", &[&a]).await;
    let renamed = app
        .put(
            &format!("/Groups/{group}"),
            json!({"displayName": "Finance & Legal"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(member_ids(&renamed.body), vec![a]);
    let emptied = app
        .put(
            &format!("/Groups/{group}"),
            json!({"displayName": "Finance & Legal", "members": []}),
        )
        .await;
    assert_eq!(member_ids(&emptied.body), Vec::<String>::new());
}

async fn deleting_a_user_removes_it_from_its_groups(app: TestApp) {
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let first = app.create_group("First", &[&a, &b]).await;
    let second = app.create_group("Second", &[&a]).await;
    assert_eq!(app.delete(&format!("/Users/{a}")).await.status, 204);
    assert_eq!(
        member_ids(&app.get(&format!("/Groups/{first}")).await.body),
        vec![b]
    );
    let second_group = app.get(&format!("/Groups/{second}")).await;
    assert_eq!(member_ids(&second_group.body), Vec::<String>::new());
    // The removal is a change of the group: its version moved on.
    assert_eq!(second_group.body["meta"]["version"], "W/\"3\"");
}

/// A deletion and an add of the same user that race: whichever commits first, the group ends
/// without the deleted user, in its members and in its membership rows.
async fn a_user_deleted_while_joining_a_group_is_no_member(app: TestApp) {
    let mut users = Vec::new();
    for n in 0..30 {
        users.push(app.create_user(&format!("goner{n}")).await);
    }
    let group = app.create_group("Departed", &[]).await;
    let group_path = format!("/Groups/{group}");
    let races = users.iter().map(|id| {
        let (app, group_path) = (&app, &group_path);
        async move {
            let user_path = format!("/Users/{id}");
            let add = json!([{"op": "add", "path": "members", "value": [{"value": id}]}]);
            let (deleted, added) = tokio::join!(app.delete(&user_path), app.patch(group_path, add));
            assert_eq!(deleted.status, 204, "{:?}", deleted.body);
            // Refused when the deletion came first.
            let refused = added.status == 400 && added.body["scimType"] == "invalidValue";
            assert!(added.status == 204 || refused, "{:?}", added.body);
        }
    });
    futures::future::join_all(races).await;
    assert_eq!(
        member_ids(&app.get(&group_path).await.body),
        Vec::<String>::new()
    );
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Count {
        total: i64,
    }
    let rows: Count = app
        .store
        .db
        .fetch_one(
            &projections::db::Sql::new(
                "SELECT count(*) AS total FROM scim_group_members WHERE group_id = $1",
            )
            .bind(group.as_str()),
        )
        .await
        .expect("the read model reads");
    assert_eq!(rows.total, 0, "no membership of a deleted user is left");
}

async fn deleting_a_group_removes_it_from_groups_it_belonged_to(app: TestApp) {
    let inner = app.create_group("Inner", &[]).await;
    let outer = app.create_group("Outer", &[&inner]).await;
    let outer_group = app.get(&format!("/Groups/{outer}")).await;
    assert_eq!(outer_group.body["members"][0]["type"], "Group");
    assert_eq!(app.delete(&format!("/Groups/{inner}")).await.status, 204);
    assert_eq!(app.get(&format!("/Groups/{inner}")).await.status, 404);
    assert_eq!(
        member_ids(&app.get(&format!("/Groups/{outer}")).await.body),
        Vec::<String>::new()
    );
    // The name is free again.
    app.create_group("INNER", &[]).await;
}

async fn unknown_members_are_refused(app: TestApp) {
    let reply = app
        .post(
            "/Groups",
            json!({"displayName": "Ghosts", "members": [{"value": "no-such-user"}]}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["scimType"], "invalidValue");
    assert!(reply.body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("no-such-user"));
    let group = app.create_group("Real", &[]).await;
    let patched = app
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}]),
        )
        .await;
    assert_eq!(patched.status, 400);
}

async fn a_group_cannot_contain_itself(app: TestApp) {
    let group = app.create_group("Loop", &[]).await;
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "add", "path": "members", "value": [{"value": group}]}]),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["scimType"], "invalidValue");
}

async fn members_can_be_left_out_of_reads(app: TestApp) {
    let a = app.create_user("a").await;
    let group = app.create_group("Big", &[&a]).await;
    let reply = app
        .get(&format!("/Groups/{group}?excludedAttributes=members"))
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.get("members").is_none());
    assert_eq!(reply.body["displayName"], "Big");
    let listed = app.get("/Groups?excludedAttributes=members").await;
    assert!(listed.resources()[0].get("members").is_none());
    let listed_with = app.get("/Groups").await;
    assert_eq!(member_ids(&listed_with.resources()[0]), vec![a]);
}

async fn groups_are_found_by_display_name_and_member(app: TestApp) {
    let a = app.create_user("a").await;
    let with = app.create_group("Marketing", &[&a]).await;
    app.create_group("Legal", &[]).await;
    let by_name = app
        .get(&format!(
            "/Groups?filter={}",
            encode(r#"displayName eq "MARKETING""#)
        ))
        .await;
    assert_eq!(by_name.body["totalResults"], 1);
    assert_eq!(by_name.resources()[0]["id"], with.as_str());
    // Entra ID checks a membership so.
    let filter = encode(&format!(r#"id eq "{with}" and members[value eq "{a}"]"#));
    let by_member = app
        .get(&format!(
            "/Groups?filter={filter}&excludedAttributes=members"
        ))
        .await;
    assert_eq!(by_member.body["totalResults"], 1, "{:?}", by_member.body);
    let filter = encode(&format!(
        r#"displayName eq "Legal" and members[value eq "{a}"]"#
    ));
    let none = app.get(&format!("/Groups?filter={filter}")).await;
    assert_eq!(none.body["totalResults"], 0);
}

async fn adding_an_existing_member_changes_nothing(app: TestApp) {
    let a = app.create_user("a").await;
    let group = app.create_group("Stable", &[&a]).await;
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
}

async fn a_thousand_members_are_added_in_one_patch(app: TestApp) {
    let group = app.create_group("Everyone", &[]).await;
    let mut ids = Vec::new();
    for n in 0..1000 {
        ids.push(app.create_user(&format!("member{n:04}")).await);
    }
    let members: Vec<serde_json::Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let path = format!("/Groups/{group}");
    // Asked for the members, the answer lists them all.
    let reply = app
        .patch(
            &format!("{path}?attributes=members"),
            json!([{"op": "add", "path": "members", "value": members}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body["detail"]);
    ids.sort();
    assert_eq!(member_ids(&reply.body), ids);
    let removed: Vec<serde_json::Value> =
        ids[..500].iter().map(|id| json!({"value": id})).collect();
    let reply = app
        .patch(
            &path,
            json!([{"op": "remove", "path": "members", "value": removed}]),
        )
        .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert_eq!(reply.header("etag"), Some("W/\"1501\""));
    assert_eq!(member_ids(&app.get(&path).await.body), ids[500..].to_vec());
    // The group is now loaded from a snapshot; it must agree with its members' view.
    let readded = app
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": ids[0]}]}]),
        )
        .await;
    assert_eq!(readded.status, 204, "{:?}", readded.body);
    assert_eq!(readded.header("etag"), Some("W/\"1502\""));
}

/// RFC 7644 §3.5.2: a PATCH may be answered `204` unless `attributes` is given. Okta and Entra
/// ID send group PATCHes without either parameter, so answering them without the member list
/// keeps adding members to a large group as cheap as to a small one.
async fn a_patch_asking_for_no_attributes_is_answered_without_a_body(app: TestApp) {
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let group = app.create_group("Quiet", &[&a]).await;
    let path = format!("/Groups/{group}");
    let add = |id: &str| json!([{"op": "add", "path": "members", "value": [{"value": id}]}]);
    let quiet = app.patch(&path, add(&b)).await;
    assert_eq!(quiet.status, 204, "{:?}", quiet.body);
    assert_eq!(quiet.body, serde_json::Value::Null);
    let read = app.get(&path).await;
    assert_eq!(quiet.header("etag"), read.body["meta"]["version"].as_str());
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(member_ids(&read.body), both);

    // Either parameter asks for the resource, shaped by it.
    let c = app.create_user("c").await;
    let without_members = app
        .patch(&format!("{path}?excludedAttributes=members"), add(&c))
        .await;
    assert_eq!(without_members.status, 200, "{:?}", without_members.body);
    assert!(without_members.body.get("members").is_none());
    assert_eq!(without_members.body["displayName"], "Quiet");
    assert_eq!(
        without_members.header("etag"),
        without_members.body["meta"]["version"].as_str()
    );
    let d = app.create_user("d").await;
    let named = app
        .patch(&format!("{path}?attributes=displayName"), add(&d))
        .await;
    assert_eq!(named.status, 200, "{:?}", named.body);
    assert_eq!(named.body["displayName"], "Quiet");
    assert!(named.body.get("members").is_none());
    let e = app.create_user("e").await;
    let listed = app
        .patch(&format!("{path}?attributes=members"), add(&e))
        .await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let mut all = vec![a, b, c, d, e];
    all.sort();
    assert_eq!(member_ids(&listed.body), all);
}
