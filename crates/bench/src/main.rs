//! `crowsnest-bench`: generates raw audit logs of the requested sizes and prints, for each, the
//! parse-only limit, normalize and hunt throughput, peak memory and time per GB, the DuckDB
//! comparison, and the targets as met / NOT met.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};
use bench::corpus::{self, Corpus};
use bench::hunt::{locate_crowsnest, run_hunt};
use bench::machine::Machine;
use bench::measure::MB;
use bench::normalize::{ECS_FIELDS, EcsPath, normalize, normalize_ecs};
use bench::parse::{ParseMode, parse_only};
use bench::report::{DuckdbResult, Pass, PassKind, Report, SizeRun};
use bench::size::{label, parse_size};
use clap::Parser;

/// The Elastic rule corpus: `../shared/elastic-rules` from the repository root.
const ELASTIC_RULES: &str = "../shared/elastic-rules";
/// The DuckDB comparison script, from the repository root.
const DUCKDB_SCRIPT: &str = "bench/duckdb_compare";

/// A default path given relative to the repository root: as is when it exists from the current
/// directory (the benchmark is run from the root), else from the root this binary was built in.
fn from_repo_root(relative: &Path) -> PathBuf {
    if relative.is_absolute() || relative.exists() {
        return relative.to_path_buf();
    }
    let built_in = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(relative);
    if built_in.exists() {
        built_in
    } else {
        relative.to_path_buf()
    }
}

/// What a run measures (`--only`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// Parse-only limit: sonic-rs over every line, no rules.
    Parse,
    /// sources::Reader normalization to ECS documents, and to ECS JSON text (tree path,
    /// transcoder, transcoder with 5 fields).
    Normalize,
    /// crowsnest hunt with the five bundled seed rules.
    Hunt,
    /// crowsnest hunt with every rule under --rules-dir.
    HuntAll,
    /// bench/duckdb_compare on one corpus (seed rules 000 and 004).
    Duckdb,
}

/// Benchmark crowsnest on generated Kubernetes audit logs: normalize and hunt throughput, the
/// parse-only limit, peak RSS and time per GB at each size, and the DuckDB comparison.
///
/// Hunt runs the release `crowsnest` binary found next to this one: build both with
/// `cargo build --release -p crowsnest -p bench`.
#[derive(Parser, Debug)]
#[command(
    name = "crowsnest-bench",
    version,
    after_help = "\
Examples:
  crowsnest-bench                                  # 100M, 1G and 5G: several minutes
  crowsnest-bench --sizes 100M,1G --only parse,hunt
  crowsnest-bench --quick                          # 20M, no DuckDB: a smoke test
  crowsnest-bench --input /var/log/kube-audit.log  # a real log instead of generated ones"
)]
struct Args {
    /// Corpus sizes to generate (binary multiples: 1G = 2^30 bytes).
    #[arg(long, default_value = "100M,1G,5G", value_delimiter = ',', value_parser = parse_size)]
    sizes: Vec<u64>,
    /// Smoke test: one 20M corpus, DuckDB left out unless --only names it.
    #[arg(long)]
    quick: bool,
    /// Benchmark these raw audit logs instead of generated corpora (repeatable).
    #[arg(long, value_name = "FILE")]
    input: Vec<PathBuf>,
    /// Directory for the generated corpora (default: a new temp dir).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Keep the generated corpora.
    #[arg(long)]
    keep: bool,
    /// Seed of the corpus generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Audit events per second of simulated time in generated corpora (the generator's default;
    /// attacks come in 20-minute slots, so a lower rate puts more of them in a corpus).
    #[arg(long, default_value_t = corpus::RATE)]
    rate: f64,
    /// Measure only these parts (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Part>,
    /// The crowsnest binary (default: next to this executable).
    #[arg(long, value_name = "PATH")]
    crowsnest: Option<PathBuf>,
    /// Rules for the all-rules hunt (relative paths: from the repository root).
    #[arg(long, value_name = "DIR", default_value = ELASTIC_RULES)]
    rules_dir: PathBuf,
    /// The DuckDB comparison script (relative paths: from the repository root).
    #[arg(long, value_name = "PATH", default_value = DUCKDB_SCRIPT)]
    duckdb_script: PathBuf,
    /// Which corpus the DuckDB comparison runs on (default: the size nearest 1G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    duckdb_size: Option<u64>,
    /// Also write every figure as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crowsnest-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn progress(msg: impl AsRef<str>) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "[bench] {}", msg.as_ref());
}

fn run(mut args: Args) -> anyhow::Result<()> {
    args.rules_dir = from_repo_root(&args.rules_dir);
    args.duckdb_script = from_repo_root(&args.duckdb_script);
    let parts: Vec<Part> = if !args.only.is_empty() {
        args.only.clone()
    } else if args.quick || !args.input.is_empty() {
        vec![Part::Parse, Part::Normalize, Part::Hunt, Part::HuntAll]
    } else {
        vec![
            Part::Parse,
            Part::Normalize,
            Part::Hunt,
            Part::HuntAll,
            Part::Duckdb,
        ]
    };
    if args.quick {
        args.sizes = vec![20 << 20];
    }
    let wants = |p: Part| parts.contains(&p);
    let needs_binary = wants(Part::Hunt) || wants(Part::HuntAll) || wants(Part::Duckdb);
    let bin = if needs_binary {
        Some(locate_crowsnest(args.crowsnest.as_deref())?)
    } else {
        None
    };
    let rules_dir = if wants(Part::HuntAll) {
        let d = args.rules_dir.canonicalize().with_context(|| {
            format!(
                "--rules-dir {}: not found (or leave hunt-all out with --only)",
                args.rules_dir.display()
            )
        })?;
        Some(d)
    } else {
        None
    };
    if wants(Part::Duckdb) && !args.duckdb_script.is_file() {
        bail!("--duckdb-script {}: not found", args.duckdb_script.display());
    }

    let tmp;
    let dir: PathBuf = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("{}", d.display()))?;
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new().prefix("crowsnest-bench-").tempdir()?;
            if args.keep {
                tmp.keep()
            } else {
                tmp.path().to_path_buf()
            }
        }
    };

    let machine = Machine::detect();
    progress(format!("machine: {}", machine.describe()));
    progress(format!("scratch dir: {}", dir.display()));

    // What to run on: the given files, or one generated corpus per size.
    enum Job {
        File(PathBuf),
        Generate(u64),
    }
    let jobs: Vec<Job> = if args.input.is_empty() {
        args.sizes.iter().map(|&s| Job::Generate(s)).collect()
    } else {
        args.input.iter().cloned().map(Job::File).collect()
    };
    let duck_target = args.duckdb_size.unwrap_or(1 << 30);
    let duck_index = jobs
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            let size = |j: &Job| match j {
                Job::Generate(s) => *s as f64,
                Job::File(p) => std::fs::metadata(p).map(|m| m.len() as f64).unwrap_or(1.0),
            };
            let da = (size(a).max(1.0) / duck_target as f64).ln().abs();
            let db = (size(b).max(1.0) / duck_target as f64).ln().abs();
            da.total_cmp(&db)
        })
        .map(|(i, _)| i);

    let mut report = Report {
        machine,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        corpora: if args.input.is_empty() {
            format!(
                "generated by `gen` with seed {seed}, {rate} events/s of simulated time from {start}, \
                 attacks injected (the bytes of `crowsnest generate --bytes SIZE --seed {seed} --rate {rate}`)",
                seed = args.seed,
                rate = args.rate,
                start = corpus::START
            )
        } else {
            "the files given with --input".to_string()
        },
        runs: Vec::new(),
        duckdb: None,
        notes: Vec::new(),
    };

    for (i, job) in jobs.iter().enumerate() {
        let (corpus, lbl, generated) = match job {
            Job::Generate(size) => {
                let lbl = label(*size);
                let path = dir.join(format!("audit-{lbl}-seed{}.jsonl", args.seed));
                progress(format!("{lbl}: generating {} ...", path.display()));
                let c = corpus::generate(&path, *size, args.seed, args.rate)?;
                progress(format!(
                    "{lbl}: {} events, {} injected attacks, {:.1} MB in {:.1}s",
                    c.events.unwrap_or(0),
                    c.incidents.unwrap_or(0),
                    c.bytes as f64 / MB,
                    c.generate_secs.unwrap_or(0.0)
                ));
                (c, lbl, true)
            }
            Job::File(p) => {
                let c = corpus::existing(p)?;
                warm_page_cache(&c.path)?;
                let lbl = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (c, lbl, false)
            }
        };
        let run = measure_corpus(&corpus, &lbl, &parts, bin.as_deref(), rules_dir.as_deref(), &dir)?;
        check_counts(&run, &mut report.notes);
        report.runs.push(run);

        if wants(Part::Duckdb) && duck_index == Some(i) {
            let bin = bin.as_deref().expect("binary located when duckdb is wanted");
            progress(format!(
                "{lbl}: DuckDB comparison ({}) ...",
                args.duckdb_script.display()
            ));
            report.duckdb = Some(run_duckdb(&args.duckdb_script, &corpus.path, bin, &lbl, &dir)?);
        }
        if generated && !args.keep {
            let _ = std::fs::remove_file(&corpus.path);
        }
    }

    let md = report.markdown();
    println!("{md}");
    if let Some(p) = &args.json {
        let mut f = std::fs::File::create(p).with_context(|| format!("{}", p.display()))?;
        serde_json::to_writer_pretty(&mut f, &report)?;
        f.write_all(b"\n")?;
    }
    if args.keep {
        progress(format!("kept {}", dir.display()));
    }
    Ok(())
}

/// Runs every selected pass over one corpus.
fn measure_corpus(
    corpus: &Corpus,
    lbl: &str,
    parts: &[Part],
    bin: Option<&Path>,
    rules_dir: Option<&Path>,
    scratch: &Path,
) -> anyhow::Result<SizeRun> {
    let mut run = SizeRun {
        label: lbl.to_string(),
        file_bytes: corpus.bytes,
        generated_events: corpus.events,
        generate_secs: corpus.generate_secs,
        generated_incidents: corpus.incidents,
        passes: Vec::new(),
    };
    let record = |run: &mut SizeRun, kind: PassKind, m: bench::measure::Measure| {
        let extra = match (m.alerts, m.peak_rss_bytes) {
            (Some(a), Some(r)) => format!(", {a} alerts, peak RSS {:.0} MB", r as f64 / MB),
            _ => String::new(),
        };
        progress(format!(
            "{lbl}: {}: {:.0} MB/s, {:.0} events/s, {:.2}s{extra}",
            kind.name(),
            m.mb_per_sec(),
            m.events_per_sec(),
            m.wall_secs
        ));
        run.passes.push(Pass { kind, measure: m });
    };
    if parts.contains(&Part::Parse) {
        record(
            &mut run,
            PassKind::ParseDom,
            parse_only(&corpus.path, ParseMode::Dom)?,
        );
        record(
            &mut run,
            PassKind::ParseLazy,
            parse_only(&corpus.path, ParseMode::Lazy)?,
        );
    }
    if parts.contains(&Part::Normalize) {
        record(&mut run, PassKind::Normalize, normalize(&corpus.path)?);
        record(
            &mut run,
            PassKind::NormalizeEcsTree,
            normalize_ecs(&corpus.path, EcsPath::Tree, None)?,
        );
        record(
            &mut run,
            PassKind::NormalizeEcs,
            normalize_ecs(&corpus.path, EcsPath::Transcoder, None)?,
        );
        record(
            &mut run,
            PassKind::NormalizeEcsFields,
            normalize_ecs(&corpus.path, EcsPath::Transcoder, Some(ECS_FIELDS))?,
        );
    }
    if let (true, Some(bin)) = (parts.contains(&Part::Hunt), bin) {
        record(
            &mut run,
            PassKind::HuntSeeds,
            run_hunt(bin, &corpus.path, None, scratch)?,
        );
    }
    if let (true, Some(bin), Some(rules)) = (parts.contains(&Part::HuntAll), bin, rules_dir) {
        record(
            &mut run,
            PassKind::HuntAll,
            run_hunt(bin, &corpus.path, Some(rules), scratch)?,
        );
    }
    Ok(run)
}

/// Every pass must have seen the events the generator wrote; a mismatch is printed in the report.
fn check_counts(run: &SizeRun, notes: &mut Vec<String>) {
    let expected = run.generated_events;
    for p in &run.passes {
        let m = &p.measure;
        if m.bad > 0 {
            notes.push(format!(
                "{}: {} rejected {} lines",
                run.label,
                p.kind.name(),
                m.bad
            ));
        }
        if let Some(e) = expected
            && m.events != e
        {
            notes.push(format!(
                "{}: {} counted {} events, the generator wrote {e}",
                run.label,
                p.kind.name(),
                m.events
            ));
        }
    }
}

/// Reads a file once so that the first pass does not pay for the disk.
fn warm_page_cache(path: &Path) -> anyhow::Result<()> {
    let mut f = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    std::io::copy(&mut f, &mut std::io::sink())?;
    Ok(())
}

/// Runs `bench/duckdb_compare --file CORPUS --crowsnest BIN --json OUT` and reads its figures.
fn run_duckdb(
    script: &Path,
    corpus: &Path,
    bin: &Path,
    lbl: &str,
    scratch: &Path,
) -> anyhow::Result<DuckdbResult> {
    let json = scratch.join("duckdb.json");
    let out = Command::new(script)
        .arg("--file")
        .arg(corpus)
        .arg("--crowsnest")
        .arg(bin)
        .arg("--json")
        .arg(&json)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let text = std::fs::read_to_string(&json)
        .with_context(|| format!("{} wrote no {}", script.display(), json.display()))?;
    let mut d: DuckdbResult =
        serde_json::from_str(&text).with_context(|| format!("reading {}", json.display()))?;
    d.label = lbl.to_string();
    d.text = String::from_utf8_lossy(&out.stdout).into_owned();
    progress(format!(
        "{lbl}: speed ratio crowsnest/duckdb = {:.2} (threads=1), {:.2} (all threads)",
        d.ratio_threads_1, d.ratio_threads_all
    ));
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::{Args, Part};
    use clap::{CommandFactory, Parser};

    #[test]
    fn command_line_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn sizes_and_parts_parse() {
        let a = Args::try_parse_from(["crowsnest-bench"]).unwrap();
        assert_eq!(a.sizes, vec![100 << 20, 1 << 30, 5 << 30]);
        assert!(a.only.is_empty());
        let a = Args::try_parse_from([
            "crowsnest-bench",
            "--sizes",
            "20M,1.5G",
            "--only",
            "parse,hunt-all",
        ])
        .unwrap();
        assert_eq!(a.sizes, vec![20 << 20, 3 << 29]);
        assert_eq!(a.only, vec![Part::Parse, Part::HuntAll]);
        assert!(Args::try_parse_from(["crowsnest-bench", "--sizes", "big"]).is_err());
    }
}
