//! Kibana-shaped alert documents.
//!
//! [`build_alerts`] turns one detection (an ES|QL result row, an event matched by an EQL/KQL
//! query, or an EQL sequence) into the documents Kibana's detection engine would write to
//! `.alerts-security.alerts-default`. Alert fields are written as flat dotted keys
//! (`"kibana.alert.rule.name"`), as Kibana writes them; copied source fields keep their shape.
//! Every alert carries:
//!
//! - `@timestamp` (when raised), `event.kind: signal`, `kibana.alert.uuid`,
//!   `kibana.alert.start`, `kibana.alert.original_time` (the source event's `@timestamp`, when
//!   there is one), `kibana.alert.status: active`, `kibana.alert.workflow_status: open`,
//!   `kibana.alert.depth`, `kibana.alert.ancestors`, `kibana.alert.severity`,
//!   `kibana.alert.risk_score`, `kibana.alert.reason`;
//! - `kibana.alert.rule.*`: the rule's name, rule_id, uuid (a stand-in for Kibana's saved-object
//!   id: UUID v5 of the rule_id), version, description, severity, risk_score, tags, references,
//!   threat, from, to, interval, type, query, language, index, note, setup, author, license,
//!   false_positives, max_signals, timestamp_override, building_block_type, and Kibana's
//!   category, rule_type_id, producer and consumer for the rule type. With
//!   `rule_name_override` the alert's rule name (and the name in its reason) is the value of
//!   that field on the source, when it has one, as in Kibana;
//! - `crowsnest.window.start`/`crowsnest.window.end` (ISO 8601) and `crowsnest.event_ids` (the
//!   `_id`s of the events the alert stands on), plus `crowsnest.rule.source`, so that every
//!   alert can be explained.
//!
//! Per source:
//!
//! - ES|QL row: the row's non-null columns become fields under their (dotted) names, as Kibana
//!   does for ES|QL rules, except metadata columns (`_id`, `_index`, ...) which become
//!   `kibana.alert.ancestors`, `@timestamp` (it becomes `kibana.alert.original_time`) and
//!   `event.*` columns, which are also copied to `kibana.alert.original_event.*`.
//!   `crowsnest.event_count` is the number of events behind the row.
//! - Event: the event's `_source` is copied (its `@timestamp` becomes the original time; its
//!   `event.kind` is replaced by `signal`), with `kibana.alert.original_event.*` holding every
//!   `event.*` field of the source, as Kibana does.
//! - Sequence: one building-block alert per member event (shaped like an Event alert, plus
//!   `kibana.alert.building_block_type: default`, `kibana.alert.group.id`,
//!   `kibana.alert.group.index` = the member's position) and the sequence's shell alert, first
//!   in the result: it carries the fields whose values are the same on every member (Kibana's
//!   intersection of the building blocks), `kibana.alert.group.id`, depth 2 and the building
//!   blocks among its ancestors, and `crowsnest.sequence.join_keys`.
//!
//! # Identity
//!
//! An alert's identity is a compact JSON text; `kibana.alert.uuid` is the UUID v5 of it in the
//! namespace [`ALERT_NAMESPACE`], so the same detection always gets the same uuid:
//!
//! - ES|QL row: `{"kind":"esql","rule_id":…,"version":…,"group":[group-key values…],
//!   "event":first}` where `first` is the row's `_id` column when the query keeps it (a
//!   non-aggregating query with `METADATA _id`: one alert per source event), else the first
//!   contributing event id (empty when there is none).
//! - Event: `{"kind":"event","rule_id":…,"version":…,"event":_id}`.
//! - Sequence: `{"kind":"sequence","rule_id":…,"version":…,"events":[member _ids in order]}`.
//!   The building block at position `i` has the uuid of `identity + "#" + i`, the group id is
//!   the uuid of `identity + "#group"`.
//!
//! An event without an `_id` stands for itself by content: its id in the identity is the
//! UUID v5 of its `_source` JSON.

use events::time::{NANOS_PER_MILLI, format_millis, format_nanos, parse_timestamp_value};
use events::{Document, Map, Value};
use uuid::Uuid;

use crate::Rule;

/// The UUID v5 namespace of alert ids (itself the UUID v5 of `https://crowsnest.invalid/alerts`
/// in the URL namespace).
pub const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0x8dc9aa1b_52aa_5ae6_bdfe_4dadba83e403);

/// The index Kibana writes alerts to (used for ancestors that are alerts).
pub const ALERTS_INDEX: &str = ".alerts-security.alerts-default";

/// What an alert is raised on.
#[derive(Debug, Clone, Copy)]
pub enum AlertSource<'a> {
    /// One ES|QL result row: `columns` and `row` are parallel; `group` holds the values of the
    /// `STATS ... BY` keys (empty for a non-aggregating query); `event_ids` the `_id`s of the
    /// events behind the row; `event_count` how many there were.
    EsqlRow {
        columns: &'a [String],
        row: &'a [Value],
        group: &'a [Value],
        event_ids: &'a [String],
        event_count: u64,
    },
    /// One event matched by a non-sequence query.
    Event { doc: &'a Document },
    /// A matched EQL sequence: the member events in order, and the join-key values.
    Sequence {
        docs: &'a [&'a Document],
        join_keys: &'a [Value],
    },
}

/// The identity text of an alert (see the module docs); equal identities give equal uuids.
pub fn alert_identity(rule: &Rule, src: &AlertSource) -> String {
    let mut m = serde_json::Map::new();
    let kind = match src {
        AlertSource::EsqlRow { .. } => "esql",
        AlertSource::Event { .. } => "event",
        AlertSource::Sequence { .. } => "sequence",
    };
    m.insert("kind".into(), kind.into());
    m.insert("rule_id".into(), rule.rule_id.clone().into());
    m.insert("version".into(), rule.version.into());
    match src {
        AlertSource::EsqlRow {
            columns,
            row,
            group,
            event_ids,
            ..
        } => {
            m.insert(
                "group".into(),
                serde_json::Value::Array(group.iter().map(Value::to_serde).collect()),
            );
            let first = row_id(columns, row)
                .or_else(|| event_ids.first().cloned())
                .unwrap_or_default();
            m.insert("event".into(), first.into());
        }
        AlertSource::Event { doc } => {
            m.insert("event".into(), doc_id(doc).into());
        }
        AlertSource::Sequence { docs, .. } => {
            m.insert(
                "events".into(),
                serde_json::Value::Array(docs.iter().map(|d| doc_id(d).into()).collect()),
            );
        }
    }
    serde_json::Value::Object(m).to_string()
}

/// The uuid of an identity text.
pub fn identity_uuid(identity: &str) -> String {
    Uuid::new_v5(&ALERT_NAMESPACE, identity.as_bytes()).to_string()
}

/// Builds the alert documents for one detection. `window` is the run's time window `[start,
/// end)` and `raised_at` the time of raising, both in epoch nanoseconds. A sequence gives its
/// shell alert first, then one building-block alert per member; the others give one alert.
pub fn build_alerts(rule: &Rule, src: AlertSource, window: (i64, i64), raised_at: i64) -> Vec<Map> {
    let identity = alert_identity(rule, &src);
    let uuid = identity_uuid(&identity);
    let ctx = Ctx {
        rule,
        window,
        raised_at,
    };
    match src {
        AlertSource::EsqlRow {
            columns,
            row,
            group,
            event_ids,
            event_count,
        } => vec![esql_alert(
            &ctx,
            &uuid,
            columns,
            row,
            group,
            event_ids,
            event_count,
        )],
        AlertSource::Event { doc } => {
            let mut alert = event_fields(doc);
            let reason = kibana_reason(rule, doc, None);
            let name = rule_name(rule, doc);
            let ancestors = vec![event_ancestor(doc)];
            let original = original_time(rule, doc);
            ctx.finish(
                &mut alert,
                Common {
                    uuid: &uuid,
                    name,
                    original_time: original,
                    reason,
                    depth: 1,
                    ancestors,
                    event_ids: vec![doc_id(doc)],
                },
            );
            vec![alert]
        }
        AlertSource::Sequence { docs, join_keys } => sequence_alerts(&ctx, &identity, &uuid, docs, join_keys),
    }
}

struct Ctx<'r> {
    rule: &'r Rule,
    window: (i64, i64),
    raised_at: i64,
}

struct Common<'u> {
    uuid: &'u str,
    /// The rule name the alert shows (see [`rule_name`]).
    name: String,
    original_time: Option<String>,
    reason: String,
    depth: i64,
    ancestors: Vec<Value>,
    event_ids: Vec<String>,
}

impl Ctx<'_> {
    /// Adds the alert fields shared by every kind of alert to `alert` (which already holds the
    /// copied source fields).
    fn finish(&self, alert: &mut Map, c: Common) {
        let rule = self.rule;
        let mut head = Map::new();
        head.insert("@timestamp", Value::from(format_millis(self.raised_at)));
        for (k, v) in std::mem::take(alert) {
            head.insert(k, v);
        }
        let a = &mut head;
        a.insert("event.kind", "signal".into());
        a.insert("kibana.alert.uuid", c.uuid.into());
        a.insert("kibana.alert.start", Value::from(format_millis(self.raised_at)));
        a.insert(
            "kibana.alert.last_detected",
            Value::from(format_millis(self.raised_at)),
        );
        if let Some(t) = c.original_time {
            a.insert("kibana.alert.original_time", Value::from(t));
        }
        a.insert("kibana.alert.status", "active".into());
        a.insert("kibana.alert.workflow_status", "open".into());
        a.insert("kibana.alert.depth", Value::Int(c.depth));
        a.insert("kibana.alert.ancestors", Value::Array(c.ancestors));
        a.insert("kibana.alert.severity", rule.severity.as_str().into());
        a.insert("kibana.alert.risk_score", Value::Int(rule.risk_score));
        a.insert("kibana.alert.reason", Value::from(c.reason));
        insert_rule_fields(a, rule, &c.name);
        a.insert("kibana.space_ids", Value::Array(vec!["default".into()]));
        a.insert("crowsnest.rule.source", rule.source.as_str().into());
        a.insert("crowsnest.window.start", Value::from(iso(self.window.0)));
        a.insert("crowsnest.window.end", Value::from(iso(self.window.1)));
        a.insert(
            "crowsnest.event_ids",
            Value::Array(c.event_ids.into_iter().map(Value::from).collect()),
        );
        *alert = head;
    }
}

/// ISO 8601 with milliseconds, or nanoseconds when the time is not a whole millisecond.
fn iso(nanos: i64) -> String {
    if nanos % NANOS_PER_MILLI == 0 {
        format_millis(nanos)
    } else {
        format_nanos(nanos)
    }
}

/// Kibana's category and rule type id for a rule type.
fn category(rule_type: &str) -> (&'static str, &'static str) {
    match rule_type {
        "query" => ("Custom Query Rule", "siem.queryRule"),
        "saved_query" => ("Saved Query Rule", "siem.savedQueryRule"),
        "eql" => ("Event Correlation Rule", "siem.eqlRule"),
        "esql" => ("ES|QL Rule", "siem.esqlRule"),
        "threshold" => ("Threshold Rule", "siem.thresholdRule"),
        "threat_match" => ("Indicator Match Rule", "siem.indicatorRule"),
        "machine_learning" => ("Machine Learning Rule", "siem.mlRule"),
        "new_terms" => ("New Terms Rule", "siem.newTermsRule"),
        _ => ("Custom Rule", "siem.queryRule"),
    }
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
}

fn insert_rule_fields(a: &mut Map, rule: &Rule, name: &str) {
    let (cat, type_id) = category(&rule.rule_type);
    let p = "kibana.alert.rule.";
    let mut put = |k: &str, v: Value| {
        a.insert(format!("{p}{k}"), v);
    };
    put("name", name.into());
    put("rule_id", rule.rule_id.as_str().into());
    put(
        "uuid",
        Uuid::new_v5(&ALERT_NAMESPACE, format!("rule:{}", rule.rule_id).as_bytes())
            .to_string()
            .into(),
    );
    put("version", Value::Int(rule.version));
    put("description", rule.description.as_str().into());
    put("severity", rule.severity.as_str().into());
    put("risk_score", Value::Int(rule.risk_score));
    put("tags", strings(&rule.tags));
    put("references", strings(&rule.references));
    put(
        "threat",
        Value::Array(rule.threat.iter().map(|t| t.to_value()).collect()),
    );
    put("from", rule.from.as_str().into());
    put("to", "now".into());
    put("interval", rule.interval.as_str().into());
    put("type", rule.rule_type.as_str().into());
    if let Some(q) = &rule.query {
        put("query", q.as_str().into());
    }
    if let Some(l) = &rule.language {
        put("language", l.as_str().into());
    }
    if !rule.index.is_empty() {
        put("index", strings(&rule.index));
    }
    if let Some(n) = &rule.note {
        put("note", n.as_str().into());
    }
    if let Some(s) = &rule.setup {
        put("setup", s.as_str().into());
    }
    put("author", strings(&rule.author()));
    if let Some(l) = rule.license() {
        put("license", l.into());
    }
    put("false_positives", strings(&rule.false_positives()));
    put("max_signals", Value::Int(rule.max_signals as i64));
    if let Some(t) = &rule.timestamp_override {
        put("timestamp_override", t.as_str().into());
    }
    if let Some(b) = &rule.building_block_type {
        put("building_block_type", b.as_str().into());
    }
    if let Some(o) = rule.rule_name_override() {
        put("rule_name_override", o.into());
    }
    put("category", cat.into());
    put("rule_type_id", type_id.into());
    put("producer", "siem".into());
    put("consumer", "siem".into());
    put("enabled", Value::Bool(true));
    put("immutable", Value::Bool(true));
}

/// The `_id` column of a row, when the query kept it.
fn row_id(columns: &[String], row: &[Value]) -> Option<String> {
    columns
        .iter()
        .zip(row)
        .find(|(c, _)| c.as_str() == "_id")
        .and_then(|(_, v)| v.as_str().map(str::to_string))
}

/// A document's `_id`, or the UUID v5 of its `_source` when it has none.
fn doc_id(doc: &Document) -> String {
    if doc.id.is_empty() {
        Uuid::new_v5(
            &ALERT_NAMESPACE,
            Value::Object(doc.source.clone()).to_json().as_bytes(),
        )
        .to_string()
    } else {
        doc.id.clone()
    }
}

fn time_text(v: &Value) -> Option<String> {
    parse_timestamp_value(v).map(format_millis)
}

/// The event's `@timestamp` (Kibana's original time), or its value of the rule's time field
/// when it has no `@timestamp`.
fn original_time(rule: &Rule, doc: &Document) -> Option<String> {
    doc.first("@timestamp")
        .or_else(|| doc.first(rule.time_field()))
        .and_then(time_text)
}

fn event_ancestor(doc: &Document) -> Value {
    let mut m = Map::new();
    m.insert("id", Value::from(doc_id(doc)));
    m.insert("type", "event".into());
    m.insert("index", doc.index.as_str().into());
    m.insert("depth", Value::Int(0));
    Value::Object(m)
}

/// Removes every occurrence of a dotted path (flat key or nested objects).
fn remove_all(m: &mut Map, path: &str) {
    while m.remove_path(path).is_some() {}
}

/// The source fields an alert on `doc` carries: its `_source` without `@timestamp` and
/// `event.kind`, plus `kibana.alert.original_event.*`: each entry of the source's `event`
/// object (or flat `event.*` key), with its value as written.
fn event_fields(doc: &Document) -> Map {
    let mut m = doc.source.clone();
    remove_all(&mut m, "@timestamp");
    remove_all(&mut m, "event.kind");
    for (key, value) in doc.source.iter() {
        if value.is_null() {
            continue;
        }
        if key == "event" {
            if let Value::Object(event) = value {
                for (k, v) in event.iter().filter(|(_, v)| !v.is_null()) {
                    m.insert(format!("kibana.alert.original_event.{k}"), v.clone());
                }
            }
        } else if let Some(rest) = key.strip_prefix("event.") {
            m.insert(format!("kibana.alert.original_event.{rest}"), value.clone());
        }
    }
    m
}

fn field_value(values: &[&Value]) -> Value {
    match values {
        [one] => (*one).clone(),
        many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
    }
}

const RESERVED_PREFIXES: &[&str] = &["kibana.", "crowsnest."];

fn esql_alert(
    ctx: &Ctx,
    uuid: &str,
    columns: &[String],
    row: &[Value],
    group: &[Value],
    event_ids: &[String],
    event_count: u64,
) -> Map {
    let mut m = Map::new();
    let mut original = None;
    let mut meta_id = None;
    let mut meta_index = None;
    for (col, val) in columns.iter().zip(row) {
        if val.is_null() {
            continue;
        }
        match col.as_str() {
            "_id" => meta_id = val.as_str().map(str::to_string),
            "_index" => meta_index = val.as_str().map(str::to_string),
            c if c.starts_with('_') => {}
            "@timestamp" => original = time_text(val).or_else(|| Some(val.to_string())),
            "event.kind" => {
                m.insert("kibana.alert.original_event.kind", val.clone());
            }
            c if RESERVED_PREFIXES.iter().any(|p| c.starts_with(p)) => {}
            c => {
                m.insert(c, val.clone());
                if let Some(rest) = c.strip_prefix("event.") {
                    m.insert(format!("kibana.alert.original_event.{rest}"), val.clone());
                }
            }
        }
    }
    let view = Document::new(m);
    let reason = if group.is_empty() {
        kibana_reason(ctx.rule, &view, None)
    } else {
        let described = describe_group(columns, row, group);
        kibana_reason(ctx.rule, &view, Some((described, event_count)))
    };
    let name = rule_name(ctx.rule, &view);
    let mut m = view.source;
    let mut ancestors = Vec::new();
    if let Some(id) = &meta_id {
        let mut a = Map::new();
        a.insert("id", id.as_str().into());
        a.insert("type", "event".into());
        a.insert("index", meta_index.clone().unwrap_or_default().into());
        a.insert("depth", Value::Int(0));
        ancestors.push(Value::Object(a));
    }
    let mut ids: Vec<String> = event_ids.to_vec();
    if ids.is_empty()
        && let Some(id) = meta_id
    {
        ids.push(id);
    }
    m.insert("crowsnest.event_count", Value::Int(event_count as i64));
    ctx.finish(
        &mut m,
        Common {
            uuid,
            name,
            original_time: original,
            reason,
            depth: 1,
            ancestors,
            event_ids: ids,
        },
    );
    m
}

/// `name=value` for each group-key value. The name is that of a not yet used column whose
/// value in the row equals it (the `BY` columns are normally kept in the output), preferring
/// columns not named `Esql.*` (where the rules put their aggregates); a value no column holds
/// is shown alone.
fn describe_group(columns: &[String], row: &[Value], group: &[Value]) -> Vec<String> {
    let mut used = vec![false; columns.len()];
    group
        .iter()
        .map(|g| {
            let candidates = || {
                columns
                    .iter()
                    .zip(row)
                    .enumerate()
                    .filter(|(i, (c, v))| !used[*i] && !c.starts_with('_') && *v == g)
                    .map(|(i, (c, _))| (i, c))
            };
            let hit = candidates()
                .find(|(_, c)| !c.starts_with("Esql."))
                .or_else(|| candidates().next());
            match hit {
                Some((i, c)) => {
                    used[i] = true;
                    format!("{c}={}", display(g))
                }
                None => display(g),
            }
        })
        .collect()
}

fn display(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Array(items) => format!("[{}]", items.iter().map(display).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// The rule name an alert shows: with `rule_name_override` (a source field), that field's value
/// on the source when it has one, as in Kibana; else the rule's name.
fn rule_name(rule: &Rule, doc: &Document) -> String {
    rule.rule_name_override()
        .map(|field| doc.field(field))
        .filter(|values| !values.is_empty())
        .map(|values| values.iter().map(|v| display(v)).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| rule.name.clone())
}

/// The reason sentence, after Kibana's (`process event with process curl, parent process bash,
/// by root on node-1 created medium alert Rule Name.`): the event category, process, parent
/// process, file, source and destination, user and host when the alert has them. For an
/// aggregated ES|QL row the group key and the number of events are listed instead of the
/// per-event details (`event with user.name=alice, source.ip=10.0.0.5 (4 events) created high
/// alert Rule Name.`).
fn kibana_reason(rule: &Rule, doc: &Document, group: Option<(Vec<String>, u64)>) -> String {
    let get = |path: &str| -> Option<String> {
        let vals = doc.field(path);
        if vals.is_empty() {
            None
        } else {
            Some(vals.iter().map(|v| display(v)).collect::<Vec<_>>().join(", "))
        }
    };
    let mut s = String::new();
    if let Some(cat) = get("event.category") {
        s.push_str(&cat);
        s.push(' ');
    }
    s.push_str("event");
    match group {
        Some((keys, count)) => {
            s.push_str(" with ");
            s.push_str(&keys.join(", "));
            s.push_str(&format!(" ({count} event{})", if count == 1 { "" } else { "s" }));
        }
        None => {
            if let Some(p) = get("process.name") {
                s.push_str(&format!(" with process {p},"));
            }
            if let Some(p) = get("process.parent.name") {
                s.push_str(&format!(" parent process {p},"));
            }
            if let Some(f) = get("file.name") {
                s.push_str(&format!(" file {f},"));
            }
            for side in ["source", "destination"] {
                let addr = get(&format!("{side}.address")).or_else(|| get(&format!("{side}.ip")));
                if let Some(addr) = addr {
                    match get(&format!("{side}.port")) {
                        Some(port) => s.push_str(&format!(" {side} {addr}:{port},")),
                        None => s.push_str(&format!(" {side} {addr},")),
                    }
                }
            }
            if let Some(u) = get("user.name") {
                s.push_str(&format!(" by {u}"));
            }
            if let Some(h) = get("host.name") {
                s.push_str(&format!(" on {h}"));
            }
        }
    }
    s.push_str(&format!(
        " created {} alert {}.",
        rule.severity,
        rule_name(rule, doc)
    ));
    s
}

fn sequence_alerts(
    ctx: &Ctx,
    identity: &str,
    uuid: &str,
    docs: &[&Document],
    join_keys: &[Value],
) -> Vec<Map> {
    let group_id = identity_uuid(&format!("{identity}#group"));
    let ids: Vec<String> = docs.iter().map(|d| doc_id(d)).collect();
    let mut blocks = Vec::with_capacity(docs.len());
    let mut block_ancestors = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let bb_uuid = identity_uuid(&format!("{identity}#{i}"));
        let mut alert = event_fields(doc);
        let reason = kibana_reason(ctx.rule, doc, None);
        let name = rule_name(ctx.rule, doc);
        alert.insert("kibana.alert.building_block_type", "default".into());
        alert.insert("kibana.alert.group.id", Value::from(group_id.clone()));
        alert.insert("kibana.alert.group.index", Value::Int(i as i64));
        ctx.finish(
            &mut alert,
            Common {
                uuid: &bb_uuid,
                name,
                original_time: original_time(ctx.rule, doc),
                reason,
                depth: 1,
                ancestors: vec![event_ancestor(doc)],
                event_ids: vec![ids[i].clone()],
            },
        );
        block_ancestors.push(event_ancestor(doc));
        let mut a = Map::new();
        a.insert("id", Value::from(bb_uuid));
        a.insert("type", "signal".into());
        a.insert("index", ALERTS_INDEX.into());
        a.insert("depth", Value::Int(1));
        block_ancestors.push(Value::Object(a));
        blocks.push(alert);
    }
    // The shell: the fields every member has with the same values.
    let mut shell = Map::new();
    if let Some((first, rest)) = docs.split_first() {
        let others: Vec<Vec<(String, Vec<&Value>)>> = rest.iter().map(|d| d.flatten()).collect();
        for (path, values) in first.flatten() {
            if path == "@timestamp" || path == "event.kind" {
                continue;
            }
            let common = others
                .iter()
                .all(|flat| flat.iter().any(|(p, v)| *p == path && *v == values));
            if common {
                if let Some(rest) = path.strip_prefix("event.") {
                    shell.insert(
                        format!("kibana.alert.original_event.{rest}"),
                        field_value(&values),
                    );
                }
                shell.insert(path, field_value(&values));
            }
        }
    }
    let view = Document::new(shell);
    let reason = kibana_reason(ctx.rule, &view, None);
    let name = rule_name(ctx.rule, &view);
    let mut shell = view.source;
    shell.insert("kibana.alert.group.id", Value::from(group_id));
    shell.insert("crowsnest.sequence.join_keys", Value::Array(join_keys.to_vec()));
    ctx.finish(
        &mut shell,
        Common {
            uuid,
            name,
            original_time: docs.first().and_then(|d| original_time(ctx.rule, d)),
            reason,
            depth: 2,
            ancestors: block_ancestors,
            event_ids: ids,
        },
    );
    let mut out = Vec::with_capacity(blocks.len() + 1);
    out.push(shell);
    out.extend(blocks);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn group_keys_are_named_by_their_columns() {
        let columns = strs(&["Esql.count", "Esql.bucket", "user.name", "code", "_id"]);
        let row = vec![
            Value::Int(200),
            Value::from("2025-03-04T06:00:00.000Z"),
            Value::from("alice"),
            Value::Int(200),
            Value::from("x"),
        ];
        let group = vec![
            Value::from("alice"),
            Value::Int(200),
            Value::from("2025-03-04T06:00:00.000Z"),
            Value::from("x"),
        ];
        assert_eq!(
            describe_group(&columns, &row, &group),
            vec![
                "user.name=alice",
                "code=200",
                "Esql.bucket=2025-03-04T06:00:00.000Z",
                "x"
            ]
        );
        // two keys with one value take two columns
        let columns = strs(&["a", "b"]);
        let row = vec![Value::from("v"), Value::from("v")];
        let group = vec![Value::from("v"), Value::from("v"), Value::from("v")];
        assert_eq!(describe_group(&columns, &row, &group), vec!["a=v", "b=v", "v"]);
    }

    #[test]
    fn iso_keeps_sub_millisecond_windows_exact() {
        assert_eq!(iso(1_741_069_320_000_000_000), "2025-03-04T06:22:00.000Z");
        assert_eq!(iso(1_741_069_320_000_000_001), "2025-03-04T06:22:00.000000001Z");
    }
}
