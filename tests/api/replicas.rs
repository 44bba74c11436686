//! Several `scimd serve` processes on one PostgreSQL database, the scale-out deployment: any
//! request may go to any replica, a write acknowledged by one is read at once through the
//! other, and racing writers through different replicas lose and duplicate nothing. After the
//! races, the read models equal a rebuild from the event log, every instance's hash chain is
//! intact, and the change history holds every event exactly once, in the log's order.
//!
//! PostgreSQL only: replicas sharing a SQLite file are not a supported deployment (SQLite is the
//! embedded store of one process), so these tests have no SQLite variant.
//!
//! Each test starts two real `scimd serve` binaries on a fresh database of the test process's
//! throwaway PostgreSQL server, fires requests at both at once, and asserts exact final states
//! and counts: they fail on one lost or duplicated change.

use crate::common::cli::{database_with_instance, open_store, run_cli};
use crate::common::server::{new_key, Server};
use crate::common::{encode, member_ids, Reply, StoreKind};
use futures::future::join_all;
use projections::db::Sql;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Two replicas of scimd on one database, and a key of instance `acme` that both accept.
struct Replicas {
    database_url: String,
    token: String,
    servers: [Server; 2],
    client: reqwest::Client,
}

/// Which replica a request goes to.
#[derive(Debug, Clone, Copy)]
enum Replica {
    A,
    B,
}

use Replica::{A, B};

impl Replica {
    /// Alternates between the replicas: even numbers go to A, odd ones to B.
    fn alternating(n: usize) -> Self {
        if n % 2 == 0 {
            A
        } else {
            B
        }
    }
}

impl Replicas {
    async fn start() -> Self {
        let (database_url, _) = database_with_instance(StoreKind::Postgres, "acme").await;
        let token = new_key(&database_url, "acme", "okta").await;
        // Small pools: the replicas share the test process's PostgreSQL server with every
        // other test running at the same time.
        let serve = || Server::start_with(&database_url, &["--pool-size", "6"]);
        let (a, b) = tokio::join!(serve(), serve());
        Self {
            database_url,
            token,
            servers: [a, b],
            client: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        replica: Replica,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let base = &self.servers[replica as usize].base;
        let mut request = self
            .client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        Reply::read(request.send().await.expect("scimd answers")).await
    }

    async fn get(&self, replica: Replica, path: &str) -> Reply {
        self.send(replica, Method::GET, path, None).await
    }

    async fn post(&self, replica: Replica, path: &str, body: Value) -> Reply {
        self.send(replica, Method::POST, path, Some(body)).await
    }

    async fn patch(&self, replica: Replica, path: &str, operations: Value) -> Reply {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.send(replica, Method::PATCH, path, Some(body)).await
    }

    /// Creates a user through `replica` and returns its id.
    async fn create_user(&self, replica: Replica, user_name: &str) -> String {
        let reply = self
            .post(replica, "/Users", json!({"userName": user_name}))
            .await;
        assert_eq!(reply.status, 201, "creating {user_name}: {:?}", reply.body);
        reply.id()
    }

    /// The users whose userName equals `user_name`, as `replica` lists them.
    async fn users_named(&self, replica: Replica, user_name: &str) -> Reply {
        let filter = encode(&format!("userName eq \"{user_name}\""));
        let reply = self.get(replica, &format!("/Users?filter={filter}")).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply
    }
}

#[derive(sqlx::FromRow)]
struct Count {
    total: i64,
}

/// One number the database computes.
async fn count(database_url: &str, sql: Sql) -> i64 {
    let store = open_store(database_url).await;
    let counted: Count = store.db.fetch_one(&sql).await.expect("the store reads");
    store.db.close().await;
    counted.total
}

#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
struct LoggedEvent {
    position: i64,
    event_type: String,
    aggregate_id: String,
    payload: String,
}

/// Every event in the global order the projections apply them in (see
/// migrations/postgres/0001_event_store.sql).
async fn event_log(database_url: &str) -> Vec<LoggedEvent> {
    let store = open_store(database_url).await;
    let events = store
        .db
        .fetch_all(&Sql::new(
            "SELECT position, event_type, aggregate_id, payload::text AS payload FROM events
              ORDER BY transaction_id, position",
        ))
        .await
        .expect("the event log reads");
    store.db.close().await;
    events
}

/// The member a GroupMemberAdded or GroupMemberRemoved event names.
fn member_of(event: &LoggedEvent) -> String {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or_default();
    payload[event.event_type.as_str()]["member"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What the auditor relies on after replicas raced: the read models equal a rebuild from the
/// log, the chain of instance `acme` is intact and seals every event, and its change history
/// has every event exactly once, in the log's order, whichever replica wrote it.
async fn assert_audit_trail_is_complete_and_ordered(database_url: &str) {
    let events = event_log(database_url).await;
    // The fresh database has one instance, so all of its events are acme's.
    let total = i64::try_from(events.len()).unwrap_or(i64::MAX);

    let (ok, out, err) = run_cli(database_url, &["--json", "verify"]).await;
    assert!(ok, "scimd verify: {out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(report["identical"], true, "{out}");
    assert_eq!(report["events"], total, "{out}");
    let projections = report["projections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(projections.len(), 4, "{out}");
    assert!(projections.iter().all(|p| p["identical"] == true), "{out}");

    let (ok, out, err) = run_cli(database_url, &["--json", "audit", "verify"]).await;
    assert!(ok, "scimd audit verify: {out}{err}");
    let chains: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(chains.as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(chains[0]["instance"], "acme", "{out}");
    assert_eq!(chains[0]["intact"], true, "{out}");
    assert_eq!(chains[0]["events"], total, "{out}");

    let (ok, out, err) = run_cli(
        database_url,
        &["history", "--instance", "acme", "--format", "jsonl"],
    )
    .await;
    assert!(ok, "scimd history: {err}");
    let history: Vec<(i64, String, String)> = out
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).unwrap_or_default();
            let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
            (
                entry["position"].as_i64().unwrap_or_default(),
                text("action"),
                text("entityId"),
            )
        })
        .collect();
    let logged: Vec<(i64, String, String)> = events
        .iter()
        .map(|event| {
            (
                event.position,
                event.event_type.clone(),
                event.aggregate_id.clone(),
            )
        })
        .collect();
    assert_eq!(history.len(), logged.len(), "one history entry per event");
    assert_eq!(history, logged, "the history follows the log's order");
}

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
async fn concurrent_member_patches_from_both_replicas_lose_and_duplicate_nothing() {
    let replicas = Replicas::start().await;
    // Each replica adds its own 50 users; both add the same 10 shared ones; 10 initial members
    // leave, half through each replica.
    let create = |replica: Replica, prefix: &'static str, n: usize| {
        let replicas = &replicas;
        async move {
            replicas
                .create_user(replica, &format!("{prefix}{n}@corp.example"))
                .await
        }
    };
    let own_a = join_all((0..50).map(|n| create(A, "a", n))).await;
    let own_b = join_all((0..50).map(|n| create(B, "b", n))).await;
    let shared = join_all((0..10).map(|n| create(Replica::alternating(n), "shared", n))).await;
    let leavers = join_all((0..10).map(|n| create(Replica::alternating(n), "leaver", n))).await;

    let members: Vec<Value> = leavers.iter().map(|id| json!({"value": id})).collect();
    let group = replicas
        .post(
            A,
            "/Groups",
            json!({"displayName": "Racers", "members": members}),
        )
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let group_id = group.id();
    let path = format!("/Groups/{group_id}");

    let add = |ids: &[String]| {
        let value: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
        json!([{"op": "add", "path": "members", "value": value}])
    };
    let remove =
        |id: &String| json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]);
    let mut patches: Vec<(Replica, Value)> = Vec::new();
    patches.extend(own_a.chunks(5).map(|chunk| (A, add(chunk))));
    patches.extend(own_b.chunks(5).map(|chunk| (B, add(chunk))));
    for chunk in shared.chunks(2) {
        patches.extend([(A, add(chunk)), (B, add(chunk))]);
    }
    patches.extend(
        leavers
            .iter()
            .enumerate()
            .map(|(n, id)| (Replica::alternating(n), remove(id))),
    );
    let patches = patches
        .into_iter()
        .map(|(replica, operations)| replicas.patch(replica, &path, operations));
    let replies = join_all(patches).await;
    let failed: Vec<(u16, &Value)> = replies
        .iter()
        .filter(|reply| reply.status != 200)
        .map(|reply| (reply.status, &reply.body))
        .collect();
    assert!(failed.is_empty(), "every PATCH succeeds: {failed:?}");

    let expected: BTreeSet<String> = own_a.iter().chain(&own_b).chain(&shared).cloned().collect();
    let expected: Vec<String> = expected.into_iter().collect();
    assert_eq!(expected.len(), 110);
    for replica in [A, B] {
        let read = replicas.get(replica, &path).await;
        assert_eq!(read.status, 200);
        assert_eq!(
            member_ids(&read.body),
            expected,
            "members read through {replica:?}"
        );
        // Each member's own `groups` shows the group, through either replica.
        let filter = encode(&format!("groups.value eq \"{group_id}\""));
        let listed = replicas
            .get(replica, &format!("/Users?filter={filter}&count=1000"))
            .await;
        assert_eq!(listed.status, 200, "{:?}", listed.body);
        assert_eq!(listed.body["totalResults"], 110, "{:?}", listed.body);
    }

    // One event per member change: the shared members were added once, though both replicas
    // asked for them.
    let events: Vec<LoggedEvent> = event_log(&replicas.database_url)
        .await
        .into_iter()
        .filter(|event| event.aggregate_id == group_id)
        .collect();
    let added: Vec<String> = events
        .iter()
        .filter(|event| event.event_type == "GroupMemberAdded")
        .map(member_of)
        .collect();
    let removed: Vec<String> = events
        .iter()
        .filter(|event| event.event_type == "GroupMemberRemoved")
        .map(member_of)
        .collect();
    let mut expected_added: Vec<String> = expected.iter().chain(&leavers).cloned().collect();
    expected_added.sort();
    let mut added_sorted = added.clone();
    added_sorted.sort();
    assert_eq!(
        added_sorted, expected_added,
        "each member added exactly once"
    );
    let mut removed_sorted = removed.clone();
    removed_sorted.sort();
    let mut expected_removed = leavers.clone();
    expected_removed.sort();
    assert_eq!(
        removed_sorted, expected_removed,
        "each leaver removed exactly once"
    );
    assert_eq!(events.len(), 1 + 120 + 10, "{events:?}");
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
}

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
    assert_eq!(joined.status, 200, "{:?}", joined.body);
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

/// Two sets of ids are equal; on failure, says which are missing and which are extra rather
/// than printing both whole.
fn assert_same(actual: &[String], expected: &[String], what: &str) {
    let actual: BTreeSet<&String> = actual.iter().collect();
    let expected: BTreeSet<&String> = expected.iter().collect();
    let missing: Vec<&&String> = expected.difference(&actual).collect();
    let extra: Vec<&&String> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} missing {missing:?}, {} unexpected {extra:?}",
        missing.len(),
        extra.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_through_one_replica_while_joining_a_group_through_the_other_is_no_member() {
    let replicas = Replicas::start().await;
    const USERS: usize = 40;
    let users = join_all((0..USERS).map(|n| {
        let replicas = &replicas;
        async move {
            replicas
                .create_user(Replica::alternating(n), &format!("goner{n}@corp.example"))
                .await
        }
    }))
    .await;
    let group = replicas
        .post(B, "/Groups", json!({"displayName": "Departed"}))
        .await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    let group_id = group.id();
    let group_path = format!("/Groups/{group_id}");

    // Each user is deleted through A while B adds it to the group: whichever comes first, the
    // group must not end up naming a user that no longer exists.
    let races = users.iter().map(|id| {
        let (replicas, group_path) = (&replicas, &group_path);
        async move {
            let user_path = format!("/Users/{id}");
            let delete = replicas.send(A, Method::DELETE, &user_path, None);
            let add = replicas.patch(
                B,
                group_path,
                json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
            );
            let (deleted, added) = tokio::join!(delete, add);
            assert_eq!(deleted.status, 204, "{:?}", deleted.body);
            // Too late to join: the user was already gone.
            let refused = added.status == 400 && added.body["scimType"] == "invalidValue";
            assert!(added.status == 200 || refused, "{:?}", added.body);
        }
    });
    join_all(races).await;

    for replica in [A, B] {
        let read = replicas.get(replica, &group_path).await;
        assert_same(
            &member_ids(&read.body),
            &[],
            "members of a group of deleted users",
        );
    }
    let rows = Sql::new("SELECT count(*) AS total FROM scim_group_members WHERE group_id = $1")
        .bind(group_id.as_str());
    assert_eq!(count(&replicas.database_url, rows).await, 0);
    // Every member that was added was removed again, by an event of its own.
    let events: Vec<LoggedEvent> = event_log(&replicas.database_url)
        .await
        .into_iter()
        .filter(|event| event.aggregate_id == group_id)
        .collect();
    let mut added: Vec<String> = events
        .iter()
        .filter(|event| event.event_type == "GroupMemberAdded")
        .map(member_of)
        .collect();
    let mut removed: Vec<String> = events
        .iter()
        .filter(|event| event.event_type == "GroupMemberRemoved")
        .map(member_of)
        .collect();
    added.sort();
    removed.sort();
    assert_eq!(added, removed);
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_of_one_user_from_both_replicas_keep_every_change() {
    let replicas = Replicas::start().await;
    const PATCHES: usize = 30;
    let id = replicas.create_user(A, "busy@corp.example").await;
    let path = format!("/Users/{id}");
    // Each PATCH adds an address of its own: a lost update would lose one.
    let replies = join_all((0..PATCHES).map(|n| {
        let address = json!({"type": "other", "locality": format!("Town {n}")});
        replicas.patch(
            Replica::alternating(n),
            &path,
            json!([{"op": "add", "path": "addresses", "value": [address]}]),
        )
    }))
    .await;
    let failed: Vec<(u16, &Value)> = replies
        .iter()
        .filter(|reply| reply.status != 200)
        .map(|reply| (reply.status, &reply.body))
        .collect();
    assert!(failed.is_empty(), "every PATCH succeeds: {failed:?}");

    let expected: Vec<String> = (0..PATCHES).map(|n| format!("Town {n}")).collect();
    for replica in [A, B] {
        let read = replicas.get(replica, &path).await;
        assert_eq!(read.status, 200);
        let towns: Vec<String> = read.body["addresses"]
            .as_array()
            .map(|addresses| {
                addresses
                    .iter()
                    .filter_map(|address| address["locality"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            towns.len(),
            PATCHES,
            "one address per PATCH, none lost or doubled: {towns:?}"
        );
        assert_same(
            &towns,
            &expected,
            &format!("addresses read through {replica:?}"),
        );
    }
    let updates = Sql::new(
        "SELECT count(*) AS total FROM events WHERE aggregate_id = $1 AND event_type = 'UserUpdated'",
    )
    .bind(id.as_str());
    assert_eq!(count(&replicas.database_url, updates).await, PATCHES as i64);
    assert_audit_trail_is_complete_and_ordered(&replicas.database_url).await;
}
