//! The evaluation queue: a batch is acknowledged once it is in the write-ahead log, without
//! waiting for the rules; the detector sees the batches in log order; a graceful shutdown
//! evaluates everything acknowledged before it stops, and the alerts reach the sink.

mod common;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::*;
use serve::{ServeConfig, SinkConfig};

/// A gate the detector waits at before each event while it is closed.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
    }
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }
}

/// [`TestDetector`] behind a gate, recording the order it sees events in.
struct GatedDetector {
    gate: Arc<Gate>,
    seen: Arc<Mutex<Vec<String>>>,
    inner: TestDetector,
}

impl serve::Detector for GatedDetector {
    fn push(&mut self, doc: events::Document, emit: &mut dyn FnMut(events::Map)) {
        self.gate.wait();
        self.seen.lock().unwrap().push(doc.id.clone());
        self.inner.push(doc, emit)
    }
    fn advance(&mut self, now: i64, emit: &mut dyn FnMut(events::Map)) {
        self.inner.advance(now, emit)
    }
    fn retention_nanos(&self) -> i64 {
        self.inner.retention_nanos()
    }
}

fn cfg_for(dir: &tempfile::TempDir, alerts: &std::path::Path) -> ServeConfig {
    let mut cfg = ServeConfig {
        listen: "127.0.0.1:0".into(),
        insecure: true,
        allow_unauthenticated: true,
        tick: "50ms".into(),
        sinks: vec![SinkConfig::File {
            name: None,
            path: alerts.to_path_buf(),
            max_bytes: 1 << 20,
            max_files: 2,
        }],
        ..Default::default()
    };
    cfg.wal.dir = dir.path().join("state");
    cfg
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_before_evaluation_evaluated_in_order_and_drained_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.ndjson");
    let cfg = cfg_for(&dir, &alerts);
    let gate = Arc::new(Gate::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let detector = GatedDetector {
        gate: gate.clone(),
        seen: seen.clone(),
        inner: TestDetector::default(),
    };
    let (server, tx) = common::start_with(cfg, Box::new(detector)).await;
    let base = format!("http://{}", server.local_addr());
    let c = reqwest::Client::new();
    let mut ids = Vec::new();
    // The detector is stuck at its gate: the batches are acknowledged all the same.
    for b in 0..5 {
        let items: Vec<_> = (0..3)
            .map(|i| {
                let id = format!("b{b}-e{i}");
                ids.push(id.clone());
                audit_event(&id, if i == 0 { "attack" } else { "calm" })
            })
            .collect();
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            c.post(format!("{base}/audit"))
                .header("content-type", "application/json")
                .body(event_list(&items))
                .send(),
        )
        .await
        .expect("acknowledged while the detector is blocked")
        .unwrap();
        assert_eq!(r.status(), 200);
    }
    let m = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(metric(&m, "crowsnest_events_evaluated_total"), 0);
    assert!(
        m.contains("crowsnest_events_received_total{endpoint=\"audit\"} 15\n"),
        "{m}"
    );
    assert!(metric(&m, "crowsnest_wal_fsyncs_total") >= 1);
    assert!(alert_ids(&alerts).is_empty());

    // Shut down with everything still queued, then let the detector go: the shutdown waits
    // for the queue to drain and for the alerts to reach the sink.
    let _ = tx.send(());
    tokio::time::sleep(Duration::from_millis(200)).await;
    gate.open();
    tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("stopped")
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ids, "evaluated in log order");
    // Alerts are raised at a tick: those still pending when the ticker stopped are raised again
    // by the replay after a restart; every alert reaches the sink exactly once.
    let (server, tx) = common::start(cfg_for(&dir, &alerts)).await;
    let want: Vec<String> = (0..5).map(|b| format!("alert-b{b}-e0")).collect();
    let path = alerts.clone();
    assert!(
        wait_for(Duration::from_secs(10), || {
            let mut got = alert_ids(&path);
            got.sort();
            got == want
        }),
        "{:?}",
        alert_ids(&alerts)
    );
    let _ = tx.send(());
    server.wait().await.unwrap();
}
