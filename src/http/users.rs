//! `/Users` (RFC 7644 §3.3–3.6).

use super::extract::{if_match, none_match_hits, BaseUrl, Context, Params, ScimBody};
use super::response::ScimResponse;
use super::router::AppState;
use crate::scim::error::ScimError;
use crate::scim::list::{list_response, list_statements, parse_list_query};
use crate::scim::patch::apply::apply_operations;
use crate::scim::patch::parse_patch_request;
use crate::scim::render;
use crate::scim::resource::{decode, user_document, user_profile, Decoded};
use crate::scim::schema::ResourceType;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

fn note_password(decoded: &Decoded) {
    if decoded.password_supplied {
        tracing::info!("a password was sent and discarded: scimd does not synchronise passwords");
    }
}

pub async fn create(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let decoded = decode(ResourceType::User, &body)?;
    note_password(&decoded);
    let record = state
        .provisioning
        .create_user(&ctx, user_profile(decoded)?)
        .await?;
    Ok(ScimResponse::resource(
        StatusCode::CREATED,
        render::user(&record, &base),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<ScimResponse, ScimError> {
    let record = state.provisioning.user(&ctx, &id).await?;
    let etag = render::etag(record.version);
    if none_match_hits(&headers, &etag) {
        return Ok(ScimResponse::not_modified(etag));
    }
    Ok(ScimResponse::resource(
        StatusCode::OK,
        render::user(&record, &base),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Params(params): Params,
) -> Result<ScimResponse, ScimError> {
    let query = parse_list_query(&params)?;
    let dialect = state.provisioning.store().db.dialect();
    let statements = list_statements(
        ResourceType::User,
        dialect,
        &ctx.principal.instance_id,
        &query,
    )?;
    let (total, records) = state.provisioning.users(statements).await?;
    let resources: Vec<Value> = records
        .iter()
        .map(|record| render::user(record, &base))
        .collect();
    Ok(ScimResponse::ok(list_response(
        total,
        query.start_index,
        resources,
    )))
}

pub async fn replace(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let if_match = if_match(&headers)?;
    let decoded = decode(ResourceType::User, &body)?;
    note_password(&decoded);
    let profile = user_profile(decoded)?;
    let record = state
        .provisioning
        .update_user(&ctx, &id, if_match, |_| Ok::<_, ScimError>(profile.clone()))
        .await?;
    Ok(ScimResponse::resource(
        StatusCode::OK,
        render::user(&record, &base),
    ))
}

pub async fn patch(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let if_match = if_match(&headers)?;
    let operations = parse_patch_request(&body)?;
    let record = state
        .provisioning
        .update_user(&ctx, &id, if_match, |current| {
            let mut document = user_document(current);
            apply_operations(ResourceType::User, &mut document, &operations)?;
            user_profile(decode(ResourceType::User, &Value::Object(document))?)
        })
        .await?;
    Ok(ScimResponse::resource(
        StatusCode::OK,
        render::user(&record, &base),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Context(ctx): Context,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<ScimResponse, ScimError> {
    let if_match = if_match(&headers)?;
    state.provisioning.delete_user(&ctx, &id, if_match).await?;
    Ok(ScimResponse::no_content())
}
