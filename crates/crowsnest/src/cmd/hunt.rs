//! `crowsnest hunt`: replay history through the rules on Kibana's schedule and print the alerts
//! Elastic Security would have raised, once each, with a summary on stderr.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use runtime::order::{Ordered, OrderedEvents};
use runtime::{Hunt, HuntOptions};
use sinks::Format;

use super::CmdResult;
use super::rules::{load_rules, rule_reading};
use crate::input::{BadInput, InputArgs, strict_exit};

/// Replay audit logs and process events through detection rules and print the alerts.
///
/// Every input is read once for all rules. Each rule sees the events of the data streams its
/// index patterns (ES|QL: its FROM) name: raw audit events are
/// `logs-kubernetes.audit_logs-<namespace>`, Defend/Falco/Tetragon process events
/// `logs-cloud_defend.process-<namespace>`. Kibana's schedule is simulated: a tick every
/// `interval`, aligned to the epoch, each evaluating `[tick - lookback, tick)` on the rule's time
/// field. Raw audit events take their time from requestReceivedTimestamp. An alert seen by two
/// overlapping windows is raised once.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  crowsnest hunt samples/audit.log samples/process.ndjson
  crowsnest hunt --rules ./my-rules --rules extra.toml audit.log.gz --format ndjson -o alerts.ndjson
  crowsnest hunt /var/log/kubernetes/ --from 2025-03-04T00:00:00Z --to 2025-03-05T00:00:00Z")]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Rule files or directories of *.toml (repeatable). Default: the bundled rules.
    #[arg(long = "rules", short = 'r', value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Output format. Default: table on a terminal, ndjson otherwise.
    #[arg(long, short = 'f', value_enum)]
    format: Option<OutFormat>,
    /// Write alerts to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replay only events at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Replay only events before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// How far (e.g. 2s, 500ms) events of different inputs may be out of order and still be
    /// put in their place.
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    lateness: String,
    /// How long after its end a rule window still takes events. A request is logged when it
    /// ends but dated when it began, so long ones (watches) arrive late; later events are
    /// counted in the summary.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    grace: String,
    /// No progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Also write the run's figures (events, bytes, elapsed, alerts, peak RSS) as JSON to FILE,
    /// for benchmarks and scripts.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
}

/// Peak resident set size of this process in bytes (Linux), if known.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum OutFormat {
    Table,
    Ndjson,
    Json,
}

fn parse_time(s: &Option<String>, flag: &str) -> anyhow::Result<Option<i64>> {
    s.as_deref()
        .map(|t| {
            events::time::parse_timestamp(t)
                .with_context(|| format!("{flag} {t:?}: expected an RFC 3339 time like 2025-03-04T06:00:00Z"))
        })
        .transpose()
}

pub fn run(args: Args) -> CmdResult {
    match hunt(&args) {
        Ok(code) => Ok(code),
        Err(e) => strict_exit(&e).map(Ok).unwrap_or(Err(e)),
    }
}

fn hunt(args: &Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let lateness = events::time::parse_duration(&args.lateness).with_context(|| {
        format!(
            "--lateness {:?}: expected a duration like 2s or 500ms",
            args.lateness
        )
    })?;
    let opts = HuntOptions {
        from: parse_time(&args.from, "--from")?,
        to: parse_time(&args.to, "--to")?,
        eql_lateness: lateness,
        window_grace: events::time::parse_duration(&args.grace)
            .with_context(|| format!("--grace {:?}: expected a duration like 10m", args.grace))?,
        ..HuntOptions::default()
    };

    let (compiled, problems, loaded) = load_rules(&args.rules)?;
    for p in &problems {
        eprintln!("warning: {}", p.reason_line());
    }
    if compiled.is_empty() {
        anyhow::bail!("no runnable rules among {loaded} loaded (see the warnings above)");
    }

    // Read only what the rules need (audit Events as flat documents of what their queries read).
    let (reading, rehydrate) = rule_reading(&compiled, args.input.options());
    let readers = args.input.open_each_with(reading)?;
    let total_bytes: Option<u64> = readers.iter().map(|r| r.total_bytes()).sum();
    let progress = crate::cmd::query::progress_bar(total_bytes, args.quiet);
    let counters: Vec<_> = readers.iter().map(|r| r.progress_handle()).collect();
    let inputs: Vec<Box<dyn Iterator<Item = _>>> = readers
        .into_iter()
        .map(|r| Box::new(r) as Box<dyn Iterator<Item = _>>)
        .collect();
    let mut stream = OrderedEvents::new(inputs, lateness);

    let format = match args.format {
        Some(OutFormat::Table) => Format::Table,
        Some(OutFormat::Ndjson) => Format::Ndjson,
        Some(OutFormat::Json) => Format::Json,
        None if args.output.is_none() && std::io::stdout().is_terminal() => Format::Table,
        None => Format::Ndjson,
    };
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("{}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = sinks::alert_sink(format, out);
    let mut sink_error: Option<std::io::Error> = None;
    let mut emit = |alert: events::Map| {
        if sink_error.is_none()
            && let Err(e) = sink.emit(&alert)
        {
            sink_error = Some(e);
        }
    };

    let rule_count = compiled.len();
    let mut hunt = Hunt::new(compiled, opts).with_rehydrate(rehydrate);
    let mut bad = BadInput::new(args.input.strict);
    let mut untimed = 0u64;
    let mut n = 0u64;
    for item in stream.by_ref() {
        match item {
            Ordered::Event(t, doc) => hunt.push_at(Some(t), doc, &mut emit),
            Ordered::Untimed(_) => untimed += 1,
            Ordered::Error(e) => bad.report(&e)?,
        }
        n += 1;
        if n.is_multiple_of(4096)
            && let Some(pb) = &progress
        {
            pb.set_position(counters.iter().map(|c| c.bytes_read()).sum());
        }
    }
    let report = hunt.finish(&mut emit);
    if let Some(e) = sink_error {
        return Err(e).context("writing alerts");
    }
    sink.finish().context("writing alerts")?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }

    let bytes: u64 = counters.iter().map(|c| c.bytes_read()).sum();
    let secs = started.elapsed().as_secs_f64();
    let mut e = std::io::stderr().lock();
    writeln!(
        e,
        "hunt: {} inputs, {} events ({:.1} MB) in {:.2}s ({:.1} MB/s, {:.0} events/s); {} rules ran, {} could not",
        args.input.paths().len(),
        report.events,
        bytes as f64 / 1e6,
        secs,
        bytes as f64 / 1e6 / secs.max(1e-9),
        report.events as f64 / secs.max(1e-9),
        rule_count,
        problems.len()
    )?;
    if bad.count > 0 || untimed > 0 || report.out_of_range > 0 {
        writeln!(
            e,
            "      skipped: {} bad lines, {} events without a time, {} outside --from/--to",
            bad.count, untimed, report.out_of_range,
        )?;
    }
    if stream.late_events() > 0 {
        writeln!(
            e,
            "      {} events arrived more than --lateness behind newer ones (long requests are dated when they began)",
            stream.late_events()
        )?;
    }
    for r in &report.rules {
        let mut extra = String::new();
        if r.duplicates_suppressed > 0 {
            extra += &format!(", {} repeats suppressed", r.duplicates_suppressed);
        }
        if r.truncated_alerts > 0 {
            extra += &format!(
                ", {} cut by max_signals in {} ticks",
                r.truncated_alerts, r.truncated_ticks
            );
        }
        if r.late > 0 {
            extra += &format!(", {} events too late for closed windows (see --grace)", r.late);
        }
        if r.outside_windows > 0 {
            extra += &format!(", {} matches outside every window", r.outside_windows);
        }
        writeln!(e, "  {:>4} alerts  {} [{}]{extra}", r.alerts, r.name, r.language)?;
        for w in &r.warnings {
            writeln!(e, "        query warning: {w}")?;
        }
    }
    writeln!(e, "  {:>4} alerts in total", report.alerts())?;
    if let Some(path) = &args.stats_json {
        let stats = serde_json::json!({
            "events": report.events,
            "bytes": bytes,
            "elapsed_secs": secs,
            "alerts": report.alerts(),
            "rules_run": rule_count,
            "rules_skipped": problems.len(),
            "bad_lines": bad.count,
            "peak_rss_bytes": peak_rss_bytes(),
        });
        std::fs::write(path, format!("{stats}\n")).with_context(|| format!("{}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
