//! One POST of a signed message: the Standard Webhooks headers, the body exactly as given, no
//! redirect followed, a deadline per attempt, and the outcome as the attempt log keeps it. One
//! client for every delivery of the process, so that connections to a receiver are kept alive
//! between deliveries.

use super::signature::{signature_header, Secret};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{redirect, Client, Url};
use std::error::Error as _;
use std::time::{Duration, Instant};

/// Bytes of a receiver's answer kept in the attempt log.
pub const RESPONSE_BYTES: usize = 256;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Option<u16>,
    /// Why it failed without a 2xx: `timeout`, `connection refused`, a redirect, ...
    pub error: Option<String>,
    pub latency: Duration,
    /// The first `RESPONSE_BYTES` of the answer, as text (invalid UTF-8 replaced).
    pub response: String,
}

impl Outcome {
    /// A 2xx answer, the only delivery (spec: "Delivery success and failure").
    pub fn succeeded(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }

    /// `410 Gone`: the receiver asks to be sent nothing more.
    pub fn gone(&self) -> bool {
        self.status == Some(410)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client: {0}")]
pub struct ClientError(#[from] reqwest::Error);

#[derive(Debug, Clone)]
pub struct Sender {
    client: Client,
}

impl Sender {
    /// A sender whose attempts each end after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, ClientError> {
        let client = Client::builder()
            .redirect(redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("scimd/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
            .build()?;
        Ok(Self { client })
    }

    /// POSTs `body` to `url` as message `webhook_id`, signed with each of `secrets`, stamped
    /// `timestamp` (Unix seconds).
    pub async fn send(
        &self,
        url: &Url,
        webhook_id: &str,
        timestamp: i64,
        body: &str,
        secrets: &[&Secret],
    ) -> Outcome {
        let signature = signature_header(secrets, webhook_id, timestamp, body.as_bytes());
        let started = Instant::now();
        let request = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_string());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Outcome {
                    status: None,
                    error: Some(describe(&error)),
                    latency: started.elapsed(),
                    response: String::new(),
                }
            }
        };
        let status = response.status();
        let mut kept = Vec::new();
        let mut error = None;
        // Read to the end of a short answer (so the connection can serve the next delivery),
        // but never more than what is kept.
        while kept.len() < RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(cut) => {
                    error = Some(describe(&cut));
                    break;
                }
            }
        }
        kept.truncate(RESPONSE_BYTES);
        let mut outcome = Outcome {
            status: Some(status.as_u16()),
            error,
            latency: started.elapsed(),
            response: String::from_utf8_lossy(&kept).into_owned(),
        };
        if status.is_redirection() {
            outcome.error = Some("redirects are not followed: change the endpoint's URL".into());
        }
        // A 2xx whose body was cut off still reached the receiver: delivered.
        if outcome.succeeded() {
            outcome.error = None;
        }
        outcome
    }
}

/// A failed request in the attempt log's words, without the URL (it is the endpoint's).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timeout".into();
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            match io.kind() {
                ErrorKind::ConnectionRefused => return "connection refused".into(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                    return "connection reset".into()
                }
                ErrorKind::TimedOut => return "timeout".into(),
                _ => {}
            }
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            if hyper.is_incomplete_message() || hyper.is_closed() {
                return "the connection closed before an answer".into();
            }
        }
        source = cause.source();
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}
