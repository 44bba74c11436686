//! Webhook deliveries end to end through the in-process server and the admin API's attempt
//! log (tests/api/webhook_delivery/ proves them against a `scimd serve` process, crashes
//! included): scimd delivers an instance's feed events to real receivers on real ports
//! (tests/receivers, verifying each delivery with the reference `standardwebhooks` library),
//! signed so that they verify, in feed order, retried with the same webhook-id after a failure
//! (attempt numbers in the log), disabled after failing for the give-up period, re-sent from a
//! chosen event by a replay, signed with both secrets during a rotation's overlap.

use crate::common::admin_api::{call, ADMIN_TOKEN};
use crate::common::receiver::{summary, Delivery, Mode, Receiver};
use crate::common::TestApp;
use crate::on_both_stores_with;
use crate::webhooks::{create_endpoint, quick_webhooks, webhooks_path, with_loopback_allowed};
use reqwest::Method;
use scimd::admin::token::AdminToken;
use scimd::startup::ServerSettings;
use serde_json::{json, Value};
use std::time::Duration;

on_both_stores_with!(with_loopback_allowed;
    deliveries_verify_with_the_reference_library_in_feed_order_once_each,
    a_failing_receiver_gets_retries_of_the_same_webhook_id_and_order_is_kept,
    a_receiver_that_times_out_hangs_up_or_is_down_gets_the_event_when_it_recovers,
    a_replay_sends_again_from_the_chosen_event,
    during_a_rotation_both_secrets_sign_and_afterwards_only_the_new_one,
    a_disabled_endpoint_gets_nothing_until_enabled_and_then_resumes_where_it_stopped,
);

on_both_stores_with!(with_a_short_give_up;
    an_endpoint_failing_for_the_give_up_period_is_disabled_by_scimd,
);

fn with_a_short_give_up() -> ServerSettings {
    ServerSettings {
        admin_token: AdminToken::new(ADMIN_TOKEN).ok(),
        webhooks: quick_webhooks(Duration::from_secs(1)),
        ..ServerSettings::default()
    }
}

/// The default instance's feed after `cursor`: (id, cursor, type) of each event.
async fn feed_after(app: &TestApp, cursor: &str) -> Vec<(String, String, String)> {
    let path = format!("/instances/default/events?after={cursor}&limit=1000");
    let (status, page) = call(app, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{page}");
    page["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| {
                    let text = |key: &str| e[key].as_str().unwrap_or_default().to_string();
                    (text("id"), text("cursor"), text("type"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn ids(events: &[(String, String, String)]) -> Vec<String> {
    events.iter().map(|(id, _, _)| id.clone()).collect()
}

/// What `check` finds once it finds something; fails the test if that takes longer than a
/// hang would (a bound, not a speed requirement).
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {what} within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The endpoint once it has recorded the delivery of the event at `cursor`: a receiver has a
/// delivery a moment before scimd records it with its group.
async fn recorded_past(app: &TestApp, id: &str, cursor: &str) -> Value {
    let target: i64 = cursor.parse().unwrap_or(i64::MAX);
    eventually("the deliveries recorded", async || {
        let shown = endpoint(app, id).await;
        let reached: i64 = shown["cursor"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .unwrap_or(-1);
        (reached >= target).then_some(shown)
    })
    .await
}

/// The accepted deliveries, in arrival order.
fn accepted(received: &[Delivery]) -> Vec<&Delivery> {
    received
        .iter()
        .filter(|delivery| delivery.accepted())
        .collect()
}

async fn endpoint(app: &TestApp, id: &str) -> Value {
    let (status, shown) = call(app, Method::GET, &webhooks_path(&format!("/{id}")), None).await;
    assert_eq!(status, 200, "{shown}");
    shown["endpoint"].clone()
}

/// Starts a receiver accepting deliveries signed with a new endpoint's secret: the receiver,
/// the endpoint's id and its starting cursor.
async fn receiver_and_endpoint(app: &TestApp, types: &[&str]) -> (Receiver, String, String) {
    let mut receiver = Receiver::start(Mode::Accept).await;
    let (endpoint, secret) = create_endpoint(app, &receiver.url(), types).await;
    receiver.set_secrets(&[&secret]).await;
    let id = endpoint["id"].as_str().unwrap_or_default().to_string();
    let cursor = endpoint["cursor"].as_str().unwrap_or_default().to_string();
    (receiver, id, cursor)
}

async fn deliveries_verify_with_the_reference_library_in_feed_order_once_each(app: TestApp) {
    // Events before the endpoint existed are not sent to it.
    app.create_user("before@corp.example").await;
    let (receiver, id, cursor) = receiver_and_endpoint(&app, &[]).await;
    let ann = app.create_user("ann@corp.example").await;
    app.create_user("bob@corp.example").await;
    app.create_group("Engineering", &[&ann]).await;
    let replaced = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
    let suspended = app
        .patch(&format!("/Users/{ann}"), replaced["Operations"].clone())
        .await;
    assert_eq!(suspended.status, 200, "{:?}", suspended.body);
    let events = feed_after(&app, &cursor).await;
    assert!(events.len() >= 5, "{events:?}");

    let received = receiver.wait_for_accepted(&ids(&events)).await;
    assert!(
        received.iter().all(|d| d.verified),
        "{}",
        summary(&received)
    );
    assert!(received
        .iter()
        .all(|d| d.content_type.as_deref() == Some("application/json")));
    let delivered: Vec<String> = received
        .iter()
        .filter_map(|d| d.webhook_id.clone())
        .collect();
    assert_eq!(delivered, ids(&events), "each event once, in feed order");
    // The body is the feed's document, its id the webhook-id.
    for delivery in &received {
        let document: Value = serde_json::from_str(&delivery.body).expect("a JSON body");
        assert_eq!(document["id"].as_str(), delivery.webhook_id.as_deref());
    }
    let last = &events[events.len() - 1].1;
    let shown = recorded_past(&app, &id, last).await;
    assert_eq!(shown["cursor"].as_str(), Some(last.as_str()), "{shown}");
    let (_, page) = call(
        &app,
        Method::GET,
        &webhooks_path(&format!("/{id}/deliveries?limit=100")),
        None,
    )
    .await;
    let attempts = page["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts.len(), events.len(), "{page}");
    assert!(attempts
        .iter()
        .all(|a| a["succeeded"] == true && a["status"] == 200 && a["attempt"] == 1));
    assert_eq!(
        attempts[0]["eventId"].as_str(),
        Some(events[events.len() - 1].0.as_str()),
        "newest first"
    );
}

async fn a_failing_receiver_gets_retries_of_the_same_webhook_id_and_order_is_kept(app: TestApp) {
    let (mut receiver, id, cursor) = receiver_and_endpoint(&app, &["user.created"]).await;
    receiver.fail_first(3, Mode::Fail(500)).await;
    app.create_user("ann@corp.example").await;
    app.create_user("bob@corp.example").await;
    app.create_group("Ignored by the types", &[]).await;
    let events: Vec<_> = feed_after(&app, &cursor)
        .await
        .into_iter()
        .filter(|(_, _, kind)| kind == "user.created")
        .collect();
    assert_eq!(events.len(), 2);
    let received = receiver.wait_for_accepted(&ids(&events)).await;

    let first = &events[0].0;
    let of_first: Vec<&Delivery> = received
        .iter()
        .filter(|d| d.webhook_id.as_ref() == Some(first))
        .collect();
    assert_eq!(
        of_first.len(),
        4,
        "three failures, then delivered: {}",
        summary(&received)
    );
    assert_eq!(
        of_first
            .iter()
            .map(|d| d.answer.as_str())
            .collect::<Vec<_>>(),
        ["500", "500", "500", "200"]
    );
    // Nothing of the second event went out before the first was delivered.
    let first_accepted = received
        .iter()
        .position(|d| d.accepted())
        .unwrap_or(usize::MAX);
    let second_first_seen = received
        .iter()
        .position(|d| d.webhook_id.as_ref() == Some(&events[1].0))
        .unwrap_or(0);
    assert!(first_accepted < second_first_seen, "{}", summary(&received));
    assert!(received
        .iter()
        .all(|d| d.event_type.as_deref() == Some("user.created")));
    assert_eq!(
        accepted(&received).len(),
        2,
        "each delivered once: {}",
        summary(&received)
    );

    recorded_past(&app, &id, &events[1].1).await;
    let (_, page) = call(
        &app,
        Method::GET,
        &webhooks_path(&format!("/{id}/deliveries")),
        None,
    )
    .await;
    let mut attempts = page["attempts"].as_array().cloned().unwrap_or_default();
    attempts.reverse();
    let seen: Vec<(i64, Option<i64>, bool)> = attempts
        .iter()
        .filter(|a| a["eventId"].as_str() == Some(first.as_str()))
        .map(|a| {
            (
                a["attempt"].as_i64().unwrap_or_default(),
                a["status"].as_i64(),
                a["succeeded"] == true,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, Some(500), false),
            (2, Some(500), false),
            (3, Some(500), false),
            (4, Some(200), true)
        ]
    );
    let shown = endpoint(&app, &id).await;
    assert_eq!(shown["failingSince"], Value::Null, "{shown}");
    assert_eq!(shown["nextAttemptAt"], Value::Null, "{shown}");
    assert_eq!(shown["state"], "enabled");
}

async fn a_receiver_that_times_out_hangs_up_or_is_down_gets_the_event_when_it_recovers(
    app: TestApp,
) {
    let (mut receiver, id, cursor) = receiver_and_endpoint(&app, &[]).await;
    receiver.fail_first(1, Mode::Silent).await;
    app.create_user("ann@corp.example").await;
    let events = feed_after(&app, &cursor).await;
    let received = receiver.wait_for_accepted(&ids(&events)).await;
    assert_eq!(received.len(), 2, "{}", summary(&received));

    receiver.fail_first(1, Mode::Hangup).await;
    app.create_user("bob@corp.example").await;
    let more = feed_after(&app, &events[0].1).await;
    receiver.wait_for_accepted(&ids(&more)).await;

    receiver.down().await;
    app.create_user("cy@corp.example").await;
    let last = feed_after(&app, &more[0].1).await;
    // Down: attempts fail with the connection refused until it is back.
    let newest = webhooks_path(&format!("/{id}/deliveries?limit=1"));
    let refused = eventually("a refused attempt", async || {
        let (_, page) = call(&app, Method::GET, &newest, None).await;
        (page["attempts"][0]["error"] == "connection refused").then_some(page)
    })
    .await;
    assert_eq!(
        refused["attempts"][0]["eventId"].as_str(),
        Some(last[0].0.as_str())
    );
    assert!(endpoint(&app, &id).await["failingSince"].is_string());
    receiver.up().await;
    let received = receiver.wait_for_accepted(&ids(&last)).await;
    let errors: Vec<String> = {
        let (_, page) = call(
            &app,
            Method::GET,
            &webhooks_path(&format!("/{id}/deliveries?limit=100")),
            None,
        )
        .await;
        page["attempts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["error"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(errors.iter().any(|e| e == "timeout"), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("closed") || e.contains("reset")),
        "{errors:?}"
    );
    assert!(received.iter().all(|d| !d.accepted() || d.verified));
}

async fn a_replay_sends_again_from_the_chosen_event(app: TestApp) {
    let (receiver, id, cursor) = receiver_and_endpoint(&app, &[]).await;
    for name in ["ann", "bob", "cy"] {
        app.create_user(&format!("{name}@corp.example")).await;
    }
    let events = feed_after(&app, &cursor).await;
    assert_eq!(events.len(), 3);
    receiver.wait_for_accepted(&ids(&events)).await;

    let from = json!({"from": events[1].0});
    let path = webhooks_path(&format!("/{id}/replay"));
    let (status, replayed) = call(&app, Method::POST, &path, Some(from)).await;
    assert_eq!(status, 200, "{replayed}");
    let received = receiver
        .wait_for("the replayed events", |received| {
            accepted(received).len() >= 5
        })
        .await;
    let order: Vec<String> = accepted(&received)
        .iter()
        .filter_map(|d| d.webhook_id.clone())
        .collect();
    let expected = [ids(&events), ids(&events[1..])].concat();
    assert_eq!(
        order, expected,
        "from the chosen event on, with the same webhook-ids"
    );

    // By cursor: the first event's.
    let from = json!({"from": events[0].1});
    let (status, _) = call(&app, Method::POST, &path, Some(from)).await;
    assert_eq!(status, 200);
    let received = receiver
        .wait_for("the events replayed by cursor", |received| {
            accepted(received).len() >= 8
        })
        .await;
    let tail: Vec<String> = accepted(&received)[5..]
        .iter()
        .filter_map(|d| d.webhook_id.clone())
        .collect();
    assert_eq!(tail, ids(&events));
}

async fn during_a_rotation_both_secrets_sign_and_afterwards_only_the_new_one(app: TestApp) {
    let (mut receiver, id, cursor) = receiver_and_endpoint(&app, &[]).await;
    let path = webhooks_path(&format!("/{id}/rotate"));
    let (status, rotated) = call(&app, Method::POST, &path, Some(json!({"overlapHours": 1}))).await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap_or_default().to_string();
    // A receiver that already has the new secret verifies; so does one that has only the old.
    receiver.set_secrets(&[&new]).await;
    app.create_user("ann@corp.example").await;
    let events = feed_after(&app, &cursor).await;
    let received = receiver.wait_for_accepted(&ids(&events)).await;
    assert!(
        received.iter().all(|d| d.verified && d.signatures == 2),
        "{received:?}"
    );

    // No overlap: the old secret stops signing at once.
    let (status, again) = call(&app, Method::POST, &path, Some(json!({"overlapHours": 0}))).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["endpoint"]["previousSecretExpiresAt"],
        Value::Null,
        "{again}"
    );
    let newest = again["secret"].as_str().unwrap_or_default().to_string();
    receiver.set_secrets(&[&newest]).await;
    app.create_user("bob@corp.example").await;
    let more = feed_after(&app, &events[0].1).await;
    let received = receiver.wait_for_accepted(&ids(&more)).await;
    let last = received.last().cloned().expect("a delivery");
    assert!(last.verified && last.signatures == 1, "{last:?}");
}

async fn a_disabled_endpoint_gets_nothing_until_enabled_and_then_resumes_where_it_stopped(
    app: TestApp,
) {
    let (receiver, id, cursor) = receiver_and_endpoint(&app, &[]).await;
    let path = |rest: &str| webhooks_path(&format!("/{id}{rest}"));
    let (status, _) = call(&app, Method::POST, &path("/disable"), None).await;
    assert_eq!(status, 200);
    app.create_user("ann@corp.example").await;
    app.create_user("bob@corp.example").await;
    let events = feed_after(&app, &cursor).await;
    // A test message goes out whatever the state; feed events do not.
    let (_, tested) = call(&app, Method::POST, &path("/test"), None).await;
    assert_eq!(tested["attempt"]["succeeded"], true, "{tested}");
    let received = receiver.received();
    assert_eq!(
        received.len(),
        1,
        "only the test message: {}",
        summary(&received)
    );
    assert_eq!(
        endpoint(&app, &id).await["cursor"].as_str(),
        Some(cursor.as_str())
    );

    let (status, _) = call(&app, Method::POST, &path("/enable"), None).await;
    assert_eq!(status, 200);
    let received = receiver.wait_for_accepted(&ids(&events)).await;
    let delivered: Vec<String> = received[1..]
        .iter()
        .filter_map(|d| d.webhook_id.clone())
        .collect();
    assert_eq!(delivered, ids(&events));
}

async fn an_endpoint_failing_for_the_give_up_period_is_disabled_by_scimd(app: TestApp) {
    let (mut receiver, id, _) = receiver_and_endpoint(&app, &[]).await;
    receiver.set_mode(Mode::Fail(503)).await;
    app.create_user("ann@corp.example").await;
    let disabled = eventually("the endpoint disabled", async || {
        let shown = endpoint(&app, &id).await;
        (shown["state"] == "disabled").then_some(shown)
    })
    .await;
    let reason = disabled["disabledReason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("failing for 1 second"), "{disabled}");
    let received = receiver.received();
    assert!(
        received.len() >= 2,
        "retried before giving up: {}",
        summary(&received)
    );
    let webhook_ids: std::collections::HashSet<_> =
        received.iter().map(|d| d.webhook_id.clone()).collect();
    assert_eq!(webhook_ids.len(), 1, "the same webhook-id each time");

    let (_, history) = call(
        &app,
        Method::GET,
        "/instances/default/history?action=WebhookEndpointDisabled",
        None,
    )
    .await;
    let entry = &history["entries"][0];
    assert_eq!(entry["actor"], "scimd", "{history}");
    assert_eq!(entry["source"], "scimd");
    assert_eq!(entry["details"]["reason"], reason);

    // Enabled again, the event it stopped at is delivered.
    receiver.set_mode(Mode::Accept).await;
    let (status, enabled) = call(
        &app,
        Method::POST,
        &webhooks_path(&format!("/{id}/enable")),
        None,
    )
    .await;
    assert_eq!(status, 200, "{enabled}");
    let delivered = receiver
        .wait_for("the event after enabling", |r| {
            r.iter().any(Delivery::accepted)
        })
        .await;
    assert_eq!(accepted(&delivered).len(), 1);
}
