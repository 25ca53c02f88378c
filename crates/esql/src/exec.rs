//! Streaming execution. Documents are loaded into rows (only the fields the plan reads), run
//! through the row-at-a-time stages up to the first pipeline breaker (STATS, SORT, LIMIT,
//! INLINE STATS), which keeps bounded, mergeable state: per-group aggregate states, a top-N
//! buffer, or the first N rows. At finish the breaker's rows run through the rest of the plan.
//! Every row carries its provenance: group key and the `_id`s of the documents behind it.

use std::cmp::Ordering;
use std::sync::Arc;

use events::Document;

use crate::agg::AggState;
use crate::expr::{Ctx, Ex};
use crate::fxhash::FxHashMap;
use crate::plan::Precision;
use crate::plan::*;
use crate::types::{Val, cell_from_json};

/// How many contributing `_id`s a row keeps (the count is kept exactly).
pub const MAX_IDS: usize = 64;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prov {
    pub group: Vec<Val>,
    pub ids: Vec<String>,
    pub count: u64,
}

impl Prov {
    fn absorb(&mut self, other: &Prov) {
        for id in &other.ids {
            if self.ids.len() >= MAX_IDS {
                break;
            }
            self.ids.push(id.clone());
        }
        self.count += other.count;
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub vals: Vec<Val>,
    pub prov: Prov,
}

/// Loads the plan's source fields from a document. `only` limits loading to some columns
/// (the others stay null).
pub fn load(doc: &Document, fields: &[SourceField], only: Option<&[usize]>) -> Vec<Val> {
    let mut row = vec![Val::Null; fields.len()];
    load_into(&mut row, doc, fields, only, &[]);
    row
}

/// Fills `row` from a document: the `only` columns (all when None), except those in `skip`.
pub fn load_into(
    row: &mut [Val],
    doc: &Document,
    fields: &[SourceField],
    only: Option<&[usize]>,
    skip: &[usize],
) {
    load_into_shared(row, doc, fields, only, skip, None)
}

/// A source field's cell as the query reads it.
fn source_cell(doc: &Document, f: &SourceField) -> Val {
    let vals = doc.field(&f.name);
    if vals.is_empty() {
        Val::Null
    } else {
        let cell = cell_from_json(&vals, f.ty);
        match f.precision {
            Precision::Exact => cell,
            p => round_cell(cell, p),
        }
    }
}

/// [`load_into`], reading source fields through `shared` (cells already read from this
/// document by another query are reused; see [`crate::SharedLoads`]): `slots[i]` is the
/// shared cell of column `i`.
pub(crate) fn load_into_shared(
    row: &mut [Val],
    doc: &Document,
    fields: &[SourceField],
    only: Option<&[usize]>,
    skip: &[usize],
    mut shared: Option<(&mut [Option<Val>], &[usize])>,
) {
    let mut fill = |i: usize| {
        let f = &fields[i];
        if !f.load || skip.contains(&i) {
            return;
        }
        row[i] = match f.kind {
            FieldKind::Source => match &mut shared {
                Some((cells, slots)) => cells[slots[i]].get_or_insert_with(|| source_cell(doc, f)).clone(),
                None => source_cell(doc, f),
            },
            FieldKind::Id => Val::str(doc.id.clone()),
            FieldKind::Index => Val::str(doc.index.clone()),
            FieldKind::Version => Val::Int(1),
        };
    };
    match only {
        Some(idx) => idx.iter().for_each(|&i| fill(i)),
        None => (0..fields.len()).for_each(fill),
    }
}

fn round_cell(v: Val, p: Precision) -> Val {
    match v {
        Val::Double(d) => Val::Double(match p {
            Precision::Float => d as f32 as f64,
            Precision::HalfFloat => half_float(d),
            Precision::Exact => d,
        }),
        Val::Multi(vs) => Val::Multi(vs.into_iter().map(|x| round_cell(x, p)).collect()),
        v => v,
    }
}

/// Rounds to the nearest IEEE half-precision value (ties to even), normal range.
fn half_float(d: f64) -> f64 {
    if d == 0.0 || !d.is_finite() {
        return d;
    }
    let exp = d.abs().log2().floor().max(-14.0);
    let ulp = 2f64.powf(exp - 10.0);
    let q = d / ulp;
    let r = q.round();
    let r = if (q - q.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - q.signum()
    } else {
        r
    };
    (r * ulp).clamp(-65504.0, 65504.0)
}

/// Runs row-at-a-time stages, handing surviving rows to `out`.
pub fn run_stream(stages: &[Stage], row: Row, cx: &mut Ctx, out: &mut dyn FnMut(Row, &mut Ctx)) {
    let Some((st, rest)) = stages.split_first() else {
        out(row, cx);
        return;
    };
    let mut row = row;
    match st {
        Stage::Filter(e) => {
            if matches!(e.eval(&row.vals, cx), Val::Bool(true)) {
                run_stream(rest, row, cx, out);
            }
        }
        Stage::Append(e) => {
            let v = e.eval(&row.vals, cx);
            row.vals.push(v);
            run_stream(rest, row, cx, out);
        }
        Stage::Project(idx) => {
            let mut old = std::mem::take(&mut row.vals);
            row.vals = idx.iter().map(|&i| std::mem::take(&mut old[i])).collect();
            run_stream(rest, row, cx, out);
        }
        Stage::MvExpand(c) => {
            if let Val::Multi(vs) = &row.vals[*c] {
                let vs = vs.clone();
                for v in vs {
                    let mut r = row.clone();
                    r.vals[*c] = v;
                    run_stream(rest, r, cx, out);
                }
            } else {
                run_stream(rest, row, cx, out);
            }
        }
        Stage::Dissect(d, e) => {
            let input = e.eval(&row.vals, cx);
            let n = d.names.len();
            match input {
                Val::Str(s) => match d.apply(&s) {
                    Some(vals) => row
                        .vals
                        .extend(vals.into_iter().map(|v| v.map(Val::str).unwrap_or_default())),
                    None => row.vals.extend(std::iter::repeat_n(Val::Null, n)),
                },
                Val::Multi(_) => {
                    cx.warnings.add(&e.loc, crate::expr::MV_WARNING);
                    row.vals.extend(std::iter::repeat_n(Val::Null, n));
                }
                _ => row.vals.extend(std::iter::repeat_n(Val::Null, n)),
            }
            run_stream(rest, row, cx, out);
        }
        Stage::Grok(g, e) => {
            let input = e.eval(&row.vals, cx);
            let n = g.fields.len();
            match input {
                Val::Str(s) => match g.apply(&s) {
                    Some(vals) => {
                        for (v, (_, ty, _)) in vals.into_iter().zip(&g.fields) {
                            row.vals.push(match v {
                                Some(s) => {
                                    crate::types::from_json(&events::Value::from(s), *ty).unwrap_or_default()
                                }
                                None => Val::Null,
                            });
                        }
                    }
                    None => row.vals.extend(std::iter::repeat_n(Val::Null, n)),
                },
                Val::Multi(_) => {
                    cx.warnings.add(&e.loc, crate::expr::MV_WARNING);
                    row.vals.extend(std::iter::repeat_n(Val::Null, n));
                }
                _ => row.vals.extend(std::iter::repeat_n(Val::Null, n)),
            }
            run_stream(rest, row, cx, out);
        }
        _ => out(row, cx),
    }
}

/// The state of a pipeline breaker.
#[derive(Debug, Clone)]
pub enum Sink {
    Stats(StatsState),
    Inline(Arc<StatsSpec>, Vec<Row>),
    Sort(Arc<Vec<SortSpec>>, Vec<(Vec<Val>, u64, Row)>, u64),
    TopN(TopN),
    Limit(usize, Vec<Row>),
}

impl Sink {
    pub fn new(stage: &Stage) -> Sink {
        match stage {
            Stage::Stats(s) => Sink::Stats(StatsState::new(s.clone())),
            Stage::InlineStats(s) => Sink::Inline(s.clone(), Vec::new()),
            Stage::Sort(k) => Sink::Sort(k.clone(), Vec::new(), 0),
            Stage::TopN(k, n) => Sink::TopN(TopN {
                keys: k.clone(),
                limit: *n,
                rows: Vec::new(),
                seq: 0,
            }),
            Stage::Limit(n) => Sink::Limit(*n, Vec::new()),
            _ => Sink::Limit(usize::MAX, Vec::new()),
        }
    }

    pub fn push(&mut self, row: Row, cx: &mut Ctx) {
        match self {
            Sink::Stats(s) => s.push(row, cx),
            Sink::Inline(_, rows) => rows.push(row),
            Sink::Sort(keys, rows, seq) => {
                let k = sort_keys(keys, &row, cx);
                rows.push((k, *seq, row));
                *seq += 1;
            }
            Sink::TopN(t) => t.push(row, cx),
            Sink::Limit(n, rows) => {
                if rows.len() < *n {
                    rows.push(row);
                }
            }
        }
    }

    /// True when further rows cannot change the result (a full LIMIT).
    pub fn is_full(&self) -> bool {
        matches!(self, Sink::Limit(n, rows) if rows.len() >= *n)
    }

    pub fn merge(&mut self, other: Sink) {
        match (self, other) {
            (Sink::Stats(a), Sink::Stats(b)) => a.merge(b),
            (Sink::Inline(_, a), Sink::Inline(_, b)) => a.extend(b),
            (Sink::Sort(_, a, seq), Sink::Sort(_, b, _)) => {
                for (k, _, r) in b {
                    a.push((k, *seq, r));
                    *seq += 1;
                }
            }
            (Sink::TopN(a), Sink::TopN(b)) => {
                for (k, _, r) in b.rows {
                    a.insert(k, r);
                }
            }
            (Sink::Limit(n, a), Sink::Limit(_, b)) => {
                for r in b {
                    if a.len() >= *n {
                        break;
                    }
                    a.push(r);
                }
            }
            _ => {}
        }
    }

    pub fn finish(self, cx: &mut Ctx) -> Vec<Row> {
        match self {
            Sink::Stats(s) => s.finish(cx),
            Sink::Inline(spec, rows) => inline_stats(&spec, rows, cx),
            Sink::Sort(keys, mut rows, _) => {
                rows.sort_by(|a, b| cmp_keys(&keys, &a.0, &b.0).then(a.1.cmp(&b.1)));
                rows.into_iter().map(|(_, _, r)| r).collect()
            }
            Sink::TopN(t) => t.rows.into_iter().map(|(_, _, r)| r).collect(),
            Sink::Limit(_, rows) => rows,
        }
    }
}

fn sort_keys(keys: &[SortSpec], row: &Row, cx: &mut Ctx) -> Vec<Val> {
    keys.iter()
        .map(|k| {
            let v = k.key.eval(&row.vals, cx);
            match v {
                Val::Multi(vs) => {
                    let it = vs.into_iter();
                    if k.desc {
                        it.max_by(|a, b| a.cmp_same(b)).unwrap_or_default()
                    } else {
                        it.min_by(|a, b| a.cmp_same(b)).unwrap_or_default()
                    }
                }
                v => v,
            }
        })
        .collect()
}

fn cmp_keys(keys: &[SortSpec], a: &[Val], b: &[Val]) -> Ordering {
    for (k, (x, y)) in keys.iter().zip(a.iter().zip(b)) {
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = x.cmp_same(y);
                if k.desc { o.reverse() } else { o }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[derive(Debug, Clone)]
pub struct TopN {
    keys: Arc<Vec<SortSpec>>,
    limit: usize,
    rows: Vec<(Vec<Val>, u64, Row)>,
    seq: u64,
}

impl TopN {
    fn push(&mut self, row: Row, cx: &mut Ctx) {
        if self.limit == 0 {
            return;
        }
        let k = sort_keys(&self.keys, &row, cx);
        self.insert(k, row);
    }

    fn insert(&mut self, k: Vec<Val>, row: Row) {
        let seq = self.seq;
        self.seq += 1;
        if self.rows.len() >= self.limit
            && let Some(last) = self.rows.last()
            && cmp_keys(&self.keys, &k, &last.0) != Ordering::Less
        {
            return;
        }
        let pos = self.rows.partition_point(|(rk, rs, _)| {
            cmp_keys(&self.keys, rk, &k).then(rs.cmp(&seq)) != Ordering::Greater
        });
        self.rows.insert(pos, (k, seq, row));
        self.rows.truncate(self.limit);
    }
}

#[derive(Debug, Clone)]
pub struct StatsState {
    spec: Arc<StatsSpec>,
    index: FxHashMap<Vec<Val>, usize>,
    groups: Vec<(Vec<Val>, Vec<AggState>, Prov)>,
}

impl StatsState {
    pub fn new(spec: Arc<StatsSpec>) -> Self {
        StatsState {
            spec,
            index: FxHashMap::default(),
            groups: Vec::new(),
        }
    }

    fn group_slot(&mut self, key: Vec<Val>) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let states = self.spec.aggs.iter().map(|a| a.new_state()).collect();
        let i = self.groups.len();
        self.groups.push((key.clone(), states, Prov::default()));
        self.index.insert(key, i);
        i
    }

    pub fn push(&mut self, row: Row, cx: &mut Ctx) {
        let keys = group_keys(&self.spec.groups, &row.vals, cx);
        let spec = self.spec.clone();
        for key in keys {
            let ext;
            let vals: &[Val] = if spec.group_cols.is_empty() {
                &row.vals
            } else {
                let mut v = row.vals.clone();
                v.extend(spec.group_cols.iter().map(|&g| key[g].clone()));
                ext = v;
                &ext
            };
            let i = self.group_slot(key);
            let (_, states, prov) = &mut self.groups[i];
            for (a, st) in spec.aggs.iter().zip(states.iter_mut()) {
                a.feed(st, vals, cx);
            }
            prov.absorb(&row.prov);
        }
    }

    pub fn merge(&mut self, other: StatsState) {
        for (key, states, prov) in other.groups {
            let i = self.group_slot(key);
            let spec = self.spec.clone();
            let (_, mine, p) = &mut self.groups[i];
            for ((m, o), a) in mine.iter_mut().zip(states).zip(spec.aggs.iter()) {
                m.merge(o, a);
            }
            p.absorb(&prov);
        }
    }

    /// The aggregated rows (one per group; one row for a STATS without BY even when empty).
    pub fn finish(mut self, cx: &mut Ctx) -> Vec<Row> {
        if self.groups.is_empty() && self.spec.groups.is_empty() {
            self.group_slot(Vec::new());
        }
        let spec = self.spec.clone();
        let mut out = Vec::with_capacity(self.groups.len());
        for (key, states, mut prov) in self.groups {
            let mut temp = key.clone();
            for (a, st) in spec.aggs.iter().zip(&states) {
                let loc = a.loc.clone();
                let mut warn = |m: &str| cx.warnings.add(&loc, m);
                temp.push(a.finish(st, &mut warn));
            }
            let vals = spec.outputs.iter().map(|e| e.eval(&temp, cx)).collect();
            prov.group = key;
            out.push(Row { vals, prov });
        }
        out
    }
}

/// The group keys of a row: one per combination of values (a multi-valued key puts the row in
/// one group per value; null is a group of its own).
fn group_keys(groups: &[Ex], row: &[Val], cx: &mut Ctx) -> Vec<Vec<Val>> {
    let mut keys: Vec<Vec<Val>> = vec![Vec::with_capacity(groups.len())];
    for g in groups {
        let v = g.eval(row, cx);
        match v {
            Val::Multi(vs) => {
                let mut uniq: Vec<Val> = Vec::new();
                for x in vs {
                    if !uniq.contains(&x) {
                        uniq.push(x);
                    }
                }
                let mut next = Vec::with_capacity(keys.len() * uniq.len());
                for k in &keys {
                    for x in &uniq {
                        let mut k2 = k.clone();
                        k2.push(x.clone());
                        next.push(k2);
                    }
                }
                keys = next;
            }
            v => keys.iter_mut().for_each(|k| k.push(v.clone())),
        }
    }
    keys
}

fn inline_stats(spec: &Arc<StatsSpec>, rows: Vec<Row>, cx: &mut Ctx) -> Vec<Row> {
    let mut st = StatsState::new(spec.clone());
    for r in &rows {
        st.push(r.clone(), cx);
    }
    let results = st.finish(cx);
    let mut by_key: FxHashMap<Vec<Val>, Vec<Val>> = FxHashMap::default();
    for r in results {
        by_key.insert(r.prov.group.clone(), r.vals);
    }
    let mut out = Vec::new();
    for r in rows {
        let keys = group_keys(&spec.groups, &r.vals, cx);
        for key in keys {
            let mut vals: Vec<Val> = spec.keep_input.iter().map(|&i| r.vals[i].clone()).collect();
            match by_key.get(&key) {
                Some(agg) => vals.extend(agg.iter().cloned()),
                None => vals.extend(std::iter::repeat_n(Val::Null, spec.outputs.len())),
            }
            out.push(Row {
                vals,
                prov: r.prov.clone(),
            });
        }
    }
    out
}

/// Runs the stages after the first breaker over materialized rows.
pub fn run_batch(stages: &[Stage], mut rows: Vec<Row>, cx: &mut Ctx) -> Vec<Row> {
    let mut i = 0;
    while i < stages.len() {
        // the streaming run up to the next breaker
        let next = stages[i..]
            .iter()
            .position(Stage::is_breaker)
            .map(|p| p + i)
            .unwrap_or(stages.len());
        if next > i {
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                run_stream(&stages[i..next], r, cx, &mut |r, _| out.push(r));
            }
            rows = out;
        }
        if next < stages.len() {
            let mut sink = Sink::new(&stages[next]);
            for r in rows {
                sink.push(r, cx);
            }
            rows = sink.finish(cx);
        }
        i = next + 1;
    }
    rows
}
