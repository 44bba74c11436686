//! The SCIM read model of users: one row per live user, with indexed columns for the
//! attributes clients look users up by, and the remaining attributes as JSON.

use crate::db::{Db, DbError, Sql, Tx};
use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, RecordedEvent};
use crate::runner::Projection;
use crate::totals;
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use serde_json::{Map, Value};

mod row;
mod with_groups;
pub use row::{user_row_change, MissingUserRow, Profile, UserRowChange};
pub use with_groups::{user_with_groups_columns, UserWithGroups};

pub struct ScimUsers;

/// The columns of a `UserRecord`, in a form list queries can select.
pub const USER_COLUMNS: &str = "id, instance_id, user_name, external_id, active, attributes, \
     version, created_position, created_at, last_modified";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct UserRecord {
    pub id: String,
    pub instance_id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    /// The `active` attribute as the client stated it (absent: never stated).
    #[serde(default, deserialize_with = "crate::db::sqlite::optional_flag")]
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

#[derive(sqlx::FromRow, serde::Deserialize)]
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
    // Three indexed lookups, not one OR: across columns SQLite would read every user of the
    // instance, on every write that names a manager.
    let sql = Sql::new(
        "SELECT id, 0 AS preference FROM scim_users WHERE instance_id = $1 AND id = $2
         UNION ALL
         SELECT id, 1 AS preference FROM scim_users WHERE instance_id = $1 AND external_id = $2
         UNION ALL
         SELECT id, 2 AS preference FROM scim_users WHERE instance_id = $1 AND user_name_key = $3
         ORDER BY preference
         LIMIT 1",
    )
    .bind(instance_id)
    .bind(reference)
    .bind(case_insensitive_key(reference));
    let found: Option<Found> = db.fetch_optional(&sql).await?;
    Ok(found.map(|found| found.id))
}

#[derive(sqlx::FromRow, serde::Deserialize)]
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
        // 2: with the users' totals. 3: a user created or imported without `active` is shown
        // active (its events read through the domain's upcast).
        3
    }

    fn tables(&self) -> &'static [&'static str] {
        &["scim_users", totals::USER_TOTALS]
    }

    async fn apply(&self, tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let DomainEvent::User(event) = &recorded.event else {
            return Ok(());
        };
        let id = recorded.aggregate_id.as_str();
        let at = recorded.metadata.occurred_at.as_str();
        let instance_id = recorded.metadata.instance_id.as_str();
        let sql = match user_row_change(recorded, event) {
            UserRowChange::Insert { row, display_name } => {
                tx.defer(totals::change(totals::USER_TOTALS, instance_id, 1))
                    .await?;
                let user_name_key = case_insensitive_key(&row.user_name);
                let display_name_key = display_name.as_deref().map(case_insensitive_key);
                Sql::new(
                    "INSERT INTO scim_users (id, instance_id, user_name, user_name_key, external_id,
                         display_name, display_name_key, active, attributes, version,
                         created_position, created_at, last_modified)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(row.id)
                .bind(row.instance_id)
                .bind(row.user_name)
                .bind(user_name_key)
                .bind(row.external_id)
                .bind(display_name)
                .bind(display_name_key)
                .bind(row.active)
                .bind(row.attributes)
                .bind(row.version)
                .bind(row.created_position)
                .bind(row.created_at)
                .bind(row.last_modified)
            }
            UserRowChange::Edit(changes) => {
                let stored: Option<StoredProfile> = tx
                    .fetch_optional(
                        &Sql::new(
                            "SELECT user_name, external_id, attributes FROM scim_users WHERE id = $1",
                        )
                        .bind(id),
                    )
                    .await?;
                let Some(stored) = stored else {
                    return Err(ProjectionError::missing_row(self.name(), "user", recorded));
                };
                let mut profile =
                    Profile::from_row(stored.user_name, stored.external_id, &stored.attributes);
                profile.edit(changes);
                let display = profile.display_name();
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
                .bind(profile.external_id.as_deref())
                .bind(display.clone())
                .bind(display.as_deref().map(case_insensitive_key))
                .bind(profile.active())
                .bind(profile.attributes_text())
                .bind(recorded.sequence)
                .bind(at)
            }
            UserRowChange::Touch => {
                Sql::new("UPDATE scim_users SET version = $2, last_modified = $3 WHERE id = $1")
                    .bind(id)
                    .bind(recorded.sequence)
                    .bind(at)
            }
            UserRowChange::Delete => {
                tx.defer(totals::change(totals::USER_TOTALS, instance_id, -1))
                    .await?;
                Sql::new("DELETE FROM scim_users WHERE id = $1").bind(id)
            }
        };
        tx.defer(sql).await?;
        Ok(())
    }
}
