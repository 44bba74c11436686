//! Finding things over the admin API, as the console's users, group and audit pages and the
//! mapping page's preview read them: user search, a group's members, what re-applying the
//! mapping would change, and every instance's chain audit.

use super::admin::{cursor, page_of, Reply};
use super::router::AppState;
use crate::admin::{self, views, UserSearchCursor};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

/// How many changed users a preview shows when not told.
const PREVIEW_SAMPLE: usize = 10;
const MAX_PREVIEW_SAMPLE: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/instances/{instance}/users", get(search_users))
        .route("/instances/{instance}/groups/{id}/members", get(members))
        .route(
            "/instances/{instance}/mappings/preview",
            get(preview_mappings),
        )
        .route("/audit", get(audit_all))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    /// The start of a userName, displayName or email address, in any case; every user without.
    q: Option<String>,
    count: Option<i64>,
    cursor: Option<String>,
}

/// A page of the instance's users whose userName, displayName or an email address starts with
/// `q`, in userName order; `nextCursor` reads on.
async fn search_users(
    State(state): State<AppState>,
    Path(instance): Path<String>,
    Query(params): Query<SearchParams>,
) -> Reply {
    let after = cursor(
        params.cursor.as_deref(),
        "user search",
        UserSearchCursor::parse,
    )?;
    let count = params.count.unwrap_or(admin::USER_SEARCH_PAGE);
    let prefix = params.q.unwrap_or_default();
    let store = state.provisioning.store();
    let (users, next) = admin::search_users(store, &instance, &prefix, after, count).await?;
    page_of(
        &users,
        views::found_user,
        next.map(|cursor| cursor.render()),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MembersParams {
    count: Option<i64>,
    cursor: Option<String>,
}

/// The live group `id` and a page of its members with their names.
async fn members(
    State(state): State<AppState>,
    Path((instance, id)): Path<(String, String)>,
    Query(params): Query<MembersParams>,
) -> Reply {
    let count = params.count.unwrap_or(admin::MEMBER_PAGE);
    let store = state.provisioning.store();
    let after = params.cursor.as_deref();
    let page = admin::group_members(store, &instance, &id, after, count).await?;
    Ok(Json(views::group_members(&page)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewParams {
    /// How many changed users to show (at most 100).
    sample: Option<usize>,
}

/// What `POST .../mappings/apply` would change now, with nothing written.
async fn preview_mappings(
    State(state): State<AppState>,
    Path(instance): Path<String>,
    Query(params): Query<PreviewParams>,
) -> Reply {
    let sample = params
        .sample
        .unwrap_or(PREVIEW_SAMPLE)
        .min(MAX_PREVIEW_SAMPLE);
    let store = state.provisioning.store();
    let preview = admin::preview_mappings(store, &instance, sample, |_| {}).await?;
    Ok(Json(views::remap_preview(&preview)))
}

/// Every instance's hash-chain audit, as `scimd audit verify` reports it: a broken chain is a
/// finding, so 200 either way.
async fn audit_all(State(state): State<AppState>) -> Reply {
    let found = admin::verify_chains(state.provisioning.store(), None).await?;
    Ok(Json(Value::Array(
        found.iter().map(views::instance_chain).collect(),
    )))
}
