//! Recognising what a record is ([`Shape`]) and splitting container records into members.

use events::Value;

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

/// Classifies a parsed record.
pub fn detect_shape(v: &Value) -> Shape {
    let m = match v {
        Value::Object(m) => m,
        Value::Array(_) => return Shape::JsonArray,
        _ => return Shape::Unknown("a record must be a JSON object or array"),
    };
    // One pass over the keys (lookups in these small ordered maps are linear scans).
    let (mut kind, mut api_version) = (None, None);
    let (mut timestamp, mut ecs, mut gke, mut records) = (false, false, false, false);
    let (mut tetragon_exec, mut tetragon_exit, mut tetragon_other, mut node) = (false, false, false, false);
    let (mut aks, mut falco, mut audit) = (0, 0, 0);
    for (key, value) in m.iter() {
        match key {
            "kind" => kind = value.as_str(),
            "apiVersion" => api_version = value.as_str(),
            "@timestamp" => timestamp = true,
            "data_stream" | "event" | "kubernetes" | "ecs" | "event.dataset" | "data_stream.dataset" => {
                ecs = true
            }
            "protoPayload" => gke = true,
            "records" => records = matches!(value, Value::Array(_)),
            "category" | "operationName" | "resourceId" | "time" if !value.is_null() => aks += 1,
            "process_exec" => tetragon_exec = true,
            "process_exit" => tetragon_exit = true,
            "node_name" => node = true,
            "rule" | "output" | "priority" => falco += 1,
            "auditID" | "verb" | "requestURI" | "stage" | "objectRef" | "requestReceivedTimestamp" => {
                audit += 1
            }
            k if k.starts_with("process_") => tetragon_other = true,
            _ => {}
        }
    }
    if kind == Some("EventList") {
        Shape::EventList
    } else if records && m.len() == 1 {
        Shape::Records
    } else if timestamp && ecs {
        Shape::EcsDocument
    } else if gke {
        Shape::GkeLogEntry
    } else if aks == 4 {
        Shape::AksRecord
    } else if tetragon_exec {
        Shape::TetragonExec
    } else if tetragon_exit {
        Shape::TetragonExit
    } else if falco == 3 {
        Shape::FalcoAlert
    } else if kind == Some("Event") || audit >= 2 {
        match api_version {
            Some("audit.k8s.io/v1") => Shape::AuditEvent,
            _ => Shape::LegacyAuditEvent,
        }
    } else if tetragon_other && node {
        Shape::Unknown("unsupported Tetragon event type (only process_exec and process_exit are mapped)")
    } else {
        Shape::Unknown(
            "unrecognized record (not an audit Event or EventList, GKE/AKS audit entry, ECS document, \
             Falco alert or Tetragon process event)",
        )
    }
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
