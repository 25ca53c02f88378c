//! Hunt over the five bundled seed rules, written from the rule text: positives and near misses at
//! every edge each rule defines, and exactly-once across overlapping windows.
//!
//! Events are raw `audit.k8s.io/v1` lines and Defend for Containers documents, normalized by the
//! `sources` crate as in a real run (replay policy: `event.ingested` = `requestReceivedTimestamp`).
//! Rule schedule reminders: seeds 000, 001, 003, 004 tick every 5m over `[T-6m, T)`; seed 002
//! ticks every 5m over `[T-11m, T)`. Ticks are multiples of 5 minutes since the epoch, so
//! 00:01–00:03 lies in one window only (tick 00:05), and 00:04:10–00:04:50 in two (00:05, 00:10).

use std::collections::BTreeMap;

use events::{Catalog, Document, Map, Value};
use runtime::order::{Ordered, OrderedEvents};
use runtime::{Hunt, HuntOptions, compile_rules};
use serde_json::json;

/// The seed rules' ids, by the number of their file.
const SEEDS: &[(&str, &str)] = &[
    ("000", "a337c3f8-e264-4eb4-9998-22669ca52791"),
    ("001", "2dd0d4fd-0cc9-4d18-8b46-1a507e28bbc0"),
    ("002", "c2a91e88-4f4b-4e1d-9c7b-8fde112a9403"),
    ("003", "5d1c962d-5d2a-48d4-bdcf-e980e3914947"),
    ("004", "b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c"),
];

fn seed_report<'a>(report: &'a runtime::HuntReport, seed: &str) -> &'a runtime::RuleReport {
    let id = SEEDS.iter().find(|(p, _)| *p == seed).unwrap().1;
    report
        .rules
        .iter()
        .find(|r| r.rule_id == id)
        .expect("the seed rule ran")
}

/// Builds one raw audit event line.
#[derive(Clone)]
struct Audit {
    time: String,
    user: Option<String>,
    ips: Vec<String>,
    verb: String,
    resource: String,
    name: Option<String>,
    namespace: String,
    uri: String,
    code: i64,
    decision: Option<String>,
    agent: String,
    level: String,
    stage: String,
    pod: Option<String>,
    n: u64,
}

impl Audit {
    fn new(time: &str, user: &str, ip: &str) -> Audit {
        Audit {
            time: time.to_string(),
            user: Some(user.to_string()),
            ips: vec![ip.to_string()],
            verb: "get".into(),
            resource: "pods".into(),
            name: None,
            namespace: "default".into(),
            uri: "/api/v1/namespaces/default/pods".into(),
            code: 200,
            decision: Some("allow".into()),
            agent: "kubectl/v1.30.1 (linux/amd64) kubernetes/abcdef".into(),
            level: "Metadata".into(),
            stage: "ResponseComplete".into(),
            pod: None,
            n: 0,
        }
    }
    fn verb(mut self, v: &str) -> Self {
        self.verb = v.into();
        self
    }
    fn resource(mut self, r: &str) -> Self {
        self.resource = r.into();
        self
    }
    fn name(mut self, n: &str) -> Self {
        self.name = Some(n.into());
        self
    }
    fn uri(mut self, u: &str) -> Self {
        self.uri = u.into();
        self
    }
    fn code(mut self, c: i64) -> Self {
        self.code = c;
        self
    }
    fn decision(mut self, d: Option<&str>) -> Self {
        self.decision = d.map(Into::into);
        self
    }
    fn agent(mut self, a: &str) -> Self {
        self.agent = a.into();
        self
    }
    fn no_user(mut self) -> Self {
        self.user = None;
        self
    }
    fn ips(mut self, ips: &[&str]) -> Self {
        self.ips = ips.iter().map(|s| s.to_string()).collect();
        self
    }
    fn pod(mut self, p: &str) -> Self {
        self.pod = Some(p.into());
        self
    }
    fn line(&self) -> String {
        let mut user = serde_json::Map::new();
        if let Some(u) = &self.user {
            user.insert("username".into(), json!(u));
            user.insert("groups".into(), json!(["system:authenticated"]));
        } else {
            user.insert("groups".into(), json!(["system:unauthenticated"]));
        }
        if let Some(p) = &self.pod {
            user.insert(
                "extra".into(),
                json!({ "authentication.kubernetes.io/pod-name": [p] }),
            );
        }
        let mut object = serde_json::Map::new();
        object.insert("resource".into(), json!(self.resource));
        object.insert("namespace".into(), json!(self.namespace));
        object.insert("apiVersion".into(), json!("v1"));
        if let Some(n) = &self.name {
            object.insert("name".into(), json!(n));
        }
        let mut annotations = serde_json::Map::new();
        if let Some(d) = &self.decision {
            annotations.insert("authorization.k8s.io/decision".into(), json!(d));
            annotations.insert("authorization.k8s.io/reason".into(), json!(""));
        }
        let id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            fxhash(&self.time) as u32,
            fxhash(&format!("{self:?}"))
        );
        json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": self.level,
            "auditID": id,
            "stage": self.stage,
            "requestURI": self.uri,
            "verb": self.verb,
            "user": user,
            "sourceIPs": self.ips,
            "userAgent": self.agent,
            "objectRef": object,
            "responseStatus": { "metadata": {}, "code": self.code },
            "requestReceivedTimestamp": self.time,
            "stageTimestamp": self.time,
            "annotations": annotations,
        })
        .to_string()
    }
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}|{:?}|{:?}|{}|{}|{:?}|{}|{}|{:?}|{}|{:?}|{}",
            self.time,
            self.user,
            self.ips,
            self.verb,
            self.resource,
            self.name,
            self.uri,
            self.code,
            self.decision,
            self.agent,
            self.pod,
            self.n
        )
    }
}

fn fxhash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h & 0xffff_ffff_ffff
}

/// A Defend for Containers process event; like every Elastic document, its `event.ingested` has
/// whole seconds.
fn process(time: &str, name: &str, args: &[&str], pod: &str, interactive: bool) -> String {
    let ingested = format!("{}Z", &time[..19]);
    json!({
        "@timestamp": time,
        "event": { "ingested": ingested, "dataset": "cloud_defend.process", "kind": "event",
                   "category": ["process"], "type": ["start"], "action": "exec",
                   "id": format!("{time}-{name}-{pod}") },
        "process": { "name": name, "executable": format!("/usr/bin/{name}"), "args": args,
                     "interactive": interactive, "pid": 4242 },
        "container": { "id": format!("c-{pod}"), "image": { "name": "alpine" } },
        "orchestrator": { "resource": { "name": pod, "type": "pod" }, "namespace": "default" },
        "host": { "os": { "type": "linux" }, "name": "node-1" },
        "data_stream": { "dataset": "cloud_defend.process", "namespace": "default", "type": "logs" },
        "ecs": { "version": "8.7.0" },
    })
    .to_string()
}

/// One alert, reduced to what the tests compare: rule id and the group key (or member pods).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Got {
    rule: String,
    key: Vec<String>,
}

fn str_of(doc: &Document, path: &str) -> String {
    let vals: Vec<String> = doc
        .field(path)
        .iter()
        .map(|v| match v {
            Value::Str(s) => s.to_string(),
            other => other.to_json(),
        })
        .collect();
    vals.join(",")
}

const KEYS: &[(&str, &[&str])] = &[
    (
        "000",
        &["kubernetes.audit.user.username", "kubernetes.audit.sourceIPs"],
    ),
    (
        "001",
        &["kubernetes.audit.sourceIPs", "kubernetes.audit.userAgent"],
    ),
    ("002", &["user.name", "source.ip", "Esql.time_interval"]),
    ("003", &["orchestrator.resource.name"]),
    ("004", &["user.name", "source.ip"]),
];

/// Runs a hunt over audit lines and process lines as two inputs and returns the alerts.
fn hunt(audit: &[String], process: &[String]) -> (Vec<Got>, runtime::HuntReport, Vec<Map>) {
    let rules = rules::bundled();
    assert_eq!(rules.len(), 5);
    hunt_with(rules, HuntOptions::default(), audit, process)
}

fn hunt_with(
    rules: Vec<rules::Rule>,
    hunt_opts: HuntOptions,
    audit: &[String],
    process: &[String],
) -> (Vec<Got>, runtime::HuntReport, Vec<Map>) {
    hunt_inputs(rules, hunt_opts, audit, process, true)
}

/// `sort`: put each input in time order first, as a log file mostly is.
fn hunt_inputs(
    rules: Vec<rules::Rule>,
    hunt_opts: HuntOptions,
    audit: &[String],
    process: &[String],
    sort: bool,
) -> (Vec<Got>, runtime::HuntReport, Vec<Map>) {
    let ids: BTreeMap<String, String> = SEEDS
        .iter()
        .map(|(p, id)| (id.to_string(), p.to_string()))
        .collect();
    let (compiled, problems) = compile_rules(rules, &Catalog::ecs());
    assert!(problems.is_empty(), "seed rules must all compile: {problems:?}");
    let opts = sources::Options::default();
    let to_docs = |lines: &[String]| -> Vec<Result<Document, String>> {
        // Each input in time order, as a log file is (the tests list events by scenario).
        let mut lines = lines.to_vec();
        if sort {
            lines.sort_by_key(|l| line_time(l));
        }
        lines
            .iter()
            .flat_map(|l| sources::normalize_line(l.as_bytes(), &opts).expect("normalizes"))
            .map(Ok)
            .collect()
    };
    let inputs: Vec<Box<dyn Iterator<Item = Result<Document, String>>>> = vec![
        Box::new(to_docs(audit).into_iter()),
        Box::new(to_docs(process).into_iter()),
    ];
    let stream = OrderedEvents::new(inputs, 5_000_000_000);
    let mut hunt = Hunt::new(compiled, hunt_opts);
    let mut alerts = Vec::new();
    for item in stream {
        match item {
            Ordered::Event(_, d) => hunt.push(d, &mut |a| alerts.push(a)),
            Ordered::Untimed(d) => panic!("untimed event {:?}", d.source),
            Ordered::Error(e) => panic!("{e}"),
        }
    }
    let report = hunt.finish(&mut |a| alerts.push(a));
    let mut got = Vec::new();
    for a in &alerts {
        let doc = Document::new(a.clone());
        // Building-block alerts of a sequence are members, not alerts of their own.
        if doc.has("kibana.alert.building_block_type") {
            continue;
        }
        let rule_id = str_of(&doc, "kibana.alert.rule.rule_id");
        let prefix = ids.get(&rule_id).cloned().unwrap_or(rule_id);
        let fields = KEYS
            .iter()
            .find(|(p, _)| *p == prefix)
            .map(|(_, k)| *k)
            .unwrap_or(&[]);
        let key = if prefix == "003" {
            // The sequence shell alert carries the join key; fall back to the member events.
            let mut pods: Vec<String> = alerts
                .iter()
                .map(|m| Document::new(m.clone()))
                .filter(|m| {
                    m.has("kibana.alert.building_block_type")
                        && str_of(m, "kibana.alert.group.id") == str_of(&doc, "kibana.alert.group.id")
                })
                .map(|m| str_of(&m, "orchestrator.resource.name"))
                .filter(|p| !p.is_empty())
                .collect();
            pods.dedup();
            pods
        } else {
            fields.iter().map(|f| str_of(&doc, f)).collect()
        };
        got.push(Got { rule: prefix, key });
    }
    got.sort();
    (got, report, alerts)
}

/// The time of a raw audit line or a process document.
fn line_time(line: &str) -> i64 {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let t = v
        .get("requestReceivedTimestamp")
        .or_else(|| v.get("@timestamp"))
        .and_then(|t| t.as_str())
        .unwrap();
    events::time::parse_timestamp(t).unwrap()
}

fn want(rule: &str, key: &[&str]) -> Got {
    Got {
        rule: rule.into(),
        key: key.iter().map(|s| s.to_string()).collect(),
    }
}

fn t(min: u32, sec: u32) -> String {
    format!("2026-03-02T10:{min:02}:{sec:02}.000000Z")
}

/// Seed 000 activity: `uris` distinct URIs over `resources` distinct resources, one forbidden
/// request among allowed ones, `total` events in all, starting at minute `min`.
fn enumeration(user: &str, ip: &str, min: u32, uris: usize, resources: usize, total: usize) -> Vec<String> {
    let res = [
        "pods",
        "secrets",
        "configmaps",
        "nodes",
        "services",
        "deployments",
    ];
    (0..total)
        .map(|i| {
            let r = res[i % resources];
            let u = format!("/api/v1/probe{}", i % uris);
            let decision = if i == 0 { "forbid" } else { "allow" };
            let code = if i == 0 { 403 } else { 200 };
            let mut a = Audit::new(&t(min, (i % 55) as u32), user, ip)
                .verb("list")
                .resource(r)
                .uri(&u)
                .code(code)
                .decision(Some(decision));
            a.n = i as u64;
            a.line()
        })
        .collect()
}

#[test]
fn seed_000_thresholds_on_both_sides() {
    // Positive: 6 URIs, 4 resources, both decisions, 12 events, all in window 10:05.
    let mut lines = enumeration("alice", "10.1.0.5", 1, 6, 4, 12);
    // 5 distinct URIs: not more than 5.
    lines.extend(enumeration("bob", "10.1.0.6", 1, 5, 4, 12));
    // 3 resources: not more than 3.
    lines.extend(enumeration("carol", "10.1.0.7", 1, 6, 3, 12));
    // 74 events fire; 75 do not (count < 75).
    lines.extend(enumeration("dave", "10.1.0.8", 21, 6, 4, 74));
    lines.extend(enumeration("erin", "10.1.0.9", 21, 6, 4, 75));
    let (got, _, _) = hunt(&lines, &[]);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "000").collect();
    assert_eq!(
        got,
        vec![
            want("000", &["alice", "10.1.0.5"]),
            want("000", &["dave", "10.1.0.8"])
        ]
    );
}

#[test]
fn seed_000_one_decision_only_is_silent() {
    let lines: Vec<String> = enumeration("frank", "10.1.1.1", 1, 8, 5, 20)
        .into_iter()
        .map(|l| {
            l.replace("\"forbid\"", "\"allow\"")
                .replace("\"code\":403", "\"code\":200")
        })
        .collect();
    let (got, _, _) = hunt(&lines, &[]);
    assert!(got.iter().all(|g| g.rule != "000"), "{got:?}");
}

#[test]
fn seed_000_multi_valued_source_ips_put_the_activity_in_each_group() {
    let lines: Vec<String> = enumeration("gina", "10.2.0.1", 1, 6, 4, 12)
        .into_iter()
        .map(|l| {
            l.replace(
                "\"sourceIPs\":[\"10.2.0.1\"]",
                "\"sourceIPs\":[\"10.2.0.1\",\"10.2.0.2\"]",
            )
        })
        .collect();
    assert!(lines[0].contains("10.2.0.2"));
    let (got, _, _) = hunt(&lines, &[]);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "000").collect();
    assert_eq!(
        got,
        vec![
            want("000", &["gina", "10.2.0.1"]),
            want("000", &["gina", "10.2.0.2"])
        ]
    );
}

#[test]
fn overlapping_windows_raise_one_alert() {
    // 10:04:00–10:04:54 lies in the windows of ticks 10:05 ([9:59,10:05)) and 10:10 ([10:04,10:10)).
    let lines = enumeration("hank", "10.3.0.1", 4, 6, 4, 12);
    let (got, report, alerts) = hunt(&lines, &[]);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "000").collect();
    assert_eq!(got, vec![want("000", &["hank", "10.3.0.1"])]);
    let r = seed_report(&report, "000");
    assert_eq!(r.alerts, 1);
    assert!(
        r.duplicates_suppressed >= 1,
        "the second window saw the same activity: {r:?}"
    );
    // The alert is explained by its window and contributing events.
    let doc = Document::new(alerts[0].clone());
    assert!(doc.has("crowsnest.window.start") && doc.has("crowsnest.window.end"));
    assert!(!doc.field("crowsnest.event_ids").is_empty());
}

#[test]
fn activity_outside_every_window_boundary_is_seen_once_per_window_it_completes_in() {
    // Two separate bursts by the same user and IP, 20 minutes apart: two activities, two alerts.
    let mut lines = enumeration("ivan", "10.4.0.1", 1, 6, 4, 12);
    lines.extend(enumeration("ivan", "10.4.0.1", 21, 6, 4, 12));
    let (got, _, _) = hunt(&lines, &[]);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "000").collect();
    assert_eq!(
        got,
        vec![
            want("000", &["ivan", "10.4.0.1"]),
            want("000", &["ivan", "10.4.0.1"])
        ]
    );
}

/// Seed 001 activity: anonymous requests from one IP and agent.
fn anonymous(
    ip: &str,
    agent: &str,
    min: u32,
    uris: usize,
    resources: usize,
    total: usize,
    code: i64,
) -> Vec<String> {
    let res = [
        "pods",
        "secrets",
        "configmaps",
        "nodes",
        "services",
        "deployments",
    ];
    (0..total)
        .map(|i| {
            let r = res[i % resources];
            let mut a = Audit::new(&t(min, (i % 55) as u32), "", ip)
                .no_user()
                .agent(agent)
                .resource(r)
                .uri(&format!("/api/v1/x{}", i % uris))
                .code(code)
                .decision(None);
            a.level = "Request".into();
            a.n = i as u64;
            a.line()
        })
        .collect()
}

#[test]
fn seed_001_anonymous_enumeration_and_its_edges() {
    // 401 with no user and no decision: the status fallback counts it as a failure.
    let mut lines = anonymous("203.0.113.5", "curl/8.0", 1, 6, 4, 10, 401);
    // 49 events fire, 50 do not (count < 50).
    lines.extend(anonymous("203.0.113.6", "curl/8.1", 21, 6, 4, 49, 401));
    lines.extend(anonymous("203.0.113.7", "curl/8.2", 21, 6, 4, 50, 401));
    // 5 distinct URIs: silent.
    lines.extend(anonymous("203.0.113.8", "curl/8.3", 41, 5, 4, 10, 401));
    // All successful: no failure, no forbid, no not-found: silent.
    lines.extend(anonymous("203.0.113.9", "curl/8.4", 41, 6, 4, 10, 200));
    // Three 404s are enough.
    lines.extend(anonymous("203.0.113.10", "curl/8.5", 1, 6, 4, 10, 404));
    let (got, _, _) = hunt(&lines, &[]);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "001").collect();
    assert_eq!(
        got,
        vec![
            want("001", &["203.0.113.10", "curl/8.5"]),
            want("001", &["203.0.113.5", "curl/8.0"]),
            want("001", &["203.0.113.6", "curl/8.1"]),
        ]
    );
}

/// Seed 002 activity: gets/lists of `resources` by one identity within one minute.
fn recon(user: &str, ip: &str, min: u32, sec: u32, resources: &[&str]) -> Vec<String> {
    resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Audit::new(&t(min, sec + i as u32), user, ip)
                .verb("list")
                .resource(r)
                .uri(&format!("/api/v1/{r}"))
                .line()
        })
        .collect()
}

#[test]
fn seed_002_recon_and_every_exclusion() {
    let three = ["pods", "secrets", "configmaps"];
    let three_listed = ["pods", "nodes", "configmaps"];
    let mut lines = recon("mallory", "198.51.100.7", 1, 10, &three_listed);
    // Two resources: silent.
    lines.extend(recon("nina", "198.51.100.8", 1, 10, &["pods", "nodes"]));
    // secrets is not in the rule's resource list: pods + configmaps only.
    lines.extend(recon("oscar", "198.51.100.9", 1, 10, &three));
    // Loopback sources.
    lines.extend(recon("paul", "127.0.0.1", 1, 10, &three_listed));
    lines.extend(recon("quinn", "::1", 1, 10, &three_listed));
    // Excluded identities: the rlike prefixes and the flux/trivy controllers.
    for user in [
        "system:serviceaccount:kube-system:replicaset-controller",
        "eks:node-manager",
        "system:kube-controller-manager",
        "system:node:aks-default-123",
        "system:serviceaccount:flux-system:helm-controller",
        "system:serviceaccount:security:trivy-operator",
    ] {
        lines.extend(recon(user, "10.9.0.1", 1, 10, &three_listed));
    }
    // Spread over two minute buckets (2 + 1): each bucket has fewer than 3 resources.
    lines.extend(recon("rita", "198.51.100.11", 1, 58, &["pods", "nodes"]));
    lines.extend(recon("rita", "198.51.100.11", 2, 1, &["roles"]));
    let (got, _, _) = hunt(&lines, &[]);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "002").collect();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].key[..2],
        ["mallory".to_string(), "198.51.100.7".to_string()]
    );
}

#[test]
fn seed_002_bucket_seen_by_three_windows_raises_once() {
    // from now-11m, interval 5m: the minute 10:01 lies in the windows of ticks 10:05, 10:10.
    let lines = recon(
        "sam",
        "198.51.100.20",
        1,
        10,
        &["pods", "nodes", "roles", "namespaces"],
    );
    let (got, report, _) = hunt(&lines, &[]);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "002").collect();
    assert_eq!(got.len(), 1, "{got:?}");
    let r = seed_report(&report, "002");
    assert!(r.duplicates_suppressed >= 1, "{r:?}");
}

#[test]
fn seed_002_user_name_null_is_silent() {
    // No user at all: user.name is null.
    let lines: Vec<String> = ["pods", "nodes", "roles"]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Audit::new(&t(1, 10 + i as u32), "", "198.51.100.30")
                .no_user()
                .verb("get")
                .resource(r)
                .line()
        })
        .collect();
    let (got, _, _) = hunt(&lines, &[]);
    assert!(got.iter().all(|g| g.rule != "002"), "{got:?}");
}

fn secrets(user: &str, ip: &str, min: u32, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Audit::new(&t(min, 5 + 3 * i as u32), user, ip)
                .verb("get")
                .resource("secrets")
                .name(n)
                .uri(&format!("/api/v1/namespaces/default/secrets/{n}"))
                .line()
        })
        .collect()
}

#[test]
fn seed_004_secret_burst_and_its_edges() {
    let mut lines = secrets("trudy", "192.0.2.10", 1, &["db", "api-token", "tls"]);
    // Two distinct secrets (one read twice): silent.
    lines.extend(secrets("uma", "192.0.2.11", 1, &["db", "db", "api-token"]));
    // Helm release secrets do not count.
    lines.extend(secrets(
        "victor",
        "192.0.2.12",
        1,
        &["db", "sh.helm.release.v1.app.v1", "sh.helm.release.v1.app.v2"],
    ));
    // Excluded users and loopback.
    lines.extend(secrets(
        "system:kube-controller-manager",
        "192.0.2.13",
        1,
        &["a", "b", "c"],
    ));
    lines.extend(secrets("walt", "127.0.0.1", 1, &["a", "b", "c"]));
    // list is not get.
    lines.extend(
        secrets("xena", "192.0.2.14", 1, &["a", "b", "c"])
            .into_iter()
            .map(|l| l.replace("\"verb\":\"get\"", "\"verb\":\"list\"")),
    );
    let (got, _, _) = hunt(&lines, &[]);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "004").collect();
    assert_eq!(got, vec![want("004", &["trudy", "192.0.2.10"])]);
}

#[test]
fn seed_004_multi_valued_source_ip_is_dropped_by_the_to_string_null_rule() {
    // to_string() of a two-valued source.ip is null (with a warning); `not null in (...)` is
    // null, so WHERE drops every event (NOTES §3; Elasticsearch's multi-value semantics).
    let lines: Vec<String> = ["db", "api-token", "tls"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Audit::new(&t(1, 5 + i as u32), "yuri", "192.0.2.20")
                .ips(&["192.0.2.20", "10.0.0.1"])
                .verb("get")
                .resource("secrets")
                .name(n)
                .line()
        })
        .collect();
    let (got, report, _) = hunt(&lines, &[]);
    assert!(got.iter().all(|g| g.rule != "004"), "{got:?}");
    assert!(seed_report(&report, "004").events_in_scope >= 3);
    let warnings = &seed_report(&report, "004").warnings;
    assert!(
        warnings.iter().any(|w| w.contains("multi-value")),
        "the warning reaches the report: {warnings:?}"
    );
    // The same burst from a single address fires.
    let single: Vec<String> = lines.iter().map(|l| l.replace(",\"10.0.0.1\"", "")).collect();
    assert_ne!(single, lines);
    let (got, _, _) = hunt(&single, &[]);
    assert_eq!(
        got.into_iter().filter(|g| g.rule == "004").collect::<Vec<_>>(),
        vec![want("004", &["yuri", "192.0.2.20"])]
    );
}

fn forbidden(time: &str, pod: &str) -> String {
    let mut a = Audit::new(
        time,
        &format!("system:serviceaccount:default:{pod}"),
        "10.244.1.7",
    )
    .verb("list")
    .resource("secrets")
    .code(403)
    .decision(Some("forbid"))
    .pod(pod);
    a.n = 1;
    a.line()
}

fn ts(min: u32, ms: u32) -> String {
    format!("2026-03-02T10:{min:02}:{:02}.{:03}000Z", ms / 1000, ms % 1000)
}

#[test]
fn seed_003_interactive_tool_then_forbidden_request_from_the_same_pod() {
    let process_lines = vec![
        // Fires: curl, then a forbidden request 1 s later exactly (maxspan is inclusive).
        process(
            &ts(1, 10_000),
            "curl",
            &["curl", "-k", "https://kubernetes.default"],
            "pod-a",
            true,
        ),
        // Over 1 s on the rule's time field, event.ingested (whole seconds): 10:21:10 → 10:21:12.
        process(&ts(21, 10_000), "curl", &["curl"], "pod-b", true),
        // Pod mismatch: silent.
        process(&ts(41, 10_000), "wget", &["wget"], "pod-c", true),
        // Shell running curl as an argument: fires.
        process(&ts(1, 30_000), "sh", &["sh", "-c", "curl"], "pod-d", true),
        // Not interactive: silent.
        process(&ts(1, 40_000), "curl", &["curl"], "pod-e", false),
        // Shell running `which curl`: excluded.
        process(&ts(1, 50_000), "bash", &["bash", "which", "curl"], "pod-f", true),
    ];
    let audit_lines = vec![
        forbidden(&ts(1, 11_000), "pod-a"),
        forbidden(&ts(21, 12_000), "pod-b"),
        forbidden(&ts(41, 10_500), "pod-x"),
        forbidden(&ts(1, 30_400), "pod-d"),
        forbidden(&ts(1, 40_100), "pod-e"),
        forbidden(&ts(1, 50_100), "pod-f"),
        // Wrong order: the request (10:51:09) before the process (10:51:10).
        forbidden(&ts(51, 9_500), "pod-g"),
    ];
    let mut process_lines = process_lines;
    process_lines.push(process(&ts(51, 10_000), "curl", &["curl"], "pod-g", true));
    let (got, report, _) = hunt(&audit_lines, &process_lines);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "003").collect();
    assert_eq!(got, vec![want("003", &["pod-a"]), want("003", &["pod-d"])]);
    assert_eq!(seed_report(&report, "003").late, 0);
}

#[test]
fn seed_003_same_second_keeps_the_order_of_sub_second_timestamps() {
    // event.ingested ties (10:01:30 both); @timestamp orders them: process, then request.
    let process_lines = vec![process(&ts(1, 30_000), "curl", &["curl"], "pod-s", true)];
    let audit_lines = vec![forbidden(&ts(1, 30_400), "pod-s")];
    let (got, _, _) = hunt(&audit_lines, &process_lines);
    assert_eq!(
        got.into_iter().filter(|g| g.rule == "003").collect::<Vec<_>>(),
        vec![want("003", &["pod-s"])]
    );
    // The other way round within the same second: the request came first, no sequence.
    let process_lines = vec![process(&ts(1, 30_400), "curl", &["curl"], "pod-s", true)];
    let audit_lines = vec![forbidden(&ts(1, 30_000), "pod-s")];
    let (got, _, _) = hunt(&audit_lines, &process_lines);
    assert!(got.iter().all(|g| g.rule != "003"), "{got:?}");
}

#[test]
fn seed_003_sources_out_of_order_still_correlate() {
    // The audit input runs ahead of the process input by seconds: the ordered merge and the
    // engine's lateness buffer repair it.
    let audit_lines = vec![
        forbidden(&ts(1, 10_200), "pod-z"),
        Audit::new(&ts(1, 14_000), "x", "10.0.0.1").line(),
    ];
    let process_lines = vec![process(
        &ts(1, 10_000),
        "kubectl",
        &["kubectl", "get", "secrets"],
        "pod-z",
        true,
    )];
    let (got, _, _) = hunt(&audit_lines, &process_lines);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "003").collect();
    assert_eq!(got, vec![want("003", &["pod-z"])]);
}

#[test]
fn alerts_carry_rule_metadata_and_reason() {
    let lines = secrets("trudy", "192.0.2.10", 1, &["db", "api-token", "tls"]);
    let (_, _, alerts) = hunt(&lines, &[]);
    assert_eq!(alerts.len(), 1);
    let doc = Document::new(alerts[0].clone());
    for f in [
        "@timestamp",
        "kibana.alert.uuid",
        "kibana.alert.rule.name",
        "kibana.alert.rule.rule_id",
        "kibana.alert.rule.severity",
        "kibana.alert.rule.risk_score",
        "kibana.alert.rule.threat",
        "kibana.alert.severity",
        "kibana.alert.risk_score",
        "kibana.alert.reason",
    ] {
        assert!(
            doc.has(f),
            "alert lacks {f}: {}",
            Value::Object(alerts[0].clone()).to_json()
        );
    }
    assert_eq!(str_of(&doc, "Esql.unique_credentials"), "3");
}

/// Seed 004 with `max_signals = 1`.
fn seed_004_capped() -> rules::Rule {
    let r = rules::bundled()
        .into_iter()
        .find(|r| r.rule_id == SEEDS[4].1)
        .unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../rules/004_credential_access_kubernetes_multiple_secret_retrieval_burst.toml"
    ))
    .unwrap();
    let capped = text.replace("from = \"now-6m\"", "from = \"now-6m\"\nmax_signals = 1");
    assert_ne!(capped, text);
    let rule = rules::parse_rule(&capped, "capped.toml").unwrap();
    assert_eq!((rule.rule_id.as_str(), rule.max_signals), (r.rule_id.as_str(), 1));
    rule
}

#[test]
fn max_signals_caps_alerts_per_tick_and_reports_the_cut() {
    // Two bursts by different users in the same window: one alert, one cut.
    let mut lines = secrets("trudy", "192.0.2.10", 1, &["db", "api-token", "tls"]);
    lines.extend(secrets("ursula", "192.0.2.11", 2, &["db", "api-token", "tls"]));
    let (got, report, _) = hunt_with(vec![seed_004_capped()], HuntOptions::default(), &lines, &[]);
    assert_eq!(got.len(), 1, "{got:?}");
    let r = seed_report(&report, "004");
    assert_eq!((r.alerts, r.truncated_ticks, r.truncated_alerts), (1, 1, 1));
    // In different ticks, both fire.
    let mut lines = secrets("trudy", "192.0.2.10", 1, &["db", "api-token", "tls"]);
    lines.extend(secrets("ursula", "192.0.2.11", 21, &["db", "api-token", "tls"]));
    let (got, _, _) = hunt_with(vec![seed_004_capped()], HuntOptions::default(), &lines, &[]);
    assert_eq!(got.len(), 2, "{got:?}");
}

#[test]
fn from_and_to_restrict_the_replayed_range() {
    let mut lines = secrets("trudy", "192.0.2.10", 1, &["db", "api-token", "tls"]);
    lines.extend(secrets("ursula", "192.0.2.11", 21, &["db", "api-token", "tls"]));
    let opts = HuntOptions {
        from: events::time::parse_timestamp("2026-03-02T10:20:00Z"),
        to: events::time::parse_timestamp("2026-03-02T10:30:00Z"),
        ..HuntOptions::default()
    };
    let (got, report, _) = hunt_with(rules::bundled(), opts, &lines, &[]);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "004").collect();
    assert_eq!(got, vec![want("004", &["ursula", "192.0.2.11"])]);
    assert_eq!(report.out_of_range, 3);
}

#[test]
fn a_long_request_logged_late_still_counts_within_the_grace() {
    // The third secret read is a slow request: logged after newer events, dated when it began.
    let mut lines = secrets("trudy", "192.0.2.10", 1, &["db", "api-token"]);
    let slow = secrets("trudy", "192.0.2.10", 1, &["x", "y", "tls"])
        .pop()
        .unwrap();
    lines.extend((0..5).map(|i| Audit::new(&t(9, i * 10), "bob", "10.0.0.9").line()));
    lines.push(slow);
    // In log order: the slow request's line comes 8 minutes after its time.
    let (got, report, _) = hunt_inputs(rules::bundled(), HuntOptions::default(), &lines, &[], false);
    let got: Vec<Got> = got.into_iter().filter(|g| g.rule == "004").collect();
    assert_eq!(got, vec![want("004", &["trudy", "192.0.2.10"])]);
    assert_eq!(seed_report(&report, "004").late, 0);
    // With no grace, the window closed before it arrived: counted as late, no alert.
    let opts = HuntOptions {
        window_grace: 0,
        ..HuntOptions::default()
    };
    let (got, _, _) = hunt_inputs(rules::bundled(), opts, &lines, &[], false);
    assert!(got.iter().all(|g| g.rule != "004"), "{got:?}");
}
