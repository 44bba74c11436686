//! `POST /.search` on a resource type's endpoint or on the root (RFC 7644 §3.4.3): a listing
//! whose parameters come in the body, so that filters stay out of URLs and their logs.

use super::extract::{BaseUrl, Context, ScimBody};
use super::listing;
use super::response::ScimResponse;
use super::router::AppState;
use crate::scim::error::ScimError;
use crate::scim::list::{parse_list_query, search_params};
use crate::scim::schema::ResourceType;
use axum::extract::State;
use serde_json::Value;

async fn search(
    state: &AppState,
    instance_id: &str,
    base: &str,
    scope: &[ResourceType],
    body: &Value,
) -> Result<ScimResponse, ScimError> {
    let query = parse_list_query(scope, &search_params(body)?, state.limits.list)?;
    let response = listing::list(state, instance_id, base, scope, &query).await?;
    Ok(ScimResponse::ok(response))
}

pub async fn users(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let scope = [ResourceType::User];
    search(&state, &ctx.principal.instance_id, &base, &scope, &body).await
}

pub async fn groups(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let scope = [ResourceType::Group];
    search(&state, &ctx.principal.instance_id, &base, &scope, &body).await
}

/// Every resource type at once, in one order.
pub async fn everything(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let scope = ResourceType::ALL;
    search(&state, &ctx.principal.instance_id, &base, &scope, &body).await
}
