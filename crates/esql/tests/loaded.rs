//! `Query::load` + `Execution::push_loaded` (one read of a document for several overlapping
//! executions) gives exactly what `Execution::push` gives, warnings included.

use events::{Catalog, Document};

fn doc(json: &str, id: &str) -> Document {
    let mut d = Document::from_json(json).unwrap();
    d.id = id.to_string();
    d
}

#[test]
fn load_then_push_loaded_equals_push() {
    let q = esql::compile(
        "FROM logs-* | WHERE event.action == \"get\" AND NOT to_string(source.ip) IN (\"127.0.0.1\") \
         | STATS n = COUNT_DISTINCT(kubernetes.audit.objectRef.name) BY user.name | WHERE n >= 2",
        &Catalog::ecs(),
    )
    .unwrap();
    let docs = [
        doc(
            r#"{"event":{"action":"get"},"source":{"ip":"10.0.0.1"},"user":{"name":"a"},"kubernetes":{"audit":{"objectRef":{"name":"s1"}}}}"#,
            "1",
        ),
        doc(
            r#"{"event":{"action":"get"},"source":{"ip":"10.0.0.1"},"user":{"name":"a"},"kubernetes":{"audit":{"objectRef":{"name":"s2"}}}}"#,
            "2",
        ),
        doc(
            r#"{"event":{"action":"get"},"source":{"ip":["10.0.0.1","10.0.0.2"]},"user":{"name":"b"},"kubernetes":{"audit":{"objectRef":{"name":"s3"}}}}"#,
            "3",
        ),
        doc(
            r#"{"event":{"action":"list"},"source":{"ip":"10.0.0.1"},"user":{"name":"a"},"kubernetes":{"audit":{"objectRef":{"name":"s4"}}}}"#,
            "4",
        ),
        doc(
            r#"{"event":{"action":"get"},"source":{"ip":"127.0.0.1"},"user":{"name":"a"},"kubernetes":{"audit":{"objectRef":{"name":"s5"}}}}"#,
            "5",
        ),
    ];
    let ctx = esql::ExecContext { now_nanos: 0 };
    let mut direct = q.start(ctx);
    let mut via_load = q.start(ctx);
    for d in &docs {
        direct.push(d);
        let loaded = q.load(d);
        assert_eq!(
            loaded.accepted(),
            ["1", "2"].contains(&d.id.as_str()),
            "doc {}",
            d.id
        );
        via_load.push_loaded(&loaded);
    }
    let (a, b) = (direct.finish(), via_load.finish());
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.rows.len(), 1);
    assert_eq!(a.warnings, b.warnings);
    assert!(
        b.warnings.iter().any(|w| w.contains("multi-value")),
        "{:?}",
        b.warnings
    );
    assert_eq!(a.provenance[0].event_ids, b.provenance[0].event_ids);
}

/// Several queries loading through one `SharedLoads` (each field read once per document, the
/// first query's read reused by the others) give what each query gives alone.
#[test]
fn shared_loads_equal_separate_loads() {
    let cat = Catalog::ecs();
    let queries = [
        "FROM logs-* | WHERE event.action == \"get\" | STATS n = COUNT_DISTINCT(kubernetes.audit.objectRef.name) BY user.name",
        "FROM logs-* | WHERE user.name IS NOT NULL | STATS c = COUNT(*) BY user.name, source.ip",
        "FROM logs-* | EVAL a = TO_UPPER(event.action) | STATS v = VALUES(a) BY kubernetes.audit.objectRef.name",
        "FROM logs-* | WHERE to_string(source.ip) != \"10.0.0.9\" | KEEP source.ip, user.name",
    ]
    .map(|q| esql::compile(q, &cat).unwrap());
    let docs = [
        doc(
            r#"{"event":{"action":"get"},"source":{"ip":"10.0.0.1"},"user":{"name":"a"},"kubernetes":{"audit":{"objectRef":{"name":"s1"}}}}"#,
            "1",
        ),
        doc(
            r#"{"event":{"action":"list"},"source":{"ip":["10.0.0.1","10.0.0.2"]},"user":{"name":"b"}}"#,
            "2",
        ),
        doc(r#"{"event":{"action":"get"},"source":{"ip":"10.0.0.9"}}"#, "3"),
        doc(
            r#"{"event":{"action":"get"},"user":{"name":["a","c"]},"kubernetes":{"audit":{"objectRef":{"name":"s2"}}}}"#,
            "4",
        ),
    ];
    let ctx = esql::ExecContext { now_nanos: 0 };
    let mut shared = esql::SharedLoads::new();
    let slots: Vec<_> = queries.iter().map(|q| shared.register(q)).collect();
    let mut alone: Vec<_> = queries.iter().map(|q| q.start(ctx)).collect();
    let mut together: Vec<_> = queries.iter().map(|q| q.start(ctx)).collect();
    for d in &docs {
        shared.next_document();
        for (i, q) in queries.iter().enumerate() {
            let a = q.load(d);
            let b = q.load_shared(d, &mut shared, slots[i]);
            assert_eq!(a.accepted(), b.accepted(), "query {i} doc {}", d.id);
            alone[i].push_loaded(&a);
            together[i].push_loaded(&b);
        }
    }
    for (i, (a, b)) in alone.into_iter().zip(together).enumerate() {
        let (a, b) = (a.finish(), b.finish());
        assert!(!a.rows.is_empty(), "query {i} has rows");
        assert_eq!(a.rows, b.rows, "query {i}");
        assert_eq!(a.warnings, b.warnings, "query {i}");
    }
}
