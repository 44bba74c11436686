//! Reservations of names that must be unique across aggregates (see
//! migrations/*/0003_name_claims.sql): a userName across the deployment, a group's displayName
//! within its instance.
//!
//! The unique key of the claims table decides races: of two concurrent creates of one name,
//! exactly one insert succeeds. Claims are released when their command fails; a claim whose
//! owner never came to hold the name (the process died in between) is removed by `reconcile`.

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

pub struct NameClaims {
    db: Db,
}

#[derive(sqlx::FromRow)]
struct Owner {
    owner: String,
}

impl NameClaims {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn claim_user_name(
        &self,
        key: &str,
        instance_id: &str,
        user_id: &str,
        now: &str,
    ) -> Result<Claim, DbError> {
        let insert = Sql::new(
            "INSERT INTO user_name_claims (user_name_key, instance_id, user_id, claimed_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_name_key) DO NOTHING",
        )
        .bind(key)
        .bind(instance_id)
        .bind(user_id)
        .bind(now);
        let owner =
            Sql::new("SELECT user_id AS owner FROM user_name_claims WHERE user_name_key = $1")
                .bind(key);
        self.claim(insert, owner, user_id).await
    }

    pub async fn release_user_name(&self, key: &str, user_id: &str) -> Result<(), DbError> {
        let sql =
            Sql::new("DELETE FROM user_name_claims WHERE user_name_key = $1 AND user_id = $2")
                .bind(key)
                .bind(user_id);
        self.db.execute(&sql).await.map(drop)
    }

    /// Every name a deleted user held.
    pub async fn release_user(&self, user_id: &str) -> Result<(), DbError> {
        let sql = Sql::new("DELETE FROM user_name_claims WHERE user_id = $1").bind(user_id);
        self.db.execute(&sql).await.map(drop)
    }

    pub async fn claim_group_name(
        &self,
        instance_id: &str,
        key: &str,
        group_id: &str,
        now: &str,
    ) -> Result<Claim, DbError> {
        let insert = Sql::new(
            "INSERT INTO group_name_claims (instance_id, display_name_key, group_id, claimed_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (instance_id, display_name_key) DO NOTHING",
        )
        .bind(instance_id)
        .bind(key)
        .bind(group_id)
        .bind(now);
        let owner = Sql::new(
            "SELECT group_id AS owner FROM group_name_claims
              WHERE instance_id = $1 AND display_name_key = $2",
        )
        .bind(instance_id)
        .bind(key);
        self.claim(insert, owner, group_id).await
    }

    pub async fn release_group_name(
        &self,
        instance_id: &str,
        key: &str,
        group_id: &str,
    ) -> Result<(), DbError> {
        let sql = Sql::new(
            "DELETE FROM group_name_claims
              WHERE instance_id = $1 AND display_name_key = $2 AND group_id = $3",
        )
        .bind(instance_id)
        .bind(key)
        .bind(group_id);
        self.db.execute(&sql).await.map(drop)
    }

    /// Every name a deleted group held.
    pub async fn release_group(&self, group_id: &str) -> Result<(), DbError> {
        let sql = Sql::new("DELETE FROM group_name_claims WHERE group_id = $1").bind(group_id);
        self.db.execute(&sql).await.map(drop)
    }

    async fn claim(&self, insert: Sql, owner: Sql, claimant: &str) -> Result<Claim, DbError> {
        if self.db.execute(&insert).await? == 1 {
            return Ok(Claim::Claimed);
        }
        let holder: Option<Owner> = self.db.fetch_optional(&owner).await?;
        Ok(match holder {
            Some(holder) if holder.owner == claimant => Claim::AlreadyHeld,
            Some(_) => Claim::Taken,
            // Released between our insert and our look: the name is free again.
            None => {
                if self.db.execute(&insert).await? == 1 {
                    Claim::Claimed
                } else {
                    Claim::Taken
                }
            }
        })
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
