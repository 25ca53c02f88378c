//! The HTTP(S) front: TLS with rustls (optional client certificates), the accept loop with
//! graceful shutdown, and the routes: the audit webhook and process endpoints, `/healthz`,
//! `/readyz`, `/metrics`.
//!
//! Ingest checks, in order: readiness (503), authentication (401 without credentials, 403
//! with bad ones), content type and encoding (415), body size (413), shape and normalization (400, the
//! whole batch), WAL capacity (429 with `Retry-After`). A 200 means the batch is fsynced.

use std::io::BufReader;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::Normalizer;
use crate::engine::{Engine, normalize};
use crate::metrics::Metrics;
use crate::wal::{RecordKind, WalError};

/// A request's headers must arrive within this time, its body within `BODY_TIMEOUT`.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
const BODY_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether the connection presented a verified client certificate.
#[derive(Clone, Copy, Debug)]
struct Peer {
    client_cert: bool,
}

pub(crate) struct App {
    /// Set once the WAL is replayed; until then ingest answers 503 and `/readyz` is not ready.
    pub engine: std::sync::OnceLock<Arc<Mutex<Engine>>>,
    pub normalizer: Arc<dyn Normalizer>,
    pub metrics: Arc<Metrics>,
    pub ready: AtomicBool,
    pub tokens: Vec<String>,
    pub allow_unauthenticated: bool,
    pub body_limit: usize,
}

fn load_certs(path: &Path) -> anyhow::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    let f = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(f))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{}: no PEM certificate found", path.display());
    Ok(certs)
}

/// The rustls server configuration: the server certificate, and when a client CA is set, a
/// verifier that checks presented client certificates against it (clients without one may
/// still authenticate with a bearer token).
pub(crate) fn tls_acceptor(cert: &Path, key: &Path, client_ca: Option<&Path>) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = load_certs(cert)?;
    let key = {
        let f = std::fs::File::open(key).map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?;
        rustls_pemfile::private_key(&mut BufReader::new(f))
            .map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?
            .ok_or_else(|| anyhow::anyhow!("{}: no PEM private key found", key.display()))?
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in load_certs(ca)? {
                roots.add(c)?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .allow_unauthenticated()
                    .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

pub(crate) fn router(app: Arc<App>, audit_path: &str, process_path: &str) -> Router {
    Router::new()
        .route(
            audit_path,
            post(|State(app): State<Arc<App>>, req: Request| async move {
                ingest(app, RecordKind::AuditList, req).await
            }),
        )
        .route(
            process_path,
            post(|State(app): State<Arc<App>>, req: Request| async move {
                ingest(app, RecordKind::ProcessLines, req).await
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(|State(app): State<Arc<App>>| async move {
                if app.ready.load(Ordering::SeqCst) {
                    (StatusCode::OK, "ready\n")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "replaying the write-ahead log\n")
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(app): State<Arc<App>>| async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    app.metrics.render(),
                )
            }),
        )
        .with_state(app)
}

fn reject(app: &App, status: StatusCode, reason: &str, message: String) -> Response {
    app.metrics.rejected.add(&[reason], 1);
    let body = serde_json::json!({ "error": reason, "reason": message }).to_string();
    let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    match status {
        StatusCode::UNAUTHORIZED => {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        _ => {}
    }
    resp
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `None` when the request is authenticated, else the rejection.
fn authenticate(app: &App, headers: &HeaderMap, peer: Option<Peer>) -> Option<Response> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        let ok = token.is_some_and(|t| {
            app.tokens
                .iter()
                .any(|k| constant_time_eq(k.as_bytes(), t.as_bytes()))
        });
        if ok {
            return None;
        }
        return Some(reject(
            app,
            StatusCode::FORBIDDEN,
            "forbidden",
            "the bearer token is not accepted".into(),
        ));
    }
    if peer.is_some_and(|p| p.client_cert) || app.allow_unauthenticated {
        return None;
    }
    Some(reject(
        app,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "a client certificate or a bearer token is required".into(),
    ))
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

async fn ingest(app: Arc<App>, kind: RecordKind, req: Request) -> Response {
    let endpoint = if kind == RecordKind::AuditList {
        "audit"
    } else {
        "process"
    };
    if !app.ready.load(Ordering::SeqCst) {
        return reject(
            &app,
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "replaying the write-ahead log".into(),
        );
    }
    let peer = req.extensions().get::<Peer>().copied();
    if let Some(r) = authenticate(&app, req.headers(), peer) {
        return r;
    }
    let accepted: &[&str] = if kind == RecordKind::AuditList {
        &["application/json"]
    } else {
        &["application/x-ndjson", "application/jsonl", "application/json"]
    };
    match media_type(req.headers()) {
        Some(m) if accepted.contains(&m.as_str()) => {}
        other => {
            return reject(
                &app,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "content type {} is not accepted here; use {}",
                    other.as_deref().unwrap_or("(none)"),
                    accepted.join(" or ")
                ),
            );
        }
    }
    if let Some(enc) = req.headers().get(header::CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("?").trim().to_ascii_lowercase();
        if enc != "identity" {
            return reject(
                &app,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("content encoding {enc} is not supported; send the body uncompressed"),
            );
        }
    }
    let too_large = |app: &App| {
        reject(
            app,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body exceeds {} bytes", app.body_limit),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.body_limit as u64) {
        return too_large(&app);
    }
    let collect = Limited::new(req.into_body(), app.body_limit).collect();
    let body = match tokio::time::timeout(BODY_TIMEOUT, collect).await {
        Err(_) => {
            return reject(
                &app,
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!("the body did not arrive within {}s", BODY_TIMEOUT.as_secs()),
            );
        }
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return too_large(&app);
        }
        Ok(Err(e)) => {
            return reject(
                &app,
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("reading the body: {e}"),
            );
        }
    };
    let work = app.clone();
    let res = tokio::task::spawn_blocking(move || {
        let now = events::time::now_nanos();
        let docs = normalize(work.normalizer.as_ref(), kind, &body, now)
            .map_err(|e| (StatusCode::BAD_REQUEST, e))?;
        let n = docs.len();
        let status = |e: WalError| match e {
            WalError::Full => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
            WalError::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let durable = {
            let mut engine = work.engine.get().expect("ready").lock().expect("engine lock");
            engine.ingest(kind, &body, docs, endpoint, now)
        }
        .map_err(status)?;
        durable.wait().map(|_| n).map_err(status)
    })
    .await;
    match res {
        Ok(Ok(n)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "accepted": n }).to_string(),
        )
            .into_response(),
        Ok(Err((status, msg))) => {
            let reason = match status {
                StatusCode::BAD_REQUEST => "bad_request",
                StatusCode::TOO_MANY_REQUESTS => "wal_full",
                _ => "internal",
            };
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                tracing::error!(error = %msg, "batch not persisted");
            }
            reject(&app, status, reason, msg)
        }
        Err(e) => reject(
            &app,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("ingest task failed: {e}"),
        ),
    }
}

/// Accepts connections until `stop` fires, then lets open connections finish (bounded).
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let router = router.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            match tls {
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(%remote, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    let peer = Peer {
                        client_cert: stream
                            .get_ref()
                            .1
                            .peer_certificates()
                            .is_some_and(|c| !c.is_empty()),
                    };
                    serve_conn(TokioIo::new(stream), router, peer, watcher).await;
                }
                None => serve_conn(TokioIo::new(stream), router, Peer { client_cert: false }, watcher).await,
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10s; closing them");
    }
}

async fn serve_conn<I>(io: I, router: Router, peer: Peer, watcher: hyper_util::server::graceful::Watcher)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(peer);
        router.clone().oneshot(req.map(Body::new))
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection(io, svc);
    let _ = watcher.watch(conn.into_owned()).await;
}

/// The bound address helper for plain HTTP.
pub(crate) async fn bind(addr: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("listen {addr}: {e}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
