//! Webhook endpoints managed over the admin API and `scimd webhooks`: a secret shown once and
//! never listed, URLs refused unless https (or loopback when allowed), disable, enable,
//! rotate, replay, delete, test messages and the deliveries page; and every change in the
//! instance's history under the administrator's name, with no secret.

use crate::common::admin_api::{admin, call, ADMIN_TOKEN};
use crate::common::cli::run_cli;
use crate::common::receiver::{Mode, Receiver};
use crate::common::TestApp;
use crate::on_both_stores_with;
use reqwest::Method;
use scimd::admin::token::AdminToken;
use scimd::startup::ServerSettings;
use scimd::webhooks::{Backoff, WebhookSettings};
use serde_json::{json, Value};
use std::time::Duration;

on_both_stores_with!(with_loopback_allowed;
    an_endpoint_is_created_shown_listed_and_deleted_with_its_secret_shown_once,
    disable_enable_rotate_and_replay_change_the_endpoint,
    a_test_message_reports_its_outcome_and_the_deliveries_page_newest_first,
    every_change_is_in_the_history_under_the_administrators_name_without_a_secret,
    the_cli_manages_endpoints_and_shows_the_secret_once,
);

on_both_stores_with!(with_https_only;
    urls_must_be_https_to_a_host_that_is_not_loopback,
);

/// The admin API, and webhooks allowed to loopback receivers with quick retries.
pub fn with_loopback_allowed() -> ServerSettings {
    ServerSettings {
        admin_token: AdminToken::new(ADMIN_TOKEN).ok(),
        webhooks: quick_webhooks(Duration::from_secs(3600)),
        ..ServerSettings::default()
    }
}

fn with_https_only() -> ServerSettings {
    ServerSettings {
        admin_token: AdminToken::new(ADMIN_TOKEN).ok(),
        ..ServerSettings::default()
    }
}

/// Deliveries to loopback receivers, retried within a fraction of a second, given up on after
/// `give_up_after`.
pub fn quick_webhooks(give_up_after: Duration) -> WebhookSettings {
    WebhookSettings {
        allow_loopback: true,
        timeout: Duration::from_secs(2),
        backoff: Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
            give_up_after,
        },
        poll: Duration::from_millis(100),
        lease: Duration::from_secs(30),
    }
}

pub fn webhooks_path(rest: &str) -> String {
    format!("/instances/default/webhooks{rest}")
}

/// Creates an endpoint of instance `default` for `url`: its view and its secret.
pub async fn create_endpoint(app: &TestApp, url: &str, types: &[&str]) -> (Value, String) {
    let body = json!({"url": url, "types": types, "description": "the application"});
    let (status, created) = call(app, Method::POST, &webhooks_path(""), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap_or_default().to_string();
    (created["endpoint"].clone(), secret)
}

async fn an_endpoint_is_created_shown_listed_and_deleted_with_its_secret_shown_once(app: TestApp) {
    let (endpoint, secret) = create_endpoint(
        &app,
        "http://127.0.0.1:9/hook",
        &["user.created", "user.deleted"],
    )
    .await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(secret.len() > 40, "at least 24 random bytes: {secret}");
    let id = endpoint["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(endpoint["url"], "http://127.0.0.1:9/hook");
    assert_eq!(endpoint["types"], json!(["user.created", "user.deleted"]));
    assert_eq!(endpoint["state"], "enabled");
    assert_eq!(endpoint["disabledReason"], Value::Null);
    assert_eq!(endpoint["description"], "the application");
    assert!(endpoint["cursor"].is_string(), "{endpoint}");

    let (status, listed) = call(&app, Method::GET, &webhooks_path(""), None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["endpoints"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["endpoints"][0]["id"], id.as_str());
    let (status, shown) = call(&app, Method::GET, &webhooks_path(&format!("/{id}")), None).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["endpoint"], listed["endpoints"][0]);
    // The instance by its id, as by its name.
    let (_, instances) = call(&app, Method::GET, "/instances", None).await;
    let instance_id = instances[0]["id"].as_str().unwrap_or_default();
    let by_id = format!("/instances/{instance_id}/webhooks/{id}");
    let (status, same) = call(&app, Method::GET, &by_id, None).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["endpoint"]["id"], id.as_str());
    let secret_part = &secret[6..];
    assert!(
        !listed.to_string().contains(secret_part),
        "a list never shows a secret"
    );
    assert!(
        !shown.to_string().contains(secret_part),
        "nor does showing one"
    );

    // Every type, when none is named; an unknown type is refused.
    let (_, every) = create_endpoint(&app, "http://127.0.0.1:9/all", &[]).await;
    assert_ne!(every, secret, "each endpoint has its own secret");
    let body = json!({"url": "http://127.0.0.1:9/x", "types": ["user.exploded"]});
    let (status, refused) = call(&app, Method::POST, &webhooks_path(""), Some(body)).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]
        .as_str()
        .unwrap_or_default()
        .contains("user.exploded"));

    let path = webhooks_path(&format!("/{id}"));
    let (status, _) = call(&app, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let (status, gone) = call(&app, Method::GET, &path, None).await;
    assert_eq!(status, 404, "{gone}");
    let (status, _) = call(&app, Method::DELETE, &path, None).await;
    assert_eq!(status, 404);
    let (_, listed) = call(&app, Method::GET, &webhooks_path(""), None).await;
    assert_eq!(listed["endpoints"].as_array().map(Vec::len), Some(1));
    // Another instance's endpoints are not reachable through this one.
    let (status, _) = call(
        &app,
        Method::POST,
        "/instances",
        Some(json!({"name": "acme"})),
    )
    .await;
    assert_eq!(status, 201);
    let other = format!(
        "/instances/acme/webhooks/{}",
        listed["endpoints"][0]["id"].as_str().unwrap_or_default()
    );
    let (status, _) = call(&app, Method::GET, &other, None).await;
    assert_eq!(status, 404);
}

async fn urls_must_be_https_to_a_host_that_is_not_loopback(app: TestApp) {
    for (url, why) in [
        ("http://hooks.example.com/scimd", "https"),
        ("https://localhost/hook", "loopback"),
        ("https://127.0.0.1:8443/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("ftp://hooks.example.com/x", "https"),
        ("hooks.example.com/x", "not an absolute URL"),
    ] {
        let body = json!({"url": url});
        let (status, refused) = call(&app, Method::POST, &webhooks_path(""), Some(body)).await;
        assert_eq!(status, 400, "{url}: {refused}");
        let error = refused["error"].as_str().unwrap_or_default();
        assert!(error.contains(why), "{url}: {error}");
    }
    let (endpoint, _) = create_endpoint(&app, "https://hooks.example.com/scimd", &[]).await;
    assert_eq!(endpoint["url"], "https://hooks.example.com/scimd");
    let (_, listed) = call(&app, Method::GET, &webhooks_path(""), None).await;
    assert_eq!(
        listed["endpoints"].as_array().map(Vec::len),
        Some(1),
        "refused URLs leave nothing"
    );
}

async fn disable_enable_rotate_and_replay_change_the_endpoint(app: TestApp) {
    let (endpoint, secret) = create_endpoint(&app, "http://127.0.0.1:9/hook", &[]).await;
    let id = endpoint["id"].as_str().unwrap_or_default().to_string();
    let path = |rest: &str| webhooks_path(&format!("/{id}{rest}"));

    let (status, disabled) = call(&app, Method::POST, &path("/disable"), None).await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["endpoint"]["state"], "disabled");
    assert_eq!(
        disabled["endpoint"]["disabledReason"],
        "disabled by bootstrap admin token"
    );
    let (status, again) = call(&app, Method::POST, &path("/disable"), None).await;
    assert_eq!(status, 200, "disabling twice changes nothing: {again}");
    let (status, enabled) = call(&app, Method::POST, &path("/enable"), None).await;
    assert_eq!(status, 200, "{enabled}");
    assert_eq!(enabled["endpoint"]["state"], "enabled");
    assert_eq!(enabled["endpoint"]["disabledReason"], Value::Null);

    let body = json!({"overlapHours": 2});
    let (status, rotated) = call(&app, Method::POST, &path("/rotate"), Some(body)).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap_or_default();
    assert!(
        new_secret.starts_with("whsec_") && new_secret != secret,
        "{rotated}"
    );
    let expires = rotated["endpoint"]["previousSecretExpiresAt"]
        .as_str()
        .unwrap_or_default();
    let expires = chrono::DateTime::parse_from_rfc3339(expires).expect("an RFC 3339 expiry");
    let hours = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!(
        (100..=120).contains(&hours),
        "about two hours of overlap: {rotated}"
    );
    let (status, _) = call(&app, Method::POST, &path("/rotate"), None).await;
    assert_eq!(status, 200, "the overlap is optional");
    let too_long = json!({"overlapHours": 100_000});
    let (status, _) = call(&app, Method::POST, &path("/rotate"), Some(too_long)).await;
    assert_eq!(status, 400);

    // Replay by cursor: delivery resumes with that event (the cursor is the one before).
    let (status, replayed) = call(
        &app,
        Method::POST,
        &path("/replay"),
        Some(json!({"from": "1"})),
    )
    .await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["endpoint"]["cursor"], "0");
    // By an event id: one of this instance's events.
    app.create_user("ann@corp.example").await;
    let (_, events) = call(&app, Method::GET, "/instances/default/events", None).await;
    let first = events["events"][0].clone();
    let from = json!({"from": first["id"]});
    let (status, replayed) = call(&app, Method::POST, &path("/replay"), Some(from)).await;
    assert_eq!(status, 200, "{replayed}");
    let cursor: i64 = first["cursor"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or(-1);
    assert_eq!(replayed["endpoint"]["cursor"], (cursor - 1).to_string());
    let unknown = json!({"from": "evt_nothing"});
    let (status, refused) = call(&app, Method::POST, &path("/replay"), Some(unknown)).await;
    assert_eq!(status, 400, "{refused}");

    let missing = webhooks_path("/no-such-endpoint/disable");
    let (status, _) = call(&app, Method::POST, &missing, None).await;
    assert_eq!(status, 404);
}

async fn a_test_message_reports_its_outcome_and_the_deliveries_page_newest_first(app: TestApp) {
    let mut receiver = Receiver::start(Mode::Accept).await;
    let (endpoint, secret) = create_endpoint(&app, &receiver.url(), &[]).await;
    receiver.set_secrets(&[&secret]).await;
    let id = endpoint["id"].as_str().unwrap_or_default().to_string();
    let path = |rest: &str| webhooks_path(&format!("/{id}{rest}"));

    let (status, tested) = call(&app, Method::POST, &path("/test"), None).await;
    assert_eq!(status, 200, "{tested}");
    let attempt = &tested["attempt"];
    assert_eq!(attempt["succeeded"], true, "{tested}");
    assert_eq!(attempt["status"], 200);
    assert_eq!(attempt["eventType"], "webhook.test");
    assert_eq!(attempt["error"], Value::Null);
    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(
        received[0].verified,
        "the test message is signed: {received:?}"
    );
    assert_eq!(received[0].event_type.as_deref(), Some("webhook.test"));
    assert_eq!(
        received[0].webhook_id.as_ref(),
        attempt["eventId"].as_str().map(str::to_string).as_ref()
    );

    receiver.set_mode(Mode::Fail(503)).await;
    let (_, failed) = call(&app, Method::POST, &path("/test"), None).await;
    assert_eq!(failed["attempt"]["succeeded"], false, "{failed}");
    assert_eq!(failed["attempt"]["status"], 503);
    receiver.down().await;
    let (_, refused) = call(&app, Method::POST, &path("/test"), None).await;
    assert_eq!(refused["attempt"]["succeeded"], false, "{refused}");
    assert_eq!(refused["attempt"]["status"], Value::Null);
    assert_eq!(
        refused["attempt"]["error"], "connection refused",
        "{refused}"
    );

    // Newest first, a page at a time.
    let (status, page) = call(&app, Method::GET, &path("/deliveries?limit=2"), None).await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&Value> = page["attempts"]
        .as_array()
        .map(|a| a.iter().map(|x| &x["id"]).collect())
        .unwrap_or_default();
    assert_eq!(ids, [&refused["attempt"]["id"], &failed["attempt"]["id"]]);
    let next = page["next"].as_str().unwrap_or_default().to_string();
    assert!(!next.is_empty(), "{page}");
    let (_, rest) = call(
        &app,
        Method::GET,
        &path(&format!("/deliveries?limit=2&before={next}")),
        None,
    )
    .await;
    let rest_ids: Vec<&Value> = rest["attempts"]
        .as_array()
        .map(|a| a.iter().map(|x| &x["id"]).collect())
        .unwrap_or_default();
    assert_eq!(rest_ids, [&tested["attempt"]["id"]]);
    assert_eq!(rest["next"], Value::Null);
    let (status, _) = call(
        &app,
        Method::GET,
        &path("/deliveries?before=yesterday"),
        None,
    )
    .await;
    assert_eq!(status, 400);
}

async fn every_change_is_in_the_history_under_the_administrators_name_without_a_secret(
    app: TestApp,
) {
    let (ok, out, err) = run_cli(&app.database_url, &["admins", "create", "ada"]).await;
    assert!(ok, "{err}");
    let ada = out.lines().last().unwrap_or_default().to_string();
    let as_ada = |method: Method, path: String, body: Option<Value>| {
        let ada = ada.clone();
        let app = &app;
        async move { admin(app, method, &path, Some(&ada), body).await }
    };
    let body = json!({"url": "http://127.0.0.1:9/hook", "types": ["user.created"]});
    let (status, created) = as_ada(Method::POST, webhooks_path(""), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let mut secrets = vec![created["secret"].as_str().unwrap_or_default().to_string()];
    let id = created["endpoint"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let path = |rest: &str| webhooks_path(&format!("/{id}{rest}"));
    let (_, rotated) = as_ada(Method::POST, path("/rotate"), None).await;
    secrets.push(rotated["secret"].as_str().unwrap_or_default().to_string());
    as_ada(Method::POST, path("/disable"), None).await;
    as_ada(Method::POST, path("/enable"), None).await;
    as_ada(Method::POST, path("/replay"), Some(json!({"from": "0"}))).await;
    let (status, _) = as_ada(Method::DELETE, path(""), None).await;
    assert_eq!(status, 204);

    let (status, history) = call(
        &app,
        Method::GET,
        "/instances/default/history?count=1000",
        None,
    )
    .await;
    assert_eq!(status, 200, "{history}");
    let entries: Vec<&Value> = history["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| {
                    e["action"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("Webhook")
                })
                .collect()
        })
        .unwrap_or_default();
    let seen: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default(),
                e["actor"].as_str().unwrap_or_default(),
                e["source"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("WebhookEndpointAdded", "ada", "admin-api"),
            ("WebhookSecretRotated", "ada", "admin-api"),
            ("WebhookEndpointDisabled", "ada", "admin-api"),
            ("WebhookEndpointEnabled", "ada", "admin-api"),
            ("WebhookEndpointReplayed", "ada", "admin-api"),
            ("WebhookEndpointDeleted", "ada", "admin-api"),
        ]
    );
    assert_eq!(entries[0]["details"]["url"], "http://127.0.0.1:9/hook");
    assert_eq!(entries[0]["details"]["endpoint_id"], id.as_str());
    assert_eq!(entries[2]["details"]["reason"], "disabled by ada");
    let text = history.to_string();
    for secret in &secrets {
        assert!(secret.starts_with("whsec_"));
        assert!(!text.contains(&secret[6..]), "no secret in the history");
    }
    // The chain holds with the new events in it.
    let (_, audit) = call(&app, Method::GET, "/instances/default/audit", None).await;
    assert_eq!(audit["intact"], true, "{audit}");
}

/// Runs `scimd webhooks …` against the app's store, loopback allowed.
async fn webhooks_cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["webhooks", "--webhook-allow-loopback"];
    all.extend_from_slice(args);
    run_cli(&app.database_url, &all).await
}

async fn the_cli_manages_endpoints_and_shows_the_secret_once(app: TestApp) {
    let mut receiver = Receiver::start(Mode::Accept).await;
    let url = receiver.url();
    let (ok, out, err) = webhooks_cli(
        &app,
        &[
            "create",
            "--instance",
            "default",
            "--url",
            &url,
            "--type",
            "user.created",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let secret = out.lines().last().unwrap_or_default().to_string();
    assert!(secret.starts_with("whsec_"), "{out}");
    receiver.set_secrets(&[&secret]).await;

    let (ok, out, err) = webhooks_cli(&app, &["list", "--instance", "default"]).await;
    assert!(ok, "{err}");
    assert!(out.contains(&url) && out.contains("user.created"), "{out}");
    assert!(!out.contains(&secret[6..]), "a list never shows the secret");
    let (ok, out, _) = run_cli(
        &app.database_url,
        &["--json", "webhooks", "list", "--instance", "default"],
    )
    .await;
    assert!(ok);
    let listed: Value = serde_json::from_str(&out).unwrap_or_default();
    let id = listed["endpoints"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!id.is_empty(), "{out}");
    assert!(!out.contains(&secret[6..]));

    // Refusals: a clear message and a failing exit status.
    let (ok, _, err) = run_cli(
        &app.database_url,
        &[
            "webhooks",
            "create",
            "--instance",
            "default",
            "--url",
            "http://127.0.0.1:9/x",
        ],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("https://"), "{err}");
    let (ok, _, err) = webhooks_cli(&app, &["show", "--instance", "default", "nope"]).await;
    assert!(!ok);
    assert!(err.contains("no webhook endpoint"), "{err}");
    let (ok, _, err) = webhooks_cli(&app, &["list", "--instance", "nowhere"]).await;
    assert!(!ok);
    assert!(err.contains("nowhere"), "{err}");

    let (ok, out, err) = webhooks_cli(&app, &["test", "--instance", "default", &id]).await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("webhook.test") && out.contains("delivered"),
        "{out}"
    );
    receiver.down().await;
    let (ok, out, err) = webhooks_cli(&app, &["test", "--instance", "default", &id]).await;
    assert!(!ok, "a test message not delivered fails: {out}");
    assert!(err.contains("connection refused"), "{err}");
    let (ok, out, err) = webhooks_cli(
        &app,
        &["deliveries", "--instance", "default", &id, "--limit", "1"],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("connection refused") && out.contains("--before"),
        "{out}"
    );

    let (ok, out, err) = webhooks_cli(
        &app,
        &[
            "rotate",
            "--instance",
            "default",
            &id,
            "--overlap-hours",
            "1",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let rotated = out.lines().last().unwrap_or_default();
    assert!(rotated.starts_with("whsec_") && rotated != secret, "{out}");
    let (ok, out, err) = webhooks_cli(&app, &["disable", "--instance", "default", &id]).await;
    assert!(ok, "{err}");
    assert!(out.contains("disabled by"), "{out}");
    let (ok, out, err) = webhooks_cli(&app, &["enable", "--instance", "default", &id]).await;
    assert!(ok, "{err}");
    assert!(out.contains("enabled"), "{out}");
    let (ok, out, err) = webhooks_cli(
        &app,
        &["replay", "--instance", "default", &id, "--from", "1"],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("resumes"), "{out}");
    let (ok, _, err) = webhooks_cli(
        &app,
        &["replay", "--instance", "default", &id, "--from", "evt_none"],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("evt_none"), "{err}");
    let (ok, _, err) = webhooks_cli(&app, &["delete", "--instance", "default", &id]).await;
    assert!(ok, "{err}");
    let (ok, _, _) = webhooks_cli(&app, &["show", "--instance", "default", &id]).await;
    assert!(!ok, "deleted");
}
