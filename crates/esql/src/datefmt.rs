//! Java `DateTimeFormatter` patterns (as `DATE_FORMAT`/`DATE_PARSE` take them) translated to
//! chrono format strings; UTC only.

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Translates a Java pattern such as `yyyy-MM-dd'T'HH:mm:ss.SSSZ` to a chrono format.
pub fn to_chrono(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut j = i + 1;
            if chars.get(j) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            while j < chars.len() && chars[j] != '\'' {
                let ch = chars[j];
                if ch == '%' {
                    out.push_str("%%");
                } else {
                    out.push(ch);
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y".to_string(),
            ('y' | 'u', _) => "%Y".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('M', 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', _) => "%d".to_string(),
            ('D', _) => "%j".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', 1) => "%-I".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', k) => format!("%{}f", k.min(9)),
            ('a', _) => "%p".to_string(),
            ('E', 1..=3) => "%a".to_string(),
            ('E', _) => "%A".to_string(),
            ('Z', _) => "%z".to_string(),
            ('X' | 'x', 1) => "%#z".to_string(),
            ('X' | 'x', _) => "%:z".to_string(),
            ('%', _) => "%%".repeat(n),
            (c, n) if c.is_ascii_alphabetic() => c.to_string().repeat(n),
            (c, n) => c.to_string().repeat(n),
        };
        out.push_str(&spec);
        i += n;
    }
    out
}

/// Formats epoch millis with a Java pattern (UTC).
pub fn format(ms: i64, pattern: &str) -> String {
    let Some(dt) = Utc.timestamp_millis_opt(ms).single() else {
        return String::new();
    };
    let f = to_chrono(pattern);
    let mut s = String::new();
    use std::fmt::Write;
    if write!(s, "{}", dt.format(&f)).is_err() {
        return String::new();
    }
    s
}

/// Parses text with a Java pattern (UTC); returns epoch millis.
pub fn parse(text: &str, pattern: &str) -> Option<i64> {
    let f = to_chrono(pattern);
    if let Ok(dt) = chrono::DateTime::parse_from_str(text, &f) {
        return Some(dt.timestamp_millis());
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(text, &f) {
        return Some(Utc.from_utc_datetime(&dt).timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, &f) {
        return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?).timestamp_millis());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns() {
        assert_eq!(to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSS"), "%Y-%m-%dT%H:%M:%S.%3f");
        let ms = parse("2023-10-23", "yyyy-MM-dd").unwrap();
        assert_eq!(format(ms, "yyyy/MM/dd"), "2023/10/23");
    }
}
