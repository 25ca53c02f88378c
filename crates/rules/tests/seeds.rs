//! The five seed rules (bundled from the repository's `rules/`) load with the fields their
//! files state, and Kibana's schedule defaults where the files are silent.

use events::time::NANOS_PER_SEC;
use rules::bundled;

const MIN: i64 = 60 * NANOS_PER_SEC;

#[test]
fn seed_rules_load_with_their_fields() {
    let rules = bundled();
    assert_eq!(rules.len(), 5);
    let by_id = |id: &str| {
        rules
            .iter()
            .find(|r| r.rule_id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };

    // 000: ES|QL, no interval/from in the file: Kibana defaults 5m / now-6m.
    let r = by_id("a337c3f8-e264-4eb4-9998-22669ca52791");
    assert_eq!(
        r.source,
        "bundled:000_discovery_endpoint_permission_enumeration_by_user_and_srcip.toml"
    );
    assert_eq!(
        r.name,
        "Kubernetes Potential Endpoint Permission Enumeration Attempt Detected"
    );
    assert_eq!(r.rule_type, "esql");
    assert_eq!(r.language.as_deref(), Some("esql"));
    assert_eq!((r.interval.as_str(), r.from.as_str()), ("5m", "now-6m"));
    assert_eq!((r.interval_nanos, r.lookback_nanos), (5 * MIN, 6 * MIN));
    assert_eq!(r.version, 1);
    assert_eq!(r.max_signals, 100);
    assert_eq!(r.severity, "medium");
    assert_eq!(r.risk_score, 47);
    assert_eq!(r.timestamp_override.as_deref(), Some("event.ingested"));
    assert_eq!(r.time_field(), "event.ingested");
    assert_eq!(r.index, vec!["logs-kubernetes.audit_logs-*"]);
    assert!(
        r.query
            .as_deref()
            .unwrap()
            .starts_with("from logs-kubernetes.audit_logs-* metadata _id")
    );
    assert_eq!(r.threat.len(), 1);
    assert_eq!(r.threat[0].framework, "MITRE ATT&CK");
    assert_eq!(r.threat[0].tactic.id, "TA0007");
    assert_eq!(r.threat[0].technique[0].id, "T1613");
    assert!(r.threat[0].technique[0].subtechnique.is_empty());
    assert_eq!(r.tags.len(), 5);
    assert!(r.note.as_deref().unwrap().contains("Triage and analysis"));
    assert_eq!(r.author(), vec!["Elastic"]);
    assert_eq!(r.license(), Some("Elastic License v2"));
    assert_eq!(
        r.metadata("maturity").and_then(|v| v.as_str()),
        Some("production")
    );

    // 001: two threat entries, the second with a subtechnique.
    let r = by_id("2dd0d4fd-0cc9-4d18-8b46-1a507e28bbc0");
    assert_eq!(r.threat.len(), 2);
    assert_eq!(r.threat[1].tactic.id, "TA0043");
    assert_eq!(r.threat[1].technique[0].id, "T1595");
    assert_eq!(r.threat[1].technique[0].subtechnique[0].id, "T1595.003");
    assert_eq!(r.threat[1].technique[0].subtechnique[0].name, "Wordlist Scanning");

    // 002: from = now-11m.
    let r = by_id("c2a91e88-4f4b-4e1d-9c7b-8fde112a9403");
    assert_eq!((r.interval_nanos, r.lookback_nanos), (5 * MIN, 11 * MIN));
    assert_eq!(r.from, "now-11m");

    // 003: EQL sequence over two index patterns.
    let r = by_id("5d1c962d-5d2a-48d4-bdcf-e980e3914947");
    assert_eq!(r.rule_type, "eql");
    assert_eq!(r.language.as_deref(), Some("eql"));
    assert_eq!(
        r.index,
        vec!["logs-cloud_defend.process*", "logs-kubernetes.audit_logs-*"]
    );
    assert_eq!((r.interval_nanos, r.lookback_nanos), (5 * MIN, 6 * MIN));
    assert_eq!(r.threat.len(), 2);
    assert_eq!(r.threat[0].tactic.name, "Execution");
    assert_eq!(r.threat[0].technique[0].subtechnique[0].id, "T1059.004");
    assert_eq!(r.false_positives().len(), 2);
    assert!(
        r.query
            .as_deref()
            .unwrap()
            .starts_with("sequence with maxspan=1s")
    );

    // 004: high severity, risk 73.
    let r = by_id("b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c");
    assert_eq!((r.severity.as_str(), r.risk_score), ("high", 73));
    assert_eq!(
        r.threat[0].technique[0].subtechnique[0].reference,
        "https://attack.mitre.org/techniques/T1552/007/"
    );
    assert_eq!(r.raw["rule"]["rule_id"], "b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c");
}

#[test]
fn bundled_files_are_the_shared_seeds_unmodified() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/seeds/rules");
    for (name, text) in rules::BUNDLED_FILES {
        let original = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        assert_eq!(&original, text, "{name} differs from the seed");
    }
}
