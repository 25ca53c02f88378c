//! `Query::key_values`: conditions a rule dispatcher may check before evaluating a query. An
//! event whose key field is one string outside the key's values must fail the prefilter.

use events::{Catalog, Document};

fn query(q: &str) -> eql::Query {
    eql::compile(q, &Catalog::ecs()).unwrap_or_else(|d| panic!("{}", d.render("q", q)))
}

fn owned(keys: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    keys.iter()
        .map(|(f, v)| (f.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
fn category_and_case_sensitive_string_conditions_are_keys() {
    let q = query(
        r#"process where host.os.type == "linux" and event.type == "start" and
           process.name in ("curl", "wget") and process.args : "*http*""#,
    );
    assert_eq!(
        q.key_values(),
        owned(&[
            ("event.category", &["process"]),
            ("host.os.type", &["linux"]),
            ("event.type", &["start"]),
            ("process.name", &["curl", "wget"]),
        ])
    );
    for (field, values) in q.key_values() {
        // A single string outside the values fails the query whatever the other fields hold.
        let mut doc: serde_json::Value = serde_json::json!({
            "event": {"category": "process", "type": "start"},
            "host": {"os": {"type": "linux"}},
            "process": {"name": "curl", "args": ["http://x"]},
        });
        assert!(query_accepts(&q, &doc), "{field}");
        let outside = format!("{}-not", values[0]);
        let mut at = &mut doc;
        let segs: Vec<&str> = field.split('.').collect();
        for s in &segs[..segs.len() - 1] {
            at = at.get_mut(*s).unwrap();
        }
        at[segs[segs.len() - 1]] = serde_json::Value::String(outside);
        assert!(!query_accepts(&q, &doc), "{field}");
    }
}

fn query_accepts(q: &eql::Query, doc: &serde_json::Value) -> bool {
    q.prefilter(&Document::from_json(&doc.to_string()).unwrap())
}

#[test]
fn other_conditions_are_not_keys() {
    assert_eq!(
        query(r#"process where process.name in~ ("curl") or process.name == "x""#).key_values(),
        owned(&[("event.category", &["process"])])
    );
    assert!(
        query(r#"any where process.name : "curl""#)
            .key_values()
            .is_empty()
    );
    assert!(
        query(r#"any where not process.name == "curl""#)
            .key_values()
            .is_empty()
    );
    assert!(
        query(r#"sequence [process where process.name == "a"] [process where process.name == "b"]"#)
            .key_values()
            .is_empty()
    );
}
