//! `scimd history`: an instance's change history, streamed page by page as a table, JSON Lines
//! or CSV; `scimd rebuild`: every projection rebuilt from the event log.

use super::printable;
use super::progress::Progress;
use super::spreadsheet::inert;
use clap::{Args, ValueEnum};
use projections::history::HistoryEntry;
use scimd::admin::{self, views, AdminError, HistoryFilter};
use scimd::store::Store;
use std::borrow::Cow;
use std::io::Write;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long)]
    instance: String,
    /// Only entries about this user (or group), by userName (or displayName), and the
    /// member changes of groups that name it as the member
    #[arg(long)]
    user: Option<String>,
    /// Only entries about this user or group id, and the member changes naming it
    #[arg(long)]
    id: Option<String>,
    /// Only changes made by this integration user
    #[arg(long)]
    actor: Option<String>,
    /// Only this kind of change, e.g. UserSuspended
    #[arg(long)]
    action: Option<String>,
    #[command(flatten)]
    range: TimeRange,
    /// Latest entries first
    #[arg(long)]
    newest_first: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Which stretch of time a listing covers.
#[derive(Debug, Args)]
pub struct TimeRange {
    /// From this RFC 3339 date-time on
    #[arg(long)]
    pub since: Option<String>,
    /// Up to this RFC 3339 date-time
    #[arg(long)]
    pub until: Option<String>,
}

const CSV_HEADER: [&str; 15] = [
    "position",
    "occurred_at",
    "actor",
    "key_id",
    "source",
    "user_agent",
    "correlation_id",
    "entity_type",
    "entity_id",
    "entity_name",
    "action",
    "details",
    "member_type",
    "member_id",
    "member_name",
];

pub async fn history(store: &Store, args: HistoryArgs) -> anyhow::Result<()> {
    let filter = HistoryFilter {
        entity_id: args.id,
        name: args.user,
        actor: args.actor,
        action: args.action,
        since: args.range.since,
        until: args.range.until,
        newest_first: args.newest_first,
    };
    let stdout = std::io::stdout();
    let output = |error: &dyn std::fmt::Display| AdminError::Output(error.to_string());
    match args.format {
        Format::Csv => {
            // The CSV writer buffers and writes as it goes: one page in memory at most.
            let mut csv = csv::Writer::from_writer(stdout.lock());
            csv.write_record(CSV_HEADER)?;
            admin::each_history_page(store, &args.instance, &filter, |page| {
                for entry in page {
                    let position = entry.position.to_string();
                    let record = [
                        position.as_str(),
                        &entry.occurred_at,
                        &entry.actor,
                        entry.key_id.as_deref().unwrap_or_default(),
                        &entry.source,
                        entry.user_agent.as_deref().unwrap_or_default(),
                        &entry.correlation_id,
                        &entry.entity_type,
                        &entry.entity_id,
                        entry.entity_name.as_deref().unwrap_or_default(),
                        &entry.action,
                        &entry.details,
                        entry.member_type.as_deref().unwrap_or_default(),
                        entry.member_id.as_deref().unwrap_or_default(),
                        entry.member_name.as_deref().unwrap_or_default(),
                    ];
                    csv.write_record(record.map(inert).iter().map(|cell| cell.as_bytes()))
                        .map_err(|error| output(&error))?;
                }
                csv.flush().map_err(|error| output(&error))
            })
            .await?;
        }
        Format::Table | Format::Jsonl => {
            let mut out = std::io::BufWriter::new(stdout.lock());
            if let Format::Table = args.format {
                writeln!(
                    out,
                    "{:<8}  {:<27}  {:<20}  {:<9}  {:<24}  {:<24}  DETAILS",
                    "POSITION", "TIME", "ACTOR", "SOURCE", "ENTITY", "ACTION"
                )?;
            }
            admin::each_history_page(store, &args.instance, &filter, |page| {
                for entry in page {
                    let line = match args.format {
                        Format::Jsonl => views::history_entry(entry).to_string(),
                        _ => format!(
                            "{:<8}  {:<27}  {:<20}  {:<9}  {:<24}  {:<24}  {}",
                            entry.position,
                            printable(&entry.occurred_at),
                            printable(&entry.actor),
                            printable(&entry.source),
                            printable(entry.entity_name.as_deref().unwrap_or(&entry.entity_id)),
                            printable(&entry.action),
                            printable(&details(entry))
                        ),
                    };
                    writeln!(out, "{line}").map_err(|error| output(&error))?;
                }
                out.flush().map_err(|error| output(&error))
            })
            .await?;
        }
    }
    Ok(())
}

/// What a table shows of an entry's details: a member change names its member (name at the
/// time, type and id) instead of showing the event's `{"member":{"id":…,"kind":…}}`.
fn details(entry: &HistoryEntry) -> Cow<'_, str> {
    match (&entry.member_type, &entry.member_id) {
        (Some(kind), Some(id)) => {
            let name = entry.member_name.as_deref().unwrap_or("(unnamed)");
            Cow::Owned(format!("member: {name} ({kind} {id})"))
        }
        _ => Cow::Borrowed(&entry.details),
    }
}

pub async fn rebuild(store: &Store, json: bool) -> anyhow::Result<()> {
    let total = admin::event_count(store).await?;
    let progress = Progress::new(u64::try_from(total).ok());
    let started = std::time::Instant::now();
    let outcome = admin::rebuild(store, |so_far| {
        progress.update(so_far, &format!("applied {so_far} of {total} events"));
    })
    .await;
    progress.finish();
    let applied = outcome?;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({"events": applied, "seconds": seconds})
        );
    } else {
        println!("Rebuilt every projection from {applied} events in {seconds:.1} s.");
    }
    Ok(())
}
