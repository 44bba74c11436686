//! The sealer: appends each event to its instance's hash chain, in global order, in the same
//! transaction as the projector's batch and its checkpoint.
//!
//! It runs like a projection but is not one: `scimd rebuild` and version changes leave it alone
//! (`rebuildable` is false), since sealing events again would legitimise any change made to them
//! since they were first sealed. A store that has events but no chain is sealed from its first
//! event on the next start.

use super::{genesis, link, Digest};
use crate::db::{Dialect, Sql, SqlArg, Tx};
use crate::error::ProjectionError;
use crate::event_log::RecordedEvent;
use crate::held::Held;
use crate::hex::to_hex;
use crate::runner::Projection;
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap};

/// The sealer holds each instance's head itself (see `Held`): reading it back per event
/// would cost a round trip each. The heads a batch needs that are not held are read in one
/// statement before it applies (`prepare_batch`).
#[derive(Default)]
pub struct Sealer {
    heads: Held<Link>,
}

#[derive(Clone)]
struct Link {
    position: i64,
    hash: Digest,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Head {
    instance_id: String,
    chain_position: i64,
    hash: String,
}

#[async_trait]
impl Projection for Sealer {
    fn name(&self) -> &'static str {
        "event_chain"
    }

    fn version(&self) -> i64 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["event_chain"]
    }

    fn rebuildable(&self) -> bool {
        false
    }

    fn start_batch(&self, continuing: bool) {
        self.heads.start_batch(continuing);
    }

    async fn prepare_batch(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let instances: BTreeSet<&str> = events
            .iter()
            .map(|event| event.metadata.instance_id.as_str())
            .filter(|instance_id| self.heads.get(instance_id).is_none())
            .collect();
        let mut stored = HashMap::new();
        for sql in heads_sql(tx.dialect(), &instances) {
            let heads: Vec<Head> = tx.fetch_all(&sql).await?;
            stored.extend(
                heads
                    .into_iter()
                    .map(|head| (head.instance_id.clone(), head)),
            );
        }
        for instance_id in instances {
            self.heads.insert(
                instance_id,
                Link::after_head(instance_id, stored.remove(instance_id)),
            );
        }
        Ok(())
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let instance_id = &event.metadata.instance_id;
        let previous = match self.heads.get(instance_id) {
            Some(link) => link,
            None => Self::stored_head(tx, instance_id).await?,
        };
        // An event sealed already (its checkpoint was moved back by hand) keeps its first seal.
        let hash = link(&previous.hash, &event.content_digest);
        let sql = Sql::new(
            "INSERT INTO event_chain (instance_id, chain_position, aggregate_type, aggregate_id,
                                      sequence, transaction_id, position, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (aggregate_type, aggregate_id, sequence) DO NOTHING",
        )
        .bind(instance_id)
        .bind(previous.position + 1)
        .bind(&event.aggregate_type)
        .bind(&event.aggregate_id)
        .bind(event.sequence)
        .bind(event.position.transaction_id)
        .bind(event.position.position)
        .bind(to_hex(&hash));
        tx.defer_row(sql).await?;
        let head = Link {
            position: previous.position + 1,
            hash,
        };
        self.heads.insert(instance_id, head);
        Ok(())
    }
}

impl Sealer {
    /// The head of `instance_id`'s chain: held, or read if `prepare_batch` did not.
    async fn stored_head(tx: &mut Tx, instance_id: &str) -> Result<Link, ProjectionError> {
        let mut heads = Vec::new();
        for sql in heads_sql(tx.dialect(), &BTreeSet::from([instance_id])) {
            heads.extend(tx.fetch_all::<Head>(&sql).await?);
        }
        Ok(Link::after_head(instance_id, heads.pop()))
    }
}

impl Link {
    /// The link a chain goes on from: its stored head, or the genesis of one not begun.
    fn after_head(instance_id: &str, head: Option<Head>) -> Self {
        match head {
            // A stored hash that is not hex was written by someone else; the audit reports that
            // entry, so any value will do to go on sealing.
            Some(head) => Link {
                position: head.chain_position,
                hash: super::from_hex(&head.hash).unwrap_or_default(),
            },
            None => Link {
                position: 0,
                hash: genesis(instance_id),
            },
        }
    }
}

/// Reads the heads of `instances`' chains: on PostgreSQL one statement for them all (each
/// head found by the primary key, backwards), on SQLite one per instance.
fn heads_sql(dialect: Dialect, instances: &BTreeSet<&str>) -> Vec<Sql> {
    const HEAD: &str = "SELECT instance_id, chain_position, hash FROM event_chain
                         WHERE instance_id = $1 ORDER BY chain_position DESC LIMIT 1";
    if instances.is_empty() {
        return Vec::new();
    }
    match dialect {
        Dialect::Postgres => {
            let ids = instances.iter().map(|id| Some(id.to_string())).collect();
            let sql = Sql::new(
                "SELECT head.instance_id, head.chain_position, head.hash
                   FROM unnest($1::text[]) AS wanted(instance_id)
                   CROSS JOIN LATERAL (
                        SELECT instance_id, chain_position, hash FROM event_chain
                         WHERE event_chain.instance_id = wanted.instance_id
                         ORDER BY chain_position DESC LIMIT 1) AS head",
            );
            vec![sql.bind(SqlArg::Texts(ids))]
        }
        Dialect::Sqlite => instances
            .iter()
            .map(|instance_id| Sql::new(HEAD).bind(*instance_id))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heads_of_a_batch_are_read_in_one_statement_on_postgres() {
        let none = BTreeSet::new();
        let one = BTreeSet::from(["acme"]);
        let three = BTreeSet::from(["acme", "globex", "initech"]);
        assert!(heads_sql(Dialect::Postgres, &none).is_empty());
        let (one, three) = (
            heads_sql(Dialect::Postgres, &one),
            heads_sql(Dialect::Postgres, &three),
        );
        assert_eq!((one.len(), three.len()), (1, 1));
        assert_eq!(one[0].text(), three[0].text());
    }
}
