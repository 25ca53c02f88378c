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
