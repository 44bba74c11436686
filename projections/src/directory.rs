//! The application's user directory: one User entity per provisioned user, with the fields the
//! instance's mapping fills, its state (active, suspended, deleted) and whether SCIM manages it.
//! Deleted users stay, marked deleted, as the application keeps their records.

mod fold;
pub mod listing;

use crate::db::set_based::{Kind, Shape};
use crate::db::{Db, DbError, Sql, SqlArg, Tx};
use crate::error::ProjectionError;
use crate::event_log::RecordedEvent;
use crate::held::{locked, Held};
use crate::runner::Projection;
use aggregates::settings::mapping::MappedFields;
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use fold::{rows_needed, AppUserRow, DirectoryFold};
use std::sync::Mutex;

/// A batch reads the rows it changes and did not create in one statement, folds its events
/// into them, and writes each changed row once (see `fold`). The rows of the users it touched
/// are held (see `Held`), so that a user changed again in the next batches is not read again.
#[derive(Default)]
pub struct Directory {
    rows: Held<AppUserRow>,
    /// The batch under way; only one runs at a time, so the lock is never contended.
    fold: Mutex<DirectoryFold>,
}

const APP_USERS: Shape = Shape {
    table: "app_users",
    key: &["id"],
    columns: &[
        ("id", Kind::Text),
        ("instance_id", Kind::Text),
        ("user_name", Kind::Text),
        ("user_name_key", Kind::Text),
        ("fields", Kind::Text),
        ("state", Kind::Text),
        ("managed", Kind::Bool),
        ("manager_reference", Kind::Text),
        ("manager_reference_key", Kind::Text),
        ("manager_id", Kind::Text),
        ("updated_at", Kind::Text),
    ],
};

impl AppUserRow {
    /// Its values in the order of `APP_USERS`' columns.
    fn into_args(self) -> Vec<SqlArg> {
        vec![
            self.id.into(),
            self.instance_id.into(),
            self.user_name.into(),
            self.user_name_key.into(),
            self.fields.into(),
            self.state.into(),
            self.managed.into(),
            self.manager_reference.into(),
            self.manager_reference_key.into(),
            self.manager_id.into(),
            self.updated_at.into(),
        ]
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
        self.rows.start_batch(continuing);
        // What a failed batch left is not this batch's.
        *locked(&self.fold) = DirectoryFold::default();
    }

    async fn prepare_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let mut fold = DirectoryFold::default();
        let mut unread = Vec::new();
        for id in rows_needed(events) {
            match self.rows.get(&id) {
                Some(row) => fold.given(&id, Some(row)),
                None => unread.push(id),
            }
        }
        let select = APP_USERS
            .columns
            .iter()
            .map(|(column, _)| *column)
            .collect::<Vec<_>>()
            .join(", ");
        let keys = unread.iter().map(|id| vec![id.into()]).collect();
        for sql in APP_USERS.select_by_keys(tx.dialect(), &select, keys) {
            let rows: Vec<AppUserRow> = tx.fetch_all(&sql).await?;
            for row in rows {
                fold.given(&row.id.clone(), Some(row));
            }
        }
        *locked(&self.fold) = fold;
        Ok(())
    }

    async fn apply(&self, _tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        locked(&self.fold).apply(recorded)
    }

    async fn finish_batch(&self, tx: &mut Tx, _cut_short: bool) -> Result<(), ProjectionError> {
        let folded = std::mem::take(&mut *locked(&self.fold)).finish();
        for row in folded.known {
            self.rows.insert(&row.id.clone(), row);
        }
        let rows = folded
            .changed
            .into_iter()
            .map(AppUserRow::into_args)
            .collect();
        tx.write_all(APP_USERS.upsert(tx.dialect(), rows)).await?;
        Ok(())
    }
}
