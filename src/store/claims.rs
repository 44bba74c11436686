//! Reservations of names that must be unique across aggregates (see
//! migrations/*/0003_name_claims.sql): a userName across the deployment, a group's displayName
//! within its instance.
//!
//! The unique key of the claims table decides races: of two concurrent creates of one name,
//! exactly one insert succeeds. Claims are released when their command fails; a claim whose
//! owner never came to hold the name (the process died in between) is removed by `reconcile`,
//! on the event log's word, never on the read model's alone (it may lag, or be rebuilding).

use aggregates::values::case_insensitive_key;
use chrono::{DateTime, Utc};
use projections::db::{Db, DbError, Sql};
use projections::error::ProjectionError;
use projections::event_log::{last_position_of, Position};
use projections::metadata::timestamp;
use projections::runner::Projector;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Newly reserved for the owner; release it if the owner's command fails.
    Claimed,
    /// The owner held it already.
    AlreadyHeld,
    /// Someone else holds it.
    Taken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A userName: unique across every instance.
    UserName,
    /// A group's displayName: unique within its instance.
    GroupName,
}

/// A name that must be unique, in the spelling-independent form it is unique under, with the
/// instance that claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueName {
    pub kind: NameKind,
    pub instance_id: String,
    pub key: String,
}

/// Where the claims of one kind of name live, and what shows their owners.
struct ClaimTables {
    /// The claims table.
    table: &'static str,
    /// Its (and the read model's) column of the name's key.
    key: &'static str,
    /// Its column of the owner's id.
    owner: &'static str,
    /// The owner's aggregate type in the event log.
    aggregate_type: &'static str,
    /// The read model table that shows the owner holding the name.
    read_model: &'static str,
}

impl NameKind {
    fn tables(self) -> ClaimTables {
        match self {
            Self::UserName => ClaimTables {
                table: "user_name_claims",
                key: "user_name_key",
                owner: "user_id",
                aggregate_type: "User",
                read_model: "scim_users",
            },
            Self::GroupName => ClaimTables {
                table: "group_name_claims",
                key: "display_name_key",
                owner: "group_id",
                aggregate_type: "Group",
                read_model: "scim_groups",
            },
        }
    }
}

/// The time before which a claim, unrenewed, of an owner that was never created counts as an
/// orphan: `grace` before `now`.
pub fn orphaned_before(now: DateTime<Utc>, grace: Duration) -> String {
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    timestamp(now.checked_sub_signed(grace).unwrap_or(now))
}

impl UniqueName {
    pub fn new(kind: NameKind, instance_id: &str, name: &str) -> Self {
        Self {
            kind,
            instance_id: instance_id.to_string(),
            key: case_insensitive_key(name),
        }
    }

    fn claim_statement(&self, owner: &str, now: &str) -> Sql {
        let text = match self.kind {
            NameKind::UserName => {
                "INSERT INTO user_name_claims (user_name_key, instance_id, user_id, claimed_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_name_key) DO NOTHING"
            }
            NameKind::GroupName => {
                "INSERT INTO group_name_claims (display_name_key, instance_id, group_id, claimed_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (instance_id, display_name_key) DO NOTHING"
            }
        };
        Sql::new(text)
            .bind(self.key.as_str())
            .bind(self.instance_id.as_str())
            .bind(owner)
            .bind(now)
    }

    fn owner_statement(&self) -> Sql {
        match self.kind {
            NameKind::UserName => Sql::new(
                "SELECT user_id AS owner, instance_id FROM user_name_claims
                      WHERE user_name_key = $1",
            )
            .bind(self.key.as_str()),
            NameKind::GroupName => Sql::new(
                "SELECT group_id AS owner, instance_id FROM group_name_claims
                  WHERE display_name_key = $1 AND instance_id = $2",
            )
            .bind(self.key.as_str())
            .bind(self.instance_id.as_str()),
        }
    }

    /// Deletes the claim on this name if it is older than `claimed_before` and its owner was
    /// never created: the claim of a create whose process died, or whose request was cut off,
    /// before its first event was stored. The event log, not the read model, decides, so a
    /// create that committed but is not projected yet keeps its name.
    fn orphan_statement(&self, claimed_before: &str) -> Sql {
        let ClaimTables {
            table,
            owner,
            aggregate_type,
            ..
        } = self.kind.tables();
        let scope = match self.kind {
            NameKind::UserName => "user_name_key = $1",
            NameKind::GroupName => "display_name_key = $1 AND instance_id = $3",
        };
        let sql = Sql::new(format!(
            "DELETE FROM {table}
              WHERE {scope} AND claimed_at < $2
                AND NOT EXISTS (SELECT 1 FROM events e
                                 WHERE e.aggregate_type = '{aggregate_type}'
                                   AND e.aggregate_id = {table}.{owner})"
        ))
        .bind(self.key.as_str())
        .bind(claimed_before);
        match self.kind {
            NameKind::UserName => sql,
            NameKind::GroupName => sql.bind(self.instance_id.as_str()),
        }
    }

    /// Dates the owner's claim `now` again: the sweep only removes old claims, so it cannot
    /// remove one that an edit of its owner is about to use.
    fn renew_statement(&self, owner: &str, now: &str) -> Sql {
        let ClaimTables {
            table,
            key,
            owner: owner_column,
            ..
        } = self.kind.tables();
        Sql::new(format!(
            "UPDATE {table} SET claimed_at = $1
              WHERE {key} = $2 AND instance_id = $3 AND {owner_column} = $4"
        ))
        .bind(now)
        .bind(self.key.as_str())
        .bind(self.instance_id.as_str())
        .bind(owner)
    }

    /// Deletes the owner's claim on this name if it is older than `claimed_before` and the read
    /// model shows the owner not holding the name: the old name of a rename, or the new name of
    /// a failed one, whose release was lost. Only sound once the read model has applied every
    /// event of the owner (see `NameClaims::reconcile`).
    fn superseded_statement(&self, owner: &str, claimed_before: &str) -> Sql {
        let ClaimTables {
            table,
            key,
            owner: owner_column,
            read_model,
            ..
        } = self.kind.tables();
        Sql::new(format!(
            "DELETE FROM {table}
              WHERE {key} = $1 AND instance_id = $2 AND {owner_column} = $3 AND claimed_at < $4
                AND NOT EXISTS (SELECT 1 FROM {read_model} r
                                 WHERE r.id = {table}.{owner_column} AND r.{key} = {table}.{key})"
        ))
        .bind(self.key.as_str())
        .bind(self.instance_id.as_str())
        .bind(owner)
        .bind(claimed_before)
    }

    fn release_statement(&self, owner: &str) -> Sql {
        match self.kind {
            NameKind::UserName => {
                Sql::new("DELETE FROM user_name_claims WHERE user_name_key = $1 AND user_id = $2")
                    .bind(self.key.as_str())
                    .bind(owner)
            }
            NameKind::GroupName => Sql::new(
                "DELETE FROM group_name_claims
                  WHERE display_name_key = $1 AND group_id = $2 AND instance_id = $3",
            )
            .bind(self.key.as_str())
            .bind(owner)
            .bind(self.instance_id.as_str()),
        }
    }
}

pub struct NameClaims {
    db: Db,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Owner {
    owner: String,
    instance_id: String,
}

impl NameClaims {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Reserves `name` for `owner`. A claim made before `orphaned_before` by an owner that was
    /// never created is taken over, so that an IdP retrying a create cut off by a crash is not
    /// refused for the name its own lost attempt reserved.
    pub async fn claim(
        &self,
        name: &UniqueName,
        owner: &str,
        now: &str,
        orphaned_before: &str,
    ) -> Result<Claim, DbError> {
        let insert = name.claim_statement(owner, now);
        if self.db.execute(&insert).await? == 1 {
            return Ok(Claim::Claimed);
        }
        let holder: Option<Owner> = self.db.fetch_optional(&name.owner_statement()).await?;
        let free_again = match holder {
            Some(holder) if holder.owner == owner => {
                if self.renew(name, owner, now).await? {
                    return Ok(Claim::AlreadyHeld);
                }
                // The sweep removed it meanwhile, as a name the owner had given up.
                true
            }
            Some(_) => {
                let orphan = name.orphan_statement(orphaned_before);
                let removed = self.db.execute(&orphan).await?;
                if removed > 0 {
                    tracing::warn!(kind = ?name.kind, "took over a name claim left by an interrupted create");
                }
                removed > 0
            }
            // Released between our insert and our look.
            None => true,
        };
        Ok(if free_again && self.db.execute(&insert).await? == 1 {
            Claim::Claimed
        } else {
            Claim::Taken
        })
    }

    /// Dates `owner`'s claim on `name` `now` again, so that it is not taken for an orphan
    /// while its create or rename runs. False if `owner` does not hold it.
    pub async fn renew(&self, name: &UniqueName, owner: &str, now: &str) -> Result<bool, DbError> {
        Ok(self.db.execute(&name.renew_statement(owner, now)).await? == 1)
    }

    /// The instance whose user or group holds `name`, if one does.
    pub async fn holder_instance(&self, name: &UniqueName) -> Result<Option<String>, DbError> {
        let holder: Option<Owner> = self.db.fetch_optional(&name.owner_statement()).await?;
        Ok(holder.map(|holder| holder.instance_id))
    }

    /// Gives `name` up, if `owner` holds it.
    pub async fn release(&self, name: &UniqueName, owner: &str) -> Result<(), DbError> {
        self.db
            .execute(&name.release_statement(owner))
            .await
            .map(drop)
    }

    /// Gives up every name a deleted user or group held.
    pub async fn release_all_of(&self, owner: &str) -> Result<(), DbError> {
        self.db
            .execute_all(vec![
                Sql::new("DELETE FROM user_name_claims WHERE user_id = $1").bind(owner),
                Sql::new("DELETE FROM group_name_claims WHERE group_id = $1").bind(owner),
            ])
            .await
            .map(drop)
    }

    /// Removes claims made before `claimed_before` that the event log shows orphaned, and
    /// returns how many. A claim whose owner has no event at all was left by a create cut off
    /// before its command. A claim whose owner exists but does not hold the name (a rename or
    /// a deletion whose release was lost) is removed only once the read model has applied
    /// every event of that owner, as its stored checkpoint says: a read model that lags, is
    /// rebuilding, or is being rebuilt by a replica with a new projection version, shows live
    /// owners without their names, and the sweep must not free those.
    pub async fn reconcile(&self, claimed_before: &str) -> Result<u64, ProjectionError> {
        let mut removed = 0;
        for kind in [NameKind::UserName, NameKind::GroupName] {
            removed += self
                .db
                .execute(&never_created(kind, claimed_before))
                .await?;
            let suspects: Vec<Suspect> = self
                .db
                .fetch_all(&not_holding(kind, claimed_before))
                .await?;
            if suspects.is_empty() {
                continue;
            }
            // Read once for all suspects, before their owners' last positions: a checkpoint
            // read earlier that has passed a position read later has passed it still.
            let Some(reached) = self.read_model_reached(kind).await? else {
                continue;
            };
            let aggregate_type = kind.tables().aggregate_type;
            for suspect in suspects {
                let last = last_position_of(&self.db, aggregate_type, &suspect.owner).await?;
                if last.is_none_or(|last| last > reached) {
                    continue;
                }
                let name = UniqueName {
                    kind,
                    instance_id: suspect.instance_id,
                    key: suspect.name_key,
                };
                let superseded = name.superseded_statement(&suspect.owner, claimed_before);
                removed += self.db.execute(&superseded).await?;
            }
        }
        Ok(removed)
    }

    /// The position the read model of `kind`'s owners has applied, by the checkpoint in the
    /// database (which any process, rebuilding or not, keeps with the rows).
    async fn read_model_reached(
        &self,
        kind: NameKind,
    ) -> Result<Option<Position>, ProjectionError> {
        let mut read = self.db.begin_snapshot().await?;
        let checkpoints = Projector::checkpoint_positions(&mut read).await?;
        Ok(checkpoints.get(kind.tables().read_model).copied())
    }
}

/// An old claim whose owner exists in the log but not, in the read model, with this name.
#[derive(sqlx::FromRow, serde::Deserialize)]
struct Suspect {
    name_key: String,
    instance_id: String,
    owner: String,
}

/// The sweep looks at this many such claims at a time; they are rare (a lost release), unless
/// the read model is being rebuilt, when they are skipped anyway.
const SUSPECTS_PER_SWEEP: i64 = 1000;

/// Deletes the claims made before `claimed_before` whose owner has no event.
fn never_created(kind: NameKind, claimed_before: &str) -> Sql {
    let ClaimTables {
        table,
        owner,
        aggregate_type,
        ..
    } = kind.tables();
    Sql::new(format!(
        "DELETE FROM {table}
          WHERE claimed_at < $1
            AND NOT EXISTS (SELECT 1 FROM events e
                             WHERE e.aggregate_type = '{aggregate_type}'
                               AND e.aggregate_id = {table}.{owner})"
    ))
    .bind(claimed_before)
}

/// The claims made before `claimed_before` whose owner has events but is not shown holding
/// the name by the read model.
fn not_holding(kind: NameKind, claimed_before: &str) -> Sql {
    let ClaimTables {
        table,
        key,
        owner,
        aggregate_type,
        read_model,
    } = kind.tables();
    Sql::new(format!(
        "SELECT {key} AS name_key, instance_id, {owner} AS owner FROM {table}
          WHERE claimed_at < $1
            AND EXISTS (SELECT 1 FROM events e
                         WHERE e.aggregate_type = '{aggregate_type}'
                           AND e.aggregate_id = {table}.{owner})
            AND NOT EXISTS (SELECT 1 FROM {read_model} r
                             WHERE r.id = {table}.{owner} AND r.{key} = {table}.{key})
          LIMIT $2"
    ))
    .bind(claimed_before)
    .bind(SUSPECTS_PER_SWEEP)
}
