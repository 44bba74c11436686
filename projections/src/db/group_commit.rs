//! Group commit for SQLite's one writing connection: small writes (a name reservation, a
//! command's events, a batch of the provisioning log) from many requests are queued, and each
//! run of them shares one transaction and one fsync, instead of a transaction and an fsync
//! apiece. Each write is still all or nothing on
//! its own (a savepoint), and its caller hears back only once the shared transaction has
//! committed.
//!
//! A group that appended events also runs the projector in its transaction (`FollowUp`), so
//! that the events and the read models they change share that commit: the requests that wrote
//! them find their changes applied as soon as they hear back, instead of waiting for a
//! projector batch of its own, with its own wait for the writer and its own fsync.

use super::sqlite::{Held, SqliteTx};
use super::{DbError, Sql, Tx};
use async_trait::async_trait;
use rusqlite::Connection;
use std::sync::{Arc, OnceLock, Weak};
use tokio::sync::{mpsc, oneshot, Mutex};

/// Writes that share one transaction, at most; more wait for the next.
const MAX_GROUP: usize = 64;
/// Writes waiting for their turn, at most; callers beyond that wait to queue.
const QUEUE: usize = 1024;

/// Work done in the transaction of each group that appended events, after its writes: the
/// projector applying them. It may fail alone: what it did is then undone (a savepoint) and
/// the group's writes still commit.
#[async_trait]
pub trait FollowUp: Send + Sync {
    /// Works in `tx`; false when it failed, and what it did must be undone.
    async fn within(&self, tx: &mut Tx) -> bool;
    /// Told, after a `within` that succeeded, whether the transaction committed.
    fn settled(&self, committed: bool);
}

/// Held weakly: the follow-up (the projector) holds the database, and with it this handle.
type FollowUpSlot = Arc<OnceLock<Weak<dyn FollowUp>>>;

#[derive(Clone)]
pub struct GroupCommit {
    sender: mpsc::Sender<Write>,
    follow_up: FollowUpSlot,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("follow_up", &self.follow_up.get().is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Write {
    statements: Vec<Sql>,
    /// Appends events, which the follow-up should apply before the commit.
    appends_events: bool,
    done: oneshot::Sender<Result<u64, DbError>>,
}

impl GroupCommit {
    /// Starts the committer on a thread of its own; it ends when the last handle is dropped.
    ///
    /// Every write of the process waits for this one task, whose statements and fsyncs run on
    /// this thread: on the shared runtime they would hold up the request tasks ready on the
    /// same worker, and wait behind them.
    pub fn start(writer: Arc<Mutex<Connection>>) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let follow_up = FollowUpSlot::default();
        let committer = commit_in_groups(writer, receiver, Arc::clone(&follow_up));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(runtime) => {
                let spawned = std::thread::Builder::new()
                    .name("scimd-writer".to_string())
                    .spawn(move || runtime.block_on(committer));
                if let Err(error) = spawned {
                    tracing::error!(%error, "cannot start the writer thread");
                }
            }
            Err(error) => tracing::error!(%error, "cannot start the writer's runtime"),
        }
        Self { sender, follow_up }
    }

    /// Sets the work each group that appended events does before it commits; only the first
    /// call counts.
    pub fn follow_with(&self, follow_up: Weak<dyn FollowUp>) {
        let _ = self.follow_up.set(follow_up);
    }

    /// Runs `statements` as one atomic write and returns the rows they changed, once committed.
    /// `appends_events`: they append events, for the follow-up to apply in the same commit.
    pub async fn write(&self, statements: Vec<Sql>, appends_events: bool) -> Result<u64, DbError> {
        let (done, outcome) = oneshot::channel();
        let write = Write {
            statements,
            appends_events,
            done,
        };
        if self.sender.send(write).await.is_err() {
            return Err(stopped());
        }
        outcome.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> DbError {
    DbError::Closed
}

async fn commit_in_groups(
    writer: Arc<Mutex<Connection>>,
    mut receiver: mpsc::Receiver<Write>,
    follow_up: FollowUpSlot,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while receiver.recv_many(&mut group, MAX_GROUP).await > 0 {
        let follow_up = follow_up.get().and_then(Weak::upgrade);
        let writer = Held::Writer(Arc::clone(&writer).lock_owned().await);
        commit_group(writer, std::mem::take(&mut group), follow_up.as_deref()).await;
    }
}

async fn commit_group(writer: Held, group: Vec<Write>, follow_up: Option<&dyn FollowUp>) {
    let mut tx = match SqliteTx::begin(writer, "BEGIN IMMEDIATE") {
        Ok(tx) => Tx::sqlite(tx, false),
        Err(error) => return fail_all(group, &error),
    };
    let outcomes = match apply_all(&mut tx, &group).await {
        Ok(outcomes) => outcomes,
        // The transaction can no longer be trusted: nothing of it is committed.
        Err(error) => return fail_all(group, &error),
    };
    let appended = group
        .iter()
        .zip(&outcomes)
        .any(|(write, outcome)| write.appends_events && outcome.is_ok());
    let followed = match follow_up.filter(|_| appended) {
        Some(follow_up) => match follow(&mut tx, follow_up).await {
            Ok(kept) => kept.then_some(follow_up),
            Err(error) => return fail_all(group, &error),
        },
        None => None,
    };
    let committed = tx.commit().await;
    if let Some(follow_up) = followed {
        // Before the callers hear back, so that what they wait for next is already applied.
        follow_up.settled(committed.is_ok());
    }
    match committed {
        Ok(()) => {
            for (write, outcome) in group.into_iter().zip(outcomes) {
                // A caller that gave up waiting does not need the answer.
                let _ = write.done.send(outcome);
            }
        }
        Err(error) => fail_all(group, &error),
    }
}

/// Runs the follow-up inside a savepoint. `Ok(false)`: it failed and was undone, the group
/// goes on without it; `Err(..)`: not even undoing it worked.
async fn follow(tx: &mut Tx, follow_up: &dyn FollowUp) -> Result<bool, DbError> {
    tx.execute(&Sql::new("SAVEPOINT follow_up")).await?;
    let kept = follow_up.within(tx).await
        && match tx.execute(&Sql::new("RELEASE follow_up")).await {
            Ok(_) => true,
            Err(error) => {
                tracing::error!(%error, "the projector's work in a group commit failed");
                follow_up.settled(false);
                false
            }
        };
    if !kept {
        tx.discard_deferred();
        undo(tx, "follow_up").await?;
    }
    Ok(kept)
}

/// Undoes everything since `savepoint` and leaves it, the transaction going on.
async fn undo(tx: &mut Tx, savepoint: &str) -> Result<(), DbError> {
    let sql = format!("ROLLBACK TO {savepoint}; RELEASE {savepoint}");
    tx.execute(&Sql::new(sql)).await.map(drop)
}

/// Runs each write of `group` inside a savepoint of its own, so that each is all or nothing,
/// and returns the outcome of each: the rows it changed, or why it failed and was undone.
/// `Err(..)`: not even undoing a failed write worked.
async fn apply_all(tx: &mut Tx, group: &[Write]) -> Result<Vec<Result<u64, DbError>>, DbError> {
    let mut outcomes = Vec::with_capacity(group.len());
    for write in group {
        tx.execute(&Sql::new("SAVEPOINT grouped_write")).await?;
        let mut changed = 0;
        let mut failure = None;
        for statement in &write.statements {
            match tx.execute(statement).await {
                Ok(rows) => changed += rows,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        match failure {
            None => {
                tx.execute(&Sql::new("RELEASE grouped_write")).await?;
                outcomes.push(Ok(changed));
            }
            Some(error) => {
                undo(tx, "grouped_write").await?;
                outcomes.push(Err(error));
            }
        }
    }
    Ok(outcomes)
}

fn fail_all(group: Vec<Write>, error: &dyn std::fmt::Display) {
    for write in group {
        let _ = write
            .done
            .send(Err(DbError::SharedWrite(error.to_string())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, SqliteOptions, SqliteStore};

    async fn store(dir: &tempfile::TempDir) -> Db {
        let options = SqliteOptions {
            path: dir.path().join("grouped.db"),
            readers: 2,
            durable: true,
            busy_timeout: std::time::Duration::from_secs(5),
        };
        let db = Db::Sqlite(SqliteStore::open(&options).expect("opens"));
        db.execute(&Sql::new(
            "CREATE TABLE names (name TEXT PRIMARY KEY, n INTEGER)",
        ))
        .await
        .expect("creates");
        db
    }

    fn insert(name: &str) -> Sql {
        Sql::new("INSERT INTO names (name, n) VALUES ($1, 1) ON CONFLICT (name) DO NOTHING")
            .bind(name)
    }

    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Count {
        total: i64,
    }

    async fn count(db: &Db, table: &str) -> i64 {
        let sql = Sql::new(format!("SELECT count(*) AS total FROM {table}"));
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
        assert_eq!(count(&db, "names").await, 50 + 20);
    }

    /// Counts each group it follows into `follows`, and fails (after writing) when told to.
    struct Tally {
        fail: std::sync::atomic::AtomicBool,
        settled: std::sync::Mutex<Vec<bool>>,
    }

    #[async_trait]
    impl FollowUp for Tally {
        async fn within(&self, tx: &mut Tx) -> bool {
            let sql = Sql::new("INSERT INTO follows DEFAULT VALUES");
            if tx.defer(sql).await.is_err() {
                return false;
            }
            !self.fail.load(std::sync::atomic::Ordering::SeqCst)
        }

        fn settled(&self, committed: bool) {
            self.settled.lock().expect("not poisoned").push(committed);
        }
    }

    /// The follow-up runs only for groups that appended events, commits with them, and when
    /// it fails, only its own work is undone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_follow_up_commits_with_the_events_or_is_undone_alone() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = store(&dir).await;
        db.execute(&Sql::new(
            "CREATE TABLE follows (n INTEGER PRIMARY KEY AUTOINCREMENT)",
        ))
        .await
        .expect("creates");
        let tally = Arc::new(Tally {
            fail: false.into(),
            settled: Vec::new().into(),
        });
        let follow_up: Arc<dyn FollowUp> = Arc::clone(&tally) as Arc<dyn FollowUp>;
        db.follow_group_commits(Arc::downgrade(&follow_up));

        db.execute_all(vec![insert("plain")]).await.expect("writes");
        assert_eq!(count(&db, "follows").await, 0, "no events, no follow-up");
        assert!(tally.settled.lock().expect("not poisoned").is_empty());

        db.append_events(vec![insert("appended")])
            .await
            .expect("writes");
        assert_eq!(count(&db, "follows").await, 1);
        assert_eq!(*tally.settled.lock().expect("not poisoned"), [true]);

        tally.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        db.append_events(vec![insert("kept")])
            .await
            .expect("writes");
        assert_eq!(
            count(&db, "follows").await,
            1,
            "the failed follow-up's row is undone"
        );
        assert_eq!(
            count(&db, "names").await,
            3,
            "the events it followed are committed"
        );
        assert_eq!(*tally.settled.lock().expect("not poisoned"), [true]);

        // A failed write is not followed: nothing it appended is there to apply.
        tally.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        let refused = db
            .append_events(vec![Sql::new(
                "INSERT INTO names (name, n) VALUES ('kept', 1)",
            )])
            .await;
        assert!(refused.is_err_and(|error| error.is_unique_violation()));
        assert_eq!(count(&db, "follows").await, 1);
    }
}
