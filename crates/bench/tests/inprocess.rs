//! The in-process passes on a tiny generated corpus (~1 MB): every pass sees every event the
//! generator wrote, and the figures are sane. Hunt (a child process) is not run here; the
//! `bench/smoke` script runs the whole benchmark with `--quick`.

use bench::corpus;
use bench::normalize::normalize;
use bench::parse::{ParseMode, parse_only};
use bench::report::{Pass, PassKind, Report, SizeRun};

#[test]
fn in_process_passes_count_every_generated_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let c = corpus::generate(&path, 1 << 20, 7, corpus::RATE).unwrap();
    let expected = c.events.expect("the generator counts its events");
    assert!(
        expected > 100,
        "a 1 MiB corpus holds hundreds of events, got {expected}"
    );
    // The generator stops at about the requested size (it finishes a started attack scenario).
    assert!(
        c.bytes > (1 << 20) * 9 / 10 && c.bytes < (1 << 20) * 11 / 10,
        "{} bytes",
        c.bytes
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), c.bytes);

    let mut passes = Vec::new();
    for (kind, mode) in [
        (PassKind::ParseDom, ParseMode::Dom),
        (PassKind::ParseLazy, ParseMode::Lazy),
    ] {
        let m = parse_only(&path, mode).unwrap();
        assert_eq!(m.events, expected, "{kind:?}");
        assert_eq!(m.bad, 0, "{kind:?}");
        assert_eq!(m.bytes, c.bytes, "{kind:?}");
        passes.push(Pass { kind, measure: m });
    }
    let n = normalize(&path).unwrap();
    assert_eq!(n.events, expected, "normalize");
    assert_eq!(n.bad, 0, "normalize");
    assert_eq!(n.bytes, c.bytes, "normalize");
    passes.push(Pass {
        kind: PassKind::Normalize,
        measure: n,
    });

    for p in &passes {
        let m = &p.measure;
        assert!(m.wall_secs > 0.0 && m.cpu_secs > 0.0, "{:?}: {m:?}", p.kind);
        assert!(
            m.mb_per_sec() > 0.0 && m.mb_per_sec().is_finite(),
            "{:?}: {m:?}",
            p.kind
        );
        assert!(
            m.events_per_cpu_sec() > 0.0 && m.events_per_cpu_sec().is_finite(),
            "{:?}",
            p.kind
        );
    }
    let run = SizeRun {
        label: "1M".into(),
        file_bytes: c.bytes,
        generated_events: Some(expected),
        generate_secs: c.generate_secs,
        generated_incidents: c.incidents,
        passes,
    };
    let (fastest, limit) = run.parse_limit().unwrap();
    assert!(fastest == PassKind::ParseDom || fastest == PassKind::ParseLazy);
    assert!(limit > 0.0);

    let report = Report {
        machine: bench::machine::Machine::detect(),
        command: "test".into(),
        corpora: "test".into(),
        runs: vec![run],
        duckdb: None,
        notes: Vec::new(),
    };
    let md = report.markdown();
    assert!(md.contains("| 1M | normalize (sources::Reader) |"), "{md}");
    // Hunt did not run: its targets are not measured, never met.
    let t = report.targets();
    assert!(t.iter().all(|t| t.met.is_none()), "{t:?}");
}
