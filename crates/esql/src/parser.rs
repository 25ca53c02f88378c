//! Recursive-descent parser for ES|QL, following the precedence of Elasticsearch's grammar:
//! `OR` < `AND` < `NOT` < predicates (`IS NULL`, `IN`, `LIKE`, `RLIKE`) < comparison <
//! `+ -` < `* / %` < unary minus < `::` cast. Keywords are case-insensitive.

use crate::ast::*;
use crate::diag::Diagnostic;
use crate::lexer::{Tok, Token, lex};

const COMMANDS: &str = "{'dissect', 'drop', 'enrich', 'eval', 'grok', 'inline', 'keep', 'limit', 'mv_expand', \
     'rename', 'sort', 'stats', 'where'}";

pub fn parse(src: &str) -> Result<Pipeline, Diagnostic> {
    let tokens = lex(src).map_err(|(msg, span)| Diagnostic::new(src, span, msg))?;
    let mut p = Parser {
        src,
        toks: tokens,
        pos: 0,
    };
    p.pipeline()
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
}

type PResult<T> = Result<T, Diagnostic>;

fn is_time_unit(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "millisecond"
            | "milliseconds"
            | "ms"
            | "second"
            | "seconds"
            | "sec"
            | "s"
            | "minute"
            | "minutes"
            | "min"
            | "hour"
            | "hours"
            | "h"
            | "day"
            | "days"
            | "d"
            | "week"
            | "weeks"
            | "w"
            | "month"
            | "months"
            | "mo"
            | "quarter"
            | "quarters"
            | "q"
            | "year"
            | "years"
            | "yr"
            | "y"
    )
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(&self.peek_at(n).tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if &self.peek().tok == t {
            self.bump();
            true
        } else {
            false
        }
    }

    fn err<T>(&self, expecting: &str) -> PResult<T> {
        let t = self.peek();
        Err(Diagnostic::new(
            self.src,
            t.span.clone(),
            format!("mismatched input {} expecting {expecting}", t.tok.describe()),
        ))
    }

    fn expect(&mut self, t: Tok) -> PResult<Token> {
        if self.peek().tok == t {
            Ok(self.bump())
        } else {
            self.err(&t.describe())
        }
    }

    fn pipeline(&mut self) -> PResult<Pipeline> {
        let source = if self.eat_kw("from") {
            self.from()?
        } else if self.eat_kw("row") {
            Source::Row(self.fields(false)?)
        } else {
            return self.err("{'explain', 'from', 'row', 'show'}");
        };
        let mut commands = Vec::new();
        while self.eat(&Tok::Pipe) {
            commands.push(self.command()?);
        }
        if self.peek().tok != Tok::Eof {
            return self.err("{<EOF>, '|'}");
        }
        Ok(Pipeline { source, commands })
    }

    fn from(&mut self) -> PResult<Source> {
        let mut indices = Vec::new();
        loop {
            indices.push(self.index_pattern()?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        let mut metadata = Vec::new();
        if self.eat_kw("metadata") {
            loop {
                let t = self.bump();
                match t.tok {
                    Tok::Ident(s) | Tok::Quoted(s) => metadata.push((s, t.span)),
                    _ => {
                        self.pos -= 1;
                        return self.err("UNQUOTED_SOURCE");
                    }
                }
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        Ok(Source::From { indices, metadata })
    }

    /// An unquoted index pattern is a run of adjacent tokens (`logs-kubernetes.audit_logs-*`).
    fn index_pattern(&mut self) -> PResult<String> {
        if let Tok::Str(s) = &self.peek().tok {
            let s = s.clone();
            self.bump();
            return Ok(s);
        }
        let first = self.peek().clone();
        if matches!(first.tok, Tok::Pipe | Tok::Comma | Tok::Eof) {
            return self.err("{QUOTED_STRING, UNQUOTED_SOURCE}");
        }
        let start = first.span.start;
        let mut end = first.span.end;
        self.bump();
        while !self.peek().space_before
            && !matches!(
                self.peek().tok,
                Tok::Pipe | Tok::Comma | Tok::Eof | Tok::LParen | Tok::RParen
            )
        {
            end = self.bump().span.end;
        }
        Ok(self.src[start..end].to_string())
    }

    fn command(&mut self) -> PResult<Command> {
        let t = self.peek().clone();
        let Tok::Ident(word) = &t.tok else {
            return self.err(COMMANDS);
        };
        let word = word.to_ascii_lowercase();
        self.bump();
        Ok(match word.as_str() {
            "where" => Command::Where(self.expr()?),
            "eval" => Command::Eval(self.fields(false)?),
            "stats" => self.stats(false, t.span.start)?,
            "inlinestats" => self.stats(true, t.span.start)?,
            "inline" if self.is_kw("stats") => {
                self.bump();
                self.stats(true, t.span.start)?
            }
            "keep" => Command::Keep(self.patterns()?),
            "drop" => Command::Drop(self.patterns()?),
            "rename" => {
                let mut pairs = Vec::new();
                loop {
                    let a = self.pattern()?;
                    if self.eat(&Tok::Assign) {
                        let b = self.pattern()?;
                        pairs.push((b, a));
                    } else {
                        if !self.eat_kw("as") {
                            return self.err("{'.', AS}");
                        }
                        let b = self.pattern()?;
                        pairs.push((a, b));
                    }
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                Command::Rename(pairs)
            }
            "sort" => {
                let mut keys = Vec::new();
                loop {
                    let expr = self.expr()?;
                    let desc = if self.eat_kw("desc") {
                        true
                    } else {
                        self.eat_kw("asc");
                        false
                    };
                    let nulls_first = if self.eat_kw("nulls") {
                        if self.eat_kw("first") {
                            true
                        } else if self.eat_kw("last") {
                            false
                        } else {
                            return self.err("{FIRST, LAST}");
                        }
                    } else {
                        desc
                    };
                    keys.push(SortKey {
                        expr,
                        desc,
                        nulls_first,
                    });
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                Command::Sort(keys)
            }
            "limit" => {
                let t = self.bump();
                match &t.tok {
                    Tok::Int(s) => match s.parse::<u64>() {
                        Ok(n) => Command::Limit(n),
                        Err(_) => {
                            return Err(Diagnostic::new(
                                self.src,
                                t.span,
                                format!("Invalid value for LIMIT [{s}], expecting a non negative integer"),
                            ));
                        }
                    },
                    _ => {
                        self.pos -= 1;
                        return self.err("INTEGER_LITERAL");
                    }
                }
            }
            "mv_expand" => {
                let (n, s) = self.qualified_name()?;
                Command::MvExpand(n, s)
            }
            "dissect" => {
                let input = self.primary()?;
                let (pattern, pattern_span) = self.string()?;
                let mut append_separator = None;
                while let Tok::Ident(opt) = &self.peek().tok {
                    if !matches!(self.peek_at(1).tok, Tok::Assign) {
                        break;
                    }
                    let opt_span = self.peek().span.clone();
                    let opt = opt.clone();
                    self.bump();
                    self.bump();
                    let (v, _) = self.string()?;
                    if opt.eq_ignore_ascii_case("append_separator") {
                        append_separator = Some(v);
                    } else {
                        return Err(Diagnostic::new(
                            self.src,
                            opt_span,
                            format!("Invalid option for dissect: [{opt}]"),
                        ));
                    }
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                Command::Dissect {
                    input,
                    pattern,
                    pattern_span,
                    append_separator,
                }
            }
            "grok" => {
                let input = self.primary()?;
                let (pattern, pattern_span) = self.string()?;
                Command::Grok {
                    input,
                    pattern,
                    pattern_span,
                }
            }
            _ => {
                self.pos -= 1;
                return self.err(COMMANDS);
            }
        })
    }

    fn string(&mut self) -> PResult<(String, Span)> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Str(s) => {
                self.bump();
                Ok((s, t.span))
            }
            _ => self.err("QUOTED_STRING"),
        }
    }

    fn stats(&mut self, inline: bool, start: usize) -> PResult<Command> {
        let mut aggs = Vec::new();
        if !self.is_kw("by") && !matches!(self.peek().tok, Tok::Pipe | Tok::Eof) {
            aggs = self.fields(true)?;
        }
        let mut by = Vec::new();
        if self.eat_kw("by") {
            by = self.fields(false)?;
        }
        let end = self.toks[self.pos.saturating_sub(1)].span.end;
        Ok(Command::Stats {
            aggs,
            by,
            inline,
            span: start..end,
        })
    }

    fn fields(&mut self, allow_filter: bool) -> PResult<Vec<Field>> {
        let mut out = Vec::new();
        loop {
            out.push(self.field(allow_filter)?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        Ok(out)
    }

    fn field(&mut self, allow_filter: bool) -> PResult<Field> {
        let save = self.pos;
        if matches!(self.peek().tok, Tok::Ident(_) | Tok::Quoted(_))
            && let Ok((name, name_span)) = self.qualified_name()
            && self.eat(&Tok::Assign)
        {
            let expr = self.expr()?;
            let filter = self.agg_filter(allow_filter)?;
            return Ok(Field {
                name,
                name_span,
                expr,
                filter,
            });
        }
        self.pos = save;
        let expr = self.expr()?;
        let name = match &expr.kind {
            ExprKind::Field(n) => n.clone(),
            _ => self.src[expr.span.clone()].to_string(),
        };
        let filter = self.agg_filter(allow_filter)?;
        Ok(Field {
            name,
            name_span: expr.span.clone(),
            expr,
            filter,
        })
    }

    fn agg_filter(&mut self, allow: bool) -> PResult<Option<Expr>> {
        if allow && self.eat_kw("where") {
            Ok(Some(self.expr()?))
        } else {
            Ok(None)
        }
    }

    fn qualified_name(&mut self) -> PResult<(String, Span)> {
        let first = self.peek().clone();
        let mut name = match &first.tok {
            Tok::Ident(s) | Tok::Quoted(s) => s.clone(),
            _ => return self.err("{UNQUOTED_IDENTIFIER, QUOTED_IDENTIFIER}"),
        };
        self.bump();
        let mut end = first.span.end;
        while self.peek().tok == Tok::Dot && !self.peek().space_before {
            match &self.peek_at(1).tok {
                Tok::Ident(s) | Tok::Quoted(s) => {
                    name.push('.');
                    name.push_str(s);
                    self.bump();
                    end = self.bump().span.end;
                }
                _ => break,
            }
        }
        Ok((name, first.span.start..end))
    }

    fn patterns(&mut self) -> PResult<Vec<(String, Span)>> {
        let mut out = Vec::new();
        loop {
            out.push(self.pattern()?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        Ok(out)
    }

    /// A name pattern: adjacent identifiers, dots and `*`.
    fn pattern(&mut self) -> PResult<(String, Span)> {
        let first = self.peek().clone();
        if !matches!(first.tok, Tok::Ident(_) | Tok::Quoted(_) | Tok::Star) {
            return self.err("{UNQUOTED_ID_PATTERN, QUOTED_IDENTIFIER}");
        }
        let mut s = String::new();
        let mut end = first.span.end;
        let mut firsttok = true;
        while firsttok
            || (!self.peek().space_before
                && matches!(
                    self.peek().tok,
                    Tok::Ident(_) | Tok::Quoted(_) | Tok::Star | Tok::Dot
                ))
        {
            let t = self.bump();
            match &t.tok {
                Tok::Ident(x) | Tok::Quoted(x) => s.push_str(x),
                Tok::Star => s.push('*'),
                Tok::Dot => s.push('.'),
                _ => {}
            }
            end = t.span.end;
            firsttok = false;
        }
        Ok((s, first.span.start..end))
    }

    pub fn expr(&mut self) -> PResult<Expr> {
        self.or()
    }

    fn or(&mut self) -> PResult<Expr> {
        let mut l = self.and()?;
        while self.eat_kw("or") {
            let r = self.and()?;
            l = bin(BinOp::Or, l, r);
        }
        Ok(l)
    }

    fn and(&mut self) -> PResult<Expr> {
        let mut l = self.not()?;
        while self.eat_kw("and") {
            let r = self.not()?;
            l = bin(BinOp::And, l, r);
        }
        Ok(l)
    }

    fn not(&mut self) -> PResult<Expr> {
        if self.is_kw("not") {
            let start = self.bump().span.start;
            let e = self.not()?;
            let span = start..e.span.end;
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(e)),
                span,
            });
        }
        self.predicate()
    }

    fn predicate(&mut self) -> PResult<Expr> {
        let v = self.comparison()?;
        let start = v.span.start;
        if self.is_kw("is") {
            self.bump();
            let negated = self.eat_kw("not");
            if !self.is_kw("null") {
                return self.err("{'not', 'null'}");
            }
            let end = self.bump().span.end;
            return Ok(Expr {
                kind: ExprKind::IsNull(Box::new(v), negated),
                span: start..end,
            });
        }
        let negated = if self.is_kw("not")
            && (self.is_kw_at(1, "in") || self.is_kw_at(1, "like") || self.is_kw_at(1, "rlike"))
        {
            self.bump();
            true
        } else {
            false
        };
        if self.eat_kw("in") {
            self.expect(Tok::LParen)?;
            let mut list = Vec::new();
            loop {
                list.push(self.expr()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            let end = self.expect(Tok::RParen)?.span.end;
            return Ok(Expr {
                kind: ExprKind::In(Box::new(v), list, negated),
                span: start..end,
            });
        }
        let rlike = self.is_kw("rlike");
        if rlike || self.is_kw("like") {
            self.bump();
            let mut patterns = Vec::new();
            let str_expr = |s: String, span: Span| Expr {
                kind: ExprKind::Str(s),
                span,
            };
            let end = if self.peek().tok == Tok::LParen && matches!(self.peek_at(1).tok, Tok::Str(_)) {
                self.bump();
                loop {
                    let (s, sp) = self.string()?;
                    patterns.push(str_expr(s, sp));
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(Tok::RParen)?.span.end
            } else if let Tok::Str(s) = &self.peek().tok {
                let s = s.clone();
                let sp = self.bump().span;
                patterns.push(str_expr(s, sp.clone()));
                sp.end
            } else {
                let e = self.primary()?;
                let end = e.span.end;
                patterns.push(e);
                end
            };
            return Ok(Expr {
                kind: ExprKind::Like {
                    expr: Box::new(v),
                    patterns,
                    rlike,
                    negated,
                },
                span: start..end,
            });
        }
        if negated {
            return self.err("{'in', 'like', 'rlike'}");
        }
        Ok(v)
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let l = self.additive()?;
        let op = match self.peek().tok {
            Tok::Eq => BinOp::Eq,
            Tok::Neq => BinOp::Neq,
            Tok::Lt => BinOp::Lt,
            Tok::Le => BinOp::Le,
            Tok::Gt => BinOp::Gt,
            Tok::Ge => BinOp::Ge,
            _ => return Ok(l),
        };
        self.bump();
        let r = self.additive()?;
        Ok(bin(op, l, r))
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut l = self.multiplicative()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(l),
            };
            self.bump();
            let r = self.multiplicative()?;
            l = bin(op, l, r);
        }
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut l = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Percent => BinOp::Mod,
                _ => return Ok(l),
            };
            self.bump();
            let r = self.unary()?;
            l = bin(op, l, r);
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        match self.peek().tok {
            Tok::Minus => {
                let start = self.bump().span.start;
                let e = self.unary()?;
                let span = start..e.span.end;
                Ok(Expr {
                    kind: ExprKind::Neg(Box::new(e)),
                    span,
                })
            }
            Tok::Plus => {
                self.bump();
                self.unary()
            }
            _ => self.cast(),
        }
    }

    fn cast(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        while self.eat(&Tok::Cast) {
            let t = self.bump();
            let Tok::Ident(ty) = &t.tok else {
                self.pos -= 1;
                return self.err("UNQUOTED_IDENTIFIER");
            };
            let span = e.span.start..t.span.end;
            e = Expr {
                kind: ExprKind::Cast(Box::new(e), ty.to_ascii_lowercase()),
                span,
            };
        }
        Ok(e)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        let start = t.span.start;
        let kind = match &t.tok {
            Tok::Int(s) | Tok::Dec(s) => {
                self.bump();
                if let Tok::Ident(unit) = &self.peek().tok
                    && is_time_unit(unit)
                {
                    let unit = unit.to_ascii_lowercase();
                    let end = self.bump().span.end;
                    let amount = match (&t.tok, s.parse::<i64>()) {
                        (Tok::Int(_), Ok(n)) => n,
                        _ => {
                            return Err(Diagnostic::new(
                                self.src,
                                start..end,
                                format!("Invalid time span amount [{s}]"),
                            ));
                        }
                    };
                    return Ok(Expr {
                        kind: ExprKind::TimeSpan(amount, unit),
                        span: start..end,
                    });
                }
                return Ok(Expr {
                    kind: match &t.tok {
                        Tok::Int(_) => ExprKind::Int(s.clone()),
                        _ => ExprKind::Dec(s.parse().unwrap_or(f64::NAN)),
                    },
                    span: t.span,
                });
            }
            Tok::Str(s) => {
                self.bump();
                ExprKind::Str(s.clone())
            }
            Tok::LParen => {
                self.bump();
                let inner = self.expr()?;
                let end = self.expect(Tok::RParen)?.span.end;
                return Ok(Expr {
                    kind: inner.kind,
                    span: start..end,
                });
            }
            Tok::LBracket => {
                self.bump();
                let mut items = Vec::new();
                if self.peek().tok != Tok::RBracket {
                    loop {
                        let neg = self.eat(&Tok::Minus);
                        let mut e = self.primary()?;
                        if neg {
                            e = Expr {
                                span: e.span.start - 1..e.span.end,
                                kind: ExprKind::Neg(Box::new(e)),
                            };
                        }
                        items.push(e);
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                }
                let end = self.expect(Tok::RBracket)?.span.end;
                return Ok(Expr {
                    kind: ExprKind::List(items),
                    span: start..end,
                });
            }
            Tok::Ident(word) if self.peek_at(1).tok == Tok::LParen => {
                let name = word.to_ascii_lowercase();
                self.bump();
                self.bump();
                let mut args = Vec::new();
                if self.peek().tok == Tok::Star {
                    let s = self.bump().span;
                    args.push(Expr {
                        kind: ExprKind::Star,
                        span: s,
                    });
                } else if self.peek().tok != Tok::RParen {
                    loop {
                        if self.peek().tok == Tok::LBrace {
                            args.push(self.map_literal()?);
                        } else {
                            args.push(self.expr()?);
                        }
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                }
                let end = self.expect(Tok::RParen)?.span.end;
                return Ok(Expr {
                    kind: ExprKind::Call(name, args),
                    span: start..end,
                });
            }
            Tok::Ident(word) if word.eq_ignore_ascii_case("null") => {
                self.bump();
                ExprKind::Null
            }
            Tok::Ident(word) if word.eq_ignore_ascii_case("true") => {
                self.bump();
                ExprKind::Bool(true)
            }
            Tok::Ident(word) if word.eq_ignore_ascii_case("false") => {
                self.bump();
                ExprKind::Bool(false)
            }
            Tok::Ident(_) | Tok::Quoted(_) => {
                let (name, span) = self.qualified_name()?;
                return Ok(Expr {
                    kind: ExprKind::Field(name),
                    span,
                });
            }
            _ => {
                return self.err(
                    "{QUOTED_STRING, INTEGER_LITERAL, DECIMAL_LITERAL, 'false', '(', 'not', 'null', '?', \
                     'true', '+', '-', UNQUOTED_IDENTIFIER, QUOTED_IDENTIFIER}",
                );
            }
        };
        Ok(Expr { kind, span: t.span })
    }
}

impl Parser<'_> {
    /// `{"key": constant, ...}` (function options).
    fn map_literal(&mut self) -> PResult<Expr> {
        let start = self.expect(Tok::LBrace)?.span.start;
        let mut entries = Vec::new();
        if self.peek().tok != Tok::RBrace {
            loop {
                let (k, _) = self.string()?;
                self.expect(Tok::Colon)?;
                let v = self.primary()?;
                entries.push((k, v));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let end = self.expect(Tok::RBrace)?.span.end;
        Ok(Expr {
            kind: ExprKind::Map(entries),
            span: start..end,
        })
    }
}

fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    let span = l.span.start..r.span.end;
    Expr {
        kind: ExprKind::Bin(op, Box::new(l), Box::new(r)),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_seed_shape() {
        let p = parse(
            "from logs-kubernetes.audit_logs-* metadata _id, _index, _version\n\
             | where a.b == \"x\" and c in (1, 2) and not d rlike \"\"\"x.*\"\"\"\n\
             | eval t = date_trunc(1 minute, @timestamp)\n\
             | stats n = count(), s = sum(case(x == 1, 1, 0)) by t, `a.b/c`\n\
             | keep Esql.*, x | sort n desc nulls last | limit 5",
        )
        .unwrap();
        match &p.source {
            Source::From { indices, metadata } => {
                assert_eq!(indices, &vec!["logs-kubernetes.audit_logs-*".to_string()]);
                assert_eq!(metadata.len(), 3);
            }
            _ => panic!("from expected"),
        }
        assert_eq!(p.commands.len(), 6);
        match &p.commands[2] {
            Command::Stats { by, .. } => assert_eq!(by[1].name, "a.b/c"),
            c => panic!("{c:?}"),
        }
        match &p.commands[3] {
            Command::Keep(pats) => assert_eq!(pats[0].0, "Esql.*"),
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn reports_mismatched_input() {
        let e = parse("from a | wher x").unwrap_err();
        assert!(
            e.message().starts_with("mismatched input 'wher' expecting"),
            "{}",
            e.message()
        );
        assert_eq!(e.line_col(), (1, 10));
    }
}
