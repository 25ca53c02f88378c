//! Helpers shared by the sources integration tests.

use std::path::{Path, PathBuf};

/// The shared fixtures directory (`../shared/fixtures` from the repository root).
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");

/// Every file below `dir`, recursively, in name order.
#[allow(dead_code)]
pub fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every non-blank line of the audit fixtures (`k8s-audit-samples`, `elastic-kubernetes-audit`).
#[allow(dead_code)] // not every test binary uses every helper
pub fn fixture_lines() -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    for d in ["k8s-audit-samples", "elastic-kubernetes-audit"] {
        files(std::path::Path::new(&format!("{FIXTURES}/{d}")), &mut paths);
    }
    let mut out = Vec::new();
    for p in paths {
        let bytes = std::fs::read(&p).unwrap();
        out.extend(
            bytes
                .split(|&b| b == b'\n')
                .filter(|l| !l.trim_ascii().is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    out
}

/// 3,000 generated audit lines (seed 7).
#[allow(dead_code)]
pub fn generated_lines() -> Vec<Vec<u8>> {
    let cfg = r#gen::Config {
        seed: 7,
        events: Some(3_000),
        process: false,
        ..r#gen::Config::default()
    };
    let mut audit = Vec::new();
    r#gen::generate(&cfg, &mut audit, None).unwrap();
    audit
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// The fields the seed rules read (and a few process fields).
#[allow(dead_code)]
pub const SEED_RULE_FIELDS: [&str; 26] = [
    "kubernetes.audit.stage",
    "kubernetes.audit.verb",
    "kubernetes.audit.level",
    "kubernetes.audit.requestURI",
    "kubernetes.audit.objectRef.resource",
    "kubernetes.audit.objectRef.name",
    "kubernetes.audit.objectRef.namespace",
    "kubernetes.audit.sourceIPs",
    "kubernetes.audit.userAgent",
    "kubernetes.audit.user.username",
    "kubernetes.audit.user.groups",
    "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name",
    "kubernetes.audit.annotations.authorization_k8s_io/decision",
    "kubernetes.audit.responseStatus.code",
    "kubernetes.audit.responseStatus.message",
    "event.dataset",
    "event.action",
    "source.ip",
    "user.name",
    "user_agent.original",
    "data_stream.namespace",
    "@timestamp",
    "event.ingested",
    "process.name",
    "process.args",
    "container.id",
];
