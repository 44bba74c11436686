//! SCIM writes at a steady event rate, each request sent at its scheduled time whatever the
//! ones before it are doing, up to a bound on requests in flight (past it, the schedule slips,
//! and the achieved rate says so). Two shapes: one `POST /Users` per event (`user.created`), or
//! `PATCH /Groups/{id}` adding `per_request` users at a time (one `group.member_added` each),
//! which reaches a given event rate with fewer, cheaper requests.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The most requests in flight at once.
const IN_FLIGHT: usize = 256;
/// Users the member-adding shape spreads its additions over; groups are added as needed.
const MEMBER_POOL: usize = 500;

pub struct Written {
    /// When the SCIM response that published each expected event came back, by `event_key`.
    pub answered: HashMap<String, Instant>,
    pub requests: usize,
    pub started: Instant,
    pub finished: Instant,
    pub failed: usize,
    /// Requests that went out later than scheduled because too many were in flight.
    pub late: usize,
}

/// What a delivered event is matched to its write by: the created user's id, or the group's
/// and the member's for a member added.
pub fn event_key(resource_id: &str, member_id: Option<&str>) -> String {
    match member_id {
        Some(member) => format!("{resource_id}/{member}"),
        None => resource_id.to_string(),
    }
}

/// The writes of one run.
pub enum Shape {
    Creates,
    /// Fresh members added to `groups` in blocks of `per_request` of `users`.
    Members {
        per_request: usize,
        groups: Vec<String>,
        users: Vec<String>,
    },
}

impl Shape {
    /// Users and groups for `events` member additions of `per_request` at a time, created
    /// before the measured run (and before the endpoint, which starts at the feed's end).
    pub async fn members(
        client: &Scim,
        run_id: &str,
        events: usize,
        per_request: usize,
    ) -> Result<Self, String> {
        let mut users = Vec::with_capacity(MEMBER_POOL);
        for n in 0..MEMBER_POOL {
            let body = json!({"userName": format!("{run_id}-m{n}@bench.example")});
            users.push(client.create("Users", body).await?);
        }
        let mut groups = Vec::new();
        for n in 0..events.div_ceil(MEMBER_POOL) {
            let body = json!({"displayName": format!("{run_id}-g{n}")});
            groups.push(client.create("Groups", body).await?);
        }
        Ok(Self::Members {
            per_request,
            groups,
            users,
        })
    }

    fn events_per_request(&self) -> usize {
        match self {
            Self::Creates => 1,
            Self::Members { per_request, .. } => *per_request,
        }
    }

    /// Request `n` of the run, and the keys of the events it publishes (`None`: the id the
    /// answer gives).
    fn request(
        &self,
        client: &Scim,
        run_id: &str,
        n: usize,
    ) -> (reqwest::RequestBuilder, Option<Vec<String>>) {
        match self {
            Self::Creates => {
                let body =
                    json!({"userName": format!("{run_id}-{n}@bench.example"), "active": true});
                (client.post("Users", &body), None)
            }
            Self::Members {
                per_request,
                groups,
                users,
            } => {
                // Neighbouring requests go to different groups, so that they do not contend
                // for one group's next version.
                let group = &groups[n % groups.len()];
                let block = (n / groups.len()) * per_request;
                let members: Vec<&String> = users
                    .iter()
                    .cycle()
                    .skip(block)
                    .take(*per_request)
                    .collect();
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{
                        "op": "add",
                        "path": "members",
                        "value": members.iter().map(|id| json!({"value": id})).collect::<Vec<_>>(),
                    }],
                });
                let keys = members
                    .iter()
                    .map(|id| event_key(group, Some(id)))
                    .collect();
                let request = client
                    .http
                    .patch(format!(
                        "{}/Groups/{group}?excludedAttributes=members",
                        client.base
                    ))
                    .bearer_auth(&client.token)
                    .header("content-type", "application/scim+json")
                    .body(body.to_string());
                (request, Some(keys))
            }
        }
    }
}

/// A SCIM client of the bench's instance.
pub struct Scim {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Scim {
    pub fn new(base: &str, token: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(IN_FLIGHT)
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        Ok(Self {
            http,
            base: base.to_string(),
            token: token.to_string(),
        })
    }

    fn post(&self, endpoint: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/{endpoint}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
    }

    /// Creates a resource; its id.
    async fn create(&self, endpoint: &str, body: Value) -> Result<String, String> {
        send(self.post(endpoint, &body), None)
            .await
            .map(|(mut keys, _)| keys.remove(0))
    }
}

pub async fn run(
    client: &Scim,
    shape: &Shape,
    run_id: &str,
    rate: u32,
    period: Duration,
) -> Result<Written, String> {
    let per_request = shape.events_per_request();
    let request_rate = rate as f64 / per_request as f64;
    let total = (request_rate * period.as_secs_f64()).round() as usize;
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let started = Instant::now();
    let mut late = 0;
    let mut requests = Vec::with_capacity(total);
    for n in 0..total {
        let due = started + Duration::from_secs_f64(n as f64 / request_rate);
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
        let (request, keys) = shape.request(client, run_id, n);
        requests.push(tokio::spawn(async move {
            let answer = send(request, keys).await;
            drop(permit);
            answer
        }));
    }
    let mut answered = HashMap::with_capacity(total * per_request);
    let mut failed = 0;
    for request in requests {
        match request.await {
            Ok(Ok((keys, at))) => answered.extend(keys.into_iter().map(|key| (key, at))),
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
        requests: total,
        started,
        finished: Instant::now(),
        failed,
        late,
    })
}

/// Sends one write; the keys of the events it published (`keys`, or else the id the answer
/// names) and when the answer came back.
async fn send(
    request: reqwest::RequestBuilder,
    keys: Option<Vec<String>>,
) -> Result<(Vec<String>, Instant), String> {
    let response = request.send().await.map_err(|error| error.to_string())?;
    let at = Instant::now();
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(format!("{status}: {body}"));
    }
    match keys {
        Some(keys) => Ok((keys, at)),
        None => {
            let body: Value = response.json().await.map_err(|error| error.to_string())?;
            let id = body["id"].as_str().ok_or("no id in the answer")?;
            Ok((vec![id.to_string()], at))
        }
    }
}
