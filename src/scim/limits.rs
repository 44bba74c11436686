//! Bounds on the values of one resource: how long a string may be, how many values a
//! multi-valued attribute may hold, and how many group members one request may name.
//!
//! Checked on the canonical form (after decoding), so that every way in (POST, PUT, the result
//! of a PATCH, a Bulk operation) meets the same bounds and errors name attributes as the
//! schema spells them. Group members have a bound of their own: a group may hold any number
//! of them, and its members change by naming them, so only the number one request names is
//! bounded.

use crate::scim::error::ScimError;
use crate::scim::patch::members::MemberEdit;
use crate::scim::resource::{decode, Decoded};
use crate::scim::schema::ResourceType;
use serde_json::{Map, Value};

/// Longest string value accepted by default, in characters.
pub const MAX_VALUE_CHARS: usize = 16 * 1024;
/// Most values of one multi-valued attribute accepted by default.
pub const MAX_VALUES: usize = 1000;
/// Most group members one request may name by default. Okta names up to 100 per PATCH; the
/// default leaves room for an IdP that pushes a large group whole.
pub const MAX_MEMBERS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueLimits {
    /// Characters of any one string value.
    pub max_chars: usize,
    /// Values of any one multi-valued attribute but a group's `members`.
    pub max_values: usize,
    /// Members named by one POST, PUT or PATCH of a group.
    pub max_members: usize,
}

impl Default for ValueLimits {
    fn default() -> Self {
        Self {
            max_chars: MAX_VALUE_CHARS,
            max_values: MAX_VALUES,
            max_members: MAX_MEMBERS,
        }
    }
}

/// Decodes a resource (see [`decode`]) and refuses it if any value is beyond `limits`.
pub fn decode_within(
    resource_type: ResourceType,
    input: &Value,
    limits: ValueLimits,
) -> Result<Decoded, ScimError> {
    let decoded = decode(resource_type, input)?;
    check_values(&decoded.attributes, limits)?;
    Ok(decoded)
}

/// Refuses canonical attributes holding a value beyond `limits`, naming the attribute.
pub fn check_values(attributes: &Map<String, Value>, limits: ValueLimits) -> Result<(), ScimError> {
    for (name, value) in attributes {
        check(name, true, value, limits)?;
    }
    Ok(())
}

/// Refuses member edits that name more members than `limits` allow in one request.
pub fn check_member_edits(edits: &[MemberEdit], limits: ValueLimits) -> Result<(), ScimError> {
    let named = edits
        .iter()
        .map(|edit| match edit {
            MemberEdit::Add(ids) | MemberEdit::Remove(ids) | MemberEdit::ReplaceAll(ids) => {
                ids.len()
            }
            MemberEdit::RemoveAll => 0,
        })
        .sum();
    check_member_count(named, limits)
}

fn check_member_count(named: usize, limits: ValueLimits) -> Result<(), ScimError> {
    if named <= limits.max_members {
        return Ok(());
    }
    Err(ScimError::invalid_value(format!(
        "members: one request may name at most {} members, this one names {named}; \
         send them in several requests",
        limits.max_members
    )))
}

fn check(path: &str, top: bool, value: &Value, limits: ValueLimits) -> Result<(), ScimError> {
    match value {
        // A string has at least as many bytes as characters: most need no counting.
        Value::String(text) if text.len() > limits.max_chars => {
            let chars = text.chars().count();
            if chars > limits.max_chars {
                return Err(ScimError::invalid_value(format!(
                    "{path} is {chars} characters long; at most {} are accepted",
                    limits.max_chars
                )));
            }
        }
        Value::Array(items) => {
            if top && path == "members" {
                check_member_count(items.len(), limits)?;
            } else if items.len() > limits.max_values {
                return Err(ScimError::invalid_value(format!(
                    "{path} has {} values; at most {} are accepted",
                    items.len(),
                    limits.max_values
                )));
            }
            for item in items {
                check(path, false, item, limits)?;
            }
        }
        Value::Object(object) => {
            for (name, sub_value) in object {
                // Extension attributes are named after their schema's URN, as filters do.
                let sub_path = if top && path.starts_with("urn:") {
                    format!("{path}:{name}")
                } else {
                    format!("{path}.{name}")
                };
                check(&sub_path, false, sub_value, limits)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    const LIMITS: ValueLimits = ValueLimits {
        max_chars: 5,
        max_values: 2,
        max_members: 3,
    };

    fn refusal(resource_type: ResourceType, input: Value) -> Option<String> {
        decode_within(resource_type, &input, LIMITS)
            .err()
            .map(|error| {
                assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
                error.detail
            })
    }

    #[test]
    fn values_within_the_limits_pass() {
        let user = json!({"userName": "ab", "emails": [{"value": "héééé"}, {"value": "b"}]});
        assert_eq!(refusal(ResourceType::User, user), None);
        let group = json!({"displayName": "g", "members": [{"value": "a"}, {"value": "b"}, {"value": "c"}]});
        assert_eq!(refusal(ResourceType::Group, group), None);
    }

    #[test]
    fn a_value_beyond_a_limit_is_refused_naming_its_attribute() {
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let cases = [
            (
                json!({"userName": "abcdef"}),
                "userName is 6 characters long; at most 5 are accepted",
            ),
            (
                json!({"userName": "a", "name": {"givenName": "éééééé"}}),
                "name.givenName is 6 characters long; at most 5 are accepted",
            ),
            (
                json!({"userName": "a", "emails": [{"value": "a"}, {"value": "toolong"}]}),
                "emails.value is 7 characters long; at most 5 are accepted",
            ),
            (
                json!({"userName": "a", "emails": [{"value": "a"}, {"value": "b"}, {"value": "c"}]}),
                "emails has 3 values; at most 2 are accepted",
            ),
            (
                json!({"userName": "a", enterprise: {"department": "abcdef"}}),
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department is 6 \
                 characters long; at most 5 are accepted",
            ),
        ];
        for (input, detail) in cases {
            assert_eq!(
                refusal(ResourceType::User, input.clone()).as_deref(),
                Some(detail),
                "{input}"
            );
        }
    }

    #[test]
    fn group_members_have_their_own_limit() {
        let members: Vec<Value> = (0..4).map(|n| json!({"value": n.to_string()})).collect();
        let group = json!({"displayName": "g", "members": members});
        assert_eq!(
            refusal(ResourceType::Group, group).as_deref(),
            Some(
                "members: one request may name at most 3 members, this one names 4; send them \
                 in several requests"
            )
        );
        let ids = |n: usize| (0..n).map(|n| n.to_string()).collect::<Vec<_>>();
        let within = [MemberEdit::Add(ids(2)), MemberEdit::Remove(ids(1))];
        assert!(check_member_edits(&within, LIMITS).is_ok());
        let beyond = [MemberEdit::Add(ids(2)), MemberEdit::ReplaceAll(ids(2))];
        assert!(check_member_edits(&beyond, LIMITS).is_err());
    }
}
