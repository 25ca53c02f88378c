//! Type checks of the known fields of an audit record. A field of the wrong JSON type (what
//! Elasticsearch would reject with a mapping error, or what would break the pipeline) makes the
//! record an input error naming the field. Nulls count as absent.

use events::{Map, Value};

pub(crate) const OBJECT_REF_STRINGS: [&str; 8] = [
    "resource",
    "namespace",
    "name",
    "uid",
    "apiGroup",
    "apiVersion",
    "resourceVersion",
    "subresource",
];

/// A field path for messages: `prefix.key` (or `key` at the top), built only on error.
fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn wrong(field: &str, expected: &str, v: &Value) -> String {
    format!("field `{field}` must be {expected}, found {}", v.type_name())
}

fn check_str(m: &Map, prefix: &str, key: &str) -> Result<(), String> {
    match m.get(key) {
        None | Some(Value::Null) | Some(Value::Str(_)) => Ok(()),
        Some(v) => Err(wrong(&path(prefix, key), "a string", v)),
    }
}

fn check_obj<'a>(m: &'a Map, prefix: &str, key: &str) -> Result<Option<&'a Map>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(v) => Err(wrong(&path(prefix, key), "an object", v)),
    }
}

fn check_str_array(m: &Map, prefix: &str, key: &str) -> Result<(), String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) => match items.iter().find(|v| !matches!(v, Value::Str(_) | Value::Null)) {
            None => Ok(()),
            Some(bad) => Err(format!(
                "field `{}` must be an array of strings, found an element of type {}",
                path(prefix, key),
                bad.type_name()
            )),
        },
        Some(v) => Err(wrong(&path(prefix, key), "an array of strings", v)),
    }
}

fn check_user(m: &Map, key: &str) -> Result<(), String> {
    let Some(user) = check_obj(m, "", key)? else {
        return Ok(());
    };
    check_str(user, key, "username")?;
    check_str(user, key, "uid")?;
    check_str_array(user, key, "groups")?;
    if let Some(extra) = check_obj(user, key, "extra")? {
        for (k, v) in extra.iter() {
            if !matches!(v, Value::Str(_)) {
                check_str_array(extra, &path(key, "extra"), k)?;
            }
        }
    }
    Ok(())
}

/// Checks the fields of an audit Event (or GKE `LogEntry`) before normalization.
pub(crate) fn audit_record(m: &Map) -> Result<(), String> {
    // One pass over the record's keys (lookups in these small ordered maps are linear scans).
    for (key, v) in m.iter() {
        if v.is_null() {
            continue;
        }
        match key {
            "kind" | "apiVersion" | "level" | "auditID" | "stage" | "requestURI" | "verb" | "userAgent"
            | "insertId"
                if !matches!(v, Value::Str(_)) =>
            {
                return Err(wrong(key, "a string", v));
            }
            "requestReceivedTimestamp" | "stageTimestamp" | "timestamp" | "receiveTimestamp" => match v {
                Value::Str(s) => {
                    if crate::fasttime::parse(s).is_none() {
                        return Err(format!("field `{key}` is not a valid timestamp: {s:?}"));
                    }
                }
                v => return Err(wrong(key, "an RFC 3339 timestamp string", v)),
            },
            "sourceIPs" => check_str_array(m, "", key)?,
            "user" | "impersonatedUser" => check_user(m, key)?,
            "objectRef" => {
                if let Some(obj_ref) = check_obj(m, "", key)? {
                    for (k, _) in obj_ref.iter() {
                        if OBJECT_REF_STRINGS.contains(&k) {
                            check_str(obj_ref, "objectRef", k)?;
                        }
                    }
                }
            }
            "responseStatus" => {
                if let Some(status) = check_obj(m, "", key)? {
                    match status.get("code") {
                        None | Some(Value::Null) | Some(Value::Int(_)) => {}
                        Some(v) => return Err(wrong("responseStatus.code", "an integer", v)),
                    }
                }
            }
            "annotations" | "labels" => {
                if let Some(ann) = check_obj(m, "", key)? {
                    for (k, v) in ann.iter() {
                        if !matches!(v, Value::Str(_) | Value::Null) {
                            return Err(wrong(&format!("{key}.{k}"), "a string", v));
                        }
                    }
                }
            }
            "metadata" | "protoPayload" | "resource" | "operation" => {
                check_obj(m, "", key)?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), String> {
        audit_record(Value::from_json(text).unwrap().as_object().unwrap())
    }

    #[test]
    fn wrong_types_are_named() {
        assert!(
            check(
                r#"{"verb":"get","sourceIPs":["1.2.3.4"],"requestReceivedTimestamp":"2020-01-01T00:00:00Z"}"#
            )
            .is_ok()
        );
        let e = check(r#"{"requestReceivedTimestamp":5}"#).unwrap_err();
        assert!(
            e.contains("requestReceivedTimestamp") && e.contains("number"),
            "{e}"
        );
        let e = check(r#"{"sourceIPs":"x"}"#).unwrap_err();
        assert!(e.contains("sourceIPs") && e.contains("string"), "{e}");
        assert!(
            check(r#"{"user":{"groups":[1]}}"#)
                .unwrap_err()
                .contains("user.groups")
        );
        assert!(
            check(r#"{"responseStatus":{"code":"200"}}"#)
                .unwrap_err()
                .contains("responseStatus.code")
        );
        assert!(
            check(r#"{"stageTimestamp":"yesterday"}"#)
                .unwrap_err()
                .contains("stageTimestamp")
        );
        assert!(
            check(r#"{"annotations":{"a":1}}"#)
                .unwrap_err()
                .contains("annotations.a")
        );
        assert!(check(r#"{"verb":null,"user":{"extra":{"k":["v"],"s":"v"}}}"#).is_ok());
    }
}
