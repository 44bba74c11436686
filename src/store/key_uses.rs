//! When each API key was last used, for an operator asking "is the identity provider still on
//! this key?" (`keys list`, the admin API, the console). A use is noted in memory on every
//! request and written to the store only when a minute has passed since this process last
//! wrote that key's: an IdP sending hundreds of requests a second costs one small write a
//! minute, not one a request. So the time shown may be up to a minute (and a write) behind.
//!
//! Written to `key_uses` (migrations `0016`), never to `api_keys`: a change of `api_keys`
//! moves the key generation on and empties every process's held keys (`VerifiedKeys`).

use chrono::{DateTime, Utc};
use projections::db::{Db, DbError, Sql};
use projections::metadata::timestamp;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// At most one write per key in this span, per process.
pub const WRITE_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// The last time this process wrote each key's use. Bounded by the keys that were used.
#[derive(Default)]
pub struct KeyUses {
    written: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl KeyUses {
    /// Notes that `key_id` was used at `now`: true when the use is to be written, that is when
    /// this process never wrote the key's use or last wrote it `WRITE_EVERY` or more before
    /// `now`. A clock set back makes the next use due at once rather than an hour late.
    pub fn due(&self, key_id: &str, now: DateTime<Utc>) -> bool {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let due = written
            .get(key_id)
            .is_none_or(|last| now - *last >= WRITE_EVERY || now < *last);
        if due {
            written.insert(key_id.to_string(), now);
        }
        due
    }
}

/// Records that `key_id` was used at `at`, unless a later use is recorded already (another
/// replica's).
pub async fn record_use(db: &Db, key_id: &str, at: DateTime<Utc>) -> Result<(), DbError> {
    let sql = Sql::new(
        "INSERT INTO key_uses (key_id, last_used_at) VALUES ($1, $2)
         ON CONFLICT (key_id) DO UPDATE SET last_used_at = excluded.last_used_at
          WHERE key_uses.last_used_at < excluded.last_used_at",
    )
    .bind(key_id)
    .bind(timestamp(at));
    db.execute(&sql).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn a_keys_first_use_is_written_and_the_next_only_a_minute_later() {
        let uses = KeyUses::default();
        assert!(uses.due("k1", at(0)), "first use");
        assert!(!uses.due("k1", at(1)));
        assert!(!uses.due("k1", at(59)));
        assert!(uses.due("k1", at(60)), "a minute after the write");
        assert!(!uses.due("k1", at(61)));
        assert!(!uses.due("k1", at(119)));
        assert!(uses.due("k1", at(125)));
    }

    #[test]
    fn each_key_has_its_own_minute() {
        let uses = KeyUses::default();
        assert!(uses.due("k1", at(0)));
        assert!(uses.due("k2", at(30)));
        assert!(!uses.due("k2", at(60)));
        assert!(uses.due("k1", at(60)));
        assert!(uses.due("k2", at(90)));
    }

    #[test]
    fn a_clock_set_back_writes_at_once() {
        let uses = KeyUses::default();
        assert!(uses.due("k1", at(3600)));
        assert!(uses.due("k1", at(0)));
        assert!(!uses.due("k1", at(30)));
    }
}
