//! `crowsnest-load`: measures `crowsnest serve` under load. It starts the release server as a
//! child process (TLS with certificates generated for the run, a bearer token, the write-ahead
//! log in a temporary state directory, a file sink), posts realistic audit `EventList` batches
//! from the `gen` crate over HTTPS from concurrent clients, and prints sustained events/s,
//! events per server CPU second, request latency, refusals, alerts delivered and how long the
//! rule engine took to catch up after the last request.

#[path = "../load/client.rs"]
mod client;
#[path = "../load/corpus.rs"]
mod corpus;
#[path = "../load/pki.rs"]
mod pki;
#[path = "../load/report.rs"]
mod report;
#[path = "../load/server.rs"]
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

use crate::server::{CpuTime, Rules, Server};

/// Load-test `crowsnest serve`: realistic audit EventList batches over TLS with the WAL on.
///
/// The server is the release `crowsnest` binary found next to this one (build both with
/// `cargo build --release -p crowsnest -p bench`), started with a fresh state directory, a
/// certificate made for the run, a bearer token and a file sink. Every 200 means the batch was
/// fsynced to the write-ahead log. Server CPU is read from /proc/<pid>/stat, so "events per
/// server CPU second" is the per-core figure even when the load generator shares the machine.
#[derive(Parser, Debug)]
#[command(
    name = "crowsnest-load",
    after_help = "\
Examples:
  # 30 s with the bundled rules, 8 clients posting 400-event batches (the API server's default)
  crowsnest-load
  # ingest alone (TLS, validation, normalization, WAL): no rules
  crowsnest-load --no-rules --duration 20s
  # a rule directory, more clients, smaller batches
  crowsnest-load --rules ../shared/elastic-rules --clients 16 --batch 100
  # a fixed amount of work instead of a duration
  crowsnest-load --events 2000000 --crowsnest target/release/crowsnest"
)]
struct Args {
    /// How long to post (after the warm-up), e.g. 30s, 2m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Stop after posting this many events (warm-up included) even before --duration ends.
    #[arg(long, value_name = "N")]
    events: Option<u64>,
    /// Warm-up before the measurement starts (connections, caches, rule state).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Concurrent clients, each with its own connection.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Events per EventList batch (the API server's --audit-webhook-batch-max-size default is 400).
    #[arg(long, default_value_t = 400)]
    batch: usize,
    /// Rule files or directories for the server (repeatable). Default: the bundled rules.
    #[arg(long, value_name = "PATH", conflicts_with = "no_rules")]
    rules: Vec<PathBuf>,
    /// Run the server without rules: measures ingest alone.
    #[arg(long)]
    no_rules: bool,
    /// The crowsnest binary. Default: `crowsnest` next to this executable.
    #[arg(long, value_name = "PATH")]
    crowsnest: Option<PathBuf>,
    /// Distinct generated events, cycled (each cycle gets fresh auditIDs).
    #[arg(long, default_value_t = 60_000)]
    pool: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Negotiate HTTP/2 (as Go's client, the API server's, does over TLS) instead of HTTP/1.1.
    #[arg(long)]
    http2: bool,
    /// Bound of the server's write-ahead log, bytes (the server's default, 2 GiB, holds about
    /// 20 s at 100 MB/s; past it batches are refused with 429). The state directory is in the
    /// system temporary directory and removed at the end.
    #[arg(long, default_value_t = 16 << 30, value_name = "BYTES")]
    wal_max_bytes: u64,
    /// Longest wait for the rule engine to catch up after the last request.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    catch_up_timeout: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a duration like 30s, 500ms or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crowsnest-load: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crowsnest-load: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    if args.clients == 0 {
        bail!("--clients must be at least 1");
    }
    let bin = bench::hunt::locate_crowsnest(args.crowsnest.as_deref())?;
    let rules = if args.no_rules {
        Rules::None
    } else if args.rules.is_empty() {
        Rules::Bundled
    } else {
        Rules::Paths(args.rules.clone())
    };

    eprintln!("generating {} audit events ...", args.pool);
    let corpus = Arc::new(corpus::generate(args.pool, args.batch, args.seed)?);
    let scratch = tempfile::Builder::new()
        .prefix("crowsnest-load-")
        .tempdir()
        .context("creating the state directory")?;
    let pki = pki::Pki::generate(scratch.path())?;
    eprintln!("starting {} serve ...", bin.display());
    let server = Server::start(&bin, scratch.path(), &pki, &rules, args.wal_max_bytes).await?;

    let clients = (0..args.clients)
        .map(|_| server::client(&pki, args.http2))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let url = format!("{}/audit", server.base);
    let start = Instant::now();
    let plan = client::Plan {
        measure_from: start + args.warmup,
        until: start + args.warmup + args.duration,
        max_events: args.events,
    };
    eprintln!(
        "posting for {:?} (+{:?} warm-up) from {} clients ...",
        args.duration, args.warmup, args.clients
    );
    // Server-side baseline at the end of the warm-up.
    let load = tokio::spawn(client::run(clients, url, corpus.clone(), plan));
    tokio::time::sleep_until(plan.measure_from.into()).await;
    let base_cpu = server.cpu()?;
    let base_metrics = server.metrics().await?;
    let own_cpu = CpuTime::own();
    let outcome = load.await??;
    let posted_until = outcome.last_answer.unwrap_or_else(Instant::now);
    let measured_wall = posted_until.saturating_duration_since(plan.measure_from);

    // Wait for the engine to evaluate everything received.
    let deadline = Instant::now() + args.catch_up_timeout;
    let (caught_up, end_metrics) = loop {
        let m = server.metrics().await?;
        let done = m.events_evaluated.is_none_or(|e| e >= m.events_received);
        if done {
            break (Some(Instant::now().saturating_duration_since(posted_until)), m);
        }
        if Instant::now() > deadline {
            break (None, m);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let end_cpu = server.cpu()?;
    let load_cpu = CpuTime::own().since(&own_cpu);
    // Let alerts already raised reach the sink before counting them.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let final_metrics = server.metrics().await?;
    let alert_lines = std::fs::read(&server.alerts_file)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
        .unwrap_or(0);
    let log_tail = server.log_tail();
    server.stop()?;

    let r = report::Report {
        args: report::RunArgs {
            clients: args.clients,
            batch: args.batch,
            rules: match &rules {
                Rules::Bundled => "bundled".to_string(),
                Rules::None => "none (--no-rules)".to_string(),
                Rules::Paths(p) => p
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            http2: args.http2,
            pool_events: corpus.events,
            mean_event_bytes: corpus.bytes as f64 / corpus.events as f64,
        },
        outcome,
        measured_wall,
        server_cpu: end_cpu.since(&base_cpu),
        server_events: end_metrics
            .events_received
            .saturating_sub(base_metrics.events_received),
        caught_up,
        metrics: final_metrics,
        alert_lines,
        load_cpu,
    };
    r.print();
    if r.outcome.accepted_events == 0 {
        bail!(
            "no batch was accepted (first error: {}); server log:\n{log_tail}",
            r.outcome.first_error.as_deref().unwrap_or("none")
        );
    }
    Ok(())
}
