//! The release `scimd` a bench drives: `serve` on a free port, found from what it prints, and
//! the commands around it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// `scimd serve` over the store at `url` with `args` besides; the process and its SCIM base URL.
pub fn start_server(url: &str, args: &[&str]) -> Result<(Child, String), Failure> {
    let mut server = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = server.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().ok_or("scimd exited before listening")??;
        if let Some(rest) = line.strip_prefix("scimd listening on ") {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    // Keeps reading what it prints, so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok((server, base))
}

/// Runs `scimd args` over the store at `url` to completion, its standard error to `stderr`;
/// its stdout.
pub fn run_scimd(url: &str, args: &[&str], stderr: Stdio) -> Result<String, Failure> {
    run_program(env!("CARGO_BIN_EXE_scimd"), url, args, stderr)
}

/// As `run_scimd`, with the scimd binary at `program` (another build, to compare with).
pub fn run_program(
    program: &str,
    url: &str,
    args: &[&str],
    stderr: Stdio,
) -> Result<String, Failure> {
    let output = Command::new(program)
        .args(args)
        .env("SCIMD_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stderr(stderr)
        .output()?;
    if !output.status.success() {
        return Err(format!("scimd {args:?} failed: {:?}", output.status).into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
