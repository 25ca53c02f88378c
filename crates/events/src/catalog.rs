//! The field catalog: field name → Elasticsearch type, i.e. the index mapping the query
//! analyzers check columns against.
//!
//! [`Catalog::ecs`] is the built-in catalog for the data streams crowsnest ingests: the fields
//! Elastic's Kubernetes audit-log integration maps, the ECS fields Defend for Containers writes,
//! and the ECS fields the bundled rules use (`data/ecs_fields.tsv`). [`Catalog::from_mapping`]
//! reads an Elasticsearch mapping (`{"properties": ...}`), as the conformance datasets ship.
//!
//! Besides exact names, a catalog holds *dynamic prefixes*: objects whose sub-keys are not known
//! in advance (`kubernetes.audit.requestObject`, `user.extra`, flattened fields). Any path below
//! such a prefix resolves to that prefix's type, so `kubernetes.audit.user.extra.foo` is a known
//! keyword field rather than an unknown column.

use std::collections::BTreeMap;

use crate::value::{Map, Value};

/// An Elasticsearch field type, as far as the query languages distinguish them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldType {
    Keyword,
    Text,
    Wildcard,
    ConstantKeyword,
    MatchOnlyText,
    Version,
    Long,
    Integer,
    Short,
    Byte,
    UnsignedLong,
    Double,
    Float,
    HalfFloat,
    ScaledFloat,
    Boolean,
    Ip,
    Date,
    DateNanos,
    GeoPoint,
    Flattened,
    Object,
    Nested,
    Unsupported,
}

impl FieldType {
    /// Parses an Elasticsearch mapping type name (`keyword`, `ip`, `date_nanos`, ...).
    pub fn parse(name: &str) -> Option<FieldType> {
        use FieldType::*;
        Some(match name {
            "keyword" => Keyword,
            "text" => Text,
            "wildcard" => Wildcard,
            "constant_keyword" => ConstantKeyword,
            "match_only_text" => MatchOnlyText,
            "version" => Version,
            "long" => Long,
            "integer" => Integer,
            "short" => Short,
            "byte" => Byte,
            "unsigned_long" => UnsignedLong,
            "double" => Double,
            "float" => Float,
            "half_float" => HalfFloat,
            "scaled_float" => ScaledFloat,
            "boolean" => Boolean,
            "ip" => Ip,
            "date" => Date,
            "date_nanos" => DateNanos,
            "geo_point" => GeoPoint,
            "flattened" => Flattened,
            "object" => Object,
            "nested" => Nested,
            _ => return None,
        })
    }

    /// The mapping type name.
    pub fn name(self) -> &'static str {
        use FieldType::*;
        match self {
            Keyword => "keyword",
            Text => "text",
            Wildcard => "wildcard",
            ConstantKeyword => "constant_keyword",
            MatchOnlyText => "match_only_text",
            Version => "version",
            Long => "long",
            Integer => "integer",
            Short => "short",
            Byte => "byte",
            UnsignedLong => "unsigned_long",
            Double => "double",
            Float => "float",
            HalfFloat => "half_float",
            ScaledFloat => "scaled_float",
            Boolean => "boolean",
            Ip => "ip",
            Date => "date",
            DateNanos => "date_nanos",
            GeoPoint => "geo_point",
            Flattened => "flattened",
            Object => "object",
            Nested => "nested",
            Unsupported => "unsupported",
        }
    }

    /// True for the string-like types (keyword family and text family).
    pub fn is_string(self) -> bool {
        use FieldType::*;
        matches!(self, Keyword | Text | Wildcard | ConstantKeyword | MatchOnlyText)
    }

    /// True for the numeric types.
    pub fn is_numeric(self) -> bool {
        use FieldType::*;
        matches!(
            self,
            Long | Integer | Short | Byte | UnsignedLong | Double | Float | HalfFloat | ScaledFloat
        )
    }
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A mapping: exact field names with their types, plus dynamic prefixes (see module docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    fields: BTreeMap<String, FieldType>,
    dynamic: BTreeMap<String, FieldType>,
}

const ECS_FIELDS: &str = include_str!("../data/ecs_fields.tsv");

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in catalog of the data streams crowsnest ingests (see module docs).
    pub fn ecs() -> Catalog {
        Catalog::from_tsv(ECS_FIELDS).expect("the built-in field table is well formed")
    }

    /// Reads `name<TAB>type` lines (`#` comments, blank lines ignored). A name ending in `.*`
    /// declares a dynamic prefix whose sub-fields all have the given type.
    pub fn from_tsv(text: &str) -> Result<Catalog, String> {
        let mut c = Catalog::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(name), Some(ty)) = (parts.next(), parts.next()) else {
                return Err(format!("line {}: expected `name type`, got `{line}`", i + 1));
            };
            let ty =
                FieldType::parse(ty).ok_or_else(|| format!("line {}: unknown field type `{ty}`", i + 1))?;
            match name.strip_suffix(".*") {
                Some(prefix) => c.insert_dynamic(prefix, ty),
                None => c.insert(name, ty),
            }
        }
        Ok(c)
    }

    /// Reads an Elasticsearch mapping: `{"properties": {...}}` (optionally wrapped in
    /// `{"mappings": ...}`), with nested `properties`, multi-fields under `fields` (named
    /// `parent.sub`), `alias` fields (resolved to their target's type) and `flattened` fields
    /// (dynamic prefixes of type keyword).
    pub fn from_mapping(mapping: &Value) -> Result<Catalog, String> {
        let root = mapping.as_object().ok_or("a mapping must be a JSON object")?;
        let root = match root.get("mappings").and_then(Value::as_object) {
            Some(m) => m,
            None => root,
        };
        let props = root
            .get("properties")
            .and_then(Value::as_object)
            .ok_or("a mapping needs a `properties` object")?;
        let mut c = Catalog::new();
        let mut aliases = Vec::new();
        c.walk_properties(props, "", &mut aliases);
        for (name, target) in aliases {
            if let Some(ty) = c.get(&target) {
                c.insert(&name, ty);
            }
        }
        Ok(c)
    }

    fn walk_properties(&mut self, props: &Map, prefix: &str, aliases: &mut Vec<(String, String)>) {
        for (name, def) in props.iter() {
            let full = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            };
            let Some(def) = def.as_object() else { continue };
            let ty = def.get("type").and_then(Value::as_str);
            if ty == Some("alias") {
                if let Some(path) = def.get("path").and_then(Value::as_str) {
                    aliases.push((full.clone(), path.to_string()));
                }
                continue;
            }
            if let Some(children) = def.get("properties").and_then(Value::as_object) {
                self.walk_properties(children, &full, aliases);
            } else if let Some(ty) = ty {
                let ty = FieldType::parse(ty).unwrap_or(FieldType::Unsupported);
                if ty == FieldType::Flattened {
                    self.insert_dynamic(&full, FieldType::Keyword);
                }
                self.insert(&full, ty);
            }
            if let Some(multi) = def.get("fields").and_then(Value::as_object) {
                for (sub, subdef) in multi.iter() {
                    if let Some(t) = subdef.get_type() {
                        self.insert(&format!("{full}.{sub}"), t);
                    }
                }
            }
        }
    }

    /// Adds or replaces an exact field.
    pub fn insert(&mut self, name: &str, ty: FieldType) {
        self.fields.insert(name.to_string(), ty);
    }

    /// Declares that every field below `prefix.` has type `ty`.
    pub fn insert_dynamic(&mut self, prefix: &str, ty: FieldType) {
        self.dynamic.insert(prefix.to_string(), ty);
    }

    /// Adds every field and prefix of `other` (its entries win).
    pub fn extend(&mut self, other: &Catalog) {
        self.fields
            .extend(other.fields.iter().map(|(k, v)| (k.clone(), *v)));
        self.dynamic
            .extend(other.dynamic.iter().map(|(k, v)| (k.clone(), *v)));
    }

    /// The type of a field: an exact entry, else the type of the longest dynamic prefix it lies
    /// under. `None` means the mapping does not know the field.
    pub fn get(&self, name: &str) -> Option<FieldType> {
        if let Some(t) = self.fields.get(name) {
            return Some(*t);
        }
        let mut end = name.len();
        while let Some(dot) = name[..end].rfind('.') {
            if let Some(t) = self.dynamic.get(&name[..dot]) {
                return Some(*t);
            }
            end = dot;
        }
        None
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The exact field names, sorted. Object fields are included with type `object`.
    pub fn names(&self) -> impl Iterator<Item = (&str, FieldType)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), *v))
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.dynamic.is_empty()
    }
}

trait TypeOf {
    fn get_type(&self) -> Option<FieldType>;
}

impl TypeOf for Value {
    fn get_type(&self) -> Option<FieldType> {
        self.as_object()?.get("type")?.as_str().and_then(FieldType::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_catalog_knows_rule_fields() {
        let c = Catalog::ecs();
        assert_eq!(c.get("source.ip"), Some(FieldType::Ip));
        assert_eq!(c.get("@timestamp"), Some(FieldType::Date));
        assert_eq!(
            c.get("kubernetes.audit.responseStatus.code"),
            Some(FieldType::Long)
        );
        assert_eq!(
            c.get("kubernetes.audit.annotations.authorization_k8s_io/decision"),
            Some(FieldType::Keyword)
        );
        assert_eq!(
            c.get("kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name"),
            Some(FieldType::Keyword)
        );
        assert_eq!(
            c.get("kubernetes.audit.requestObject.spec.hostPID"),
            Some(FieldType::Boolean)
        );
        assert_eq!(
            c.get("kubernetes.audit.requestObject.kind"),
            Some(FieldType::Keyword)
        );
        assert_eq!(c.get("process.interactive"), Some(FieldType::Boolean));
        assert_eq!(c.get("no.such.field"), None);
        assert_eq!(c.get("kubernetes.audit.user.extra"), Some(FieldType::Object));
    }

    #[test]
    fn reads_elasticsearch_mappings() {
        let m = Value::from_json(
            r#"{"properties":{"emp_no":{"type":"integer"},"languages":{"type":"integer","fields":{"long":{"type":"long"}}},
                "event":{"properties":{"category":{"type":"alias","path":"event_type"}}},"event_type":{"type":"keyword"},
                "labels":{"type":"flattened"}}}"#,
        )
        .unwrap();
        let c = Catalog::from_mapping(&m).unwrap();
        assert_eq!(c.get("emp_no"), Some(FieldType::Integer));
        assert_eq!(c.get("languages.long"), Some(FieldType::Long));
        assert_eq!(c.get("event.category"), Some(FieldType::Keyword));
        assert_eq!(c.get("labels.anything"), Some(FieldType::Keyword));
    }

    #[test]
    fn rejects_bad_tsv() {
        assert!(
            Catalog::from_tsv("a.b keyword\nc nosuchtype\n")
                .unwrap_err()
                .contains("line 2")
        );
    }
}
