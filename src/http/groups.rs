//! `/Groups` (RFC 7644 §3.3–3.6). Members are changed by naming them, never by rewriting the
//! whole list, and can be left out of reads with `excludedAttributes=members`.

use super::extract::{if_match, none_match_hits, BaseUrl, Context, Params, ScimBody};
use super::response::ScimResponse;
use super::router::AppState;
use crate::provisioning::GroupChange;
use crate::scim::error::ScimError;
use crate::scim::list::{excludes_members, list_response, list_statements, parse_list_query};
use crate::scim::patch::apply::apply_operations;
use crate::scim::patch::members::{split_member_operations, MemberEdit};
use crate::scim::patch::parse_patch_request;
use crate::scim::render;
use crate::scim::resource::{decode, group_document, group_fields};
use crate::scim::schema::ResourceType;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use projections::scim_groups::GroupRecord;
use serde_json::Value;
use std::collections::HashMap;

fn excluded(params: &HashMap<String, String>) -> bool {
    let value = params
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("excludedAttributes"))
        .map(|(_, value)| value.as_str());
    excludes_members(value)
}

async fn rendered(
    state: &AppState,
    record: &GroupRecord,
    with_members: bool,
    base: &str,
) -> Result<Value, ScimError> {
    if !with_members {
        return Ok(render::group(record, None, base));
    }
    let members = state.provisioning.group_members(&record.id).await?;
    Ok(render::group(record, Some(&members), base))
}

pub async fn create(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let fields = group_fields(decode(ResourceType::Group, &body)?)?;
    let record = state.provisioning.create_group(&ctx, fields).await?;
    let body = rendered(&state, &record, true, &base).await?;
    Ok(ScimResponse::resource(StatusCode::CREATED, body))
}

pub async fn get(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    Params(params): Params,
    headers: HeaderMap,
) -> Result<ScimResponse, ScimError> {
    let record = state.provisioning.group(&ctx, &id).await?;
    let etag = render::etag(record.version);
    if none_match_hits(&headers, &etag) {
        return Ok(ScimResponse::not_modified(etag));
    }
    let body = rendered(&state, &record, !excluded(&params), &base).await?;
    Ok(ScimResponse::resource(StatusCode::OK, body))
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
        ResourceType::Group,
        dialect,
        &ctx.principal.instance_id,
        &query,
    )?;
    let (total, records) = state.provisioning.groups(statements).await?;
    let members = if query.excluded_members {
        HashMap::new()
    } else {
        let ids: Vec<String> = records.iter().map(|record| record.id.clone()).collect();
        state.provisioning.members_of_groups(&ids).await?
    };
    let resources = records
        .iter()
        .map(|record| {
            let group_members = (!query.excluded_members).then(|| {
                members
                    .get(&record.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
            });
            render::group(record, group_members, &base)
        })
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
    let fields = group_fields(decode(ResourceType::Group, &body)?)?;
    // A PUT that leaves members out keeps them: a rename must not empty the group.
    let members = fields
        .member_ids
        .map(|ids| vec![MemberEdit::ReplaceAll(ids)])
        .unwrap_or_default();
    let change = GroupChange {
        display_name: fields.display_name,
        external_id: fields.external_id,
        members,
    };
    let record = state
        .provisioning
        .update_group(&ctx, &id, if_match, |_| Ok::<_, ScimError>(change.clone()))
        .await?;
    let body = rendered(&state, &record, true, &base).await?;
    Ok(ScimResponse::resource(StatusCode::OK, body))
}

pub async fn patch(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Path(id): Path<String>,
    Params(params): Params,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let if_match = if_match(&headers)?;
    let (operations, members) = split_member_operations(parse_patch_request(&body)?)?;
    let record = state
        .provisioning
        .update_group(&ctx, &id, if_match, |current| {
            let mut document = group_document(current);
            apply_operations(ResourceType::Group, &mut document, &operations)?;
            let fields = group_fields(decode(ResourceType::Group, &Value::Object(document))?)?;
            Ok::<_, ScimError>(GroupChange {
                display_name: fields.display_name,
                external_id: fields.external_id,
                members: members.clone(),
            })
        })
        .await?;
    let body = rendered(&state, &record, !excluded(&params), &base).await?;
    Ok(ScimResponse::resource(StatusCode::OK, body))
}

pub async fn delete(
    State(state): State<AppState>,
    Context(ctx): Context,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<ScimResponse, ScimError> {
    let if_match = if_match(&headers)?;
    state.provisioning.delete_group(&ctx, &id, if_match).await?;
    Ok(ScimResponse::no_content())
}
