//! Reading a PATCH request body (RFC 7644 §3.5.2) into typed operations.

use super::path::{parse_patch_path_within, PatchPath};
use crate::scim::error::ScimError;
use crate::scim::filter::FilterLimits;
use serde_json::Value;

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// The operations of a PATCH body, in order; filters in their paths are bound by `limits`.
pub fn parse_patch_request(
    body: &Value,
    limits: FilterLimits,
) -> Result<Vec<PatchOperation>, ScimError> {
    let Value::Object(object) = body else {
        return Err(ScimError::invalid_syntax(
            "the PATCH body must be a JSON object",
        ));
    };
    let field = |name: &str| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    if let Some(schemas) = field("schemas") {
        let declares_patch = schemas
            .as_array()
            .is_some_and(|urns| urns.iter().any(|urn| urn.as_str() == Some(PATCH_OP_SCHEMA)));
        if !declares_patch {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must contain {PATCH_OP_SCHEMA}"
            )));
        }
    }
    let Some(Value::Array(operations)) = field("Operations") else {
        return Err(ScimError::invalid_syntax("Operations must be an array"));
    };
    operations
        .iter()
        .map(|operation| parse_operation(operation, limits))
        .collect()
}

fn parse_operation(operation: &Value, limits: FilterLimits) -> Result<PatchOperation, ScimError> {
    let Value::Object(object) = operation else {
        return Err(ScimError::invalid_syntax(
            "each operation must be a JSON object",
        ));
    };
    let field = |name: &str| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    // Entra ID capitalises op names ("Replace"); RFC 7644 does not forbid it.
    let op = match field("op").and_then(Value::as_str) {
        Some(op) if op.eq_ignore_ascii_case("add") => PatchOp::Add,
        Some(op) if op.eq_ignore_ascii_case("remove") => PatchOp::Remove,
        Some(op) if op.eq_ignore_ascii_case("replace") => PatchOp::Replace,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "unknown op {other:?}; expected add, remove or replace"
            )))
        }
        None => return Err(ScimError::invalid_syntax("each operation needs an op")),
    };
    let path = match field("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) if path.trim().is_empty() => None,
        Some(Value::String(path)) => Some(parse_patch_path_within(path, limits)?),
        Some(_) => return Err(ScimError::invalid_syntax("path must be a string")),
    };
    let value = field("value").filter(|value| !value.is_null()).cloned();
    if op != PatchOp::Remove && value.is_none() {
        return Err(ScimError::invalid_value(
            "add and replace operations need a value",
        ));
    }
    Ok(PatchOperation { op, path, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    #[test]
    fn capitalised_ops_and_empty_paths_are_accepted() {
        let operations = parse_patch_request(
            &json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "Replace", "path": "", "value": {"active": false}}]
            }),
            FilterLimits::default(),
        );
        assert_eq!(
            operations,
            Ok(vec![PatchOperation {
                op: PatchOp::Replace,
                path: None,
                value: Some(json!({"active": false}))
            }])
        );
    }

    #[test]
    fn an_unknown_op_is_invalid_syntax() {
        let error = parse_patch_request(
            &json!({"Operations": [{"op": "move", "path": "a"}]}),
            FilterLimits::default(),
        )
        .err();
        assert_eq!(
            error.and_then(|e| e.scim_type),
            Some(ScimType::InvalidSyntax)
        );
    }

    #[test]
    fn a_bad_path_is_invalid_path() {
        let error = parse_patch_request(
            &json!({
                "Operations": [{"op": "remove", "path": "emails[type eq]"}]
            }),
            FilterLimits::default(),
        )
        .err();
        assert_eq!(error.and_then(|e| e.scim_type), Some(ScimType::InvalidPath));
    }

    #[test]
    fn add_without_a_value_is_refused() {
        let error = parse_patch_request(
            &json!({"Operations": [{"op": "add", "path": "title"}]}),
            FilterLimits::default(),
        )
        .err();
        assert_eq!(
            error.and_then(|e| e.scim_type),
            Some(ScimType::InvalidValue)
        );
    }
}
