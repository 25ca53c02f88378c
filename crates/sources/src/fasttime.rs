//! Fast paths for the timestamp forms on the hot path: parsing `YYYY-MM-DDTHH:MM:SS[.f]Z`
//! (and `±HH:MM` offsets) and formatting epoch nanoseconds as Elasticsearch prints `date`
//! values. Anything else falls back to `events::time` (chrono); results are identical.

use compact_str::CompactString;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut n = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as i64;
    }
    Some(n)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn fast_parse(s: &[u8]) -> Option<i64> {
    if s.len() < 20 || s[4] != b'-' || s[7] != b'-' || s[10] != b'T' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (y, mo, d) = (digits(&s[0..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
    let (h, mi, sec) = (digits(&s[11..13])?, digits(&s[14..16])?, digits(&s[17..19])?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0i64;
    if s[i] == b'.' {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            if i - start < 9 {
                frac = frac * 10 + (s[i] - b'0') as i64;
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            frac *= 10;
        }
    }
    let offset = match &s[i..] {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2])?;
            let om = digits(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 60 + om) * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    secs.checked_mul(1_000_000_000)?.checked_add(frac)
}

/// Parses a timestamp to epoch nanoseconds (same results as `events::time::parse_timestamp`).
pub(crate) fn parse(s: &str) -> Option<i64> {
    fast_parse(s.as_bytes()).or_else(|| events::time::parse_timestamp(s))
}

fn push2(out: &mut [u8; 24], at: &mut usize, n: u32) {
    out[*at] = b'0' + (n / 10) as u8;
    out[*at + 1] = b'0' + (n % 10) as u8;
    *at += 2;
}

fn push(out: &mut [u8; 24], at: &mut usize, c: u8) {
    out[*at] = c;
    *at += 1;
}

/// The text is at most 24 bytes, so the result is inline: no heap allocation.
fn format(nanos: i64, millis: bool) -> CompactString {
    let secs = nanos.div_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    if !(0..=9999).contains(&y) {
        return CompactString::from(if millis {
            events::time::format_millis(nanos)
        } else {
            events::time::format_secs(nanos)
        });
    }
    let sod = secs.rem_euclid(86_400) as u32;
    let mut out = [0u8; 24];
    let at = &mut 0;
    push2(&mut out, at, (y / 100) as u32);
    push2(&mut out, at, (y % 100) as u32);
    push(&mut out, at, b'-');
    push2(&mut out, at, m);
    push(&mut out, at, b'-');
    push2(&mut out, at, d);
    push(&mut out, at, b'T');
    push2(&mut out, at, sod / 3600);
    push(&mut out, at, b':');
    push2(&mut out, at, sod / 60 % 60);
    push(&mut out, at, b':');
    push2(&mut out, at, sod % 60);
    if millis {
        let ms = (nanos.rem_euclid(1_000_000_000) / 1_000_000) as u32;
        push(&mut out, at, b'.');
        push(&mut out, at, b'0' + (ms / 100) as u8);
        push2(&mut out, at, ms % 100);
    }
    push(&mut out, at, b'Z');
    let text = std::str::from_utf8(&out[..*at]).expect("ASCII digits and separators");
    CompactString::from(text)
}

/// `2025-03-04T06:22:18.819Z` (as `events::time::format_millis`).
pub(crate) fn format_millis(nanos: i64) -> CompactString {
    format(nanos, true)
}

/// `2025-03-04T06:22:18Z` (as `events::time::format_secs`).
pub(crate) fn format_secs(nanos: i64) -> CompactString {
    format(nanos, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_chrono() {
        let samples = [
            "2025-03-04T06:22:18.819232Z",
            "2025-03-04T06:22:18Z",
            "2025-10-07T16:19:19.647880072Z",
            "2000-02-29T23:59:59.999999999Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.5Z",
            "2025-03-04T08:22:18.819232+02:00",
            "2025-03-04T01:22:18-05:30",
            "2024-12-31T23:59:59.1234567891Z",
        ];
        for s in samples {
            let want = events::time::parse_timestamp(s);
            assert_eq!(fast_parse(s.as_bytes()), want, "{s}");
            let t = want.unwrap();
            assert_eq!(format_millis(t), events::time::format_millis(t), "{s}");
            assert_eq!(format_secs(t), events::time::format_secs(t), "{s}");
        }
        for bad in [
            "2025-02-30T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00.Z",
        ] {
            assert_eq!(fast_parse(bad.as_bytes()), None, "{bad}");
        }
        // forms only chrono handles still parse
        assert_eq!(
            parse("2025-03-04 06:22:18Z"),
            events::time::parse_timestamp("2025-03-04 06:22:18Z")
        );
        let mut t = -86_400_000_000_000i64 * 400;
        while t < 86_400_000_000_000i64 * 365 * 100 {
            assert_eq!(format_millis(t), events::time::format_millis(t));
            t += 77_777_777_777_777;
        }
    }
}
