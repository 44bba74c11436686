//! Keys: a key alone decides the instance, every refusal is a 401 with an RFC 6750
//! challenge, revocation bites on the next request, and the secret is kept nowhere. (That one
//! instance's key reaches nothing of another is tests/api/isolation.rs.)

use crate::common::cli::run_cli;
use crate::common::{user, TestApp};
use crate::on_both_stores;
use projections::db::{Dialect, Sql};
use reqwest::Method;
use sha2::{Digest, Sha256};
use std::time::Duration;

on_both_stores!(
    requests_without_a_valid_key_are_unauthorized,
    a_revoked_key_stops_working_at_once,
    a_key_admitted_once_is_admitted_again_from_memory,
    a_key_revoked_by_another_process_is_refused_from_the_next_request,
    changes_are_recorded_as_made_by_the_keys_integration_user,
    the_key_secret_is_stored_nowhere,
);

const NO_KEY: &str = "Bearer realm=\"scimd\"";
const BAD_KEY: &str = "Bearer realm=\"scimd\", error=\"invalid_token\"";

async fn requests_without_a_valid_key_are_unauthorized(app: TestApp) {
    let key_id = app.token.split('_').nth(1).unwrap_or_default();
    let wrong_secret = format!("scimd_{key_id}_{}", "A".repeat(43));
    let forged = format!("{}x", app.token);
    let revoked = app.key_for("default", "retired").await;
    let revoked_id = revoked.split('_').nth(1).unwrap_or_default().to_string();
    scimd::admin::revoke_key(&app.store, &revoked_id, &crate::common::operator())
        .await
        .expect("the key is revoked");
    let cases: [(Option<&str>, &str); 9] = [
        (None, NO_KEY),
        (Some("not-a-key"), BAD_KEY),
        (Some("scimd_"), BAD_KEY),
        (Some("scimd_0123456789abcdef_"), BAD_KEY),
        (Some("scimd_0123456789abcdef_unknownkeyid"), BAD_KEY),
        (Some(&wrong_secret), BAD_KEY),
        (Some(&forged), BAD_KEY),
        (Some(&revoked), BAD_KEY),
        // Only part of a key: the id without its secret.
        (Some(key_id), BAD_KEY),
    ];
    for (token, challenge) in cases {
        let reply = app.send(Method::GET, "/Users", token, None).await;
        assert_eq!(reply.status, 401, "{token:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some(challenge),
            "{token:?}"
        );
        assert_eq!(reply.body["status"], "401", "{token:?}");
        assert_eq!(
            reply.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{token:?}"
        );
    }
    // Another scheme is no bearer credential at all (RFC 6750 §3.1: no error code then).
    for authorization in [format!("Basic {}", app.token), "Bearer".to_string()] {
        let reply = app
            .client
            .get(format!("{}/Users", app.base))
            .header("authorization", &authorization)
            .send()
            .await
            .expect("scimd answers");
        assert_eq!(reply.status().as_u16(), 401, "{authorization}");
        assert_eq!(
            reply
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some(NO_KEY),
            "{authorization}"
        );
    }
    assert_eq!(app.get("/Users").await.status, 200);
}

async fn a_revoked_key_stops_working_at_once(app: TestApp) {
    let token = app.key_for("default", "okta").await;
    assert_eq!(
        app.send(Method::GET, "/Users", Some(&token), None)
            .await
            .status,
        200
    );
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    scimd::admin::revoke_key(&app.store, &key_id, &crate::common::operator())
        .await
        .expect("the key is revoked");
    assert_eq!(
        app.send(Method::GET, "/Users", Some(&token), None)
            .await
            .status,
        401
    );
    // Other keys of the instance still work.
    assert_eq!(app.get("/Users").await.status, 200);
}

/// The store's join and the secret's SHA-256 are spent once per key, not once per request;
/// a wrong secret for a key held in memory is still refused.
async fn a_key_admitted_once_is_admitted_again_from_memory(app: TestApp) {
    let lookups = || app.store.metrics.key_lookups.get();
    let before = lookups();
    for _ in 0..5 {
        assert_eq!(app.get("/Users").await.status, 200);
    }
    assert_eq!(lookups() - before, 1, "five requests, one lookup");
    let key_id = app.token.split('_').nth(1).unwrap_or_default();
    let mut wrong = app.token.clone();
    let last = if wrong.ends_with('A') { 'B' } else { 'A' };
    wrong.pop();
    wrong.push(last);
    for token in [wrong, format!("scimd_{key_id}_{}", "A".repeat(43))] {
        let reply = app.send(Method::GET, "/Users", Some(&token), None).await;
        assert_eq!(reply.status, 401, "{token}");
    }
    assert_eq!(app.get("/Users").await.status, 200);
}

/// The CLI revokes in a process of its own, which shares nothing with the server but the
/// store: the server, holding the key as admitted, must still refuse it at once.
async fn a_key_revoked_by_another_process_is_refused_from_the_next_request(app: TestApp) {
    let token = app.key_for("default", "okta").await;
    for _ in 0..3 {
        let reply = app.send(Method::GET, "/Users", Some(&token), None).await;
        assert_eq!(reply.status, 200);
    }
    assert_eq!(app.get("/Users").await.status, 200);
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    let (ok, _, err) = run_cli(&app.database_url, &["keys", "revoke", &key_id]).await;
    assert!(ok, "{err}");
    let refused = app.send(Method::GET, "/Users", Some(&token), None).await;
    assert_eq!(refused.status, 401, "{:?}", refused.body);
    // The instance's other key, held too, still works.
    assert_eq!(app.get("/Users").await.status, 200);
}

async fn changes_are_recorded_as_made_by_the_keys_integration_user(app: TestApp) {
    let token = app.key_for("default", "okta-provisioning").await;
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    let reply = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("user-agent", "Okta SCIM Client 1.0.0")
        .body(user("tess").to_string())
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(reply.status().as_u16(), 201);
    let correlation = reply
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Metadata {
        metadata: String,
    }
    // The user's events; the instance's own (its creation, its keys) are an administrator's.
    let sql = match app.store.db.dialect() {
        projections::db::Dialect::Sqlite => {
            "SELECT metadata FROM events WHERE aggregate_type = 'User'"
        }
        projections::db::Dialect::Postgres => {
            "SELECT metadata::text AS metadata FROM events WHERE aggregate_type = 'User'"
        }
    };
    let rows: Vec<Metadata> = app
        .store
        .db
        .fetch_all(&projections::db::Sql::new(sql))
        .await
        .expect("events are readable");
    // The user's creation and the mapping of its application fields.
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let metadata: serde_json::Value =
            serde_json::from_str(&row.metadata).expect("JSON metadata");
        assert_eq!(metadata["actor"], "okta-provisioning");
    }
    let metadata: serde_json::Value =
        serde_json::from_str(&rows[0].metadata).expect("JSON metadata");
    assert_eq!(metadata["key_id"], key_id.as_str());
    assert_eq!(metadata["correlation_id"], correlation.as_str());
    assert_eq!(metadata["user_agent"], "Okta SCIM Client 1.0.0");
    assert_eq!(metadata["source"], "scim");
    assert!(
        !rows[0].metadata.contains(&token),
        "the key itself is never recorded"
    );
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Text {
    text: String,
}

/// Everything the store holds, as text: the SQLite file and its write-ahead log byte for byte
/// (free pages included), or every row of every PostgreSQL table.
async fn everything_stored(app: &TestApp) -> String {
    match app.store.db.dialect() {
        Dialect::Sqlite => {
            let file = app.database_url.trim_start_matches("sqlite://").to_string();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal"] {
                bytes.extend(std::fs::read(format!("{file}{suffix}")).unwrap_or_default());
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Dialect::Postgres => {
            let tables: Vec<Text> = app
                .store
                .db
                .fetch_all(&Sql::new(
                    "SELECT table_name::text AS text FROM information_schema.tables
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                ))
                .await
                .expect("the tables are listed");
            let mut all = String::new();
            for table in tables {
                let sql = format!(
                    "SELECT coalesce(string_agg(t::text, E'\\n'), '') AS text FROM \"{}\" t",
                    table.text
                );
                let rows: Text = app
                    .store
                    .db
                    .fetch_one(&Sql::new(sql))
                    .await
                    .expect("the table is readable");
                all.push_str(&rows.text);
                all.push('\n');
            }
            all
        }
    }
}

async fn the_key_secret_is_stored_nowhere(app: TestApp) {
    let token = app.key_for("default", "okta").await;
    let (key_id, secret) = token
        .strip_prefix("scimd_")
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, secret)| (id.to_string(), secret.to_string()))
        .expect("a token reads scimd_<id>_<secret>");
    let created = app
        .send(Method::POST, "/Users", Some(&token), Some(&user("kim")))
        .await;
    assert_eq!(created.status, 201);
    // A refused request of the key (a wrong secret) is logged for it too.
    let wrong = format!("scimd_{key_id}_{}", "B".repeat(43));
    assert_eq!(
        app.send(Method::GET, "/Users", Some(&wrong), None)
            .await
            .status,
        401
    );
    // Both requests reach the provisioning log, which a background task writes.
    let logged = Sql::new("SELECT count(*) AS total FROM provisioning_log");
    let mut entries = 0;
    // Polled for up to 30 s: the writer is quick, but a loaded machine may not be.
    for _ in 0..1200 {
        #[derive(sqlx::FromRow, serde::Deserialize)]
        struct Count {
            total: i64,
        }
        let count: Count = app.store.db.fetch_one(&logged).await.expect("a count");
        entries = count.total;
        if entries >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(entries >= 2, "only {entries} provisioning log entries");
    let stored = everything_stored(&app).await;
    // What is kept: the key's id, its integration user and the digest of its secret.
    let digest: String = Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    for kept in [key_id.as_str(), "okta", digest.as_str()] {
        assert!(stored.contains(kept), "{kept} is stored");
    }
    assert!(!stored.contains(&secret), "the secret is stored");
    assert!(
        !stored.contains(&secret[..20]),
        "part of the secret is stored"
    );
}
