//! A validating, allocation-free JSON scanner for the projected fast path: it walks the members
//! of a top-level object and gives each key with the raw bytes of its value, skipping values
//! without building them.
//!
//! It is deliberately conservative: it accepts only what the full parse accepts (strict JSON
//! grammar, no control characters in strings, nesting below [`MAX_DEPTH`]) and gives up
//! (`None`) on anything unusual (escaped keys, `\u` escapes of surrogates, bad syntax), so the
//! caller falls back to the full parse, which reports the error exactly as before. Nesting is
//! tracked in a 128-bit stack, never by recursion: a hostile line cannot overflow the stack.
//! The input must already be valid UTF-8.

use crate::parse::MAX_DEPTH;

/// The members of a top-level JSON object, in order.
pub(crate) struct Members<'a> {
    b: &'a [u8],
    i: usize,
    first: bool,
    done: bool,
}

impl<'a> Members<'a> {
    /// Starts scanning `b`; `None` when it does not start with `{`.
    pub(crate) fn new(b: &'a [u8]) -> Option<Members<'a>> {
        let i = ws(b, 0);
        (b.get(i) == Some(&b'{')).then_some(Members {
            b,
            i: i + 1,
            first: true,
            done: false,
        })
    }

    /// The next member as (raw key without quotes, raw value bytes); `Ok(None)` at the end of
    /// a well-formed object with nothing but whitespace after it; `Err(())` when the caller
    /// must fall back (malformed or unusual input).
    #[allow(clippy::result_unit_err)]
    pub(crate) fn next_member(&mut self) -> Result<Option<(&'a str, &'a [u8])>, ()> {
        if self.done {
            return Ok(None);
        }
        let b = self.b;
        let mut i = ws(b, self.i);
        if self.first {
            self.first = false;
            if b.get(i) == Some(&b'}') {
                return self.finish(i + 1);
            }
        } else {
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b'}') => return self.finish(i + 1),
                _ => return Err(()),
            }
        }
        if b.get(i) != Some(&b'"') {
            return Err(());
        }
        let key_start = i + 1;
        let key_end = skip_string(b, key_start).ok_or(())? - 1;
        let key = &b[key_start..key_end];
        if key.contains(&b'\\') {
            return Err(());
        }
        i = ws(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return Err(());
        }
        let value_start = ws(b, i + 1);
        let value_end = skip_value(b, value_start, 1).ok_or(())?;
        self.i = value_end;
        // The key is a sub-slice of valid UTF-8 cut at ASCII quotes: valid UTF-8 itself.
        let key = std::str::from_utf8(key).map_err(|_| ())?;
        Ok(Some((key, &b[value_start..value_end])))
    }

    fn finish(&mut self, end: usize) -> Result<Option<(&'a str, &'a [u8])>, ()> {
        self.done = true;
        if ws(self.b, end) == self.b.len() {
            Ok(None)
        } else {
            Err(())
        }
    }
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// True for the bytes that end the plain run of a JSON string.
#[inline(always)]
fn special(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// Skips the rest of a string whose opening quote is before `i`; the index after the closing
/// quote.
#[inline]
fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        // Plain runs 16 bytes at a time (the check vectorizes), then byte by byte.
        while let Some(chunk) = b.get(i..i + 16) {
            if chunk.iter().fold(false, |acc, &c| acc | special(c)) {
                break;
            }
            i += 16;
        }
        let c = *b.get(i)?;
        if c == b'"' {
            return Some(i + 1);
        }
        if c == b'\\' {
            match *b.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    let hex = b.get(i + 2..i + 6)?;
                    let s = std::str::from_utf8(hex).ok()?;
                    let code = u16::from_str_radix(s, 16).ok()?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) || (0xD800..=0xDFFF).contains(&code) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            }
        } else if c < 0x20 {
            return None;
        } else {
            i += 1;
        }
    }
}

/// Skips a number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) starting at `i`.
fn skip_number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(b, i)?,
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i = digits(b, i + 1)?;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        i = digits(b, i)?;
    }
    Some(i)
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (b.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// After `{` or `,` in an object: a key and its colon; the index of the value.
fn key(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let i = ws(b, skip_string(b, i + 1)?);
    (b.get(i) == Some(&b':')).then(|| ws(b, i + 1))
}

/// Skips one value starting at `i` (no leading whitespace) that is inside `depth` containers;
/// the index after it.
pub(crate) fn skip_value(b: &[u8], mut i: usize, depth: u32) -> Option<usize> {
    // Bit k of `objects` says whether the k-th open container of this value is an object.
    let mut objects: u128 = 0;
    let mut open: u32 = 0;
    loop {
        // A value starts at `i`.
        match *b.get(i)? {
            b'"' => i = skip_string(b, i + 1)?,
            c @ (b'{' | b'[') => {
                if depth + open >= MAX_DEPTH {
                    return None;
                }
                let is_object = c == b'{';
                i = ws(b, i + 1);
                let close = if is_object { b'}' } else { b']' };
                if b.get(i) == Some(&close) {
                    i += 1;
                } else {
                    if is_object {
                        objects |= 1 << open;
                        i = key(b, i)?;
                    } else {
                        objects &= !(1 << open);
                    }
                    open += 1;
                    continue;
                }
            }
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            b'-' | b'0'..=b'9' => i = skip_number(b, i)?,
            _ => return None,
        }
        // A value ended: close containers until one continues.
        loop {
            if open == 0 {
                return Some(i);
            }
            i = ws(b, i);
            let is_object = (objects >> (open - 1)) & 1 == 1;
            match *b.get(i)? {
                b',' => {
                    i = ws(b, i + 1);
                    if is_object {
                        i = key(b, i)?;
                    }
                    break;
                }
                b'}' if is_object => {
                    i += 1;
                    open -= 1;
                }
                b']' if !is_object => {
                    i += 1;
                    open -= 1;
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &str) -> Result<Vec<(String, String)>, ()> {
        let mut m = Members::new(text.as_bytes()).ok_or(())?;
        let mut out = Vec::new();
        while let Some((k, v)) = m.next_member()? {
            out.push((k.to_string(), String::from_utf8(v.to_vec()).unwrap()));
        }
        Ok(out)
    }

    #[test]
    fn walks_members_with_raw_values() {
        let got = members(r#" { "a" : 1 , "b":{"c":[1,-2.5e+3,"x\"y\u00e9",true,false,null,{}]},"d":[] } "#)
            .unwrap();
        let keys: Vec<_> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "d"]);
        assert_eq!(got[1].1, r#"{"c":[1,-2.5e+3,"x\"y\u00e9",true,false,null,{}]}"#);
        assert_eq!(members("{}").unwrap(), vec![]);
    }

    #[test]
    fn rejects_what_the_full_parse_rejects() {
        for bad in [
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":1e}"#,
            r#"{"a":tru}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":{"b"}}"#,
            r#"{"a":{"b":1,}}"#,
            r#"{"a":[1}"#,
            r#"{"a":"x	y"}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":1} x"#,
            r#"{"a":1"#,
            r#"{"a":1,}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a\"b":1}"#,
            r#"{"a":"\u12g4"}"#,
        ] {
            assert!(members(bad).is_err(), "{bad}");
            // and the full parse rejects them too, or they are merely unusual (escaped keys,
            // surrogate escapes), which the fallback handles
        }
    }

    #[test]
    fn nesting_limit_matches_the_full_parse() {
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(127), "]".repeat(127));
        assert!(members(&ok).is_ok());
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(128), "]".repeat(128));
        assert!(members(&deep).is_err());
        // a hostile line does not recurse
        let hostile = format!("{{\"a\":{}", "[".repeat(1 << 20));
        assert!(members(&hostile).is_err());
    }
}
