//! Runtime scalars ([`Scalar`]) that expressions produce while evaluating one document, and the
//! comparison rules between them (numbers across int/float, versions, IPs, strings).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::net::IpAddr;

use smallvec::SmallVec;

/// One non-null value; borrowed from the document or the query where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
}

/// The values of an expression on one document: empty is null, several is multi-valued.
pub type Vals<'a> = SmallVec<[Scalar<'a>; 2]>;

/// How two strings are ordered, chosen from the field types at analysis time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpMode {
    Plain,
    Version,
    Ip,
}

impl<'a> Scalar<'a> {
    pub fn from_value(v: &'a events::Value) -> Option<Scalar<'a>> {
        Some(match v {
            events::Value::Bool(b) => Scalar::Bool(*b),
            events::Value::Int(i) => Scalar::Int(*i),
            events::Value::Float(f) => Scalar::Float(*f),
            events::Value::Str(s) => Scalar::Str(Cow::Borrowed(s)),
            _ => return None,
        })
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Int(i) => Some(*i as f64),
            Scalar::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as text (numbers and booleans printed as Elasticsearch prints them).
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Str(s) => Cow::Borrowed(s),
            Scalar::Int(i) => Cow::Owned(i.to_string()),
            Scalar::Float(f) => Cow::Owned(format_float(*f)),
            Scalar::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }
}

pub fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Orders two scalars, or `None` when they are not comparable.
pub fn compare(a: &Scalar, b: &Scalar, mode: CmpMode) -> Option<Ordering> {
    match (a, b) {
        (Scalar::Int(x), Scalar::Int(y)) => Some(x.cmp(y)),
        (Scalar::Bool(x), Scalar::Bool(y)) => Some(x.cmp(y)),
        (Scalar::Str(x), Scalar::Str(y)) => match mode {
            CmpMode::Plain => Some(x.as_ref().cmp(y.as_ref())),
            CmpMode::Version => Some(compare_versions(x, y)),
            CmpMode::Ip => match (x.parse::<IpAddr>(), y.parse::<IpAddr>()) {
                (Ok(p), Ok(q)) => Some(normalize_ip(p).cmp(&normalize_ip(q))),
                _ => Some(x.as_ref().cmp(y.as_ref())),
            },
        },
        (Scalar::Str(s), n @ (Scalar::Int(_) | Scalar::Float(_))) => {
            let v: f64 = s.trim().parse().ok()?;
            v.partial_cmp(&n.as_f64()?)
        }
        (n @ (Scalar::Int(_) | Scalar::Float(_)), Scalar::Str(s)) => {
            let v: f64 = s.trim().parse().ok()?;
            n.as_f64()?.partial_cmp(&v)
        }
        (Scalar::Str(s), Scalar::Bool(b)) | (Scalar::Bool(b), Scalar::Str(s)) => {
            let parsed = match s.as_ref() {
                "true" => true,
                "false" => false,
                _ => return None,
            };
            let ord = parsed.cmp(b);
            Some(if matches!(a, Scalar::Str(_)) {
                ord
            } else {
                ord.reverse()
            })
        }
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// True when `ip` lies in the CIDR block `cidr` (a bare address is a /32 or /128).
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            (u32::from(n) & mask) == (u32::from(i) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            (u128::from(n) & mask) == (u128::from(i) & mask)
        }
        _ => false,
    }
}

fn normalize_ip(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Semantic-version ordering as the `version` field type does it: numeric `major.minor.patch`
/// parts, a pre-release (`-...`) before the release; anything unparsable sorts after valid
/// versions, by its text.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    match (parse_version(a), parse_version(b)) {
        (Some(x), Some(y)) => x.0.cmp(&y.0).then_with(|| match (&x.1, &y.1) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(p), Some(q)) => p.cmp(q),
        }),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

fn parse_version(s: &str) -> Option<(Vec<u64>, Option<String>)> {
    let (main, pre) = match s.split_once('-') {
        Some((m, p)) => (m, Some(p.to_string())),
        None => (s, None),
    };
    let main = main.split_once('+').map(|(m, _)| m).unwrap_or(main);
    let parts: Option<Vec<u64>> = main.split('.').map(|p| p.parse().ok()).collect();
    let parts = parts?;
    if parts.is_empty() {
        return None;
    }
    Some((parts, pre))
}

/// Equality used by `==`, `in` and join keys: numbers by value, strings exactly (or ignoring
/// case), mixed string/number by parsing the string.
pub fn equals(a: &Scalar, b: &Scalar, insensitive: bool, mode: CmpMode) -> bool {
    match (a, b) {
        // an `ip` field equals a CIDR block it lies in (an Elasticsearch term query on `ip`)
        (Scalar::Str(x), Scalar::Str(y)) if mode == CmpMode::Ip && (x.contains('/') || y.contains('/')) => {
            let (ip, block) = if y.contains('/') { (x, y) } else { (y, x) };
            ip.parse::<IpAddr>().is_ok_and(|ip| cidr_contains(block, ip))
        }
        (Scalar::Str(x), Scalar::Str(y)) if insensitive => eq_ignore_case(x, y),
        (Scalar::Str(x), Scalar::Str(y)) if mode == CmpMode::Plain => x == y,
        _ => compare(a, b, mode) == Some(Ordering::Equal),
    }
}

pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// The truth of a condition's values: true when any value is `true`, null when there are none.
pub fn truth(vals: &Vals) -> Option<bool> {
    if vals.is_empty() {
        return None;
    }
    Some(vals.iter().any(|v| matches!(v, Scalar::Bool(true))))
}

pub fn bool_vals<'a>(b: Option<bool>) -> Vals<'a> {
    match b {
        Some(b) => smallvec::smallvec![Scalar::Bool(b)],
        None => Vals::new(),
    }
}
