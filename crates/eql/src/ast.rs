//! The syntax tree the parser produces and the analyzer checks: expressions with byte spans,
//! event filters, sequence/sample stages and pipes.

use std::ops::Range;

pub type Span = Range<usize>;

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// The string-matching operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `:`: case-insensitive, `*`/`?` wildcards.
    Seq,
    Like,
    Regex,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    Lit(Lit, Span),
    Field {
        name: String,
        optional: bool,
        span: Span,
    },
    Not(Box<Ast>, Span),
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
    Cmp(CmpOp, Box<Ast>, Box<Ast>, Span),
    In {
        expr: Box<Ast>,
        list: Vec<Ast>,
        insensitive: bool,
        span: Span,
    },
    Match {
        op: MatchOp,
        insensitive: bool,
        expr: Box<Ast>,
        patterns: Vec<Ast>,
        span: Span,
    },
    Call {
        name: String,
        insensitive: bool,
        args: Vec<Ast>,
        span: Span,
    },
    Arith(ArithOp, Box<Ast>, Box<Ast>, Span),
    Neg(Box<Ast>, Span),
}

impl Ast {
    pub fn span(&self) -> Span {
        match self {
            Ast::Lit(_, s)
            | Ast::Not(_, s)
            | Ast::Cmp(_, _, _, s)
            | Ast::Arith(_, _, _, s)
            | Ast::Neg(_, s) => s.clone(),
            Ast::Field { span, .. }
            | Ast::In { span, .. }
            | Ast::Match { span, .. }
            | Ast::Call { span, .. } => span.clone(),
            Ast::And(a, b) | Ast::Or(a, b) => a.span().start..b.span().end,
        }
    }
}

/// `<category> where <condition>` (category `None` for `any`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    pub category: Option<(String, Span)>,
    pub condition: Ast,
    pub span: Span,
}

/// One bracketed stage of a sequence or sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub filter: EventFilter,
    pub keys: Vec<Ast>,
    /// `with runs=N`: the stage repeats N times (1 when absent).
    pub runs: usize,
    /// `![...]`: a missing-event stage.
    pub missing: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryKind {
    Event(EventFilter),
    Sequence {
        keys: Vec<Ast>,
        maxspan: Option<(i64, Span)>,
        stages: Vec<Stage>,
        until: Option<Stage>,
    },
    Sample {
        keys: Vec<Ast>,
        stages: Vec<Stage>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipe {
    Head(usize),
    Tail(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub query: QueryKind,
    pub pipes: Vec<(Pipe, Span)>,
}
