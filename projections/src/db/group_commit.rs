//! Group commit for SQLite's one writing connection: small writes (a name reservation, a
//! command's events) from many requests are queued, and each run of them shares one
//! transaction, one round trip each and one fsync, instead of a transaction, three round trips
//! and an fsync apiece. Each write is still all or nothing on its own (a savepoint), and its
//! caller hears back only once the shared transaction has committed.

use super::deferred::joined;
use super::{bound, DbError, Sql};
use futures_util::TryStreamExt;
use sqlx::sqlite::SqlitePool;
use sqlx::{Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot};

/// Writes that share one transaction, at most; more wait for the next.
const MAX_GROUP: usize = 64;
/// Writes waiting for their turn, at most; callers beyond that wait to queue.
const QUEUE: usize = 1024;

#[derive(Debug, Clone)]
pub struct GroupCommit {
    sender: mpsc::Sender<Write>,
}

#[derive(Debug)]
struct Write {
    statements: Vec<Sql>,
    done: oneshot::Sender<Result<u64, DbError>>,
}

impl GroupCommit {
    /// Starts the committer on the current runtime; it ends when the last handle is dropped.
    pub fn start(writes: SqlitePool) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(commit_in_groups(writes, receiver));
        Self { sender }
    }

    /// Runs `statements` as one atomic write and returns the rows they changed, once committed.
    pub async fn write(&self, statements: Vec<Sql>) -> Result<u64, DbError> {
        let (done, outcome) = oneshot::channel();
        let write = Write { statements, done };
        if self.sender.send(write).await.is_err() {
            return Err(stopped());
        }
        outcome.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> DbError {
    DbError(sqlx::Error::PoolClosed)
}

async fn commit_in_groups(writes: SqlitePool, mut receiver: mpsc::Receiver<Write>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while receiver.recv_many(&mut group, MAX_GROUP).await > 0 {
        commit_group(&writes, std::mem::take(&mut group)).await;
    }
}

async fn commit_group(writes: &SqlitePool, group: Vec<Write>) {
    let mut tx = match writes.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(error) => return fail_all(group, &error),
    };
    let mut outcomes = Vec::with_capacity(group.len());
    for write in group {
        match apply(&mut tx, &write.statements).await {
            Ok(outcome) => outcomes.push((write, outcome)),
            // The transaction can no longer be trusted: nothing of it is committed.
            Err(error) => {
                let pending = outcomes.into_iter().map(|(write, _)| write);
                return fail_all(pending.chain([write]).collect(), &error);
            }
        }
    }
    match tx.commit().await {
        Ok(()) => {
            for (write, outcome) in outcomes {
                // A caller that gave up waiting does not need the answer.
                let _ = write.done.send(outcome);
            }
        }
        Err(error) => fail_all(
            outcomes.into_iter().map(|(write, _)| write).collect(),
            &error,
        ),
    }
}

/// One write, in one round trip: a single statement is atomic by itself, several go inside a
/// savepoint. `Ok(Err(..))`: the write failed and was undone, the transaction goes on;
/// `Err(..)`: not even undoing it worked.
async fn apply(
    tx: &mut Transaction<'static, Sqlite>,
    statements: &[Sql],
) -> Result<Result<u64, DbError>, DbError> {
    if let [statement] = statements {
        return Ok(bound(statement)
            .execute(&mut **tx)
            .await
            .map(|done| done.rows_affected())
            .map_err(DbError));
    }
    let mut all = Vec::with_capacity(statements.len() + 2);
    all.push(Sql::new("SAVEPOINT grouped_write"));
    all.extend(statements.iter().cloned());
    all.push(Sql::new("RELEASE grouped_write"));
    let list = joined(all);
    // One result per statement: SQLite reports the last data change again for SAVEPOINT and
    // RELEASE, so only the statements' own results count.
    #[allow(deprecated)]
    let results: Result<Vec<_>, sqlx::Error> = bound(&list)
        .execute_many(&mut **tx)
        .await
        .try_collect()
        .await;
    match results {
        Ok(results) => Ok(Ok(results
            .iter()
            .skip(1)
            .take(statements.len())
            .map(|done| done.rows_affected())
            .sum())),
        Err(error) => {
            sqlx::query("ROLLBACK TO grouped_write; RELEASE grouped_write")
                .execute(&mut **tx)
                .await?;
            Ok(Err(DbError(error)))
        }
    }
}

fn fail_all(group: Vec<Write>, error: &dyn std::fmt::Display) {
    for write in group {
        let failed = sqlx::Error::Protocol(format!("the shared write transaction failed: {error}"));
        let _ = write.done.send(Err(DbError(failed)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, SqlitePools};
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    async fn store(dir: &tempfile::TempDir) -> Db {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("grouped.db"))
            .create_if_missing(true);
        let pool = |size| SqlitePoolOptions::new().max_connections(size);
        let writes = pool(1).connect_with(options.clone()).await.expect("opens");
        let reads = pool(2).connect_with(options).await.expect("opens");
        sqlx::query("CREATE TABLE names (name TEXT PRIMARY KEY, n INTEGER)")
            .execute(&writes)
            .await
            .expect("creates");
        Db::Sqlite(SqlitePools::new(reads, writes))
    }

    fn insert(name: &str) -> Sql {
        Sql::new("INSERT INTO names (name, n) VALUES ($1, 1) ON CONFLICT (name) DO NOTHING")
            .bind(name)
    }

    #[derive(sqlx::FromRow)]
    struct Count {
        total: i64,
    }

    async fn count(db: &Db) -> i64 {
        let sql = Sql::new("SELECT count(*) AS total FROM names");
        db.fetch_one::<Count>(&sql).await.expect("counts").total
    }

    /// Racing writes share transactions, yet each gets its own exact answer: one wins a name,
    /// the others see it taken, and a failing write leaves the rest of its group committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_in_one_group_succeed_and_fail_alone() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = store(&dir).await;
        let claims = (0..200).map(|n| {
            let db = db.clone();
            tokio::spawn(async move { db.execute(&insert(&format!("name{}", n % 50))).await })
        });
        let mut won = 0;
        for claim in claims {
            won += claim.await.expect("runs").expect("writes");
        }
        assert_eq!(won, 50, "each of the 50 names is won exactly once");
        let failing = (0..20).map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                let statements = vec![
                    insert(&format!("pair{n}")),
                    // Odd writes fail halfway: a plain insert of a name already there.
                    Sql::new("INSERT INTO names (name, n) VALUES ($1, 2)").bind(if n % 2 == 1 {
                        "name0".to_string()
                    } else {
                        format!("other{n}")
                    }),
                ];
                db.execute_all(statements).await
            })
        });
        let mut failed = 0;
        for write in failing {
            match write.await.expect("runs") {
                Ok(changed) => assert_eq!(changed, 2),
                Err(error) => {
                    assert!(error.is_unique_violation(), "{error}");
                    failed += 1;
                }
            }
        }
        assert_eq!(failed, 10);
        // 50 names, and both rows of each of the 10 writes that succeeded; nothing of the others.
        assert_eq!(count(&db).await, 50 + 20);
    }
}
