//! Parsing a record into an [`events::Value`], with sonic-rs or serde_json, with a nesting
//! limit of [`MAX_DEPTH`] enforced by our own visitors: a hostile record (a 4 MiB line of `[`)
//! is an input error, never a stack overflow, whichever path (full, projected, skipped) reads
//! it (a release build needs about 1 KiB of stack per level; unoptimized builds about 16 KiB,
//! so their 2 MiB threads hold about 100 levels). Also the skipping of unneeded values used by
//! projection.

use std::fmt;

use compact_str::CompactString;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use events::{Map, Value};

/// The deepest nesting of arrays and objects accepted in a record (serde_json's default).
pub(crate) const MAX_DEPTH: u32 = 128;

fn too_deep<E: de::Error>() -> E {
    E::custom(format_args!("JSON nested deeper than {MAX_DEPTH} levels"))
}

/// Parses a whole record with sonic-rs.
pub(crate) fn full_sonic(bytes: &[u8]) -> Result<Value, String> {
    seeded_sonic(bytes, ValueSeed { depth: 0 })
}

/// Parses a whole record with serde_json.
pub(crate) fn full_serde_json(bytes: &[u8]) -> Result<Value, String> {
    seeded_serde_json(bytes, ValueSeed { depth: 0 })
}

pub(crate) fn seeded_sonic<'de, S: DeserializeSeed<'de, Value = Value>>(
    bytes: &'de [u8],
    seed: S,
) -> Result<Value, String> {
    let mut de = sonic_rs::Deserializer::from_slice(bytes);
    let v = seed.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v)
}

pub(crate) fn seeded_serde_json<'de, S: DeserializeSeed<'de, Value = Value>>(
    bytes: &'de [u8],
    seed: S,
) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = seed.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v)
}

/// A map key, borrowed from the input when it has no escapes.
pub(crate) enum Key<'de> {
    Borrowed(&'de str),
    Owned(CompactString),
}

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
    pub(crate) fn into_compact(self) -> CompactString {
        match self {
            Key::Borrowed(s) => CompactString::from(s),
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
        Ok(Key::Owned(CompactString::from(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key::Owned(CompactString::from(v)))
    }
}

pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

/// Builds a whole value; `depth` is the number of containers it is inside.
#[derive(Clone, Copy)]
pub(crate) struct ValueSeed {
    pub(crate) depth: u32,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// The scalar cases shared by the value-building visitors.
macro_rules! scalar_visits {
    () => {
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
            Ok(i64::try_from(v)
                .map(Value::Int)
                .unwrap_or(Value::Float(v as f64)))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Value::Float(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::Str(compact_str::CompactString::from(v)))
        }
        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::Str(compact_str::CompactString::from(v)))
        }
        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
    };
}
pub(crate) use scalar_visits;

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;
    scalar_visits!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        let child = ValueSeed {
            depth: self.depth + 1,
        };
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(child)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        let child = ValueSeed {
            depth: self.depth + 1,
        };
        let mut out = Map::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let v = map.next_value_seed(child)?;
            // Duplicate keys: the last one wins, as in Elasticsearch.
            out.insert(key.into_compact(), v);
        }
        Ok(Value::Object(out))
    }
}

/// Skips a value without building it. Unlike `serde::de::IgnoredAny` (which sonic-rs skips
/// with unbounded recursion), the nesting limit applies.
#[derive(Clone, Copy)]
pub(crate) struct Skip {
    pub(crate) depth: u32,
}

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        let child = Skip {
            depth: self.depth + 1,
        };
        while seq.next_element_seed(child)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        let child = Skip {
            depth: self.depth + 1,
        };
        while map.next_key_seed(child)?.is_some() {
            map.next_value_seed(child)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_values_as_the_events_parser() {
        let text = r#"{"b":1,"a":[1.5,"x\n",null,{"c":true}],"n":18446744073709551615,"a":2,"e\u0041":-3}"#;
        let want = Value::from_json(text).unwrap();
        assert_eq!(full_sonic(text.as_bytes()).unwrap(), want);
        assert_eq!(full_serde_json(text.as_bytes()).unwrap(), want);
    }

    /// Runs `f` on a thread with the main thread's 8 MiB stack: unoptimized (debug) builds use
    /// ~16 KiB of stack per nesting level in sonic-rs, more than a 2 MiB test thread has for 128
    /// levels (release builds need ~1 KiB).
    pub(crate) fn with_big_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn nesting_limit() {
        with_big_stack(nesting_limit_checks);
    }

    fn nesting_limit_checks() {
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(full_sonic(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(
            full_sonic(deep.as_bytes())
                .unwrap_err()
                .contains("deeper than 128")
        );
        assert!(full_serde_json(deep.as_bytes()).is_err());
        assert!(full_sonic(b"{\"a\":1} x").is_err(), "trailing characters");
    }
}
