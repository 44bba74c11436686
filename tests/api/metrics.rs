//! `GET /metrics` as Prometheus scrapes it: requests by route template, method and status with
//! latencies, events appended, command conflicts, and the projection lag read at scrape time.

use crate::common::TestApp;
use crate::replicas::{assert_all, count, Replica, Replicas, A};
use crate::{on_both_store_kinds, on_both_stores_with};
use futures::future::join_all;
use projections::db::Sql;
use reqwest::Method;
use scimd::startup::ServerSettings;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

on_both_stores_with!(
    with_a_sleeping_projector;
    metrics_count_requests_events_and_lag,
);
on_both_store_kinds!(a_metrics_token_closes_metrics_to_everyone_else);

/// The projector applies events only when a request asks, so that an event written behind
/// its back shows as lag until then.
fn with_a_sleeping_projector() -> ServerSettings {
    ServerSettings {
        projector_poll: Duration::from_secs(3600),
        ..ServerSettings::default()
    }
}

/// One scrape: each sample's name and labels, and its value.
pub(crate) struct Scrape(BTreeMap<(String, BTreeMap<String, String>), f64>);

impl Scrape {
    fn parse(text: &str) -> Self {
        let mut samples = BTreeMap::new();
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("a sample and its value");
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').expect("label=\"value\"");
                    (key.to_string(), value.trim_matches('"').to_string())
                })
                .collect();
            let value = value.parse().expect("a numeric value");
            samples.insert((name.to_string(), labels), value);
        }
        Self(samples)
    }

    /// The value of the sample, 0 when it has never been counted.
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        self.0
            .get(&(name.to_string(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    fn requests(&self, method: &str, route: &str, status: &str) -> f64 {
        let labels = [("method", method), ("route", route), ("status", status)];
        self.value("scimd_http_requests_total", &labels)
    }
}

pub(crate) async fn scrape(app: &TestApp) -> (Scrape, String) {
    let response = app
        .client
        .get(format!("http://{}/metrics", app.address))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.expect("a body");
    (Scrape::parse(&text), text)
}

async fn stored_events(app: &TestApp) -> i64 {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Count {
        count: i64,
    }
    let count: Count = app
        .store
        .db
        .fetch_one(&Sql::new("SELECT COUNT(*) AS count FROM events"))
        .await
        .expect("the events are counted");
    count.count
}

async fn metrics_count_requests_events_and_lag(app: TestApp) {
    let (before, _) = scrape(&app).await;
    let events_before = stored_events(&app).await;
    let appended =
        |scrape: &Scrape| scrape.value("scimd_events_appended_total", &[("aggregate", "User")]);

    let id = app.create_user("metered@example.com").await;
    let patched = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "displayName", "value": "Metered"}]),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let missing = app.get("/Users/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(missing.status, 404);
    let refused = app
        .send(Method::GET, "/Users", Some("scimd_not-a-key"), None)
        .await;
    assert_eq!(refused.status, 401);
    let nowhere = app
        .send(
            Method::GET,
            &format!("http://{}/nowhere/{id}", app.address),
            None,
            None,
        )
        .await;
    assert_eq!(nowhere.status, 404);

    let (after, text) = scrape(&app).await;
    let users = "/scim/v2/Users";
    let user = "/scim/v2/Users/{id}";
    assert_eq!(after.requests("POST", users, "201"), 1.0, "{text}");
    assert_eq!(after.requests("PATCH", user, "200"), 1.0, "{text}");
    assert_eq!(after.requests("GET", user, "404"), 1.0, "{text}");
    assert_eq!(after.requests("GET", users, "401"), 1.0, "{text}");
    assert_eq!(after.requests("GET", "unmatched", "404"), 1.0, "{text}");
    assert_eq!(
        after.requests("GET", "/metrics", "200"),
        1.0,
        "the first scrape: {text}"
    );
    assert!(!text.contains(&id), "no series names a resource: {text}");
    assert!(
        !text.contains("instance="),
        "no series names an instance: {text}"
    );

    let duration = "scimd_http_request_duration_seconds";
    for (method, route) in [
        ("POST", users),
        ("PATCH", user),
        ("GET", user),
        ("GET", users),
    ] {
        let labels = [("method", method), ("route", route)];
        assert_eq!(
            after.value(&format!("{duration}_count"), &labels),
            1.0,
            "{text}"
        );
        let every = [("method", method), ("route", route), ("le", "+Inf")];
        assert_eq!(
            after.value(&format!("{duration}_bucket"), &every),
            1.0,
            "{text}"
        );
        assert!(
            after.value(&format!("{duration}_sum"), &labels) > 0.0,
            "{text}"
        );
    }

    let events = stored_events(&app).await - events_before;
    assert!(events >= 2, "a create and a PATCH append events");
    assert_eq!(
        appended(&after) - appended(&before),
        events as f64,
        "{text}"
    );
    let conflicts = [("aggregate", "User")];
    assert_eq!(
        after.value("scimd_command_conflicts_total", &conflicts),
        0.0
    );
    assert_eq!(after.value("scimd_command_retries_total", &conflicts), 0.0);
    assert_eq!(
        after.value("scimd_projection_lag_events", &[]),
        0.0,
        "{text}"
    );

    // An event committed behind the projector's back (a copy of the PATCH's, as the next
    // one of the user): lag until a request has the projector apply it.
    let copy = Sql::new(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
             event_version, payload, metadata)
         SELECT aggregate_type, aggregate_id, sequence + 1, event_type, event_version,
                payload, metadata
           FROM events WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(id.as_str());
    app.store
        .db
        .execute(&copy)
        .await
        .expect("the copy is stored");
    let (lagging, text) = scrape(&app).await;
    assert_eq!(
        lagging.value("scimd_projection_lag_events", &[]),
        1.0,
        "{text}"
    );
    let ready = app
        .client
        .get(format!("http://{}/readyz", app.address))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(ready.status(), 200);
    let (caught_up, text) = scrape(&app).await;
    assert_eq!(
        caught_up.value("scimd_projection_lag_events", &[]),
        0.0,
        "{text}"
    );
    assert_eq!(
        appended(&caught_up),
        appended(&after),
        "a copy is not an append"
    );
}

async fn a_metrics_token_closes_metrics_to_everyone_else(kind: crate::common::StoreKind) {
    let secret = "m".repeat(40);
    let settings = ServerSettings {
        metrics_token: Some(scimd::admin::token::AdminToken::new(&secret).expect("long enough")),
        ..ServerSettings::default()
    };
    let app = TestApp::spawn_with(kind, settings).await;
    let url = format!("http://{}/metrics", app.address);
    for presented in [None, Some(app.token.as_str()), Some("m")] {
        let reply = app.send(Method::GET, &url, presented, None).await;
        assert_eq!(reply.status, 401, "{presented:?}");
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
    }
    app.create_user("counted@example.com").await;
    let response = app
        .client
        .get(&url)
        .bearer_auth(&secret)
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(response.status(), 200);
    let scrape = Scrape::parse(&response.text().await.expect("a body"));
    assert_eq!(scrape.requests("POST", "/scim/v2/Users", "201"), 1.0);
    assert_eq!(scrape.requests("GET", "/metrics", "401"), 3.0);
}

/// Replicas racing to PATCH one user (PostgreSQL only, as replicas are): the losers' conflicts
/// and retries are counted, and only appends that stuck count as events appended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_replicas_count_their_conflicts_and_only_the_events_that_stuck() {
    const PATCHES: usize = 30;
    let replicas = Replicas::start().await;
    let id = replicas.create_user(A, "contested@corp.example").await;
    let path = format!("/Users/{id}");
    let user = [("aggregate", "User")];
    // A race is likely, not certain, in one round: race again until the replicas have met.
    let mut round = 0;
    let scrapes = loop {
        let replies = join_all((0..PATCHES).map(|n| {
            replicas.patch(
                Replica::alternating(n),
                &path,
                json!([{"op": "replace", "path": "title", "value": format!("Title {round}.{n}")}]),
            )
        }))
        .await;
        assert_all(&replies, 200, "every PATCH succeeds");
        let mut scrapes = Vec::new();
        for replica in [A, Replica::B] {
            let origin = replicas
                .base(replica)
                .trim_end_matches("/scim/v2")
                .to_string();
            let text = reqwest::get(format!("{origin}/metrics"))
                .await
                .expect("scimd answers")
                .text()
                .await
                .expect("a body");
            scrapes.push(Scrape::parse(&text));
        }
        let conflicts: f64 = scrapes
            .iter()
            .map(|scrape| scrape.value("scimd_command_conflicts_total", &user))
            .sum();
        round += 1;
        if conflicts > 0.0 {
            break scrapes;
        }
        assert!(
            round < 5,
            "{round} rounds of {PATCHES} PATCHes through two replicas never raced"
        );
    };
    let total =
        |name: &str| -> f64 { scrapes.iter().map(|scrape| scrape.value(name, &user)).sum() };
    let retries = total("scimd_command_retries_total");
    let exhausted = total("scimd_command_retries_exhausted_total");
    assert_eq!(exhausted, 0.0);
    assert_eq!(
        retries,
        total("scimd_command_conflicts_total"),
        "every conflict was retried"
    );
    let stored = Sql::new("SELECT count(*) AS total FROM events WHERE aggregate_type = 'User'");
    let stored = count(&replicas.database_url, stored).await;
    assert_eq!(total("scimd_events_appended_total"), stored as f64);
}
