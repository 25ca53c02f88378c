//! [`Metrics`]: the server's counters and histograms, rendered in the Prometheus text
//! exposition format for `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: [f64; 11] = [
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// A latency histogram with fixed buckets (seconds).
#[derive(Debug, Default)]
pub struct Histogram {
    inner: Mutex<HistInner>,
}

#[derive(Debug, Default)]
struct HistInner {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let mut h = self.inner.lock().expect("metrics lock");
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += s;
    }

    pub fn count(&self) -> u64 {
        self.inner.lock().expect("metrics lock").count
    }

    /// Mean observation, seconds (0 without observations).
    pub fn mean_secs(&self) -> f64 {
        let h = self.inner.lock().expect("metrics lock");
        if h.count == 0 { 0.0 } else { h.sum / h.count as f64 }
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let h = self.inner.lock().expect("metrics lock");
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", h.counts[i]);
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum {}", h.sum);
        let _ = writeln!(out, "{name}_count {}", h.count);
    }
}

/// A counter family with string labels.
#[derive(Debug, Default)]
pub struct Labeled {
    inner: Mutex<BTreeMap<Vec<String>, u64>>,
}

impl Labeled {
    pub fn add(&self, labels: &[&str], n: u64) {
        let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        *self.inner.lock().expect("metrics lock").entry(key).or_default() += n;
    }

    pub fn get(&self, labels: &[&str]) -> u64 {
        let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        self.inner
            .lock()
            .expect("metrics lock")
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    fn render(&self, out: &mut String, name: &str, help: &str, names: &[&str]) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (key, v) in self.inner.lock().expect("metrics lock").iter() {
            let labels: Vec<String> = names
                .iter()
                .zip(key)
                .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
                .collect();
            let _ = writeln!(out, "{name}{{{}}} {v}", labels.join(","));
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Every metric the server exposes.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Events accepted, by endpoint (`audit`, `process`, `follow`).
    pub events_received: Labeled,
    /// Batches accepted, by endpoint.
    pub batches_accepted: Labeled,
    /// Requests rejected, by reason (`too_large`, `bad_request`, `unsupported_media_type`,
    /// `unauthenticated`, `forbidden`, `wal_full`, `not_ready`, `timeout`, `internal`).
    pub rejected: Labeled,
    pub wal_bytes: AtomicU64,
    pub wal_segments: AtomicU64,
    pub wal_fsync: Histogram,
    /// fsyncs of the WAL (fewer than appends: concurrent batches share one).
    pub wal_fsyncs: AtomicU64,
    /// Events the detector has been fed (received events wait in a queue before it).
    pub events_evaluated: AtomicU64,
    pub wal_replayed_records: AtomicU64,
    pub wal_truncated_bytes: AtomicU64,
    /// Replayed records the normalizer refused (skipped).
    pub wal_replay_errors: AtomicU64,
    pub eval: Histogram,
    /// Alerts raised, by rule and severity (each alert id once: replayed alerts that every
    /// sink already has are not counted).
    pub alerts: Labeled,
    /// Alerts handed durably to a sink, by sink.
    pub alerts_delivered: Labeled,
    /// Alerts not delivered again because the sink's delivery record has them, by sink.
    pub alerts_suppressed: Labeled,
    /// Alerts a sink could not take and that are lost, by sink and reason.
    pub alerts_dropped: Labeled,
    /// Sink failures (each retry counts), by sink and reason.
    pub sink_errors: Labeled,
    /// Events whose `@timestamp` is older than the allowed lateness when received.
    pub late_events: AtomicU64,
    /// Lines of followed files that the normalizer refused (skipped), by file.
    pub follow_errors: Labeled,
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let g = |out: &mut String, name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        self.events_received.render(
            &mut out,
            "crowsnest_events_received_total",
            "Events accepted.",
            &["endpoint"],
        );
        self.batches_accepted.render(
            &mut out,
            "crowsnest_batches_accepted_total",
            "Batches accepted and written to the WAL.",
            &["endpoint"],
        );
        self.rejected.render(
            &mut out,
            "crowsnest_requests_rejected_total",
            "Requests rejected.",
            &["reason"],
        );
        g(
            &mut out,
            "crowsnest_wal_bytes",
            "Bytes held by the write-ahead log.",
            "gauge",
            self.wal_bytes.load(Ordering::Relaxed),
        );
        g(
            &mut out,
            "crowsnest_wal_segments",
            "Segment files of the write-ahead log.",
            "gauge",
            self.wal_segments.load(Ordering::Relaxed),
        );
        self.wal_fsync.render(
            &mut out,
            "crowsnest_wal_append_seconds",
            "Time a batch waited to be on disk (fsyncs are shared by concurrent batches).",
        );
        g(
            &mut out,
            "crowsnest_wal_fsyncs_total",
            "fsyncs of the write-ahead log (concurrent batches share one).",
            "counter",
            self.wal_fsyncs.load(Ordering::Relaxed),
        );
        g(
            &mut out,
            "crowsnest_wal_replayed_records_total",
            "Records replayed at start-up.",
            "counter",
            self.wal_replayed_records.load(Ordering::Relaxed),
        );
        g(
            &mut out,
            "crowsnest_wal_truncated_bytes_total",
            "Bytes of torn or corrupt records cut off at start-up.",
            "counter",
            self.wal_truncated_bytes.load(Ordering::Relaxed),
        );
        g(
            &mut out,
            "crowsnest_wal_replay_errors_total",
            "Replayed records the normalizer refused.",
            "counter",
            self.wal_replay_errors.load(Ordering::Relaxed),
        );
        g(
            &mut out,
            "crowsnest_events_evaluated_total",
            "Events fed to the rules (received events are queued for them).",
            "counter",
            self.events_evaluated.load(Ordering::Relaxed),
        );
        self.eval.render(
            &mut out,
            "crowsnest_rule_evaluation_seconds",
            "Time spent in the detector per batch or tick.",
        );
        self.alerts.render(
            &mut out,
            "crowsnest_alerts_total",
            "Alerts raised.",
            &["rule", "severity"],
        );
        self.alerts_delivered.render(
            &mut out,
            "crowsnest_alerts_delivered_total",
            "Alerts delivered.",
            &["sink"],
        );
        self.alerts_suppressed.render(
            &mut out,
            "crowsnest_alerts_suppressed_total",
            "Alerts already delivered before (replay).",
            &["sink"],
        );
        self.alerts_dropped.render(
            &mut out,
            "crowsnest_alerts_dropped_total",
            "Alerts lost.",
            &["sink", "reason"],
        );
        self.sink_errors.render(
            &mut out,
            "crowsnest_sink_errors_total",
            "Sink failures.",
            &["sink", "reason"],
        );
        g(
            &mut out,
            "crowsnest_late_events_total",
            "Events received later than the allowed lateness.",
            "counter",
            self.late_events.load(Ordering::Relaxed),
        );
        self.follow_errors.render(
            &mut out,
            "crowsnest_follow_errors_total",
            "Lines of followed files refused.",
            &["path"],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.rejected.add(&["too_large"], 2);
        m.alerts.add(&["Exec \"into\" pod", "high"], 1);
        m.wal_fsync.observe(Duration::from_micros(700));
        let text = m.render();
        assert!(text.contains("crowsnest_requests_rejected_total{reason=\"too_large\"} 2\n"));
        assert!(
            text.contains("crowsnest_alerts_total{rule=\"Exec \\\"into\\\" pod\",severity=\"high\"} 1\n")
        );
        assert!(text.contains("crowsnest_wal_append_seconds_bucket{le=\"0.0005\"} 0\n"));
        assert!(text.contains("crowsnest_wal_append_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("crowsnest_wal_append_seconds_count 1\n"));
    }
}
