//! The `scimd` binary: parses the command line, sets up logging, and runs the command.

mod cli;

use clap::Parser;
use std::io::IsTerminal as _;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    // Administrative commands print results on stdout; only problems belong on stderr.
    let (default_level, format) = match &cli.command {
        cli::Command::Serve(args) => ("info", args.log_format),
        _ => ("warn", cli::LogFormat::Text),
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in a collected log file.
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        cli::LogFormat::Text => logs.init(),
        // Each line carries its spans' fields (instance, correlation id, aggregate id) under
        // `span` (the innermost) and `spans` (all, outermost first).
        cli::LogFormat::Json => logs.json().init(),
    }
    cli::run(cli).await
}
