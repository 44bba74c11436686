//! Running the `scimd` binary's administrative commands against a database, as an operator
//! does.

use super::{fresh_database, StoreKind};
use std::path::Path;
use tokio::process::Command;

pub const SCIMD: &str = env!("CARGO_BIN_EXE_scimd");

/// Runs `scimd ARGS` on the database: whether it succeeded, its stdout and its stderr.
pub async fn run_cli(database_url: &str, args: &[&str]) -> (bool, String, String) {
    outcome(
        Command::new(SCIMD)
            .args(args)
            .env("SCIMD_DATABASE_URL", database_url),
    )
    .await
}

/// Runs `scimd ARGS` in `dir` on the database it uses by default, as an operator who names
/// none: no `--database`, no `SCIMD_DATABASE_URL`.
pub async fn run_cli_in(dir: &Path, args: &[&str]) -> (bool, String, String) {
    outcome(
        Command::new(SCIMD)
            .args(args)
            .current_dir(dir)
            .env_remove("SCIMD_DATABASE_URL"),
    )
    .await
}

async fn outcome(command: &mut Command) -> (bool, String, String) {
    let output = command.output().await.expect("scimd runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// A fresh database with one instance, made with the CLI.
pub async fn database_with_instance(
    kind: StoreKind,
    instance: &str,
) -> (String, Option<tempfile::TempDir>) {
    let (url, dir) = fresh_database(kind).await;
    let (ok, _, err) = run_cli(&url, &["instances", "create", instance]).await;
    assert!(ok, "{err}");
    (url, dir)
}

/// The store behind a database, opened as the CLI opens it: to look at or edit its tables.
pub async fn open_store(database_url: &str) -> scimd::store::Store {
    scimd::store::Store::open(&scimd::store::StoreSettings::new(database_url, 1))
        .await
        .expect("the store opens")
}
