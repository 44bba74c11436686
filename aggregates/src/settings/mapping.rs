//! The application's User entity fields and the mapping from SCIM attributes onto them.
//!
//! Attribute paths are kept as the SCIM text the administrator wrote (`name.givenName`,
//! `addresses[type eq "work"].country`, URN-qualified enterprise paths); the protocol layer
//! checks them before a command carries them here and evaluates them against a user. What is
//! decided here: which fields exist, which rows may change, and what changed between two
//! mapped states.

use crate::values::changed_keys;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const USER_NAME_FIELD: &str = "User Name";

/// The User entity's standard text fields, in the order the application shows them.
pub const STANDARD_FIELDS: [&str; 9] = [
    USER_NAME_FIELD,
    "Display Name",
    "Email",
    "First Name",
    "Last Name",
    "Office Phone",
    "Mobile Phone",
    "Direct Manager",
    "Scim Sync Job Title",
];

const ENTERPRISE_MANAGER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value";

/// The mapping every instance starts with (and returns to on reset).
const DEFAULT_ROWS: [(&str, &str); 9] = [
    ("userName", USER_NAME_FIELD),
    ("displayName", "Display Name"),
    ("emails[type eq \"work\" or primary eq true].value", "Email"),
    ("name.givenName", "First Name"),
    ("name.familyName", "Last Name"),
    ("phoneNumbers[type eq \"work\"].value", "Office Phone"),
    ("phoneNumbers[type eq \"mobile\"].value", "Mobile Phone"),
    (ENTERPRISE_MANAGER, "Direct Manager"),
    ("title", "Scim Sync Job Title"),
];

/// One row: the SCIM attribute whose value fills a User entity field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingRow {
    pub attribute: String,
    pub field: String,
}

impl MappingRow {
    /// The userName row identifies the account and can be neither changed nor deleted.
    pub fn is_read_only(&self) -> bool {
        self.field == USER_NAME_FIELD
    }
}

pub fn default_mapping() -> Vec<MappingRow> {
    DEFAULT_ROWS
        .iter()
        .map(|(attribute, field)| MappingRow {
            attribute: (*attribute).to_string(),
            field: (*field).to_string(),
        })
        .collect()
}

/// The fields `mapping` fills: a row each, whether or not a given user has a value for it.
pub fn filled_fields(mapping: &[MappingRow]) -> BTreeSet<String> {
    mapping.iter().map(|row| row.field.clone()).collect()
}

/// The standard field named `name` (any case), in its canonical spelling.
pub fn standard_field(name: &str) -> Option<&'static str> {
    STANDARD_FIELDS
        .iter()
        .copied()
        .find(|field| field.eq_ignore_ascii_case(name.trim()))
}

/// A field whose mapped value changed, with both values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Mapped field values: field name to value; a field without a value is absent.
pub type MappedFields = BTreeMap<String, String>;

/// Exactly the fields whose values differ between `old` and `new`, in field-name order.
pub fn changed_fields(old: &MappedFields, new: &MappedFields) -> Vec<FieldChange> {
    changed_keys(old.keys(), new.keys(), |name| {
        old.get(name) != new.get(name)
    })
    .into_iter()
    .map(|name| FieldChange {
        field: name.clone(),
        old: old.get(name).cloned(),
        new: new.get(name).cloned(),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> MappedFields {
        pairs
            .iter()
            .map(|(field, value)| (field.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn the_default_mapping_fills_every_standard_field_once() {
        let mapping = default_mapping();
        let mut mapped: Vec<&str> = mapping.iter().map(|row| row.field.as_str()).collect();
        mapped.sort_unstable();
        let mut standard = STANDARD_FIELDS.to_vec();
        standard.sort_unstable();
        assert_eq!(mapped, standard);
        let read_only: Vec<&str> = mapping
            .iter()
            .filter(|row| row.is_read_only())
            .map(|row| row.attribute.as_str())
            .collect();
        assert_eq!(read_only, ["userName"]);
    }

    #[test]
    fn only_changed_fields_are_reported_with_both_values() {
        let old = fields(&[
            ("Email", "a@x"),
            ("First Name", "Ann"),
            ("Last Name", "Lee"),
        ]);
        let new = fields(&[
            ("Email", "a@y"),
            ("First Name", "Ann"),
            ("Office Phone", "1"),
        ]);
        assert_eq!(
            changed_fields(&old, &new),
            vec![
                FieldChange {
                    field: "Email".into(),
                    old: Some("a@x".into()),
                    new: Some("a@y".into())
                },
                FieldChange {
                    field: "Last Name".into(),
                    old: Some("Lee".into()),
                    new: None
                },
                FieldChange {
                    field: "Office Phone".into(),
                    old: None,
                    new: Some("1".into())
                },
            ]
        );
        assert!(changed_fields(&new, &new).is_empty());
    }

    #[test]
    fn standard_fields_are_found_in_any_case() {
        assert_eq!(standard_field(" display name "), Some("Display Name"));
        assert_eq!(standard_field("Nickname"), None);
    }
}
