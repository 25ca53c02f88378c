//! Semantic analysis: resolves names against the catalog and the running layout, types every
//! expression, checks function signatures and turns the command list into a [`Plan`].

use std::collections::BTreeMap;
use std::sync::Arc;

use events::{Catalog, FieldType};

use crate::agg::{AGGREGATES, AggKind, AggSpec};
use crate::ast::{self, BinOp, Command, ExprKind, Field, Pipeline, Source};
use crate::diag::{Diagnostic, line_col};
use crate::expr::{Ex, ExK, Loc, Pattern};
use crate::functions;
use crate::like;
use crate::plan::*;
use crate::types::{DataType, Val, parse_date, parse_ip};

pub const DEFAULT_LIMIT: usize = 1000;

type Layout = Vec<(String, DataType)>;

struct Analyzer<'a> {
    src: &'a str,
    /// Columns known to hold a constant (EVAL/ROW of foldable expressions), by name.
    consts: std::collections::HashMap<String, Val>,
    stages: Vec<Stage>,
    widths: Vec<usize>,
    warnings: Vec<String>,
}

/// Aggregation context while analysing a STATS field: group columns and collected aggregates.
struct AggCx<'l> {
    input: &'l Layout,
    groups: &'l Layout,
    aggs: Vec<AggSpec>,
}

/// Analyzes a parsed query. `fields` restricts the FROM layout (None: every catalog field).
pub fn analyze(
    src: &str,
    ast: &Pipeline,
    catalog: &Catalog,
    restrict: Option<&[bool]>,
) -> Result<Plan, Diagnostic> {
    let mut a = Analyzer {
        src,
        consts: Default::default(),
        stages: Vec::new(),
        widths: Vec::new(),
        warnings: Vec::new(),
    };
    let (indices, source, mut layout) = match &ast.source {
        Source::From { indices, metadata } => {
            let mut fields = source_fields(ast, catalog);
            for (m, span) in metadata {
                let kind = match m.as_str() {
                    "_id" => FieldKind::Id,
                    "_index" => FieldKind::Index,
                    "_version" => FieldKind::Version,
                    other => {
                        return Err(a.err(span.clone(), format!("unsupported metadata field [{other}]")));
                    }
                };
                let ty = if kind == FieldKind::Version {
                    DataType::Long
                } else {
                    DataType::Keyword
                };
                fields.retain(|f| f.name != *m);
                fields.push(SourceField {
                    name: m.clone(),
                    ty,
                    kind,
                    load: true,
                    precision: Precision::Exact,
                });
            }
            if let Some(keep) = restrict {
                // fields the query names stay in the layout (so DROP/RENAME still resolve),
                // but only live ones are loaded
                let mut names = Vec::new();
                collect_names(ast, &mut names);
                names.retain(|n| n != "*");
                let mut i = 0;
                fields.retain_mut(|f| {
                    let live = keep.get(i).copied().unwrap_or(true);
                    i += 1;
                    f.load = live;
                    live || names.iter().any(|p| pattern_matches(p, &f.name))
                });
            }
            let layout: Layout = fields.iter().map(|f| (f.name.clone(), f.ty)).collect();
            (indices.clone(), SourcePlan::From(fields), layout)
        }
        Source::Row(items) => {
            let mut layout: Layout = Vec::new();
            let mut exprs: Vec<Ex> = Vec::new();
            for f in items {
                let e = a.expr(&f.expr, &layout, None)?;
                if let Some(pos) = layout.iter().position(|(n, _)| *n == f.name) {
                    layout.remove(pos);
                    exprs.remove(pos);
                }
                layout.push((f.name.clone(), e.ty));
                if e.is_foldable() {
                    a.consts.insert(f.name.clone(), functions::fold(&e, 0));
                }
                exprs.push(e);
            }
            (Vec::new(), SourcePlan::Row(exprs), layout)
        }
    };
    for cmd in &ast.commands {
        a.command(cmd, &mut layout)?;
    }
    a.push(Stage::Limit(DEFAULT_LIMIT), layout.len());
    a.fold_top_n();
    Ok(Plan {
        indices,
        source,
        stages: a.stages,
        widths: a.widths,
        columns: layout,
        warnings: a.warnings,
    })
}

/// The FROM layout: every mapped field (objects excluded) plus fields reached through dynamic
/// prefixes that the query names, sorted by name as Elasticsearch returns them.
fn source_fields(ast: &Pipeline, catalog: &Catalog) -> Vec<SourceField> {
    let mut map: BTreeMap<String, (DataType, FieldType)> = BTreeMap::new();
    for (name, ty) in catalog.names() {
        if let Some(t) = DataType::from_field(ty) {
            map.insert(name.to_string(), (t, ty));
        }
    }
    let mut names = Vec::new();
    collect_names(ast, &mut names);
    for n in names {
        if !map.contains_key(&n)
            && let Some(ft) = catalog.get(&n)
            && let Some(t) = DataType::from_field(ft)
        {
            map.insert(n, (t, ft));
        }
    }
    map.into_iter()
        .map(|(name, (ty, ft))| SourceField {
            name,
            ty,
            kind: FieldKind::Source,
            load: true,
            precision: match ft {
                FieldType::Float => Precision::Float,
                FieldType::HalfFloat => Precision::HalfFloat,
                _ => Precision::Exact,
            },
        })
        .collect()
}

fn collect_names(ast: &Pipeline, out: &mut Vec<String>) {
    fn expr(e: &ast::Expr, out: &mut Vec<String>) {
        match &e.kind {
            ExprKind::Field(n) => out.push(n.clone()),
            ExprKind::Call(name, v) if name == "kql" => {
                if let Some(ExprKind::Str(q)) = v.first().map(|a| &a.kind) {
                    out.extend(crate::kql::field_names(q));
                }
            }
            ExprKind::List(v) | ExprKind::Call(_, v) => v.iter().for_each(|x| expr(x, out)),
            ExprKind::Neg(x) | ExprKind::Not(x) | ExprKind::IsNull(x, _) | ExprKind::Cast(x, _) => {
                expr(x, out)
            }
            ExprKind::Like {
                expr: x, patterns, ..
            } => {
                expr(x, out);
                patterns.iter().for_each(|p| expr(p, out));
            }
            ExprKind::Bin(_, a, b) => {
                expr(a, out);
                expr(b, out);
            }
            ExprKind::In(x, l, _) => {
                expr(x, out);
                l.iter().for_each(|y| expr(y, out));
            }
            _ => {}
        }
    }
    let fields = |fs: &[Field], out: &mut Vec<String>| {
        for f in fs {
            expr(&f.expr, out);
            if let Some(w) = &f.filter {
                expr(w, out);
            }
        }
    };
    for c in &ast.commands {
        match c {
            Command::Where(e) => expr(e, out),
            Command::Eval(fs) => fields(fs, out),
            Command::Stats { aggs, by, .. } => {
                fields(aggs, out);
                fields(by, out);
            }
            Command::Keep(p) | Command::Drop(p) => out.extend(p.iter().map(|x| x.0.clone())),
            Command::Rename(p) => out.extend(p.iter().map(|x| x.0.0.clone())),
            Command::Sort(keys) => keys.iter().for_each(|k| expr(&k.expr, out)),
            Command::MvExpand(n, _) => out.push(n.clone()),
            Command::Dissect { input, .. } | Command::Grok { input, .. } => expr(input, out),
            Command::Limit(_) => {}
        }
    }
}

fn lookup(layout: &Layout, name: &str) -> Option<usize> {
    layout.iter().rposition(|(n, _)| n == name)
}

/// Glob match of a KEEP/DROP pattern (`*` any run of characters).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part) && rest.len() >= part.len();
        } else {
            match rest.find(part) {
                Some(p) => rest = &rest[p + part.len()..],
                None => return false,
            }
        }
    }
    true
}

impl<'a> Analyzer<'a> {
    fn err(&self, span: ast::Span, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.src, span, msg)
    }

    fn loc(&self, span: &ast::Span) -> Arc<Loc> {
        let (line, col) = line_col(self.src, span.start);
        Arc::new(Loc {
            line,
            col,
            text: self.src[span.clone()].to_string(),
        })
    }

    fn push(&mut self, st: Stage, width: usize) {
        self.stages.push(st);
        self.widths.push(width);
    }

    /// SORT followed (through row-preserving stages) by LIMIT n becomes a top-n.
    fn fold_top_n(&mut self) {
        // a filter right after a sort commutes with it (then SORT + LIMIT can meet)
        let mut moved = true;
        while moved {
            moved = false;
            for i in 0..self.stages.len().saturating_sub(1) {
                if matches!(self.stages[i], Stage::Sort(_)) && matches!(self.stages[i + 1], Stage::Filter(_))
                {
                    self.stages.swap(i, i + 1);
                    moved = true;
                }
            }
        }
        // a sort that only feeds an aggregation is irrelevant (Elasticsearch prunes it too)
        let mut i = 0;
        while i < self.stages.len() {
            if matches!(self.stages[i], Stage::Sort(_)) {
                let feeds_stats = self.stages[i + 1..]
                    .iter()
                    .find(|st| {
                        !matches!(
                            st,
                            Stage::Append(_)
                                | Stage::Project(_)
                                | Stage::Filter(_)
                                | Stage::Dissect(..)
                                | Stage::Grok(..)
                        )
                    })
                    .is_some_and(|st| matches!(st, Stage::Stats(_)));
                if feeds_stats {
                    self.stages.remove(i);
                    self.widths.remove(i);
                    continue;
                }
            }
            i += 1;
        }
        for i in 0..self.stages.len() {
            if let Stage::Sort(keys) = &self.stages[i] {
                for j in i + 1..self.stages.len() {
                    match &self.stages[j] {
                        Stage::Limit(n) => {
                            self.stages[i] = Stage::TopN(keys.clone(), *n);
                            break;
                        }
                        Stage::Append(_) | Stage::Project(_) | Stage::Dissect(..) | Stage::Grok(..) => {}
                        _ => break,
                    }
                }
            }
        }
    }

    fn project(&mut self, layout: &mut Layout, idx: Vec<usize>) {
        if idx.len() == layout.len() && idx.iter().enumerate().all(|(i, &j)| i == j) {
            return;
        }
        let w = layout.len();
        *layout = idx.iter().map(|&i| layout[i].clone()).collect();
        self.push(Stage::Project(idx), w);
    }

    /// Appends a computed column named `name`, dropping an earlier column of that name.
    fn append(&mut self, layout: &mut Layout, name: &str, e: Ex) {
        let w = layout.len();
        layout.push((name.to_string(), e.ty));
        self.push(Stage::Append(e), w);
        if let Some(old) = layout[..w].iter().position(|(n, _)| n == name) {
            let idx: Vec<usize> = (0..layout.len()).filter(|&i| i != old).collect();
            self.project(layout, idx);
        }
    }

    fn command(&mut self, cmd: &Command, layout: &mut Layout) -> Result<(), Diagnostic> {
        match cmd {
            Command::Where(e) => {
                let ex = self.expr(e, layout, None)?;
                if !matches!(ex.ty, DataType::Boolean | DataType::Null) {
                    return Err(self.err(
                        e.span.clone(),
                        format!(
                            "Condition expression needs to be boolean, found [{}]",
                            ex.ty.name().to_ascii_uppercase()
                        ),
                    ));
                }
                self.push(Stage::Filter(ex), layout.len());
            }
            Command::Eval(fields) => {
                for f in fields {
                    let ex = self.expr(&f.expr, layout, None)?;
                    let folded = self.substitute_consts(&ex, layout);
                    if folded.is_foldable() && !matches!(folded.kind, ExK::Call("now", _)) {
                        let v = functions::fold(&folded, 0);
                        self.consts.insert(f.name.clone(), v);
                    } else {
                        self.consts.remove(&f.name);
                    }
                    self.append(layout, &f.name, ex);
                }
            }
            Command::Keep(patterns) => {
                let idx = self.keep(patterns, layout)?;
                self.project(layout, idx);
            }
            Command::Drop(patterns) => {
                let mut dropped = vec![false; layout.len()];
                for (p, span) in patterns {
                    let mut any = false;
                    for (i, (n, _)) in layout.iter().enumerate() {
                        if pattern_matches(p, n) {
                            dropped[i] = true;
                            any = true;
                        }
                    }
                    if !any {
                        if p.contains('*') {
                            return Err(self.err(span.clone(), format!("No matches found for pattern [{p}]")));
                        }
                        return Err(self.err(span.clone(), unknown_column(p, layout)));
                    }
                }
                let idx: Vec<usize> = (0..layout.len()).filter(|&i| !dropped[i]).collect();
                self.project(layout, idx);
            }
            Command::Rename(pairs) => {
                for ((old, span), (new, _)) in pairs {
                    let c = self.consts.remove(old);
                    self.consts.remove(new);
                    if let Some(c) = c {
                        self.consts.insert(new.clone(), c);
                    }
                    let Some(i) = lookup(layout, old) else {
                        return Err(self.err(span.clone(), unknown_column(old, layout)));
                    };
                    let ty = layout[i].1;
                    let w = layout.len();
                    let mut idx: Vec<usize> = (0..w).collect();
                    if let Some(j) = layout.iter().position(|(n, _)| n == new)
                        && j != i
                    {
                        idx.retain(|&k| k != j);
                    }
                    let mut new_layout: Layout = idx.iter().map(|&k| layout[k].clone()).collect();
                    if let Some(pos) = idx.iter().position(|&k| k == i) {
                        new_layout[pos] = (new.clone(), ty);
                    }
                    if idx.len() != w {
                        self.push(Stage::Project(idx), w);
                    }
                    *layout = new_layout;
                }
            }
            Command::Sort(keys) => {
                let mut specs = Vec::new();
                for k in keys {
                    let key = self.expr(&k.expr, layout, None)?;
                    specs.push(SortSpec {
                        key,
                        desc: k.desc,
                        nulls_first: k.nulls_first,
                    });
                }
                self.push(Stage::Sort(Arc::new(specs)), layout.len());
            }
            Command::Limit(n) => self.push(Stage::Limit(*n as usize), layout.len()),
            Command::MvExpand(name, span) => {
                self.consts.remove(name);
                let Some(i) = lookup(layout, name) else {
                    return Err(self.err(span.clone(), unknown_column(name, layout)));
                };
                self.push(Stage::MvExpand(i), layout.len());
            }
            Command::Dissect {
                input,
                pattern,
                pattern_span,
                append_separator,
            } => {
                let ex = self.expr(input, layout, None)?;
                self.require_string(&ex, input.span.clone(), "DISSECT")?;
                let d = crate::dissect::Dissect::parse(pattern, append_separator.clone())
                    .map_err(|m| self.err(pattern_span.clone(), m))?;
                let w = layout.len();
                let names = d.names.clone();
                names.iter().for_each(|n| {
                    self.consts.remove(n);
                });
                self.push(Stage::Dissect(Arc::new(d), ex), w);
                for n in &names {
                    layout.push((n.clone(), DataType::Keyword));
                }
                self.dedupe_tail(layout, names.len());
            }
            Command::Grok {
                input,
                pattern,
                pattern_span,
            } => {
                let ex = self.expr(input, layout, None)?;
                self.require_string(&ex, input.span.clone(), "GROK")?;
                let g = crate::grok::Grok::parse(pattern).map_err(|m| self.err(pattern_span.clone(), m))?;
                let w = layout.len();
                let cols: Vec<(String, DataType)> =
                    g.fields.iter().map(|(n, t, _)| (n.clone(), *t)).collect();
                self.push(Stage::Grok(Arc::new(g), ex), w);
                let k = cols.len();
                cols.iter().for_each(|(n, _)| {
                    self.consts.remove(n);
                });
                layout.extend(cols);
                self.dedupe_tail(layout, k);
            }
            Command::Stats {
                aggs,
                by,
                inline,
                span,
            } => self.stats(aggs, by, *inline, span, layout)?,
        }
        Ok(())
    }

    fn require_string(&self, ex: &Ex, span: ast::Span, cmd: &str) -> Result<(), Diagnostic> {
        if ex.ty.is_string() || ex.ty == DataType::Null {
            Ok(())
        } else {
            Err(self.err(
                span,
                format!(
                    "{cmd} only supports KEYWORD or TEXT values, found expression [{}] type [{}]",
                    ex.loc.text,
                    ex.ty.name().to_ascii_uppercase()
                ),
            ))
        }
    }

    /// After appending `k` columns, earlier columns with the same names are dropped.
    fn dedupe_tail(&mut self, layout: &mut Layout, k: usize) {
        let w = layout.len();
        let tail: Vec<String> = layout[w - k..].iter().map(|(n, _)| n.clone()).collect();
        let idx: Vec<usize> = (0..w)
            .filter(|&i| {
                if i >= w - k {
                    // keep the last of duplicated names within the tail
                    !layout[i + 1..].iter().any(|(n, _)| *n == layout[i].0)
                } else {
                    !tail.contains(&layout[i].0)
                }
            })
            .collect();
        self.project(layout, idx);
    }

    fn keep(&self, patterns: &[(String, ast::Span)], layout: &Layout) -> Result<Vec<usize>, Diagnostic> {
        // each column goes to the most specific matching pattern (exact beats wildcard; among
        // equals, the later pattern wins), then columns are ordered by that pattern's position
        let mut best: Vec<Option<(u8, usize)>> = vec![None; layout.len()];
        for (pi, (p, span)) in patterns.iter().enumerate() {
            let prio = if p == "*" {
                0
            } else if p.contains('*') {
                1
            } else {
                2
            };
            let mut any = false;
            for (i, (n, _)) in layout.iter().enumerate() {
                if pattern_matches(p, n) {
                    any = true;
                    if best[i].is_none_or(|(bp, _)| prio >= bp) {
                        best[i] = Some((prio, pi));
                    }
                }
            }
            if !any {
                if p.contains('*') {
                    if p != "*" {
                        return Err(self.err(span.clone(), format!("No matches found for pattern [{p}]")));
                    }
                } else {
                    return Err(self.err(span.clone(), unknown_column(p, layout)));
                }
            }
        }
        let mut idx: Vec<(usize, usize)> = best
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.map(|(_, pi)| (pi, i)))
            .collect();
        idx.sort();
        Ok(idx.into_iter().map(|(_, i)| i).collect())
    }

    fn stats(
        &mut self,
        aggs: &[Field],
        by: &[Field],
        inline: bool,
        span: &ast::Span,
        layout: &mut Layout,
    ) -> Result<(), Diagnostic> {
        if aggs.is_empty() && by.is_empty() {
            return Err(self.err(
                span.clone(),
                "At least one aggregation or grouping expression required",
            ));
        }
        // a later field with the same name shadows an earlier one; a grouping shadows
        // aggregates; shadowed groupings are dropped from the grouping altogether
        let name_loc = |sp: &ast::Span| line_col(self.src, sp.start);
        let mut kept_by: Vec<&Field> = Vec::new();
        for (i, g) in by.iter().enumerate() {
            if let Some(w) = by[i + 1..].iter().rev().find(|x| x.name == g.name) {
                let (l1, c1) = name_loc(&g.name_span);
                let (l2, c2) = name_loc(&w.name_span);
                self.warnings.push(format!(
                    "Line {l1}:{c1}: Field '{}' shadowed by field at line {l2}:{c2}",
                    g.name
                ));
                continue;
            }
            kept_by.push(g);
        }
        let mut kept_aggs: Vec<&Field> = Vec::new();
        for (i, f) in aggs.iter().enumerate() {
            let winner = kept_by
                .iter()
                .find(|g| g.name == f.name)
                .copied()
                .or_else(|| aggs[i + 1..].iter().rev().find(|x| x.name == f.name));
            if let Some(w) = winner {
                let (l1, c1) = name_loc(&f.name_span);
                let (l2, c2) = name_loc(&w.name_span);
                self.warnings.push(format!(
                    "Line {l1}:{c1}: Field '{}' shadowed by field at line {l2}:{c2}",
                    f.name
                ));
                continue;
            }
            kept_aggs.push(f);
        }
        let mut groups = Vec::new();
        let mut group_layout: Layout = Vec::new();
        for g in &kept_by {
            if let ExprKind::Call(name, _) = &g.expr.kind
                && AGGREGATES.contains(&name.as_str())
            {
                return Err(self.err(
                    g.expr.span.clone(),
                    format!(
                        "grouping key [{}] cannot be an aggregate function",
                        &self.src[g.expr.span.clone()]
                    ),
                ));
            }
            let ex = self.expr(&g.expr, layout, None)?;
            group_layout.push((g.name.clone(), ex.ty));
            groups.push(ex);
        }
        // aggregate arguments see the input columns, then the grouping aliases
        let mut agg_input = layout.clone();
        let mut group_cols = Vec::new();
        for (gi, (n, t)) in group_layout.iter().enumerate() {
            // a grouping alias shadows an input column of the same name (statsWithFilterOnSameColumn)
            let plain_field = matches!(&kept_by[gi].expr.kind, ExprKind::Field(f) if f == n);
            if !plain_field {
                agg_input.push((n.clone(), *t));
                group_cols.push(gi);
            }
        }
        let mut cx = AggCx {
            input: &agg_input,
            groups: &group_layout,
            aggs: Vec::new(),
        };
        let mut outputs = Vec::new();
        let mut out_layout: Layout = Vec::new();
        for f in &kept_aggs {
            let before = cx.aggs.len();
            let mut ex = self.expr(&f.expr, layout, Some(&mut cx))?;
            if let Some(filter) = &f.filter {
                let fx = self.expr(filter, &agg_input, None)?;
                for a in &mut cx.aggs[before..] {
                    a.filter = Some(fx.clone());
                }
            }
            if let ExK::Col(_) = ex.kind {
                ex.loc = self.loc(&f.expr.span);
            }
            out_layout.push((f.name.clone(), ex.ty));
            outputs.push(ex);
        }
        let agg_specs = std::mem::take(&mut cx.aggs);
        for (i, (n, t)) in group_layout.iter().enumerate() {
            out_layout.push((n.clone(), *t));
            outputs.push(Ex {
                kind: ExK::Col(i),
                ty: *t,
                loc: self.loc(&kept_by[i].expr.span),
            });
        }
        let w = layout.len();
        if inline {
            let keep_input: Vec<usize> = (0..w)
                .filter(|&i| !out_layout.iter().any(|(n, _)| *n == layout[i].0))
                .collect();
            let mut new_layout: Layout = keep_input.iter().map(|&i| layout[i].clone()).collect();
            new_layout.extend(out_layout);
            self.push(
                Stage::InlineStats(Arc::new(StatsSpec {
                    groups,
                    aggs: agg_specs,
                    outputs,
                    keep_input,
                    group_cols,
                })),
                w,
            );
            *layout = new_layout;
        } else {
            self.push(
                Stage::Stats(Arc::new(StatsSpec {
                    groups,
                    aggs: agg_specs,
                    outputs,
                    keep_input: Vec::new(),
                    group_cols,
                })),
                w,
            );
            *layout = out_layout;
        }
        Ok(())
    }

    /// Types an expression. With `agg`, names resolve to group columns and aggregate calls are
    /// collected (STATS output expressions over `[groups..., aggregates...]`).
    fn expr(
        &mut self,
        e: &ast::Expr,
        layout: &Layout,
        mut agg: Option<&mut AggCx>,
    ) -> Result<Ex, Diagnostic> {
        let loc = self.loc(&e.span);
        let mk = |kind: ExK, ty: DataType| Ex {
            kind,
            ty,
            loc: loc.clone(),
        };
        Ok(match &e.kind {
            ExprKind::Null => mk(ExK::Lit(Val::Null), DataType::Null),
            ExprKind::Bool(b) => mk(ExK::Lit(Val::Bool(*b)), DataType::Boolean),
            ExprKind::Int(text) => int_literal(text, false, loc.clone()),
            ExprKind::Dec(d) => mk(ExK::Lit(Val::Double(*d)), DataType::Double),
            ExprKind::Str(s) => mk(ExK::Lit(Val::str(s.clone())), DataType::Keyword),
            ExprKind::TimeSpan(n, unit) => {
                let (v, ty) = time_span(*n, unit)
                    .ok_or_else(|| self.err(e.span.clone(), format!("Unexpected temporal unit: '{unit}'")))?;
                mk(ExK::Lit(v), ty)
            }
            ExprKind::List(items) => {
                let mut vals = Vec::new();
                let mut ty = DataType::Null;
                for it in items {
                    let x = self.expr(it, layout, None)?;
                    if !x.is_foldable() {
                        return Err(self.err(it.span.clone(), "multi-valued literals must be constants"));
                    }
                    ty = functions::unify(ty, x.ty);
                    vals.push(functions::fold(&x, 0));
                }
                let vals = vals
                    .into_iter()
                    .map(|v| match (v, ty) {
                        (Val::Int(i), DataType::Double) => Val::Double(i as f64),
                        (v, _) => v,
                    })
                    .collect();
                mk(ExK::Lit(Val::from_values(vals)), ty)
            }
            ExprKind::Field(name) => {
                if let Some(cx) = agg.as_deref() {
                    if let Some(i) = lookup(cx.groups, name) {
                        return Ok(mk(ExK::Col(i), cx.groups[i].1));
                    }
                    if lookup(cx.input, name).is_some() {
                        return Err(self.err(
                            e.span.clone(),
                            format!(
                                "column [{name}] must appear in the STATS BY clause or be used in an aggregate function"
                            ),
                        ));
                    }
                    return Err(self.err(e.span.clone(), unknown_column(name, cx.input)));
                }
                match lookup(layout, name) {
                    Some(i) => mk(ExK::Col(i), layout[i].1),
                    None => return Err(self.err(e.span.clone(), unknown_column(name, layout))),
                }
            }
            ExprKind::Star => return Err(self.err(e.span.clone(), "'*' is only allowed in count(*)")),
            ExprKind::Map(_) => {
                return Err(self.err(
                    e.span.clone(),
                    "function options are only allowed as a function's last argument",
                ));
            }
            ExprKind::Call(name, args) => {
                if AGGREGATES.contains(&name.as_str()) {
                    let Some(cx) = agg else {
                        return Err(self.err(
                            e.span.clone(),
                            format!(
                                "aggregate function [{}] not allowed outside STATS command",
                                &self.src[e.span.clone()]
                            ),
                        ));
                    };
                    let spec = self.agg_call(name, args, cx.input, e)?;
                    let ty = spec.ty;
                    let i = cx.groups.len() + cx.aggs.len();
                    cx.aggs.push(spec);
                    return Ok(mk(ExK::Col(i), ty));
                }
                if name == "kql" {
                    return self.kql(args, layout, e);
                }
                if name == "to_ip"
                    && let Some(ast::Expr {
                        kind: ExprKind::Map(opts),
                        span,
                    }) = args.get(1)
                {
                    let mut id = "to_ip";
                    for (k, v) in opts {
                        match (k.as_str(), &v.kind) {
                            ("leading_zeros", ExprKind::Str(mode)) => {
                                id = match mode.as_str() {
                                    "reject" => "to_ip",
                                    "decimal" => "to_ip_decimal",
                                    "octal" => "to_ip_octal",
                                    other => {
                                        return Err(self.err(
                                            v.span.clone(),
                                            format!("Illegal leading_zeros [{other}]"),
                                        ));
                                    }
                                }
                            }
                            _ => {
                                return Err(
                                    self.err(span.clone(), format!("Invalid option [{k}] in [to_ip]"))
                                );
                            }
                        }
                    }
                    let x = self.expr(&args[0], layout, agg)?;
                    return Ok(mk(ExK::Call(id, vec![x]), DataType::Ip));
                }
                let mut xs = Vec::new();
                for a in args {
                    xs.push(self.expr(a, layout, agg.as_deref_mut())?);
                }
                self.coerce_call_args(name, &mut xs);
                let (id, ty) = functions::resolve(name, &xs).map_err(|m| self.err(e.span.clone(), m))?;
                mk(ExK::Call(id, xs), ty)
            }
            ExprKind::Neg(inner) => {
                if let ExprKind::Int(text) = &inner.kind {
                    return Ok(int_literal(text, true, loc));
                }
                let x = self.expr(inner, layout, agg)?;
                if let ExK::Lit(Val::Double(d)) = x.kind {
                    return Ok(mk(ExK::Lit(Val::Double(-d)), DataType::Double));
                }
                if !(x.ty.is_numeric() || x.ty.is_span() || x.ty == DataType::Null) {
                    return Err(self.err(
                        e.span.clone(),
                        format!(
                            "argument of [{}] must be [numeric, date_period or time_duration], found value [{}] type [{}]",
                            &self.src[e.span.clone()],
                            &self.src[inner.span.clone()],
                            x.ty.name()
                        ),
                    ));
                }
                let ty = x.ty;
                mk(ExK::Neg(Box::new(x)), ty)
            }
            ExprKind::Not(inner) => {
                let x = self.expr(inner, layout, agg)?;
                self.require_bool(&x, inner, e)?;
                mk(ExK::Not(Box::new(x)), DataType::Boolean)
            }
            ExprKind::Bin(op, l, r) => {
                let mut x = self.expr(l, layout, agg.as_deref_mut())?;
                let mut y = self.expr(r, layout, agg)?;
                match op {
                    BinOp::And | BinOp::Or => {
                        self.require_bool(&x, l, e)?;
                        self.require_bool(&y, r, e)?;
                        let k = if *op == BinOp::And {
                            ExK::And(Box::new(x), Box::new(y))
                        } else {
                            ExK::Or(Box::new(x), Box::new(y))
                        };
                        mk(k, DataType::Boolean)
                    }
                    op if op.is_comparison() => {
                        coerce_pair(&mut x, &mut y);
                        self.check_comparable(&x, &y, e, *op)?;
                        mk(ExK::Cmp(*op, Box::new(x), Box::new(y)), DataType::Boolean)
                    }
                    op => {
                        if y.ty.is_span() {
                            coerce_literal(&mut x, DataType::Date);
                        } else if x.ty.is_span() {
                            coerce_literal(&mut y, DataType::Date);
                        }
                        let ty = self.arith_type(*op, &x, &y, e)?;
                        mk(ExK::Arith(*op, Box::new(x), Box::new(y)), ty)
                    }
                }
            }
            ExprKind::IsNull(inner, neg) => {
                let x = self.expr(inner, layout, agg)?;
                mk(ExK::IsNull(Box::new(x), *neg), DataType::Boolean)
            }
            ExprKind::In(inner, list, neg) => {
                let mut x = self.expr(inner, layout, agg.as_deref_mut())?;
                let mut items = Vec::new();
                for it in list {
                    let mut y = self.expr(it, layout, agg.as_deref_mut())?;
                    coerce_pair(&mut x, &mut y);
                    if !comparable(x.ty, y.ty) {
                        return Err(self.err(
                            it.span.clone(),
                            format!(
                                "{} argument of [{}] must be [{}], found value [{}] type [{}]",
                                ordinal(items.len() + 2),
                                &self.src[e.span.clone()],
                                x.ty.name(),
                                &self.src[it.span.clone()],
                                y.ty.name()
                            ),
                        ));
                    }
                    items.push(y);
                }
                let node = mk(ExK::In(Box::new(x), items), DataType::Boolean);
                if *neg {
                    mk(ExK::Not(Box::new(node)), DataType::Boolean)
                } else {
                    node
                }
            }
            ExprKind::Like {
                expr: inner,
                patterns,
                rlike,
                negated,
            } => {
                let x = self.expr(inner, layout, agg)?;
                if !(x.ty.is_string() || x.ty == DataType::Null) {
                    return Err(self.err(
                        inner.span.clone(),
                        format!(
                            "argument of [{}] must be [string], found value [{}] type [{}]",
                            &self.src[e.span.clone()],
                            &self.src[inner.span.clone()],
                            x.ty.name()
                        ),
                    ));
                }
                let mut res = Vec::new();
                for pe in patterns {
                    let p = &self.constant_string(pe, layout)?;
                    let r = if *rlike {
                        crate::lucene::compile(p).map(Pattern::Rlike)
                    } else {
                        like::like_to_regex(p).map(Pattern::Like)
                    };
                    res.push(Arc::new(r.map_err(|m| self.err(e.span.clone(), m))?));
                }
                let node = mk(ExK::Like(Box::new(x), res), DataType::Boolean);
                if *negated {
                    mk(ExK::Not(Box::new(node)), DataType::Boolean)
                } else {
                    node
                }
            }
            ExprKind::Cast(inner, tyname) => {
                let x = self.expr(inner, layout, agg)?;
                let Some(target) = DataType::parse(tyname) else {
                    return Err(self.err(
                        e.span.clone(),
                        format!("Unsupported conversion to type [{tyname}]"),
                    ));
                };
                if target.is_span() {
                    if let ExK::Lit(Val::Str(s)) = &x.kind
                        && let Some((v, t)) = parse_span_text(s)
                        && t == target
                    {
                        return Ok(mk(ExK::Lit(v), t));
                    }
                    if x.ty == target {
                        return Ok(x);
                    }
                    if x.ty == DataType::Null {
                        return Ok(mk(ExK::Lit(Val::Null), target));
                    }
                    if x.ty.is_string() {
                        let f = if target == DataType::DatePeriod {
                            "to_dateperiod"
                        } else {
                            "to_timeduration"
                        };
                        return Ok(mk(ExK::Call(f, vec![x]), target));
                    }
                    return Err(self.err(
                        e.span.clone(),
                        format!("Cannot convert [{}] to [{tyname}]", loc.text),
                    ));
                }
                if x.ty == target {
                    return Ok(x);
                }
                let f = match target {
                    DataType::Keyword => "to_string",
                    DataType::Text => "to_text",
                    DataType::Integer => "to_integer",
                    DataType::Long => "to_long",
                    DataType::UnsignedLong => "to_unsigned_long",
                    DataType::Double => "to_double",
                    DataType::Boolean => "to_boolean",
                    DataType::Ip => "to_ip",
                    DataType::Date | DataType::DateNanos => "to_datetime",
                    DataType::Version => "to_version",
                    _ => {
                        return Err(self.err(
                            e.span.clone(),
                            format!("Unsupported conversion to type [{tyname}]"),
                        ));
                    }
                };
                let (id, ty) = functions::resolve(f, std::slice::from_ref(&x))
                    .map_err(|m| self.err(e.span.clone(), m))?;
                mk(ExK::Call(id, vec![x]), ty)
            }
        })
    }

    /// Replaces columns known to be constant by their values.
    fn substitute_consts(&self, ex: &Ex, layout: &Layout) -> Ex {
        let mut out = ex.clone();
        fn walk(e: &mut Ex, layout: &Layout, consts: &std::collections::HashMap<String, Val>) {
            if let ExK::Col(i) = e.kind {
                if let Some(v) = layout.get(i).and_then(|(n, _)| consts.get(n)) {
                    e.kind = ExK::Lit(v.clone());
                }
                return;
            }
            match &mut e.kind {
                ExK::Not(a) | ExK::Neg(a) | ExK::IsNull(a, _) | ExK::Like(a, _) | ExK::AnyMatch(a, _) => {
                    walk(a, layout, consts)
                }
                ExK::And(a, b) | ExK::Or(a, b) | ExK::Arith(_, a, b) | ExK::Cmp(_, a, b) => {
                    walk(a, layout, consts);
                    walk(b, layout, consts);
                }
                ExK::In(a, l) => {
                    walk(a, layout, consts);
                    l.iter_mut().for_each(|x| walk(x, layout, consts));
                }
                ExK::Call(_, args) => args.iter_mut().for_each(|x| walk(x, layout, consts)),
                ExK::Lit(_) | ExK::Col(_) => {}
            }
        }
        walk(&mut out, layout, &self.consts);
        out
    }

    /// A LIKE/RLIKE pattern: a string literal or a constant expression.
    fn constant_string(&mut self, e: &ast::Expr, layout: &Layout) -> Result<String, Diagnostic> {
        if let ExprKind::Str(s) = &e.kind {
            return Ok(s.clone());
        }
        let ex = self.expr(e, layout, None)?;
        let ex = self.substitute_consts(&ex, layout);
        if !ex.is_foldable() || !ex.ty.is_string() {
            return Err(self.err(
                e.span.clone(),
                format!(
                    "pattern must be a constant string, found [{}]",
                    &self.src[e.span.clone()]
                ),
            ));
        }
        match functions::fold(&ex, 0) {
            Val::Str(s) => Ok(s.to_string()),
            _ => Err(self.err(e.span.clone(), "pattern must not be null")),
        }
    }

    fn require_bool(&self, x: &Ex, part: &ast::Expr, whole: &ast::Expr) -> Result<(), Diagnostic> {
        if matches!(x.ty, DataType::Boolean | DataType::Null) {
            return Ok(());
        }
        Err(self.err(
            part.span.clone(),
            format!(
                "argument of [{}] must be [boolean], found value [{}] type [{}]",
                &self.src[whole.span.clone()],
                &self.src[part.span.clone()],
                x.ty.name()
            ),
        ))
    }

    fn check_comparable(&self, x: &Ex, y: &Ex, e: &ast::Expr, _op: BinOp) -> Result<(), Diagnostic> {
        if comparable(x.ty, y.ty) {
            return Ok(());
        }
        Err(self.err(
            e.span.clone(),
            format!(
                "first argument of [{}] is [{}] so second argument must also be [{}] but was [{}]",
                &self.src[e.span.clone()],
                type_family(x.ty),
                type_family(x.ty),
                y.ty.name()
            ),
        ))
    }

    fn arith_type(&self, op: BinOp, x: &Ex, y: &Ex, e: &ast::Expr) -> Result<DataType, Diagnostic> {
        let (a, b) = (x.ty, y.ty);
        if a == DataType::Null || b == DataType::Null {
            return Ok(if a == DataType::Null { b } else { a });
        }
        if a.is_numeric() && b.is_numeric() {
            return Ok(DataType::widen(a, b));
        }
        if matches!(op, BinOp::Add | BinOp::Sub) {
            if a.is_date() && b.is_span() {
                return Ok(a);
            }
            if a.is_span() && b.is_date() && op == BinOp::Add {
                return Ok(b);
            }
            if a == b && a.is_span() {
                return Ok(a);
            }
        }
        Err(self.err(
            e.span.clone(),
            format!(
                "[{}] has arguments with incompatible types [{}] and [{}]",
                op.symbol(),
                a.name(),
                b.name()
            ),
        ))
    }

    /// String literals passed where a date or ip is expected become typed literals.
    fn coerce_call_args(&self, name: &str, xs: &mut [Ex]) {
        let date_pos: &[usize] = match name {
            "date_trunc" | "date_extract" => &[1],
            "date_diff" => &[1, 2],
            "date_format" if xs.len() == 2 => &[1],
            "date_format" => &[0],
            _ => &[],
        };
        for &p in date_pos {
            if let Some(x) = xs.get_mut(p)
                && let ExK::Lit(Val::Str(s)) = &x.kind
                && let Some(d) = parse_date(s)
            {
                x.kind = ExK::Lit(Val::Date(d));
                x.ty = DataType::Date;
            }
        }
        if name == "date_trunc"
            && let Some(x) = xs.first_mut()
            && let ExK::Lit(Val::Str(s)) = &x.kind
            && let Some((v, t)) = parse_span_text(s)
        {
            x.kind = ExK::Lit(v);
            x.ty = t;
        }
        if name == "bucket"
            && xs.len() == 2
            && let ExK::Lit(Val::Str(s)) = &xs[1].kind
            && let Some((v, t)) = parse_span_text(s)
        {
            xs[1].kind = ExK::Lit(v);
            xs[1].ty = t;
        }
        if matches!(name, "coalesce" | "greatest" | "least" | "case" | "mv_append") {
            let target = xs
                .iter()
                .map(|x| x.ty)
                .find(|t| *t == DataType::Date || *t == DataType::Ip);
            if let Some(t) = target {
                for x in xs.iter_mut() {
                    coerce_literal(x, t);
                }
            }
        }
    }

    fn agg_call(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        input: &Layout,
        e: &ast::Expr,
    ) -> Result<AggSpec, Diagnostic> {
        if name == "count" && (args.is_empty() || matches!(args[0].kind, ExprKind::Star)) {
            return Ok(AggSpec {
                kind: AggKind::CountStar,
                arg: None,
                arg2: None,
                loc: self.loc(&e.span),
                filter: None,
                arg_ty: DataType::Null,
                ty: DataType::Long,
            });
        }
        if args.is_empty() {
            return Err(self.err(
                e.span.clone(),
                format!("error building [{name}]: expects at least one argument"),
            ));
        }
        let arg = self.expr(&args[0], input, None)?;
        if contains_nested_agg(&args[0]) {
            return Err(self.err(
                args[0].span.clone(),
                format!(
                    "The field names are reserved; nested aggregations are not supported: [{}]",
                    &self.src[e.span.clone()]
                ),
            ));
        }
        let t = arg.ty;
        if name == "weighted_avg" {
            let Some(w) = args.get(1) else {
                return Err(self.err(e.span.clone(), "weighted_avg expects a value and a weight"));
            };
            let wx = self.expr(w, input, None)?;
            let wc = self.substitute_consts(&wx, input);
            if wc.is_foldable()
                && let Some(wv) = functions::fold(&wc, 0).as_f64()
                && wv != 0.0
            {
                // a constant weight makes it a plain average
                return Ok(AggSpec {
                    kind: AggKind::Avg,
                    arg: Some(arg),
                    arg2: None,
                    loc: self.loc(&e.span),
                    filter: None,
                    arg_ty: t,
                    ty: DataType::Double,
                });
            }
            return Ok(AggSpec {
                kind: AggKind::WeightedAvg,
                arg: Some(arg),
                arg2: Some(wx),
                loc: self.loc(&e.span),
                filter: None,
                arg_ty: t,
                ty: DataType::Double,
            });
        }
        let consts: Vec<Val> = args[1..]
            .iter()
            .map(|a| self.expr(a, input, None).map(|x| functions::fold(&x, 0)))
            .collect::<Result<_, _>>()?;
        let numeric = |ok: bool| -> Result<(), Diagnostic> {
            if ok {
                Ok(())
            } else {
                Err(self.err(
                    args[0].span.clone(),
                    format!(
                        "first argument of [{}] must be [numeric except unsigned_long or counter types], found value [{}] type [{}]",
                        &self.src[e.span.clone()],
                        &self.src[args[0].span.clone()],
                        t.name()
                    ),
                ))
            }
        };
        let (kind, ty) = match name {
            "count" => (AggKind::Count, DataType::Long),
            "count_distinct" => (AggKind::CountDistinct, DataType::Long),
            "values" => (AggKind::Values, t),
            "sum" => {
                numeric(t.is_numeric() || t == DataType::Null)?;
                (
                    AggKind::Sum,
                    if t == DataType::Double {
                        DataType::Double
                    } else {
                        DataType::Long
                    },
                )
            }
            "min" => (AggKind::Min, t),
            "max" => (AggKind::Max, t),
            "avg" => {
                numeric(t.is_numeric() || t == DataType::Null)?;
                (AggKind::Avg, DataType::Double)
            }
            "median" => {
                numeric(t.is_numeric() || t == DataType::Null)?;
                (AggKind::Median, DataType::Double)
            }
            "median_absolute_deviation" => {
                numeric(t.is_numeric() || t == DataType::Null)?;
                (AggKind::Mad, DataType::Double)
            }
            "std_dev" => {
                numeric(t.is_numeric() || t == DataType::Null)?;
                (AggKind::StdDev, DataType::Double)
            }
            "present" => (AggKind::Present(true), DataType::Boolean),
            "absent" => (AggKind::Present(false), DataType::Boolean),
            "variance" | "std_var" => {
                numeric(t.is_numeric() || t == DataType::Null)?;
                (AggKind::Variance, DataType::Double)
            }
            "percentile" => {
                numeric(t.is_numeric() || t == DataType::Null)?;
                let p = consts.first().and_then(Val::as_f64).ok_or_else(|| {
                    self.err(e.span.clone(), "percentile needs a constant numeric percentile")
                })?;
                (AggKind::Percentile(p), DataType::Double)
            }
            "top" => {
                let n = consts.first().and_then(Val::as_i64).unwrap_or(1).max(0) as usize;
                let asc = !matches!(consts.get(1), Some(Val::Str(o)) if o.eq_ignore_ascii_case("desc"));
                (AggKind::Top(n, asc), t)
            }
            _ => return Err(self.err(e.span.clone(), format!("Unknown function [{name}]"))),
        };
        let ty = if t == DataType::Null
            && !matches!(
                kind,
                AggKind::Count | AggKind::CountDistinct | AggKind::Present(_)
            ) {
            if matches!(
                kind,
                AggKind::Sum | AggKind::Min | AggKind::Max | AggKind::Values | AggKind::Top(..)
            ) {
                DataType::Null
            } else {
                ty
            }
        } else {
            ty
        };
        Ok(AggSpec {
            kind,
            arg: Some(arg),
            arg2: None,
            loc: self.loc(&e.span),
            filter: None,
            arg_ty: t,
            ty,
        })
    }

    /// `KQL("...")` over the document fields: a small KQL subset (see `kql`).
    fn kql(&mut self, args: &[ast::Expr], layout: &Layout, e: &ast::Expr) -> Result<Ex, Diagnostic> {
        let Some(ExprKind::Str(q)) = args.first().map(|a| &a.kind) else {
            return Err(self.err(e.span.clone(), "KQL expects a constant string query"));
        };
        let mut resolve =
            |name: &str| -> Option<(usize, DataType)> { lookup(layout, name).map(|i| (i, layout[i].1)) };
        let ex = crate::kql::compile(q, &mut resolve, self.loc(&e.span))
            .map_err(|m| self.err(e.span.clone(), m))?;
        Ok(ex)
    }
}

/// `Unknown column [x]`, with Elasticsearch's "did you mean" hint for near misses.
fn unknown_column(name: &str, layout: &Layout) -> String {
    let mut close: Vec<(usize, &str)> = layout
        .iter()
        .map(|(n, _)| (edit_distance(name, n), n.as_str()))
        .filter(|(d, n)| *d > 0 && *d <= 2 && name.chars().count() > 2 * *d && n.len() > 2 * *d)
        .collect();
    close.sort();
    close.dedup_by(|a, b| a.1 == b.1);
    let names: Vec<&str> = close.iter().take(3).map(|(_, n)| *n).collect();
    match names.as_slice() {
        [] => format!("Unknown column [{name}]"),
        [one] => format!("Unknown column [{name}], did you mean [{one}]?"),
        many => format!(
            "Unknown column [{name}], did you mean any of [{}]?",
            many.join(", ")
        ),
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn ordinal(n: usize) -> &'static str {
    match n {
        1 => "first",
        2 => "second",
        3 => "third",
        4 => "fourth",
        5 => "fifth",
        _ => "an",
    }
}

fn type_family(t: DataType) -> &'static str {
    if t.is_numeric() {
        "numeric"
    } else if t.is_string() {
        "keyword"
    } else {
        t.name()
    }
}

fn comparable(a: DataType, b: DataType) -> bool {
    a == DataType::Null
        || b == DataType::Null
        || a == b
        || (a.is_numeric() && b.is_numeric())
        || (a.is_string() && b.is_string())
        || (a.is_date() && b.is_date())
        || (a == DataType::Version && b.is_string())
        || (b == DataType::Version && a.is_string())
}

/// A string literal compared with a date or ip column is converted to that type.
fn coerce_pair(x: &mut Ex, y: &mut Ex) {
    if x.ty.is_date() || x.ty == DataType::Ip {
        let t = x.ty;
        coerce_literal(y, t);
    } else if y.ty.is_date() || y.ty == DataType::Ip {
        let t = y.ty;
        coerce_literal(x, t);
    }
}

fn coerce_literal(x: &mut Ex, t: DataType) {
    if let ExK::Lit(Val::Str(s)) = &x.kind {
        let v = if t.is_date() {
            parse_date(s).map(Val::Date)
        } else if t == DataType::Ip {
            parse_ip(s).map(Val::Ip)
        } else {
            None
        };
        if let Some(v) = v {
            x.kind = ExK::Lit(v);
            x.ty = t;
        }
    }
}

fn int_literal(text: &str, negative: bool, loc: Arc<Loc>) -> Ex {
    let full = if negative {
        format!("-{text}")
    } else {
        text.to_string()
    };
    let (v, ty) = match full.parse::<i64>() {
        Ok(i) if i32::try_from(i).is_ok() => (Val::Int(i), DataType::Integer),
        Ok(i) => (Val::Int(i), DataType::Long),
        Err(_) => (
            Val::Double(full.parse::<f64>().unwrap_or(f64::NAN)),
            DataType::Double,
        ),
    };
    Ex {
        kind: ExK::Lit(v),
        ty,
        loc,
    }
}

fn time_span(n: i64, unit: &str) -> Option<(Val, DataType)> {
    let ms = |m: i64| Some((Val::Duration(n.checked_mul(m)?), DataType::TimeDuration));
    let n32 = i32::try_from(n).ok()?;
    match unit {
        "millisecond" | "milliseconds" | "ms" => ms(1),
        "second" | "seconds" | "sec" | "s" => ms(1000),
        "minute" | "minutes" | "min" => ms(60_000),
        "hour" | "hours" | "h" => ms(3_600_000),
        "day" | "days" | "d" => Some((Val::Period(0, n32), DataType::DatePeriod)),
        "week" | "weeks" | "w" => Some((Val::Period(0, n32.checked_mul(7)?), DataType::DatePeriod)),
        "month" | "months" | "mo" => Some((Val::Period(n32, 0), DataType::DatePeriod)),
        "quarter" | "quarters" | "q" => Some((Val::Period(n32.checked_mul(3)?, 0), DataType::DatePeriod)),
        "year" | "years" | "yr" | "y" => Some((Val::Period(n32.checked_mul(12)?, 0), DataType::DatePeriod)),
        _ => None,
    }
}

/// `"1 day"`, `"3 hours"` as a span.
pub fn parse_span_text(s: &str) -> Option<(Val, DataType)> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '-')?;
    let n: i64 = s[..split].trim().parse().ok()?;
    time_span(n, &s[split..].trim().to_ascii_lowercase())
}

fn contains_nested_agg(e: &ast::Expr) -> bool {
    match &e.kind {
        ExprKind::Call(name, args) => {
            AGGREGATES.contains(&name.as_str()) || args.iter().any(contains_nested_agg)
        }
        ExprKind::Bin(_, a, b) => contains_nested_agg(a) || contains_nested_agg(b),
        ExprKind::Neg(a) | ExprKind::Not(a) | ExprKind::Cast(a, _) | ExprKind::IsNull(a, _) => {
            contains_nested_agg(a)
        }
        _ => false,
    }
}
