//! The statement timeout `serve` sets: a statement that runs (PostgreSQL) or waits for the
//! write lock (SQLite) longer than that fails, instead of holding a request and its
//! connection indefinitely.

use crate::common::{fresh_database, StoreKind};
use crate::on_both_store_kinds;
use projections::db::{Dialect, Sql};
use scimd::store::{Store, StoreSettings};
use std::time::Duration;

on_both_store_kinds!(a_statement_past_the_timeout_fails);

async fn open(url: &str, timeout: Option<Duration>) -> Store {
    Store::open(&StoreSettings {
        statement_timeout: timeout,
        ..StoreSettings::new(url, 2)
    })
    .await
    .expect("the store opens")
}

async fn a_statement_past_the_timeout_fails(kind: StoreKind) {
    let (url, _dir) = fresh_database(kind).await;
    let limited = open(&url, Some(Duration::from_millis(200))).await;
    match kind {
        StoreKind::Postgres => {
            let slow = Sql::new("SELECT 1 AS done FROM pg_sleep(1)");
            let refused = limited.db.execute(&slow).await;
            let error = refused.expect_err("a one-second statement outlives 200 ms");
            assert!(error.to_string().contains("statement timeout"), "{error}");
            let unlimited = open(&url, None).await;
            unlimited
                .db
                .execute(&slow)
                .await
                .expect("without a timeout it runs to its end");
        }
        StoreKind::Sqlite => {
            assert_eq!(limited.db.dialect(), Dialect::Sqlite);
            let holder = open(&url, None).await;
            let held = holder
                .db
                .begin_write()
                .await
                .expect("the write lock is free");
            // Released only once the limited store has given up, however long that takes a
            // loaded machine, and then a moment later, so that the patient store waits for it.
            let (give_up, gave_up) = tokio::sync::oneshot::channel::<()>();
            let release = tokio::spawn(async move {
                let _ = gave_up.await;
                tokio::time::sleep(Duration::from_millis(500)).await;
                held.commit().await.expect("the holder commits");
            });
            let waited = limited.db.begin_write().await;
            let error = waited.err().expect("the lock is held past 200 ms");
            assert!(error.to_string().contains("locked"), "{error}");
            let _ = give_up.send(());
            // Without a timeout it waits (up to 10 s) for the lock to be released.
            let patient = open(&url, None).await;
            patient
                .db
                .begin_write()
                .await
                .expect("the lock is taken once released");
            release.await.expect("the holder finished");
        }
    }
}
