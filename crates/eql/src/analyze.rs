//! The analyzer: resolves field names against the [`events::Catalog`], checks operand and
//! function argument types, and turns the syntax tree into the executable [`Plan`].

use events::{Catalog, Document, FieldType};

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::expr::{Const, Expr, FieldMemo, Func, StrSet, regex_matcher, wildcard_matcher};
use crate::value::CmpMode;

/// Static type of an expression, as far as the checks need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Str,
    Num,
    Bool,
    Ip,
    Date,
    Version,
    Null,
    Any,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Str => "keyword",
            Ty::Num => "long",
            Ty::Bool => "boolean",
            Ty::Ip => "ip",
            Ty::Date => "date",
            Ty::Version => "version",
            Ty::Null => "null",
            Ty::Any => "unsupported",
        }
    }

    fn stringish(self) -> bool {
        matches!(self, Ty::Str | Ty::Ip | Ty::Version | Ty::Null | Ty::Any)
    }

    fn numeric(self) -> bool {
        matches!(self, Ty::Num | Ty::Null | Ty::Any)
    }

    fn compatible(self, other: Ty) -> bool {
        use Ty::*;
        match (self, other) {
            (Null | Any, _) | (_, Null | Any) => true,
            (a, b) if a == b => true,
            (Str | Ip | Version, Str | Ip | Version) => true,
            (Date, Str | Num) | (Str | Num, Date) => true,
            _ => false,
        }
    }
}

/// A stage's condition: the event category (none for `any`) and the `where` expression.
#[derive(Debug, Clone)]
pub struct Filter {
    pub category: Option<String>,
    pub condition: Expr,
}

impl Filter {
    pub fn matches(&self, doc: &Document) -> bool {
        self.category_matches(doc) && self.condition.test(doc)
    }

    /// [`Filter::matches`] reading fields through `memo`.
    pub fn matches_memo<'d>(&self, doc: &'d Document, memo: &FieldMemo<'d>) -> bool {
        self.category_matches(doc) && self.condition.test_memo(doc, memo)
    }

    fn category_matches(&self, doc: &Document) -> bool {
        if let Some(cat) = &self.category {
            let mut found = false;
            doc.for_each_value("event.category", &mut |v| {
                if v.as_str() == Some(cat.as_str()) {
                    found = true
                }
            });
            if !found {
                return false;
            }
        }
        true
    }
}

/// A join key: its expression and whether a missing value is allowed (`?field` keys join on
/// null; other keys exclude events lacking them).
#[derive(Debug, Clone)]
pub struct KeyExpr {
    pub expr: Expr,
    pub optional: bool,
    /// A `date` field: samples compare such keys as epoch milliseconds.
    pub date: bool,
}

#[derive(Debug, Clone)]
pub struct StagePlan {
    pub filter: Filter,
    pub keys: Vec<KeyExpr>,
}

impl StagePlan {
    /// The event matches the stage's condition and has every required join key.
    pub fn accepts(&self, doc: &Document) -> bool {
        self.filter.matches(doc)
            && self
                .keys
                .iter()
                .all(|k| k.optional || !k.expr.eval(doc).is_empty())
    }

    /// [`StagePlan::accepts`] reading fields through `memo`.
    pub fn accepts_memo<'d>(&self, doc: &'d Document, memo: &FieldMemo<'d>) -> bool {
        self.filter.matches_memo(doc, memo)
            && self
                .keys
                .iter()
                .all(|k| k.optional || !k.expr.eval_memo(doc, memo).is_empty())
    }
}

#[derive(Debug, Clone)]
pub enum Plan {
    Event(Filter),
    Sequence {
        stages: Vec<StagePlan>,
        /// Missing-event stages with their gap: `g` lies before positive stage `g` (`0` leading,
        /// `stages.len()` trailing).
        missing: Vec<(usize, StagePlan)>,
        until: Option<StagePlan>,
        maxspan: Option<i64>,
    },
    Sample {
        stages: Vec<StagePlan>,
    },
}

pub struct Analyzer<'c> {
    pub catalog: &'c Catalog,
    pub src: &'c str,
}

type AResult<T> = Result<T, Diagnostic>;

impl Analyzer<'_> {
    fn text(&self, span: &Span) -> &str {
        self.src.get(span.clone()).unwrap_or("?")
    }

    pub fn plan(&self, q: &QueryKind) -> AResult<Plan> {
        Ok(match q {
            QueryKind::Event(f) => Plan::Event(self.filter(f)?),
            QueryKind::Sequence {
                keys,
                maxspan,
                stages,
                until,
            } => {
                let shared = self.keys(keys)?;
                let per_stage = self.check_key_counts(stages, until.as_ref())?;
                let mut planned = Vec::new();
                let mut missing = Vec::new();
                for st in stages {
                    let sp = self.stage(st, &shared, per_stage)?;
                    if st.missing {
                        // a repeated missing stage rejects on any occurrence, like a single one
                        missing.push((planned.len(), sp));
                        continue;
                    }
                    for _ in 0..st.runs {
                        planned.push(sp.clone());
                    }
                }
                if !missing.is_empty() {
                    if planned.is_empty() {
                        return Err(Diagnostic::new(
                            "A sequence requires at least one positive event query",
                            stages[0].span.clone(),
                        ));
                    }
                    if maxspan.is_none() {
                        return Err(Diagnostic::new(
                            "[maxspan] is required when using missing events (![...])",
                            stages[0].span.clone(),
                        ));
                    }
                } else if planned.len() < 2 {
                    return Err(Diagnostic::new(
                        format!(
                            "A sequence requires a minimum of 2 queries, found [{}]",
                            planned.len()
                        ),
                        stages[0].span.clone(),
                    ));
                }
                let until = until
                    .as_ref()
                    .map(|u| self.stage(u, &shared, per_stage))
                    .transpose()?;
                Plan::Sequence {
                    stages: planned,
                    missing,
                    until,
                    maxspan: maxspan.as_ref().map(|(n, _)| *n),
                }
            }
            QueryKind::Sample { keys, stages } => {
                let shared = self.keys(keys)?;
                let per_stage = self.check_key_counts(stages, None)?;
                let planned = stages
                    .iter()
                    .map(|st| self.stage(st, &shared, per_stage))
                    .collect::<AResult<Vec<_>>>()?;
                Plan::Sample { stages: planned }
            }
        })
    }

    fn check_key_counts(&self, stages: &[Stage], until: Option<&Stage>) -> AResult<usize> {
        let first = stages.first().map(|s| s.keys.len()).unwrap_or(0);
        for st in stages.iter().chain(until) {
            if st.keys.len() != first {
                return Err(Diagnostic::new(
                    format!(
                        "inconsistent number of join keys specified; expected [{first}] but found [{}]",
                        st.keys.len()
                    ),
                    st.span.clone(),
                ));
            }
        }
        Ok(first)
    }

    fn keys(&self, keys: &[Ast]) -> AResult<Vec<KeyExpr>> {
        keys.iter()
            .map(|k| {
                let (expr, ty) = self.expr(k)?;
                Ok(KeyExpr {
                    expr,
                    optional: matches!(k, Ast::Field { optional: true, .. }),
                    date: ty == Ty::Date,
                })
            })
            .collect()
    }

    fn stage(&self, st: &Stage, shared: &[KeyExpr], _n: usize) -> AResult<StagePlan> {
        let filter = self.filter(&st.filter)?;
        let mut keys = shared.to_vec();
        keys.extend(self.keys(&st.keys)?);
        Ok(StagePlan { filter, keys })
    }

    fn filter(&self, f: &EventFilter) -> AResult<Filter> {
        let (condition, ty) = self.expr(&f.condition)?;
        if !matches!(ty, Ty::Bool | Ty::Null | Ty::Any) {
            return Err(Diagnostic::new(
                format!(
                    "Condition expression needs to be boolean, found [{}]",
                    ty.name().to_uppercase()
                ),
                f.condition.span(),
            ));
        }
        Ok(Filter {
            category: f.category.as_ref().map(|(c, _)| c.clone()),
            condition,
        })
    }

    fn field_type(&self, name: &str, optional: bool, span: &Span) -> AResult<Option<Ty>> {
        let Some(ft) = self.catalog.get(name) else {
            if optional {
                return Ok(None);
            }
            let similar = similar_names(self.catalog, name);
            let hint = match similar.as_slice() {
                [] => String::new(),
                [one] => format!(", did you mean [{one}]?"),
                many => format!(", did you mean any of [{}]?", many.join(", ")),
            };
            return Err(Diagnostic::new(
                format!("Unknown column [{name}]{hint}"),
                span.clone(),
            ));
        };
        use FieldType::*;
        Ok(Some(match ft {
            t if t.is_string() => Ty::Str,
            t if t.is_numeric() => Ty::Num,
            Boolean => Ty::Bool,
            Ip => Ty::Ip,
            Date | DateNanos => Ty::Date,
            FieldType::Version => Ty::Version,
            Object | Nested => {
                return Err(Diagnostic::new(
                    format!("Cannot use field [{name}] type [object] only its subfields"),
                    span.clone(),
                ));
            }
            _ => Ty::Any,
        }))
    }

    fn expect(&self, ok: bool, nth: &str, whole: &Span, arg: &Ast, ty: Ty, want: &str) -> AResult<()> {
        if ok {
            return Ok(());
        }
        Err(Diagnostic::new(
            format!(
                "{nth} argument of [{}] must be [{want}], found value [{}] type [{}]",
                self.text(whole),
                self.text(&arg.span()),
                ty.name()
            ),
            arg.span(),
        ))
    }

    fn expr(&self, ast: &Ast) -> AResult<(Expr, Ty)> {
        Ok(match ast {
            Ast::Lit(l, _) => match l {
                Lit::Null => (Expr::Null, Ty::Null),
                Lit::Bool(b) => (Expr::Const(Const::Bool(*b)), Ty::Bool),
                Lit::Int(i) => (Expr::Const(Const::Int(*i)), Ty::Num),
                Lit::Float(f) => (Expr::Const(Const::Float(*f)), Ty::Num),
                Lit::Str(s) => (Expr::Const(Const::Str(s.clone())), Ty::Str),
            },
            Ast::Field { name, optional, span } => match self.field_type(name, *optional, span)? {
                Some(ty) => (Expr::Field(crate::expr::intern_field(name)), ty),
                None => (Expr::Null, Ty::Null),
            },
            Ast::Not(inner, _) => {
                let (e, ty) = self.expr(inner)?;
                self.bool_operand(inner, ty)?;
                (Expr::Not(Box::new(e)), Ty::Bool)
            }
            Ast::And(a, b) | Ast::Or(a, b) => {
                let (l, lt) = self.expr(a)?;
                self.bool_operand(a, lt)?;
                let (r, rt) = self.expr(b)?;
                self.bool_operand(b, rt)?;
                let e = if matches!(ast, Ast::And(..)) {
                    Expr::And(Box::new(l), Box::new(r))
                } else {
                    Expr::Or(Box::new(l), Box::new(r))
                };
                (e, Ty::Bool)
            }
            Ast::Cmp(op, a, b, span) => {
                let (l, lt) = self.expr(a)?;
                let (r, rt) = self.expr(b)?;
                if matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    let negated = *op == CmpOp::Ne;
                    // `null` (or an optional field the mapping lacks) on either side tests presence
                    if matches!(r, Expr::Null) {
                        return Ok((Expr::IsNull(Box::new(l), negated), Ty::Bool));
                    }
                    if matches!(l, Expr::Null) {
                        return Ok((Expr::IsNull(Box::new(r), negated), Ty::Bool));
                    }
                }
                self.no_field_comparison(&l, &r, b, span)?;
                if matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge)
                    && (lt == Ty::Bool || rt == Ty::Bool)
                {
                    self.expect(false, "first", span, a, lt, "numeric, date, string")?;
                }
                (Expr::Cmp(*op, Box::new(l), Box::new(r), mode(lt, rt)), Ty::Bool)
            }
            Ast::In {
                expr,
                list,
                insensitive,
                span,
            } => {
                let (e, ty) = self.expr(expr)?;
                if *insensitive {
                    self.expect(ty.stringish(), "first", span, expr, ty, "string")?;
                }
                let mut items = Vec::new();
                let mut m = CmpMode::Plain;
                for item in list {
                    let (ie, it) = self.expr(item)?;
                    self.no_field_comparison(&e, &ie, item, span)?;
                    if !ty.compatible(it) {
                        self.expect(false, "second", span, item, it, ty.name())?;
                    }
                    m = mode(ty, it);
                    items.push(ie);
                }
                let expr = match StrSet::new(&items, *insensitive) {
                    Some(set) if m == CmpMode::Plain => Expr::InStrs(Box::new(e), Box::new(set)),
                    _ => Expr::In(Box::new(e), items, *insensitive, m),
                };
                (expr, Ty::Bool)
            }
            Ast::Match {
                op,
                insensitive,
                expr,
                patterns,
                span,
            } => {
                let (e, ty) = self.expr(expr)?;
                self.expect(ty.stringish(), "first", span, expr, ty, "string")?;
                let mut matchers = Vec::new();
                for p in patterns {
                    let Ast::Lit(Lit::Str(text), psp) = p else {
                        let (_, pt) = self.expr(p)?;
                        return Err(Diagnostic::new(
                            format!(
                                "second argument of [{}] must be a constant string, found [{}] type [{}]",
                                self.text(span),
                                self.text(&p.span()),
                                pt.name()
                            ),
                            p.span(),
                        ));
                    };
                    let m = match op {
                        MatchOp::Seq | MatchOp::Like => wildcard_matcher(text, *insensitive),
                        MatchOp::Regex => regex_matcher(text, *insensitive),
                    }
                    .map_err(|err| {
                        Diagnostic::new(format!("invalid regular expression [{text}]: {err}"), psp.clone())
                    })?;
                    matchers.push(m);
                }
                (Expr::Match(Box::new(e), matchers), Ty::Bool)
            }
            Ast::Arith(op, a, b, span) => {
                let (l, lt) = self.expr(a)?;
                let (r, rt) = self.expr(b)?;
                self.expect(lt.numeric(), "first", span, a, lt, "numeric")?;
                self.expect(rt.numeric(), "second", span, b, rt, "numeric")?;
                (Expr::Arith(*op, Box::new(l), Box::new(r)), Ty::Num)
            }
            Ast::Neg(inner, span) => {
                let (e, ty) = self.expr(inner)?;
                self.expect(ty.numeric(), "first", span, inner, ty, "numeric")?;
                (Expr::Neg(Box::new(e)), Ty::Num)
            }
            Ast::Call {
                name,
                insensitive,
                args,
                span,
            } => self.call(name, *insensitive, args, span)?,
        })
    }

    /// Elasticsearch EQL cannot compare a field with another field (even through functions).
    fn no_field_comparison(&self, l: &Expr, r: &Expr, right: &Ast, whole: &Span) -> AResult<()> {
        let (mut lf, mut rf) = (Vec::new(), Vec::new());
        l.fields(&mut lf);
        r.fields(&mut rf);
        if lf.is_empty() || rf.is_empty() {
            return Ok(());
        }
        Err(Diagnostic::new(
            format!(
                "Comparisons against fields are not (yet) supported; offender [{}] in [{}]",
                self.text(&right.span()),
                self.text(whole)
            ),
            right.span(),
        ))
    }

    fn bool_operand(&self, ast: &Ast, ty: Ty) -> AResult<()> {
        if matches!(ty, Ty::Bool | Ty::Null | Ty::Any) {
            return Ok(());
        }
        Err(Diagnostic::new(
            format!(
                "argument of [{}] must be [boolean], found value [{}] type [{}]",
                self.text(&ast.span()),
                self.text(&ast.span()),
                ty.name()
            ),
            ast.span(),
        ))
    }

    fn call(&self, name: &str, ci: bool, args: &[Ast], span: &Span) -> AResult<(Expr, Ty)> {
        use Func::*;
        // (function, min args, max args, result type, supports `~`)
        let (func, min, max, ret, tilde) = match name.to_ascii_lowercase().as_str() {
            "add" => (Add, 2, 2, Ty::Num, false),
            "between" => (Between, 3, 4, Ty::Str, true),
            "cidrmatch" => (CidrMatch, 2, usize::MAX, Ty::Bool, false),
            "concat" => (Concat, 1, usize::MAX, Ty::Str, false),
            "divide" => (Divide, 2, 2, Ty::Num, false),
            "endswith" => (EndsWith, 2, 2, Ty::Bool, true),
            "indexof" => (IndexOf, 2, 3, Ty::Num, true),
            "length" => (Length, 1, 1, Ty::Num, false),
            "modulo" => (Modulo, 2, 2, Ty::Num, false),
            "multiply" => (Multiply, 2, 2, Ty::Num, false),
            "number" => (Number, 1, 2, Ty::Num, false),
            "startswith" => (StartsWith, 2, 2, Ty::Bool, true),
            "string" => (String, 1, 1, Ty::Str, false),
            "stringcontains" => (StringContains, 2, 2, Ty::Bool, true),
            "substring" => (Substring, 2, 3, Ty::Str, false),
            "subtract" => (Subtract, 2, 2, Ty::Num, false),
            _ => {
                return Err(Diagnostic::new(
                    format!("Unknown function [{name}]"),
                    span.clone(),
                ));
            }
        };
        if ci && !tilde {
            return Err(Diagnostic::new(
                format!("Function [{name}] does not support case-insensitive matching (~)"),
                span.clone(),
            ));
        }
        if args.len() < min || args.len() > max {
            let expected = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(Diagnostic::new(
                format!(
                    "error building [{}]: expects {expected} argument(s), found {}",
                    name.to_ascii_lowercase(),
                    args.len()
                ),
                span.clone(),
            ));
        }
        let mut compiled = Vec::new();
        let ordinals = ["first", "second", "third", "fourth", "fifth"];
        for (i, a) in args.iter().enumerate() {
            let (e, ty) = self.expr(a)?;
            let nth = ordinals.get(i).copied().unwrap_or("an");
            let (ok, want) = match (func, i) {
                (Add | Subtract | Multiply | Divide | Modulo, _) => (ty.numeric(), "numeric"),
                (Substring | IndexOf, 1..) if !(func == IndexOf && i == 1) => (ty.numeric(), "integer"),
                (Number, 1) => (ty.numeric(), "integer"),
                (Between, 3) => (matches!(ty, Ty::Bool | Ty::Null), "boolean"),
                (CidrMatch, 0) => (matches!(ty, Ty::Ip | Ty::Str | Ty::Null | Ty::Any), "ip"),
                (Concat | String, _) => (true, ""),
                _ => (ty.stringish(), "string"),
            };
            self.expect(ok, nth, span, a, ty, want)?;
            if func == CidrMatch && i > 0 && !matches!(a, Ast::Lit(Lit::Str(_) | Lit::Null, _)) {
                return Err(Diagnostic::new(
                    format!(
                        "{nth} argument of [{}] must be a constant, received [{}]",
                        self.text(span),
                        self.text(&a.span())
                    ),
                    a.span(),
                ));
            }
            compiled.push(e);
        }
        Ok((Expr::Call(func, compiled, ci), ret))
    }
}

fn mode(a: Ty, b: Ty) -> CmpMode {
    if a == Ty::Version || b == Ty::Version {
        CmpMode::Version
    } else if a == Ty::Ip || b == Ty::Ip {
        CmpMode::Ip
    } else {
        CmpMode::Plain
    }
}

/// Catalog fields within a small edit distance of `name`, closest first (at most three).
fn similar_names(catalog: &Catalog, name: &str) -> Vec<String> {
    let limit = (name.chars().count() / 5).clamp(1, 3);
    let mut found: Vec<(usize, &str)> = catalog
        .names()
        .filter(|(n, _)| n.len().abs_diff(name.len()) <= limit)
        .filter_map(|(n, _)| {
            let d = edit_distance(n, name, limit);
            (d <= limit).then_some((d, n))
        })
        .collect();
    found.sort();
    found.into_iter().take(3).map(|(_, n)| n.to_string()).collect()
}

/// Levenshtein distance, giving up (returning `limit + 1`) once it exceeds `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        if cur.iter().min().is_some_and(|m| *m > limit) {
            return limit + 1;
        }
        prev = cur;
    }
    prev[b.len()]
}
