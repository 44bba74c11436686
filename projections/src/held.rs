//! What a projection holds between the events it applies (a chain head, an entity's name, a
//! user's mapped fields) instead of reading it back from its own tables, a round trip each.
//!
//! Valid only while this process's batches follow each other with nothing in between (see
//! `Projection::start_batch`): another process applying events, a failed batch or a rebuild
//! empties it. Bounded, so that memory does not grow with the number of users.

use crate::db::set_based::Shape;
use crate::db::{DbError, Record, Tx};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Entries held at most; beyond that the next batch starts empty.
const LIMIT: usize = 10_000;

pub struct Held<V> {
    entries: Mutex<HashMap<String, V>>,
}

impl<V> Default for Held<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Held<V> {
    pub fn start_batch(&self, continuing: bool) {
        let mut entries = self.entries();
        if !continuing || entries.len() > LIMIT {
            entries.clear();
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        self.entries().get(key).cloned()
    }

    pub fn insert(&self, key: &str, value: V) {
        self.entries().insert(key.to_string(), value);
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, V>> {
        locked(&self.entries)
    }

    /// The row of each of `ids` (`None`: it has none): held, or else read by `shape`'s key
    /// (a one-column key, the id), all in one statement on PostgreSQL.
    pub async fn or_read<Read>(
        &self,
        tx: &mut Tx,
        ids: impl IntoIterator<Item = String>,
        shape: &Shape,
        select: &str,
        id_of: fn(&V) -> &str,
    ) -> Result<Vec<(String, Option<V>)>, DbError>
    where
        Read: Record,
        V: From<Read>,
    {
        let mut rows = Vec::new();
        let mut unread = HashMap::new();
        for id in ids {
            match self.get(&id) {
                Some(row) => rows.push((id, Some(row))),
                None => {
                    unread.insert(id, None);
                }
            }
        }
        let keys = unread.keys().map(|id| vec![id.into()]).collect();
        for read in shape.fetch_by_keys::<Read>(tx, select, keys).await? {
            let row = V::from(read);
            unread.insert(id_of(&row).to_string(), Some(row));
        }
        rows.extend(unread);
        Ok(rows)
    }
}

/// One value kept from a batch to what follows it, put and taken whole.
pub struct Slot<T>(Mutex<Option<T>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<T> Slot<T> {
    pub fn put(&self, value: T) {
        *locked(&self.0) = Some(value);
    }

    pub fn take(&self) -> Option<T> {
        locked(&self.0).take()
    }
}

/// What a projection gathers over one batch's events (rows folded, totals' deltas) and writes
/// in `finish_batch`: emptied as each batch starts (`take`), so that nothing of a failed batch
/// survives into the next.
pub struct Gathered<T>(Mutex<T>);

impl<T: Default> Default for Gathered<T> {
    fn default() -> Self {
        Self(Mutex::new(T::default()))
    }
}

impl<T: Default> Gathered<T> {
    pub fn with<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        change(&mut locked(&self.0))
    }

    /// What was gathered, leaving it empty.
    pub fn take(&self) -> T {
        std::mem::take(&mut *locked(&self.0))
    }
}

/// Only what a batch leaves for the next is kept under these locks: a value left half-updated
/// by a panic is still usable (at worst the next batch does not continue from it).
pub(crate) fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_last_while_batches_continue_and_within_the_limit() {
        let held = Held::default();
        held.insert("a", 1);
        held.start_batch(true);
        assert_eq!(held.get("a"), Some(1));
        held.start_batch(false);
        assert_eq!(held.get("a"), None);
        for n in 0..=LIMIT {
            held.insert(&n.to_string(), n);
        }
        held.start_batch(true);
        assert_eq!(held.get("0"), None);
    }
}
