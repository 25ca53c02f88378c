//! Splitting an `EventList` webhook body into its items without parsing them twice.
//!
//! The envelope (`kind`, `apiVersion`, `metadata`, `items`, any other member) is walked here;
//! each member value other than the items is checked with serde_json on its own bytes, while
//! each item is only delimited (strings and nesting followed, nothing built) and handed as is
//! to the [`crate::Normalizer`], which parses it anyway and must refuse what is not valid JSON.
//! Every byte of the body is thus validated exactly once: the body is accepted only if it is
//! one valid JSON document, as a full parse would require, at a fraction of the cost. Items
//! are delimited 64 bytes at a time from bit masks of quotes, escapes and brackets
//! ([`container_end`]).

use serde::de::IgnoredAny;

/// The members of an `EventList` that ingest reads.
#[derive(Debug, Default)]
pub(crate) struct EventList<'a> {
    pub kind: Option<String>,
    pub api_version: Option<String>,
    /// `None` when the member is absent or `null`.
    pub items: Option<Vec<&'a [u8]>>,
}

fn malformed(what: &str, at: usize) -> String {
    format!("malformed JSON: {what} at byte {at}")
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Flags (high bit of the byte) the bytes of `v` equal to `c`; the lowest flag is exact.
#[inline]
fn bytes_equal(v: u64, c: u8) -> u64 {
    let x = v ^ (ONES * c as u64);
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// `b[i]` is `"`: the index just past the closing quote. Eight bytes at a time (strings are
/// most of an audit Event, and most are short: no per-string set-up cost).
#[inline]
fn string_end(b: &[u8], i: usize) -> Result<usize, String> {
    let mut j = i + 1;
    loop {
        while let Some(chunk) = b.get(j..j + 8) {
            let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let m = bytes_equal(v, b'"') | bytes_equal(v, b'\\');
            if m != 0 {
                j += (m.trailing_zeros() / 8) as usize;
                break;
            }
            j += 8;
        }
        match b.get(j) {
            None => return Err(malformed("unterminated string", i)),
            Some(b'"') => return Ok(j + 1),
            Some(b'\\') => j += 2,
            Some(_) => j += 1,
        }
    }
}

/// The end of the value starting at `b[i]` (not validated: see the module docs).
fn value_end(b: &[u8], i: usize) -> Result<usize, String> {
    match b.get(i) {
        None => Err(malformed("unexpected end of input", i)),
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => container_end(b, i),
        Some(_) => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                j += 1;
            }
            Ok(j)
        }
    }
}

/// Bit `k` set when byte `k` of the little-endian word `v` equals `c` (exact).
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
#[inline]
fn byte_mask(v: u64, c: u8) -> u64 {
    let x = v ^ (ONES * c as u64);
    // High bit of each byte set when the byte is non-zero, with no carry between bytes.
    let nonzero = ((x & !HIGHS).wrapping_add(!HIGHS) | x) & HIGHS;
    let zero = !nonzero & HIGHS;
    // Gather the eight high bits into the low byte.
    (zero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Masks of one 64-byte block: quotes, backslashes, opening and closing brackets (SSE2, part
/// of every x86-64 CPU).
#[cfg(target_arch = "x86_64")]
#[inline]
fn block_masks(block: &[u8; 64]) -> (u64, u64, u64, u64) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86-64 baseline, so the intrinsics are available on every
    // CPU this code runs on; each load reads 16 bytes at offset 16k < 64 of the 64-byte block
    // (unaligned loads are allowed).
    unsafe {
        let q = _mm_set1_epi8(b'"' as i8);
        let bs = _mm_set1_epi8(b'\\' as i8);
        let ob = _mm_set1_epi8(b'{' as i8);
        let osq = _mm_set1_epi8(b'[' as i8);
        let cb = _mm_set1_epi8(b'}' as i8);
        let csq = _mm_set1_epi8(b']' as i8);
        let (mut quote, mut backslash, mut open, mut close) = (0u64, 0u64, 0u64, 0u64);
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            let at = 16 * k;
            quote |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) as u16 as u64) << at;
            backslash |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, bs)) as u16 as u64) << at;
            let o = _mm_or_si128(_mm_cmpeq_epi8(v, ob), _mm_cmpeq_epi8(v, osq));
            open |= (_mm_movemask_epi8(o) as u16 as u64) << at;
            let c = _mm_or_si128(_mm_cmpeq_epi8(v, cb), _mm_cmpeq_epi8(v, csq));
            close |= (_mm_movemask_epi8(c) as u16 as u64) << at;
        }
        (quote, backslash, open, close)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn block_masks(block: &[u8; 64]) -> (u64, u64, u64, u64) {
    block_masks_swar(block)
}

/// [`block_masks`] in portable 64-bit words.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
#[inline]
fn block_masks_swar(block: &[u8; 64]) -> (u64, u64, u64, u64) {
    let (mut quote, mut backslash, mut open, mut close) = (0, 0, 0, 0);
    for (w, word) in block.chunks_exact(8).enumerate() {
        let v = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let at = 8 * w;
        quote |= byte_mask(v, b'"') << at;
        backslash |= byte_mask(v, b'\\') << at;
        open |= (byte_mask(v, b'{') | byte_mask(v, b'[')) << at;
        close |= (byte_mask(v, b'}') | byte_mask(v, b']')) << at;
    }
    (quote, backslash, open, close)
}

/// Every bit from each set bit up to the next one (exclusive) toggles: the bytes inside
/// strings, given the unescaped quotes.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The end of the object or array starting at `b[i]`, 64 bytes at a time: bit masks of the
/// quotes, escapes and brackets of a block give the brackets outside strings without a branch
/// per byte (the technique of simdjson's stage 1).
fn container_end(b: &[u8], i: usize) -> Result<usize, String> {
    let mut depth = 0usize;
    // Whether the block starts inside a string, and with its first byte escaped.
    let mut in_string = 0u64;
    let mut escape_next = false;
    let mut start = i;
    let mut padded = [b' '; 64];
    while start < b.len() {
        let block: &[u8; 64] = match b.get(start..start + 64) {
            Some(full) => full.try_into().expect("64 bytes"),
            None => {
                let rest = &b[start..];
                padded[..rest.len()].copy_from_slice(rest);
                padded[rest.len()..].fill(b' ');
                &padded
            }
        };
        let (quote, backslash, open, close) = block_masks(block);
        let mut escaped = 0u64;
        if backslash != 0 || escape_next {
            let mut bs = backslash;
            if escape_next {
                escaped |= 1;
                bs &= !1;
            }
            escape_next = false;
            while bs != 0 {
                let p = bs.trailing_zeros();
                bs &= bs - 1;
                if escaped >> p & 1 == 0 {
                    if p == 63 {
                        escape_next = true;
                    } else {
                        escaped |= 1 << (p + 1);
                        bs &= !(1 << (p + 1));
                    }
                }
            }
        }
        let strings = prefix_xor(quote & !escaped) ^ in_string;
        in_string = if strings >> 63 & 1 == 1 { u64::MAX } else { 0 };
        let mut brackets = (open | close) & !strings;
        while brackets != 0 {
            let p = brackets.trailing_zeros();
            brackets &= brackets - 1;
            if open >> p & 1 == 1 {
                depth += 1;
            } else {
                depth -= 1;
                if depth == 0 {
                    return Ok(start + p as usize + 1);
                }
            }
        }
        start += 64;
    }
    Err(malformed("unexpected end of input", b.len()))
}

fn check<'de, T: serde::Deserialize<'de>>(v: &'de [u8], at: usize) -> Result<T, String> {
    serde_json::from_slice(v).map_err(|e| format!("malformed JSON: {e} (value at byte {at})"))
}

fn expect(b: &[u8], i: usize, c: u8) -> Result<usize, String> {
    match b.get(i) {
        Some(&x) if x == c => Ok(i + 1),
        Some(&x) => Err(malformed(
            &format!("expected `{}`, found `{}`", c as char, x as char),
            i,
        )),
        None => Err(malformed("unexpected end of input", i)),
    }
}

/// The items of `value` (`[...]`), delimited.
fn items(b: &[u8], start: usize) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    let mut i = skip_ws(b, start + 1);
    if b.get(i) == Some(&b']') {
        return Ok(out);
    }
    loop {
        let end = value_end(b, i)?;
        if end == i {
            return Err(malformed("expected a value", i));
        }
        out.push(&b[i..end]);
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b']') => return Ok(out),
            Some(&x) => {
                return Err(malformed(
                    &format!("expected `,` or `]`, found `{}`", x as char),
                    i,
                ));
            }
            None => return Err(malformed("unexpected end of input", i)),
        }
    }
}

/// Splits `body` (an `EventList` object) into its members; the items are delimited only.
pub(crate) fn split(body: &[u8]) -> Result<EventList<'_>, String> {
    let b = body;
    let mut list = EventList::default();
    let (mut seen_kind, mut seen_version, mut seen_items) = (false, false, false);
    let mut i = expect(b, skip_ws(b, 0), b'{')?;
    i = skip_ws(b, i);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return Err(malformed("expected a member name", i));
            }
            let key_end = string_end(b, i)?;
            let key: std::borrow::Cow<'_, str> = check(&b[i..key_end], i)?;
            i = expect(b, skip_ws(b, key_end), b':')?;
            i = skip_ws(b, i);
            let end = value_end(b, i)?;
            if end == i {
                return Err(malformed("expected a value", i));
            }
            let value = &b[i..end];
            let dup = |seen: &mut bool| {
                if std::mem::replace(seen, true) {
                    Err(format!("malformed JSON: duplicate field `{key}`"))
                } else {
                    Ok(())
                }
            };
            match key.as_ref() {
                "kind" => {
                    dup(&mut seen_kind)?;
                    list.kind = check(value, i)?;
                }
                "apiVersion" => {
                    dup(&mut seen_version)?;
                    list.api_version = check(value, i)?;
                }
                "items" => {
                    dup(&mut seen_items)?;
                    list.items = match value[0] {
                        b'[' => Some(items(b, i)?),
                        _ => {
                            let none: Option<IgnoredAny> = check(value, i)?;
                            if none.is_some() {
                                return Err(format!(
                                    "malformed JSON: items must be an array (value at byte {i})"
                                ));
                            }
                            None
                        }
                    };
                }
                _ => {
                    check::<IgnoredAny>(value, i)?;
                }
            }
            i = skip_ws(b, end);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                Some(&x) => {
                    return Err(malformed(
                        &format!("expected `,` or `}}`, found `{}`", x as char),
                        i,
                    ));
                }
                None => return Err(malformed("unexpected end of input", i)),
            }
        }
    }
    let i = skip_ws(b, i);
    if i < b.len() {
        return Err(malformed("trailing characters", i));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items_of(body: &str) -> Vec<String> {
        split(body.as_bytes())
            .unwrap()
            .items
            .unwrap()
            .iter()
            .map(|i| String::from_utf8(i.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn delimits_items_through_strings_escapes_and_nesting() {
        let body = r#" { "kind" : "EventList", "apiVersion":"audit.k8s.io/v1", "metadata":{"x":[1,{}]},
            "items" : [ {"a":"}]\"{[","b":[{"c":"\\"}]}, {} ,{"d":{"e":[]}} ] } "#;
        let list = split(body.as_bytes()).unwrap();
        assert_eq!(list.kind.as_deref(), Some("EventList"));
        assert_eq!(list.api_version.as_deref(), Some("audit.k8s.io/v1"));
        assert_eq!(
            items_of(body),
            vec![r#"{"a":"}]\"{[","b":[{"c":"\\"}]}"#, "{}", r#"{"d":{"e":[]}}"#]
        );
        for item in items_of(body) {
            serde_json::from_str::<serde_json::Value>(&item).unwrap();
        }
        assert!(items_of(r#"{"items":[]}"#).is_empty());
        assert_eq!(
            items_of(r#"{"items":[1, "x", null]}"#),
            vec!["1", "\"x\"", "null"]
        );
        let none = split(br#"{"kind":null,"items":null}"#).unwrap();
        assert!(none.kind.is_none() && none.items.is_none());
        assert!(split(b"{}").unwrap().items.is_none());
        // An escaped member name is decoded.
        assert_eq!(items_of(r#"{"it\u0065ms":[{}]}"#), vec!["{}"]);
    }

    #[test]
    fn string_ends_found_at_every_offset_and_escape_position() {
        for len in 0..40 {
            for esc in 0..=len {
                // `len` characters, the one at `esc` (if any) an escaped quote or backslash.
                for escape in [r#"\""#, r"\\"] {
                    let content: String = (0..len)
                        .map(|k| if k == esc { escape.to_string() } else { "a".into() })
                        .collect();
                    for pad in 0..9 {
                        let text = format!("{}\"{content}\" ,", " ".repeat(pad));
                        let end = string_end(text.as_bytes(), pad).unwrap();
                        assert_eq!(&text[end..], " ,", "{text:?}");
                        let decoded: String = serde_json::from_str(&text[pad..end]).unwrap();
                        assert_eq!(decoded.len(), len);
                    }
                }
            }
        }
        assert!(string_end(br#""abc"#, 0).is_err());
        assert!(string_end(br#""abcdefghijklmnop\"#, 0).is_err());
        assert!(string_end(br#""abcdefghijklmnop\""#, 0).is_err());
    }

    /// The byte-at-a-time reference of [`container_end`].
    fn container_end_scalar(b: &[u8], i: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut j = i;
        while j < b.len() {
            match b[j] {
                b'"' => {
                    j = string_end(b, j).ok()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(j + 1);
                    }
                }
                _ => {}
            }
            j += 1;
        }
        None
    }

    #[test]
    fn byte_masks_are_exact() {
        let word = *b"\"{z[Z]}\\";
        let v = u64::from_le_bytes(word);
        assert_eq!(byte_mask(v, b'"'), 0b0000_0001);
        assert_eq!(byte_mask(v, b'{'), 0b0000_0010);
        assert_eq!(byte_mask(v, b'['), 0b0000_1000);
        assert_eq!(byte_mask(v, b']'), 0b0010_0000);
        assert_eq!(byte_mask(v, b'}'), 0b0100_0000);
        assert_eq!(byte_mask(v, b'\\'), 0b1000_0000);
        assert_eq!(
            byte_mask(u64::from_le_bytes([0, 1, 0x80, 0xff, 0x7f, b'"', 0, b'"']), b'"'),
            0b1010_0000
        );
    }

    #[test]
    fn block_masks_agree_with_the_portable_ones() {
        let mut block = [0u8; 64];
        let alphabet = b"\"\\{}[]az:, \x00\x80\xff";
        let mut state = 3u64;
        for _ in 0..2000 {
            for b in block.iter_mut() {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = alphabet[(state >> 33) as usize % alphabet.len()];
            }
            assert_eq!(block_masks(&block), block_masks_swar(&block), "{block:?}");
        }
    }

    /// The block scan agrees with the byte-at-a-time one on objects whose strings, escapes and
    /// brackets fall at every offset of the 64-byte blocks, and on the generated Events.
    #[test]
    fn block_scan_agrees_with_the_scalar_scan() {
        let pieces = [
            r#""a""#,
            r#""{[""#,
            r#""\"""#,
            r#""\\""#,
            r#""x\\\"}""#,
            r#""\\\\""#,
            "[1,2]",
            "{}",
            r#"{"k":["]"]}"#,
            "\"\\u00e9\"",
            "true",
        ];
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        for _ in 0..3000 {
            let n = next() % 30;
            let members: Vec<String> = (0..n)
                .map(|m| format!("\"m{m}\":{}", pieces[next() % pieces.len()]))
                .collect();
            let pad = " ".repeat(next() % 70);
            let text = format!("{pad}{{{}}} ,{{\"tail\":1}}", members.join(","));
            serde_json::from_str::<serde_json::Value>(&text[..text.find(" ,{\"tail").unwrap()]).unwrap();
            let at = pad.len();
            let want = container_end_scalar(text.as_bytes(), at);
            assert_eq!(container_end(text.as_bytes(), at).ok(), want, "{text}");
            assert_eq!(&text[want.unwrap()..], " ,{\"tail\":1}");
            // Truncated anywhere: no end found, or the same one as the scalar scan.
            let cut = at + next() % (text.len() - at);
            assert_eq!(
                container_end(&text.as_bytes()[..cut], at).ok(),
                container_end_scalar(&text.as_bytes()[..cut], at),
                "{}",
                &text[..cut]
            );
        }
    }

    /// Whatever serde_json refuses as a whole is refused here too (the items themselves are
    /// the normalizer's to validate, so the cases keep them valid).
    #[test]
    fn refuses_what_a_full_parse_refuses() {
        for bad in [
            "",
            "   ",
            "[]",
            "{",
            r#"{"kind":"EventList","items":["#,
            r#"{"kind":"EventList","items":[{}"#,
            r#"{"kind":"EventList","items":[{},]}"#,
            r#"{"kind":"EventList","items":[{} {}]}"#,
            r#"{"kind":"EventList","items":[{}]"#,
            r#"{"kind":"EventList","items":[{}]}x"#,
            r#"{"kind":"EventList","items":[{}]}{}"#,
            r#"{"kind":"EventList" "items":[]}"#,
            r#"{"kind":"EventList",}"#,
            r#"{kind:"EventList"}"#,
            r#"{"kind":EventList}"#,
            r#"{"kind":3}"#,
            r#"{"apiVersion":["a"]}"#,
            r#"{"items":{}}"#,
            r#"{"items":3}"#,
            r#"{"metadata":{"a":}}"#,
            r#"{"metadata":tru}"#,
            r#"{"metadata":"\x"}"#,
            r#"{"items":[],"items":[]}"#,
            r#"{"kind":"EventList","kind":"EventList"}"#,
            r#"{"kind":"EventList","items":[{"a":"unterminated}]}"#,
            r#"{"kind":"EventList","items":[{"a":[}]}"#,
            "{\"kind\":\"Event\u{0}List\"}",
        ] {
            assert!(split(bad.as_bytes()).is_err(), "accepted {bad:?}");
        }
        let e = split(br#"{"kind":"EventList","items":["#).unwrap_err();
        assert!(e.starts_with("malformed JSON"), "{e}");
    }
}
