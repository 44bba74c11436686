//! The bench's webhook receiver: an HTTP server on a free local port that checks each
//! delivery's Standard Webhooks signature (one HMAC-SHA256 over `id.timestamp.body`, as cheap
//! as a real receiver's check) and notes when it arrived. It answers 204 at once, so that what
//! is measured is scimd's side. (The reference library's verification is the tests' job:
//! tests/receivers.)

use super::load::event_key;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use tokio::net::TcpListener;

/// One delivery that verified.
pub struct Arrival {
    pub webhook_id: String,
    pub cursor: u64,
    /// What finds the write that published it (`load::event_key`): the user a `user.created`
    /// is about, or the group and member of a `group.member_added`.
    pub key: String,
    /// The event's `occurredAt`, in milliseconds since the epoch.
    pub occurred_at_ms: i64,
    pub at: Instant,
    /// The receiver's wall clock when it arrived, in milliseconds since the epoch.
    pub wall_ms: i64,
}

#[derive(Default)]
pub struct Inbox {
    key: OnceLock<Vec<u8>>,
    arrivals: Mutex<Vec<Arrival>>,
    /// Deliveries whose signature did not verify, or that were not what scimd sends.
    pub refused: AtomicUsize,
}

impl Inbox {
    /// The endpoint's secret (`whsec_…`), known once the endpoint is created.
    pub fn set_secret(&self, secret: &str) -> Result<(), String> {
        let key = STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .map_err(|error| format!("the secret is not base64: {error}"))?;
        self.key
            .set(key)
            .map_err(|_| "the secret is set once".to_string())
    }

    pub fn count(&self) -> usize {
        self.arrivals
            .lock()
            .map(|all| all.len())
            .unwrap_or_default()
    }

    pub fn take(&self) -> Vec<Arrival> {
        self.arrivals
            .lock()
            .map(|mut all| std::mem::take(&mut *all))
            .unwrap_or_default()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    cursor: String,
    occurred_at: chrono::DateTime<chrono::Utc>,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    resource: Resource,
    member: Option<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    id: String,
}

/// Starts the receiver; its URL.
pub async fn start(inbox: Arc<Inbox>) -> Result<String, std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = Router::new()
        .route("/hooks", post(deliver))
        .with_state(inbox);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{address}/hooks"))
}

async fn deliver(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let wall_ms = chrono::Utc::now().timestamp_millis();
    match check(&inbox, &headers, &body) {
        Some((webhook_id, event)) => {
            let arrival = Arrival {
                webhook_id,
                cursor: event.cursor.parse().unwrap_or_default(),
                key: event_key(
                    &event.data.resource.id,
                    event.data.member.as_ref().map(|member| member.id.as_str()),
                ),
                occurred_at_ms: event.occurred_at.timestamp_millis(),
                at,
                wall_ms,
            };
            if let Ok(mut all) = inbox.arrivals.lock() {
                all.push(arrival);
            }
            StatusCode::NO_CONTENT
        }
        None => {
            inbox.refused.fetch_add(1, Ordering::Relaxed);
            StatusCode::UNAUTHORIZED
        }
    }
}

/// The webhook-id and the event, when one of the signatures is the secret's.
fn check(inbox: &Inbox, headers: &HeaderMap, body: &[u8]) -> Option<(String, Event)> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let (id, timestamp, signatures) = (
        header("webhook-id")?,
        header("webhook-timestamp")?,
        header("webhook-signature")?,
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(inbox.key.get()?).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    // A receiver facing the internet compares in constant time; timing is no threat here.
    let signed = signatures
        .split(' ')
        .any(|signature| signature.strip_prefix("v1,") == Some(expected.as_str()));
    if !signed {
        return None;
    }
    let event: Event = serde_json::from_slice(body).ok()?;
    Some((id.to_string(), event))
}
