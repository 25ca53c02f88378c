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
    let keys = q.key_values();
    assert_eq!(
        keys,
        vec![owned(&[
            ("event.category", &["process"]),
            ("host.os.type", &["linux"]),
            ("event.type", &["start"]),
            ("process.name", &["curl", "wget"]),
        ])]
    );
    let base = serde_json::json!({
        "event": {"category": "process", "type": "start"},
        "host": {"os": {"type": "linux"}},
        "process": {"name": "curl", "args": ["http://x"]},
    });
    assert!(query_accepts(&q, &base));
    for (field, values) in &keys[0] {
        // A single string outside the values, or no value, fails the query whatever the other
        // fields hold.
        let segs: Vec<&str> = field.split('.').collect();
        let (last, parents) = segs.split_last().unwrap();
        for outside in [Some(format!("{}-not", values[0])), None] {
            let mut doc = base.clone();
            let mut at = &mut doc;
            for s in parents {
                at = at.get_mut(*s).unwrap();
            }
            let obj = at.as_object_mut().unwrap();
            match &outside {
                Some(v) => obj.insert(last.to_string(), serde_json::Value::String(v.clone())),
                None => obj.remove(*last),
            };
            assert!(!query_accepts(&q, &doc), "{field} {outside:?}");
        }
    }
}

fn query_accepts(q: &eql::Query, doc: &serde_json::Value) -> bool {
    q.prefilter(&Document::from_json(&doc.to_string()).unwrap())
}

#[test]
fn other_conditions_are_not_keys() {
    assert_eq!(
        query(r#"process where process.name in~ ("curl") or process.name == "x""#).key_values(),
        vec![owned(&[("event.category", &["process"])])]
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
    // A sequence stage without a key: the sequence has none.
    assert!(
        query(r#"sequence [process where process.name == "a"] [any where process.name : "b"]"#)
            .key_values()
            .is_empty()
    );
}

#[test]
fn each_stage_of_a_sequence_is_a_group() {
    let q = query(
        r#"sequence with maxspan=1m
           [process where process.name == "a"] by process.pid
           [any where event.dataset == "d" and event.action in ("x", "y")] by process.pid"#,
    );
    assert_eq!(
        q.key_values(),
        vec![
            owned(&[("event.category", &["process"]), ("process.name", &["a"])]),
            owned(&[("event.dataset", &["d"]), ("event.action", &["x", "y"])]),
        ]
    );
    // An event is ruled out only when every group rules it out.
    let accepts = |json: &str| q.prefilter(&Document::from_json(json).unwrap());
    assert!(accepts(
        r#"{"event":{"category":"process"},"process":{"name":"a","pid":1}}"#
    ));
    assert!(accepts(
        r#"{"event":{"dataset":"d","action":"y"},"process":{"pid":1}}"#
    ));
    assert!(!accepts(
        r#"{"event":{"category":"process","dataset":"d","action":"z"},"process":{"name":"b","pid":1}}"#
    ));
}
