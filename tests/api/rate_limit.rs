//! Per-key rate limiting: a key over its budget gets 429 with `Retry-After`, which is logged;
//! other keys are not slowed by it, and after `Retry-After` the key is served again.
//!
//! Counts of what was admitted must not depend on how fast the machine sends: the limit under
//! test refills once an hour, so nothing comes back while a test runs; where the pace is one a
//! second (the fastest refill, and the least `serve` can be told), a test only waits longer
//! than needed, or bounds what was admitted by the time it measured.

use crate::common::admin_api::with_admin_api;
use crate::common::server::Server;
use crate::common::{fresh_database, user, Reply, StoreKind, TestApp};
use crate::on_both_stores_with;
use crate::provisioning_log::log_of;
use reqwest::Method;
use scimd::http::RateLimit;
use scimd::startup::ServerSettings;
use std::time::{Duration, Instant};

on_both_stores_with!(three_an_hour;
    a_key_over_its_limit_is_refused_and_other_keys_are_not,
);

on_both_stores_with!(one_a_second;
    after_retry_after_the_key_is_served_again,
);

const BURST: usize = 3;
const REFILL: Duration = Duration::from_secs(3600);

fn three_an_hour() -> ServerSettings {
    ServerSettings {
        rate_limit: RateLimit {
            per_second: 1,
            burst: 3,
            refill_every: Some(REFILL),
        },
        ..with_admin_api()
    }
}

fn one_a_second() -> ServerSettings {
    ServerSettings {
        rate_limit: RateLimit {
            per_second: 1,
            burst: 1,
            ..RateLimit::default()
        },
        ..with_admin_api()
    }
}

/// The cheapest authenticated request.
const CHEAP: &str = "/ServiceProviderConfig";

fn retry_after(reply: &Reply) -> u64 {
    reply
        .header("retry-after")
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After in seconds: {:?}", reply.headers))
}

/// A refusal of the limit: a SCIM error without scimType, and the seconds to wait.
fn refusal(reply: &Reply) -> u64 {
    assert_eq!(reply.status, 429, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "429");
    assert_eq!(
        reply.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert!(reply.body.get("scimType").is_none(), "{:?}", reply.body);
    retry_after(reply)
}

/// Sends `count` cheap requests with `token`, one after another; their replies.
async fn burst(app: &TestApp, token: &str, count: usize) -> Vec<Reply> {
    let mut replies = Vec::with_capacity(count);
    for _ in 0..count {
        replies.push(app.send(Method::GET, CHEAP, Some(token), None).await);
    }
    replies
}

async fn a_key_over_its_limit_is_refused_and_other_keys_are_not(app: TestApp) {
    let token = app.key_for("default", "okta").await;
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    let replies = burst(&app, &token, 20).await;
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    let mut expected = vec![200; BURST];
    expected.resize(20, 429);
    assert_eq!(statuses, expected);
    for refused in &replies[BURST..] {
        // The wait is what is left of the hour, not a fixed second.
        let wait = refusal(refused);
        assert!(
            wait > REFILL.as_secs() - 600 && wait <= REFILL.as_secs(),
            "Retry-After: {wait}"
        );
    }

    // Another key of the same instance has a budget of its own, and the same limit.
    let statuses: Vec<u16> = burst(&app, &app.token, BURST + 1)
        .await
        .iter()
        .map(|reply| reply.status)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    // Refusals do not refill the bucket, and a refused create is not applied.
    let refused = app
        .send(Method::POST, "/Users", Some(&token), Some(&user("rl")))
        .await;
    refusal(&refused);

    let logged = log_of(&app, "default", "failed=true").await;
    let limited: Vec<_> = logged
        .iter()
        .filter(|entry| entry["status"] == 429 && entry["keyId"] == key_id.as_str())
        .collect();
    assert_eq!(limited.len(), 20 - BURST + 1, "{logged:?}");

    let checker = app.key_for("default", "checker").await;
    let users = app.send(Method::GET, "/Users", Some(&checker), None).await;
    assert_eq!(users.status, 200, "{:?}", users.body);
    assert_eq!(users.body["totalResults"], 0, "{:?}", users.body);
}

async fn after_retry_after_the_key_is_served_again(app: TestApp) {
    let token = app.key_for("default", "okta").await;
    assert_eq!(burst(&app, &token, 1).await[0].status, 200);
    // Refused as soon as requests come faster than one a second, which they do unless the
    // machine takes a second for each.
    let mut refused = None;
    for _ in 0..100 {
        let reply = app.send(Method::GET, CHEAP, Some(&token), None).await;
        if reply.status != 200 {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("a refusal within 100 requests");
    let wait = refusal(&refused);
    assert_eq!(wait, 1, "a second's wait at most, rounded up");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let again = app.send(Method::GET, CHEAP, Some(&token), None).await;
    assert_eq!(again.status, 200, "after waiting Retry-After");
}

/// The flags of `scimd serve` reach the limiter (the limiter itself is the same on every
/// store, tested above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_the_rate_limit_from_its_flags() {
    let (database_url, _dir) = fresh_database(StoreKind::Sqlite).await;
    let server = Server::start_with(
        &database_url,
        &["--rate-limit-per-second", "1", "--rate-limit-burst", "2"],
    )
    .await;
    let token = server
        .printed_key
        .clone()
        .expect("a first start prints a key");
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let started = Instant::now();
    while statuses.len() < 100 && !statuses.contains(&429) {
        let reply = client
            .get(format!("{}{CHEAP}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("scimd answers");
        statuses.push(reply.status().as_u16());
    }
    let took = started.elapsed();
    assert_eq!(statuses[..2], [200, 200], "the burst of two");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // At one a second after a burst of two, no more can have been admitted, however long the
    // requests took.
    let admitted = statuses.iter().filter(|status| **status == 200).count();
    let most = 2 + usize::try_from(took.as_secs()).unwrap_or(usize::MAX);
    assert!(admitted <= most, "{admitted} admitted in {took:?}");
}
