//! Shared test fixtures: certificates made with rcgen, a simple detector and normalizer, HTTPS
//! clients, and helpers to read the file sink.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use events::{Document, Map, Value};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};

/// A CA and certificates it signed, as PEM files in a directory.
pub struct Pki {
    pub dir: PathBuf,
    pub ca_pem: String,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub ca_file: PathBuf,
    /// Client certificate + key, PEM, signed by the CA.
    pub client_identity: String,
    /// Client certificate + key signed by another CA.
    pub rogue_identity: String,
}

fn ca(name: &str) -> ((Certificate, KeyPair), String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    let pem = cert.pem();
    ((cert, key), pem)
}

fn leaf(issuer: &(Certificate, KeyPair), names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, &issuer.0, &issuer.1).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        let (issuer, ca_pem) = ca("crowsnest test CA");
        let (server_pem, server_key_pem) = leaf(
            &issuer,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_pem, client_key) =
            leaf(&issuer, &["kube-apiserver"], ExtendedKeyUsagePurpose::ClientAuth);
        let (rogue_issuer, _) = ca("rogue CA");
        let (rogue_pem, rogue_key) = leaf(&rogue_issuer, &["intruder"], ExtendedKeyUsagePurpose::ClientAuth);
        let server_cert = dir.join("server.pem");
        let server_key = dir.join("server.key");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&server_cert, &server_pem).unwrap();
        std::fs::write(&server_key, &server_key_pem).unwrap();
        std::fs::write(&ca_file, &ca_pem).unwrap();
        Pki {
            dir: dir.to_path_buf(),
            ca_pem,
            server_cert,
            server_key,
            ca_file,
            client_identity: format!("{client_pem}{client_key}"),
            rogue_identity: format!("{rogue_pem}{rogue_key}"),
        }
    }

    pub fn client(&self, identity: Option<&str>) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .timeout(Duration::from_secs(20));
        if let Some(id) = identity {
            b = b.identity(reqwest::Identity::from_pem(id.as_bytes()).unwrap());
        }
        b.build().unwrap()
    }

    pub fn blocking_client(&self) -> reqwest::blocking::Client {
        blocking_client(&self.ca_pem)
    }
}

/// A blocking HTTPS client trusting only `ca_pem`.
pub fn blocking_client(ca_pem: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Documents are the audit events themselves; `auditID` is required and becomes `_id`.
pub struct TestNormalizer;

impl serve::Normalizer for TestNormalizer {
    fn audit_event(&self, raw: &[u8]) -> Result<Vec<Document>, String> {
        let mut doc = Document::from_json(std::str::from_utf8(raw).map_err(|e| e.to_string())?)?;
        doc.id = doc
            .first_str("auditID")
            .ok_or("audit event without auditID")?
            .to_string();
        Ok(vec![doc])
    }
    fn process_line(&self, raw: &[u8]) -> Result<Vec<Document>, String> {
        let mut doc = Document::from_json(std::str::from_utf8(raw).map_err(|e| e.to_string())?)?;
        doc.id = doc.first_str("id").ok_or("process event without id")?.to_string();
        Ok(vec![doc])
    }
}

/// One alert per event whose `message` is "attack", raised at the next `advance`, with id
/// `alert-<_id>` (deterministic, so a replay raises it again with the same id).
#[derive(Default)]
pub struct TestDetector {
    pending: Vec<String>,
}

impl serve::Detector for TestDetector {
    fn push(&mut self, doc: Document, _emit: &mut dyn FnMut(Map)) {
        if doc.first_str("message") == Some("attack") {
            self.pending.push(doc.id.clone());
        }
    }
    fn advance(&mut self, _now: i64, emit: &mut dyn FnMut(Map)) {
        for id in self.pending.drain(..) {
            let mut m = Map::new();
            m.insert("kibana.alert.uuid", Value::from(format!("alert-{id}")));
            m.insert("kibana.alert.rule.name", Value::from("test rule"));
            m.insert("kibana.alert.severity", Value::from("high"));
            m.insert("event.id", Value::from(id));
            emit(m);
        }
    }
    fn retention_nanos(&self) -> i64 {
        3600 * 1_000_000_000
    }
}

pub fn audit_event(id: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": id, "stage": "ResponseComplete", "verb": "get",
        "requestReceivedTimestamp": "2026-11-23T10:00:00.000000Z",
        "message": message,
    })
}

pub fn event_list(items: &[serde_json::Value]) -> String {
    serde_json::json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items}).to_string()
}

/// Every alert id in the file sink and its rotated files, with repetitions.
pub fn alert_ids(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    // oldest rotated file first, the current file last: delivery order
    let mut files = Vec::new();
    for n in (1..=200).rev() {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{n}"));
        files.push(PathBuf::from(p));
    }
    files.push(path.to_path_buf());
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f) {
            // a line being written (no newline yet) is not delivered yet
            for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                out.push(v["kibana.alert.uuid"].as_str().unwrap().to_string());
            }
        }
    }
    out
}

/// Polls `cond` until true or `timeout`.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Starts `crowsnest serve` in this process with `detector` and [`TestNormalizer`]. It runs
/// until the returned sender is sent to or dropped: keep it alive for the server's lifetime.
pub async fn start_with(
    cfg: serve::ServeConfig,
    detector: Box<dyn serve::Detector>,
) -> (serve::Server, tokio::sync::oneshot::Sender<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = serve::start(cfg, detector, std::sync::Arc::new(TestNormalizer), async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    (server, tx)
}

/// [`start_with`] the plain [`TestDetector`].
pub async fn start(cfg: serve::ServeConfig) -> (serve::Server, tokio::sync::oneshot::Sender<()>) {
    start_with(cfg, Box::new(TestDetector::default())).await
}
