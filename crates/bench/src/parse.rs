//! The parse-only limit: how fast the fastest JSON parser in the build (sonic-rs) gets through the
//! raw audit log with no rules and no normalization. Hunt throughput is reported as a fraction of
//! the fastest of these passes.

use crate::lines::for_each_line;
use crate::measure::{Measure, Stopwatch};
use serde::Serialize;
use sonic_rs::JsonValueTrait;
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
            for_each_line(path, |line| {
                let found = match sonic_rs::get_many(line, &tree) {
                    // Touch what was found so the lookups cannot be optimized away.
                    Ok(vals) => Ok(vals.iter().flatten().map(|v| v.as_raw_str().len()).sum()),
                    // sonic-rs 0.5 `get_many` fails when a path goes through an empty object
                    // (`"user":{}`, as in anonymous requests): such lines take the iterator path.
                    Err(_) => lazy_fields_by_iteration(line),
                };
                match found {
                    Ok(n) => {
                        black_box(n);
                        events += 1;
                    }
                    Err(_) => bad += 1,
                }
            })?
        }
    };
    Ok(Measure::counted(bytes, events, bad, sw))
}

/// The same lookups as the `get_many` pass, by walking the object's entries lazily (values not
/// asked for are skipped, not parsed): returns the raw length of what was found.
fn lazy_fields_by_iteration(line: &[u8]) -> sonic_rs::Result<usize> {
    let mut found = 0usize;
    for entry in sonic_rs::to_object_iter(line) {
        let (key, value) = entry?;
        let wanted: Vec<&[&str]> = SEED_RAW_FIELDS.iter().filter(|p| p[0] == key).copied().collect();
        if wanted.is_empty() {
            continue;
        }
        if wanted.iter().any(|p| p.len() == 1) {
            found += value.as_raw_str().len();
        }
        let nested: Vec<&str> = wanted.iter().filter(|p| p.len() == 2).map(|p| p[1]).collect();
        if !nested.is_empty() && value.is_object() {
            for inner in sonic_rs::to_object_iter(value.as_raw_str()) {
                let (k, v) = inner?;
                if nested.contains(&k.as_ref()) {
                    found += v.as_raw_str().len();
                }
            }
        }
    }
    Ok(found)
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
        // sonic-rs `get_many` fails through an empty object; the line is still good.
        writeln!(tmp, r#"{{"verb":"get","user":{{}},"sourceIPs":["1.2.3.4"]}}"#).unwrap();
        writeln!(tmp, "{{\"verb\": not json").unwrap();
        for mode in [ParseMode::Dom, ParseMode::Lazy] {
            let m = parse_only(tmp.path(), mode).unwrap();
            assert_eq!(m.events, 11, "{mode:?}");
            assert_eq!(m.bad, 1, "{mode:?}");
            assert_eq!(m.bytes, std::fs::metadata(tmp.path()).unwrap().len());
            assert!(m.wall_secs > 0.0);
        }
    }
}
