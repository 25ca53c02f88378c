//! The alert dispatcher: one thread that takes alerts from the engine, counts them by rule and
//! severity, and hands each to every sink whose delivery log does not already hold its id
//! (`kibana.alert.uuid`), recording the id once the sink took it.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use events::{Document, Map};

use crate::delivery::DeliveryLog;
use crate::metrics::Metrics;
use crate::sinks::Sink;

pub enum DispatchMsg {
    Alert(Map),
    /// Forget delivery records older than this (nanos).
    Trim(i64),
    /// Answer once every earlier message is handled.
    Barrier(Sender<()>),
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

fn run(mut targets: Vec<Target>, metrics: Arc<Metrics>, rx: Receiver<DispatchMsg>) {
    for msg in rx {
        match msg {
            DispatchMsg::Alert(alert) => dispatch(&mut targets, &metrics, alert),
            DispatchMsg::Trim(cutoff) => {
                for t in &mut targets {
                    if let Err(e) = t.log.trim(cutoff) {
                        tracing::error!(sink = t.sink.name(), error = %e, "delivery record trim failed");
                    }
                }
            }
            DispatchMsg::Barrier(done) => {
                let _ = done.send(());
            }
            DispatchMsg::Stop => break,
        }
    }
    for t in &mut targets {
        t.sink.close();
    }
}

fn dispatch(targets: &mut [Target], metrics: &Metrics, alert: Map) {
    let doc = Document::new(alert);
    let id = doc.first_str("kibana.alert.uuid").map(String::from);
    let text = |p: &str| doc.first(p).map(|v| v.to_string()).unwrap_or_default();
    let rule = match text("kibana.alert.rule.name") {
        r if r.is_empty() => text("kibana.alert.rule.rule_id"),
        r => r,
    };
    metrics.alerts.add(&[&rule, &text("kibana.alert.severity")], 1);
    let line = match serde_json::to_string(&doc.source) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "alert not serializable; dropped");
            for t in targets.iter() {
                metrics.alerts_dropped.add(&[t.sink.name(), "unserializable"], 1);
            }
            return;
        }
    };
    for t in targets.iter_mut() {
        let name = t.sink.name().to_string();
        if let Some(id) = &id
            && t.log.contains(id)
        {
            metrics.alerts_suppressed.add(&[&name], 1);
            continue;
        }
        match t.sink.deliver(&line) {
            Ok(()) => {
                metrics.alerts_delivered.add(&[&name], 1);
                if let Some(id) = &id
                    && let Err(e) = t.log.record(id, events::time::now_nanos())
                {
                    metrics.sink_errors.add(&[&name, "delivery_record"], 1);
                    tracing::error!(sink = %name, error = %e, "delivery record not written: the alert may be delivered again after a restart");
                }
            }
            Err(e) => {
                let reason = if e.kind() == std::io::ErrorKind::StorageFull {
                    "queue_full"
                } else {
                    "io"
                };
                metrics.sink_errors.add(&[&name, reason], 1);
                metrics.alerts_dropped.add(&[&name, reason], 1);
                tracing::error!(sink = %name, error = %e, alert = %line, "alert not delivered");
            }
        }
    }
}
