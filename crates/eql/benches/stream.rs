//! Streaming throughput of seed rule 003 (an interactive exec followed within 1 s by a
//! forbidden API request from the same pod): pushes a mix of unrelated events, execs and
//! audit events from two interleaved, slightly out-of-order sources through [`eql::Engine`]
//! with 2 s allowed lateness, and prints events/s, matches and peak live state.
//!
//! `cargo bench -p eql --bench stream [-- <events>]` (default 10 million).

use std::sync::Arc;
use std::time::Instant;

use events::{Catalog, Document, Map, Value};

const RULE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/seeds/rules/003_execution_d4c_k8s_mda_forbidden_direct_interactive_kubernetes_api_request.toml"
);

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::with_capacity(pairs.len());
    for (k, v) in pairs {
        m.insert(k, v);
    }
    Value::Object(m)
}

fn exec(ms: i64, pod: &str) -> Document {
    let Value::Object(m) = obj(vec![
        ("@timestamp", Value::Int(ms)),
        (
            "event",
            obj(vec![
                ("category", Value::from(vec!["process"])),
                ("type", Value::from(vec!["start"])),
                ("action", Value::from("exec")),
            ]),
        ),
        (
            "host",
            obj(vec![("os", obj(vec![("type", Value::from("linux"))]))]),
        ),
        (
            "process",
            obj(vec![
                ("name", Value::from("curl")),
                (
                    "args",
                    Value::from(vec!["curl", "-k", "https://kubernetes.default"]),
                ),
                ("interactive", Value::Bool(true)),
            ]),
        ),
        ("container", obj(vec![("id", Value::from("c0ffee"))])),
        (
            "orchestrator",
            obj(vec![("resource", obj(vec![("name", Value::from(pod))]))]),
        ),
    ]) else {
        unreachable!()
    };
    Document::new(m)
}

fn audit(ms: i64, pod: &str, decision: &str) -> Document {
    let Value::Object(m) = obj(vec![
        ("@timestamp", Value::Int(ms)),
        (
            "event",
            obj(vec![("dataset", Value::from("kubernetes.audit_logs"))]),
        ),
        (
            "kubernetes",
            obj(vec![(
                "audit",
                obj(vec![
                    ("stage", Value::from("ResponseComplete")),
                    (
                        "annotations",
                        obj(vec![("authorization_k8s_io/decision", Value::from(decision))]),
                    ),
                    (
                        "user",
                        obj(vec![(
                            "extra",
                            obj(vec![(
                                "authentication.kubernetes.io/pod-name",
                                Value::from(vec![pod]),
                            )]),
                        )]),
                    ),
                ]),
            )]),
        ),
    ]) else {
        unreachable!()
    };
    Document::new(m)
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let text = std::fs::read_to_string(RULE).expect("seed rule 003");
    let rule: toml::Value = toml::from_str(&text).expect("rule toml");
    let query = rule["rule"]["query"].as_str().expect("query");
    let q = eql::compile(query, &Catalog::ecs()).expect("compiles");
    let mut eng = q.engine(eql::EngineOptions {
        allowed_lateness_nanos: 2_000_000_000,
        ..Default::default()
    });

    // pre-build a small pool of documents; timestamps advance 0.1 ms per event and the audit
    // source lags the process source by up to 1.5 s
    let pods: Vec<String> = (0..5_000).map(|i| format!("pod-{i}")).collect();
    let start = Instant::now();
    let mut matches = 0u64;
    let mut peak = 0usize;
    let mut relevant = 0u64;
    let mut engine_time = std::time::Duration::ZERO;
    for i in 0..n {
        let ms = 1_700_000_000_000 + (i / 10) as i64;
        let doc = match i % 1000 {
            0 => {
                relevant += 1;
                exec(ms, &pods[(i / 1000) as usize % pods.len()])
            }
            500 => {
                relevant += 1;
                // arrives late (audit pipeline lag), same pod as the exec 500 events earlier
                audit(ms - 30, &pods[(i / 1000) as usize % pods.len()], "forbid")
            }
            k if k % 2 == 0 => audit(ms - 1_500, "other", "allow"),
            _ => {
                let Value::Object(m) = obj(vec![
                    ("@timestamp", Value::Int(ms)),
                    ("event", obj(vec![("category", Value::from(vec!["file"]))])),
                ]) else {
                    unreachable!()
                };
                Document::new(m)
            }
        };
        let doc = Arc::new(doc);
        let t = Instant::now();
        matches += eng.push(doc).len() as u64;
        engine_time += t.elapsed();
        if i % 1024 == 0 {
            peak = peak.max(eng.live_state());
        }
    }
    matches += eng.finish().len() as u64;
    let secs = start.elapsed().as_secs_f64();
    let engine_secs = engine_time.as_secs_f64();
    println!(
        "eql stream (seed 003): {n} events ({relevant} relevant) in {secs:.2} s including document \
         construction; engine alone {engine_secs:.2} s = {:.0} events/s; {matches} matches; \
         peak live state {peak}; late events {}",
        n as f64 / engine_secs,
        eng.late_events()
    );
}
