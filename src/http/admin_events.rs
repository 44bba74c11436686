//! The events API (docs/events.md): an instance's change feed after a cursor, as pages with an
//! optional long poll, or as a Server-Sent Events stream that a client resumes with
//! `Last-Event-ID`. Both are held open far longer than other admin requests, so they sit
//! outside the admin request timeout (they read no body), behind the admin credential.

use super::admin::{AdminFailure, Reply};
use super::router::AppState;
use crate::admin::{
    feed_instance, parse_cursor, parse_limit, parse_types, parse_wait, wait_for_events, AdminError,
    FeedRequestError, MAX_EVENTS_LIMIT,
};
use crate::store::Store;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use projections::feed::{FeedEvent, FeedQuery};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/instances/{instance}/events", get(events))
        .route("/instances/{instance}/events/stream", get(event_stream))
}

/// Query parameters, in order and possibly repeated (`types` may be).
type Params = Vec<(String, String)>;

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn types(params: &Params) -> Result<Vec<String>, FeedRequestError> {
    parse_types(
        params
            .iter()
            .filter(|(key, _)| key == "types")
            .map(|(_, value)| value.as_str()),
    )
}

/// `{"events": [document, …], "next": cursor}`; with `wait`, held until an event arrives or
/// the wait is over.
async fn events(
    State(state): State<AppState>,
    Path(instance): Path<String>,
    Query(params): Query<Params>,
) -> Reply {
    let store = state.provisioning.store();
    let after = parse_cursor(param(&params, "after")).map_err(AdminError::from)?;
    let types = types(&params).map_err(AdminError::from)?;
    let limit = parse_limit(param(&params, "limit")).map_err(AdminError::from)?;
    let wait = parse_wait(param(&params, "wait")).map_err(AdminError::from)?;
    let instance = feed_instance(store, &instance).await?;
    let query = FeedQuery {
        instance_id: instance.id,
        after,
        types,
        limit,
    };
    let mut stopping = state.stopping.clone();
    let events = tokio::select! {
        events = wait_for_events(store, &query, wait) => events?,
        _ = stopping.wait_for(|stopping| *stopping) => Vec::new(),
    };
    let next = events.last().map_or(after, |event| event.seq);
    let documents: Vec<Value> = events.iter().map(document).collect();
    Ok(Json(json!({"events": documents, "next": next.to_string()})))
}

/// The stored document, as it was published (it is always JSON; a row that is not would be
/// someone else's, and is passed on as a string rather than dropped).
fn document(event: &FeedEvent) -> Value {
    serde_json::from_str(&event.document).unwrap_or_else(|_| Value::String(event.document.clone()))
}

/// How long one read of the stream waits before it looks again; the keep-alive comments go
/// out meanwhile.
const STREAM_WAIT: Duration = Duration::from_secs(30);

/// `text/event-stream`: each event as `id: <cursor>`, `event: <type>`, `data: <document>`,
/// from `after` or the `Last-Event-ID` a reconnecting client sends.
async fn event_stream(
    State(state): State<AppState>,
    Path(instance): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, AdminFailure> {
    let store = Arc::clone(state.provisioning.store_arc());
    let last_event_id = headers
        .get("last-event-id")
        .map(|value| value.to_str().unwrap_or("invalid"));
    let after =
        parse_cursor(last_event_id.or(param(&params, "after"))).map_err(AdminError::from)?;
    let types = types(&params).map_err(AdminError::from)?;
    let instance = feed_instance(&store, &instance).await?;
    let query = FeedQuery {
        instance_id: instance.id,
        after,
        types,
        limit: MAX_EVENTS_LIMIT,
    };
    let sse =
        Sse::new(follow(store, query, state.stopping.clone())).keep_alive(KeepAlive::default());
    Ok(sse.into_response())
}

/// Every event of `query` from its cursor on, as long as the client listens; ends if the
/// store fails or the server shuts down (the client reconnects with `Last-Event-ID`).
fn follow(
    store: Arc<Store>,
    query: FeedQuery,
    stopping: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let pending: VecDeque<FeedEvent> = VecDeque::new();
    stream::unfold(
        (store, query, pending, stopping),
        |(store, mut query, mut pending, mut stopping)| async move {
            loop {
                if let Some(event) = pending.pop_front() {
                    let sent = Event::default()
                        .id(event.seq.to_string())
                        .event(event.event_type.as_str())
                        .data(event.document.as_str());
                    return Some((Ok(sent), (store, query, pending, stopping)));
                }
                let read = tokio::select! {
                    read = wait_for_events(&store, &query, STREAM_WAIT) => read,
                    _ = stopping.wait_for(|stopping| *stopping) => return None,
                };
                match read {
                    Ok(events) => {
                        if let Some(last) = events.last() {
                            query.after = last.seq;
                        }
                        pending.extend(events);
                    }
                    Err(error) => {
                        tracing::error!(%error, "the event stream could not read the feed");
                        return None;
                    }
                }
            }
        },
    )
}

impl From<FeedRequestError> for AdminFailure {
    fn from(error: FeedRequestError) -> Self {
        AdminError::from(error).into()
    }
}
