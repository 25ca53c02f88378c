//! Kubernetes audit events → `logs-kubernetes.audit_logs-*` documents, reproducing the
//! `kubernetes.audit_logs` ingest pipeline of Elastic's Kubernetes integration step by step:
//!
//! 1. AKS diagnostic records: the record minus `properties.log` becomes
//!    `kubernetes.audit.aks_metadata` (`operationName`→`operation_name`, `resourceId`→
//!    `resource_id`, `serviceBuild`→`service_build`, `properties.{containerID,pod,stream}`→
//!    `container_id`, `pod`, `stream`), the Event comes from `properties.log` (a JSON string or
//!    an object) and `@timestamp` is set from `time` (millisecond precision).
//! 2. `requestObject.metadata` and `responseObject.metadata` are removed.
//! 3. `event.kind: event`; `event.action` from `verb`.
//! 4. GKE renames when the target is missing: `insertId`→`auditID`, `receiveTimestamp`→
//!    `requestReceivedTimestamp`, `timestamp`→`stageTimestamp` (this also applies to legacy
//!    Events), `protoPayload.status.code`→`responseStatus.code`, `labels`→`annotations`.
//! 5. Annotation keys have `.` replaced by `_`; decision `allow`/`forbid` sets
//!    `event.outcome` `success`/`failure`.
//! 6. `user.name`, `user.id`, `user_agent.original` from `user.username`, `user.uid`,
//!    `userAgent`; `source.ip` is `sourceIPs` when every element is an IP address (the
//!    `convert` processor fails as a whole otherwise and is ignored), `client.ip` copies it.
//! 7. `orchestrator.type: kubernetes`, `orchestrator.api_version` from `apiVersion`,
//!    `orchestrator.resource.{type,name}`/`orchestrator.namespace` from `objectRef`, GKE's
//!    `protoPayload.resourceName` (when no name yet), `resource.type`, and
//!    `orchestrator.cluster.{name,id}` from `resource.labels.{cluster_name,project_id}`.
//! 8. `related.user` gets `user.uid` then `user.username`; `related.ip` each `source.ip`.
//! 9. Finally null, `""`, `{}` and `[]` are removed everywhere, children first.
//!
//! Then the agent-side fields are added (see the crate docs for `@timestamp`).

use std::net::IpAddr;

use compact_str::CompactString;
use events::{Map, Value};

use crate::fasttime::{format_millis, format_secs, parse as parse_timestamp};

use crate::util::{append_unique, get_nonnull, get_path, get_str, prune_empty, set_path, take_path};
use crate::{Normalizer, TimePolicy, validate};

/// The dataset of audit documents.
pub const DATASET: &str = "kubernetes.audit_logs";
/// `ecs.version` as Elastic Agent 8.x writes it on these documents.
pub const ECS_VERSION: &str = "8.0.0";

/// Normalizes an audit Event (native, legacy) or GKE `LogEntry`. `aks` carries the AKS
/// metadata and the `@timestamp` the pipeline takes from the record's `time`.
pub(crate) fn normalize(
    event: Map,
    aks: Option<(Map, i64)>,
    original: Option<String>,
    ctx: &Normalizer,
) -> Result<(Map, String), String> {
    validate::audit_record(&event)?;
    let mut audit = event;
    let mut doc = Map::with_capacity(16);
    let mut pipeline_timestamp = None;

    if let Some((meta, time)) = aks {
        audit.insert("aks_metadata", Value::Object(meta));
        pipeline_timestamp = Some(time);
    }

    let mut event_fields = Map::with_capacity(6);
    event_fields.insert("kind", Value::from_static("event"));
    if let Some(verb) = audit.get("verb").filter(|v| !v.is_empty_value()) {
        event_fields.insert("action", verb.clone());
    }
    if let Some(outcome) = rewrite_members(&mut audit) {
        event_fields.insert("outcome", Value::from_static(outcome));
    }
    if let Some(original) = original {
        event_fields.insert("original", Value::from(original));
        doc.insert(
            "tags",
            Value::Array(vec![Value::from_static("preserve_original_event")]),
        );
    }
    doc.insert("event", Value::Object(event_fields));

    let wanted = ctx.wanted;
    if wanted.user {
        let mut user = Map::new();
        if let Some(v) = get_path(&audit, "user.username").filter(|v| !v.is_empty_value()) {
            user.insert("name", v.clone());
        }
        if let Some(v) = get_path(&audit, "user.uid").filter(|v| !v.is_empty_value()) {
            user.insert("id", v.clone());
        }
        if !user.is_empty() {
            doc.insert("user", Value::Object(user));
        }
    }
    if wanted.user_agent
        && let Some(v) = audit.get("userAgent").filter(|v| !v.is_empty_value())
    {
        set_path(&mut doc, "user_agent.original", v.clone());
    }
    let ips = if wanted.source_ip || wanted.client_ip || wanted.related_ip {
        audit.get("sourceIPs").and_then(convert_ips)
    } else {
        None
    };
    if let Some(ips) = &ips {
        if wanted.client_ip && !ips.is_empty_value() {
            set_path(&mut doc, "client.ip", ips.clone());
        }
        if wanted.source_ip {
            set_path(&mut doc, "source.ip", ips.clone());
        }
    }

    if wanted.orchestrator {
        doc.insert("orchestrator", Value::Object(orchestrator(&audit)));
    }

    if wanted.related_user {
        for key in ["user.uid", "user.username"] {
            if let Some(v) = get_nonnull(&audit, key) {
                append_unique(&mut doc, "related.user", Value::Str(template_string(v)));
            }
        }
    }
    if wanted.related_ip
        && let Some(Value::Array(ips)) = ips
    {
        for ip in ips {
            append_unique(&mut doc, "related.ip", Value::Str(template_string(&ip)));
        }
    }

    // The event time, read before `kubernetes.audit` moves into the document.
    let event_time = event_time(&audit);
    let mut kubernetes = Map::with_capacity(1);
    kubernetes.insert("audit", Value::Object(audit));
    doc.insert("kubernetes", Value::Object(kubernetes));
    prune_empty(&mut doc);

    set_agent_fields(&mut doc, event_time, pipeline_timestamp, ctx)?;
    crate::set_data_stream(&mut doc, DATASET, &ctx.opts.namespace);
    let index = ctx.audit_index.clone();
    Ok((doc, index))
}

/// Steps 2, 4 and 5 on the Event's own members (what becomes `kubernetes.audit`): the
/// request and response objects' `metadata` removed, the GKE and legacy renames, annotation
/// keys with `.` renamed to `_`. Returns `event.outcome` from the decision annotation.
pub(crate) fn rewrite_members(audit: &mut Map) -> Option<&'static str> {
    for key in ["responseObject", "requestObject"] {
        if let Some(Value::Object(obj)) = audit.get_mut(key) {
            obj.remove("metadata");
        }
    }
    rename_if_missing(audit, "insertId", "auditID");
    rename_if_missing(audit, "receiveTimestamp", "requestReceivedTimestamp");
    rename_if_missing(audit, "timestamp", "stageTimestamp");
    if get_nonnull(audit, "responseStatus.code").is_none()
        && get_nonnull(audit, "protoPayload.status.code").is_some()
        && let Some(code) = take_path(audit, "protoPayload.status.code")
    {
        set_path(audit, "responseStatus.code", code);
    }
    rename_if_missing(audit, "labels", "annotations");

    let mut outcome = None;
    if let Some(Value::Object(annotations)) = audit.get_mut("annotations") {
        let old = std::mem::take(annotations);
        for (key, value) in old {
            if key == "authorization.k8s.io/decision" {
                match value.as_str() {
                    Some("allow") => outcome = Some("success"),
                    Some("forbid") => outcome = Some("failure"),
                    _ => {}
                }
            }
            let key = if key.contains('.') {
                CompactString::from(key.replace('.', "_"))
            } else {
                key
            };
            annotations.insert(key, value);
        }
    }
    outcome
}

/// The event time of an Event (after [`rewrite_members`]): its first valid timestamp.
pub(crate) fn event_time(audit: &Map) -> Option<i64> {
    ["requestReceivedTimestamp", "stageTimestamp"]
        .iter()
        .find_map(|k| get_str(audit, k).and_then(parse_timestamp))
}

/// The agent's read time of a record by the time policy: its event time on replay (an error
/// without one), the clock when live.
pub(crate) fn read_time(event_time: Option<i64>, ctx: &Normalizer) -> Result<i64, String> {
    match ctx.opts.time_policy {
        TimePolicy::Replay => event_time.ok_or_else(|| {
            "no event time: the record has none of requestReceivedTimestamp, stageTimestamp, \
             timestamp (required by the replay time policy)"
                .to_string()
        }),
        TimePolicy::Live => Ok(ctx.now()),
    }
}

/// The `orchestrator.*` fields of an audit document.
fn orchestrator(audit: &Map) -> Map {
    let mut orch = Map::with_capacity(5);
    let copy = |from: &str| get_path(audit, from).filter(|v| !v.is_empty_value()).cloned();
    if let Some(v) = copy("apiVersion") {
        orch.insert("api_version", v);
    }
    if let Some(v) = copy("objectRef.resource") {
        set_path(&mut orch, "resource.type", v);
    }
    if let Some(v) = copy("objectRef.namespace") {
        orch.insert("namespace", v);
    }
    if let Some(v) = copy("objectRef.name") {
        set_path(&mut orch, "resource.name", v);
    }
    if get_nonnull(&orch, "resource.name").is_none()
        && let Some(v) = copy("protoPayload.resourceName")
    {
        set_path(&mut orch, "resource.name", v);
    }
    if let Some(v) = copy("resource.type") {
        set_path(&mut orch, "resource.type", v);
    }
    if let Some(v) = copy("resource.labels.cluster_name") {
        set_path(&mut orch, "cluster.name", v);
    }
    if let Some(v) = copy("resource.labels.project_id") {
        set_path(&mut orch, "cluster.id", v);
    }
    orch.insert("type", Value::from_static("kubernetes"));
    orch
}

/// `@timestamp`, `event.ingested` and `ecs.version` for an audit document.
fn set_agent_fields(
    doc: &mut Map,
    event_time: Option<i64>,
    pipeline_timestamp: Option<i64>,
    ctx: &Normalizer,
) -> Result<(), String> {
    let read = read_time(event_time, ctx)?;
    let (agent_ts, ingested) = (read, read);
    let ts = pipeline_timestamp.unwrap_or(agent_ts);
    doc.insert("@timestamp", Value::Str(format_millis(ts)));
    set_path(doc, "event.ingested", Value::Str(format_secs(ingested)));
    set_path(doc, "ecs.version", Value::from_static(ECS_VERSION));
    Ok(())
}

/// ES `rename` guarded by "target missing, source present".
fn rename_if_missing(audit: &mut Map, from: &str, to: &str) {
    if audit.get(to).is_none_or(Value::is_null) && audit.get(from).is_some_and(|v| !v.is_null()) {
        let v = audit.remove(from).unwrap_or_default();
        audit.insert(to, v);
    }
}

/// The `convert` processor with `type: ip`: every element must be an IP address, else the
/// whole conversion fails (and, with `ignore_failure`, nothing is set).
pub(crate) fn convert_ips(v: &Value) -> Option<Value> {
    let valid = |v: &Value| v.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok());
    match v {
        Value::Array(items) => items.iter().all(valid).then(|| v.clone()),
        Value::Str(_) => valid(v).then(|| v.clone()),
        _ => None,
    }
}

/// A mustache `{{{field}}}` rendering of a value.
fn template_string(v: &Value) -> CompactString {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_json().into(),
    }
}

/// Normalizes an AKS diagnostic-settings record (category `kube-audit`/`kube-audit-admin`).
pub(crate) fn normalize_aks(
    mut record: Map,
    original: Option<String>,
    ctx: &Normalizer,
) -> Result<(Map, String), String> {
    let category = record.get("category").and_then(Value::as_str).unwrap_or_default();
    if !category.starts_with("kube-audit") {
        return Err(format!(
            "AKS diagnostic record of category {category:?} is not a Kubernetes audit record"
        ));
    }
    let event = match take_path(&mut record, "properties.log") {
        Some(Value::Str(text)) => match crate::parse::full_sonic(text.as_bytes()) {
            Ok(Value::Object(m)) => m,
            Ok(other) => {
                return Err(format!(
                    "AKS properties.log holds a JSON {}, not an Event",
                    other.type_name()
                ));
            }
            Err(e) => return Err(format!("AKS properties.log is not valid JSON: {e}")),
        },
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(format!(
                "AKS properties.log must be a JSON string or object, found {}",
                other.type_name()
            ));
        }
        None => return Err("AKS record without properties.log".to_string()),
    };
    let time = match record.get("time") {
        Some(Value::Str(s)) => {
            parse_timestamp(s).ok_or_else(|| format!("AKS record time is not a valid timestamp: {s:?}"))?
        }
        Some(v) => {
            return Err(format!(
                "AKS record time must be a timestamp string, found {}",
                v.type_name()
            ));
        }
        None => return Err("AKS record without time".to_string()),
    };
    for (from, to) in [
        ("operationName", "operation_name"),
        ("resourceId", "resource_id"),
        ("serviceBuild", "service_build"),
        ("properties.containerID", "container_id"),
        ("properties.pod", "pod"),
        ("properties.stream", "stream"),
    ] {
        if get_nonnull(&record, from).is_some()
            && let Some(v) = take_path(&mut record, from)
        {
            record.insert(to, v);
        }
    }
    normalize(event, Some((record, time)), original, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;

    fn run(text: &str) -> Map {
        let opts = Options::default();
        let ctx = Normalizer::new(opts);
        let v = Value::from_json(text).unwrap();
        normalize(v.as_object().unwrap().clone(), None, None, &ctx)
            .unwrap()
            .0
    }

    #[test]
    fn forbid_is_failure_and_bad_ips_set_no_source_ip() {
        let d = run(
            r#"{"kind":"Event","verb":"get","sourceIPs":["10.0.0.1","nope"],"stageTimestamp":"2020-01-01T00:00:00.5Z",
               "annotations":{"authorization.k8s.io/decision":"forbid"}}"#,
        );
        assert_eq!(get_str(&d, "event.outcome"), Some("failure"));
        assert!(get_path(&d, "source.ip").is_none());
        assert!(get_path(&d, "related.ip").is_none());
        assert_eq!(get_str(&d, "@timestamp"), Some("2020-01-01T00:00:00.500Z"));
        assert_eq!(get_str(&d, "event.ingested"), Some("2020-01-01T00:00:00Z"));
    }

    #[test]
    fn legacy_timestamp_becomes_stage_timestamp() {
        let d = run(r#"{"kind":"Event","auditID":"a","verb":"list","timestamp":"2017-09-11T19:55:05Z"}"#);
        assert_eq!(
            get_str(&d, "kubernetes.audit.stageTimestamp"),
            Some("2017-09-11T19:55:05Z")
        );
        assert!(get_path(&d, "kubernetes.audit.timestamp").is_none());
        assert!(get_path(&d, "orchestrator.api_version").is_none());
        assert_eq!(get_str(&d, "@timestamp"), Some("2017-09-11T19:55:05.000Z"));
    }

    #[test]
    fn request_object_metadata_is_removed() {
        let d = run(
            r#"{"kind":"Event","verb":"create","requestReceivedTimestamp":"2020-01-01T00:00:00Z",
               "requestObject":{"metadata":{"name":"x"},"spec":{"a":1}}}"#,
        );
        assert!(get_path(&d, "kubernetes.audit.requestObject.metadata").is_none());
        assert_eq!(
            get_path(&d, "kubernetes.audit.requestObject.spec.a"),
            Some(&Value::Int(1))
        );
    }
}
