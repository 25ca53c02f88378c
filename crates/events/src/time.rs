//! Timestamps: nanoseconds since the Unix epoch (`i64`, good until 2262), parsed from the
//! forms events carry (RFC 3339 with any fraction, `Z` or an offset; epoch milliseconds) and
//! formatted as Elasticsearch prints `date` (milliseconds) and `date_nanos` values.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};

pub const NANOS_PER_MILLI: i64 = 1_000_000;
pub const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Parses an RFC 3339 / ISO 8601 timestamp (`2025-03-04T06:22:18.819232Z`,
/// `2025-03-04T06:22:18+02:00`, `2025-03-04 06:22:18Z`, no zone = UTC) into epoch nanoseconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return dt.timestamp_nanos_opt();
    }
    let normalized = s.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normalized) {
        return dt.timestamp_nanos_opt();
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&normalized, fmt) {
            return Utc.from_utc_datetime(&naive).timestamp_nanos_opt();
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Utc
            .from_utc_datetime(&d.and_hms_opt(0, 0, 0)?)
            .timestamp_nanos_opt();
    }
    None
}

/// Parses a timestamp given either as text or as epoch milliseconds (a JSON number).
pub fn parse_timestamp_value(v: &crate::Value) -> Option<i64> {
    match v {
        crate::Value::Str(s) => parse_timestamp(s),
        crate::Value::Int(ms) => ms.checked_mul(NANOS_PER_MILLI),
        crate::Value::Float(ms) => Some((*ms * NANOS_PER_MILLI as f64) as i64),
        _ => None,
    }
}

fn to_datetime(nanos: i64) -> DateTime<Utc> {
    Utc.timestamp_nanos(nanos)
}

/// `2025-03-04T06:22:18.819Z`: Elasticsearch's rendering of a `date` (millisecond precision).
pub fn format_millis(nanos: i64) -> String {
    to_datetime(nanos.div_euclid(NANOS_PER_MILLI) * NANOS_PER_MILLI)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `2025-03-04T06:22:18.819232000Z`: the rendering of a `date_nanos`.
pub fn format_nanos(nanos: i64) -> String {
    to_datetime(nanos).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// `2025-03-04T06:22:18Z`: whole seconds (how `event.ingested` is written).
pub fn format_secs(nanos: i64) -> String {
    to_datetime(nanos.div_euclid(NANOS_PER_SEC) * NANOS_PER_SEC).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The current time in epoch nanoseconds.
pub fn now_nanos() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Parses a duration as detection rules and EQL write it: `5m`, `1s`, `500ms`, `2h`, `1d`,
/// optionally with a `now-` prefix (as in `from = "now-6m"`). Returns nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_prefix("now-").unwrap_or(s);
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mult = match unit {
        "ms" => NANOS_PER_MILLI,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3600 * NANOS_PER_SEC,
        "d" => 86_400 * NANOS_PER_SEC,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_audit_timestamps() {
        let t = parse_timestamp("2025-03-04T06:22:18.819232Z").unwrap();
        assert_eq!(t % NANOS_PER_SEC, 819_232_000);
        assert_eq!(format_millis(t), "2025-03-04T06:22:18.819Z");
        assert_eq!(format_nanos(t), "2025-03-04T06:22:18.819232000Z");
        assert_eq!(format_secs(t), "2025-03-04T06:22:18Z");
        assert_eq!(parse_timestamp("2025-03-04T08:22:18.819232+02:00"), Some(t));
        assert_eq!(parse_timestamp("2025-03-04T06:22:18.819232"), Some(t));
        assert!(parse_timestamp("yesterday").is_none());
        assert_eq!(
            parse_timestamp_value(&crate::Value::Int(1_000)),
            Some(NANOS_PER_SEC)
        );
    }

    #[test]
    fn parses_rule_durations() {
        assert_eq!(parse_duration("now-6m"), Some(360 * NANOS_PER_SEC));
        assert_eq!(parse_duration("5m"), Some(300 * NANOS_PER_SEC));
        assert_eq!(parse_duration("500ms"), Some(500 * NANOS_PER_MILLI));
        assert_eq!(parse_duration("1d"), Some(86_400 * NANOS_PER_SEC));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("m"), None);
    }
}
