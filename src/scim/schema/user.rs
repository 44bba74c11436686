//! The core User schema (RFC 7643 §4.1, §8.7.1).

use super::{AttributeDef as A, SchemaDef, USER_SCHEMA};

const NAME: &[A] = &[
    A::string("formatted", "The full name, formatted for display."),
    A::string("familyName", "The family name, or last name."),
    A::string("givenName", "The given name, or first name."),
    A::string("middleName", "The middle name(s)."),
    A::string("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
    A::string("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
];

const EMAIL: &[A] = &[
    A::string("value", "The email address."),
    A::string("display", "A human-readable name for the address."),
    A::string("type", "The kind of address.").canonical(&["work", "home", "other"]),
    A::boolean("primary", "Whether this is the preferred address."),
];

const PHONE_NUMBER: &[A] = &[
    A::string("value", "The phone number."),
    A::string("display", "A human-readable form of the number."),
    A::string("type", "The kind of number.")
        .canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
    A::boolean("primary", "Whether this is the preferred number."),
];

const IM: &[A] = &[
    A::string("value", "The instant messaging address."),
    A::string("display", "A human-readable form of the address."),
    A::string("type", "The messaging service.")
        .canonical(&["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
    A::boolean("primary", "Whether this is the preferred address."),
];

const PHOTO: &[A] = &[
    A::reference("value", &["external"], "The URL of the image."),
    A::string("display", "A human-readable description of the image."),
    A::string("type", "The kind of image.").canonical(&["photo", "thumbnail"]),
    A::boolean("primary", "Whether this is the preferred image."),
];

const ADDRESS: &[A] = &[
    A::string("formatted", "The full address, formatted for display."),
    A::string("streetAddress", "The street address."),
    A::string("locality", "The city or locality."),
    A::string("region", "The state or region."),
    A::string("postalCode", "The postal code."),
    A::string("country", "The country, as an ISO 3166-1 alpha-2 code."),
    A::string("type", "The kind of address.").canonical(&["work", "home", "other"]),
    A::boolean("primary", "Whether this is the preferred address."),
];

/// RFC 7643 §4.1.2: every sub-attribute is readOnly; membership is changed on the Group.
const GROUP: &[A] = &[
    A::string("value", "The id of the group.").read_only(),
    A::reference("$ref", &["Group"], "The URI of the group's resource.").read_only(),
    A::string("display", "The group's displayName.").read_only(),
    A::string(
        "type",
        "How the user is a member: directly or through another group.",
    )
    .canonical(&["direct", "indirect"])
    .read_only(),
];

const ENTITLEMENT: &[A] = &[
    A::string("value", "The entitlement."),
    A::string("display", "A human-readable name for the entitlement."),
    A::string("type", "The kind of entitlement."),
    A::boolean("primary", "Whether this is the primary entitlement."),
];

const ROLE: &[A] = &[
    A::string("value", "The role."),
    A::string("display", "A human-readable name for the role."),
    A::string("type", "The kind of role."),
    A::boolean("primary", "Whether this is the primary role."),
];

const CERTIFICATE: &[A] = &[
    A::binary("value", "The DER-encoded certificate, base64."),
    A::string("display", "A human-readable name for the certificate."),
    A::string("type", "The kind of certificate."),
    A::boolean("primary", "Whether this is the primary certificate."),
];

pub static CORE_USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &[
        A::string(
            "userName",
            "Unique identifier for the user, typically a login name.",
        )
        .required()
        .unique_per_server(),
        A::complex("name", NAME, "The components of the user's real name."),
        A::string("displayName", "The name of the user, suitable for display."),
        A::string("nickName", "The casual way to address the user."),
        A::reference(
            "profileUrl",
            &["external"],
            "A URL of the user's online profile.",
        ),
        A::string("title", "The user's title, such as 'Vice President'."),
        A::string(
            "userType",
            "The relationship between the organization and the user.",
        ),
        A::string(
            "preferredLanguage",
            "The user's preferred written or spoken language.",
        ),
        A::string("locale", "The user's default location, for localisation."),
        A::string("timezone", "The user's time zone, in IANA format."),
        A::boolean("active", "Whether the user may use the application."),
        A::string(
            "password",
            "Accepted and discarded: scimd does not synchronise passwords.",
        )
        .write_only()
        .never_returned(),
        A::complex("emails", EMAIL, "Email addresses of the user.").multi_valued(),
        A::complex("phoneNumbers", PHONE_NUMBER, "Phone numbers of the user.").multi_valued(),
        A::complex("ims", IM, "Instant messaging addresses of the user.").multi_valued(),
        A::complex("photos", PHOTO, "URLs of images of the user.").multi_valued(),
        A::complex(
            "addresses",
            ADDRESS,
            "Physical mailing addresses of the user.",
        )
        .multi_valued(),
        A::complex(
            "groups",
            GROUP,
            "The groups the user is a direct member of; read-only, derived from the groups.",
        )
        .multi_valued()
        .read_only(),
        A::complex("entitlements", ENTITLEMENT, "Entitlements of the user.").multi_valued(),
        A::complex("roles", ROLE, "Roles of the user.").multi_valued(),
        A::complex(
            "x509Certificates",
            CERTIFICATE,
            "X.509 certificates issued to the user.",
        )
        .multi_valued(),
    ],
};
