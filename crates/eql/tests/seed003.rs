//! Seed rule 003 (forbidden direct interactive Kubernetes API request), run from its rule text:
//! an interactive curl/kubectl exec in a pod followed within 1 s by a forbidden API request
//! whose `user.extra` pod name is the same pod.

use std::sync::Arc;

use events::{Catalog, Document, Map, Value};

const RULE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/seeds/rules/003_execution_d4c_k8s_mda_forbidden_direct_interactive_kubernetes_api_request.toml"
);

const T0: i64 = 1_767_000_000_000_000_000;
const SEC: i64 = 1_000_000_000;

fn query() -> eql::Query {
    let text = std::fs::read_to_string(RULE).unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let q = doc["rule"]["query"].as_str().unwrap();
    eql::compile(q, &Catalog::ecs()).unwrap_or_else(|d| panic!("{}", d.render("003", q)))
}

fn ts(nanos: i64) -> String {
    events::time::format_nanos(nanos)
}

fn exec(at: i64, pod: &str, name: &str, args: &[&str]) -> Document {
    let args: Vec<String> = args.iter().map(|s| format!("{s:?}")).collect();
    Document::from_json(&format!(
        r#"{{"@timestamp":"{}","event":{{"category":["process"],"type":["start"],"action":"exec","dataset":"cloud_defend.process"}},
            "host":{{"os":{{"type":"linux"}}}},"process":{{"name":"{name}","args":[{}],"interactive":true}},
            "container":{{"id":"c0ffee"}},"orchestrator":{{"resource":{{"name":"{pod}"}}}}}}"#,
        ts(at),
        args.join(",")
    ))
    .unwrap()
}

fn forbidden(at: i64, pod: &str) -> Document {
    Document::from_json(&format!(
        r#"{{"@timestamp":"{}","event":{{"dataset":"kubernetes.audit_logs","action":"list"}},
            "kubernetes":{{"audit":{{"stage":"ResponseComplete","annotations":{{"authorization_k8s_io/decision":"forbid"}},
            "user":{{"extra":{{"authentication.kubernetes.io/pod-name":["{pod}"]}}}}}}}}}}"#,
        ts(at)
    ))
    .unwrap()
}

fn run(docs: Vec<Document>) -> Vec<eql::Match> {
    eql::search(&query(), docs, &eql::EngineOptions::default())
}

fn sequence(m: &eql::Match) -> &eql::SequenceMatch {
    match m {
        eql::Match::Sequence(s) => s,
        eql::Match::Event(_) => panic!("expected a sequence"),
    }
}

#[test]
fn compiles_as_a_sequence_with_one_second_maxspan() {
    let q = query();
    assert!(q.is_sequence());
    assert_eq!(q.maxspan_nanos(), Some(SEC));
    let fields = q.needed_fields();
    assert!(
        fields.contains(&"kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name".to_string())
    );
    assert!(fields.contains(&"orchestrator.resource.name".to_string()));
}

#[test]
fn matches_exactly_at_maxspan() {
    let out = run(vec![
        exec(T0, "web-1", "curl", &["curl", "https://kubernetes.default"]),
        forbidden(T0 + SEC, "web-1"),
    ]);
    assert_eq!(out.len(), 1);
    let s = sequence(&out[0]);
    assert_eq!(s.events.len(), 2);
    assert_eq!(s.join_keys, vec![Value::from("web-1")]);
}

#[test]
fn no_match_just_over_maxspan() {
    let out = run(vec![
        exec(T0, "web-1", "curl", &["curl"]),
        forbidden(T0 + SEC + 1_000_000, "web-1"),
    ]);
    assert!(out.is_empty());
}

#[test]
fn time_has_millisecond_precision_like_an_elasticsearch_date() {
    // `@timestamp` is a `date`: 1 s + 0.4 ms is stored as 1 s, so it is still within maxspan
    let out = run(vec![
        exec(T0, "web-1", "curl", &["curl"]),
        forbidden(T0 + SEC + 400_000, "web-1"),
    ]);
    assert_eq!(out.len(), 1);
}

#[test]
fn shell_running_kubectl_counts_but_which_kubectl_does_not() {
    let out = run(vec![
        exec(T0, "web-1", "sh", &["sh", "-c", "kubectl"]),
        forbidden(T0 + 10, "web-1"),
    ]);
    assert_eq!(out.len(), 1);
    let out = run(vec![
        exec(T0, "web-1", "sh", &["sh", "which", "kubectl"]),
        forbidden(T0 + 10, "web-1"),
    ]);
    assert!(out.is_empty(), "`not process.args in (which ...)` excludes it");
}

#[test]
fn wrong_order_does_not_match() {
    let out = run(vec![
        forbidden(T0, "web-1"),
        exec(T0 + 100, "web-1", "curl", &["curl"]),
    ]);
    assert!(out.is_empty());
}

#[test]
fn pod_name_mismatch_does_not_match() {
    let out = run(vec![
        exec(T0, "web-1", "curl", &["curl"]),
        forbidden(T0 + 100, "web-2"),
    ]);
    assert!(out.is_empty());
}

#[test]
fn allowed_decision_does_not_match() {
    let mut audit = forbidden(T0 + 100, "web-1");
    let mut kube = audit.source.remove("kubernetes").unwrap();
    let mut ann = Map::new();
    ann.insert("authorization_k8s_io/decision", Value::from("allow"));
    if let Value::Object(k) = &mut kube
        && let Some(Value::Object(a)) = k.get_mut("audit")
    {
        a.insert("annotations", Value::Object(ann));
    }
    audit.source.insert("kubernetes", kube);
    let out = run(vec![exec(T0, "web-1", "curl", &["curl"]), audit]);
    assert!(out.is_empty());
}

#[test]
fn streaming_sources_out_of_order_within_lateness() {
    let q = query();
    let mut eng = q.engine(eql::EngineOptions {
        allowed_lateness_nanos: 5 * SEC,
        ..Default::default()
    });
    let mut out = Vec::new();
    // the audit source is ahead: its event arrives before the process event that precedes it
    out.extend(eng.push(Arc::new(forbidden(T0 + 400_000_000, "web-1"))));
    out.extend(eng.push(Arc::new(exec(
        T0,
        "web-1",
        "kubectl",
        &["kubectl", "get", "secrets"],
    ))));
    assert!(out.is_empty(), "nothing released yet");
    assert_eq!(eng.live_state(), 2);
    // time moves on past the lateness window: both are released in timestamp order
    out.extend(eng.push(Arc::new(forbidden(T0 + 10 * SEC, "other"))));
    assert_eq!(out.len(), 1);
    let s = sequence(&out[0]);
    assert_eq!(s.events[0].first_str("process.name"), Some("kubectl"));
    assert_eq!(eng.late_events(), 0);
    assert!(eng.finish().is_empty());
}

#[test]
fn streaming_without_lateness_counts_late_events() {
    let q = query();
    let mut eng = q.engine(eql::EngineOptions::default());
    assert!(
        eng.push(Arc::new(forbidden(T0 + 400_000_000, "web-1")))
            .is_empty()
    );
    assert!(
        eng.push(Arc::new(exec(T0, "web-1", "curl", &["curl"])))
            .is_empty()
    );
    assert_eq!(eng.late_events(), 1);
    assert!(eng.finish().is_empty());
}

#[test]
fn newer_partial_replaces_older_one() {
    // two execs in the same pod: the second replaces the first, so the forbidden request 1.2 s
    // after the first but 0.5 s after the second matches with the second
    let out = run(vec![
        exec(T0, "web-1", "curl", &["curl", "first"]),
        exec(T0 + 700_000_000, "web-1", "curl", &["curl", "second"]),
        forbidden(T0 + 1_200_000_000, "web-1"),
    ]);
    assert_eq!(out.len(), 1);
    let s = sequence(&out[0]);
    assert!(
        s.events[0]
            .field("process.args")
            .iter()
            .any(|v| v.as_str() == Some("second"))
    );
}

fn unrelated(i: u64) -> Arc<Document> {
    let mut m = Map::with_capacity(3);
    m.insert("@timestamp", Value::Int(1_700_000_000_000 + (i / 10) as i64));
    let mut ev = Map::with_capacity(1);
    ev.insert(
        "dataset",
        Value::from(if i.is_multiple_of(2) {
            "kubernetes.audit_logs"
        } else {
            "cloud_defend.process"
        }),
    );
    m.insert("event", Value::Object(ev));
    Arc::new(Document::new(m))
}

fn bounded_stream(n: u64) {
    let q = query();
    let mut eng = q.engine(eql::EngineOptions {
        allowed_lateness_nanos: 2 * SEC,
        ..Default::default()
    });
    let mut peak = 0;
    let mut matches = 0;
    for i in 0..n {
        matches += eng.push(unrelated(i)).len();
        // a relevant pair every 100k events, in ever new pods: partials must be evicted
        if i.is_multiple_of(100_000) {
            let at = (1_700_000_000_000 + (i / 10) as i64) * 1_000_000;
            matches += eng
                .push(Arc::new(exec(at, &format!("pod-{i}"), "curl", &["curl"])))
                .len();
        }
        peak = peak.max(eng.live_state());
    }
    matches += eng.finish().len();
    assert_eq!(matches, 0);
    assert!(peak < 1_000, "live state grew to {peak}");
}

#[test]
fn one_million_unrelated_events_keep_state_bounded() {
    bounded_stream(1_000_000);
}

#[test]
#[ignore = "slow in debug builds; run with --ignored (or see benches/stream.rs)"]
fn ten_million_unrelated_events_keep_state_bounded() {
    bounded_stream(10_000_000);
}
