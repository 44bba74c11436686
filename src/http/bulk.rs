//! `POST /Bulk` (RFC 7644 §3.7): many operations in one request, each run by the same function
//! as its single-resource endpoint, one after the other, each answered once its read model
//! shows it (so a later operation sees what an earlier one did). Nothing is rolled back: an
//! operation that fails is reported and the next one runs, until `failOnErrors` failures.

use super::extract::{BaseUrl, Context, ScimBody};
use super::response::ScimResponse;
use super::router::AppState;
use super::{groups, users};
use crate::provisioning::RequestContext;
use crate::scim::bulk::{
    parse_bulk_request, plan, precondition, resolve, Action, Operation, BULK_RESPONSE_SCHEMA,
};
use crate::scim::error::ScimError;
use crate::scim::schema::ResourceType;
use crate::scim::select::Selection;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tracing::Instrument;

/// What one operation reports (§3.7.3).
struct Outcome {
    status: StatusCode,
    location: Option<String>,
    version: Option<String>,
    error: Option<ScimError>,
    /// The id of the resource a POST created, for the references to its bulkId.
    created_id: Option<String>,
}

impl Outcome {
    fn failed(error: ScimError, location: Option<String>) -> Self {
        Self {
            status: error.status,
            location,
            version: None,
            error: Some(error),
            created_id: None,
        }
    }

    fn succeeded(response: &ScimResponse, action: &Action, location: Option<String>) -> Self {
        let body = response.body();
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
        Self {
            status: response.status(),
            location: text(body.map(|body| &body["meta"]["location"])).or(location),
            version: response.etag().map(str::to_string),
            error: None,
            created_id: matches!(action, Action::Create { .. })
                .then(|| text(body.map(|body| &body["id"])))
                .flatten(),
        }
    }

    fn to_json(&self, operation: &Operation) -> Value {
        let mut entry = Map::new();
        let method = match &operation.action {
            Ok(action) => Some(action.method().to_string()),
            Err(_) => operation.method.clone(),
        };
        let fields = [
            ("method", method),
            ("bulkId", operation.bulk_id.clone()),
            ("version", self.version.clone()),
            ("location", self.location.clone()),
            ("status", Some(self.status.as_u16().to_string())),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                entry.insert(name.to_string(), Value::String(value));
            }
        }
        // §3.7.3: a failure MUST carry its response; a success MAY leave it out, and does, to
        // keep the response of a large job small.
        if let Some(error) = &self.error {
            entry.insert("response".to_string(), error.document());
        }
        Value::Object(entry)
    }
}

pub async fn post(
    State(state): State<AppState>,
    Context(ctx): Context,
    BaseUrl(base): BaseUrl,
    ScimBody(body): ScimBody,
) -> Result<ScimResponse, ScimError> {
    let limits = state.limits.bulk;
    let request = parse_bulk_request(&body, limits.max_operations)?;
    let mut created: HashMap<String, String> = HashMap::new();
    let mut reported: Vec<(usize, Value)> = Vec::new();
    let mut failures = 0;
    for step in plan(&request.operations) {
        let Some(operation) = request.operations.get(step.index) else {
            continue;
        };
        let outcome = match step.refusal {
            Some(refusal) => Outcome::failed(refusal, None),
            None => {
                let span = tracing::info_span!(
                    "bulk operation",
                    index = step.index,
                    aggregate_id = tracing::field::Empty,
                );
                run(&state, &ctx, &base, operation, &created)
                    .instrument(span)
                    .await
            }
        };
        if let (Some(bulk_id), Some(id)) = (&operation.bulk_id, &outcome.created_id) {
            created.insert(bulk_id.clone(), id.clone());
        }
        reported.push((step.index, outcome.to_json(operation)));
        if outcome.error.is_some() {
            failures += 1;
            if request
                .fail_on_errors
                .is_some_and(|limit| failures >= limit)
            {
                tracing::info!(failures, "bulk request stopped: failOnErrors reached");
                break;
            }
        }
    }
    // In the order of the request, whatever order they ran in; those not run are left out.
    reported.sort_by_key(|(index, _)| *index);
    let operations: Vec<Value> = reported.into_iter().map(|(_, entry)| entry).collect();
    Ok(ScimResponse::ok(json!({
        "schemas": [BULK_RESPONSE_SCHEMA],
        "Operations": operations,
    })))
}

async fn run(
    state: &AppState,
    ctx: &RequestContext,
    base: &str,
    operation: &Operation,
    created: &HashMap<String, String>,
) -> Outcome {
    let action = match operation.action.clone() {
        Ok(action) => resolve(&action, created),
        Err(error) => Err(error),
    };
    let action = match action {
        Ok(action) => action,
        Err(error) => return Outcome::failed(error, None),
    };
    let location = action
        .id()
        .map(|id| format!("{base}{}/{id}", action.resource_type().endpoint()));
    match execute(state, ctx, base, &action, operation.version.as_deref()).await {
        Ok(response) => Outcome::succeeded(&response, &action, location),
        Err(error) => Outcome::failed(error, location),
    }
}

/// The endpoint function the operation stands for, with `version` as its If-Match.
async fn execute(
    state: &AppState,
    ctx: &RequestContext,
    base: &str,
    action: &Action,
    version: Option<&str>,
) -> Result<ScimResponse, ScimError> {
    // The response body is not reported, so a group's members need not be loaded to render it.
    let user = Selection::all();
    let group = Selection::parse(ResourceType::Group, None, Some("members"))?;
    match action {
        Action::Create {
            resource_type: ResourceType::User,
            data,
        } => users::create_user(state, ctx, base, data, &user).await,
        Action::Create {
            resource_type: ResourceType::Group,
            data,
        } => groups::create_group(state, ctx, base, data, &group).await,
        Action::Replace {
            resource_type: ResourceType::User,
            id,
            data,
        } => users::replace_user(state, ctx, base, id, precondition(version)?, data, &user).await,
        Action::Replace {
            resource_type: ResourceType::Group,
            id,
            data,
        } => {
            let if_match = precondition(version)?;
            groups::replace_group(state, ctx, base, id, if_match, data, &group).await
        }
        Action::Patch {
            resource_type: ResourceType::User,
            id,
            data,
        } => users::patch_user(state, ctx, base, id, precondition(version)?, data, &user).await,
        Action::Patch {
            resource_type: ResourceType::Group,
            id,
            data,
        } => {
            let if_match = precondition(version)?;
            groups::patch_group(state, ctx, base, id, if_match, data, Some(&group)).await
        }
        Action::Delete {
            resource_type: ResourceType::User,
            id,
        } => users::delete_user(state, ctx, id, precondition(version)?).await,
        Action::Delete {
            resource_type: ResourceType::Group,
            id,
        } => groups::delete_group(state, ctx, id, precondition(version)?).await,
    }
}
