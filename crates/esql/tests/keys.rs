//! `Query::key_values`: the comparisons a rule dispatcher may check before evaluating a query.
//! A document whose key field is one string outside the key's values must be rejected by the
//! pushed-down conditions without warnings, so that skipping the query changes nothing.

use events::{Catalog, Document};

fn keys(query: &str) -> Vec<(String, Vec<String>)> {
    esql::compile(query, &Catalog::ecs()).unwrap().key_values()
}

fn owned(keys: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    keys.iter()
        .map(|(f, v)| (f.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
fn leading_keyword_comparisons_are_keys() {
    let q = r#"FROM logs-kubernetes.audit_logs-*
        | WHERE event.dataset == "kubernetes.audit_logs" AND event.action == "get"
            AND kubernetes.audit.objectRef.resource IN ("secrets", "configmaps")
            AND source.ip IS NOT NULL AND user.name == "x"
        | STATS n = COUNT(*) BY user.name"#;
    assert_eq!(
        keys(q),
        owned(&[
            ("event.dataset", &["kubernetes.audit_logs"]),
            ("event.action", &["get"]),
            ("kubernetes.audit.objectRef.resource", &["secrets", "configmaps"]),
        ])
    );
}

#[test]
fn other_conditions_are_not_keys() {
    // An OR, a non-keyword field, a number and a negation stop the chain where they stand.
    assert!(keys(r#"FROM logs-* | WHERE event.action == "get" OR user.name == "x""#).is_empty());
    assert!(keys(r#"FROM logs-* | WHERE source.ip == "10.0.0.1""#).is_empty());
    assert!(keys(r#"FROM logs-* | WHERE NOT event.action == "get""#).is_empty());
    assert_eq!(
        keys(
            r#"FROM logs-* | WHERE event.action IN ("get", "list") AND kubernetes.audit.responseStatus.code == 200 AND user.name == "x""#
        ),
        owned(&[("event.action", &["get", "list"])])
    );
    assert!(keys(r#"FROM logs-* | WHERE event.action IN ("get", null)"#).is_empty());
    assert!(keys("FROM logs-* | STATS n = COUNT(*)").is_empty());
}

#[test]
fn a_document_outside_a_key_is_rejected_without_warnings() {
    let q = esql::compile(
        r#"FROM logs-* | WHERE event.dataset == "kubernetes.audit_logs" AND event.action == "get"
            AND NOT TO_STRING(source.ip) IN ("127.0.0.1") | STATS n = COUNT(*)"#,
        &Catalog::ecs(),
    )
    .unwrap();
    let doc = |json: &str| Document::from_json(json).unwrap();
    // One value outside the second key, the first single-valued: rejected, no warning (the
    // multi-valued source.ip is never read).
    let out = q.load(&doc(
        r#"{"event":{"dataset":"kubernetes.audit_logs","action":"list"},"source":{"ip":["10.0.0.1","10.0.0.2"]}}"#,
    ));
    assert!(!out.accepted() && !out.has_warnings());
    // The same event with the key matched reaches TO_STRING, which warns on the multi-value:
    // the reason a dispatcher may only skip on a key it can decide.
    let out = q.load(&doc(
        r#"{"event":{"dataset":"kubernetes.audit_logs","action":"get"},"source":{"ip":["10.0.0.1","10.0.0.2"]}}"#,
    ));
    assert!(!out.accepted() && out.has_warnings());
    // A multi-valued first key warns itself: keys after it cannot be used (they are ordered).
    let out = q.load(&doc(r#"{"event":{"dataset":["a","b"],"action":"list"}}"#));
    assert!(!out.accepted() && out.has_warnings());
}
