//! Racing creates of one name through both replicas: exactly one 201, the rest 409
//! `uniqueness`, and one resource, one creation event and one claim behind the name.

use super::{assert_audit_trail_is_complete_and_ordered, count, Replica, Replicas, A, B};
use crate::common::{encode, Reply};
use futures::future::join_all;
use projections::db::Sql;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_user_name_through_both_replicas_give_exactly_one_201() {
    let replicas = Replicas::start().await;
    const ROUNDS: usize = 5;
    const RACERS: usize = 20;
    for round in 0..ROUNDS {
        let name = format!("racer{round}@corp.example");
        // Every racer spells the name in its own case: userNames are unique without regard
        // to case, so they all compete for one name.
        let spellings: Vec<String> = (0..RACERS)
            .map(|n| match n % 3 {
                0 => name.clone(),
                1 => name.to_uppercase(),
                _ => format!("Racer{round}@Corp.Example"),
            })
            .collect();
        let replies = join_all(spellings.iter().enumerate().map(|(n, spelling)| {
            replicas.post(
                Replica::alternating(n),
                "/Users",
                json!({"userName": spelling, "title": format!("racer {n}")}),
            )
        }))
        .await;
        let created: Vec<&Reply> = replies.iter().filter(|reply| reply.status == 201).collect();
        let refused: Vec<&Reply> = replies
            .iter()
            .filter(|reply| reply.status == 409 && reply.body["scimType"] == "uniqueness")
            .collect();
        let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
        assert_eq!(created.len(), 1, "round {round}: {statuses:?}");
        assert_eq!(refused.len(), RACERS - 1, "round {round}: {statuses:?}");
        let id = created[0].id();

        // Both replicas find exactly the one that was created, by any spelling.
        for replica in [A, B] {
            let found = replicas.users_named(replica, &name.to_uppercase()).await;
            assert_eq!(found.body["totalResults"], 1, "{:?}", found.body);
            assert_eq!(found.resources()[0]["id"], id.as_str());
            let read = replicas.get(replica, &format!("/Users/{id}")).await;
            assert_eq!(read.status, 200);
            assert_eq!(read.body["title"], created[0].body["title"]);
        }
    }

    let url = &replicas.database_url;
    let created = Sql::new("SELECT count(*) AS total FROM events WHERE event_type = 'UserCreated'");
    assert_eq!(count(url, created).await, ROUNDS as i64);
    let users = Sql::new("SELECT count(*) AS total FROM scim_users");
    assert_eq!(count(url, users).await, ROUNDS as i64);
    let claims = Sql::new(
        "SELECT count(*) AS total FROM user_name_claims c
           JOIN scim_users u ON u.id = c.user_id AND u.user_name_key = c.user_name_key",
    );
    assert_eq!(
        count(url, claims).await,
        ROUNDS as i64,
        "each name is claimed once, by the user that holds it"
    );
    let all_claims = Sql::new("SELECT count(*) AS total FROM user_name_claims");
    assert_eq!(count(url, all_claims).await, ROUNDS as i64);
    assert_audit_trail_is_complete_and_ordered(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_group_name_through_both_replicas_give_exactly_one_201() {
    let replicas = Replicas::start().await;
    const RACERS: usize = 20;
    let replies = join_all((0..RACERS).map(|n| {
        let display_name = if n % 2 == 0 {
            "Night Shift"
        } else {
            "NIGHT SHIFT"
        };
        replicas.post(
            Replica::alternating(n / 2),
            "/Groups",
            json!({"displayName": display_name}),
        )
    }))
    .await;
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    let created: Vec<&Reply> = replies.iter().filter(|reply| reply.status == 201).collect();
    let refused = replies
        .iter()
        .filter(|reply| reply.status == 409 && reply.body["scimType"] == "uniqueness")
        .count();
    assert_eq!(created.len(), 1, "{statuses:?}");
    assert_eq!(refused, RACERS - 1, "{statuses:?}");
    for replica in [A, B] {
        let filter = encode("displayName eq \"night shift\"");
        let found = replicas
            .get(replica, &format!("/Groups?filter={filter}"))
            .await;
        assert_eq!(found.body["totalResults"], 1, "{:?}", found.body);
        assert_eq!(found.resources()[0]["id"], created[0].id().as_str());
    }
    let url = &replicas.database_url;
    let events = Sql::new("SELECT count(*) AS total FROM events WHERE event_type = 'GroupCreated'");
    assert_eq!(count(url, events).await, 1);
    let claims = Sql::new("SELECT count(*) AS total FROM group_name_claims");
    assert_eq!(count(url, claims).await, 1);
    assert_audit_trail_is_complete_and_ordered(url).await;
}
