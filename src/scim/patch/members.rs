//! A Group PATCH's operations on `members`, taken apart from the rest so that a member change
//! costs in proportion to the members it names, never to the size of the group.
//!
//! Forms handled: `add`/`replace` of `members` (with or without path), `remove` of
//! `members[value eq "id"]` (also several ids joined by `or`), Entra ID's `remove` of
//! `members` listing the ids to remove in `value`, and `remove` of `members` alone (all).

use super::path::PatchPath;
use super::request::{PatchOp, PatchOperation};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::resource::member_ids;
use serde_json::Value;

/// A change of members as the client stated it, before scimd knows whether each id is a user
/// or a group.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberEdit {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    ReplaceAll(Vec<String>),
}

/// The operations that do not touch members, and the member edits, each in request order.
pub fn split_member_operations(
    operations: Vec<PatchOperation>,
) -> Result<(Vec<PatchOperation>, Vec<MemberEdit>), ScimError> {
    let mut others = Vec::new();
    let mut edits = Vec::new();
    for operation in operations {
        match &operation.path {
            Some(path) if is_members(path) => edits.push(member_edit(&operation, path)?),
            Some(_) => others.push(operation),
            None => {
                let (rest, members) = take_members(operation.value);
                if let Some(members) = members {
                    let ids = member_ids(&members)?;
                    edits.push(match operation.op {
                        PatchOp::Replace => MemberEdit::ReplaceAll(ids),
                        _ => MemberEdit::Add(ids),
                    });
                }
                if rest.is_some() {
                    others.push(PatchOperation {
                        value: rest,
                        ..operation
                    });
                }
            }
        }
    }
    Ok((others, edits))
}

fn is_members(path: &PatchPath) -> bool {
    path.attr.urn.is_none() && path.attr.name.eq_ignore_ascii_case("members")
}

/// Splits `members` out of a path-less value object; `None` for what is left if nothing is.
fn take_members(value: Option<Value>) -> (Option<Value>, Option<Value>) {
    let Some(Value::Object(mut object)) = value else {
        return (value, None);
    };
    let key = object
        .keys()
        .find(|key| key.eq_ignore_ascii_case("members"))
        .cloned();
    let members = key.and_then(|key| object.remove(&key));
    let rest = (!object.is_empty()).then_some(Value::Object(object));
    (rest, members)
}

fn member_edit(operation: &PatchOperation, path: &PatchPath) -> Result<MemberEdit, ScimError> {
    if path.attr.sub_attr.is_some() || path.sub_attr.is_some() {
        return Err(ScimError::bad_request(
            ScimType::Mutability,
            "sub-attributes of members are immutable; add or remove the member instead",
        ));
    }
    let value = operation.value.as_ref();
    match (operation.op, &path.filter) {
        (PatchOp::Remove, Some(filter)) => Ok(MemberEdit::Remove(filtered_ids(filter)?)),
        (PatchOp::Remove, None) => match value {
            Some(listed) => Ok(MemberEdit::Remove(member_ids(listed)?)),
            None => Ok(MemberEdit::RemoveAll),
        },
        (op, None) => {
            let ids = member_ids(value.unwrap_or(&Value::Null))?;
            Ok(match op {
                PatchOp::Replace => MemberEdit::ReplaceAll(ids),
                _ => MemberEdit::Add(ids),
            })
        }
        (_, Some(_)) => Err(ScimError::bad_request(
            ScimType::InvalidPath,
            "members can be selected by a filter only to remove them",
        )),
    }
}

/// The ids a `value eq "id"` filter (or several joined by `or`) selects.
fn filtered_ids(filter: &Filter) -> Result<Vec<String>, ScimError> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(id),
        } if path.name.eq_ignore_ascii_case("value") && path.sub_attr.is_none() => {
            Ok(vec![id.clone()])
        }
        Filter::Or(..) => {
            let mut ids = Vec::new();
            for operand in filter.operands() {
                ids.extend(filtered_ids(operand)?);
            }
            Ok(ids)
        }
        other => Err(ScimError::bad_request(
            ScimType::InvalidPath,
            format!(
                "members can be selected only by value, as in members[value eq \"id\"], not by {other}"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::FilterLimits;
    use crate::scim::patch::parse_patch_request;
    use serde_json::json;

    fn split(operations: Value) -> Result<(Vec<PatchOperation>, Vec<MemberEdit>), ScimError> {
        split_member_operations(parse_patch_request(
            &json!({ "Operations": operations }),
            FilterLimits::default(),
        )?)
    }

    #[test]
    fn removing_by_value_filter_names_the_member() {
        let result = split(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]));
        assert_eq!(
            result,
            Ok((vec![], vec![MemberEdit::Remove(vec!["u1".into()])]))
        );
    }

    #[test]
    fn removing_members_listed_in_value_removes_only_those() {
        let result = split(
            json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]),
        );
        assert_eq!(
            result,
            Ok((
                vec![],
                vec![MemberEdit::Remove(vec!["u1".into(), "u2".into()])]
            ))
        );
    }

    #[test]
    fn removing_members_without_value_removes_all() {
        let result = split(json!([{"op": "remove", "path": "members"}]));
        assert_eq!(result, Ok((vec![], vec![MemberEdit::RemoveAll])));
    }

    #[test]
    fn a_path_less_replace_splits_members_from_the_name() {
        let result = split(
            json!([{"op": "replace", "value": {"displayName": "R&D", "members": [{"value": "u1"}]}}]),
        );
        let Ok((others, edits)) = result else {
            panic!("split failed: {result:?}");
        };
        assert_eq!(edits, vec![MemberEdit::ReplaceAll(vec!["u1".into()])]);
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].value, Some(json!({"displayName": "R&D"})));
    }

    #[test]
    fn member_sub_attributes_are_immutable() {
        let error = split(
            json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}]),
        )
        .err();
        assert_eq!(error.and_then(|e| e.scim_type), Some(ScimType::Mutability));
    }

    #[test]
    fn other_member_filters_are_invalid_paths() {
        let error = split(json!([{"op": "remove", "path": "members[display eq \"x\"]"}])).err();
        assert_eq!(error.and_then(|e| e.scim_type), Some(ScimType::InvalidPath));
    }
}
