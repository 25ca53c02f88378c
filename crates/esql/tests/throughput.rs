//! Throughput of the seed rules over synthetic audit documents (ignored by default; run with
//! `cargo test --release -p esql --test throughput -- --ignored --nocapture`).

use std::path::Path;
use std::time::Instant;

use events::{Catalog, Document};

const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/seeds/rules");

fn seed_queries() -> Vec<esql::Query> {
    let mut files: Vec<_> = std::fs::read_dir(Path::new(SEEDS))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let catalog = Catalog::ecs();
    files
        .iter()
        .filter_map(|f| {
            let doc: toml::Table = toml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            let rule = doc["rule"].as_table()?;
            (rule["type"].as_str() == Some("esql"))
                .then(|| esql::compile(rule["query"].as_str().unwrap(), &catalog).unwrap())
        })
        .collect()
}

fn synthetic(i: usize) -> Document {
    let verbs = ["get", "list", "watch", "create", "patch"];
    let resources = [
        "pods",
        "secrets",
        "nodes",
        "configmaps",
        "roles",
        "namespaces",
        "serviceaccounts",
    ];
    let users = ["alice", "bob", "system:anonymous", "system:kube-scheduler", "eve"];
    let verb = verbs[i % verbs.len()];
    let res = resources[(i / 3) % resources.len()];
    let user = users[(i / 7) % users.len()];
    let json = format!(
        r#"{{"@timestamp":"2025-03-04T06:{:02}:{:02}.000Z","event":{{"dataset":"kubernetes.audit_logs","action":"{verb}","kind":"event"}},
           "user":{{"name":"{user}"}},"source":{{"ip":["10.0.{}.{}"]}},"user_agent":{{"original":"kubectl/v1.30"}},
           "data_stream":{{"namespace":"default"}},
           "kubernetes":{{"audit":{{"stage":"ResponseComplete","level":"Request","verb":"{verb}","requestURI":"/api/v1/{res}/{}",
           "user":{{"username":"{user}","groups":["system:authenticated"]}},"sourceIPs":["10.0.{}.{}"],"userAgent":"kubectl/v1.30",
           "objectRef":{{"resource":"{res}","namespace":"ns{}","name":"obj{}"}},"responseStatus":{{"code":200}},
           "annotations":{{"authorization_k8s_io/decision":"allow"}}}}}}}}"#,
        (i / 60) % 60,
        i % 60,
        i % 4,
        i % 50,
        i % 97,
        i % 4,
        i % 50,
        i % 5,
        i % 13
    );
    let mut d = Document::from_json(&json).unwrap();
    d.id = format!("id-{i}");
    d
}

#[test]
#[ignore]
fn seed_rules_throughput() {
    let n = 200_000;
    let docs: Vec<Document> = (0..n).map(synthetic).collect();
    let queries = seed_queries();
    let ctx = esql::ExecContext {
        now_nanos: events::time::now_nanos(),
    };
    let start = Instant::now();
    let mut execs: Vec<esql::Execution> = queries.iter().map(|q| q.start(ctx)).collect();
    let mut passed = 0usize;
    // push() applies the pushed-down conditions itself
    for d in &docs {
        for e in execs.iter_mut() {
            e.push(d);
        }
    }
    for d in docs.iter().take(10_000) {
        passed += queries.iter().filter(|q| q.prefilter(d)).count();
    }
    let rows: usize = execs.into_iter().map(|e| e.finish().rows.len()).sum();
    for (i, q) in queries.iter().enumerate() {
        let t = Instant::now();
        let mut e = q.start(ctx);
        let mut p = 0;
        for d in &docs {
            if q.prefilter(d) {
                p += 1;
                e.push(d);
            }
        }
        let r = e.finish();
        println!(
            "  rule {i}: {:.2}s, {p} pass prefilter, {} rows, needs {} fields",
            t.elapsed().as_secs_f64(),
            r.rows.len(),
            q.needed_fields().len()
        );
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} rules x {n} docs: {:.2}s, {:.0} docs/s (all rules), {passed} prefilter passes in the first 10000 docs, {rows} result rows",
        queries.len(),
        secs,
        n as f64 / secs
    );
}

#[test]
#[ignore]
fn field_access_baseline() {
    let n = 200_000;
    let docs: Vec<Document> = (0..n).map(synthetic).collect();
    let fields = [
        "event.dataset",
        "event.action",
        "kubernetes.audit.objectRef.resource",
        "source.ip",
        "user.name",
        "kubernetes.audit.objectRef.name",
    ];
    let t = Instant::now();
    let mut total = 0usize;
    for d in &docs {
        for f in fields {
            total += d.field(f).len();
        }
    }
    println!(
        "baseline: {n} docs x {} Document::field calls: {:.3}s ({total} values)",
        fields.len(),
        t.elapsed().as_secs_f64()
    );
}
