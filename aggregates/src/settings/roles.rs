//! A user's roles as SCIM carries them (`roles`, RFC 7643 §4.1.2: a multi-valued complex
//! attribute whose `value` names the role), read and written for the instance's role rules.

use crate::attributes::Attributes;
use serde_json::{json, Value};

pub const ROLES: &str = "roles";

/// The role names a profile asks for, in order, each once.
pub fn requested_roles(attributes: &Attributes) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let values = attributes
        .get(ROLES)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for role in values {
        let name = role.get("value").and_then(Value::as_str).map(str::trim);
        if let Some(name) = name.filter(|name| !name.is_empty()) {
            if !names.iter().any(|known| known == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// `attributes` with `roles` set to exactly these roles.
pub fn with_roles(attributes: Attributes, roles: &[String]) -> Attributes {
    let mut map = attributes.into_map();
    let values: Vec<Value> = roles.iter().map(|role| json!({"value": role})).collect();
    map.insert(ROLES.to_string(), Value::Array(values));
    Attributes::new(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(value: Value) -> Attributes {
        match value {
            Value::Object(map) => Attributes::new(map),
            _ => Attributes::default(),
        }
    }

    #[test]
    fn roles_are_read_from_their_values() {
        let given = attributes(json!({"roles": [
            {"value": "User", "primary": true},
            {"value": " Viewer "},
            {"display": "no value"},
            {"value": "User"}
        ]}));
        assert_eq!(requested_roles(&given), ["User", "Viewer"]);
        assert!(requested_roles(&attributes(json!({}))).is_empty());
    }

    #[test]
    fn roles_are_written_as_values() {
        let given = with_roles(attributes(json!({"title": "x"})), &["User".to_string()]);
        assert_eq!(given.get(ROLES), Some(&json!([{"value": "User"}])));
        assert_eq!(given.get("title"), Some(&json!("x")));
    }
}
