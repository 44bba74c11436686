//! `/healthz` and `/readyz`, for orchestrators and load balancers; no key needed.
//!
//! Healthy: the process answers. Ready: the store answers and the read model applies
//! everything committed so far within `READY_WITHIN`, so that a request sent here now is not
//! answered from a read model stuck in the past (after a start on a large log, or while the
//! projector cannot write).

use super::router::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use projections::event_log;
use serde_json::{json, Value};
use std::time::Duration;

/// How long the read model may take to reach what is committed before scimd reports itself
/// not ready: a projector batch under load takes milliseconds.
const READY_WITHIN: Duration = Duration::from_secs(2);

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = state.provisioning.store();
    let head = match event_log::head(&store.db).await {
        Ok(head) => head,
        Err(error) => {
            tracing::warn!(%error, "not ready: the store does not answer");
            return not_ready("the store does not answer");
        }
    };
    match tokio::time::timeout(READY_WITHIN, store.projector.wait_for(head)).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: the read model is behind");
            not_ready("the read model is behind the event log")
        }
        Err(_) => {
            tracing::warn!(%head, "not ready: the read model is behind");
            not_ready("the read model is behind the event log")
        }
    }
}

fn not_ready(reason: &str) -> (StatusCode, Json<Value>) {
    let body = json!({"status": "not ready", "reason": reason});
    (StatusCode::SERVICE_UNAVAILABLE, Json(body))
}
