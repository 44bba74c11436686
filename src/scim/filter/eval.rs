//! Evaluating filters in Rust: a whole filter against a rendered resource (for listings whose
//! filter SQL cannot express), and a value filter (`emails[type eq "work"]`) against the
//! elements of a multi-valued attribute (for PATCH paths). Comparison follows the attribute's
//! definition: case-insensitive unless `caseExact` (RFC 7644 §3.4.2.2), date-times as instants,
//! and a multi-valued attribute matches when any of its values does (`ne`: when none equals).

use super::resolve::{resolve, Resolved};
use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::resource::boolean;
use crate::scim::schema::{AttrType, AttributeDef, ResourceType};
use aggregates::values::case_insensitive_key;
use projections::metadata::timestamp;
use serde_json::Value;
use std::cmp::Ordering;

/// Whether `resource`, rendered as clients see it, matches `filter`, which has passed
/// [`super::resolve::check_in_any`] for `resource_type`.
pub fn resource_matches(filter: &Filter, resource_type: ResourceType, resource: &Value) -> bool {
    let at = |path: &AttrPath| resolve(resource_type, path);
    match filter {
        Filter::And(..) => filter
            .operands()
            .into_iter()
            .all(|operand| resource_matches(operand, resource_type, resource)),
        Filter::Or(..) => filter
            .operands()
            .into_iter()
            .any(|operand| resource_matches(operand, resource_type, resource)),
        Filter::Not(inner) => !resource_matches(inner, resource_type, resource),
        Filter::Present(path) => {
            at(path).is_some_and(|resolved| values_at(resource, &resolved.keys).any(is_present))
        }
        Filter::Compare { path, op, value } => match at(path).and_then(Resolved::compared) {
            Some(resolved) => {
                let values: Vec<&Value> = values_at(resource, &resolved.keys).collect();
                compare_all(&values, *op, value, resolved.def)
            }
            // In a search across resource types, an attribute another type has is one this
            // resource has no value for.
            None => match op {
                CompareOp::Eq => matches!(value, CompValue::Null),
                CompareOp::Ne => !matches!(value, CompValue::Null),
                _ => false,
            },
        },
        Filter::ValuePath { attr, filter } => at(attr).is_some_and(|resolved| {
            values_at(resource, &resolved.keys)
                .any(|element| matches(filter, element, resolved.def).unwrap_or(false))
        }),
    }
}

/// The non-null values `keys` reach in `resource`, multi-valued attributes flattened.
pub fn values_at<'v>(resource: &'v Value, keys: &[&str]) -> impl Iterator<Item = &'v Value> {
    let mut current = vec![resource];
    for key in keys {
        current = current
            .into_iter()
            .filter_map(|value| value.as_object().and_then(|object| object.get(*key)))
            .flat_map(|value| match value {
                Value::Array(items) => items.iter().collect::<Vec<_>>(),
                single => vec![single],
            })
            .collect();
    }
    current.into_iter().filter(|value| !value.is_null())
}

fn compare_all(values: &[&Value], op: CompareOp, expected: &CompValue, def: &AttributeDef) -> bool {
    match (values, op) {
        ([], _) => compare(None, op, expected, def),
        (_, CompareOp::Ne) => !values
            .iter()
            .any(|value| compare(Some(value), CompareOp::Eq, expected, def)),
        _ => values
            .iter()
            .any(|value| compare(Some(value), op, expected, def)),
    }
}

/// Whether `element`, a value of the multi-valued complex attribute `def`, matches `filter`.
pub fn matches(filter: &Filter, element: &Value, def: &AttributeDef) -> Result<bool, ScimError> {
    Ok(match filter {
        Filter::And(..) => {
            for operand in filter.operands() {
                if !matches(operand, element, def)? {
                    return Ok(false);
                }
            }
            true
        }
        Filter::Or(..) => {
            for operand in filter.operands() {
                if matches(operand, element, def)? {
                    return Ok(true);
                }
            }
            false
        }
        Filter::Not(inner) => !matches(inner, element, def)?,
        Filter::Present(path) => {
            let (value, _) = lookup(path, element, def)?;
            value.is_some_and(is_present)
        }
        Filter::Compare { path, op, value } => {
            let (actual, sub) = lookup(path, element, def)?;
            compare(actual, *op, value, sub)
        }
        Filter::ValuePath { .. } => {
            return Err(ScimError::bad_request(
                ScimType::InvalidFilter,
                "value filters cannot be nested",
            ))
        }
    })
}

fn lookup<'a>(
    path: &AttrPath,
    element: &'a Value,
    def: &AttributeDef,
) -> Result<(Option<&'a Value>, &'static AttributeDef), ScimError> {
    let sub = def.sub_attribute(&path.name).ok_or_else(|| {
        ScimError::bad_request(
            ScimType::InvalidFilter,
            format!("{} has no sub-attribute {}", def.name, path.name),
        )
    })?;
    let value = element
        .as_object()
        .and_then(|object| object.get(sub.name))
        .filter(|value| !value.is_null());
    Ok((value, sub))
}

/// RFC 7644 §3.4.2.2 `pr`: has a non-empty value.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(object) => !object.is_empty(),
        _ => true,
    }
}

fn compare(
    actual: Option<&Value>,
    op: CompareOp,
    expected: &CompValue,
    def: &AttributeDef,
) -> bool {
    let Some(actual) = actual else {
        // An absent attribute equals nothing but null, and differs from everything else.
        return match op {
            CompareOp::Eq => matches!(expected, CompValue::Null),
            CompareOp::Ne => !matches!(expected, CompValue::Null),
            _ => false,
        };
    };
    if def.kind == AttrType::Boolean {
        let expected = match expected {
            CompValue::Bool(flag) => Some(*flag),
            CompValue::String(text) => boolean(&Value::String(text.clone())),
            _ => None,
        };
        return match (boolean(actual), expected, op) {
            (Some(a), Some(e), CompareOp::Eq) => a == e,
            (Some(a), Some(e), CompareOp::Ne) => a != e,
            _ => false,
        };
    }
    match (actual, expected) {
        (Value::String(actual), CompValue::String(expected)) => {
            let (actual, expected) = if def.kind == AttrType::DateTime {
                (normalised_instant(actual), normalised_instant(expected))
            } else if def.case_exact {
                (actual.clone(), expected.clone())
            } else {
                (case_insensitive_key(actual), case_insensitive_key(expected))
            };
            match op {
                CompareOp::Eq => actual == expected,
                CompareOp::Ne => actual != expected,
                CompareOp::Co => actual.contains(&expected),
                CompareOp::Sw => actual.starts_with(&expected),
                CompareOp::Ew => actual.ends_with(&expected),
                ordering => holds(ordering, actual.cmp(&expected)),
            }
        }
        (Value::Number(actual), CompValue::Number(expected)) => {
            match (actual.as_f64(), expected.as_f64()) {
                (Some(a), Some(e)) => a.partial_cmp(&e).is_some_and(|order| holds(op, order)),
                _ => false,
            }
        }
        (_, CompValue::Null) => op == CompareOp::Ne,
        _ => op == CompareOp::Ne,
    }
}

/// A date-time in scimd's fixed-width UTC form, which orders as text the way instants do; the
/// SQL translation compares stored timestamps in the same form.
pub fn normalised_instant(text: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| timestamp(at.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| text.to_string())
}

fn holds(op: CompareOp, order: Ordering) -> bool {
    match op {
        CompareOp::Eq => order == Ordering::Equal,
        CompareOp::Ne => order != Ordering::Equal,
        CompareOp::Gt => order == Ordering::Greater,
        CompareOp::Ge => order != Ordering::Less,
        CompareOp::Lt => order == Ordering::Less,
        CompareOp::Le => order != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::CORE_USER;
    use serde_json::json;

    fn emails_match(filter: &str, element: Value) -> bool {
        let emails = CORE_USER.attribute("emails");
        let filter = parse_filter(filter);
        match (emails, filter) {
            (Some(def), Ok(filter)) => matches(&filter, &element, def).unwrap_or(false),
            _ => false,
        }
    }

    #[test]
    fn string_comparison_ignores_case_unless_case_exact() {
        assert!(emails_match(r#"type eq "WORK""#, json!({"type": "work"})));
        assert!(emails_match(
            r#"value co "@Corp""#,
            json!({"value": "a@corp.com"})
        ));
        assert!(!emails_match(r#"type eq "home""#, json!({"type": "work"})));
    }

    #[test]
    fn booleans_match_boolean_strings() {
        assert!(emails_match(
            r#"primary eq "True""#,
            json!({"primary": true})
        ));
        assert!(emails_match("primary eq true", json!({"primary": "true"})));
        assert!(!emails_match("primary eq true", json!({"primary": false})));
    }

    #[test]
    fn absent_sub_attributes_are_not_present() {
        assert!(!emails_match("type pr", json!({"value": "a@x"})));
        assert!(emails_match(r#"type ne "work""#, json!({"value": "a@x"})));
    }

    #[test]
    fn logical_operators_combine() {
        let element = json!({"type": "work", "value": "a@corp"});
        assert!(emails_match(
            r#"type eq "work" and value ew "corp""#,
            element.clone()
        ));
        assert!(emails_match(
            r#"type eq "home" or not (value sw "b")"#,
            element
        ));
    }

    #[test]
    fn unknown_sub_attributes_are_invalid_filters() {
        let emails = CORE_USER.attribute("emails");
        let filter = parse_filter(r#"colour eq "red""#);
        let result = match (emails, filter) {
            (Some(def), Ok(filter)) => matches(&filter, &json!({}), def).err(),
            _ => None,
        };
        assert_eq!(
            result.and_then(|e| e.scim_type),
            Some(ScimType::InvalidFilter)
        );
    }

    /// The shortest terms joined by `keyword`, as many as the longest filter holds, then `last`.
    fn longest_chain(term: &str, keyword: &str, last: &str) -> String {
        let joint = format!("{term} {keyword} ");
        let room = crate::scim::filter::MAX_FILTER_LENGTH - last.len();
        format!("{}{last}", joint.repeat(room / joint.len()))
    }

    /// A chain nests as deep as it is long: evaluated with one recursion per term, the longest
    /// chains overflowed the stack of the worker thread serving the request (which holds the
    /// rest of the request's frames too). Here the evaluator gets a small stack of its own:
    /// enough for any nesting the depth limit allows, far too little for one frame per term.
    #[test]
    fn the_longest_chains_are_evaluated_without_exhausting_the_stack() {
        let evaluated = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(evaluate_the_longest_chains)
            .map(|thread| thread.join());
        assert!(matches!(evaluated, Ok(Ok(()))));
    }

    fn evaluate_the_longest_chains() {
        let user = json!({"userName": "a", "title": "Manager", "emails": [{"type": "work"}]});
        let whole = |filter: &str| {
            parse_filter(filter)
                .map(|filter| resource_matches(&filter, ResourceType::User, &user))
                .map_err(|error| error.to_string())
        };
        let ors = longest_chain("title pr", "or", r#"title eq "x""#);
        let ands = longest_chain("title pr", "and", r#"title eq "x""#);
        assert_eq!(whole(&ors), Ok(true));
        assert_eq!(whole(&ands), Ok(false));
        let element = json!({"type": "work"});
        assert!(emails_match(
            &longest_chain("type pr", "and", "type pr"),
            element.clone()
        ));
        assert!(emails_match(
            &longest_chain("value pr", "or", "type pr"),
            element
        ));
    }
}
