//! What requests cost PostgreSQL in round trips, counted on the wire between scimd and the
//! server (`pg_wire`): an IdP's `userName eq` lookup waits for two, its key check included;
//! each statement is prepared once per connection, not per request; a write learns its key's
//! and its settings' freshness in one; the provisioning log's batch is one.
//!
//! PostgreSQL only: a SQLite statement is a call inside the process, not a round trip.

use crate::common::cli::database_with_instance;
use crate::common::pg_wire::{CountingProxy, RoundTrip};
use crate::common::server::{call, new_key, Server};
use crate::common::{encode, user, StoreKind};
use reqwest::Method;
use scimd::store::provisioning_log::{self, LogEntry, SubjectKind};
use serde_json::json;
use std::collections::HashMap;

/// Connections in scimd's pool: each prepares a statement once.
const POOL: usize = 3;

/// The tables a lookup reads: the user, its groups, the keys.
const READS: [&str; 4] = [
    "scim_users",
    "scim_group_members",
    "key_generation",
    "api_keys",
];

fn reads_of(round_trips: &[RoundTrip]) -> Vec<&RoundTrip> {
    round_trips
        .iter()
        .filter(|round_trip| READS.iter().any(|table| round_trip.mentions(table)))
        .collect()
}

/// Round trips that ran statements (not only prepared them).
fn executed<'r>(round_trips: &[&'r RoundTrip]) -> Vec<&'r RoundTrip> {
    round_trips
        .iter()
        .copied()
        .filter(|round_trip| !round_trip.parsed)
        .collect()
}

/// How many times each statement was prepared.
fn preparations(round_trips: &[RoundTrip]) -> HashMap<String, usize> {
    let mut prepared = HashMap::new();
    for round_trip in round_trips.iter().filter(|round_trip| round_trip.parsed) {
        for statement in &round_trip.statements {
            *prepared.entry(statement.clone()).or_default() += 1;
        }
    }
    prepared
}

async fn scimd_behind_a_proxy() -> (CountingProxy, Server, String) {
    let (database_url, _) = database_with_instance(StoreKind::Postgres, "acme").await;
    let token = new_key(&database_url, "acme", "okta").await;
    let proxy = CountingProxy::start(&database_url).await;
    let pool = POOL.to_string();
    let server = Server::start_with(&proxy.url, &["--pool-size", &pool]).await;
    (proxy, server, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_name_lookup_is_two_round_trips_with_its_key_and_prepares_nothing_per_request() {
    let (proxy, server, token) = scimd_behind_a_proxy().await;
    let users = format!("{}/Users", server.base);
    let (status, body) = call(Method::POST, &users, &token, Some(user("ada@example.com"))).await;
    assert_eq!(status, 201, "{body}");
    let ada = body["id"].as_str().unwrap_or_default().to_string();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering",
        "members": [{"value": ada}],
    });
    let (status, body) = call(
        Method::POST,
        &format!("{}/Groups", server.base),
        &token,
        Some(group),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let lookup = |name: &str| {
        let filter = encode(&format!(r#"userName eq "{name}""#));
        format!("{users}?filter={filter}")
    };
    // Every connection of the pool may prepare each statement once, whatever the count.
    let from = proxy.round_trips().len();
    const LOOKUPS: usize = 60;
    for n in 0..LOOKUPS {
        let (name, found) = if n % 3 == 2 {
            (format!("nobody-{n}@example.com"), 0)
        } else {
            ("ADA@example.com".to_string(), 1)
        };
        let (status, body) = call(Method::GET, &lookup(&name), &token, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["totalResults"], found, "{body}");
        if found == 1 {
            assert_eq!(body["Resources"][0]["groups"][0]["display"], "Engineering");
        }
    }
    let round_trips = proxy.since(from);
    let reads = reads_of(&round_trips);
    let executed = executed(&reads);
    // A hit: the user with the key generation, then its groups. A miss: nothing to confirm
    // the key with, so the generation alone.
    assert_eq!(
        executed.len(),
        2 * LOOKUPS,
        "{:#?}",
        executed.iter().take(12).collect::<Vec<_>>()
    );
    // sqlx 0.8 checks a connection with an empty exchange when it comes back to the pool,
    // whatever the settings, after the request has its rows; scimd no longer checks one
    // before each use too (that was a round trip the request waited for). A connection may
    // come back once from before the count began.
    let statements = round_trips
        .iter()
        .filter(|trip| !trip.is_ping() && !trip.parsed)
        .count();
    let pings = round_trips.iter().filter(|trip| trip.is_ping()).count();
    assert!(
        pings <= statements + POOL,
        "{pings} pings for {statements} statements"
    );
    for (statement, times) in preparations(&round_trips) {
        assert!(
            times <= POOL,
            "prepared {times} times for {LOOKUPS} lookups on {POOL} connections: {statement}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_reads_its_keys_and_its_settings_freshness_in_one_round_trip() {
    let (proxy, server, token) = scimd_behind_a_proxy().await;
    let users = format!("{}/Users", server.base);
    // The first request holds the key.
    let (status, body) = call(Method::GET, &users, &token, None).await;
    assert_eq!(status, 200, "{body}");
    let from = proxy.round_trips().len();
    let (status, body) = call(
        Method::POST,
        &users,
        &token,
        Some(user("grace@example.com")),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let round_trips = proxy.since(from);
    let checks: Vec<&RoundTrip> = executed(&reads_of(&round_trips))
        .into_iter()
        .filter(|trip| trip.mentions("key_generation"))
        .collect();
    assert_eq!(checks.len(), 1, "{checks:#?}");
    assert!(checks[0].mentions("settings_sequence"), "{checks:#?}");
    let settings_alone = round_trips.iter().filter(|trip| {
        trip.mentions("FROM events WHERE aggregate_type = $1 AND aggregate_id = $2")
            && !trip.mentions("key_generation")
    });
    assert_eq!(settings_alone.count(), 0);
}

fn entry(n: usize) -> LogEntry {
    LogEntry {
        instance_id: "i1".into(),
        at: format!("2026-12-07T09:00:00.{n:06}Z"),
        method: "GET".into(),
        path: "/scim/v2/Users".into(),
        status: 200,
        latency_us: 100,
        correlation_id: format!("c{n}"),
        subjects: vec![
            (SubjectKind::UserName, format!("User{n}@Example.com")),
            (SubjectKind::UserName, format!("user{n}@example.com")),
            (SubjectKind::ResourceId, format!("u{n}")),
        ],
        ..LogEntry::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioning_log_batch_is_one_round_trip_whatever_its_size() {
    let (database_url, _) = database_with_instance(StoreKind::Postgres, "acme").await;
    let proxy = CountingProxy::start(&database_url).await;
    let store = crate::common::cli::open_store(&proxy.url).await;
    for size in [1, 2, 100] {
        let entries: Vec<LogEntry> = (0..size).map(entry).collect();
        let from = proxy.round_trips().len();
        provisioning_log::insert(&store.db, &entries)
            .await
            .expect("the batch is stored");
        let trips: Vec<RoundTrip> = proxy
            .since(from)
            .into_iter()
            .filter(|trip| !trip.parsed && !trip.is_ping())
            .collect();
        assert_eq!(trips.len(), 1, "{size} entries: {trips:#?}");
    }
    // Stored in order, each with its subjects, a userName once whatever its case.
    let query = provisioning_log::LogQuery {
        instance_id: "i1".into(),
        limit: 500,
        ..Default::default()
    };
    let stored = provisioning_log::page(&store.db, &query)
        .await
        .expect("the log reads");
    let ids: Vec<&str> = stored
        .iter()
        .map(|entry| entry.correlation_id.as_str())
        .collect();
    let expected: Vec<String> = [1, 2, 100]
        .iter()
        .flat_map(|size| (0..*size).map(|n| format!("c{n}")))
        .collect();
    assert_eq!(ids, expected);
    let by_name = provisioning_log::LogQuery {
        user_name: Some("USER42@example.COM".into()),
        ..query
    };
    let found = provisioning_log::page(&store.db, &by_name)
        .await
        .expect("the log reads");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].correlation_id, "c42");
}
