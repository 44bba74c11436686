//! The discovery endpoints (RFC 7644 §4): what this server supports, told truthfully.

use super::extract::{BaseUrl, ResourceId};
use super::response::ScimResponse;
use super::router::AppState;
use crate::scim::error::ScimError;
use crate::scim::list::list_response;
use crate::scim::schema::{all_schemas, ResourceType};
use axum::extract::State;
use serde_json::{json, Value};

pub async fn service_provider_config(
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
) -> ScimResponse {
    let limits = state.limits;
    let page_size = limits.list.max_page_size;
    ScimResponse::ok(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": limits.bulk.max_operations,
            "maxPayloadSize": limits.bulk.max_payload_bytes,
        },
        "filter": {"supported": true, "maxResults": page_size},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": page_size,
            "maxPageSize": page_size,
        },
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "API key",
            "description": "A scimd API key, sent as Authorization: Bearer <key>.",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    }))
}

pub async fn resource_types(BaseUrl(base): BaseUrl) -> ScimResponse {
    let types: Vec<Value> = ResourceType::ALL
        .iter()
        .map(|kind| kind.to_json(&base))
        .collect();
    let total = i64::try_from(types.len()).unwrap_or_default();
    ScimResponse::ok(list_response(total, Some(1), None, types))
}

pub async fn resource_type(
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
) -> Result<ScimResponse, ScimError> {
    ResourceType::ALL
        .iter()
        .find(|kind| kind.name() == id)
        .map(|kind| ScimResponse::ok(kind.to_json(&base)))
        .ok_or_else(|| ScimError::not_found(format!("no resource type {id}")))
}

pub async fn schemas(BaseUrl(base): BaseUrl) -> ScimResponse {
    let schemas: Vec<Value> = all_schemas()
        .iter()
        .map(|schema| schema.to_json(&base))
        .collect();
    let total = i64::try_from(schemas.len()).unwrap_or_default();
    ScimResponse::ok(list_response(total, Some(1), None, schemas))
}

pub async fn schema(
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
) -> Result<ScimResponse, ScimError> {
    all_schemas()
        .iter()
        .find(|schema| schema.id == id)
        .map(|schema| ScimResponse::ok(schema.to_json(&base)))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id}")))
}
