//! `/Users` (RFC 7644 §3.3–3.6). Each operation is a function of the request's parts, so that
//! Bulk runs exactly what the single-resource endpoints run.

use super::documents::{self, related};
use super::extract::{if_match, none_match_hits, BaseUrl, Context, Params, ResourceId, ScimBody};
use super::listing;
use super::response::ScimResponse;
use super::router::AppState;
use crate::provisioning::RequestContext;
use crate::scim::error::ScimError;
use crate::scim::limits::decode_within;
use crate::scim::list::{parse_list_query, selection};
use crate::scim::patch::apply::apply_operations;
use crate::scim::patch::parse_patch_request;
use crate::scim::resource::{user_document, user_profile, Decoded};
use crate::scim::schema::ResourceType;
use crate::scim::select::Selection;
use aggregates::settings::roles::ROLES;
use aggregates::user::{UserProfile, ACTIVE};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use projections::scim_users::UserRecord;
use serde_json::Value;

const USER: ResourceType = ResourceType::User;

fn note_password(decoded: &Decoded) {
    if decoded.password_supplied {
        tracing::info!("a password was sent and discarded: scimd does not synchronise passwords");
    }
}

async fn respond(
    state: &AppState,
    status: StatusCode,
    record: &UserRecord,
    base: &str,
    selection: &Selection,
) -> Result<ScimResponse, ScimError> {
    let with_groups = selection.includes(related(USER));
    let rendered = documents::users(state, std::slice::from_ref(record), base, with_groups).await?;
    let body = rendered.into_iter().next().unwrap_or_default();
    Ok(ScimResponse::resource(status, selection.apply(USER, body)))
}

pub(super) async fn create_user(
    state: &AppState,
    ctx: &RequestContext,
    base: &str,
    body: &Value,
    selection: &Selection,
) -> Result<ScimResponse, ScimError> {
    let decoded = decode_within(USER, body, state.limits.values)?;
    note_password(&decoded);
    let record = state
        .provisioning
        .create_user(ctx, user_profile(decoded)?)
        .await?;
    respond(state, StatusCode::CREATED, &record, base, selection).await
}

pub(super) async fn replace_user(
    state: &AppState,
    ctx: &RequestContext,
    base: &str,
    id: &str,
    if_match: Option<i64>,
    body: &Value,
    selection: &Selection,
) -> Result<ScimResponse, ScimError> {
    let decoded = decode_within(USER, body, state.limits.values)?;
    note_password(&decoded);
    let profile = user_profile(decoded)?;
    let record = state
        .provisioning
        .update_user(ctx, id, if_match, |current| {
            Ok::<_, ScimError>(keeping_unstated_state(profile.clone(), current))
        })
        .await?;
    respond(state, StatusCode::OK, &record, base, selection).await
}

/// A replacement that leaves out `active` or `roles` keeps the user's: IdPs push a profile by
/// PUT with only the attributes they map (Okta's and OneLogin's templates carry no roles unless
/// told to), and such an omission must never lock anyone out, let anyone back in, or strip the
/// roles the instance gave. Removing either is a PATCH's to ask for.
fn keeping_unstated_state(mut profile: UserProfile, current: &UserRecord) -> UserProfile {
    if let Some(active) = current.active {
        profile.attributes.or_insert(ACTIVE, Value::Bool(active));
    }
    if let Some(roles) = current.attributes().remove(ROLES) {
        profile.attributes.or_insert(ROLES, roles);
    }
    profile
}

pub(super) async fn patch_user(
    state: &AppState,
    ctx: &RequestContext,
    base: &str,
    id: &str,
    if_match: Option<i64>,
    body: &Value,
    selection: &Selection,
) -> Result<ScimResponse, ScimError> {
    let operations = parse_patch_request(body, state.limits.list.filter)?;
    let record = state
        .provisioning
        .update_user(ctx, id, if_match, |current| {
            let mut document = user_document(current);
            apply_operations(USER, &mut document, &operations)?;
            user_profile(decode_within(
                USER,
                &Value::Object(document),
                state.limits.values,
            )?)
        })
        .await?;
    respond(state, StatusCode::OK, &record, base, selection).await
}

pub(super) async fn delete_user(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    if_match: Option<i64>,
) -> Result<ScimResponse, ScimError> {
    state.provisioning.delete_user(ctx, id, if_match).await?;
    Ok(ScimResponse::no_content())
}

pub async fn create(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Params(params): Params,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    create_user(&state, &ctx, &base, &body, &selection(USER, &params)?).await
}

pub async fn get(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    Params(params): Params,
    headers: HeaderMap,
) -> Result<ScimResponse, ScimError> {
    let selection = selection(USER, &params)?;
    let record = state.provisioning.user(&ctx, &id).await?;
    let response = respond(&state, StatusCode::OK, &record, &base, &selection).await?;
    // The tag covers the groups shown, so it is known only once they are read.
    match response.etag() {
        Some(etag) if none_match_hits(&headers, etag) => {
            Ok(ScimResponse::not_modified(etag.to_string()))
        }
        _ => Ok(response),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Params(params): Params,
) -> Result<ScimResponse, ScimError> {
    let query = parse_list_query(&[USER], &params, state.limits.list)?;
    let instance_id = &ctx.principal.instance_id;
    let response = listing::list(&state, instance_id, &base, &[USER], &query).await?;
    Ok(ScimResponse::ok(response))
}

pub async fn replace(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    Params(params): Params,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let if_match = if_match(&headers)?;
    replace_user(
        &state,
        &ctx,
        &base,
        &id,
        if_match,
        &body,
        &selection(USER, &params)?,
    )
    .await
}

pub async fn patch(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    Params(params): Params,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let if_match = if_match(&headers)?;
    patch_user(
        &state,
        &ctx,
        &base,
        &id,
        if_match,
        &body,
        &selection(USER, &params)?,
    )
    .await
}

pub async fn delete(
    State(state): State<AppState>,
    Context(ctx): Context,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<ScimResponse, ScimError> {
    delete_user(&state, &ctx, &id, if_match(&headers)?).await
}
