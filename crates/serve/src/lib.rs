//! `crowsnest serve`: a long-running detection service.
//!
//! It receives Kubernetes audit events from the kube-apiserver audit webhook backend
//! (`POST /audit`, an `EventList` JSON body) and container process events (`POST /process`,
//! ndjson) over HTTPS (rustls; clients authenticate with a certificate from the configured CA
//! and/or a bearer token), and can tail audit log files ([`follow`]). Every accepted batch is
//! fsynced to a write-ahead log ([`wal`]) before it is acknowledged (concurrent batches share
//! one fsync), and queued in log order for the evaluator thread that feeds the [`Detector`]
//! ([`engine`]), so that a request does not wait for the rules; a scheduler ticks
//! [`Detector::advance`] every second through the same queue. Alerts go to the sinks
//! ([`sinks`]) through a dispatcher that keeps a per-sink delivery record ([`delivery`]), so
//! that after a crash the WAL is replayed to rebuild the window state without delivering an
//! alert twice (alert ids are deterministic). `/healthz`, `/readyz` and `/metrics`
//! (Prometheus) serve operations.
//!
//! The engine that evaluates rules and the normalization of raw events are supplied by the
//! caller through [`Detector`] and [`Normalizer`]; this crate depends only on `events`.
//!
//! Delivery guarantees. A 200 means the batch is fsynced (group commit). An alert is recorded
//! as delivered per sink after the sink took it durably, and a replay re-raises alerts with the
//! same ids, which the records filter: exactly once for the file sink (whose current file is
//! also scanned at start-up, closing the gap between its write and the record) and the
//! Elasticsearch sink (`create` by `_id`); at least once at one boundary for stdout (a crash
//! between the write and the record) and the webhook (between a successful POST and the queue
//! offset save). A followed file may feed a few lines twice after a crash (between the WAL
//! append and the offset save); their alerts are de-duplicated, window counts may not be.
//!
//! API beside the contract: [`Normalizer::audit_event_at`] and [`Normalizer::process_line_at`]
//! (default methods) receive the receive time, the original one on replay; [`start`] returns
//! a [`Server`] handle (bound address, metrics) and [`run`] is `start` followed by
//! [`Server::wait`]; [`shutdown_signal`] resolves on SIGTERM or SIGINT.
//!
//! Throughput. The request path does TLS, the `EventList` envelope walk (items delimited, not
//! parsed: [`Normalizer::audit_event`] validates each), normalization, the WAL append (one
//! `writev`, group commit) and the 200; the detector runs on its own thread behind a bounded
//! queue ([`engine::EVAL_QUEUE`] batches), which slows ingest down when full. A graceful
//! shutdown evaluates what is queued. `/metrics` shows `crowsnest_events_evaluated_total`
//! (against `crowsnest_events_received_total`: the queue) and `crowsnest_wal_fsyncs_total`
//! (against the append count: the group commit). `crowsnest-load` (crate `bench`) measures it.

pub mod config;
pub mod delivery;
pub mod dispatch;
pub mod engine;
mod eventlist;
pub mod follow;
mod http;
pub mod metrics;
pub mod sinks;
pub mod wal;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use config::{ServeConfig, SinkConfig, TlsConfig, WalConfig, WebhookFormat};
pub use metrics::Metrics;

use crate::engine::Engine;
use crate::wal::Wal;

/// The rule engine, driven by the server.
pub trait Detector: Send + 'static {
    /// Feeds one normalized event; alerts raised as a consequence go to `emit`.
    fn push(&mut self, doc: events::Document, emit: &mut dyn FnMut(events::Map));
    /// Wall clock advanced to `now_nanos`: close every window that is due; alerts to `emit`.
    fn advance(&mut self, now_nanos: i64, emit: &mut dyn FnMut(events::Map));
    /// How long the WAL must keep events for windows to be rebuilt (max lookback + interval +
    /// lateness), ns.
    fn retention_nanos(&self) -> i64;
}

/// Turns raw received events into documents.
pub trait Normalizer: Send + Sync + 'static {
    /// One webhook body item (an audit Event as JSON) or one process ndjson line → documents;
    /// Err(reason) → the batch is rejected with 400. Items are handed over as received, not
    /// parsed before: refusing what is not valid JSON is the normalizer's part of validating
    /// the body.
    fn audit_event(&self, raw: &[u8]) -> Result<Vec<events::Document>, String>;
    fn process_line(&self, raw: &[u8]) -> Result<Vec<events::Document>, String>;
    /// [`Normalizer::audit_event`] for an event received at `received_at` (nanos since the
    /// epoch). On replay this is the original receive time, stored in the WAL: override it to
    /// stamp read-time fields (`event.ingested`) so that a replay gives the same documents, and
    /// so the same alert ids, as the first time.
    fn audit_event_at(&self, raw: &[u8], received_at: i64) -> Result<Vec<events::Document>, String> {
        let _ = received_at;
        self.audit_event(raw)
    }
    /// [`Normalizer::process_line`] for an event received at `received_at` (see
    /// [`Normalizer::audit_event_at`]).
    fn process_line_at(&self, raw: &[u8], received_at: i64) -> Result<Vec<events::Document>, String> {
        let _ = received_at;
        self.process_line(raw)
    }
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Waits until the server has shut down (after the shutdown future resolved).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await?
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Runs the server until `shutdown` resolves, then drains and stops.
pub async fn run(
    config: ServeConfig,
    detector: Box<dyn Detector>,
    normalizer: Arc<dyn Normalizer>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    start(config, detector, normalizer, shutdown).await?.wait().await
}

/// Binds the listener (which answers `/healthz` and a not-ready `/readyz` at once), replays the
/// WAL into the detector, then accepts events; returns once ready.
pub async fn start(
    config: ServeConfig,
    detector: Box<dyn Detector>,
    normalizer: Arc<dyn Normalizer>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Server> {
    config
        .check()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let tokens = config.tokens().map_err(anyhow::Error::msg)?;
    let tls = if config.insecure {
        tracing::warn!(listen = %config.listen, "insecure = true: serving plain HTTP without TLS");
        None
    } else {
        Some(http::tls_acceptor(
            config.tls.cert.as_deref().expect("checked"),
            config.tls.key.as_deref().expect("checked"),
            config.tls.client_ca.as_deref(),
        )?)
    };
    let state = config.wal.dir.clone();
    std::fs::create_dir_all(&state).map_err(|e| anyhow::anyhow!("{}: {e}", state.display()))?;
    // One server per state directory: the lock is released when the process ends, even by
    // SIGKILL.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join("LOCK"))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!("{} is in use by another crowsnest serve", state.display())
        }
        Err(std::fs::TryLockError::Error(e)) => anyhow::bail!("{}: {e}", state.join("LOCK").display()),
    }
    let (listener, addr) = http::bind(&config.listen).await?;
    let metrics = Arc::new(Metrics::default());

    // Sinks and the dispatcher first: replay may raise alerts.
    let mut built = Vec::new();
    for (i, s) in config.sinks.iter().enumerate() {
        built.push(
            sinks::build(s, s.name(i), &state, metrics.clone())
                .map_err(|e| anyhow::anyhow!("sink {}: {e}", s.name(i)))?,
        );
    }
    // Bounded: a sink slower than the detector slows ingestion down instead of filling memory.
    let (alerts_tx, alerts_rx) = std::sync::mpsc::sync_channel(dispatch::QUEUE);
    let dispatcher = dispatch::start(built, &state, metrics.clone(), alerts_rx)?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    // Answer /healthz and /readyz (not ready) while the WAL is replayed.
    let app = Arc::new(http::App {
        engine: std::sync::OnceLock::new(),
        normalizer: normalizer.clone(),
        metrics: metrics.clone(),
        ready: AtomicBool::new(false),
        tokens,
        allow_unauthenticated: config.allow_unauthenticated,
        body_limit: config.body_limit,
    });
    let router = http::router(app.clone(), &config.audit_path, &config.process_path);
    let server = tokio::spawn(http::serve(listener, tls, router, stop_rx.clone()));

    // Replay the WAL into the detector, then build the engine.
    let replay = {
        let normalizer = normalizer.clone();
        let metrics = metrics.clone();
        let alerts_tx = alerts_tx.clone();
        let wal_dir = state.join("wal");
        let (seg, max) = (config.wal.segment_bytes, config.wal.max_bytes);
        tokio::task::spawn_blocking(move || -> anyhow::Result<(Wal, Box<dyn Detector>)> {
            let mut detector = detector;
            let mut replayed = 0u64;
            let start = std::time::Instant::now();
            let (wal, stats) = Wal::open(&wal_dir, seg, max, |rec| {
                match engine::normalize(normalizer.as_ref(), rec.kind, &rec.payload, rec.received_at) {
                    Ok(docs) => {
                        replayed += docs.len() as u64;
                        for doc in docs {
                            detector.push(doc, &mut |a| {
                                let _ = alerts_tx.send(dispatch::DispatchMsg::Alert(a));
                            });
                        }
                    }
                    Err(e) => {
                        metrics.wal_replay_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(error = %e, "replayed batch refused by the normalizer; skipped");
                    }
                }
            })
            .map_err(|e| anyhow::anyhow!("write-ahead log {}: {e}", wal_dir.display()))?;
            metrics
                .wal_replayed_records
                .store(stats.records, Ordering::Relaxed);
            metrics
                .wal_truncated_bytes
                .store(stats.truncated_bytes, Ordering::Relaxed);
            tracing::info!(records = stats.records, events = replayed, bytes = stats.bytes, elapsed = ?start.elapsed(), "write-ahead log replayed");
            Ok((wal, detector))
        })
    };

    let replayed = replay
        .await
        .map_err(anyhow::Error::from)
        .and_then(|r| r)
        .and_then(|(wal, detector)| {
            let (eval_tx, evaluator) = engine::start_evaluator(detector, alerts_tx.clone(), metrics.clone())?;
            let engine = Engine::new(wal, eval_tx, metrics.clone(), config.lateness_nanos());
            Ok((Arc::new(Mutex::new(engine)), evaluator))
        });
    let (engine, evaluator) = match replayed {
        Ok(x) => x,
        Err(e) => {
            let _ = stop_tx.send(true);
            let _ = server.await;
            let _ = tokio::task::spawn_blocking(move || {
                let _ = alerts_tx.send(dispatch::DispatchMsg::Stop);
                dispatcher.join()
            })
            .await;
            return Err(e);
        }
    };
    let _ = app.engine.set(engine.clone());
    app.ready.store(true, Ordering::SeqCst);
    tracing::info!(%addr, tls = !config.insecure, "crowsnest serve ready");

    // The scheduler.
    let tick = Duration::from_nanos(config.tick_nanos() as u64);
    let ticker = {
        let engine = engine.clone();
        let alerts = alerts_tx.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = stop.changed() => break,
                }
                let engine = engine.clone();
                let alerts = alerts.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    engine::tick(&engine, events::time::now_nanos(), &alerts)
                })
                .await;
            }
        })
    };

    let followers = follow::start_all(
        &config.follow,
        &state,
        engine.clone(),
        normalizer,
        metrics.clone(),
        stop_rx,
    )?;

    let stop_alerts = alerts_tx.clone();
    let task = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, draining");
        app.ready.store(false, Ordering::SeqCst);
        let _ = stop_tx.send(true);
        let _ = server.await;
        let _ = ticker.await;
        let followers_done = tokio::task::spawn_blocking(move || {
            for f in followers {
                let _ = f.join();
            }
        });
        let _ = followers_done.await;
        // The evaluator drains what is queued, then every earlier alert is handled before
        // Stop; the dispatcher then closes the sinks.
        engine.lock().expect("engine lock").close();
        drop(app);
        drop(engine);
        let _ = tokio::task::spawn_blocking(move || {
            let _ = evaluator.join();
            let _ = stop_alerts.send(dispatch::DispatchMsg::Stop);
            dispatcher.join()
        })
        .await;
        drop(lock);
        tracing::info!("stopped");
        Ok(())
    });
    Ok(Server { addr, metrics, task })
}
