//! The figures of a load run, printed as a short table: sustained events/s (wall), events per
//! server CPU second (the per-core figure), request latency, refusals, catch-up time of the
//! rule engine and alerts delivered.

use std::time::Duration;

use super::client::Outcome;
use super::server::{CpuTime, Metrics};

/// The target of issue 8: events per server CPU second.
pub const TARGET_PER_CORE: f64 = 100_000.0;

pub struct RunArgs {
    pub clients: usize,
    pub batch: usize,
    pub rules: String,
    pub http2: bool,
    pub pool_events: usize,
    pub mean_event_bytes: f64,
}

pub struct Report {
    pub args: RunArgs,
    pub outcome: Outcome,
    /// From the end of the warm-up to the last answer.
    pub measured_wall: Duration,
    /// Server CPU from the end of the warm-up until the engine caught up.
    pub server_cpu: CpuTime,
    /// Events the server accepted over the same span (its own counter).
    pub server_events: u64,
    /// Time from the last answer until every received event was evaluated (`None`: not within
    /// the timeout).
    pub caught_up: Option<Duration>,
    pub metrics: Metrics,
    pub alert_lines: u64,
    pub load_cpu: CpuTime,
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
}

impl Report {
    /// Events per server CPU second.
    pub fn per_core(&self) -> f64 {
        let cpu = self.server_cpu.total();
        if cpu > 0.0 {
            self.server_events as f64 / cpu
        } else {
            0.0
        }
    }

    pub fn print(&self) {
        let a = &self.args;
        let o = &self.outcome;
        let secs = self.measured_wall.as_secs_f64().max(1e-9);
        let cpu = self.server_cpu.total();
        println!(
            "crowsnest serve under load: {} clients, {}-event EventList batches over TLS ({}), rules: {}",
            a.clients,
            a.batch,
            if a.http2 { "HTTP/2" } else { "HTTP/1.1" },
            a.rules
        );
        println!(
            "  corpus               {} generated audit events, mean {:.0} bytes, cycled",
            thousands(a.pool_events as u64),
            a.mean_event_bytes
        );
        println!(
            "  accepted             {} events in {} batches ({:.1} MB) over {:.2} s",
            thousands(o.accepted_events),
            thousands(o.accepted_batches),
            o.accepted_bytes as f64 / 1e6,
            secs
        );
        println!(
            "  sustained            {} events/s (wall), {:.0} batches/s, {:.1} MB/s",
            thousands((o.accepted_events as f64 / secs) as u64),
            o.accepted_batches as f64 / secs,
            o.accepted_bytes as f64 / 1e6 / secs
        );
        println!(
            "  server CPU           {:.2} s (user {:.2}, system {:.2}) = {:.2} cores busy",
            cpu,
            self.server_cpu.user,
            self.server_cpu.system,
            cpu / secs
        );
        let per_core = self.per_core();
        println!(
            "  per server core      {} events per CPU second ({} events counted by the server){}",
            thousands(per_core as u64),
            thousands(self.server_events),
            if per_core >= TARGET_PER_CORE {
                "  [target 100,000: met]"
            } else {
                "  [target 100,000: NOT met]"
            }
        );
        println!(
            "  request latency      p50 {}  p90 {}  p99 {}  max {}",
            ms(o.latency_quantile(0.5)),
            ms(o.latency_quantile(0.9)),
            ms(o.latency_quantile(0.99)),
            ms(o.latency_quantile(1.0))
        );
        let refused: Vec<String> = o.refused.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        println!(
            "  refused              429: {}, other: {}, failed requests: {}{}",
            o.throttled,
            if refused.is_empty() {
                "0".into()
            } else {
                refused.join(", ")
            },
            o.errors,
            o.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        let server_rejected: Vec<String> = self
            .metrics
            .rejected
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        if !server_rejected.is_empty() {
            println!("  server rejections    {}", server_rejected.join(", "));
        }
        if self.metrics.wal_appends > 0 {
            println!(
                "  WAL                  {} appends, mean wait for the disk {:.2} ms{}",
                thousands(self.metrics.wal_appends),
                self.metrics.wal_append_secs / self.metrics.wal_appends as f64 * 1000.0,
                self.metrics
                    .wal_fsyncs
                    .map(|f| format!(", {} fsyncs", thousands(f)))
                    .unwrap_or_default()
            );
        }
        let evaluated = match self.metrics.events_evaluated {
            Some(e) => format!(
                "{} of {} events evaluated",
                thousands(e),
                thousands(self.metrics.events_received)
            ),
            None => "evaluated before each answer".into(),
        };
        match self.caught_up {
            Some(d) => println!(
                "  rule engine          kept up: caught up {:.2} s after the last answer ({evaluated})",
                d.as_secs_f64()
            ),
            None => println!("  rule engine          did NOT catch up within the timeout ({evaluated})"),
        }
        println!(
            "  alerts delivered     {} (file sink: {} lines)",
            thousands(self.metrics.alerts_delivered),
            thousands(self.alert_lines)
        );
        println!(
            "  load generator CPU   {:.2} s (shares the machine)",
            self.load_cpu.total()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
