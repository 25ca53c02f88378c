//! The webhook sink against a local receiver: retries with exponential backoff, the Slack
//! format and extra headers, alerts refused for good (counted, not blocking), and the on-disk
//! queue surviving a restart while the receiver is down, bounded by `queue_bytes`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::wait_for;
use serve::sinks::{self, Sink};
use serve::{Metrics, SinkConfig, WebhookFormat};

#[derive(Default)]
struct Receiver {
    /// Requests still to answer with 503.
    fail: AtomicUsize,
    got: Mutex<Vec<(Instant, HeaderMap, String)>>,
    attempts: Mutex<Vec<Instant>>,
}

async fn receiver(rx: Arc<Receiver>) -> String {
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(r): State<Arc<Receiver>>, headers: HeaderMap, body: String| async move {
                    r.attempts.lock().unwrap().push(Instant::now());
                    if r.fail
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    if body.contains("poison") {
                        return StatusCode::BAD_REQUEST;
                    }
                    r.got.lock().unwrap().push((Instant::now(), headers, body));
                    StatusCode::OK
                },
            ),
        )
        .with_state(rx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

fn webhook(url: &str, format: WebhookFormat, queue_bytes: u64) -> SinkConfig {
    SinkConfig::Webhook {
        name: None,
        url: url.into(),
        format,
        queue_bytes,
        headers: vec![("x-crowsnest".into(), "yes".into())],
        backoff: "40ms".into(),
        max_backoff: "160ms".into(),
        timeout: "2s".into(),
        ca: None,
    }
}

fn alert(id: &str, extra: &str) -> String {
    format!(
        r#"{{"kibana.alert.uuid":"{id}","kibana.alert.rule.name":"Pod exec","kibana.alert.severity":"high","kibana.alert.reason":"{extra}"}}"#
    )
}

async fn build(cfg: &SinkConfig, state: &std::path::Path, m: &Arc<Metrics>) -> Box<dyn Sink> {
    let (cfg, state, m) = (cfg.clone(), state.to_path_buf(), m.clone());
    let name = cfg.name(0);
    tokio::task::spawn_blocking(move || sinks::build(&cfg, name, &state, m).unwrap())
        .await
        .unwrap()
}

async fn close(mut sink: Box<dyn Sink>) {
    tokio::task::spawn_blocking(move || sink.close()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_with_exponential_backoff_then_delivers_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Arc::new(Receiver::default());
    rx.fail.store(3, Ordering::SeqCst);
    let url = receiver(rx.clone()).await;
    let m = Arc::new(Metrics::default());
    let mut sink = build(&webhook(&url, WebhookFormat::Json, 1 << 20), dir.path(), &m).await;
    let start = Instant::now();
    sink.deliver(&alert("a1", "one")).unwrap();
    sink.deliver(&alert("a2", "two")).unwrap();
    let r = rx.clone();
    assert!(wait_for(Duration::from_secs(10), || r.got.lock().unwrap().len() == 2));
    // three failures: waits of 40, 80, 160 ms before the fourth attempt
    let attempts = rx.attempts.lock().unwrap().clone();
    assert!(
        attempts[3] - attempts[0] >= Duration::from_millis(270),
        "{attempts:?}"
    );
    assert!(attempts[2] - attempts[1] > attempts[1] - attempts[0] + Duration::from_millis(20));
    assert!(start.elapsed() >= Duration::from_millis(280));
    let got: Vec<(HeaderMap, String)> = rx
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|g| (g.1.clone(), g.2.clone()))
        .collect();
    assert!(got[0].1.contains("\"a1\"") && got[1].1.contains("\"a2\""));
    assert_eq!(got[0].0["x-crowsnest"], "yes");
    assert_eq!(got[0].0["content-type"], "application/json");
    assert_eq!(m.sink_errors.get(&["webhook-0", "http_503"]), 3);
    close(sink).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_format_and_refused_alerts_are_counted_not_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Arc::new(Receiver::default());
    let url = receiver(rx.clone()).await;
    let m = Arc::new(Metrics::default());
    let mut sink = build(&webhook(&url, WebhookFormat::Slack, 1 << 20), dir.path(), &m).await;
    sink.deliver(&alert("s1", "poison")).unwrap();
    sink.deliver(&alert("s2", "user x exec'd into pod y")).unwrap();
    let r = rx.clone();
    assert!(wait_for(Duration::from_secs(10), || r.got.lock().unwrap().len() == 1));
    assert_eq!(
        rx.got.lock().unwrap()[0].2,
        r#"{"text":"[HIGH] Pod exec: user x exec'd into pod y"}"#
    );
    assert_eq!(m.alerts_dropped.get(&["webhook-0", "rejected_by_receiver"]), 1);
    assert_eq!(m.sink_errors.get(&["webhook-0", "http_400"]), 1);
    close(sink).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_survives_a_restart_and_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let m = Arc::new(Metrics::default());
    // a receiver that is not there
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let line = alert("q0", "x");
    let bound = 3 * (line.len() as u64 + 1);
    let mut sink = build(&webhook(&down, WebhookFormat::Json, bound), dir.path(), &m).await;
    for i in 0..3 {
        sink.deliver(&alert(&format!("q{i}"), "x")).unwrap();
    }
    let err = sink.deliver(&alert("q3", "x")).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::StorageFull);
    let mm = m.clone();
    assert!(wait_for(Duration::from_secs(5), || mm
        .sink_errors
        .get(&["webhook-0", "transport"])
        >= 1));
    close(sink).await;

    // restart with the receiver up: the queued alerts go out, in order
    let rx = Arc::new(Receiver::default());
    let url = receiver(rx.clone()).await;
    let sink = build(&webhook(&url, WebhookFormat::Json, bound), dir.path(), &m).await;
    let r = rx.clone();
    assert!(wait_for(Duration::from_secs(10), || r.got.lock().unwrap().len() == 3));
    let got: Vec<String> = rx.got.lock().unwrap().iter().map(|g| g.2.clone()).collect();
    for (i, body) in got.iter().enumerate() {
        assert!(body.contains(&format!("\"q{i}\"")), "{got:?}");
    }
    close(sink).await;
    // drained: a third start sends nothing again
    let sink = build(&webhook(&url, WebhookFormat::Json, bound), dir.path(), &m).await;
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.got.lock().unwrap().len(), 3);
    close(sink).await;
}

/// A fake Elasticsearch `_bulk` endpoint: stores documents by `_id`, answers 409 for a `create`
/// of an existing id, and 429 for the first `reject_first` items it sees.
#[derive(Default)]
struct FakeEs {
    docs: Mutex<Vec<(String, String, serde_json::Value)>>,
    requests: AtomicUsize,
    reject_first: AtomicUsize,
    content_types: Mutex<Vec<String>>,
}

async fn fake_es(es: Arc<FakeEs>) -> String {
    let app = Router::new()
        .route(
            "/_bulk",
            post(
                |State(es): State<Arc<FakeEs>>, headers: HeaderMap, body: String| async move {
                    es.requests.fetch_add(1, Ordering::SeqCst);
                    es.content_types
                        .lock()
                        .unwrap()
                        .push(headers["content-type"].to_str().unwrap().to_string());
                    let lines: Vec<&str> = body.lines().collect();
                    let mut items = Vec::new();
                    let mut errors = false;
                    for pair in lines.chunks(2) {
                        let action: serde_json::Value = serde_json::from_str(pair[0]).unwrap();
                        let create = &action["create"];
                        let id = create["_id"].as_str().unwrap().to_string();
                        let index = create["_index"].as_str().unwrap().to_string();
                        let doc: serde_json::Value = serde_json::from_str(pair[1]).unwrap();
                        let status = if es
                            .reject_first
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok()
                        {
                            429
                        } else {
                            let mut docs = es.docs.lock().unwrap();
                            if docs.iter().any(|d| d.1 == id) {
                                409
                            } else {
                                docs.push((index, id.clone(), doc));
                                201
                            }
                        };
                        errors |= status != 201;
                        items.push(serde_json::json!({"create": {"_id": id, "status": status}}));
                    }
                    (
                        [("content-type", "application/json")],
                        serde_json::json!({"took": 1, "errors": errors, "items": items}).to_string(),
                    )
                },
            ),
        )
        .with_state(es);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_bulk_creates_by_alert_id_and_retries_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let es = Arc::new(FakeEs::default());
    es.reject_first.store(1, Ordering::SeqCst);
    let url = fake_es(es.clone()).await;
    let m = Arc::new(Metrics::default());
    let cfg = SinkConfig::Elasticsearch {
        name: None,
        url: format!("{url}/"),
        index: "crowsnest-alerts".into(),
        batch: 3,
        queue_bytes: 1 << 20,
        headers: vec![("authorization".into(), "ApiKey abc".into())],
        backoff: "20ms".into(),
        max_backoff: "100ms".into(),
        timeout: "2s".into(),
        ca: None,
    };
    let mut sink = build(&cfg, dir.path(), &m).await;
    let lines: Vec<String> = (0..5).map(|i| alert(&format!("e{i}"), "r")).collect();
    assert_eq!(sink.deliver_batch(&lines).0, 5);
    let e = es.clone();
    assert!(wait_for(Duration::from_secs(10), || e.docs.lock().unwrap().len() == 5));
    let docs = es.docs.lock().unwrap().clone();
    let ids: Vec<&str> = docs.iter().map(|d| d.1.as_str()).collect();
    assert_eq!(
        ids,
        ["e1", "e2", "e0", "e3", "e4"],
        "e0 was refused with 429, then resent with its batch"
    );
    assert!(docs.iter().all(|d| d.0 == "crowsnest-alerts"));
    assert_eq!(docs[0].2["kibana.alert.rule.name"], "Pod exec");
    // batches of at most 3: the retried first batch, then the rest
    assert_eq!(es.requests.load(Ordering::SeqCst), 3);
    assert!(
        es.content_types
            .lock()
            .unwrap()
            .iter()
            .all(|c| c == "application/x-ndjson")
    );
    assert_eq!(m.sink_errors.get(&["elasticsearch-0", "bulk_item_retry"]), 1);
    assert_eq!(
        m.alerts_dropped.get(&["elasticsearch-0", "rejected_by_receiver"]),
        0
    );
    close(sink).await;
}
