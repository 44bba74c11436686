//! Checking the SCIM side of an attribute mapping row: a path into a User (`title`,
//! `name.givenName`, `addresses[type eq "work"].country`, URN-qualified enterprise paths)
//! that names a single simple value, which can fill a text field of the application's User.

use crate::scim::filter::resolve::{check_within, resolve, Resolved};
use crate::scim::patch::parse_patch_path;
use crate::scim::schema::{AttrType, ResourceType};

/// Why a mapping source was refused; the message is meant for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} cannot fill a text field: {reason}")]
pub struct MappingSourceError {
    path: String,
    reason: String,
}

/// The path, trimmed, if it names a simple value of a User.
pub fn check_mapping_source(path: &str) -> Result<String, MappingSourceError> {
    let text = path.trim();
    let refuse = |reason: String| MappingSourceError {
        path: text.to_string(),
        reason,
    };
    let parsed = parse_patch_path(text).map_err(|error| refuse(error.to_string()))?;
    let user = ResourceType::User;
    let attribute = resolve(user, &parsed.attr)
        .ok_or_else(|| refuse("a User has no such attribute".to_string()))?;
    let leaf = match (&parsed.filter, &parsed.sub_attr) {
        (None, _) => attribute,
        (Some(filter), sub_attr) => {
            check_within(attribute.def, filter).map_err(|error| refuse(error.detail))?;
            let sub = sub_attr.as_deref().unwrap_or("value");
            let def = attribute.def.sub_attribute(sub).ok_or_else(|| {
                refuse(format!("{} has no sub-attribute {sub}", attribute.def.name))
            })?;
            Resolved {
                keys: [attribute.keys, vec![def.name]].concat(),
                def,
            }
        }
    };
    let simple = leaf
        .compared()
        .filter(|resolved| resolved.def.kind != AttrType::Complex)
        .ok_or_else(|| refuse("it names a complex attribute, not one value".to_string()))?;
    if simple.def.kind == AttrType::Binary {
        return Err(refuse("it names binary data".to_string()));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_values_of_a_user_can_be_mapped() {
        for path in [
            "title",
            " name.givenName ",
            "addresses[type eq \"work\"].country",
            "emails[type eq \"work\" or primary eq true].value",
            "phoneNumbers[type eq \"mobile\"]",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "active",
        ] {
            assert!(check_mapping_source(path).is_ok(), "{path}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for (path, reason) in [
            ("favouriteColour", "no such attribute"),
            ("name", "complex"),
            ("x509Certificates[type eq \"x\"]", "binary"),
            ("emails[colour eq \"red\"].value", "no attribute colour"),
            ("emails[type eq \"work\"].colour", "no sub-attribute colour"),
            ("emails[", "cannot fill"),
        ] {
            let error = check_mapping_source(path).err().map(|e| e.to_string());
            assert!(
                error.as_deref().is_some_and(|e| e.contains(reason)),
                "{path}: {error:?}"
            );
        }
    }
}
