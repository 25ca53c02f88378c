//! The ingest core shared by the HTTP endpoints, the file followers and the scheduler:
//! normalizing a batch ([`normalize`]), writing it to the WAL then queueing it for the
//! evaluator thread that owns the detector ([`Engine::ingest`], `start_evaluator`), and
//! ticking (`tick`). Alerts leave through the [`crate::dispatch`] channel.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Instant;

use events::{Document, Map};

use crate::dispatch::DispatchMsg;
use crate::metrics::Metrics;
use crate::wal::{RecordKind, Syncer, Wal, WalError};
use crate::{Detector, Normalizer};

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
            let list = crate::eventlist::split(body)?;
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
                if !item.starts_with(b"{") {
                    return Err(format!("items[{i}]: an audit Event must be a JSON object"));
                }
                docs.extend(
                    normalizer
                        .audit_event_at(item, received_at)
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
        self.metrics
            .wal_fsyncs
            .store(self.syncer.fsyncs(), Ordering::Relaxed);
        res.map_err(WalError::Io)
    }
}

/// What the evaluator thread is asked to do, in write-ahead-log order.
pub(crate) enum EvalMsg {
    /// The documents of one batch already written to the WAL.
    Docs(Vec<Document>),
    /// Close the windows due at `now` (nanos); the detector's retention is sent back once done.
    Advance { now: i64, done: SyncSender<i64> },
}

/// Batches that may wait for the evaluator; past it, ingest waits (back-pressure).
pub const EVAL_QUEUE: usize = 64;

/// Starts the evaluator thread: it owns the detector, feeds it every batch in the order the
/// WAL holds them and ticks it, sending alerts to the dispatcher. It ends once every sender
/// is gone and the queue is drained.
pub(crate) fn start_evaluator(
    mut detector: Box<dyn Detector>,
    alerts: SyncSender<DispatchMsg>,
    metrics: Arc<Metrics>,
) -> std::io::Result<(SyncSender<EvalMsg>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<EvalMsg>(EVAL_QUEUE);
    let handle = std::thread::Builder::new()
        .name("evaluate".into())
        .spawn(move || {
            let mut emit = |alert: Map| {
                let _ = alerts.send(DispatchMsg::Alert(alert));
            };
            while let Ok(msg) = rx.recv() {
                let start = Instant::now();
                match msg {
                    EvalMsg::Docs(docs) => {
                        let n = docs.len() as u64;
                        for doc in docs {
                            detector.push(doc, &mut emit);
                        }
                        metrics.eval.observe(start.elapsed());
                        metrics.events_evaluated.fetch_add(n, Ordering::Relaxed);
                    }
                    EvalMsg::Advance { now, done } => {
                        detector.advance(now, &mut emit);
                        metrics.eval.observe(start.elapsed());
                        let _ = done.send(detector.retention_nanos());
                    }
                }
            }
        })?;
    Ok((tx, handle))
}

/// The WAL and the way to the evaluator, behind one lock so that log order is evaluation
/// order. Evaluation runs on its own thread (`start_evaluator`): a batch is acknowledged
/// once durable, without waiting for the rules (a crash before they ran replays it).
pub struct Engine {
    pub(crate) wal: Wal,
    /// `None` once closed at shutdown.
    eval: Option<SyncSender<EvalMsg>>,
    metrics: Arc<Metrics>,
    lateness: i64,
}

impl Engine {
    pub(crate) fn new(wal: Wal, eval: SyncSender<EvalMsg>, metrics: Arc<Metrics>, lateness: i64) -> Self {
        let e = Engine {
            wal,
            eval: Some(eval),
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

    fn evaluator(&self) -> Result<&SyncSender<EvalMsg>, WalError> {
        self.eval
            .as_ref()
            .ok_or_else(|| WalError::Io(std::io::Error::other("shutting down")))
    }

    /// Writes the batch to the WAL, then queues its documents for evaluation. The batch may be
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
        self.evaluator()?;
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
        self.evaluator()?
            .send(EvalMsg::Docs(docs))
            .map_err(|_| WalError::Io(std::io::Error::other("the rule evaluator stopped")))?;
        Ok(durable)
    }

    /// Queues a tick: the detector closes the windows due at `now` after every batch queued
    /// before. The receiver gets the detector's retention once done (nothing if the evaluator
    /// is gone).
    pub(crate) fn request_advance(&self, now: i64) -> std::sync::mpsc::Receiver<i64> {
        let (done, rx) = std::sync::mpsc::sync_channel(1);
        if let Ok(eval) = self.evaluator() {
            let _ = eval.send(EvalMsg::Advance { now, done });
        }
        rx
    }

    /// Drops WAL segments past the retention and tells the sinks which delivery records no
    /// replay can need any more. Called after the tick at `now` was evaluated.
    pub(crate) fn trim(&mut self, now: i64, retention: i64, alerts: &SyncSender<DispatchMsg>) {
        match self.wal.trim(now.saturating_sub(retention.max(0))) {
            Ok(n) if n > 0 => tracing::debug!(segments = n, "write-ahead log trimmed"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "write-ahead log trim failed"),
        }
        self.update_wal_metrics();
        let cutoff = self.wal.oldest().unwrap_or(now);
        let _ = alerts.send(DispatchMsg::Trim(cutoff));
    }

    /// Stops queueing work for the evaluator (shutdown): later batches are refused, and the
    /// evaluator ends once it has drained what was queued.
    pub(crate) fn close(&mut self) {
        self.eval = None;
    }
}

/// One tick: closes the windows due at `now` (after every batch queued before), then trims the
/// WAL. The engine lock is not held while the evaluator works.
pub(crate) fn tick(engine: &std::sync::Mutex<Engine>, now: i64, alerts: &SyncSender<DispatchMsg>) {
    let done = engine.lock().expect("engine lock").request_advance(now);
    if let Ok(retention) = done.recv() {
        engine.lock().expect("engine lock").trim(now, retention, alerts);
    }
}
