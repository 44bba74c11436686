//! The middleware that records every SCIM request of a known instance. It reads the request
//! body before the handler (and hands it on unchanged), the response body only when the
//! request failed or was a Bulk request, and queues the entry without waiting for the store.

use super::describe::{describe, needs_response_body, Exchange, RequestBody};
use super::ProvisioningLog;
use crate::admin::KeyHolder;
use crate::correlation;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Query, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use futures_util::StreamExt as _;
use http_body_util::BodyExt as _;
use projections::metadata::timestamp;
use std::collections::HashMap;
use std::time::Instant;

/// Most of a response body read to describe a failure or a Bulk result.
const RESPONSE_READ_LIMIT: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct Capture {
    pub log: ProvisioningLog,
    /// Most of a request body read: the largest body any SCIM endpoint accepts, so that the
    /// endpoint's own limit still answers a longer one with 413.
    pub read_limit: usize,
}

/// A body read up to a limit.
enum Buffered {
    Whole(Bytes),
    /// Longer than the limit (or failed while read): what was read, then the rest, as a body
    /// that gives the reader exactly what the original would have.
    Partial {
        read: usize,
        replay: Body,
    },
}

async fn buffer(mut body: Body, limit: usize) -> Buffered {
    let mut read: Vec<u8> = Vec::new();
    loop {
        let failure = match body.frame().await {
            None => return Buffered::Whole(Bytes::from(read)),
            Some(Ok(frame)) => {
                // Trailers carry nothing SCIM uses.
                if let Ok(data) = frame.into_data() {
                    read.extend_from_slice(&data);
                }
                if read.len() <= limit {
                    continue;
                }
                None
            }
            Some(Err(error)) => Some(error),
        };
        let count = read.len();
        let prefix = futures_util::stream::iter([Ok::<_, axum::Error>(Bytes::from(read))]);
        let replay = match failure {
            None => Body::from_stream(prefix.chain(body.into_data_stream())),
            Some(error) => {
                Body::from_stream(prefix.chain(futures_util::stream::iter([Err(error)])))
            }
        };
        return Buffered::Partial {
            read: count,
            replay,
        };
    }
}

/// What `read_body` saw of an authenticated request's body, handed out to `capture` in the
/// response's extensions.
#[derive(Clone)]
pub struct SeenBody(Result<Bytes, usize>);

impl SeenBody {
    /// A body refused after `read` bytes, before `read_body` saw it (too large or too slow).
    pub fn unread(read: usize) -> Self {
        Self(Err(read))
    }
}

/// Inner middleware, behind authentication (so that no one without a key makes scimd read a
/// body): reads the request body up to the limit and hands it on unchanged.
pub async fn read_body(State(capture): State<Capture>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let (seen, body) = match buffer(body, capture.read_limit).await {
        Buffered::Whole(bytes) => (Ok(bytes.clone()), Body::from(bytes)),
        Buffered::Partial { read, replay } => (Err(read), replay),
    };
    let mut response = next.run(Request::from_parts(parts, body)).await;
    response.extensions_mut().insert(SeenBody(seen));
    response
}

/// Outer middleware, around authentication (so that refusals are logged too): times the
/// request and records its entry.
pub async fn capture(State(capture): State<Capture>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let at = timestamp(Utc::now());
    let method = request.method().to_string();
    let route = request.uri().path().to_string();
    let target = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri(), |original| &original.0)
        .path_and_query()
        .map(|target| target.as_str().to_string())
        .unwrap_or_else(|| route.clone());
    let filter = Query::<HashMap<String, String>>::try_from_uri(request.uri())
        .ok()
        .and_then(|Query(mut params)| params.remove("filter"));
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);

    let mut response = next.run(request).await;
    let latency_us = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);

    // Authentication says whose request it was; without a known instance there is no log to
    // put it in.
    let Some(caller) = response.extensions_mut().remove::<KeyHolder>() else {
        return response;
    };
    let seen = response.extensions_mut().remove::<SeenBody>();
    let status = response.status().as_u16();
    let mut response_body = None;
    if needs_response_body(&route, status) {
        let (parts, body) = response.into_parts();
        let body = match buffer(body, RESPONSE_READ_LIMIT).await {
            Buffered::Whole(bytes) => {
                response_body = Some(bytes.clone());
                Body::from(bytes)
            }
            Buffered::Partial { replay, .. } => replay,
        };
        response = Response::from_parts(parts, body);
    }
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok());
    let correlation_id = correlation::current().unwrap_or_default();
    let entry = describe(&Exchange {
        caller: &caller,
        at,
        method: &method,
        target: &target,
        route: &route,
        filter: filter.as_deref(),
        status,
        latency_us,
        correlation_id: &correlation_id,
        user_agent: user_agent.as_deref(),
        location,
        request_body: match &seen {
            Some(SeenBody(Ok(bytes))) => RequestBody::Read(bytes),
            Some(SeenBody(Err(read))) => RequestBody::Unread { read: *read },
            None => RequestBody::Read(&[]),
        },
        response_body: response_body.as_deref(),
    });
    capture.log.record(entry);
    response
}
