//! The SCIM read model of users: one row per live user, with indexed columns for the
//! attributes clients look users up by, and the remaining attributes as JSON.

use crate::db::{Db, DbError, Sql, Tx};
use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, RecordedEvent};
use crate::held::Gathered;
use crate::runner::Projection;
use crate::totals;
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use serde_json::{Map, Value};

mod batch;
mod row;
mod with_groups;
pub use row::{user_row_change, MissingUserRow, Profile, UserRowChange};
pub use with_groups::{user_with_groups_columns, UserWithGroups};

/// The users' rows as a batch's events leave them, written once per batch.
#[derive(Default)]
pub struct ScimUsers {
    gathered: Gathered<batch::Batch>,
}

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
    .bind(case_insensitive_key(reference))
    // Prepared while the table was empty, its generic plan walked an index on `instance_id`
    // alone for all three, 6.6 ms a create at 20,000 users (docs/performance.md).
    .planned_each_time();
    let found: Option<Found> = db.fetch_optional(&sql).await?;
    Ok(found.map(|found| found.id))
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

    fn start_batch(&self, _continuing: bool) {
        self.gathered.take();
    }

    async fn prepare_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let unread = self.gathered.with(|batch| batch.unread(events));
        let read = read_rows(tx, unread.clone()).await?;
        self.gathered.with(|batch| batch.read(unread, read));
        Ok(())
    }

    async fn apply(&self, tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let DomainEvent::User(event) = &recorded.event else {
            return Ok(());
        };
        let id = recorded.aggregate_id.as_str();
        // Every user of the batch is read in `prepare_batch`; this is for a caller that did
        // not prepare.
        if !self.gathered.with(|batch| batch.rows.contains_key(id)) {
            let unread = vec![id.to_string()];
            let read = read_rows(tx, unread.clone()).await?;
            self.gathered.with(|batch| batch.read(unread, read));
        }
        let change = user_row_change(recorded, event);
        self.gathered
            .with(|batch| batch.apply(recorded, change))
            .map_err(|MissingUserRow| ProjectionError::missing_row(self.name(), "user", recorded))
    }

    async fn finish_batch(&self, tx: &mut Tx, _cut_short: bool) -> Result<(), ProjectionError> {
        let batch = self.gathered.take();
        tx.write_all(batch.statements(tx.dialect())).await?;
        Ok(())
    }
}

/// The stored rows of `ids` (those that have one), in one statement on PostgreSQL.
async fn read_rows(tx: &mut Tx, ids: Vec<String>) -> Result<Vec<UserRecord>, DbError> {
    let keys = ids.into_iter().map(|id| vec![id.into()]).collect();
    batch::SCIM_USERS
        .fetch_by_keys(tx, USER_COLUMNS, keys)
        .await
}
