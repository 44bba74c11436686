//! Reservations of names that must be unique across aggregates (see
//! migrations/*/0003_name_claims.sql): a userName across the deployment, a group's displayName
//! within its instance.
//!
//! The unique key of the claims table decides races: of two concurrent creates of one name,
//! exactly one insert succeeds. Claims are released when their command fails; a claim whose
//! owner never came to hold the name (the process died in between) is removed by `reconcile`.

use aggregates::values::case_insensitive_key;
use projections::db::{Db, DbError, Sql};

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
        let (table, owner, aggregate_type, scope) = match self.kind {
            NameKind::UserName => ("user_name_claims", "user_id", "User", "user_name_key = $1"),
            NameKind::GroupName => (
                "group_name_claims",
                "group_id",
                "Group",
                "display_name_key = $1 AND instance_id = $3",
            ),
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

#[derive(sqlx::FromRow)]
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
            Some(holder) if holder.owner == owner => return Ok(Claim::AlreadyHeld),
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

    /// Removes claims made before `claimed_before` whose owner does not hold the name in the
    /// read model: left behind when a process died between claiming and commanding. Returns
    /// how many were removed. Run it only with the read model caught up.
    pub async fn reconcile(&self, claimed_before: &str) -> Result<u64, DbError> {
        let users = Sql::new(
            "DELETE FROM user_name_claims
              WHERE claimed_at < $1
                AND NOT EXISTS (SELECT 1 FROM scim_users u
                                 WHERE u.id = user_name_claims.user_id
                                   AND u.user_name_key = user_name_claims.user_name_key)",
        )
        .bind(claimed_before);
        let groups = Sql::new(
            "DELETE FROM group_name_claims
              WHERE claimed_at < $1
                AND NOT EXISTS (SELECT 1 FROM scim_groups g
                                 WHERE g.id = group_name_claims.group_id
                                   AND g.display_name_key = group_name_claims.display_name_key)",
        )
        .bind(claimed_before);
        Ok(self.db.execute(&users).await? + self.db.execute(&groups).await?)
    }
}
