//! Ingest throughput over TLS (a measurement, not a check): `cargo test -p serve --release
//! --test throughput -- --ignored --nocapture`.

mod common;

use std::time::Instant;

use common::*;
use serve::{ServeConfig, SinkConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run explicitly"]
async fn ingest_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let mut cfg = ServeConfig {
        listen: "127.0.0.1:0".into(),
        bearer_tokens: vec!["t".into()],
        sinks: vec![SinkConfig::File {
            name: None,
            path: dir.path().join("alerts.ndjson"),
            max_bytes: 64 << 20,
            max_files: 2,
        }],
        ..Default::default()
    };
    cfg.tls.cert = Some(pki.server_cert.clone());
    cfg.tls.key = Some(pki.server_key.clone());
    cfg.wal.dir = dir.path().join("state");
    let (server, tx) = common::start(cfg).await;
    let url = format!("https://127.0.0.1:{}/audit", server.local_addr().port());
    let (clients, batches, per_batch) = (8, 40, 100);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = pki.client(None);
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..batches {
                let items: Vec<_> = (0..per_batch)
                    .map(|i| audit_event(&format!("{c}-{b}-{i}"), if i == 0 { "attack" } else { "calm" }))
                    .collect();
                let r = client
                    .post(&url)
                    .bearer_auth("t")
                    .header("content-type", "application/json")
                    .body(event_list(&items))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = (clients * batches * per_batch) as f64;
    let m = server.metrics();
    eprintln!(
        "{} batches of {per_batch} events from {clients} clients in {secs:.2}s: {:.0} events/s, {:.0} batches/s; \
         WAL appends {} (mean append+fsync {:.2} ms)",
        clients * batches,
        n / secs,
        (clients * batches) as f64 / secs,
        m.wal_fsync.count(),
        m.wal_fsync.mean_secs() * 1000.0
    );
    let _ = tx.send(());
    server.wait().await.unwrap();
}
