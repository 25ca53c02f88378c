//! Raw JSON in, canonical pruned JSON out: a value of the input is written as
//! `serde_json::to_writer` writes the [`events::Value`] the full parse builds from it, with
//! null, `""`, `{}` and `[]` removed everywhere, children first (the pipeline's final cleanup).
//!
//! Strings without a backslash, integers and literals are copied as they are; strings with
//! escapes are decoded and re-escaped as serde_json does, other numbers are parsed and printed
//! as the tree path prints them. Containers are written tentatively and cut back when nothing in
//! them survives the pruning. Duplicate keys and escaped keys (which the tree path merges or
//! decodes) make the caller fall back ([`Fail`]).

use crate::parse::MAX_DEPTH;
use crate::scan::{Escapes, build_std_string, literal, skip_number, string_end, ws};

/// The record must take the tree path (unusual or invalid input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail;

pub(crate) type R<T> = Result<T, Fail>;

pub(crate) fn opt<T>(v: Option<T>) -> R<T> {
    v.ok_or(Fail)
}

/// How the members of an object are rewritten (the pipeline's changes below the top level).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Members {
    /// As they are.
    Plain,
    /// Keys with `.` replaced by `_` (annotations).
    DotsToUnderscores,
    /// The member `metadata` removed (`requestObject`, `responseObject`).
    NoMetadata,
}

/// Keys of the objects being written (offsets into the input and a fingerprint), for
/// duplicate detection.
#[derive(Default)]
pub(crate) struct Keys {
    list: Vec<(u64, u32, u32)>,
}

/// The fingerprints seen in one object: a 256-bit Bloom filter, so that most keys need no
/// comparison with the others.
#[derive(Default, Clone, Copy)]
pub(crate) struct Seen([u64; 4]);

/// Length and three bytes of a key (with `.` read as `_` when `dots`): keys that differ mostly
/// differ there.
#[inline]
fn fingerprint(key: &[u8], dots: bool) -> u64 {
    let Some(&last) = key.last() else { return 0 };
    let byte = |c: u8| if dots && c == b'.' { b'_' } else { c } as u64;
    (key.len() as u64) | byte(key[0]) << 32 | byte(key[key.len() / 2]) << 40 | byte(last) << 48
}

impl Keys {
    /// Forgets everything (a record that failed may have left keys behind).
    pub(crate) fn reset(&mut self) {
        self.list.clear();
    }

    /// The mark of an object being opened.
    pub(crate) fn open(&self) -> usize {
        self.list.len()
    }

    /// Closes the object opened at `mark`.
    pub(crate) fn close(&mut self, mark: usize) {
        self.list.truncate(mark);
    }

    /// Records `text[start..end]` as a key of the object opened at `mark` (whose filter is
    /// `seen`); `Fail` when the object already has it (with `dots`, `.` and `_` are the same
    /// byte).
    #[inline(always)]
    pub(crate) fn add(
        &mut self,
        text: &str,
        start: usize,
        end: usize,
        mark: usize,
        dots: bool,
        seen: &mut Seen,
    ) -> R<()> {
        let b = text.as_bytes();
        let key = &b[start..end];
        let fp = fingerprint(key, dots);
        let h = (fp.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize;
        let (word, bit) = (h >> 6, 1u64 << (h & 63));
        if seen.0[word] & bit != 0 {
            for &(f, s, e) in &self.list[mark..] {
                let other = &b[s as usize..e as usize];
                if f == fp
                    && other.len() == key.len()
                    && other.iter().zip(key).all(|(&c, &d)| {
                        c == d || (dots && matches!(c, b'.' | b'_') && matches!(d, b'.' | b'_'))
                    })
                {
                    return Err(Fail);
                }
            }
        }
        seen.0[word] |= bit;
        self.list.push((fp, start as u32, end as u32));
        Ok(())
    }
}

/// Writes the key of a member (`"key":`, with the comma when `n` members precede it).
#[inline]
pub(crate) fn write_key(out: &mut Vec<u8>, n: usize, key: &[u8], mode: Members) {
    if n > 0 {
        out.push(b',');
    }
    out.push(b'"');
    if mode == Members::DotsToUnderscores && memchr::memchr(b'.', key).is_some() {
        out.extend(key.iter().map(|&c| if c == b'.' { b'_' } else { c }));
    } else {
        out.extend_from_slice(key);
    }
    out.extend_from_slice(b"\":");
}

/// The parts of a member `"key": value` starting at `i` (at the opening quote): the key's
/// bounds and the index of the value.
#[inline(always)]
pub(crate) fn member_key(b: &[u8], i: usize) -> R<(usize, usize, usize)> {
    if b.get(i) != Some(&b'"') {
        return Err(Fail);
    }
    let (end, escaped) = opt(string_end(b, i + 1))?;
    if escaped != Escapes::None {
        return Err(Fail);
    }
    let j = ws(b, end);
    if b.get(j) != Some(&b':') {
        return Err(Fail);
    }
    Ok((i + 1, end - 1, ws(b, j + 1)))
}

/// After a value inside a container: the index after `,` (and whitespace), or `None` with the
/// index after the closing `close`.
#[inline]
pub(crate) fn after_item(b: &[u8], i: usize, close: u8) -> R<(bool, usize)> {
    let i = ws(b, i);
    match b.get(i) {
        Some(b',') => Ok((true, ws(b, i + 1))),
        Some(&c) if c == close => Ok((false, i + 1)),
        _ => Err(Fail),
    }
}

/// Members (or elements) whose output is their input text, written at once: a contiguous
/// stretch of the input (compact: `"key":value,"key":value`) copied with one call.
#[derive(Default)]
pub(crate) struct Run {
    open: bool,
    /// A comma goes before it.
    comma: bool,
    start: usize,
    end: usize,
}

impl Run {
    /// Adds the item `b[start..end]` (preceded by `n` items in the output).
    #[inline(always)]
    pub(crate) fn add(&mut self, b: &[u8], start: usize, end: usize, n: usize, out: &mut Vec<u8>) {
        if self.open && self.end + 1 != start {
            self.flush(b, out);
        }
        if !self.open {
            self.open = true;
            self.comma = n > 0;
            self.start = start;
        }
        self.end = end;
    }

    #[inline]
    pub(crate) fn flush(&mut self, b: &[u8], out: &mut Vec<u8>) {
        if self.open {
            if self.comma {
                out.push(b',');
            }
            out.extend_from_slice(&b[self.start..self.end]);
            self.open = false;
        }
    }
}

/// The end of the scalar at `i` when it is written as it is and not pruned (a non-empty
/// string without escapes serde_json writes otherwise, an `i64` integer, `true`, `false`);
/// `None` for anything else (containers, null, `""`, other numbers, other escapes).
#[inline(always)]
pub(crate) fn verbatim(b: &[u8], i: usize) -> R<Option<usize>> {
    match b.get(i) {
        Some(b'"') => {
            let (end, escaped) = opt(string_end(b, i + 1))?;
            Ok((end > i + 2 && escaped != Escapes::Other).then_some(end))
        }
        Some(b'0'..=b'9' | b'-') => {
            let end = opt(skip_number(b, i))?;
            let raw = &b[i..end];
            let int = !raw.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) && !raw.starts_with(b"-0");
            Ok((int && raw.len() <= 18).then_some(end))
        }
        Some(b't') => Ok(Some(opt(literal(b, i, b"true"))?)),
        Some(b'f') => Ok(Some(opt(literal(b, i, b"false"))?)),
        _ => Ok(None),
    }
}

/// Writes the value starting at `i` (no leading whitespace), inside `depth` containers, pruned
/// and canonical; the index after it and whether anything was written (`false`: the value is
/// empty after pruning and the tree path drops it).
pub(crate) fn value(
    text: &str,
    i: usize,
    depth: u32,
    keys: &mut Keys,
    out: &mut Vec<u8>,
) -> R<(usize, bool)> {
    let b = text.as_bytes();
    match *opt(b.get(i))? {
        b'"' => string(text, i, out),
        b'{' => object(text, i, depth, Members::Plain, keys, out),
        b'[' => array(text, i, depth, keys, out),
        b't' => {
            let end = opt(literal(b, i, b"true"))?;
            out.extend_from_slice(b"true");
            Ok((end, true))
        }
        b'f' => {
            let end = opt(literal(b, i, b"false"))?;
            out.extend_from_slice(b"false");
            Ok((end, true))
        }
        b'n' => Ok((opt(literal(b, i, b"null"))?, false)),
        b'-' | b'0'..=b'9' => {
            let end = opt(skip_number(b, i))?;
            number(&text[i..end], out)?;
            Ok((end, true))
        }
        _ => Err(Fail),
    }
}

/// Writes the string whose opening quote is at `i`.
#[inline]
pub(crate) fn string(text: &str, i: usize, out: &mut Vec<u8>) -> R<(usize, bool)> {
    let b = text.as_bytes();
    let (end, escaped) = opt(string_end(b, i + 1))?;
    if end == i + 2 {
        return Ok((end, false));
    }
    if escaped == Escapes::Other {
        let (s, _) = opt(build_std_string(text, i + 1))?;
        write_str(out, &s);
    } else {
        // No escapes, or only those serde_json writes the same way.
        out.extend_from_slice(&b[i..end]);
    }
    Ok((end, true))
}

/// Writes an object starting at `i` whose members are rewritten as `mode` says.
pub(crate) fn object(
    text: &str,
    i: usize,
    depth: u32,
    mode: Members,
    keys: &mut Keys,
    out: &mut Vec<u8>,
) -> R<(usize, bool)> {
    object_with(text, i, depth, mode, keys, out, &mut |_, _| Ok(()))
}

/// [`object`] calling `on` with each member's key and raw value once it is written.
pub(crate) fn object_with<'t>(
    text: &'t str,
    i: usize,
    depth: u32,
    mode: Members,
    keys: &mut Keys,
    out: &mut Vec<u8>,
    on: &mut impl FnMut(&'t str, &'t str) -> R<()>,
) -> R<(usize, bool)> {
    if depth >= MAX_DEPTH {
        return Err(Fail);
    }
    let b = text.as_bytes();
    let start = out.len();
    out.push(b'{');
    let mark = keys.open();
    let mut seen = Seen::default();
    let mut n = 0;
    let mut i = ws(b, i + 1);
    let mut more = b.get(i) != Some(&b'}');
    if !more {
        i += 1;
    }
    let mut run = Run::default();
    while more {
        let (ks, ke, vi) = member_key(b, i)?;
        let dots = mode == Members::DotsToUnderscores;
        keys.add(text, ks, ke, mark, dots, &mut seen)?;
        let key = &b[ks..ke];
        let metadata = mode == Members::NoMetadata && key == b"metadata";
        let copy = if vi == ke + 2 && !metadata && !(dots && key.contains(&b'.')) {
            verbatim(b, vi)?
        } else {
            None
        };
        let end = if let Some(end) = copy {
            run.add(b, i, end, n, out);
            n += 1;
            end
        } else if metadata {
            run.flush(b, out);
            opt(crate::scan::skip_value(b, vi, depth + 1))?
        } else {
            run.flush(b, out);
            let before = out.len();
            write_key(out, n, &b[ks..ke], mode);
            let (end, written) = value(text, vi, depth + 1, keys, out)?;
            if written {
                n += 1;
            } else {
                out.truncate(before);
            }
            end
        };
        on(&text[ks..ke], &text[vi..end])?;
        (more, i) = after_item(b, end, b'}')?;
    }
    run.flush(b, out);
    keys.close(mark);
    if n == 0 {
        out.truncate(start);
        return Ok((i, false));
    }
    out.push(b'}');
    Ok((i, true))
}

/// Writes an array starting at `i`.
pub(crate) fn array(
    text: &str,
    i: usize,
    depth: u32,
    keys: &mut Keys,
    out: &mut Vec<u8>,
) -> R<(usize, bool)> {
    if depth >= MAX_DEPTH {
        return Err(Fail);
    }
    let b = text.as_bytes();
    let start = out.len();
    out.push(b'[');
    let mut n = 0;
    let mut i = ws(b, i + 1);
    let mut more = b.get(i) != Some(&b']');
    if !more {
        i += 1;
    }
    let mut run = Run::default();
    while more {
        let end = if let Some(end) = verbatim(b, i)? {
            run.add(b, i, end, n, out);
            n += 1;
            end
        } else {
            run.flush(b, out);
            let before = out.len();
            if n > 0 {
                out.push(b',');
            }
            let (end, written) = value(text, i, depth + 1, keys, out)?;
            if written {
                n += 1;
            } else {
                out.truncate(before);
            }
            end
        };
        (more, i) = after_item(b, end, b']')?;
    }
    run.flush(b, out);
    if n == 0 {
        out.truncate(start);
        return Ok((i, false));
    }
    out.push(b']');
    Ok((i, true))
}

/// Writes a number token as the tree path prints the value the full parse gives it: an `i64`
/// as an integer (`-0` is `0`), anything else (fractions, exponents, integers beyond `i64`) as
/// serde_json prints an `f64`.
pub(crate) fn number(raw: &str, out: &mut Vec<u8>) -> R<()> {
    let b = raw.as_bytes();
    // The full parse (sonic-rs) reads `-0` and `-0.0` as a positive zero float: left to it.
    if raw.starts_with("-0") {
        return Err(Fail);
    }
    let integer = !b.iter().any(|c| matches!(c, b'.' | b'e' | b'E'));
    if integer {
        // Without leading zeros (the grammar forbids them), an integer of up to 18 digits is
        // an i64 written as it is.
        if b.len() <= 18 || raw.parse::<i64>().is_ok() {
            out.extend_from_slice(b);
            return Ok(());
        }
    }
    let f: f64 = raw.parse().map_err(|_| Fail)?;
    if !f.is_finite() {
        return Err(Fail);
    }
    serde_json::to_writer(&mut *out, &f).map_err(|_| Fail)
}

/// Writes a JSON string as serde_json escapes it: `"`, `\` and control characters only
/// (`\b \f \n \r \t`, else `\u00xx` in lowercase hex).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let b = s.as_bytes();
    let mut from = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..0x20 => {
                out.extend_from_slice(&b[from..i]);
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ]);
                from = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&b[from..i]);
        out.extend_from_slice(esc);
        from = i + 1;
    }
    out.extend_from_slice(&b[from..]);
    out.push(b'"');
}

/// The decoded value of the string whose opening quote is at `i` and the index after it.
pub(crate) fn decode_str(text: &str, i: usize) -> R<(std::borrow::Cow<'_, str>, usize)> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'"') {
        return Err(Fail);
    }
    let (end, escaped) = opt(string_end(b, i + 1))?;
    if escaped != Escapes::None {
        let (s, end) = opt(build_std_string(text, i + 1))?;
        Ok((std::borrow::Cow::Owned(s), end))
    } else {
        Ok((std::borrow::Cow::Borrowed(&text[i + 1..end - 1]), end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::Value;

    /// The tree path: full parse, prune, serde_json.
    fn tree(text: &str) -> String {
        let v = crate::parse::full_sonic(text.as_bytes()).unwrap();
        let mut m = events::Map::new();
        m.insert("v", v);
        crate::util::prune_empty(&mut m);
        match m.get("v") {
            Some(v) => serde_json::to_string(v).unwrap(),
            None => String::new(),
        }
    }

    fn fast(text: &str) -> R<String> {
        let mut out = Vec::new();
        let mut keys = Keys::default();
        let (end, _) = value(text, 0, 1, &mut keys, &mut out)?;
        assert_eq!(end, text.len());
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn canonical_and_pruned_as_the_tree_path() {
        for text in [
            r#"{"a":{"b":{},"c":""},"d":[null,"",1,{}],"e":0,"f":false,"g":[[]]}"#,
            r#"{ "a" : [ 1 , 2.50 , 0 , 0.0 , 1e3 , 1E-2 , 12345678901234567890 , -9223372036854775808 ] }"#,
            r#"{"s":"a\u0026b\/c\"d\\e\n\t\u0001\u001f\u007f\u00e9\ud7ff","t":"plain é"}"#,
            r#"{"x":{"y":{"z":[null,{"q":null}]}},"k":"v"}"#,
            r#"[[[]],[{}],[""],[null]]"#,
            r#"{"n":-9223372036854775809,"m":9223372036854775807,"o":100000000000000000000000}"#,
            r#""x""#,
            r#"0.1"#,
            r#"{"a.b":"c"}"#,
        ] {
            assert_eq!(fast(text).unwrap(), tree(text), "{text}");
        }
        let mut m = events::Map::new();
        m.insert("s", Value::Str("\u{1}\u{8}\u{c}\"\\/\u{7f}\u{2028}".into()));
        let mut out = Vec::new();
        write_str(&mut out, m.get("s").unwrap().as_str().unwrap());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(m.get("s").unwrap()).unwrap()
        );
    }

    #[test]
    fn duplicates_and_escaped_keys_fall_back() {
        assert_eq!(fast(r#"{"a":1,"a":null}"#), Err(Fail));
        assert_eq!(fast(r#"{"a":{"b":1,"c":{"b":2},"b":3}}"#), Err(Fail));
        assert_eq!(fast(r#"{"a\u0062":1}"#), Err(Fail));
        assert_eq!(fast("-0"), Err(Fail));
        assert_eq!(fast("[-0.0]"), Err(Fail));
        assert!(fast(r#"{"a":{"b":1},"b":{"a":1}}"#).is_ok());
        let mut keys = Keys::default();
        let mut out = Vec::new();
        let text = r#"{"a.b":"1","a_b":"2"}"#;
        assert_eq!(
            object(text, 0, 1, Members::DotsToUnderscores, &mut keys, &mut out),
            Err(Fail)
        );
        out.clear();
        let text = r#"{"metadata":{"x":1},"spec":{"metadata":1}}"#;
        object(text, 0, 1, Members::NoMetadata, &mut keys, &mut out).unwrap();
        assert_eq!(out, br#"{"spec":{"metadata":1}}"#);
    }
}
