//! The SCIM schemas scimd serves and enforces (RFC 7643): attribute definitions as data, used
//! both to answer `/Schemas` and to decode and check every resource a client sends, so that
//! what is published is exactly what is enforced.

mod enterprise;
mod group;
mod user;

use serde_json::{json, Value};

pub use enterprise::{ENTERPRISE_USER, ENTERPRISE_USER_ATTRIBUTE};
pub use group::CORE_GROUP;
pub use user::CORE_USER;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference(&'static [&'static str]),
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute's characteristics (RFC 7643 §2.2, §7).
#[derive(Debug, Clone, Copy)]
pub struct AttributeDef {
    pub name: &'static str,
    pub kind: AttrType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: &'static [&'static str],
    pub sub_attributes: &'static [AttributeDef],
}

impl AttributeDef {
    const fn of(name: &'static str, kind: AttrType, description: &'static str) -> Self {
        Self {
            name,
            kind,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: &[],
            sub_attributes: &[],
        }
    }

    pub const fn string(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::String, description)
    }

    pub const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::Boolean, description)
    }

    pub const fn date_time(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::DateTime, description)
    }

    pub const fn binary(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::Binary, description)
    }

    pub const fn reference(
        name: &'static str,
        types: &'static [&'static str],
        description: &'static str,
    ) -> Self {
        Self::of(name, AttrType::Reference(types), description)
    }

    pub const fn complex(
        name: &'static str,
        sub_attributes: &'static [AttributeDef],
        description: &'static str,
    ) -> Self {
        let mut def = Self::of(name, AttrType::Complex, description);
        def.sub_attributes = sub_attributes;
        def
    }

    pub const fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    pub const fn read_only(mut self) -> Self {
        self.mutability = Mutability::ReadOnly;
        self
    }

    pub const fn immutable(mut self) -> Self {
        self.mutability = Mutability::Immutable;
        self
    }

    pub const fn write_only(mut self) -> Self {
        self.mutability = Mutability::WriteOnly;
        self
    }

    pub const fn never_returned(mut self) -> Self {
        self.returned = Returned::Never;
        self
    }

    pub const fn unique_per_server(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }

    pub const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }

    /// The sub-attribute called `name`, compared without regard to case (RFC 7643 §2.1).
    pub fn sub_attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.sub_attributes, name)
    }

    pub fn to_json(&self) -> Value {
        let mut json = json!({
            "name": self.name,
            "type": type_name(self.kind),
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "mutability": mutability_name(self.mutability),
            "returned": returned_name(self.returned),
        });
        if !matches!(self.kind, AttrType::Complex | AttrType::Boolean) {
            json["caseExact"] = json!(self.case_exact);
            json["uniqueness"] = json!(uniqueness_name(self.uniqueness));
        }
        if let AttrType::Reference(types) = self.kind {
            json["referenceTypes"] = json!(types);
        }
        if !self.canonical_values.is_empty() {
            json["canonicalValues"] = json!(self.canonical_values);
        }
        if !self.sub_attributes.is_empty() {
            json["subAttributes"] = self.sub_attributes.iter().map(Self::to_json).collect();
        }
        json
    }
}

/// A schema: a URN and its attributes.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

impl SchemaDef {
    pub fn attribute(&self, name: &str) -> Option<&'static AttributeDef> {
        find(self.attributes, name)
    }

    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(AttributeDef::to_json).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            },
        })
    }
}

/// The kinds of resource scimd serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    User,
    Group,
}

impl ResourceType {
    pub const ALL: [ResourceType; 2] = [ResourceType::User, ResourceType::Group];

    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "/Users",
            Self::Group => "/Groups",
        }
    }

    pub fn core(self) -> &'static SchemaDef {
        match self {
            Self::User => &CORE_USER,
            Self::Group => &CORE_GROUP,
        }
    }

    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        static USER_EXTENSIONS: [&SchemaDef; 1] = [&ENTERPRISE_USER];
        match self {
            Self::User => &USER_EXTENSIONS,
            Self::Group => &[],
        }
    }

    /// A top-level attribute of the resource: a core attribute, `externalId` (RFC 7643 §3.1),
    /// or an extension seen as one complex attribute named by its URN. Treating the resource as
    /// one tree lets decoding and PATCH walk it the same way at every level.
    pub fn attribute(self, name: &str) -> Option<&'static AttributeDef> {
        if EXTERNAL_ID.name.eq_ignore_ascii_case(name) {
            return Some(&EXTERNAL_ID);
        }
        self.core().attribute(name).or_else(|| {
            self.extension_attributes()
                .iter()
                .copied()
                .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
        })
    }

    fn extension_attributes(self) -> &'static [&'static AttributeDef] {
        static USER_EXTENSION_ATTRIBUTES: [&AttributeDef; 1] = [&ENTERPRISE_USER_ATTRIBUTE];
        match self {
            Self::User => &USER_EXTENSION_ATTRIBUTES,
            Self::Group => &[],
        }
    }

    /// The extension whose URN is `urn`, compared without regard to case.
    pub fn extension(self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions()
            .iter()
            .copied()
            .find(|schema| schema.id.eq_ignore_ascii_case(urn))
    }

    pub fn to_json(self, base_url: &str) -> Value {
        let extensions: Vec<Value> = self
            .extensions()
            .iter()
            .map(|schema| json!({"schema": schema.id, "required": false}))
            .collect();
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name(),
            "name": self.name(),
            "endpoint": self.endpoint(),
            "description": format!("{} resources", self.name()),
            "schema": self.core().id,
            "schemaExtensions": extensions,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.name()),
            },
        })
    }
}

/// The identifier the client keeps for a resource; common to every resource type.
pub static EXTERNAL_ID: AttributeDef = AttributeDef::string(
    "externalId",
    "The identifier the client keeps for the resource.",
)
.case_exact();

/// `id` and `meta` (RFC 7643 §3.1): common to every resource, set by scimd alone. They are not
/// part of any schema's attribute list, but filters and `sortBy` may name them.
pub static ID: AttributeDef = AttributeDef::string("id", "The identifier scimd gave the resource.")
    .case_exact()
    .read_only();

static META_ATTRIBUTES: [AttributeDef; 5] = [
    AttributeDef::string("resourceType", "The resource's type.")
        .case_exact()
        .read_only(),
    AttributeDef::date_time("created", "When the resource was created.").read_only(),
    AttributeDef::date_time("lastModified", "When the resource last changed.").read_only(),
    AttributeDef::reference("location", &["uri"], "The resource's URI.").read_only(),
    AttributeDef::string("version", "The resource's entity tag.")
        .case_exact()
        .read_only(),
];

pub static META: AttributeDef =
    AttributeDef::complex("meta", &META_ATTRIBUTES, "Resource metadata set by scimd.").read_only();

/// Every schema scimd serves.
pub fn all_schemas() -> [&'static SchemaDef; 3] {
    [&CORE_USER, &ENTERPRISE_USER, &CORE_GROUP]
}

fn find(attributes: &'static [AttributeDef], name: &str) -> Option<&'static AttributeDef> {
    attributes
        .iter()
        .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
}

fn type_name(kind: AttrType) -> &'static str {
    match kind {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference(_) => "reference",
        AttrType::Complex => "complex",
    }
}

fn mutability_name(mutability: Mutability) -> &'static str {
    match mutability {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
        Mutability::WriteOnly => "writeOnly",
    }
}

fn returned_name(returned: Returned) -> &'static str {
    match returned {
        Returned::Always => "always",
        Returned::Never => "never",
        Returned::Default => "default",
        Returned::Request => "request",
    }
}

fn uniqueness_name(uniqueness: Uniqueness) -> &'static str {
    match uniqueness {
        Uniqueness::None => "none",
        Uniqueness::Server => "server",
        Uniqueness::Global => "global",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_found_without_regard_to_case() {
        assert_eq!(
            CORE_USER.attribute("USERNAME").map(|a| a.name),
            Some("userName")
        );
        let name = CORE_USER.attribute("name");
        assert_eq!(
            name.and_then(|a| a.sub_attribute("givenname"))
                .map(|a| a.name),
            Some("givenName")
        );
    }

    #[test]
    fn extensions_are_found_without_regard_to_case() {
        let urn = ENTERPRISE_USER_SCHEMA.to_uppercase();
        assert!(ResourceType::User.extension(&urn).is_some());
        assert!(ResourceType::Group
            .extension(ENTERPRISE_USER_SCHEMA)
            .is_none());
    }

    #[test]
    fn every_schema_renders_its_attributes() {
        for schema in all_schemas() {
            let json = schema.to_json("http://x/scim/v2");
            let rendered = json["attributes"].as_array().map(Vec::len);
            assert_eq!(rendered, Some(schema.attributes.len()), "{}", schema.id);
        }
    }
}
