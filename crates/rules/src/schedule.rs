//! A rule's schedule as Kibana reads it: `interval` (how often it runs: `5m`, `1h`, `30s`, `1d`)
//! and `from` (Elasticsearch date math relative to the run time, `now-6m`), which gives the
//! lookback: each run covers `[tick - lookback, tick]`. Kibana's defaults are `interval = "5m"`
//! and `from = "now-6m"`, so consecutive windows overlap by one minute.

use events::time::NANOS_PER_SEC;

pub const DEFAULT_INTERVAL: &str = "5m";
pub const DEFAULT_FROM: &str = "now-6m";
pub const DEFAULT_MAX_SIGNALS: usize = 100;

/// Splits `<digits><unit>` into its number and unit; `what` names the setting for messages.
fn split_amount<'a>(s: &'a str, what: &str) -> Result<(i64, &'a str), String> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!(
            "{what} {s:?} must start with a whole number (like \"5m\")"
        ));
    }
    let (num, unit) = s.split_at(digits);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{what} {s:?}: the number {num} is too large"))?;
    if n == 0 {
        return Err(format!("{what} {s:?} must be greater than zero"));
    }
    Ok((n, unit))
}

fn unit_nanos(unit: &str) -> Option<i64> {
    Some(match unit {
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" | "H" => 3600 * NANOS_PER_SEC,
        "d" => 86_400 * NANOS_PER_SEC,
        "w" => 7 * 86_400 * NANOS_PER_SEC,
        _ => return None,
    })
}

/// Parses a rule `interval` (`30s`, `5m`, `1h`, `1d`: a positive whole number and one of the
/// units `s`, `m`, `h`, `d` that Kibana's schedule accepts) into nanoseconds.
pub fn parse_interval(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (n, unit) = split_amount(t, "interval")?;
    let mult = match unit {
        "s" | "m" | "h" | "d" => unit_nanos(unit).expect("known unit"),
        "" => {
            return Err(format!(
                "interval {s:?} has no unit (use s, m, h or d, like \"5m\")"
            ));
        }
        other => {
            return Err(format!(
                "interval {s:?} has unknown unit {other:?} (use s, m, h or d, like \"5m\")"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("interval {s:?} is too long"))
}

/// Parses a rule `from` (`now-6m`: date math subtracting a positive duration from `now`, with
/// the units `s`, `m`, `h`/`H`, `d`, `w`) into the lookback in nanoseconds. Calendar units (`M`,
/// `y`), rounding (`/d`), absolute dates and anything that does not reach back from `now` are
/// rejected.
pub fn parse_from(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let Some(rest) = t.strip_prefix("now") else {
        return Err(format!(
            "from {s:?} must be date math relative to now, like \"now-6m\""
        ));
    };
    if rest.is_empty() {
        return Err(format!(
            "from {s:?} would make an empty window; it must reach back from now, like \"now-6m\""
        ));
    }
    let Some(amount) = rest.strip_prefix('-') else {
        return Err(format!(
            "from {s:?} must subtract a duration from now, like \"now-6m\""
        ));
    };
    if amount.contains('/') {
        return Err(format!(
            "from {s:?}: date rounding (/unit) is not supported in a rule's from"
        ));
    }
    let (n, unit) = split_amount(amount, "from")?;
    let mult = match unit {
        "M" | "y" => {
            return Err(format!(
                "from {s:?}: calendar unit {unit:?} has no fixed length; use d or w"
            ));
        }
        "" => {
            return Err(format!(
                "from {s:?} has no unit (use s, m, h, d or w, like \"now-6m\")"
            ));
        }
        u => unit_nanos(u).ok_or_else(|| {
            format!("from {s:?} has unknown unit {u:?} (use s, m, h, d or w, like \"now-6m\")")
        })?,
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("from {s:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60 * NANOS_PER_SEC;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5m"), Ok(5 * MIN));
        assert_eq!(parse_interval("1h"), Ok(60 * MIN));
        assert_eq!(parse_interval("30s"), Ok(30 * NANOS_PER_SEC));
        assert_eq!(parse_interval("60m"), Ok(60 * MIN));
        assert_eq!(parse_interval("1d"), Ok(24 * 60 * MIN));
        for bad in [
            "",
            "5",
            "m",
            "0m",
            "5x",
            "-5m",
            "5 m",
            "1.5m",
            "now-5m",
            "99999999999999999999m",
        ] {
            let err = parse_interval(bad).unwrap_err();
            assert!(err.contains("interval"), "{bad}: {err}");
        }
        assert!(parse_interval("5").unwrap_err().contains("no unit"));
    }

    #[test]
    fn lookbacks() {
        assert_eq!(parse_from("now-6m"), Ok(6 * MIN));
        assert_eq!(parse_from("now-119m"), Ok(119 * MIN));
        assert_eq!(parse_from("now-5d"), Ok(5 * 24 * 60 * MIN));
        assert_eq!(parse_from("now-2w"), Ok(14 * 24 * 60 * MIN));
        assert_eq!(parse_from("now-30s"), Ok(30 * NANOS_PER_SEC));
        for bad in [
            "now",
            "6m",
            "now+6m",
            "now-0m",
            "now-1M",
            "now-6m/m",
            "now-6",
            "2024-01-01",
            "now-6q",
        ] {
            let err = parse_from(bad).unwrap_err();
            assert!(err.contains("from"), "{bad}: {err}");
        }
        assert!(parse_from("now-1y").unwrap_err().contains("calendar"));
    }
}
