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

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::parse::{KeySeed, MAX_DEPTH, Skip, ValueSeed, scalar_visits};

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

/// ECS fields derived from raw audit Event members by the `kubernetes.audit_logs` pipeline,
/// and the member each comes from (both the projection and the audit fast path read it).
pub(crate) const DERIVED: [(&str, &str); 14] = [
    ("event.action", "verb"),
    ("event.outcome", "annotations"),
    ("user.name", "user"),
    ("user.id", "user"),
    ("related.user", "user"),
    ("user_agent.original", "userAgent"),
    ("source.ip", "sourceIPs"),
    ("client.ip", "sourceIPs"),
    ("related.ip", "sourceIPs"),
    ("orchestrator.api_version", "apiVersion"),
    ("orchestrator.resource", "objectRef"),
    ("orchestrator.namespace", "objectRef"),
    ("orchestrator.resource.type", "resource"),
    ("orchestrator.cluster", "resource"),
];

/// True when the requested field `f` needs the derived field `x`: `f` is `x`, inside it, or
/// contains it (`related` needs `related.user` and `related.ip`).
pub(crate) fn needs(f: &str, x: &str) -> bool {
    f == x
        || f.strip_prefix(x).is_some_and(|r| r.starts_with('.'))
        || x.strip_prefix(f).is_some_and(|r| r.starts_with('.'))
}

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

/// Which ECS fields the audit pipeline derives that a projection asks for (all without one):
/// unrequested ones are not built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub(crate) user: bool,
    pub(crate) user_agent: bool,
    pub(crate) source_ip: bool,
    pub(crate) client_ip: bool,
    pub(crate) related_user: bool,
    pub(crate) related_ip: bool,
    pub(crate) orchestrator: bool,
}

impl Wanted {
    pub(crate) const ALL: Wanted = Wanted {
        user: true,
        user_agent: true,
        source_ip: true,
        client_ip: true,
        related_user: true,
        related_ip: true,
        orchestrator: true,
    };

    pub(crate) fn new(fields: Option<&[String]>) -> Wanted {
        let Some(fields) = fields else {
            return Wanted::ALL;
        };
        // `x` is wanted when a requested field is `x`, inside it, contains it, or is a pattern.
        let wants = |x: &str| {
            fields.iter().any(|f| {
                f.contains('*')
                    || f == x
                    || f.strip_prefix(x).is_some_and(|r| r.starts_with('.'))
                    || x.strip_prefix(f.as_str()).is_some_and(|r| r.starts_with('.'))
            })
        };
        Wanted {
            user: wants("user.name") || wants("user.id"),
            user_agent: wants("user_agent.original"),
            source_ip: wants("source.ip"),
            client_ip: wants("client.ip"),
            related_user: wants("related.user"),
            related_ip: wants("related.ip"),
            orchestrator: wants("orchestrator"),
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
            // A pattern (`kubernetes.audit.*`, `*`) could name anything: keep the whole record.
            if f == "kubernetes" || f == "kubernetes.audit" || f.contains('*') {
                whole_event = true;
            } else if let Some(rest) = f.strip_prefix("kubernetes.audit.") {
                root.add(rest);
            }
            for (ecs, raw) in DERIVED {
                if needs(f, ecs) {
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
        crate::parse::seeded_sonic(bytes, self.seed())
    }

    pub(crate) fn parse_serde_json(&self, bytes: &[u8]) -> Result<Value, String> {
        crate::parse::seeded_serde_json(bytes, self.seed())
    }

    /// True when only parts of the top-level member `key` are requested.
    pub(crate) fn prunes(&self, key: &str) -> bool {
        !self.root.keep_all && self.root.children.get(key).is_some_and(|n| !n.keep_all)
    }

    /// Parses the raw value of the record's top-level member `key` (one level down), cut down
    /// to the requested sub-paths as [`Projection::parse_sonic`] would.
    pub(crate) fn parse_member_sonic(&self, key: &str, bytes: &[u8]) -> Result<Value, String> {
        match self.root.children.get(key) {
            Some(node) if !self.root.keep_all && !node.keep_all => crate::parse::seeded_sonic(
                bytes,
                Seed {
                    proj: self,
                    node,
                    top: false,
                    depth: 1,
                },
            ),
            _ => crate::parse::seeded_sonic(bytes, ValueSeed { depth: 1 }),
        }
    }

    fn seed(&self) -> Seed<'_> {
        Seed {
            proj: self,
            node: &self.root,
            top: true,
            depth: 0,
        }
    }
}

#[derive(Clone, Copy)]
struct Seed<'a> {
    proj: &'a Projection,
    node: &'a Node,
    /// At the level of an Event (the record itself, EventList items, array members).
    top: bool,
    /// How many containers the value is inside.
    depth: u32,
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
                    depth: self.depth,
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
            return ValueSeed { depth: self.depth }.deserialize(d);
        }
        d.deserialize_any(self)
    }
}
impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;
    scalar_visits!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(serde::de::Error::custom(format_args!(
                "JSON nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let child = Seed {
            depth: self.depth + 1,
            ..self
        };
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(child)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(serde::de::Error::custom(format_args!(
                "JSON nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let depth = self.depth + 1;
        let mut out = Map::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match self.plan(key.as_str()) {
                Plan::Full => {
                    let v = map.next_value_seed(ValueSeed { depth })?;
                    out.insert(key.into_compact(), v);
                }
                Plan::Sub(seed) => {
                    let v = map.next_value_seed(Seed { depth, ..seed })?;
                    out.insert(key.into_compact(), v);
                }
                Plan::Skip => map.next_value_seed(Skip { depth })?,
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
    fn wanted_derived_fields() {
        let f = |v: &[&str]| Wanted::new(Some(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        assert_eq!(Wanted::new(None), Wanted::ALL);
        let w = f(&["user.name", "source.ip", "orchestrator.resource.name"]);
        assert!(w.user && w.source_ip && w.orchestrator);
        assert!(!w.client_ip && !w.related_ip && !w.related_user && !w.user_agent);
        let w = f(&["related"]);
        assert!(w.related_ip && w.related_user && !w.user);
        assert_eq!(f(&["*"]), Wanted::ALL);
        assert!(!f(&["user_agent.originalx"]).user_agent);
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
        let text = r#"{"kind":"Event","requestObject":{"a":1}}"#;
        for f in ["kubernetes.audit", "kubernetes.audit.*", "user.*"] {
            let p = Projection::new(&[f.to_string()]);
            assert_eq!(p.parse_sonic(text.as_bytes()).unwrap().to_json(), text, "{f}");
        }
    }
}
