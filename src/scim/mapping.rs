//! The SCIM side of the attribute mapping: checking that a row's path into a User (`title`,
//! `name.givenName`, `addresses[type eq "work"].country`, URN-qualified enterprise paths)
//! names a single simple value, and reading the values a user's mapping fills.

use crate::scim::filter::eval::{matches, values_at};
use crate::scim::filter::resolve::{check_within, resolve, Resolved};
use crate::scim::filter::Filter;
use crate::scim::patch::parse_patch_path;
use crate::scim::resource::boolean;
use crate::scim::schema::{AttrType, ResourceType, ENTERPRISE_USER_SCHEMA};
use aggregates::settings::mapping::{MappedFields, MappingRow};
use aggregates::user::UserProfile;
use serde_json::Value;

/// The manager a profile names: the enterprise extension's `manager.value`.
pub fn manager_reference(profile: &UserProfile) -> Option<String> {
    profile
        .attributes
        .get(ENTERPRISE_USER_SCHEMA)?
        .get("manager")?
        .get("value")?
        .as_str()
        .map(str::trim)
        .filter(|reference| !reference.is_empty())
        .map(str::to_string)
}

/// The application User fields `mapping` fills from `profile`.
pub fn mapped_fields(mapping: &[MappingRow], profile: &UserProfile) -> MappedFields {
    let mut user = profile.attributes.as_map().clone();
    user.insert("userName".into(), Value::from(profile.user_name.as_str()));
    if let Some(external_id) = &profile.external_id {
        user.insert("externalId".into(), Value::from(external_id.as_str()));
    }
    let user = Value::Object(user);
    mapping
        .iter()
        .filter_map(|row| Some((row.field.clone(), mapped_value(&row.attribute, &user)?)))
        .collect()
}

/// The text a mapping path reads from a user, if it has a value there. Of a multi-valued
/// attribute it reads the primary value, or else the first; with a value filter whose
/// alternatives are joined by `or`, the first alternative any value matches wins, so that
/// `emails[type eq "work" or primary eq true]` prefers the work address.
fn mapped_value(path: &str, user: &Value) -> Option<String> {
    let parsed = parse_patch_path(path).ok()?;
    let attribute = resolve(ResourceType::User, &parsed.attr)?;
    let value = match &parsed.filter {
        Some(filter) => {
            let elements: Vec<&Value> = values_at(user, &attribute.keys).collect();
            let chosen = alternatives(filter).into_iter().find_map(|alternative| {
                elements
                    .iter()
                    .find(|element| matches(alternative, element, attribute.def).unwrap_or(false))
            })?;
            let sub = parsed.sub_attr.as_deref().unwrap_or("value");
            let def = attribute.def.sub_attribute(sub)?;
            chosen.get(def.name)?.clone()
        }
        None => {
            let leaf = attribute.compared()?;
            let values: Vec<&Value> = values_at(user, &leaf.keys).collect();
            let primary = primary_of(user, &leaf.keys);
            primary.or_else(|| values.first().map(|value| (*value).clone()))?
        }
    };
    text_of(&value)
}

/// The leaf value of the primary element, when the path goes through a multi-valued attribute.
fn primary_of(user: &Value, keys: &[&str]) -> Option<Value> {
    let (top, rest) = keys.split_first()?;
    let elements = user.get(*top)?.as_array()?;
    let primary = elements
        .iter()
        .find(|element| element.get("primary").and_then(boolean) == Some(true))?;
    let mut current = primary;
    for key in rest {
        current = current.get(*key)?;
    }
    Some(current.clone())
}

fn alternatives(filter: &Filter) -> Vec<&Filter> {
    match filter {
        Filter::Or(..) => filter.operands(),
        other => vec![other],
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Why a mapping source was refused; the message is meant for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} cannot fill a text field: {reason}")]
pub struct MappingSourceError {
    path: String,
    reason: String,
}

/// The path, trimmed, if it names a simple value of a User.
pub fn check_mapping_source(path: &str) -> Result<String, MappingSourceError> {
    let text = path.trim();
    let refuse = |reason: String| MappingSourceError {
        path: text.to_string(),
        reason,
    };
    let parsed = parse_patch_path(text).map_err(|error| refuse(error.to_string()))?;
    let user = ResourceType::User;
    let attribute = resolve(user, &parsed.attr)
        .ok_or_else(|| refuse("a User has no such attribute".to_string()))?;
    let leaf = match (&parsed.filter, &parsed.sub_attr) {
        (None, _) => attribute,
        (Some(filter), sub_attr) => {
            check_within(attribute.def, filter).map_err(|error| refuse(error.detail))?;
            let sub = sub_attr.as_deref().unwrap_or("value");
            let def = attribute.def.sub_attribute(sub).ok_or_else(|| {
                refuse(format!("{} has no sub-attribute {sub}", attribute.def.name))
            })?;
            Resolved {
                keys: [attribute.keys, vec![def.name]].concat(),
                def,
            }
        }
    };
    let simple = leaf
        .compared()
        .filter(|resolved| resolved.def.kind != AttrType::Complex)
        .ok_or_else(|| refuse("it names a complex attribute, not one value".to_string()))?;
    if simple.def.kind == AttrType::Binary {
        return Err(refuse("it names binary data".to_string()));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aggregates::attributes::Attributes;
    use aggregates::settings::mapping::default_mapping;
    use aggregates::user::UserName;
    use serde_json::json;

    fn profile(attributes: Value) -> UserProfile {
        UserProfile {
            user_name: UserName::parse("ann@corp").unwrap_or_else(|_| unreachable!()),
            external_id: None,
            attributes: match attributes {
                Value::Object(map) => Attributes::new(map),
                _ => Attributes::default(),
            },
        }
    }

    #[test]
    fn the_default_mapping_reads_a_user() {
        let ann = profile(json!({
            "displayName": "Ann Lee",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "title": "Engineer",
            "emails": [
                {"value": "ann@home", "type": "home", "primary": true},
                {"value": "ann@corp", "type": "work"}
            ],
            "phoneNumbers": [{"value": "555-1", "type": "mobile"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "manager": {"value": "m-1"}
            },
        }));
        let mapped = mapped_fields(&default_mapping(), &ann);
        let expected: MappedFields = [
            ("User Name", "ann@corp"),
            ("Display Name", "Ann Lee"),
            ("Email", "ann@corp"),
            ("First Name", "Ann"),
            ("Last Name", "Lee"),
            ("Mobile Phone", "555-1"),
            ("Direct Manager", "m-1"),
            ("Scim Sync Job Title", "Engineer"),
        ]
        .iter()
        .map(|(field, value)| (field.to_string(), value.to_string()))
        .collect();
        assert_eq!(mapped, expected);
    }

    #[test]
    fn a_value_filter_falls_back_to_its_later_alternatives_and_primary_wins_otherwise() {
        let ann = profile(json!({
            "emails": [{"value": "a@one"}, {"value": "a@two", "primary": "True"}],
        }));
        let mapped = mapped_fields(&default_mapping(), &ann);
        assert_eq!(mapped.get("Email").map(String::as_str), Some("a@two"));
        let rows = [MappingRow {
            attribute: "emails.value".into(),
            field: "Email".into(),
        }];
        assert_eq!(
            mapped_fields(&rows, &ann).get("Email").map(String::as_str),
            Some("a@two")
        );
    }

    #[test]
    fn simple_values_of_a_user_can_be_mapped() {
        for path in [
            "title",
            " name.givenName ",
            "addresses[type eq \"work\"].country",
            "emails[type eq \"work\" or primary eq true].value",
            "phoneNumbers[type eq \"mobile\"]",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "active",
        ] {
            assert!(check_mapping_source(path).is_ok(), "{path}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for (path, reason) in [
            ("favouriteColour", "no such attribute"),
            ("name", "complex"),
            ("x509Certificates[type eq \"x\"]", "binary"),
            ("emails[colour eq \"red\"].value", "no attribute colour"),
            ("emails[type eq \"work\"].colour", "no sub-attribute colour"),
            ("emails[", "cannot fill"),
        ] {
            let error = check_mapping_source(path).err().map(|e| e.to_string());
            assert!(
                error.as_deref().is_some_and(|e| e.contains(reason)),
                "{path}: {error:?}"
            );
        }
    }
}
