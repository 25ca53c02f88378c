//! Small helpers: the UTF-8 check of records, and over [`events::Map`] the dotted-path get/set
//! ingest processors see fields with and the empty-value pruning Elastic's pipelines end with.

use events::{Map, Value};

/// The bytes without leading/trailing ASCII whitespace (incl. `\r`).
pub(crate) fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// The bytes as text, or the offset of the first byte that is not valid UTF-8. Valid input
/// (nearly every line) is checked with SIMD; the offset comes from the standard library.
#[inline]
pub(crate) fn utf8(b: &[u8]) -> Result<&str, usize> {
    match simdutf8::basic::from_utf8(b) {
        Ok(text) => Ok(text),
        Err(_) => std::str::from_utf8(b).map_err(|e| e.valid_up_to()),
    }
}

/// The value at a dotted path of nested objects (`a.b.c`), as an ingest processor reads it.
pub(crate) fn get_path<'a>(map: &'a Map, path: &str) -> Option<&'a Value> {
    let mut cur = map;
    let mut rest = path;
    // Paths are short: a byte loop finds each dot sooner than a `str::split` searcher.
    while let Some(dot) = rest.bytes().position(|b| b == b'.') {
        cur = cur.get(&rest[..dot])?.as_object()?;
        rest = &rest[dot + 1..];
    }
    cur.get(rest)
}

/// The non-null value at a dotted path.
pub(crate) fn get_nonnull<'a>(map: &'a Map, path: &str) -> Option<&'a Value> {
    get_path(map, path).filter(|v| !v.is_null())
}

/// A string at a dotted path.
pub(crate) fn get_str<'a>(map: &'a Map, path: &str) -> Option<&'a str> {
    get_path(map, path).and_then(Value::as_str)
}

/// Sets a dotted path, creating (or replacing non-object) intermediate objects.
pub(crate) fn set_path(map: &mut Map, path: &str, value: Value) {
    map.insert_path(path, value);
}

/// Removes and returns the value at a dotted path of nested objects.
pub(crate) fn take_path(map: &mut Map, path: &str) -> Option<Value> {
    match path.split_once('.') {
        None => map.remove(path),
        Some((head, rest)) => match map.get_mut(head) {
            Some(Value::Object(child)) => take_path(child, rest),
            _ => None,
        },
    }
}

/// True when the value is null, `""`, `{}` or `[]` (what the pipelines' cleanup removes).
fn is_empty(v: &Value) -> bool {
    v.is_empty_value()
}

/// Recursively removes null, `""`, `{}` and `[]` from objects and arrays, children first, so an
/// object emptied by the cleanup is removed too (Elastic's final `handleMap(ctx)` script).
pub(crate) fn prune_empty(map: &mut Map) {
    map.retain(|_, v| {
        prune_value(v);
        !is_empty(v)
    });
}

fn prune_value(v: &mut Value) {
    match v {
        Value::Object(m) => prune_empty(m),
        Value::Array(items) => {
            items.retain_mut(|item| {
                prune_value(item);
                !is_empty(item)
            });
        }
        _ => {}
    }
}

/// Appends `value` to the array at `path` unless already present (ingest `append` with
/// `allow_duplicates: false`), creating the array.
pub(crate) fn append_unique(map: &mut Map, path: &str, value: Value) {
    match get_path_mut(map, path) {
        Some(Value::Array(items)) => {
            if !items.contains(&value) {
                items.push(value);
            }
        }
        Some(slot) => {
            let old = std::mem::take(slot);
            *slot = if old == value {
                Value::Array(vec![old])
            } else {
                Value::Array(vec![old, value])
            };
        }
        None => set_path(map, path, Value::Array(vec![value])),
    }
}

pub(crate) fn get_path_mut<'a>(map: &'a mut Map, path: &str) -> Option<&'a mut Value> {
    match path.split_once('.') {
        None => map.get_mut(path),
        Some((head, rest)) => match map.get_mut(head) {
            Some(Value::Object(child)) => get_path_mut(child, rest),
            _ => None,
        },
    }
}

/// The last path segment (`/usr/bin/sh` → `sh`).
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_removes_emptied_objects_and_array_elements() {
        let v =
            Value::from_json(r#"{"a":{"b":{},"c":""},"d":[null,"",1,{}],"e":0,"f":false,"g":[[]]}"#).unwrap();
        let mut m = v.as_object().unwrap().clone();
        prune_empty(&mut m);
        assert_eq!(Value::Object(m).to_json(), r#"{"d":[1],"e":0,"f":false}"#);
    }

    #[test]
    fn paths() {
        let mut m = Map::new();
        set_path(&mut m, "a.b", Value::Int(1));
        assert_eq!(get_path(&m, "a.b"), Some(&Value::Int(1)));
        append_unique(&mut m, "r.u", Value::from("x"));
        append_unique(&mut m, "r.u", Value::from("x"));
        append_unique(&mut m, "r.u", Value::from("y"));
        assert_eq!(get_path(&m, "r.u").unwrap().to_json(), r#"["x","y"]"#);
        assert_eq!(take_path(&mut m, "a.b"), Some(Value::Int(1)));
        assert_eq!(basename("/usr/bin/sh"), "sh");
    }
}
