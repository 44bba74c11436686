//! The routes: SCIM under `/scim/v2` behind API-key authentication and recorded in the
//! provisioning log (its endpoint names in any case and with a trailing slash: `canonical`),
//! the admin API under `/admin/v1` and its web console under `/admin`, and `/healthz`,
//! `/readyz` and `/metrics`.

use super::{
    admin, auth, bounds, bulk, canonical, console, discovery, failed_auth, groups, health, metrics,
    rate_limit, search, users,
};
use crate::admin::token::AdminToken;
use crate::correlation;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::provisioning::Provisioning;
use crate::provisioning_log::{self, Capture, ProvisioningLog};
use crate::scim::error::ScimError;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{middleware, Router};
use std::sync::Arc;
use tower::util::MapRequestLayer;
use tower::Layer;

#[derive(Clone)]
pub struct AppState {
    pub provisioning: Provisioning,
    /// The externally visible base URL, when scimd sits behind a proxy that rewrites Host.
    pub public_url: Option<String>,
    pub limits: Limits,
    /// The admin API's token; `None` leaves the admin API disabled.
    pub admin_token: Option<Arc<AdminToken>>,
    pub provisioning_log: ProvisioningLog,
    /// Each key's request budget in this process.
    pub rate_limit: rate_limit::KeyLimiter,
    /// Each client address's budget of failed authentications in this process.
    pub failed_auth: failed_auth::FailedAuthLimiter,
    pub metrics: Arc<Metrics>,
    /// The token `/metrics` asks for; `None` leaves it open.
    pub metrics_token: Option<Arc<AdminToken>>,
    /// Turns true as the server begins to shut down: long-lived answers (event streams, long
    /// polls) end then, rather than hold the shutdown for its whole grace period.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    pub webhooks: Arc<Webhooks>,
}

/// What the admin API's webhook routes need beyond the store: the client test messages go
/// out with (the delivery worker's), and the URL policy.
pub struct Webhooks {
    pub sender: crate::webhooks::Sender,
    pub allow_loopback: bool,
}

pub fn router(state: AppState) -> Router {
    let limits = state.limits;
    let max_body_bytes = limits.max_body_bytes;
    let capture = Capture {
        log: state.provisioning_log.clone(),
        read_limit: max_body_bytes.max(limits.bulk.max_payload_bytes),
    };
    let scim = Router::new()
        .route("/Users", get(users::list).post(users::create))
        .route("/Users/.search", post(search::users))
        .route(
            "/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/.search", post(search::groups))
        .route("/.search", post(search::everything))
        .route(
            "/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route("/Bulk", post(bulk::post))
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn_with_state(
            capture.clone(),
            provisioning_log::read_body,
        ))
        .route_layer(middleware::from_fn_with_state(limits, bounds::bound_scim))
        .route_layer(middleware::from_fn_with_state(
            state.rate_limit.clone(),
            rate_limit::limit_per_key,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_key,
        ))
        // Outside authentication, so that refused requests are counted by their route too.
        .route_layer(middleware::from_fn(metrics::note_route))
        .fallback(auth::no_such_endpoint)
        .layer(middleware::from_fn_with_state(
            capture,
            provisioning_log::capture,
        ))
        .with_state(state.clone());
    // Before routing, so not a layer of the router (see `canonical`).
    let scim = MapRequestLayer::new(canonical::canonical_request).layer(scim);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .merge(console::routes())
        .route_layer(middleware::from_fn_with_state(limits, bounds::bound_open))
        .route_layer(middleware::from_fn(metrics::note_route))
        .nest_service("/scim/v2", scim)
        .nest(
            "/admin/v1",
            admin::router(state.clone()).route_layer(middleware::from_fn(metrics::note_route)),
        )
        // A fallback reads no body, so it needs no bound.
        .fallback(not_found)
        // `bounds` reads every body within its endpoint's limit before any extractor runs.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            metrics::count,
        ))
        .layer(middleware::from_fn(correlation::assign))
        .with_state(state)
}

async fn not_found() -> impl IntoResponse {
    ScimError::not_found("no such endpoint")
}

async fn method_not_allowed() -> impl IntoResponse {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "this endpoint does not support that method",
    )
}
