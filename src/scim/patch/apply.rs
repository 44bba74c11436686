//! Applying PATCH operations (RFC 7644 §3.5.2.1–3) to a resource in canonical form.
//!
//! Paths resolve against the schema (case-insensitively), values are canonicalised before they
//! are written, and the caller decodes the whole result again, so a PATCH can never leave a
//! resource that a PUT could not have produced. IdP habits handled here: Entra ID's PATCH
//! without `path` whose value keys are themselves paths (`name.givenName`, URN-qualified
//! extension attributes), `add` to `emails[type eq "work"].value` when no such email exists yet,
//! and removal of selected values of a multi-valued attribute by listing them in `value`.

use super::path::{parse_patch_path, PatchPath};
use super::request::{PatchOp, PatchOperation};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::{eval, AttrPath, CompValue, CompareOp, Filter};
use crate::scim::resource::decode_value;
use crate::scim::schema::{AttrType, AttributeDef, Mutability, ResourceType};
use serde_json::{Map, Value};

/// Keys of a path-less value object that are not attributes a client sets (Okta sends `id`
/// back when it renames a group).
const IGNORED_KEYS: [&str; 3] = ["schemas", "id", "meta"];

pub fn apply_operations(
    resource_type: ResourceType,
    resource: &mut Map<String, Value>,
    operations: &[PatchOperation],
) -> Result<(), ScimError> {
    for operation in operations {
        apply(resource_type, resource, operation)?;
    }
    Ok(())
}

fn apply(
    resource_type: ResourceType,
    resource: &mut Map<String, Value>,
    operation: &PatchOperation,
) -> Result<(), ScimError> {
    if let Some(path) = &operation.path {
        let target = Target::resolve(resource_type, path)?;
        return target.apply(resource, operation.op, operation.value.as_ref());
    }
    if operation.op == PatchOp::Remove {
        return Err(ScimError::bad_request(
            ScimType::NoTarget,
            "remove needs a path",
        ));
    }
    let Some(Value::Object(values)) = &operation.value else {
        return Err(ScimError::invalid_value(
            "add and replace without a path need an object value",
        ));
    };
    for (key, value) in values {
        if IGNORED_KEYS
            .iter()
            .any(|ignored| ignored.eq_ignore_ascii_case(key))
        {
            continue;
        }
        let path = parse_patch_path(key)?;
        let target = Target::resolve(resource_type, &path)?;
        if target.read_only() {
            continue;
        }
        target.apply(resource, operation.op, Some(value))?;
    }
    Ok(())
}

/// Where an operation lands: an attribute (inside an extension object when `extension` is
/// set), optionally narrowed to the values a filter selects, optionally to one sub-attribute.
struct Target<'p> {
    extension: Option<&'static str>,
    attribute: &'static AttributeDef,
    filter: Option<&'p Filter>,
    sub: Option<&'static AttributeDef>,
    path: &'p PatchPath,
}

fn invalid_path(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidPath, detail)
}

impl<'p> Target<'p> {
    fn resolve(resource_type: ResourceType, path: &'p PatchPath) -> Result<Self, ScimError> {
        let (extension, attribute) = resolve_attribute(resource_type, &path.attr)?;
        let sub_name = path.sub_attr.as_deref().or(path.attr.sub_attr.as_deref());
        let sub = match sub_name {
            None => None,
            Some(name) => Some(attribute.sub_attribute(name).ok_or_else(|| {
                invalid_path(format!("{} has no sub-attribute {name}", attribute.name))
            })?),
        };
        if path.filter.is_some() && !(attribute.multi_valued && attribute.kind == AttrType::Complex)
        {
            return Err(invalid_path(format!(
                "{} is not a multi-valued complex attribute; it cannot take a filter",
                attribute.name
            )));
        }
        Ok(Self {
            extension,
            attribute,
            filter: path.filter.as_ref(),
            sub,
            path,
        })
    }

    fn target_def(&self) -> &'static AttributeDef {
        self.sub.unwrap_or(self.attribute)
    }

    fn read_only(&self) -> bool {
        self.attribute.mutability == Mutability::ReadOnly
            || self.target_def().mutability == Mutability::ReadOnly
    }

    fn apply(
        &self,
        resource: &mut Map<String, Value>,
        op: PatchOp,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        if self.read_only() {
            return Err(ScimError::bad_request(
                ScimType::Mutability,
                format!("{} is read-only", self.path),
            ));
        }
        if self.target_def().mutability == Mutability::WriteOnly {
            // The only write-only attribute is password, which scimd accepts and discards.
            return Ok(());
        }
        let Some(urn) = self.extension else {
            return self.apply_in(resource, op, value);
        };
        let mut extension = take_object(resource, urn);
        let result = self.apply_in(&mut extension, op, value);
        if !extension.is_empty() {
            resource.insert(urn.to_string(), Value::Object(extension));
        }
        result
    }

    fn apply_in(
        &self,
        container: &mut Map<String, Value>,
        op: PatchOp,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        match (op, self.filter) {
            (PatchOp::Remove, None) => {
                self.remove(container, value);
                Ok(())
            }
            (PatchOp::Remove, Some(filter)) => self.remove_selected(container, filter),
            (_, None) => self.write(container, op, value),
            (_, Some(filter)) => self.write_selected(container, filter, value),
        }
    }

    fn decoded(
        &self,
        def: &'static AttributeDef,
        value: Option<&Value>,
    ) -> Result<Option<Value>, ScimError> {
        match value {
            Some(value) => decode_value(def, value),
            None => Ok(None),
        }
    }

    /// add / replace without a filter.
    fn write(
        &self,
        container: &mut Map<String, Value>,
        op: PatchOp,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let name = self.attribute.name;
        if let Some(sub) = self.sub {
            let Some(value) = self.decoded(sub, value)? else {
                return Ok(());
            };
            match container.get_mut(name) {
                // `emails.value` without a filter addresses that sub-attribute of every value.
                Some(Value::Array(items)) => {
                    for item in items.iter_mut() {
                        if let Value::Object(object) = item {
                            object.insert(sub.name.to_string(), value.clone());
                        }
                    }
                }
                _ => {
                    let mut object = take_object(container, name);
                    object.insert(sub.name.to_string(), value);
                    container.insert(name.to_string(), Value::Object(object));
                }
            }
            return Ok(());
        }
        let Some(value) = self.decoded(self.attribute, value)? else {
            return Ok(());
        };
        match (self.attribute.multi_valued, self.attribute.kind, op) {
            (true, _, PatchOp::Add) => {
                let added = value.as_array().cloned().unwrap_or_default();
                let mut items = take_array(container, name);
                for item in added {
                    if !items.contains(&item) {
                        items.push(item.clone());
                    }
                    keep_one_primary(&mut items, &item);
                }
                container.insert(name.to_string(), Value::Array(items));
            }
            (true, _, _) => {
                container.insert(name.to_string(), value);
            }
            // RFC 7644 §3.5.2.1 and .3: sub-attributes not mentioned stay as they are.
            (false, AttrType::Complex, _) => {
                let mut object = take_object(container, name);
                if let Value::Object(subs) = value {
                    object.extend(subs);
                }
                container.insert(name.to_string(), Value::Object(object));
            }
            (false, _, _) => {
                container.insert(name.to_string(), value);
            }
        }
        Ok(())
    }

    /// add / replace on the values a filter selects; creates the value when none matches and
    /// the filter only states equalities (Entra ID adds `emails[type eq "work"].value` so).
    fn write_selected(
        &self,
        container: &mut Map<String, Value>,
        filter: &Filter,
        value: Option<&Value>,
    ) -> Result<(), ScimError> {
        let (def, merge) = match self.sub {
            Some(sub) => (sub, false),
            None => (self.attribute, true),
        };
        let value = match (merge, value) {
            // A whole value object for the selected elements: canonicalise it as one element.
            (true, Some(value)) => decode_value(self.attribute, value)?
                .and_then(|decoded| decoded.as_array().and_then(|items| items.first().cloned())),
            (false, value) => self.decoded(def, value)?,
            (true, None) => None,
        };
        let Some(value) = value else {
            return Ok(());
        };
        let selected = self.selected(container, filter)?;
        let mut items = take_array(container, self.attribute.name);
        let result = self.write_into(&mut items, selected, filter, &value);
        if !items.is_empty() {
            container.insert(self.attribute.name.to_string(), Value::Array(items));
        }
        result
    }

    fn write_into(
        &self,
        items: &mut Vec<Value>,
        selected: Vec<usize>,
        filter: &Filter,
        value: &Value,
    ) -> Result<(), ScimError> {
        if selected.is_empty() {
            let mut created = implied_value(filter).ok_or_else(|| {
                ScimError::bad_request(
                    ScimType::NoTarget,
                    format!("no value of {} matches {filter}", self.attribute.name),
                )
            })?;
            set_in_element(&mut created, self.sub, value);
            let created = Value::Object(created);
            items.push(created.clone());
            keep_one_primary(items, &created);
            return Ok(());
        }
        for index in &selected {
            if let Some(Value::Object(element)) = items.get_mut(*index) {
                set_in_element(element, self.sub, value);
            }
        }
        // A value this operation made primary wins over any other.
        let winner = selected
            .iter()
            .filter_map(|index| items.get(*index))
            .find(|item| is_primary(item))
            .cloned();
        if let Some(winner) = winner {
            keep_one_primary(items, &winner);
        }
        Ok(())
    }

    fn remove(&self, container: &mut Map<String, Value>, value: Option<&Value>) {
        let name = self.attribute.name;
        match (self.sub, container.get_mut(name)) {
            (Some(sub), Some(Value::Array(items))) => {
                for item in items.iter_mut() {
                    if let Value::Object(object) = item {
                        object.remove(sub.name);
                    }
                }
            }
            (Some(sub), Some(Value::Object(object))) => {
                object.remove(sub.name);
            }
            // Entra ID removes chosen values by listing them: remove only those.
            (None, Some(Value::Array(items))) if value.is_some() => {
                let listed = listed_values(value);
                items.retain(|item| !listed.iter().any(|listed| same_value(item, listed)));
            }
            (None, _) => {
                container.remove(name);
            }
            _ => {}
        }
        prune(container, name);
    }

    fn remove_selected(
        &self,
        container: &mut Map<String, Value>,
        filter: &Filter,
    ) -> Result<(), ScimError> {
        let selected = self.selected(container, filter)?;
        let name = self.attribute.name;
        if let Some(Value::Array(items)) = container.get_mut(name) {
            let mut index = 0;
            items.retain_mut(|item| {
                let chosen = selected.contains(&index);
                index += 1;
                match (chosen, self.sub, item) {
                    (false, _, _) => true,
                    (true, None, _) => false,
                    (true, Some(sub), Value::Object(object)) => {
                        object.remove(sub.name);
                        true
                    }
                    (true, Some(_), _) => true,
                }
            });
        }
        prune(container, name);
        Ok(())
    }

    fn selected(
        &self,
        container: &Map<String, Value>,
        filter: &Filter,
    ) -> Result<Vec<usize>, ScimError> {
        let mut selected = Vec::new();
        if let Some(Value::Array(items)) = container.get(self.attribute.name) {
            for (index, item) in items.iter().enumerate() {
                if eval::matches(filter, item, self.attribute)? {
                    selected.push(index);
                }
            }
        }
        Ok(selected)
    }
}

/// Resolves `[urn:]name`: a core attribute, `externalId`, a whole extension (its bare URN), or
/// an attribute inside an extension. Returns the extension URN the attribute sits under.
fn resolve_attribute(
    resource_type: ResourceType,
    attr: &AttrPath,
) -> Result<(Option<&'static str>, &'static AttributeDef), ScimError> {
    let unknown = || invalid_path(format!("{} has no attribute {attr}", resource_type.name()));
    let Some(urn) = &attr.urn else {
        return resource_type
            .attribute(&attr.name)
            .map(|def| (None, def))
            .ok_or_else(unknown);
    };
    // `urn:...:enterprise:2.0:User` parses as URN `urn:...:2.0` and name `User`.
    let whole = format!("{urn}:{}", attr.name);
    if let Some(extension) = resource_type.extension(&whole) {
        return resource_type
            .attribute(extension.id)
            .map(|def| (None, def))
            .ok_or_else(unknown);
    }
    if urn.eq_ignore_ascii_case(resource_type.core().id) {
        return resource_type
            .core()
            .attribute(&attr.name)
            .map(|def| (None, def))
            .ok_or_else(unknown);
    }
    let extension = resource_type.extension(urn).ok_or_else(unknown)?;
    extension
        .attribute(&attr.name)
        .map(|def| (Some(extension.id), def))
        .ok_or_else(unknown)
}

/// Takes `name` out of `container` as an object (empty if absent or not an object), for the
/// caller to edit and put back.
fn take_object(container: &mut Map<String, Value>, name: &str) -> Map<String, Value> {
    match container.remove(name) {
        Some(Value::Object(object)) => object,
        _ => Map::new(),
    }
}

/// Takes `name` out of `container` as an array (empty if absent or not an array).
fn take_array(container: &mut Map<String, Value>, name: &str) -> Vec<Value> {
    match container.remove(name) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// Drops an attribute left empty, so that `{}` and `[]` never stand for "absent".
fn prune(container: &mut Map<String, Value>, name: &str) {
    let empty = match container.get(name) {
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(object)) => object.is_empty(),
        _ => false,
    };
    if empty {
        container.remove(name);
    }
}

fn set_in_element(element: &mut Map<String, Value>, sub: Option<&AttributeDef>, value: &Value) {
    match (sub, value) {
        (Some(sub), value) => {
            element.insert(sub.name.to_string(), value.clone());
        }
        (None, Value::Object(fields)) => element.extend(fields.clone()),
        (None, _) => {}
    }
}

/// The value a filter of equalities joined by `and` describes (`type eq "work"` → `{"type":
/// "work"}`), or `None` if the filter says anything else.
fn implied_value(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.sub_attr.is_none() => {
            let value = match value {
                CompValue::String(text) => Value::String(text.clone()),
                CompValue::Bool(flag) => Value::Bool(*flag),
                CompValue::Number(number) => Value::Number(number.clone()),
                CompValue::Null => return None,
            };
            Some(Map::from_iter([(path.name.clone(), value)]))
        }
        Filter::And(..) => {
            let mut implied = Map::new();
            for operand in filter.operands() {
                implied.extend(implied_value(operand)?);
            }
            Some(implied)
        }
        _ => None,
    }
}

fn is_primary(item: &Value) -> bool {
    item.get("primary") == Some(&Value::Bool(true))
}

/// RFC 7643 §2.4: `primary` is true for at most one value; the one just written wins.
fn keep_one_primary(items: &mut [Value], winner: &Value) {
    if !is_primary(winner) {
        return;
    }
    let mut kept = false;
    for item in items.iter_mut().rev() {
        if is_primary(item) {
            if item == winner && !kept {
                kept = true;
            } else if let Value::Object(object) = item {
                object.insert("primary".into(), Value::Bool(false));
            }
        }
    }
}

fn listed_values(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items.clone(),
        Some(single) => vec![single.clone()],
        None => Vec::new(),
    }
}

/// Two values of a multi-valued attribute are the same if their `value` sub-attributes are, or
/// (for values without one) if they are equal.
fn same_value(item: &Value, listed: &Value) -> bool {
    match (item.get("value"), value_of(listed)) {
        (Some(a), Some(b)) => a == b,
        _ => item == listed,
    }
}

fn value_of(listed: &Value) -> Option<&Value> {
    listed.as_object().and_then(|object| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("value"))
            .map(|(_, value)| value)
    })
}

#[cfg(test)]
mod tests;
