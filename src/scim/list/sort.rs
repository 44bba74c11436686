//! `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3): where a resource stands in a listing.
//!
//! A resource's place is its sort key, then its creation position, so that every order is
//! total and a cursor can say exactly where the previous page ended. Resources without a
//! value come last in ascending order; descending order is ascending order reversed.

use crate::scim::error::ScimError;
use crate::scim::filter::eval::normalised_instant;
use crate::scim::filter::resolve::resolve;
use crate::scim::filter::AttrPath;
use crate::scim::patch::parse_patch_path;
use crate::scim::resource::boolean;
use crate::scim::schema::{AttrType, ResourceType};
use aggregates::values::case_insensitive_key;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    pub path: AttrPath,
    pub descending: bool,
}

/// The value a resource is sorted by, in the form whose natural order is the sort order:
/// case-insensitive strings folded, date-times as fixed-width UTC text.
#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    Bool(bool),
    Number(f64),
    Text(String),
}

/// Where a resource stands in a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    #[serde(rename = "k")]
    pub key: Option<SortKey>,
    #[serde(rename = "p")]
    pub position: i64,
}

impl SortSpec {
    /// From `sortBy` and `sortOrder`; `None` without `sortBy` (creation order).
    pub fn parse(
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<Option<Self>, ScimError> {
        let descending = match sort_order.map(str::trim) {
            None | Some("") => false,
            Some(order) if order.eq_ignore_ascii_case("ascending") => false,
            Some(order) if order.eq_ignore_ascii_case("descending") => true,
            Some(order) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder is ascending or descending, not {order:?}"
                )))
            }
        };
        let Some(sort_by) = sort_by.map(str::trim).filter(|text| !text.is_empty()) else {
            return Ok(None);
        };
        let path = parse_patch_path(sort_by)
            .ok()
            .filter(|path| path.filter.is_none() && path.sub_attr.is_none())
            .ok_or_else(|| {
                ScimError::invalid_value(format!("sortBy {sort_by:?} is not an attribute name"))
            })?;
        Ok(Some(Self {
            path: path.attr,
            descending,
        }))
    }

    /// Refuses a `sortBy` naming nothing in resources of any of the types in `scope`.
    pub fn check(&self, scope: &[ResourceType]) -> Result<(), ScimError> {
        scope
            .iter()
            .find_map(|resource_type| resolve(*resource_type, &self.path)?.compared())
            .map(drop)
            .ok_or_else(|| {
                ScimError::invalid_value(format!("resources cannot be sorted by {}", self.path))
            })
    }

    /// The key of a rendered resource: for a multi-valued attribute, that of its primary
    /// value, or else of its first.
    pub fn key(&self, resource_type: ResourceType, resource: &Value) -> Option<SortKey> {
        let resolved = resolve(resource_type, &self.path)?.compared()?;
        let mut current = resource;
        for key in &resolved.keys {
            current = match current.get(key)? {
                Value::Array(items) => items
                    .iter()
                    .find(|item| item.get("primary").and_then(boolean) == Some(true))
                    .or_else(|| items.first())?,
                single => single,
            };
        }
        match (resolved.def.kind, current) {
            (AttrType::Boolean, value) => boolean(value).map(SortKey::Bool),
            (AttrType::Integer | AttrType::Decimal, value) => value.as_f64().map(SortKey::Number),
            (AttrType::DateTime, Value::String(text)) => {
                Some(SortKey::Text(normalised_instant(text)))
            }
            (_, Value::String(text)) if resolved.def.case_exact => {
                Some(SortKey::Text(text.clone()))
            }
            (_, Value::String(text)) => Some(SortKey::Text(case_insensitive_key(text))),
            _ => None,
        }
    }
}

/// The listing order of two places.
pub fn order(a: &Place, b: &Place, descending: bool) -> Ordering {
    let by_key = match (&a.key, &b.key) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
    };
    let ascending = by_key.then(a.position.cmp(&b.position));
    if descending {
        ascending.reverse()
    } else {
        ascending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(sort_by: &str, order: Option<&str>) -> SortSpec {
        SortSpec::parse(Some(sort_by), order)
            .ok()
            .flatten()
            .unwrap_or(SortSpec {
                path: AttrPath {
                    urn: None,
                    name: "unparsed".into(),
                    sub_attr: None,
                },
                descending: false,
            })
    }

    #[test]
    fn keys_fold_case_insensitive_strings_and_take_the_primary_value() {
        let user = json!({
            "userName": "Bob",
            "emails": [{"value": "z@x"}, {"value": "A@x", "primary": true}],
            "meta": {"created": "2026-01-01T01:00:00+01:00"},
        });
        let key = |sort_by| spec(sort_by, None).key(ResourceType::User, &user);
        assert_eq!(key("userName"), Some(SortKey::Text("bob".into())));
        assert_eq!(key("emails"), Some(SortKey::Text("a@x".into())));
        assert_eq!(
            key("meta.created"),
            Some(SortKey::Text("2026-01-01T00:00:00.000000Z".into()))
        );
        assert_eq!(key("title"), None);
    }

    #[test]
    fn missing_values_come_last_and_descending_reverses_everything() {
        let place = |key: Option<&str>, position| Place {
            key: key.map(|k| SortKey::Text(k.into())),
            position,
        };
        let mut places = [place(None, 1), place(Some("b"), 2), place(Some("a"), 3)];
        places.sort_by(|a, b| order(a, b, false));
        assert_eq!(
            places.iter().map(|p| p.position).collect::<Vec<_>>(),
            [3, 2, 1]
        );
        places.sort_by(|a, b| order(a, b, true));
        assert_eq!(
            places.iter().map(|p| p.position).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn bad_sort_parameters_are_refused() {
        assert!(SortSpec::parse(Some("userName"), Some("upwards")).is_err());
        assert!(SortSpec::parse(Some("emails[type eq \"work\"]"), None).is_err());
        assert!(spec("favouriteColour", None)
            .check(&[ResourceType::User])
            .is_err());
        assert!(spec("name.familyName", Some("Descending"))
            .check(&[ResourceType::User])
            .is_ok());
        assert!(spec("name.familyName", None)
            .check(&[ResourceType::Group])
            .is_err());
    }
}
