//! One `audit.k8s.io/v1` Event and its hand-written JSON line, with the field order and
//! `omitempty` behaviour of kube-apiserver's log backend. String fields hold JSON-ready text
//! (already escaped); whole sub-objects (`user`, `sourceIPs`, request/response bodies) are
//! pre-rendered fragments copied verbatim.

use crate::timefmt::TimeFmt;

/// The audit `level` of the policy rule that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Metadata,
    Request,
    RequestResponse,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Metadata => "Metadata",
            Level::Request => "Request",
            Level::RequestResponse => "RequestResponse",
        }
    }
}

/// The audit `stage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    ResponseStarted,
    ResponseComplete,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
        }
    }
}

/// `authorization.k8s.io/decision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Forbid,
}

/// `objectRef` (empty strings are omitted, as `omitempty` does).
#[derive(Clone, Copy, Debug, Default)]
pub struct ObjRef<'a> {
    pub resource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub api_group: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
}

/// A borrowed audit event ready to be written.
#[derive(Clone, Copy, Debug)]
pub struct AuditRec<'a> {
    pub level: Level,
    pub stage: Stage,
    pub audit_id: [u8; 16],
    pub uri: &'a str,
    pub verb: &'a str,
    /// The whole `user` object, e.g. `{"username":"x","groups":["system:authenticated"]}`.
    pub user: &'a str,
    /// The whole `impersonatedUser` object; empty: field omitted.
    pub impersonated: &'a str,
    /// The whole `sourceIPs` array, e.g. `["10.0.0.1"]`.
    pub source_ips: &'a str,
    /// Escaped user agent; empty: field omitted.
    pub user_agent: &'a str,
    pub object_ref: Option<ObjRef<'a>>,
    pub code: u16,
    /// Pre-rendered failure members placed before `"code"`, each ending in a comma,
    /// e.g. `"status":"Failure","message":"...","reason":"Forbidden",`.
    pub status_extra: &'a str,
    pub request_object: &'a str,
    pub response_object: &'a str,
    pub received: i64,
    pub stage_ts: i64,
    pub decision: Option<Decision>,
    /// Escaped `authorization.k8s.io/reason` (written, possibly empty, when there is a decision).
    pub reason: &'a str,
    /// Further annotation members, each starting with a comma: `,"k":"v"`.
    pub extra_annotations: &'a str,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends an RFC 4122 version-4 UUID text made from 16 random bytes.
pub fn push_uuid(out: &mut Vec<u8>, b: &[u8; 16]) {
    let mut s = [0u8; 36];
    let mut j = 0;
    for (i, &byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s[j] = b'-';
            j += 1;
        }
        let byte = match i {
            6 => (byte & 0x0f) | 0x40,
            8 => (byte & 0x3f) | 0x80,
            _ => byte,
        };
        s[j] = HEX[(byte >> 4) as usize];
        s[j + 1] = HEX[(byte & 15) as usize];
        j += 2;
    }
    out.extend_from_slice(&s);
}

/// UUID text as a `String`.
pub fn uuid_string(b: &[u8; 16]) -> String {
    let mut v = Vec::with_capacity(36);
    push_uuid(&mut v, b);
    String::from_utf8(v).unwrap_or_default()
}

/// Appends a decimal integer.
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

fn push_member(out: &mut Vec<u8>, key: &[u8], val: &str) {
    out.extend_from_slice(key);
    out.extend_from_slice(val.as_bytes());
    out.push(b'"');
}

/// Writes one event as a JSON line (with the trailing newline) into `out`.
pub fn write_line(out: &mut Vec<u8>, tf: &mut TimeFmt, r: &AuditRec<'_>) {
    out.extend_from_slice(b"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"");
    out.extend_from_slice(r.level.as_str().as_bytes());
    out.extend_from_slice(b"\",\"auditID\":\"");
    push_uuid(out, &r.audit_id);
    out.extend_from_slice(b"\",\"stage\":\"");
    out.extend_from_slice(r.stage.as_str().as_bytes());
    push_member(out, b"\",\"requestURI\":\"", r.uri);
    push_member(out, b",\"verb\":\"", r.verb);
    out.extend_from_slice(b",\"user\":");
    out.extend_from_slice(r.user.as_bytes());
    if !r.impersonated.is_empty() {
        out.extend_from_slice(b",\"impersonatedUser\":");
        out.extend_from_slice(r.impersonated.as_bytes());
    }
    out.extend_from_slice(b",\"sourceIPs\":");
    out.extend_from_slice(r.source_ips.as_bytes());
    if !r.user_agent.is_empty() {
        push_member(out, b",\"userAgent\":\"", r.user_agent);
    }
    if let Some(o) = &r.object_ref {
        out.extend_from_slice(b",\"objectRef\":{");
        let mut first = true;
        for (k, v) in [
            ("resource", o.resource),
            ("namespace", o.namespace),
            ("name", o.name),
            ("apiGroup", o.api_group),
            ("apiVersion", o.api_version),
            ("subresource", o.subresource),
        ] {
            if v.is_empty() {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"\":\"");
            out.extend_from_slice(v.as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.extend_from_slice(b",\"responseStatus\":{\"metadata\":{},");
    out.extend_from_slice(r.status_extra.as_bytes());
    out.extend_from_slice(b"\"code\":");
    push_u64(out, r.code as u64);
    out.push(b'}');
    if !r.request_object.is_empty() {
        out.extend_from_slice(b",\"requestObject\":");
        out.extend_from_slice(r.request_object.as_bytes());
    }
    if !r.response_object.is_empty() {
        out.extend_from_slice(b",\"responseObject\":");
        out.extend_from_slice(r.response_object.as_bytes());
    }
    out.extend_from_slice(b",\"requestReceivedTimestamp\":\"");
    tf.micros(out, r.received);
    out.extend_from_slice(b"\",\"stageTimestamp\":\"");
    tf.micros(out, r.stage_ts);
    out.push(b'"');
    match r.decision {
        Some(d) => {
            out.extend_from_slice(b",\"annotations\":{\"authorization.k8s.io/decision\":\"");
            out.extend_from_slice(match d {
                Decision::Allow => b"allow",
                Decision::Forbid => b"forbid",
            });
            push_member(out, b"\",\"authorization.k8s.io/reason\":\"", r.reason);
            out.extend_from_slice(r.extra_annotations.as_bytes());
            out.push(b'}');
        }
        None if !r.extra_annotations.is_empty() => {
            out.extend_from_slice(b",\"annotations\":{");
            out.extend_from_slice(&r.extra_annotations.as_bytes()[1..]);
            out.push(b'}');
        }
        None => {}
    }
    out.extend_from_slice(b"}\n");
}

/// An owned audit event (scenario events and delayed watch completions).
#[derive(Clone, Debug)]
pub struct OwnedAudit {
    pub level: Level,
    pub stage: Stage,
    pub audit_id: [u8; 16],
    pub uri: String,
    pub verb: String,
    pub user: String,
    pub impersonated: String,
    pub source_ips: String,
    pub user_agent: String,
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub api_group: String,
    pub api_version: String,
    pub subresource: String,
    pub has_object_ref: bool,
    pub code: u16,
    pub status_extra: String,
    pub request_object: String,
    pub response_object: String,
    pub received: i64,
    pub stage_ts: i64,
    pub decision: Option<Decision>,
    pub reason: String,
    pub extra_annotations: String,
}

impl OwnedAudit {
    pub fn from_rec(r: &AuditRec<'_>) -> OwnedAudit {
        let o = r.object_ref.unwrap_or_default();
        OwnedAudit {
            level: r.level,
            stage: r.stage,
            audit_id: r.audit_id,
            uri: r.uri.to_string(),
            verb: r.verb.to_string(),
            user: r.user.to_string(),
            impersonated: r.impersonated.to_string(),
            source_ips: r.source_ips.to_string(),
            user_agent: r.user_agent.to_string(),
            resource: o.resource.to_string(),
            namespace: o.namespace.to_string(),
            name: o.name.to_string(),
            api_group: o.api_group.to_string(),
            api_version: o.api_version.to_string(),
            subresource: o.subresource.to_string(),
            has_object_ref: r.object_ref.is_some(),
            code: r.code,
            status_extra: r.status_extra.to_string(),
            request_object: r.request_object.to_string(),
            response_object: r.response_object.to_string(),
            received: r.received,
            stage_ts: r.stage_ts,
            decision: r.decision,
            reason: r.reason.to_string(),
            extra_annotations: r.extra_annotations.to_string(),
        }
    }

    pub fn rec(&self) -> AuditRec<'_> {
        AuditRec {
            level: self.level,
            stage: self.stage,
            audit_id: self.audit_id,
            uri: &self.uri,
            verb: &self.verb,
            user: &self.user,
            impersonated: &self.impersonated,
            source_ips: &self.source_ips,
            user_agent: &self.user_agent,
            object_ref: self.has_object_ref.then_some(ObjRef {
                resource: &self.resource,
                namespace: &self.namespace,
                name: &self.name,
                api_group: &self.api_group,
                api_version: &self.api_version,
                subresource: &self.subresource,
            }),
            code: self.code,
            status_extra: &self.status_extra,
            request_object: &self.request_object,
            response_object: &self.response_object,
            received: self.received,
            stage_ts: self.stage_ts,
            decision: self.decision,
            reason: &self.reason,
            extra_annotations: &self.extra_annotations,
        }
    }
}

/// Escapes a string as JSON string content (without the surrounding quotes).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// A JSON array of strings: `["a","b"]`.
pub fn json_str_array(items: &[&str]) -> String {
    let mut s = String::from("[");
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        s.push_str(&esc(it));
        s.push('"');
    }
    s.push(']');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_is_valid_json_in_apiserver_order() {
        let r = AuditRec {
            level: Level::Metadata,
            stage: Stage::ResponseComplete,
            audit_id: [7; 16],
            uri: "/api/v1/namespaces/default/pods/p",
            verb: "get",
            user: r#"{"username":"u","groups":["system:authenticated"]}"#,
            impersonated: "",
            source_ips: r#"["10.0.0.1"]"#,
            user_agent: "kubectl/v1.30.2",
            object_ref: Some(ObjRef {
                resource: "pods",
                namespace: "default",
                name: "p",
                api_version: "v1",
                ..Default::default()
            }),
            code: 200,
            status_extra: "",
            request_object: "",
            response_object: "",
            received: 1_700_000_000_123_456_789,
            stage_ts: 1_700_000_000_125_000_000,
            decision: Some(Decision::Allow),
            reason: "",
            extra_annotations: "",
        };
        let mut out = Vec::new();
        write_line(&mut out, &mut TimeFmt::default(), &r);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["auditID"], "07070707-0707-4707-8707-070707070707");
        assert_eq!(v["objectRef"]["namespace"], "default");
        assert!(v["objectRef"].get("apiGroup").is_none());
        assert_eq!(v["requestReceivedTimestamp"], "2023-11-14T22:13:20.123456Z");
        assert_eq!(v["annotations"]["authorization.k8s.io/decision"], "allow");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "kind");
        assert_eq!(keys[5], "requestURI");
        assert_eq!(keys.last().unwrap().as_str(), "annotations");
        assert_eq!(OwnedAudit::from_rec(&r).rec().uri, r.uri);
    }
}
