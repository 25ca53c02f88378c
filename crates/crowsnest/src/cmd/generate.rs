//! `crowsnest generate`: a deterministic, realistic audit-log corpus with injected attacks, for
//! trials, tests and benchmarks.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::CmdResult;

/// Generate a realistic Kubernetes audit log (and Defend for Containers process events) with
/// attacks for each bundled rule injected at known times, plus near misses.
///
/// The traffic mix is that of a mid-size cluster: kubelets, controllers, the scheduler, coredns,
/// operators and CI service accounts, humans with kubectl, health checks, anonymous probes. The
/// same --seed always gives the same bytes. --truth writes what was injected and which alerts
/// are expected.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  crowsnest generate --events 100000 -o audit.log --process process.ndjson --truth truth.json
  crowsnest generate --bytes 1G --no-attacks -o big.log
  crowsnest generate --seed 7 --start 2025-03-04T00:00:00Z --rate 2000 --events 1000000 -o day.log")]
pub struct Args {
    /// Seed of the pseudo-random generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of audit events to write.
    #[arg(long, conflicts_with = "bytes")]
    events: Option<u64>,
    /// Approximate size of the audit log to write (e.g. 100M, 1G).
    #[arg(long, value_parser = parse_size)]
    bytes: Option<u64>,
    /// Time of the first event (RFC 3339).
    #[arg(long, default_value = "2025-03-04T00:00:00Z")]
    start: String,
    /// Average audit events per second of simulated time.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Do not inject attacks and near misses.
    #[arg(long)]
    no_attacks: bool,
    /// Write the audit log here (default: stdout).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write Defend for Containers process events to this file.
    #[arg(long, value_name = "FILE")]
    process: Option<PathBuf>,
    /// Write the injected attacks and near misses (JSON) to this file.
    #[arg(long, value_name = "FILE")]
    truth: Option<PathBuf>,
}

/// Parses `123`, `100K`, `100M`, `1G`, `1.5G` (powers of 1024; a trailing `B` is allowed).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().trim_end_matches(['B', 'b']);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size like 500M or 1G"))?;
    if n < 0.0 {
        return Err(format!("{s:?}: a size cannot be negative"));
    }
    Ok((n * mult as f64) as u64)
}

fn create(p: &PathBuf) -> anyhow::Result<BufWriter<std::fs::File>> {
    Ok(BufWriter::new(
        std::fs::File::create(p).with_context(|| format!("{}", p.display()))?,
    ))
}

pub fn run(args: Args) -> CmdResult {
    let start = events::time::parse_timestamp(&args.start)
        .with_context(|| format!("--start {:?}: expected an RFC 3339 time", args.start))?;
    let cfg = r#gen::Config {
        seed: args.seed,
        events: args
            .events
            .or(if args.bytes.is_none() { Some(10_000) } else { None }),
        bytes: args.bytes,
        start,
        rate: args.rate,
        attacks: !args.no_attacks,
        process: args.process.is_some(),
    };
    let mut audit: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(create(p)?),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut process = args.process.as_ref().map(create).transpose()?;
    let truth = r#gen::generate(&cfg, &mut audit, process.as_mut().map(|w| w as &mut dyn Write))?;
    audit.flush()?;
    if let Some(p) = process.as_mut() {
        p.flush()?;
    }
    if let Some(path) = &args.truth {
        let mut w = create(path)?;
        serde_json::to_writer_pretty(&mut w, &truth)?;
        w.write_all(b"\n")?;
        w.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1.5KB"), Ok(1536));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("lots").is_err());
    }
}
