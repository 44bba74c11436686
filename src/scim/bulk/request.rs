//! Reading a Bulk request body (RFC 7644 §3.7) into typed operations.
//!
//! A fault of the document as a whole (no BulkRequest schema, no `Operations`, a bad
//! `failOnErrors`, a `bulkId` used twice, too many operations) refuses the request. A fault of
//! one operation (an unknown method, a bad path, no `data`) fails that operation alone: the
//! server "MUST continue performing as many changes as possible" (§3.7.3).

use super::BULK_REQUEST_SCHEMA;
use crate::scim::endpoints::canonical_path;
use crate::scim::error::ScimError;
use crate::scim::render::version_of_etag;
use crate::scim::schema::ResourceType;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// What one operation does, with the ids of its path still possibly `bulkId:` references.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Create {
        resource_type: ResourceType,
        data: Value,
    },
    Replace {
        resource_type: ResourceType,
        id: String,
        data: Value,
    },
    Patch {
        resource_type: ResourceType,
        id: String,
        data: Value,
    },
    Delete {
        resource_type: ResourceType,
        id: String,
    },
}

impl Action {
    pub fn method(&self) -> &'static str {
        match self {
            Self::Create { .. } => "POST",
            Self::Replace { .. } => "PUT",
            Self::Patch { .. } => "PATCH",
            Self::Delete { .. } => "DELETE",
        }
    }

    pub fn resource_type(&self) -> ResourceType {
        match self {
            Self::Create { resource_type, .. }
            | Self::Replace { resource_type, .. }
            | Self::Patch { resource_type, .. }
            | Self::Delete { resource_type, .. } => *resource_type,
        }
    }

    /// The id the path names; a POST names none.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Create { .. } => None,
            Self::Replace { id, .. } | Self::Patch { id, .. } | Self::Delete { id, .. } => Some(id),
        }
    }

    pub fn data(&self) -> Option<&Value> {
        match self {
            Self::Create { data, .. } | Self::Replace { data, .. } | Self::Patch { data, .. } => {
                Some(data)
            }
            Self::Delete { .. } => None,
        }
    }
}

/// One entry of `Operations`. The fields the response echoes are kept even when the operation
/// itself cannot be understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The method as sent (any case), if it was a string.
    pub method: Option<String>,
    pub bulk_id: Option<String>,
    /// The `version` sent: If-Match for this operation (§3.7).
    pub version: Option<String>,
    pub action: Result<Action, ScimError>,
}

impl Operation {
    /// Whether this operation creates a resource others may refer to by its `bulkId`.
    pub fn is_post(&self) -> bool {
        self.method
            .as_deref()
            .is_some_and(|method| method.eq_ignore_ascii_case("POST"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop once this many operations have failed (§3.7.3); none: run them all.
    pub fail_on_errors: Option<usize>,
    pub operations: Vec<Operation>,
}

/// RFC 7643 §2.1: attribute names are case-insensitive.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// The request, or why it is refused as a whole. More than `max_operations` operations is a
/// 413 (§3.7.4), decided before any operation is looked at.
pub fn parse_bulk_request(body: &Value, max_operations: usize) -> Result<BulkRequest, ScimError> {
    let Value::Object(object) = body else {
        return Err(ScimError::invalid_syntax(
            "the Bulk body must be a JSON object",
        ));
    };
    let declares_bulk = field(object, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|urns| {
            urns.iter()
                .any(|urn| urn.as_str() == Some(BULK_REQUEST_SCHEMA))
        });
    if !declares_bulk {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must contain {BULK_REQUEST_SCHEMA}"
        )));
    }
    let fail_on_errors = match field(object, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .filter(|count| *count > 0)
                .and_then(|count| usize::try_from(count).ok())
                .ok_or_else(|| {
                    ScimError::invalid_value("failOnErrors must be a positive integer")
                })?,
        ),
    };
    let Some(Value::Array(operations)) = field(object, "Operations") else {
        return Err(ScimError::invalid_syntax("Operations must be an array"));
    };
    if operations.len() > max_operations {
        return Err(too_many_operations(operations.len(), max_operations));
    }
    let operations: Vec<Operation> = operations.iter().map(parse_operation).collect();
    // §3.7: a bulkId is "unique within a bulk request"; with two, a reference is ambiguous.
    let mut seen = HashSet::new();
    for bulk_id in operations.iter().filter_map(|op| op.bulk_id.as_deref()) {
        if !seen.insert(bulk_id) {
            return Err(ScimError::invalid_value(format!(
                "bulkId {bulk_id:?} is used by more than one operation"
            )));
        }
    }
    Ok(BulkRequest {
        fail_on_errors,
        operations,
    })
}

pub fn too_many_operations(count: usize, max: usize) -> ScimError {
    ScimError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        None,
        format!("the request has {count} operations; maxOperations is {max}"),
    )
}

fn parse_operation(operation: &Value) -> Operation {
    let Value::Object(object) = operation else {
        return Operation {
            method: None,
            bulk_id: None,
            version: None,
            action: Err(ScimError::invalid_syntax(
                "each operation must be a JSON object",
            )),
        };
    };
    let text = |name: &str| -> Result<Option<String>, ScimError> {
        match field(object, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(ScimError::invalid_syntax(format!(
                "{name} must be a string"
            ))),
        }
    };
    let (method, bulk_id, version) = match (text("method"), text("bulkId"), text("version")) {
        (Ok(method), Ok(bulk_id), Ok(version)) => (method, bulk_id, version),
        (method, bulk_id, version) => {
            let error = [&method, &bulk_id, &version]
                .into_iter()
                .find_map(|field| field.clone().err());
            return Operation {
                method: method.ok().flatten(),
                bulk_id: bulk_id.ok().flatten(),
                version: version.ok().flatten(),
                action: Err(
                    error.unwrap_or_else(|| ScimError::invalid_syntax("malformed operation"))
                ),
            };
        }
    };
    let action = parse_action(
        method.as_deref(),
        bulk_id.as_deref(),
        text("path"),
        field(object, "data"),
    );
    Operation {
        method,
        bulk_id,
        version,
        action,
    }
}

fn parse_action(
    method: Option<&str>,
    bulk_id: Option<&str>,
    path: Result<Option<String>, ScimError>,
    data: Option<&Value>,
) -> Result<Action, ScimError> {
    let method = method.ok_or_else(|| ScimError::invalid_value("each operation needs a method"))?;
    let path = path?.ok_or_else(|| ScimError::invalid_value("each operation needs a path"))?;
    let (resource_type, id) = parse_path(&path)?;
    let data = || -> Result<Value, ScimError> {
        match data {
            None | Some(Value::Null) => Err(ScimError::invalid_value(format!(
                "a {} operation needs data",
                method.to_ascii_uppercase()
            ))),
            Some(data @ Value::Object(_)) => Ok(data.clone()),
            Some(_) => Err(ScimError::invalid_syntax("data must be a JSON object")),
        }
    };
    let needs_id = |id: Option<String>| {
        id.ok_or_else(|| {
            ScimError::invalid_value(format!(
                "a {} path names one resource, e.g. {}/{{id}}; got {path:?}",
                method.to_ascii_uppercase(),
                resource_type.endpoint()
            ))
        })
    };
    // Methods in any case, as PATCH op names are: the RFC does not forbid it.
    match method.to_ascii_uppercase().as_str() {
        "POST" => {
            if id.is_some() {
                return Err(ScimError::invalid_value(format!(
                    "a POST path names a resource endpoint, e.g. {}; got {path:?}",
                    resource_type.endpoint()
                )));
            }
            // §3.7: bulkId is "REQUIRED when method is POST".
            if bulk_id.is_none_or(str::is_empty) {
                return Err(ScimError::invalid_value("a POST operation needs a bulkId"));
            }
            Ok(Action::Create {
                resource_type,
                data: data()?,
            })
        }
        "PUT" => Ok(Action::Replace {
            resource_type,
            id: needs_id(id)?,
            data: data()?,
        }),
        "PATCH" => Ok(Action::Patch {
            resource_type,
            id: needs_id(id)?,
            data: data()?,
        }),
        "DELETE" => Ok(Action::Delete {
            resource_type,
            id: needs_id(id)?,
        }),
        _ => Err(ScimError::invalid_value(format!(
            "unknown method {method:?}; expected POST, PUT, PATCH or DELETE"
        ))),
    }
}

/// `/Users`, `/Groups`, `/Users/{id}` or `/Groups/{id}`, the endpoint's name in any case and
/// with a trailing slash, as the endpoints themselves answer.
fn parse_path(sent: &str) -> Result<(ResourceType, Option<String>), ScimError> {
    let unknown = || {
        ScimError::invalid_value(format!(
            "path {sent:?} is not /Users, /Groups, /Users/{{id}} or /Groups/{{id}}"
        ))
    };
    let relative = format!("/{}", sent.strip_prefix('/').unwrap_or(sent));
    let path = canonical_path(&relative);
    let path = path.as_ref();
    let (endpoint, id) = match path.strip_prefix('/').unwrap_or(path).split_once('/') {
        Some((endpoint, id)) => (endpoint, Some(id)),
        None => (path.strip_prefix('/').unwrap_or(path), None),
    };
    let resource_type = ResourceType::ALL
        .into_iter()
        .find(|kind| kind.endpoint().strip_prefix('/') == Some(endpoint))
        .ok_or_else(unknown)?;
    match id {
        None => Ok((resource_type, None)),
        Some(id) if id.is_empty() || id.contains('/') => Err(unknown()),
        Some(id) => Ok((resource_type, Some(id.to_string()))),
    }
}

/// The version an operation's `version` pins, as `If-Match` would (`*` pins none); a tag that
/// is not one of ours can never match: 412.
pub fn precondition(version: Option<&str>) -> Result<Option<i64>, ScimError> {
    match version.map(str::trim) {
        None | Some("*") => Ok(None),
        Some(tag) => version_of_etag(tag).map(Some).ok_or_else(|| {
            ScimError::new(
                StatusCode::PRECONDITION_FAILED,
                None,
                "version does not name a version of this resource",
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    fn request(operations: Value) -> Value {
        json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations})
    }

    fn only_action(operation: Value) -> Result<Action, ScimError> {
        let parsed = parse_bulk_request(&request(json!([operation])), 10).map(|r| r.operations);
        match parsed.as_deref() {
            Ok([operation]) => operation.action.clone(),
            other => panic!("one operation expected, got {other:?}"),
        }
    }

    fn scim_type(result: Result<Action, ScimError>) -> Option<ScimType> {
        result.err().and_then(|error| error.scim_type)
    }

    #[test]
    fn the_four_methods_are_read_with_their_paths() {
        let user = json!({"userName": "ann"});
        assert_eq!(
            only_action(json!({"method": "POST", "bulkId": "a", "path": "/Users", "data": user})),
            Ok(Action::Create {
                resource_type: ResourceType::User,
                data: user.clone()
            })
        );
        assert_eq!(
            only_action(json!({"method": "put", "path": "/Groups/g1", "data": user})),
            Ok(Action::Replace {
                resource_type: ResourceType::Group,
                id: "g1".into(),
                data: user.clone()
            })
        );
        assert_eq!(
            only_action(json!({"method": "Patch", "path": "/Users/bulkId:a", "data": {}})),
            Ok(Action::Patch {
                resource_type: ResourceType::User,
                id: "bulkId:a".into(),
                data: json!({})
            })
        );
        assert_eq!(
            only_action(json!({"METHOD": "DELETE", "path": "/Groups/g1"})),
            Ok(Action::Delete {
                resource_type: ResourceType::Group,
                id: "g1".into()
            })
        );
    }

    #[test]
    fn paths_name_their_endpoint_in_any_case_but_ids_exactly() {
        for (path, resource_type, id) in [
            ("/users", ResourceType::User, None),
            ("GROUPS/", ResourceType::Group, None),
            ("/users/AbC", ResourceType::User, Some("AbC")),
            ("/Groups/g1/", ResourceType::Group, Some("g1")),
        ] {
            assert_eq!(
                parse_path(path),
                Ok((resource_type, id.map(str::to_string))),
                "{path}"
            );
        }
        assert!(parse_path("/Devices/1").is_err());
    }

    #[test]
    fn a_faulty_operation_fails_alone_with_a_clear_error() {
        let cases = [
            (
                json!({"method": "GET", "path": "/Users/1"}),
                ScimType::InvalidValue,
            ),
            (json!({"path": "/Users/1"}), ScimType::InvalidValue),
            (json!({"method": "DELETE"}), ScimType::InvalidValue),
            (
                json!({"method": "DELETE", "path": "/Devices/1"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"method": "DELETE", "path": "/Users/"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"method": "DELETE", "path": "/Users/a/b"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"method": "DELETE", "path": "/Users"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"method": "POST", "bulkId": "a", "path": "/Users/1", "data": {}}),
                ScimType::InvalidValue,
            ),
            (
                json!({"method": "POST", "path": "/Users", "data": {}}),
                ScimType::InvalidValue,
            ),
            (
                json!({"method": "POST", "bulkId": "a", "path": "/Users"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"method": "PUT", "path": "/Users/1", "data": [1]}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"method": 3, "path": "/Users/1"}),
                ScimType::InvalidSyntax,
            ),
            (json!("DELETE /Users/1"), ScimType::InvalidSyntax),
        ];
        for (operation, expected) in cases {
            assert_eq!(
                scim_type(only_action(operation.clone())),
                Some(expected),
                "{operation}"
            );
        }
    }

    #[test]
    fn the_echoed_fields_survive_a_faulty_operation() {
        let parsed = parse_bulk_request(
            &request(json!([{"method": "FETCH", "bulkId": "b1", "version": "W/\"2\"", "path": "/Users"}])),
            10,
        )
        .map(|r| r.operations);
        let Ok([operation]) = parsed.as_deref() else {
            panic!("one operation expected, got {parsed:?}");
        };
        assert_eq!(operation.method.as_deref(), Some("FETCH"));
        assert_eq!(operation.bulk_id.as_deref(), Some("b1"));
        assert_eq!(operation.version.as_deref(), Some("W/\"2\""));
        assert!(operation.action.is_err());
    }

    #[test]
    fn faults_of_the_whole_document_refuse_the_request() {
        let refused = |body: Value| parse_bulk_request(&body, 10).err();
        let bad = [
            (json!([]), StatusCode::BAD_REQUEST),
            (json!({"Operations": []}), StatusCode::BAD_REQUEST),
            (
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({"schemas": [BULK_REQUEST_SCHEMA]}),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": {}}),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": []}),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": "1", "Operations": []}),
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (body, status) in bad {
            assert_eq!(
                refused(body.clone()).map(|e| e.status),
                Some(status),
                "{body}"
            );
        }
    }

    #[test]
    fn too_many_operations_is_413() {
        let operations: Vec<Value> = (0..3)
            .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
            .collect();
        let body = request(Value::Array(operations));
        assert_eq!(
            parse_bulk_request(&body, 2).err().map(|e| e.status),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert!(parse_bulk_request(&body, 3).is_ok());
    }

    #[test]
    fn a_bulk_id_used_twice_refuses_the_request() {
        let body = request(json!([
            {"method": "POST", "bulkId": "x", "path": "/Users", "data": {"userName": "a"}},
            {"method": "POST", "bulkId": "x", "path": "/Users", "data": {"userName": "b"}},
        ]));
        let error = parse_bulk_request(&body, 10).err();
        assert_eq!(
            error.and_then(|e| e.scim_type),
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn fail_on_errors_is_read() {
        let body = json!({"schemas": [BULK_REQUEST_SCHEMA], "FailOnErrors": 2, "Operations": []});
        assert_eq!(
            parse_bulk_request(&body, 10).map(|r| r.fail_on_errors),
            Ok(Some(2))
        );
    }

    #[test]
    fn a_version_is_an_if_match() {
        assert_eq!(precondition(None), Ok(None));
        assert_eq!(precondition(Some("*")), Ok(None));
        assert_eq!(precondition(Some("W/\"4\"")), Ok(Some(4)));
        assert_eq!(
            precondition(Some("abc")).map_err(|e| e.status),
            Err(StatusCode::PRECONDITION_FAILED)
        );
    }
}
