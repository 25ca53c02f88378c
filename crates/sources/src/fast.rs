//! The projected fast path for native and legacy audit Events.
//!
//! When [`crate::Options::fields`] is set, an Event line is not parsed into a tree of the
//! whole record. [`crate::scan::Members`] walks its top-level members without building them
//! (validating the JSON as it goes); only the members the requested ECS fields derive from
//! are parsed (through the [`crate::project::Projection`], so `requestObject` is cut down to
//! the requested sub-paths), plus the small members the record checks and shape detection
//! read. That small Event then goes through the same [`crate::audit::normalize`] as every
//! record, so the values, types, empty-value dropping and multi-value shapes of the requested
//! fields are exactly those of the full normalization.
//!
//! Raw members each ECS field derives from (the `kubernetes.audit_logs` pipeline):
//!
//! | requested ECS field | raw Event member |
//! |---|---|
//! | `kubernetes.audit.X[.Y...]` | `X` (annotation keys with `.` are renamed, still under `annotations`) |
//! | `event.action` | `verb` (always read) |
//! | `event.outcome` | `annotations` (`authorization.k8s.io/decision`) |
//! | `user.name`, `user.id`, `related.user` | `user` |
//! | `user_agent.original` | `userAgent` |
//! | `source.ip`, `client.ip`, `related.ip` | `sourceIPs` |
//! | `orchestrator.*` | `apiVersion`, `objectRef`, `resource` |
//! | `@timestamp`, `event.ingested` | `requestReceivedTimestamp`, `stageTimestamp`, `timestamp` (always read) |
//!
//! Anything else falls back to the regular path: a record that is not a plain Event (GKE and
//! AKS members, the renamed `insertId`/`receiveTimestamp`/`labels`, ECS, Falco, Tetragon,
//! EventList), duplicate known keys, escaped keys, any doubt about the JSON, or a record the
//! checks reject, so errors are the regular path's, word for word. A pattern (`*`) or the
//! whole `kubernetes.audit` object requested disables the fast path.

use events::{Document, Map, Value};

use crate::project::{DERIVED, needs};
use crate::scan::{Members, build_value, for_each_element};
use crate::validate::OBJECT_REF_STRINGS;
use crate::{Normalizer, audit, hash};

/// Top-level members that mean "not a plain audit Event": the regular path handles them.
#[cfg_attr(not(test), allow(dead_code))] // the table `classify` implements
const FOREIGN: [&str; 20] = [
    "insertId",
    "receiveTimestamp",
    "labels",
    "protoPayload",
    "records",
    "items",
    "@timestamp",
    "data_stream",
    "event",
    "kubernetes",
    "ecs",
    "event.dataset",
    "data_stream.dataset",
    "category",
    "operationName",
    "resourceId",
    "time",
    "rule",
    "output",
    "priority",
];

/// Members always parsed whole: the event time.
const TIME: [&str; 3] = ["requestReceivedTimestamp", "stageTimestamp", "timestamp"];

/// Members the record checks look inside: checked without building them, then parsed when a
/// requested field needs them.
#[cfg_attr(not(test), allow(dead_code))] // the table `classify` implements
const CHECKED: [&str; 9] = [
    "kind",
    "apiVersion",
    "verb",
    "user",
    "impersonatedUser",
    "sourceIPs",
    "objectRef",
    "responseStatus",
    "annotations",
];

/// Members the checks want to be strings (or null): type-checked without parsing them.
#[cfg_attr(not(test), allow(dead_code))] // the table `classify` implements
const STRINGS: [&str; 5] = ["level", "auditID", "stage", "requestURI", "userAgent"];
/// Members the checks want to be objects (or null).
#[cfg_attr(not(test), allow(dead_code))] // the table `classify` implements
const OBJECTS: [&str; 3] = ["metadata", "resource", "operation"];

/// The members whose presence makes a record without `kind: Event` an Event (two of them).
#[cfg_attr(not(test), allow(dead_code))] // the table `classify` implements
const AUDIT_KEYS: [&str; 6] = [
    "auditID",
    "verb",
    "requestURI",
    "stage",
    "objectRef",
    "requestReceivedTimestamp",
];

/// What a top-level member is to the fast path (its index in the table it belongs to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Foreign,
    Time(usize),
    Checked(usize),
    Str(usize),
    Obj(usize),
    Other,
}

/// Classifies a top-level key in one `match` (instead of scanning every table per key), with
/// its index in [`AUDIT_KEYS`] when it is one. Agrees with the tables (tested).
pub(crate) fn classify(key: &str) -> (Option<usize>, Class) {
    use Class::*;
    match key {
        "auditID" => (Some(0), Str(1)),
        "verb" => (Some(1), Checked(2)),
        "requestURI" => (Some(2), Str(3)),
        "stage" => (Some(3), Str(2)),
        "objectRef" => (Some(4), Checked(6)),
        "requestReceivedTimestamp" => (Some(5), Time(0)),
        "stageTimestamp" => (None, Time(1)),
        "timestamp" => (None, Time(2)),
        "kind" => (None, Checked(0)),
        "apiVersion" => (None, Checked(1)),
        "user" => (None, Checked(3)),
        "impersonatedUser" => (None, Checked(4)),
        "sourceIPs" => (None, Checked(5)),
        "responseStatus" => (None, Checked(7)),
        "annotations" => (None, Checked(8)),
        "level" => (None, Str(0)),
        "userAgent" => (None, Str(4)),
        "metadata" => (None, Obj(0)),
        "resource" => (None, Obj(1)),
        "operation" => (None, Obj(2)),
        k if foreign_member(k) => (None, Foreign),
        _ => (None, Other),
    }
}

/// Top-level members that mean "not a plain audit Event" (GKE, AKS, EventList, ECS, Falco,
/// Tetragon records): the paths that read plain Events leave such records to the tree path.
pub(crate) fn foreign_member(key: &str) -> bool {
    matches!(
        key,
        "insertId"
            | "receiveTimestamp"
            | "labels"
            | "protoPayload"
            | "records"
            | "items"
            | "@timestamp"
            | "data_stream"
            | "event"
            | "kubernetes"
            | "ecs"
            | "event.dataset"
            | "data_stream.dataset"
            | "category"
            | "operationName"
            | "resourceId"
            | "time"
            | "rule"
            | "output"
            | "priority"
            | "node_name"
    ) || key.starts_with("process_")
}

/// The plan of the fast path for a set of requested fields.
#[derive(Debug, Clone)]
pub(crate) struct FastPlan {
    /// Raw top-level members needed beyond [`TIME`].
    needed: Vec<String>,
}

impl FastPlan {
    /// `None` when the requested fields may need the whole Event (a pattern, `kubernetes`,
    /// `kubernetes.audit`).
    pub(crate) fn new(fields: &[String]) -> Option<FastPlan> {
        let mut needed: Vec<String> = Vec::new();
        let mut need = |k: &str| {
            if !TIME.contains(&k) && !needed.iter().any(|n| n == k) {
                needed.push(k.to_string());
            }
        };
        for f in fields {
            let f = f.as_str();
            if f.contains('*') || f == "kubernetes" || f == "kubernetes.audit" {
                return None;
            }
            if let Some(rest) = f.strip_prefix("kubernetes.audit.") {
                need(rest.split('.').next().unwrap_or(rest));
            }
            for (ecs, raw) in DERIVED {
                if needs(f, ecs) {
                    need(raw);
                }
            }
        }
        Some(FastPlan { needed })
    }

    fn wants(&self, key: &str) -> bool {
        self.needed.iter().any(|n| n == key)
    }
}

/// Parses a checked member's raw value (already scanned) for the event. These members are
/// small: building them whole is cheaper than a pruned parse.
fn member_value(raw: &str) -> Option<Value> {
    build_value(raw, 0, 1).map(|(v, _)| v)
}

fn str_or_null(raw: &str) -> Option<()> {
    matches!(raw.as_bytes().first(), Some(b'"' | b'n')).then_some(())
}

/// Null, or an array of strings and nulls, whose elements are inside `depth` containers.
fn str_array(raw: &str, depth: u32) -> Option<()> {
    if raw.starts_with('n') {
        return Some(());
    }
    for_each_element(raw, depth, str_or_null)
}

/// Null, or an object each of whose members passes `f`; values inside `depth` containers.
fn object_members(raw: &str, depth: u32, mut f: impl FnMut(&str, &str) -> Option<()>) -> Option<()> {
    if raw.starts_with('n') {
        return Some(());
    }
    let mut m = Members::nested(raw, depth)?;
    while let Some((k, v)) = m.next_member().ok()? {
        f(k, v)?;
    }
    Some(())
}

/// The record checks of [`crate::validate`] on one raw member, without building it: `None`
/// when they could fail (every occurrence of a member is checked, so this errs on the safe
/// side for duplicates), and the regular path then reports the error.
pub(crate) fn check(key: &str, raw: &str) -> Option<()> {
    match key {
        "kind" | "apiVersion" | "verb" => str_or_null(raw),
        "sourceIPs" => str_array(raw, 2),
        "user" | "impersonatedUser" => object_members(raw, 2, |k, v| match k {
            "username" | "uid" => str_or_null(v),
            "groups" => str_array(v, 3),
            "extra" => object_members(v, 3, |_, x| str_or_null(x).or_else(|| str_array(x, 4))),
            _ => Some(()),
        }),
        "objectRef" => object_members(raw, 2, |k, v| {
            if OBJECT_REF_STRINGS.contains(&k) {
                str_or_null(v)
            } else {
                Some(())
            }
        }),
        "responseStatus" => object_members(raw, 2, |k, v| {
            if k == "code" && !v.starts_with('n') {
                // An integer, as the full parse builds it (`Value::Int`).
                v.parse::<i64>().ok().map(|_| ())
            } else {
                Some(())
            }
        }),
        "annotations" => object_members(raw, 2, |_, v| str_or_null(v)),
        _ => Some(()),
    }
}

/// The document of an audit Event line through the fast path, or `None` to use the regular
/// path. `line` is trimmed and valid UTF-8.
pub(crate) fn audit_event(line: &str, plan: &FastPlan, ctx: &Normalizer) -> Option<Document> {
    let event = event_members(line, plan, ctx)?;
    let original = ctx.opts.preserve_original.then(|| line.to_string());
    let (source, index) = audit::normalize(event, None, original, ctx).ok()?;
    Some(Document {
        source,
        id: hash::record_id(line.as_bytes()),
        index,
        origin: None,
        flat: None,
    })
}

/// The members of an audit Event line the plan needs (and the event time's), built, the others
/// checked and skipped; `None` when the line is not a plain audit Event or anything is unusual.
pub(crate) fn event_members(line: &str, plan: &FastPlan, ctx: &Normalizer) -> Option<Map> {
    let mut members = Members::new(line)?;
    let mut event = Map::with_capacity(16);
    // Distinct members seen among those below (duplicates fall back).
    let mut seen: u64 = 0;
    let mut audit_keys = 0;
    let mut mark = |bit: usize| -> Option<()> {
        if seen & (1 << bit) != 0 {
            return None;
        }
        seen |= 1 << bit;
        Some(())
    };
    let mut kind = None;
    while let Some(key) = members.next_key().ok()? {
        let (audit_key, class) = classify(key);
        if let Some(i) = audit_key {
            audit_keys += 1;
            mark(i)?;
        }
        if let Class::Time(i) = class {
            mark(8 + i)?;
            event.insert(key, members.build()?);
            continue;
        }
        // A dotted key (`objectRef.name`) adds to the fields of its path: the tree path's job.
        if class == Class::Foreign || (class == Class::Other && key.contains('.')) {
            return None;
        }
        let wanted = plan.wants(key);
        if let Class::Checked(i) = class {
            mark(12 + i)?;
            if wanted && key != "kind" {
                // Built whole: the record checks then read the built value.
                event.insert(key, members.build()?);
            } else {
                let raw = members.skip()?;
                check(key, raw)?;
                if key == "kind" {
                    kind = Some(raw);
                    if wanted {
                        event.insert(key, member_value(raw)?);
                    }
                }
            }
            continue;
        }
        if let Class::Str(i) = class {
            mark(24 + i)?;
            if !matches!(members.peek(), Some(b'"' | b'n')) {
                return None;
            }
        } else if let Class::Obj(i) = class {
            mark(32 + i)?;
            if !matches!(members.peek(), Some(b'{' | b'n')) {
                return None;
            }
        } else if wanted && event.get(key).is_some() {
            return None;
        }
        if !wanted {
            members.skip()?;
        } else if let Some(p) = ctx.projection.as_ref().filter(|p| p.prunes(key)) {
            let raw = members.skip()?;
            event.insert(key, p.parse_member_sonic(key, raw.as_bytes()).ok()?);
        } else {
            event.insert(key, members.build()?);
        }
    }
    // `kind` as shape detection reads it (an escaped one is left to the regular path).
    let kind = match kind {
        Some(raw) if raw.contains('\\') => return None,
        Some("\"Event\"") => Some("Event"),
        Some("\"EventList\"") => Some("EventList"),
        _ => None,
    };
    if kind == Some("EventList") || (kind != Some("Event") && audit_keys < 2) {
        return None;
    }
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;

    fn plan(fields: &[&str]) -> Option<FastPlan> {
        FastPlan::new(&fields.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn raw_members_of_requested_fields() {
        let p = plan(&[
            "kubernetes.audit.annotations.authorization_k8s_io/decision",
            "kubernetes.audit.requestObject.spec.hostPID",
            "user_agent.original",
            "related",
            "orchestrator",
        ])
        .unwrap();
        for k in ["requestObject", "userAgent", "resource"] {
            assert!(p.wants(k), "{k}");
        }
        assert!(!p.wants("responseObject") && !p.wants("impersonatedUser") && p.wants("user"));
        assert!(plan(&["kubernetes.audit"]).is_none());
        assert!(plan(&["kubernetes.audit.*"]).is_none());
        assert_eq!(plan(&["user.name"]).unwrap().needed, ["user"]);
        assert!(plan(&["@timestamp"]).unwrap().needed.is_empty());
    }

    #[test]
    fn classify_agrees_with_the_tables() {
        let mut keys: Vec<&str> = FOREIGN.to_vec();
        keys.extend(TIME);
        keys.extend(CHECKED);
        keys.extend(STRINGS);
        keys.extend(OBJECTS);
        keys.extend([
            "node_name",
            "process_pid",
            "requestObject",
            "annotationsX",
            "",
            "verbs",
        ]);
        for key in keys {
            let pos = |t: &[&str]| t.iter().position(|k| *k == key);
            let expected = if FOREIGN.contains(&key) || key.starts_with("process_") || key == "node_name" {
                Class::Foreign
            } else if let Some(i) = pos(&TIME) {
                Class::Time(i)
            } else if let Some(i) = pos(&CHECKED) {
                Class::Checked(i)
            } else if let Some(i) = pos(&STRINGS) {
                Class::Str(i)
            } else if let Some(i) = pos(&OBJECTS) {
                Class::Obj(i)
            } else {
                Class::Other
            };
            assert_eq!(classify(key), (pos(&AUDIT_KEYS), expected), "{key:?}");
        }
    }

    #[test]
    fn foreign_shapes_and_surprises_fall_back() {
        let ctx = Normalizer::new(Options {
            fields: Some(vec!["event.action".to_string()]),
            ..Options::default()
        });
        let p = plan(&["event.action"]).unwrap();
        let t = r#""requestReceivedTimestamp":"2020-01-01T00:00:00Z""#;
        let ok = format!(r#"{{"kind":"Event","verb":"get",{t}}}"#);
        let doc = audit_event(&ok, &p, &ctx).unwrap();
        assert_eq!(doc.first_str("event.action"), Some("get"));
        for line in [
            format!(r#"{{"kind":"Event","verb":"get","protoPayload":{{}},{t}}}"#),
            format!(r#"{{"kind":"Event","verb":"get","verb":"list",{t}}}"#),
            format!(r#"{{"kind":"Event","verb":5,{t}}}"#),
            format!(r#"{{"kind":"Event","stage":5,{t}}}"#),
            format!(r#"{{"kind":"Event","metadata":[],{t}}}"#),
            format!(r#"{{"verb":"get",{t},"x":01}}"#),
            format!(r#"{{"kind":"EventList","verb":"get",{t}}}"#),
            r#"{"kind":"Event","verb":"get"}"#.to_string(),
            r#"{"hello":"world"}"#.to_string(),
            r#"["kind"]"#.to_string(),
        ] {
            assert!(audit_event(&line, &p, &ctx).is_none(), "{line}");
        }
    }
}
