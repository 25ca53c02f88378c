//! Shared test helpers: generating into memory, parsing lines, and a small oracle of the five seed
//! rules (a direct transcription of their filters, groupings and thresholds over the raw events,
//! with Kibana's schedule: 5-minute ticks aligned to the epoch, 6-minute lookback, 11 for seed
//! 002). It is NOT the engine; it checks that the generator's output has the shape the truth
//! record claims.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use r#gen::{Config, Truth, generate};
use serde_json::Value;

pub const NS: i64 = 1_000_000_000;

pub struct Run {
    pub audit: Vec<u8>,
    pub process: Vec<u8>,
    pub truth: Truth,
}

pub fn run(cfg: &Config) -> Run {
    let mut audit = Vec::new();
    let mut process = Vec::new();
    let truth = generate(cfg, &mut audit, Some(&mut process)).expect("generate");
    Run {
        audit,
        process,
        truth,
    }
}

pub fn lines(b: &[u8]) -> Vec<Value> {
    b.split(|c| *c == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(l))))
        .collect()
}

pub fn ts(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{e}: {s}"))
        .timestamp_nanos_opt()
        .unwrap_or(0)
}

pub const R000: &str = "a337c3f8-e264-4eb4-9998-22669ca52791";
pub const R001: &str = "2dd0d4fd-0cc9-4d18-8b46-1a507e28bbc0";
pub const R002: &str = "c2a91e88-4f4b-4e1d-9c7b-8fde112a9403";
pub const R003: &str = "5d1c962d-5d2a-48d4-bdcf-e980e3914947";
pub const R004: &str = "b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c";

/// One audit event, normalized the way Elastic's pipeline does for the fields the seeds use.
#[derive(Clone, Debug)]
pub struct Doc {
    pub t: i64,
    pub stage: String,
    pub verb: String,
    pub username: Option<String>,
    pub ips: Vec<String>,
    pub ua: String,
    pub level: String,
    pub uri: String,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub decision: Option<String>,
    pub code: Option<i64>,
    pub pod: Option<String>,
}

fn s(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

pub fn doc(e: &Value) -> Doc {
    let o = &e["objectRef"];
    Doc {
        t: ts(e["requestReceivedTimestamp"].as_str().unwrap()),
        stage: e["stage"].as_str().unwrap().into(),
        verb: e["verb"].as_str().unwrap().into(),
        username: s(&e["user"]["username"]),
        ips: e["sourceIPs"].as_array().unwrap().iter().filter_map(s).collect(),
        ua: e["userAgent"].as_str().unwrap_or("").into(),
        level: e["level"].as_str().unwrap().into(),
        uri: e["requestURI"].as_str().unwrap().into(),
        resource: s(&o["resource"]),
        namespace: s(&o["namespace"]),
        name: s(&o["name"]),
        decision: s(&e["annotations"]["authorization.k8s.io/decision"]),
        code: e["responseStatus"]["code"].as_i64(),
        pod: s(&e["user"]["extra"]["authentication.kubernetes.io/pod-name"][0]),
    }
}

/// An alert of the oracle: rule id, group key text, and the window's tick (0 for seed 003).
pub type Alert = (&'static str, String, i64);

const RECON: [&str; 9] = [
    "namespaces",
    "nodes",
    "pods",
    "roles",
    "configmaps",
    "serviceaccounts",
    "clusterroles",
    "clusterrolebindings",
    "rolebindings",
];

fn excluded_002(u: &str) -> bool {
    let prefixes = [
        "system:serviceaccount:kube-system:",
        "eks:",
        "system:kube-",
        "system:serviceaccount:kube-system:azure",
        "system:node:aks-default",
        "aksService",
    ];
    prefixes.iter().any(|p| u.starts_with(p))
        || (u.starts_with("arn:aws:sts::") && u.contains(":assumed-role/AWSServiceRoleForAmazonEKS/"))
        || [
            "system:serviceaccount:flux-system:kustomize-controller",
            "system:serviceaccount:flux-system:helm-controller",
            "system:serviceaccount:flux-system:source-controller",
            "system:serviceaccount:security:trivy-operator",
        ]
        .contains(&u)
}

fn single_non_loopback(d: &Doc) -> Option<&str> {
    match d.ips.as_slice() {
        [ip] if ip != "127.0.0.1" && ip != "::1" => Some(ip),
        _ => None,
    }
}

/// Evaluates the five seeds over `docs` (sorted by time) and the process documents.
pub fn oracle(docs: &[Doc], procs: &[Value]) -> Vec<Alert> {
    let mut alerts = Vec::new();
    if docs.is_empty() {
        return alerts;
    }
    let tick = 300 * NS;
    let tmin = docs.first().unwrap().t;
    let tmax = docs.iter().map(|d| d.t).max().unwrap();
    let at = |t: i64| docs.partition_point(|d| d.t < t);
    let mut tk = (tmin / tick + 1) * tick;
    while tk <= tmax + 12 * 60 * NS {
        let w6 = &docs[at(tk - 360 * NS)..at(tk)];
        // 000
        let mut g: HashMap<(Option<String>, String), Vec<&Doc>> = HashMap::new();
        for d in w6 {
            if d.stage == "ResponseComplete"
                && ["get", "list", "watch", "create", "update", "patch"].contains(&d.verb.as_str())
            {
                for ip in &d.ips {
                    g.entry((d.username.clone(), ip.clone())).or_default().push(d);
                }
            }
        }
        for (k, v) in g {
            let dec: BTreeSet<_> = v.iter().filter_map(|d| d.decision.clone()).collect();
            let uris: BTreeSet<_> = v.iter().map(|d| d.uri.clone()).collect();
            let res: BTreeSet<_> = v.iter().filter_map(|d| d.resource.clone()).collect();
            if dec.len() == 2 && uris.len() > 5 && res.len() > 3 && v.len() < 75 {
                alerts.push((R000, format!("{}|{}", k.0.unwrap_or_default(), k.1), tk));
            }
        }
        // 001
        let mut g: HashMap<(String, String), Vec<&Doc>> = HashMap::new();
        for d in w6 {
            let anon = match &d.username {
                None => true,
                Some(u) => u == "system:anonymous" || u == "system:unauthenticated",
            };
            if anon && ["RequestResponse", "ResponseComplete", "Request"].contains(&d.level.as_str()) {
                for ip in &d.ips {
                    g.entry((ip.clone(), d.ua.clone())).or_default().push(d);
                }
            }
        }
        for (k, v) in g {
            let (mut forbid, mut fail, mut nf) = (0, 0, 0);
            for d in &v {
                match (d.decision.as_deref(), d.code) {
                    (Some("allow"), _) => {}
                    (Some("forbid"), _) => forbid += 1,
                    (_, Some(401 | 403)) => fail += 1,
                    (_, Some(404)) => nf += 1,
                    _ => {}
                }
            }
            let uris: BTreeSet<_> = v.iter().map(|d| d.uri.clone()).collect();
            let res: BTreeSet<_> = v.iter().filter_map(|d| d.resource.clone()).collect();
            if uris.len() > 5 && res.len() > 3 && v.len() < 50 && (forbid >= 1 || fail >= 1 || nf >= 3) {
                alerts.push((R001, format!("{}|{}", k.0, k.1), tk));
            }
        }
        // 002
        let w11 = &docs[at(tk - 660 * NS)..at(tk)];
        let mut g: HashMap<String, BTreeSet<String>> = HashMap::new();
        for d in w11 {
            let (Some(u), Some(ip), Some(r)) = (&d.username, single_non_loopback(d), &d.resource) else {
                continue;
            };
            if (d.verb == "get" || d.verb == "list") && RECON.contains(&r.as_str()) && !excluded_002(u) {
                let minute = d.t - d.t.rem_euclid(60 * NS);
                g.entry(format!("{u}|{ip}|{}|{minute}", d.ua))
                    .or_default()
                    .insert(r.clone());
            }
        }
        for (k, v) in g {
            if v.len() >= 3 {
                alerts.push((R002, k, 0));
            }
        }
        // 004
        let mut g: HashMap<String, BTreeSet<String>> = HashMap::new();
        for d in w6 {
            let (Some(u), Some(ip)) = (&d.username, single_non_loopback(d)) else {
                continue;
            };
            let name = d.name.clone().unwrap_or_default();
            if d.verb == "get"
                && d.resource.as_deref() == Some("secrets")
                && u != "system:kube-controller-manager"
                && u != "system:kube-scheduler"
                && !name.starts_with("sh.helm.release.")
            {
                g.entry(format!("{u}|{ip}|{}", d.ua)).or_default().insert(name);
            }
        }
        for (k, v) in g {
            if v.len() >= 3 {
                alerts.push((R004, k, tk));
            }
        }
        tk += tick;
    }
    alerts.sort();
    alerts.dedup();
    alerts.extend(oracle_003(docs, procs));
    alerts
}

fn oracle_003(docs: &[Doc], procs: &[Value]) -> Vec<Alert> {
    let tools = ["wget", "curl", "openssl", "socat", "ncat", "kubectl"];
    let shells = [
        "bash", "dash", "sh", "tcsh", "csh", "zsh", "ksh", "fish", "busybox",
    ];
    let with_dirs = |names: &[&str]| -> BTreeSet<String> {
        names
            .iter()
            .flat_map(|n| {
                [
                    n.to_string(),
                    format!("/bin/{n}"),
                    format!("/usr/bin/{n}"),
                    format!("/usr/local/bin/{n}"),
                ]
            })
            .collect()
    };
    let listed = with_dirs(&[
        "wget",
        "ssl_client",
        "curl",
        "openssl",
        "socat",
        "ncat",
        "kubectl",
    ]);
    let excluded = with_dirs(&["which", "man", "chmod", "chown"]);
    let mut ev: Vec<(i64, u8, String)> = Vec::new();
    for p in procs {
        let pr = &p["process"];
        let name = pr["name"].as_str().unwrap_or("");
        let args: Vec<&str> = pr["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let stage1 = p["host"]["os"]["type"] == "linux"
            && p["event"]["type"] == "start"
            && p["event"]["action"] == "exec"
            && pr["interactive"] == true
            && p["container"]["id"].is_string()
            && (tools.contains(&name)
                || (shells.contains(&name)
                    && args.iter().any(|a| listed.contains(*a))
                    && !args.iter().any(|a| excluded.contains(*a))));
        if stage1 {
            let t = ts(p["event"]["ingested"].as_str().unwrap());
            ev.push((
                t,
                0,
                p["orchestrator"]["resource"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            ));
        }
    }
    for d in docs {
        if (d.stage == "ResponseComplete" || d.stage == "ResponseStarted")
            && d.decision.as_deref() == Some("forbid")
            && let Some(p) = &d.pod
        {
            ev.push((d.t, 1, p.clone()));
        }
    }
    ev.sort();
    let mut pending: HashMap<String, i64> = HashMap::new();
    let mut out = Vec::new();
    for (t, stage, key) in ev {
        if stage == 0 {
            pending.insert(key, t);
        } else if let Some(t0) = pending.get(&key).copied()
            && t - t0 <= NS
        {
            pending.remove(&key);
            out.push((R003, key, 0));
        }
    }
    out
}

/// The oracle's key text for an incident's group.
pub fn incident_key(rule: &str, g: &BTreeMap<String, Value>) -> String {
    let f = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match rule {
        R000 => format!(
            "{}|{}",
            f("kubernetes.audit.user.username"),
            f("kubernetes.audit.sourceIPs")
        ),
        R001 => format!(
            "{}|{}",
            f("kubernetes.audit.sourceIPs"),
            f("kubernetes.audit.userAgent")
        ),
        R002 => format!(
            "{}|{}|{}|{}",
            f("user.name"),
            f("source.ip"),
            f("user_agent.original"),
            ts(&f("Esql.time_interval"))
        ),
        R003 => f("orchestrator.resource.name"),
        _ => format!(
            "{}|{}|{}",
            f("user.name"),
            f("source.ip"),
            f("user_agent.original")
        ),
    }
}

/// FNV-1a 64 of bytes.
pub fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
