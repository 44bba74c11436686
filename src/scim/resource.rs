//! Decoding a resource a client sent into its canonical form: attribute names spelled as in the
//! schema, values of the declared type, read-only attributes dropped (RFC 7643 §2.2: clients
//! may send them back; the server ignores them), and `password` discarded.
//!
//! Decoding a canonical resource again gives it back unchanged, so PATCH results go through
//! the same checks as POST and PUT bodies.

use crate::scim::error::ScimError;
use crate::scim::schema::{AttrType, AttributeDef, Mutability, ResourceType};
use aggregates::attributes::Attributes;
use aggregates::group::DisplayName;
use aggregates::user::{UserName, UserProfile};
use aggregates::values::ExternalId;
use projections::scim_groups::GroupRecord;
use projections::scim_users::UserRecord;
use serde_json::{Map, Value};

/// A resource in canonical form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub attributes: Map<String, Value>,
    /// The client sent a password, which scimd does not keep (password sync is unsupported);
    /// worth a log line, never an error.
    pub password_supplied: bool,
    /// Attributes the client named but left empty (`null`, `[]`, `{}`): absent in canonical
    /// form, yet an explicit "none" where absence would mean "unchanged" (a group's members).
    pub emptied: Vec<&'static str>,
}

/// Keys every resource may carry that are not attributes a client sets.
const IGNORED_KEYS: [&str; 3] = ["schemas", "id", "meta"];

pub fn decode(resource_type: ResourceType, input: &Value) -> Result<Decoded, ScimError> {
    let Value::Object(object) = input else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut decoded = Decoded::default();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            check_schemas(resource_type, value)?;
            continue;
        }
        if IGNORED_KEYS
            .iter()
            .any(|ignored| ignored.eq_ignore_ascii_case(key))
        {
            continue;
        }
        let Some(def) = resource_type.attribute(key) else {
            // RFC 7644 §3.3 lets a service provider ignore attributes it does not know;
            // refusing them would break IdPs that send extensions of their own.
            // Debug-formatted: the name is the client's, line breaks and escape bytes included.
            tracing::debug!(attribute = ?key, "ignoring an attribute this server does not define");
            continue;
        };
        match decode_attribute(def, value, def.name, &mut decoded.password_supplied)? {
            Some(value) => {
                decoded.attributes.insert(def.name.to_string(), value);
            }
            None => decoded.emptied.push(def.name),
        }
    }
    for def in resource_type.core().attributes {
        if def.required && !decoded.attributes.contains_key(def.name) {
            return Err(ScimError::invalid_value(format!(
                "{} is required",
                def.name
            )));
        }
    }
    Ok(decoded)
}

/// `schemas`, when sent, must be a list of URIs naming the resource's own core schema: a
/// Group sent to `/Users`, or a resource of a schema scimd does not serve, is refused rather
/// than read as something it is not. Other URIs (an IdP's own extensions) are let through,
/// as their attributes are (RFC 7644 §3.3).
fn check_schemas(resource_type: ResourceType, value: &Value) -> Result<(), ScimError> {
    let core = resource_type.core().id;
    let uris: Option<Vec<&str>> = value
        .as_array()
        .and_then(|items| items.iter().map(Value::as_str).collect());
    let Some(uris) = uris else {
        return Err(ScimError::invalid_value(format!(
            "schemas must be a list of schema URIs, such as [\"{core}\"]"
        )));
    };
    if uris.iter().any(|uri| uri.eq_ignore_ascii_case(core)) {
        return Ok(());
    }
    Err(ScimError::invalid_value(format!(
        "schemas must include \"{core}\"; this request names {}",
        serde_json::to_string(&uris).unwrap_or_default()
    )))
}

/// The canonical form of a value for `def`, or `None` if it is null or not the client's to set.
pub fn decode_value(def: &'static AttributeDef, value: &Value) -> Result<Option<Value>, ScimError> {
    let mut password_supplied = false;
    decode_attribute(def, value, def.name, &mut password_supplied)
}

/// The canonical value of one attribute, or `None` if it is absent, null, or not the client's
/// to set.
fn decode_attribute(
    def: &'static AttributeDef,
    value: &Value,
    path: &str,
    password_supplied: &mut bool,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() || def.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    if def.name == "password" {
        *password_supplied = true;
        return Ok(None);
    }
    if !def.multi_valued {
        return decode_single(def, value, path, password_supplied);
    }
    // OneLogin sends a single object where the schema has a list: a list of one is meant.
    let items = match value {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let mut decoded = Vec::with_capacity(items.len());
    for item in items {
        if let Some(item) = decode_single(def, item, path, password_supplied)? {
            decoded.push(item);
        }
    }
    // RFC 7643 §2.4: "primary" is true for at most one value.
    let primaries = decoded
        .iter()
        .filter(|item| item.get("primary") == Some(&Value::Bool(true)))
        .count();
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "at most one value of {path} may be primary, not {primaries}"
        )));
    }
    Ok((!decoded.is_empty()).then_some(Value::Array(decoded)))
}

fn decode_single(
    def: &'static AttributeDef,
    value: &Value,
    path: &str,
    password_supplied: &mut bool,
) -> Result<Option<Value>, ScimError> {
    let wrong_type = |expected: &str| {
        ScimError::invalid_value(format!(
            "{path} must be {expected}, not {}",
            json_kind(value)
        ))
    };
    let decoded = match def.kind {
        AttrType::Complex => {
            let object = match value {
                Value::Object(object) => object,
                // Entra ID sets the enterprise manager to a bare id; a plain value of a complex
                // attribute that has a "value" sub-attribute is that sub-attribute.
                Value::String(_) | Value::Number(_) | Value::Bool(_)
                    if def.sub_attribute("value").is_some() =>
                {
                    &Map::from_iter([("value".to_string(), value.clone())])
                }
                _ => return Err(wrong_type("an object")),
            };
            let mut decoded = Map::new();
            for (key, sub_value) in object {
                let Some(sub) = def.sub_attribute(key) else {
                    tracing::debug!(attribute = %path, sub_attribute = ?key, "ignoring an unknown sub-attribute");
                    continue;
                };
                let sub_path = if def.name.starts_with("urn:") {
                    format!("{path}:{}", sub.name)
                } else {
                    format!("{path}.{}", sub.name)
                };
                if let Some(sub_value) =
                    decode_attribute(sub, sub_value, &sub_path, password_supplied)?
                {
                    decoded.insert(sub.name.to_string(), sub_value);
                }
            }
            return Ok((!decoded.is_empty()).then_some(Value::Object(decoded)));
        }
        AttrType::String | AttrType::Reference(_) | AttrType::Binary => match value {
            Value::String(_) => value.clone(),
            _ => return Err(wrong_type("a string")),
        },
        AttrType::DateTime => match value {
            Value::String(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok() => {
                value.clone()
            }
            _ => return Err(wrong_type("an RFC 3339 date-time string")),
        },
        AttrType::Boolean => Value::Bool(boolean(value).ok_or_else(|| wrong_type("a boolean"))?),
        AttrType::Integer => match value {
            Value::Number(number) if number.is_i64() || number.is_u64() => value.clone(),
            _ => return Err(wrong_type("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => value.clone(),
            _ => return Err(wrong_type("a number")),
        },
    };
    Ok(Some(decoded))
}

/// A boolean, also when sent as the strings "True"/"False" as Entra ID does.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A user's current state in canonical form, as PATCH operations see it.
pub fn user_document(record: &UserRecord) -> Map<String, Value> {
    let mut document = record.attributes();
    document.insert("userName".into(), Value::String(record.user_name.clone()));
    if let Some(external_id) = &record.external_id {
        document.insert("externalId".into(), Value::String(external_id.clone()));
    }
    document
}

/// A group's name and externalId in canonical form, as PATCH operations see them (members are
/// changed separately: see patch::members).
pub fn group_document(record: &GroupRecord) -> Map<String, Value> {
    let mut document = Map::new();
    document.insert(
        "displayName".into(),
        Value::String(record.display_name.clone()),
    );
    if let Some(external_id) = &record.external_id {
        document.insert("externalId".into(), Value::String(external_id.clone()));
    }
    document
}

/// The user a decoded User resource describes.
pub fn user_profile(decoded: Decoded) -> Result<UserProfile, ScimError> {
    let mut attributes = decoded.attributes;
    let user_name = match attributes.remove("userName") {
        Some(Value::String(name)) => UserName::parse(name)?,
        _ => return Err(ScimError::invalid_value("userName is required")),
    };
    let external_id = match attributes.remove("externalId") {
        Some(Value::String(id)) => Some(ExternalId::parse(id)?),
        _ => None,
    };
    Ok(UserProfile {
        user_name,
        external_id,
        attributes: Attributes::new(attributes),
    })
}

/// What a decoded Group resource says of a group: its name, externalId and the ids of its
/// members (whether each is a user or a group is looked up, not taken from the client).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFields {
    pub display_name: DisplayName,
    pub external_id: Option<ExternalId>,
    /// `None` when the resource did not mention members at all.
    pub member_ids: Option<Vec<String>>,
}

pub fn group_fields(decoded: Decoded) -> Result<GroupFields, ScimError> {
    let mut attributes = decoded.attributes;
    let display_name = match attributes.remove("displayName") {
        Some(Value::String(name)) => DisplayName::parse(name)?,
        _ => return Err(ScimError::invalid_value("displayName is required")),
    };
    let external_id = match attributes.remove("externalId") {
        Some(Value::String(id)) => Some(ExternalId::parse(id)?),
        _ => None,
    };
    let member_ids = match attributes.remove("members") {
        Some(members) => Some(member_ids(&members)?),
        None if decoded.emptied.contains(&"members") => Some(Vec::new()),
        None => None,
    };
    Ok(GroupFields {
        display_name,
        external_id,
        member_ids,
    })
}

/// The `value` of each member object in `members` (an array, or one object).
pub fn member_ids(members: &Value) -> Result<Vec<String>, ScimError> {
    let items = match members {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    items
        .iter()
        .map(|member| {
            let value = member
                .as_object()
                .and_then(|object| {
                    object
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case("value"))
                })
                .and_then(|(_, value)| value.as_str());
            match value {
                Some(id) if !id.trim().is_empty() => Ok(id.to_string()),
                _ => Err(ScimError::invalid_value(
                    "each member must be an object with a non-empty \"value\"",
                )),
            }
        })
        .collect()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn user(input: Value) -> Result<Decoded, ScimError> {
        decode(ResourceType::User, &input)
    }

    #[test]
    fn names_are_canonicalised_and_read_only_attributes_dropped() {
        let decoded = user(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "client-chosen",
            "USERNAME": "alice@corp",
            "Name": {"GivenName": "Alice"},
            "meta": {"resourceType": "User"}
        }));
        assert_eq!(
            decoded.map(|d| d.attributes),
            Ok(
                json!({"userName": "alice@corp", "name": {"givenName": "Alice"}})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            )
        );
    }

    #[test]
    fn a_single_object_for_a_multi_valued_attribute_is_a_list_of_one() {
        let decoded = user(json!({"userName": "a", "emails": {"value": "a@x", "type": "work"}}));
        let emails = decoded
            .ok()
            .and_then(|d| d.attributes.get("emails").cloned());
        assert_eq!(emails, Some(json!([{"value": "a@x", "type": "work"}])));
    }

    #[test]
    fn boolean_strings_are_booleans() {
        let decoded = user(json!({"userName": "a", "active": "False"}));
        let active = decoded
            .ok()
            .and_then(|d| d.attributes.get("active").cloned());
        assert_eq!(active, Some(json!(false)));
    }

    #[test]
    fn a_wrong_type_is_an_invalid_value_naming_the_attribute() {
        let error = user(json!({"userName": "a", "name": {"givenName": 7}})).err();
        assert_eq!(
            error.as_ref().and_then(|e| e.scim_type),
            Some(ScimType::InvalidValue)
        );
        assert!(error.is_some_and(|e| e.detail.contains("name.givenName")));
    }

    #[test]
    fn a_missing_required_attribute_is_refused() {
        let error = user(json!({"displayName": "Alice"})).err();
        assert!(error.is_some_and(|e| e.detail == "userName is required"));
    }

    #[test]
    fn passwords_are_noted_and_discarded() {
        let decoded = user(json!({"userName": "a", "password": "hunter2"}));
        assert!(decoded.as_ref().is_ok_and(|d| d.password_supplied));
        assert!(decoded.is_ok_and(|d| !d.attributes.contains_key("password")));
    }

    #[test]
    fn the_enterprise_extension_is_kept_under_its_urn() {
        let mut input = json!({"userName": "a"});
        input[ENTERPRISE_USER_SCHEMA.to_lowercase()] =
            json!({"department": "R&D", "manager": {"value": "m1", "displayName": "ignored"}});
        let decoded = user(input);
        let extension = decoded
            .ok()
            .and_then(|d| d.attributes.get(ENTERPRISE_USER_SCHEMA).cloned());
        assert_eq!(
            extension,
            Some(json!({"department": "R&D", "manager": {"value": "m1"}}))
        );
    }

    #[test]
    fn two_primary_values_are_refused() {
        let error = user(json!({"userName": "a", "emails": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": "True"}
        ]}))
        .err();
        assert!(error.is_some_and(|e| e.detail.contains("emails")));
    }

    #[test]
    fn a_bare_value_of_a_complex_attribute_is_its_value_sub_attribute() {
        let mut input = json!({"userName": "a"});
        input[ENTERPRISE_USER_SCHEMA] = json!({"manager": "m1"});
        let decoded = user(input);
        let manager = decoded
            .ok()
            .and_then(|d| d.attributes.get(ENTERPRISE_USER_SCHEMA).cloned());
        assert_eq!(manager, Some(json!({"manager": {"value": "m1"}})));
        assert!(user(json!({"userName": "a", "name": "Ann"})).is_err());
    }

    #[test]
    fn unknown_attributes_are_ignored() {
        let decoded = user(json!({"userName": "a", "favouriteColour": "green"}));
        assert!(decoded.is_ok_and(|d| d.attributes.len() == 1));
    }

    #[test]
    fn decoding_a_canonical_resource_changes_nothing() {
        let first = user(json!({
            "userName": "a", "active": "true", "emails": {"Value": "a@x"},
            "name": {"givenName": "A"}, "externalId": "e1"
        }));
        let again = first
            .as_ref()
            .ok()
            .map(|d| user(Value::Object(d.attributes.clone())));
        assert_eq!(again, first.ok().map(Ok));
    }
}
