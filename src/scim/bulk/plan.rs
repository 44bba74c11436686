//! `bulkId` references (RFC 7644 §3.7.2) and the order the operations run in.
//!
//! An operation may name a resource that a POST of the same request creates, as the whole value
//! `bulkId:<bulkId>`: in its path (`/Groups/bulkId:g1`) or anywhere in its data (a member's
//! `value`); or as a quoted string inside a PATCH path's filter
//! (`members[value eq "bulkId:u1"]`). Operations run in the order of the request, except that one waits for the POSTs
//! it refers to, even later ones (§3.7.1 lets the server order them). References that cannot
//! be satisfied fail their operation with 409, as §3.7.1 allows for circular ones; scimd does
//! not try to break a cycle by creating first and patching later.

use super::request::{Action, Operation};
use crate::scim::error::ScimError;
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

const PREFIX: &str = "bulkId:";
const QUOTED_PREFIX: &str = "\"bulkId:";

/// The bulkId a value refers to, if the value is a reference.
fn reference(text: &str) -> Option<&str> {
    text.strip_prefix(PREFIX)
        .filter(|bulk_id| !bulk_id.is_empty())
}

/// The bulkIds a string of data refers to: the whole string, or the quoted references in it.
fn references_in(text: &str) -> Vec<&str> {
    if let Some(bulk_id) = reference(text) {
        return vec![bulk_id];
    }
    text.split(QUOTED_PREFIX)
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(bulk_id, _)| bulk_id))
        .filter(|bulk_id| !bulk_id.is_empty())
        .collect()
}

/// `text` with every reference in it replaced by the id it names.
fn substitute_text(
    text: &str,
    id_of: &dyn Fn(&str) -> Result<String, ScimError>,
) -> Result<String, ScimError> {
    if let Some(bulk_id) = reference(text) {
        return id_of(bulk_id);
    }
    let mut substituted = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(QUOTED_PREFIX) {
        let after = &rest[at + QUOTED_PREFIX.len()..];
        let Some((bulk_id, tail)) = after.split_once('"').filter(|(id, _)| !id.is_empty()) else {
            break;
        };
        substituted.push_str(&rest[..at]);
        substituted.push('"');
        substituted.push_str(&id_of(bulk_id)?);
        substituted.push('"');
        rest = tail;
    }
    substituted.push_str(rest);
    Ok(substituted)
}

fn collect<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::String(text) => found.extend(references_in(text)),
        Value::Array(items) => items.iter().for_each(|item| collect(item, found)),
        Value::Object(object) => object.values().for_each(|item| collect(item, found)),
        _ => {}
    }
}

/// The bulkIds an action refers to, in its path and data, in order of appearance, each once.
pub fn references(action: &Action) -> Vec<&str> {
    let mut found: Vec<&str> = action.id().and_then(reference).into_iter().collect();
    if let Some(data) = action.data() {
        collect(data, &mut found);
    }
    let mut seen = BTreeSet::new();
    found.retain(|bulk_id| seen.insert(*bulk_id));
    found
}

fn conflict(detail: String) -> ScimError {
    ScimError::new(StatusCode::CONFLICT, None, detail)
}

/// The action with each reference replaced by the id of the resource its POST created. A
/// reference to a POST that failed (or has not run) fails the operation.
pub fn resolve(action: &Action, created: &HashMap<String, String>) -> Result<Action, ScimError> {
    let id_of = |bulk_id: &str| {
        created.get(bulk_id).cloned().ok_or_else(|| {
            conflict(format!(
                "bulkId {bulk_id:?} names no resource: the operation that creates it failed"
            ))
        })
    };
    let substitute_id = |id: &String| match reference(id) {
        Some(bulk_id) => id_of(bulk_id),
        None => Ok(id.clone()),
    };
    fn substitute(
        value: &Value,
        id_of: &dyn Fn(&str) -> Result<String, ScimError>,
    ) -> Result<Value, ScimError> {
        Ok(match value {
            Value::String(text) => Value::String(substitute_text(text, id_of)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| substitute(item, id_of))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(object) => Value::Object(
                object
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), substitute(item, id_of)?)))
                    .collect::<Result<_, ScimError>>()?,
            ),
            _ => value.clone(),
        })
    }
    Ok(match action {
        Action::Create {
            resource_type,
            data,
        } => Action::Create {
            resource_type: *resource_type,
            data: substitute(data, &id_of)?,
        },
        Action::Replace {
            resource_type,
            id,
            data,
        } => Action::Replace {
            resource_type: *resource_type,
            id: substitute_id(id)?,
            data: substitute(data, &id_of)?,
        },
        Action::Patch {
            resource_type,
            id,
            data,
        } => Action::Patch {
            resource_type: *resource_type,
            id: substitute_id(id)?,
            data: substitute(data, &id_of)?,
        },
        Action::Delete { resource_type, id } => Action::Delete {
            resource_type: *resource_type,
            id: substitute_id(id)?,
        },
    })
}

/// One operation to run, by its index in the request, or to fail without running.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub index: usize,
    pub refusal: Option<ScimError>,
}

/// The order to run the operations in: the request's, except that an operation runs only once
/// every POST it refers to has run. Among operations free to run, the earliest in the request
/// goes first, so a request without forward references runs exactly in order. Operations
/// caught in a cycle come last, refused.
pub fn plan(operations: &[Operation]) -> Vec<Step> {
    let creator: HashMap<&str, usize> = operations
        .iter()
        .enumerate()
        .filter(|(_, operation)| operation.is_post())
        .filter_map(|(index, operation)| Some((operation.bulk_id.as_deref()?, index)))
        .collect();
    let references: Vec<Vec<&str>> = operations
        .iter()
        .map(|operation| {
            operation
                .action
                .as_ref()
                .map(references)
                .unwrap_or_default()
        })
        .collect();
    let mut waiting_for = vec![0usize; operations.len()];
    let mut waited_on_by: Vec<Vec<usize>> = vec![Vec::new(); operations.len()];
    for (index, bulk_ids) in references.iter().enumerate() {
        let mut creators: Vec<usize> = bulk_ids
            .iter()
            .filter_map(|bulk_id| creator.get(bulk_id).copied())
            .collect();
        creators.sort_unstable();
        creators.dedup();
        waiting_for[index] = creators.len();
        for creator in creators {
            waited_on_by[creator].push(index);
        }
    }
    let undefined = |index: usize| {
        references[index]
            .iter()
            .find(|bulk_id| !creator.contains_key(*bulk_id))
            .map(|bulk_id| {
                conflict(format!(
                    "bulkId {bulk_id:?} is not the bulkId of any POST in this request"
                ))
            })
    };

    let mut ready: BTreeSet<usize> = (0..operations.len())
        .filter(|index| waiting_for[*index] == 0)
        .collect();
    let mut steps = Vec::with_capacity(operations.len());
    let mut planned = vec![false; operations.len()];
    while let Some(index) = ready.pop_first() {
        steps.push(Step {
            index,
            refusal: undefined(index),
        });
        planned[index] = true;
        for &waiting in &waited_on_by[index] {
            waiting_for[waiting] -= 1;
            if waiting_for[waiting] == 0 {
                ready.insert(waiting);
            }
        }
    }
    for index in (0..operations.len()).filter(|index| !planned[*index]) {
        let blocked_by = references[index]
            .iter()
            .find(|bulk_id| creator.get(*bulk_id).is_some_and(|c| !planned[*c]))
            .copied()
            .unwrap_or_default();
        steps.push(Step {
            index,
            refusal: Some(conflict(format!(
                "bulkId {blocked_by:?} cannot be created first: the bulkId references of this \
                 request form a cycle (RFC 7644 §3.7.1)"
            ))),
        });
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::bulk::request::parse_bulk_request;
    use crate::scim::bulk::BULK_REQUEST_SCHEMA;
    use crate::scim::schema::ResourceType;
    use serde_json::json;

    fn operations(operations: Value) -> Vec<Operation> {
        let body = json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations});
        match parse_bulk_request(&body, 100) {
            Ok(request) => request.operations,
            Err(error) => panic!("a valid request expected: {error:?}"),
        }
    }

    fn user(bulk_id: &str) -> Value {
        json!({"method": "POST", "bulkId": bulk_id, "path": "/Users", "data": {"userName": bulk_id}})
    }

    fn group(bulk_id: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        json!({"method": "POST", "bulkId": bulk_id, "path": "/Groups",
               "data": {"displayName": bulk_id, "members": members}})
    }

    /// The planned order, and which steps are refused.
    fn order(operations: &[Operation]) -> Vec<(usize, bool)> {
        plan(operations)
            .into_iter()
            .map(|step| (step.index, step.refusal.is_some()))
            .collect()
    }

    #[test]
    fn without_forward_references_the_order_is_the_requests() {
        let ops = operations(json!([
            user("u1"),
            user("u2"),
            group("g", &["bulkId:u1", "bulkId:u2"]),
            {"method": "DELETE", "path": "/Users/bulkId:u2"},
        ]));
        assert_eq!(
            order(&ops),
            vec![(0, false), (1, false), (2, false), (3, false)]
        );
    }

    #[test]
    fn an_operation_waits_for_the_later_post_it_refers_to() {
        let ops = operations(json!([
            group("g", &["bulkId:u1"]),
            {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"Operations": []}},
            user("u0"),
            user("u1"),
            user("u2"),
        ]));
        assert_eq!(
            order(&ops),
            vec![(2, false), (3, false), (0, false), (1, false), (4, false)]
        );
    }

    #[test]
    fn a_cycle_is_refused_and_the_rest_still_runs() {
        let ops = operations(json!([
            group("a", &["bulkId:b"]),
            group("b", &["bulkId:a"]),
            group("c", &["bulkId:c"]),
            user("u"),
            group("d", &["bulkId:a"]),
        ]));
        let steps = plan(&ops);
        assert_eq!(
            order(&ops),
            vec![(3, false), (0, true), (1, true), (2, true), (4, true)]
        );
        assert!(steps
            .iter()
            .filter_map(|step| step.refusal.as_ref())
            .all(|error| error.status == StatusCode::CONFLICT));
    }

    #[test]
    fn a_reference_to_no_post_is_refused_in_place() {
        let ops = operations(json!([
            user("u"),
            group("g", &["bulkId:nobody"]),
            {"method": "DELETE", "path": "/Users/bulkId:ghost"},
        ]));
        assert_eq!(order(&ops), vec![(0, false), (1, true), (2, true)]);
    }

    #[test]
    fn references_are_whole_values_in_the_path_and_anywhere_in_the_data() {
        let ops = operations(json!([
            {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"Operations": [
                {"op": "add", "path": "members", "value": [{"value": "bulkId:u"}, {"value": "xbulkId:v"}]},
                {"op": "add", "value": {"externalId": "bulkId:u"}},
            ]}},
        ]));
        let Ok(action) = &ops[0].action else {
            panic!("a valid operation expected");
        };
        assert_eq!(references(action), vec!["g", "u"]);
    }

    #[test]
    fn references_quoted_in_a_patch_filter_are_found_and_replaced() {
        let action = Action::Patch {
            resource_type: ResourceType::Group,
            id: "G1".into(),
            data: json!({"Operations": [
                {"op": "remove", "path": "members[value eq \"bulkId:u\" or value eq \"bulkId:v\"]"},
                {"op": "remove", "path": "members[value eq \"bulkId:\"]"},
            ]}),
        };
        assert_eq!(references(&action), vec!["u", "v"]);
        let created: HashMap<String, String> = [
            ("u".to_string(), "U1".to_string()),
            ("v".to_string(), "V1".to_string()),
        ]
        .into();
        let resolved = resolve(&action, &created);
        let Ok(Action::Patch { data, .. }) = resolved else {
            panic!("resolves: {resolved:?}");
        };
        assert_eq!(
            data["Operations"][0]["path"],
            json!("members[value eq \"U1\" or value eq \"V1\"]")
        );
        assert_eq!(
            data["Operations"][1]["path"],
            json!("members[value eq \"bulkId:\"]")
        );
    }

    #[test]
    fn resolving_puts_the_created_ids_in_place() {
        let created: HashMap<String, String> = [
            ("g".to_string(), "G1".to_string()),
            ("u".to_string(), "U1".to_string()),
        ]
        .into();
        let action = Action::Patch {
            resource_type: ResourceType::Group,
            id: "bulkId:g".into(),
            data: json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u"}, {"value": "bulkId:"}]}]}),
        };
        assert_eq!(
            resolve(&action, &created),
            Ok(Action::Patch {
                resource_type: ResourceType::Group,
                id: "G1".into(),
                data: json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "U1"}, {"value": "bulkId:"}]}]}),
            })
        );
        let missing = Action::Delete {
            resource_type: ResourceType::User,
            id: "bulkId:failed".into(),
        };
        assert_eq!(
            resolve(&missing, &created).map_err(|e| e.status),
            Err(StatusCode::CONFLICT)
        );
    }
}
