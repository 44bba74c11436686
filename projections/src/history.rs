//! The change history of every instance: one entry per event, in the event log's order. Each
//! entry says when, who (the integration user, the key), through which request (source, user
//! agent, correlation id), to which user, group or instance settings, what happened (the event
//! type), and the event's own account of it, old and new values included. A group's member
//! change also names the member, by its name at the time, so that it is in the member's
//! history too (see `query`); so does a group's deletion, once per member it still had (see
//! `memberships`).

mod memberships;
mod query;

pub use query::{entities_once_named, history_page, history_statement, HistoryQuery};

use crate::db::set_based::{Kind, Shape};
use crate::db::{Sql, SqlArg, Tx};
use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, RecordedEvent};
use crate::held::{Gathered, Held};
use crate::runner::Projection;
use aggregates::group::{GroupEvent, Member};
use aggregates::user::UserEvent;
use aggregates::values::case_insensitive_key;
use async_trait::async_trait;
use cqrs_es::DomainEvent as _;
use memberships::Memberships;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The names of the entities it touched are held (see `Held`), those a batch needs besides
/// read in one statement before it applies (`prepare_batch`): each event would otherwise read
/// its entity's name back, a round trip each. Names given and memberships changed are
/// gathered over the batch and written at its end, once per row.
#[derive(Default)]
pub struct History {
    names: Held<Option<String>>,
    gathered: Gathered<Batch>,
}

/// The columns of a `HistoryEntry`, in a form queries can select.
pub const HISTORY_COLUMNS: &str = "transaction_id, position, instance_id, occurred_at, actor, \
     key_id, source, user_agent, correlation_id, entity_type, entity_id, entity_name, action, \
     details, member_type, member_id, member_name";

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
    /// The member a group's member change added or removed: `User` or `Group`, its id, and
    /// its userName or displayName at the time. None for every other entry.
    pub member_type: Option<String>,
    pub member_id: Option<String>,
    pub member_name: Option<String>,
}

/// One event's entry, as written to `history_entries` and, for a group's deletion, once per
/// member it still had to `history_group_deletions` (see `memberships`).
struct Entry<'a> {
    recorded: &'a RecordedEvent,
    entity_type: &'static str,
    name: Option<&'a str>,
    action: &'a str,
    details: String,
}

/// The member an entry names: `User` or `Group`, its id, its name then.
struct Named<'a> {
    kind: &'a str,
    id: &'a str,
    name: Option<&'a str>,
}

impl Entry<'_> {
    /// The row of this entry in `table`, naming `member` if it is about one.
    fn insert(&self, table: &str, member: Option<&Named<'_>>) -> Sql {
        let metadata = &self.recorded.metadata;
        let member_name = member.and_then(|member| member.name);
        Sql::new(format!(
            "INSERT INTO {table} (transaction_id, position, instance_id, occurred_at,
                 actor, key_id, source, user_agent, correlation_id, entity_type, entity_id,
                 entity_name, entity_name_key, action, details, member_type, member_id,
                 member_name, member_name_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 $17, $18, $19)"
        ))
        .bind(self.recorded.position.transaction_id)
        .bind(self.recorded.position.position)
        .bind(metadata.instance_id.as_str())
        .bind(metadata.occurred_at.as_str())
        .bind(metadata.actor.as_str())
        .bind(metadata.key_id.as_deref())
        .bind(metadata.source.as_str())
        .bind(metadata.user_agent.as_deref())
        .bind(metadata.correlation_id.as_str())
        .bind(self.entity_type)
        .bind(self.recorded.aggregate_id.as_str())
        .bind(self.name)
        .bind(self.name.map(case_insensitive_key))
        .bind(self.action)
        .bind(self.details.as_str())
        .bind(member.map(|member| member.kind))
        .bind(member.map(|member| member.id))
        .bind(member_name)
        .bind(member_name.map(case_insensitive_key))
    }
}

/// The member a group's member change is about.
fn member_of(event: &DomainEvent) -> Option<&Member> {
    match event {
        DomainEvent::Group(
            GroupEvent::GroupMemberAdded { member } | GroupEvent::GroupMemberRemoved { member },
        ) => Some(member),
        _ => None,
    }
}

/// The name `event` gives its user or group, if it gives one.
fn given_name(event: &DomainEvent) -> Option<String> {
    match event {
        DomainEvent::User(
            UserEvent::UserCreated { user_name, .. } | UserEvent::UserImported { user_name, .. },
        ) => Some(user_name.as_str().to_string()),
        DomainEvent::User(UserEvent::UserUpdated { changes }) => changes
            .iter()
            .find(|change| change.attribute == "userName")
            .and_then(|change| change.new.as_ref())
            .and_then(Value::as_str)
            .map(str::to_string),
        DomainEvent::Group(
            GroupEvent::GroupCreated { display_name, .. }
            | GroupEvent::GroupImported { display_name, .. },
        ) => Some(display_name.as_str().to_string()),
        DomainEvent::Group(GroupEvent::GroupRenamed {
            new_display_name, ..
        }) => Some(new_display_name.as_str().to_string()),
        _ => None,
    }
}

/// The event's type, the kind of entity it is about, the name it gives that entity (if any),
/// and its fields.
fn describe(event: &DomainEvent) -> (String, &'static str, Option<String>, Value) {
    let name = given_name(event);
    let (event_type, entity, payload) = match event {
        DomainEvent::User(event) => (event.event_type(), "User", serde_json::to_value(event)),
        DomainEvent::Group(event) => (event.event_type(), "Group", serde_json::to_value(event)),
        DomainEvent::Settings(event) => (
            event.event_type(),
            "InstanceSettings",
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
    entity_id: String,
    name: String,
}

/// Each entity's latest name.
const NAMES: Shape = Shape {
    table: "history_names",
    key: &["entity_id"],
    columns: &[("entity_id", Kind::Text), ("name", Kind::Text)],
};

/// What a batch gathers and writes once at its end.
#[derive(Default)]
struct Batch {
    /// The latest name each entity was given in the batch.
    renamed: BTreeMap<String, String>,
    memberships: Memberships,
}

#[async_trait]
impl Projection for History {
    fn name(&self) -> &'static str {
        "history"
    }

    /// 2: member changes name their member (migration 0019). 3: a group's deletion is in the
    /// history of each member it still had (migration 0020). 4: `active` left unstated reads as
    /// true (a creation shows `active: true`, a later suspension `true → false`).
    fn version(&self) -> i64 {
        4
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "history_entries",
            "history_names",
            "history_group_members",
            "history_group_deletions",
        ]
    }

    fn start_batch(&self, continuing: bool) {
        self.names.start_batch(continuing);
        self.gathered.take();
    }

    /// Reads, in one statement each, the stored members of every group the batch deletes and
    /// the stored names of every entity and member it names without naming it first itself.
    async fn prepare_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let deleted: BTreeSet<&str> = events
            .iter()
            .filter(|recorded| {
                matches!(recorded.event, DomainEvent::Group(GroupEvent::GroupDeleted))
            })
            .map(|recorded| recorded.aggregate_id.as_str())
            .collect();
        let stored = memberships::stored_members(tx, deleted).await?;
        let mut wanted = names_wanted(events);
        wanted.extend(stored.iter().map(|member| member.member_id.clone()));
        wanted.retain(|id| self.names.get(id).is_none());
        let keys = wanted
            .iter()
            .map(|id| vec![SqlArg::from(id.as_str())])
            .collect();
        let rows: Vec<Name> = NAMES.fetch_by_keys(tx, "entity_id, name", keys).await?;
        let mut found: HashMap<String, String> = rows
            .into_iter()
            .map(|row| (row.entity_id, row.name))
            .collect();
        for id in &wanted {
            self.names.insert(id, found.remove(id));
        }
        self.gathered
            .with(|batch| batch.memberships = Memberships::new(stored));
        Ok(())
    }

    async fn apply(&self, tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let (action, entity_type, new_name, details) = describe(&recorded.event);
        let id = recorded.aggregate_id.as_str();
        let name = match new_name {
            Some(name) => {
                self.gathered
                    .with(|batch| batch.renamed.insert(id.to_string(), name.clone()));
                self.names.insert(id, Some(name.clone()));
                Some(name)
            }
            None => self.name_of(tx, id).await?,
        };
        // Events apply in the log's order: the member's latest name so far is its name then.
        let member = member_of(&recorded.event);
        let member_name = match member {
            Some(member) => self.name_of(tx, member.id.as_str()).await?,
            None => None,
        };
        let entry = Entry {
            recorded,
            entity_type,
            name: name.as_deref(),
            action: &action,
            details: details.to_string(),
        };
        let named = member.map(|member| Named {
            kind: member.kind.as_str(),
            id: member.id.as_str(),
            name: member_name.as_deref(),
        });
        tx.defer_row(entry.insert("history_entries", named.as_ref()))
            .await?;
        if let DomainEvent::Group(event) = &recorded.event {
            self.apply_to_members(tx, &entry, event).await?;
        }
        Ok(())
    }

    /// Each name given and each membership changed in the batch, written once.
    async fn finish_batch(&self, tx: &mut Tx, _cut_short: bool) -> Result<(), ProjectionError> {
        let Batch {
            renamed,
            mut memberships,
        } = self.gathered.take();
        let dialect = tx.dialect();
        let names = renamed
            .into_iter()
            .map(|(id, name)| vec![SqlArg::from(id), SqlArg::from(name)])
            .collect();
        let mut writes = NAMES.upsert(dialect, names);
        writes.extend(memberships::writes(dialect, &mut memberships));
        for sql in writes {
            tx.defer(sql).await?;
        }
        Ok(())
    }
}

/// The entities and members `events` name without giving them a name first: whose names
/// must be read.
fn names_wanted(events: &[RecordedEvent]) -> BTreeSet<String> {
    let mut named = HashSet::new();
    let mut wanted = BTreeSet::new();
    for recorded in events {
        let id = recorded.aggregate_id.as_str();
        if given_name(&recorded.event).is_some() {
            named.insert(id);
        } else if !named.contains(id) {
            wanted.insert(id.to_string());
        }
        if let Some(member) = member_of(&recorded.event) {
            if !named.contains(member.id.as_str()) {
                wanted.insert(member.id.as_str().to_string());
            }
        }
    }
    wanted
}

impl History {
    /// The latest name of user or group `id` applied so far, if it had one: held since
    /// `prepare_batch`, read only if it was not.
    async fn name_of(&self, tx: &mut Tx, id: &str) -> Result<Option<String>, ProjectionError> {
        if let Some(name) = self.names.get(id) {
            return Ok(name);
        }
        let sql =
            Sql::new("SELECT entity_id, name FROM history_names WHERE entity_id = $1").bind(id);
        let found: Option<Name> = tx.fetch_optional(&sql).await?;
        let name = found.map(|found| found.name);
        self.names.insert(id, name.clone());
        Ok(name)
    }

    /// Keeps the members of `entry`'s group up to date with `event`; a deletion is entered
    /// once per member the group still had, naming it by its name then.
    async fn apply_to_members(
        &self,
        tx: &mut Tx,
        entry: &Entry<'_>,
        event: &GroupEvent,
    ) -> Result<(), ProjectionError> {
        let group_id = entry.recorded.aggregate_id.as_str();
        let remaining = self.gathered.with(|batch| match event {
            GroupEvent::GroupMemberAdded { member } => {
                let kind = member.kind.as_str();
                batch.memberships.add(group_id, member.id.as_str(), kind);
                Vec::new()
            }
            GroupEvent::GroupMemberRemoved { member } => {
                batch.memberships.remove(group_id, member.id.as_str());
                Vec::new()
            }
            GroupEvent::GroupDeleted => batch.memberships.delete(group_id),
            _ => Vec::new(),
        });
        for (member_id, member_type) in &remaining {
            let name = self.name_of(tx, member_id).await?;
            let named = Named {
                kind: member_type,
                id: member_id,
                name: name.as_deref(),
            };
            tx.defer_row(entry.insert("history_group_deletions", Some(&named)))
                .await?;
        }
        Ok(())
    }
}
