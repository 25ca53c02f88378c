//! EQL for crowsnest: parse, analyze and run Elastic Event Query Language queries (event
//! queries, `sequence` with `maxspan`/`by`/`until`/`runs`, `sample`, `head`/`tail` pipes) over
//! [`events::Document`]s, in batch ([`search`]) or streaming ([`Engine`]) mode, without
//! Elasticsearch.
//!
//! Semantics follow Elasticsearch's EQL documentation: `==`, `like`, `regex` and `in` are
//! case-sensitive, `:`, `like~`, `regex~`, `in~` and the `~` functions are not; a condition on a
//! multi-valued field holds when any value satisfies it; comparisons with a missing value are
//! null and `not null` stays null (only `== null` / `!= null` test presence); sequences
//! order events by (timestamp, tiebreaker) and keep one pending partial per key and stage.
//!
//! (`a != b` is `not (a == b)`: false on a multi-valued field when one value equals `b`).
//! Event time is read at the mapping's precision: milliseconds for `date` (so `maxspan`
//! compares what Elasticsearch compares), nanoseconds for `date_nanos`.
//!
//! Missing-event stages `![...]` are supported (their windows are described on the sequence
//! matcher: between neighbours, leading, trailing); a [`SequenceMatch`] lists only the events
//! of positive stages. Samples return one sample per join key, with date keys as epoch millis.
//!
//! Not supported (reported as compile errors): `join`, pipes other than `head` and `tail`.
//!
//! API beyond the contract: [`Query::is_sample`]; [`Match`], [`SequenceMatch`] and [`Query`]
//! implement `Debug` and `Clone`; [`Diagnostic`] also implements [`miette::Diagnostic`].

mod analyze;
mod ast;
mod diagnostic;
mod engine;
mod expr;
mod lexer;
mod parser;
mod sample;
mod sequence;
mod value;

use std::sync::Arc;

use events::{Catalog, Document, Value};

pub use diagnostic::Diagnostic;
pub use engine::Engine;
pub use expr::FieldMemo;

use analyze::{Analyzer, Filter, Plan, StagePlan};
use ast::Pipe;

/// A compiled query: cheap to clone, shareable across threads.
#[derive(Clone, Debug)]
pub struct Query {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    plan: Plan,
    pipes: Vec<Pipe>,
    needed: Vec<String>,
    /// Date fields the mapping declares as `date_nanos`; other time fields have millisecond
    /// precision, as Elasticsearch stores a `date`.
    nanos_fields: Vec<String>,
}

/// Parses and analyzes `query` against the field catalog.
pub fn compile(query: &str, catalog: &Catalog) -> Result<Query, Diagnostic> {
    let inner = (|| {
        let stmt = parser::parse(query)?;
        let analyzer = Analyzer { catalog, src: query };
        let plan = analyzer.plan(&stmt.query)?;
        let pipes = stmt.pipes.iter().map(|(p, _)| *p).collect();
        let needed = needed_fields(&plan);
        let nanos_fields = catalog
            .names()
            .filter(|(_, t)| *t == events::FieldType::DateNanos)
            .map(|(n, _)| n.to_string())
            .collect();
        Ok(Inner {
            plan,
            pipes,
            needed,
            nanos_fields,
        })
    })()
    .map_err(|d: Diagnostic| d.locate(query))?;
    Ok(Query {
        inner: Arc::new(inner),
    })
}

fn needed_fields(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    let filter = |f: &analyze::Filter, out: &mut Vec<String>| {
        if f.category.is_some() {
            out.push("event.category".to_string());
        }
        f.condition.fields(out);
    };
    match plan {
        Plan::Event(f) => filter(f, &mut out),
        Plan::Sequence {
            stages,
            missing,
            until,
            ..
        } => {
            for s in stages.iter().chain(missing.iter().map(|(_, s)| s)).chain(until) {
                filter(&s.filter, &mut out);
                s.keys.iter().for_each(|k| k.expr.fields(&mut out));
            }
        }
        Plan::Sample { stages } => {
            for s in stages {
                filter(&s.filter, &mut out);
                s.keys.iter().for_each(|k| k.expr.fields(&mut out));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

impl Query {
    pub(crate) fn plan(&self) -> &Plan {
        &self.inner.plan
    }

    /// Reads a document's event time from `field`, at the precision the mapping gives it:
    /// nanoseconds for `date_nanos`, otherwise truncated to milliseconds like an Elasticsearch
    /// `date` (so `maxspan` compares what Elasticsearch would compare).
    pub(crate) fn event_time(&self, doc: &Document, field: &str) -> Option<i64> {
        let ts = engine::read_timestamp(doc, field)?;
        if self.inner.nanos_fields.iter().any(|f| f == field) {
            Some(ts)
        } else {
            Some(ts.div_euclid(events::time::NANOS_PER_MILLI) * events::time::NANOS_PER_MILLI)
        }
    }

    /// The document fields the query reads (conditions, categories and join keys), sorted.
    pub fn needed_fields(&self) -> Vec<String> {
        self.inner.needed.clone()
    }

    pub fn is_sequence(&self) -> bool {
        matches!(self.inner.plan, Plan::Sequence { .. })
    }

    pub fn is_sample(&self) -> bool {
        matches!(self.inner.plan, Plan::Sample { .. })
    }

    pub fn maxspan_nanos(&self) -> Option<i64> {
        match &self.inner.plan {
            Plan::Sequence { maxspan, .. } => *maxspan,
            _ => None,
        }
    }

    /// Could this document match any stage (or the `until` condition) of the query? Sound: a
    /// document for which this is false can be dropped without changing any result.
    pub fn prefilter(&self, doc: &Document) -> bool {
        self.any_part(|f| f.matches(doc), |s| s.accepts(doc))
    }

    /// Whether the event filter, or any stage of a sequence or sample, accepts.
    fn any_part(&self, event: impl Fn(&Filter) -> bool, stage: impl Fn(&StagePlan) -> bool) -> bool {
        match &self.inner.plan {
            Plan::Event(f) => event(f),
            _ => self.stage_plans().any(stage),
        }
    }

    /// The parts of a sequence or sample that can accept an event: stages, missing stages and
    /// `until` (none for an event query).
    fn stage_plans(&self) -> impl Iterator<Item = &StagePlan> {
        let (stages, missing, until): (&[StagePlan], &[(usize, StagePlan)], Option<&StagePlan>) =
            match &self.inner.plan {
                Plan::Event(_) => (&[], &[], None),
                Plan::Sequence {
                    stages,
                    missing,
                    until,
                    ..
                } => (stages, missing, until.as_ref()),
                Plan::Sample { stages } => (stages, &[], None),
            };
        stages.iter().chain(missing.iter().map(|(_, s)| s)).chain(until)
    }

    /// Keys of the query for rule dispatch, in groups: an event fails the query's prefilter
    /// when, in every group, some key's field is missing or is one string outside the key's
    /// values. One group per part that can accept an event (an event query's filter; each
    /// stage, missing stage and `until` of a sequence or sample), made of the part's category
    /// and the `field in ("a", "b")` / `field == "a"` (case-sensitive) conditions joined by its
    /// top-level `and`s. Empty when some part has no key.
    pub fn key_values(&self) -> Vec<Vec<(String, Vec<String>)>> {
        let keys = |f: &Filter| {
            let mut out = Vec::new();
            if let Some(cat) = &f.category {
                out.push(("event.category".to_string(), vec![cat.clone()]));
            }
            f.condition.keys(&mut out);
            out
        };
        let groups: Vec<Vec<(String, Vec<String>)>> = match &self.inner.plan {
            Plan::Event(f) => vec![keys(f)],
            _ => self.stage_plans().map(|s| keys(&s.filter)).collect(),
        };
        if groups.iter().any(Vec::is_empty) {
            return Vec::new();
        }
        groups
    }

    /// [`Query::prefilter`] reading fields through `memo`, which several queries evaluated
    /// on the same document share (see [`FieldMemo`]).
    pub fn prefilter_memo<'d>(&self, doc: &'d Document, memo: &FieldMemo<'d>) -> bool {
        self.any_part(|f| f.matches_memo(doc, memo), |s| s.accepts_memo(doc, memo))
    }

    /// A streaming engine for this query.
    pub fn engine(&self, opts: EngineOptions) -> Engine {
        Engine::new(self.clone(), opts)
    }
}

/// How the engine reads event time and how long it waits for out-of-order events.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Field holding the event time (`@timestamp`).
    pub timestamp_field: String,
    /// Field ordering events with equal timestamps.
    pub tiebreaker_field: Option<String>,
    /// How far behind the newest timestamp seen an event may arrive and still be ordered.
    pub allowed_lateness_nanos: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            timestamp_field: "@timestamp".to_string(),
            tiebreaker_field: None,
            allowed_lateness_nanos: 0,
        }
    }
}

/// One result: a matching event, or a sequence (or sample) of events with its join keys.
#[derive(Debug, Clone)]
pub enum Match {
    Event(Arc<Document>),
    Sequence(SequenceMatch),
}

#[derive(Debug, Clone)]
pub struct SequenceMatch {
    pub events: Vec<Arc<Document>>,
    pub join_keys: Vec<Value>,
}

/// Batch mode, like the `_eql/search` API: orders the documents by (timestamp, tiebreaker,
/// input position), runs the query, and applies `head`/`tail`. Sample results come one per
/// join key, ordered by key.
pub fn search(q: &Query, docs: impl IntoIterator<Item = Document>, opts: &EngineOptions) -> Vec<Match> {
    // a sample does not order its events, so documents without a timestamp take part too
    let keep_untimed = q.is_sample();
    let mut sorted: Vec<(i64, engine::Tie, usize, Arc<Document>)> = docs
        .into_iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let ts = match q.event_time(&d, &opts.timestamp_field) {
                Some(ts) => ts,
                None if keep_untimed => i64::MIN,
                None => return None,
            };
            let tie = engine::read_tie(&d, opts.tiebreaker_field.as_deref());
            Some((ts, tie, i, Arc::new(d)))
        })
        .collect();
    if !keep_untimed {
        sorted.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
    }
    let mut results = Vec::new();
    match q.plan() {
        Plan::Sample { stages } => {
            let mut m = sample::SampleMatcher::new(stages.clone());
            for (_, _, _, d) in &sorted {
                m.process(d, &mut results);
            }
            results.sort_by(sample_order);
        }
        _ => {
            let mut eng = q.engine(EngineOptions {
                allowed_lateness_nanos: 0,
                ..opts.clone()
            });
            for (_, _, _, d) in sorted {
                results.extend(eng.push(d));
            }
            results.extend(eng.finish());
        }
    }
    for pipe in &q.inner.pipes {
        match *pipe {
            Pipe::Head(n) => results.truncate(n),
            Pipe::Tail(n) => {
                let skip = results.len().saturating_sub(n);
                results.drain(..skip);
            }
        }
    }
    results
}

/// Orders samples by their join keys as typed values: null first, then booleans, numbers and
/// strings.
fn sample_order(a: &Match, b: &Match) -> std::cmp::Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::Float(_) => 2,
            _ => 3,
        }
    }
    fn keys(m: &Match) -> &[Value] {
        match m {
            Match::Sequence(s) => &s.join_keys,
            Match::Event(_) => &[],
        }
    }
    let (ka, kb) = (keys(a), keys(b));
    for (x, y) in ka.iter().zip(kb) {
        let ord = rank(x).cmp(&rank(y)).then_with(|| match (x, y) {
            (Value::Bool(p), Value::Bool(q)) => p.cmp(q),
            (Value::Str(p), Value::Str(q)) => p.cmp(q),
            _ => x
                .as_f64()
                .zip(y.as_f64())
                .and_then(|(p, q)| p.partial_cmp(&q))
                .unwrap_or(std::cmp::Ordering::Equal),
        });
        if ord.is_ne() {
            return ord;
        }
    }
    ka.len().cmp(&kb.len())
}
