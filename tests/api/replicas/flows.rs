//! Reads and whole IdP flows across replicas: what one acknowledged, the other serves at once,
//! flows through both at once leave exactly the users, members and events they made, and a
//! report created while its manager is created elsewhere ends up linked to it.

use super::{
    assert_audit_trail_is_complete_and_ordered, assert_same, count, event_log, Replica, Replicas,
    A, B,
};
use crate::common::member_ids;
use futures::future::join_all;
use projections::db::Sql;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_replica_is_read_at_once_through_the_other() {
    let replicas = Replicas::start().await;
    for n in 0..10 {
        let (writer, reader) = if n % 2 == 0 { (A, B) } else { (B, A) };
        let user_name = format!("ryw{n}@corp.example");
        let created = replicas
            .post(
                writer,
                "/Users",
                json!({"userName": user_name, "title": "Before"}),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let id = created.id();
        let path = format!("/Users/{id}");

        let read = replicas.get(reader, &path).await;
        assert_eq!(
            read.status, 200,
            "created through {writer:?}, read through {reader:?}"
        );
        assert_eq!(read.body["userName"], user_name.as_str());
        let found = replicas.users_named(reader, &user_name).await;
        assert_eq!(found.body["totalResults"], 1, "{:?}", found.body);

        let patched = replicas
            .patch(
                reader,
                &path,
                json!([{"op": "replace", "path": "title", "value": "After"}]),
            )
            .await;
        assert_eq!(patched.status, 200, "{:?}", patched.body);
        let read = replicas.get(writer, &path).await;
        assert_eq!(read.body["title"], "After");
        assert_eq!(
            read.body["meta"]["version"],
            patched.body["meta"]["version"]
        );

        // A group made through one replica shows in the user's `groups` through the other.
        let group = replicas
            .post(
                reader,
                "/Groups",
                json!({"displayName": format!("Team {n}"), "members": [{"value": id}]}),
            )
            .await;
        assert_eq!(group.status, 201, "{:?}", group.body);
        let read = replicas.get(writer, &path).await;
        assert_eq!(read.body["groups"][0]["value"], group.id().as_str());

        let deleted = replicas.send(writer, Method::DELETE, &path, None).await;
        assert_eq!(deleted.status, 204);
        assert_eq!(replicas.get(reader, &path).await.status, 404);
        let group_read = replicas
            .get(reader, &format!("/Groups/{}", group.id()))
            .await;
        assert_eq!(member_ids(&group_read.body), Vec::<String>::new());
    }
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
}

/// What one simulated IdP flow did to its user, for the final state to be checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    user_name: String,
    id: String,
    title: String,
    active: bool,
    deleted: bool,
}

/// One user's life through both replicas: created through `home`, retitled through the other,
/// added to the group through `home`, then perhaps suspended through the other and deleted
/// through `home`. Every step must succeed.
async fn idp_flow(replicas: &Replicas, home: Replica, n: usize, group_path: &str) -> Outcome {
    let away = match home {
        A => B,
        B => A,
    };
    let user_name = format!("{home:?}-{n}@corp.example").to_lowercase();
    let id = replicas.create_user(home, &user_name).await;
    let path = format!("/Users/{id}");
    let title = format!("Title {n}");
    let retitled = replicas
        .patch(
            away,
            &path,
            json!([{"op": "replace", "path": "title", "value": title}]),
        )
        .await;
    assert_eq!(retitled.status, 200, "{:?}", retitled.body);
    let joined = replicas
        .patch(
            home,
            group_path,
            json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
        )
        .await;
    assert_eq!(joined.status, 204, "{:?}", joined.body);
    let active = n % 4 != 0;
    if !active {
        let suspended = replicas
            .patch(
                away,
                &path,
                json!([{"op": "replace", "path": "active", "value": false}]),
            )
            .await;
        assert_eq!(suspended.status, 200, "{:?}", suspended.body);
    }
    let deleted = n % 5 == 0;
    if deleted {
        let reply = replicas.send(home, Method::DELETE, &path, None).await;
        assert_eq!(reply.status, 204, "{:?}", reply.body);
    }
    Outcome {
        user_name,
        id,
        title,
        active,
        deleted,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_on_both_replicas_leave_the_read_models_and_the_audit_trail_complete() {
    let replicas = Replicas::start().await;
    const FLOWS: usize = 40;
    let group = replicas
        .post(A, "/Groups", json!({"displayName": "Everyone"}))
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let group_id = group.id();
    let group_path = format!("/Groups/{group_id}");
    let flows = (0..FLOWS).flat_map(|n| [(A, n), (B, n)]);
    let outcomes = join_all(flows.map(|(home, n)| idp_flow(&replicas, home, n, &group_path))).await;

    let survivors: Vec<&Outcome> = outcomes.iter().filter(|o| !o.deleted).collect();
    let mut expected_members: Vec<String> = survivors.iter().map(|o| o.id.clone()).collect();
    expected_members.sort();
    let mut expected_users: Vec<(String, String, String, bool)> = survivors
        .iter()
        .map(|o| (o.id.clone(), o.user_name.clone(), o.title.clone(), o.active))
        .collect();
    expected_users.sort();
    for replica in [A, B] {
        let read = replicas.get(replica, &group_path).await;
        assert_same(&member_ids(&read.body), &expected_members, "group members");
        let listed = replicas.get(replica, "/Users?count=1000").await;
        assert_eq!(listed.status, 200, "{:?}", listed.body);
        let mut users: Vec<(String, String, String, bool)> = listed
            .resources()
            .iter()
            .map(|user| {
                let text = |key: &str| user[key].as_str().unwrap_or_default().to_string();
                (
                    text("id"),
                    text("userName"),
                    text("title"),
                    // A user created without `active` shows none, and is active.
                    user["active"].as_bool().unwrap_or(true),
                )
            })
            .collect();
        users.sort();
        assert_eq!(
            users.len(),
            expected_users.len(),
            "users through {replica:?}"
        );
        assert_eq!(users, expected_users, "users through {replica:?}");
    }

    let events = event_log(&replicas.database_url).await;
    let of_type = |event_type: &str| {
        events
            .iter()
            .filter(|event| event.event_type == event_type)
            .count()
    };
    let flows = 2 * FLOWS;
    let deleted = outcomes.iter().filter(|o| o.deleted).count();
    let suspended = outcomes.iter().filter(|o| !o.active).count();
    assert_eq!(of_type("UserCreated"), flows);
    assert_eq!(of_type("UserSuspended"), suspended);
    assert_eq!(of_type("UserDeleted"), deleted);
    assert_eq!(of_type("GroupMemberAdded"), flows);
    // A deleted user leaves the groups it was in.
    assert_eq!(of_type("GroupMemberRemoved"), deleted);
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_and_its_manager_created_at_once_through_both_replicas_are_linked() {
    let replicas = Replicas::start().await;
    const PAIRS: usize = 20;
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    // Each report names its manager by userName while the manager is being created through
    // the other replica: whichever comes first, the report must end up linked to it.
    let pairs = (0..PAIRS).map(|n| {
        let replicas = &replicas;
        async move {
            let boss = format!("boss{n}@corp.example");
            let report = json!({
                "userName": format!("report{n}@corp.example"),
                enterprise: {"manager": {"value": boss}},
            });
            let (report, manager) = tokio::join!(
                replicas.post(A, "/Users", report),
                replicas.post(B, "/Users", json!({"userName": boss})),
            );
            assert_eq!(report.status, 201, "{:?}", report.body);
            assert_eq!(manager.status, 201, "{:?}", manager.body);
            (report.id(), manager.id())
        }
    });
    let pairs = join_all(pairs).await;
    let events = event_log(&replicas.database_url).await;
    for (report, manager) in &pairs {
        let linked = events.iter().any(|event| {
            event.aggregate_id == *report
                && event.event_type == "ManagerLinked"
                && event.payload_names(manager)
        });
        assert!(
            linked,
            "report {report} was never linked to manager {manager}"
        );
    }
    let unlinked = Sql::new(
        "SELECT count(*) AS total FROM app_users
          WHERE manager_reference IS NOT NULL AND manager_id IS NULL",
    );
    // Shown as soon as the requests are answered, not only once a projector gets round to it.
    assert_eq!(count(&replicas.database_url, unlinked).await, 0);
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
}
