//! Administrative commands run where there is no store refuse, saying which database they looked
//! for and how to choose another, and leave nothing behind; `instances create` and
//! `admins create` (a first-time setup, before any `serve`) still set one up.

use crate::common::cli::{run_cli, run_cli_in};
use crate::common::{fresh_database, StoreKind};
use std::path::Path;

/// Commands that only read or change an existing store, one of each kind.
const ADMINISTRATIVE: &[&[&str]] = &[
    &["instances", "list"],
    &["keys", "list", "--instance", "acme"],
    &[
        "keys",
        "create",
        "--instance",
        "acme",
        "--integration-user",
        "okta",
    ],
    &["admins", "list"],
    &["admins", "revoke", "alice"],
    &["roles", "show", "--instance", "acme"],
    &["fields", "add", "--instance", "acme", "Country"],
    &["mappings", "show", "--instance", "acme"],
    &["users", "search", "--instance", "acme", "a"],
    &["directory", "show", "--instance", "acme", "alice"],
    &["history", "--instance", "acme"],
    &["provisioning-log", "--instance", "acme"],
    &["rebuild"],
    &["verify"],
    &["audit", "verify"],
    &["show", "--instance", "acme", "--user", "alice"],
    &["import", "--instance", "acme", "accounts.jsonl"],
];

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the directory reads")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrative_commands_in_a_folder_without_a_store_refuse_and_create_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("accounts.jsonl"), "").expect("the import file is written");
    let expected = dir.path().join("scimd.db");
    for args in ADMINISTRATIVE {
        let (ok, out, err) = run_cli_in(dir.path(), args).await;
        assert!(!ok, "scimd {args:?} succeeded without a store: {out}");
        assert!(
            err.contains(&expected.display().to_string()),
            "scimd {args:?} does not name {}: {err}",
            expected.display()
        );
        assert!(
            err.contains("--database") && err.contains("SCIMD_DATABASE_URL"),
            "scimd {args:?} does not say how to choose another store: {err}"
        );
        assert_eq!(
            entries(dir.path()),
            ["accounts.jsonl"],
            "scimd {args:?} left files behind"
        );
    }

    let nested = dir.path().join("not").join("there.db");
    let url = format!("sqlite://{}", nested.display());
    let (ok, _, err) = run_cli(&url, &["instances", "list"]).await;
    assert!(!ok && err.contains(&nested.display().to_string()), "{err}");
    assert!(!dir.path().join("not").exists(), "a directory was created");

    let (ok, _, err) = run_cli_in(dir.path(), &["instances", "create", "acme"]).await;
    assert!(ok, "{err}");
    assert!(expected.exists(), "instances create made no store");
    let (ok, out, err) = run_cli_in(dir.path(), &["instances", "list"]).await;
    assert!(ok && out.contains("acme"), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_may_be_created_before_the_first_serve() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (ok, out, err) = run_cli_in(dir.path(), &["admins", "create", "alice"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("alice"), "{out}");
    let (ok, out, err) = run_cli_in(dir.path(), &["admins", "list"]).await;
    assert!(ok && out.contains("alice"), "{out}{err}");
}

/// Whether scimd's migrations ever ran on the PostgreSQL database at `url`.
async fn migrated(url: &str) -> bool {
    let pool = sqlx::PgPool::connect(url)
        .await
        .expect("PostgreSQL answers");
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("the catalogue answers");
    pool.close().await;
    migrated
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_postgresql_database_is_not_a_store_until_it_is_set_up() {
    let (url, _dir) = fresh_database(StoreKind::Postgres).await;
    for args in [
        &["instances", "list"][..],
        &["rebuild"],
        &["admins", "list"],
    ] {
        let (ok, out, err) = run_cli(&url, args).await;
        assert!(!ok, "scimd {args:?} succeeded on an empty database: {out}");
        assert!(
            err.contains("not a scimd store yet") && err.contains(&scimd::store::redact(&url)),
            "scimd {args:?}: {err}"
        );
        assert!(err.contains("--database"), "{err}");
        assert!(
            !migrated(&url).await,
            "scimd {args:?} migrated the database"
        );
    }

    let (ok, _, err) = run_cli(&url, &["instances", "create", "acme"]).await;
    assert!(ok, "{err}");
    let (ok, out, err) = run_cli(&url, &["instances", "list"]).await;
    assert!(ok && out.contains("acme"), "{out}{err}");
}
