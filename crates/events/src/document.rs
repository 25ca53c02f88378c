//! [`Document`]: one event as a query engine sees it, with Elasticsearch-style field access.
//!
//! `doc.field("kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name")` walks the
//! object tree trying every way of splitting the path at dots, so a key that itself contains
//! dots is reached exactly as Elasticsearch flattens it. Arrays are transparent at every level
//! (an array of objects contributes the field of each element); nulls are dropped; an empty
//! result means the field is missing on this event.
//!
//! A document may instead be *flat* ([`Flat`]): the leaf values of a fixed list of fields,
//! computed straight from the raw record without a tree (what `hunt` reads), plus the raw
//! record to rebuild the tree from when something needs it (an alert's source fields). Field
//! access reads the flat values first; a flat document's `source` is empty.

use std::sync::Arc;

use smallvec::SmallVec;

use crate::value::{Map, Value};

/// Where an event came from: input name and 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub source: Arc<str>,
    pub line: u64,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.source, self.line)
    }
}

/// The leaf values of one field on one document: empty when missing, one value when
/// single-valued, several when multi-valued. Never contains `Null` or `Array`.
pub type FieldValues<'a> = SmallVec<[&'a Value; 2]>;

/// One event: its `_source` tree plus the metadata Elasticsearch keeps beside it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// The `_source` object.
    pub source: Map,
    /// `_id`: stable for the same input event (see `sources` for how it is derived).
    pub id: String,
    /// `_index`: the concrete index the event would be stored in, e.g.
    /// `.ds-logs-kubernetes.audit_logs-default`.
    pub index: String,
    /// Where the event was read from, when it was read from a file.
    pub origin: Option<Origin>,
    /// The precomputed fields of a flat document (then `source` is empty).
    pub flat: Option<Box<Flat>>,
}

/// Some fields of one record as [`Document::field`] would find them in its normalized tree:
/// `kubernetes.audit.*` fields in `audit`, other fields as precomputed leaf values; and the raw
/// record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flat {
    /// The names of the precomputed fields, sorted, shared by every document of one reader.
    pub names: Arc<[Box<str>]>,
    /// Per name, its leaf values (never `Null` or `Array`; empty when missing).
    pub values: Vec<SmallVec<[Value; 1]>>,
    /// What the document holds under `kubernetes.audit`: `kubernetes.audit.P` is `P` here.
    pub audit: Map,
    /// The raw record the values come from.
    pub raw: Arc<str>,
}

const AUDIT: &str = "kubernetes.audit.";

impl Flat {
    /// The values of `path` when it is one of the names.
    fn get(&self, path: &str) -> Option<&SmallVec<[Value; 1]>> {
        let i = self.names.binary_search_by(|n| (**n).cmp(path)).ok()?;
        self.values.get(i)
    }

    /// Calls `f` with each value of `path`; false when the path is neither under
    /// `kubernetes.audit` nor precomputed.
    fn visit<'a>(&'a self, path: &str, f: &mut dyn FnMut(&'a Value)) -> bool {
        if let Some(rest) = path.strip_prefix(AUDIT) {
            visit_map(&self.audit, rest, f);
        } else if let Some(vals) = self.get(path) {
            vals.iter().for_each(f);
        } else {
            return false;
        }
        true
    }
}

impl Document {
    pub fn new(source: Map) -> Self {
        Document {
            source,
            ..Default::default()
        }
    }

    /// Builds a document from JSON text (convenience for tests and tools).
    pub fn from_json(text: &str) -> Result<Self, String> {
        match Value::from_json(text).map_err(|e| e.to_string())? {
            Value::Object(m) => Ok(Document::new(m)),
            other => Err(format!("expected a JSON object, found {}", other.type_name())),
        }
    }

    /// The values of a field by its dotted path (see the module docs). Metadata fields
    /// `_id` and `_index` are not part of `_source`; use [`Document::metadata`] for them.
    pub fn field<'a>(&'a self, path: &str) -> FieldValues<'a> {
        let mut out = FieldValues::new();
        self.for_each_value(path, &mut |v| out.push(v));
        out
    }

    /// Calls `f` for each leaf value of a field, without allocating.
    pub fn for_each_value<'a>(&'a self, path: &str, f: &mut dyn FnMut(&'a Value)) {
        if self.flat.as_ref().is_some_and(|fl| fl.visit(path, f)) {
            return;
        }
        visit_map(&self.source, path, f);
    }

    /// The first value of a field, if any.
    pub fn first<'a>(&'a self, path: &str) -> Option<&'a Value> {
        let mut found = None;
        self.for_each_value(path, &mut |v| {
            if found.is_none() {
                found = Some(v)
            }
        });
        found
    }

    /// True for a flat document (see the module docs).
    pub fn is_flat(&self) -> bool {
        self.flat.is_some()
    }

    /// Sets a field to one value: in `source` (at its dotted path), or among a flat document's
    /// precomputed fields (a flat document holds only the fields it was made with: others are
    /// left alone).
    pub fn set(&mut self, path: &str, value: Value) {
        match &mut self.flat {
            Some(f) => {
                if let Ok(i) = f.names.binary_search_by(|n| (**n).cmp(path)) {
                    f.values[i] = smallvec::smallvec![value];
                }
            }
            None => self.source.insert_path(path, value),
        }
    }

    /// The first value of a field as a string, if it is one.
    pub fn first_str(&self, path: &str) -> Option<&str> {
        self.first(path).and_then(Value::as_str)
    }

    /// True when the field has at least one non-null value.
    pub fn has(&self, path: &str) -> bool {
        self.first(path).is_some()
    }

    /// `_id`, `_index` (and `_source` is not a field). Returns None for other names.
    pub fn metadata(&self, name: &str) -> Option<Value> {
        match name {
            "_id" => Some(Value::from(self.id.as_str())),
            "_index" => Some(Value::from(self.index.as_str())),
            "_version" => Some(Value::Int(1)),
            _ => None,
        }
    }

    /// Every leaf field path of the document with its values, in document order; dotted keys
    /// are joined into the path as Elasticsearch flattens them. Objects inside arrays are
    /// flattened into the same path (`a.b` for `{"a":[{"b":1},{"b":2}]}`).
    pub fn flatten(&self) -> Vec<(String, Vec<&Value>)> {
        let mut out: Vec<(String, Vec<&Value>)> = Vec::new();
        if let Some(f) = &self.flat {
            for (name, vals) in f.names.iter().zip(&f.values) {
                if !vals.is_empty() {
                    out.push((name.to_string(), vals.iter().collect()));
                }
            }
            flatten_map(&f.audit, AUDIT[..AUDIT.len() - 1].to_string(), &mut out);
        }
        flatten_map(&self.source, String::new(), &mut out);
        out
    }
}

fn visit_map<'a>(map: &'a Map, path: &str, f: &mut dyn FnMut(&'a Value)) {
    let p = path.as_bytes();
    let Some(&first) = p.first() else { return };
    for (len, key_first, key, value) in map.iter_tagged() {
        // Most keys differ from the path in their first byte or do not end where a path
        // segment ends: reject those on the map's cached length and first byte, without
        // reading the key.
        let whole = len == p.len();
        if len == 0 || key_first != first || !(whole || (len < p.len() && p[len] == b'.')) {
            continue;
        }
        if p[..len] != *key.as_bytes() {
            continue;
        }
        if whole {
            visit_leaf(value, f);
        } else {
            visit_inner(value, &path[len + 1..], f);
        }
    }
}

fn visit_inner<'a>(value: &'a Value, rest: &str, f: &mut dyn FnMut(&'a Value)) {
    match value {
        Value::Object(m) => visit_map(m, rest, f),
        Value::Array(items) => items.iter().for_each(|v| visit_inner(v, rest, f)),
        _ => {}
    }
}

fn visit_leaf<'a>(value: &'a Value, f: &mut dyn FnMut(&'a Value)) {
    match value {
        Value::Null => {}
        Value::Array(items) => items.iter().for_each(|v| visit_leaf(v, f)),
        v => f(v),
    }
}

fn flatten_map<'a>(map: &'a Map, prefix: String, out: &mut Vec<(String, Vec<&'a Value>)>) {
    for (key, value) in map.iter() {
        let path = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        flatten_value(value, path, out);
    }
}

fn flatten_value<'a>(value: &'a Value, path: String, out: &mut Vec<(String, Vec<&'a Value>)>) {
    match value {
        Value::Null => {}
        Value::Object(m) => flatten_map(m, path, out),
        Value::Array(items) => {
            for item in items {
                flatten_value(item, path.clone(), out);
            }
        }
        leaf => match out.iter_mut().find(|(p, _)| *p == path) {
            Some((_, vals)) => vals.push(leaf),
            None => out.push((path, vec![leaf])),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document::from_json(text).unwrap()
    }

    #[test]
    fn dotted_keys_are_reached_by_dotted_paths() {
        let d = doc(
            r#"{"kubernetes":{"audit":{"user":{"extra":{"authentication.kubernetes.io/pod-name":["web-1"]}}}}}"#,
        );
        let v = d.field("kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].as_str(), Some("web-1"));
        // and a document written flat reaches the same path
        let flat = doc(r#"{"kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name":"web-1"}"#);
        assert_eq!(
            flat.first_str("kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name"),
            Some("web-1")
        );
    }

    #[test]
    fn arrays_are_multi_values_and_nulls_vanish() {
        let d = doc(
            r#"{"source":{"ip":["10.0.0.5","172.16.0.1",null]},"a":[{"b":1},{"b":[2,3]},{"c":4}],"n":null}"#,
        );
        assert_eq!(d.field("source.ip").len(), 2);
        let b: Vec<i64> = d.field("a.b").iter().filter_map(|v| v.as_i64()).collect();
        assert_eq!(b, vec![1, 2, 3]);
        assert!(d.field("n").is_empty());
        assert!(!d.has("n"));
        assert!(d.field("missing.field").is_empty());
        assert!(d.field("sourc").is_empty(), "prefix of a key is not the key");
    }

    #[test]
    fn mixed_nesting_and_flat_keys_both_contribute() {
        let d = doc(r#"{"a":{"b":1},"a.b":2}"#);
        let vals: Vec<i64> = d.field("a.b").iter().filter_map(|v| v.as_i64()).collect();
        assert_eq!(vals, vec![1, 2]);
    }

    #[test]
    fn flatten_lists_leaf_paths() {
        let d = doc(r#"{"a":{"b":1,"c.d":"x"},"e":[{"f":1},{"f":2}]}"#);
        let flat = d.flatten();
        let names: Vec<&str> = flat.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, vec!["a.b", "a.c.d", "e.f"]);
        assert_eq!(flat[2].1.len(), 2);
    }

    #[test]
    fn flat_documents_read_precomputed_fields_and_the_audit_members() {
        let audit =
            doc(r#"{"verb":"get","user":{"groups":["a",null,"b"]},"annotations":{"x_y/z":"allow"}}"#).source;
        let mut d = Document {
            flat: Some(Box::new(Flat {
                names: vec![Box::from("@timestamp"), Box::from("user.name")].into(),
                values: vec![smallvec::smallvec![Value::from("t0")], SmallVec::new()],
                audit,
                raw: Arc::from("{}"),
            })),
            ..Document::default()
        };
        assert_eq!(d.first_str("@timestamp"), Some("t0"));
        assert!(d.field("user.name").is_empty());
        assert_eq!(d.first_str("kubernetes.audit.verb"), Some("get"));
        let groups: Vec<_> = d
            .field("kubernetes.audit.user.groups")
            .iter()
            .map(|v| v.as_str())
            .collect();
        assert_eq!(groups, [Some("a"), Some("b")]);
        assert_eq!(d.first_str("kubernetes.audit.annotations.x_y/z"), Some("allow"));
        // Not precomputed and not under kubernetes.audit: missing.
        assert!(d.first("event.action").is_none());
        d.set("@timestamp", Value::from("t1"));
        d.set("event.action", Value::from("ignored"));
        assert_eq!(d.first_str("@timestamp"), Some("t1"));
        assert!(d.first("event.action").is_none());
        let paths: Vec<String> = d.flatten().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "@timestamp",
                "kubernetes.audit.verb",
                "kubernetes.audit.user.groups",
                "kubernetes.audit.annotations.x_y/z"
            ]
        );
    }

    #[test]
    fn set_writes_tree_documents_at_the_dotted_path() {
        let mut d = doc(r#"{"event":{"kind":"event"}}"#);
        d.set("event.ingested", Value::from("t"));
        assert_eq!(d.first_str("event.ingested"), Some("t"));
        assert_eq!(d.first_str("event.kind"), Some("event"));
    }
}
