//! The bench's HTTP side: one SCIM client (bearer key, keep-alive pool) whose every call is
//! timed and judged: a 2xx is a success, anything else (or no answer) an error with a short
//! description. It knows URLs and status codes, not workloads.

use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A timed call: its latency (until the whole body was read) and its result.
pub struct Attempt<T> {
    pub latency: Duration,
    pub outcome: Result<T, String>,
}

impl<T> Attempt<T> {
    /// The same latency with the success turned into something else, or into an error.
    pub fn and_then<U>(self, judge: impl FnOnce(T) -> Result<U, String>) -> Attempt<U> {
        Attempt {
            latency: self.latency,
            outcome: self.outcome.and_then(judge),
        }
    }
}

#[derive(Clone)]
pub struct Scim {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// Longest error text kept: enough for a SCIM error document's detail.
const ERROR_TEXT: usize = 300;

impl Scim {
    pub fn new(base: &str, token: &str, pool: usize) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path` is relative to the SCIM base (e.g. `/Users?count=0`). A non-2xx answer is an
    /// error naming the status and the start of the body.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Attempt<Value> {
        let started = Instant::now();
        let outcome = self.exchange(method.clone(), path, body).await;
        let latency = started.elapsed();
        let outcome = match outcome {
            Ok((status, text)) if (200..300).contains(&status) => {
                if text.trim().is_empty() {
                    Ok(Value::Null)
                } else {
                    serde_json::from_str(&text).map_err(|error| {
                        format!("{method} {path}: {status} with a body that is not JSON ({error})")
                    })
                }
            }
            Ok((status, text)) => Err(format!("{status} {method} {path}: {}", shorten(&text))),
            Err(error) => Err(format!("{method} {path}: {error}")),
        };
        Attempt { latency, outcome }
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Accept", "application/scim+json");
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(describe)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(describe)?;
        Ok((status, text))
    }

    /// Checks, before any workload, that scimd answers at the URL and accepts the key; the
    /// number of users the instance holds.
    pub async fn check(&self) -> Result<u64, String> {
        let started = self.exchange(Method::GET, "/Users?count=0", None).await;
        let (status, text) = started.map_err(|error| {
            format!(
                "cannot reach scimd at {}: {error}; start it with `scimd serve` and pass its SCIM URL with --url or SCIMD_BENCH_URL",
                self.base
            )
        })?;
        match status {
            200 => {}
            401 | 403 => {
                return Err(format!(
                    "scimd at {} refused the key ({status}: {}); pass a key of the instance (printed by the first `scimd serve` or by `scimd keys create`) with --token or SCIMD_BENCH_TOKEN",
                    self.base,
                    shorten(&text)
                ))
            }
            404 => {
                return Err(format!(
                    "nothing answers SCIM at {} (404); the URL should end in /scim/v2",
                    self.base
                ))
            }
            _ => {
                return Err(format!(
                    "scimd at {} answered GET /Users with {status}: {}",
                    self.base,
                    shorten(&text)
                ))
            }
        }
        let page: Value = serde_json::from_str(&text)
            .map_err(|error| format!("GET /Users at {} is not JSON: {error}", self.base))?;
        page["totalResults"]
            .as_u64()
            .ok_or_else(|| format!("GET /Users at {} has no totalResults", self.base))
    }
}

fn describe(error: reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(ERROR_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
pub fn encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}
