//! Compiled expressions and their evaluation against one document: three-valued logic,
//! any-match over multi-valued fields, the string-matching operators and the EQL functions.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use events::Document;
use regex::Regex;
use smallvec::smallvec;

use crate::ast::{ArithOp, CmpOp};
use crate::value::{
    CmpMode, Scalar, Vals, bool_vals, cidr_contains, compare, eq_ignore_case, equals, format_float, truth,
};

/// A constant of the query.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Const {
    fn scalar(&self) -> Scalar<'_> {
        match self {
            Const::Bool(b) => Scalar::Bool(*b),
            Const::Int(i) => Scalar::Int(*i),
            Const::Float(f) => Scalar::Float(*f),
            Const::Str(s) => Scalar::Str(Cow::Borrowed(s)),
        }
    }
}

/// The EQL functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Add,
    Between,
    CidrMatch,
    Concat,
    Divide,
    EndsWith,
    IndexOf,
    Length,
    Modulo,
    Multiply,
    Number,
    StartsWith,
    String,
    StringContains,
    Substring,
    Subtract,
}

/// A compiled pattern of `:`, `like` or `regex`.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// No wildcard: plain (possibly case-insensitive) equality.
    Exact(String, bool),
    /// An ASCII wildcard pattern, matched byte by byte against ASCII text; other text goes
    /// through the pattern's regex, compiled on first need (see [`wildcard_matcher`]).
    Glob(Box<Glob>),
    Regex(Regex),
}

/// The list of an `in`/`in~` made only of string constants, compared as plain strings: a
/// string value is looked up in a hash set instead of being compared with every item (rules
/// list dozens of process names and arguments). `in~` needs ASCII items; a non-ASCII value
/// and a value that is not a string are compared item by item, as `In` does.
#[derive(Debug, Clone)]
pub struct StrSet {
    items: Vec<String>,
    set: std::collections::HashSet<String, ahash::RandomState>,
    insensitive: bool,
}

impl StrSet {
    /// `None` when the list does not qualify (an item that is not a string constant, or a
    /// non-ASCII item of an `in~`).
    pub fn new(list: &[Expr], insensitive: bool) -> Option<StrSet> {
        let items: Vec<String> = list
            .iter()
            .map(|e| match e {
                Expr::Const(Const::Str(s)) if !insensitive || s.is_ascii() => Some(s.clone()),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let set = items
            .iter()
            .map(|s| {
                if insensitive {
                    s.to_ascii_lowercase()
                } else {
                    s.clone()
                }
            })
            .collect();
        Some(StrSet {
            items,
            set,
            insensitive,
        })
    }

    fn contains(&self, v: &Scalar) -> bool {
        match v {
            Scalar::Str(s) if !self.insensitive => self.set.contains(s.as_ref()),
            Scalar::Str(s) if s.is_ascii() => {
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    self.set.contains(&s.to_ascii_lowercase())
                } else {
                    self.set.contains(s.as_ref())
                }
            }
            other => self.items.iter().any(|item| {
                let item = Scalar::Str(Cow::Borrowed(item.as_str()));
                equals(other, &item, self.insensitive, CmpMode::Plain)
            }),
        }
    }
}

/// An ASCII `*`/`?` pattern (see [`Matcher::Glob`]).
#[derive(Debug, Clone)]
pub struct Glob {
    pattern: Vec<u8>,
    insensitive: bool,
    regex: std::sync::OnceLock<Regex>,
}

impl Glob {
    fn matches(&self, s: &str) -> bool {
        if s.is_ascii() {
            return events::glob::wildcard_match(&self.pattern, s.as_bytes(), true, self.insensitive);
        }
        // Non-ASCII text: Unicode case folding and `?` as one character, as the regex has them.
        let pattern = std::str::from_utf8(&self.pattern).unwrap_or_default();
        self.regex
            .get_or_init(|| {
                Regex::new(&wildcard_regex(pattern, self.insensitive))
                    .expect("the regex of a short ASCII wildcard pattern compiles")
            })
            .is_match(s)
    }
}

impl Matcher {
    fn matches(&self, s: &str) -> bool {
        match self {
            Matcher::Exact(p, false) => p == s,
            Matcher::Exact(p, true) => eq_ignore_case(p, s),
            Matcher::Glob(g) => g.matches(s),
            Matcher::Regex(r) => r.is_match(s),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Expr {
    Const(Const),
    Null,
    Field(Arc<str>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>, CmpMode),
    /// `e == null` (false) / `e != null` (true).
    IsNull(Box<Expr>, bool),
    In(Box<Expr>, Vec<Expr>, bool, CmpMode),
    /// `In` over a list of string constants compared as plain strings (see [`StrSet`]).
    InStrs(Box<Expr>, Box<StrSet>),
    Match(Box<Expr>, Vec<Matcher>),
    Call(Func, Vec<Expr>, bool),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
}

/// The values of a field on a document.
fn field_vals<'a, 'd: 'a>(path: &str, doc: &'d Document) -> Vals<'a> {
    let mut out = Vals::new();
    doc.for_each_value(path, &mut |v| {
        if let Some(s) = Scalar::from_value(v) {
            out.push(s)
        }
    });
    out
}

/// The fields of one document read so far, shared by every query evaluated on it: a field
/// several rules test (`event.type`, `process.name`) is looked up once per document. Keyed by
/// the field's interned name (see [`intern_field`]), so it must not outlive the document.
#[derive(Default)]
pub struct FieldMemo<'d> {
    read: std::cell::RefCell<Vec<(usize, Vals<'d>)>>,
}

impl<'d> FieldMemo<'d> {
    pub fn new() -> Self {
        FieldMemo::default()
    }

    /// The field's values, copied out at the caller's (shorter) lifetime in one pass: `Vals`
    /// is invariant in its lifetime, so a clone of the stored values would need a second copy.
    fn get<'a>(&self, path: &Arc<str>, doc: &'d Document) -> Vals<'a>
    where
        'd: 'a,
    {
        let key = Arc::as_ptr(path) as *const u8 as usize;
        let copy = |v: &Vals<'d>| -> Vals<'a> { v.iter().cloned().collect() };
        if let Some((_, v)) = self.read.borrow().iter().find(|(k, _)| *k == key) {
            return copy(v);
        }
        let v = field_vals(path, doc);
        let out = copy(&v);
        self.read.borrow_mut().push((key, v));
        out
    }
}

/// One shared name per field path for the whole process, so that [`FieldMemo`] can key by
/// pointer. Names are few (the fields the loaded rules name) and live as long as the process.
pub fn intern_field(path: &str) -> Arc<str> {
    static NAMES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<Arc<str>>>> =
        std::sync::LazyLock::new(Default::default);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.get(path) {
        return n.clone();
    }
    let n: Arc<str> = Arc::from(path);
    names.insert(n.clone());
    n
}

/// Limit on the combinations of multi-valued function arguments explored.
const MAX_COMBINATIONS: usize = 4096;

impl Expr {
    /// True when the condition holds (null counts as false).
    pub fn test(&self, doc: &Document) -> bool {
        self.holds(doc, None)
    }

    /// [`Expr::test`] reading fields through `memo`.
    pub fn test_memo<'d>(&self, doc: &'d Document, memo: &FieldMemo<'d>) -> bool {
        self.holds(doc, Some(memo))
    }

    /// Whether the condition is true. Only truth matters here, so `and` stops at the first
    /// side that is not true (null or false: either way the whole is not true) and `or` at the
    /// first that is; [`Expr::ev`] must go on past a null side to tell null from false.
    fn holds<'d>(&self, doc: &'d Document, memo: Option<&FieldMemo<'d>>) -> bool {
        match self {
            Expr::And(a, b) => a.holds(doc, memo) && b.holds(doc, memo),
            Expr::Or(a, b) => a.holds(doc, memo) || b.holds(doc, memo),
            other => truth(&other.ev(doc, memo)) == Some(true),
        }
    }

    pub fn eval<'a>(&'a self, doc: &'a Document) -> Vals<'a> {
        self.ev(doc, None)
    }

    /// [`Expr::eval`] reading fields through `memo` (see [`FieldMemo`]).
    pub fn eval_memo<'a, 'd: 'a>(&'a self, doc: &'d Document, memo: &FieldMemo<'d>) -> Vals<'a> {
        self.ev(doc, Some(memo))
    }

    fn ev<'a, 'd: 'a>(&'a self, doc: &'d Document, memo: Option<&FieldMemo<'d>>) -> Vals<'a> {
        match self {
            Expr::Const(c) => smallvec![c.scalar()],
            Expr::Null => Vals::new(),
            Expr::Field(path) => match memo {
                Some(m) => m.get(path, doc),
                None => field_vals(path, doc),
            },
            Expr::Not(e) => bool_vals(truth(&e.ev(doc, memo)).map(|b| !b)),
            Expr::And(a, b) => {
                let l = truth(&a.ev(doc, memo));
                if l == Some(false) {
                    return bool_vals(Some(false));
                }
                let r = truth(&b.ev(doc, memo));
                bool_vals(match (l, r) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                })
            }
            Expr::Or(a, b) => {
                let l = truth(&a.ev(doc, memo));
                if l == Some(true) {
                    return bool_vals(Some(true));
                }
                let r = truth(&b.ev(doc, memo));
                bool_vals(match (l, r) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                })
            }
            Expr::IsNull(e, negated) => {
                let present = !e.ev(doc, memo).is_empty();
                bool_vals(Some(present == *negated))
            }
            Expr::Cmp(op, a, b, mode) => {
                let l = a.ev(doc, memo);
                if l.is_empty() {
                    return Vals::new();
                }
                // A constant (the usual right side) is compared as it is, not made into values.
                let (one, many);
                let r: &[Scalar] = match &**b {
                    Expr::Const(c) => {
                        one = [c.scalar()];
                        &one
                    }
                    _ => {
                        many = b.ev(doc, memo);
                        &many
                    }
                };
                if r.is_empty() {
                    return Vals::new();
                }
                // `a != b` is `not (a == b)`, as Elasticsearch runs it (a must_not term query):
                // on a multi-valued field it is false as soon as one value equals `b`
                if *op == CmpOp::Ne {
                    let eq = l
                        .iter()
                        .any(|x| r.iter().any(|y| cmp_holds(CmpOp::Eq, x, y, *mode)));
                    return bool_vals(Some(!eq));
                }
                let hit = l.iter().any(|x| r.iter().any(|y| cmp_holds(*op, x, y, *mode)));
                bool_vals(Some(hit))
            }
            Expr::In(e, list, insensitive, mode) => {
                let vals = e.ev(doc, memo);
                if vals.is_empty() {
                    return Vals::new();
                }
                let mut saw_null = false;
                let hit = list.iter().any(|item| {
                    let opts = item.ev(doc, memo);
                    saw_null |= opts.is_empty();
                    vals.iter()
                        .any(|v| opts.iter().any(|o| equals(v, o, *insensitive, *mode)))
                });
                // `x in ("a", null)` without a match is null, as in SQL
                bool_vals(if hit {
                    Some(true)
                } else if saw_null {
                    None
                } else {
                    Some(false)
                })
            }
            Expr::InStrs(e, set) => {
                let vals = e.ev(doc, memo);
                if vals.is_empty() {
                    return Vals::new();
                }
                bool_vals(Some(vals.iter().any(|v| set.contains(v))))
            }
            Expr::Match(e, matchers) => {
                let vals = e.ev(doc, memo);
                if vals.is_empty() {
                    return Vals::new();
                }
                let hit = vals.iter().any(|v| {
                    let text = v.to_text();
                    matchers.iter().any(|m| m.matches(&text))
                });
                bool_vals(Some(hit))
            }
            Expr::Arith(op, a, b) => {
                let l = a.ev(doc, memo);
                let r = b.ev(doc, memo);
                let mut out = Vals::new();
                for x in &l {
                    for y in &r {
                        if let Some(v) = arith(*op, x, y) {
                            out.push(v);
                        }
                    }
                }
                out
            }
            Expr::Neg(e) => e
                .ev(doc, memo)
                .into_iter()
                .filter_map(|v| match v {
                    Scalar::Int(i) => i.checked_neg().map(Scalar::Int),
                    Scalar::Float(f) => Some(Scalar::Float(-f)),
                    _ => None,
                })
                .collect(),
            Expr::Call(func, args, insensitive) => call(*func, args, *insensitive, doc, memo),
        }
    }

    /// The `(field, values)` conditions this condition's top-level `and`s require (see
    /// [`crate::Query::key_values`]): `field in (...)` over plain case-sensitive strings and
    /// `field == "x"`. A single string value of `field` outside `values` makes them false.
    pub fn keys(&self, out: &mut Vec<(String, Vec<String>)>) {
        match self {
            Expr::And(a, b) => {
                a.keys(out);
                b.keys(out);
            }
            Expr::InStrs(e, set) if !set.insensitive => {
                if let Expr::Field(p) = &**e {
                    out.push((p.to_string(), set.items.clone()));
                }
            }
            Expr::Cmp(CmpOp::Eq, a, b, CmpMode::Plain) => {
                if let (Expr::Field(p), Expr::Const(Const::Str(s)))
                | (Expr::Const(Const::Str(s)), Expr::Field(p)) = (&**a, &**b)
                {
                    out.push((p.to_string(), vec![s.clone()]));
                }
            }
            _ => {}
        }
    }

    /// The field paths this expression reads.
    pub fn fields(&self, out: &mut Vec<String>) {
        match self {
            Expr::Field(p) => out.push(p.to_string()),
            Expr::Const(_) | Expr::Null => {}
            Expr::Not(e) | Expr::IsNull(e, _) | Expr::Match(e, _) | Expr::Neg(e) => e.fields(out),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b, _) | Expr::Arith(_, a, b) => {
                a.fields(out);
                b.fields(out);
            }
            Expr::In(e, list, _, _) => {
                e.fields(out);
                list.iter().for_each(|x| x.fields(out));
            }
            Expr::InStrs(e, _) => e.fields(out),
            Expr::Call(_, args, _) => args.iter().for_each(|x| x.fields(out)),
        }
    }
}

fn cmp_holds(op: CmpOp, a: &Scalar, b: &Scalar, mode: CmpMode) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CmpOp::Eq => equals(a, b, false, mode),
        CmpOp::Ne => compare(a, b, mode).is_some_and(|o| o != Equal),
        CmpOp::Lt => compare(a, b, mode) == Some(Less),
        CmpOp::Le => matches!(compare(a, b, mode), Some(Less | Equal)),
        CmpOp::Gt => compare(a, b, mode) == Some(Greater),
        CmpOp::Ge => matches!(compare(a, b, mode), Some(Greater | Equal)),
    }
}

fn num<'a>(s: &Scalar<'a>) -> Option<Scalar<'a>> {
    match s {
        Scalar::Int(_) | Scalar::Float(_) => Some(s.clone()),
        Scalar::Str(t) => t
            .trim()
            .parse::<i64>()
            .map(Scalar::Int)
            .or_else(|_| t.trim().parse::<f64>().map(Scalar::Float))
            .ok(),
        Scalar::Bool(_) => None,
    }
}

fn arith<'a>(op: ArithOp, a: &Scalar, b: &Scalar) -> Option<Scalar<'a>> {
    let (a, b) = (num(a)?, num(b)?);
    if let (Scalar::Int(x), Scalar::Int(y)) = (&a, &b) {
        let (x, y) = (*x, *y);
        return match op {
            ArithOp::Add => x.checked_add(y).map(Scalar::Int),
            ArithOp::Sub => x.checked_sub(y).map(Scalar::Int),
            ArithOp::Mul => x.checked_mul(y).map(Scalar::Int),
            ArithOp::Div => x.checked_div(y).map(Scalar::Int),
            ArithOp::Mod => x.checked_rem(y).map(Scalar::Int),
        };
    }
    let (x, y) = (a.as_f64()?, b.as_f64()?);
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div => {
            if y == 0.0 {
                return None;
            }
            x / y
        }
        ArithOp::Mod => {
            if y == 0.0 {
                return None;
            }
            x % y
        }
    };
    r.is_finite().then_some(Scalar::Float(r))
}

fn call<'a, 'd: 'a>(
    func: Func,
    args: &'a [Expr],
    ci: bool,
    doc: &'d Document,
    memo: Option<&FieldMemo<'d>>,
) -> Vals<'a> {
    let vals: Vec<Vals<'a>> = args.iter().map(|a| a.ev(doc, memo)).collect();
    if func == Func::CidrMatch {
        // cidrMatch(ip, cidr...): any value of the ip in any of the blocks
        let Some(ips) = vals.first() else {
            return Vals::new();
        };
        if ips.is_empty() || vals[1..].iter().any(|v| v.is_empty()) {
            return Vals::new();
        }
        let hit = ips.iter().any(|ip| {
            let Ok(ip) = ip.to_text().parse::<IpAddr>() else {
                return false;
            };
            vals[1..]
                .iter()
                .flatten()
                .any(|c| cidr_contains(&c.to_text(), ip))
        });
        return bool_vals(Some(hit));
    }
    // every argument's values, combined (any-match over multi-valued arguments)
    let mut out = Vals::new();
    let mut idx = vec![0usize; vals.len()];
    let mut combos = 0;
    let mut current: Vec<Option<&Scalar<'a>>> = vec![None; vals.len()];
    loop {
        for (i, v) in vals.iter().enumerate() {
            current[i] = v.get(idx[i]);
        }
        if let Some(r) = apply(func, &current, ci)
            && !out.contains(&r)
        {
            out.push(r);
        }
        combos += 1;
        // advance the odometer
        let mut i = 0;
        loop {
            if i == vals.len() || combos >= MAX_COMBINATIONS {
                return out;
            }
            idx[i] += 1;
            if idx[i] < vals[i].len() {
                break;
            }
            idx[i] = 0;
            i += 1;
        }
    }
}

fn text<'b>(s: Option<&'b Scalar>) -> Option<Cow<'b, str>> {
    s.map(|v| v.to_text())
}

fn int(s: Option<&Scalar>) -> Option<i64> {
    match s? {
        Scalar::Int(i) => Some(*i),
        Scalar::Float(f) => Some(*f as i64),
        Scalar::Str(t) => t.trim().parse().ok(),
        Scalar::Bool(_) => None,
    }
}

fn lower(s: &str, ci: bool) -> Cow<'_, str> {
    if ci {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn apply<'a>(func: Func, a: &[Option<&Scalar>], ci: bool) -> Option<Scalar<'a>> {
    let arg = |i: usize| a.get(i).copied().flatten();
    let owned = |s: String| Some(Scalar::Str(Cow::Owned(s)));
    match func {
        Func::Add => arith(ArithOp::Add, arg(0)?, arg(1)?),
        Func::Subtract => arith(ArithOp::Sub, arg(0)?, arg(1)?),
        Func::Multiply => arith(ArithOp::Mul, arg(0)?, arg(1)?),
        Func::Divide => arith(ArithOp::Div, arg(0)?, arg(1)?),
        Func::Modulo => arith(ArithOp::Mod, arg(0)?, arg(1)?),
        Func::Between => {
            let src = text(arg(0))?;
            let left = text(arg(1))?;
            let right = text(arg(2))?;
            let greedy = match arg(3) {
                None => false,
                Some(Scalar::Bool(b)) => *b,
                Some(_) => return None,
            };
            owned(between(&src, &left, &right, greedy, ci))
        }
        Func::Concat => {
            let mut s = String::new();
            for v in a {
                s.push_str(&v.as_ref()?.to_text());
            }
            owned(s)
        }
        Func::EndsWith => {
            let (s, p) = (text(arg(0))?, text(arg(1))?);
            Some(Scalar::Bool(lower(&s, ci).ends_with(lower(&p, ci).as_ref())))
        }
        Func::StartsWith => {
            let (s, p) = (text(arg(0))?, text(arg(1))?);
            Some(Scalar::Bool(lower(&s, ci).starts_with(lower(&p, ci).as_ref())))
        }
        Func::StringContains => {
            // an empty substring is never contained (the documented behaviour)
            let (s, p) = (text(arg(0))?, text(arg(1))?);
            Some(Scalar::Bool(
                !p.is_empty() && lower(&s, ci).contains(lower(&p, ci).as_ref()),
            ))
        }
        Func::IndexOf => {
            let (s, p) = (text(arg(0))?, text(arg(1))?);
            let start = if a.len() > 2 { int(arg(2))? } else { 0 }.max(0) as usize;
            let (s, p) = (lower(&s, ci), lower(&p, ci));
            let chars: Vec<(usize, char)> = s.char_indices().collect();
            if start > chars.len() {
                return None;
            }
            let byte_start = chars.get(start).map(|(b, _)| *b).unwrap_or(s.len());
            let found = s[byte_start..].find(p.as_ref())?;
            let char_pos = s[..byte_start + found].chars().count();
            Some(Scalar::Int(char_pos as i64))
        }
        Func::Length => {
            let s = text(arg(0))?;
            Some(Scalar::Int(s.chars().count() as i64))
        }
        Func::Number => {
            let s = text(arg(0))?;
            // a missing or null base means the default: 16 for `0x...`, else 10
            let s = s.trim();
            let hex = {
                let body = s.trim_start_matches(['+', '-']);
                body.starts_with("0x") || body.starts_with("0X")
            };
            let base = match arg(1) {
                Some(b) => int(Some(b))?,
                None if hex => 16,
                None => 10,
            };
            parse_number(s, base)
        }
        Func::String => owned(match arg(0)? {
            Scalar::Float(f) => format_float(*f),
            other => other.to_text().into_owned(),
        }),
        Func::Substring => {
            let s = text(arg(0))?;
            let chars: Vec<char> = s.chars().collect();
            let len = chars.len() as i64;
            let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
            let start = norm(int(arg(1))?);
            let end = match arg(2) {
                Some(v) if a.len() > 2 => norm(int(Some(v))?),
                None if a.len() > 2 => return None,
                _ => len,
            };
            if start >= end {
                return owned(String::new());
            }
            owned(chars[start as usize..end as usize].iter().collect())
        }
        Func::CidrMatch => None,
    }
}

fn parse_number(s: &str, base: i64) -> Option<Scalar<'static>> {
    if base == 10 {
        let s = s.strip_prefix('+').unwrap_or(s);
        if let Ok(i) = s.parse::<i64>() {
            return Some(Scalar::Int(i));
        }
        return s.parse::<f64>().ok().filter(|f| f.is_finite()).map(Scalar::Float);
    }
    if !(2..=36).contains(&base) {
        return None;
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let body = if base == 16 {
        body.strip_prefix("0x")
            .or_else(|| body.strip_prefix("0X"))
            .unwrap_or(body)
    } else {
        body
    };
    let v = i64::from_str_radix(body, base as u32).ok()?;
    Some(Scalar::Int(if neg { -v } else { v }))
}

fn between(src: &str, left: &str, right: &str, greedy: bool, ci: bool) -> String {
    let (hay, l, r) = (lower(src, ci), lower(left, ci), lower(right, ci));
    let Some(ls) = hay.find(l.as_ref()) else {
        return String::new();
    };
    let from = ls + l.len();
    let end = if greedy {
        hay[from..].rfind(r.as_ref())
    } else {
        hay[from..].find(r.as_ref())
    };
    match end {
        // lower-casing may change byte lengths; fall back to the folded text in that case
        Some(e) if hay.len() == src.len() => src[from..from + e].to_string(),
        Some(e) => hay[from..from + e].to_string(),
        None => String::new(),
    }
}

/// Translates an EQL wildcard pattern (`*`, `?`) to an anchored regex, or an exact matcher when
/// it has no wildcard.
pub fn wildcard_matcher(pattern: &str, insensitive: bool) -> Result<Matcher, regex::Error> {
    if !pattern.contains(['*', '?']) {
        return Ok(Matcher::Exact(pattern.to_string(), insensitive));
    }
    let re = wildcard_regex(pattern, insensitive);
    // The regex of a short ASCII pattern always compiles (everything but the wildcards is
    // escaped, far below the size limit), and it serves only non-ASCII text: it is built when
    // such text first comes. Long patterns are compiled now so that a limit is reported here.
    if pattern.is_ascii() && pattern.len() <= 1000 {
        return Ok(Matcher::Glob(Box::new(Glob {
            pattern: pattern.as_bytes().to_vec(),
            insensitive,
            regex: std::sync::OnceLock::new(),
        })));
    }
    Ok(Matcher::Regex(Regex::new(&re)?))
}

/// The anchored regex of a wildcard pattern.
fn wildcard_regex(pattern: &str, insensitive: bool) -> String {
    let mut re = String::with_capacity(pattern.len() + 8);
    re.push_str(if insensitive { "(?si)^" } else { "(?s)^" });
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    re.push('$');
    re
}

/// Translates a Lucene regular expression (the syntax of EQL `regex`) to an anchored Rust regex.
pub fn regex_matcher(pattern: &str, insensitive: bool) -> Result<Matcher, regex::Error> {
    let mut re = String::with_capacity(pattern.len() + 8);
    re.push_str(if insensitive { "(?si)^(?:" } else { "(?s)^(?:" });
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    re.push_str(&regex::escape(n.encode_utf8(&mut [0; 4])));
                }
            }
            '[' if !in_class => {
                in_class = true;
                re.push('[');
                if chars.peek() == Some(&'^') {
                    re.push('^');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                re.push(']');
            }
            '"' if !in_class => {
                // a quoted literal run
                let mut lit = String::new();
                for n in chars.by_ref() {
                    if n == '"' {
                        break;
                    }
                    lit.push(n);
                }
                re.push_str(&regex::escape(&lit));
            }
            '^' | '$' | '&' | '~' | '<' | '>' | '#' | '@' if !in_class => {
                re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])))
            }
            '[' | '&' | '~' if in_class => {
                re.push('\\');
                re.push(c);
            }
            c => re.push(c),
        }
    }
    re.push_str(")$");
    Ok(Matcher::Regex(Regex::new(&re)?))
}

#[cfg(test)]
mod glob_tests {
    use super::*;

    /// The byte-level glob agrees with the regex translation (what `:` and `like` used before)
    /// on every pattern and text over a small alphabet, both case modes.
    #[test]
    fn glob_agrees_with_the_regex_translation() {
        let alphabet = ['a', 'B', '*', '?', '.', 'b'];
        let texts = [
            "", "a", "ab", "aB", "Ab.b", "a.b", "ba", "bbb", "a*b", "a?", "AAB.", "?",
        ];
        // every pattern of up to 4 symbols
        let mut patterns = vec![String::new()];
        for _ in 0..4 {
            let next: Vec<String> = patterns
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            patterns.extend(next);
        }
        patterns.sort();
        patterns.dedup();
        for p in &patterns {
            if !p.contains(['*', '?']) {
                continue;
            }
            for insensitive in [false, true] {
                let re = Regex::new(&wildcard_regex(p, insensitive)).unwrap();
                let m = wildcard_matcher(p, insensitive).unwrap();
                assert!(matches!(m, Matcher::Glob(_)));
                for t in texts {
                    assert_eq!(
                        m.matches(t),
                        re.is_match(t),
                        "pattern {p:?} text {t:?} ci={insensitive}"
                    );
                }
            }
        }
    }

    /// Non-ASCII text follows the regex: `?` is one character, Unicode case folding.
    #[test]
    fn non_ascii_text_matches_by_characters() {
        let m = wildcard_matcher("caf?", false).unwrap();
        assert!(m.matches("café"));
        let m = wildcard_matcher("*s*", true).unwrap();
        assert!(m.matches("\u{17f}x"), "long s folds to s, as in the regex");
        assert!(!wildcard_matcher("a?", false).unwrap().matches("añb"));
    }
}

#[cfg(test)]
mod str_set_tests {
    use super::*;

    /// `InStrs` (hash lookup) answers exactly as `In` (item by item) on strings of either
    /// case, non-ASCII text that folds onto ASCII (Kelvin sign, long s), numbers, booleans,
    /// multi-values and missing fields, for `in` and `in~`.
    #[test]
    fn set_lookup_agrees_with_item_by_item() {
        let items = ["bash", "sh", "k", "s", "1", "true", "/usr/bin/curl", ""];
        let list: Vec<Expr> = items
            .iter()
            .map(|s| Expr::Const(Const::Str(s.to_string())))
            .collect();
        let values = [
            r#""bash""#,
            r#""BASH""#,
            r#""Sh""#,
            "\"\u{212a}\"",
            "\"\u{17f}\"",
            r#""zsh""#,
            "1",
            "true",
            "1.5",
            r#"["x","SH"]"#,
            r#"["x","y"]"#,
            r#""""#,
            "null",
            r#""/USR/bin/curl""#,
        ];
        for insensitive in [false, true] {
            let field = || Box::new(Expr::Field(Arc::from("f")));
            let slow = Expr::In(field(), list.clone(), insensitive, CmpMode::Plain);
            let fast = Expr::InStrs(field(), Box::new(StrSet::new(&list, insensitive).unwrap()));
            for v in values {
                let doc = Document::from_json(&format!(r#"{{"f":{v}}}"#)).unwrap();
                assert_eq!(
                    fast.eval(&doc),
                    slow.eval(&doc),
                    "value {v} insensitive={insensitive}"
                );
            }
            let missing = Document::from_json("{}").unwrap();
            assert_eq!(fast.eval(&missing), slow.eval(&missing));
        }
        // `in~` with a non-ASCII item keeps the item-by-item path
        let uni = vec![Expr::Const(Const::Str("é".into()))];
        assert!(StrSet::new(&uni, true).is_none());
        assert!(StrSet::new(&uni, false).is_some());
        assert!(StrSet::new(&[Expr::Const(Const::Int(1))], false).is_none());
    }
}

#[cfg(test)]
mod holds_tests {
    use super::*;

    /// The short-circuit truth test agrees with the three-valued evaluation on every
    /// combination of true, false and null operands under `and`, `or` and `not`, nested.
    #[test]
    fn holds_agrees_with_three_valued_evaluation() {
        let doc = Document::from_json(r#"{"t":1,"f":0}"#).unwrap();
        // operands: true, false, null (a missing field compared)
        let leaf = |name: &str| {
            Expr::Cmp(
                CmpOp::Eq,
                Box::new(Expr::Field(Arc::from(name))),
                Box::new(Expr::Const(Const::Int(1))),
                CmpMode::Plain,
            )
        };
        let leaves = || vec![leaf("t"), leaf("f"), leaf("missing")];
        let mut exprs = leaves();
        for _ in 0..2 {
            let mut next = Vec::new();
            for a in &exprs {
                next.push(Expr::Not(Box::new(a.clone())));
                for b in leaves() {
                    next.push(Expr::And(Box::new(a.clone()), Box::new(b.clone())));
                    next.push(Expr::Or(Box::new(a.clone()), Box::new(b.clone())));
                    next.push(Expr::And(Box::new(b.clone()), Box::new(a.clone())));
                    next.push(Expr::Or(Box::new(b), Box::new(a.clone())));
                }
            }
            exprs.extend(next);
        }
        assert!(exprs.len() > 300);
        for e in &exprs {
            assert_eq!(e.test(&doc), truth(&e.eval(&doc)) == Some(true), "{e:?}");
        }
        // null and true is not true; null or true is
        let and = Expr::And(Box::new(leaf("missing")), Box::new(leaf("t")));
        let or = Expr::Or(Box::new(leaf("missing")), Box::new(leaf("t")));
        assert!(!and.test(&doc));
        assert!(or.test(&doc));
    }
}
