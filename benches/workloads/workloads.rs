//! The five workloads of issue 6, each one measured run against a running scimd, and the floor
//! under them (W0, a request that reads no resource): W1 creates,
//! W2 `userName eq` lookups, W3 deactivations and attribute changes, W4 a group growing by
//! batches of 100 members, W5 walks of every user by index and by cursor.

use crate::client::{encode, Attempt, Scim};
use crate::documents;
use crate::measure::{run, summary, Measured, Progress};
use crate::report::{millis, round, GroupSize, Row, Walk};
use reqwest::Method;
use std::sync::Arc;
use std::time::Instant;

/// A user the bench may look up, change or add to a group.
pub struct Known {
    pub id: String,
    pub user_name: String,
}

/// Share of W2 lookups for a userName that does not exist (an IdP's lookup before a create).
const MISS_EVERY: u64 = 10;
/// Group sizes at which W4 reports the latency of a batch.
const GROUP_MARKS: [usize; 3] = [1_000, 10_000, 100_000];
/// Batches averaged at each mark, and pages averaged at each end of a walk.
const WINDOW: usize = 10;
const BATCH: usize = 100;
const PAGE: usize = 100;

/// W1: creates users `first..first + count` of the run.
pub async fn create(
    scim: &Scim,
    run_id: &str,
    label: &str,
    first: usize,
    count: usize,
    concurrency: usize,
) -> Result<(Row, Vec<Known>), String> {
    let (scim, run_id_owned) = (scim.clone(), run_id.to_string());
    let measured = run(label, concurrency, count, move |job| {
        let (scim, run_id) = (scim.clone(), run_id_owned.clone());
        async move {
            let index = first + job;
            let attempt = scim
                .call(
                    Method::POST,
                    "/Users",
                    Some(&documents::user(&run_id, index)),
                )
                .await;
            attempt.and_then(|created| {
                let id = created["id"]
                    .as_str()
                    .ok_or_else(|| format!("POST /Users answered without an id: {created}"))?;
                Ok(Known {
                    id: id.to_string(),
                    user_name: documents::user_name(&run_id, index),
                })
            })
        }
    })
    .await?;
    let row = Row::new("W1 create user", concurrency, &measured);
    let mut results = measured.results;
    results.sort_by_key(|(index, _)| *index);
    Ok((row, results.into_iter().map(|(_, known)| known).collect()))
}

/// Every user of the instance (id and userName), read by cursor pages of 1,000.
pub async fn existing(scim: &Scim, total: u64) -> Result<Vec<Known>, String> {
    let progress = Progress::new("reading existing users", total.div_ceil(1000));
    let mut users = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut cursor = String::new();
    loop {
        let path = format!(
            "/Users?attributes=userName&count=1000&cursor={}",
            encode(&cursor)
        );
        let page = scim.call(Method::GET, &path, None).await.outcome?;
        progress.step(false);
        for user in page["Resources"].as_array().into_iter().flatten() {
            if let (Some(id), Some(name)) = (user["id"].as_str(), user["userName"].as_str()) {
                users.push(Known {
                    id: id.to_string(),
                    user_name: name.to_string(),
                });
            }
        }
        match page["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = next.to_string(),
            _ => break,
        }
    }
    progress.finish();
    Ok(users)
}

/// A well-mixed number from a seed and a job index (splitmix64), so that jobs pick users at
/// random without a shared generator.
fn pick(seed: u64, job: usize) -> u64 {
    let mut z = seed.wrapping_add((job as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// W2: `userName eq` lookups of random known users, and one in ten of a userName that does
/// not exist; a hit must find exactly one user and a miss none.
pub async fn lookup(
    scim: &Scim,
    users: &Arc<Vec<Known>>,
    run_id: &str,
    requests: usize,
    concurrency: usize,
    seed: u64,
) -> Result<Row, String> {
    let (scim, users, run_id) = (scim.clone(), users.clone(), run_id.to_string());
    let label = format!("W2 lookup c{concurrency}");
    let measured = run(&label, concurrency, requests, move |job| {
        let (scim, users) = (scim.clone(), users.clone());
        let random = pick(seed, job);
        let (name, expected) = if random % MISS_EVERY == 0 || users.is_empty() {
            (format!("{run_id}-missing-{job}@bench.example"), 0)
        } else {
            let index = (random / MISS_EVERY) as usize % users.len();
            (users[index].user_name.clone(), 1)
        };
        async move {
            let path = documents::lookup(&name);
            scim.call(Method::GET, &path, None).await.and_then(|page| {
                match page["totalResults"].as_u64() {
                    Some(found) if found == expected => Ok(()),
                    found => Err(format!(
                        "GET {path}: totalResults {found:?}, expected {expected}"
                    )),
                }
            })
        }
    })
    .await?;
    Ok(Row::new("W2 userName eq", concurrency, &measured))
}

/// W0: `GET /ServiceProviderConfig`, a request that reads no resource: what HTTP, the key, the
/// provisioning log and this client cost on their own, the floor under every other workload.
pub async fn floor(scim: &Scim, requests: usize, concurrency: usize) -> Result<Row, String> {
    let scim = scim.clone();
    let label = format!("W0 floor c{concurrency}");
    let measured = run(&label, concurrency, requests, move |_| {
        let scim = scim.clone();
        async move {
            scim.call(Method::GET, "/ServiceProviderConfig", None)
                .await
                .and_then(|config| match config["patch"]["supported"].as_bool() {
                    Some(_) => Ok(()),
                    None => Err(format!("ServiceProviderConfig without patch: {config}")),
                })
        }
    })
    .await?;
    Ok(Row::new("W0 no resource", concurrency, &measured))
}

/// W3: on random known users, alternately a deactivation (`active` false) and a change of
/// title and enterprise department.
pub async fn patch(
    scim: &Scim,
    users: &Arc<Vec<Known>>,
    requests: usize,
    concurrency: usize,
    seed: u64,
) -> Result<Row, String> {
    if users.is_empty() {
        return Err("W3 needs users: run W1 or ask for --users".to_string());
    }
    let (scim, users) = (scim.clone(), users.clone());
    let label = format!("W3 patch c{concurrency}");
    let measured = run(&label, concurrency, requests, move |job| {
        let (scim, users) = (scim.clone(), users.clone());
        let user = &users[pick(seed, job) as usize % users.len()];
        let path = format!("/Users/{}", user.id);
        let body = if job % 2 == 0 {
            documents::deactivation()
        } else {
            documents::attribute_change(job)
        };
        async move {
            scim.call(Method::PATCH, &path, Some(&body))
                .await
                .and_then(|_| Ok(()))
        }
    })
    .await?;
    Ok(Row::new("W3 patch user", concurrency, &measured))
}

/// W4: a new group, and PATCHes adding `members` known users to it by batches of 100,
/// `concurrency` at a time; the latency of a batch when the group reaches each mark.
pub async fn group(
    scim: &Scim,
    users: &Arc<Vec<Known>>,
    run_id: &str,
    members: usize,
    concurrency: usize,
    exclude_members: bool,
) -> Result<Row, String> {
    let name = format!("{run_id} W4 c{concurrency}");
    let created = scim
        .call(Method::POST, "/Groups", Some(&documents::group(&name)))
        .await
        .outcome?;
    let group_id = created["id"]
        .as_str()
        .ok_or_else(|| format!("POST /Groups answered without an id: {created}"))?
        .to_string();
    let members = members.min(users.len());
    let batches = members.div_ceil(BATCH);
    let suffix = if exclude_members {
        "?excludedAttributes=members"
    } else {
        ""
    };
    let path = Arc::new(format!("/Groups/{group_id}{suffix}"));
    let (scim, users) = (scim.clone(), users.clone());
    let label = format!("W4 group c{concurrency}");
    let measured = run(&label, concurrency, batches, move |batch| {
        let (scim, users, path) = (scim.clone(), users.clone(), path.clone());
        let end = ((batch + 1) * BATCH).min(members);
        let body =
            documents::members_added(users[batch * BATCH..end].iter().map(|u| u.id.as_str()));
        async move {
            scim.call(Method::PATCH, &path, Some(&body))
                .await
                .and_then(|_| Ok(()))
        }
    })
    .await?;
    let mut row = Row::new("W4 add 100 members", concurrency, &measured);
    row.group_sizes = group_sizes(&measured, members);
    Ok(row)
}

/// The mean and median latency of the `WINDOW` batches that brought the group to each mark
/// (and to its final size).
fn group_sizes(measured: &Measured<()>, members: usize) -> Vec<GroupSize> {
    let mut marks: Vec<usize> = GROUP_MARKS.into_iter().filter(|m| *m <= members).collect();
    if marks.last() != Some(&members) && members > 0 {
        marks.push(members);
    }
    marks
        .into_iter()
        .map(|mark| {
            let last = mark.div_ceil(BATCH);
            let first = last.saturating_sub(WINDOW);
            let window: Vec<_> = measured
                .latencies
                .iter()
                .filter(|(batch, _)| (first..last).contains(batch))
                .map(|(_, latency)| *latency)
                .collect();
            let (p50, _, mean) = summary(window.iter().copied());
            GroupSize {
                members: mark,
                batches: window.len(),
                mean_ms: round(mean, 2),
                p50_ms: round(p50, 2),
            }
        })
        .collect()
}

/// How W5 reads on from one page to the next.
#[derive(Clone, Copy)]
pub enum Paging {
    Index,
    Cursor,
}

/// W5: one walk over every user of the instance by pages of 100, as an IdP's full
/// synchronisation reads them: one page after the other.
pub async fn walk(scim: &Scim, paging: Paging, total: u64) -> Result<Row, String> {
    let (workload, label) = match paging {
        Paging::Index => ("W5 walk startIndex", "W5 walk by index"),
        Paging::Cursor => ("W5 walk cursor", "W5 walk by cursor"),
    };
    let progress = Progress::new(label, total.div_ceil(PAGE as u64).max(1));
    let mut measured = Measured {
        elapsed: Default::default(),
        latencies: Vec::new(),
        errors: 0,
        error_samples: Vec::new(),
        results: Vec::<(usize, ())>::new(),
    };
    let mut resources = 0u64;
    let mut start_index = 1u64;
    let mut cursor = String::new();
    let started = Instant::now();
    loop {
        let page_number = measured.latencies.len();
        let path = match paging {
            Paging::Index => format!("/Users?startIndex={start_index}&count={PAGE}"),
            Paging::Cursor => format!("/Users?count={PAGE}&cursor={}", encode(&cursor)),
        };
        let Attempt { latency, outcome } = scim.call(Method::GET, &path, None).await;
        measured.latencies.push((page_number, latency));
        progress.step(outcome.is_err());
        let page = match outcome {
            Ok(page) => page,
            Err(error) => {
                measured.errors += 1;
                measured.error_samples.push(error);
                // A cursor walk cannot go on without the page's nextCursor; an index walk
                // could, but a failing server would make it long: both stop here.
                break;
            }
        };
        let count = page["Resources"].as_array().map_or(0, Vec::len) as u64;
        resources += count;
        if let Some(total) = page["totalResults"].as_u64() {
            progress.set_total(total.div_ceil(PAGE as u64).max(1));
        }
        let more = match paging {
            Paging::Index => {
                start_index += PAGE as u64;
                count > 0 && start_index <= page["totalResults"].as_u64().unwrap_or(0)
            }
            Paging::Cursor => match page["nextCursor"].as_str() {
                Some(next) if !next.is_empty() => {
                    cursor = next.to_string();
                    true
                }
                _ => false,
            },
        };
        if !more {
            break;
        }
    }
    measured.elapsed = started.elapsed();
    progress.finish();
    let pages: Vec<_> = measured.latencies.iter().map(|(_, l)| *l).collect();
    let mut row = Row::new(workload, 1, &measured);
    row.walk = Some(Walk {
        resources,
        pages: pages.len(),
        first_pages_ms: round(millis(&pages[..pages.len().min(WINDOW)]), 2),
        last_pages_ms: round(millis(&pages[pages.len().saturating_sub(WINDOW)..]), 2),
    });
    Ok(row)
}
