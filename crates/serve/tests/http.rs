//! The HTTPS endpoints over real TLS: authentication (bearer, mTLS), every bad-input status
//! code, the operations endpoints, and alerts reaching the file sink.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serve::{ServeConfig, SinkConfig};

const TOKEN: &str = "s3cret-token";

struct Running {
    base: String,
    alerts: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<serve::Server>,
}

impl Running {
    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.server.take().unwrap().wait().await.unwrap();
    }
}

async fn start(pki: &Pki, dir: &std::path::Path, tweak: impl FnOnce(&mut ServeConfig)) -> Running {
    let alerts = dir.join("alerts.ndjson");
    let mut cfg = ServeConfig {
        listen: "127.0.0.1:0".into(),
        bearer_tokens: vec![TOKEN.into()],
        tick: "100ms".into(),
        sinks: vec![SinkConfig::File {
            name: None,
            path: alerts.clone(),
            max_bytes: 1 << 20,
            max_files: 3,
        }],
        ..Default::default()
    };
    cfg.tls.cert = Some(pki.server_cert.clone());
    cfg.tls.key = Some(pki.server_key.clone());
    cfg.tls.client_ca = Some(pki.ca_file.clone());
    cfg.wal.dir = dir.join("state");
    tweak(&mut cfg);
    let (server, tx) = common::start(cfg.clone()).await;
    let scheme = if cfg.insecure { "http" } else { "https" };
    Running {
        base: format!("{scheme}://127.0.0.1:{}", server.local_addr().port()),
        alerts,
        stop: Some(tx),
        server: Some(server),
    }
}

fn body(ids: &[(&str, &str)]) -> String {
    event_list(&ids.iter().map(|(id, m)| audit_event(id, m)).collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_bearer_and_mtls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let srv = start(&pki, dir.path(), |_| {}).await;
    let url = format!("{}/audit", srv.base);
    let anon = pki.client(None);
    let post = |c: &reqwest::Client, id: &str| {
        c.post(&url)
            .header("content-type", "application/json")
            .body(body(&[(id, "attack")]))
    };

    // no credentials: 401 with a challenge
    let r = post(&anon, "a1").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    // a wrong token: 403
    let r = post(&anon, "a2").bearer_auth("nope").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // the right token: 200
    let r = post(&anon, "a3").bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), r#"{"accepted":1}"#);
    // a client certificate from the configured CA, no token: 200
    let mtls = pki.client(Some(&pki.client_identity));
    let r = post(&mtls, "a4").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // a certificate from another CA: the TLS handshake fails
    let rogue = pki.client(Some(&pki.rogue_identity));
    assert!(post(&rogue, "a5").send().await.is_err());

    // only the accepted batches raise alerts
    let alerts = srv.alerts.clone();
    assert!(wait_for(Duration::from_secs(10), || alert_ids(&alerts).len() == 2));
    let mut ids = alert_ids(&alerts);
    ids.sort();
    assert_eq!(ids, vec!["alert-a3", "alert-a4"]);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_status_codes() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let srv = start(&pki, dir.path(), |c| c.body_limit = 2048).await;
    let c = pki.client(None);
    let audit = format!("{}/audit", srv.base);
    let send = |ct: &str, b: String| {
        c.post(&audit)
            .bearer_auth(TOKEN)
            .header("content-type", ct)
            .body(b)
            .send()
    };
    let reason = |r: reqwest::Response| async move {
        let v: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        v["reason"].as_str().unwrap().to_string()
    };

    // 415: not JSON
    let r = send("text/plain", body(&[("b1", "attack")])).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // 415: a compressed body
    let r = c
        .post(&audit)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(body(&[("b1", "attack")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // 413: over the body limit (declared length, and streamed without a length)
    let big: Vec<_> = (0..40)
        .map(|i| audit_event(&format!("big{i}"), "attack"))
        .collect();
    let r = send("application/json", event_list(&big)).await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let chunks: Vec<Result<String, std::io::Error>> = (0..10).map(|_| Ok("x".repeat(500))).collect();
    let r = c
        .post(&audit)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_stream(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // 400: malformed JSON
    let r = send("application/json", "{\"kind\":\"EventList\",\"items\":[".into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(reason(r).await.starts_with("malformed JSON"));
    // 400: wrong shape
    let r = send("application/json", r#"{"kind":"Event","items":[]}"#.into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(reason(r).await, "expected kind EventList, found Event");
    let r = send("application/json", r#"{"kind":"EventList","items":[1]}"#.into())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // 400: one bad item rejects the whole batch (the good "attack" item raises nothing)
    let mut items = vec![audit_event("good1", "attack")];
    items.push(serde_json::json!({"kind": "Event", "message": "attack"}));
    let r = send("application/json", event_list(&items)).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(reason(r).await, "items[1]: audit event without auditID");

    // process endpoint: ndjson accepted, bad line → 400 naming the line
    let process = format!("{}/process", srv.base);
    let r = c
        .post(&process)
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-ndjson")
        .body("{\"id\":\"p1\",\"message\":\"attack\"}\n\n{\"id\":\"p2\",\"message\":\"calm\"}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(&process)
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-ndjson")
        .body("{\"id\":\"p3\",\"message\":\"attack\"}\nnot json\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(reason(r).await.starts_with("line 2:"));

    let alerts = srv.alerts.clone();
    assert!(wait_for(Duration::from_secs(10), || !alert_ids(&alerts).is_empty()));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(alert_ids(&alerts), vec!["alert-p1"]);

    // metrics count the rejections by reason
    let m = c
        .get(format!("{}/metrics", srv.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "crowsnest_requests_rejected_total{reason=\"unsupported_media_type\"} 2",
        "crowsnest_requests_rejected_total{reason=\"too_large\"} 2",
        "crowsnest_requests_rejected_total{reason=\"bad_request\"} 5",
        "crowsnest_events_received_total{endpoint=\"process\"} 2",
        "crowsnest_alerts_total{rule=\"test rule\",severity=\"high\"} 1",
        "crowsnest_alerts_delivered_total{sink=\"file-0\"} 1",
    ] {
        assert!(m.contains(line), "{line} missing in\n{m}");
    }
    srv.shutdown().await;
}

fn futures_stream(
    items: Vec<Result<String, std::io::Error>>,
) -> impl tokio_stream::Stream<Item = Result<String, std::io::Error>> + Send + 'static {
    tokio_stream::iter(items)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_wal_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let srv = start(&pki, dir.path(), |c| {
        c.body_limit = 2048;
        c.wal.segment_bytes = 4096;
        c.wal.max_bytes = 8192;
    })
    .await;
    let c = pki.client(None);
    let mut statuses = Vec::new();
    for i in 0..40 {
        let r = c
            .post(format!("{}/audit", srv.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body(&[(&format!("w{i}"), "calm")]))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.headers()["retry-after"], "5");
            statuses.push(429);
            break;
        }
        assert_eq!(r.status(), StatusCode::OK);
        statuses.push(200);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(statuses.len() > 5);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_endpoints_and_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let srv = start(&pki, dir.path(), |c| {
        c.insecure = true;
        c.tls = Default::default();
    })
    .await;
    let c = reqwest::Client::new();
    let r = c.get(format!("{}/healthz", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(format!("{}/readyz", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(format!("{}/audit", srv.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json; charset=utf-8")
        .body(body(&[("h1", "attack")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // an event stamped long ago is evaluated, and counted as late
    let mut old = audit_event("h2", "calm");
    old["@timestamp"] = "2020-01-01T00:00:00Z".into();
    let r = c
        .post(format!("{}/audit", srv.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(event_list(&[old, audit_event("h3", "calm")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let alerts = srv.alerts.clone();
    assert!(wait_for(Duration::from_secs(10), || alert_ids(&alerts) == vec!["alert-h1"]));
    let r = c.get(format!("{}/metrics", srv.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let m = r.text().await.unwrap();
    assert!(m.contains("# TYPE crowsnest_wal_append_seconds histogram"));
    assert!(m.contains("crowsnest_wal_append_seconds_count 2\n"));
    assert!(m.contains("crowsnest_batches_accepted_total{endpoint=\"audit\"} 2\n"));
    assert!(m.contains("crowsnest_events_received_total{endpoint=\"audit\"} 3\n"));
    assert!(m.contains("crowsnest_late_events_total 1\n"), "{m}");
    srv.shutdown().await;
}

/// Sleeps on every event so that the replay takes a while.
struct SlowDetector(TestDetector);

impl serve::Detector for SlowDetector {
    fn push(&mut self, doc: events::Document, emit: &mut dyn FnMut(events::Map)) {
        std::thread::sleep(Duration::from_millis(3));
        self.0.push(doc, emit)
    }
    fn advance(&mut self, now: i64, emit: &mut dyn FnMut(events::Map)) {
        self.0.advance(now, emit)
    }
    fn retention_nanos(&self) -> i64 {
        self.0.retention_nanos()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_while_replaying_and_one_server_per_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let plain = |c: &mut ServeConfig| {
        c.insecure = true;
        c.tls = Default::default();
    };
    let srv = start(&pki, dir.path(), plain).await;
    let c = reqwest::Client::new();
    for b in 0..3 {
        let items: Vec<_> = (0..200)
            .map(|i| audit_event(&format!("r{b}-{i}"), "calm"))
            .collect();
        let r = c
            .post(format!("{}/audit", srv.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(event_list(&items))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    srv.shutdown().await;

    // Restart on a known port with a slow detector: 600 events to replay.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = ServeConfig {
        listen: format!("127.0.0.1:{port}"),
        bearer_tokens: vec![TOKEN.into()],
        sinks: vec![SinkConfig::Stdout { name: None }],
        ..Default::default()
    };
    plain(&mut cfg);
    cfg.wal.dir = dir.path().join("state");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let starting = tokio::spawn(serve::start(
        cfg.clone(),
        Box::new(SlowDetector(TestDetector::default())),
        Arc::new(TestNormalizer),
        async move {
            let _ = rx.await;
        },
    ));
    let base = format!("http://127.0.0.1:{port}");
    let mut saw_not_ready = false;
    for _ in 0..200 {
        if let Ok(r) = c.get(format!("{base}/readyz")).send().await {
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            saw_not_ready = true;
            assert_eq!(
                c.get(format!("{base}/healthz")).send().await.unwrap().status(),
                StatusCode::OK
            );
            let r = c
                .post(format!("{base}/audit"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(event_list(&[audit_event("early", "attack")]))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(saw_not_ready);
    let server = starting.await.unwrap().unwrap();
    assert_eq!(
        c.get(format!("{base}/readyz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        server
            .metrics()
            .wal_replayed_records
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );

    // A second server on the same state directory is refused.
    let mut other = cfg.clone();
    other.listen = "127.0.0.1:0".into();
    let err = serve::start(
        other,
        Box::new(TestDetector::default()),
        Arc::new(TestNormalizer),
        async {},
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("in use by another crowsnest serve"),
        "{err}"
    );
    let _ = tx.send(());
    server.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight_and_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let mut srv = start(&pki, dir.path(), |_| {}).await;
    let c = pki.client(None);
    let audit = format!("{}/audit", srv.base);
    // A request whose body arrives slowly, in three parts.
    let text = body(&[("g1", "attack")]);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let parts: Vec<String> = vec![
        text[..10].to_string(),
        text[10..20].to_string(),
        text[20..].to_string(),
    ];
    let slow = tokio::spawn({
        let c = c.clone();
        let audit = audit.clone();
        async move {
            c.post(&audit)
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(
                    tokio_stream::wrappers::ReceiverStream::new(rx),
                ))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tx.send(Ok(parts[0].clone())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Shutdown starts while the request is being received.
    let _ = srv.stop.take().unwrap().send(());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // No new connections.
    assert!(
        pki.client(None)
            .get(format!("{}/healthz", srv.base))
            .send()
            .await
            .is_err()
    );
    tx.send(Ok(parts[1].clone())).await.unwrap();
    tx.send(Ok(parts[2].clone())).await.unwrap();
    drop(tx);
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    srv.server.take().unwrap().wait().await.unwrap();
    // The batch was accepted before the end: its alert is raised after a restart (replay).
    assert!(alert_ids(&srv.alerts).is_empty() || alert_ids(&srv.alerts) == ["alert-g1"]);
    let srv = start(&pki, dir.path(), |_| {}).await;
    let alerts = srv.alerts.clone();
    assert!(wait_for(Duration::from_secs(10), || alert_ids(&alerts) == ["alert-g1"]));
    srv.shutdown().await;
}

/// Records the receive time it is given for each event id.
#[derive(Default)]
struct TimeRecorder(std::sync::Mutex<Vec<(String, i64)>>);

impl serve::Normalizer for TimeRecorder {
    fn audit_event(&self, raw: &[u8]) -> Result<Vec<events::Document>, String> {
        TestNormalizer.audit_event(raw)
    }
    fn process_line(&self, raw: &[u8]) -> Result<Vec<events::Document>, String> {
        TestNormalizer.process_line(raw)
    }
    fn audit_event_at(&self, raw: &[u8], at: i64) -> Result<Vec<events::Document>, String> {
        let docs = self.audit_event(raw)?;
        self.0
            .lock()
            .unwrap()
            .extend(docs.iter().map(|d| (d.id.clone(), at)));
        Ok(docs)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_normalizes_with_the_original_receive_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServeConfig {
        listen: "127.0.0.1:0".into(),
        insecure: true,
        allow_unauthenticated: true,
        sinks: vec![SinkConfig::Stdout { name: None }],
        ..Default::default()
    };
    cfg.wal.dir = dir.path().join("state");
    let run = |cfg: ServeConfig, n: Arc<TimeRecorder>| async move {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = serve::start(cfg, Box::new(TestDetector::default()), n, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
        (s, tx)
    };
    let first = Arc::new(TimeRecorder::default());
    let (s, stop) = run(cfg.clone(), first.clone()).await;
    let c = reqwest::Client::new();
    for i in 0..3 {
        let r = c
            .post(format!("http://{}/audit", s.local_addr()))
            .header("content-type", "application/json")
            .body(body(&[(&format!("t{i}"), "calm")]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    s.wait().await.unwrap();
    let seen = first.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(seen[0].1 < seen[1].1 && seen[1].1 < seen[2].1);

    let again = Arc::new(TimeRecorder::default());
    let (s, stop) = run(cfg, again.clone()).await;
    assert_eq!(
        *again.0.lock().unwrap(),
        seen,
        "the replay saw the same events at the same times"
    );
    let _ = stop.send(());
    s.wait().await.unwrap();
}
