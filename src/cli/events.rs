//! `scimd events`: an instance's change feed (docs/events.md) from a cursor, as JSON Lines of
//! the public documents (or a table), and with `--follow` every event after them as it is
//! published, until Ctrl-C or SIGTERM.

use super::printable;
use super::serve::stop_signal;
use clap::{Args, ValueEnum};
use projections::feed::{events_after, FeedEvent, FeedQuery};
use scimd::admin::{
    self, feed_instance, parse_cursor, parse_types, AdminError, FEED_POLL, MAX_EVENTS_LIMIT,
};
use scimd::store::Store;
use serde_json::Value;
use std::io::Write;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    /// One public document per line, as the events API returns them
    #[default]
    Json,
    Table,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The instance, by name or id
    #[arg(long)]
    instance: String,
    /// Only events after this cursor (an event's `cursor`; default: from the first)
    #[arg(long)]
    after: Option<String>,
    /// Only events of this type (repeat, or separate with commas)
    #[arg(long = "type")]
    types: Vec<String>,
    /// At most this many events, then stop (even with --follow)
    #[arg(long)]
    limit: Option<u64>,
    /// Keep waiting for new events and print them as they are published
    #[arg(long)]
    follow: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub async fn events(store: &Store, args: EventsArgs) -> anyhow::Result<()> {
    let after = parse_cursor(args.after.as_deref()).map_err(AdminError::from)?;
    let types = parse_types(args.types.iter().map(String::as_str)).map_err(AdminError::from)?;
    let instance = feed_instance(store, &args.instance).await?;
    // Without a server running, nothing else brings the feed up to the log.
    admin::catch_up(store).await?;
    let stop = stop_signal()?;
    tokio::pin!(stop);
    let mut query = FeedQuery {
        instance_id: instance.id,
        after,
        types,
        limit: MAX_EVENTS_LIMIT,
    };
    let mut left = args.limit;
    let mut out = std::io::stdout().lock();
    if let Format::Table = args.format {
        writeln!(
            out,
            "{:<8}  {:<27}  {:<20}  RESOURCE",
            "CURSOR", "TIME", "TYPE"
        )?;
    }
    loop {
        if let Some(left) = left {
            query.limit = i64::try_from(left.min(MAX_EVENTS_LIMIT as u64)).unwrap_or(1);
        }
        if left == Some(0) {
            return Ok(());
        }
        let page = events_after(&store.db, &query).await?;
        for event in &page {
            writeln!(out, "{}", line(event, args.format))?;
        }
        out.flush()?;
        if let Some(last) = page.last() {
            query.after = last.seq;
        }
        left = left.map(|left| left.saturating_sub(page.len() as u64));
        if page.len() as i64 == query.limit {
            continue;
        }
        if !args.follow {
            return Ok(());
        }
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tokio::time::sleep(FEED_POLL) => {}
        }
    }
}

fn line(event: &FeedEvent, format: Format) -> String {
    match format {
        Format::Json => event.document.clone(),
        Format::Table => {
            let document: Value = serde_json::from_str(&event.document).unwrap_or_default();
            let resource = &document["data"]["resource"];
            let name = resource["userName"]
                .as_str()
                .or(resource["displayName"].as_str())
                .unwrap_or_default();
            format!(
                "{:<8}  {:<27}  {:<20}  {}",
                event.seq,
                printable(&event.occurred_at),
                event.event_type,
                printable(name)
            )
        }
    }
}
