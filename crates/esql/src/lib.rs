//! ES|QL for crowsnest: compiles the ES|QL queries of Elastic detection rules and runs them,
//! streaming, over documents (no Elasticsearch involved).
//!
//! [`compile`] parses and analyzes a query against a field [`events::Catalog`] (unknown columns
//! are errors, as in Elasticsearch), producing a [`Query`]. A query runs as an [`Execution`]:
//! documents are [`Execution::push`]ed one at a time, partial executions over different inputs
//! can be [`Execution::merge`]d, and [`Execution::finish`] yields the [`QueryResult`] with
//! per-row provenance (group key, contributing `_id`s). [`Query::prefilter`] is a cheap check
//! of the WHERE conditions that precede any EVAL result/STATS, reading only their fields; it
//! returns false only for documents that can never contribute. `push` applies the same check
//! before loading the rest of a document, so calling `prefilter` first is optional.
//!
//! Execution keeps bounded state: the first pipeline breaker holds per-group mergeable
//! aggregate states (STATS), a top-N buffer (SORT + LIMIT, including the implicit
//! `LIMIT 1000`) or the first N rows (LIMIT); later commands run on those rows at `finish`.
//! ROW queries produce their row when the execution starts ([`run`] with no documents).
//!
//! The public API is the contract of the task, plus: [`Query::columns`] (output columns
//! without running), [`Query::source`], [`functions::SCALARS`] and [`agg::AGGREGATES`] (the
//! supported function names), [`types`] (value formatting helpers used by the conformance
//! harness).
//!
//! Modules: [`lexer`], [`parser`] and [`ast`] (syntax), [`analyzer`] (names and types into a
//! [`plan`]), [`expr`] and [`functions`] (evaluation), [`agg`] (aggregates), [`exec`]
//! (streaming execution), [`like`] (LIKE), [`lucene`] (RLIKE's Lucene regular expressions),
//! [`dissect`], [`grok`], [`kql`] (the `KQL()` function), [`datefmt`], [`types`], [`diag`],
//! [`fxhash`].

pub mod agg;
pub mod analyzer;
pub mod ast;
pub mod datefmt;
pub mod diag;
pub mod dissect;
pub mod exec;
pub mod expr;
pub mod functions;
pub mod fxhash;
pub mod grok;
pub mod kql;
pub mod lexer;
pub mod like;
pub mod lucene;
pub mod parser;
pub mod plan;
pub mod types;

use std::sync::Arc;

use events::{Catalog, Document, Value};

pub use diag::Diagnostic;
pub use types::{DataType, Val};

use exec::{Prov, Row, Sink};
use expr::{Ctx, Ex, ExK, Warnings};
use plan::{Plan, SourceField, SourcePlan, Stage};

/// The evaluation context of one execution.
#[derive(Clone, Copy, Debug)]
pub struct ExecContext {
    /// The value of `NOW()`, epoch nanoseconds.
    pub now_nanos: i64,
}

/// A result column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// `keyword`, `long`, `double`, `date`, `ip`, `boolean`, ...
    pub data_type: String,
}

/// Where a result row came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowProvenance {
    /// The STATS group key values (empty for non-aggregating queries).
    pub group: Vec<Value>,
    /// `_id`s of the contributing documents in push order (at most 64).
    pub event_ids: Vec<String>,
    /// How many documents contributed.
    pub event_count: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryResult {
    pub columns: Vec<Column>,
    /// Cells: dates as ISO-8601 strings, IPs as strings, multi-values as arrays.
    pub rows: Vec<Vec<Value>>,
    pub provenance: Vec<RowProvenance>,
    pub warnings: Vec<String>,
}

#[derive(Debug)]
struct Compiled {
    plan: Plan,
    /// Index of the first pipeline breaker (there is always one: the implicit LIMIT).
    head: usize,
    /// Conditions on source columns only, evaluated by `prefilter`.
    prefilter: Vec<Ex>,
    prefilter_fields: Vec<usize>,
    source_text: String,
}

/// A compiled query.
#[derive(Debug, Clone)]
pub struct Query {
    inner: Arc<Compiled>,
}

/// Compiles an ES|QL query against a field catalog.
pub fn compile(query: &str, catalog: &Catalog) -> Result<Query, Diagnostic> {
    let ast = parser::parse(query)?;
    let mut plan = analyzer::analyze(query, &ast, catalog, None)?;
    if let SourcePlan::From(fields) = &plan.source {
        let live = plan.live_source();
        let keep: Vec<bool> = (0..fields.len())
            .map(|i| live.get(i).copied().unwrap_or(true))
            .collect();
        if keep.iter().any(|k| !k) {
            plan = analyzer::analyze(query, &ast, catalog, Some(&keep))?;
        }
    }
    let head = plan
        .stages
        .iter()
        .position(Stage::is_breaker)
        .unwrap_or(plan.stages.len());
    let (prefilter, prefilter_fields) = pushdown(&plan, head);
    Ok(Query {
        inner: Arc::new(Compiled {
            plan,
            head,
            prefilter,
            prefilter_fields,
            source_text: query.to_string(),
        }),
    })
}

/// Filters before the first breaker that read only source columns, remapped to source
/// indices (sound: a document failing one never produces a row).
fn pushdown(plan: &Plan, head: usize) -> (Vec<Ex>, Vec<usize>) {
    let SourcePlan::From(fields) = &plan.source else {
        return (Vec::new(), Vec::new());
    };
    let mut map: Vec<Option<usize>> = (0..fields.len()).map(Some).collect();
    let mut out = Vec::new();
    let mut used = Vec::new();
    for st in &plan.stages[..head] {
        match st {
            Stage::Filter(e) => {
                // NOW() is unknown to `prefilter`, which has no execution context
                let mut ok = !e.uses_now();
                e.columns(&mut |c| ok &= map.get(c).copied().flatten().is_some());
                if ok {
                    let mut e2 = e.clone();
                    e2.remap(&|c| map[c].unwrap_or(c));
                    e2.columns(&mut |c| {
                        if !used.contains(&c) {
                            used.push(c)
                        }
                    });
                    out.push(e2);
                }
            }
            Stage::Append(_) => map.push(None),
            Stage::Dissect(d, _) => map.extend(std::iter::repeat_n(None, d.names.len())),
            Stage::Grok(g, _) => map.extend(std::iter::repeat_n(None, g.fields.len())),
            Stage::Project(idx) => map = idx.iter().map(|&i| map[i]).collect(),
            _ => break,
        }
    }
    used.sort_unstable();
    (out, used)
}

impl Query {
    /// The FROM index patterns (empty for ROW).
    pub fn indices(&self) -> &[String] {
        &self.inner.plan.indices
    }

    /// The document fields the plan reads (metadata fields excluded).
    pub fn needed_fields(&self) -> Vec<String> {
        match &self.inner.plan.source {
            SourcePlan::From(fields) => fields
                .iter()
                .filter(|f| f.kind == plan::FieldKind::Source && f.load)
                .map(|f| f.name.clone())
                .collect(),
            SourcePlan::Row(_) => Vec::new(),
        }
    }

    /// Keys of the query for rule dispatch, in evaluation order: `(field, values)` for each
    /// comparison `keyword_field == "x"` (or `IN` a list of strings) that the first pushed-down
    /// condition starts with, joined by `AND`. A document is rejected without evaluating
    /// anything else (and so without warnings) when, for some key, its field has exactly one
    /// value, a string not among `values`, and the fields of the keys before it have at most
    /// one value each: those comparisons are evaluated first, cannot warn, and `AND` stops at
    /// the first false one.
    pub fn key_values(&self) -> Vec<(String, Vec<String>)> {
        let c = &self.inner;
        let SourcePlan::From(fields) = &c.plan.source else {
            return Vec::new();
        };
        let Some(first) = c.prefilter.first() else {
            return Vec::new();
        };
        // The leaves of the left-leaning `AND` chain, leftmost first.
        let mut chain = Vec::new();
        let mut e = first;
        while let ExK::And(a, b) = &e.kind {
            chain.push(&**b);
            e = a;
        }
        chain.push(e);
        chain.reverse();
        let col = |x: &Ex| match x.kind {
            ExK::Col(i) => fields
                .get(i)
                .filter(|f| f.kind == plan::FieldKind::Source && f.ty == DataType::Keyword),
            _ => None,
        };
        let text = |x: &Ex| match &x.kind {
            ExK::Lit(Val::Str(s)) => Some(s.to_string()),
            _ => None,
        };
        let key = |e: &Ex| {
            let (field, values) = match &e.kind {
                ExK::Cmp(ast::BinOp::Eq, a, b) => match (col(a), col(b)) {
                    (Some(f), None) => (f, vec![text(b)?]),
                    (None, Some(f)) => (f, vec![text(a)?]),
                    _ => return None,
                },
                ExK::In(a, list) => (col(a)?, list.iter().map(text).collect::<Option<Vec<_>>>()?),
                _ => return None,
            };
            Some((field.name.clone(), values))
        };
        chain.into_iter().map_while(key).collect()
    }

    /// True when the query has a STATS (result rows are groups, not documents).
    pub fn is_aggregating(&self) -> bool {
        self.inner
            .plan
            .stages
            .iter()
            .any(|s| matches!(s, Stage::Stats(_)))
    }

    /// The output columns.
    pub fn columns(&self) -> Vec<Column> {
        columns(&self.inner.plan)
    }

    /// The query text.
    pub fn source(&self) -> &str {
        &self.inner.source_text
    }

    /// Cheap check on the WHERE conditions that precede any STATS: false only when the
    /// document can never contribute to the result.
    pub fn prefilter(&self, doc: &Document) -> bool {
        let c = &self.inner;
        if c.prefilter.is_empty() {
            return true;
        }
        let SourcePlan::From(fields) = &c.plan.source else {
            return true;
        };
        let row = exec::load(doc, fields, Some(&c.prefilter_fields));
        let mut w = Warnings::default();
        let mut cx = Ctx {
            now_millis: 0,
            warnings: &mut w,
        };
        c.prefilter
            .iter()
            .all(|e| matches!(e.eval(&row, &mut cx), Val::Bool(true)))
    }

    /// Checks the pushed-down conditions and loads the document's fields once, so that a
    /// document belonging to several open executions (overlapping rule windows) is read once
    /// and pushed into each with [`Execution::push_loaded`]. Warnings raised by the pushed-down
    /// conditions travel with the result, also when the document is rejected.
    pub fn load(&self, doc: &Document) -> Loaded {
        load_doc(&self.inner, doc, None)
    }

    /// [`Query::load`] for a query registered in `shared` as `slot`: source fields another
    /// registered query already read from this document are not read again.
    pub fn load_shared(&self, doc: &Document, shared: &mut SharedLoads, slot: SharedSlot) -> Loaded {
        let view = SharedView {
            cells: &mut shared.cells,
            columns: &shared.columns[slot.0],
            scratch: &mut shared.scratch[slot.0],
        };
        load_doc(&self.inner, doc, Some(view))
    }

    /// Starts an execution (ROW queries produce their row immediately).
    pub fn start(&self, ctx: ExecContext) -> Execution {
        let c = &self.inner;
        let mut ex = Execution {
            q: c.clone(),
            now_millis: ctx.now_nanos.div_euclid(events::time::NANOS_PER_MILLI),
            sink: Sink::new(&c.plan.stages[c.head.min(c.plan.stages.len() - 1)]),
            warnings: Warnings::default(),
        };
        if let SourcePlan::Row(exprs) = &c.plan.source {
            let mut vals: Vec<Val> = Vec::with_capacity(exprs.len());
            let mut cx = Ctx {
                now_millis: ex.now_millis,
                warnings: &mut ex.warnings,
            };
            for e in exprs {
                let v = e.eval(&vals, &mut cx);
                vals.push(v);
            }
            ex.push_row(Row {
                vals,
                prov: Prov::default(),
            });
        }
        ex
    }
}

fn columns(plan: &Plan) -> Vec<Column> {
    plan.columns
        .iter()
        .map(|(n, t)| Column {
            name: n.clone(),
            data_type: t.name().to_string(),
        })
        .collect()
}

/// Checks a query's pushed-down conditions on a document and loads its fields (see
/// [`Query::load`]). NOW() is never among the pushed-down conditions, so no clock is needed.
/// A query's view of a [`SharedLoads`]: the shared cells, its columns' cells, its scratch row.
struct SharedView<'a> {
    cells: &'a mut [Option<Val>],
    columns: &'a [usize],
    scratch: &'a mut Vec<Val>,
}
type SharedCells<'a> = Option<SharedView<'a>>;

fn reborrow<'a>(s: &'a mut SharedCells<'_>) -> Option<(&'a mut [Option<Val>], &'a [usize])> {
    s.as_mut().map(|v| (&mut *v.cells, v.columns))
}

fn load_doc(c: &Compiled, doc: &Document, mut shared: SharedCells<'_>) -> Loaded {
    let mut warnings = Warnings::default();
    let SourcePlan::From(fields) = &c.plan.source else {
        return Loaded { row: None, warnings };
    };
    // Most documents fail most rules' pushed-down conditions: with shared loads they are
    // checked in the query's reused row (all null but for the columns the check reads, reset
    // after it), and a row of its own is allocated only for an accepted document.
    let mut vals = match shared.as_mut().map(|s| std::mem::take(&mut *s.scratch)) {
        Some(v) if v.len() == fields.len() => v,
        _ => vec![Val::Null; fields.len()],
    };
    if !c.prefilter.is_empty() {
        exec::load_into_shared(
            &mut vals,
            doc,
            fields,
            Some(&c.prefilter_fields),
            &[],
            reborrow(&mut shared),
        );
        let mut cx = Ctx {
            now_millis: 0,
            warnings: &mut warnings,
        };
        if !c
            .prefilter
            .iter()
            .all(|e| matches!(e.eval(&vals, &mut cx), Val::Bool(true)))
        {
            if let Some(s) = shared {
                for &i in &c.prefilter_fields {
                    vals[i] = Val::Null;
                }
                *s.scratch = vals;
            }
            return Loaded { row: None, warnings };
        }
    }
    exec::load_into_shared(
        &mut vals,
        doc,
        fields,
        None,
        &c.prefilter_fields,
        reborrow(&mut shared),
    );
    let prov = Prov {
        group: Vec::new(),
        ids: vec![doc.id.clone()],
        count: 1,
    };
    Loaded {
        row: Some(Row { vals, prov }),
        warnings,
    }
}

/// A document checked and loaded once by [`Query::load`].
#[derive(Debug, Clone)]
pub struct Loaded {
    row: Option<Row>,
    warnings: Warnings,
}

impl Loaded {
    /// The pushed-down conditions accept the document.
    pub fn accepted(&self) -> bool {
        self.row.is_some()
    }

    /// Evaluating the conditions raised warnings (they must reach the results).
    pub fn has_warnings(&self) -> bool {
        !self.warnings.list.is_empty()
    }
}

/// Source-field cells shared by several queries over the same document (one rule set over
/// one event stream): each distinct field (by name, type and precision) is read from the
/// document and converted once per document, whichever registered query reads it first.
/// Call [`SharedLoads::next_document`] before loading a new document.
#[derive(Debug, Default)]
pub struct SharedLoads {
    keys: Vec<(String, DataType, plan::Precision)>,
    /// Per registered query: the shared cell of each of its columns.
    columns: Vec<Vec<usize>>,
    cells: Vec<Option<Val>>,
    /// Per registered query: a row for checking its pushed-down conditions.
    scratch: Vec<Vec<Val>>,
}

/// A query's registration in a [`SharedLoads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedSlot(usize);

impl SharedLoads {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a query; load it with [`Query::load_shared`] and this slot.
    pub fn register(&mut self, q: &Query) -> SharedSlot {
        let fields: &[SourceField] = match &q.inner.plan.source {
            SourcePlan::From(fields) => fields,
            _ => &[],
        };
        let cols = fields
            .iter()
            .map(|f| {
                let key = (f.name.clone(), f.ty, f.precision);
                match self.keys.iter().position(|k| *k == key) {
                    Some(i) => i,
                    None => {
                        self.keys.push(key);
                        self.keys.len() - 1
                    }
                }
            })
            .collect();
        self.columns.push(cols);
        self.scratch.push(Vec::new());
        self.cells = vec![None; self.keys.len()];
        SharedSlot(self.columns.len() - 1)
    }

    /// Forgets the cells of the previous document.
    pub fn next_document(&mut self) {
        self.cells.iter_mut().for_each(|c| *c = None);
    }
}

/// A running query: push documents, merge partial executions, finish.
#[derive(Debug, Clone)]
pub struct Execution {
    q: Arc<Compiled>,
    now_millis: i64,
    sink: Sink,
    warnings: Warnings,
}

impl Execution {
    /// Feeds one document (documents of other indices are the caller's business). The
    /// pushed-down conditions are checked first on just their fields, so calling
    /// [`Query::prefilter`] beforehand is an optimisation for the caller's dispatch only.
    pub fn push(&mut self, doc: &Document) {
        if self.sink.is_full() {
            return;
        }
        let Loaded { row, warnings } = load_doc(&self.q, doc, None);
        if !warnings.list.is_empty() {
            self.warnings.merge(warnings);
        }
        if let Some(row) = row {
            self.push_row(row);
        }
    }

    /// Feeds a document loaded by [`Query::load`] (of the same query).
    pub fn push_loaded(&mut self, loaded: &Loaded) {
        if !loaded.warnings.list.is_empty() {
            self.warnings.merge(loaded.warnings.clone());
        }
        if self.sink.is_full() {
            return;
        }
        if let Some(row) = &loaded.row {
            self.push_row(row.clone());
        }
    }

    fn push_row(&mut self, row: Row) {
        let q = self.q.clone();
        let mut cx = Ctx {
            now_millis: self.now_millis,
            warnings: &mut self.warnings,
        };
        let sink = &mut self.sink;
        exec::run_stream(&q.plan.stages[..q.head], row, &mut cx, &mut |r, cx| {
            sink.push(r, cx)
        });
    }

    /// Folds another execution of the same query (over other documents) into this one.
    pub fn merge(&mut self, other: Execution) {
        self.sink.merge(other.sink);
        self.warnings.merge(other.warnings);
    }

    /// The result.
    pub fn finish(self) -> QueryResult {
        let q = self.q;
        let mut warnings = self.warnings;
        let mut cx = Ctx {
            now_millis: self.now_millis,
            warnings: &mut warnings,
        };
        let rows = self.sink.finish(&mut cx);
        let rest = q.plan.stages.get(q.head + 1..).unwrap_or(&[]);
        let rows = exec::run_batch(rest, rows, &mut cx);
        let mut all_warnings = q.plan.warnings.clone();
        all_warnings.extend(warnings.list);
        QueryResult {
            columns: columns(&q.plan),
            provenance: rows
                .iter()
                .map(|r| RowProvenance {
                    group: r.prov.group.iter().map(Val::to_value).collect(),
                    event_ids: r.prov.ids.clone(),
                    event_count: r.prov.count,
                })
                .collect(),
            rows: rows
                .into_iter()
                .map(|r| r.vals.iter().map(Val::to_value).collect())
                .collect(),
            warnings: all_warnings,
        }
    }
}

/// Runs a query over documents in one go.
pub fn run<'a>(q: &Query, docs: impl IntoIterator<Item = &'a Document>, ctx: ExecContext) -> QueryResult {
    let mut ex = q.start(ctx);
    for d in docs {
        ex.push(d);
    }
    ex.finish()
}
