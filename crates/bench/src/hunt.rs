//! `crowsnest hunt` measured from outside: the release binary is spawned on a corpus with its
//! alerts sent to `/dev/null`; its own `--stats-json` gives events, bytes, alerts and rule counts,
//! and `wait4` gives its CPU time and peak RSS.

use crate::measure::{Measure, wait_child};
use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What `crowsnest hunt --stats-json FILE` writes.
#[derive(Debug, Clone, Deserialize)]
pub struct HuntStats {
    pub events: u64,
    pub bytes: u64,
    pub elapsed_secs: f64,
    pub alerts: u64,
    pub rules_run: u64,
    pub rules_skipped: u64,
    #[serde(default)]
    pub bad_lines: Option<u64>,
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
}

/// The `crowsnest` binary: `explicit` if given, else the one next to this executable (both are
/// built into the same `target/release`).
pub fn locate_crowsnest(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        bail!("--crowsnest {}: no such file", p.display());
    }
    let exe = std::env::current_exe().context("locating this executable")?;
    let candidate = exe.with_file_name("crowsnest");
    if candidate.is_file() {
        return Ok(candidate);
    }
    bail!(
        "no crowsnest binary next to {} — build both first: `cargo build --release -p crowsnest -p bench` \
         (or pass --crowsnest PATH)",
        exe.display()
    )
}

/// Runs `crowsnest hunt FILE --threads 1 --format ndjson --output /dev/null --quiet --stats-json ...
/// [--rules DIR]` (one core: the per-core targets are about one core, and worker threads add
/// hand-over costs) and returns its figures. Wall time is measured around the whole process (start-up and rule
/// loading included); its stderr summary is kept in `scratch` for the error message if it fails.
pub fn run_hunt(bin: &Path, corpus: &Path, rules: Option<&Path>, scratch: &Path) -> anyhow::Result<Measure> {
    let stats_path = scratch.join("hunt-stats.json");
    let stderr_path = scratch.join("hunt-stderr.txt");
    let _ = std::fs::remove_file(&stats_path);
    let mut cmd = Command::new(bin);
    cmd.arg("hunt")
        .arg(corpus)
        .args([
            "--threads",
            "1",
            "--format",
            "ndjson",
            "--output",
            "/dev/null",
            "--quiet",
            "--stats-json",
        ])
        .arg(&stats_path);
    if let Some(r) = rules {
        cmd.arg("--rules").arg(r);
    }
    let stderr = std::fs::File::create(&stderr_path).with_context(|| format!("{}", stderr_path.display()))?;
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr);
    let started = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let usage = wait_child(child).context("waiting for crowsnest hunt")?;
    let wall_secs = started.elapsed().as_secs_f64();
    if usage.exit_code != Some(0) {
        let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let tail: Vec<&str> = err.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{:?} failed ({}):\n{}",
            cmd,
            match (usage.exit_code, usage.signal) {
                (Some(c), _) => format!("exit code {c}"),
                (None, Some(s)) => format!("killed by signal {s}"),
                _ => "unknown status".to_string(),
            },
            tail.join("\n")
        );
    }
    let text = std::fs::read_to_string(&stats_path)
        .with_context(|| format!("crowsnest hunt wrote no --stats-json {}", stats_path.display()))?;
    let stats: HuntStats =
        serde_json::from_str(&text).with_context(|| format!("reading {}: {text}", stats_path.display()))?;
    Ok(Measure {
        bytes: stats.bytes,
        events: stats.events,
        bad: stats.bad_lines.unwrap_or(0),
        wall_secs,
        cpu_secs: usage.cpu_secs,
        // The kernel's figure for the child (covers the whole process lifetime); the stats'
        // own VmHWM figure when wait4 had none.
        peak_rss_bytes: Some(usage.max_rss_bytes)
            .filter(|&b| b > 0)
            .or(stats.peak_rss_bytes),
        alerts: Some(stats.alerts),
        rules_run: Some(stats.rules_run),
        rules_skipped: Some(stats.rules_skipped),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_json_of_the_hunt_command_parses() {
        let s: HuntStats = serde_json::from_str(
            r#"{"events":10,"bytes":2000,"elapsed_secs":0.5,"alerts":2,"rules_run":5,"rules_skipped":0,"bad_lines":0,"peak_rss_bytes":null}"#,
        )
        .unwrap();
        assert_eq!((s.events, s.alerts, s.rules_run), (10, 2, 5));
        assert_eq!(s.peak_rss_bytes, None);
    }

    #[test]
    fn a_missing_explicit_binary_is_an_error() {
        let err = locate_crowsnest(Some(Path::new("/nonexistent/crowsnest"))).unwrap_err();
        assert!(err.to_string().contains("no such file"));
    }
}
