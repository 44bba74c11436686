//! The SCIM read model of users: one row per live user, with indexed columns for the
//! attributes clients look users up by, and the remaining attributes as JSON.

use crate::db::{Db, DbError, Sql, Tx};
use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, RecordedEvent};
use crate::runner::Projection;
use aggregates::attributes::Attributes;
use aggregates::user::{UserEvent, ACTIVE};
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use serde_json::{Map, Value};

pub struct ScimUsers;

/// The columns of a `UserRecord`, in a form list queries can select.
pub const USER_COLUMNS: &str = "id, instance_id, user_name, external_id, active, attributes, \
     version, created_position, created_at, last_modified";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserRecord {
    pub id: String,
    pub instance_id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    /// The `active` attribute as the client stated it (absent: never stated).
    pub active: Option<bool>,
    /// Canonical attributes other than userName and externalId, as JSON text.
    pub attributes: String,
    pub version: i64,
    pub created_position: i64,
    pub created_at: String,
    pub last_modified: String,
}

impl UserRecord {
    pub fn attributes(&self) -> Map<String, Value> {
        serde_json::from_str(&self.attributes).unwrap_or_default()
    }
}

/// A live user of `instance_id`, if there is one with that id.
pub async fn find_user(
    db: &Db,
    instance_id: &str,
    id: &str,
) -> Result<Option<UserRecord>, DbError> {
    let sql = Sql::new(format!(
        "SELECT {USER_COLUMNS} FROM scim_users WHERE instance_id = $1 AND id = $2"
    ))
    .bind(instance_id)
    .bind(id);
    db.fetch_optional(&sql).await
}

#[derive(sqlx::FromRow)]
struct Found {
    id: String,
}

/// The live user of `instance_id` a manager reference names: by id, else by externalId, else
/// by userName (any case).
pub async fn find_manager(
    db: &Db,
    instance_id: &str,
    reference: &str,
) -> Result<Option<String>, DbError> {
    let sql = Sql::new(
        "SELECT id FROM scim_users
          WHERE instance_id = $1 AND (id = $2 OR external_id = $2 OR user_name_key = $3)
          ORDER BY CASE WHEN id = $2 THEN 0 WHEN external_id = $2 THEN 1 ELSE 2 END
          LIMIT 1",
    )
    .bind(instance_id)
    .bind(reference)
    .bind(case_insensitive_key(reference));
    let found: Option<Found> = db.fetch_optional(&sql).await?;
    Ok(found.map(|found| found.id))
}

fn display_name(attributes: &Attributes) -> Option<String> {
    attributes
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn active(attributes: &Attributes) -> Option<bool> {
    attributes.get(ACTIVE).and_then(Value::as_bool)
}

fn json_text(attributes: &Attributes) -> String {
    Value::Object(attributes.as_map().clone()).to_string()
}

#[derive(sqlx::FromRow)]
struct StoredProfile {
    user_name: String,
    external_id: Option<String>,
    attributes: String,
}

#[async_trait]
impl Projection for ScimUsers {
    fn name(&self) -> &'static str {
        "scim_users"
    }

    fn version(&self) -> i64 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["scim_users"]
    }

    async fn apply(&self, tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let DomainEvent::User(event) = &recorded.event else {
            return Ok(());
        };
        let id = recorded.aggregate_id.as_str();
        let at = recorded.metadata.occurred_at.as_str();
        let sql = match event {
            UserEvent::UserCreated {
                instance_id,
                user_name,
                external_id,
                attributes,
                invitation_sent: _,
            }
            | UserEvent::UserImported {
                instance_id,
                user_name,
                external_id,
                attributes,
            } => Sql::new(
                "INSERT INTO scim_users (id, instance_id, user_name, user_name_key, external_id,
                     display_name, display_name_key, active, attributes, version,
                     created_position, created_at, last_modified)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            )
            .bind(id)
            .bind(instance_id.as_str())
            .bind(user_name.as_str())
            .bind(user_name.key())
            .bind(external_id.as_ref().map(|id| id.as_str()))
            .bind(display_name(attributes))
            .bind(
                display_name(attributes)
                    .as_deref()
                    .map(case_insensitive_key),
            )
            .bind(active(attributes))
            .bind(json_text(attributes))
            .bind(recorded.sequence)
            .bind(recorded.position.position)
            .bind(at),
            UserEvent::UserUpdated { changes } => {
                let stored: Option<StoredProfile> = tx
                    .fetch_optional(
                        &Sql::new(
                            "SELECT user_name, external_id, attributes FROM scim_users WHERE id = $1",
                        )
                        .bind(id),
                    )
                    .await?;
                let Some(mut profile) = stored else {
                    return Err(ProjectionError::MissingRow {
                        projection: self.name(),
                        aggregate: "user",
                        id: id.to_string(),
                        position: recorded.position,
                    });
                };
                let mut attributes =
                    Attributes::new(serde_json::from_str(&profile.attributes).unwrap_or_default());
                for change in changes {
                    let text = change
                        .new
                        .as_ref()
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    match change.attribute.as_str() {
                        "userName" => profile.user_name = text.unwrap_or(profile.user_name),
                        "externalId" => profile.external_id = text,
                        _ => attributes.apply(change),
                    }
                }
                let display = display_name(&attributes);
                Sql::new(
                    "UPDATE scim_users
                        SET user_name = $2, user_name_key = $3, external_id = $4,
                            display_name = $5, display_name_key = $6, active = $7,
                            attributes = $8, version = $9, last_modified = $10
                      WHERE id = $1",
                )
                .bind(id)
                .bind(profile.user_name.as_str())
                .bind(case_insensitive_key(&profile.user_name))
                .bind(profile.external_id)
                .bind(display.clone())
                .bind(display.as_deref().map(case_insensitive_key))
                .bind(active(&attributes))
                .bind(json_text(&attributes))
                .bind(recorded.sequence)
                .bind(at)
            }
            // The `active` attribute changed in the update these follow; mapped fields belong
            // to the application's directory, not to the SCIM resource. Each is still a version.
            UserEvent::UserSuspended { .. }
            | UserEvent::UserReactivated { .. }
            | UserEvent::UserMapped { .. }
            | UserEvent::ManagerPending { .. }
            | UserEvent::ManagerLinked { .. }
            | UserEvent::ManagerUnlinked { .. }
            | UserEvent::UserAdopted => {
                Sql::new("UPDATE scim_users SET version = $2, last_modified = $3 WHERE id = $1")
                    .bind(id)
                    .bind(recorded.sequence)
                    .bind(at)
            }
            UserEvent::UserDeleted { .. } => {
                Sql::new("DELETE FROM scim_users WHERE id = $1").bind(id)
            }
        };
        tx.execute(&sql).await?;
        Ok(())
    }
}
