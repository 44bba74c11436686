//! Checking an instance's hash chain against the event log as it is now (`scimd audit verify`).
//!
//! Two passes, each read a page at a time so that no log is ever held in memory:
//! - the chain, in chain order, joined to the events it names: an entry whose event is gone is
//!   `Removed`, one whose event stands elsewhere in the global order than where it was sealed
//!   (or out of order in the chain) is `Reordered`, one whose recomputed hash differs is
//!   `Altered`;
//! - the events up to where the sealer has reached that no chain entry names: `Inserted`, placed
//!   in the chain where they would stand in order.
//!
//! The first discrepancy in chain order is the instance's finding; nothing after it is trusted.

use super::{genesis, link, Digest, EventContent};
use crate::db::{Db, Dialect, Sql};
use crate::error::ProjectionError;
use crate::event_log::Position;
use crate::hex::to_hex;
use crate::runner::Projector;
use std::collections::HashMap;

/// The sealer's checkpoint name: how far the chain is meant to cover.
pub const SEALER: &str = "event_chain";
/// Rows read per round trip.
const PAGE: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tampering {
    /// The event named by the chain is there, in its place, with other content.
    Altered,
    /// The event named by the chain is no longer in the log (or its chain entry is gone too).
    Removed,
    /// The event named by the chain is in the log, but not where it was sealed.
    Reordered,
    /// An event in the log that the chain does not have.
    Inserted,
}

impl Tampering {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Altered => "altered",
            Self::Removed => "removed",
            Self::Reordered => "reordered",
            Self::Inserted => "inserted",
        }
    }
}

/// An event by identity and place in the global order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    pub kind: Tampering,
    pub chain_position: i64,
    /// The event concerned: as sealed for chain entries, as found for inserted events; `None`
    /// when a chain entry is missing together with its event.
    pub event: Option<EventRef>,
}

/// What checking one instance's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    pub instance_id: String,
    /// Events found intact, in chain order, before the first discrepancy (all of them if none).
    pub verified: i64,
    /// The hash of the last entry (the genesis for an empty chain) when the chain is intact:
    /// an auditor records it elsewhere to detect a later rewrite of the whole chain.
    pub head: Option<String>,
    pub discrepancy: Option<Discrepancy>,
    /// The hash after the first `n` events, for the `n` the check was asked about, when that
    /// many were verified: to compare with a head recorded elsewhere when there were `n`.
    pub hash_at: Option<String>,
}

impl ChainCheck {
    pub fn intact(&self) -> bool {
        self.discrepancy.is_none()
    }
}

/// An audit of the store as it is now: how far the chain reaches, and the first event each
/// instance has in the log but not in its chain.
pub struct ChainAudit {
    db: Db,
    inserted: HashMap<String, EventRef>,
    /// Events whose metadata cannot be read cannot say whose they are: they count against
    /// every instance.
    unattributed: Option<EventRef>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct UnsealedRow {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    transaction_id: i64,
    position: i64,
    metadata: String,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct LinkRow {
    chain_position: i64,
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    sealed_transaction_id: i64,
    sealed_position: i64,
    hash: String,
    event_type: Option<String>,
    event_version: Option<String>,
    payload: Option<String>,
    metadata: Option<String>,
    transaction_id: Option<i64>,
    position: Option<i64>,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Count {
    total: i64,
}

/// An event and the chain entry naming it, if any.
const EVENT_AND_ENTRY: &str = "
    ON c.aggregate_type = e.aggregate_type AND c.aggregate_id = e.aggregate_id
   AND c.sequence = e.sequence";

const SQLITE_UNSEALED: &str = "
SELECT e.aggregate_type, e.aggregate_id, e.sequence, 0 AS transaction_id, e.position,
       e.metadata
  FROM events e LEFT JOIN event_chain c {EVENT_AND_ENTRY}
 WHERE c.chain_position IS NULL AND e.position > $2 AND e.position <= $4
 ORDER BY e.position
 LIMIT $5";

const POSTGRES_UNSEALED: &str = "
SELECT e.aggregate_type, e.aggregate_id, e.sequence,
       e.transaction_id::text::bigint AS transaction_id, e.position, e.metadata::text AS metadata
  FROM events e LEFT JOIN event_chain c {EVENT_AND_ENTRY}
 WHERE c.chain_position IS NULL
   AND (e.transaction_id, e.position) > ($1::text::xid8, $2)
   AND (e.transaction_id, e.position) <= ($3::text::xid8, $4)
 ORDER BY e.transaction_id, e.position
 LIMIT $5";

/// A page of one instance's chain, each entry with the stored event it names (if any).
const LINKS: &str = "
SELECT c.chain_position, c.aggregate_type, c.aggregate_id, c.sequence,
       c.transaction_id AS sealed_transaction_id, c.position AS sealed_position, c.hash,
       e.event_type, e.event_version, {EVENT_COLUMNS}
  FROM event_chain c LEFT JOIN events e {EVENT_AND_ENTRY}
 WHERE c.instance_id = $1 AND c.chain_position > $2
 ORDER BY c.chain_position
 LIMIT $3";

const SQLITE_EVENT_COLUMNS: &str = "e.payload, e.metadata,
       CASE WHEN e.position IS NULL THEN NULL ELSE 0 END AS transaction_id, e.position";

const POSTGRES_EVENT_COLUMNS: &str = "e.payload::text AS payload, e.metadata::text AS metadata,
       e.transaction_id::text::bigint AS transaction_id, e.position";

/// `text` with the shared pieces filled in.
fn statement(text: &str, event_columns: &str) -> String {
    text.replace("{EVENT_AND_ENTRY}", EVENT_AND_ENTRY)
        .replace("{EVENT_COLUMNS}", event_columns)
}

impl ChainAudit {
    /// Looks for events the chain should have but does not, up to the sealer's checkpoint:
    /// events after it are simply not sealed yet. Catch up first to cover everything committed.
    pub async fn start(db: &Db) -> Result<Self, ProjectionError> {
        let until = {
            let mut read = db.begin_snapshot().await?;
            Projector::checkpoint_positions(&mut read)
                .await?
                .get(SEALER)
                .copied()
                .unwrap_or_default()
        };
        let mut audit = Self {
            db: db.clone(),
            inserted: HashMap::new(),
            unattributed: None,
        };
        let text = match db.dialect() {
            Dialect::Sqlite => statement(SQLITE_UNSEALED, ""),
            Dialect::Postgres => statement(POSTGRES_UNSEALED, ""),
        };
        // Not `Position::default()`: a row slipped in at position 0 or below must be found too.
        let mut after = Position {
            transaction_id: 0,
            position: i64::MIN,
        };
        loop {
            let sql = Sql::new(text.clone())
                .bind(after.transaction_id.to_string())
                .bind(after.position)
                .bind(until.transaction_id.to_string())
                .bind(until.position)
                .bind(PAGE);
            let rows: Vec<UnsealedRow> = db.fetch_all(&sql).await?;
            let Some(last) = rows.last() else {
                return Ok(audit);
            };
            after = Position {
                transaction_id: last.transaction_id,
                position: last.position,
            };
            for row in rows {
                audit.note_unsealed(row);
            }
        }
    }

    fn note_unsealed(&mut self, row: UnsealedRow) {
        let instance_id = serde_json::from_str::<HashMap<String, serde_json::Value>>(&row.metadata)
            .ok()
            .and_then(|map| map.get("instance_id")?.as_str().map(str::to_string));
        let event = EventRef {
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
            sequence: row.sequence,
            position: Position {
                transaction_id: row.transaction_id,
                position: row.position,
            },
        };
        // Rows come in global order: the first one kept is each instance's first.
        match instance_id {
            Some(instance_id) => {
                self.inserted.entry(instance_id).or_insert(event);
            }
            None => {
                self.unattributed.get_or_insert(event);
            }
        }
    }

    /// Checks one instance's chain; with `at_count`, also keeps the hash after that many events.
    pub async fn verify(
        &self,
        instance_id: &str,
        at_count: Option<i64>,
    ) -> Result<ChainCheck, ProjectionError> {
        let mut check = self.walk_chain(instance_id, at_count).await?;
        let inserted = [self.inserted.get(instance_id), self.unattributed.as_ref()]
            .into_iter()
            .flatten()
            .min_by_key(|event| event.position);
        if let Some(event) = inserted {
            let chain_position = self.place_in_chain(instance_id, event.position).await?;
            let earlier = check
                .discrepancy
                .as_ref()
                .is_none_or(|found| chain_position <= found.chain_position);
            if earlier {
                check.verified = check.verified.min(chain_position - 1);
                check.head = None;
                // The chain's entries before the inserted event are intact, those after not.
                if at_count.is_some_and(|count| count > check.verified) {
                    check.hash_at = None;
                }
                check.discrepancy = Some(Discrepancy {
                    kind: Tampering::Inserted,
                    chain_position,
                    event: Some(event.clone()),
                });
            }
        }
        Ok(check)
    }

    /// Where an event at `position` would stand in the instance's chain.
    async fn place_in_chain(
        &self,
        instance_id: &str,
        position: Position,
    ) -> Result<i64, ProjectionError> {
        let sql = Sql::new(
            "SELECT count(*) AS total FROM event_chain
              WHERE instance_id = $1 AND (transaction_id, position) < ($2, $3)",
        )
        .bind(instance_id)
        .bind(position.transaction_id)
        .bind(position.position);
        let count: Count = self.db.fetch_one(&sql).await?;
        Ok(count.total + 1)
    }

    async fn walk_chain(
        &self,
        instance_id: &str,
        at_count: Option<i64>,
    ) -> Result<ChainCheck, ProjectionError> {
        let text = statement(
            LINKS,
            match self.db.dialect() {
                Dialect::Sqlite => SQLITE_EVENT_COLUMNS,
                Dialect::Postgres => POSTGRES_EVENT_COLUMNS,
            },
        );
        let start = genesis(instance_id);
        let mut walk = Walk {
            previous: start,
            previous_position: None,
            verified: 0,
            at_count,
            hash_at: (at_count == Some(0)).then_some(start),
        };
        let discrepancy = 'pages: loop {
            let sql = Sql::new(text.clone())
                .bind(instance_id)
                .bind(walk.verified)
                .bind(PAGE);
            let rows: Vec<LinkRow> = self.db.fetch_all(&sql).await?;
            if rows.is_empty() {
                break None;
            }
            for row in &rows {
                if let Some(found) = walk.step(row) {
                    break 'pages Some(found);
                }
            }
        };
        Ok(ChainCheck {
            instance_id: instance_id.to_string(),
            verified: walk.verified,
            head: discrepancy.is_none().then(|| to_hex(&walk.previous)),
            discrepancy,
            hash_at: walk.hash_at.map(|hash| to_hex(&hash)),
        })
    }
}

/// The state of a walk along one chain: what the next entry must link to.
struct Walk {
    previous: Digest,
    previous_position: Option<Position>,
    verified: i64,
    /// Which entry's hash to keep, and the hash once that entry is verified.
    at_count: Option<i64>,
    hash_at: Option<Digest>,
}

impl Walk {
    /// Checks the next entry; on success it becomes the one the following entry links to.
    fn step(&mut self, row: &LinkRow) -> Option<Discrepancy> {
        let expected = self.verified + 1;
        let sealed = EventRef {
            aggregate_type: row.aggregate_type.clone(),
            aggregate_id: row.aggregate_id.clone(),
            sequence: row.sequence,
            position: Position {
                transaction_id: row.sealed_transaction_id,
                position: row.sealed_position,
            },
        };
        let found = |kind, event| {
            Some(Discrepancy {
                kind,
                chain_position: expected,
                event,
            })
        };
        if row.chain_position != expected {
            // The entry and, unless it turns up as inserted, its event are both gone.
            return found(Tampering::Removed, None);
        }
        let (Some(event_type), Some(event_version), Some(payload), Some(metadata)) = (
            &row.event_type,
            &row.event_version,
            &row.payload,
            &row.metadata,
        ) else {
            return found(Tampering::Removed, Some(sealed));
        };
        let now_at = row.transaction_id.zip(row.position).map(|(t, p)| Position {
            transaction_id: t,
            position: p,
        });
        let out_of_order = self
            .previous_position
            .is_some_and(|previous| sealed.position <= previous);
        if now_at != Some(sealed.position) || out_of_order {
            return found(Tampering::Reordered, Some(sealed));
        }
        let content = EventContent {
            aggregate_type: &row.aggregate_type,
            aggregate_id: &row.aggregate_id,
            sequence: row.sequence,
            event_type,
            event_version,
            payload,
            metadata,
        };
        let hash = link(&self.previous, &content.digest());
        if to_hex(&hash) != row.hash {
            return found(Tampering::Altered, Some(sealed));
        }
        self.previous = hash;
        self.previous_position = Some(sealed.position);
        self.verified = expected;
        if self.at_count == Some(expected) {
            self.hash_at = Some(hash);
        }
        None
    }
}
