//! Every EQL query of the seed rules and of Elastic's prebuilt Kubernetes / Defend for
//! Containers rules compiles against the built-in ECS catalog.

use std::path::Path;

use events::Catalog;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

fn eql_rules(dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            eql_rules(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: toml::Value = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some(rule) = doc.get("rule") else { continue };
        if rule.get("language").and_then(|l| l.as_str()) != Some("eql") {
            continue;
        }
        let query = rule.get("query").and_then(|q| q.as_str()).unwrap().to_string();
        out.push((path.display().to_string(), query));
    }
}

#[test]
fn every_eql_rule_compiles() {
    let catalog = Catalog::ecs();
    let mut rules = Vec::new();
    eql_rules(&Path::new(SHARED).join("seeds/rules"), &mut rules);
    let seeds = rules.len();
    eql_rules(&Path::new(SHARED).join("elastic-rules"), &mut rules);
    assert!(seeds >= 1, "seed 003 is an EQL rule");
    assert!(rules.len() > 60, "found only {} EQL rules", rules.len());
    let mut failures = Vec::new();
    for (path, query) in &rules {
        if let Err(d) = eql::compile(query, &catalog) {
            let name = Path::new(path).file_name().unwrap().to_string_lossy().to_string();
            println!("{}", d.render(&name, query));
            failures.push(name);
        }
    }
    println!(
        "{} of {} EQL rules compile",
        rules.len() - failures.len(),
        rules.len()
    );
    assert!(failures.is_empty(), "rules that do not compile: {failures:?}");
}

fn fixture_documents() -> Vec<events::Document> {
    let mut docs = Vec::new();
    let fixtures = Path::new(SHARED).join("fixtures");
    for name in [
        "test-audit.log-expected.json",
        "test-kube-audit.log-expected.json",
    ] {
        let text = std::fs::read_to_string(fixtures.join("elastic-kubernetes-audit").join(name)).unwrap();
        let v = events::Value::from_json(&text).unwrap();
        for d in v
            .as_object()
            .unwrap()
            .get("expected")
            .unwrap()
            .as_array()
            .unwrap()
        {
            docs.push(events::Document::new(d.as_object().unwrap().clone()));
        }
    }
    let text = std::fs::read_to_string(
        fixtures.join("elastic-cloud-defend/SYNTHETIC-process-exec-from-README-table.json"),
    )
    .unwrap();
    docs.push(events::Document::from_json(&text).unwrap());
    docs
}

#[test]
fn every_rule_runs_over_the_fixture_documents() {
    // event queries: batch results are exactly the documents the prefilter accepts, in time
    // order; sequences and samples run without error
    let catalog = Catalog::ecs();
    let docs = fixture_documents();
    assert!(docs.len() > 5);
    let mut rules = Vec::new();
    eql_rules(&Path::new(SHARED).join("seeds/rules"), &mut rules);
    eql_rules(&Path::new(SHARED).join("elastic-rules"), &mut rules);
    let opts = eql::EngineOptions::default();
    let mut matched = 0;
    for (path, query) in &rules {
        let q = eql::compile(query, &catalog).unwrap();
        let results = eql::search(&q, docs.clone(), &opts);
        if !q.is_sequence() && !q.is_sample() {
            let accepted = docs.iter().filter(|d| q.prefilter(d)).count();
            assert_eq!(results.len(), accepted, "{path}");
        }
        matched += results.len();
    }
    println!(
        "{} rules over {} fixture documents: {matched} matches",
        rules.len(),
        docs.len()
    );
}

/// Reading fields through one `FieldMemo` shared by every rule (each field looked up once per
/// document) gives each rule's prefilter the answer it gives alone, on generated Defend for
/// Containers process events (attacks included).
#[test]
fn shared_field_memo_answers_as_each_rule_alone() {
    let catalog = Catalog::ecs();
    let mut rules = Vec::new();
    eql_rules(&Path::new(SHARED).join("seeds/rules"), &mut rules);
    eql_rules(&Path::new(SHARED).join("elastic-rules"), &mut rules);
    let queries: Vec<eql::Query> = rules
        .iter()
        .map(|(_, q)| eql::compile(q, &catalog).unwrap())
        .collect();
    let mut cfg = r#gen::samples_config();
    cfg.seed = 7;
    let (mut audit, mut process) = (Vec::new(), Vec::new());
    r#gen::generate(&cfg, &mut audit, Some(&mut process)).unwrap();
    let text = String::from_utf8(process).unwrap();
    let (mut docs, mut accepted) = (0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let doc = events::Document::from_json(line).unwrap();
        let memo = eql::FieldMemo::new();
        for q in &queries {
            let alone = q.prefilter(&doc);
            assert_eq!(q.prefilter_memo(&doc, &memo), alone, "{line}");
            accepted += alone as usize;
        }
        docs += 1;
    }
    assert!(
        docs > 100 && accepted > 0,
        "{docs} documents, {accepted} accepted"
    );
}
