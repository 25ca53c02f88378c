//! The posting clients: each takes the next batch of the pool (shared counter), posts it as
//! the webhook backend does (`POST /audit`, `application/json`, bearer token), and records the
//! request latency and outcome. Clients stop at the deadline or once the event budget is
//! spent; requests finished before the warm-up ends are counted apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::corpus::Corpus;
use super::server::TOKEN;

/// When the clients stop.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Start of the measured part (end of the warm-up).
    pub measure_from: Instant,
    /// No request starts after this.
    pub until: Instant,
    /// No request starts once this many events were taken (warm-up included).
    pub max_events: Option<u64>,
}

/// What the clients saw (measured part only, except `warmup_events`).
#[derive(Debug, Default)]
pub struct Outcome {
    /// Events in batches answered 200.
    pub accepted_events: u64,
    pub accepted_batches: u64,
    pub accepted_bytes: u64,
    /// Events accepted during the warm-up (not in the figures).
    pub warmup_events: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Other non-200 answers, by status.
    pub refused: Vec<(u16, u64)>,
    /// Requests that failed without an answer.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Latency of every measured request (answered or not).
    pub latencies: Vec<Duration>,
    /// When the last answer arrived.
    pub last_answer: Option<Instant>,
}

impl Outcome {
    fn merge(&mut self, o: Outcome) {
        self.accepted_events += o.accepted_events;
        self.accepted_batches += o.accepted_batches;
        self.accepted_bytes += o.accepted_bytes;
        self.warmup_events += o.warmup_events;
        self.throttled += o.throttled;
        for (s, n) in o.refused {
            match self.refused.iter_mut().find(|(t, _)| *t == s) {
                Some((_, m)) => *m += n,
                None => self.refused.push((s, n)),
            }
        }
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
        self.latencies.extend(o.latencies);
        self.last_answer = self.last_answer.max(o.last_answer);
    }

    /// The `q`-quantile of the request latencies (nearest rank).
    pub fn latency_quantile(&self, q: f64) -> Option<Duration> {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        if l.is_empty() {
            return None;
        }
        let rank = ((q * l.len() as f64).ceil() as usize).clamp(1, l.len());
        Some(l[rank - 1])
    }
}

/// Runs `clients` concurrent posters against `url` following `plan`.
pub async fn run(
    clients: Vec<reqwest::Client>,
    url: String,
    corpus: Arc<Corpus>,
    plan: Plan,
) -> anyhow::Result<Outcome> {
    let next = Arc::new(AtomicU64::new(0));
    let taken = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for client in clients {
        let (url, corpus, next, taken) = (url.clone(), corpus.clone(), next.clone(), taken.clone());
        tasks.push(tokio::spawn(async move {
            poster(client, url, corpus, next, taken, plan).await
        }));
    }
    let mut total = Outcome::default();
    for t in tasks {
        total.merge(t.await?);
    }
    Ok(total)
}

async fn poster(
    client: reqwest::Client,
    url: String,
    corpus: Arc<Corpus>,
    next: Arc<AtomicU64>,
    taken: Arc<AtomicU64>,
    plan: Plan,
) -> Outcome {
    let mut out = Outcome::default();
    let pool = corpus.batches.len() as u64;
    loop {
        if Instant::now() >= plan.until {
            break;
        }
        let seq = next.fetch_add(1, Ordering::Relaxed);
        let batch = &corpus.batches[(seq % pool) as usize];
        if let Some(max) = plan.max_events
            && taken.fetch_add(batch.events as u64, Ordering::Relaxed) >= max
        {
            break;
        }
        let body = batch.body_for_cycle(seq / pool);
        let bytes = body.len() as u64;
        let start = Instant::now();
        let res = client
            .post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let status = match res {
            Ok(r) => {
                let s = r.status().as_u16();
                // Read the (small) answer so the connection is reused.
                let _ = r.bytes().await;
                Some(s)
            }
            Err(e) => {
                if out.first_error.is_none() {
                    out.first_error = Some(e.to_string());
                }
                None
            }
        };
        let end = Instant::now();
        out.last_answer = Some(end);
        if start < plan.measure_from {
            if status == Some(200) {
                out.warmup_events += batch.events as u64;
            }
            continue;
        }
        out.latencies.push(end - start);
        match status {
            Some(200) => {
                out.accepted_events += batch.events as u64;
                out.accepted_batches += 1;
                out.accepted_bytes += bytes;
            }
            Some(429) => {
                out.throttled += 1;
                // The webhook backend backs off before retrying.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Some(s) => match out.refused.iter_mut().find(|(t, _)| *t == s) {
                Some((_, n)) => *n += 1,
                None => out.refused.push((s, 1)),
            },
            None => {
                out.errors += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    out
}
