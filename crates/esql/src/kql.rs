//! The `KQL()` function: a subset of the Kibana Query Language compiled to an expression over
//! the row: `field:value`, `field:(a or b)`, quoted values, `*` wildcards, `field:*`
//! (exists), `and`/`or`/`not` and parentheses. A field clause matches when any of the field's
//! values matches (as a Lucene term query on a multi-valued field does).

use std::sync::Arc;

use regex::Regex;

use crate::expr::{Ex, ExK, Loc};
use crate::types::DataType;

#[derive(Debug, Clone, PartialEq)]
enum T {
    Word(String),
    Quoted(String),
    Colon,
    LParen,
    RParen,
}

fn tokens(q: &str) -> Result<Vec<T>, String> {
    let c: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        match c[i] {
            ch if ch.is_whitespace() => i += 1,
            ':' => {
                out.push(T::Colon);
                i += 1
            }
            '(' => {
                out.push(T::LParen);
                i += 1
            }
            ')' => {
                out.push(T::RParen);
                i += 1
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' && i + 1 < c.len() {
                        i += 1;
                    }
                    s.push(c[i]);
                    i += 1;
                }
                if i >= c.len() {
                    return Err(format!("unterminated quoted value in KQL [{q}]"));
                }
                i += 1;
                out.push(T::Quoted(s));
            }
            _ => {
                let mut s = String::new();
                while i < c.len() && !c[i].is_whitespace() && !matches!(c[i], ':' | '(' | ')' | '"') {
                    if c[i] == '\\' && i + 1 < c.len() {
                        i += 1;
                    }
                    s.push(c[i]);
                    i += 1;
                }
                out.push(T::Word(s));
            }
        }
    }
    Ok(out)
}

/// The field names a KQL query mentions.
pub fn field_names(q: &str) -> Vec<String> {
    let Ok(t) = tokens(q) else { return Vec::new() };
    t.windows(2)
        .filter_map(|w| match (&w[0], &w[1]) {
            (T::Word(f), T::Colon) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

struct P<'r> {
    t: Vec<T>,
    pos: usize,
    resolve: &'r mut dyn FnMut(&str) -> Option<(usize, DataType)>,
    loc: Arc<Loc>,
    q: String,
}

/// Compiles a KQL query; `resolve` maps a field name to its column.
pub fn compile(
    q: &str,
    resolve: &mut dyn FnMut(&str) -> Option<(usize, DataType)>,
    loc: Arc<Loc>,
) -> Result<Ex, String> {
    let mut p = P {
        t: tokens(q)?,
        pos: 0,
        resolve,
        loc,
        q: q.to_string(),
    };
    let e = p.or()?;
    if p.pos != p.t.len() {
        return Err(format!("unexpected token in KQL [{q}]"));
    }
    Ok(e)
}

impl P<'_> {
    fn kw(&self, k: &str) -> bool {
        matches!(self.t.get(self.pos), Some(T::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn node(&self, kind: ExK) -> Ex {
        Ex {
            kind,
            ty: DataType::Boolean,
            loc: self.loc.clone(),
        }
    }

    fn or(&mut self) -> Result<Ex, String> {
        let mut l = self.and()?;
        while self.kw("or") {
            self.pos += 1;
            let r = self.and()?;
            l = self.node(ExK::Or(Box::new(l), Box::new(r)));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Ex, String> {
        let mut l = self.not()?;
        while self.kw("and") {
            self.pos += 1;
            let r = self.not()?;
            l = self.node(ExK::And(Box::new(l), Box::new(r)));
        }
        Ok(l)
    }

    fn not(&mut self) -> Result<Ex, String> {
        if self.kw("not") {
            self.pos += 1;
            let e = self.not()?;
            // KQL's NOT is a must_not: clauses never yield null, so NOT of a missing field is true
            return Ok(self.node(ExK::Not(Box::new(e))));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Ex, String> {
        match self.t.get(self.pos).cloned() {
            Some(T::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if self.t.get(self.pos) != Some(&T::RParen) {
                    return Err(format!("expected ')' in KQL [{}]", self.q));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(T::Word(field)) if self.t.get(self.pos + 1) == Some(&T::Colon) => {
                self.pos += 2;
                let (col, ty) = (self.resolve)(&field).ok_or_else(|| format!("Unknown column [{field}]"))?;
                let col_ex = Ex {
                    kind: ExK::Col(col),
                    ty,
                    loc: self.loc.clone(),
                };
                let values = self.values()?;
                self.clause(col_ex, values)
            }
            _ => Err(format!("free-text KQL terms are not supported in [{}]", self.q)),
        }
    }

    /// `value`, `"value"` or `(v1 or v2 ...)`: returns alternatives (quoted, text).
    fn values(&mut self) -> Result<Vec<(bool, String)>, String> {
        match self.t.get(self.pos).cloned() {
            Some(T::Word(w)) => {
                self.pos += 1;
                Ok(vec![(false, w)])
            }
            Some(T::Quoted(s)) => {
                self.pos += 1;
                Ok(vec![(true, s)])
            }
            Some(T::LParen) => {
                self.pos += 1;
                let mut out = Vec::new();
                loop {
                    match self.t.get(self.pos).cloned() {
                        Some(T::Word(w)) => out.push((false, w)),
                        Some(T::Quoted(s)) => out.push((true, s)),
                        _ => return Err(format!("expected a value in KQL [{}]", self.q)),
                    }
                    self.pos += 1;
                    if self.kw("or") {
                        self.pos += 1;
                        continue;
                    }
                    if self.kw("and") {
                        return Err(format!(
                            "AND inside a value list is not supported in KQL [{}]",
                            self.q
                        ));
                    }
                    break;
                }
                if self.t.get(self.pos) != Some(&T::RParen) {
                    return Err(format!("expected ')' in KQL [{}]", self.q));
                }
                self.pos += 1;
                Ok(out)
            }
            _ => Err(format!("expected a value in KQL [{}]", self.q)),
        }
    }

    fn clause(&self, col: Ex, values: Vec<(bool, String)>) -> Result<Ex, String> {
        let mut res = Vec::new();
        for (quoted, v) in values {
            if !quoted && v == "*" {
                // exists
                return Ok(self.node(ExK::IsNull(Box::new(col), true)));
            }
            let pat = if quoted {
                format!("^{}$", regex::escape(&v))
            } else {
                let parts: Vec<String> = v.split('*').map(regex::escape).collect();
                format!("^{}$", parts.join(".*"))
            };
            res.push(Arc::new(Regex::new(&pat).map_err(|e| e.to_string())?));
        }
        Ok(self.node(ExK::AnyMatch(Box::new(col), res)))
    }
}
