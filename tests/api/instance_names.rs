//! Instance names are unique without regard to case and found in any case (`globex` and
//! `GLOBEX` are one tenant to a person), and a store that holds names differing only by case
//! is not migrated (0016) until the operator renames them, with a message that says so.

use crate::common::admin_api::{call as admin_call, with_admin_api};
use crate::common::cli::run_cli;
use crate::common::{fresh_database, StoreKind, TestApp};
use crate::{on_both_store_kinds, on_both_stores_with};
use reqwest::Method;
use serde_json::json;
use std::borrow::Cow;

on_both_stores_with!(with_admin_api;
    a_name_differing_only_by_case_is_refused_and_any_case_finds_the_instance,
);
on_both_store_kinds!(a_store_with_names_differing_only_by_case_is_not_migrated_until_renamed);

async fn a_name_differing_only_by_case_is_refused_and_any_case_finds_the_instance(app: TestApp) {
    let (status, body) = admin_call(
        &app,
        Method::POST,
        "/instances",
        Some(json!({"name": "globex"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = admin_call(
        &app,
        Method::POST,
        "/instances",
        Some(json!({"name": "GLOBEX"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("\"globex\""),
        "names the instance that has the name: {error}"
    );
    assert!(error.contains("any case"), "{error}");

    let (ok, _, err) = run_cli(&app.database_url, &["instances", "create", "Globex"]).await;
    assert!(!ok, "the CLI refuses it too");
    assert!(err.contains("\"globex\""), "{err}");

    // Found in any case, by the API and the CLI.
    let (status, body) = admin_call(
        &app,
        Method::POST,
        "/instances/GloBex/keys",
        Some(json!({"integrationUser": "okta"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (ok, out, err) =
        run_cli(&app.database_url, &["keys", "list", "--instance", "GLOBEX"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("okta"), "{out}");

    let (status, instances) = admin_call(&app, Method::GET, "/instances", None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = instances
        .as_array()
        .map(|all| all.iter().filter_map(|i| i["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names
            .iter()
            .filter(|name| name.eq_ignore_ascii_case("globex"))
            .count(),
        1,
        "{names:?}"
    );
}

/// The store's migrations before 0016, which made instance names unique in any case.
fn migrations_before_0016(mut migrator: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    let older: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < 16)
        .cloned()
        .collect();
    migrator.migrations = Cow::Owned(older);
    migrator
}

/// Runs `statements` on a store migrated up to 0015 only.
async fn store_before_0016(kind: StoreKind, url: &str, statements: &[&str]) {
    match kind {
        StoreKind::Sqlite => {
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse().expect("a SQLite URL");
            let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
                .await
                .expect("the SQLite file opens");
            migrations_before_0016(sqlx::migrate!("./migrations/sqlite"))
                .run(&pool)
                .await
                .expect("migrated to 0015");
            for statement in statements {
                sqlx::query(statement)
                    .execute(&pool)
                    .await
                    .expect("the statement runs");
            }
            pool.close().await;
        }
        StoreKind::Postgres => {
            let pool = sqlx::PgPool::connect(url)
                .await
                .expect("PostgreSQL answers");
            migrations_before_0016(sqlx::migrate!("./migrations/postgres"))
                .run(&pool)
                .await
                .expect("migrated to 0015");
            for statement in statements {
                sqlx::query(statement)
                    .execute(&pool)
                    .await
                    .expect("the statement runs");
            }
            pool.close().await;
        }
    }
}

async fn a_store_with_names_differing_only_by_case_is_not_migrated_until_renamed(kind: StoreKind) {
    let (url, _dir) = fresh_database(kind).await;
    store_before_0016(
        kind,
        &url,
        &[
            "INSERT INTO instances (id, name, created_at) VALUES ('i1', 'globex', '2026-01-01T00:00:00.000000Z')",
            "INSERT INTO instances (id, name, created_at) VALUES ('i2', 'GLOBEX', '2026-01-02T00:00:00.000000Z')",
            "INSERT INTO instances (id, name, created_at) VALUES ('i3', 'initech', '2026-01-03T00:00:00.000000Z')",
        ],
    )
    .await;

    let (ok, _, err) = run_cli(&url, &["instances", "list"]).await;
    assert!(!ok, "scimd does not start on such a store");
    assert!(
        err.contains("differ only by case"),
        "says what is wrong: {err}"
    );
    assert!(
        err.contains("UPDATE instances SET name"),
        "and how to fix it: {err}"
    );
    if kind == StoreKind::Postgres {
        assert!(err.contains("GLOBEX, globex"), "names them: {err}");
    }

    store_before_0016(
        kind,
        &url,
        &["UPDATE instances SET name = 'globex-old' WHERE id = 'i2'"],
    )
    .await;
    let (ok, out, err) = run_cli(&url, &["instances", "list"]).await;
    assert!(ok, "renamed, the store is migrated: {err}");
    for name in ["globex", "globex-old", "initech"] {
        assert!(out.contains(name), "{out}");
    }
}
