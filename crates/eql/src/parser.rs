//! Recursive-descent parser from tokens to [`ast::Statement`](crate::ast::Statement), following
//! the Elasticsearch EQL grammar: event queries, `sequence`, `sample`, stages with `by`, `runs`
//! and `![...]` missing events, `until`, `head`/`tail` pipes, and the expression language.

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::lexer::{Tok, Token, tokenize};

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "like", "regex", "where", "sequence", "sample", "join", "by", "with", "until",
    "true", "false", "null", "any", "of",
];

pub fn parse(src: &str) -> Result<Statement, Diagnostic> {
    let tokens = tokenize(src)?;
    let mut p = Parser { toks: tokens, pos: 0 };
    let stmt = p.statement()?;
    Ok(stmt)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

type PResult<T> = Result<T, Diagnostic>;

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.toks[self.pos].span.clone()
    }

    fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.toks[self.pos - 1].span.end
        }
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn describe(&self) -> String {
        match self.peek() {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Quoted(s) => format!("'`{s}`'"),
            Tok::Str(s) => format!("'\"{s}\"'"),
            Tok::Int(n) => format!("'{n}'"),
            Tok::Float(f) => format!("'{f}'"),
            Tok::Op(o) => format!("'{o}'"),
            Tok::Eof => "<EOF>".to_string(),
        }
    }

    fn error<T>(&self, expecting: &str) -> PResult<T> {
        Err(Diagnostic::new(
            format!("mismatched input {} expecting {expecting}", self.describe()),
            self.span(),
        ))
    }

    fn expect_op(&mut self, op: &str) -> PResult<Span> {
        if self.is_op(op) {
            Ok(self.bump().span)
        } else {
            self.error(&format!("'{op}'"))
        }
    }

    fn expect_kw(&mut self, kw: &str) -> PResult<Span> {
        if self.is_kw(kw) {
            Ok(self.bump().span)
        } else {
            self.error(&format!("'{kw}'"))
        }
    }

    fn statement(&mut self) -> PResult<Statement> {
        let query = if self.is_kw("sequence") {
            self.sequence()?
        } else if self.is_kw("sample") {
            self.sample()?
        } else if self.is_kw("join") {
            return Err(Diagnostic::new("join is not supported", self.span()));
        } else {
            QueryKind::Event(self.event_filter()?)
        };
        let mut pipes = Vec::new();
        while self.eat_op("|") {
            let start = self.span().start;
            let name = match self.peek() {
                Tok::Ident(s) => s.clone(),
                _ => return self.error("a pipe name"),
            };
            self.bump();
            let pipe = match name.as_str() {
                "head" | "tail" => {
                    let n = match self.peek() {
                        Tok::Int(n) if *n >= 0 => *n as usize,
                        _ => return self.error("a non-negative integer"),
                    };
                    self.bump();
                    if name == "head" {
                        Pipe::Head(n)
                    } else {
                        Pipe::Tail(n)
                    }
                }
                other => {
                    return Err(Diagnostic::new(
                        format!("pipe [{other}] is not supported"),
                        start..self.prev_end(),
                    ));
                }
            };
            pipes.push((pipe, start..self.prev_end()));
        }
        if !matches!(self.peek(), Tok::Eof) {
            return self.error("{<EOF>, 'and', 'or', '|'}");
        }
        Ok(Statement { query, pipes })
    }

    fn sequence(&mut self) -> PResult<QueryKind> {
        self.expect_kw("sequence")?;
        let mut keys = Vec::new();
        let mut maxspan = None;
        if self.is_kw("by") {
            keys = self.join_keys()?;
            if self.is_kw("with") {
                maxspan = Some(self.maxspan()?);
            }
        } else if self.is_kw("with") {
            maxspan = Some(self.maxspan()?);
            if self.is_kw("by") {
                keys = self.join_keys()?;
            }
        }
        let mut stages = Vec::new();
        while self.is_op("[") || (self.is_op("!") && matches!(self.peek_at(1), Tok::Op("["))) {
            stages.push(self.stage(true)?);
        }
        if stages.is_empty() {
            return self.error("'['");
        }
        let until = if self.is_kw("until") {
            let kw = self.bump().span;
            let st = self.stage(false)?;
            if st.missing {
                return Err(Diagnostic::new("a missing event cannot be used in until", kw));
            }
            Some(st)
        } else {
            None
        };
        Ok(QueryKind::Sequence {
            keys,
            maxspan,
            stages,
            until,
        })
    }

    fn sample(&mut self) -> PResult<QueryKind> {
        self.expect_kw("sample")?;
        let keys = if self.is_kw("by") {
            self.join_keys()?
        } else {
            Vec::new()
        };
        let mut stages = Vec::new();
        while self.is_op("[") {
            stages.push(self.stage(false)?);
        }
        if stages.is_empty() {
            return self.error("'['");
        }
        Ok(QueryKind::Sample { keys, stages })
    }

    fn maxspan(&mut self) -> PResult<(i64, Span)> {
        self.expect_kw("with")?;
        match self.peek() {
            Tok::Ident(s) if s == "maxspan" => {
                self.bump();
            }
            _ => return self.error("'maxspan'"),
        }
        self.expect_op("=")?;
        let start = self.span().start;
        let n = match self.peek() {
            Tok::Int(n) => *n,
            Tok::Op("-") => {
                return Err(Diagnostic::new(
                    "maxspan must be a positive time value",
                    self.span().start..self.span().end + 1,
                ));
            }
            _ => return self.error("a time value"),
        };
        self.bump();
        let unit = match self.peek() {
            Tok::Ident(u) if self.span().start == self.prev_end() => {
                let u = u.clone();
                self.bump();
                u
            }
            _ => {
                return Err(Diagnostic::new(
                    "no time unit specified; use one of [ms, s, m, h, d]",
                    start..self.prev_end(),
                ));
            }
        };
        let mult: i64 = match unit.as_str() {
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            other => {
                return Err(Diagnostic::new(
                    format!("unrecognized time unit [{other}] in [{n}{other}]; use one of [ms, s, m, h, d]"),
                    start..self.prev_end(),
                ));
            }
        };
        let span = start..self.prev_end();
        let nanos = n
            .checked_mul(mult)
            .ok_or_else(|| Diagnostic::new("maxspan is too large", span.clone()))?;
        if nanos <= 0 {
            return Err(Diagnostic::new("maxspan must be a positive time value", span));
        }
        Ok((nanos, span))
    }

    fn join_keys(&mut self) -> PResult<Vec<Ast>> {
        self.expect_kw("by")?;
        let mut keys = vec![self.expression()?];
        while self.eat_op(",") {
            keys.push(self.expression()?);
        }
        Ok(keys)
    }

    fn stage(&mut self, allow_missing: bool) -> PResult<Stage> {
        let start = self.span().start;
        let missing = if self.is_op("!") {
            if !allow_missing {
                return Err(Diagnostic::new(
                    "missing events are only allowed in sequences",
                    self.span(),
                ));
            }
            self.bump();
            true
        } else {
            false
        };
        self.expect_op("[")?;
        let filter = self.event_filter()?;
        self.expect_op("]")?;
        let keys = if self.is_kw("by") {
            self.join_keys()?
        } else {
            Vec::new()
        };
        let mut runs = 1;
        if self.is_kw("with") && matches!(self.peek_at(1), Tok::Ident(s) if s == "runs") {
            self.bump();
            self.bump();
            self.expect_op("=")?;
            let sp = self.span();
            match self.peek() {
                Tok::Int(n) if (1..=100).contains(n) => runs = *n as usize,
                Tok::Int(n) => {
                    return Err(Diagnostic::new(
                        format!("a positive runs value below 100 is required; found [{n}]"),
                        sp,
                    ));
                }
                _ => return self.error("an integer"),
            }
            self.bump();
        }
        Ok(Stage {
            filter,
            keys,
            runs,
            missing,
            span: start..self.prev_end(),
        })
    }

    fn event_filter(&mut self) -> PResult<EventFilter> {
        let start = self.span().start;
        let category = match self.peek().clone() {
            Tok::Ident(s) if s == "any" => {
                self.bump();
                None
            }
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) => Some((s, self.bump().span)),
            Tok::Str(s) => Some((s, self.bump().span)),
            _ => return self.error("{'any', STRING, IDENTIFIER}"),
        };
        self.expect_kw("where")?;
        let condition = self.expression()?;
        Ok(EventFilter {
            category,
            condition,
            span: start..self.prev_end(),
        })
    }

    pub fn expression(&mut self) -> PResult<Ast> {
        self.or_expr()
    }

    fn or_expr(&mut self) -> PResult<Ast> {
        let mut left = self.and_expr()?;
        while self.eat_kw("or") {
            let right = self.and_expr()?;
            left = Ast::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Ast> {
        let mut left = self.not_expr()?;
        while self.eat_kw("and") {
            let right = self.not_expr()?;
            left = Ast::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> PResult<Ast> {
        if self.is_kw("not") {
            let start = self.bump().span.start;
            let inner = self.not_expr()?;
            let end = inner.span().end;
            return Ok(Ast::Not(Box::new(inner), start..end));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> PResult<Ast> {
        let left = self.additive()?;
        let start = left.span().start;
        let cmp = match self.peek() {
            Tok::Op("==") => Some(CmpOp::Eq),
            Tok::Op("!=") => Some(CmpOp::Ne),
            Tok::Op("<") => Some(CmpOp::Lt),
            Tok::Op("<=") => Some(CmpOp::Le),
            Tok::Op(">") => Some(CmpOp::Gt),
            Tok::Op(">=") => Some(CmpOp::Ge),
            Tok::Op("=") => {
                return Err(Diagnostic::new("use == instead of = for equality", self.span()));
            }
            _ => None,
        };
        if let Some(op) = cmp {
            self.bump();
            let right = self.additive()?;
            let end = right.span().end;
            return Ok(Ast::Cmp(op, Box::new(left), Box::new(right), start..end));
        }
        // `not in`
        if self.is_kw("not") && matches!(self.peek_at(1), Tok::Ident(s) if s == "in") {
            self.bump();
            self.bump();
            let insensitive = self.eat_op("~");
            let list = self.paren_list()?;
            let span = start..self.prev_end();
            let inner = Ast::In {
                expr: Box::new(left),
                list,
                insensitive,
                span: span.clone(),
            };
            return Ok(Ast::Not(Box::new(inner), span));
        }
        if self.eat_kw("in") {
            let insensitive = self.eat_op("~");
            let list = self.paren_list()?;
            return Ok(Ast::In {
                expr: Box::new(left),
                list,
                insensitive,
                span: start..self.prev_end(),
            });
        }
        let (op, insensitive) = if self.eat_op(":") {
            (MatchOp::Seq, true)
        } else if self.eat_kw("like") {
            (MatchOp::Like, self.eat_op("~"))
        } else if self.eat_kw("regex") {
            (MatchOp::Regex, self.eat_op("~"))
        } else {
            return Ok(left);
        };
        let patterns = if self.is_op("(") {
            self.paren_list()?
        } else {
            vec![self.additive()?]
        };
        Ok(Ast::Match {
            op,
            insensitive,
            expr: Box::new(left),
            patterns,
            span: start..self.prev_end(),
        })
    }

    fn paren_list(&mut self) -> PResult<Vec<Ast>> {
        self.expect_op("(")?;
        let mut list = vec![self.expression()?];
        while self.eat_op(",") {
            list.push(self.expression()?);
        }
        self.expect_op(")")?;
        Ok(list)
    }

    fn additive(&mut self) -> PResult<Ast> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => ArithOp::Add,
                Tok::Op("-") => ArithOp::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.multiplicative()?;
            let span = left.span().start..right.span().end;
            left = Ast::Arith(op, Box::new(left), Box::new(right), span);
        }
    }

    fn multiplicative(&mut self) -> PResult<Ast> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => ArithOp::Mul,
                Tok::Op("/") => ArithOp::Div,
                Tok::Op("%") => ArithOp::Mod,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.unary()?;
            let span = left.span().start..right.span().end;
            left = Ast::Arith(op, Box::new(left), Box::new(right), span);
        }
    }

    fn unary(&mut self) -> PResult<Ast> {
        if self.is_op("-") {
            let start = self.bump().span.start;
            let inner = self.unary()?;
            let span = start..inner.span().end;
            return Ok(match inner {
                Ast::Lit(Lit::Int(n), _) => Ast::Lit(Lit::Int(-n), span),
                Ast::Lit(Lit::Float(f), _) => Ast::Lit(Lit::Float(-f), span),
                other => Ast::Neg(Box::new(other), span),
            });
        }
        if self.eat_op("+") {
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Ast> {
        let span = self.span();
        match self.peek().clone() {
            Tok::Int(n) => {
                self.bump();
                Ok(Ast::Lit(Lit::Int(n), span))
            }
            Tok::Float(f) => {
                self.bump();
                Ok(Ast::Lit(Lit::Float(f), span))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Ast::Lit(Lit::Str(s), span))
            }
            Tok::Op("(") => {
                self.bump();
                let e = self.expression()?;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Op("?") => {
                self.bump();
                let inner = self.span();
                if inner.start != span.end {
                    return self.error("a field name directly after '?'");
                }
                match self.peek().clone() {
                    Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) => {
                        self.bump();
                        Ok(Ast::Field {
                            name: s,
                            optional: true,
                            span: span.start..inner.end,
                        })
                    }
                    Tok::Quoted(s) => {
                        self.bump();
                        Ok(Ast::Field {
                            name: s,
                            optional: true,
                            span: span.start..inner.end,
                        })
                    }
                    _ => self.error("a field name"),
                }
            }
            Tok::Quoted(s) => {
                self.bump();
                Ok(Ast::Field {
                    name: s,
                    optional: false,
                    span,
                })
            }
            Tok::Ident(s) => match s.as_str() {
                "true" | "false" => {
                    self.bump();
                    Ok(Ast::Lit(Lit::Bool(s == "true"), span))
                }
                "null" => {
                    self.bump();
                    Ok(Ast::Lit(Lit::Null, span))
                }
                kw if KEYWORDS.contains(&kw) => self.error("an expression"),
                _ => {
                    self.bump();
                    let call_ci = self.is_op("~") && matches!(self.peek_at(1), Tok::Op("("));
                    if self.is_op("(") || call_ci {
                        if call_ci {
                            self.bump();
                        }
                        self.bump();
                        let mut args = Vec::new();
                        if !self.is_op(")") {
                            args.push(self.expression()?);
                            while self.eat_op(",") {
                                args.push(self.expression()?);
                            }
                        }
                        self.expect_op(")")?;
                        return Ok(Ast::Call {
                            name: s,
                            insensitive: call_ci,
                            args,
                            span: span.start..self.prev_end(),
                        });
                    }
                    Ok(Ast::Field {
                        name: s,
                        optional: false,
                        span,
                    })
                }
            },
            _ => self.error("an expression"),
        }
    }
}
