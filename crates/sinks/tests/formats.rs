//! Every output format, for alerts, rows and documents.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use events::{Document, Map, Value};
use rules::alert::{AlertSource, build_alerts};
use sinks::{Format, alert_sink, write_docs, write_rows};

/// A writer whose bytes can be read after the sink that owns it is done.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.borrow().clone()).unwrap()
    }
}

const T0: i64 = 1_741_068_960_000_000_000; // 2025-03-04T06:16:00Z
const T1: i64 = 1_741_069_320_000_000_000; // 2025-03-04T06:22:00Z

fn alerts() -> Vec<Map> {
    let rules = rules::bundled();
    let secrets = rules
        .iter()
        .find(|r| r.rule_type == "esql" && r.risk_score == 73)
        .unwrap();
    let seq = rules.iter().find(|r| r.rule_type == "eql").unwrap();
    let columns: Vec<String> = [
        "user.name",
        "source.ip",
        "Esql.unique_credentials",
        "Esql.secrets_names",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let row = vec![
        Value::from("alice"),
        Value::from("10.0.0.5"),
        Value::Int(3),
        Value::from(vec!["a", "b", "c"]),
    ];
    let group = vec![Value::from("alice"), Value::from("10.0.0.5")];
    let ids = vec!["e1".to_string(), "e2".to_string(), "e3".to_string()];
    let mut out = build_alerts(
        secrets,
        AlertSource::EsqlRow {
            columns: &columns,
            row: &row,
            group: &group,
            event_ids: &ids,
            event_count: 3,
        },
        (T0, T1),
        T1,
    );
    let mut d = Document::from_json(
        r#"{"@timestamp":"2025-03-04T06:20:00Z","process":{"name":"curl"},"user":{"name":"root"},"orchestrator":{"resource":{"name":"web-1"}}}"#,
    )
    .unwrap();
    d.id = "p1".into();
    out.extend(build_alerts(seq, AlertSource::Event { doc: &d }, (T0, T1), T1));
    out
}

fn emit_all(format: Format, alerts: &[Map]) -> String {
    let buf = Shared::default();
    let mut sink = alert_sink(format, Box::new(buf.clone()));
    for a in alerts {
        sink.emit(a).unwrap();
    }
    sink.finish().unwrap();
    buf.text()
}

#[test]
fn ndjson_alerts_are_one_object_per_line() {
    let alerts = alerts();
    let text = emit_all(Format::Ndjson, &alerts);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for (line, alert) in lines.iter().zip(&alerts) {
        let parsed: Map = serde_json::from_str(line).unwrap();
        assert_eq!(&parsed, alert);
    }
    assert_eq!(emit_all(Format::Ndjson, &[]), "");
}

#[test]
fn json_alerts_are_one_array_even_when_empty() {
    let alerts = alerts();
    let text = emit_all(Format::Json, &alerts);
    let parsed: Vec<Map> = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, alerts);
    let empty = emit_all(Format::Json, &[]);
    assert_eq!(empty, "[]\n");
    let parsed: Vec<Map> = serde_json::from_str(&empty).unwrap();
    assert!(parsed.is_empty());
    // finishing twice does not write a second closing bracket
    let buf = Shared::default();
    let mut sink = alert_sink(Format::Json, Box::new(buf.clone()));
    sink.emit(&alerts[0]).unwrap();
    sink.finish().unwrap();
    sink.finish().unwrap();
    assert_eq!(serde_json::from_str::<Vec<Map>>(&buf.text()).unwrap().len(), 1);
    assert!(sink.emit(&alerts[0]).is_err());
    // dropped without finish: the array is closed anyway
    let buf = Shared::default();
    let mut sink = alert_sink(Format::Json, Box::new(buf.clone()));
    sink.emit(&alerts[0]).unwrap();
    drop(sink);
    assert_eq!(serde_json::from_str::<Vec<Map>>(&buf.text()).unwrap().len(), 1);
}

#[test]
fn csv_alerts_have_a_header_and_one_record_per_alert() {
    let alerts = alerts();
    let text = emit_all(Format::Csv, &alerts);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, sinks::ALERT_CSV_COLUMNS);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&records[0][col("@timestamp")], "2025-03-04T06:22:00.000Z");
    assert_eq!(&records[0][col("kibana.alert.severity")], "high");
    assert_eq!(&records[0][col("kibana.alert.risk_score")], "73");
    assert_eq!(&records[0][col("crowsnest.event_ids")], "[e1, e2, e3]");
    assert!(records[0][col("kibana.alert.reason")].contains("user.name=alice, source.ip=10.0.0.5"));
    assert_eq!(&records[0][col("kibana.alert.original_time")], "");
    assert_eq!(
        &records[1][col("kibana.alert.original_time")],
        "2025-03-04T06:20:00.000Z"
    );
    // nothing emitted: still a header
    assert_eq!(emit_all(Format::Csv, &[]).lines().count(), 1);
}

#[test]
fn table_alerts_are_readable_blocks() {
    let alerts = alerts();
    let text = emit_all(Format::Table, &alerts);
    let blocks: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{text}");
    let first: Vec<&str> = blocks[0].lines().collect();
    assert_eq!(
        first[0],
        "2025-03-04T06:22:00.000Z  HIGH (73)  Kubernetes Rapid Secret GET Activity Against Multiple Objects"
    );
    assert!(
        first[1]
            .starts_with("  reason: event with user.name=alice, source.ip=10.0.0.5 (3 events) created high")
    );
    assert_eq!(
        first[2],
        "  fields: user.name=alice  source.ip=10.0.0.5  Esql.unique_credentials=3  Esql.secrets_names=[a, b, c]"
    );
    assert!(
        first[3]
            .starts_with("  window: 2025-03-04T06:16:00.000Z .. 2025-03-04T06:22:00.000Z  events: 3  uuid: ")
    );
    let second: Vec<&str> = blocks[1].lines().collect();
    assert!(second[0].ends_with("MEDIUM (47)  Forbidden Direct Interactive Kubernetes API Request"));
    assert!(second[1].contains("event with process curl, by root created medium alert"));
    assert_eq!(
        second[2],
        "  fields: user.name=root  orchestrator.resource.name=web-1  process.name=curl"
    );
    assert_eq!(emit_all(Format::Table, &[]), "");
}

#[test]
fn table_shows_sequences_with_their_join_keys() {
    let rules = rules::bundled();
    let seq = rules.iter().find(|r| r.rule_type == "eql").unwrap();
    let mut p =
        Document::from_json(r#"{"@timestamp":"2025-03-04T06:20:00Z","process":{"name":"curl"}}"#).unwrap();
    p.id = "p1".into();
    let mut k = Document::from_json(r#"{"@timestamp":"2025-03-04T06:20:01Z","user":{"name":"sa"}}"#).unwrap();
    k.id = "k1".into();
    let docs = [&p, &k];
    let keys = [Value::from("web-1")];
    let alerts = build_alerts(
        seq,
        AlertSource::Sequence {
            docs: &docs,
            join_keys: &keys,
        },
        (T0, T1),
        T1,
    );
    let text = emit_all(Format::Table, &alerts);
    let blocks: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(blocks.len(), 3);
    assert!(
        blocks[0].contains("\n  sequence: join keys [web-1]  events: [p1, k1]\n"),
        "{text}"
    );
    assert!(
        blocks[1]
            .lines()
            .next()
            .unwrap()
            .contains("[building block 0 of group "),
        "{text}"
    );
    assert!(blocks[2].contains("  fields: user.name=sa\n"), "{text}");
    assert!(!blocks[1].contains("sequence:"));
}

fn columns() -> Vec<(String, String)> {
    vec![
        ("user.name".into(), "keyword".into()),
        ("n".into(), "long".into()),
        ("v".into(), "keyword".into()),
    ]
}

fn rows() -> Vec<Vec<Value>> {
    vec![
        vec![Value::from("alice"), Value::Int(3), Value::from(vec!["x", "y"])],
        vec![Value::from("b,ob"), Value::Null, Value::from("z")],
    ]
}

fn rows_text(format: Format, rows: &[Vec<Value>]) -> String {
    let mut out = Vec::new();
    write_rows(&mut out, format, &columns(), rows).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn rows_in_every_format() {
    let csv_text = rows_text(Format::Csv, &rows());
    assert_eq!(csv_text, "user.name,n,v\nalice,3,\"[x, y]\"\n\"b,ob\",,z\n");
    assert_eq!(rows_text(Format::Csv, &[]), "user.name,n,v\n");

    let nd = rows_text(Format::Ndjson, &rows());
    assert_eq!(
        nd,
        "{\"user.name\":\"alice\",\"n\":3,\"v\":[\"x\",\"y\"]}\n{\"user.name\":\"b,ob\",\"n\":null,\"v\":\"z\"}\n"
    );

    let json = rows_text(Format::Json, &rows());
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 2);
    assert_eq!(parsed[1]["n"], serde_json::Value::Null);
    assert_eq!(rows_text(Format::Json, &[]), "[]\n");

    let table = rows_text(Format::Table, &rows());
    assert!(table.contains("user.name") && table.contains("keyword") && table.contains("long"));
    assert!(table.contains("[x, y]") && table.contains("null") && table.contains("b,ob"));
    assert!(table.ends_with("2 rows\n"));
    assert!(rows_text(Format::Table, &[]).ends_with("0 rows\n"));
}

#[test]
fn documents_in_every_format() {
    let mut a = Document::from_json(r#"{"a":{"b":1},"c":["x","y"]}"#).unwrap();
    a.id = "id-a".into();
    a.index = "logs-x".into();
    let mut b = Document::from_json(r#"{"d":"e,f","a.b":2}"#).unwrap();
    b.id = "id-b".into();
    let docs = [&a, &b];
    let text = |format| {
        let mut out = Vec::new();
        write_docs(&mut out, format, &docs).unwrap();
        String::from_utf8(out).unwrap()
    };
    assert_eq!(
        text(Format::Ndjson),
        "{\"a\":{\"b\":1},\"c\":[\"x\",\"y\"]}\n{\"d\":\"e,f\",\"a.b\":2}\n"
    );
    let json: Vec<Map> = serde_json::from_str(&text(Format::Json)).unwrap();
    assert_eq!(json, vec![a.source.clone(), b.source.clone()]);
    assert_eq!(
        text(Format::Csv),
        "_id,_index,a.b,c,d\nid-a,logs-x,1,\"[x, y]\",\nid-b,,2,,\"e,f\"\n"
    );
    let table = text(Format::Table);
    assert!(
        table.starts_with("_id: id-a  _index: logs-x\n  a.b  1\n  c    [x, y]\n"),
        "{table}"
    );
    assert!(table.ends_with("2 documents\n"));
    let mut empty = Vec::new();
    write_docs(&mut empty, Format::Json, &[]).unwrap();
    assert_eq!(empty, b"[]\n");
}

#[test]
fn format_names_round_trip() {
    for f in [Format::Table, Format::Ndjson, Format::Json, Format::Csv] {
        assert_eq!(f.name().parse::<Format>(), Ok(f));
    }
    assert!("xml".parse::<Format>().is_err());
}
