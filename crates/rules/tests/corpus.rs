//! Every Elastic prebuilt rule on Kubernetes audit logs and Defend for Containers events
//! (`shared/elastic-rules/`, 114 files) loads, with the schedule the file states.

use std::path::PathBuf;

use rules::load_paths;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/elastic-rules");

#[test]
fn all_114_corpus_rules_load() {
    let results = load_paths(&[PathBuf::from(CORPUS)]);
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(
        failures.is_empty(),
        "rules that do not load:\n{}",
        failures.join("\n")
    );
    assert_eq!(results.len(), 114);
    let rules: Vec<_> = results.into_iter().map(Result::unwrap).collect();

    // name order, recursive: kubernetes/*.toml sort after kubernetes/cloud_defend/*.toml
    let sources: Vec<&str> = rules.iter().map(|r| r.source.as_str()).collect();
    let mut sorted = sources.clone();
    sorted.sort();
    assert_eq!(sources, sorted);
    assert_eq!(
        rules
            .iter()
            .filter(|r| r.source.contains("/cloud_defend/"))
            .count(),
        63
    );

    let count = |t: &str| rules.iter().filter(|r| r.rule_type == t).count();
    assert_eq!(
        (count("eql"), count("query"), count("esql"), count("new_terms")),
        (71, 23, 12, 8)
    );
    assert!(
        rules
            .iter()
            .all(|r| r.timestamp_override.as_deref() == Some("event.ingested"))
    );
    assert!(rules.iter().all(|r| r.version == 1 && !r.index.is_empty()));
    assert_eq!(
        rules.iter().filter(|r| r.building_block_type.is_some()).count(),
        3
    );
    assert_eq!(rules.iter().filter(|r| r.max_signals == 1000).count(), 1);
    assert!(
        rules
            .iter()
            .filter(|r| r.rule_type == "query")
            .all(|r| r.language.as_deref() == Some("kuery"))
    );

    let min = 60_000_000_000i64;
    let by_file = |f: &str| rules.iter().find(|r| r.source.ends_with(f)).unwrap();
    // from = now-5d
    let five_days = rules.iter().filter(|r| r.from == "now-5d").collect::<Vec<_>>();
    assert_eq!(five_days.len(), 1);
    assert_eq!(five_days[0].lookback_nanos, 5 * 24 * 60 * min);
    // interval = 60m, from = now-119m
    let hourly: Vec<_> = rules.iter().filter(|r| r.interval == "60m").collect();
    assert_eq!(hourly.len(), 2);
    assert!(
        hourly
            .iter()
            .all(|r| r.interval_nanos == 60 * min && r.lookback_nanos == 119 * min)
    );
    // new_terms keeps its extra table in the raw JSON
    let nt = by_file("credential_access_get_secrets_access.toml");
    assert_eq!(nt.rule_type, "new_terms");
    assert_eq!(nt.raw["rule"]["new_terms"]["field"], "new_terms_fields");
    assert_eq!(
        nt.raw["rule"]["new_terms"]["history_window_start"][0]["value"],
        "now-7d"
    );
}
