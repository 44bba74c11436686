//! Named administrators over the admin API, as `scimd admins` manages them: any administrator
//! may add or revoke another (there are no ranks among administrators).

use super::admin::AdminFailure;
use super::router::AppState;
use crate::admin::{self, views};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admins", get(list_admins).post(create_admin))
        .route("/admins/{admin}", delete(revoke_admin))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminBody {
    name: String,
}

async fn list_admins(State(state): State<AppState>) -> Result<Json<Value>, AdminFailure> {
    let admins = admin::list_admins(state.provisioning.store()).await?;
    Ok(Json(admins.iter().map(views::admin).collect()))
}

async fn create_admin(
    State(state): State<AppState>,
    Json(body): Json<AdminBody>,
) -> Result<Response, AdminFailure> {
    let issued = admin::create_admin(state.provisioning.store(), &body.name).await?;
    // The credential is in this body and nowhere else: no cache may keep a copy.
    let headers = [(header::CACHE_CONTROL, "no-store")];
    Ok((
        StatusCode::CREATED,
        headers,
        Json(views::issued_admin(&issued)),
    )
        .into_response())
}

/// Revokes by id or by the name of a live administrator.
async fn revoke_admin(
    State(state): State<AppState>,
    Path(admin): Path<String>,
) -> Result<Json<Value>, AdminFailure> {
    let revoked = admin::revoke_admin(state.provisioning.store(), &admin).await?;
    Ok(Json(views::admin(&revoked)))
}
