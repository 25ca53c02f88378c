//! The parse-only limit: how fast the fastest JSON parser in the build (sonic-rs) gets through the
//! raw audit log with no rules and no normalization. Hunt throughput is reported as a fraction of
//! the fastest of these passes.

use crate::lines::for_each_line;
use crate::measure::{Measure, Stopwatch};
use serde::Serialize;
use std::hint::black_box;
use std::path::Path;

/// Which parse-only pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ParseMode {
    /// Every line into a full `sonic_rs::Value` tree.
    Dom,
    /// `sonic_rs::get_many` of the raw fields the five seed rules read, skipping the rest.
    Lazy,
}

impl ParseMode {
    /// Name in the report.
    pub fn name(self) -> &'static str {
        match self {
            ParseMode::Dom => "parse-only sonic-rs Value",
            ParseMode::Lazy => "parse-only sonic-rs get_many",
        }
    }
}

/// Raw audit-event paths the seed rules need (their ECS fields mapped back to the audit Event),
/// plus the event time.
pub const SEED_RAW_FIELDS: &[&[&str]] = &[
    &["requestReceivedTimestamp"],
    &["stage"],
    &["verb"],
    &["level"],
    &["requestURI"],
    &["userAgent"],
    &["sourceIPs"],
    &["user", "username"],
    &["user", "groups"],
    &["user", "extra"],
    &["objectRef", "resource"],
    &["objectRef", "namespace"],
    &["objectRef", "name"],
    &["responseStatus", "code"],
    &["responseStatus", "message"],
    &["annotations"],
];

/// Runs one parse-only pass over `path`. Lines that fail to parse are counted in `bad`.
pub fn parse_only(path: &Path, mode: ParseMode) -> std::io::Result<Measure> {
    let mut events = 0u64;
    let mut bad = 0u64;
    let sw = Stopwatch::start();
    let bytes = match mode {
        ParseMode::Dom => for_each_line(path, |line| match sonic_rs::from_slice::<sonic_rs::Value>(line) {
            Ok(v) => {
                black_box(&v);
                events += 1;
            }
            Err(_) => bad += 1,
        })?,
        ParseMode::Lazy => {
            let mut tree = sonic_rs::PointerTree::new();
            for p in SEED_RAW_FIELDS {
                tree.add_path(p.iter().copied());
            }
            for_each_line(path, |line| match sonic_rs::get_many(line, &tree) {
                Ok(vals) => {
                    // Touch what was found so the lookups cannot be optimized away.
                    let found: usize = vals.iter().flatten().map(|v| v.as_raw_str().len()).sum();
                    black_box(found);
                    events += 1;
                }
                Err(_) => bad += 1,
            })?
        }
    };
    let (wall_secs, cpu_secs) = sw.stop();
    Ok(Measure {
        bytes,
        events,
        bad,
        wall_secs,
        cpu_secs,
        ..Measure::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn both_passes_count_good_and_bad_lines() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let good = r#"{"kind":"Event","verb":"get","user":{"username":"alice","groups":["a"]},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"secrets","name":"s1"},"annotations":{"authorization.k8s.io/decision":"allow"}}"#;
        for _ in 0..10 {
            writeln!(tmp, "{good}").unwrap();
        }
        writeln!(tmp, "{{\"verb\": not json").unwrap();
        for mode in [ParseMode::Dom, ParseMode::Lazy] {
            let m = parse_only(tmp.path(), mode).unwrap();
            assert_eq!(m.events, 10, "{mode:?}");
            assert_eq!(m.bad, 1, "{mode:?}");
            assert_eq!(m.bytes, std::fs::metadata(tmp.path()).unwrap().len());
            assert!(m.wall_secs > 0.0);
        }
    }
}
