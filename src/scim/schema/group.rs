//! The core Group schema (RFC 7643 §4.2, §8.7.1).

use super::{AttributeDef as A, SchemaDef, GROUP_SCHEMA};

const MEMBER: &[A] = &[
    A::string("value", "The id of the member.").immutable(),
    A::reference(
        "$ref",
        &["User", "Group"],
        "The URI of the member's resource.",
    )
    .immutable(),
    A::string("type", "The kind of member.")
        .canonical(&["User", "Group"])
        .immutable(),
];

pub static CORE_GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: &[
        A::string(
            "displayName",
            "A human-readable name for the group, unique in its instance.",
        )
        .required()
        .unique_per_server(),
        A::complex(
            "members",
            MEMBER,
            "The users and groups that belong to the group.",
        )
        .multi_valued(),
    ],
};
