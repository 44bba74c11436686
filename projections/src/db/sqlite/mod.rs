//! SQLite through rusqlite, with no thread hand-off per statement.
//!
//! sqlx runs each SQLite connection on a thread of its own, and every statement is a round
//! trip to it: two threads waking each other cost more than the statement (about half of the
//! server's CPU went to the kernel's scheduler). Here a read runs on the thread of the request
//! that asks, on a connection checked out of the readers' pool, with its prepared statement
//! taken from that connection's cache. Writes run on the one writing connection: the group
//! committer's thread owns it for each group (a whole group commit, with its projector batch,
//! crosses threads once), and the rare transaction outside a group (the projector catching up,
//! administrative commands) takes it in turn.

mod connections;
mod decode;
mod statements;

pub use connections::SqliteOptions;
pub use decode::{optional_flag, DecodeError};
pub use statements::StatementError;
pub(super) use statements::{execute, fetch_all, fetch_optional, for_each};

use super::group_commit::GroupCommit;
use super::DbError;
use connections::{Reader, Readers};
use rusqlite::Connection;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// One writing connection and a pool of readers on one file (WAL: readers never wait for the
/// writer), and the group committer in front of the writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    readers: Arc<Readers>,
    writer: Arc<Mutex<Connection>>,
    pub(super) grouped: GroupCommit,
}

impl SqliteStore {
    pub fn open(options: &SqliteOptions) -> Result<Self, DbError> {
        let writer = Arc::new(Mutex::new(connections::open(options, true)?));
        let readers = Arc::new(Readers::open(options)?);
        Ok(Self {
            grouped: GroupCommit::start(Arc::clone(&writer)),
            readers,
            writer,
        })
    }

    pub(super) async fn reader(&self) -> Result<Reader, DbError> {
        self.readers.checkout().await.ok_or(DbError::Closed)
    }

    pub(super) async fn writer(&self) -> OwnedMutexGuard<Connection> {
        Arc::clone(&self.writer).lock_owned().await
    }

    pub(super) fn close(&self) {
        self.readers.close();
    }
}

/// The connection under a SQLite transaction.
pub(super) enum Held {
    Reader(Reader),
    Writer(OwnedMutexGuard<Connection>),
}

impl std::ops::Deref for Held {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Self::Reader(reader) => reader,
            Self::Writer(writer) => writer,
        }
    }
}

/// An open transaction on a held connection, rolled back if dropped before `commit`.
pub(super) struct SqliteTx {
    conn: Held,
    open: bool,
}

impl SqliteTx {
    pub fn begin(conn: Held, begin: &str) -> Result<Self, DbError> {
        conn.execute_batch(begin)?;
        Ok(Self { conn, open: true })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn commit(mut self) -> Result<(), DbError> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }

    fn roll_back_if_open(&mut self) {
        if self.open && !self.conn.is_autocommit() {
            if let Err(error) = self.conn.execute_batch("ROLLBACK") {
                tracing::error!(%error, "cannot roll back a SQLite transaction");
            }
        }
        self.open = false;
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        self.roll_back_if_open();
    }
}

#[cfg(test)]
pub(crate) mod tests;
