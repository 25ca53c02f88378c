//! The flat path (`Options::flat_fields`) is invisible in its results: for every line of the
//! audit fixtures, a few thousand generated lines and hand-written edge cases (mutations of
//! one Event line), and several field sets, a flat document holds exactly the values the full
//! normalization gives for every requested field, the same `_id` and `_index`, an empty
//! `source` and the trimmed line as its raw record; a record that is an error stays the same
//! error as on the regular projected path. Requesting a parent of derived fields or a pattern
//! turns the flat path off; the Live time policy and another namespace keep the contract.

use events::{Document, Value};
use sources::{Normalizer, Options, TimePolicy};

mod common;
use common::{FIXTURES, SEED_RULE_FIELDS, fixture_lines, generated_lines};

/// (a) What the seed rules query, plus a few fields rules commonly add.
fn rule_fields() -> &'static [&'static str] {
    static FIELDS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut f = SEED_RULE_FIELDS.to_vec();
        f.extend([
            "orchestrator.resource.name",
            "host.os.type",
            "process.interactive",
            "event.type",
        ]);
        f
    });
    &FIELDS
}

/// (b) Every leaf the pipeline and the agent derive.
const DERIVED_FIELDS: [&str; 27] = [
    "@timestamp",
    "event.ingested",
    "event.kind",
    "event.action",
    "event.outcome",
    "event.dataset",
    "data_stream.type",
    "data_stream.dataset",
    "data_stream.namespace",
    "ecs.version",
    "user.name",
    "user.id",
    "user_agent.original",
    "source.ip",
    "client.ip",
    "related.ip",
    "related.user",
    "orchestrator.type",
    "orchestrator.api_version",
    "orchestrator.resource.type",
    "orchestrator.namespace",
    "orchestrator.resource.name",
    "orchestrator.cluster.name",
    "event.category",
    "tags",
    "orchestrator.cluster.id",
    "event.original",
];

/// (c) Deep paths inside the raw record, including ones the pipeline removes or renames.
const DEEP_FIELDS: [&str; 28] = [
    "kubernetes.audit.requestObject.metadata.name",
    "kubernetes.audit.responseObject.metadata.name",
    "kubernetes.audit.requestObject.spec.containers.securityContext.privileged",
    "kubernetes.audit.requestObject.spec.containers.image",
    "kubernetes.audit.requestObject.spec.hostPID",
    "kubernetes.audit.requestObject.spec.hostNetwork",
    "kubernetes.audit.requestObject.spec.volumes.hostPath.path",
    "kubernetes.audit.requestObject.rules.verbs",
    "kubernetes.audit.requestObject.rules.resources",
    "kubernetes.audit.requestObject.subjects.name",
    "kubernetes.audit.requestObject.roleRef.name",
    "kubernetes.audit.requestObject.kind",
    "kubernetes.audit.responseObject.spec.containers.image",
    "kubernetes.audit.responseObject.status.phase",
    "kubernetes.audit.responseStatus.code",
    "kubernetes.audit.annotations.authorization_k8s_io/decision",
    "kubernetes.audit.annotations.authorization_k8s_io/reason",
    "kubernetes.audit.user.groups",
    "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name",
    "kubernetes.audit.impersonatedUser.username",
    "kubernetes.audit.stageTimestamp",
    "kubernetes.audit.timestamp",
    "kubernetes.audit.requestReceivedTimestamp",
    "kubernetes.audit.sourceIPs",
    "kubernetes.audit.kind",
    "kubernetes.audit.apiVersion",
    "kubernetes.audit.level",
    "kubernetes.audit.auditID",
];

/// (d) What the hand-written edge cases put in unusual places: renamed annotation keys,
/// numbers, objects and arrays as values, top-level dotted keys, the GKE `resource` member.
const EDGE_FIELDS: [&str; 31] = [
    "kubernetes.audit.responseStatus.details",
    "kubernetes.audit.requestObject.n",
    "kubernetes.audit.requestObject.b",
    "kubernetes.audit.requestObject.s",
    "kubernetes.audit.requestObject.items.x",
    "kubernetes.audit.requestObject.nested",
    "kubernetes.audit.requestObject.kind",
    "kubernetes.audit.requestObject.metadata.labels.a.b",
    "kubernetes.audit.responseStatus.metadata",
    "kubernetes.audit.annotations.a_b",
    "kubernetes.audit.annotations.a_b_c",
    "kubernetes.audit.annotations.a.b",
    "kubernetes.audit.annotations.already_underscored",
    "kubernetes.audit.annotations.authorization.k8s.io/decision",
    "kubernetes.audit.annotations.authorization_k8s_io/decision",
    "kubernetes.audit.foo.bar",
    "kubernetes.audit.user.name",
    "kubernetes.audit.user.uid",
    "kubernetes.audit.objectRef.name",
    "kubernetes.audit.resource.type",
    "kubernetes.audit.resource.labels.cluster_name",
    "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name",
    "kubernetes.audit.impersonatedUser.username",
    "kubernetes.audit.verb",
    "kubernetes.audit.requestURI",
    "orchestrator.cluster.name",
    "orchestrator.cluster.id",
    "orchestrator.resource.type",
    "related.user",
    "event.outcome",
    "user.id",
];

/// (e) Raw members and subtrees whose values are objects (a record then leaves the flat path
/// when one is an object, or keeps it when it is a scalar).
const OBJECT_FIELDS: [&str; 8] = [
    "kubernetes.audit.requestObject.spec",
    "kubernetes.audit.responseStatus",
    "kubernetes.audit.requestObject",
    "kubernetes.audit.user",
    "kubernetes.audit.objectRef",
    "kubernetes.audit.annotations",
    "kubernetes.audit.user.extra",
    "kubernetes.audit.impersonatedUser",
];

const TIME_FIELDS: [&str; 2] = ["@timestamp", "event.ingested"];

/// A flat normalizer and the regular projected one without the flat path, for one field set.
struct Setup {
    fields: Vec<String>,
    flat: Normalizer,
    regular: Normalizer,
    live: bool,
}

impl Setup {
    /// `extra` fields are projected but not requested flat (`fields` a superset).
    fn new(fields: &[&str], extra: &[&str], base: &Options) -> Setup {
        let flat_fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        let mut projected = flat_fields.clone();
        projected.extend(extra.iter().map(|s| s.to_string()));
        let flat = Normalizer::new(Options {
            fields: Some(projected.clone()),
            flat_fields: Some(flat_fields.clone()),
            ..base.clone()
        });
        let regular = Normalizer::new(Options {
            fields: Some(projected),
            flat_fields: None,
            ..base.clone()
        })
        .without_fast_path();
        Setup {
            fields: flat_fields,
            flat,
            regular,
            live: base.time_policy == TimePolicy::Live,
        }
    }
}

/// A field's values, their JSON text (so that `-0.0` and `0.0` differ), and what `first`
/// and `for_each_value` give.
type Values = (Vec<Value>, Vec<String>, Option<Value>, Vec<Value>);

fn values(d: &Document, f: &str) -> Values {
    let vals: Vec<Value> = d.field(f).into_iter().cloned().collect();
    let text = vals.iter().map(Value::to_json).collect();
    let mut each = Vec::new();
    d.for_each_value(f, &mut |v| each.push(v.clone()));
    (vals, text, d.first(f).cloned(), each)
}

/// The disagreements found, one line each (field, both values, fields requested, record);
/// a test reports them all at its end.
type Found = Vec<String>;

fn assert_none_found(found: &Found) {
    let mut distinct = found.clone();
    distinct.sort();
    distinct.dedup();
    assert!(
        distinct.is_empty(),
        "{} disagreements with full normalization:\n{}",
        distinct.len(),
        distinct.join("\n")
    );
}

/// Compares the documents the flat normalizer gave with the reference ones; the number of
/// flat documents among them.
fn compare(line: &[u8], want: &[Document], got: &[Document], s: &Setup, found: &mut Found) -> usize {
    let what = || {
        format!(
            "{} fields {:?} on {}",
            s.fields.len(),
            s.fields,
            String::from_utf8_lossy(line)
        )
    };
    if want.len() != got.len() {
        found.push(format!(
            "{} documents, flat normalizer {}: {}",
            want.len(),
            got.len(),
            what()
        ));
        return 0;
    }
    let mut flat = 0;
    for (w, g) in want.iter().zip(got) {
        if (&w.id, &w.index) != (&g.id, &g.index) {
            found.push(format!(
                "_id/_index {:?}, flat normalizer {:?}: {}",
                (&w.id, &w.index),
                (&g.id, &g.index),
                what()
            ));
        }
        for f in &s.fields {
            if s.live && TIME_FIELDS.contains(&f.as_str()) {
                continue;
            }
            let (full, flat_values) = (values(w, f), values(g, f));
            if full != flat_values {
                found.push(format!(
                    "field {f}: full {:?}, flat normalizer {:?} (flat document: {}): {}",
                    full.0,
                    flat_values.0,
                    g.is_flat(),
                    what()
                ));
            }
        }
        if let Some(fl) = &g.flat {
            flat += 1;
            if !g.source.is_empty() {
                found.push(format!("flat document with a source: {}", what()));
            }
            if Some(&*fl.raw) != std::str::from_utf8(line.trim_ascii()).ok() {
                found.push(format!("raw record {:?}: {}", fl.raw, what()));
            }
        }
    }
    flat
}

/// Checks one line against one setup, given the reference result (full normalization with
/// the same namespace and time policy); the number of flat documents the line gave.
fn check(line: &[u8], want: &Result<Vec<Document>, String>, s: &Setup, found: &mut Found) -> usize {
    let what = || format!("{:?} on {}", s.fields, String::from_utf8_lossy(line));
    match (want, s.flat.normalize_line(line)) {
        (Ok(w), Ok(g)) => compare(line, w, &g, s, found),
        (Ok(_), Err(g)) => {
            found.push(format!(
                "full normalization succeeds, flat normalizer error {g}: {}",
                what()
            ));
            0
        }
        (Err(w), got) => match (got, s.regular.normalize_line(line)) {
            (Err(g), Err(r)) => {
                if g != r {
                    found.push(format!("error {g:?}, regular projected error {r:?}: {}", what()));
                }
                0
            }
            // The regular projected path does not read (so does not check) the members no
            // requested field needs (documented): then the flat documents hold what it gives.
            (Ok(g), Ok(r)) => compare(line, &r, &g, s, found),
            (g, r) => {
                found.push(format!(
                    "full error {w:?}, flat normalizer {g:?}, regular projected {r:?}: {}",
                    what()
                ));
                0
            }
        },
    }
}

fn is_event(line: &[u8]) -> bool {
    matches!(
        sources::detect_line_shape(line),
        Ok(sources::Shape::AuditEvent | sources::Shape::LegacyAuditEvent)
    )
}

/// Runs every line through one setup; (flat documents, Event lines).
fn run_set(
    lines: &[Vec<u8>],
    reference: &[Result<Vec<Document>, String>],
    s: &Setup,
    found: &mut Found,
) -> (usize, usize) {
    let mut flat = 0;
    let mut events = 0;
    for (line, want) in lines.iter().zip(reference) {
        let n = check(line, want, s, found);
        if is_event(line) {
            events += 1;
            flat += n;
        } else {
            if n > 0 {
                found.push(format!(
                    "flat document for a non-Event line: {}",
                    String::from_utf8_lossy(line)
                ));
            }
        }
    }
    (flat, events)
}

fn reference(lines: &[Vec<u8>], opts: &Options) -> Vec<Result<Vec<Document>, String>> {
    let full = Normalizer::new(opts.clone());
    lines.iter().map(|l| full.normalize_line(l)).collect()
}

fn all_sets() -> [(&'static str, &'static [&'static str]); 5] {
    [
        ("rules", rule_fields()),
        ("derived", &DERIVED_FIELDS),
        ("deep", &DEEP_FIELDS),
        ("edge", &EDGE_FIELDS),
        ("objects", &OBJECT_FIELDS),
    ]
}

#[test]
fn fixture_lines_are_the_same_through_the_flat_path() {
    let mut found = Found::new();
    let lines = fixture_lines();
    assert!(lines.len() > 300, "{}", lines.len());
    let opts = Options::default();
    let want = reference(&lines, &opts);
    let mut flat_total = 0;
    for (name, fields) in all_sets() {
        let (flat, events) = run_set(&lines, &want, &Setup::new(fields, &[], &opts), &mut found);
        eprintln!("fixtures {name}: {flat} flat documents of {events} Event lines");
        flat_total += flat;
    }
    // `fields` a superset of `flat_fields`.
    let (flat, _) = run_set(
        &lines,
        &want,
        &Setup::new(rule_fields(), &["kubernetes.audit.auditID", "related.ip"], &opts),
        &mut found,
    );
    flat_total += flat;
    assert!(flat_total > 0, "the flat path was never taken on the fixtures");
    assert_none_found(&found);
}

#[test]
fn generated_lines_are_the_same_through_the_flat_path() {
    let mut found = Found::new();
    let lines = generated_lines();
    assert!(lines.len() >= 3_000, "{}", lines.len());
    let opts = Options::default();
    let want = reference(&lines, &opts);
    // All 3,000 lines for the rule and deep sets; the first 1,000 for the others (for time).
    // The object-valued set never gives flat documents on these records: left to the
    // fixtures and edge cases.
    for (name, fields) in all_sets().into_iter().filter(|(name, _)| *name != "objects") {
        let n = if matches!(name, "rules" | "deep") {
            lines.len()
        } else {
            1_000
        };
        let s = Setup::new(fields, &[], &opts);
        let (flat, events) = run_set(&lines[..n], &want[..n], &s, &mut found);
        eprintln!("gen {name}: {flat} flat documents of {events} Event lines");
        if name != "edge" {
            assert!(
                flat * 10 >= events * 9,
                "gen {name}: only {flat} of {events} Events took the flat path"
            );
        }
    }
    assert_none_found(&found);
}

/// The Live policy stamps the read time: everything else is the same, and the flat path is
/// still taken.
#[test]
fn live_time_policy_keeps_every_other_field() {
    let mut found = Found::new();
    let mut lines = fixture_lines();
    lines.extend(edge_lines().into_iter().map(String::into_bytes));
    let generated: Vec<Vec<u8>> = generated_lines().into_iter().take(1_000).collect();
    let opts = Options {
        time_policy: TimePolicy::Live,
        ..Options::default()
    };
    let (want, gen_want) = (reference(&lines, &opts), reference(&generated, &opts));
    for (name, fields) in [("rules", rule_fields()), ("derived", &DERIVED_FIELDS[..])] {
        let s = Setup::new(fields, &[], &opts);
        run_set(&lines, &want, &s, &mut found);
        let (flat, events) = run_set(&generated, &gen_want, &s, &mut found);
        assert!(
            flat * 10 >= events * 9,
            "live {name}: only {flat} of {events} Events took the flat path"
        );
    }
    assert_none_found(&found);
}

#[test]
fn another_namespace_is_in_the_flat_documents() {
    let mut found = Found::new();
    let mut lines = fixture_lines();
    lines.extend(generated_lines().into_iter().take(500));
    let opts = Options {
        namespace: "prod".to_string(),
        ..Options::default()
    };
    let want = reference(&lines, &opts);
    for fields in [rule_fields(), &DERIVED_FIELDS[..]] {
        let s = Setup::new(fields, &[], &opts);
        let (flat, _) = run_set(&lines, &want, &s, &mut found);
        assert!(flat > 0);
        for line in &lines {
            for d in s
                .flat
                .normalize_line(line)
                .into_iter()
                .flatten()
                .filter(Document::is_flat)
            {
                assert_eq!(d.first_str("data_stream.namespace"), Some("prod"));
                assert_eq!(d.index, "logs-kubernetes.audit_logs-prod");
            }
        }
    }
    assert_none_found(&found);
}

/// A parent of derived ECS fields, or a pattern, among the flat fields turns the flat path off
/// for the whole normalizer; the documents still hold what full normalization gives.
#[test]
fn parents_and_patterns_turn_the_flat_path_off() {
    let mut found = Found::new();
    let mut lines = fixture_lines();
    lines.extend(generated_lines().into_iter().take(300));
    lines.extend(edge_lines().into_iter().map(String::into_bytes));
    let opts = Options::default();
    let want = reference(&lines, &opts);
    let sets: [(&[&str], &[&str]); 9] = [
        (rule_fields(), &["event"]),
        (rule_fields(), &["user"]),
        (&DEEP_FIELDS, &["kubernetes.audit"]),
        (rule_fields(), &["orchestrator.resource"]),
        (&DEEP_FIELDS, &["kubernetes.audit.*"]),
        (&["event.action"], &["kubernetes"]),
        (&["event.action"], &["*"]),
        (&["user.name"], &["user.*"]),
        (&["kubernetes.audit.verb"], &["event"]),
    ];
    for (base, parent) in sets {
        let fields: Vec<&str> = base.iter().chain(parent).copied().collect();
        let (flat, events) = run_set(&lines, &want, &Setup::new(&fields, &[], &opts), &mut found);
        assert!(events > 0);
        assert_eq!(flat, 0, "{parent:?} among the flat fields gave flat documents");
    }
    assert_none_found(&found);
}

const BASE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"0b7f-11","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/pods","verb":"create","user":{"username":"alice","uid":"u-1","groups":["dev","system:authenticated"],"extra":{"authentication.kubernetes.io/pod-name":["web-0"]}},"impersonatedUser":{"username":"bob"},"sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.29.0","objectRef":{"resource":"pods","namespace":"prod","name":"web-0","apiVersion":"v1"},"responseStatus":{"code":201},"requestObject":{"kind":"Pod","metadata":{"name":"web-0"},"spec":{"hostPID":true,"containers":[{"name":"c","image":"nginx:1.25","securityContext":{"privileged":true}}]}},"responseObject":{"kind":"Pod","metadata":{"name":"web-0"},"spec":{"containers":[{"image":"nginx:1.25"}]}},"requestReceivedTimestamp":"2024-03-01T10:00:00.123456Z","stageTimestamp":"2024-03-01T10:00:00.223456Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed"}}"#;

const RRT: &str = r#""requestReceivedTimestamp":"2024-03-01T10:00:00.123456Z","#;
const STAGE: &str = r#""stageTimestamp":"2024-03-01T10:00:00.223456Z""#;
const ANN: &str = r#""annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed"}"#;
const DECISION: &str = r#""authorization.k8s.io/decision":"allow""#;
const IPS: &str = r#""sourceIPs":["10.0.0.1"]"#;
const USER: &str = r#""user":{"username":"alice","uid":"u-1","groups":["dev","system:authenticated"],"extra":{"authentication.kubernetes.io/pod-name":["web-0"]}}"#;
const OBJREF: &str = r#""objectRef":{"resource":"pods","namespace":"prod","name":"web-0","apiVersion":"v1"}"#;
const REQOBJ: &str = r#""requestObject":{"kind":"Pod","metadata":{"name":"web-0"},"spec":{"hostPID":true,"containers":[{"name":"c","image":"nginx:1.25","securityContext":{"privileged":true}}]}}"#;
const RESPST: &str = r#""responseStatus":{"code":201}"#;
const KIND: &str = r#""kind":"Event","#;

/// `BASE` with the number (or other literal) `n` as a member of `requestObject` and of
/// `responseStatus`.
fn number_lines(n: &str) -> [String; 2] {
    [
        mutate(&[(REQOBJ, &format!(r#""requestObject":{{"n":{n},"kind":"Pod"}}"#))]),
        mutate(&[(
            RESPST,
            &format!(r#""responseStatus":{{"code":201,"details":{n}}}"#),
        )]),
    ]
}

/// `BASE` with each `(from, to)` replaced once (every `from` must be there).
fn mutate(pairs: &[(&str, &str)]) -> String {
    let mut line = BASE.to_string();
    for (from, to) in pairs {
        assert!(line.contains(from), "{from} not in {line}");
        line = line.replacen(from, to, 1);
    }
    line
}

fn edge_lines() -> Vec<String> {
    let legacy = r#""timestamp":"2024-03-01T10:00:00.323Z""#;
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        // Times: legacy `timestamp` alone, beside a null or a present stageTimestamp.
        vec![(RRT, ""), (STAGE, legacy)],
        vec![
            (RRT, ""),
            (STAGE, legacy),
            (
                r#""apiVersion":"audit.k8s.io/v1","#,
                r#""apiVersion":"audit.k8s.io/v1beta1","#,
            ),
        ],
        vec![
            (RRT, ""),
            (STAGE, legacy),
            (r#""apiVersion":"audit.k8s.io/v1","#, ""),
        ],
        vec![(
            STAGE,
            r#""stageTimestamp":null,"timestamp":"2024-03-01T10:00:00.323Z""#,
        )],
        vec![
            (RRT, ""),
            (
                STAGE,
                r#""stageTimestamp":null,"timestamp":"2024-03-01T10:00:00.323Z""#,
            ),
        ],
        vec![(
            STAGE,
            r#""stageTimestamp":"2024-03-01T10:00:00.223456Z","timestamp":"2024-03-01T10:00:00.323Z""#,
        )],
        vec![
            (RRT, ""),
            (
                STAGE,
                r#""timestamp":"2024-03-01T10:00:00.323Z","stageTimestamp":"2024-03-01T10:00:00.2Z""#,
            ),
        ],
        vec![(RRT, ""), (STAGE, r#""stageTimestamp":null"#)],
        vec![
            (RRT, ""),
            (STAGE, r#""stageTimestamp":"2024-03-01T12:00:00.123456789+02:00""#),
        ],
        vec![(RRT, r#""requestReceivedTimestamp":"yesterday","#)],
        vec![(RRT, r#""requestReceivedTimestamp":"","#)],
        vec![(RRT, r#""requestReceivedTimestamp":null,"#)],
        vec![(STAGE, r#""stageTimestamp":5"#)],
        // Annotations: dotted keys, a key already with `_`, `a.b` beside `a_b`.
        vec![(
            DECISION,
            r#""a.b.c":"x","already_underscored":"y","authorization.k8s.io/decision":"allow""#,
        )],
        vec![(
            DECISION,
            r#""a.b":"1","a_b":"2","authorization.k8s.io/decision":"allow""#,
        )],
        vec![(
            DECISION,
            r#""a_b":"2","a.b":"1","authorization.k8s.io/decision":"allow""#,
        )],
        vec![(
            DECISION,
            r#""authorization_k8s_io/decision":"forbid","authorization.k8s.io/decision":"allow""#,
        )],
        vec![(
            DECISION,
            r#""authorization.k8s.io/decision":"allow","authorization_k8s_io/decision":"forbid""#,
        )],
        vec![(DECISION, r#""authorization.k8s.io/decision":"forbid""#)],
        vec![(DECISION, r#""authorization.k8s.io/decision":"other""#)],
        vec![(DECISION, r#""authorization.k8s.io/decision":null"#)],
        vec![(DECISION, r#""authorization.k8s.io/decision":"""#)],
        vec![(DECISION, r#""authorization.k8s.io/decision":"Allow""#)],
        vec![(DECISION, r#""authorization.k8s.io/decision":["allow"]"#)],
        vec![(DECISION, r#""authorization.k8s.io/decision":5"#)],
        vec![(ANN, r#""annotations":{}"#)],
        vec![(ANN, r#""annotations":null"#)],
        vec![(ANN, "\"annotations\":{\"a.b\":\"1\"}")],
        vec![(ANN, r#""labels":{"authorization.k8s.io/decision":"forbid"}"#)],
        vec![(ANN, r#""annotations":{"x.y":{"z":1}}"#)],
        // Source IPs.
        vec![(IPS, r#""sourceIPs":["10.0.0.1","not-an-ip"]"#)],
        vec![(IPS, r#""sourceIPs":["10.0.0.1",null]"#)],
        vec![(IPS, r#""sourceIPs":[]"#)],
        vec![(IPS, r#""sourceIPs":["2001:db8::1","::ffff:10.0.0.1"]"#)],
        vec![(IPS, r#""sourceIPs":["10.0.0.1","10.0.0.1","10.0.0.2"]"#)],
        vec![(IPS, r#""sourceIPs":["fe80::1%eth0"]"#)],
        vec![(IPS, r#""sourceIPs":["010.0.0.1"]"#)],
        vec![(IPS, r#""sourceIPs":"10.0.0.1""#)],
        vec![(IPS, r#""sourceIPs":null"#)],
        vec![(IPS, r#""sourceIPs":[""]"#)],
        vec![(IPS, "")],
        // Users.
        vec![(r#""username":"alice""#, r#""username":"""#)],
        vec![(r#""uid":"u-1""#, r#""uid":"alice""#)],
        vec![(r#""uid":"u-1""#, r#""uid":"""#)],
        vec![(r#""uid":"u-1""#, r#""uid":null"#)],
        vec![(USER, r#""user":{}"#)],
        vec![(USER, r#""user":{"username":"alice","uid":"alice"}"#)],
        vec![(USER, r#""user":{"username":"alice","groups":[],"extra":{}}"#)],
        vec![(
            USER,
            r#""user":{"username":"a","extra":{"authentication":{"kubernetes.io/pod-name":["n"]},"authentication.kubernetes.io/pod-name":["m"]}}"#,
        )],
        vec![(
            USER,
            r#""user":{"username":"a","extra":{"authentication.kubernetes.io/pod-name":[]}}"#,
        )],
        vec![(
            r#""impersonatedUser":{"username":"bob"},"#,
            r#""impersonatedUser":null,"#,
        )],
        vec![(
            r#""impersonatedUser":{"username":"bob"},"#,
            r#""impersonatedUser":{"username":""},"#,
        )],
        vec![(r#""impersonatedUser":{"username":"bob"},"#, "")],
        // objectRef.
        vec![(
            OBJREF,
            r#""objectRef":{"resource":"","namespace":"","name":"","apiVersion":"","subresource":""}"#,
        )],
        vec![(OBJREF, r#""objectRef":{}"#)],
        vec![(OBJREF, r#""objectRef":{"namespace":"prod"}"#)],
        vec![(OBJREF, r#""objectRef":null"#)],
        // requestObject: metadata, arrays of objects, nested arrays, numbers, booleans.
        vec![(
            REQOBJ,
            r#""requestObject":{"metadata":{"name":"x","labels":{"a.b":"c"}},"items":[{"x":1},{"x":[2,[3,{"x":4}]]}],"nested":[[1,2],[[3]],[]],"spec":{"containers":[{"securityContext":{"privileged":false}},{"securityContext":{}}]}}"#,
        )],
        vec![(
            REQOBJ,
            r#""requestObject":{"n":[1,1.5,9223372036854775807,9223372036854775808,-9223372036854775808,-9223372036854775809,18446744073709551616,1e3,1E-2,0.0,1.0,2.50,1e400],"b":[true,false,null]}"#,
        )],
        vec![(REQOBJ, r#""requestObject":{"n":0,"b":false,"s":""}"#)],
        vec![(REQOBJ, r#""requestObject":{"n":12345678901234567890123}"#)],
        vec![(REQOBJ, r#""requestObject":{"n":1e-400}"#)],
        vec![(
            REQOBJ,
            r#""requestObject":{"kind":"ClusterRole","rules":[{"verbs":["get","list"],"resources":["secrets"]},{"verbs":["*"]}]}"#,
        )],
        vec![(REQOBJ, r#""requestObject":{}"#)],
        vec![(REQOBJ, r#""requestObject":null"#)],
        vec![(REQOBJ, r#""requestObject":{"metadata":{}}"#)],
        vec![(REQOBJ, r#""requestObject":{"spec":{},"kind":"Pod"}"#)],
        vec![(REQOBJ, r#""requestObject":"text""#)],
        vec![(REQOBJ, r#""requestObject":7"#)],
        // requestObject as an array (its `metadata` is not removed).
        vec![(
            REQOBJ,
            r#""requestObject":[{"metadata":{"name":"x"},"spec":{"hostPID":true}},{"kind":"Pod"}]"#,
        )],
        vec![(REQOBJ, r#""requestObject":[]"#)],
        vec![(REQOBJ, r#""requestObject":[1,"a",null,[2]]"#)],
        // Escaped strings.
        vec![(r#""verb":"create""#, r#""verb":"cr\"eate""#)],
        vec![(r#""username":"alice""#, r#""username":"\u00e9lise""#)],
        vec![(r#""username":"alice""#, r#""username":"\ud83d\ude00\t\\""#)],
        vec![(
            r#""requestURI":"/api/v1/namespaces/prod/pods""#,
            r#""requestURI":"\/api\/v1\/namespaces\/prod\/pods""#,
        )],
        vec![(
            r#""name":"web-0","apiVersion":"v1""#,
            r#""name":"w\u0065b-0","apiVersion":"v1""#,
        )],
        vec![(r#""kind":"Pod","metadata""#, r#""kind":"P\u006fd","metadata""#)],
        vec![(DECISION, r#""authorization.k8s.io\/decision":"allow""#)],
        vec![(DECISION, r#""authorization.k8s.io/decision":"al\u006cow""#)],
        vec![(
            r#""userAgent":"kubectl/v1.29.0""#,
            r#""us\u0065rAgent":"kubectl/v1.29.0""#,
        )],
        vec![(r#""userAgent":"kubectl/v1.29.0""#, r#""userAgent":"a\nb\u0000c""#)],
        // Duplicate keys at the top level and inside objects.
        vec![(KIND, r#""kind":"Event","verb":"delete","#)],
        vec![(KIND, r#""kind":"Event","sourceIPs":["10.9.9.9"],"#)],
        vec![(
            KIND,
            r#""kind":"Event","annotations":{"authorization.k8s.io/decision":"forbid"},"#,
        )],
        vec![(
            KIND,
            r#""kind":"Event","requestObject":{"metadata":{"name":"first"}},"#,
        )],
        vec![(KIND, r#""kind":"Event","kind":"Event","#)],
        vec![(
            r#""username":"alice""#,
            r#""username":"alice","username":"mallory""#,
        )],
        vec![(
            r#""kind":"Pod","metadata""#,
            r#""kind":"Pod","kind":"Secret","metadata""#,
        )],
        vec![(
            DECISION,
            r#""authorization.k8s.io/decision":"forbid","authorization.k8s.io/decision":"allow""#,
        )],
        vec![(
            r#""name":"web-0","apiVersion":"v1""#,
            r#""name":"a","name":"b","apiVersion":"v1""#,
        )],
        // The GKE `resource` member.
        vec![(
            KIND,
            r#""kind":"Event","resource":{"type":"k8s_cluster","labels":{"cluster_name":"c1","project_id":"p1"}},"#,
        )],
        vec![(KIND, r#""kind":"Event","resource":"x","#)],
        vec![(KIND, r#""kind":"Event","resource":null,"#)],
        // Empty objects and arrays as leaf values.
        vec![(RESPST, r#""responseStatus":{"metadata":{},"code":201}"#)],
        vec![(
            RESPST,
            r#""responseStatus":{"metadata":{},"code":403,"reason":"Forbidden","status":"Failure","message":"no"}"#,
        )],
        vec![(RESPST, r#""responseStatus":{}"#)],
        vec![(RESPST, r#""responseStatus":{"code":2e2}"#)],
        vec![(RESPST, r#""responseStatus":{"code":"201"}"#)],
        vec![(RESPST, r#""responseStatus":{"code":null}"#)],
        vec![(RESPST, r#""responseStatus":{"code":-1}"#)],
        vec![(
            r#""responseObject":{"kind":"Pod","#,
            r#""responseObject":{"status":{},"kind":"Pod","#,
        )],
        vec![(KIND, r#""kind":"Event","empty":{},"list":[],"nested":{"a":{}},"#)],
        // Other kinds and verbs.
        vec![(r#""verb":"create""#, r#""verb":"""#)],
        vec![(r#""verb":"create""#, r#""verb":null"#)],
        vec![(r#""level":"RequestResponse""#, r#""level":"None""#)],
        vec![(KIND, r#""kind":"EventList","#)],
        // The GKE renames apply to Events too, when the target is missing.
        vec![(r#""auditID":"0b7f-11","#, r#""insertId":"ins-1","#)],
        vec![(r#""auditID":"0b7f-11","#, r#""auditID":null,"insertId":"ins-1","#)],
        vec![(
            r#""auditID":"0b7f-11","#,
            r#""auditID":"0b7f-11","insertId":"ins-1","#,
        )],
        vec![(RRT, r#""receiveTimestamp":"2024-03-01T10:00:01.5Z","#)],
        vec![(
            RRT,
            r#""requestReceivedTimestamp":null,"receiveTimestamp":"2024-03-01T10:00:01.5Z","#,
        )],
        vec![(
            RRT,
            r#""requestReceivedTimestamp":"2024-03-01T10:00:00.123456Z","receiveTimestamp":"2024-03-01T10:00:01.5Z","#,
        )],
        vec![
            (RRT, ""),
            (
                STAGE,
                r#""stageTimestamp":"","timestamp":"2024-03-01T10:00:00.323Z""#,
            ),
        ],
        vec![(KIND, r#""kind":"Event","labels":{"x.y":"1"},"#)],
        vec![(
            RESPST,
            r#""protoPayload":{"status":{"code":7},"resourceName":"core/v1/pods/p"}"#,
        )],
        vec![(
            RESPST,
            r#""responseStatus":{},"protoPayload":{"status":{"code":7},"resourceName":"core/v1/pods/p"}"#,
        )],
        vec![(
            RESPST,
            r#""responseStatus":{"code":201},"protoPayload":{"status":{"code":7}}"#,
        )],
        vec![
            (OBJREF, r#""objectRef":{"resource":"pods"}"#),
            (
                RESPST,
                r#""responseStatus":{"code":201},"protoPayload":{"resourceName":"core/v1/pods/p"}"#,
            ),
        ],
        vec![(RESPST, r#""responseStatus":{"code":201},"protoPayload":"x""#)],
    ];
    let mut lines: Vec<String> = cases.iter().map(|c| mutate(c)).collect();
    // Each number and literal alone (one odd element can send a whole record elsewhere).
    for n in [
        "0e0",
        "0.0",
        "1.0",
        "2.50",
        "1e3",
        "1E+2",
        "-1e3",
        "1e-7",
        "0.1",
        "5e-324",
        "1.7976931348623157e308",
        "1e400",
        "1e-400",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "100000000000000000000.0",
        "12345678901234567890123",
        "123456789012345678.5",
        "true",
        "false",
        "null",
        "\"\"",
        "[]",
        "{}",
        "[null]",
        "[[]]",
        "[{}]",
        "[1,[2,[3]]]",
        "{\"a\":null}",
    ] {
        lines.extend(number_lines(n));
    }
    // Whitespace inside and around the record (the raw record is the trimmed line).
    lines.push(format!(" \t{BASE}\r"));
    lines.push(
        BASE.replace("\":", "\" : ")
            .replace(",\"", " ,\n\"")
            .replace('\n', " "),
    );
    lines.push(format!(
        "{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{BASE}]}}"
    ));
    lines.push(format!("[{BASE},{BASE}]"));
    // AKS and GKE records (other shapes: never flat).
    lines.push(format!(
        r#"{{"category":"kube-audit","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","resourceId":"/SUBSCRIPTIONS/S/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/C","time":"2024-03-01T10:00:05.5Z","properties":{{"log":{},"pod":"kube-apiserver-1","stream":"stdout"}}}}"#,
        Value::from(BASE).to_json()
    ));
    lines.push(
        r#"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"io.k8s.core.v1.pods.create","resourceName":"core/v1/namespaces/prod/pods/web-0","authenticationInfo":{"principalEmail":"alice@example.com"},"status":{"code":0}},"insertId":"abc","resource":{"type":"k8s_cluster","labels":{"cluster_name":"c1","project_id":"p1","location":"us"}},"timestamp":"2024-03-01T10:00:00.1Z","receiveTimestamp":"2024-03-01T10:00:00.2Z","labels":{"authorization.k8s.io/decision":"allow"},"logName":"projects/p1/logs/cloudaudit.googleapis.com%2Factivity"}"#
            .to_string(),
    );
    lines.push(BASE[..BASE.len() - 1].to_string());
    lines.push(format!("{BASE} x"));
    lines
}

#[test]
fn edge_cases_are_the_same_through_the_flat_path() {
    let mut found = Found::new();
    let lines: Vec<Vec<u8>> = edge_lines().into_iter().map(String::into_bytes).collect();
    let opts = Options::default();
    let want = reference(&lines, &opts);
    for (name, fields) in all_sets() {
        let s = Setup::new(fields, &[], &opts);
        let (flat, events) = run_set(&lines, &want, &s, &mut found);
        eprintln!("edge {name}: {flat} flat documents of {events} Event lines");
        if name != "objects" {
            // Not vacuous: the base line itself is flat.
            let n = check(BASE.as_bytes(), &want[0], &s, &mut found);
            assert_eq!(n, 1, "{name}: the base line is not flat");
        }
    }
    // Flat fields without a projection, and an empty list of flat fields (only `_id`,
    // `_index` and the raw record to check then: the contract is about the flat fields).
    for (flat_fields, fields) in [(rule_fields(), None), (&[][..], Some(rule_fields()))] {
        let owned = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let base = Options {
            fields: fields.map(owned),
            ..Options::default()
        };
        let s = Setup {
            fields: owned(flat_fields),
            flat: Normalizer::new(Options {
                flat_fields: Some(owned(flat_fields)),
                ..base.clone()
            }),
            regular: Normalizer::new(base).without_fast_path(),
            live: false,
        };
        run_set(&lines, &want, &s, &mut found);
    }
    // `event.original` and `tags` when the raw record is kept.
    let keep = Options {
        preserve_original: true,
        ..Options::default()
    };
    let kept = reference(&lines, &keep);
    run_set(
        &lines,
        &kept,
        &Setup::new(&DERIVED_FIELDS, &[], &keep),
        &mut found,
    );
    assert_none_found(&found);
}

/// Each field of every set alone on the edge cases (one field cannot hide behind another
/// that sends the record to the regular path).
#[test]
fn each_field_alone_is_the_same_through_the_flat_path() {
    let mut found = Found::new();
    let lines: Vec<Vec<u8>> = edge_lines().into_iter().map(String::into_bytes).collect();
    let opts = Options::default();
    let want = reference(&lines, &opts);
    let mut flat_somewhere = 0;
    // The rule and derived sets already take the flat path on the same records as each of
    // their fields alone: the raw-record paths are the ones worth isolating.
    let mut singles: Vec<&str> = [
        &DEEP_FIELDS[..],
        &EDGE_FIELDS,
        &OBJECT_FIELDS,
        &rule_fields()[..15],
    ]
    .concat();
    singles.sort_unstable();
    singles.dedup();
    for f in singles {
        let (flat, _) = run_set(&lines, &want, &Setup::new(&[f], &[], &opts), &mut found);
        flat_somewhere += usize::from(flat > 0);
    }
    assert!(flat_somewhere > 60, "{flat_somewhere}");
    assert_none_found(&found);
}

/// Top-level keys with a dot: `kubernetes.audit.objectRef.name` is both `objectRef.name` and
/// `objectRef`'s `name`, as Elasticsearch flattens `_source`.
fn dotted_key_lines() -> Vec<String> {
    [
        r#""kind":"Event","foo.bar":"x","#,
        r#""kind":"Event","user.name":"zed","#,
        r#""kind":"Event","objectRef.name":"y","#,
        r#""kind":"Event","user.extra.authentication.kubernetes.io/pod-name":["z"],"#,
        r#""kind":"Event","annotations.a.b":"w","#,
    ]
    .iter()
    .map(|to| mutate(&[(KIND, to)]))
    .collect()
}

#[test]
fn top_level_dotted_keys_are_the_same_through_the_flat_path() {
    let mut found = Found::new();
    let lines: Vec<Vec<u8>> = dotted_key_lines().into_iter().map(String::into_bytes).collect();
    for opts in [
        Options::default(),
        Options {
            time_policy: TimePolicy::Live,
            ..Options::default()
        },
    ] {
        let want = reference(&lines, &opts);
        for (_, fields) in all_sets() {
            run_set(&lines, &want, &Setup::new(fields, &[], &opts), &mut found);
        }
        for f in ["kubernetes.audit.objectRef.name", "kubernetes.audit.foo.bar"] {
            run_set(&lines, &want, &Setup::new(&[f], &[], &opts), &mut found);
        }
    }
    assert_none_found(&found);
}

/// Keys with a dot inside objects: every way of splitting the path reaches a value; the
/// pipeline removes `requestObject.metadata`, not a `metadata.name` key beside it.
#[test]
fn nested_dotted_keys_are_the_same_through_the_flat_path() {
    let mut found = Found::new();
    let cases: [(&str, &str); 8] = [
        (
            OBJREF,
            r#""objectRef":{"resource":"pods","namespace":"prod","name":"web-0","name.x":"b","apiVersion":"v1"}"#,
        ),
        (
            REQOBJ,
            r#""requestObject":{"spec.hostPID":true,"spec":{"hostPID":false}}"#,
        ),
        (
            REQOBJ,
            r#""requestObject":{"spec":{"containers":[{"securityContext.privileged":true},{"securityContext":{"privileged":false}}]}}"#,
        ),
        (REQOBJ, r#""requestObject":{"metadata.name":"kept","kind":"Pod"}"#),
        (
            REQOBJ,
            r#""requestObject":{"metadata":{"name":"x"},"metadata.name":"kept"}"#,
        ),
        (
            USER,
            r#""user":{"username":"a","extra":{"authentication.kubernetes.io/pod-name":["a"],"authentication.kubernetes.io":{"pod-name":["b"]}}}"#,
        ),
        (
            USER,
            r#""user":{"username":"a","extra":{"authentication":{"kubernetes.io/pod-name":["n"]}}}"#,
        ),
        (
            RESPST,
            r#""responseStatus":{"code":201,"details.kind":"pods","details":{"kind":"x"}}"#,
        ),
    ];
    let lines: Vec<Vec<u8>> = cases.iter().map(|c| mutate(&[*c]).into_bytes()).collect();
    let opts = Options::default();
    let want = reference(&lines, &opts);
    for (_, fields) in all_sets() {
        run_set(&lines, &want, &Setup::new(fields, &[], &opts), &mut found);
    }
    let mut flat = 0;
    for f in [
        "kubernetes.audit.objectRef.name.x",
        "kubernetes.audit.objectRef.name",
        "kubernetes.audit.requestObject.spec.hostPID",
        "kubernetes.audit.requestObject.spec.containers.securityContext.privileged",
        "kubernetes.audit.requestObject.metadata.name",
        "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name",
        "kubernetes.audit.responseStatus.details.kind",
    ] {
        flat += run_set(&lines, &want, &Setup::new(&[f], &[], &opts), &mut found).0;
    }
    eprintln!("nested dotted keys: {flat} flat documents");
    assert_none_found(&found);
}

/// Negative zero: the full normalization reads `-0`, `-0.0` and `-0e0` as the float `0.0`
/// (and writes `0.0`); the flat documents must hold the same value.
#[test]
fn negative_zero_is_the_same_through_the_flat_path() {
    let mut found = Found::new();
    let lines: Vec<Vec<u8>> = ["-0", "[-0]", "-0.0", "-0e0", "[1,-0.0]"]
        .iter()
        .flat_map(|n| number_lines(n))
        .map(String::into_bytes)
        .collect();
    let opts = Options::default();
    let want = reference(&lines, &opts);
    for fields in [
        &["kubernetes.audit.requestObject.n"][..],
        &["kubernetes.audit.responseStatus.details"],
        &[
            "kubernetes.audit.requestObject.n",
            "kubernetes.audit.responseStatus.details",
            "event.action",
        ],
    ] {
        run_set(&lines, &want, &Setup::new(fields, &[], &opts), &mut found);
    }
    assert_none_found(&found);
}

/// What a [`sources::Reader`] gives with `opts` over the fixture directories, then over the
/// generated lines (as one stream).
fn read_all(opts: &Options, workers: usize) -> Vec<Result<Document, sources::InputError>> {
    let dirs: Vec<String> = ["k8s-audit-samples", "elastic-kubernetes-audit"]
        .iter()
        .map(|d| format!("{FIXTURES}/{d}"))
        .collect();
    let mut out: Vec<_> = sources::Reader::open(&dirs, opts.clone())
        .unwrap()
        .with_workers(workers)
        .collect();
    let generated: Vec<u8> = generated_lines()
        .into_iter()
        .take(500)
        .flat_map(|mut l| {
            l.push(b'\n');
            l
        })
        .collect();
    let stream = Box::new(std::io::Cursor::new(generated));
    out.extend(sources::Reader::from_reader("gen", stream, opts.clone()).with_workers(workers));
    out
}

/// Through the [`sources::Reader`] (what `hunt` reads, with its framing of pretty-printed
/// records and its workers), flat documents hold what the full normalization gives, with the
/// same origin.
#[test]
fn reader_documents_are_the_same_through_the_flat_path() {
    let mut found = Found::new();
    let full = read_all(&Options::default(), 1);
    for (fields, workers) in [(rule_fields(), 1), (&DEEP_FIELDS[..], 2)] {
        let s = Setup::new(fields, &[], &Options::default());
        let projected = read_all(s.regular.options(), 1);
        let got = read_all(s.flat.options(), workers);
        assert_eq!(
            (full.len(), projected.len()),
            (got.len(), got.len()),
            "{fields:?}"
        );
        let mut flat = 0;
        for ((w, p), g) in full.iter().zip(&projected).zip(&got) {
            let at = |d: &Document| format!("{:?}", d.origin);
            match (w, p, g) {
                (Ok(w), _, Ok(g)) | (Err(_), Ok(w), Ok(g)) => {
                    assert_eq!(w.origin, g.origin, "{fields:?}");
                    let raw = g.flat.as_ref().map(|f| f.raw.as_bytes().to_vec());
                    flat += compare(
                        raw.as_deref().unwrap_or_default(),
                        std::slice::from_ref(w),
                        std::slice::from_ref(g),
                        &s,
                        &mut found,
                    );
                    if g.is_flat() {
                        let raw = raw.unwrap_or_default();
                        if raw.trim_ascii() != raw || raw.is_empty() {
                            found.push(format!("raw record not trimmed at {}", at(g)));
                        }
                    }
                }
                (Err(_), Err(p), Err(g)) => {
                    if p.to_string() != g.to_string() {
                        found.push(format!("error {g}, regular projected error {p}"));
                    }
                }
                (w, p, g) => found.push(format!(
                    "full {w:?}, regular projected {p:?}, flat normalizer {g:?}"
                )),
            }
        }
        eprintln!("reader {}: {flat} flat documents of {}", fields.len(), got.len());
        assert!(flat >= 500, "{flat}");
    }
    assert_none_found(&found);
}
