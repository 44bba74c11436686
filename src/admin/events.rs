//! Reading an instance's change feed (docs/events.md): a page after a cursor, optionally held
//! open until something arrives (the long poll, which the event stream repeats). Shared by the
//! events API and `scimd events`.

use super::{instance, AdminError};
use crate::store::tenancy::{instance_with_id, InstanceRecord};
use crate::store::Store;
use projections::feed::{events_after, FeedEvent, FeedQuery, EVENT_TYPES};
use std::time::Duration;
use tokio::time::Instant;

pub const DEFAULT_EVENTS_LIMIT: i64 = 100;
pub const MAX_EVENTS_LIMIT: i64 = 1000;
/// The longest a long poll holds a request.
pub const MAX_EVENTS_WAIT: Duration = Duration::from_secs(60);
/// How often a waiting reader looks at the store when this process's projector has not told
/// it of progress: another replica's projector may be the one writing the feed.
pub const FEED_POLL: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum FeedRequestError {
    #[error("{0:?} is not a cursor (the decimal `cursor` of an event, or 0 for the first)")]
    Cursor(String),
    #[error("{0:?} is not an event type; the types are {types}", types = EVENT_TYPES.join(", "))]
    Type(String),
    #[error("{0:?} is not a limit: a whole number from 1 to {MAX_EVENTS_LIMIT}")]
    Limit(String),
    #[error("{0:?} is not a wait: a whole number of seconds from 0 to 60")]
    Wait(String),
}

/// A cursor as the API and the CLI take it: absent or empty means from the first event.
pub fn parse_cursor(text: Option<&str>) -> Result<i64, FeedRequestError> {
    match text.map(str::trim) {
        None | Some("") => Ok(0),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0 && text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| FeedRequestError::Cursor(text.to_string())),
    }
}

/// Event types, each a known one; several may come comma-separated in one text.
pub fn parse_types<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, FeedRequestError> {
    let mut types = Vec::new();
    for name in texts.into_iter().flat_map(|text| text.split(',')) {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        if !EVENT_TYPES.contains(&name) {
            return Err(FeedRequestError::Type(name.to_string()));
        }
        if !types.iter().any(|known| known == name) {
            types.push(name.to_string());
        }
    }
    Ok(types)
}

pub fn parse_limit(text: Option<&str>) -> Result<i64, FeedRequestError> {
    match text.map(str::trim) {
        None | Some("") => Ok(DEFAULT_EVENTS_LIMIT),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=MAX_EVENTS_LIMIT).contains(limit))
            .ok_or_else(|| FeedRequestError::Limit(text.to_string())),
    }
}

pub fn parse_wait(text: Option<&str>) -> Result<Duration, FeedRequestError> {
    match text.map(str::trim) {
        None | Some("") => Ok(Duration::ZERO),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
            .filter(|wait| *wait <= MAX_EVENTS_WAIT)
            .ok_or_else(|| FeedRequestError::Wait(text.to_string())),
    }
}

/// The instance an events request names, by id or by name.
pub async fn feed_instance(store: &Store, id_or_name: &str) -> Result<InstanceRecord, AdminError> {
    match instance_with_id(&store.db, id_or_name.trim()).await? {
        Some(found) => Ok(found),
        None => instance(store, id_or_name).await,
    }
}

/// The events of `query` now, or, if there are none, the first that arrive within `wait`
/// (none when it passes).
pub async fn wait_for_events(
    store: &Store,
    query: &FeedQuery,
    wait: Duration,
) -> Result<Vec<FeedEvent>, AdminError> {
    let deadline = Instant::now() + wait;
    let mut progress = store.projector.progress();
    loop {
        progress.borrow_and_update();
        let events = events_after(&store.db, query).await?;
        if !events.is_empty() || Instant::now() >= deadline {
            return Ok(events);
        }
        tokio::select! {
            _ = progress.changed() => {}
            _ = tokio::time::sleep(FEED_POLL) => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_non_negative_decimals() {
        assert_eq!(parse_cursor(None).ok(), Some(0));
        assert_eq!(parse_cursor(Some("")).ok(), Some(0));
        assert_eq!(parse_cursor(Some("42")).ok(), Some(42));
        for bad in ["-1", "+1", "abc", "1.5", "99999999999999999999"] {
            assert!(parse_cursor(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn types_are_known_ones_comma_separated_or_repeated() {
        assert_eq!(
            parse_types(["user.created,user.deleted", "user.created"]).ok(),
            Some(vec!["user.created".to_string(), "user.deleted".to_string()])
        );
        assert_eq!(parse_types([""]).ok(), Some(vec![]));
        assert!(matches!(
            parse_types(["user.created,user.exploded"]),
            Err(FeedRequestError::Type(name)) if name == "user.exploded"
        ));
    }

    #[test]
    fn limits_and_waits_are_bounded() {
        assert_eq!(parse_limit(None).ok(), Some(DEFAULT_EVENTS_LIMIT));
        assert_eq!(parse_limit(Some("1000")).ok(), Some(1000));
        assert!(parse_limit(Some("0")).is_err() && parse_limit(Some("1001")).is_err());
        assert_eq!(parse_wait(Some("60")).ok(), Some(MAX_EVENTS_WAIT));
        assert!(parse_wait(Some("61")).is_err() && parse_wait(Some("-1")).is_err());
        assert_eq!(parse_wait(None).ok(), Some(Duration::ZERO));
    }
}
