//! A batch's user events folded into the directory's rows: each row the batch changes comes out
//! once, as the batch's last event on it left it, however many events changed it. Pure: the
//! rows as they stood before the batch come in (read in one statement, or held from the last
//! batch), the rows to write go out.

use super::{ACTIVE, DELETED, SUSPENDED};
use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, RecordedEvent};
use aggregates::settings::mapping::MappedFields;
use aggregates::user::{is_active, UserEvent};
use aggregates::values::case_insensitive_key;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// A row of `app_users`, every column.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct AppUserRow {
    pub id: String,
    pub instance_id: String,
    pub user_name: String,
    pub user_name_key: String,
    /// The mapped fields as a JSON object.
    pub fields: String,
    pub state: String,
    pub managed: bool,
    pub manager_reference: Option<String>,
    pub manager_reference_key: Option<String>,
    pub manager_id: Option<String>,
    pub updated_at: String,
}

/// The users whose rows `events` change without creating them first: the rows the fold must
/// be given before it applies them.
pub fn rows_needed(events: &[RecordedEvent]) -> BTreeSet<String> {
    let mut created = BTreeSet::new();
    let mut needed = BTreeSet::new();
    for recorded in events {
        let DomainEvent::User(event) = &recorded.event else {
            continue;
        };
        let id = &recorded.aggregate_id;
        match event {
            UserEvent::UserCreated { .. } | UserEvent::UserImported { .. } => {
                created.insert(id.clone());
            }
            _ if !created.contains(id) => {
                needed.insert(id.clone());
            }
            _ => {}
        }
    }
    needed
}

#[derive(Debug, Default)]
pub struct DirectoryFold {
    /// Every row the fold was given or made, as the events so far left it (`None`: no row).
    rows: HashMap<String, Option<AppUserRow>>,
    changed: BTreeSet<String>,
}

/// What a batch leaves: the rows to write, and every row as it stands after the batch.
#[derive(Debug, Default, PartialEq)]
pub struct FoldedRows {
    pub changed: Vec<AppUserRow>,
    pub known: Vec<AppUserRow>,
}

impl DirectoryFold {
    /// The user `id` has `row` before the batch (`None`: no row).
    pub fn given(&mut self, id: &str, row: Option<AppUserRow>) {
        self.rows.insert(id.to_string(), row);
    }

    /// Applies one event. Like the single-row `UPDATE`s it stands for, an event on a user
    /// without a row changes nothing, except a mapping change, which needs the fields it
    /// changes.
    pub fn apply(&mut self, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let DomainEvent::User(event) = &recorded.event else {
            return Ok(());
        };
        let id = recorded.aggregate_id.as_str();
        let at = recorded.metadata.occurred_at.as_str();
        let slot = self.rows.entry(id.to_string()).or_default();
        match event {
            UserEvent::UserCreated {
                instance_id,
                user_name,
                attributes,
                ..
            }
            | UserEvent::UserImported {
                instance_id,
                user_name,
                attributes,
                ..
            } => {
                *slot = Some(AppUserRow {
                    id: id.to_string(),
                    instance_id: instance_id.as_str().to_string(),
                    user_name: user_name.as_str().to_string(),
                    user_name_key: user_name.key(),
                    fields: "{}".into(),
                    state: if is_active(attributes) {
                        ACTIVE
                    } else {
                        SUSPENDED
                    }
                    .into(),
                    managed: matches!(event, UserEvent::UserCreated { .. }),
                    manager_reference: None,
                    manager_reference_key: None,
                    manager_id: None,
                    updated_at: at.to_string(),
                });
            }
            UserEvent::UserMapped { changes } => {
                let Some(row) = slot.as_mut() else {
                    return Err(ProjectionError::missing_row("directory", "user", recorded));
                };
                let mut fields: MappedFields =
                    serde_json::from_str(&row.fields).unwrap_or_default();
                for change in changes {
                    match &change.new {
                        Some(value) => fields.insert(change.field.clone(), value.clone()),
                        None => fields.remove(&change.field),
                    };
                }
                row.fields = serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into());
                row.updated_at = at.to_string();
            }
            UserEvent::UserUpdated { changes } => {
                let renamed = changes
                    .iter()
                    .find(|change| change.attribute == "userName")
                    .and_then(|change| change.new.as_ref().and_then(Value::as_str));
                let (Some(user_name), Some(row)) = (renamed, slot.as_mut()) else {
                    return Ok(());
                };
                row.user_name = user_name.to_string();
                row.user_name_key = case_insensitive_key(user_name);
                row.updated_at = at.to_string();
            }
            _ => {
                let Some(row) = slot.as_mut() else {
                    return Ok(());
                };
                edit(row, event);
                row.updated_at = at.to_string();
            }
        }
        self.changed.insert(id.to_string());
        Ok(())
    }

    /// The rows the batch changed, in id order, and every row it knows of.
    pub fn finish(self) -> FoldedRows {
        let mut changed = Vec::with_capacity(self.changed.len());
        for id in &self.changed {
            if let Some(Some(row)) = self.rows.get(id) {
                changed.push(row.clone());
            }
        }
        let known = self.rows.into_values().flatten().collect();
        FoldedRows { changed, known }
    }
}

/// What the events other than creation, renaming and mapping change in a row.
fn edit(row: &mut AppUserRow, event: &UserEvent) {
    match event {
        UserEvent::UserAdopted => row.managed = true,
        UserEvent::ManagerPending { reference } => set_manager(row, Some(reference), None),
        UserEvent::ManagerLinked {
            reference,
            manager_id,
        } => set_manager(row, Some(reference), Some(manager_id)),
        UserEvent::ManagerUnlinked { .. } => set_manager(row, None, None),
        UserEvent::UserSuspended { .. } => row.state = SUSPENDED.into(),
        UserEvent::UserReactivated { .. } => row.state = ACTIVE.into(),
        UserEvent::UserDeleted { .. } => row.state = DELETED.into(),
        UserEvent::UserCreated { .. }
        | UserEvent::UserImported { .. }
        | UserEvent::UserUpdated { .. }
        | UserEvent::UserMapped { .. } => {}
    }
}

fn set_manager(row: &mut AppUserRow, reference: Option<&str>, manager_id: Option<&str>) {
    row.manager_reference = reference.map(str::to_string);
    row.manager_reference_key = reference.map(case_insensitive_key);
    row.manager_id = manager_id.map(str::to_string);
}

#[cfg(test)]
mod tests;
