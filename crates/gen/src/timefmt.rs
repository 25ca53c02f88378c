//! Fast UTC timestamp formatting for the generator: RFC 3339 with microseconds (as kube-apiserver
//! writes `requestReceivedTimestamp`) or milliseconds (as Elastic writes `@timestamp`), from epoch
//! nanoseconds, with a per-second cache of the date-time prefix.

/// Nanoseconds per second.
pub const NS: i64 = 1_000_000_000;

/// Civil date (year, month 1-12, day 1-31) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn push2(out: &mut [u8], at: usize, v: u32) {
    out[at] = b'0' + (v / 10) as u8;
    out[at + 1] = b'0' + (v % 10) as u8;
}

/// Caches `YYYY-MM-DDTHH:MM:SS` for the last second formatted.
#[derive(Debug, Clone)]
pub struct TimeFmt {
    sec: i64,
    prefix: [u8; 19],
}

impl Default for TimeFmt {
    fn default() -> Self {
        TimeFmt {
            sec: i64::MIN,
            prefix: [b'0'; 19],
        }
    }
}

impl TimeFmt {
    fn prefix(&mut self, sec: i64) -> &[u8; 19] {
        if sec != self.sec {
            let days = sec.div_euclid(86_400);
            let rem = sec.rem_euclid(86_400) as u32;
            let (y, m, d) = civil_from_days(days);
            let p = &mut self.prefix;
            let y = y.clamp(0, 9999) as u32;
            push2(p, 0, y / 100);
            push2(p, 2, y % 100);
            p[4] = b'-';
            push2(p, 5, m);
            p[7] = b'-';
            push2(p, 8, d);
            p[10] = b'T';
            push2(p, 11, rem / 3600);
            p[13] = b':';
            push2(p, 14, rem / 60 % 60);
            p[16] = b':';
            push2(p, 17, rem % 60);
            self.sec = sec;
        }
        &self.prefix
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds, truncated).
    pub fn micros(&mut self, out: &mut Vec<u8>, ns: i64) {
        let sec = ns.div_euclid(NS);
        let frac = (ns.rem_euclid(NS) / 1000) as u32;
        out.extend_from_slice(self.prefix(sec));
        let mut f = [b'.', 0, 0, 0, 0, 0, 0, b'Z'];
        let mut v = frac;
        for i in (1..7).rev() {
            f[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&f);
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.fffZ` (milliseconds, truncated).
    pub fn millis(&mut self, out: &mut Vec<u8>, ns: i64) {
        let sec = ns.div_euclid(NS);
        let frac = (ns.rem_euclid(NS) / 1_000_000) as u32;
        out.extend_from_slice(self.prefix(sec));
        let f = [
            b'.',
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
            b'Z',
        ];
        out.extend_from_slice(&f);
    }
}

/// RFC 3339 text with microseconds of an epoch-nanosecond instant (for the truth record).
pub fn rfc3339_micros(ns: i64) -> String {
    let mut out = Vec::with_capacity(27);
    TimeFmt::default().micros(&mut out, ns);
    String::from_utf8(out).unwrap_or_default()
}

/// RFC 3339 text with whole seconds (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn rfc3339_secs(ns: i64) -> String {
    let mut tf = TimeFmt::default();
    let p = tf.prefix(ns.div_euclid(NS));
    let mut s = String::from_utf8(p.to_vec()).unwrap_or_default();
    s.push('Z');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2025-03-04T06:22:18.819232Z (from the Elastic audit fixture)
        let ns = chrono_like(2025, 3, 4, 6, 22, 18) * NS + 819_232_000;
        assert_eq!(rfc3339_micros(ns), "2025-03-04T06:22:18.819232Z");
        let mut v = Vec::new();
        TimeFmt::default().millis(&mut v, ns);
        assert_eq!(std::str::from_utf8(&v).unwrap(), "2025-03-04T06:22:18.819Z");
        assert_eq!(rfc3339_micros(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339_secs(951_782_400 * NS), "2000-02-29T00:00:00Z");
    }

    fn chrono_like(y: i32, m: u32, d: u32, hh: i64, mm: i64, ss: i64) -> i64 {
        use chrono::NaiveDate;
        let days = NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days();
        days * 86_400 + hh * 3600 + mm * 60 + ss
    }
}
