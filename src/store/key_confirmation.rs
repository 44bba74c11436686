//! Confirming a key held in memory with the request's own read, instead of a read of its own.
//!
//! A read-only request whose key this process holds (`VerifiedKeys`) is let in before the
//! store is asked (`admin::admit_held`), and answered only if a read of the store made by the
//! request itself, after it arrived, shows the key generation the key was held at. A key's
//! row is at least as new as the generation it was held at, and every change of a key or an
//! instance moves the generation on in its own transaction (migrations `0015`), so the same
//! generation in a snapshot taken after the request arrived means that the key was live then:
//! a revocation committed before the request started is seen by it, exactly as a lookup of
//! the row would see it. The generation is one more column of that read, not a round trip.
//! When no read shows it (a request that reads nothing, a listing that found nothing) or it
//! shows another, the key is checked as any other request's is (`admin::authenticate`)
//! before the answer leaves, and a refused key's answer is replaced by the refusal: a
//! request that only reads has done nothing that needs undoing.

use projections::db::Record;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The column that carries the key generation in a read's rows: an uncorrelated subquery,
/// evaluated once per statement on either store.
pub const KEY_GENERATION_COLUMN: &str =
    "(SELECT generation FROM key_generation WHERE id = 1) AS key_generation";

/// A row read with `KEY_GENERATION_COLUMN` among its columns.
#[derive(Debug, serde::Deserialize)]
#[serde(bound = "T: Record")]
pub struct WithKeyGeneration<T> {
    #[serde(flatten)]
    pub row: T,
    pub key_generation: i64,
}

impl<'r, T: FromRow<'r, PgRow>> FromRow<'r, PgRow> for WithKeyGeneration<T> {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            row: T::from_row(row)?,
            key_generation: row.try_get("key_generation")?,
        })
    }
}

/// Nothing seen yet (generations start at 0 and only grow).
const UNSEEN: i64 = -1;

tokio::task_local! {
    static SEEN: Arc<AtomicI64>;
}

/// Runs `request`, and returns with its outcome the key generation its reads saw, if any did.
pub async fn observing<F: Future>(request: F) -> (F::Output, Option<i64>) {
    let seen = Arc::new(AtomicI64::new(UNSEEN));
    let output = SEEN.scope(Arc::clone(&seen), request).await;
    let generation = seen.load(Ordering::Acquire);
    (output, (generation != UNSEEN).then_some(generation))
}

/// Notes the key generation a read of the current request saw. The first one counts: it was
/// read after the request arrived, which is all a confirmation needs.
pub fn observe(generation: i64) {
    let _ = SEEN.try_with(|seen| {
        let _ = seen.compare_exchange(UNSEEN, generation, Ordering::AcqRel, Ordering::Acquire);
    });
}

/// The rows of a read made with `KEY_GENERATION_COLUMN`, its generation noted for the request.
pub fn observed<T>(rows: Vec<WithKeyGeneration<T>>) -> Vec<T> {
    if let Some(first) = rows.first() {
        observe(first.key_generation);
    }
    rows.into_iter().map(|row| row.row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_generation_a_request_saw_is_returned_with_its_outcome() {
        let (answer, seen) = observing(async {
            observe(7);
            observe(8);
            42
        })
        .await;
        assert_eq!((answer, seen), (42, Some(7)));
    }

    #[tokio::test]
    async fn a_request_that_read_nothing_saw_no_generation() {
        let ((), seen) = observing(async {}).await;
        assert_eq!(seen, None);
        // Outside any request, a read notes nothing, and does not fail.
        observe(3);
    }
}
