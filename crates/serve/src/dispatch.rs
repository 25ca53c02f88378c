//! The alert dispatcher: one thread that takes alerts from the engine, counts them by rule and
//! severity, and hands each to every sink whose delivery log does not already hold its id
//! (`kibana.alert.uuid`), recording the id once the sink took it.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use events::{Document, Map};

use crate::delivery::DeliveryLog;
use crate::metrics::Metrics;
use crate::sinks::Sink;

pub enum DispatchMsg {
    Alert(Map),
    /// Forget delivery records older than this (nanos).
    Trim(i64),
    /// Close the sinks and end the thread.
    Stop,
}

struct Target {
    sink: Box<dyn Sink>,
    log: DeliveryLog,
}

/// Opens the delivery logs (adopting ids the sinks' own output shows delivered) and starts the
/// dispatcher thread.
pub fn start(
    sinks: Vec<Box<dyn Sink>>,
    state: &Path,
    metrics: Arc<Metrics>,
    rx: Receiver<DispatchMsg>,
) -> std::io::Result<JoinHandle<()>> {
    let dir = state.join("delivered");
    let mut targets = Vec::new();
    let now = events::time::now_nanos();
    for sink in sinks {
        let mut log = DeliveryLog::open(&dir, sink.name())?;
        let adopted = log.adopt(sink.recovered_ids(), now)?;
        if adopted > 0 {
            tracing::info!(
                sink = sink.name(),
                adopted,
                "alerts found in the sink's output but not in its delivery record"
            );
        }
        targets.push(Target { sink, log });
    }
    std::thread::Builder::new()
        .name("dispatch".into())
        .spawn(move || run(targets, metrics, rx))
}

/// Alerts that may wait for the dispatcher.
pub const QUEUE: usize = 65_536;

/// Most alerts handled per batch (one fsync per sink and per delivery record).
const BATCH: usize = 1024;

fn run(mut targets: Vec<Target>, metrics: Arc<Metrics>, rx: Receiver<DispatchMsg>) {
    let mut alerts: Vec<Map> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut msgs = vec![first];
        while msgs.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => msgs.push(m),
                Err(_) => break,
            }
        }
        let mut stop = false;
        for msg in msgs {
            if !matches!(msg, DispatchMsg::Alert(_)) && !alerts.is_empty() {
                dispatch(&mut targets, &metrics, std::mem::take(&mut alerts));
            }
            match msg {
                DispatchMsg::Alert(a) => alerts.push(a),
                DispatchMsg::Trim(cutoff) => {
                    for t in &mut targets {
                        if let Err(e) = t.log.trim(cutoff) {
                            tracing::error!(sink = t.sink.name(), error = %e, "delivery record trim failed");
                        }
                    }
                }
                DispatchMsg::Stop => stop = true,
            }
            if stop {
                break;
            }
        }
        if !alerts.is_empty() {
            dispatch(&mut targets, &metrics, std::mem::take(&mut alerts));
        }
        if stop {
            break;
        }
    }
    for t in &mut targets {
        t.sink.close();
    }
}

struct Prepared {
    id: Option<String>,
    line: String,
    rule: String,
    severity: String,
}

fn prepare(metrics: &Metrics, targets: &[Target], alert: Map) -> Option<Prepared> {
    let doc = Document::new(alert);
    let id = doc.first_str("kibana.alert.uuid").map(String::from);
    let text = |p: &str| doc.first(p).map(|v| v.to_string()).unwrap_or_default();
    let rule = match text("kibana.alert.rule.name") {
        r if r.is_empty() => text("kibana.alert.rule.rule_id"),
        r => r,
    };
    let severity = text("kibana.alert.severity");
    match serde_json::to_string(&doc.source) {
        Ok(line) => Some(Prepared {
            id,
            line,
            rule,
            severity,
        }),
        Err(e) => {
            tracing::error!(error = %e, "alert not serializable; dropped");
            for t in targets {
                metrics.alerts_dropped.add(&[t.sink.name(), "unserializable"], 1);
            }
            None
        }
    }
}

fn dispatch(targets: &mut [Target], metrics: &Metrics, alerts: Vec<Map>) {
    let prepared: Vec<Prepared> = alerts
        .into_iter()
        .filter_map(|a| prepare(metrics, targets, a))
        .collect();
    // An alert counts as raised when it is new to at least one sink (a replay raises
    // delivered alerts again; those are not counted twice).
    let mut new = vec![false; prepared.len()];
    for t in targets.iter_mut() {
        let name = t.sink.name().to_string();
        // Not yet delivered to this sink (and not twice within the batch).
        let mut seen = HashSet::new();
        let mut todo: Vec<&Prepared> = Vec::new();
        for (p, is_new) in prepared.iter().zip(new.iter_mut()) {
            match &p.id {
                Some(id) if t.log.contains(id) || !seen.insert(id.as_str()) => {
                    metrics.alerts_suppressed.add(&[&name], 1);
                }
                _ => {
                    *is_new = true;
                    todo.push(p);
                }
            }
        }
        if todo.is_empty() {
            continue;
        }
        let lines: Vec<String> = todo.iter().map(|p| p.line.clone()).collect();
        let (taken, err) = t.sink.deliver_batch(&lines);
        metrics.alerts_delivered.add(&[&name], taken as u64);
        let ids: Vec<&str> = todo[..taken].iter().filter_map(|p| p.id.as_deref()).collect();
        if !ids.is_empty()
            && let Err(e) = t.log.record_many(&ids, events::time::now_nanos())
        {
            metrics.sink_errors.add(&[&name, "delivery_record"], 1);
            tracing::error!(sink = %name, error = %e, "delivery record not written: alerts may be delivered again after a restart");
        }
        if let Some(e) = err {
            let reason = if e.kind() == std::io::ErrorKind::StorageFull {
                "queue_full"
            } else {
                "io"
            };
            let lost = (todo.len() - taken) as u64;
            metrics.sink_errors.add(&[&name, reason], 1);
            metrics.alerts_dropped.add(&[&name, reason], lost);
            for p in &todo[taken..] {
                tracing::error!(sink = %name, error = %e, alert = %p.line, "alert not delivered");
            }
        }
    }
    for (p, _) in prepared.iter().zip(&new).filter(|(_, n)| **n) {
        metrics.alerts.add(&[&p.rule, &p.severity], 1);
    }
}
