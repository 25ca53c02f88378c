//! Recognising what a record is ([`Shape`]) and splitting container records into members.

use events::{Map, Value};

/// What a record was recognised as (see the crate docs for the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An `audit.k8s.io/v1` Event.
    AuditEvent,
    /// A `v1beta1`/`v1alpha1` Event or one without `apiVersion`.
    LegacyAuditEvent,
    /// A webhook batch: `{"kind":"EventList","items":[...]}`.
    EventList,
    /// A GKE Cloud Logging `LogEntry` with the audit data under `protoPayload`.
    GkeLogEntry,
    /// An AKS diagnostic-settings record carrying the Event in `properties.log`.
    AksRecord,
    /// An Azure export wrapper `{"records":[...]}`.
    Records,
    /// A top-level JSON array of records.
    JsonArray,
    /// A document already in ECS shape (passes through).
    EcsDocument,
    /// A Falco JSON alert line.
    FalcoAlert,
    /// A Tetragon `process_exec` export line.
    TetragonExec,
    /// A Tetragon `process_exit` export line.
    TetragonExit,
    /// Not recognised; the reason says why.
    Unknown(&'static str),
}

impl Shape {
    /// A short human name (`normalize --explain`, error messages).
    pub fn name(&self) -> &'static str {
        match self {
            Shape::AuditEvent => "audit.k8s.io/v1 Event",
            Shape::LegacyAuditEvent => "legacy audit Event",
            Shape::EventList => "audit EventList",
            Shape::GkeLogEntry => "GKE Cloud Logging entry",
            Shape::AksRecord => "AKS diagnostic record",
            Shape::Records => "records wrapper",
            Shape::JsonArray => "JSON array",
            Shape::EcsDocument => "ECS document",
            Shape::FalcoAlert => "Falco alert",
            Shape::TetragonExec => "Tetragon process_exec",
            Shape::TetragonExit => "Tetragon process_exit",
            Shape::Unknown(_) => "unrecognized record",
        }
    }
}

const AUDIT_KEYS: [&str; 6] = [
    "auditID",
    "verb",
    "requestURI",
    "stage",
    "objectRef",
    "requestReceivedTimestamp",
];

/// Classifies a parsed record.
pub fn detect_shape(v: &Value) -> Shape {
    let m = match v {
        Value::Object(m) => m,
        Value::Array(_) => return Shape::JsonArray,
        _ => return Shape::Unknown("a record must be a JSON object or array"),
    };
    let kind = m.get("kind").and_then(Value::as_str);
    if kind == Some("EventList") {
        return Shape::EventList;
    }
    if matches!(m.get("records"), Some(Value::Array(_))) && m.len() == 1 {
        return Shape::Records;
    }
    if m.get("@timestamp").is_some() && is_ecs(m) {
        return Shape::EcsDocument;
    }
    if m.get("protoPayload").is_some() {
        return Shape::GkeLogEntry;
    }
    if ["category", "operationName", "resourceId", "time"]
        .iter()
        .all(|k| m.get(k).is_some_and(|v| !v.is_null()))
    {
        return Shape::AksRecord;
    }
    if m.get("process_exec").is_some() {
        return Shape::TetragonExec;
    }
    if m.get("process_exit").is_some() {
        return Shape::TetragonExit;
    }
    if m.get("rule").is_some() && m.get("output").is_some() && m.get("priority").is_some() {
        return Shape::FalcoAlert;
    }
    let looks_audit = kind == Some("Event") || AUDIT_KEYS.iter().filter(|k| m.get(k).is_some()).count() >= 2;
    if looks_audit {
        return match m.get("apiVersion").and_then(Value::as_str) {
            Some("audit.k8s.io/v1") => Shape::AuditEvent,
            _ => Shape::LegacyAuditEvent,
        };
    }
    if m.keys().any(|k| k.starts_with("process_")) && m.get("node_name").is_some() {
        return Shape::Unknown(
            "unsupported Tetragon event type (only process_exec and process_exit are mapped)",
        );
    }
    Shape::Unknown(
        "unrecognized record (not an audit Event or EventList, GKE/AKS audit entry, ECS document, \
         Falco alert or Tetragon process event)",
    )
}

fn is_ecs(m: &Map) -> bool {
    [
        "data_stream",
        "event",
        "kubernetes",
        "ecs",
        "event.dataset",
        "data_stream.dataset",
    ]
    .iter()
    .any(|k| m.get(k).is_some())
}

/// The members of a container record (EventList items, records, array elements).
pub(crate) fn members(v: Value, shape: Shape) -> Result<Vec<Value>, String> {
    match (shape, v) {
        (Shape::JsonArray, Value::Array(items)) => Ok(items),
        (Shape::EventList, Value::Object(mut m)) => match m.remove("items") {
            Some(Value::Array(items)) => Ok(items),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(other) => Err(format!(
                "EventList items must be an array, found {}",
                other.type_name()
            )),
        },
        (Shape::Records, Value::Object(mut m)) => match m.remove("records") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err("records must be an array".to_string()),
        },
        (shape, _) => Err(format!("a {} has no members", shape.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Shape {
        detect_shape(&Value::from_json(text).unwrap())
    }

    #[test]
    fn detects_each_shape() {
        assert_eq!(
            shape(r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get"}"#),
            Shape::AuditEvent
        );
        assert_eq!(
            shape(r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1"}"#),
            Shape::LegacyAuditEvent
        );
        assert_eq!(
            shape(r#"{"auditID":"x","verb":"get","timestamp":"2018-01-01T00:00:00Z"}"#),
            Shape::LegacyAuditEvent
        );
        assert_eq!(shape(r#"{"kind":"EventList","items":[]}"#), Shape::EventList);
        assert_eq!(
            shape(r#"{"protoPayload":{},"timestamp":"x"}"#),
            Shape::GkeLogEntry
        );
        assert_eq!(
            shape(
                r#"{"category":"kube-audit","operationName":"o","resourceId":"r","time":"t","properties":{}}"#
            ),
            Shape::AksRecord
        );
        assert_eq!(shape(r#"{"records":[]}"#), Shape::Records);
        assert_eq!(shape(r#"[{"a":1}]"#), Shape::JsonArray);
        assert_eq!(
            shape(r#"{"@timestamp":"2020-01-01T00:00:00Z","event":{"dataset":"x"}}"#),
            Shape::EcsDocument
        );
        assert_eq!(
            shape(r#"{"rule":"r","output":"o","priority":"Notice"}"#),
            Shape::FalcoAlert
        );
        assert_eq!(
            shape(r#"{"process_exec":{},"node_name":"n"}"#),
            Shape::TetragonExec
        );
        assert_eq!(
            shape(r#"{"process_exit":{},"node_name":"n"}"#),
            Shape::TetragonExit
        );
        assert!(matches!(
            shape(r#"{"process_kprobe":{},"node_name":"n"}"#),
            Shape::Unknown(_)
        ));
        assert!(matches!(shape(r#"{"hello":"world"}"#), Shape::Unknown(_)));
        assert!(matches!(shape("5"), Shape::Unknown(_)));
    }
}
