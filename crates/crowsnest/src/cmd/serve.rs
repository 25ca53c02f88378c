//! `crowsnest serve`: live detection. The `serve` crate receives, logs durably and schedules;
//! this module supplies it the rule engine (the hunt engine, advanced by the wall clock) and the
//! normalization of received events (the `sources` crate).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use compact_str::CompactString;
use events::{Document, Map};
use runtime::{Hunt, HuntOptions};
use serve::{Detector, Normalizer, ServeConfig};

use super::CmdResult;
use super::rules::{load_rules, rule_reading};
use crate::input::TimeMode;

/// Run the rules live: receive the API server's audit webhook and process events, keep them in a
/// write-ahead log, evaluate every rule on its schedule and deliver each alert once.
///
/// Configuration comes from a TOML file (`--config`); the flags below override it. Point the
/// kube-apiserver at it with `--audit-webhook-config-file` (a kubeconfig whose server is
/// `https://HOST:PORT/audit`). Process events (Defend for Containers, Falco, Tetragon ndjson)
/// are POSTed to `/process`. `/healthz`, `/readyz` and `/metrics` serve operations.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  crowsnest serve --config /etc/crowsnest/crowsnest.toml
  crowsnest serve --check-config --config crowsnest.toml
  crowsnest serve --insecure --allow-unauthenticated --listen 127.0.0.1:8443 --follow audit.log

A minimal crowsnest.toml:
  listen = \"0.0.0.0:8443\"
  bearer_token_file = \"/etc/crowsnest/tokens\"
  [tls]
  cert = \"/etc/crowsnest/tls.crt\"
  key = \"/etc/crowsnest/tls.key\"
  client_ca = \"/etc/kubernetes/pki/ca.crt\"
  [wal]
  dir = \"/var/lib/crowsnest\"
  [[sinks]]
  type = \"stdout\"")]
pub struct Args {
    /// Configuration file (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// Validate the configuration and the rules, print the result and exit.
    #[arg(long)]
    check_config: bool,
    /// Rule files or directories (repeatable). Default: the bundled rules.
    #[arg(long = "rules", short = 'r', value_name = "PATH", conflicts_with = "no_rules")]
    rules: Vec<PathBuf>,
    /// Run no rules: receive, validate, normalize and log events durably, raise no alert (to
    /// measure ingest alone, or to fill the write-ahead log before rules are chosen).
    #[arg(long)]
    no_rules: bool,
    /// Address to listen on, host:port.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Serve plain HTTP without TLS (local trials only).
    #[arg(long)]
    insecure: bool,
    /// Accept requests with neither a client certificate nor a bearer token (local trials only).
    #[arg(long)]
    allow_unauthenticated: bool,
    /// TLS certificate (PEM).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// CA bundle client certificates must chain to (enables mTLS).
    #[arg(long, value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// File of accepted bearer tokens, one per line.
    #[arg(long, value_name = "FILE")]
    bearer_token_file: Option<PathBuf>,
    /// Directory of the write-ahead log and delivery records.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Tail this audit log file (repeatable); survives rotation, resumes after restart.
    #[arg(long, value_name = "FILE")]
    follow: Vec<PathBuf>,
    /// Where event time comes from: `live` (read time, as Elastic Agent) or `replay`
    /// (requestReceivedTimestamp, as `hunt` does: the same events then give the same alerts).
    #[arg(long, value_enum, default_value_t = TimeMode::Live)]
    time: TimeMode,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The hunt engine as a live detector: windows close when the wall clock passes their tick plus
/// the allowed lateness.
struct LiveHunt {
    hunt: Hunt,
    lateness: i64,
}

impl Detector for LiveHunt {
    fn push(&mut self, doc: Document, emit: &mut dyn FnMut(Map)) {
        self.hunt.push(doc, emit);
    }

    fn advance(&mut self, now_nanos: i64, emit: &mut dyn FnMut(Map)) {
        self.hunt.advance(now_nanos - self.lateness, emit);
    }

    fn retention_nanos(&self) -> i64 {
        self.hunt.horizon_nanos() + self.lateness
    }
}

/// `--no-rules`: events are logged and dropped, no alert is raised.
struct NoRules {
    lateness: i64,
}

impl Detector for NoRules {
    fn push(&mut self, _doc: Document, _emit: &mut dyn FnMut(Map)) {}

    fn advance(&mut self, _now_nanos: i64, _emit: &mut dyn FnMut(Map)) {}

    fn retention_nanos(&self) -> i64 {
        self.lateness
    }
}

/// Normalization of received events by the `sources` crate, built once (projection plan and
/// index names) and projected on the fields the rules read, as `hunt` does.
struct SourcesNormalizer {
    normalizer: sources::Normalizer,
    opts: sources::Options,
}

impl Normalizer for SourcesNormalizer {
    fn audit_event(&self, raw: &[u8]) -> Result<Vec<Document>, String> {
        self.normalizer.normalize_line(raw)
    }

    fn process_line(&self, raw: &[u8]) -> Result<Vec<Document>, String> {
        self.normalizer.normalize_line(raw)
    }

    fn audit_event_at(&self, raw: &[u8], received_at: i64) -> Result<Vec<Document>, String> {
        self.audit_event(raw)
            .map(|docs| self.stamp(docs, received_at, true))
    }

    fn process_line_at(&self, raw: &[u8], received_at: i64) -> Result<Vec<Document>, String> {
        self.process_line(raw)
            .map(|docs| self.stamp(docs, received_at, false))
    }
}

impl SourcesNormalizer {
    /// Live time: the read-time fields are the time the batch was received (kept in the WAL),
    /// so that a replay after a restart rebuilds the same documents and the same alert ids.
    /// Audit events take `@timestamp` from it too (as Elastic Agent's read time); process
    /// documents keep their own event time.
    fn stamp(&self, mut docs: Vec<Document>, received_at: i64, audit: bool) -> Vec<Document> {
        if self.opts.time_policy == sources::TimePolicy::Live {
            let (ingested, timestamp) = stamps(received_at);
            for d in &mut docs {
                d.set("event.ingested", events::Value::Str(ingested.clone()));
                if audit {
                    d.set("@timestamp", events::Value::Str(timestamp.clone()));
                }
            }
        }
        docs
    }
}

/// `event.ingested` and `@timestamp` texts of a receive time, formatted once per batch (every
/// event of a batch shares it) and per thread. Both fit inline, so the clones do not allocate.
fn stamps(received_at: i64) -> (CompactString, CompactString) {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, CompactString, CompactString)> = const {
            std::cell::RefCell::new((i64::MIN, CompactString::const_new(""), CompactString::const_new("")))
        };
    }
    LAST.with_borrow_mut(|(at, ingested, timestamp)| {
        if *at != received_at {
            *at = received_at;
            *ingested = events::time::format_secs(received_at).into();
            *timestamp = events::time::format_millis(received_at).into();
        }
        (ingested.clone(), timestamp.clone())
    })
}

fn config(args: &Args) -> anyhow::Result<ServeConfig> {
    let mut c = match &args.config {
        Some(p) => ServeConfig::load(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        None => ServeConfig::default(),
    };
    if let Some(l) = &args.listen {
        c.listen = l.clone();
    }
    if args.insecure {
        c.insecure = true;
    }
    if args.allow_unauthenticated {
        c.allow_unauthenticated = true;
    }
    if let Some(p) = &args.tls_cert {
        c.tls.cert = Some(p.clone());
    }
    if let Some(p) = &args.tls_key {
        c.tls.key = Some(p.clone());
    }
    if let Some(p) = &args.client_ca {
        c.tls.client_ca = Some(p.clone());
    }
    if let Some(p) = &args.bearer_token_file {
        c.bearer_token_file = Some(p.clone());
    }
    if let Some(p) = &args.state_dir {
        c.wal.dir = p.clone();
    }
    c.follow.extend(args.follow.iter().cloned());
    Ok(c)
}

pub fn run(args: Args) -> CmdResult {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    let cfg = config(&args)?;
    let (compiled, problems, loaded) = load_rules(&args.rules)?;
    for p in &problems {
        tracing::warn!("{}", p.reason_line());
    }
    if args.check_config {
        let mut ok = true;
        if let Err(e) = cfg.check() {
            eprintln!("configuration: {e}");
            ok = false;
        }
        eprintln!(
            "rules: {loaded} loaded, {} runnable, {} cannot run",
            compiled.len(),
            problems.len()
        );
        if compiled.is_empty() && !args.no_rules {
            ok = false;
        }
        if ok {
            eprintln!("configuration OK");
        }
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    if compiled.is_empty() && !args.no_rules {
        anyhow::bail!("no runnable rules among {loaded} loaded");
    }
    let lateness = events::time::parse_duration(&cfg.lateness)
        .with_context(|| format!("lateness {:?}: expected a duration like 30s", cfg.lateness))?;
    let base = sources::Options {
        time_policy: match args.time {
            TimeMode::Live => sources::TimePolicy::Live,
            TimeMode::Replay => sources::TimePolicy::Replay,
        },
        ..Default::default()
    };
    let (detector, opts): (Box<dyn Detector>, _) = if args.no_rules {
        tracing::warn!("--no-rules: events are received and logged, no rule runs");
        let opts = sources::Options {
            fields: Some(Vec::new()),
            ..base
        };
        (Box::new(NoRules { lateness }), opts)
    } else {
        // Normalize only what the rules read, as hunt does.
        let (opts, rehydrate) = rule_reading(&compiled, base);
        let hunt = Hunt::new(
            compiled,
            HuntOptions {
                window_grace: lateness,
                eql_lateness: lateness,
                ..Default::default()
            },
        )
        .with_rehydrate(rehydrate);
        (Box::new(LiveHunt { hunt, lateness }), opts)
    };
    let normalizer = Arc::new(SourcesNormalizer {
        normalizer: sources::Normalizer::new(opts.clone()),
        opts,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(serve::run(cfg, detector, normalizer, serve::shutdown_signal()))?;
    Ok(ExitCode::SUCCESS)
}
