//! A batch's user events folded into each user's row as the batch leaves it: the rows the
//! batch changed are read once before it (those it did not create), changed in memory event by
//! event with the same decision the time-travel fold uses (`UserRowChange::apply_to`), and
//! written once after it, with the instances' totals.

use super::{MissingUserRow, Profile, UserRecord, UserRowChange};
use crate::db::set_based::{Kind, Shape};
use crate::db::{Dialect, Sql, SqlArg};
use crate::event_log::{DomainEvent, RecordedEvent};
use crate::totals::{self, Deltas};
use aggregates::user::UserEvent;
use aggregates::values::case_insensitive_key;
use std::collections::{HashMap, HashSet};

pub(super) const SCIM_USERS: Shape = Shape {
    table: "scim_users",
    key: &["id"],
    columns: &[
        ("id", Kind::Text),
        ("instance_id", Kind::Text),
        ("user_name", Kind::Text),
        ("user_name_key", Kind::Text),
        ("external_id", Kind::Text),
        ("display_name", Kind::Text),
        ("display_name_key", Kind::Text),
        ("active", Kind::Bool),
        ("attributes", Kind::Text),
        ("version", Kind::Int),
        ("created_position", Kind::Int),
        ("created_at", Kind::Text),
        ("last_modified", Kind::Text),
    ],
};

#[derive(Debug, Default)]
pub struct Batch {
    /// Each user the batch has events of, by id.
    pub(super) rows: HashMap<String, Folded>,
    /// The ids of `rows` in the order they came, so that writes go in a stable order.
    order: Vec<String>,
    totals: Deltas,
}

#[derive(Debug)]
pub(super) struct Folded {
    /// The user's row as the events so far leave it; `None`: it has none.
    row: Option<UserRecord>,
    /// Whether the store holds a row of the user (one to delete if it ends with none).
    stored: bool,
    changed: bool,
}

impl Batch {
    /// The users of `events` whose rows must be read: those not read yet whose first event in
    /// the batch is not their creation (a created user has no row before it). Users created in
    /// the batch begin with no row.
    pub fn unread(&mut self, events: &[RecordedEvent]) -> Vec<String> {
        let mut unread = Vec::new();
        let mut seen = HashSet::new();
        for recorded in events {
            let DomainEvent::User(event) = &recorded.event else {
                continue;
            };
            let id = recorded.aggregate_id.as_str();
            if self.rows.contains_key(id) || !seen.insert(id) {
                continue;
            }
            match event {
                UserEvent::UserCreated { .. } | UserEvent::UserImported { .. } => {
                    self.track(id, None);
                }
                _ => unread.push(id.to_string()),
            }
        }
        unread
    }

    /// Takes the stored rows read for `ids`: each id without one has none.
    pub fn read(&mut self, ids: Vec<String>, rows: Vec<UserRecord>) {
        let mut rows: HashMap<String, UserRecord> =
            rows.into_iter().map(|row| (row.id.clone(), row)).collect();
        for id in ids {
            let row = rows.remove(&id);
            self.track(&id, row);
        }
    }

    fn track(&mut self, id: &str, row: Option<UserRecord>) {
        if self.rows.contains_key(id) {
            return;
        }
        self.order.push(id.to_string());
        let stored = row.is_some();
        let folded = Folded {
            row,
            stored,
            changed: false,
        };
        self.rows.insert(id.to_string(), folded);
    }

    /// Applies one event's change to its user's row (which `unread`/`read` tracked): an edit of
    /// a user without a row is refused.
    pub fn apply(
        &mut self,
        recorded: &RecordedEvent,
        change: UserRowChange<'_>,
    ) -> Result<(), MissingUserRow> {
        let instance_id = recorded.metadata.instance_id.as_str();
        match change {
            UserRowChange::Insert { .. } => self.totals.add(instance_id, 1),
            UserRowChange::Delete => self.totals.add(instance_id, -1),
            UserRowChange::Edit(_) | UserRowChange::Touch => {}
        }
        let Some(folded) = self.rows.get_mut(&recorded.aggregate_id) else {
            return Err(MissingUserRow);
        };
        let before = folded.row.take();
        let had_row = before.is_some();
        folded.row = change.apply_to(before, recorded)?;
        folded.changed |= had_row || folded.row.is_some();
        Ok(())
    }

    /// The writes of the batch: users left without a row deleted, the others' rows written
    /// whole, the totals moved (one statement each on PostgreSQL).
    pub fn statements(mut self, dialect: Dialect) -> Vec<Sql> {
        let mut deleted = Vec::new();
        let mut written = Vec::new();
        for id in &self.order {
            let Some(folded) = self.rows.remove(id) else {
                continue;
            };
            if !folded.changed {
                continue;
            }
            match folded.row {
                Some(row) => written.push(columns(row)),
                None if folded.stored => deleted.push(vec![SqlArg::from(id.as_str())]),
                None => {}
            }
        }
        let mut statements = SCIM_USERS.delete(dialect, deleted);
        statements.extend(SCIM_USERS.upsert(dialect, written));
        statements.extend(self.totals.statements(totals::USER_TOTALS, dialect));
        statements
    }
}

/// A row's values in `SCIM_USERS`' column order, with the keys and displayName it indexes.
fn columns(row: UserRecord) -> Vec<SqlArg> {
    let display_name = Profile::from_row(String::new(), None, &row.attributes).display_name();
    let user_name_key = case_insensitive_key(&row.user_name);
    let display_name_key = display_name.as_deref().map(case_insensitive_key);
    vec![
        row.id.into(),
        row.instance_id.into(),
        row.user_name.into(),
        user_name_key.into(),
        row.external_id.into(),
        display_name.into(),
        display_name_key.into(),
        row.active.into(),
        row.attributes.into(),
        row.version.into(),
        row.created_position.into(),
        row.created_at.into(),
        row.last_modified.into(),
    ]
}

#[cfg(test)]
mod tests;
