//! An instance's webhook endpoints over the admin API, as `scimd webhooks` manages them
//! (docs/webhooks.md): the secret is in the answer of a creation or a rotation and nowhere
//! else.

use super::admin::{cursor, AdminFailure, Reply};
use super::router::AppState;
use crate::admin::{self, views, Action, NewEndpoint};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::Utc;
use projections::metadata::timestamp;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/instances/{instance}/webhooks", get(list).post(create))
        .route(
            "/instances/{instance}/webhooks/{id}",
            get(show).delete(delete),
        )
        .route("/instances/{instance}/webhooks/{id}/disable", post(disable))
        .route("/instances/{instance}/webhooks/{id}/enable", post(enable))
        .route("/instances/{instance}/webhooks/{id}/rotate", post(rotate))
        .route("/instances/{instance}/webhooks/{id}/replay", post(replay))
        .route("/instances/{instance}/webhooks/{id}/test", post(test))
        .route(
            "/instances/{instance}/webhooks/{id}/deliveries",
            get(deliveries),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RotateBody {
    overlap_hours: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    from: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesParams {
    limit: Option<i64>,
    before: Option<String>,
}

fn now() -> String {
    timestamp(Utc::now())
}

fn endpoint_reply(endpoint: &crate::store::webhooks::EndpointRecord) -> Reply {
    Ok(Json(
        json!({"endpoint": views::webhook_endpoint(endpoint, &now())}),
    ))
}

/// A body holding a secret: no cache may keep a copy.
fn with_secret(status: StatusCode, body: Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

async fn list(State(state): State<AppState>, Path(instance): Path<String>) -> Reply {
    let endpoints = admin::list_webhooks(state.provisioning.store(), &instance).await?;
    let now = now();
    let listed: Vec<Value> = endpoints
        .iter()
        .map(|endpoint| views::webhook_endpoint(endpoint, &now))
        .collect();
    Ok(Json(json!({"endpoints": listed})))
}

async fn create(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path(instance): Path<String>,
    Json(body): Json<CreateBody>,
) -> Result<Response, AdminFailure> {
    let new = NewEndpoint {
        url: body.url,
        types: body.types,
        description: body.description,
    };
    let store = state.provisioning.store();
    let allow_loopback = state.webhooks.allow_loopback;
    let created = admin::create_webhook(store, &instance, &new, allow_loopback, &action).await?;
    let body = views::webhook_with_secret(&created.endpoint, &created.secret, &now());
    Ok(with_secret(StatusCode::CREATED, body))
}

async fn show(
    State(state): State<AppState>,
    Path((instance, id)): Path<(String, String)>,
) -> Reply {
    let endpoint = admin::webhook(state.provisioning.store(), &instance, &id).await?;
    endpoint_reply(&endpoint)
}

async fn delete(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path((instance, id)): Path<(String, String)>,
) -> Result<StatusCode, AdminFailure> {
    admin::delete_webhook(state.provisioning.store(), &instance, &id, &action).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disable(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path((instance, id)): Path<(String, String)>,
) -> Reply {
    let store = state.provisioning.store();
    let endpoint = admin::disable_webhook(store, &instance, &id, &action).await?;
    endpoint_reply(&endpoint)
}

async fn enable(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path((instance, id)): Path<(String, String)>,
) -> Reply {
    let store = state.provisioning.store();
    let endpoint = admin::enable_webhook(store, &instance, &id, &action).await?;
    endpoint_reply(&endpoint)
}

async fn rotate(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path((instance, id)): Path<(String, String)>,
    body: Option<Json<RotateBody>>,
) -> Result<Response, AdminFailure> {
    let overlap = body
        .map(|Json(body)| body)
        .unwrap_or_default()
        .overlap_hours;
    let store = state.provisioning.store();
    let rotated = admin::rotate_webhook(store, &instance, &id, overlap, &action).await?;
    let body = views::webhook_with_secret(&rotated.endpoint, &rotated.secret, &now());
    Ok(with_secret(StatusCode::OK, body))
}

async fn replay(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path((instance, id)): Path<(String, String)>,
    Json(body): Json<ReplayBody>,
) -> Reply {
    let store = state.provisioning.store();
    let endpoint = admin::replay_webhook(store, &instance, &id, &body.from, &action).await?;
    endpoint_reply(&endpoint)
}

async fn test(
    State(state): State<AppState>,
    Path((instance, id)): Path<(String, String)>,
) -> Reply {
    let store = state.provisioning.store();
    let attempt = admin::test_webhook(store, &state.webhooks.sender, &instance, &id).await?;
    Ok(Json(json!({"attempt": views::webhook_attempt(&attempt)})))
}

async fn deliveries(
    State(state): State<AppState>,
    Path((instance, id)): Path<(String, String)>,
    Query(params): Query<DeliveriesParams>,
) -> Reply {
    let before = cursor(params.before.as_deref(), "deliveries", |before| {
        before.parse::<i64>().ok()
    })?;
    let limit = params.limit.unwrap_or(admin::DELIVERIES_PAGE);
    let store = state.provisioning.store();
    let (attempts, next) = admin::webhook_deliveries(store, &instance, &id, before, limit).await?;
    let attempts: Vec<Value> = attempts.iter().map(views::webhook_attempt).collect();
    Ok(Json(
        json!({"attempts": attempts, "next": next.map(|id| id.to_string())}),
    ))
}
