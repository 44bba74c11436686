//! Which attributes a response carries: `attributes` and `excludedAttributes` (RFC 7644
//! §3.4.2.5, §3.9), applied to a rendered resource.
//!
//! Names are resolved against the schema without regard to case, and may name a whole
//! attribute (`name`, `emails`), a sub-attribute (`name.givenName`, `emails.value`), an
//! extension (its URN) or an extension's attribute (`urn:...:User:department`). Attributes
//! returned "always" (`id`, `schemas`) cannot be left out; `password` is never returned.

use crate::scim::error::ScimError;
use crate::scim::patch::parse_patch_path;
use crate::scim::schema::{ResourceType, Returned};
use serde_json::{Map, Value};

/// One selected name, canonical: a top-level key of the resource and perhaps one level below.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selected {
    top: String,
    sub: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    only: Option<Vec<Selected>>,
    except: Vec<Selected>,
}

/// Always present in a resource, whatever the client asks.
const ALWAYS: [&str; 2] = ["id", "schemas"];

impl Selection {
    /// Every attribute returned by default.
    pub fn all() -> Self {
        Self::default()
    }

    /// From the comma-separated `attributes` and `excludedAttributes` values, if given.
    pub fn parse(
        resource_type: ResourceType,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ScimError> {
        let names = |list: Option<&str>| -> Result<Vec<Selected>, ScimError> {
            let mut selected = Vec::new();
            for name in list.unwrap_or_default().split(',').map(str::trim) {
                if !name.is_empty() {
                    selected.extend(resolve(resource_type, name)?);
                }
            }
            Ok(selected)
        };
        let asked = attributes.is_some_and(|list| !list.trim().is_empty());
        Ok(Self {
            only: if asked {
                Some(names(attributes)?)
            } else {
                None
            },
            except: names(excluded)?,
        })
    }

    /// Whether the response would show `attribute` at all (so that it need not be loaded).
    pub fn includes(&self, attribute: &str) -> bool {
        let whole_excluded = self
            .except
            .iter()
            .any(|s| s.top.eq_ignore_ascii_case(attribute) && s.sub.is_none());
        let wanted = self
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s.top.eq_ignore_ascii_case(attribute)));
        wanted && !whole_excluded
    }

    /// The resource as the client asked to see it.
    pub fn apply(&self, resource_type: ResourceType, resource: Value) -> Value {
        let Value::Object(mut object) = resource else {
            return resource;
        };
        if let Some(only) = &self.only {
            object = keep_only(object, only);
        }
        for selected in &self.except {
            remove(&mut object, selected);
        }
        object.remove("password");
        refresh_schemas(resource_type, &mut object);
        Value::Object(object)
    }
}

/// The canonical selection a name stands for; unknown names select nothing (a client may ask
/// for attributes this server does not have).
fn resolve(resource_type: ResourceType, name: &str) -> Result<Option<Selected>, ScimError> {
    let path = parse_patch_path(name).map_err(|error| {
        ScimError::invalid_value(format!("{name:?} is not an attribute name: {error}"))
    })?;
    if path.filter.is_some() {
        return Err(ScimError::invalid_value(format!(
            "{name:?}: attribute selection takes names, not filters"
        )));
    }
    let attr = &path.attr;
    let sub_name = attr.sub_attr.as_deref();
    if let Some(urn) = &attr.urn {
        let whole = format!("{urn}:{}", attr.name);
        if let Some(extension) = resource_type.extension(&whole) {
            return Ok(Some(Selected {
                top: extension.id.to_string(),
                sub: None,
            }));
        }
        if let Some(extension) = resource_type.extension(urn) {
            return Ok(extension.attribute(&attr.name).map(|def| Selected {
                top: extension.id.to_string(),
                sub: Some(def.name.to_string()),
            }));
        }
        if !urn.eq_ignore_ascii_case(resource_type.core().id) {
            return Ok(None);
        }
    }
    if attr.name.eq_ignore_ascii_case("meta") {
        return Ok(Some(Selected {
            top: "meta".into(),
            sub: sub_name.map(str::to_string),
        }));
    }
    if ALWAYS
        .iter()
        .any(|always| always.eq_ignore_ascii_case(&attr.name))
    {
        return Ok(Some(Selected {
            top: attr.name.to_ascii_lowercase(),
            sub: None,
        }));
    }
    let Some(def) = resource_type.attribute(&attr.name) else {
        return Ok(None);
    };
    if def.returned == Returned::Never {
        return Ok(None);
    }
    let sub = match sub_name {
        Some(sub) => match def.sub_attribute(sub) {
            Some(sub_def) => Some(sub_def.name.to_string()),
            None => return Ok(None),
        },
        None => None,
    };
    Ok(Some(Selected {
        top: def.name.to_string(),
        sub,
    }))
}

fn keep_only(object: Map<String, Value>, only: &[Selected]) -> Map<String, Value> {
    let mut kept = Map::new();
    for (key, value) in object {
        if ALWAYS.contains(&key.as_str()) {
            kept.insert(key, value);
            continue;
        }
        let wanted: Vec<&Selected> = only.iter().filter(|s| s.top == key).collect();
        if wanted.is_empty() {
            continue;
        }
        if wanted.iter().any(|s| s.sub.is_none()) {
            kept.insert(key, value);
            continue;
        }
        let subs: Vec<&str> = wanted.iter().filter_map(|s| s.sub.as_deref()).collect();
        if let Some(value) = keep_subs(value, &subs) {
            kept.insert(key, value);
        }
    }
    kept
}

/// A complex value, or each value of a multi-valued one, with only `subs`; `None` if nothing
/// is left.
fn keep_subs(value: Value, subs: &[&str]) -> Option<Value> {
    let keep = |object: Map<String, Value>| -> Option<Value> {
        let kept: Map<String, Value> = object
            .into_iter()
            .filter(|(key, _)| subs.contains(&key.as_str()))
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match value {
        Value::Object(object) => keep(object),
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .into_iter()
                .filter_map(|item| match item {
                    Value::Object(object) => keep(object),
                    _ => None,
                })
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => None,
    }
}

fn remove(object: &mut Map<String, Value>, selected: &Selected) {
    if ALWAYS.contains(&selected.top.as_str()) {
        return;
    }
    let Some(sub) = &selected.sub else {
        object.remove(&selected.top);
        return;
    };
    let emptied = match object.get_mut(&selected.top) {
        Some(Value::Object(inner)) => {
            inner.remove(sub);
            inner.is_empty()
        }
        Some(Value::Array(items)) => {
            for item in items.iter_mut() {
                if let Value::Object(inner) = item {
                    inner.remove(sub);
                }
            }
            items.retain(|item| item.as_object().is_none_or(|inner| !inner.is_empty()));
            items.is_empty()
        }
        _ => false,
    };
    if emptied {
        object.remove(&selected.top);
    }
}

/// `schemas` names the core schema and the extensions still present.
fn refresh_schemas(resource_type: ResourceType, object: &mut Map<String, Value>) {
    if !object.contains_key("schemas") {
        return;
    }
    let mut schemas = vec![Value::from(resource_type.core().id)];
    for extension in resource_type.extensions() {
        if object.contains_key(extension.id) {
            schemas.push(Value::from(extension.id));
        }
    }
    object.insert("schemas".into(), Value::Array(schemas));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "id": "u1",
            "userName": "ann",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
            "active": true,
            ENTERPRISE_USER_SCHEMA: {"department": "R&D", "costCenter": "42"},
            "meta": {"resourceType": "User"}
        })
    }

    fn select(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        Selection::parse(ResourceType::User, attributes, excluded)
            .map(|selection| selection.apply(ResourceType::User, user()))
            .unwrap_or(Value::Null)
    }

    #[test]
    fn attributes_keep_only_the_named_ones_and_those_always_returned() {
        assert_eq!(
            select(Some("USERNAME,name.givenName"), None),
            json!({"schemas": [USER_SCHEMA], "id": "u1", "userName": "ann", "name": {"givenName": "Ann"}})
        );
    }

    #[test]
    fn sub_attributes_of_multi_valued_attributes_are_kept_per_value() {
        assert_eq!(
            select(Some("emails.value"), None)["emails"],
            json!([{"value": "a@x"}, {"value": "b@x"}])
        );
    }

    #[test]
    fn excluded_attributes_are_removed_but_never_the_id() {
        let selected = select(None, Some("name,emails.type,id"));
        assert!(selected.get("name").is_none());
        assert_eq!(
            selected["emails"],
            json!([{"value": "a@x"}, {"value": "b@x"}])
        );
        assert_eq!(selected["id"], "u1");
    }

    #[test]
    fn extensions_are_selected_whole_or_by_attribute() {
        let whole = select(Some(ENTERPRISE_USER_SCHEMA), None);
        assert_eq!(whole[ENTERPRISE_USER_SCHEMA]["costCenter"], "42");
        let one = select(Some(&format!("{ENTERPRISE_USER_SCHEMA}:department")), None);
        assert_eq!(one[ENTERPRISE_USER_SCHEMA], json!({"department": "R&D"}));
        let without = select(None, Some(ENTERPRISE_USER_SCHEMA));
        assert!(without.get(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(without["schemas"], json!([USER_SCHEMA]));
    }

    #[test]
    fn unknown_names_select_nothing() {
        assert_eq!(
            select(Some("favouriteColour"), None),
            json!({"schemas": [USER_SCHEMA], "id": "u1"})
        );
    }

    #[test]
    fn malformed_names_are_invalid_values() {
        assert!(
            Selection::parse(ResourceType::User, Some("emails[type eq \"work\"]"), None).is_err()
        );
        assert!(Selection::parse(ResourceType::User, Some("name..x"), None).is_err());
    }

    #[test]
    fn inclusion_of_an_attribute_is_known_before_rendering() {
        let selection = Selection::parse(ResourceType::Group, None, Some("members"));
        assert!(selection.is_ok_and(|s| !s.includes("members")));
        let selection = Selection::parse(ResourceType::Group, Some("displayName"), None);
        assert!(selection.is_ok_and(|s| !s.includes("members")));
        assert!(Selection::all().includes("members"));
    }
}
