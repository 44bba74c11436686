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
//! and counts: they fail on one lost or duplicated change. `names`: racing creates of one
//! name; `edits`: racing edits of one group or user, and deletions racing adds; `flows`:
//! read-your-writes across replicas, whole IdP flows through both at once, and reports
//! created at the same time as their managers.

mod edits;
mod flows;
mod names;

use crate::common::cli::{database_with_instance, open_store, run_cli};
use crate::common::server::{new_key, Server};
use crate::common::{encode, Reply, StoreKind};
use projections::db::Sql;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Two replicas of scimd on one database, and a key of instance `acme` that both accept.
pub(super) struct Replicas {
    pub(super) database_url: String,
    token: String,
    servers: [Server; 2],
    client: reqwest::Client,
}

/// Which replica a request goes to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Replica {
    A,
    B,
}

pub(super) use Replica::{A, B};

impl Replica {
    /// Alternates between the replicas: even numbers go to A, odd ones to B.
    pub(super) fn alternating(n: usize) -> Self {
        if n % 2 == 0 {
            A
        } else {
            B
        }
    }
}

impl Replicas {
    pub(super) async fn start() -> Self {
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

    pub(super) async fn send(
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

    pub(super) async fn get(&self, replica: Replica, path: &str) -> Reply {
        self.send(replica, Method::GET, path, None).await
    }

    pub(super) async fn post(&self, replica: Replica, path: &str, body: Value) -> Reply {
        self.send(replica, Method::POST, path, Some(body)).await
    }

    pub(super) async fn patch(&self, replica: Replica, path: &str, operations: Value) -> Reply {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.send(replica, Method::PATCH, path, Some(body)).await
    }

    /// Creates a user through `replica` and returns its id.
    pub(super) async fn create_user(&self, replica: Replica, user_name: &str) -> String {
        let reply = self
            .post(replica, "/Users", json!({"userName": user_name}))
            .await;
        assert_eq!(reply.status, 201, "creating {user_name}: {:?}", reply.body);
        reply.id()
    }

    /// The users whose userName equals `user_name`, as `replica` lists them.
    pub(super) async fn users_named(&self, replica: Replica, user_name: &str) -> Reply {
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
pub(super) async fn count(database_url: &str, sql: Sql) -> i64 {
    let store = open_store(database_url).await;
    let counted: Count = store.db.fetch_one(&sql).await.expect("the store reads");
    store.db.close().await;
    counted.total
}

#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
pub(super) struct LoggedEvent {
    position: i64,
    pub(super) event_type: String,
    pub(super) aggregate_id: String,
    payload: String,
}

/// Every event in the global order the projections apply them in (see
/// migrations/postgres/0001_event_store.sql).
pub(super) async fn event_log(database_url: &str) -> Vec<LoggedEvent> {
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

impl LoggedEvent {
    /// Whether the event's payload mentions `id` anywhere.
    pub(super) fn payload_names(&self, id: &str) -> bool {
        self.payload.contains(id)
    }
}

/// The member a GroupMemberAdded or GroupMemberRemoved event names.
pub(super) fn member_of(event: &LoggedEvent) -> String {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or_default();
    payload[event.event_type.as_str()]["member"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What the auditor relies on after replicas raced: the read models equal a rebuild from the
/// log, the chain of instance `acme` is intact and seals every event, and its change history
/// has every event exactly once, in the log's order, whichever replica wrote it.
pub(super) async fn assert_audit_trail_is_complete_and_ordered(database_url: &str) {
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

/// Two sets of ids are equal; on failure, says which are missing and which are extra rather
/// than printing both whole.
pub(super) fn assert_same(actual: &[String], expected: &[String], what: &str) {
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

/// Every reply has `status`; on failure, names the ones that do not, with their bodies.
pub(super) fn assert_all(replies: &[Reply], status: u16, what: &str) {
    let failed: Vec<(u16, &Value)> = replies
        .iter()
        .filter(|reply| reply.status != status)
        .map(|reply| (reply.status, &reply.body))
        .collect();
    assert!(failed.is_empty(), "{what}: {failed:?}");
}
