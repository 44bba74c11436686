//! The `scimd` binary run as an operator runs it: one command, its exit status and output.

use tokio::process::Command;

pub const SCIMD: &str = env!("CARGO_BIN_EXE_scimd");

/// Runs `scimd ARGS` on the store at `database_url`: whether it succeeded, stdout, stderr.
pub async fn run_cli(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(SCIMD)
        .args(args)
        .env("SCIMD_DATABASE_URL", database_url)
        .output()
        .await
        .expect("scimd runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}
