//! Golden test: every document of Elastic's `kubernetes.audit_logs` pipeline tests
//! (`shared/fixtures/elastic-kubernetes-audit/*-expected.json`) is reproduced field for field
//! from its input line.
//!
//! elastic-package runs only the ingest pipeline on each line (as `message`, plus the tags of
//! `*-config.yml`). The fields Elastic Agent and Fleet add are therefore absent from the expected
//! documents, and are removed from ours before comparing:
//! * `@timestamp`: set by the agent from read time (we set it from the event); compared
//!   whenever the expected document has one (the AKS path, where the pipeline sets it).
//! * `event.ingested`: set by Fleet's final pipeline at ingest time.
//! * `event.dataset`, `data_stream.*`: set by the agent from the policy.
//! * `ecs.version`: set by the agent.

use events::Value;
use sources::{Options, Shape, detect_shape, normalize_line};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/elastic-kubernetes-audit"
);

fn agent_fields_removed(mut doc: serde_json::Value, keep_timestamp: bool) -> serde_json::Value {
    let m = doc.as_object_mut().unwrap();
    if !keep_timestamp {
        m.remove("@timestamp");
    }
    m.remove("data_stream");
    m.remove("ecs");
    let event = m.get_mut("event").and_then(|e| e.as_object_mut()).unwrap();
    event.remove("ingested");
    event.remove("dataset");
    doc
}

fn sorted(v: serde_json::Value) -> String {
    let mut v = Value::from_serde(v);
    v.sort_keys();
    serde_json::to_string_pretty(&v.to_serde()).unwrap()
}

fn check(log: &str, expected: &str) -> usize {
    let input = std::fs::read_to_string(format!("{DIR}/{log}")).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/{expected}")).unwrap()).unwrap();
    let expected = expected["expected"].as_array().unwrap().clone();
    let lines: Vec<&str> = input.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        expected.len(),
        "{log}: one expected document per line"
    );
    // test-audit.log-config.yml adds `tags: [preserve_original_event]`; test-kube-audit.log has
    // no config and its expected document has event.original but no tags.
    let opts = Options {
        preserve_original: true,
        ..Options::default()
    };
    for (i, (line, want)) in lines.iter().zip(&expected).enumerate() {
        let docs = normalize_line(line.as_bytes(), &opts).unwrap_or_else(|e| panic!("{log}:{}: {e}", i + 1));
        assert_eq!(docs.len(), 1);
        let doc = &docs[0];
        assert_eq!(doc.index, "logs-kubernetes.audit_logs-default");
        assert_eq!(doc.first_str("event.dataset"), Some("kubernetes.audit_logs"));
        assert!(doc.has("@timestamp") && doc.has("event.ingested") && doc.has("ecs.version"));
        let mut got = Value::Object(doc.source.clone()).to_serde();
        if want.get("tags").is_none() {
            got.as_object_mut().unwrap().remove("tags");
        }
        let got = agent_fields_removed(got, want.get("@timestamp").is_some());
        assert_eq!(
            sorted(got),
            sorted(want.clone()),
            "{log}: document {} differs",
            i + 1
        );
    }
    lines.len()
}

#[test]
fn test_audit_log_matches_elastic_expected_output() {
    assert_eq!(check("test-audit.log", "test-audit.log-expected.json"), 4);
}

#[test]
fn test_kube_audit_log_matches_elastic_expected_output() {
    assert_eq!(
        check("test-kube-audit.log", "test-kube-audit.log-expected.json"),
        1
    );
}

#[test]
fn shapes_of_the_golden_inputs() {
    let input = std::fs::read_to_string(format!("{DIR}/variants/test-audit.log@0b97ab02")).unwrap();
    let shapes: Vec<Shape> = input
        .lines()
        .map(|l| detect_shape(&Value::from_json(l).unwrap()))
        .collect();
    assert_eq!(
        shapes,
        vec![
            Shape::AuditEvent,
            Shape::AuditEvent,
            Shape::AuditEvent,
            Shape::GkeLogEntry,
            Shape::AksRecord
        ]
    );
}

/// The newer upstream input adds an AKS record whose `properties.log` is an object; there is no
/// expected file for it, so the fields are checked against the pipeline's rules by hand.
#[test]
fn aks_record_with_object_log() {
    let input = std::fs::read_to_string(format!("{DIR}/variants/test-audit.log@0b97ab02")).unwrap();
    let line = input.lines().nth(4).unwrap();
    let docs = normalize_line(line.as_bytes(), &Options::default()).unwrap();
    let d = &docs[0];
    assert_eq!(d.first_str("@timestamp"), Some("2025-09-30T06:23:35.101Z"));
    assert_eq!(d.first_str("event.action"), Some("update"));
    assert_eq!(d.first_str("event.outcome"), Some("success"));
    assert_eq!(d.first_str("user.name"), Some("aksService"));
    assert_eq!(
        d.first_str("kubernetes.audit.aks_metadata.category"),
        Some("kube-audit-admin")
    );
    assert_eq!(
        d.first_str("kubernetes.audit.aks_metadata.container_id"),
        Some("aaaa1111")
    );
    assert_eq!(
        d.first_str("kubernetes.audit.aks_metadata.pod"),
        Some("kube-apiserver-1234567890")
    );
    assert!(!d.has("kubernetes.audit.aks_metadata.properties"));
    assert!(!d.has("kubernetes.audit.user.extra"));
    assert!(!d.has("kubernetes.audit.annotations.authorization_k8s_io/reason"));
    assert_eq!(
        d.first_str("orchestrator.resource.name"),
        Some("elastic-agent-cluster-test")
    );
    assert_eq!(d.field("source.ip").len(), 1);
    assert!(!d.has("event.original"), "preserve_original is off by default");
}

/// The documented sample (`sample_event.json`) is a complete document: it passes through.
#[test]
fn sample_event_passes_through() {
    let text = std::fs::read_to_string(format!("{DIR}/sample_event.json")).unwrap();
    let v = Value::from_json(&text).unwrap();
    assert_eq!(detect_shape(&v), Shape::EcsDocument);
    let docs = sources::normalize_value(&v, &Options::default()).unwrap();
    assert_eq!(docs[0].index, "logs-kubernetes.audit_logs-default");
    assert_eq!(docs[0].source, v.as_object().unwrap().clone());
}
