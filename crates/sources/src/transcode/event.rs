//! An audit Event line (native or legacy, one JSON object) → the ECS JSON text of its document,
//! following the `kubernetes.audit_logs` pipeline steps of [`crate::audit`] on the raw bytes.
//!
//! The top-level members are walked once. Each is checked as [`crate::validate`] checks it
//! and, for full output, written (pruned, canonical) into the `kubernetes.audit` object as it
//! is met: `requestObject`/`responseObject` without `metadata`, annotation keys with `.` → `_`,
//! legacy `timestamp` moved to the end as `stageTimestamp`. The members the derived ECS fields
//! come from (`verb`, `annotations`, `user`, `userAgent`, `sourceIPs`, `apiVersion`,
//! `objectRef`, the times) are remembered as raw spans; the derived fields, the audit object
//! and the agent fields are then assembled in the order the tree path's maps hold them.
//!
//! Anything the tree path would treat differently gives up ([`Fail`]): other shapes (GKE, AKS,
//! ECS, process events, EventList, `resource`/`protoPayload` members), duplicate or escaped
//! keys, a failed record check (the tree path then reports it), `stageTimestamp: null` beside a
//! `timestamp`, no event time under the replay policy, `preserve_original`.

use std::net::IpAddr;

use compact_str::CompactString;

use crate::fasttime::{format_millis, format_secs, parse as parse_timestamp};
use crate::scan::{skip_value, ws};
use crate::validate::OBJECT_REF_STRINGS;
use crate::{Normalizer, TimePolicy, audit, hash};

use super::EcsFormat;
use super::fields;
use super::json::{
    self, Fail, Keys, Members, R, Run, Seen, after_item, decode_str, member_key, opt, write_key, write_str,
};

/// Top-level members that mean "not a plain audit Event", and `resource` (GKE's, whose
/// pipeline steps this path does not take): the tree path handles the record.
fn foreign(key: &str) -> bool {
    key == "resource" || crate::fast::foreign_member(key)
}

/// `event.ingested` and `@timestamp` text, the second's kept for the next record (events come
/// many per second).
#[derive(Default)]
struct Clock {
    second: Option<i64>,
    /// `YYYY-MM-DDTHH:MM:SSZ` of `second`.
    text: CompactString,
}

impl Clock {
    fn secs(&mut self, nanos: i64) -> &str {
        let second = nanos.div_euclid(1_000_000_000);
        if self.second != Some(second) {
            self.text = format_secs(nanos);
            self.second = Some(second);
        }
        &self.text
    }

    /// `format_millis`: the second's text with the milliseconds before its `Z`.
    fn write_millis(&mut self, nanos: i64, out: &mut Vec<u8>) {
        let secs = self.secs(nanos);
        if secs.len() != 20 {
            out.extend_from_slice(format_millis(nanos).as_bytes());
            return;
        }
        let ms = nanos.rem_euclid(1_000_000_000) / 1_000_000;
        out.extend_from_slice(&secs.as_bytes()[..19]);
        out.extend_from_slice(&[
            b'.',
            b'0' + (ms / 100) as u8,
            b'0' + (ms / 10 % 10) as u8,
            b'0' + (ms % 10) as u8,
            b'Z',
        ]);
    }
}

/// Buffers reused from record to record (one set per thread).
#[derive(Default)]
pub(crate) struct Scratch {
    index: fields::Index,
    clock: Clock,
    keys: Keys,
    /// The `kubernetes.audit` object being written.
    audit: Vec<u8>,
    /// Derived values, the head of a projected document, projected values.
    head: Vec<u8>,
    /// A whole document read by a projection.
    doc: Vec<u8>,
    vals: Vec<u8>,
    /// Top-level members (key start, key end, value start, value end) under projection.
    members: Vec<(u32, u32, u32, u32)>,
    /// Per requested field: values' range in `vals` and their count.
    found: Vec<(usize, usize, usize)>,
}

/// The raw spans the derived fields come from.
#[derive(Default)]
struct Sources<'a> {
    verb: Option<&'a str>,
    /// `annotations["authorization.k8s.io/decision"]`.
    decision: Option<&'a str>,
    /// `user.username`, `user.uid`.
    username: Option<&'a str>,
    uid: Option<&'a str>,
    user_agent: Option<&'a str>,
    source_ips: Option<&'a str>,
    api_version: Option<&'a str>,
    /// `objectRef.{resource,namespace,name}`.
    resource: Option<&'a str>,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    /// The times (non-null) in epoch nanoseconds.
    received: Option<i64>,
    stage: Option<i64>,
    /// Legacy `timestamp`.
    timestamp: Option<i64>,
    /// `stageTimestamp` is present (null or not).
    stage_present: bool,
    kind: Option<&'a str>,
    audit_keys: u32,
}

/// True for a raw value that is `null`.
fn is_null(raw: &str) -> bool {
    raw.as_bytes().first() == Some(&b'n')
}

fn str_or_null(raw: &str) -> R<()> {
    match raw.as_bytes().first() {
        Some(b'"' | b'n') => Ok(()),
        _ => Err(Fail),
    }
}

/// Calls `f` with each element of the raw array `raw` (values inside `depth` containers).
fn elements(raw: &str, depth: u32, mut f: impl FnMut(&str) -> R<()>) -> R<()> {
    let b = raw.as_bytes();
    if b.first() != Some(&b'[') {
        return Err(Fail);
    }
    let mut i = ws(b, 1);
    if b.get(i) == Some(&b']') {
        return Ok(());
    }
    loop {
        let end = opt(skip_value(b, i, depth))?;
        f(&raw[i..end])?;
        let (more, next) = after_item(b, end, b']')?;
        if !more {
            return Ok(());
        }
        i = next;
    }
}

/// Calls `f` with each member (key, raw value) of the object at the start of `raw` (values
/// inside `depth` containers); duplicate keys fail (with `dots`, `.` and `_` count as the
/// same). The length of the object.
fn members<'a>(
    raw: &'a str,
    depth: u32,
    dots: bool,
    keys: &mut Keys,
    mut f: impl FnMut(&'a str, &'a str) -> R<()>,
) -> R<usize> {
    let b = raw.as_bytes();
    if b.first() != Some(&b'{') {
        return Err(Fail);
    }
    let mut i = ws(b, 1);
    if b.get(i) == Some(&b'}') {
        return Ok(i + 1);
    }
    let mark = keys.open();
    let mut seen = Seen::default();
    let result = (|| {
        loop {
            let (ks, ke, vi) = member_key(b, i)?;
            keys.add(raw, ks, ke, mark, dots, &mut seen)?;
            let end = opt(skip_value(b, vi, depth))?;
            f(&raw[ks..ke], &raw[vi..end])?;
            let (more, next) = after_item(b, end, b'}')?;
            if !more {
                return Ok(next);
            }
            i = next;
        }
    })();
    keys.close(mark);
    result
}

/// Null, or an array of strings and nulls.
fn str_array(raw: &str, depth: u32) -> R<()> {
    if is_null(raw) {
        return Ok(());
    }
    elements(raw, depth, str_or_null)
}

/// The top-level objects whose members the record checks look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    User,
    Impersonated,
    ObjectRef,
    Status,
    Annotations,
}

impl Owner {
    fn of(key: &str) -> Option<Owner> {
        Some(match key {
            "user" => Owner::User,
            "impersonatedUser" => Owner::Impersonated,
            "objectRef" => Owner::ObjectRef,
            "responseStatus" => Owner::Status,
            "annotations" => Owner::Annotations,
            _ => return None,
        })
    }
}

/// `Some(raw)` unless it is null.
fn nonnull(raw: &str) -> Option<&str> {
    (!is_null(raw)).then_some(raw)
}

impl<'a> Sources<'a> {
    /// The record checks on one member `k` (value `v`) of the object `owner`, noting the values
    /// the derived fields come from.
    fn inner(&mut self, owner: Owner, k: &str, v: &'a str) -> R<()> {
        match (owner, k) {
            (Owner::User | Owner::Impersonated, "username") => {
                if owner == Owner::User {
                    self.username = nonnull(v);
                }
                str_or_null(v)
            }
            (Owner::User | Owner::Impersonated, "uid") => {
                if owner == Owner::User {
                    self.uid = nonnull(v);
                }
                str_or_null(v)
            }
            (Owner::User | Owner::Impersonated, "groups") => str_array(v, 3),
            (Owner::User | Owner::Impersonated, "extra") if !is_null(v) => {
                members(v, 3, false, &mut Keys::default(), |_, x| {
                    if x.starts_with('"') {
                        Ok(())
                    } else {
                        str_array(x, 4)
                    }
                })
                .map(|_| ())
            }
            (Owner::ObjectRef, _) => {
                match k {
                    "resource" => self.resource = nonnull(v),
                    "namespace" => self.namespace = nonnull(v),
                    "name" => self.name = nonnull(v),
                    _ => {}
                }
                if OBJECT_REF_STRINGS.contains(&k) {
                    str_or_null(v)
                } else {
                    Ok(())
                }
            }
            // An integer the full parse builds as `Value::Int` (`-0` is left to it).
            (Owner::Status, "code") if !is_null(v) && (v.starts_with("-0") || v.parse::<i64>().is_err()) => {
                Err(Fail)
            }
            (Owner::Annotations, _) => {
                if k == "authorization.k8s.io/decision" {
                    self.decision = nonnull(v);
                }
                str_or_null(v)
            }
            _ => Ok(()),
        }
    }

    /// The record checks of [`crate::validate::audit_record`] on one non-null top-level
    /// member, noting the values the derived fields come from.
    fn check(&mut self, key: &str, raw: &'a str, keys: &mut Keys) -> R<()> {
        match key {
            "kind" | "apiVersion" | "level" | "auditID" | "stage" | "requestURI" | "verb" | "userAgent" => {
                str_or_null(raw)
            }
            "requestReceivedTimestamp" | "stageTimestamp" | "timestamp" => {
                let (s, _) = decode_str(raw, 0)?;
                let t = opt(parse_timestamp(&s))?;
                match key {
                    "requestReceivedTimestamp" => self.received = Some(t),
                    "stageTimestamp" => self.stage = Some(t),
                    _ => self.timestamp = Some(t),
                }
                Ok(())
            }
            "sourceIPs" => str_array(raw, 2),
            _ if let Some(owner) = Owner::of(key) => {
                let dots = owner == Owner::Annotations;
                members(raw, 2, dots, keys, |k, v| self.inner(owner, k, v)).map(|_| ())
            }
            "metadata" | "operation" => match raw.as_bytes().first() {
                Some(b'{') => Ok(()),
                _ => Err(Fail),
            },
            _ => Ok(()),
        }
    }
}

impl<'a> Sources<'a> {
    /// Notes a top-level member; `Fail` for members of other shapes.
    /// `checked`: the member's own checks were made as it was written.
    fn note(&mut self, key: &'a str, raw: &'a str, checked: bool, keys: &mut Keys) -> R<()> {
        /// Where a member's raw value is kept.
        enum Keep {
            Kind,
            Verb,
            UserAgent,
            SourceIps,
            ApiVersion,
            Nothing,
        }
        // One match for all the key's roles (this runs for every top-level member).
        let keep = match key {
            "verb" => {
                self.audit_keys += 1;
                Keep::Verb
            }
            "auditID" | "requestURI" | "stage" | "objectRef" | "requestReceivedTimestamp" => {
                self.audit_keys += 1;
                Keep::Nothing
            }
            "stageTimestamp" => {
                self.stage_present = true;
                Keep::Nothing
            }
            "kind" => Keep::Kind,
            "userAgent" => Keep::UserAgent,
            "sourceIPs" => Keep::SourceIps,
            "apiVersion" => Keep::ApiVersion,
            k if foreign(k) => return Err(Fail),
            _ => Keep::Nothing,
        };
        if is_null(raw) {
            return Ok(());
        }
        if !checked {
            self.check(key, raw, keys)?;
        }
        let slot = match keep {
            Keep::Kind => &mut self.kind,
            Keep::Verb => &mut self.verb,
            Keep::UserAgent => &mut self.user_agent,
            Keep::SourceIps => &mut self.source_ips,
            Keep::ApiVersion => &mut self.api_version,
            Keep::Nothing => return Ok(()),
        };
        *slot = Some(raw);
        Ok(())
    }

    /// After the walk: the record is an Event the tree path normalizes like this one.
    fn shape(&self) -> R<()> {
        match self.kind {
            Some(k) if k.contains('\\') => Err(Fail),
            Some("\"Event\"") => Ok(()),
            Some("\"EventList\"") => Err(Fail),
            _ if self.audit_keys >= 2 => Ok(()),
            _ => Err(Fail),
        }
    }

    /// Whether legacy `timestamp` becomes `stageTimestamp` (moved to the end of the object);
    /// `Fail` when it would replace a null `stageTimestamp` in place.
    fn renames_timestamp(&self) -> R<bool> {
        match (self.timestamp, self.stage_present) {
            (None, _) => Ok(false),
            (Some(_), false) => Ok(true),
            (Some(_), true) if self.stage.is_none() => Err(Fail),
            (Some(_), true) => Ok(false),
        }
    }

    /// The event time in epoch nanoseconds (already validated).
    fn event_time(&self, renamed: bool) -> Option<i64> {
        let stage = if renamed { self.timestamp } else { self.stage };
        self.received.or(stage)
    }
}

/// Writes a non-empty string value canonically; false when it is empty (or not a string).
fn put_str(out: &mut Vec<u8>, raw: Option<&str>) -> R<bool> {
    match raw {
        Some(r) if r.starts_with('"') => Ok(json::string(r, 0, out)?.1),
        _ => Ok(false),
    }
}

/// The canonical texts of values in `buf`: ranges.
type Span = (usize, usize);

/// Writes the string `raw` into `buf`; its span when non-empty.
fn span_of(buf: &mut Vec<u8>, raw: Option<&str>) -> R<Option<Span>> {
    let start = buf.len();
    Ok(put_str(buf, raw)?.then_some((start, buf.len())))
}

/// Writes the derived fields and the agent fields of the document, in the tree path's order,
/// with `audit` (the `kubernetes.audit` object text) between them when given; `index` (when
/// given, for a document written from the start of `out`) gets the members written.
#[allow(clippy::too_many_arguments)]
fn write_document(
    src: &Sources<'_>,
    time: i64,
    audit: Option<&[u8]>,
    ctx: &Normalizer,
    clock: &mut Clock,
    vals: &mut Vec<u8>,
    out: &mut Vec<u8>,
    index: Option<&mut fields::Index>,
    need: u16,
) -> R<()> {
    let need = |root: u16| need & root != 0;
    let mut rec = Rec(index);
    vals.clear();
    out.extend_from_slice(br#"{"event":"#);
    let event = rec.open(out, 0, "event");
    out.extend_from_slice(br#"{"kind":"#);
    let kind = rec.open(out, 1, "kind");
    out.extend_from_slice(br#""event""#);
    rec.close(kind, out);
    if src.verb.is_some() {
        let at = out.len();
        out.extend_from_slice(br#","action":"#);
        let action = rec.open(out, 1, "action");
        if put_str(out, src.verb)? {
            rec.close(action, out);
        } else {
            out.truncate(at);
            rec.drop(action);
        }
    }
    if let Some(decision) = find_decision(src.decision)? {
        out.extend_from_slice(br#","outcome":"#);
        let outcome = rec.open(out, 1, "outcome");
        out.extend_from_slice(match decision {
            true => br#""success""#.as_slice(),
            false => br#""failure""#.as_slice(),
        });
        rec.close(outcome, out);
    }
    let (agent_ts, ingested) = match ctx.opts.time_policy {
        TimePolicy::Replay => (time, time),
        TimePolicy::Live => {
            let now = ctx.now();
            (now, now)
        }
    };
    out.extend_from_slice(br#","ingested":"#);
    let at = rec.open(out, 1, "ingested");
    out.push(b'"');
    out.extend_from_slice(clock.secs(ingested).as_bytes());
    out.push(b'"');
    rec.close(at, out);
    out.extend_from_slice(br#","dataset":"#);
    let at = rec.open(out, 1, "dataset");
    out.push(b'"');
    out.extend_from_slice(audit::DATASET.as_bytes());
    out.push(b'"');
    rec.close(at, out);
    out.push(b'}');
    rec.close(event, out);

    let username = span_of(vals, src.username)?;
    let uid = span_of(vals, src.uid)?;
    if need(fields::USER) && (username.is_some() || uid.is_some()) {
        out.extend_from_slice(br#","user":"#);
        let user = rec.open(out, 0, "user");
        out.push(b'{');
        let mut n = 0;
        for (key, v) in [("name", username), ("id", uid)] {
            if let Some((s, e)) = v {
                write_key(out, n, key.as_bytes(), Members::Plain);
                let at = rec.open(out, 1, key);
                out.extend_from_slice(&vals[s..e]);
                rec.close(at, out);
                n += 1;
            }
        }
        out.push(b'}');
        rec.close(user, out);
    }
    if need(fields::USER_AGENT) && src.user_agent.is_some() {
        let at = out.len();
        out.extend_from_slice(br#","user_agent":"#);
        let ua = rec.open(out, 0, "user_agent");
        out.extend_from_slice(br#"{"original":"#);
        let original = rec.open(out, 1, "original");
        if put_str(out, src.user_agent)? {
            rec.close(original, out);
            out.push(b'}');
            rec.close(ua, out);
        } else {
            out.truncate(at);
            rec.drop(ua);
        }
    }

    // `convert` to ip: all elements must be addresses, else nothing is set.
    let ips_start = vals.len();
    let mut ips = 0;
    let mut valid = src.source_ips.is_some();
    if let Some(raw) = src.source_ips {
        elements(raw, 2, |e| {
            if valid {
                let ok = e.starts_with('"') && decode_str(e, 0)?.0.parse::<IpAddr>().is_ok();
                if ok {
                    if ips > 0 {
                        vals.push(b',');
                    }
                    json::string(e, 0, vals)?;
                    ips += 1;
                } else {
                    valid = false;
                }
            }
            Ok(())
        })?;
    }
    let ips_end = vals.len();
    if valid && ips > 0 {
        for (key, root) in [("client", fields::CLIENT), ("source", fields::SOURCE)] {
            if !need(root) {
                continue;
            }
            out.extend_from_slice(b",\"");
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            let parent = rec.open(out, 0, key);
            out.extend_from_slice(br#"{"ip":"#);
            let ip = rec.open(out, 1, "ip");
            out.push(b'[');
            out.extend_from_slice(&vals[ips_start..ips_end]);
            out.push(b']');
            rec.close_array(ip, out, ips);
            out.push(b'}');
            rec.close(parent, out);
        }
    }

    let api_version = span_of(vals, src.api_version)?;
    let resource = span_of(vals, src.resource)?;
    let namespace = span_of(vals, src.namespace)?;
    let name = span_of(vals, src.name)?;
    if need(fields::ORCHESTRATOR) {
        out.extend_from_slice(br#","orchestrator":"#);
        let orchestrator = rec.open(out, 0, "orchestrator");
        out.push(b'{');
        let mut n = 0;
        let mut put = |out: &mut Vec<u8>, rec: &mut Rec<'_>, depth: u32, key: &str, v: Span| {
            write_key(out, n, key.as_bytes(), Members::Plain);
            let at = rec.open(out, depth, key);
            out.extend_from_slice(&vals[v.0..v.1]);
            rec.close(at, out);
            n += 1;
        };
        if let Some(v) = api_version {
            put(out, &mut rec, 1, "api_version", v);
        }
        let resource_object = |out: &mut Vec<u8>, rec: &mut Rec<'_>, n: usize, members: &[(&str, Span)]| {
            write_key(out, n, b"resource", Members::Plain);
            let at = rec.open(out, 1, "resource");
            out.push(b'{');
            for (k, (key, v)) in members.iter().enumerate() {
                write_key(out, k, key.as_bytes(), Members::Plain);
                let m = rec.open(out, 2, key);
                out.extend_from_slice(&vals[v.0..v.1]);
                rec.close(m, out);
            }
            out.push(b'}');
            rec.close(at, out);
        };
        if let Some(t) = resource {
            match name {
                Some(v) => resource_object(out, &mut rec, n, &[("type", t), ("name", v)]),
                None => resource_object(out, &mut rec, n, &[("type", t)]),
            }
            n += 1;
        }
        if let Some(v) = namespace {
            write_key(out, n, b"namespace", Members::Plain);
            let at = rec.open(out, 1, "namespace");
            out.extend_from_slice(&vals[v.0..v.1]);
            rec.close(at, out);
            n += 1;
        }
        if let (None, Some(v)) = (resource, name) {
            resource_object(out, &mut rec, n, &[("name", v)]);
            n += 1;
        }
        write_key(out, n, b"type", Members::Plain);
        let at = rec.open(out, 1, "type");
        out.extend_from_slice(br#""kubernetes""#);
        rec.close(at, out);
        out.push(b'}');
        rec.close(orchestrator, out);
    }

    // related.user: uid then username, distinct (empty strings are pruned).
    let mut users: [Option<Span>; 2] = [uid, username];
    if let [Some(a), Some(b)] = users
        && vals[a.0..a.1] == vals[b.0..b.1]
    {
        users[1] = None;
    }
    let user_count = users.iter().flatten().count();
    if need(fields::RELATED) && (user_count > 0 || (valid && ips > 0)) {
        out.extend_from_slice(br#","related":"#);
        let related = rec.open(out, 0, "related");
        out.push(b'{');
        if user_count > 0 {
            out.extend_from_slice(br#""user":"#);
            let at = rec.open(out, 1, "user");
            out.push(b'[');
            for (k, (s, e)) in users.into_iter().flatten().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&vals[s..e]);
            }
            out.push(b']');
            rec.close_array(at, out, user_count);
        }
        if valid && ips > 0 {
            if user_count > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#""ip":"#);
            let at = rec.open(out, 1, "ip");
            out.push(b'[');
            // Distinct addresses, in order.
            let list = &vals[ips_start..ips_end];
            let mut written = 0;
            for (k, ip) in split_strings(list).enumerate() {
                if !split_strings(list).take(k).any(|earlier| earlier == ip) {
                    if written > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(ip);
                    written += 1;
                }
            }
            out.push(b']');
            rec.close_array(at, out, written);
        }
        out.push(b'}');
        rec.close(related, out);
    }

    if let Some(audit) = audit {
        out.extend_from_slice(br#","kubernetes":{"audit":"#);
        out.extend_from_slice(audit);
        out.push(b'}');
    }
    if need(fields::TIMESTAMP) {
        rec.member(out, br#","@timestamp":"#, 0, "@timestamp", |out, _| {
            out.push(b'"');
            clock.write_millis(agent_ts, out);
            out.push(b'"');
        });
    }
    if need(fields::ECS) {
        rec.member(out, br#","ecs":"#, 0, "ecs", |out, rec| {
            rec.member(out, br#"{"version":"#, 1, "version", |out, _| {
                write_str(out, audit::ECS_VERSION)
            });
            out.push(b'}');
        });
    }
    if need(fields::DATA_STREAM) {
        rec.member(out, br#","data_stream":"#, 0, "data_stream", |out, rec| {
            rec.member(out, br#"{"dataset":"#, 1, "dataset", |out, _| {
                write_str(out, audit::DATASET)
            });
            rec.member(out, br#","namespace":"#, 1, "namespace", |out, _| {
                write_str(out, &ctx.opts.namespace)
            });
            rec.member(out, br#","type":"#, 1, "type", |out, _| write_str(out, "logs"));
            out.push(b'}');
        });
    }
    Ok(())
}

/// Records the members [`write_document`] writes into an index (or nothing).
struct Rec<'i>(Option<&'i mut fields::Index>);

impl Rec<'_> {
    /// A member whose `"key":` was just written; its value starts now. Its number.
    #[inline]
    fn open(&mut self, out: &[u8], depth: u32, key: &str) -> usize {
        match &mut self.0 {
            Some(index) => index.open(out.len(), depth, key.len()),
            None => 0,
        }
    }

    /// Writes a member: `prefix` (`,"key":` or `{"key":`), then its value by `write`, recorded
    /// as member `key` at `depth`.
    #[inline]
    fn member(
        &mut self,
        out: &mut Vec<u8>,
        prefix: &[u8],
        depth: u32,
        key: &str,
        write: impl FnOnce(&mut Vec<u8>, &mut Self),
    ) {
        out.extend_from_slice(prefix);
        let at = self.open(out, depth, key);
        write(out, self);
        self.close(at, out);
    }

    /// The member's value ends now.
    #[inline]
    fn close(&mut self, at: usize, out: &[u8]) {
        if let Some(index) = &mut self.0 {
            index.close(at, out.len(), 1);
        }
    }

    /// The member's value, an array of `count` elements, ends now.
    #[inline]
    fn close_array(&mut self, at: usize, out: &[u8], count: usize) {
        if let Some(index) = &mut self.0 {
            index.close_array(at, out.len(), count);
        }
    }

    /// The member (the last one opened) was not written after all.
    #[inline]
    fn drop(&mut self, at: usize) {
        if let Some(index) = &mut self.0 {
            index.truncate(at);
        }
    }
}

/// The canonical strings of a comma-separated list of canonical strings (no commas can
/// appear between strings other than as separators: they are skipped as string contents).
fn split_strings(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut i = 0;
    std::iter::from_fn(move || {
        if i >= list.len() {
            return None;
        }
        let start = i;
        let (end, _) = crate::scan::string_end(list, start + 1)?;
        i = end + 1;
        Some(&list[start..end])
    })
}

/// `event.outcome` from the `authorization.k8s.io/decision` annotation: `Some(true)` for
/// `allow`, `Some(false)` for `forbid`.
fn find_decision(decision: Option<&str>) -> R<Option<bool>> {
    let Some(v) = decision else {
        return Ok(None);
    };
    Ok(match &*decode_str(v, 0)?.0 {
        "allow" => Some(true),
        "forbid" => Some(false),
        _ => None,
    })
}

/// How a top-level member's object is rewritten.
fn mode_of(key: &str) -> Members {
    match key {
        "annotations" => Members::DotsToUnderscores,
        "requestObject" | "responseObject" => Members::NoMetadata,
        _ => Members::Plain,
    }
}

/// Writes the value of a top-level member (pruned, rewritten); whether anything was written.
fn member_value(text: &str, key: &str, vi: usize, keys: &mut Keys, out: &mut Vec<u8>) -> R<(usize, bool)> {
    match (mode_of(key), text.as_bytes().get(vi)) {
        (mode @ (Members::DotsToUnderscores | Members::NoMetadata), Some(b'{')) => {
            json::object(text, vi, 1, mode, keys, out)
        }
        _ => json::value(text, vi, 1, keys, out),
    }
}

/// The ECS document of an Event line, written in full into `out` (followed by the `_id`/
/// `_index` members when `meta`, without a newline).
pub(crate) fn full(
    text: &str,
    ctx: &Normalizer,
    format: &EcsFormat,
    s: &mut Scratch,
    out: &mut Vec<u8>,
) -> R<()> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(Fail);
    }
    let Scratch {
        keys,
        audit,
        head,
        clock,
        ..
    } = s;
    keys.reset();
    let mut seen = Seen::default();
    audit.clear();
    audit.push(b'{');
    let mut src = Sources::default();
    let mut n = 0;
    // Where the written `timestamp` member is: (start, end, was first).
    let mut legacy = None;
    i = ws(b, i + 1);
    let mut more = b.get(i) != Some(&b'}');
    if !more {
        i += 1;
    }
    let mut run = Run::default();
    while more {
        let (ks, ke, vi) = member_key(b, i)?;
        keys.add(text, ks, ke, 0, false, &mut seen)?;
        let key = &text[ks..ke];
        let copy = if vi == ke + 2 && key != "timestamp" {
            json::verbatim(b, vi)?
        } else {
            None
        };
        let mut checked = false;
        let end = if let Some(end) = copy {
            run.add(b, i, end, n, audit);
            n += 1;
            end
        } else {
            run.flush(b, audit);
            let before = audit.len();
            write_key(audit, n, key.as_bytes(), Members::Plain);
            let owner = Owner::of(key).filter(|_| b.get(vi) == Some(&b'{'));
            let (end, written) = match owner {
                // Checked member by member as it is written.
                Some(owner) => json::object_with(text, vi, 1, mode_of(key), keys, audit, &mut |k, v| {
                    src.inner(owner, k, v)
                })?,
                None => member_value(text, key, vi, keys, audit)?,
            };
            checked = owner.is_some();
            if written {
                if key == "timestamp" {
                    legacy = Some((before, audit.len(), n == 0));
                }
                n += 1;
            } else {
                audit.truncate(before);
            }
            end
        };
        src.note(key, &text[vi..end], checked, keys)?;
        (more, i) = after_item(b, end, b'}')?;
    }
    run.flush(b, audit);
    keys.close(0);
    if ws(b, i) != b.len() {
        return Err(Fail);
    }
    src.shape()?;
    let renamed = src.renames_timestamp()?;
    if renamed && let Some((start, end, first)) = legacy {
        // The value without `,"timestamp":`.
        let prefix = if first { 0 } else { 1 } + br#""timestamp":"#.len();
        let value = audit[start + prefix..end].to_vec();
        audit.drain(start..end);
        if first && audit.get(start) == Some(&b',') {
            audit.remove(start);
        }
        write_key(audit, n - 1, b"stageTimestamp", Members::Plain);
        audit.extend_from_slice(&value);
    }
    let time = match (src.event_time(renamed), ctx.opts.time_policy) {
        (Some(t), _) => t,
        (None, TimePolicy::Live) => 0,
        (None, TimePolicy::Replay) => return Err(Fail),
    };
    let audit_text = if n > 0 {
        audit.push(b'}');
        Some(&audit[..])
    } else {
        None
    };
    write_document(&src, time, audit_text, ctx, clock, head, out, None, fields::ALL)?;
    meta(text, ctx, format, out);
    Ok(())
}

/// `_id` and `_index` and the closing brace.
fn meta(text: &str, ctx: &Normalizer, format: &EcsFormat, out: &mut Vec<u8>) {
    if format.meta {
        out.extend_from_slice(br#","_id":"#);
        write_str(out, &hash::record_id(text.as_bytes()));
        out.extend_from_slice(br#","_index":"#);
        write_str(out, &ctx.audit_index);
    }
    out.push(b'}');
}

/// The requested fields of an Event line's ECS document, written into `out` as `crowsnest
/// normalize --fields` prints them (with `_id`/`_index` when `meta`, without a newline).
pub(crate) fn projected(
    text: &str,
    ctx: &Normalizer,
    format: &EcsFormat,
    plan: &fields::Plan,
    s: &mut Scratch,
    out: &mut Vec<u8>,
) -> R<()> {
    if plan.whole_audit {
        // Needs the whole audit object: write the document, then read the fields from it.
        let mut whole = std::mem::take(&mut s.doc);
        whole.clear();
        let result = full(text, ctx, &EcsFormat::plain(), s, &mut whole).and_then(|()| {
            let whole = std::str::from_utf8(&whole).map_err(|_| Fail)?;
            s.index.build(whole)?;
            s.found.clear();
            s.vals.clear();
            for f in &plan.fields {
                let start = s.vals.len();
                let count = if f.in_kubernetes() {
                    fields::collect(whole, &f.path, &mut s.keys, &mut s.vals)?
                } else {
                    s.index.values(whole, f, &mut s.vals)
                };
                s.found.push((start, s.vals.len(), count));
            }
            Ok(())
        });
        s.doc = whole;
        result?;
        return emit(text, ctx, format, plan, s, out);
    }
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(Fail);
    }
    let mut src = Sources::default();
    s.members.clear();
    s.keys.reset();
    let mut seen = Seen::default();
    i = ws(b, i + 1);
    let mut more = b.get(i) != Some(&b'}');
    if !more {
        i += 1;
    }
    while more {
        let (ks, ke, vi) = member_key(b, i)?;
        s.keys.add(text, ks, ke, 0, false, &mut seen)?;
        let key = &text[ks..ke];
        let owner = Owner::of(key).filter(|_| b.get(vi) == Some(&b'{'));
        let end = match owner {
            // Checked member by member as it is read.
            Some(owner) => {
                let dots = owner == Owner::Annotations;
                vi + members(&text[vi..], 2, dots, &mut s.keys, |k, v| src.inner(owner, k, v))?
            }
            None => opt(skip_value(b, vi, 1))?,
        };
        src.note(key, &text[vi..end], owner.is_some(), &mut s.keys)?;
        s.members.push((ks as u32, ke as u32, vi as u32, end as u32));
        (more, i) = after_item(b, end, b'}')?;
    }
    s.keys.close(0);
    if ws(b, i) != b.len() {
        return Err(Fail);
    }
    src.shape()?;
    let renamed = src.renames_timestamp()?;
    let time = match (src.event_time(renamed), ctx.opts.time_policy) {
        (Some(t), _) => t,
        (None, TimePolicy::Live) => 0,
        (None, TimePolicy::Replay) => return Err(Fail),
    };
    // The document without `kubernetes`, for the fields derived or added.
    let mut head = std::mem::take(&mut s.head);
    head.clear();
    s.index.clear();
    let result = write_document(
        &src,
        time,
        None,
        ctx,
        &mut s.clock,
        &mut s.vals,
        &mut head,
        Some(&mut s.index),
        plan.head,
    )
    .and_then(|()| {
        head.push(b'}');
        let head = std::str::from_utf8(&head).map_err(|_| Fail)?;
        s.found.clear();
        s.vals.clear();
        for f in &plan.fields {
            let start = s.vals.len();
            let count = match f.audit_path() {
                None => s.index.values(head, f, &mut s.vals),
                Some(rest) => {
                    // The audit object's keys in the tree path's order: a renamed `timestamp`
                    // is `stageTimestamp`, last.
                    let mut count = 0;
                    let mut moved = None;
                    for &(ks, ke, vi, _) in &s.members {
                        let key = &text[ks as usize..ke as usize];
                        if renamed && key == "timestamp" {
                            moved = Some(vi as usize);
                            continue;
                        }
                        count += fields::member(
                            text,
                            key,
                            vi as usize,
                            rest,
                            mode_of(key),
                            &mut s.keys,
                            &mut s.vals,
                        )?;
                    }
                    if let Some(vi) = moved {
                        count += fields::member(
                            text,
                            "stageTimestamp",
                            vi,
                            rest,
                            Members::Plain,
                            &mut s.keys,
                            &mut s.vals,
                        )?;
                    }
                    count
                }
            };
            s.found.push((start, s.vals.len(), count));
        }
        Ok(())
    });
    s.head = head;
    result?;
    emit(text, ctx, format, plan, s, out)
}

/// Writes the projected document from the values found per field.
fn emit(
    text: &str,
    ctx: &Normalizer,
    format: &EcsFormat,
    plan: &fields::Plan,
    s: &Scratch,
    out: &mut Vec<u8>,
) -> R<()> {
    out.push(b'{');
    let n = fields::emit_node(plan, &s.found, &s.vals, None, 0, out);
    if format.meta {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#""_id":"#);
        write_str(out, &hash::record_id(text.as_bytes()));
        out.extend_from_slice(br#","_index":"#);
        write_str(out, &ctx.audit_index);
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_writes_what_fasttime_formats() {
        let mut clock = Clock::default();
        let base = parse_timestamp("2024-02-29T23:59:58.9995Z").unwrap();
        for t in [
            base,
            base + 1,
            base + 500_000,
            base + 1_000_000_000,
            -1,
            -1_500_000_000,
            0,
            parse_timestamp("1969-12-31T23:59:59.5Z").unwrap(),
            parse_timestamp("2262-04-11T23:47:16.854Z").unwrap(),
            parse_timestamp("1900-01-01T00:00:00.001Z").unwrap(),
        ] {
            let mut out = Vec::new();
            clock.write_millis(t, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), format_millis(t), "{t}");
            assert_eq!(clock.secs(t), format_secs(t));
        }
    }
}
