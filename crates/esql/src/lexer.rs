//! The ES|QL lexer: turns query text into tokens with byte spans. Keywords are not
//! distinguished here (they are case-insensitive identifiers the parser recognises by
//! position); backquoted identifiers are kept apart so they are never keywords.

use std::ops::Range;

/// A token kind. Identifiers keep their text; literals are decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Quoted(String),
    Str(String),
    Int(String),
    Dec(String),
    Pipe,
    Comma,
    Dot,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Assign,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Cast,
    Colon,
    Param,
    Eof,
}

impl Tok {
    /// The token as Elasticsearch quotes it in `mismatched input` messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Quoted(s) => format!("'`{s}`'"),
            Tok::Str(s) => format!("'\"{s}\"'"),
            Tok::Int(s) | Tok::Dec(s) => format!("'{s}'"),
            Tok::Pipe => "'|'".into(),
            Tok::Comma => "','".into(),
            Tok::Dot => "'.'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::LBrace => "'{'".into(),
            Tok::RBrace => "'}'".into(),
            Tok::Assign => "'='".into(),
            Tok::Eq => "'=='".into(),
            Tok::Neq => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
            Tok::Plus => "'+'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Star => "'*'".into(),
            Tok::Slash => "'/'".into(),
            Tok::Percent => "'%'".into(),
            Tok::Cast => "'::'".into(),
            Tok::Colon => "':'".into(),
            Tok::Param => "'?'".into(),
            Tok::Eof => "'<EOF>'".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Range<usize>,
    /// True when whitespace or a comment precedes the token.
    pub space_before: bool,
}

/// A lexing error: message and span.
pub type LexError = (String, Range<usize>);

pub fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let mut space = false;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            space = true;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            space = true;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let start = i;
            i += 2;
            let mut depth = 1;
            while i < b.len() && depth > 0 {
                if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            if depth > 0 {
                return Err(("unterminated comment".into(), start..b.len()));
            }
            space = true;
            continue;
        }
        let start = i;
        let tok = if c.is_ascii_alphabetic() || c == b'_' || c == b'@' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'@') {
                i += 1;
            }
            Tok::Ident(src[start..i].to_string())
        } else if c.is_ascii_digit()
            || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit) && !prev_is_name(&out, space))
        {
            lex_number(b, &mut i, src)
        } else if c == b'`' {
            i += 1;
            let mut s = String::new();
            loop {
                match b.get(i) {
                    None => return Err(("unterminated quoted identifier".into(), start..b.len())),
                    Some(b'`') if b.get(i + 1) == Some(&b'`') => {
                        s.push('`');
                        i += 2;
                    }
                    Some(b'`') => {
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            Tok::Quoted(s)
        } else if c == b'"' {
            if src[i..].starts_with("\"\"\"") {
                i += 3;
                let Some(end) = src[i..].find("\"\"\"") else {
                    return Err(("unterminated string".into(), start..b.len()));
                };
                // a triple-quoted string may end with extra quotes: `""""a"""""`
                let mut end = i + end;
                while src[end + 3..].starts_with('"') {
                    end += 1;
                }
                let s = src[i..end].to_string();
                i = end + 3;
                Tok::Str(s)
            } else {
                i += 1;
                let mut s = String::new();
                loop {
                    match b.get(i) {
                        None | Some(b'\n') | Some(b'\r') => {
                            return Err(("unterminated string".into(), start..i));
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let e = b.get(i + 1).copied();
                            match e {
                                Some(b'n') => s.push('\n'),
                                Some(b't') => s.push('\t'),
                                Some(b'r') => s.push('\r'),
                                Some(b'"') => s.push('"'),
                                Some(b'\\') => s.push('\\'),
                                _ => {
                                    return Err((
                                        "invalid escape sequence in string".into(),
                                        i..(i + 2).min(b.len()),
                                    ));
                                }
                            }
                            i += 2;
                        }
                        Some(_) => {
                            let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                            s.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                Tok::Str(s)
            }
        } else {
            let next = b.get(i + 1).copied().unwrap_or(0);
            let (t, n) = match (c, next) {
                (b'=', b'=') => (Tok::Eq, 2),
                (b'!', b'=') => (Tok::Neq, 2),
                (b'<', b'=') => (Tok::Le, 2),
                (b'>', b'=') => (Tok::Ge, 2),
                (b':', b':') => (Tok::Cast, 2),
                _ => match c {
                    b'|' => (Tok::Pipe, 1),
                    b',' => (Tok::Comma, 1),
                    b'.' => (Tok::Dot, 1),
                    b'(' => (Tok::LParen, 1),
                    b')' => (Tok::RParen, 1),
                    b'[' => (Tok::LBracket, 1),
                    b']' => (Tok::RBracket, 1),
                    b'{' => (Tok::LBrace, 1),
                    b'}' => (Tok::RBrace, 1),
                    b'=' => (Tok::Assign, 1),
                    b'<' => (Tok::Lt, 1),
                    b'>' => (Tok::Gt, 1),
                    b'+' => (Tok::Plus, 1),
                    b'-' => (Tok::Minus, 1),
                    b'*' => (Tok::Star, 1),
                    b'/' => (Tok::Slash, 1),
                    b'%' => (Tok::Percent, 1),
                    b':' => (Tok::Colon, 1),
                    b'?' => (Tok::Param, 1),
                    _ => {
                        let ch = src[i..].chars().next().unwrap_or('?');
                        return Err((
                            format!("token recognition error at: '{ch}'"),
                            i..i + ch.len_utf8(),
                        ));
                    }
                },
            };
            i += n;
            t
        };
        out.push(Token {
            tok,
            span: start..i,
            space_before: space,
        });
        space = false;
    }
    out.push(Token {
        tok: Tok::Eof,
        span: b.len()..b.len(),
        space_before: space,
    });
    Ok(out)
}

/// `a.1` never occurs, but `x.5` after a name must stay `x` `.` `5`? No: after a name with no
/// space, a dot is a qualifier separator, so a following digit is not a decimal.
fn prev_is_name(out: &[Token], space: bool) -> bool {
    !space && matches!(out.last().map(|t| &t.tok), Some(Tok::Ident(_) | Tok::Quoted(_)))
}

fn lex_number(b: &[u8], i: &mut usize, src: &str) -> Tok {
    let start = *i;
    let mut dec = false;
    while *i < b.len() && b[*i].is_ascii_digit() {
        *i += 1;
    }
    if *i < b.len()
        && b[*i] == b'.'
        && b.get(*i + 1)
            .is_none_or(|c| !c.is_ascii_alphabetic() && *c != b'_')
    {
        dec = true;
        *i += 1;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
    }
    if *i < b.len() && (b[*i] == b'e' || b[*i] == b'E') {
        let mut j = *i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            *i = j;
            dec = true;
        }
    }
    let text = src[start..*i].to_string();
    if dec { Tok::Dec(text) } else { Tok::Int(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_names_strings_and_numbers() {
        assert_eq!(
            kinds("a.b == \"x\\\"y\" // c\n/* d */ 1.5e3 `p/q`"),
            vec![
                Tok::Ident("a".into()),
                Tok::Dot,
                Tok::Ident("b".into()),
                Tok::Eq,
                Tok::Str("x\"y".into()),
                Tok::Dec("1.5e3".into()),
                Tok::Quoted("p/q".into()),
                Tok::Eof
            ]
        );
        assert_eq!(kinds(r#""""a\.b""""#), vec![Tok::Str("a\\.b".into()), Tok::Eof]);
        assert_eq!(
            kinds("1h"),
            vec![Tok::Int("1".into()), Tok::Ident("h".into()), Tok::Eof]
        );
    }
}
