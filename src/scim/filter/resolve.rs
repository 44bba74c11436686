//! Resolving filter and `sortBy` attribute paths against a resource type's schemas, and
//! checking that every comparison of a filter makes sense for the attribute's type.
//!
//! A filter is checked once, before anything evaluates it: the SQL translation and the Rust
//! evaluator may then assume every path resolves and every operand suits its attribute, which
//! is what lets them give the same answers.

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::resource::boolean;
use crate::scim::schema::{AttrType, AttributeDef, ResourceType, ID, META};

/// Where a path's values are in a rendered resource.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Canonical keys from the resource's root down to the values.
    pub keys: Vec<&'static str>,
    /// The definition of the values the keys reach.
    pub def: &'static AttributeDef,
}

impl Resolved {
    fn new(keys: Vec<&'static str>, def: &'static AttributeDef) -> Self {
        Self { keys, def }
    }

    /// Comparing a complex attribute means comparing its `value` (RFC 7644 §3.4.2.2: `emails
    /// eq "a@x"` reads as `emails.value eq "a@x"`).
    pub fn compared(self) -> Option<Self> {
        if self.def.kind != AttrType::Complex {
            return Some(self);
        }
        let value = self.def.sub_attribute("value")?;
        let mut keys = self.keys;
        keys.push(value.name);
        Some(Self::new(keys, value))
    }
}

/// The attribute `path` names in resources of `resource_type`, if it has one.
pub fn resolve(resource_type: ResourceType, path: &AttrPath) -> Option<Resolved> {
    let top = match path.urn.as_deref() {
        Some(urn) if !urn.eq_ignore_ascii_case(resource_type.core().id) => {
            let extension = resource_type.attribute(urn)?;
            let attribute = extension.sub_attribute(&path.name)?;
            Resolved::new(vec![extension.name, attribute.name], attribute)
        }
        _ => {
            let def = [&ID, &META]
                .into_iter()
                .find(|common| common.name.eq_ignore_ascii_case(&path.name))
                .or_else(|| resource_type.attribute(&path.name))?;
            Resolved::new(vec![def.name], def)
        }
    };
    match &path.sub_attr {
        None => Some(top),
        Some(sub) => {
            let def = top.def.sub_attribute(sub)?;
            let mut keys = top.keys;
            keys.push(def.name);
            Some(Resolved::new(keys, def))
        }
    }
}

/// The sub-attribute a path inside `attr[...]` names: a plain name, relative to `attr`.
pub fn resolve_within(parent: &'static AttributeDef, path: &AttrPath) -> Option<Resolved> {
    if path.urn.is_some() || path.sub_attr.is_some() {
        return None;
    }
    let def = parent.sub_attribute(&path.name)?;
    Some(Resolved::new(vec![def.name], def))
}

/// Whether `filter` can be evaluated on resources of the types in `scope`: every attribute
/// exists (in one of them at least; where it does not, resources have no value for it) and
/// every comparison suits its attribute's type. Errors are `invalidFilter`.
pub fn check_in_any(scope: &[ResourceType], filter: &Filter) -> Result<(), ScimError> {
    let resolve_in_any = |path: &AttrPath| {
        scope
            .iter()
            .find_map(|resource_type| resolve(*resource_type, path))
    };
    check_with(filter, &resolve_in_any, true)
}

/// The same check for the filter of a value path, against `parent`'s sub-attributes.
pub fn check_within(parent: &'static AttributeDef, filter: &Filter) -> Result<(), ScimError> {
    check_with(filter, &|path| resolve_within(parent, path), false)
}

fn check_with(
    filter: &Filter,
    resolve: &dyn Fn(&AttrPath) -> Option<Resolved>,
    top_level: bool,
) -> Result<(), ScimError> {
    let unknown = |path: &AttrPath| invalid(format!("there is no attribute {path} to filter on"));
    match filter {
        Filter::And(..) | Filter::Or(..) => filter
            .operands()
            .into_iter()
            .try_for_each(|operand| check_with(operand, resolve, top_level)),
        Filter::Not(inner) => check_with(inner, resolve, top_level),
        Filter::Present(path) => resolve(path).map(drop).ok_or_else(|| unknown(path)),
        Filter::Compare { path, op, value } => {
            let resolved = resolve(path).ok_or_else(|| unknown(path))?;
            let compared = resolved
                .compared()
                .ok_or_else(|| invalid(format!("{path} is complex and has no value to compare")))?;
            check_comparison(path, compared.def, *op, value)
        }
        Filter::ValuePath { attr, filter } => {
            if !top_level {
                return Err(invalid("value filters cannot be nested".into()));
            }
            let resolved = resolve(attr).ok_or_else(|| unknown(attr))?;
            if resolved.def.kind != AttrType::Complex {
                return Err(invalid(format!(
                    "{attr} is not complex, so it takes no [filter]"
                )));
            }
            check_within(resolved.def, filter)
        }
    }
}

fn check_comparison(
    path: &AttrPath,
    def: &AttributeDef,
    op: CompareOp,
    value: &CompValue,
) -> Result<(), ScimError> {
    use CompareOp::*;
    if let CompValue::Null = value {
        return match op {
            Eq | Ne => Ok(()),
            _ => Err(invalid(format!("{path} {op} null compares with nothing"))),
        };
    }
    let substring = matches!(op, Co | Sw | Ew);
    let ordering = matches!(op, Gt | Ge | Lt | Le);
    let suits = match def.kind {
        AttrType::Boolean => {
            !substring
                && !ordering
                && match value {
                    CompValue::Bool(_) => true,
                    CompValue::String(text) => boolean(&serde_json::json!(text)).is_some(),
                    _ => false,
                }
        }
        AttrType::Integer | AttrType::Decimal => {
            !substring && matches!(value, CompValue::Number(_))
        }
        AttrType::DateTime => {
            !substring
                && matches!(value, CompValue::String(text)
                    if chrono::DateTime::parse_from_rfc3339(text).is_ok())
        }
        AttrType::Binary => !substring && !ordering && matches!(value, CompValue::String(_)),
        AttrType::String | AttrType::Reference(_) => matches!(value, CompValue::String(_)),
        AttrType::Complex => false,
    };
    if suits {
        Ok(())
    } else {
        Err(invalid(format!(
            "{path} {op} {value}: {} cannot be compared that way",
            describe(def.kind)
        )))
    }
}

fn describe(kind: AttrType) -> &'static str {
    match kind {
        AttrType::Boolean => "a boolean (eq or ne with true or false)",
        AttrType::Integer | AttrType::Decimal => "a number",
        AttrType::DateTime => "a date-time (compared with an RFC 3339 string)",
        AttrType::Binary => "a binary value (eq or ne only)",
        AttrType::String | AttrType::Reference(_) => "a string",
        AttrType::Complex => "a complex attribute",
    }
}

fn invalid(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidFilter, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;

    fn checked(resource_type: ResourceType, filter: &str) -> Result<(), Option<ScimType>> {
        let filter = parse_filter(filter).map_err(|_| None)?;
        check_in_any(&[resource_type], &filter).map_err(|error| error.scim_type)
    }

    #[test]
    fn names_resolve_without_regard_to_case_and_urn() {
        let user = ResourceType::User;
        for filter in [
            r#"USERNAME eq "a""#,
            r#"name.GivenName sw "A""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails.value co "@""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#,
            r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
            r#"emails[type eq "work" and value co "@corp"]"#,
            r#"emails eq "a@corp""#,
            r#"active eq "True""#,
        ] {
            assert_eq!(checked(user, filter), Ok(()), "{filter}");
        }
    }

    #[test]
    fn unknown_attributes_and_unsuitable_comparisons_are_invalid_filters() {
        let invalid = Err(Some(ScimType::InvalidFilter));
        let user = ResourceType::User;
        for filter in [
            r#"favouriteColour eq "red""#,
            r#"name.middle eq "x""#,
            r#"active gt true"#,
            r#"active eq "yes""#,
            r#"meta.created co "2026""#,
            r#"meta.created gt "yesterday""#,
            r#"userName eq 5"#,
            r#"name eq "x""#,
            r#"userName gt null"#,
            r#"emails[colour eq "red"]"#,
            r#"userName[value eq "x"]"#,
        ] {
            assert_eq!(checked(user, filter), invalid, "{filter}");
        }
        assert_eq!(checked(ResourceType::Group, r#"userName eq "a""#), invalid);
    }

    #[test]
    fn paths_resolve_to_canonical_keys() {
        let path = AttrPath {
            urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user".into()),
            name: "MANAGER".into(),
            sub_attr: Some("Value".into()),
        };
        let resolved = resolve(ResourceType::User, &path).map(|r| r.keys);
        assert_eq!(
            resolved,
            Some(vec![
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "manager",
                "value"
            ])
        );
    }
}
