//! Dispatch keys change nothing but the work: a hunt with every Elastic rule (and the seeds)
//! over generated audit and process events, plus the shipped sample, gives the same alerts and
//! the same per-rule report (events considered, warnings) with the keys on and off.

use std::path::PathBuf;

use events::{Catalog, Document, Map};
use runtime::order::{Ordered, OrderedEvents};
use runtime::{Hunt, HuntOptions, HuntReport, compile_rules};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn docs(lines: &[Vec<u8>]) -> Vec<Result<Document, String>> {
    let opts = sources::Options::default();
    lines
        .iter()
        .filter_map(|l| sources::normalize_line(l, &opts).ok())
        .flatten()
        .map(Ok)
        .collect()
}

fn hunt(rules: &[rules::Rule], inputs: &[Vec<Vec<u8>>], dispatch_keys: bool) -> (Vec<Map>, HuntReport) {
    let (compiled, _) = compile_rules(rules.to_vec(), &Catalog::ecs());
    let streams: Vec<Box<dyn Iterator<Item = Result<Document, String>>>> = inputs
        .iter()
        .map(|l| Box::new(docs(l).into_iter()) as Box<dyn Iterator<Item = _>>)
        .collect();
    let opts = HuntOptions {
        dispatch_keys,
        ..HuntOptions::default()
    };
    let mut hunt = Hunt::new(compiled, opts);
    let mut alerts = Vec::new();
    for item in OrderedEvents::new(streams, 5_000_000_000) {
        if let Ordered::Event(t, doc) = item {
            hunt.push_at(Some(t), doc, &mut |a| alerts.push(a));
        }
    }
    let report = hunt.finish(&mut |a| alerts.push(a));
    (alerts, report)
}

#[test]
fn keys_give_the_same_alerts_and_reports() {
    let mut rules: Vec<rules::Rule> = rules::load_paths(&[PathBuf::from(format!("{SHARED}/elastic-rules"))])
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    rules.extend(rules::bundled());
    // Most rules have keys, of both languages (else this test would compare nothing).
    let (compiled, _) = compile_rules(rules.clone(), &Catalog::ecs());
    let keyed = |esql: bool| {
        compiled
            .iter()
            .filter(|c| match &c.detection {
                runtime::Detection::Esql(q) => esql && !q.key_values().is_empty(),
                runtime::Detection::Eql(q) => !esql && !q.key_values().is_empty(),
            })
            .count()
    };
    assert!(
        keyed(true) >= 10 && keyed(false) >= 20,
        "{} {}",
        keyed(true),
        keyed(false)
    );
    let cfg = r#gen::Config {
        seed: 3,
        events: Some(4_000),
        rate: 20.0,
        process: true,
        ..r#gen::Config::default()
    };
    let (mut audit, mut process) = (Vec::new(), Vec::new());
    r#gen::generate(&cfg, &mut audit, Some(&mut process)).unwrap();
    let sample =
        |f: &str| lines(&std::fs::read(format!("{}/../../samples/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap());
    for inputs in [
        vec![lines(&audit), lines(&process)],
        vec![sample("audit.log"), sample("process.ndjson")],
    ] {
        let (with, with_report) = hunt(&rules, &inputs, true);
        let (without, without_report) = hunt(&rules, &inputs, false);
        assert!(!without.is_empty());
        assert_eq!(with, without);
        assert_eq!(with_report, without_report);
    }
}
