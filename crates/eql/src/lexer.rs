//! The EQL tokenizer: turns query text into [`Token`]s with byte spans, handling strings
//! (`"..."` with escapes, `"""..."""` raw), backquoted identifiers, numbers and comments.

use std::ops::Range;

use crate::diagnostic::Diagnostic;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare identifier or keyword (`process`, `where`, `process.name`, `@timestamp`).
    Ident(String),
    /// A backquoted identifier: always a field name, never a keyword.
    Quoted(String),
    Str(String),
    Int(i64),
    Float(f64),
    /// Punctuation and operators: `==` `!=` `<=` `>=` `<` `>` `:` `+` `-` `*` `/` `%` `(` `)`
    /// `[` `]` `,` `|` `~` `=` `!` `?`.
    Op(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub span: Range<usize>,
}

const OPS: [&str; 21] = [
    "==", "!=", "<=", ">=", "<", ">", ":", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",", "|", "~", "=",
    "!",
];

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '@'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '@'
}

pub fn tokenize(src: &str) -> Result<Vec<Token>, Diagnostic> {
    let mut out = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < src.len() {
        let c = src[i..].chars().next().expect("in bounds");
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        if src[i..].starts_with("/*") {
            match src[i + 2..].find("*/") {
                Some(end) => i = i + 2 + end + 2,
                None => return Err(Diagnostic::new("unterminated comment", i..src.len())),
            }
            continue;
        }
        if src[i..].starts_with("//") {
            i = src[i..].find('\n').map(|n| i + n + 1).unwrap_or(src.len());
            continue;
        }
        let start = i;
        if src[i..].starts_with("\"\"\"") {
            let Some(end) = src[i + 3..].find("\"\"\"") else {
                return Err(Diagnostic::new("unterminated string", i..src.len()));
            };
            // a raw string: a run of more than three closing quotes keeps the extras as content
            let mut close = i + 3 + end;
            while src[close + 3..].starts_with('"') {
                close += 1;
            }
            out.push(Token {
                tok: Tok::Str(src[i + 3..close].to_string()),
                span: start..close + 3,
            });
            i = close + 3;
            continue;
        }
        if c == '"' {
            let (s, end) = lex_string(src, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                span: start..end,
            });
            i = end;
            continue;
        }
        if c == '\'' {
            let end = src[i + 1..].find('\'').map(|n| i + n + 2).unwrap_or(src.len());
            return Err(Diagnostic::new(
                "Use double quotes [\"] to define string literals, not single quotes [']",
                i..end,
            ));
        }
        if c == '`' {
            let mut j = i + 1;
            let mut name = String::new();
            loop {
                if j >= src.len() {
                    return Err(Diagnostic::new("unterminated quoted identifier", i..src.len()));
                }
                if bytes[j] == b'`' {
                    if j + 1 < src.len() && bytes[j + 1] == b'`' {
                        name.push('`');
                        j += 2;
                        continue;
                    }
                    break;
                }
                let ch = src[j..].chars().next().expect("in bounds");
                name.push(ch);
                j += ch.len_utf8();
            }
            out.push(Token {
                tok: Tok::Quoted(name),
                span: start..j + 1,
            });
            i = j + 1;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < src.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            let mut float = false;
            if j + 1 < src.len() && bytes[j] == b'.' && bytes[j + 1].is_ascii_digit() {
                float = true;
                j += 1;
                while j < src.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if j < src.len() && (bytes[j] == b'e' || bytes[j] == b'E') {
                let mut k = j + 1;
                if k < src.len() && (bytes[k] == b'+' || bytes[k] == b'-') {
                    k += 1;
                }
                if k < src.len() && bytes[k].is_ascii_digit() {
                    while k < src.len() && bytes[k].is_ascii_digit() {
                        k += 1;
                    }
                    float = true;
                    j = k;
                }
            }
            let text = &src[i..j];
            let tok = if float {
                Tok::Float(
                    text.parse()
                        .map_err(|_| Diagnostic::new("invalid number", i..j))?,
                )
            } else {
                match text.parse::<i64>() {
                    Ok(n) => Tok::Int(n),
                    Err(_) => Tok::Float(
                        text.parse()
                            .map_err(|_| Diagnostic::new("invalid number", i..j))?,
                    ),
                }
            };
            out.push(Token { tok, span: i..j });
            i = j;
            continue;
        }
        if is_ident_start(c) {
            let mut j = i;
            while let Some(ch) = src[j..].chars().next() {
                if is_ident_char(ch) {
                    j += ch.len_utf8();
                } else if ch == '.' && src[j + 1..].chars().next().is_some_and(is_ident_char) {
                    j += 1;
                } else {
                    break;
                }
            }
            out.push(Token {
                tok: Tok::Ident(src[i..j].to_string()),
                span: i..j,
            });
            i = j;
            continue;
        }
        if c == '?' {
            // `?"..."` was an old raw-string form; `?field` marks an optional field
            out.push(Token {
                tok: Tok::Op("?"),
                span: i..i + 1,
            });
            i += 1;
            continue;
        }
        match OPS.iter().find(|op| src[i..].starts_with(**op)) {
            Some(op) => {
                out.push(Token {
                    tok: Tok::Op(op),
                    span: i..i + op.len(),
                });
                i += op.len();
            }
            None => {
                return Err(Diagnostic::new(
                    format!("token recognition error at: '{c}'"),
                    i..i + c.len_utf8(),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: src.len()..src.len(),
    });
    Ok(out)
}

/// Lexes a double-quoted string starting at `start`; returns its value and the end offset.
fn lex_string(src: &str, start: usize) -> Result<(String, usize), Diagnostic> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        let at = start + 1 + off;
        match ch {
            '"' => return Ok((out, at + 1)),
            '\n' | '\r' => break,
            '\\' => {
                let Some((_, esc)) = chars.next() else { break };
                match esc {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    '\\' => out.push('\\'),
                    'u' => {
                        let rest = &src[at + 2..];
                        let Some(body) = rest.strip_prefix('{').and_then(|r| r.split_once('}')) else {
                            return Err(Diagnostic::new(
                                "invalid unicode escape, expected \\u{XXXX}",
                                at..at + 2,
                            ));
                        };
                        let hex = body.0;
                        let cp = u32::from_str_radix(hex, 16)
                            .ok()
                            .filter(|_| (2..=8).contains(&hex.len()))
                            .and_then(char::from_u32)
                            .ok_or_else(|| {
                                Diagnostic::new(
                                    format!("invalid unicode character code [{hex}]"),
                                    at..at + 4 + hex.len(),
                                )
                            })?;
                        out.push(cp);
                        for _ in 0..hex.chars().count() + 2 {
                            chars.next();
                        }
                    }
                    other => {
                        return Err(Diagnostic::new(
                            format!("illegal escape sequence [\\{other}]"),
                            at..at + 1 + other.len_utf8(),
                        ));
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err(Diagnostic::new("unterminated string", start..src.len()))
}
