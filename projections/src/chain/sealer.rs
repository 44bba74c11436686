//! The sealer: appends each event to its instance's hash chain, in global order, in the same
//! transaction as the projector's batch and its checkpoint.
//!
//! It runs like a projection but is not one: `scimd rebuild` and version changes leave it alone
//! (`rebuildable` is false), since sealing events again would legitimise any change made to them
//! since they were first sealed. A store that has events but no chain is sealed from its first
//! event on the next start.

use super::{genesis, link, Digest};
use crate::db::{Sql, Tx};
use crate::error::ProjectionError;
use crate::event_log::RecordedEvent;
use crate::held::Held;
use crate::hex::to_hex;
use crate::runner::Projection;
use async_trait::async_trait;

/// The sealer holds each instance's head itself (see `Held`): reading it back per event
/// would cost a round trip each.
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
    async fn stored_head(tx: &mut Tx, instance_id: &str) -> Result<Link, ProjectionError> {
        let head: Option<Head> = tx
            .fetch_optional(
                &Sql::new(
                    "SELECT chain_position, hash FROM event_chain WHERE instance_id = $1
                      ORDER BY chain_position DESC LIMIT 1",
                )
                .bind(instance_id),
            )
            .await?;
        Ok(match head {
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
        })
    }
}
