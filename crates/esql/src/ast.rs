//! The parsed (untyped) form of a query: a source command and a pipeline of processing
//! commands. Every expression keeps its byte span for diagnostics and warnings.

use std::ops::Range;

pub type Span = Range<usize>;

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub source: Source,
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone)]
pub enum Source {
    From {
        indices: Vec<String>,
        metadata: Vec<(String, Span)>,
    },
    Row(Vec<Field>),
}

/// `name = expr`, or a bare `expr` (its name is then the expression's source text).
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub name_span: Span,
    pub expr: Expr,
    /// Per-aggregation filter: `count(*) WHERE x > 1`.
    pub filter: Option<Expr>,
}

#[derive(Debug, Clone)]
pub enum Command {
    Where(Expr),
    Eval(Vec<Field>),
    Stats {
        aggs: Vec<Field>,
        by: Vec<Field>,
        inline: bool,
        span: Span,
    },
    Keep(Vec<(String, Span)>),
    Drop(Vec<(String, Span)>),
    Rename(Vec<((String, Span), (String, Span))>),
    Sort(Vec<SortKey>),
    Limit(u64),
    MvExpand(String, Span),
    Dissect {
        input: Expr,
        pattern: String,
        pattern_span: Span,
        append_separator: Option<String>,
    },
    Grok {
        input: Expr,
        pattern: String,
        pattern_span: Span,
    },
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub expr: Expr,
    pub desc: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Eq => "==",
            BinOp::Neq => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Neq | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Null,
    Bool(bool),
    /// An integer literal (its text; typed at analysis: integer, long, unsigned_long or double).
    Int(String),
    Dec(f64),
    Str(String),
    /// `5 minutes`: amount and unit as written.
    TimeSpan(i64, String),
    /// `[1, 2, 3]`: a multi-valued literal.
    List(Vec<Expr>),
    Field(String),
    /// `*` inside `count(*)`.
    Star,
    Call(String, Vec<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    IsNull(Box<Expr>, bool),
    In(Box<Expr>, Vec<Expr>, bool),
    Like {
        expr: Box<Expr>,
        /// String literals, or constant expressions (folded at analysis).
        patterns: Vec<Expr>,
        rlike: bool,
        negated: bool,
    },
    Cast(Box<Expr>, String),
    /// `{"option": value, ...}`: named options of a function call.
    Map(Vec<(String, Expr)>),
}
