//! `crowsnest serve` and `crowsnest hunt` on the same events raise the same alerts: a secret
//! burst (seed 004, rescheduled to tick every 2 s so the test runs in seconds) is posted to a
//! live server as an audit-webhook EventList and hunted from a file; the alert ids must agree.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn audit_get_secret(time_ns: i64, name: &str, n: usize) -> serde_json::Value {
    let secs = time_ns.div_euclid(1_000_000_000);
    let micros = time_ns.rem_euclid(1_000_000_000) / 1000;
    let t = chrono::DateTime::from_timestamp(secs, (micros * 1000) as u32)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    serde_json::json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": format!("5e5e5e5e-0000-4000-8000-{n:012}"), "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/prod/secrets/{name}"), "verb": "get",
        "user": { "username": "trudy@corp.example", "groups": ["system:authenticated"] },
        "sourceIPs": ["192.0.2.10"], "userAgent": "kubectl/v1.31.0",
        "objectRef": { "resource": "secrets", "namespace": "prod", "name": name, "apiVersion": "v1" },
        "responseStatus": { "metadata": {}, "code": 200 },
        "requestReceivedTimestamp": t, "stageTimestamp": t,
        "annotations": { "authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "" }
    })
}

fn uuids(ndjson: &str) -> Vec<String> {
    let mut v: Vec<String> = ndjson
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let a: serde_json::Value = serde_json::from_str(l).expect("an alert per line");
            a["kibana.alert.uuid"].as_str().expect("alert uuid").to_string()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn serve_and_hunt_raise_the_same_alerts() {
    let dir = tempfile::tempdir().unwrap();
    // Seed 004 on a 2 s schedule looking back 4 s.
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let src = std::fs::read_to_string(
        root().join("rules/004_credential_access_kubernetes_multiple_secret_retrieval_burst.toml"),
    )
    .unwrap();
    let fast = src.replace("from = \"now-6m\"", "from = \"now-4s\"\ninterval = \"2s\"");
    assert_ne!(src, fast);
    std::fs::write(rules.join("004.toml"), fast).unwrap();

    // Three distinct secrets read by one identity, starting half a second from now.
    let now = events::time::now_nanos();
    let items: Vec<serde_json::Value> = ["db-password", "api-token", "tls-key"]
        .iter()
        .enumerate()
        .map(|(i, n)| audit_get_secret(now + 500_000_000 + i as i64 * 100_000_000, n, i))
        .collect();
    let log = dir.path().join("audit.log");
    let mut f = std::fs::File::create(&log).unwrap();
    for it in &items {
        writeln!(f, "{it}").unwrap();
    }
    drop(f);

    // The live server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let alerts = dir.path().join("alerts.ndjson");
    let config = dir.path().join("crowsnest.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ninsecure = true\nallow_unauthenticated = true\nlateness = \"1s\"\n\
             [wal]\ndir = \"{}\"\n[[sinks]]\ntype = \"file\"\npath = \"{}\"\n",
            dir.path().join("state").display(),
            alerts.display()
        ),
    )
    .unwrap();
    let server = Command::new(env!("CARGO_BIN_EXE_crowsnest"))
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--time",
            "replay",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let body = serde_json::json!({ "kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items })
        .to_string();
    let started = Instant::now();
    let posted = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            write!(
                s,
                "POST /audit HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut resp = String::new();
            std::io::Read::read_to_string(&mut s, &mut resp).unwrap();
            // 503 until the write-ahead log is replayed.
            if !resp.starts_with("HTTP/1.1 503") {
                break resp;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(posted.starts_with("HTTP/1.1 200"), "{posted}");
    // Wait for the window to close (tick + lateness) and the alert to be delivered.
    let deadline = Instant::now() + Duration::from_secs(30);
    let live = loop {
        let text = std::fs::read_to_string(&alerts).unwrap_or_default();
        if !text.is_empty() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // A further tick must not raise the same activity again.
    std::thread::sleep(Duration::from_secs(3));
    let live_later = std::fs::read_to_string(&alerts).unwrap_or_default();
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let out = server.wait_with_output().unwrap();
    assert!(
        !live.is_empty(),
        "serve raised nothing; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        uuids(&live_later),
        uuids(&live),
        "no duplicate from the overlapping window"
    );

    let hunt = Command::new(env!("CARGO_BIN_EXE_crowsnest"))
        .args([
            "hunt",
            "--rules",
            rules.to_str().unwrap(),
            log.to_str().unwrap(),
            "-f",
            "ndjson",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(hunt.status.success(), "{}", String::from_utf8_lossy(&hunt.stderr));
    let hunted = uuids(&String::from_utf8_lossy(&hunt.stdout));
    assert_eq!(hunted.len(), 1, "one burst, one alert");
    assert_eq!(uuids(&live), hunted, "serve and hunt agree on the alerts");
}
