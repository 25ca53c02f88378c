//! Alert sinks: write alert documents as they are raised, in one of the [`Format`]s.

use std::io::{self, Write};

use events::{Document, Map, Value};

use crate::Format;
use crate::cells::{csv_cell, one_line, table_cell, truncate};

/// Where alerts go. `emit` writes one alert; `finish` completes the output and flushes.
pub trait AlertSink {
    fn emit(&mut self, alert: &Map) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()>;
}

/// A sink writing `format` to `out`.
pub fn alert_sink(format: Format, out: Box<dyn Write>) -> Box<dyn AlertSink> {
    match format {
        Format::Table => Box::new(TableSink { out, count: 0 }),
        Format::Ndjson => Box::new(NdjsonSink { out }),
        Format::Json => Box::new(JsonSink {
            out,
            count: 0,
            finished: false,
        }),
        Format::Csv => Box::new(CsvSink {
            out: csv::WriterBuilder::new().from_writer(out),
            header_written: false,
        }),
    }
}

fn to_io(e: serde_json::Error) -> io::Error {
    io::Error::other(e)
}

struct NdjsonSink {
    out: Box<dyn Write>,
}

impl AlertSink for NdjsonSink {
    fn emit(&mut self, alert: &Map) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, alert).map_err(to_io)?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

struct JsonSink {
    out: Box<dyn Write>,
    count: usize,
    finished: bool,
}

impl AlertSink for JsonSink {
    fn emit(&mut self, alert: &Map) -> io::Result<()> {
        if self.finished {
            return Err(io::Error::other("alert emitted after the JSON array was closed"));
        }
        self.out
            .write_all(if self.count == 0 { b"[\n" } else { b",\n" })?;
        serde_json::to_writer(&mut self.out, alert).map_err(to_io)?;
        self.count += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.finished {
            self.finished = true;
            self.out
                .write_all(if self.count == 0 { b"[]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()
    }
}

impl Drop for JsonSink {
    /// A sink dropped without `finish` (an error on the way) still leaves a valid array.
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.finish();
        }
    }
}

/// The columns of the CSV alert format, in order.
pub const ALERT_CSV_COLUMNS: &[&str] = &[
    "@timestamp",
    "kibana.alert.severity",
    "kibana.alert.risk_score",
    "kibana.alert.rule.name",
    "kibana.alert.rule.rule_id",
    "kibana.alert.reason",
    "kibana.alert.original_time",
    "crowsnest.window.start",
    "crowsnest.window.end",
    "kibana.alert.uuid",
    "kibana.alert.building_block_type",
    "kibana.alert.group.id",
    "crowsnest.event_ids",
];

struct CsvSink {
    out: csv::Writer<Box<dyn Write>>,
    header_written: bool,
}

impl CsvSink {
    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            self.out.write_record(ALERT_CSV_COLUMNS)?;
        }
        Ok(())
    }
}

/// A field of an alert by its dotted path, multi-values as one `Value::Array`.
fn field(doc: &Document, path: &str) -> Value {
    match doc.field(path).as_slice() {
        [] => Value::Null,
        [one] => (*one).clone(),
        many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
    }
}

impl AlertSink for CsvSink {
    fn emit(&mut self, alert: &Map) -> io::Result<()> {
        self.header()?;
        let doc = Document::new(alert.clone());
        let record: Vec<String> = ALERT_CSV_COLUMNS
            .iter()
            .map(|c| csv_cell(&field(&doc, c)))
            .collect();
        self.out.write_record(&record)?;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}

struct TableSink {
    out: Box<dyn Write>,
    count: usize,
}

/// Source fields shown for an alert on an event, when present, in this order.
const KEY_FIELDS: &[&str] = &[
    "user.name",
    "kubernetes.audit.user.username",
    "source.ip",
    "user_agent.original",
    "event.action",
    "kubernetes.audit.verb",
    "kubernetes.audit.objectRef.resource",
    "kubernetes.audit.objectRef.namespace",
    "kubernetes.audit.objectRef.name",
    "kubernetes.audit.annotations.authorization_k8s_io/decision",
    "kubernetes.audit.responseStatus.code",
    "orchestrator.resource.name",
    "container.id",
    "process.name",
    "process.args",
    "host.name",
];
const MAX_FIELDS: usize = 12;
const MAX_VALUE: usize = 80;

fn is_alert_field(key: &str) -> bool {
    key == "@timestamp" || key == "event.kind" || key.starts_with("kibana.") || key.starts_with("crowsnest.")
}

/// The `name=value` pairs worth showing: an ES|QL alert's row columns, or an event alert's
/// key fields.
fn key_fields(alert: &Map, doc: &Document) -> Vec<String> {
    let esql = doc.first_str("kibana.alert.rule.type") == Some("esql");
    let mut out = Vec::new();
    if esql {
        for (k, v) in alert.iter() {
            if !is_alert_field(k) {
                out.push((k.to_string(), v.clone()));
            }
        }
    } else {
        for k in KEY_FIELDS {
            let v = field(doc, k);
            if !v.is_null() {
                out.push((k.to_string(), v));
            }
        }
    }
    out.into_iter()
        .take(MAX_FIELDS)
        .map(|(k, v)| format!("{k}={}", truncate(&one_line(&table_cell(&v)), MAX_VALUE)))
        .collect()
}

fn text(doc: &Document, path: &str) -> String {
    match field(doc, path) {
        Value::Null => "-".into(),
        v => table_cell(&v),
    }
}

impl AlertSink for TableSink {
    fn emit(&mut self, alert: &Map) -> io::Result<()> {
        let doc = Document::new(alert.clone());
        if self.count > 0 {
            writeln!(self.out)?;
        }
        self.count += 1;
        let bb = doc.has("kibana.alert.building_block_type");
        writeln!(
            self.out,
            "{}  {} ({})  {}{}",
            text(&doc, "@timestamp"),
            text(&doc, "kibana.alert.severity").to_uppercase(),
            text(&doc, "kibana.alert.risk_score"),
            text(&doc, "kibana.alert.rule.name"),
            if bb {
                format!(
                    "  [building block {} of group {}]",
                    text(&doc, "kibana.alert.group.index"),
                    truncate(&text(&doc, "kibana.alert.group.id"), 8)
                )
            } else {
                String::new()
            }
        )?;
        writeln!(
            self.out,
            "  reason: {}",
            one_line(&text(&doc, "kibana.alert.reason"))
        )?;
        if let Some(keys) = alert.get("crowsnest.sequence.join_keys") {
            let events = alert.get("crowsnest.event_ids").cloned().unwrap_or(Value::Null);
            writeln!(
                self.out,
                "  sequence: join keys {}  events: {}",
                table_cell(keys),
                table_cell(&events)
            )?;
        }
        let fields = key_fields(alert, &doc);
        if !fields.is_empty() {
            writeln!(self.out, "  fields: {}", fields.join("  "))?;
        }
        let events = match doc.first("crowsnest.event_count") {
            Some(n) => n.to_string(),
            None => doc.field("crowsnest.event_ids").len().to_string(),
        };
        writeln!(
            self.out,
            "  window: {} .. {}  events: {}  uuid: {}",
            text(&doc, "crowsnest.window.start"),
            text(&doc, "crowsnest.window.end"),
            events,
            text(&doc, "kibana.alert.uuid"),
        )
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
