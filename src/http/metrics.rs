//! `GET /metrics`, and the middleware that counts every request by its route template.
//!
//! The counting middleware wraps the whole router, so that requests no route matches are
//! counted too; but the route template (`MatchedPath`) is known only inside the routes. A
//! route layer leaves it in a slot the outer middleware put in the request.

use super::auth::bearer;
use super::failed_auth::{client_of, scim_too_many};
use super::router::AppState;
use crate::metrics::{Credential, Metrics, CONTENT_TYPE, UNMATCHED_ROUTE};
use crate::scim::error::ScimError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The route template of the request, once routing found one.
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<String>>);

/// Middleware around the whole router: counts and times each request.
pub async fn count(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let route = slot.0.get().map_or(UNMATCHED_ROUTE, String::as_str);
    metrics.observe_request(method, route, response.status().as_u16(), started.elapsed());
    response
}

/// Route layer: tells `count` which route template matched.
pub async fn note_route(request: Request, next: Next) -> Response {
    if let (Some(slot), Some(matched)) = (
        request.extensions().get::<RouteSlot>(),
        request.extensions().get::<MatchedPath>(),
    ) {
        // Only routes carry this layer (the top router's own, added before it nests the
        // others), so one router sets the slot, with the full template.
        let _ = slot.0.set(matched.as_str().to_string());
    }
    next.run(request).await
}

/// A fixed set of method names: anyone can send any method, and each new name would be a
/// new series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`: open, unless the server was given a metrics token.
pub async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    if let Some(token) = &state.metrics_token {
        if !bearer(request.headers()).is_some_and(|presented| token.admits(&presented)) {
            let client = client_of(request.extensions());
            if let Err(wait) = state.failed_auth.fail(client, Credential::MetricsToken) {
                return scim_too_many(wait);
            }
            return ScimError::unauthorized(
                "send the metrics token as Authorization: Bearer <token>",
            )
            .into_response();
        }
    }
    match state
        .metrics
        .render(&state.provisioning.store().projector)
        .await
    {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => ScimError::internal(&error).into_response(),
    }
}
