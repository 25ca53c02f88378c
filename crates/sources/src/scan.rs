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

use compact_str::CompactString;
use events::{Map, Value};

use crate::parse::MAX_DEPTH;

/// The members of a top-level JSON object, in order.
pub(crate) struct Members<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    first: bool,
    done: bool,
    /// How many containers the members' values are inside.
    depth: u32,
}

impl<'a> Members<'a> {
    /// Starts scanning `b`; `None` when it does not start with `{`.
    pub(crate) fn new(text: &'a str) -> Option<Members<'a>> {
        Members::nested(text, 1)
    }

    /// The members of an object (already scanned) whose values are inside `depth` containers.
    pub(crate) fn nested(text: &'a str, depth: u32) -> Option<Members<'a>> {
        let b = text.as_bytes();
        let i = ws(b, 0);
        (b.get(i) == Some(&b'{')).then_some(Members {
            text,
            b,
            i: i + 1,
            first: true,
            done: false,
            depth,
        })
    }

    /// The next member as (raw key without quotes, raw value bytes); `Ok(None)` at the end of
    /// a well-formed object with nothing but whitespace after it; `Err(())` when the caller
    /// must fall back (malformed or unusual input).
    pub(crate) fn next_member(&mut self) -> Result<Option<(&'a str, &'a str)>, ()> {
        match self.next_key()? {
            None => Ok(None),
            Some(key) => Ok(Some((key, self.skip().ok_or(())?))),
        }
    }

    /// The first byte of the current member's value.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips the value of the member whose key [`Members::next_key`] gave; its raw bytes.
    pub(crate) fn skip(&mut self) -> Option<&'a str> {
        let start = self.i;
        self.i = skip_value(self.b, start, self.depth)?;
        self.text.get(start..self.i)
    }

    /// Builds the value of the member whose key [`Members::next_key`] gave.
    pub(crate) fn build(&mut self) -> Option<Value> {
        let (v, end) = build_value(self.text, self.i, self.depth)?;
        self.i = end;
        Some(v)
    }

    /// The next member's key (raw, without quotes); the value must then be read with
    /// [`Members::skip`] or [`Members::build`]. See [`Members::next_member`] for the rest.
    pub(crate) fn next_key(&mut self) -> Result<Option<&'a str>, ()> {
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
        self.i = ws(b, i + 1);
        // The key is a sub-slice of valid UTF-8 cut at ASCII quotes: valid UTF-8 itself.
        Ok(Some(self.text.get(key_start..key_end).ok_or(())?))
    }

    fn finish<T>(&mut self, end: usize) -> Result<Option<T>, ()> {
        self.done = true;
        if ws(self.b, end) == self.b.len() {
            Ok(None)
        } else {
            Err(())
        }
    }
}

pub(crate) fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` that is `"`, `\\` or a control character; exact for the
/// lowest such byte (borrows only propagate upwards from a true match).
#[inline(always)]
fn specials(x: u64) -> u64 {
    let zero = |y: u64| y.wrapping_sub(LO) & !y & HI;
    zero(x ^ (LO * b'"' as u64)) | zero(x ^ (LO * b'\\' as u64)) | (x.wrapping_sub(LO * 0x20) & !x & HI)
}

/// Skips the rest of a string whose opening quote is before `i`; the index after the closing
/// quote.
#[inline]
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    string_end(b, i).map(|(end, _)| end)
}

/// The escapes a string has ([`string_end`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Escapes {
    None,
    /// Only `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`: the escaping serde_json writes.
    Canonical,
    /// `\/` or `\u` escapes.
    Other,
}

/// In `b[i..i + 16]`: the offset of the first `"` and of the first `\\` or control character
/// (16 when none); `i + 16 <= b.len()`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn specials_in_16(b: &[u8], i: usize) -> (u32, u32) {
    use std::arch::x86_64::*;
    debug_assert!(i + 16 <= b.len());
    // SAFETY: the caller guarantees 16 readable bytes at `i` (unaligned load); SSE2 is part of
    // the x86_64 baseline.
    unsafe {
        let v = _mm_loadu_si128(b.as_ptr().add(i) as *const __m128i);
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        let limit = _mm_set1_epi8(0x1f);
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit);
        let q = _mm_movemask_epi8(quote) as u32;
        let other = _mm_movemask_epi8(_mm_or_si128(backslash, control)) as u32;
        (
            (q | 0x1_0000).trailing_zeros(),
            (other | 0x1_0000).trailing_zeros(),
        )
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn specials_in_16(b: &[u8], i: usize) -> (u32, u32) {
    let first = |c: &dyn Fn(u8) -> bool| b[i..i + 16].iter().position(|&x| c(x)).unwrap_or(16) as u32;
    (first(&|x| x == b'"'), first(&|x| x == b'\\' || x < 0x20))
}

/// [`skip_string`] that also says which escapes the string has.
///
/// Most strings of an audit event (keys, verbs, names) end within sixteen bytes without an
/// escape: that case is decided here, inlined into the caller; the rest goes on in
/// [`string_end_rest`], out of line.
#[inline(always)]
pub(crate) fn string_end(b: &[u8], i: usize) -> Option<(usize, Escapes)> {
    if i + 16 <= b.len() {
        let (quote, other) = specials_in_16(b, i);
        if quote < other {
            return Some((i + quote as usize + 1, Escapes::None));
        }
        // Plain up to the first escape or control character (16: none in these bytes).
        return string_end_rest(b, i + other as usize);
    }
    string_end_rest(b, i)
}

/// [`string_end`] for strings that are long, escaped, or near the end of the input.
#[inline(never)]
fn string_end_rest(b: &[u8], mut i: usize) -> Option<(usize, Escapes)> {
    let mut escaped = Escapes::None;
    loop {
        // Plain runs sixteen, then eight bytes at a time.
        loop {
            if i + 16 <= b.len() {
                let (quote, other) = specials_in_16(b, i);
                if quote < other {
                    // The closing quote comes first.
                    return Some((i + quote as usize + 1, escaped));
                }
                let k = quote.min(other) as usize;
                i += k;
                if k < 16 {
                    break;
                }
            } else {
                while let Some(chunk) = b.get(i..i + 8) {
                    let m = specials(u64::from_le_bytes(chunk.try_into().ok()?));
                    if m != 0 {
                        i += (m.trailing_zeros() / 8) as usize;
                        break;
                    }
                    i += 8;
                }
                break;
            }
        }
        match *b.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => match *b.get(i + 1)? {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    escaped = escaped.max(Escapes::Canonical);
                    i += 2
                }
                b'/' => {
                    escaped = Escapes::Other;
                    i += 2
                }
                b'u' => {
                    let hex = b.get(i + 2..i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    let code = u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                    if (0xD800..=0xDFFF).contains(&code) {
                        return None;
                    }
                    escaped = Escapes::Other;
                    i += 6;
                }
                _ => return None,
            },
            c if c < 0x20 => return None,
            _ => i += 1,
        }
    }
}

/// Skips a number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) starting at `i`.
pub(crate) fn skip_number(b: &[u8], mut i: usize) -> Option<usize> {
    let start = i;
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
    let mut exponent = false;
    if let Some(b'e' | b'E') = b.get(i) {
        exponent = true;
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        i = digits(b, i)?;
    }
    // The full parse rejects numbers that overflow to infinity (`1e400`, 400 digits).
    if (exponent || i - start > 300)
        && !std::str::from_utf8(&b[start..i])
            .ok()?
            .parse::<f64>()
            .is_ok_and(f64::is_finite)
    {
        return None;
    }
    Some(i)
}

pub(crate) fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
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

/// Calls `f` with the raw bytes of each element of the array `raw` (already scanned), whose
/// elements are inside `depth` containers.
pub(crate) fn for_each_element(text: &str, depth: u32, mut f: impl FnMut(&str) -> Option<()>) -> Option<()> {
    let raw = text.as_bytes();
    if raw.first() != Some(&b'[') {
        return None;
    }
    let mut i = ws(raw, 1);
    if raw.get(i) == Some(&b']') {
        return Some(());
    }
    loop {
        let end = skip_value(raw, i, depth)?;
        f(text.get(i..end)?)?;
        i = ws(raw, end);
        match *raw.get(i)? {
            b',' => i = ws(raw, i + 1),
            b']' => return Some(()),
            _ => return None,
        }
    }
}

/// Builds the value starting at `i` (no leading whitespace) that is inside `depth` containers,
/// as the full parse would (`Int` when it fits `i64`, duplicate keys: the last value at the
/// first position); the value and the index after it. `None` on anything the scanner rejects.
pub(crate) fn build_value(text: &str, i: usize, depth: u32) -> Option<(Value, usize)> {
    let b = text.as_bytes();
    match *b.get(i)? {
        b'"' => {
            let (s, end) = build_string(text, i + 1)?;
            Some((Value::Str(s), end))
        }
        c @ (b'{' | b'[') => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let mut i = ws(b, i + 1);
            if c == b'[' {
                let mut items = Vec::new();
                if b.get(i) == Some(&b']') {
                    return Some((Value::Array(items), i + 1));
                }
                loop {
                    let (v, end) = build_value(text, i, depth + 1)?;
                    items.push(v);
                    i = ws(b, end);
                    match *b.get(i)? {
                        b',' => i = ws(b, i + 1),
                        b']' => return Some((Value::Array(items), i + 1)),
                        _ => return None,
                    }
                }
            }
            let mut map = Map::with_capacity(8);
            if b.get(i) == Some(&b'}') {
                return Some((Value::Object(map), i + 1));
            }
            loop {
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                let (k, end) = build_string(text, i + 1)?;
                i = ws(b, end);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                let (v, end) = build_value(text, ws(b, i + 1), depth + 1)?;
                map.insert(k, v);
                i = ws(b, end);
                match *b.get(i)? {
                    b',' => i = ws(b, i + 1),
                    b'}' => return Some((Value::Object(map), i + 1)),
                    _ => return None,
                }
            }
        }
        b't' => Some((Value::Bool(true), literal(b, i, b"true")?)),
        b'f' => Some((Value::Bool(false), literal(b, i, b"false")?)),
        b'n' => Some((Value::Null, literal(b, i, b"null")?)),
        b'-' | b'0'..=b'9' => {
            let end = skip_number(b, i)?;
            let text = text.get(i..end)?;
            // Negative zero is a double 0.0 as the full parse reads it (`-0`, `-0.0`, `-0e5`).
            let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
            let negative_zero = text.starts_with('-') && !mantissa.bytes().any(|c| matches!(c, b'1'..=b'9'));
            let v = if negative_zero {
                Value::Float(0.0)
            } else if text.contains(['.', 'e', 'E']) {
                Value::Float(text.parse().ok()?)
            } else if let Ok(n) = text.parse::<i64>() {
                Value::Int(n)
            } else if let Ok(n) = text.parse::<u64>() {
                Value::Float(n as f64)
            } else {
                Value::Float(text.parse().ok()?)
            };
            Some((v, end))
        }
        _ => None,
    }
}

/// The decoded string whose opening quote is before `i`, and the index after its closing
/// quote (escapes of surrogates are left to the full parse: `None`). A string whose text between
/// the quotes (escapes included) has up to 24 bytes is built inline, without a heap allocation.
pub(crate) fn build_string(text: &str, start: usize) -> Option<(CompactString, usize)> {
    // The scan that finds the end says whether there are escapes: no second pass for them.
    let (end, escapes) = string_end(text.as_bytes(), start)?;
    let plain = text.get(start..end - 1)?;
    if escapes == Escapes::None {
        return Some((CompactString::from(plain), end));
    }
    let mut out = CompactString::with_capacity(plain.len());
    unescape(plain, &mut out)?;
    Some((out, end))
}

/// [`build_string`] into a `String`, for callers that only read or write the text out.
pub(crate) fn build_std_string(text: &str, start: usize) -> Option<(String, usize)> {
    let end = skip_string(text.as_bytes(), start)?;
    let plain = text.get(start..end - 1)?;
    let mut out = String::with_capacity(plain.len());
    unescape(plain, &mut out)?;
    Some((out, end))
}

/// Where [`unescape`] writes.
trait Text {
    fn push_str(&mut self, s: &str);
    fn push(&mut self, c: char);
}

impl Text for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }
    fn push(&mut self, c: char) {
        String::push(self, c);
    }
}

impl Text for CompactString {
    fn push_str(&mut self, s: &str) {
        CompactString::push_str(self, s);
    }
    fn push(&mut self, c: char) {
        CompactString::push(self, c);
    }
}

/// Appends the string content `plain` (between the quotes) with its escapes decoded; `None` on
/// an escape the scanner leaves to the full parse.
fn unescape(plain: &str, out: &mut impl Text) -> Option<()> {
    let mut rest = plain;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let e = *rest.as_bytes().get(at + 1)?;
        let plain = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hex = rest.get(at + 2..at + 6)?;
                let code = u32::from_str_radix(hex, 16).ok()?;
                out.push(char::from_u32(code)?);
                rest = &rest[at + 6..];
                continue;
            }
            _ => return None,
        };
        out.push(plain);
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &str) -> Result<Vec<(String, String)>, ()> {
        let mut m = Members::new(text).ok_or(())?;
        let mut out = Vec::new();
        while let Some((k, v)) = m.next_member()? {
            out.push((k.to_string(), v.to_string()));
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
            r#"{"a":[1e400]}"#,
            r#"{"a":-1E+999}"#,
        ] {
            assert!(members(bad).is_err(), "{bad}");
            // and the full parse rejects them too, or they are merely unusual (escaped keys,
            // surrogate escapes), which the fallback handles
        }
    }

    #[test]
    fn string_ends_are_found_in_any_position() {
        // Every position of the closing quote, escape and control character relative to the
        // eight-byte steps, with bytes on either side of the special ones.
        for len in 0..40 {
            for filler in [
                b'a',
                0x7f,
                0xc3,
                b'!',
                b'#',
                b'[',
                b']',
                b'\\' + 1,
                b'"' + 1,
                0x20,
            ] {
                let mut body = vec![filler; len];
                if filler == 0xc3 {
                    body = "é".repeat(len / 2).into_bytes();
                }
                let mut text = vec![b'"'];
                text.extend_from_slice(&body);
                text.extend_from_slice(br#"" tail"#);
                assert_eq!(skip_string(&text, 1), Some(body.len() + 2), "{len} {filler}");
                for at in 0..=body.len() {
                    let mut bad = text.clone();
                    bad.insert(at + 1, 0x1f);
                    assert_eq!(skip_string(&bad, 1), None, "control at {at}");
                    let mut esc = text.clone();
                    esc.splice(at + 1..at + 1, *br#"\""#);
                    assert_eq!(skip_string(&esc, 1), Some(body.len() + 4), "escape at {at}");
                }
            }
        }
    }

    #[test]
    fn builds_the_values_of_the_full_parse() {
        let text = r#"{"b":1,"a":[1.5,"x\n\u00e9\/",null,{"c":true,"d":false}],"n":18446744073709551615,"a":2,
            "m":-9223372036854775809,"e":-0.0,"f":1e300,"g":{},"h":[],"i":12.5e-3,"k":{"x":1,"x":2}}"#;
        let (got, end) = build_value(text, 0, 0).unwrap();
        assert_eq!(end, text.len());
        assert_eq!(got, crate::parse::full_sonic(text.as_bytes()).unwrap());
        let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(build_value(&deep, 0, 1).is_none());
        assert!(build_value(r#""\ud83d\ude00""#, 0, 0).is_none());
    }

    #[test]
    fn strings_decode_as_serde_json_does_inline_or_not() {
        for quoted in [
            r#""plain""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u00e9t\u00e9 \u2603 \u0041""#,
            r#""a string of more than twenty-four bytes with \"escapes\" in it""#,
            r#""\n""#,
            r#""""#,
        ] {
            let want: String = serde_json::from_str(quoted).unwrap();
            let (got, end) = build_string(quoted, 1).unwrap();
            assert_eq!((got.as_str(), end), (want.as_str(), quoted.len()), "{quoted}");
            // inline when the text between the quotes (escapes included) fits
            assert_eq!(got.is_heap_allocated(), quoted.len() - 2 > 24, "{quoted}");
            let (std, _) = build_std_string(quoted, 1).unwrap();
            assert_eq!(std, want, "{quoted}");
        }
        assert!(build_string(r#""\ud83d\ude00""#, 1).is_none());
        assert!(build_string(r#""\x""#, 1).is_none());
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
