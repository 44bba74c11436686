//! SCIM writes at a steady rate: one `POST /Users` (one `user.created` in the feed) every
//! 1/rate seconds for the whole period, each sent at its scheduled time whatever the ones
//! before it are doing, up to a bound on requests in flight (past it, the schedule slips, and
//! the achieved rate says so).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The most requests in flight at once.
const IN_FLIGHT: usize = 256;

pub struct Written {
    /// When each created user's SCIM response came back, by user id.
    pub answered: HashMap<String, Instant>,
    pub started: Instant,
    pub finished: Instant,
    pub failed: usize,
    /// Requests that went out later than scheduled because too many were in flight.
    pub late: usize,
}

pub async fn run(
    base: &str,
    token: &str,
    run_id: &str,
    rate: u32,
    period: Duration,
) -> Result<Written, String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
    let total = (rate as f64 * period.as_secs_f64()).round() as usize;
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let started = Instant::now();
    let mut late = 0;
    let mut requests = Vec::with_capacity(total);
    for n in 0..total {
        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                late += 1;
                Arc::clone(&slots)
                    .acquire_owned()
                    .await
                    .map_err(|error| format!("the request slots closed: {error}"))?
            }
        };
        let request = client
            .post(format!("{base}/Users"))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(
                serde_json::json!({
                    "userName": format!("{run_id}-{n}@bench.example"),
                    "active": true,
                })
                .to_string(),
            );
        requests.push(tokio::spawn(async move {
            let answer = create(request).await;
            drop(permit);
            answer
        }));
    }
    let mut answered = HashMap::with_capacity(total);
    let mut failed = 0;
    for request in requests {
        match request.await {
            Ok(Ok((id, at))) => {
                answered.insert(id, at);
            }
            Ok(Err(error)) => {
                failed += 1;
                if failed <= 5 {
                    eprintln!("a write failed: {error}");
                }
            }
            Err(error) => return Err(format!("a request task failed: {error}")),
        }
    }
    Ok(Written {
        answered,
        started,
        finished: Instant::now(),
        failed,
        late,
    })
}

/// The created user's id and when the answer came back.
async fn create(request: reqwest::RequestBuilder) -> Result<(String, Instant), String> {
    let response = request.send().await.map_err(|error| error.to_string())?;
    let at = Instant::now();
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|error| error.to_string())?;
    if status.as_u16() != 201 {
        return Err(format!("{status}: {body}"));
    }
    let id = body["id"].as_str().ok_or("no id in the answer")?;
    Ok((id.to_string(), at))
}
