//! ES|QL data types and runtime values: [`DataType`] (what the analyzer knows about a column)
//! and [`Val`] (one cell: a single value, `Null`, or a multi-value). Dates are epoch
//! milliseconds, IPs 16-byte IPv6 (IPv4 mapped) as Elasticsearch stores them.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use events::{FieldType, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    Null,
    Boolean,
    Integer,
    Long,
    UnsignedLong,
    Double,
    Keyword,
    Text,
    Date,
    DateNanos,
    Ip,
    Version,
    TimeDuration,
    DatePeriod,
    Unsupported,
}

impl DataType {
    pub fn name(self) -> &'static str {
        match self {
            DataType::Null => "null",
            DataType::Boolean => "boolean",
            DataType::Integer => "integer",
            DataType::Long => "long",
            DataType::UnsignedLong => "unsigned_long",
            DataType::Double => "double",
            DataType::Keyword => "keyword",
            DataType::Text => "text",
            DataType::Date => "date",
            DataType::DateNanos => "date_nanos",
            DataType::Ip => "ip",
            DataType::Version => "version",
            DataType::TimeDuration => "time_duration",
            DataType::DatePeriod => "date_period",
            DataType::Unsupported => "unsupported",
        }
    }

    /// The ES|QL type of a mapped field; `None` for objects, which are not columns.
    pub fn from_field(t: FieldType) -> Option<DataType> {
        use FieldType as F;
        Some(match t {
            F::Keyword | F::Wildcard | F::ConstantKeyword => DataType::Keyword,
            F::Text | F::MatchOnlyText => DataType::Text,
            F::Version => DataType::Version,
            F::Long => DataType::Long,
            F::Integer | F::Short | F::Byte => DataType::Integer,
            F::UnsignedLong => DataType::UnsignedLong,
            F::Double | F::Float | F::HalfFloat | F::ScaledFloat => DataType::Double,
            F::Boolean => DataType::Boolean,
            F::Ip => DataType::Ip,
            F::Date => DataType::Date,
            F::DateNanos => DataType::DateNanos,
            F::Object | F::Nested => return None,
            F::GeoPoint | F::Flattened | F::Unsupported => DataType::Unsupported,
        })
    }

    /// Parses a cast target (`::long`) or type name.
    pub fn parse(name: &str) -> Option<DataType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "null" => DataType::Null,
            "boolean" | "bool" => DataType::Boolean,
            "integer" | "int" => DataType::Integer,
            "long" => DataType::Long,
            "unsigned_long" => DataType::UnsignedLong,
            "double" => DataType::Double,
            "keyword" | "string" => DataType::Keyword,
            "text" => DataType::Text,
            "date" | "datetime" => DataType::Date,
            "date_nanos" => DataType::DateNanos,
            "ip" => DataType::Ip,
            "version" => DataType::Version,
            "time_duration" => DataType::TimeDuration,
            "date_period" => DataType::DatePeriod,
            _ => return None,
        })
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            DataType::Integer | DataType::Long | DataType::Double | DataType::UnsignedLong
        )
    }

    pub fn is_whole(self) -> bool {
        matches!(self, DataType::Integer | DataType::Long | DataType::UnsignedLong)
    }

    pub fn is_string(self) -> bool {
        matches!(self, DataType::Keyword | DataType::Text)
    }

    pub fn is_date(self) -> bool {
        matches!(self, DataType::Date | DataType::DateNanos)
    }

    pub fn is_span(self) -> bool {
        matches!(self, DataType::TimeDuration | DataType::DatePeriod)
    }

    /// The wider of two numeric types (integer < long < double).
    pub fn widen(a: DataType, b: DataType) -> DataType {
        if a == DataType::Double || b == DataType::Double {
            DataType::Double
        } else if a == DataType::UnsignedLong || b == DataType::UnsignedLong {
            DataType::UnsignedLong
        } else if a == DataType::Long || b == DataType::Long {
            DataType::Long
        } else if a == DataType::Null {
            b
        } else {
            a
        }
    }
}

/// One cell of a row.
#[derive(Debug, Clone, Default)]
pub enum Val {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Arc<str>),
    /// Epoch milliseconds.
    Date(i64),
    Ip([u8; 16]),
    /// A `time_duration` in milliseconds.
    Duration(i64),
    /// A `date_period`: months and days.
    Period(i32, i32),
    /// Two or more values.
    Multi(Vec<Val>),
}

impl Val {
    /// A keyword value.
    pub fn str(s: impl Into<Arc<str>>) -> Val {
        Val::Str(s.into())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub fn is_multi(&self) -> bool {
        matches!(self, Val::Multi(_))
    }

    /// The single values of a cell: none for null, one, or many.
    pub fn values(&self) -> &[Val] {
        match self {
            Val::Null => &[],
            Val::Multi(v) => v,
            v => std::slice::from_ref(v),
        }
    }

    /// Builds a cell from values: null when empty, the value when one, else a multi-value.
    pub fn from_values(mut vals: Vec<Val>) -> Val {
        vals.retain(|v| !v.is_null());
        match vals.len() {
            0 => Val::Null,
            1 => vals.pop().unwrap_or_default(),
            _ => Val::Multi(vals),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) | Val::Date(i) => Some(*i as f64),
            Val::Double(d) => Some(*d),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Val::Int(i) | Val::Date(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to the shared document value: dates as ISO-8601, IPs as text.
    pub fn to_value(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::Int(*i),
            Val::Double(d) => Value::Float(*d),
            Val::Str(s) => Value::from(&**s),
            Val::Date(ms) => Value::from(format_date(*ms)),
            Val::Ip(ip) => Value::from(format_ip(ip)),
            Val::Duration(_) | Val::Period(..) => Value::from(self.render()),
            Val::Multi(v) => Value::Array(v.iter().map(Val::to_value).collect()),
        }
    }

    /// Text rendering as ES|QL prints a single value (`TO_STRING` semantics).
    pub fn render(&self) -> String {
        match self {
            Val::Null => "null".into(),
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Double(d) => format_double(*d),
            Val::Str(s) => s.to_string(),
            Val::Date(ms) => format_date(*ms),
            Val::Ip(ip) => format_ip(ip),
            Val::Duration(ms) => format!("{ms}ms"),
            Val::Period(m, d) => {
                if *m != 0 && *d == 0 {
                    format!("P{m}M")
                } else if *m == 0 {
                    format!("P{d}D")
                } else {
                    format!("P{m}M{d}D")
                }
            }
            Val::Multi(v) => {
                let parts: Vec<String> = v.iter().map(Val::render).collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }

    /// Total order between values of the same type (used by SORT, MIN/MAX, MV_SORT).
    pub fn cmp_same(&self, other: &Val) -> Ordering {
        match (self, other) {
            (Val::Null, Val::Null) => Ordering::Equal,
            (Val::Null, _) => Ordering::Greater,
            (_, Val::Null) => Ordering::Less,
            (Val::Bool(a), Val::Bool(b)) => a.cmp(b),
            (Val::Str(a), Val::Str(b)) => a.cmp(b),
            (Val::Ip(a), Val::Ip(b)) => a.cmp(b),
            (Val::Multi(a), Val::Multi(b)) => {
                for (x, y) in a.iter().zip(b) {
                    let o = x.cmp_same(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Val::Multi(a), b) => a[0].cmp_same(b).then(Ordering::Greater),
            (a, Val::Multi(b)) => a.cmp_same(&b[0]).then(Ordering::Less),
            (Val::Int(a), Val::Int(b)) | (Val::Date(a), Val::Date(b)) => a.cmp(b),
            (Val::Duration(a), Val::Duration(b)) => a.cmp(b),
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => a.render().cmp(&b.render()),
            },
        }
    }
}

impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Double(a), Val::Double(b)) => a.to_bits() == b.to_bits() || a == b,
            (Val::Int(a), Val::Double(b)) | (Val::Double(b), Val::Int(a)) => (*a as f64) == *b,
            (Val::Null, Val::Null) => true,
            (Val::Bool(a), Val::Bool(b)) => a == b,
            (Val::Int(a), Val::Int(b)) => a == b,
            (Val::Str(a), Val::Str(b)) => a == b,
            (Val::Date(a), Val::Date(b)) => a == b,
            (Val::Ip(a), Val::Ip(b)) => a == b,
            (Val::Duration(a), Val::Duration(b)) => a == b,
            (Val::Period(a, b), Val::Period(c, d)) => a == c && b == d,
            (Val::Multi(a), Val::Multi(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Val {}

impl Hash for Val {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            Val::Null => 0u8.hash(h),
            Val::Bool(b) => b.hash(h),
            Val::Int(i) => (*i as f64).to_bits().hash(h),
            Val::Double(d) => {
                let d = if *d == 0.0 { 0.0 } else { *d };
                d.to_bits().hash(h)
            }
            Val::Str(s) => s.hash(h),
            Val::Date(d) => d.hash(h),
            Val::Ip(ip) => ip.hash(h),
            Val::Duration(d) => d.hash(h),
            Val::Period(a, b) => (a, b).hash(h),
            Val::Multi(v) => v.hash(h),
        }
    }
}

/// Java's `Double.toString`-like rendering: `1.0`, `2.03`, `1.0E10`, `NaN`.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let a = d.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{d}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{d:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{mant}.0")
        };
        format!("{mant}E{exp}")
    }
}

/// `2024-01-01T00:00:00.000Z` (years outside 0000-9999 keep their sign and digits).
pub fn format_date(ms: i64) -> String {
    use chrono::TimeZone;
    match chrono::Utc.timestamp_millis_opt(ms).single() {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

/// Parses an ISO-8601 date or date-time (UTC when no zone) into epoch milliseconds; years
/// before 1677 and after 2262 (beyond nanosecond range) are supported.
pub fn parse_date(s: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    let t = s.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&t) {
        return Some(dt.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M:%S%#z",
        "%Y-%m-%dT%H:%M%#z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(&t, f) {
            return Some(dt.timestamp_millis());
        }
    }
    let naive = t.strip_suffix('Z').unwrap_or(&t);
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, f) {
            return Some(Utc.from_utc_datetime(&dt).timestamp_millis());
        }
    }
    for f in ["%Y-%m-%d", "%Y-%m"] {
        let text = if f == "%Y-%m" {
            format!("{naive}-01")
        } else {
            naive.to_string()
        };
        if let Ok(d) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?).timestamp_millis());
        }
    }
    if !naive.is_empty()
        && naive.len() <= 5
        && naive.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit())
    {
        let y: i32 = naive.parse().ok()?;
        let d = NaiveDate::from_ymd_opt(y, 1, 1)?;
        return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?).timestamp_millis());
    }
    None
}

/// How `TO_IP` reads IPv4 octets with leading zeros (`1.1.010.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadingZeros {
    Reject,
    Decimal,
    Octal,
}

/// Parses an IP; octets with leading zeros are rejected (Elasticsearch's default).
pub fn parse_ip(s: &str) -> Option<[u8; 16]> {
    parse_ip_with(s, LeadingZeros::Reject)
}

pub fn parse_ip_with(s: &str, zeros: LeadingZeros) -> Option<[u8; 16]> {
    let s = s.trim();
    let ip: IpAddr = match s.parse() {
        Ok(ip) => ip,
        Err(_) if zeros != LeadingZeros::Reject => parse_ipv4_leading_zeros(s, zeros == LeadingZeros::Octal)?,
        Err(_) => return None,
    };
    Some(match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    })
}

fn parse_ipv4_leading_zeros(s: &str, octal: bool) -> Option<IpAddr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut o = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        o[i] = if octal && p.len() > 1 && p.starts_with('0') {
            u8::from_str_radix(p, 8).ok()?
        } else {
            p.parse().ok()?
        };
    }
    Some(IpAddr::V4(Ipv4Addr::from(o)))
}

pub fn format_ip(ip: &[u8; 16]) -> String {
    let v6 = Ipv6Addr::from(*ip);
    match v6.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => v6.to_string(),
    }
}

/// Converts one JSON leaf to a value of type `ty` (None when it does not convert).
pub fn from_json(v: &Value, ty: DataType) -> Option<Val> {
    match ty {
        DataType::Keyword | DataType::Text | DataType::Version => Some(match v {
            Value::Str(s) => Val::str(s.as_str()),
            Value::Object(_) | Value::Array(_) => Val::str(v.to_json()),
            other => Val::str(other.to_string()),
        }),
        DataType::Integer | DataType::Long | DataType::UnsignedLong => match v {
            Value::Int(i) => Some(Val::Int(*i)),
            Value::Float(f) => Some(Val::Int(f.trunc() as i64)),
            Value::Str(s) => s
                .trim()
                .parse::<i64>()
                .ok()
                .or_else(|| s.trim().parse::<f64>().ok().map(|f| f as i64))
                .map(Val::Int),
            _ => None,
        },
        DataType::Double => match v {
            Value::Int(i) => Some(Val::Double(*i as f64)),
            Value::Float(f) => Some(Val::Double(*f)),
            Value::Str(s) => s.trim().parse::<f64>().ok().map(Val::Double),
            _ => None,
        },
        DataType::Boolean => match v {
            Value::Bool(b) => Some(Val::Bool(*b)),
            Value::Str(s) => match s.trim() {
                "true" => Some(Val::Bool(true)),
                "false" => Some(Val::Bool(false)),
                _ => None,
            },
            _ => None,
        },
        DataType::Date | DataType::DateNanos => match v {
            Value::Str(s) => parse_date(s).map(Val::Date),
            Value::Int(ms) => Some(Val::Date(*ms)),
            Value::Float(ms) => Some(Val::Date(*ms as i64)),
            _ => None,
        },
        DataType::Ip => v.as_str().and_then(parse_ip).map(Val::Ip),
        _ => None,
    }
}

/// Builds a cell from a document field's leaf values, in doc-values order: keyword and ip
/// values sorted and deduplicated, numbers, dates and booleans sorted, text as in the source.
pub fn cell_from_json(vals: &[&Value], ty: DataType) -> Val {
    if vals.len() == 1 {
        return from_json(vals[0], ty).unwrap_or_default();
    }
    let mut out: Vec<Val> = vals.iter().filter_map(|v| from_json(v, ty)).collect();
    match ty {
        DataType::Keyword | DataType::Ip | DataType::Version => {
            out.sort_by(Val::cmp_same);
            out.dedup();
        }
        DataType::Text => {}
        _ => out.sort_by(Val::cmp_same),
    }
    Val::from_values(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(format_double(1.0), "1.0");
        assert_eq!(format_double(2.03), "2.03");
        assert_eq!(format_double(1e10), "1.0E10");
        assert_eq!(format_double(1.5e-5), "1.5E-5");
        assert_eq!(format_double(-0.5), "-0.5");
    }

    #[test]
    fn ips_round_trip() {
        let v4 = parse_ip("10.0.0.5").unwrap();
        assert_eq!(format_ip(&v4), "10.0.0.5");
        let v6 = parse_ip("::1").unwrap();
        assert_eq!(format_ip(&v6), "::1");
        assert!(v4 > v6);
    }
}
