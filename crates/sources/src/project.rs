//! Projection: parse only what the requested fields can come from.
//!
//! A [`Projection`] is built from the requested ECS field names. For audit Events it knows
//! which raw Event keys each ECS field derives from (`user.name` ← `user`, `source.ip` ←
//! `sourceIPs`, `kubernetes.audit.X.Y` ← `X.Y`, ...). While parsing, the large Event subtrees
//! no requested field needs (`requestObject`, `responseObject`, `impersonatedUser`, ...) are
//! skipped without building values, and needed ones are cut down to the requested sub-paths.
//! Keys the Event schema does not know (GKE, AKS, ECS, Falco, Tetragon records) are always
//! kept whole, as are keys containing dots (annotation and `user.extra` keys, reached in ECS
//! by a renamed or dotted path). Type errors inside skipped subtrees are not reported.

use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use events::{Map, Value};

/// Event keys that can be skipped when no requested field needs them. Everything else (the
/// small keys shape detection and time need, and keys of other shapes) is always parsed.
const SKIPPABLE: [&str; 10] = [
    "level",
    "user",
    "impersonatedUser",
    "sourceIPs",
    "userAgent",
    "responseStatus",
    "requestObject",
    "responseObject",
    "annotations",
    "metadata",
];

/// ECS fields derived from Event keys by the pipeline.
const DERIVED: [(&str, &str); 11] = [
    ("event.outcome", "annotations"),
    ("user.name", "user"),
    ("user.id", "user"),
    ("related.user", "user"),
    ("user_agent.original", "userAgent"),
    ("source.ip", "sourceIPs"),
    ("client.ip", "sourceIPs"),
    ("related.ip", "sourceIPs"),
    ("related", "sourceIPs"),
    ("source", "sourceIPs"),
    ("client", "sourceIPs"),
];

#[derive(Debug, Default, Clone)]
struct Node {
    keep_all: bool,
    children: HashMap<String, Node>,
}

impl Node {
    fn add(&mut self, path: &str) {
        if self.keep_all {
            return;
        }
        match path.split_once('.') {
            None => {
                let child = self.children.entry(path.to_string()).or_default();
                child.keep_all = true;
                child.children.clear();
            }
            Some((head, rest)) => self.children.entry(head.to_string()).or_default().add(rest),
        }
    }
}

/// The parse plan for a set of requested fields.
#[derive(Debug, Clone)]
pub(crate) struct Projection {
    root: Node,
    skip: Vec<&'static str>,
}

impl Projection {
    pub(crate) fn new(fields: &[String]) -> Projection {
        let mut root = Node::default();
        let mut whole_event = false;
        for f in fields {
            let f = f.as_str();
            if f == "kubernetes" || f == "kubernetes.audit" || f == "*" {
                whole_event = true;
            } else if let Some(rest) = f.strip_prefix("kubernetes.audit.") {
                root.add(rest);
            }
            for (ecs, raw) in DERIVED {
                if f == ecs || f.starts_with(&format!("{ecs}.")) {
                    root.add(raw);
                }
            }
            // ECS documents passing through: a requested field keeps its top-level key.
            let top = f.split('.').next().unwrap_or(f);
            if SKIPPABLE.contains(&top) {
                root.add(top);
            }
        }
        if whole_event {
            root.keep_all = true;
        }
        let skip = SKIPPABLE
            .iter()
            .copied()
            .filter(|k| !root.children.contains_key(*k))
            .collect();
        Projection { root, skip }
    }

    pub(crate) fn parse_sonic(&self, bytes: &[u8]) -> Result<Value, String> {
        let mut de = sonic_rs::Deserializer::from_slice(bytes);
        let v = self.seed().deserialize(&mut de).map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        Ok(v)
    }

    pub(crate) fn parse_serde_json(&self, bytes: &[u8]) -> Result<Value, String> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let v = self.seed().deserialize(&mut de).map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        Ok(v)
    }

    fn seed(&self) -> Seed<'_> {
        Seed {
            proj: self,
            node: &self.root,
            top: true,
        }
    }
}

#[derive(Clone, Copy)]
struct Seed<'a> {
    proj: &'a Projection,
    node: &'a Node,
    /// At the level of an Event (the record itself, EventList items, array members).
    top: bool,
}

enum Plan<'a> {
    Full,
    Sub(Seed<'a>),
    Skip,
}

impl<'a> Seed<'a> {
    fn plan(&self, key: &str) -> Plan<'a> {
        if self.node.keep_all {
            return Plan::Full;
        }
        if self.top && key == "items" {
            return Plan::Sub(*self);
        }
        if let Some(child) = self.node.children.get(key) {
            return if child.keep_all {
                Plan::Full
            } else {
                Plan::Sub(Seed {
                    proj: self.proj,
                    node: child,
                    top: false,
                })
            };
        }
        if key.contains('.') {
            return Plan::Full;
        }
        if self.top {
            if self.proj.skip.contains(&key) {
                Plan::Skip
            } else {
                Plan::Full
            }
        } else {
            Plan::Skip
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.node.keep_all {
            return serde::Deserialize::deserialize(d);
        }
        d.deserialize_any(self)
    }
}

/// A map key, borrowed from the input when it has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
    fn into_string(self) -> String {
        match self {
            Key::Borrowed(s) => s.to_string(),
            Key::Owned(s) => s,
        }
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v))
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map(Value::Int).unwrap_or(Value::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match self.plan(key.as_str()) {
                Plan::Full => {
                    let v: Value = map.next_value()?;
                    out.insert(key.into_string(), v);
                }
                Plan::Sub(seed) => {
                    let v = map.next_value_seed(seed)?;
                    out.insert(key.into_string(), v);
                }
                Plan::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_unneeded_event_subtrees() {
        let p = Projection::new(&[
            "user.name".to_string(),
            "kubernetes.audit.requestObject.spec.hostPID".to_string(),
        ]);
        let text = r#"{"kind":"Event","verb":"create","user":{"username":"a"},"responseObject":{"big":[1,2,3]},
            "requestObject":{"metadata":{"x":1},"spec":{"hostPID":true,"containers":[{"image":"i"}]}},
            "annotations":{"authorization.k8s.io/decision":"allow"},"protoPayload":{"k":1}}"#;
        for v in [
            p.parse_sonic(text.as_bytes()).unwrap(),
            p.parse_serde_json(text.as_bytes()).unwrap(),
        ] {
            assert_eq!(
                v.to_json(),
                r#"{"kind":"Event","verb":"create","user":{"username":"a"},"requestObject":{"spec":{"hostPID":true}},"protoPayload":{"k":1}}"#
            );
        }
    }

    #[test]
    fn event_list_items_are_projected_like_events() {
        let p = Projection::new(&["event.action".to_string()]);
        let text = r#"{"kind":"EventList","items":[{"kind":"Event","verb":"get","requestObject":{"a":1}}]}"#;
        assert_eq!(
            p.parse_sonic(text.as_bytes()).unwrap().to_json(),
            r#"{"kind":"EventList","items":[{"kind":"Event","verb":"get"}]}"#
        );
    }

    #[test]
    fn whole_kubernetes_audit_keeps_everything() {
        let p = Projection::new(&["kubernetes.audit".to_string()]);
        let text = r#"{"kind":"Event","requestObject":{"a":1}}"#;
        assert_eq!(p.parse_sonic(text.as_bytes()).unwrap().to_json(), text);
    }
}
