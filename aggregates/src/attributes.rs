//! A resource's SCIM attributes beyond the ones the domain reasons about, and the changes
//! between two versions of them.
//!
//! The SCIM layer validates and canonicalises attribute names before they get here; the domain
//! only compares and records. Changes are kept at sub-attribute level for complex singular
//! attributes (`name.givenName`, an extension's `department`) because that is the granularity
//! an auditor asks about; multi-valued attributes change as a whole.

use crate::values::changed_keys;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Canonically named SCIM attributes, e.g. `{"name": {...}, "emails": [...],
/// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Attributes(Map<String, Value>);

impl Attributes {
    pub fn new(map: Map<String, Value>) -> Self {
        Self(map)
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    pub fn get(&self, attribute: &str) -> Option<&Value> {
        self.0.get(attribute)
    }

    /// Gives `attribute` the value `value` unless it already has one.
    pub fn or_insert(&mut self, attribute: &str, value: Value) {
        self.0.entry(attribute).or_insert(value);
    }

    /// Every change that turns `self` into `other`, in attribute order.
    pub fn changes_to(&self, other: &Attributes) -> Vec<AttributeChange> {
        let mut changes = Vec::new();
        let mut names: Vec<&String> = self.0.keys().chain(other.0.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let (old, new) = (self.0.get(name), other.0.get(name));
            if old == new {
                continue;
            }
            match (as_object(old), as_object(new)) {
                (Some(old_object), Some(new_object)) => {
                    let subs = sub_attribute_changes(name, old_object, new_object);
                    // `{}` versus absent differs without any sub-attribute differing.
                    if subs.is_empty() {
                        changes.push(AttributeChange::whole(name, old.cloned(), new.cloned()));
                    }
                    changes.extend(subs);
                }
                _ => changes.push(AttributeChange::whole(name, old.cloned(), new.cloned())),
            }
        }
        changes
    }

    /// Applies a recorded change; the inverse of `changes_to`.
    pub fn apply(&mut self, change: &AttributeChange) {
        match &change.sub_attribute {
            None => match &change.new {
                Some(value) => {
                    self.0.insert(change.attribute.clone(), value.clone());
                }
                None => {
                    self.0.remove(&change.attribute);
                }
            },
            Some(sub) => {
                let parent = self
                    .0
                    .entry(change.attribute.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !parent.is_object() {
                    *parent = Value::Object(Map::new());
                }
                if let Value::Object(object) = parent {
                    match &change.new {
                        Some(value) => {
                            object.insert(sub.clone(), value.clone());
                        }
                        None => {
                            object.remove(sub);
                        }
                    }
                    if object.is_empty() {
                        self.0.remove(&change.attribute);
                    }
                }
            }
        }
    }
}

/// An absent side counts as an empty object, so that adding a whole complex attribute is
/// recorded per sub-attribute like any other edit of it.
fn as_object(value: Option<&Value>) -> Option<&Map<String, Value>> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match value {
        None => Some(EMPTY.get_or_init(Map::new)),
        Some(Value::Object(object)) => Some(object),
        Some(_) => None,
    }
}

fn sub_attribute_changes(
    attribute: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Vec<AttributeChange> {
    changed_keys(old.keys(), new.keys(), |name| {
        old.get(name) != new.get(name)
    })
    .into_iter()
    .map(|name| AttributeChange {
        attribute: attribute.to_string(),
        sub_attribute: Some(name.clone()),
        old: old.get(name).cloned(),
        new: new.get(name).cloned(),
    })
    .collect()
}

/// One attribute's old and new value; `None` means absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub attribute: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_attribute: Option<String>,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl AttributeChange {
    pub fn whole(attribute: &str, old: Option<Value>, new: Option<Value>) -> Self {
        Self {
            attribute: attribute.to_string(),
            sub_attribute: None,
            old,
            new,
        }
    }
}

/// The SCIM path of the changed attribute: `name.givenName`, or
/// `urn:...:enterprise:2.0:User:department` for an extension's attribute (RFC 7644 §3.10).
impl fmt::Display for AttributeChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sub_attribute {
            None => f.write_str(&self.attribute),
            Some(sub) if self.attribute.starts_with("urn:") => {
                write!(f, "{}:{}", self.attribute, sub)
            }
            Some(sub) => write!(f, "{}.{}", self.attribute, sub),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attributes(value: Value) -> Attributes {
        match value {
            Value::Object(map) => Attributes::new(map),
            _ => Attributes::default(),
        }
    }

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn complex_attributes_change_per_sub_attribute() {
        let old = attributes(json!({"name": {"givenName": "Ann", "familyName": "Lee"}}));
        let new = attributes(json!({"name": {"givenName": "Anna", "familyName": "Lee"}}));
        let changes = old.changes_to(&new);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].to_string(), "name.givenName");
        assert_eq!(changes[0].old, Some(json!("Ann")));
        assert_eq!(changes[0].new, Some(json!("Anna")));
    }

    #[test]
    fn multi_valued_attributes_change_as_a_whole() {
        let old = attributes(json!({"emails": [{"value": "a@x"}]}));
        let new = attributes(json!({"emails": [{"value": "b@x"}]}));
        let changes = old.changes_to(&new);
        assert_eq!(
            changes,
            vec![AttributeChange::whole(
                "emails",
                Some(json!([{"value": "a@x"}])),
                Some(json!([{"value": "b@x"}]))
            )]
        );
    }

    #[test]
    fn extension_attributes_are_named_with_their_urn() {
        let old = attributes(json!({}));
        let new = attributes(json!({ENTERPRISE: {"department": "R&D"}}));
        let changes = old.changes_to(&new);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].to_string(), format!("{ENTERPRISE}:department"));
        assert_eq!(changes[0].old, None);
    }

    #[test]
    fn applying_the_changes_reproduces_the_new_attributes() {
        let old = attributes(json!({
            "name": {"givenName": "Ann"},
            "title": "Engineer",
            ENTERPRISE: {"department": "R&D", "manager": {"value": "m1"}}
        }));
        let new = attributes(json!({
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@x", "primary": true}],
            ENTERPRISE: {"manager": {"value": "m2"}}
        }));
        let mut replayed = old.clone();
        for change in old.changes_to(&new) {
            replayed.apply(&change);
        }
        assert_eq!(replayed, new);
    }

    #[test]
    fn removing_the_last_sub_attribute_removes_the_attribute() {
        let old = attributes(json!({"name": {"givenName": "Ann"}}));
        let new = attributes(json!({}));
        let mut replayed = old.clone();
        for change in old.changes_to(&new) {
            replayed.apply(&change);
        }
        assert_eq!(replayed, new);
    }

    #[test]
    fn equal_attributes_have_no_changes() {
        let same = attributes(json!({"name": {"givenName": "Ann"}, "emails": []}));
        assert!(same.changes_to(&same.clone()).is_empty());
    }
}
