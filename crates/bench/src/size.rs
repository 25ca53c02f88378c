//! Sizes on the command line (`100M`, `1G`, `5G`, `1.5G`, `20M`, plain bytes) and their labels.
//!
//! Suffixes are binary multiples (K = 1024), as `crowsnest generate --bytes` reads them, so a
//! `1G` corpus here is the same file as `crowsnest generate --bytes 1G`.

/// Parses one size: a number with an optional `K`, `M`, `G` or `T` suffix (optionally followed by
/// `B`/`iB`), binary multiples.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    let stripped = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (num, mult): (&str, u64) = match stripped.chars().last() {
        Some('K') => (&stripped[..stripped.len() - 1], 1 << 10),
        Some('M') => (&stripped[..stripped.len() - 1], 1 << 20),
        Some('G') => (&stripped[..stripped.len() - 1], 1 << 30),
        Some('T') => (&stripped[..stripped.len() - 1], 1 << 40),
        _ => (stripped, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: expected a size like 100M, 1G or 5G"))?;
    if !n.is_finite() || n <= 0.0 {
        return Err(format!("{s:?}: a size must be positive"));
    }
    Ok((n * mult as f64) as u64)
}

/// Parses a comma-separated list of sizes (`100M,1G,5G`).
pub fn parse_sizes(s: &str) -> Result<Vec<u64>, String> {
    let sizes: Vec<u64> = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(parse_size)
        .collect::<Result<_, _>>()?;
    if sizes.is_empty() {
        return Err(format!("{s:?}: expected at least one size"));
    }
    Ok(sizes)
}

/// A short label for a byte count in binary units: `100M`, `1G`, `1.5G`, `512K`, `42B`.
pub fn label(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (mult, unit) in UNITS {
        if bytes >= mult {
            let v = bytes as f64 / mult as f64;
            return if (v - v.round()).abs() < 0.05 {
                format!("{}{unit}", v.round() as u64)
            } else {
                format!("{v:.1}{unit}")
            };
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("5gb"), Ok(5 << 30));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("20MiB"), Ok(20 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1G").is_err());
        assert_eq!(parse_sizes("100M, 1G,5G"), Ok(vec![100 << 20, 1 << 30, 5 << 30]));
        assert!(parse_sizes(",").is_err());
    }

    #[test]
    fn labels_round_trip() {
        for s in ["100M", "1G", "5G", "1.5G", "20M", "512K", "42B"] {
            let b = if s == "42B" { 42 } else { parse_size(s).unwrap() };
            assert_eq!(label(b), s);
        }
    }
}
