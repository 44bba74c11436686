//! `scimd verify` over the admin API, as a run in the background: it reads the whole event log,
//! which on a large store outlasts any request timeout (and a proxy's). `POST /verify` starts
//! a run (or joins the one under way) and `GET /verify` says how far it is, then its report,
//! so that the console can show progress. One run at a time per server; its outcome stays
//! until the next run starts.

use super::router::AppState;
use crate::admin::{self, views, VerifyStep};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/verify", get(status).post(start))
        .layer(Extension(VerifyRuns::default()))
}

/// This server's verification runs: the latest one, if any.
#[derive(Clone, Default)]
struct VerifyRuns(Arc<Mutex<Run>>);

#[derive(Default)]
enum Run {
    #[default]
    None,
    Running {
        events: i64,
        step: Option<VerifyStep>,
    },
    Done(Value),
    Failed(String),
}

impl VerifyRuns {
    fn lock(&self) -> MutexGuard<'_, Run> {
        // A panic while holding the lock leaves a run state that is still readable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, run: Run) {
        *self.lock() = run;
    }

    fn view(&self) -> Value {
        match &*self.lock() {
            Run::None => json!({"state": "none"}),
            Run::Running { events, step } => {
                let (stage, done) = match step {
                    None => ("starting", 0),
                    Some(VerifyStep::Copied(done)) => ("copying", *done),
                    Some(VerifyStep::Applied(done)) => ("rebuilding", *done),
                };
                json!({"state": "running", "stage": stage, "done": done, "events": events})
            }
            Run::Done(report) => json!({"state": "done", "report": report}),
            Run::Failed(error) => json!({"state": "failed", "error": error}),
        }
    }
}

/// The latest run: `none`, `running` (`stage`: starting, copying or rebuilding, `done` of
/// `events`), `done` with its `report` (as `scimd --json verify`), or `failed` with its `error`.
async fn status(Extension(runs): Extension<VerifyRuns>) -> Json<Value> {
    Json(runs.view())
}

/// Starts a run unless one is under way; 202 with its state either way.
async fn start(State(state): State<AppState>, Extension(runs): Extension<VerifyRuns>) -> Response {
    {
        let mut run = runs.lock();
        if !matches!(*run, Run::Running { .. }) {
            *run = Run::Running {
                events: 0,
                step: None,
            };
            let provisioning = state.provisioning.clone();
            let runs = runs.clone();
            tokio::spawn(async move {
                let store = provisioning.store();
                let started = Instant::now();
                let events = admin::event_count(store).await.unwrap_or(0);
                runs.set(Run::Running { events, step: None });
                let outcome = admin::verify(store, |step| {
                    runs.set(Run::Running {
                        events,
                        step: Some(step),
                    })
                })
                .await;
                runs.set(match outcome {
                    Ok(report) => {
                        let seconds = started.elapsed().as_secs_f64();
                        Run::Done(views::verify_report(&report, seconds))
                    }
                    Err(error) => {
                        tracing::error!(%error, "verifying the projections failed");
                        Run::Failed(error.to_string())
                    }
                });
            });
        }
    }
    (StatusCode::ACCEPTED, Json(runs.view())).into_response()
}
