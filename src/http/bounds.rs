//! What every request may take once its headers are in: a body that arrives within the body
//! read timeout and fits its endpoint's size limit (chunked or not), and a handler that answers
//! within the request timeout. Each refusal is one SCIM error.
//!
//! No body is read before its credential is checked: SCIM endpoints are bounded inside their
//! router, behind authentication and inside the provisioning log's capture (so that a refused
//! request of a known key is logged like any other), and the admin API behind the admin token.
//! The open routes (health, metrics, console) take no body and read at most
//! `UNAUTHENTICATED_BODY_BYTES`; a path no route matches is answered without reading its body.

use crate::limits::{Limits, UNAUTHENTICATED_BODY_BYTES};
use crate::provisioning_log::SeenBody;
use crate::scim::error::ScimError;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use std::time::Duration;

/// The Bulk endpoint, relative to the SCIM router: its body limit is maxPayloadSize.
const BULK_ROUTE: &str = "/Bulk";

/// Route layer of the open routes: whoever asks gets a few KiB of body read, no more.
pub async fn bound_open(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let limits = Limits {
        max_body_bytes: limits.max_body_bytes.min(UNAUTHENTICATED_BODY_BYTES),
        ..limits
    };
    bound(limits, Endpoint::Other, request, next).await
}

/// Route layer of the admin API, behind its token.
pub async fn bound_admin(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    bound(limits, Endpoint::Other, request, next).await
}

/// Middleware of the SCIM router's routes.
pub async fn bound_scim(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let endpoint = if request.uri().path() == BULK_ROUTE {
        Endpoint::Bulk
    } else {
        Endpoint::Other
    };
    bound(limits, endpoint, request, next).await
}

/// Which body limit applies: Bulk's maxPayloadSize, or the one for everything else.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Bulk,
    Other,
}

async fn bound(limits: Limits, endpoint: Endpoint, request: Request, next: Next) -> Response {
    let bulk = endpoint == Endpoint::Bulk;
    let max_bytes = if bulk {
        limits.bulk.max_payload_bytes
    } else {
        limits.max_body_bytes
    };
    let (parts, body) = request.into_parts();
    let body = match read_body(body, max_bytes, limits.body_read_timeout).await {
        Ok(bytes) => Body::from(bytes),
        Err((refusal, read)) => {
            let mut response = refusal.into_response(bulk, max_bytes, limits.body_read_timeout);
            // The provisioning log notes that it did not see the body whole.
            response.extensions_mut().insert(SeenBody::unread(read));
            return response;
        }
    };
    let handled = tokio::time::timeout(
        limits.request_timeout,
        next.run(Request::from_parts(parts, body)),
    );
    match handled.await {
        Ok(response) => response,
        // The handler is dropped at an await point, as when a client hangs up: a transaction
        // in progress rolls back, and a command already committed stays committed.
        Err(_) => {
            let seconds = limits.request_timeout.as_secs_f64();
            tracing::warn!(
                seconds,
                "request abandoned: it outlasted the request timeout"
            );
            ScimError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                format!(
                    "the request did not finish within {seconds} s and was abandoned; a change \
                     it made may have been applied, so read the resource before retrying"
                ),
            )
            .into_response()
        }
    }
}

enum Refusal {
    TooLarge,
    TooSlow,
    Unreadable(String),
}

impl Refusal {
    fn into_response(self, bulk: bool, max_bytes: usize, timeout: Duration) -> Response {
        // The rest of a body too large or too slow may still come: the connection cannot
        // carry another request, and a client must not send one on it.
        let unfinished = matches!(self, Refusal::TooLarge | Refusal::TooSlow);
        let error = match self {
            // RFC 7644 §3.7.4 names the Bulk limit maxPayloadSize.
            Refusal::TooLarge if bulk => ScimError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                format!("the request is larger than maxPayloadSize ({max_bytes} bytes)"),
            ),
            Refusal::TooLarge => ScimError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                format!("the request body is larger than this server accepts ({max_bytes} bytes)"),
            ),
            Refusal::TooSlow => ScimError::new(
                StatusCode::REQUEST_TIMEOUT,
                None,
                format!(
                    "the request body did not arrive within {} s",
                    timeout.as_secs_f64()
                ),
            ),
            Refusal::Unreadable(cause) => {
                ScimError::invalid_syntax(format!("the request body could not be read: {cause}"))
            }
        };
        let mut response = error.into_response();
        if unfinished {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// The body, read whole within `timeout`; or why not, and how many bytes were read.
async fn read_body(
    mut body: Body,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Bytes, (Refusal, usize)> {
    let mut read: Vec<u8> = Vec::new();
    // Read past the limit before refusing, even when the declared length is over it: a client
    // that writes its whole body before reading the answer would otherwise lose the answer to
    // a connection reset.
    let reading = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| Refusal::Unreadable(error.to_string()))?;
            // Trailers carry nothing scimd uses.
            if let Ok(data) = frame.into_data() {
                read.extend_from_slice(&data);
                if read.len() > max_bytes {
                    return Err(Refusal::TooLarge);
                }
            }
        }
        Ok(())
    };
    let outcome = tokio::time::timeout(timeout, reading).await;
    match outcome {
        Ok(Ok(())) => Ok(Bytes::from(read)),
        Ok(Err(refusal)) => Err((refusal, read.len())),
        Err(_) => Err((Refusal::TooSlow, read.len())),
    }
}
