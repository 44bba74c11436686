//! Instances and their API keys over the admin API, as `scimd instances` and `scimd keys` do
//! them: the console creates and revokes keys through these and nothing else.

use super::admin::AdminFailure;
use super::router::AppState;
use crate::admin::{self, views, Action, AdminError};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/instances", get(list_instances).post(create_instance))
        .route(
            "/instances/{instance}/keys",
            get(list_keys).post(create_key),
        )
        .route("/instances/{instance}/keys/{key_id}", delete(revoke_key))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct KeyBody {
    integration_user: String,
}

async fn list_instances(State(state): State<AppState>) -> Result<Json<Value>, AdminFailure> {
    let instances = admin::list_instances(state.provisioning.store()).await?;
    Ok(Json(instances.iter().map(views::instance).collect()))
}

async fn create_instance(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Json(body): Json<InstanceBody>,
) -> Result<Response, AdminFailure> {
    let instance = admin::create_instance(state.provisioning.store(), &body.name, &action).await?;
    Ok((StatusCode::CREATED, Json(views::instance(&instance))).into_response())
}

async fn list_keys(
    State(state): State<AppState>,
    Path(instance): Path<String>,
) -> Result<Json<Value>, AdminFailure> {
    let keys = admin::list_keys(state.provisioning.store(), &instance).await?;
    Ok(Json(keys.iter().map(views::key).collect()))
}

async fn create_key(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path(instance): Path<String>,
    Json(body): Json<KeyBody>,
) -> Result<Response, AdminFailure> {
    let store = state.provisioning.store();
    let issued = admin::create_key(store, &instance, &body.integration_user, &action).await?;
    // The secret is in this body and nowhere else: no cache may keep a copy.
    let headers = [(header::CACHE_CONTROL, "no-store")];
    let body = Json(views::issued_key(&issued, &instance));
    Ok((StatusCode::CREATED, headers, body).into_response())
}

/// Revokes a key of this instance; a key of another instance is unknown here, so that an
/// operator's mistaken path cannot cut off someone else's IdP.
async fn revoke_key(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path((instance, key_id)): Path<(String, String)>,
) -> Result<Json<Value>, AdminFailure> {
    let store = state.provisioning.store();
    let keys = admin::list_keys(store, &instance).await?;
    if !keys.iter().any(|key| key.id == key_id) {
        return Err(AdminError::UnknownKey(key_id).into());
    }
    admin::revoke_key(store, &key_id, &action).await?;
    Ok(Json(views::revoked_key(&key_id)))
}
