//! PATCH semantics, one rule per test, on canonical User documents.

use super::*;
use crate::scim::filter::FilterLimits;
use crate::scim::patch::parse_patch_request;
use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
use serde_json::json;

fn patched(document: Value, operations: Value) -> Result<Value, ScimError> {
    let operations = parse_patch_request(
        &json!({ "Operations": operations }),
        FilterLimits::default(),
    )?;
    let Value::Object(mut document) = document else {
        return Err(ScimError::invalid_syntax("test document must be an object"));
    };
    apply_operations(ResourceType::User, &mut document, &operations)?;
    Ok(Value::Object(document))
}

fn scim_type(result: Result<Value, ScimError>) -> Option<ScimType> {
    result.err().and_then(|error| error.scim_type)
}

#[test]
fn replace_sets_a_simple_attribute() {
    let result = patched(
        json!({"userName": "a"}),
        json!([{"op": "replace", "path": "title", "value": "CTO"}]),
    );
    assert_eq!(result, Ok(json!({"userName": "a", "title": "CTO"})));
}

#[test]
fn replace_of_a_complex_attribute_keeps_sub_attributes_not_mentioned() {
    let result = patched(
        json!({"name": {"givenName": "Ann", "familyName": "Lee"}}),
        json!([{"op": "replace", "path": "name", "value": {"GIVENNAME": "Anna"}}]),
    );
    assert_eq!(
        result,
        Ok(json!({"name": {"givenName": "Anna", "familyName": "Lee"}}))
    );
}

#[test]
fn add_appends_to_a_multi_valued_attribute_without_duplicates() {
    let result = patched(
        json!({"emails": [{"value": "a@x"}]}),
        json!([{"op": "add", "path": "emails", "value": [{"value": "a@x"}, {"value": "b@x"}]}]),
    );
    assert_eq!(
        result,
        Ok(json!({"emails": [{"value": "a@x"}, {"value": "b@x"}]}))
    );
}

#[test]
fn replace_of_a_multi_valued_attribute_replaces_all_values() {
    let result = patched(
        json!({"emails": [{"value": "a@x"}, {"value": "b@x"}]}),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "c@x"}]}]),
    );
    assert_eq!(result, Ok(json!({"emails": [{"value": "c@x"}]})));
}

#[test]
fn a_filtered_sub_attribute_path_changes_only_the_matching_values() {
    let result = patched(
        json!({"emails": [{"type": "work", "value": "a@x"}, {"type": "home", "value": "h@x"}]}),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x"}]),
    );
    assert_eq!(
        result,
        Ok(json!({"emails": [{"type": "work", "value": "w@x"}, {"type": "home", "value": "h@x"}]}))
    );
}

#[test]
fn add_to_a_filtered_path_that_matches_nothing_creates_the_value() {
    let result = patched(
        json!({"userName": "a"}),
        json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "w@x"}]),
    );
    assert_eq!(
        result,
        Ok(json!({"userName": "a", "emails": [{"type": "work", "value": "w@x"}]}))
    );
}

#[test]
fn a_filter_that_states_more_than_equalities_cannot_create_a_value() {
    let result = patched(
        json!({}),
        json!([{"op": "add", "path": "emails[value co \"@x\"].type", "value": "work"}]),
    );
    assert_eq!(scim_type(result), Some(ScimType::NoTarget));
}

#[test]
fn remove_with_a_filter_removes_only_the_matching_values() {
    let result = patched(
        json!({"emails": [{"type": "work", "value": "a@x"}, {"type": "home", "value": "h@x"}]}),
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
    );
    assert_eq!(
        result,
        Ok(json!({"emails": [{"type": "home", "value": "h@x"}]}))
    );
}

#[test]
fn removing_the_last_value_removes_the_attribute() {
    let result = patched(
        json!({"userName": "a", "emails": [{"type": "work", "value": "a@x"}]}),
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
    );
    assert_eq!(result, Ok(json!({"userName": "a"})));
}

#[test]
fn remove_listing_values_removes_only_those() {
    let result = patched(
        json!({"emails": [{"value": "a@x"}, {"value": "b@x"}]}),
        json!([{"op": "remove", "path": "emails", "value": [{"value": "a@x"}]}]),
    );
    assert_eq!(result, Ok(json!({"emails": [{"value": "b@x"}]})));
}

#[test]
fn remove_of_a_sub_attribute_keeps_its_siblings() {
    let result = patched(
        json!({"name": {"givenName": "Ann", "familyName": "Lee"}}),
        json!([{"op": "remove", "path": "name.familyName"}]),
    );
    assert_eq!(result, Ok(json!({"name": {"givenName": "Ann"}})));
}

#[test]
fn remove_without_a_path_is_no_target() {
    assert_eq!(
        scim_type(patched(json!({}), json!([{"op": "remove"}]))),
        Some(ScimType::NoTarget)
    );
}

#[test]
fn a_path_less_value_may_use_dotted_and_urn_qualified_keys() {
    // Entra ID's form of a PATCH without path.
    let result = patched(
        json!({"userName": "a", "active": true}),
        json!([{"op": "Replace", "value": {
            "active": false,
            "name.givenName": "Ann",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D"
        }}]),
    );
    assert_eq!(
        result,
        Ok(json!({
            "userName": "a",
            "active": false,
            "name": {"givenName": "Ann"},
            ENTERPRISE_USER_SCHEMA: {"department": "R&D"}
        }))
    );
}

#[test]
fn a_path_less_value_ignores_read_only_keys() {
    let result = patched(
        json!({"userName": "a"}),
        json!([{"op": "replace", "value": {"id": "x", "meta": {}, "title": "CTO"}}]),
    );
    assert_eq!(result, Ok(json!({"userName": "a", "title": "CTO"})));
}

#[test]
fn extension_attributes_are_addressed_by_urn() {
    let result = patched(
        json!({}),
        json!([
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "m1"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "42"}
        ]),
    );
    assert_eq!(
        result,
        Ok(json!({ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m1"}, "employeeNumber": "42"}}))
    );
}

#[test]
fn removing_the_last_extension_attribute_removes_the_extension() {
    let result = patched(
        json!({"userName": "a", ENTERPRISE_USER_SCHEMA: {"department": "R&D"}}),
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]),
    );
    assert_eq!(result, Ok(json!({"userName": "a"})));
}

#[test]
fn a_whole_extension_can_be_replaced_by_its_urn() {
    let result = patched(
        json!({ENTERPRISE_USER_SCHEMA: {"department": "R&D", "division": "X"}}),
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"department": "Ops"}}]),
    );
    assert_eq!(
        result,
        Ok(json!({ENTERPRISE_USER_SCHEMA: {"department": "Ops", "division": "X"}}))
    );
}

#[test]
fn a_new_primary_value_demotes_the_old_one() {
    let result = patched(
        json!({"emails": [{"value": "a@x", "primary": true}]}),
        json!([{"op": "add", "path": "emails", "value": [{"value": "b@x", "primary": true}]}]),
    );
    assert_eq!(
        result,
        Ok(
            json!({"emails": [{"value": "a@x", "primary": false}, {"value": "b@x", "primary": true}]})
        )
    );
}

#[test]
fn making_a_selected_value_primary_demotes_the_others() {
    let result = patched(
        json!({"emails": [{"value": "a@x", "primary": true}, {"value": "b@x"}]}),
        json!([{"op": "replace", "path": "emails[value eq \"b@x\"].primary", "value": "True"}]),
    );
    assert_eq!(
        result,
        Ok(
            json!({"emails": [{"value": "a@x", "primary": false}, {"value": "b@x", "primary": true}]})
        )
    );
}

#[test]
fn boolean_strings_are_booleans_in_patch_values() {
    let result = patched(
        json!({"active": true}),
        json!([{"op": "replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(result, Ok(json!({"active": false})));
}

#[test]
fn values_of_the_wrong_type_are_invalid() {
    let result = patched(
        json!({}),
        json!([{"op": "replace", "path": "active", "value": "maybe"}]),
    );
    assert_eq!(scim_type(result), Some(ScimType::InvalidValue));
}

#[test]
fn unknown_attributes_are_invalid_paths() {
    let result = patched(
        json!({}),
        json!([{"op": "replace", "path": "favouriteColour", "value": "x"}]),
    );
    assert_eq!(scim_type(result), Some(ScimType::InvalidPath));
}

#[test]
fn filters_on_single_valued_attributes_are_invalid_paths() {
    let result = patched(
        json!({}),
        json!([{"op": "replace", "path": "name[givenName eq \"a\"]", "value": {}}]),
    );
    assert_eq!(scim_type(result), Some(ScimType::InvalidPath));
}

#[test]
fn explicit_paths_to_read_only_attributes_are_refused() {
    let result = patched(
        json!({}),
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "x"}]),
    );
    assert_eq!(scim_type(result), Some(ScimType::Mutability));
}

#[test]
fn passwords_are_accepted_and_discarded() {
    let result = patched(
        json!({"userName": "a"}),
        json!([{"op": "replace", "path": "password", "value": "s3cret"}]),
    );
    assert_eq!(result, Ok(json!({"userName": "a"})));
}
