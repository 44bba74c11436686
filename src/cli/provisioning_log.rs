//! `scimd provisioning-log`: an instance's SCIM requests and their outcomes, streamed page by
//! page as a table or JSON Lines.

use super::history::TimeRange;
use super::printable;
use clap::{Args, ValueEnum};
use scimd::admin::{self, views, AdminError, LogFilter};
use scimd::store::provisioning_log::LogEntry;
use scimd::store::Store;
use std::io::Write;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct ProvisioningLogArgs {
    #[arg(long)]
    instance: String,
    /// Only failed requests (and Bulk requests with a failed operation)
    #[arg(long)]
    failed: bool,
    /// Only requests about this userName (any case), also by the id of a user that had it
    #[arg(long)]
    user: Option<String>,
    /// Only requests naming this externalId
    #[arg(long)]
    external_id: Option<String>,
    /// Only the request with this correlation id (its X-Request-Id, quoted in SCIM errors), in
    /// any case
    #[arg(long)]
    correlation_id: Option<String>,
    /// Only requests sent with this key id (admitted or refused, e.g. a revoked key)
    #[arg(long)]
    key: Option<String>,
    #[command(flatten)]
    range: TimeRange,
    /// Latest entries first
    #[arg(long)]
    newest_first: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Fixed widths, so that rows can be printed page by page as they are read.
fn row(cells: [&str; 7], error: &str) -> String {
    let [time, status, ms, method, user, correlation, path] = cells.map(printable);
    let error = printable(error);
    let line = format!(
        "{time:<27}  {status:<6}  {ms:>8}  {method:<6}  {user:<24}  {correlation:<36}  {path:<32}  {error}"
    );
    line.trim_end().to_string()
}

fn table_row(entry: &LogEntry) -> String {
    let status = entry.status.to_string();
    let ms = format!("{:.1}", views::latency_ms(entry.latency_us));
    let user = entry
        .user_name
        .as_deref()
        .or(entry.external_id.as_deref())
        .or(entry.resource_id.as_deref())
        .unwrap_or(if views::body_withheld(entry).is_some() {
            "(body unreadable)"
        } else {
            "-"
        });
    let error = match (&entry.scim_type, &entry.detail) {
        (Some(scim_type), Some(detail)) => format!("{scim_type}: {detail}"),
        (Some(only), None) | (None, Some(only)) => only.clone(),
        (None, None) => String::new(),
    };
    row(
        [
            &entry.at,
            &status,
            &ms,
            &entry.method,
            user,
            &entry.correlation_id,
            &entry.path,
        ],
        &error,
    )
}

pub async fn provisioning_log(store: &Store, args: ProvisioningLogArgs) -> anyhow::Result<()> {
    let filter = LogFilter {
        failed_only: args.failed,
        user_name: args.user,
        external_id: args.external_id,
        correlation_id: args.correlation_id,
        key_id: args.key,
        since: args.range.since,
        until: args.range.until,
        newest_first: args.newest_first,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let output = |error: std::io::Error| AdminError::Output(error.to_string());
    if let Format::Table = args.format {
        let headers = [
            "TIME",
            "STATUS",
            "MS",
            "METHOD",
            "USER",
            "CORRELATION ID",
            "PATH",
        ];
        writeln!(out, "{}", row(headers, "ERROR"))?;
    }
    admin::each_provisioning_log_page(store, &args.instance, &filter, |page| {
        for entry in page {
            let line = match args.format {
                Format::Jsonl => views::provisioning_log_entry(entry).to_string(),
                Format::Table => table_row(entry),
            };
            writeln!(out, "{line}").map_err(output)?;
        }
        out.flush().map_err(output)
    })
    .await?;
    Ok(())
}
