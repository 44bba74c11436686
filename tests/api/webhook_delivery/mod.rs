//! Webhook delivery proven against real receivers (tests/receivers, which verify with the
//! reference `standardwebhooks` library) and a real `scimd serve` process: what reaches a
//! receiver is every event of the feed, each signed so that the reference library verifies it,
//! in feed order per endpoint, repeated only as a retry of the same webhook-id, whatever the
//! receiver does (fails, times out, answers slowly, hangs up, is down for a while) and whatever
//! happens to scimd (SIGKILL in the middle of deliveries, then a restart).
//!
//! `verified`: every delivery verifies, in order, with exactly the feed's documents, and during
//! a secret's rotation with either secret;
//! `failing`: retries with the same webhook-id and the attempt log, for each way a receiver
//! fails; `down`: a receiver down for a while gets everything in order once it is up;
//! `crash`: SIGKILL mid-delivery on both stores. Replicas are in replicas/deliveries.rs.
//!
//! scimd runs with short timings (a 1 s attempt timeout, retries from 50 ms, a 2 s lease) so
//! that retries and a takeover after a crash come quickly; the assertions are about what
//! arrives, never about how fast.

mod crash;
mod down;
mod failing;
mod verified;

use crate::common::admin_api::ADMIN_TOKEN;
use crate::common::cli::database_with_instance;
use crate::common::receiver::{summary, Delivery, Receiver};
use crate::common::server::{new_key, Server};
use crate::common::{Reply, StoreKind};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use tempfile::TempDir;

pub const INSTANCE: &str = "acme";

/// `serve` arguments: the admin API on, loopback receivers allowed, and short timings.
pub const SERVE_ARGS: &[&str] = &[
    "--admin-token",
    ADMIN_TOKEN,
    "--webhook-allow-loopback",
    "--webhook-timeout",
    "1",
    "--webhook-retry-base-ms",
    "50",
    "--webhook-retry-cap-ms",
    "400",
    "--webhook-poll-ms",
    "100",
    "--webhook-lease-secs",
    "2",
];

/// A scimd process over a fresh store with instance `acme` and a SCIM key of it.
pub struct Scimd {
    pub server: Server,
    pub database_url: String,
    pub token: String,
    _dir: Option<TempDir>,
}

impl Scimd {
    pub async fn start(kind: StoreKind) -> Self {
        let (database_url, dir) = database_with_instance(kind, INSTANCE).await;
        let token = new_key(&database_url, INSTANCE, "okta").await;
        let server = Server::start_with(&database_url, SERVE_ARGS).await;
        Self {
            server,
            database_url,
            token,
            _dir: dir,
        }
    }

    /// Starts scimd again on the same store (after a kill).
    pub async fn restart(&mut self) {
        self.server = Server::start_with(&self.database_url, SERVE_ARGS).await;
    }

    pub fn admin_base(&self) -> String {
        admin_base(&self.server.base)
    }

    /// A SCIM request with the key of `acme`.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let url = format!("{}{path}", self.server.base);
        crate::common::server::send(method, &url, &self.token, body).await
    }

    /// Creates a user through the SCIM API and returns its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let body = json!({"userName": user_name});
        let reply = self.send(Method::POST, "/Users", Some(body)).await;
        assert_eq!(reply.status, 201, "creating {user_name}: {:?}", reply.body);
        reply.id()
    }

    /// A PATCH of one user.
    pub async fn patch_user(&self, id: &str, path: &str, value: Value) {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": path, "value": value}],
        });
        let reply = self
            .send(Method::PATCH, &format!("/Users/{id}"), Some(body))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
}

/// `http://ADDRESS/admin/v1` of a server whose SCIM base is `http://ADDRESS/scim/v2`.
pub fn admin_base(scim_base: &str) -> String {
    format!("{}/admin/v1", scim_base.trim_end_matches("/scim/v2"))
}

/// A call to the admin API at `admin_base`.
pub async fn admin(admin_base: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut request = reqwest::Client::new()
        .request(method, format!("{admin_base}{path}"))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::read(request.send().await.expect("scimd answers")).await
}

/// Creates an endpoint of instance `acme` to the receiver for every event type, tells the
/// receiver its secret, and returns the endpoint's id.
pub async fn hook(admin_base: &str, receiver: &mut Receiver) -> String {
    hook_with_secret(admin_base, receiver).await.0
}

/// As `hook`; the endpoint's id and its secret.
pub async fn hook_with_secret(admin_base: &str, receiver: &mut Receiver) -> (String, String) {
    let reply = admin(
        admin_base,
        Method::POST,
        &format!("/instances/{INSTANCE}/webhooks"),
        Some(json!({"url": receiver.url(), "description": "the test receiver"})),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let secret = reply.body["secret"].as_str().expect("the secret, once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.set_secrets(&[secret]).await;
    let id = reply.body["endpoint"]["id"]
        .as_str()
        .expect("the endpoint's id");
    (id.to_string(), secret.to_string())
}

/// Every event of instance `acme`'s feed, through the events API, in cursor order.
pub async fn feed(admin_base: &str) -> Vec<Value> {
    let (mut after, mut events) = ("0".to_string(), Vec::new());
    loop {
        let path = format!("/instances/{INSTANCE}/events?after={after}&limit=1000");
        let reply = admin(admin_base, Method::GET, &path, None).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let page = reply.body["events"].as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            return events;
        }
        after = reply.body["next"].as_str().unwrap_or_default().to_string();
        events.extend(page);
    }
}

/// The feed once it holds at least `count` events.
pub async fn feed_of_at_least(admin_base: &str, count: usize) -> Vec<Value> {
    for _ in 0..600 {
        let events = feed(admin_base).await;
        if events.len() >= count {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the feed never held {count} events");
}

/// Every attempt the endpoint's log holds, oldest first.
pub async fn attempts(admin_base: &str, endpoint: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut path = format!("/instances/{INSTANCE}/webhooks/{endpoint}/deliveries?limit=100");
        if let Some(before) = &before {
            path.push_str(&format!("&before={before}"));
        }
        let reply = admin(admin_base, Method::GET, &path, None).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        all.extend(
            reply.body["attempts"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        match reply.body["next"].as_str() {
            Some(next) => before = Some(next.to_string()),
            None => break,
        }
    }
    all.reverse();
    all
}

/// Waits until the receiver has accepted every event of `events`.
pub async fn delivered(receiver: &Receiver, events: &[Value]) -> Vec<Delivery> {
    let ids: Vec<String> = events.iter().map(event_id).collect();
    receiver.wait_for_accepted(&ids).await
}

pub fn event_id(event: &Value) -> String {
    event["id"].as_str().expect("an event id").to_string()
}

/// What a receiver got is the feed, delivered at least once and in order: every delivery
/// verifies with the reference library and is a feed event whose body is exactly the feed's
/// document and whose webhook-id is its id; no event is sent before every event ahead of it in
/// the feed was accepted; each feed event was accepted; a repeat is a retry of a webhook-id
/// already sent, never another event's content. Returns how many requests repeated a
/// webhook-id.
pub fn assert_feed_delivered_in_order(received: &[Delivery], events: &[Value]) -> usize {
    let position: HashMap<String, usize> = events
        .iter()
        .enumerate()
        .map(|(n, event)| (event_id(event), n))
        .collect();
    let mut accepted = vec![false; events.len()];
    // How many events from the feed's start are all accepted.
    let mut prefix = 0;
    let mut seen = vec![false; events.len()];
    let mut repeats = 0;
    for delivery in received {
        let context = || summary(received);
        assert!(
            delivery.verified,
            "the reference library refused {delivery:?}; {}",
            context()
        );
        let id = delivery.webhook_id.as_deref().expect("a webhook-id");
        let at = *position
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not a feed event; {}", context()));
        assert_eq!(
            delivery.event_id.as_deref(),
            Some(id),
            "webhook-id is the event id"
        );
        let document: Value = serde_json::from_str(&delivery.body).expect("a JSON body");
        assert_eq!(document, events[at], "the body is the feed's document");
        assert_eq!(delivery.content_type.as_deref(), Some("application/json"));
        assert!(
            at <= prefix,
            "{id} (feed position {at}) was sent before event {prefix} was accepted; {}",
            context()
        );
        if seen[at] {
            repeats += 1;
        }
        seen[at] = true;
        if delivery.accepted() {
            accepted[at] = true;
            while prefix < accepted.len() && accepted[prefix] {
                prefix += 1;
            }
        }
    }
    assert_eq!(
        prefix,
        events.len(),
        "every feed event accepted; {}",
        summary(received)
    );
    repeats
}

/// The endpoint's attempt log once it holds a successful attempt of each of `events`.
pub async fn log_once_delivered(admin_base: &str, endpoint: &str, events: &[Value]) -> Vec<Value> {
    for _ in 0..1200 {
        let log = attempts(admin_base, endpoint).await;
        let done = events.iter().all(|event| {
            log.iter()
                .any(|attempt| attempt["eventId"] == event["id"] && attempt["succeeded"] == true)
        });
        if done {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "endpoint {endpoint} never delivered all of {} events: {:?}",
        events.len(),
        attempts(admin_base, endpoint).await
    );
}
