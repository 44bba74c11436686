//! Every email address of every live user, one row each, keyed case-insensitively: what lets an
//! administrator find a user by the start of an address on an index (the addresses otherwise
//! live only inside the users' attribute JSON). Derived from the events alone: emails are
//! multi-valued, so each event that touches them carries the whole new list.

use crate::db::set_based::{Kind, Shape};
use crate::db::{Dialect, Sql, SqlArg, Tx};
use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, RecordedEvent};
use crate::held::Gathered;
use crate::runner::Projection;
use aggregates::attributes::Attributes;
use aggregates::user::UserEvent;
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

pub const USER_EMAILS: &str = "scim_user_emails";
const EMAILS: &str = "emails";

/// Each user's addresses as a batch's events leave them, written once per batch.
#[derive(Default)]
pub struct UserEmails {
    gathered: Gathered<Batch>,
}

/// Deleting a user's addresses: by the first column of the table's key.
const BY_USER: Shape = Shape {
    table: USER_EMAILS,
    key: &["user_id"],
    columns: &[("user_id", Kind::Text)],
};
const ADDRESSES: Shape = Shape {
    table: USER_EMAILS,
    key: &["user_id", "email_key"],
    columns: &[
        ("user_id", Kind::Text),
        ("instance_id", Kind::Text),
        ("email_key", Kind::Text),
    ],
};

/// The users whose addresses the batch set, in the order they came.
#[derive(Debug, Default)]
struct Batch {
    users: Vec<(String, Addresses)>,
    at: HashMap<String, usize>,
}

#[derive(Debug)]
struct Addresses {
    instance_id: String,
    keys: BTreeSet<String>,
    /// Whether the addresses stored before replace (a user created in the batch has none).
    replace: bool,
}

impl Batch {
    /// The user's addresses are now `keys` (its creation: `replace` false).
    fn set(&mut self, recorded: &RecordedEvent, keys: BTreeSet<String>, replace: bool) {
        let id = &recorded.aggregate_id;
        let instance_id = recorded.metadata.instance_id.clone();
        match self.at.get(id) {
            Some(&at) => {
                let addresses = &mut self.users[at].1;
                addresses.instance_id = instance_id;
                addresses.keys = keys;
                addresses.replace |= replace;
            }
            None => {
                self.at.insert(id.clone(), self.users.len());
                let addresses = Addresses {
                    instance_id,
                    keys,
                    replace,
                };
                self.users.push((id.clone(), addresses));
            }
        }
    }

    /// The stored addresses of users whose addresses changed deleted, then every user's
    /// addresses inserted (one statement each on PostgreSQL).
    fn statements(self, dialect: Dialect) -> Vec<Sql> {
        let replaced = self
            .users
            .iter()
            .filter(|(_, addresses)| addresses.replace)
            .map(|(id, _)| vec![SqlArg::from(id.as_str())])
            .collect();
        let rows = self
            .users
            .into_iter()
            .flat_map(|(id, addresses)| {
                let instance_id = addresses.instance_id;
                addresses.keys.into_iter().map(move |key| {
                    vec![
                        SqlArg::from(id.as_str()),
                        instance_id.as_str().into(),
                        key.into(),
                    ]
                })
            })
            .collect();
        let mut statements = BY_USER.delete(dialect, replaced);
        statements.extend(ADDRESSES.insert_new(dialect, rows));
        statements
    }
}

/// The distinct case-insensitive keys of the `value`s of an `emails` attribute.
fn email_keys(emails: Option<&Value>) -> BTreeSet<String> {
    let Some(Value::Array(emails)) = emails else {
        return BTreeSet::new();
    };
    emails
        .iter()
        .filter_map(|email| email.get("value").and_then(Value::as_str))
        .map(case_insensitive_key)
        .filter(|key| !key.is_empty())
        .collect()
}

fn created_emails(attributes: &Attributes) -> BTreeSet<String> {
    email_keys(attributes.get(EMAILS))
}

#[async_trait]
impl Projection for UserEmails {
    fn name(&self) -> &'static str {
        USER_EMAILS
    }

    fn version(&self) -> i64 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &[USER_EMAILS]
    }

    fn start_batch(&self, _continuing: bool) {
        self.gathered.take();
    }

    async fn apply(&self, _tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let DomainEvent::User(event) = &recorded.event else {
            return Ok(());
        };
        let (keys, replace) =
            match event {
                UserEvent::UserCreated { attributes, .. }
                | UserEvent::UserImported { attributes, .. } => (created_emails(attributes), false),
                UserEvent::UserUpdated { changes } => {
                    // The last change of `emails` in the event is the list as it now stands.
                    let Some(change) = changes.iter().rev().find(|change| {
                        change.attribute == EMAILS && change.sub_attribute.is_none()
                    }) else {
                        return Ok(());
                    };
                    (email_keys(change.new.as_ref()), true)
                }
                UserEvent::UserDeleted { .. } => (BTreeSet::new(), true),
                _ => return Ok(()),
            };
        self.gathered
            .with(|batch| batch.set(recorded, keys, replace));
        Ok(())
    }

    async fn finish_batch(&self, tx: &mut Tx, _cut_short: bool) -> Result<(), ProjectionError> {
        let batch = self.gathered.take();
        tx.write_all(batch.statements(tx.dialect())).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_address_is_kept_once_in_lowercase_and_values_that_are_not_addresses_are_not() {
        let emails = json!([
            {"value": "Ada@Example.com", "type": "work"},
            {"value": "ada@example.com", "type": "home"},
            {"value": "lovelace@example.org"},
            {"type": "other"},
            {"value": ""},
            {"value": 7}
        ]);
        let keys: Vec<String> = email_keys(Some(&emails)).into_iter().collect();
        assert_eq!(keys, ["ada@example.com", "lovelace@example.org"]);
        assert!(email_keys(Some(&json!("ada@example.com"))).is_empty());
        assert!(email_keys(None).is_empty());
    }

    fn recorded(id: &str) -> RecordedEvent {
        RecordedEvent {
            position: crate::event_log::Position::default(),
            aggregate_type: "User".into(),
            aggregate_id: id.into(),
            sequence: 1,
            event: DomainEvent::User(UserEvent::UserAdopted),
            metadata: crate::metadata::EventMetadata {
                instance_id: "i1".into(),
                actor: "okta".into(),
                key_id: None,
                correlation_id: "c".into(),
                user_agent: None,
                source: "scim".into(),
                occurred_at: "2026-01-31T12:00:00.000000Z".into(),
            },
            content_digest: [0; 32],
        }
    }

    fn keys(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|key| key.to_string()).collect()
    }

    #[test]
    fn each_user_s_last_addresses_are_written_once_replacing_the_stored_only_when_changed() {
        let mut batch = Batch::default();
        batch.set(&recorded("new"), keys(&["a@x"]), false);
        batch.set(&recorded("old"), keys(&["b@x"]), true);
        batch.set(&recorded("new"), keys(&["c@x", "d@x"]), true);
        batch.set(&recorded("gone"), keys(&[]), true);
        let statements = batch.statements(Dialect::Postgres);
        assert_eq!(statements.len(), 2);
        assert_eq!(
            statements[0].text(),
            "DELETE FROM scim_user_emails WHERE user_id = ANY($1::text[])"
        );
        let ids = |ids: &[&str]| SqlArg::Texts(ids.iter().map(|id| Some(id.to_string())).collect());
        assert_eq!(statements[0].args(), [ids(&["new", "old", "gone"])]);
        assert_eq!(statements[1].args()[0], ids(&["new", "new", "old"]));
        assert_eq!(statements[1].args()[2], ids(&["c@x", "d@x", "b@x"]));

        let mut created = Batch::default();
        created.set(&recorded("new"), keys(&["a@x"]), false);
        let statements = created.statements(Dialect::Sqlite);
        assert_eq!(statements.len(), 1, "a created user has nothing to delete");
        assert!(statements[0]
            .text()
            .starts_with("INSERT INTO scim_user_emails"));
    }
}
