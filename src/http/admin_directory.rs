//! The application directory over the admin API: every user of an instance with its state and
//! mapped fields, a page at a time in the order they last changed, for an application to copy
//! and keep up to date (the single entry by User Name is in `admin`).

use super::admin::{cursor, Reply};
use super::router::AppState;
use crate::admin::{self, views, DirectoryCursor, DirectoryListing};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new().route("/instances/{instance}/directory", get(list))
}

/// Every value as text, read here, so that a bad one is refused with a sentence saying which
/// and why, as `{"error": ...}` like every other admin failure.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListParams {
    updated_since: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// A page of the instance's users (deleted ones too) in `(updatedAt, id)` order, and `next`,
/// the cursor of the page after it (null on the last).
async fn list(
    State(state): State<AppState>,
    Path(instance): Path<String>,
    Query(params): Query<ListParams>,
) -> Reply {
    let after = cursor(
        params.cursor.as_deref(),
        "directory",
        DirectoryCursor::parse,
    )?;
    let limit = match params.limit.as_deref() {
        Some(text) => admin::page_size(text)?,
        None => admin::DIRECTORY_PAGE,
    };
    let listing = DirectoryListing {
        updated_since: params.updated_since,
        after,
        limit,
    };
    let store = state.provisioning.store();
    let (users, next) = admin::list_directory(store, &instance, &listing).await?;
    let users: Vec<Value> = users.iter().map(views::directory_user).collect();
    Ok(Json(
        json!({"users": users, "next": next.map(|cursor| cursor.render())}),
    ))
}
