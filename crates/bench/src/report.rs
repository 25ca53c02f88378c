//! The benchmark's results and how they are printed: one Markdown table the README can embed, the
//! scaling figures, and the targets of the issue as met / NOT met lines.

use crate::machine::Machine;
use crate::measure::{MB, Measure};
use serde::Serialize;

/// Which pass over a corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PassKind {
    /// sonic-rs into a full `Value` per line.
    ParseDom,
    /// sonic-rs `get_many` of the seed rules' raw fields per line.
    ParseLazy,
    /// `sources::Reader`: raw line to ECS document.
    Normalize,
    /// Raw line to ECS JSON text through the document tree (serialized documents).
    NormalizeEcsTree,
    /// Raw line to ECS JSON text through the transcoder (`Reader::ecs_lines`).
    NormalizeEcs,
    /// Raw line to the ECS JSON text of a few fields through the transcoder.
    NormalizeEcsFields,
    /// `crowsnest hunt` with the bundled (five seed) rules.
    HuntSeeds,
    /// `crowsnest hunt --rules` the whole Elastic corpus.
    HuntAll,
}

impl PassKind {
    /// Name in the table.
    pub fn name(self) -> &'static str {
        match self {
            PassKind::ParseDom => "parse-only (sonic-rs Value)",
            PassKind::ParseLazy => "parse-only (sonic-rs get_many)",
            PassKind::Normalize => "normalize (sources::Reader)",
            PassKind::NormalizeEcsTree => "normalize → ECS JSON (tree path)",
            PassKind::NormalizeEcs => "normalize → ECS JSON (transcoder)",
            PassKind::NormalizeEcsFields => "normalize --fields (5) → ECS JSON (transcoder)",
            PassKind::HuntSeeds => "hunt, 5 seed rules",
            PassKind::HuntAll => "hunt, all Elastic rules",
        }
    }

    fn is_parse(self) -> bool {
        matches!(self, PassKind::ParseDom | PassKind::ParseLazy)
    }
}

/// One pass and its figures.
#[derive(Debug, Clone, Serialize)]
pub struct Pass {
    pub kind: PassKind,
    pub measure: Measure,
}

/// Everything measured on one corpus.
#[derive(Debug, Clone, Serialize)]
pub struct SizeRun {
    /// `100M`, `1G`, or the input file name.
    pub label: String,
    /// Bytes of the corpus file.
    pub file_bytes: u64,
    /// Audit events in it, as the generator counted them (None for a given input file).
    pub generated_events: Option<u64>,
    /// Seconds the generator took.
    pub generate_secs: Option<f64>,
    /// Attacks the generator injected.
    pub generated_incidents: Option<u64>,
    pub passes: Vec<Pass>,
}

impl SizeRun {
    /// The figures of one pass, if it ran.
    pub fn get(&self, kind: PassKind) -> Option<&Measure> {
        self.passes.iter().find(|p| p.kind == kind).map(|p| &p.measure)
    }

    /// The parse-only limit: the fastest parse-only pass (MB per CPU second) and which one it was.
    pub fn parse_limit(&self) -> Option<(PassKind, f64)> {
        self.passes
            .iter()
            .filter(|p| p.kind.is_parse())
            .map(|p| (p.kind, p.measure.mb_per_cpu_sec()))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// What `bench/duckdb_compare --json` reports.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DuckdbResult {
    /// The corpus it ran on (label of the size).
    #[serde(default)]
    pub label: String,
    pub bytes: u64,
    pub duckdb_version: String,
    pub ratio_threads_1: f64,
    pub ratio_threads_all: f64,
    /// DuckDB (threads=1) CPU seconds / crowsnest CPU seconds.
    pub cpu_ratio_threads_1: f64,
    /// The script's own Markdown output.
    #[serde(default)]
    pub text: String,
}

/// A target of the issue and whether this run met it (`None`: not measured in this run).
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    pub met: Option<bool>,
    pub detail: String,
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub command: String,
    /// Where the corpora come from (generator settings or given files).
    pub corpora: String,
    pub runs: Vec<SizeRun>,
    pub duckdb: Option<DuckdbResult>,
    /// Anything a reader should know: event counts that disagree, rejected lines.
    pub notes: Vec<String>,
}

/// Target: hunt with the five seeds at least this many MB/s on one core.
pub const TARGET_MB_PER_SEC: f64 = 1000.0;
/// Target: hunt with the five seeds at least this fraction of the parse-only limit.
pub const TARGET_PARSE_FRACTION: f64 = 0.60;
/// Target: peak RSS below this many bytes on the 5 GB corpus.
pub const TARGET_RSS_BYTES: u64 = 200 * 1_000_000;
/// The corpus size the RSS target is stated for.
pub const TARGET_RSS_AT: u64 = 5 << 30;
/// Target: time per GB at the largest size within this factor of the smallest one's.
pub const TARGET_FLAT_FACTOR: f64 = 1.25;
/// Target: crowsnest at least this many times faster than single-threaded DuckDB.
pub const TARGET_DUCKDB_RATIO: f64 = 3.0;
/// Target: full normalization to ECS JSON at least this many MB/s on one core.
pub const TARGET_NORMALIZE_MB_PER_SEC: f64 = 500.0;

/// One-core throughput of a pass: MB per CPU second. On a machine shared with other work the
/// wall clock also counts the time the process waited for a CPU; CPU time does not. For a
/// multi-threaded process it is the throughput per core.
pub fn one_core_mb_per_sec(m: &Measure) -> f64 {
    m.mb_per_cpu_sec()
}

fn fmt_opt(v: Option<u64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "–".to_string())
}

fn mb(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / MB)
}

impl Report {
    /// The Markdown table of every pass at every size.
    pub fn table(&self) -> String {
        let mut s = String::new();
        s += "| size | pass | MB/s per core | events/s per core | CPU s per GB | MB/s wall clock | alerts \
              | rules run / skipped | peak RSS MB | % of parse limit |\n";
        s += "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n";
        for run in &self.runs {
            let limit = run.parse_limit().map(|(_, v)| v);
            for p in &run.passes {
                let m = &p.measure;
                let rules = match (m.rules_run, m.rules_skipped) {
                    (Some(r), Some(k)) => format!("{r} / {k}"),
                    _ => "–".to_string(),
                };
                let frac = match (limit, p.kind.is_parse()) {
                    (Some(l), false) if l > 0.0 => format!("{:.0}%", 100.0 * m.mb_per_cpu_sec() / l),
                    _ => "–".to_string(),
                };
                s += &format!(
                    "| {} | {} | {:.0} | {:.0} | {:.2} | {:.0} | {} | {} | {} | {} |\n",
                    run.label,
                    p.kind.name(),
                    m.mb_per_cpu_sec(),
                    m.events_per_cpu_sec(),
                    m.cpu_secs_per_gb(),
                    m.mb_per_sec(),
                    fmt_opt(m.alerts),
                    rules,
                    m.peak_rss_bytes.map(mb).unwrap_or_else(|| "–".to_string()),
                    frac
                );
            }
        }
        s
    }

    /// Time per GB and peak RSS of each pass at each size.
    pub fn scaling(&self) -> String {
        let mut s = String::new();
        for kind in [
            PassKind::Normalize,
            PassKind::NormalizeEcs,
            PassKind::HuntSeeds,
            PassKind::HuntAll,
        ] {
            let points: Vec<String> = self
                .runs
                .iter()
                .filter_map(|r| {
                    let m = r.get(kind)?;
                    let rss = m
                        .peak_rss_bytes
                        .map(|b| format!(", {} MB RSS", mb(b)))
                        .unwrap_or_default();
                    Some(format!(
                        "{}: {:.2} CPU s/GB ({:.2} s/GB wall){rss}",
                        r.label,
                        m.cpu_secs_per_gb(),
                        m.secs_per_gb()
                    ))
                })
                .collect();
            if !points.is_empty() {
                s += &format!("- {}: {}\n", kind.name(), points.join("; "));
            }
        }
        s
    }

    /// The targets, judged on this run: throughput per core (CPU time), at the largest
    /// corpus that ran hunt.
    pub fn targets(&self) -> Vec<Target> {
        let mut t = Vec::new();
        let hunts: Vec<(&SizeRun, &Measure)> = self
            .runs
            .iter()
            .filter_map(|r| Some((r, r.get(PassKind::HuntSeeds)?)))
            .collect();
        let largest = hunts.iter().max_by_key(|(r, _)| r.file_bytes);

        t.push(match largest {
            Some((r, m)) => {
                let v = one_core_mb_per_sec(m);
                Target {
                    name: "hunt with the 5 seeds ≥ 1 GB/s on one core".into(),
                    met: Some(v >= TARGET_MB_PER_SEC),
                    detail: format!(
                        "{v:.0} MB per CPU second at {} ({:.0} MB/s wall clock)",
                        r.label,
                        m.mb_per_sec()
                    ),
                }
            }
            None => not_measured("hunt with the 5 seeds ≥ 1 GB/s on one core", "hunt did not run"),
        });

        t.push(match largest.and_then(|(r, m)| Some((r, m, r.parse_limit()?))) {
            Some((r, m, (kind, limit))) => {
                let frac = one_core_mb_per_sec(m) / limit;
                Target {
                    name: "hunt with the 5 seeds ≥ 60% of the parse-only limit".into(),
                    met: Some(frac >= TARGET_PARSE_FRACTION),
                    detail: format!(
                        "{:.0}% at {} ({:.0} vs {:.0} MB per CPU second for {})",
                        100.0 * frac,
                        r.label,
                        one_core_mb_per_sec(m),
                        limit,
                        kind.name()
                    ),
                }
            }
            None => not_measured(
                "hunt with the 5 seeds ≥ 60% of the parse-only limit",
                "needs hunt and parse",
            ),
        });

        let rss_name = "peak RSS < 200 MB on 5 GB";
        t.push(match largest.and_then(|(r, m)| Some((r, m.peak_rss_bytes?))) {
            Some((r, rss)) if r.file_bytes >= TARGET_RSS_AT * 95 / 100 => Target {
                name: rss_name.into(),
                met: Some(rss < TARGET_RSS_BYTES),
                detail: format!("{} MB at {}", mb(rss), r.label),
            },
            Some((r, rss)) => not_measured(
                rss_name,
                &format!(
                    "largest corpus was {}: {} MB there (rerun with --sizes ...,5G)",
                    r.label,
                    mb(rss)
                ),
            ),
            None => not_measured(rss_name, "hunt did not run"),
        });

        let flat_name = "flat time per GB across sizes";
        let per_gb: Vec<(&str, f64)> = hunts
            .iter()
            .map(|(r, m)| (r.label.as_str(), m.cpu_secs_per_gb()))
            .collect();
        t.push(if per_gb.len() >= 2 {
            let (min, max) = spread(per_gb.iter().map(|p| p.1));
            let list: Vec<String> = per_gb.iter().map(|(l, v)| format!("{l} {v:.2}")).collect();
            // Control for the machine's load: the parse-only limit does the same work per byte
            // at every size, so hunt time over parse time should be flat even when the
            // machine is busier during one size than another.
            let relative: Vec<(&str, f64)> = hunts
                .iter()
                .filter_map(|(r, m)| {
                    let (_, limit) = r.parse_limit()?;
                    Some((r.label.as_str(), limit / one_core_mb_per_sec(m)))
                })
                .collect();
            let control = if relative.len() == per_gb.len() {
                let (rmin, rmax) = spread(relative.iter().map(|p| p.1));
                let rl: Vec<String> = relative.iter().map(|(l, v)| format!("{l} {v:.1}×")).collect();
                format!(
                    "; control for machine load, hunt time / parse-only time: {}, max/min = {:.2}",
                    rl.join(", "),
                    rmax / rmin
                )
            } else {
                String::new()
            };
            Target {
                name: flat_name.into(),
                met: Some(max <= min * TARGET_FLAT_FACTOR),
                detail: format!(
                    "hunt (5 seeds) CPU s/GB: {}; max/min = {:.2} (met when ≤ {TARGET_FLAT_FACTOR}){control}",
                    list.join(", "),
                    max / min
                ),
            }
        } else {
            not_measured(flat_name, "needs hunt at two sizes or more")
        });

        let duck_name = "≥ 3× DuckDB (seed rules 000 + 004, DuckDB threads=1)";
        t.push(match &self.duckdb {
            Some(d) => Target {
                name: duck_name.into(),
                met: Some(d.cpu_ratio_threads_1 >= TARGET_DUCKDB_RATIO),
                detail: format!(
                    "CPU-time ratio {:.2} at {}; speed ratio crowsnest/duckdb (wall clock) = {:.2}, \
                     {:.2} against DuckDB on all threads; DuckDB {}",
                    d.cpu_ratio_threads_1, d.label, d.ratio_threads_1, d.ratio_threads_all, d.duckdb_version
                ),
            },
            None => not_measured(duck_name, "DuckDB comparison did not run (--only duckdb)"),
        });

        // Full normalization to ECS JSON text on one core, at the largest corpus it ran on.
        let norm_name = "full normalization ≥ 500 MB/s per core";
        let norm = self
            .runs
            .iter()
            .filter_map(|r| Some((r, r.get(PassKind::NormalizeEcs)?)))
            .max_by_key(|(r, _)| r.file_bytes);
        t.push(match norm {
            Some((r, m)) => {
                let v = one_core_mb_per_sec(m);
                let tree = r
                    .get(PassKind::NormalizeEcsTree)
                    .map(|tm| format!("; tree path {:.0} MB per CPU second", one_core_mb_per_sec(tm)))
                    .unwrap_or_default();
                let fields = r
                    .get(PassKind::NormalizeEcsFields)
                    .map(|fm| format!("; --fields (5) {:.0} MB per CPU second", one_core_mb_per_sec(fm)))
                    .unwrap_or_default();
                Target {
                    name: norm_name.into(),
                    met: Some(v >= TARGET_NORMALIZE_MB_PER_SEC),
                    detail: format!(
                        "{v:.0} MB per CPU second ({:.0} events/s) at {}, raw line → ECS JSON text{tree}{fields}",
                        m.events_per_cpu_sec(),
                        r.label
                    ),
                }
            }
            None => not_measured(norm_name, "normalize did not run"),
        });
        t
    }

    /// The full report in Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        s += "## crowsnest benchmark\n\n";
        s += &format!("Machine: {}.  \n", self.machine.describe());
        s += &format!("Command: `{}`  \n", self.command);
        s += &format!("Corpora: {}  \n", self.corpora);
        s += "MB = 10^6 bytes, GB = 10^9 bytes; corpus sizes are binary (1G = 2^30 bytes). Corpora are \
               read from the page cache. Parse-only and normalize run in-process on one thread; hunt is the release `crowsnest` \
               binary with `--threads 1` (one core, as the targets are stated), timed from spawn to exit (rule loading included), its CPU time and peak RSS \
               from `wait4`. 'Per core' figures divide by CPU seconds (user + system), which other \
               load on the machine does not inflate; the wall-clock column does include waiting \
               for a CPU.\n\n";
        for r in &self.runs {
            let ev = r
                .generated_events
                .map(|e| format!(", {e} events"))
                .unwrap_or_default();
            let inc = r
                .generated_incidents
                .map(|i| format!(", {i} injected attacks"))
                .unwrap_or_default();
            let gs = r
                .generate_secs
                .map(|g| format!(", generated in {g:.1}s"))
                .unwrap_or_default();
            s += &format!("- {}: {} MB{ev}{inc}{gs}\n", r.label, mb(r.file_bytes));
        }
        s += "\n";
        s += &self.table();
        s += "\nScaling (time per GB and peak RSS by size):\n\n";
        s += &self.scaling();
        if let Some(d) = &self.duckdb {
            s += "\n";
            s += &d.text;
        }
        s += "\nTargets:\n\n";
        for t in self.targets() {
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "not measured",
            };
            s += &format!("- {}: **{verdict}** — {}\n", t.name, t.detail);
        }
        if !self.notes.is_empty() {
            s += "\nNotes:\n\n";
            for n in &self.notes {
                s += &format!("- {n}\n");
            }
        }
        s
    }
}

/// (smallest, largest) of some figures.
fn spread(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.fold((f64::INFINITY, 0.0), |(lo, hi), x| (lo.min(x), hi.max(x)))
}

fn not_measured(name: &str, why: &str) -> Target {
    Target {
        name: name.to_string(),
        met: None,
        detail: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(bytes: u64, wall: f64, cpu: f64, rss: Option<u64>) -> Measure {
        Measure {
            bytes,
            events: bytes / 1000,
            wall_secs: wall,
            cpu_secs: cpu,
            peak_rss_bytes: rss,
            ..Default::default()
        }
    }

    fn run(label: &str, bytes: u64, parse_wall: f64, hunt_wall: f64, rss: u64) -> SizeRun {
        SizeRun {
            label: label.into(),
            file_bytes: bytes,
            generated_events: Some(bytes / 1000),
            generate_secs: None,
            generated_incidents: None,
            passes: vec![
                Pass {
                    kind: PassKind::ParseDom,
                    measure: m(bytes, parse_wall * 2.0, parse_wall * 2.0, None),
                },
                Pass {
                    kind: PassKind::ParseLazy,
                    measure: m(bytes, parse_wall, parse_wall, None),
                },
                Pass {
                    kind: PassKind::HuntSeeds,
                    measure: m(bytes, hunt_wall, hunt_wall, Some(rss)),
                },
            ],
        }
    }

    fn report(runs: Vec<SizeRun>) -> Report {
        Report {
            machine: Machine::detect(),
            command: "test".into(),
            corpora: "test".into(),
            runs,
            duckdb: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn targets_are_judged_on_the_largest_corpus() {
        // 5 GiB in 4 s of hunt: 1342 MB/s; parse limit 5 GiB in 2 s.
        let r = report(vec![
            run("1G", 1 << 30, 0.4, 0.8, 50_000_000),
            run("5G", 5 << 30, 2.0, 4.0, 60_000_000),
        ]);
        let t = r.targets();
        assert_eq!(t[0].met, Some(true), "{:?}", t[0]);
        assert_eq!(t[1].met, Some(false), "50% of the limit: {:?}", t[1]);
        assert_eq!(t[2].met, Some(true), "{:?}", t[2]);
        assert_eq!(t[3].met, Some(true), "{:?}", t[3]);
        assert_eq!(t[4].met, None);
        let md = r.markdown();
        assert!(md.contains("| 5G | hunt, 5 seed rules | 1342 |"), "{md}");
        assert!(md.contains("NOT met"));
    }

    #[test]
    fn growing_time_per_gb_and_small_corpora_are_reported_as_such() {
        let r = report(vec![
            run("100M", 100 << 20, 0.1, 0.1, 300_000_000),
            run("1G", 1 << 30, 1.0, 2.0, 300_000_000),
        ]);
        let t = r.targets();
        assert_eq!(t[3].met, Some(false), "{:?}", t[3]);
        // Parse-only took as long per byte at both sizes, hunt twice as long at 1G: the control
        // shows it (hunt/parse 1.0× then 2.0×).
        assert!(
            t[3].detail.contains("100M 1.0×, 1G 2.0×, max/min = 2.00"),
            "{}",
            t[3].detail
        );
        assert_eq!(t[2].met, None, "RSS target is for 5 GB: {:?}", t[2]);
        assert!(t[2].detail.contains("1G"));
    }

    #[test]
    fn one_core_throughput_is_per_cpu_second() {
        // Waiting for a CPU (wall 2 s, CPU 1 s) does not count; a second thread (CPU 2 s) does.
        let waited = m(2_000_000_000, 2.0, 1.0, None);
        assert!((one_core_mb_per_sec(&waited) - 2000.0).abs() < 1e-9);
        let two_threads = m(2_000_000_000, 1.0, 2.0, None);
        assert!((one_core_mb_per_sec(&two_threads) - 1000.0).abs() < 1e-9);
    }
}
