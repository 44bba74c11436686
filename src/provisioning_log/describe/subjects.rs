//! Whom a request is about: the userNames, externalIds and ids in its path, body (a resource,
//! PATCH operations, Bulk operations), filter, and the ids its response says it created.

use super::{endpoint, field, last_segment, Kind};
use crate::scim::endpoints::canonical_path;
use crate::scim::filter::{parse_filter, CompValue, CompareOp, Filter};
use crate::store::provisioning_log::SubjectKind;
use serde_json::Value;

#[derive(Default)]
pub(super) struct Subjects(pub(super) Vec<(SubjectKind, String)>);

impl Subjects {
    pub(super) fn push(&mut self, kind: SubjectKind, value: &str) {
        if !value.is_empty() {
            self.0.push((kind, value.to_string()));
        }
    }

    fn push_attribute(&mut self, kind: SubjectKind, value: Option<&Value>) {
        if let Some(value) = value.and_then(Value::as_str) {
            self.push(kind, value);
        }
    }

    /// The resource of a POST or PUT, or the operations of a PATCH.
    pub(super) fn add_resource(&mut self, kind: Kind, method: &str, body: &Value) {
        if method.eq_ignore_ascii_case("PATCH") {
            self.add_patch(kind, body);
            return;
        }
        if kind == Kind::User {
            self.push_attribute(SubjectKind::UserName, field(body, "userName"));
        }
        self.push_attribute(SubjectKind::ExternalId, field(body, "externalId"));
    }

    /// A PATCH that sets userName or externalId, with a path or (Entra ID) without.
    fn add_patch(&mut self, kind: Kind, body: &Value) {
        let operations = field(body, "Operations").and_then(Value::as_array);
        for operation in operations.into_iter().flatten() {
            let value = field(operation, "value");
            match field(operation, "path").and_then(Value::as_str) {
                Some(path) => {
                    let attribute = path.rsplit(':').next().unwrap_or(path);
                    if kind == Kind::User && attribute.eq_ignore_ascii_case("userName") {
                        self.push_attribute(SubjectKind::UserName, value);
                    } else if attribute.eq_ignore_ascii_case("externalId") {
                        self.push_attribute(SubjectKind::ExternalId, value);
                    }
                }
                None => {
                    if let Some(value) = value.filter(|value| value.is_object()) {
                        self.add_resource(kind, "PUT", value);
                    }
                }
            }
        }
    }

    /// Every operation of a Bulk request, and the ids its response says were created.
    pub(super) fn add_bulk(&mut self, body: &Value, response: Option<&Value>) {
        let operations = field(body, "Operations").and_then(Value::as_array);
        for operation in operations.into_iter().flatten() {
            // Spelled as the client chose, as Bulk accepts it (`scim::endpoints`).
            let path = field(operation, "path")
                .and_then(Value::as_str)
                .map(canonical_path);
            let (kind, id) = path.as_deref().map(endpoint).unwrap_or((None, None));
            if let Some(id) = id.filter(|id| !id.starts_with("bulkId:")) {
                self.push(SubjectKind::ResourceId, id);
            }
            let method = field(operation, "method").and_then(Value::as_str);
            if let (Some(kind), Some(method), Some(data)) = (kind, method, field(operation, "data"))
            {
                self.add_resource(kind, method, data);
            }
        }
        let reported = response
            .and_then(|response| field(response, "Operations"))
            .and_then(Value::as_array);
        for operation in reported.into_iter().flatten() {
            let location = field(operation, "location").and_then(Value::as_str);
            if let Some(id) = location.and_then(last_segment) {
                self.push(SubjectKind::ResourceId, id);
            }
        }
    }

    /// `userName eq "x"` and `externalId eq "x"` anywhere but under `not`: Okta and Entra ID
    /// look a user up this way before creating it.
    pub(super) fn add_filter(&mut self, text: &str) {
        let Ok(filter) = parse_filter(text) else {
            return;
        };
        // A chain of `or`s nests as deep as it is long: walk it without recursion.
        let mut pending = vec![&filter];
        while let Some(filter) = pending.pop() {
            match filter {
                Filter::And(left, right) | Filter::Or(left, right) => {
                    pending.push(right);
                    pending.push(left);
                }
                Filter::Compare {
                    path,
                    op: CompareOp::Eq,
                    value: CompValue::String(value),
                } if path.sub_attr.is_none() => {
                    if path.name.eq_ignore_ascii_case("userName") {
                        self.push(SubjectKind::UserName, value);
                    } else if path.name.eq_ignore_ascii_case("externalId") {
                        self.push(SubjectKind::ExternalId, value);
                    }
                }
                _ => {}
            }
        }
    }
}
