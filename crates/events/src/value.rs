//! [`Value`] and [`Map`]: an owned JSON tree that keeps key order, parsed with any serde
//! deserializer (sonic-rs on the hot path, serde_json elsewhere) and written back as JSON.
//!
//! Strings and keys are [`CompactString`]s: up to 24 bytes live inline, so the short keys and
//! values that make up most of an event cost no heap allocation. Constant strings can be made
//! with [`CompactString::const_new`] (or [`Value::from_static`]) without even a copy.

use std::fmt;

use compact_str::CompactString;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// One JSON value. Numbers that fit in `i64` are [`Value::Int`]; others are [`Value::Float`].
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(CompactString),
    Array(Vec<Value>),
    Object(Map),
}

/// A JSON object that keeps insertion order. Objects in audit events are small, so lookups are
/// linear scans; keys may contain dots (`authentication.kubernetes.io/pod-name`).
#[derive(Clone, PartialEq, Default)]
pub struct Map(Vec<Entry>);

/// One member of a [`Map`]. `tag` packs the key's length and first byte (see [`key_tag`]), so a
/// scan rejects most keys without reading the key itself (a `CompactString`'s length and data
/// take a few instructions to find, a `String`'s none).
#[derive(Clone, PartialEq)]
struct Entry {
    key: CompactString,
    value: Value,
    tag: u64,
}

/// `len << 8 | first byte` (0 for the empty key): equal keys have equal tags, and the length
/// is `tag >> 8` (no allocation reaches 2^56 bytes).
#[inline]
pub(crate) fn key_tag(key: &[u8]) -> u64 {
    ((key.len() as u64) << 8) | key.first().copied().unwrap_or(0) as u64
}

impl fmt::Debug for Map {
    /// As the derived `Debug` of a list of `(key, value)` pairs: `Map([("a", Int(1))])`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<(&CompactString, &Value)> = self.0.iter().map(|e| (&e.key, &e.value)).collect();
        f.debug_tuple("Map").field(&pairs).finish()
    }
}

impl Map {
    pub fn new() -> Self {
        Map(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Self {
        Map(Vec::with_capacity(n))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[inline]
    fn position(&self, key: &str) -> Option<usize> {
        let tag = key_tag(key.as_bytes());
        self.0.iter().position(|e| e.tag == tag && e.key.as_str() == key)
    }

    /// The value under exactly this key (no dotted-path interpretation).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|i| &self.0[i].value)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.position(key).map(|i| &mut self.0[i].value)
    }

    /// Sets `key` to `value`, replacing an existing entry in place or appending a new one.
    /// A key of up to 24 bytes is stored inline (no allocation); a `String` key keeps its buffer.
    pub fn insert<K: AsRef<str> + Into<CompactString>>(&mut self, key: K, value: Value) -> Option<Value> {
        let text = key.as_ref();
        let tag = key_tag(text.as_bytes());
        let found = self.0.iter_mut().find(|e| e.tag == tag && e.key.as_str() == text);
        if let Some(slot) = found {
            return Some(std::mem::replace(&mut slot.value, value));
        }
        self.0.push(Entry {
            key: key.into(),
            value,
            tag,
        });
        None
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let pos = self.position(key)?;
        Some(self.0.remove(pos).value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|e| (e.key.as_str(), &e.value))
    }

    /// The members as (key length, key's first byte or 0, key, value): the first two come
    /// without reading the key, for scans that reject most keys on them.
    pub(crate) fn iter_tagged(&self) -> impl Iterator<Item = (usize, u8, &CompactString, &Value)> {
        self.0
            .iter()
            .map(|e| ((e.tag >> 8) as usize, e.tag as u8, &e.key, &e.value))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.0.iter_mut().map(|e| (e.key.as_str(), &mut e.value))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|e| e.key.as_str())
    }

    /// Keeps only the entries for which `f` returns true.
    pub fn retain(&mut self, mut f: impl FnMut(&str, &mut Value) -> bool) {
        self.0.retain_mut(|e| f(&e.key, &mut e.value));
    }

    /// Sorts keys recursively (used for stable, diffable output).
    pub fn sort_keys(&mut self) {
        self.0.sort_by(|a, b| a.key.cmp(&b.key));
        for e in &mut self.0 {
            e.value.sort_keys();
        }
    }

    /// Inserts `value` at a dotted path, creating intermediate objects (`a.b.c` makes
    /// `{"a":{"b":{"c":value}}}`). An existing non-object on the way is replaced.
    pub fn insert_path(&mut self, path: &str, value: Value) {
        match path.split_once('.') {
            None => {
                self.insert(path, value);
            }
            Some((head, rest)) => {
                let at = match self.position(head) {
                    Some(at) => {
                        if !matches!(self.0[at].value, Value::Object(_)) {
                            self.0[at].value = Value::Object(Map::new());
                        }
                        at
                    }
                    None => {
                        self.insert(head, Value::Object(Map::new()));
                        self.0.len() - 1
                    }
                };
                if let Value::Object(child) = &mut self.0[at].value {
                    child.insert_path(rest, value);
                }
            }
        }
    }

    /// Removes the value at a dotted path made of nested objects; returns it if present.
    pub fn remove_path(&mut self, path: &str) -> Option<Value> {
        if let Some(v) = self.remove(path) {
            return Some(v);
        }
        let (head, rest) = path.split_once('.')?;
        match self.get_mut(head) {
            Some(Value::Object(child)) => child.remove_path(rest),
            _ => None,
        }
    }
}

impl<K: AsRef<str> + Into<CompactString>> FromIterator<(K, Value)> for Map {
    fn from_iter<T: IntoIterator<Item = (K, Value)>>(iter: T) -> Self {
        let mut m = Map::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl IntoIterator for Map {
    type Item = (CompactString, Value);
    type IntoIter = IntoIter;
    fn into_iter(self) -> IntoIter {
        IntoIter(self.0.into_iter())
    }
}

/// The members of a [`Map`], by value.
pub struct IntoIter(std::vec::IntoIter<Entry>);

impl Iterator for IntoIter {
    type Item = (CompactString, Value);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|e| (e.key, e.value))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for IntoIter {}

impl Value {
    /// A string value from a constant, without allocating or copying at run time.
    pub const fn from_static(s: &'static str) -> Value {
        Value::Str(CompactString::const_new(s))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// True for the values Elasticsearch's ingest pipelines treat as empty and drop:
    /// null, `""`, `{}` and `[]`.
    pub fn is_empty_value(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => m.is_empty(),
            _ => false,
        }
    }

    /// The name of the JSON type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    pub fn sort_keys(&mut self) {
        match self {
            Value::Object(m) => m.sort_keys(),
            Value::Array(a) => a.iter_mut().for_each(Value::sort_keys),
            _ => {}
        }
    }

    /// Parses JSON text with sonic-rs.
    pub fn from_json(text: &str) -> Result<Value, sonic_rs::Error> {
        sonic_rs::from_str(text)
    }

    /// Parses JSON bytes with sonic-rs (the bytes must be valid UTF-8).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Value, sonic_rs::Error> {
        sonic_rs::from_slice(bytes)
    }

    /// Compact JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Value always serializes")
    }

    /// Converts from a `serde_json::Value` (tests and fixtures use serde_json).
    pub fn from_serde(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.into()),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from_serde).collect()),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from_serde(v))).collect())
            }
        }
    }

    /// Converts to a `serde_json::Value`.
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Value::to_serde).collect()),
            Value::Object(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.to_string(), v.to_serde())).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(CompactString::from(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(CompactString::from(s))
    }
}
impl From<CompactString> for Value {
    fn from(s: CompactString) -> Self {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

impl fmt::Display for Value {
    /// Strings print bare; everything else prints as compact JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            other => f.write_str(&other.to_json()),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(v) => s.serialize_str(v),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(m) => m.serialize(s),
        }
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
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
        Ok(Value::Str(CompactString::from(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(CompactString::from(v)))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Deserialize::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((k, v)) = map.next_entry::<CompactString, Value>()? {
            // JSON with duplicate keys: the last one wins, as in Elasticsearch.
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Map {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(m) => Ok(m),
            other => Err(de::Error::custom(format!(
                "expected a JSON object, found {}",
                other.type_name()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_sonic_and_serde_json_alike() {
        let text = r#"{"b":1,"a":[1.5,"x",null,{"c":true}],"n":18446744073709551615}"#;
        let sonic = Value::from_json(text).unwrap();
        let sj: Value = serde_json::from_str(text).unwrap();
        assert_eq!(sonic, sj);
        let m = sonic.as_object().unwrap();
        assert_eq!(m.keys().collect::<Vec<_>>(), vec!["b", "a", "n"]);
        assert!(matches!(m.get("n"), Some(Value::Float(_))));
        assert_eq!(
            sonic.to_json(),
            r#"{"b":1,"a":[1.5,"x",null,{"c":true}],"n":1.8446744073709552e+19}"#
        );
    }

    #[test]
    fn insert_and_remove_paths() {
        let mut m = Map::new();
        m.insert_path("a.b.c", Value::Int(1));
        m.insert_path("a.b.d", Value::from("x"));
        assert_eq!(
            Value::Object(m.clone()).to_json(),
            r#"{"a":{"b":{"c":1,"d":"x"}}}"#
        );
        assert_eq!(m.remove_path("a.b.c"), Some(Value::Int(1)));
        assert_eq!(m.remove_path("a.zz"), None);
        assert_eq!(Value::Object(m).to_json(), r#"{"a":{"b":{"d":"x"}}}"#);
    }

    #[test]
    fn empty_values() {
        assert!(Value::from("").is_empty_value());
        assert!(Value::Array(vec![]).is_empty_value());
        assert!(Value::Object(Map::new()).is_empty_value());
        assert!(!Value::Int(0).is_empty_value());
        assert!(!Value::Bool(false).is_empty_value());
    }

    #[test]
    fn keys_of_every_length_and_representation_are_found() {
        let long = "authentication.kubernetes.io/pod-name";
        let mut m = Map::new();
        m.insert("", Value::Int(0));
        m.insert("\0", Value::Int(1));
        m.insert(long, Value::Int(2));
        // a short key held on the heap (it was built with a large capacity)
        let mut heap_key = CompactString::with_capacity(64);
        heap_key.push_str("ab");
        assert!(heap_key.is_heap_allocated());
        m.insert(heap_key, Value::Int(3));
        assert_eq!(m.insert("ab", Value::Int(4)), Some(Value::Int(3)));
        assert_eq!(m.len(), 4);
        assert_eq!(m.get(""), Some(&Value::Int(0)));
        assert_eq!(m.get("\0"), Some(&Value::Int(1)));
        assert_eq!(m.get(long), Some(&Value::Int(2)));
        assert_eq!(m.get("ab"), Some(&Value::Int(4)));
        assert_eq!(m.get("a"), None);
        assert_eq!(m.remove(long), Some(Value::Int(2)));
        assert_eq!(m.get(long), None);
        let collected: Vec<(CompactString, Value)> = m.into_iter().collect();
        assert_eq!(collected[2], (CompactString::from("ab"), Value::Int(4)));
    }

    #[test]
    fn debug_prints_like_a_list_of_pairs() {
        let v = Value::from_json(r#"{"a":"x","b":[1]}"#).unwrap();
        assert_eq!(
            format!("{v:?}"),
            r#"Object(Map([("a", Str("x")), ("b", Array([Int(1)]))]))"#
        );
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let v = Value::from_json(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(v.as_object().unwrap().get("a"), Some(&Value::Int(2)));
        assert_eq!(v.as_object().unwrap().len(), 1);
    }
}
