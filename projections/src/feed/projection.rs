//! The projection `feed`: publishes the public events (see `translate`) into `feed_events`,
//! numbering them `seq` in log order.
//!
//! Like the chain sealer it is not rebuildable: a published event is a contract with the
//! application (its id is a webhook's `webhook-id`), never derived again nor renumbered. A
//! store whose feed has no checkpoint (one upgrading to it, or whose checkpoint was removed)
//! publishes its whole history once; an event already in the feed is skipped without using up
//! a number.
//!
//! A user's command is published at its last event: the batch's next event tells where a
//! command ends, and so does the batch's end unless the batch was cut short by its size limit
//! (a command's events commit together, so a batch that read the log to its end read all of
//! them); then the aggregate's next event in the log, read by primary key, tells.
//! A command cut by the end of a batch is held to the next; a process that did not apply the
//! previous batch reads the command's first events back from the log. What a command changed
//! is written (`feed_users`) only once the command is published, so that the stored state is
//! always the state before any command still open.
//!
//! Writes are gathered over a batch and go out at its end: one row per published event and
//! per user or group changed, however many events changed it, and one read for the names of
//! the members the batch's member events name that it has not seen.

use super::state::{group_after, user_after, GroupState, UserState};
use super::translate::{document, group_event, same_command, user_command, Draft, Member};
use crate::db::set_based::{Kind, Shape};
use crate::db::{Dialect, Sql, SqlArg, Tx};
use crate::error::ProjectionError;
use crate::event_log::{aggregate_events_between, DomainEvent, Position, RecordedEvent};
use crate::held::Held;
use crate::metadata::EventMetadata;
use crate::runner::Projection;
use aggregates::group::{Group, GroupEvent, MemberKind};
use aggregates::user::{User, UserEvent};
use async_trait::async_trait;
use cqrs_es::Aggregate;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Mutex;

/// The most events one command writes on a user (adoption: adopted, updated, a lifecycle
/// change, mapped, a manager change), with room to spare: how far back a process that did not
/// see a command begin reads for its first events.
const COMMAND_EVENTS: i64 = 16;

#[derive(Default)]
pub struct Feed {
    users: Held<UserState>,
    groups: Held<GroupState>,
    /// Set when a batch does not continue from this process's last: what was held is stale.
    stale: AtomicBool,
    /// Only one batch runs at a time; the lock is never contended.
    work: Mutex<Work>,
}

#[derive(Default)]
struct Work {
    /// A user's command whose last event has not been seen yet.
    open: Option<Command>,
    /// Decided in this batch, to be numbered and written at its end.
    ready: Vec<Ready>,
    users: BTreeMap<String, UserState>,
    groups: BTreeMap<String, GroupState>,
    /// The last `seq` written, and the position of the event the latest published event was
    /// taken from: events up to it may be published already. `None` until read.
    numbering: Option<Numbering>,
    /// The batch's first event is yet to come, and may continue a command begun before it.
    first: bool,
    /// Users and groups the batch names that have no stored snapshot, as `prepare_batch`
    /// found: not to be looked for again.
    absent_users: HashSet<String>,
    absent_groups: HashSet<String>,
}

struct Command {
    id: String,
    before: Option<UserState>,
    events: Vec<(i64, UserEvent)>,
    metadata: EventMetadata,
    first_position: Position,
}

struct Ready {
    aggregate_id: String,
    draft: Draft,
    metadata: EventMetadata,
    first_position: Position,
    /// The member's name when it was known as the event was applied; else read at the end.
    member_name: Option<String>,
}

#[derive(Clone, Copy)]
struct Numbering {
    last_seq: i64,
    published_through: Option<Position>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Snapshot {
    id: String,
    snapshot: String,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Latest {
    seq: i64,
    position: Option<i64>,
    transaction_id: Option<i64>,
}

#[async_trait]
impl Projection for Feed {
    fn name(&self) -> &'static str {
        "feed"
    }

    fn version(&self) -> i64 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["feed_events", "feed_users", "feed_groups"]
    }

    fn rebuildable(&self) -> bool {
        false
    }

    fn start_batch(&self, continuing: bool) {
        self.users.start_batch(continuing);
        self.groups.start_batch(continuing);
        if !continuing {
            self.stale.store(true, Ordering::SeqCst);
        }
    }

    /// Reads, in one statement per table, the stored snapshots of the users and groups the
    /// batch changes or names as members that are not held: each event would otherwise read
    /// its own, a round trip each.
    async fn prepare_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let (users, groups) = snapshots_wanted(events);
        let users: Vec<String> = users
            .into_iter()
            .filter(|id| self.users.get(id).is_none())
            .collect();
        let groups: Vec<String> = groups
            .into_iter()
            .filter(|id| self.groups.get(id).is_none())
            .collect();
        let found_users = Self::snapshots(tx, "feed_users", &users).await?;
        let found_groups = Self::snapshots(tx, "feed_groups", &groups).await?;
        let mut work = self.work().await;
        work.absent_users.clear();
        work.absent_groups.clear();
        for id in users {
            match found_users
                .get(&id)
                .and_then(|text| serde_json::from_str(text).ok())
            {
                Some(user) => self.users.insert(&id, user),
                None => {
                    work.absent_users.insert(id);
                }
            }
        }
        for id in groups {
            match found_groups
                .get(&id)
                .and_then(|text| serde_json::from_str(text).ok())
            {
                Some(group) => self.groups.insert(&id, group),
                None => {
                    work.absent_groups.insert(id);
                }
            }
        }
        Ok(())
    }

    async fn apply(&self, tx: &mut Tx, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let mut work = self.work().await;
        let first = std::mem::take(&mut work.first);
        match &recorded.event {
            DomainEvent::User(event) => {
                let continues = work
                    .open
                    .as_ref()
                    .is_some_and(|open| open.continued_by(recorded));
                if continues {
                    if let Some(open) = work.open.as_mut() {
                        open.events.push((recorded.sequence, event.clone()));
                    }
                    return Ok(());
                }
                self.close(&mut work);
                let absent = work.absent_users.contains(recorded.aggregate_id.as_str());
                let mut command = self.begin(tx, recorded, event, absent).await?;
                if first && recorded.sequence > 1 {
                    self.recover(tx, &mut command, recorded).await?;
                }
                work.open = Some(command);
            }
            DomainEvent::Group(event) => {
                self.close(&mut work);
                let id = recorded.aggregate_id.as_str();
                let before = match event {
                    GroupEvent::GroupCreated { .. } | GroupEvent::GroupImported { .. } => None,
                    _ => {
                        let absent = work.absent_groups.contains(id);
                        self.stored_group(tx, id, absent).await?
                    }
                };
                let after = group_after(before.clone(), event);
                let draft = group_event(id, recorded.sequence, event, before.as_ref(), &after);
                self.groups.insert(id, after.clone());
                work.groups.insert(id.to_string(), after);
                if let Some(draft) = draft {
                    let member_name = draft.member.as_ref().and_then(|m| self.held_name(m));
                    work.ready.push(Ready {
                        aggregate_id: id.to_string(),
                        draft,
                        metadata: recorded.metadata.clone(),
                        first_position: recorded.position,
                        member_name,
                    });
                }
            }
            DomainEvent::Settings(_) => self.close(&mut work),
        }
        Ok(())
    }

    async fn finish_batch(&self, tx: &mut Tx, cut_short: bool) -> Result<(), ProjectionError> {
        let mut work = self.work().await;
        match &work.open {
            // The batch read every event committed with its last one: the command is whole.
            Some(_) if !cut_short => self.close(&mut work),
            Some(open) => {
                let next_sequence = open.last_sequence() + 1;
                let range = (next_sequence, next_sequence);
                let next = aggregate_events_between(tx, User::TYPE, &open.id, range).await?;
                if !next.first().is_some_and(|next| open.continued_by(next)) {
                    self.close(&mut work);
                }
            }
            None => {}
        }
        if work.ready.is_empty() && work.users.is_empty() && work.groups.is_empty() {
            return Ok(());
        }
        let names = Self::member_names(tx, &work).await?;
        let mut numbering = match work.numbering {
            Some(numbering) => numbering,
            None => Self::numbering(tx).await?,
        };
        for ready in std::mem::take(&mut work.ready) {
            let name = ready.member_name.clone().or_else(|| {
                let member = ready.draft.member.as_ref()?;
                names.get(&(member.kind, member.id.clone())).cloned()
            });
            let seq = numbering.last_seq + 1;
            let text = document(
                &ready.draft,
                &ready.aggregate_id,
                seq,
                &ready.metadata,
                name.as_deref(),
            )
            .to_string();
            let sql = Sql::new(
                "INSERT INTO feed_events (seq, id, instance_id, type, occurred_at, aggregate_id,
                                          sequence, document)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (aggregate_id, sequence) DO NOTHING",
            )
            .bind(seq)
            .bind(super::translate::event_id(
                &ready.aggregate_id,
                ready.draft.sequence,
            ))
            .bind(ready.metadata.instance_id.as_str())
            .bind(ready.draft.event_type)
            .bind(ready.metadata.occurred_at.as_str())
            .bind(ready.aggregate_id.as_str())
            .bind(ready.draft.sequence)
            .bind(text);
            let maybe_published = numbering
                .published_through
                .is_some_and(|through| ready.first_position <= through);
            if maybe_published {
                // Only here is the outcome needed: a number is used only by a row written.
                if tx.execute(&sql).await? == 0 {
                    continue;
                }
            } else {
                tx.defer_row(sql).await?;
            }
            numbering.last_seq = seq;
        }
        work.numbering = Some(numbering);
        for (id, user) in std::mem::take(&mut work.users) {
            tx.defer_row(snapshot("feed_users", &id, &user)).await?;
        }
        for (id, group) in std::mem::take(&mut work.groups) {
            tx.defer_row(snapshot("feed_groups", &id, &group)).await?;
        }
        Ok(())
    }
}

/// The users and the groups whose stored snapshots `events` may need: those changed by an
/// event other than their creation, and those named as members.
fn snapshots_wanted(events: &[RecordedEvent]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut users = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for recorded in events {
        let id = || recorded.aggregate_id.clone();
        match &recorded.event {
            DomainEvent::User(UserEvent::UserCreated { .. } | UserEvent::UserImported { .. }) => {}
            DomainEvent::User(_) => {
                users.insert(id());
            }
            DomainEvent::Group(event) => {
                match event {
                    GroupEvent::GroupCreated { .. } | GroupEvent::GroupImported { .. } => {}
                    _ => {
                        groups.insert(id());
                    }
                }
                if let GroupEvent::GroupMemberAdded { member }
                | GroupEvent::GroupMemberRemoved { member } = event
                {
                    let id = member.id.as_str().to_string();
                    match member.kind {
                        MemberKind::User => users.insert(id),
                        MemberKind::Group => groups.insert(id),
                    };
                }
            }
            DomainEvent::Settings(_) => {}
        }
    }
    (users, groups)
}

fn snapshot<T: serde::Serialize>(table: &str, id: &str, state: &T) -> Sql {
    let text = serde_json::to_string(state).unwrap_or_else(|_| "{}".into());
    Sql::new(format!(
        "INSERT INTO {table} (id, snapshot) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot"
    ))
    .bind(id)
    .bind(text)
}

impl Command {
    fn last_sequence(&self) -> i64 {
        self.events.last().map_or(0, |(sequence, _)| *sequence)
    }

    fn continued_by(&self, next: &RecordedEvent) -> bool {
        next.aggregate_id == self.id
            && next.aggregate_type == User::TYPE
            && same_command(
                (self.last_sequence(), &self.metadata),
                (next.sequence, &next.metadata),
            )
    }
}

impl Feed {
    /// This batch's work; forgets what a batch that did not continue from it left.
    async fn work(&self) -> tokio::sync::MutexGuard<'_, Work> {
        let mut work = self.work.lock().await;
        if self.stale.swap(false, Ordering::SeqCst) {
            *work = Work {
                first: true,
                ..Work::default()
            };
        }
        work
    }

    /// A command beginning at `recorded`; `absent`: the user has no stored snapshot.
    async fn begin(
        &self,
        tx: &mut Tx,
        recorded: &RecordedEvent,
        event: &UserEvent,
        absent: bool,
    ) -> Result<Command, ProjectionError> {
        let id = recorded.aggregate_id.as_str();
        let before = match event {
            UserEvent::UserCreated { .. } | UserEvent::UserImported { .. } => None,
            _ => self.stored_user(tx, id, absent).await?,
        };
        Ok(Command {
            id: id.to_string(),
            before,
            events: vec![(recorded.sequence, event.clone())],
            metadata: recorded.metadata.clone(),
            first_position: recorded.position,
        })
    }

    /// Puts back in front of `command` the events of its command that came before this
    /// process's first batch: the stored state is from before them.
    async fn recover(
        &self,
        tx: &mut Tx,
        command: &mut Command,
        recorded: &RecordedEvent,
    ) -> Result<(), ProjectionError> {
        let from = (recorded.sequence - COMMAND_EVENTS).max(1);
        let until = recorded.sequence - 1;
        let earlier = aggregate_events_between(tx, User::TYPE, &command.id, (from, until)).await?;
        let mut next = (recorded.sequence, recorded.metadata.clone());
        let mut taken = Vec::new();
        for event in earlier.iter().rev() {
            let DomainEvent::User(user_event) = &event.event else {
                break;
            };
            if !same_command((event.sequence, &event.metadata), (next.0, &next.1)) {
                break;
            }
            taken.push((event.sequence, user_event.clone()));
            command.first_position = event.position;
            next = (event.sequence, event.metadata.clone());
        }
        if taken.is_empty() {
            return Ok(());
        }
        taken.reverse();
        if matches!(
            taken.first(),
            Some((
                _,
                UserEvent::UserCreated { .. } | UserEvent::UserImported { .. }
            ))
        ) {
            command.before = None;
        }
        taken.append(&mut command.events);
        command.events = taken;
        Ok(())
    }

    /// Publishes the open command, if any.
    fn close(&self, work: &mut Work) {
        let Some(command) = work.open.take() else {
            return;
        };
        let after = command
            .events
            .iter()
            .fold(command.before.clone(), |state, (_, event)| {
                Some(user_after(state, event))
            })
            .unwrap_or_default();
        let drafts = user_command(
            &command.id,
            command.before.as_ref(),
            &command.events,
            &after,
        );
        for draft in drafts {
            work.ready.push(Ready {
                aggregate_id: command.id.clone(),
                draft,
                metadata: command.metadata.clone(),
                first_position: command.first_position,
                member_name: None,
            });
        }
        self.users.insert(&command.id, after.clone());
        work.users.insert(command.id, after);
    }

    fn held_name(&self, member: &Member) -> Option<String> {
        match member.kind {
            MemberKind::User => self.users.get(&member.id).map(|user| user.user_name),
            MemberKind::Group => self.groups.get(&member.id).map(|group| group.display_name),
        }
    }

    /// The user's state as held or stored; `absent`: `prepare_batch` found none stored.
    async fn stored_user(
        &self,
        tx: &mut Tx,
        id: &str,
        absent: bool,
    ) -> Result<Option<UserState>, ProjectionError> {
        if let Some(user) = self.users.get(id) {
            return Ok(Some(user));
        }
        if absent {
            return Ok(None);
        }
        let sql = Sql::new("SELECT id, snapshot FROM feed_users WHERE id = $1").bind(id);
        let row: Option<Snapshot> = tx.fetch_optional(&sql).await?;
        Ok(row.and_then(|row| serde_json::from_str(&row.snapshot).ok()))
    }

    /// The group's state as held or stored; `absent`: `prepare_batch` found none stored.
    async fn stored_group(
        &self,
        tx: &mut Tx,
        id: &str,
        absent: bool,
    ) -> Result<Option<GroupState>, ProjectionError> {
        if let Some(group) = self.groups.get(id) {
            return Ok(Some(group));
        }
        if absent {
            return Ok(None);
        }
        let sql = Sql::new("SELECT id, snapshot FROM feed_groups WHERE id = $1").bind(id);
        let row: Option<Snapshot> = tx.fetch_optional(&sql).await?;
        Ok(row.and_then(|row| serde_json::from_str(&row.snapshot).ok()))
    }

    /// The stored names of the members the ready events name without one and that
    /// `prepare_batch` did not find absent (none, when it read them all): a member this
    /// process has not seen in the batch is as the batch found it, which is as it was at the
    /// event.
    async fn member_names(
        tx: &mut Tx,
        work: &Work,
    ) -> Result<HashMap<(MemberKind, String), String>, ProjectionError> {
        let mut names = HashMap::new();
        for kind in [MemberKind::User, MemberKind::Group] {
            let absent = match kind {
                MemberKind::User => &work.absent_users,
                MemberKind::Group => &work.absent_groups,
            };
            let ids: BTreeSet<String> = work
                .ready
                .iter()
                .filter(|ready| ready.member_name.is_none())
                .filter_map(|ready| ready.draft.member.as_ref())
                .filter(|member| member.kind == kind && !absent.contains(&member.id))
                .map(|member| member.id.clone())
                .collect();
            let table = match kind {
                MemberKind::User => "feed_users",
                MemberKind::Group => "feed_groups",
            };
            let ids: Vec<String> = ids.into_iter().collect();
            for (id, snapshot) in Self::snapshots(tx, table, &ids).await? {
                let name = match kind {
                    MemberKind::User => {
                        serde_json::from_str::<UserState>(&snapshot).map(|user| user.user_name)
                    }
                    MemberKind::Group => serde_json::from_str::<GroupState>(&snapshot)
                        .map(|group| group.display_name),
                };
                if let Ok(name) = name {
                    names.insert((kind, id), name);
                }
            }
        }
        Ok(names)
    }

    /// The stored snapshots (as JSON text) of `ids` in `table`, in one statement on
    /// PostgreSQL.
    async fn snapshots(
        tx: &mut Tx,
        table: &'static str,
        ids: &[String],
    ) -> Result<HashMap<String, String>, ProjectionError> {
        let shape = Shape {
            table,
            key: &["id"],
            columns: &[("id", Kind::Text), ("snapshot", Kind::Text)],
        };
        let keys = ids.iter().map(|id| vec![SqlArg::from(id)]).collect();
        let rows: Vec<Snapshot> = shape.fetch_by_keys(tx, "id, snapshot", keys).await?;
        Ok(rows.into_iter().map(|row| (row.id, row.snapshot)).collect())
    }

    /// The feed's last number, and where in the log its latest event was taken from.
    async fn numbering(tx: &mut Tx) -> Result<Numbering, ProjectionError> {
        let transaction_id = match tx.dialect() {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "e.transaction_id::text::bigint",
        };
        let sql = Sql::new(format!(
            "SELECT f.seq AS seq, e.position AS position, {transaction_id} AS transaction_id
               FROM feed_events f
               LEFT JOIN events e
                 ON e.aggregate_type = CASE WHEN f.type LIKE 'user.%' THEN '{}' ELSE '{}' END
                AND e.aggregate_id = f.aggregate_id AND e.sequence = f.sequence
              ORDER BY f.seq DESC LIMIT 1",
            User::TYPE,
            Group::TYPE,
        ));
        let latest: Option<Latest> = tx.fetch_optional(&sql).await?;
        Ok(match latest {
            None => Numbering {
                last_seq: 0,
                published_through: None,
            },
            Some(latest) => Numbering {
                last_seq: latest.seq,
                // An event whose source is gone from the log: anything may be published.
                published_through: Some(match (latest.position, latest.transaction_id) {
                    (Some(position), Some(transaction_id)) => Position {
                        transaction_id,
                        position,
                    },
                    _ => Position {
                        transaction_id: i64::MAX,
                        position: i64::MAX,
                    },
                }),
            },
        })
    }
}
