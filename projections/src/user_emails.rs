//! Every email address of every live user, one row each, keyed case-insensitively: what lets an
//! administrator find a user by the start of an address on an index (the addresses otherwise
//! live only inside the users' attribute JSON). Derived from the events alone: emails are
//! multi-valued, so each event that touches them carries the whole new list.

use crate::db::{Sql, Tx};
use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, RecordedEvent};
use crate::runner::Projection;
use aggregates::attributes::Attributes;
use aggregates::user::UserEvent;
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeSet;

pub const USER_EMAILS: &str = "scim_user_emails";
const EMAILS: &str = "emails";

pub struct UserEmails;

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

fn forget(user_id: &str) -> Sql {
    Sql::new(format!("DELETE FROM {USER_EMAILS} WHERE user_id = $1")).bind(user_id)
}

async fn record(
    tx: &mut Tx,
    recorded: &RecordedEvent,
    keys: BTreeSet<String>,
) -> Result<(), ProjectionError> {
    for key in keys {
        let sql = Sql::new(format!(
            "INSERT INTO {USER_EMAILS} (user_id, instance_id, email_key) VALUES ($1, $2, $3)"
        ))
        .bind(recorded.aggregate_id.as_str())
        .bind(recorded.metadata.instance_id.as_str())
        .bind(key);
        tx.defer(sql).await?;
    }
    Ok(())
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

    async fn apply(&self, tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let DomainEvent::User(event) = &recorded.event else {
            return Ok(());
        };
        match event {
            UserEvent::UserCreated { attributes, .. }
            | UserEvent::UserImported { attributes, .. } => {
                record(tx, recorded, created_emails(attributes)).await
            }
            UserEvent::UserUpdated { changes } => {
                // The last change of `emails` in the event is the list as it now stands.
                let Some(change) = changes
                    .iter()
                    .rev()
                    .find(|change| change.attribute == EMAILS && change.sub_attribute.is_none())
                else {
                    return Ok(());
                };
                tx.defer(forget(&recorded.aggregate_id)).await?;
                record(tx, recorded, email_keys(change.new.as_ref())).await
            }
            UserEvent::UserDeleted { .. } => Ok(tx.defer(forget(&recorded.aggregate_id)).await?),
            _ => Ok(()),
        }
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
}
