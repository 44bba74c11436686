//! Per-key rate limiting: a key over its budget gets 429 with `Retry-After`, which is logged;
//! other keys are not slowed by it, and after `Retry-After` the key is served again.

use crate::common::admin_api::with_admin_api;
use crate::common::server::Server;
use crate::common::{fresh_database, Reply, StoreKind, TestApp};
use crate::on_both_stores_with;
use crate::provisioning_log::log_of;
use reqwest::Method;
use scimd::http::RateLimit;
use scimd::startup::ServerSettings;
use std::time::Duration;

on_both_stores_with!(one_a_second_three_at_once;
    a_key_over_its_limit_waits_and_other_keys_do_not,
);

fn one_a_second_three_at_once() -> ServerSettings {
    ServerSettings {
        rate_limit: RateLimit {
            per_second: 1,
            burst: 3,
        },
        ..with_admin_api()
    }
}

/// The cheapest authenticated request, so that a burst is sent well within a second.
const CHEAP: &str = "/ServiceProviderConfig";

fn retry_after(reply: &Reply) -> u64 {
    reply
        .header("retry-after")
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After in seconds: {:?}", reply.headers))
}

async fn a_key_over_its_limit_waits_and_other_keys_do_not(app: TestApp) {
    let token = app.key_for("default", "okta").await;
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    for n in 0..3 {
        let reply = app.send(Method::GET, CHEAP, Some(&token), None).await;
        assert_eq!(reply.status, 200, "request {n} of the burst");
    }
    let refused = app.send(Method::GET, CHEAP, Some(&token), None).await;
    assert_eq!(refused.status, 429, "{:?}", refused.body);
    assert_eq!(refused.body["status"], "429");
    assert_eq!(
        refused.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert!(refused.body.get("scimType").is_none(), "{:?}", refused.body);
    let wait = retry_after(&refused);
    assert!(wait >= 1, "Retry-After: {wait}");

    // Another key of the same instance has a budget of its own.
    for _ in 0..3 {
        assert_eq!(app.get("/Users").await.status, 200);
    }
    // Refusals of the limit do not refill it: still refused until the wait is over.
    assert_eq!(
        app.send(
            Method::POST,
            "/Users",
            Some(&token),
            Some(&crate::common::user("rl"))
        )
        .await
        .status,
        429
    );

    let logged = log_of(&app, "default", "failed=true").await;
    let limited: Vec<_> = logged
        .iter()
        .filter(|entry| entry["status"] == 429)
        .collect();
    assert_eq!(limited.len(), 2, "{logged:?}");
    assert!(limited
        .iter()
        .all(|entry| entry["keyId"] == key_id.as_str()));

    tokio::time::sleep(Duration::from_secs(wait)).await;
    let again = app.send(Method::GET, CHEAP, Some(&token), None).await;
    assert_eq!(again.status, 200, "after waiting Retry-After");
    // Nothing of the refused create was applied.
    let users = app.get("/Users").await;
    assert_eq!(users.body["totalResults"], 0);
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
    for _ in 0..3 {
        let reply = client
            .get(format!("{}{CHEAP}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("scimd answers");
        statuses.push(reply.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}
