//! Opening SQLite connections, and the readers' pool.
//!
//! A connection is used directly by the thread that runs the work, with no thread of its own
//! to hand each statement to: the hand-off cost more than most statements (see the README's
//! Performance section). Readers are checked out for one query or one snapshot and come back
//! when dropped; the pool's permits make a task wait (asynchronously) when all are out.

use super::statements::CACHED_STATEMENTS;
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How a store's connections are opened.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    pub readers: usize,
    /// `synchronous = FULL` (a commit survives a power cut) or `OFF` (a scratch copy).
    pub durable: bool,
    /// How long a statement waits for another process's write lock.
    pub busy_timeout: Duration,
}

/// The writer's page cache, in KiB (SQLite's default is 2,000).
const WRITER_CACHE_KIB: u32 = 32 * 1024;
/// Pages the log grows to before it is copied into the file (SQLite's default is 1,000).
const CHECKPOINT_PAGES: u32 = 10_000;

pub fn open(options: &SqliteOptions, writes: bool) -> rusqlite::Result<Connection> {
    let access = if writes {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    };
    let flags = access | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(&options.path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
    let synchronous = if options.durable { "FULL" } else { "OFF" };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
    ))?;
    if writes {
        // Every create dirties pages all over each index: the writer keeps them in its own
        // cache between groups instead of reading them back from the OS; savepoints' journals
        // stay in memory; and the log is copied into the file (and synced) a tenth as often,
        // so that a page changed by many groups is copied once.
        conn.execute_batch(&format!(
            "PRAGMA cache_size = -{WRITER_CACHE_KIB}; PRAGMA temp_store = MEMORY;"
        ))?;
        conn.pragma_update_and_check(None, "wal_autocheckpoint", CHECKPOINT_PAGES, |row| {
            row.get::<_, i64>(0)
        })?;
        // Answers with the mode now in force, a row that `pragma_update` would refuse.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    }
    Ok(conn)
}

#[derive(Debug)]
pub struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub fn open(options: &SqliteOptions) -> rusqlite::Result<Self> {
        let count = options.readers.max(1);
        let idle = (0..count)
            .map(|_| open(options, false))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Self {
            idle: Mutex::new(idle),
            permits: Arc::new(Semaphore::new(count)),
        })
    }

    /// A reader for the caller alone until it is dropped; `None` once the pool is closed.
    pub async fn checkout(self: &Arc<Self>) -> Option<Reader> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.ok()?;
        let conn = self.lock().pop()?;
        Some(Reader {
            conn: Some(conn),
            pool: Arc::clone(self),
            _permit: permit,
        })
    }

    /// Closes the idle readers and refuses further checkouts.
    pub fn close(&self) {
        self.permits.close();
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while holding this lock leaves the list itself intact.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct Reader {
    conn: Option<Connection>,
    pool: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for Reader {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !self.pool.permits.is_closed() {
                self.pool.lock().push(conn);
            }
        }
    }
}
