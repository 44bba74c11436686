//! The application's user directory: one User entity per provisioned user, with the fields the
//! instance's mapping fills, its state (active, suspended, deleted) and whether SCIM manages it.
//! Deleted users stay, marked deleted, as the application keeps their records.

mod fold;
pub mod listing;

use crate::db::{Db, DbError, Sql, Tx};
use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, RecordedEvent};
use crate::held::Held;
use crate::runner::Projection;
use aggregates::settings::mapping::MappedFields;
use aggregates::user::{is_active, UserEvent};
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use serde_json::Value;

/// The mapped fields of the users it touched are held (see `Held`): each mapping change would
/// otherwise read them back, a round trip each.
#[derive(Default)]
pub struct Directory {
    fields: Held<MappedFields>,
}

impl Directory {
    async fn stored_fields(
        &self,
        tx: &mut Tx,
        recorded: &RecordedEvent,
    ) -> Result<MappedFields, ProjectionError> {
        let id = recorded.aggregate_id.as_str();
        let stored: Option<StoredFields> = tx
            .fetch_optional(&Sql::new("SELECT fields FROM app_users WHERE id = $1").bind(id))
            .await?;
        let Some(stored) = stored else {
            return Err(ProjectionError::missing_row(self.name(), "user", recorded));
        };
        Ok(serde_json::from_str(&stored.fields).unwrap_or_default())
    }
}

pub const ACTIVE: &str = "active";
pub const SUSPENDED: &str = "suspended";
pub const DELETED: &str = "deleted";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct AppUserRecord {
    pub id: String,
    pub instance_id: String,
    pub user_name: String,
    /// The mapped fields as a JSON object.
    pub fields: String,
    pub state: String,
    pub managed: bool,
    pub manager_reference: Option<String>,
    pub manager_id: Option<String>,
    pub updated_at: String,
}

impl AppUserRecord {
    pub fn fields(&self) -> MappedFields {
        serde_json::from_str(&self.fields).unwrap_or_default()
    }
}

pub const APP_USER_COLUMNS: &str =
    "id, instance_id, user_name, fields, state, managed, manager_reference, manager_id, updated_at";

/// The User entity of `instance_id` whose User Name is `user_name` (any case); a live one before
/// a deleted one of the same name.
pub async fn find_app_user(
    db: &Db,
    instance_id: &str,
    user_name: &str,
) -> Result<Option<AppUserRecord>, DbError> {
    let sql = Sql::new(format!(
        "SELECT {APP_USER_COLUMNS} FROM app_users WHERE instance_id = $1 AND user_name_key = $2
          ORDER BY (state = '{DELETED}'), updated_at DESC LIMIT 1"
    ))
    .bind(instance_id)
    .bind(case_insensitive_key(user_name));
    db.fetch_optional(&sql).await
}

/// The live user of `instance_id` named `user_name` (any case) that SCIM does not manage yet:
/// an imported account an IdP may adopt.
pub async fn unmanaged_user_named(
    db: &Db,
    instance_id: &str,
    user_name: &str,
) -> Result<Option<String>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Found {
        id: String,
    }
    let sql = Sql::new(format!(
        "SELECT id FROM app_users
          WHERE instance_id = $1 AND user_name_key = $2 AND NOT managed AND state <> '{DELETED}'"
    ))
    .bind(instance_id)
    .bind(case_insensitive_key(user_name));
    let found: Option<Found> = db.fetch_optional(&sql).await?;
    Ok(found.map(|found| found.id))
}

/// The User entity of the user with this id, whatever its state.
pub async fn app_user(db: &Db, id: &str) -> Result<Option<AppUserRecord>, DbError> {
    let sql = Sql::new(format!(
        "SELECT {APP_USER_COLUMNS} FROM app_users WHERE id = $1"
    ))
    .bind(id);
    db.fetch_optional(&sql).await
}

/// A user of the instance waiting for the manager it names.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct PendingManager {
    pub id: String,
    pub manager_reference: String,
}

/// The users of `instance_id` waiting for a manager that one of these names refers to: the new
/// user's id, its externalId (both exact), or its userName (any case).
pub async fn waiting_for_manager(
    db: &Db,
    instance_id: &str,
    id: &str,
    external_id: Option<&str>,
    user_name: &str,
) -> Result<Vec<PendingManager>, DbError> {
    // Two lookups, not one OR: across two columns SQLite would use neither index beyond the
    // instance and read every user without a manager, on every create.
    let sql = Sql::new(format!(
        "SELECT id, manager_reference FROM app_users
          WHERE instance_id = $1 AND manager_id IS NULL AND state <> '{DELETED}'
            AND manager_reference IN ($2, $3)
         UNION
         SELECT id, manager_reference FROM app_users
          WHERE instance_id = $1 AND manager_id IS NULL AND state <> '{DELETED}'
            AND manager_reference_key = $4"
    ))
    .bind(instance_id)
    .bind(id)
    .bind(external_id)
    .bind(case_insensitive_key(user_name));
    db.fetch_all(&sql).await
}

/// A user waiting for a manager that is a user of its instance by now.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Deserialize)]
pub struct LinkableReport {
    pub id: String,
    pub instance_id: String,
    pub manager_reference: String,
    pub manager_id: String,
}

/// Every user, of any instance, still waiting for a manager its reference names a user of the
/// instance now: the reports whose linking failed, or whose process died between the manager's
/// creation and the links. The reference resolves as `scim_users::find_manager` resolves it:
/// by id, else externalId, else userName.
pub async fn reports_with_manager_now(db: &Db) -> Result<Vec<LinkableReport>, DbError> {
    let waiting = format!(
        "r.manager_id IS NULL AND r.manager_reference IS NOT NULL AND r.state <> '{DELETED}'"
    );
    let select = |preference: u8, matches: &str| {
        format!(
            "SELECT r.id AS id, r.instance_id AS instance_id,
                    r.manager_reference AS manager_reference, m.id AS manager_id,
                    {preference} AS preference
               FROM app_users r JOIN scim_users m
                 ON m.instance_id = r.instance_id AND {matches}
              WHERE {waiting}"
        )
    };
    // Three joins on indexed columns, not one OR (see `find_manager`).
    let sql = Sql::new(format!(
        "{} UNION ALL {} UNION ALL {} ORDER BY id, preference",
        select(0, "m.id = r.manager_reference"),
        select(1, "m.external_id = r.manager_reference"),
        select(2, "m.user_name_key = r.manager_reference_key"),
    ));
    let mut reports: Vec<LinkableReport> = db.fetch_all(&sql).await?;
    // Each report's most preferred match comes first.
    reports.dedup_by(|later, first| later.id == first.id);
    Ok(reports)
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct StoredFields {
    fields: String,
}

#[async_trait]
impl Projection for Directory {
    fn name(&self) -> &'static str {
        "directory"
    }

    fn version(&self) -> i64 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["app_users"]
    }

    fn start_batch(&self, continuing: bool) {
        self.fields.start_batch(continuing);
    }

    async fn apply(&self, tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let DomainEvent::User(event) = &recorded.event else {
            return Ok(());
        };
        let id = recorded.aggregate_id.as_str();
        let at = recorded.metadata.occurred_at.as_str();
        let set_state = |state: &'static str| {
            Sql::new("UPDATE app_users SET state = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(state)
                .bind(at)
        };
        let sql = match event {
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
                self.fields.insert(id, MappedFields::default());
                Sql::new(
                    "INSERT INTO app_users (id, instance_id, user_name, user_name_key, fields,
                         state, managed, updated_at)
                     VALUES ($1, $2, $3, $4, '{}', $5, $6, $7)",
                )
                .bind(id)
                .bind(instance_id.as_str())
                .bind(user_name.as_str())
                .bind(user_name.key())
                .bind(if is_active(attributes) {
                    ACTIVE
                } else {
                    SUSPENDED
                })
                .bind(matches!(event, UserEvent::UserCreated { .. }))
                .bind(at)
            }
            UserEvent::UserAdopted => {
                Sql::new("UPDATE app_users SET managed = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(true)
                    .bind(at)
            }
            UserEvent::UserUpdated { changes } => {
                let renamed = changes
                    .iter()
                    .find(|change| change.attribute == "userName")
                    .and_then(|change| change.new.as_ref().and_then(Value::as_str));
                let Some(user_name) = renamed else {
                    return Ok(());
                };
                Sql::new(
                    "UPDATE app_users SET user_name = $2, user_name_key = $3, updated_at = $4
                      WHERE id = $1",
                )
                .bind(id)
                .bind(user_name)
                .bind(case_insensitive_key(user_name))
                .bind(at)
            }
            UserEvent::UserMapped { changes } => {
                let mut fields = match self.fields.get(id) {
                    Some(fields) => fields,
                    None => self.stored_fields(tx, recorded).await?,
                };
                for change in changes {
                    match &change.new {
                        Some(value) => fields.insert(change.field.clone(), value.clone()),
                        None => fields.remove(&change.field),
                    };
                }
                let text = serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into());
                self.fields.insert(id, fields);
                Sql::new("UPDATE app_users SET fields = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(text)
                    .bind(at)
            }
            UserEvent::ManagerPending { reference } => Sql::new(
                "UPDATE app_users SET manager_reference = $2, manager_reference_key = $3,
                        manager_id = NULL, updated_at = $4
                  WHERE id = $1",
            )
            .bind(id)
            .bind(reference.as_str())
            .bind(case_insensitive_key(reference))
            .bind(at),
            UserEvent::ManagerLinked {
                reference,
                manager_id,
            } => Sql::new(
                "UPDATE app_users SET manager_reference = $2, manager_reference_key = $3,
                        manager_id = $4, updated_at = $5
                  WHERE id = $1",
            )
            .bind(id)
            .bind(reference.as_str())
            .bind(case_insensitive_key(reference))
            .bind(manager_id.as_str())
            .bind(at),
            UserEvent::ManagerUnlinked { .. } => Sql::new(
                "UPDATE app_users SET manager_reference = NULL, manager_reference_key = NULL,
                        manager_id = NULL, updated_at = $2
                  WHERE id = $1",
            )
            .bind(id)
            .bind(at),
            UserEvent::UserSuspended { .. } => set_state(SUSPENDED),
            UserEvent::UserReactivated { .. } => set_state(ACTIVE),
            UserEvent::UserDeleted { .. } => set_state(DELETED),
        };
        tx.defer(sql).await?;
        Ok(())
    }
}
