//! The flat path: the fields a rule set reads ([`crate::Options::flat_fields`]), from a native
//! or legacy audit Event line without building its ECS document. The members those fields come
//! from are built as the projected fast path builds them ([`crate::fast::event_members`]; the
//! others are checked and skipped), the record checks and the pipeline's changes to them are
//! applied as [`crate::audit::normalize`] applies them, and the result is a flat
//! [`events::Document`]: `kubernetes.audit.*` read from those members, the derived fields
//! precomputed, and the raw line (to rebuild the tree when an alert shows an event's fields).
//!
//! | field | from the raw Event |
//! |---|---|
//! | `kubernetes.audit.P` | `P` in the members (annotation keys with `.` renamed to `_`, `metadata` of `requestObject`/`responseObject` removed, legacy `timestamp` as `stageTimestamp`, empties pruned) |
//! | `event.action` | `verb` |
//! | `event.outcome` | annotation `authorization.k8s.io/decision`: `allow` → `success`, `forbid` → `failure` |
//! | `user.name`, `user.id`, `related.user` | `user.username`, `user.uid` |
//! | `user_agent.original` | `userAgent` |
//! | `source.ip`, `client.ip`, `related.ip` | `sourceIPs` when every element is an IP address |
//! | `orchestrator.api_version`, `.resource.type`, `.namespace`, `.resource.name` | `apiVersion`, `objectRef.{resource,namespace,name}` |
//! | `@timestamp`, `event.ingested` | the event time (or the clock), by the time policy |
//! | `event.kind`, `event.dataset`, `data_stream.*`, `ecs.version`, `orchestrator.type` | constants |
//!
//! Empty strings and nulls are no values (the pipeline prunes them). Any other field is missing
//! on audit documents, and so are fields not requested. A parent of derived fields (`event`,
//! `user`, `kubernetes.audit`, ...) or a pattern disables the flat path for the normalizer. A
//! record it is not sure about goes to the other paths, so errors stay theirs: other shapes,
//! duplicate, escaped or dotted keys, a GKE `resource` member, anything the checks reject.

use std::sync::Arc;

use compact_str::CompactString;
use events::{Document, Flat, Map, Value};
use smallvec::SmallVec;

use crate::audit::{DATASET, ECS_VERSION, convert_ips, event_time, read_time, rewrite_members};
use crate::fast::{FastPlan, event_members};
use crate::fasttime::{format_millis, format_secs};
use crate::util::{get_nonnull, get_path, prune_empty};
use crate::{Normalizer, Options, hash, validate};

type Vals = SmallVec<[Value; 1]>;

/// How one requested field is computed.
#[derive(Debug, Clone)]
enum Recipe {
    Missing,
    Const(Value),
    Timestamp,
    Ingested,
    Outcome,
    /// A string at a path of the raw Event (`user.username`, `objectRef.name`, `verb`).
    Str(&'static str),
    /// `source.ip`, `client.ip`.
    Ips,
    RelatedIp,
    RelatedUser,
    /// A path inside `kubernetes.audit`.
    Audit,
}

/// The flat path's plan for a list of fields.
#[derive(Debug, Clone)]
pub(crate) struct FlatPlan {
    names: Arc<[Box<str>]>,
    recipes: Vec<Recipe>,
    /// The raw members the recipes read.
    members: FastPlan,
}

/// The parents of the ECS fields audit normalization derives: requesting one needs the object.
const PARENTS: [&str; 13] = [
    "event",
    "data_stream",
    "ecs",
    "user",
    "user_agent",
    "source",
    "client",
    "related",
    "orchestrator",
    "orchestrator.resource",
    "orchestrator.cluster",
    "kubernetes",
    "kubernetes.audit",
];

impl FlatPlan {
    /// `None` when some field cannot be computed flat (a parent object, a pattern), or when
    /// documents keep `event.original`.
    pub(crate) fn new(fields: &[String], opts: &Options) -> Option<FlatPlan> {
        if opts.preserve_original {
            return None;
        }
        // Sorted: documents find a field's values by binary search.
        let mut fields = fields.to_vec();
        fields.sort();
        fields.dedup();
        let mut recipes = Vec::with_capacity(fields.len());
        for f in &fields {
            if f.contains('*') || PARENTS.contains(&f.as_str()) {
                return None;
            }
            let s = |v: &str| Recipe::Const(Value::from(v));
            recipes.push(match f.as_str() {
                "@timestamp" => Recipe::Timestamp,
                "event.ingested" => Recipe::Ingested,
                "event.kind" => s("event"),
                "event.action" => Recipe::Str("verb"),
                "event.outcome" => Recipe::Outcome,
                "event.dataset" | "data_stream.dataset" => s(DATASET),
                "data_stream.type" => s("logs"),
                "data_stream.namespace" => s(&opts.namespace),
                "ecs.version" => s(ECS_VERSION),
                "user.name" => Recipe::Str("user.username"),
                "user.id" => Recipe::Str("user.uid"),
                "user_agent.original" => Recipe::Str("userAgent"),
                "source.ip" | "client.ip" => Recipe::Ips,
                "related.ip" => Recipe::RelatedIp,
                "related.user" => Recipe::RelatedUser,
                "orchestrator.type" => s("kubernetes"),
                "orchestrator.api_version" => Recipe::Str("apiVersion"),
                "orchestrator.resource.type" => Recipe::Str("objectRef.resource"),
                "orchestrator.namespace" => Recipe::Str("objectRef.namespace"),
                "orchestrator.resource.name" => Recipe::Str("objectRef.name"),
                other => match other.strip_prefix("kubernetes.audit.") {
                    Some("") => return None,
                    Some(_) => Recipe::Audit,
                    None => Recipe::Missing,
                },
            });
        }
        // Precomputed: the derived fields (`kubernetes.audit.*` is looked up in the Event's
        // members; other fields are missing on audit documents).
        let (names, recipes): (Vec<Box<str>>, Vec<Recipe>) = fields
            .iter()
            .zip(recipes)
            .filter(|(_, r)| !matches!(r, Recipe::Missing | Recipe::Audit))
            .map(|(f, r)| (Box::from(f.as_str()), r))
            .unzip();
        Some(FlatPlan {
            names: names.into(),
            recipes,
            members: FastPlan::new(&fields)?,
        })
    }
}

/// A non-empty string value at a path of the raw Event.
fn nonempty<'a>(event: &'a Map, path: &str) -> Option<&'a CompactString> {
    match get_path(event, path)? {
        Value::Str(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

fn push_unique(out: &mut Vals, v: Value) {
    if !out.contains(&v) {
        out.push(v);
    }
}

/// The flat document of an audit Event line, or `None` to use the other paths. `line` is
/// trimmed and valid UTF-8.
pub(crate) fn audit_event(line: &str, plan: &FlatPlan, ctx: &Normalizer) -> Option<Document> {
    // The members the recipes read, built (the others checked and skipped), then the record
    // checks and the pipeline's changes to them, as `audit::normalize` makes them.
    let mut event = event_members(line, &plan.members, ctx)?;
    validate::audit_record(&event).ok()?;
    if get_nonnull(&event, "resource").is_some() {
        // GKE `resource.*` feeds `orchestrator.*`: left to the tree path.
        return None;
    }
    let outcome = rewrite_members(&mut event);
    let time = read_time(event_time(&event), ctx).ok()?;
    let ips = match get_path(&event, "sourceIPs").and_then(convert_ips) {
        Some(Value::Array(ips)) => ips,
        _ => Vec::new(),
    };

    let mut values: Vec<Vals> = Vec::with_capacity(plan.recipes.len());
    for recipe in &plan.recipes {
        let mut out = Vals::new();
        let str_at = |out: &mut Vals, path: &str| {
            if let Some(s) = nonempty(&event, path) {
                out.push(Value::Str(s.clone()));
            }
        };
        match recipe {
            Recipe::Missing | Recipe::Audit => {}
            Recipe::Const(v) => out.push(v.clone()),
            Recipe::Timestamp => out.push(Value::Str(format_millis(time))),
            Recipe::Ingested => out.push(Value::Str(format_secs(time))),
            Recipe::Str(path) => str_at(&mut out, path),
            Recipe::Outcome => out.extend(outcome.map(Value::from_static)),
            Recipe::Ips => out.extend(ips.iter().cloned()),
            Recipe::RelatedIp => ips.iter().for_each(|ip| push_unique(&mut out, ip.clone())),
            Recipe::RelatedUser => {
                for k in ["user.uid", "user.username"] {
                    if let Some(s) = nonempty(&event, k) {
                        push_unique(&mut out, Value::Str(s.clone()));
                    }
                }
            }
        }
        values.push(out);
    }
    // `kubernetes.audit.*`: the Event's members, pruned as the pipeline prunes the document.
    prune_empty(&mut event);
    Some(Document {
        source: Map::new(),
        id: hash::record_id(line.as_bytes()),
        index: ctx.audit_index.clone(),
        origin: None,
        flat: Some(Box::new(Flat {
            names: plan.names.clone(),
            values,
            audit: event,
            raw: Arc::from(line),
        })),
    })
}
