//! The change history of every instance: one entry per event, in the event log's order. Each
//! entry says when, who (the integration user, the key), through which request (source, user
//! agent, correlation id), to which user, group or instance settings, what happened (the event
//! type), and the event's own account of it, old and new values included.

use crate::db::{Conditions, DbError, Sql, Tx};
use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, RecordedEvent};
use crate::held::Held;
use crate::runner::Projection;
use aggregates::group::GroupEvent;
use aggregates::user::UserEvent;
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use cqrs_es::DomainEvent as _;
use serde::Serialize;
use serde_json::Value;

/// The names of the entities it touched are held (see `Held`): each event would otherwise
/// read its entity's name back, a round trip each.
#[derive(Default)]
pub struct History {
    names: Held<Option<String>>,
}

/// The columns of a `HistoryEntry`, in a form queries can select.
pub const HISTORY_COLUMNS: &str = "transaction_id, position, instance_id, occurred_at, actor, \
     key_id, source, user_agent, correlation_id, entity_type, entity_id, entity_name, action, \
     details";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, serde::Deserialize)]
/// Shown in camelCase without the store's own keys; read from a row by its column names.
#[serde(rename_all(serialize = "camelCase"))]
pub struct HistoryEntry {
    #[serde(skip_serializing)]
    pub transaction_id: i64,
    pub position: i64,
    #[serde(skip_serializing)]
    pub instance_id: String,
    pub occurred_at: String,
    pub actor: String,
    pub key_id: Option<String>,
    pub source: String,
    pub user_agent: Option<String>,
    pub correlation_id: String,
    pub entity_type: String,
    pub entity_id: String,
    pub entity_name: Option<String>,
    pub action: String,
    /// The event's own fields as JSON text (old and new values of a change).
    pub details: String,
}

/// The event's type, the kind of entity it is about, the name it gives that entity (if any),
/// and its fields.
fn describe(event: &DomainEvent) -> (String, &'static str, Option<String>, Value) {
    let (event_type, entity, name, payload) = match event {
        DomainEvent::User(event) => {
            let name = match event {
                UserEvent::UserCreated { user_name, .. }
                | UserEvent::UserImported { user_name, .. } => Some(user_name.as_str().to_string()),
                UserEvent::UserUpdated { changes } => changes
                    .iter()
                    .find(|change| change.attribute == "userName")
                    .and_then(|change| change.new.as_ref())
                    .and_then(Value::as_str)
                    .map(str::to_string),
                _ => None,
            };
            (
                event.event_type(),
                "User",
                name,
                serde_json::to_value(event),
            )
        }
        DomainEvent::Group(event) => {
            let name = match event {
                GroupEvent::GroupCreated { display_name, .. }
                | GroupEvent::GroupImported { display_name, .. } => {
                    Some(display_name.as_str().to_string())
                }
                GroupEvent::GroupRenamed {
                    new_display_name, ..
                } => Some(new_display_name.as_str().to_string()),
                _ => None,
            };
            (
                event.event_type(),
                "Group",
                name,
                serde_json::to_value(event),
            )
        }
        DomainEvent::Settings(event) => (
            event.event_type(),
            "InstanceSettings",
            None,
            serde_json::to_value(event),
        ),
    };
    // Events are externally tagged: `{"UserUpdated": {...}}`, or a bare name without fields.
    let details = match payload {
        Ok(Value::Object(mut tagged)) => tagged.remove(&event_type).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (event_type, entity, name, details)
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Name {
    name: String,
}

#[async_trait]
impl Projection for History {
    fn name(&self) -> &'static str {
        "history"
    }

    fn version(&self) -> i64 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["history_entries", "history_names"]
    }

    fn start_batch(&self, continuing: bool) {
        self.names.start_batch(continuing);
    }

    async fn apply(&self, tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let (action, entity_type, new_name, details) = describe(&recorded.event);
        let id = recorded.aggregate_id.as_str();
        let name = match new_name {
            Some(name) => {
                let upsert = Sql::new(
                    "INSERT INTO history_names (entity_id, name) VALUES ($1, $2)
                     ON CONFLICT (entity_id) DO UPDATE SET name = excluded.name",
                )
                .bind(id)
                .bind(name.as_str());
                tx.defer(upsert).await?;
                self.names.insert(id, Some(name.clone()));
                Some(name)
            }
            None => match self.names.get(id) {
                Some(name) => name,
                None => {
                    let sql =
                        Sql::new("SELECT name FROM history_names WHERE entity_id = $1").bind(id);
                    let found: Option<Name> = tx.fetch_optional(&sql).await?;
                    let name = found.map(|found| found.name);
                    self.names.insert(id, name.clone());
                    name
                }
            },
        };
        let metadata = &recorded.metadata;
        let insert = Sql::new(
            "INSERT INTO history_entries (transaction_id, position, instance_id, occurred_at,
                 actor, key_id, source, user_agent, correlation_id, entity_type, entity_id,
                 entity_name, entity_name_key, action, details)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(recorded.position.transaction_id)
        .bind(recorded.position.position)
        .bind(metadata.instance_id.as_str())
        .bind(metadata.occurred_at.as_str())
        .bind(metadata.actor.as_str())
        .bind(metadata.key_id.as_deref())
        .bind(metadata.source.as_str())
        .bind(metadata.user_agent.as_deref())
        .bind(metadata.correlation_id.as_str())
        .bind(entity_type)
        .bind(id)
        .bind(name.as_deref())
        .bind(name.as_deref().map(case_insensitive_key))
        .bind(action)
        .bind(details.to_string());
        tx.defer_row(insert).await?;
        Ok(())
    }
}

/// What a history query asks for; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub instance_id: String,
    pub entity_id: Option<String>,
    pub user_name: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// RFC 3339 bounds, inclusive, in scimd's fixed-width form.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Entries beyond this `(transaction_id, position)` in reading order, for paging.
    pub after: Option<(i64, i64)>,
    /// Read from the latest entry back instead of from the first on.
    pub newest_first: bool,
    pub limit: i64,
}

/// One page of the history, in the event log's order (or its reverse).
pub async fn history_page(
    db: &crate::db::Db,
    query: &HistoryQuery,
) -> Result<Vec<HistoryEntry>, DbError> {
    db.fetch_all(&history_statement(query)).await
}

/// The statement `history_page` runs, for checking its plan.
pub fn history_statement(query: &HistoryQuery) -> Sql {
    let mut conditions = Conditions::default();
    conditions.bind("instance_id = ?", [query.instance_id.as_str().into()]);
    if let Some(id) = &query.entity_id {
        conditions.bind("entity_id = ?", [id.as_str().into()]);
    }
    if let Some(user_name) = &query.user_name {
        let key = case_insensitive_key(user_name);
        conditions.bind("entity_name_key = ?", [key.into()]);
    }
    if let Some(actor) = &query.actor {
        conditions.bind("actor = ?", [actor.as_str().into()]);
    }
    if let Some(action) = &query.action {
        conditions.bind("action = ?", [action.as_str().into()]);
    }
    if let Some(since) = &query.since {
        conditions.bind("occurred_at >= ?", [since.as_str().into()]);
    }
    if let Some(until) = &query.until {
        conditions.bind("occurred_at <= ?", [until.as_str().into()]);
    }
    let after = query
        .after
        .map(|(transaction_id, position)| vec![transaction_id.into(), position.into()]);
    let order = conditions.page_after(&["transaction_id", "position"], after, query.newest_first);
    conditions.select(
        &format!("SELECT {HISTORY_COLUMNS} FROM history_entries"),
        &order,
        query.limit,
    )
}

/// The users (or groups: `entity_type`) of `instance_id` that ever bore `name` (any case),
/// deleted ones included, in the order they first did.
pub async fn entities_once_named(
    db: &crate::db::Db,
    instance_id: &str,
    entity_type: &str,
    name: &str,
) -> Result<Vec<String>, DbError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Entity {
        entity_id: String,
    }
    let sql = Sql::new(
        "SELECT entity_id FROM history_entries
          WHERE instance_id = $1 AND entity_name_key = $2 AND entity_type = $3
          GROUP BY entity_id
          ORDER BY min(position)",
    )
    .bind(instance_id)
    .bind(case_insensitive_key(name))
    .bind(entity_type);
    let found: Vec<Entity> = db.fetch_all(&sql).await?;
    Ok(found.into_iter().map(|entity| entity.entity_id).collect())
}
