//! `/Groups` (RFC 7644 §3.3–3.6). Members are changed by naming them, never by rewriting the
//! whole list, and are only loaded when the response shows them (Entra ID reads groups with
//! `excludedAttributes=members`). A PATCH that asks for no attributes is answered `204` with
//! no body (RFC 7644 §3.5.2 allows it; Okta and Entra ID send group PATCHes so and document
//! `204`), so that adding members to a large group never reads the members it already has.
//! Each operation is a function of the request's parts, so that Bulk runs exactly what the
//! single-resource endpoints run.

use super::documents::{self, related};
use super::extract::{if_match, none_match_hits, BaseUrl, Context, Params, ResourceId, ScimBody};
use super::listing;
use super::response::ScimResponse;
use super::router::AppState;
use crate::provisioning::{GroupChange, RequestContext};
use crate::scim::error::ScimError;
use crate::scim::limits::{check_member_edits, decode_within};
use crate::scim::list::{param, parse_list_query, selection};
use crate::scim::patch::apply::apply_operations;
use crate::scim::patch::members::{split_member_operations, MemberEdit};
use crate::scim::patch::parse_patch_request;
use crate::scim::render;
use crate::scim::resource::{group_document, group_fields};
use crate::scim::schema::ResourceType;
use crate::scim::select::Selection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use projections::scim_groups::GroupRecord;
use serde_json::Value;

const GROUP: ResourceType = ResourceType::Group;

async fn respond(
    state: &AppState,
    status: StatusCode,
    record: &GroupRecord,
    base: &str,
    selection: &Selection,
) -> Result<ScimResponse, ScimError> {
    let with_members = selection.includes(related(GROUP));
    let rendered =
        documents::groups(state, std::slice::from_ref(record), base, with_members).await?;
    let body = rendered.into_iter().next().unwrap_or_default();
    Ok(ScimResponse::resource(status, selection.apply(GROUP, body)))
}

pub(super) async fn create_group(
    state: &AppState,
    ctx: &RequestContext,
    base: &str,
    body: &Value,
    selection: &Selection,
) -> Result<ScimResponse, ScimError> {
    let fields = group_fields(decode_within(GROUP, body, state.limits.values)?)?;
    let written = state.provisioning.create_group(ctx, fields).await?;
    let Some(members) = written.members else {
        return respond(state, StatusCode::CREATED, &written.record, base, selection).await;
    };
    // Read from the events, while the read model has yet to show the group and its members.
    let members = selection
        .includes(related(GROUP))
        .then_some(members.as_slice());
    let body = render::group(&written.record, members, base);
    Ok(ScimResponse::resource(
        StatusCode::CREATED,
        selection.apply(GROUP, body),
    ))
}

pub(super) async fn replace_group(
    state: &AppState,
    ctx: &RequestContext,
    base: &str,
    id: &str,
    if_match: Option<i64>,
    body: &Value,
    selection: &Selection,
) -> Result<ScimResponse, ScimError> {
    let fields = group_fields(decode_within(GROUP, body, state.limits.values)?)?;
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
        .update_group(ctx, id, if_match, |_| Ok::<_, ScimError>(change.clone()))
        .await?;
    respond(state, StatusCode::OK, &record, base, selection).await
}

/// Applies a PATCH. With a `selection`, answers `200` with the group shaped by it; without,
/// `204` with only the new `ETag` (RFC 7644 §3.5.2).
pub(super) async fn patch_group(
    state: &AppState,
    ctx: &RequestContext,
    base: &str,
    id: &str,
    if_match: Option<i64>,
    body: &Value,
    selection: Option<&Selection>,
) -> Result<ScimResponse, ScimError> {
    let (operations, members) =
        split_member_operations(parse_patch_request(body, state.limits.list.filter)?)?;
    check_member_edits(&members, state.limits.values)?;
    let record = state
        .provisioning
        .update_group(ctx, id, if_match, |current| {
            let mut document = group_document(current);
            apply_operations(GROUP, &mut document, &operations)?;
            let fields = group_fields(decode_within(
                GROUP,
                &Value::Object(document),
                state.limits.values,
            )?)?;
            Ok::<_, ScimError>(GroupChange {
                display_name: fields.display_name,
                external_id: fields.external_id,
                members: members.clone(),
            })
        })
        .await?;
    match selection {
        Some(selection) => respond(state, StatusCode::OK, &record, base, selection).await,
        None => Ok(ScimResponse::no_content_tagged(render::etag(
            record.version,
        ))),
    }
}

pub(super) async fn delete_group(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    if_match: Option<i64>,
) -> Result<ScimResponse, ScimError> {
    state.provisioning.delete_group(ctx, id, if_match).await?;
    Ok(ScimResponse::no_content())
}

pub async fn create(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Params(params): Params,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    create_group(&state, &ctx, &base, &body, &selection(GROUP, &params)?).await
}

pub async fn get(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    Params(params): Params,
    headers: HeaderMap,
) -> Result<ScimResponse, ScimError> {
    let selection = selection(GROUP, &params)?;
    let record = state.provisioning.group(&ctx, &id).await?;
    let etag = render::etag(record.version);
    if none_match_hits(&headers, &etag) {
        return Ok(ScimResponse::not_modified(etag));
    }
    respond(&state, StatusCode::OK, &record, &base, &selection).await
}

pub async fn list(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    Params(params): Params,
) -> Result<ScimResponse, ScimError> {
    let query = parse_list_query(&[GROUP], &params, state.limits.list)?;
    let instance_id = &ctx.principal.instance_id;
    let response = listing::list(&state, instance_id, &base, &[GROUP], &query).await?;
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
    replace_group(
        &state,
        &ctx,
        &base,
        &id,
        if_match,
        &body,
        &selection(GROUP, &params)?,
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
    // RFC 7644 §3.5.2: with `attributes` the resource must be returned; with neither
    // parameter the client asked for nothing, and gets nothing.
    let asked = ["attributes", "excludedAttributes"]
        .iter()
        .any(|name| param(&params, name).is_some());
    let selection = asked.then(|| selection(GROUP, &params)).transpose()?;
    patch_group(
        &state,
        &ctx,
        &base,
        &id,
        if_match,
        &body,
        selection.as_ref(),
    )
    .await
}

pub async fn delete(
    State(state): State<AppState>,
    Context(ctx): Context,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<ScimResponse, ScimError> {
    delete_group(&state, &ctx, &id, if_match(&headers)?).await
}
