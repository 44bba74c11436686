//! Running N timed jobs on C concurrent workers, with a progress bar on stderr (a line every
//! tenth when stderr is not a terminal), and what came of it: latencies by job, errors with
//! the first few descriptions, and each job's result. Knows nothing of SCIM.

use crate::client::Attempt;
use indicatif::{ProgressBar, ProgressStyle};
use std::future::Future;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many error descriptions a measurement keeps.
const ERROR_SAMPLES: usize = 5;

pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    total: AtomicU64,
    done: AtomicU64,
    tenths: AtomicU64,
    started: Instant,
}

impl Progress {
    pub fn new(label: &str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix:24} {bar:40} {pos}/{len} {per_sec} eta {eta} {msg}",
            ) {
                bar.set_style(style);
            }
            bar.set_prefix(label.to_string());
            bar
        });
        Self {
            label: label.to_string(),
            bar,
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            tenths: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    pub fn step(&self, failed: bool) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if failed {
                bar.set_message("(errors)");
            }
            return;
        }
        let total = self.total.load(Ordering::Relaxed).max(1);
        let tenths = done * 10 / total;
        if tenths > self.tenths.fetch_max(tenths, Ordering::Relaxed) {
            let seconds = self.started.elapsed().as_secs_f64();
            eprintln!(
                "{}: {done}/{total} in {seconds:.1} s ({:.0}/s)",
                self.label,
                done as f64 / seconds.max(1e-9)
            );
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What a measurement saw.
pub struct Measured<T> {
    pub elapsed: Duration,
    /// (job index, latency) of every job, in completion order.
    pub latencies: Vec<(usize, Duration)>,
    pub errors: usize,
    pub error_samples: Vec<String>,
    /// (job index, result) of every job that succeeded.
    pub results: Vec<(usize, T)>,
}

impl<T> Measured<T> {
    pub fn requests(&self) -> usize {
        self.latencies.len()
    }
}

struct Collected<T> {
    latencies: Vec<(usize, Duration)>,
    errors: usize,
    error_samples: Vec<String>,
    results: Vec<(usize, T)>,
}

/// Runs jobs `0..total`, each once, on `concurrency` workers that take the next index as
/// soon as they are free.
pub async fn run<T, F, Fut>(
    label: &str,
    concurrency: usize,
    total: usize,
    job: F,
) -> Result<Measured<T>, String>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Attempt<T>> + Send,
{
    let progress = Arc::new(Progress::new(label, total as u64));
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let collected = Arc::new(Mutex::new(Collected {
        latencies: Vec::with_capacity(total),
        errors: 0,
        error_samples: Vec::new(),
        results: Vec::with_capacity(total),
    }));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (progress, next, job) = (progress.clone(), next.clone(), job.clone());
        let collected = collected.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    return;
                }
                let attempt = job(index).await;
                progress.step(attempt.outcome.is_err());
                let Ok(mut collected) = collected.lock() else {
                    return;
                };
                collected.latencies.push((index, attempt.latency));
                match attempt.outcome {
                    Ok(result) => collected.results.push((index, result)),
                    Err(error) => {
                        collected.errors += 1;
                        if collected.error_samples.len() < ERROR_SAMPLES {
                            collected.error_samples.push(error);
                        }
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker
            .await
            .map_err(|error| format!("{label}: a worker stopped: {error}"))?;
    }
    let elapsed = started.elapsed();
    progress.finish();
    let collected = Arc::try_unwrap(collected)
        .map_err(|_| format!("{label}: workers still hold the results"))?
        .into_inner()
        .map_err(|_| format!("{label}: a worker panicked"))?;
    Ok(Measured {
        elapsed,
        latencies: collected.latencies,
        errors: collected.errors,
        error_samples: collected.error_samples,
        results: collected.results,
    })
}

/// Latency summary in milliseconds: p50, p99 and mean (nearest rank; zeros when empty).
pub fn summary(latencies: impl IntoIterator<Item = Duration>) -> (f64, f64, f64) {
    let mut millis: Vec<f64> = latencies
        .into_iter()
        .map(|latency| latency.as_secs_f64() * 1000.0)
        .collect();
    if millis.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    millis.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p * millis.len() as f64).ceil() as usize).clamp(1, millis.len()) - 1;
        millis[index]
    };
    let mean = millis.iter().sum::<f64>() / millis.len() as f64;
    (rank(0.50), rank(0.99), mean)
}
