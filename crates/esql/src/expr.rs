//! The typed expression tree the analyzer produces and its evaluation over a row, with
//! ES|QL's null and multi-value rules: operators and single-value functions return null (and
//! record a warning) on a multi-valued input; `AND`/`OR`/`NOT` use three-valued logic.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use regex::Regex;

use crate::ast::BinOp;
use crate::functions;
use crate::lucene::Matcher;
use crate::types::{DataType, Val};

/// A compiled LIKE or RLIKE pattern.
#[derive(Debug)]
pub enum Pattern {
    Like(Regex),
    Rlike(Matcher),
}

impl Pattern {
    pub fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Like(r) => r.is_match(s),
            Pattern::Rlike(m) => m.is_match(s),
        }
    }
}

/// Where an expression sits in the query, for warnings (`Line 1:23: evaluation of [...]`).
#[derive(Debug)]
pub struct Loc {
    pub line: usize,
    pub col: usize,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Ex {
    pub kind: ExK,
    pub ty: DataType,
    pub loc: Arc<Loc>,
}

#[derive(Debug, Clone)]
pub enum ExK {
    Lit(Val),
    Col(usize),
    Not(Box<Ex>),
    And(Box<Ex>, Box<Ex>),
    Or(Box<Ex>, Box<Ex>),
    Arith(BinOp, Box<Ex>, Box<Ex>),
    Cmp(BinOp, Box<Ex>, Box<Ex>),
    Neg(Box<Ex>),
    IsNull(Box<Ex>, bool),
    In(Box<Ex>, Vec<Ex>),
    Like(Box<Ex>, Vec<Arc<Pattern>>),
    /// KQL term match: true when any value of the operand matches any pattern (never null).
    AnyMatch(Box<Ex>, Vec<Arc<Regex>>),
    Call(&'static str, Vec<Ex>),
}

/// Warnings collected during evaluation, each expression reporting at most once.
#[derive(Debug, Default, Clone)]
pub struct Warnings {
    pub list: Vec<String>,
    seen: HashSet<String>,
    /// (expression location address, exception) pairs already reported: repeated failures
    /// of one expression cost no formatting.
    reported: crate::fxhash::FxHashSet<(usize, String)>,
}

impl Warnings {
    pub fn add(&mut self, loc: &Loc, exception: &str) {
        self.add_treating(loc, exception, "null");
    }

    /// Like [`Warnings::add`], for evaluations whose failure is treated as `treated` (CASE
    /// conditions are treated as false).
    pub fn add_treating(&mut self, loc: &Loc, exception: &str, treated: &str) {
        let key = (loc as *const Loc as usize, exception.to_string());
        if self.reported.contains(&key) {
            return;
        }
        self.reported.insert(key);
        let head = format!(
            "Line {}:{}: evaluation of [{}] failed, treating result as {treated}. Only first 20 failures recorded.",
            loc.line, loc.col, loc.text
        );
        if self.seen.insert(head.clone()) {
            self.list.push(head);
        }
        let detail = format!("Line {}:{}: {exception}", loc.line, loc.col);
        if self.seen.insert(detail.clone()) {
            self.list.push(detail);
        }
    }

    pub fn add_raw(&mut self, text: String) {
        if self.seen.insert(text.clone()) {
            self.list.push(text);
        }
    }

    pub fn merge(&mut self, other: Warnings) {
        for w in other.list {
            self.add_raw(w);
        }
    }
}

pub const MV_WARNING: &str =
    "java.lang.IllegalArgumentException: single-value function encountered multi-value";

/// Evaluation context: the query's `NOW()` and the warning sink.
pub struct Ctx<'a> {
    pub now_millis: i64,
    pub warnings: &'a mut Warnings,
}

impl Ex {
    pub fn lit(v: Val, ty: DataType, loc: Arc<Loc>) -> Ex {
        Ex {
            kind: ExK::Lit(v),
            ty,
            loc,
        }
    }

    /// Calls `f` with every column index the expression reads.
    pub fn columns(&self, f: &mut dyn FnMut(usize)) {
        match &self.kind {
            ExK::Lit(_) => {}
            ExK::Col(i) => f(*i),
            ExK::Not(e) | ExK::Neg(e) | ExK::IsNull(e, _) | ExK::Like(e, _) | ExK::AnyMatch(e, _) => {
                e.columns(f)
            }
            ExK::And(a, b) | ExK::Or(a, b) | ExK::Arith(_, a, b) | ExK::Cmp(_, a, b) => {
                a.columns(f);
                b.columns(f);
            }
            ExK::In(e, list) => {
                e.columns(f);
                list.iter().for_each(|x| x.columns(f));
            }
            ExK::Call(_, args) => args.iter().for_each(|x| x.columns(f)),
        }
    }

    /// Rewrites column indices.
    pub fn remap(&mut self, map: &dyn Fn(usize) -> usize) {
        match &mut self.kind {
            ExK::Lit(_) => {}
            ExK::Col(i) => *i = map(*i),
            ExK::Not(e) | ExK::Neg(e) | ExK::IsNull(e, _) | ExK::Like(e, _) | ExK::AnyMatch(e, _) => {
                e.remap(map)
            }
            ExK::And(a, b) | ExK::Or(a, b) | ExK::Arith(_, a, b) | ExK::Cmp(_, a, b) => {
                a.remap(map);
                b.remap(map);
            }
            ExK::In(e, list) => {
                e.remap(map);
                list.iter_mut().for_each(|x| x.remap(map));
            }
            ExK::Call(_, args) => args.iter_mut().for_each(|x| x.remap(map)),
        }
    }

    /// True when the expression calls `NOW()` (its value depends on the execution context).
    pub fn uses_now(&self) -> bool {
        match &self.kind {
            ExK::Call(name, args) => *name == "now" || args.iter().any(Ex::uses_now),
            ExK::Lit(_) | ExK::Col(_) => false,
            ExK::Not(e) | ExK::Neg(e) | ExK::IsNull(e, _) | ExK::Like(e, _) | ExK::AnyMatch(e, _) => {
                e.uses_now()
            }
            ExK::And(a, b) | ExK::Or(a, b) | ExK::Arith(_, a, b) | ExK::Cmp(_, a, b) => {
                a.uses_now() || b.uses_now()
            }
            ExK::In(e, l) => e.uses_now() || l.iter().any(Ex::uses_now),
        }
    }

    pub fn is_foldable(&self) -> bool {
        match &self.kind {
            ExK::Lit(_) => true,
            ExK::Col(_) => false,
            ExK::Call(name, _) if *name == "now" => true,
            _ => {
                let mut any = false;
                self.columns(&mut |_| any = true);
                !any
            }
        }
    }

    /// [`Ex::eval`] that lends a literal or a column's cell instead of cloning it (keyword
    /// cells are reference-counted: a clone and its drop are two atomic operations).
    fn eval_ref<'r>(&'r self, row: &'r [Val], cx: &mut Ctx) -> Cow<'r, Val> {
        match &self.kind {
            ExK::Lit(v) => Cow::Borrowed(v),
            ExK::Col(i) => match row.get(*i) {
                Some(v) => Cow::Borrowed(v),
                None => Cow::Owned(Val::Null),
            },
            _ => Cow::Owned(self.eval(row, cx)),
        }
    }

    pub fn eval(&self, row: &[Val], cx: &mut Ctx) -> Val {
        match &self.kind {
            ExK::Lit(v) => v.clone(),
            ExK::Col(i) => row.get(*i).cloned().unwrap_or_default(),
            ExK::Not(e) => match e.eval(row, cx) {
                Val::Bool(b) => Val::Bool(!b),
                Val::Multi(_) => {
                    cx.warnings.add(&self.loc, MV_WARNING);
                    Val::Null
                }
                _ => Val::Null,
            },
            ExK::And(a, b) => {
                let x = a.eval(row, cx);
                if matches!(x, Val::Bool(false)) {
                    return Val::Bool(false);
                }
                let y = b.eval(row, cx);
                match (x, y) {
                    (_, Val::Bool(false)) => Val::Bool(false),
                    (Val::Bool(true), Val::Bool(true)) => Val::Bool(true),
                    _ => Val::Null,
                }
            }
            ExK::Or(a, b) => {
                let x = a.eval(row, cx);
                if matches!(x, Val::Bool(true)) {
                    return Val::Bool(true);
                }
                let y = b.eval(row, cx);
                match (x, y) {
                    (_, Val::Bool(true)) => Val::Bool(true),
                    (Val::Bool(false), Val::Bool(false)) => Val::Bool(false),
                    _ => Val::Null,
                }
            }
            ExK::Neg(e) => match e.eval(row, cx) {
                Val::Null => Val::Null,
                Val::Multi(_) => {
                    cx.warnings.add(&self.loc, MV_WARNING);
                    Val::Null
                }
                Val::Int(i) => {
                    let r = if self.ty == DataType::Integer {
                        i32::try_from(i).ok().and_then(i32::checked_neg).map(i64::from)
                    } else {
                        i.checked_neg()
                    };
                    match r {
                        Some(v) => Val::Int(v),
                        None => {
                            let kind = if self.ty == DataType::Integer {
                                "integer"
                            } else {
                                "long"
                            };
                            cx.warnings.add(
                                &self.loc,
                                &format!("java.lang.ArithmeticException: {kind} overflow"),
                            );
                            Val::Null
                        }
                    }
                }
                Val::Double(d) => Val::Double(-d),
                Val::Duration(d) => Val::Duration(-d),
                Val::Period(m, d) => Val::Period(-m, -d),
                _ => Val::Null,
            },
            ExK::IsNull(e, negated) => Val::Bool(e.eval_ref(row, cx).is_null() != *negated),
            ExK::Cmp(op, a, b) => {
                let x = a.eval_ref(row, cx);
                let y = b.eval_ref(row, cx);
                if x.is_multi() || y.is_multi() {
                    cx.warnings.add(&self.loc, MV_WARNING);
                    return Val::Null;
                }
                match compare(&x, &y) {
                    Some(o) => Val::Bool(match op {
                        BinOp::Eq => o.is_eq(),
                        BinOp::Neq => o.is_ne(),
                        BinOp::Lt => o.is_lt(),
                        BinOp::Le => o.is_le(),
                        BinOp::Gt => o.is_gt(),
                        BinOp::Ge => o.is_ge(),
                        _ => return Val::Null,
                    }),
                    None => Val::Null,
                }
            }
            ExK::Arith(op, a, b) => {
                let x = a.eval(row, cx);
                let y = b.eval(row, cx);
                if x.is_null() || y.is_null() {
                    return Val::Null;
                }
                if x.is_multi() || y.is_multi() {
                    cx.warnings.add(&self.loc, MV_WARNING);
                    return Val::Null;
                }
                match arith(*op, &x, &y, self.ty) {
                    Ok(v) => v,
                    Err(msg) => {
                        cx.warnings.add(&self.loc, &msg);
                        Val::Null
                    }
                }
            }
            ExK::In(e, list) => {
                let x = e.eval_ref(row, cx);
                if x.is_null() {
                    return Val::Null;
                }
                if x.is_multi() {
                    cx.warnings.add(&self.loc, MV_WARNING);
                    return Val::Null;
                }
                let mut saw_null = false;
                for item in list {
                    let y = item.eval_ref(row, cx);
                    if y.is_multi() {
                        cx.warnings.add(&self.loc, MV_WARNING);
                        saw_null = true;
                        continue;
                    }
                    match compare(&x, &y) {
                        Some(o) if o.is_eq() => return Val::Bool(true),
                        Some(_) => {}
                        None => saw_null = true,
                    }
                }
                if saw_null { Val::Null } else { Val::Bool(false) }
            }
            ExK::Like(e, res) => match &*e.eval_ref(row, cx) {
                Val::Str(s) => Val::Bool(res.iter().any(|r| r.is_match(s))),
                Val::Multi(_) => {
                    cx.warnings.add(&self.loc, MV_WARNING);
                    Val::Null
                }
                _ => Val::Null,
            },
            ExK::AnyMatch(e, res) => {
                let v = e.eval(row, cx);
                Val::Bool(v.values().iter().any(|x| {
                    let s = x.render();
                    res.iter().any(|r| r.is_match(&s))
                }))
            }
            ExK::Call(name, args) => functions::eval_call(self, name, args, row, cx),
        }
    }
}

/// Compares two single values of comparable types; None when either is null or the types do
/// not compare.
pub fn compare(x: &Val, y: &Val) -> Option<std::cmp::Ordering> {
    match (x, y) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Int(a), Val::Int(b)) => Some(a.cmp(b)),
        (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
        (Val::Str(a), Val::Str(b)) => Some(a.cmp(b)),
        (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
        (Val::Ip(a), Val::Ip(b)) => Some(a.cmp(b)),
        (Val::Duration(a), Val::Duration(b)) => Some(a.cmp(b)),
        (Val::Int(_) | Val::Double(_), Val::Int(_) | Val::Double(_)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        _ => None,
    }
}

fn overflow(ty: DataType) -> String {
    let kind = if ty == DataType::Integer {
        "integer"
    } else {
        "long"
    };
    format!("java.lang.ArithmeticException: {kind} overflow")
}

/// Arithmetic on two single, non-null values; `ty` is the result type.
pub fn arith(op: BinOp, x: &Val, y: &Val, ty: DataType) -> Result<Val, String> {
    match (x, y) {
        (Val::Date(d), span @ (Val::Duration(_) | Val::Period(..)))
        | (span @ (Val::Duration(_) | Val::Period(..)), Val::Date(d)) => {
            let sign = if op == BinOp::Sub { -1 } else { 1 };
            return functions::add_span(*d, span, sign)
                .map(Val::Date)
                .ok_or_else(|| overflow(ty));
        }
        (Val::Duration(a), Val::Duration(b)) => {
            return Ok(Val::Duration(if op == BinOp::Sub { a - b } else { a + b }));
        }
        (Val::Period(a, b), Val::Period(c, d)) => {
            return Ok(if op == BinOp::Sub {
                Val::Period(a - c, b - d)
            } else {
                Val::Period(a + c, b + d)
            });
        }
        _ => {}
    }
    if ty == DataType::Double {
        let (Some(a), Some(b)) = (x.as_f64(), y.as_f64()) else {
            return Ok(Val::Null);
        };
        let r = match op {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => {
                if b == 0.0 {
                    return Err("java.lang.ArithmeticException: / by zero".into());
                }
                a / b
            }
            BinOp::Mod => {
                if b == 0.0 {
                    return Err("java.lang.ArithmeticException: / by zero".into());
                }
                a % b
            }
            _ => return Ok(Val::Null),
        };
        if !r.is_finite() {
            return Err(format!(
                "java.lang.ArithmeticException: {} overflow",
                if r.is_nan() { "NaN" } else { "double" }
            ));
        }
        return Ok(Val::Double(r));
    }
    let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) else {
        return Ok(Val::Null);
    };
    let r = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div | BinOp::Mod => {
            if b == 0 {
                return Err("java.lang.ArithmeticException: / by zero".into());
            }
            if op == BinOp::Div {
                a.checked_div(b)
            } else {
                a.checked_rem(b)
            }
        }
        _ => return Ok(Val::Null),
    };
    let r = r.ok_or_else(|| overflow(ty))?;
    if ty == DataType::Integer && i32::try_from(r).is_err() {
        return Err(overflow(ty));
    }
    Ok(Val::Int(r))
}
