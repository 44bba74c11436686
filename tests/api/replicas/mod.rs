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
//! created at the same time as their managers; `keys`: a revoked key refused by both at once.

mod edits;
mod events;
mod flows;
mod keys;
mod names;

use crate::common::admin_api::ADMIN_TOKEN;
pub(super) use crate::common::audit_trail::{
    assert_audit_trail_is_complete_and_ordered, event_log, member_of, LoggedEvent,
};
use crate::common::cli::{database_with_instance, open_store};
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
        Self::start_with(&[]).await
    }

    /// As `start`, with more `serve` arguments for both replicas. Both serve the admin API
    /// with `ADMIN_TOKEN`.
    pub(super) async fn start_with(extra: &[&str]) -> Self {
        let (database_url, _) = database_with_instance(StoreKind::Postgres, "acme").await;
        let token = new_key(&database_url, "acme", "okta").await;
        // Small pools: the replicas share the test process's PostgreSQL server with every
        // other test running at the same time.
        let mut args = vec!["--pool-size", "6", "--admin-token", ADMIN_TOKEN];
        args.extend_from_slice(extra);
        let serve = || Server::start_with(&database_url, &args);
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

    /// A call to `replica`'s admin API (`/admin/v1{path}`) with the admin token.
    pub(super) async fn admin(
        &self,
        replica: Replica,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let base = self.servers[replica as usize]
            .base
            .trim_end_matches("/scim/v2")
            .to_string();
        let mut request = self
            .client
            .request(method, format!("{base}/admin/v1{path}"))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::read(request.send().await.expect("scimd answers")).await
    }

    /// Where `replica` serves SCIM (`http://ADDRESS/scim/v2`).
    pub(super) fn base(&self, replica: Replica) -> &str {
        &self.servers[replica as usize].base
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

#[derive(sqlx::FromRow, serde::Deserialize)]
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
