//! The correlation id of each request: made when the request arrives, carried by its log
//! lines, returned in `X-Request-Id`, recorded on its events, and quoted in every SCIM error,
//! so that a support engineer can go from an IdP's log straight to scimd's.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

tokio::task_local! {
    static CORRELATION_ID: String;
}

pub const HEADER: &str = "x-request-id";

/// The correlation id of the request being served, if any.
pub fn current() -> Option<String> {
    CORRELATION_ID.try_with(Clone::clone).ok()
}

/// Names the user or group being written on the current span (the request's, or a Bulk
/// operation's), so that the lines logged after it say which aggregate they are about.
pub fn record_aggregate(id: &str) {
    tracing::Span::current().record("aggregate_id", tracing::field::display(id));
}

/// Middleware: assigns the id, serves the request inside its span, and logs the outcome.
pub async fn assign(request: Request, next: Next) -> Response {
    let id = crate::ids::new_id();
    let method = request.method().clone();
    let path = request.uri().path();
    let span = tracing::info_span!(
        "request",
        correlation_id = %id,
        %method,
        // The parser refuses ASCII control bytes in a path but lets UTF-8 through, C1 controls
        // (U+009B opens a terminal escape) included: escaped, they can do nothing to a log.
        path = %path.escape_debug(),
        instance = tracing::field::Empty,
        key_id = tracing::field::Empty,
        aggregate_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = CORRELATION_ID
        .scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status, latency_ms, "served"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
