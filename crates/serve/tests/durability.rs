//! Durability and exactly-once delivery across a crash: the server runs as a child process
//! (this test binary re-executed in server mode), is SIGKILLed while batches are being posted
//! over TLS, and restarted on the same state directory. Every acknowledged event's alert must
//! appear, and no alert twice; a third, graceful run replays everything again and delivers
//! nothing new.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

const CHILD_ENV: &str = "CROWSNEST_SERVE_TEST_CHILD_DIR";
const TOKEN: &str = "durability-token";

/// Server mode: runs only when re-executed by `crash_and_restart_*` with the env var set.
#[test]
fn child_server() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let cfg = serve::ServeConfig::load(&dir.join("crowsnest.toml")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = serve::start(
            cfg,
            Box::new(TestDetector::default()),
            Arc::new(TestNormalizer),
            serve::shutdown_signal(),
        )
        .await
        .unwrap();
        let tmp = dir.join("addr.tmp");
        std::fs::write(&tmp, server.local_addr().to_string()).unwrap();
        std::fs::rename(&tmp, dir.join("addr")).unwrap();
        server.wait().await.unwrap();
    });
}

fn spawn(dir: &Path) -> (Child, String) {
    let _ = std::fs::remove_file(dir.join("addr"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("child.log"))
        .unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_server", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(20), || dir.join("addr").exists()
            || child.try_wait().unwrap().is_some()),
        "child did not start: {}",
        std::fs::read_to_string(dir.join("child.log")).unwrap_or_default()
    );
    let addr = std::fs::read_to_string(dir.join("addr")).unwrap_or_else(|_| {
        panic!(
            "child failed: {}",
            std::fs::read_to_string(dir.join("child.log")).unwrap()
        )
    });
    (child, format!("https://{addr}"))
}

fn terminate(mut child: Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown failed: {status:?}");
}

/// Posts batches until told to stop or a request fails; returns the acknowledged attack ids.
fn poster(ca_pem: &str, base: &str, tag: &str, stop: &AtomicBool, max_batches: usize) -> Vec<String> {
    let c = blocking_client(ca_pem);
    let mut acked = Vec::new();
    for b in 0..max_batches {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let items: Vec<_> = (0..4)
            .map(|k| {
                let id = format!("{tag}-{b}-{k}");
                audit_event(&id, if k % 2 == 0 { "attack" } else { "calm" })
            })
            .collect();
        let res = c
            .post(format!("{base}/audit"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(event_list(&items))
            .send();
        match res {
            Ok(r) if r.status().is_success() => acked.extend(
                (0..4)
                    .filter(|k| k % 2 == 0)
                    .map(|k| format!("alert-{tag}-{b}-{k}")),
            ),
            Ok(r) => panic!("unexpected status {}", r.status()),
            Err(_) => break,
        }
    }
    acked
}

#[test]
fn crash_and_restart_loses_no_acknowledged_event_and_duplicates_no_alert() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let pki = Pki::new(dir);
    let alerts = dir.join("alerts.ndjson");
    let config = format!(
        r#"
listen = "127.0.0.1:0"
bearer_tokens = ["{TOKEN}"]
tick = "300ms"
[tls]
cert = "{}"
key = "{}"
client_ca = "{}"
[wal]
dir = "{}"
segment_bytes = 65536
max_bytes = 67108864
[[sinks]]
type = "file"
path = "{}"
max_bytes = 16384
max_files = 200
"#,
        pki.server_cert.display(),
        pki.server_key.display(),
        pki.ca_file.display(),
        dir.join("state").display(),
        alerts.display(),
    );
    std::fs::write(dir.join("crowsnest.toml"), config).unwrap();

    // Run 1: two concurrent posters; SIGKILL mid-stream.
    let (mut child, base) = spawn(dir);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let posters: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|tag| {
            let (ca, base, stop, acked) = (pki.ca_pem.clone(), base.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let got = poster(&ca, &base, tag, &stop, usize::MAX);
                acked.lock().unwrap().extend(got);
            })
        })
        .collect();
    // Kill once alerts are flowing, while both posters still have requests in flight.
    assert!(wait_for(Duration::from_secs(20), || alert_ids(&alerts).len() >= 100));
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for p in posters {
        p.join().unwrap();
    }
    let acked_run1 = acked.lock().unwrap().clone();
    let delivered_before_crash = alert_ids(&alerts);
    assert!(acked_run1.len() > 20, "too little load: {}", acked_run1.len());
    assert!(
        !delivered_before_crash.is_empty(),
        "some alerts were delivered before the crash"
    );
    let pending_at_crash = acked_run1.len().saturating_sub(delivered_before_crash.len());
    eprintln!(
        "run 1: {} attack events acknowledged, {} alerts delivered before SIGKILL",
        acked_run1.len(),
        delivered_before_crash.len()
    );

    // Run 2: restart on the same state; more load; then a graceful stop.
    let (child, base) = spawn(dir);
    let never = AtomicBool::new(false);
    let acked_run2 = poster(&pki.ca_pem, &base, "c", &never, 30);
    let mut expected: Vec<String> = acked_run1.iter().chain(&acked_run2).cloned().collect();
    expected.sort();
    let missing = || {
        let got: std::collections::HashSet<String> = alert_ids(&alerts).into_iter().collect();
        expected
            .iter()
            .filter(|id| !got.contains(*id))
            .cloned()
            .collect::<Vec<_>>()
    };
    wait_for(Duration::from_secs(20), || missing().is_empty());
    let m = missing();
    assert!(
        m.is_empty(),
        "{} of {} acknowledged alerts missing, e.g. {:?}; delivered {}; child log:\n{}",
        m.len(),
        expected.len(),
        &m[..m.len().min(5)],
        alert_ids(&alerts).len(),
        std::fs::read_to_string(dir.join("child.log")).unwrap()
    );
    eprintln!(
        "run 2: {} more acknowledged; {pending_at_crash} alerts needed the replay",
        acked_run2.len()
    );
    let metrics = pki
        .blocking_client()
        .get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    terminate(child);
    let after_run2 = alert_ids(&alerts);
    let mut unique = after_run2.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), after_run2.len(), "an alert was delivered twice");
    for id in &after_run2 {
        assert!(id.starts_with("alert-a-") || id.starts_with("alert-b-") || id.starts_with("alert-c-"));
    }
    // The replay raised the already delivered alerts again; the delivery record suppressed them.
    assert!(
        metrics.contains("crowsnest_alerts_suppressed_total{sink=\"file-0\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("crowsnest_wal_replayed_records_total "));

    // Run 3: a graceful restart replays the whole WAL again and delivers nothing new.
    let (child, base) = spawn(dir);
    let c = pki.blocking_client();
    let suppressed = |c: &reqwest::blocking::Client| -> u64 {
        let m = c.get(format!("{base}/metrics")).send().unwrap().text().unwrap();
        m.lines()
            .find_map(|l| l.strip_prefix("crowsnest_alerts_suppressed_total{sink=\"file-0\"} "))
            .map_or(0, |v| v.parse().unwrap())
    };
    assert!(
        wait_for(Duration::from_secs(10), || suppressed(&c)
            >= after_run2.len() as u64),
        "the replayed alerts were not all suppressed"
    );
    let m = c.get(format!("{base}/metrics")).send().unwrap().text().unwrap();
    assert!(
        !m.contains("crowsnest_alerts_total{"),
        "replayed alerts counted as new:\n{m}"
    );
    terminate(child);
    assert_eq!(alert_ids(&alerts), after_run2);
}
