//! Rule files that cannot load give errors naming the file, the line and column, and the
//! problem.

use std::path::PathBuf;

use rules::{RuleError, load_paths, parse_rule};

const GOOD: &str = r#"[metadata]
maturity = "production"

[rule]
author = ["Elastic"]
description = "d"
name = "n"
risk_score = 21
rule_id = "r1"
severity = "low"
type = "query"
index = ["logs-*"]
query = "event.action : x"
"#;

fn err(text: &str) -> RuleError {
    parse_rule(text, "rules/x.toml").unwrap_err()
}

#[test]
fn the_minimal_rule_loads_with_defaults() {
    let r = parse_rule(GOOD, "rules/x.toml").unwrap();
    assert_eq!(r.language.as_deref(), Some("kuery"));
    assert_eq!(r.interval, "5m");
    assert_eq!(r.from, "now-6m");
    assert_eq!(r.version, 1);
    assert_eq!(r.max_signals, 100);
    assert_eq!(r.time_field(), "@timestamp");
    assert!(r.threat.is_empty());
}

#[test]
fn broken_toml_is_positioned() {
    let text = GOOD.replace("name = \"n\"", "name = \"n");
    let e = err(&text);
    assert_eq!(e.source_name(), "rules/x.toml");
    assert_eq!(e.line_col.map(|(l, _)| l), Some(7), "{e}");
    assert!(e.message.starts_with("invalid TOML"), "{e}");
    assert!(e.to_string().starts_with("rules/x.toml:7:"), "{e}");

    let e = err("[rule]\nname = = 1\n");
    assert_eq!(e.line_col.map(|(l, _)| l), Some(2), "{e}");
}

#[test]
fn missing_required_fields_are_named() {
    for key in [
        "rule_id",
        "name",
        "description",
        "type",
        "severity",
        "risk_score",
        "query",
    ] {
        let text: String = GOOD
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} =")))
            .map(|l| format!("{l}\n"))
            .collect();
        let e = err(&text);
        assert_eq!(
            e.message,
            format!("missing required field `{key}` in [rule]"),
            "{e}"
        );
        assert_eq!(e.line_col.map(|(l, _)| l), Some(4), "points at [rule]: {e}");
    }
    let e = err("[metadata]\nmaturity = \"x\"\n");
    assert!(e.message.contains("no [rule] table"), "{e}");
    assert_eq!(
        e.to_string(),
        "rules/x.toml: not a detection rule: the file has no [rule] table"
    );
}

#[test]
fn wrong_types_and_values_are_positioned() {
    let e = err(&GOOD.replace("risk_score = 21", "risk_score = \"21\""));
    assert_eq!(e.line_col, Some((8, 14)), "{e}");
    assert!(
        e.message
            .contains("`risk_score` must be an integer, found a string"),
        "{e}"
    );

    let e = err(&GOOD.replace("risk_score = 21", "risk_score = 210"));
    assert!(e.message.contains("not within 0..=100"), "{e}");
    assert_eq!(e.line_col, Some((8, 14)), "{e}");

    let e = err(&GOOD.replace("severity = \"low\"", "severity = \"urgent\""));
    assert_eq!(e.line_col, Some((10, 12)), "{e}");

    let e = err(&GOOD.replace("type = \"query\"", "type = \"magic\""));
    assert!(e.message.contains("unknown rule type \"magic\""), "{e}");

    let e = err(&GOOD.replace("index = [\"logs-*\"]", "index = [\"logs-*\", 3]"));
    assert!(
        e.message.contains("`index` must list strings, found an integer"),
        "{e}"
    );
    assert_eq!(e.line_col, Some((12, 20)), "{e}");

    let e = err(&format!("{GOOD}interval = \"5 minutes\"\n"));
    assert!(e.message.contains("interval"), "{e}");
    assert_eq!(e.line_col, Some((14, 12)), "{e}");

    let e = err(&format!("{GOOD}from = \"now+6m\"\n"));
    assert!(e.message.contains("from \"now+6m\""), "{e}");
    assert_eq!(e.line_col.map(|(l, _)| l), Some(14), "{e}");

    let e = err(&format!("{GOOD}version = 0\n"));
    assert!(e.message.contains("version 0"), "{e}");

    let e = err(&format!("{GOOD}max_signals = -1\n"));
    assert!(e.message.contains("max_signals -1"), "{e}");

    let e = err(&format!(
        "{GOOD}\n[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n"
    ));
    assert!(
        e.message
            .contains("missing required field `tactic` in [rule.threat]"),
        "{e}"
    );
}

#[test]
fn explicit_version_and_max_signals() {
    let r = parse_rule(&format!("{GOOD}version = 7\nmax_signals = 5\n"), "x").unwrap();
    assert_eq!((r.version, r.max_signals), (7, 5));
}

#[test]
fn load_paths_reports_unreadable_paths_and_empty_directories() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("b");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("z.toml"), GOOD).unwrap();
    std::fs::write(dir.path().join("a.toml"), GOOD.replace("r1", "r0")).unwrap();
    std::fs::write(dir.path().join("broken.toml"), "[rule\n").unwrap();
    std::fs::write(dir.path().join("readme.md"), "not a rule").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = dir.path().join("missing.toml");

    let results = load_paths(&[dir.path().to_path_buf(), missing.clone(), empty.clone()]);
    let shown: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(rule) => format!("ok {}", rule.rule_id),
            Err(e) => format!("err {}", e.source_name()),
        })
        .collect();
    // the empty directory has no *.toml file: it is an error, not silently nothing
    assert_eq!(
        shown,
        vec![
            "ok r0".to_string(),
            format!("ok r1"),
            format!("err {}", dir.path().join("broken.toml").display()),
            format!("err {}", missing.display()),
            format!("err {}", empty.display()),
        ]
    );
    assert!(results[3].as_ref().unwrap_err().message.contains("cannot read"));
    assert!(results[4].as_ref().unwrap_err().message.contains("no *.toml"));
    let broken = results[2].as_ref().unwrap_err();
    assert_eq!(broken.line_col.map(|(l, _)| l), Some(1));

    // a file named directly is read whatever its extension
    let named = dir.path().join("rule.txt");
    std::fs::write(&named, GOOD).unwrap();
    let r = load_paths(&[PathBuf::from(&named)]);
    assert_eq!(r[0].as_ref().unwrap().source, named.display().to_string());
}

#[test]
fn hidden_entries_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
    std::fs::write(dir.path().join(".#a.toml"), "[rule").unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git").join("x.toml"), "[rule").unwrap();
    let results = load_paths(&[dir.path().to_path_buf()]);
    assert_eq!(results.len(), 1);
    assert!(results[0].is_ok());
}
