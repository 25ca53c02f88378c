//! The `crowsnest` binary end to end: the README's first command on the shipped sample raises
//! exactly the alerts the generator's truth file lists, and the other subcommands behave.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn crowsnest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crowsnest"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn field<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    // Alerts may hold dotted keys or nested objects; try the dotted key, then walk.
    if let Some(x) = v.get(path) {
        return Some(x);
    }
    let (head, rest) = path.split_once('.')?;
    // Longest dotted prefix that is a key.
    let obj = v.as_object()?;
    let mut best: Option<(&str, &serde_json::Value)> = None;
    for (k, x) in obj {
        if path.starts_with(k.as_str())
            && path[k.len()..].starts_with('.')
            && best.is_none_or(|(b, _)| k.len() > b.len())
        {
            best = Some((k, x));
        }
    }
    match best {
        Some((k, x)) => field(x, &path[k.len() + 1..]),
        None => field(obj.get(head)?, rest),
    }
}

fn as_strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        None | Some(serde_json::Value::Null) => vec![],
        Some(serde_json::Value::Array(a)) => a.iter().flat_map(|x| as_strings(Some(x))).collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(other) => vec![other.to_string()],
    }
}

#[test]
fn hunt_on_the_shipped_sample_raises_exactly_the_truth() {
    let out = crowsnest(&[
        "hunt",
        "samples/audit.log",
        "samples/process.ndjson",
        "--format",
        "ndjson",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("samples/truth.json")).unwrap()).unwrap();
    let alerts: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("ndjson alert"))
        .filter(|a: &serde_json::Value| field(a, "kibana.alert.building_block_type").is_none())
        .collect();
    let incidents = truth["incidents"].as_array().expect("incidents");
    assert!(!incidents.is_empty());
    let mut unmatched: Vec<&serde_json::Value> = alerts.iter().collect();
    for inc in incidents {
        let rule_id = inc["rule_id"].as_str().unwrap();
        let group = inc["group"].as_object().unwrap();
        let pos = unmatched.iter().position(|a| {
            as_strings(field(a, "kibana.alert.rule.rule_id")) == [rule_id]
                && group.iter().all(|(k, v)| {
                    let want = as_strings(Some(v));
                    // A sequence's shell alert names its pod through the join keys.
                    let mut got = as_strings(field(a, k));
                    got.extend(as_strings(field(a, "crowsnest.sequence.join_keys")));
                    want.iter().all(|w| got.contains(w))
                })
        });
        match pos {
            Some(i) => {
                unmatched.remove(i);
            }
            None => panic!("no alert for incident {inc}\nstderr:\n{}", stderr(&out)),
        }
    }
    assert!(
        unmatched.is_empty(),
        "alerts beyond the truth (near misses must stay silent): {:#?}",
        unmatched
            .iter()
            .map(|a| (
                as_strings(field(a, "kibana.alert.rule.name")),
                as_strings(field(a, "kibana.alert.reason"))
            ))
            .collect::<Vec<_>>()
    );
    // Every seed rule fires at least once on the sample.
    let bundled = crowsnest(&["rules", "list"]);
    assert!(bundled.status.success());
    for id in [
        "a337c3f8-e264-4eb4-9998-22669ca52791",
        "2dd0d4fd-0cc9-4d18-8b46-1a507e28bbc0",
        "c2a91e88-4f4b-4e1d-9c7b-8fde112a9403",
        "5d1c962d-5d2a-48d4-bdcf-e980e3914947",
        "b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c",
    ] {
        assert!(
            alerts
                .iter()
                .any(|a| as_strings(field(a, "kibana.alert.rule.rule_id")) == [id]),
            "seed rule {id} never fires on the sample"
        );
    }
    let err = stderr(&out);
    assert!(err.contains("alerts in total"), "summary on stderr: {err}");
}

#[test]
fn hunt_is_deterministic() {
    let a = crowsnest(&[
        "hunt",
        "samples/audit.log",
        "samples/process.ndjson",
        "-f",
        "ndjson",
        "-q",
    ]);
    let b = crowsnest(&[
        "hunt",
        "samples/process.ndjson",
        "samples/audit.log",
        "-f",
        "ndjson",
        "-q",
    ]);
    assert!(a.status.success() && b.status.success());
    let ids = |o: &Output| {
        let mut v: Vec<String> = stdout(o)
            .lines()
            .map(|l| {
                let a: serde_json::Value = serde_json::from_str(l).unwrap();
                as_strings(field(&a, "kibana.alert.uuid")).join(",")
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&a), ids(&b), "input order must not change the alerts");
}

#[test]
fn normalize_projects_fields() {
    let out = crowsnest(&[
        "normalize",
        "samples/audit.log",
        "--fields",
        "user.name,source.ip,event.action",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = stdout(&out).lines().next().expect("a document").to_string();
    let doc: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(field(&doc, "event.action").is_some(), "{first}");
    assert!(
        field(&doc, "kubernetes.audit.requestURI").is_none(),
        "projected away: {first}"
    );
}

#[test]
fn strict_mode_stops_with_exit_code_2_on_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.log");
    let good = std::fs::read_to_string(root().join("samples/audit.log")).unwrap();
    let mut text: String = good.lines().take(3).map(|l| format!("{l}\n")).collect();
    text.push_str("{not json\n");
    text.extend(good.lines().skip(3).take(3).map(|l| format!("{l}\n")));
    std::fs::write(&p, text).unwrap();
    let lenient = crowsnest(&["normalize", p.to_str().unwrap()]);
    assert!(lenient.status.success(), "{}", stderr(&lenient));
    assert_eq!(stdout(&lenient).lines().count(), 6, "every good line comes out");
    assert!(
        stderr(&lenient).contains("bad.log:4"),
        "names file:line: {}",
        stderr(&lenient)
    );
    let strict = crowsnest(&["normalize", "--strict", p.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(2), "{}", stderr(&strict));
}

#[test]
fn rules_validate_reports_positioned_query_errors() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(
        root().join("rules/004_credential_access_kubernetes_multiple_secret_retrieval_burst.toml"),
    )
    .unwrap();
    let broken = src.replace("by user.name, source.ip", "by user.nam, source.ip");
    assert_ne!(src, broken);
    std::fs::write(dir.path().join("broken.toml"), broken).unwrap();
    let out = crowsnest(&["rules", "validate", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("user.nam"), "{err}");
    assert!(err.contains("broken.toml"), "{err}");
    let ok = crowsnest(&["rules", "validate", "rules"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn esql_and_eql_ad_hoc_queries() {
    let out = crowsnest(&[
        "esql",
        "FROM logs-* | STATS n = COUNT(*) BY event.action | SORT n DESC | LIMIT 3",
        "samples/audit.log",
        "--format",
        "csv",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.lines().next().unwrap().contains('n'), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
    let bad = crowsnest(&["esql", "FROM logs-* | WHERE nope == 1", "samples/audit.log"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("nope"), "{}", stderr(&bad));
    let eql = crowsnest(&[
        "eql",
        "any where event.action == \"get\" | head 2",
        "samples/audit.log",
        "--format",
        "ndjson",
    ]);
    assert!(eql.status.success(), "{}", stderr(&eql));
    assert_eq!(stdout(&eql).lines().count(), 2);
}
