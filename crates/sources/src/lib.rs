//! Reading events: files, gzip, stdin and directories in; normalized [`events::Document`]s out.
//!
//! The crate turns every input record into the document Elasticsearch would hold after Elastic
//! Agent and the ingest pipeline of the integration that owns it:
//!
//! * Kubernetes audit events become `logs-kubernetes.audit_logs-<namespace>` documents exactly
//!   as the `kubernetes.audit_logs` data stream's pipeline writes them (see [`audit`]).
//! * Process events from Falco and Tetragon become `logs-cloud_defend.process-<namespace>`
//!   documents with the ECS fields Elastic Defend for Containers writes (see [`process`]).
//! * Documents already in ECS shape pass through unchanged, apart from agent-set fields they
//!   lack (`data_stream.*`, `event.dataset`, `event.ingested`).
//!
//! # API
//!
//! The contract of the Foundation issue, plus these additions (no signature changed):
//! [`Normalizer`] (the options-derived state built once: what [`Reader`] uses per record and
//! what a webhook receiver should keep), [`Reader::with_workers`] (normalization on worker
//! threads, output order unchanged), [`detect_line_shape`], [`Shape::name`],
//! [`reader::STDIN_NAME`] (`<stdin>`, the source name of `-`), the `audit`/`process` modules'
//! dataset constants, [`Options::flat_fields`] (flat documents for rule evaluation), and the
//! bench-only `JsonParser`/`Normalizer::normalize_line_with`,
//! `Normalizer::{without_fast_path, normalize_fast_only, scan_members_only, record_id_only}`.
//! An [`InputError`] about a whole input (cannot open or read it) has line 0.
//!
//! ECS JSON text out (`crowsnest normalize`): [`Reader::ecs_lines`] gives the documents as
//! the lines `normalize` prints ([`EcsChunk`]s of whole lines, errors in their place),
//! [`EcsFormat`] says which fields and whether `_id`/`_index` follow,
//! [`Normalizer::write_ecs`] does one record, [`write_document`] one document. Audit Event
//! lines are transcoded from the raw bytes straight to that text without a document tree
//! (module `transcode`), byte for byte what serializing the document gives; the bench-only
//! `Normalizer::transcode` runs the transcoder alone.
//!
//! # Input
//!
//! [`Reader::open`] takes files, directories (read recursively, entries in name order, hidden
//! `.names` inside them skipped) and `-` for stdin, in the order given; gzip is recognised by
//! its magic bytes, not its name (concatenated members are read through). Lines are bytes: a
//! line is one record, blank lines are skipped, a UTF-8 byte order mark at the start of an input
//! is ignored, and a pretty-printed JSON document spread over several lines (`{` alone on its
//! first line, indented continuation lines) is one record. A bad record (malformed JSON, invalid
//! UTF-8, longer than [`Options::max_line_bytes`] (skipped without being buffered), nested deeper
//! than 128 levels, a known field of the wrong JSON type, an unrecognised shape) is one
//! [`InputError`] naming `source:line`, and reading goes on with the next line; a read error
//! (truncated gzip) ends that input with an error naming the first line it could not read.
//!
//! # Record shapes
//!
//! Each line (or pretty-printed multi-line JSON document) is classified by [`detect_shape`]:
//!
//! | shape | recognised by | yields |
//! |---|---|---|
//! | [`Shape::AuditEvent`] | `kind: Event`/audit fields, `apiVersion: audit.k8s.io/v1` | one audit doc |
//! | [`Shape::LegacyAuditEvent`] | audit fields with `v1beta1`/`v1alpha1`/no `apiVersion` | one audit doc |
//! | [`Shape::EventList`] | `kind: EventList` (webhook body) | one audit doc per item |
//! | [`Shape::GkeLogEntry`] | `protoPayload` (Cloud Logging `LogEntry`) | one audit doc |
//! | [`Shape::AksRecord`] | `category`, `operationName`, `resourceId`, `time` | one audit doc |
//! | [`Shape::Records`] | `{"records":[...]}` (Azure Event Hub / diagnostic export) | one doc per record |
//! | [`Shape::JsonArray`] | a top-level JSON array | one doc per element |
//! | [`Shape::EcsDocument`] | `@timestamp` plus `data_stream`/`event`/`kubernetes`/`ecs` | the doc as it is |
//! | [`Shape::FalcoAlert`] | `rule`, `priority`, `output` | one process doc |
//! | [`Shape::TetragonExec`], [`Shape::TetragonExit`] | `process_exec` / `process_exit` | one process doc |
//!
//! Anything else is an error naming the line: input never vanishes silently.
//!
//! # Agent-set fields and time
//!
//! Besides what the pipelines derive, every produced document gets what Elastic Agent and
//! Fleet's final pipeline add: `data_stream.{type,dataset,namespace}`, `event.dataset`,
//! `event.ingested`, `ecs.version`, `@timestamp`. [`TimePolicy`] chooses the clock:
//!
//! * [`TimePolicy::Replay`] (default, deterministic): for audit events `@timestamp` is
//!   `requestReceivedTimestamp` (after the pipeline's renames, so GKE's `receiveTimestamp`;
//!   else `stageTimestamp`, which is where legacy `timestamp` lands), rendered at millisecond
//!   precision, and `event.ingested` is the same instant truncated to the second. An audit
//!   record with no time at all is an input error in this mode.
//! * [`TimePolicy::Live`]: as Elastic Agent does, `@timestamp` is the moment the line is read
//!   (millisecond precision) and `event.ingested` the current time truncated to the second.
//!
//! In both modes the AKS path keeps what Elastic's pipeline does: `@timestamp` from the record's
//! `time`. Process events always take `@timestamp` from the sensor's event time (Defend writes
//! the kernel event time, not the read time); only `event.ingested` follows the policy.
//! ECS documents keep their own `@timestamp`, `event.ingested` and `data_stream.*`; missing
//! ones are filled in.
//!
//! # Identity and origin
//!
//! `Document::index` is the data stream name, `Document::id` a 128-bit MurmurHash3 of the raw
//! record bytes (the trimmed line), base64url without padding: stable across runs, distinct
//! for distinct records. A record that yields several documents (EventList, records wrapper,
//! array) hashes each member's compact JSON instead. `Document::origin` is (input name, first
//! line of the record).
//!
//! # Process-event mapping (Falco, Tetragon → Defend for Containers ECS)
//!
//! | ECS field | Tetragon `process_exec`/`process_exit` | Falco alert (`output_fields`) |
//! |---|---|---|
//! | `event.dataset`, `data_stream.dataset` | `cloud_defend.process` | `cloud_defend.process` |
//! | `event.module`, `event.kind`, `event.category` | `cloud_defend`, `event`, `process` | same |
//! | `event.type` / `event.action` | exec: `start`/`exec`; exit: `end`/`end` | `evt.type` execve/execveat: `start`/`exec`; clone/fork/vfork: `start`/`fork`; procexit: `end`/`end`; no `evt.type` and no `fd.*` field: `start`/`exec` (Falco's process-spawn rules); otherwise `info`/`evt.type` or `alert` |
//! | `@timestamp` | `time`, else `process.start_time` | `time`, else `evt.time` (epoch ns) |
//! | `process.executable` | `process.binary` | `proc.exepath`, else `proc.exe` when absolute |
//! | `process.name` | basename of `binary` | `proc.name`, else first word of `proc.cmdline` |
//! | `process.args` | `[binary] + arguments` split shell-style (Tetragon quotes args with spaces) | `proc.cmdline` split on spaces |
//! | `process.args_count`, `process.command_line` | from the args | `proc.cmdline` |
//! | `process.pid`, `process.working_directory`, `process.start` | `pid`, `cwd`, `start_time` | `proc.pid`, `proc.cwd` |
//! | `process.entity_id`, `process.parent.entity_id` | `exec_id`, `parent_exec_id` | — |
//! | `process.user.id`, `user.id` | `uid` (as a string) | `user.uid` |
//! | `user.name` | — | `user.name` |
//! | `process.interactive` | — (Tetragon does not report a tty) | `proc.tty != 0` |
//! | `process.parent.{name,executable,args,pid,working_directory,start,entity_id}` | `parent.*` as above | `proc.pname`, `proc.pexepath`, `proc.pcmdline`, `proc.ppid` |
//! | `process.entry_leader.*` | the process itself when it entered the container (pid 1 inside it, or its parent is outside the container, e.g. runc for `kubectl exec`): `same_as_process: true`; else `false`, with the parent's fields when the parent is the container's pid 1; `entry_meta.type: container` | Falco's `container_entrypoint` macro: `proc.pname` absent or a runtime (`runc`, `runc:[1:CHILD]`, `containerd-shim`, `crio`, `conmon`, ...), or `proc.vpid` 1: `same_as_process: true` with the process's fields; else `false`; `entry_meta.type: container` (only when `container.id` is not `host`) |
//! | `process.exit_code`, `process.end` | exit: `status`, `time` | — |
//! | `container.id` | `pod.container.id` without `docker://`/`containerd://` | `container.id` |
//! | `container.name` | `pod.container.name` | `container.name` |
//! | `container.image.name`, `.tag` | `pod.container.image.name` split at the tag | `container.image.repository`, `container.image.tag` |
//! | `orchestrator.resource.name` (pod), `orchestrator.namespace` | `pod.name`, `pod.namespace` | `k8s.pod.name`, `k8s.ns.name` |
//! | `orchestrator.resource.type`, `orchestrator.type` | `pod`, `kubernetes` when a pod is known | same |
//! | `orchestrator.resource.label` | `pod_labels` as `key:value` | — |
//! | `host.name`, `host.hostname` | `node_name` | `hostname` |
//! | `host.os.type` | `linux` | `linux` |
//! | `falco.*` / — | — | `rule`, `priority`, `output`, `tags`, `source`, `output_fields` kept under `falco` |
//!
//! # Projection
//!
//! [`Options::fields`] names the ECS fields a consumer needs. The reader then skips building
//! the large subtrees no requested field can come from (`requestObject`, `responseObject`, ...),
//! which is where most audit bytes are, and does not build the derived ECS fields nobody asked
//! for (`user.*`, `user_agent.*`, `source.ip`, `client.ip`, `related.*`, `orchestrator.*`).
//! Documents keep every requested field plus `@timestamp`, `event.ingested`, `event.dataset` and
//! `data_stream.*` (they may contain more). Type errors inside skipped subtrees are not reported
//! (they are not read).
//!
//! Native and legacy audit Event lines take a faster route under projection (module `fast`):
//! their top-level members are walked by a validating, allocation-free scanner and only the
//! members the requested fields derive from are built (the members the record checks look
//! inside are checked in place), then normalized by the same pipeline code; the requested
//! fields hold exactly what the full normalization gives. Anything unusual (other shapes,
//! duplicate known keys, escaped keys, any JSON doubt, a failed check) takes the regular path,
//! so errors are unchanged. Container records (EventList, records, arrays) are parsed whole
//! under projection too, so their members' `_id`s are those of the full path.
//!
//! [`Options::flat_fields`] goes one step further for rule evaluation (module `flat`): such an
//! audit Event line becomes a *flat* [`Document`] holding just those fields (the members they
//! come from, built as above, and the derived fields computed from them), with no ECS tree,
//! plus the raw line so that the tree can be rebuilt for an alert. A differential test
//! (`tests/flat_fields.rs`) holds every field of flat documents to the full normalization's.

pub mod audit;
mod fast;
mod fasttime;
mod flat;
mod framing;
mod hash;
mod parse;
pub mod process;
mod project;
pub mod reader;
mod scan;
mod shape;
mod transcode;
mod util;
mod validate;

use std::fmt;
use std::sync::Arc;

use events::{Document, Map, Origin, Value};

pub use reader::{EcsChunk, EcsLines, Progress, Reader};
pub use shape::{Shape, detect_shape};
pub use transcode::{EcsFormat, write_document};

/// How the reader behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Longest accepted record in bytes (default 4 MiB); longer lines are skipped and reported.
    pub max_line_bytes: usize,
    /// Stop at the first bad record. Enforced by the caller; the reader always yields errors.
    pub strict: bool,
    /// Data stream namespace (`logs-kubernetes.audit_logs-<namespace>`), default `default`.
    pub namespace: String,
    /// Where `@timestamp` and `event.ingested` come from.
    pub time_policy: TimePolicy,
    /// Keep the raw record as `event.original` (and tag `preserve_original_event`).
    pub preserve_original: bool,
    /// When set, documents need only contain these fields (see the crate docs).
    pub fields: Option<Vec<String>>,
    /// When set, audit Event lines become flat documents holding just these fields (module
    /// `flat`: any other field reads as missing on them); other records follow `fields`, which
    /// should include these.
    pub flat_fields: Option<Vec<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_line_bytes: 4 * 1024 * 1024,
            strict: false,
            namespace: "default".to_string(),
            time_policy: TimePolicy::Replay,
            preserve_original: false,
            fields: None,
            flat_fields: None,
        }
    }
}

/// Where `@timestamp` and `event.ingested` come from (see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePolicy {
    Replay,
    Live,
}

/// A record that could not be turned into documents, or an input that could not be read.
#[derive(Debug, Clone)]
pub struct InputError {
    pub source: String,
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.reason)
    }
}

impl std::error::Error for InputError {}

/// Normalizes one record (one line, or one whole JSON document) into documents.
/// For many records, build a [`Normalizer`] once instead.
pub fn normalize_line(line: &[u8], opts: &Options) -> Result<Vec<Document>, String> {
    Normalizer::new(opts.clone()).normalize_line(line)
}

/// Normalizes an already parsed record (used by the webhook receiver). The `_id` is the hash
/// of the record's compact JSON.
pub fn normalize_value(v: &Value, opts: &Options) -> Result<Vec<Document>, String> {
    Normalizer::new(opts.clone()).normalize_value(v)
}

/// Parses one record and says what it was recognised as (`normalize --explain`).
pub fn detect_line_shape(line: &[u8]) -> Result<Shape, String> {
    let line = util::trim_ascii(line);
    util::utf8(line).map_err(|at| format!("invalid UTF-8 at byte {at}"))?;
    let v = parse::full_sonic(line).map_err(|e| format!("malformed JSON: {e}"))?;
    Ok(detect_shape(&v))
}

/// The JSON parser used for a record (the bench compares them).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonParser {
    Sonic,
    SerdeJson,
}

/// Normalization with everything derived from the [`Options`] computed once (the projection
/// plan, index names): what [`Reader`] uses per record, and what a webhook receiver should keep.
#[derive(Debug, Clone)]
pub struct Normalizer {
    pub(crate) opts: Options,
    pub(crate) projection: Option<project::Projection>,
    pub(crate) fast: Option<fast::FastPlan>,
    pub(crate) flat: Option<flat::FlatPlan>,
    pub(crate) wanted: project::Wanted,
    pub(crate) audit_index: String,
    pub(crate) process_index: String,
}

impl Normalizer {
    pub fn new(opts: Options) -> Normalizer {
        Normalizer {
            projection: opts.fields.as_deref().map(project::Projection::new),
            fast: opts.fields.as_deref().and_then(fast::FastPlan::new),
            flat: opts
                .flat_fields
                .as_deref()
                .and_then(|f| flat::FlatPlan::new(f, &opts)),
            wanted: project::Wanted::new(opts.fields.as_deref()),
            audit_index: format!("logs-{}-{}", audit::DATASET, opts.namespace),
            process_index: format!("logs-{}-{}", process::DATASET, opts.namespace),
            opts,
        }
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// See [`normalize_line`].
    pub fn normalize_line(&self, line: &[u8]) -> Result<Vec<Document>, String> {
        normalize_bytes(line, self, JsonParser::Sonic)
    }

    /// See [`normalize_value`].
    pub fn normalize_value(&self, v: &Value) -> Result<Vec<Document>, String> {
        let raw = v.to_json();
        normalize_parsed(v.clone(), raw.as_bytes(), self)
    }

    /// [`Normalizer::normalize_line`] with a chosen JSON parser (for the bench).
    #[doc(hidden)]
    pub fn normalize_line_with(&self, line: &[u8], parser: JsonParser) -> Result<Vec<Document>, String> {
        normalize_bytes(line, self, parser)
    }

    /// The same normalizer without the projected fast path for audit Events (the bench and
    /// the equivalence tests compare the two).
    #[doc(hidden)]
    pub fn without_fast_path(mut self) -> Normalizer {
        self.fast = None;
        self
    }

    /// The audit-Event fast path alone: `None` when the record would take the regular path
    /// (for the bench and tests; `line` must be trimmed, valid UTF-8).
    #[doc(hidden)]
    pub fn normalize_fast_only(&self, line: &[u8]) -> Option<Document> {
        fast::audit_event(std::str::from_utf8(line).ok()?, self.fast.as_ref()?, self)
    }

    /// Bench hook: walks the top-level members of a record without building anything (the
    /// scanning part of the fast path); the number of members, `None` when it gives up.
    #[doc(hidden)]
    pub fn scan_members_only(line: &[u8]) -> Option<usize> {
        let mut m = scan::Members::new(std::str::from_utf8(line).ok()?)?;
        let mut n = 0;
        while m.next_member().ok()?.is_some() {
            n += 1;
        }
        Some(n)
    }

    /// Bench hook: the `_id` of a record.
    #[doc(hidden)]
    pub fn record_id_only(line: &[u8]) -> String {
        hash::record_id(line)
    }

    /// The current time (Live policy); taken per record, as the agent stamps each line.
    pub(crate) fn now(&self) -> i64 {
        events::time::now_nanos()
    }
}

pub(crate) fn normalize_bytes(
    line: &[u8],
    ctx: &Normalizer,
    parser: JsonParser,
) -> Result<Vec<Document>, String> {
    let line = util::trim_ascii(line);
    let text = match util::utf8(line) {
        Ok(text) => text,
        Err(at) => return Err(format!("invalid UTF-8 at byte {at}")),
    };
    if parser == JsonParser::Sonic
        && let Some(plan) = &ctx.flat
        && let Some(doc) = flat::audit_event(text, plan, ctx)
    {
        return Ok(vec![doc]);
    }
    if parser == JsonParser::Sonic
        && let Some(plan) = &ctx.fast
        && let Some(doc) = fast::audit_event(text, plan, ctx)
    {
        return Ok(vec![doc]);
    }
    let value = match (ctx.projection.as_ref(), parser) {
        (Some(p), JsonParser::Sonic) => p.parse_sonic(line),
        (Some(p), JsonParser::SerdeJson) => p.parse_serde_json(line),
        (None, JsonParser::Sonic) => parse::full_sonic(line),
        (None, JsonParser::SerdeJson) => parse::full_serde_json(line),
    }
    .map_err(|e| format!("malformed JSON: {e}"))?;
    // The `_id` of a member of a container record is the hash of the member's whole compact
    // JSON: projected members would hash differently, so containers are parsed whole.
    let value = if ctx.projection.is_some()
        && matches!(
            detect_shape(&value),
            Shape::EventList | Shape::Records | Shape::JsonArray
        ) {
        match parser {
            JsonParser::Sonic => parse::full_sonic(line),
            JsonParser::SerdeJson => parse::full_serde_json(line),
        }
        .map_err(|e| format!("malformed JSON: {e}"))?
    } else {
        value
    };
    normalize_parsed(value, line, ctx)
}

/// Normalizes a parsed record whose raw bytes are `raw` (for the `_id` and `event.original`).
pub(crate) fn normalize_parsed(value: Value, raw: &[u8], ctx: &Normalizer) -> Result<Vec<Document>, String> {
    let shape = detect_shape(&value);
    match shape {
        Shape::EventList | Shape::Records | Shape::JsonArray => {
            let items = shape::members(value, shape)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let inner = detect_shape(&item);
                if matches!(inner, Shape::EventList | Shape::Records | Shape::JsonArray) {
                    return Err(format!(
                        "member {i} of the {}: nested {} is not supported",
                        shape.name(),
                        inner.name()
                    ));
                }
                let member_raw = item.to_json();
                let doc = normalize_one(item, inner, member_raw.as_bytes(), ctx)
                    .map_err(|e| format!("member {i} of the {}: {e}", shape.name()))?;
                out.push(doc);
            }
            Ok(out)
        }
        _ => Ok(vec![normalize_one(value, shape, raw, ctx)?]),
    }
}

fn normalize_one(value: Value, shape: Shape, raw: &[u8], ctx: &Normalizer) -> Result<Document, String> {
    let Value::Object(map) = value else {
        return Err(format!("expected a JSON object, found {}", value.type_name()));
    };
    let original = ctx
        .opts
        .preserve_original
        .then(|| String::from_utf8_lossy(raw).into_owned());
    let (source, index) = match shape {
        Shape::AuditEvent | Shape::LegacyAuditEvent | Shape::GkeLogEntry => {
            audit::normalize(map, None, original, ctx)?
        }
        Shape::AksRecord => audit::normalize_aks(map, original, ctx)?,
        Shape::EcsDocument => process::pass_through(map, ctx)?,
        Shape::FalcoAlert => process::falco(map, original, ctx)?,
        Shape::TetragonExec | Shape::TetragonExit => process::tetragon(map, shape, original, ctx)?,
        Shape::Unknown(why) => return Err(why.to_string()),
        Shape::EventList | Shape::Records | Shape::JsonArray => {
            return Err(format!("a {} cannot be normalized as one document", shape.name()));
        }
    };
    Ok(Document {
        source,
        id: hash::record_id(raw),
        index,
        origin: None,
        flat: None,
    })
}

/// Sets the `data_stream.*`/`event.dataset` fields of a document.
pub(crate) fn set_data_stream(doc: &mut Map, dataset: &str, namespace: &str) {
    let mut ds = Map::with_capacity(3);
    ds.insert("dataset", Value::from(dataset));
    ds.insert("namespace", Value::from(namespace));
    ds.insert("type", Value::from_static("logs"));
    doc.insert("data_stream", Value::Object(ds));
    util::set_path(doc, "event.dataset", Value::from(dataset));
}

/// Attaches the origin to documents produced from one record.
pub(crate) fn with_origin(docs: &mut [Document], source: &Arc<str>, line: u64) {
    for d in docs {
        d.origin = Some(Origin {
            source: source.clone(),
            line,
        });
    }
}
