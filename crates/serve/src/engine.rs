//! The ingest core shared by the HTTP endpoints, the file followers and the scheduler:
//! normalizing a batch ([`normalize`]), writing it to the WAL then feeding the detector
//! ([`Engine::ingest`]), ticking ([`Engine::advance`]), and replay at start-up.
//! Alerts leave through the [`crate::dispatch`] channel.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Instant;

use events::{Document, Map};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::dispatch::DispatchMsg;
use crate::metrics::Metrics;
use crate::wal::{RecordKind, Syncer, Wal, WalError};
use crate::{Detector, Normalizer};

#[derive(Deserialize)]
struct EventList<'a> {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(borrow)]
    items: Option<Vec<&'a RawValue>>,
}

/// Turns a batch received at `received_at` (nanos; on replay, the time stored in the WAL
/// record) into documents; `Err(reason)` rejects the whole batch.
pub fn normalize(
    normalizer: &dyn Normalizer,
    kind: RecordKind,
    body: &[u8],
    received_at: i64,
) -> Result<Vec<Document>, String> {
    match kind {
        RecordKind::AuditList => {
            let list: EventList = serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
            if let Some(k) = &list.kind
                && k != "EventList"
            {
                return Err(format!("expected kind EventList, found {k}"));
            }
            if let Some(v) = &list.api_version
                && !v.starts_with("audit.k8s.io/")
            {
                return Err(format!("expected apiVersion audit.k8s.io/*, found {v}"));
            }
            let items = list.items.ok_or("EventList without items")?;
            let mut docs = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if !item.get().starts_with('{') {
                    return Err(format!("items[{i}]: an audit Event must be a JSON object"));
                }
                docs.extend(
                    normalizer
                        .audit_event_at(item.get().as_bytes(), received_at)
                        .map_err(|e| format!("items[{i}]: {e}"))?,
                );
            }
            Ok(docs)
        }
        RecordKind::ProcessLines | RecordKind::AuditLines => {
            let mut docs = Vec::new();
            for (i, line) in body.split(|&b| b == b'\n').enumerate() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let res = if kind == RecordKind::ProcessLines {
                    normalizer.process_line_at(line, received_at)
                } else {
                    normalizer.audit_event_at(line, received_at)
                };
                docs.extend(res.map_err(|e| format!("line {}: {e}", i + 1))?);
            }
            Ok(docs)
        }
    }
}

/// A batch written to the WAL, not yet known durable.
#[must_use = "a batch is acknowledged only once durable"]
pub struct Durable {
    syncer: Arc<Syncer>,
    ticket: u64,
    metrics: Arc<Metrics>,
}

impl Durable {
    /// Waits until the batch is on disk (sharing the fsync with concurrent batches).
    pub fn wait(self) -> Result<(), WalError> {
        let start = Instant::now();
        let res = self.syncer.wait(self.ticket);
        self.metrics.wal_fsync.observe(start.elapsed());
        res.map_err(WalError::Io)
    }
}

/// The WAL and the detector, behind one lock so that log order is evaluation order.
pub struct Engine {
    pub(crate) wal: Wal,
    detector: Box<dyn Detector>,
    alerts: SyncSender<DispatchMsg>,
    metrics: Arc<Metrics>,
    lateness: i64,
}

impl Engine {
    pub fn new(
        wal: Wal,
        detector: Box<dyn Detector>,
        alerts: SyncSender<DispatchMsg>,
        metrics: Arc<Metrics>,
        lateness: i64,
    ) -> Self {
        let e = Engine {
            wal,
            detector,
            alerts,
            metrics,
            lateness,
        };
        e.update_wal_metrics();
        e
    }

    fn update_wal_metrics(&self) {
        self.metrics.wal_bytes.store(self.wal.bytes(), Ordering::Relaxed);
        self.metrics
            .wal_segments
            .store(self.wal.segment_count() as u64, Ordering::Relaxed);
    }

    /// Feeds replayed documents (already in the WAL).
    pub fn replay(&mut self, docs: Vec<Document>) {
        self.push_all(docs);
    }

    fn push_all(&mut self, docs: Vec<Document>) {
        let start = Instant::now();
        let tx = &self.alerts;
        for doc in docs {
            self.detector.push(doc, &mut |alert: Map| {
                let _ = tx.send(DispatchMsg::Alert(alert));
            });
        }
        self.metrics.eval.observe(start.elapsed());
    }

    /// Writes the batch to the WAL, then evaluates its documents. The batch may be
    /// acknowledged once [`Durable::wait`] returned, which the caller does after releasing the
    /// engine lock so that concurrent batches share one fsync.
    pub fn ingest(
        &mut self,
        kind: RecordKind,
        body: &[u8],
        docs: Vec<Document>,
        endpoint: &str,
        now: i64,
    ) -> Result<Durable, WalError> {
        let ticket = self.wal.write(kind, now, body)?;
        let durable = Durable {
            syncer: self.wal.syncer(),
            ticket,
            metrics: self.metrics.clone(),
        };
        self.update_wal_metrics();
        self.metrics.batches_accepted.add(&[endpoint], 1);
        self.metrics.events_received.add(&[endpoint], docs.len() as u64);
        let late = docs
            .iter()
            .filter(|d| {
                d.first("@timestamp")
                    .and_then(events::time::parse_timestamp_value)
                    .is_some_and(|t| t < now - self.lateness)
            })
            .count();
        if late > 0 {
            self.metrics.late_events.fetch_add(late as u64, Ordering::Relaxed);
            tracing::debug!(endpoint, late, "events later than the allowed lateness");
        }
        self.push_all(docs);
        Ok(durable)
    }

    /// Closes due windows, then drops WAL segments past the retention and tells the sinks
    /// which delivery records no replay can need any more.
    pub fn advance(&mut self, now: i64) {
        let start = Instant::now();
        let tx = &self.alerts;
        self.detector.advance(now, &mut |alert: Map| {
            let _ = tx.send(DispatchMsg::Alert(alert));
        });
        self.metrics.eval.observe(start.elapsed());
        let retention = self.detector.retention_nanos().max(0);
        match self.wal.trim(now.saturating_sub(retention)) {
            Ok(n) if n > 0 => tracing::debug!(segments = n, "write-ahead log trimmed"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "write-ahead log trim failed"),
        }
        self.update_wal_metrics();
        let cutoff = self.wal.oldest().unwrap_or(now);
        let _ = self.alerts.send(DispatchMsg::Trim(cutoff));
    }
}
