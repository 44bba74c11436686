//! The enterprise User extension (RFC 7643 §4.3).

use super::{AttributeDef as A, SchemaDef, ENTERPRISE_USER_SCHEMA};

const MANAGER: &[A] = &[
    A::string("value", "The id of the user's manager."),
    A::reference("$ref", &["User"], "The URI of the manager's User resource."),
    A::string("displayName", "The manager's display name.").read_only(),
];

const ATTRIBUTES: &[A] = &[
    A::string(
        "employeeNumber",
        "A number identifying the user in the organisation.",
    ),
    A::string("costCenter", "The user's cost center."),
    A::string("organization", "The user's organisation."),
    A::string("division", "The user's division."),
    A::string("department", "The user's department."),
    A::complex("manager", MANAGER, "The user's manager."),
];

pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ATTRIBUTES,
};

/// The extension as it sits in a User resource: one complex attribute named by its URN.
pub static ENTERPRISE_USER_ATTRIBUTE: A =
    A::complex(ENTERPRISE_USER_SCHEMA, ATTRIBUTES, "Enterprise User");
