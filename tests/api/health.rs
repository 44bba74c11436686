//! `/healthz` and `/readyz` as an orchestrator probes them: ready only while the read model
//! can reach what the event log holds.

use crate::common::cli::run_cli;
use crate::common::TestApp;
use crate::on_both_stores_with;
use scimd::startup::ServerSettings;
use serde_json::Value;
use sqlx::Connection;
use std::time::Duration;

on_both_stores_with!(
    with_a_sleeping_projector;
    ready_only_while_the_read_model_can_reach_the_log,
);

/// The projector looks for other processes' events only when asked, so that an event the
/// CLI commits stays unapplied until a probe or a request asks for it.
fn with_a_sleeping_projector() -> ServerSettings {
    ServerSettings {
        projector_poll: Duration::from_secs(3600),
        ..ServerSettings::default()
    }
}

async fn probe(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app
        .client
        .get(format!("http://{}{path}", app.address))
        .send()
        .await
        .expect("scimd answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Another process holding what the projector must take to apply events: SQLite's write
/// lock, or the projector's advisory lock on PostgreSQL.
enum Blocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Blocker {
    async fn hold(app: &TestApp) -> Self {
        if app.database_url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .expect("connects");
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut connection)
                .await
                .expect("takes the write lock");
            Self::Sqlite(connection)
        } else {
            let mut connection = sqlx::PgConnection::connect(&app.database_url)
                .await
                .expect("connects");
            sqlx::query("SELECT pg_advisory_lock(x'5c1d0001'::bigint)")
                .execute(&mut connection)
                .await
                .expect("takes the projector's lock");
            Self::Postgres(connection)
        }
    }

    async fn release(self) {
        match self {
            Self::Sqlite(mut connection) => {
                sqlx::query("ROLLBACK")
                    .execute(&mut connection)
                    .await
                    .expect("releases");
            }
            Self::Postgres(mut connection) => {
                sqlx::query("SELECT pg_advisory_unlock_all()")
                    .execute(&mut connection)
                    .await
                    .expect("releases");
            }
        }
    }
}

async fn ready_only_while_the_read_model_can_reach_the_log(app: TestApp) {
    assert_eq!(probe(&app, "/healthz").await.0, 200);
    let (status, body) = probe(&app, "/readyz").await;
    assert_eq!(
        (status, &body["status"]),
        (200, &Value::from("ready")),
        "{body}"
    );

    // An event from another process, which this one has not applied, and a lock that keeps
    // its projector from applying it.
    let (ok, _, err) = run_cli(
        &app.database_url,
        &["roles", "allow", "--instance", "default", "User", "Viewer"],
    )
    .await;
    assert!(ok, "{err}");
    let blocker = Blocker::hold(&app).await;
    let (status, body) = probe(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["reason"], "the read model is behind the event log");
    assert_eq!(probe(&app, "/healthz").await.0, 200, "alive all the same");

    blocker.release().await;
    let (status, body) = probe(&app, "/readyz").await;
    assert_eq!(status, 200, "{body}");
}
