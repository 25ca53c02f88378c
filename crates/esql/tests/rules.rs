//! Every ES|QL query of the seed rules and of Elastic's Kubernetes rule corpus compiles against
//! the built-in ECS catalog. Seed rules must all compile; corpus rules that cannot are listed
//! with the reason.

use std::path::{Path, PathBuf};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

/// (path, query) of every rule of type esql under `dir`.
fn esql_rules(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    toml_files(dir, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let Some(rule) = doc.get("rule").and_then(|r| r.as_table()) else {
            continue;
        };
        if rule.get("type").and_then(|t| t.as_str()) != Some("esql") {
            continue;
        }
        let q = rule.get("query").and_then(|q| q.as_str()).unwrap().to_string();
        out.push((f, q));
    }
    out
}

#[test]
fn seed_rules_compile() {
    let catalog = events::Catalog::ecs();
    let rules = esql_rules(&Path::new(SHARED).join("seeds/rules"));
    assert_eq!(rules.len(), 4, "four seed rules are ES|QL");
    for (path, q) in rules {
        match esql::compile(&q, &catalog) {
            Ok(query) => {
                assert_eq!(query.indices(), &["logs-kubernetes.audit_logs-*".to_string()]);
                assert!(query.is_aggregating(), "{}", path.display());
                assert!(!query.needed_fields().is_empty());
            }
            Err(d) => panic!(
                "{}:\n{}",
                path.display(),
                d.render(&path.display().to_string(), &q)
            ),
        }
    }
}

#[test]
fn corpus_rules_compile() {
    let catalog = events::Catalog::ecs();
    let rules = esql_rules(&Path::new(SHARED).join("elastic-rules"));
    assert!(rules.len() >= 12, "found {}", rules.len());
    let mut failed = Vec::new();
    for (path, q) in &rules {
        if let Err(d) = esql::compile(q, &catalog) {
            failed.push(format!("{}: {d}", path.file_name().unwrap().to_string_lossy()));
        }
    }
    println!(
        "{} of {} corpus ES|QL rules compile",
        rules.len() - failed.len(),
        rules.len()
    );
    for f in &failed {
        println!("  cannot compile: {f}");
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Elastic's golden ECS documents (the normalization fixtures), run through every ES|QL rule:
/// no rule fails at run time, and result columns match the compiled query's columns.
#[test]
fn rules_run_over_the_golden_documents() {
    let dir = Path::new(SHARED).join("fixtures/elastic-kubernetes-audit");
    let mut docs = Vec::new();
    for f in [
        "test-audit.log-expected.json",
        "test-kube-audit.log-expected.json",
    ] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        let v = events::Value::from_json(&text).unwrap();
        let list = v
            .as_object()
            .and_then(|o| o.get("expected"))
            .and_then(|e| e.as_array())
            .unwrap();
        for (i, d) in list.iter().enumerate() {
            let mut doc = events::Document::new(d.as_object().unwrap().clone());
            doc.id = format!("{f}-{i}");
            doc.index = ".ds-logs-kubernetes.audit_logs-default".into();
            docs.push(doc);
        }
    }
    assert!(docs.len() >= 4);
    let catalog = events::Catalog::ecs();
    let ctx = esql::ExecContext {
        now_nanos: events::time::parse_timestamp("2025-03-04T06:30:00Z").unwrap(),
    };
    let mut rules = esql_rules(&Path::new(SHARED).join("seeds/rules"));
    rules.extend(esql_rules(&Path::new(SHARED).join("elastic-rules")));
    for (path, q) in rules {
        let query = esql::compile(&q, &catalog).unwrap();
        let r = esql::run(&query, docs.iter(), ctx);
        assert_eq!(r.columns, query.columns(), "{}", path.display());
        assert_eq!(r.rows.len(), r.provenance.len());
        for row in &r.rows {
            assert_eq!(row.len(), r.columns.len());
        }
    }
}
