//! `gen`: a deterministic generator of Kubernetes API-server audit logs (raw `audit.k8s.io/v1`
//! Event JSON lines, as kube-apiserver writes them with `--audit-log-path`) and Elastic Defend for
//! Containers process documents, with injected attacks and near misses for the five seed rules and
//! a truth record of both.
//!
//! * Background traffic of a mid-size cluster (15 nodes, ~40 pods): kubelet leases and status,
//!   controller-manager and scheduler, operators with bound service-account tokens, CI, humans
//!   with kubectl, health checks, unauthenticated scanners; Metadata/Request/RequestResponse
//!   levels with realistic bodies (mean line ≈1.5 KB, tail beyond 100 KB). Shaped never to
//!   trigger a seed rule (see `cluster`).
//! * Attacks and near misses in 20-minute slots aligned to the rules' 5-minute schedule (see
//!   `scenarios`); the plan of 15 incidents (3 per rule) and 44 near misses repeats for long runs.
//! * Output order: lines are written in request-received order, except watch `ResponseComplete`
//!   lines, written when the watch ends (minutes after their `requestReceivedTimestamp`), as
//!   kube-apiserver does.
//! * `Config.events` / `Config.bytes` bound the audit output (whichever comes first; at least one
//!   is required). A slot already started is completed after the limit, so the truth record
//!   only lists fully written scenarios. Seed-003 scenarios need the process stream: without a
//!   process writer (or with `process: false`) they are left out of the output and the truth.
//! * Truth times are the first and last event of each scenario (inclusive), RFC 3339 with
//!   microseconds; event time is `requestReceivedTimestamp` for audit events and `@timestamp`
//!   (= `event.ingested`) for process events.
//! * `gen` is a reserved keyword in edition 2024: other crates name this one `r#gen`
//!   (`r#gen::generate(&r#gen::Config::default(), &mut out, None)`).
//! * Byte-identical output for a given `Config` on every platform (ChaCha8 randomness, no libm).

pub mod audit;
pub mod bodies;
pub mod cluster;
pub mod ident;
pub mod plan;
pub mod prereq;
pub mod procbg;
pub mod process;
pub mod rnd;
pub mod scenarios;
pub mod timefmt;

use std::collections::BTreeMap;
use std::io::{self, Write};

use rand::SeedableRng;

use crate::audit::{OwnedAudit, Stage};
use crate::cluster::Cluster;
use crate::plan::{OwnedProc, Pending};
use crate::rnd::Rand;
use crate::scenarios::{INCIDENT_OFFSET, NEAR_OFFSETS, SLOT_NS, Sc, TICK_NS};
use crate::timefmt::{NS, TimeFmt};

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Stop after about this many audit events.
    pub events: Option<u64>,
    /// Stop after about this many bytes of audit output.
    pub bytes: Option<u64>,
    /// Epoch nanoseconds of the first event.
    pub start: i64,
    /// Background audit events per second.
    pub rate: f64,
    /// Inject attacks and near misses.
    pub attacks: bool,
    /// Produce Defend for Containers process documents (needs a process writer).
    pub process: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            events: Some(100_000),
            bytes: None,
            // 2026-01-05T00:00:00Z
            start: 1_767_571_200 * NS,
            rate: 50.0,
            attacks: true,
            process: true,
        }
    }
}

/// The configuration of the checked-in `samples/` (about 5.5 hours at a modest rate: every
/// incident and near miss of the plan once).
pub fn samples_config() -> Config {
    Config {
        seed: 20_260_105,
        events: Some(SAMPLE_EVENTS),
        bytes: None,
        // 2026-01-05T08:00:00Z
        start: (1_767_571_200 + 8 * 3600) * NS,
        rate: 0.15,
        attacks: true,
        process: true,
    }
}

const SAMPLE_EVENTS: u64 = 3_150;

/// The truth record of one run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Truth {
    pub seed: u64,
    pub audit_events: u64,
    pub process_events: u64,
    pub incidents: Vec<Incident>,
    pub near_misses: Vec<NearMiss>,
}

/// An injected incident that must raise exactly one alert of its rule.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Incident {
    pub rule_id: String,
    pub rule_name: String,
    /// Column -> value the alert carries (the rule's STATS BY columns; for the EQL sequence the
    /// join key).
    pub group: BTreeMap<String, serde_json::Value>,
    pub start: String,
    pub end: String,
}

/// Injected activity that must NOT raise an alert of its rule.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NearMiss {
    pub rule_id: String,
    pub reason: String,
    pub start: String,
    pub end: String,
}

const FLUSH_AT: usize = 1 << 20;
/// Process documents per background audit event.
const PROCESS_SHARE: f64 = 0.05;

struct Out<'w> {
    w: &'w mut dyn Write,
    buf: Vec<u8>,
    lines: u64,
    bytes: u64,
    tf: TimeFmt,
}

impl<'w> Out<'w> {
    fn new(w: &'w mut dyn Write) -> Self {
        Out {
            w,
            buf: Vec::with_capacity(FLUSH_AT + (256 << 10)),
            lines: 0,
            bytes: 0,
            tf: TimeFmt::default(),
        }
    }

    fn audit(&mut self, e: &OwnedAudit) -> io::Result<()> {
        let before = self.buf.len();
        audit::write_line(&mut self.buf, &mut self.tf, &e.rec());
        self.done(before)
    }

    fn process(&mut self, e: &OwnedProc) -> io::Result<()> {
        let before = self.buf.len();
        process::write_line(&mut self.buf, &mut self.tf, &e.event());
        self.done(before)
    }

    fn done(&mut self, before: usize) -> io::Result<()> {
        self.lines += 1;
        self.bytes += (self.buf.len() - before) as u64;
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

/// Generates audit lines into `audit` (and process documents into `process` when
/// `cfg.process`), returning the truth record.
pub fn generate(cfg: &Config, audit: &mut dyn Write, process: Option<&mut dyn Write>) -> io::Result<Truth> {
    if cfg.events.is_none() && cfg.bytes.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "gen: set Config.events or Config.bytes",
        ));
    }
    if !(cfg.rate.is_finite() && cfg.rate > 0.0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "gen: Config.rate must be > 0",
        ));
    }
    let max_events = cfg.events.unwrap_or(u64::MAX);
    let max_bytes = cfg.bytes.unwrap_or(u64::MAX);
    let mut r = Rand::seed_from_u64(cfg.seed);
    let cluster = Cluster::new(&mut r, cfg.start);
    let mut a = Out::new(audit);
    let mut p = if cfg.process { process.map(Out::new) } else { None };
    let mut procbg = p
        .as_ref()
        .map(|_| procbg::ProcBg::new(&mut r, &cluster, cfg.start));
    let near_plan = scenarios::assign_near_misses();
    let mut truth = Truth {
        seed: cfg.seed,
        audit_events: 0,
        process_events: 0,
        incidents: Vec::new(),
        near_misses: Vec::new(),
    };

    let mean_gap = NS as f64 / cfg.rate;
    let proc_gap = mean_gap / PROCESS_SHARE;
    let mut t = cfg.start;
    let mut next_proc = cfg.start + rnd::exp_gap_ns(&mut r, proc_gap);
    let first_tick = (cfg.start + TICK_NS).div_euclid(TICK_NS) * TICK_NS + TICK_NS;
    let mut next_slot = first_tick;
    let mut slot: u64 = 0;
    let mut scen: Pending<OwnedAudit> = Pending::default();
    let mut watches: Pending<OwnedAudit> = Pending::default();
    let mut procs: Pending<OwnedProc> = Pending::default();

    while a.lines < max_events && a.bytes < max_bytes {
        if cfg.attacks && t >= next_slot {
            let k = (slot % scenarios::INCIDENTS_PER_CYCLE as u64) as usize;
            let mut sc = Sc::new(
                &mut r,
                &cluster,
                slot / scenarios::INCIDENTS_PER_CYCLE as u64,
                p.is_some(),
            );
            if k % 5 != 3 || sc.process {
                sc.run_incident(k, next_slot + INCIDENT_OFFSET);
            }
            for (j, nk) in near_plan[k].iter().enumerate() {
                sc.run_near_miss(*nk, next_slot + NEAR_OFFSETS[j % NEAR_OFFSETS.len()]);
            }
            for e in sc.out.audit {
                scen.push(e.received, e);
            }
            for e in sc.out.process {
                procs.push(e.ts, e);
            }
            truth.incidents.extend(sc.incidents);
            truth.near_misses.extend(sc.near_misses);
            slot += 1;
            next_slot += SLOT_NS;
        }
        while let Some(e) = scen.pop_due(t) {
            a.audit(&e)?;
        }
        while let Some(e) = watches.pop_due(t) {
            a.audit(&e)?;
        }
        if let (Some(po), Some(bg)) = (p.as_mut(), procbg.as_mut()) {
            while next_proc <= t {
                while let Some(e) = procs.pop_due(next_proc) {
                    po.process(&e)?;
                }
                let before = po.buf.len();
                po.lines += bg.emit(&mut r, next_proc, &mut po.buf, &mut po.tf, &mut procs);
                po.bytes += (po.buf.len() - before) as u64;
                next_proc += rnd::exp_gap_ns(&mut r, proc_gap);
            }
            while let Some(e) = procs.pop_due(t) {
                po.process(&e)?;
            }
            if po.buf.len() >= FLUSH_AT {
                po.flush()?;
            }
        }
        // One background audit event at t.
        let stream = cluster.pick(&mut r);
        let q = &stream.reqs[rnd::range(&mut r, 0, stream.reqs.len() as u64) as usize];
        let id = rnd::id16(&mut r);
        let lat = rnd::range(&mut r, q.latency.0 as u64, q.latency.1 as u64) as i64 * 1000;
        let before = a.buf.len();
        audit::write_line(&mut a.buf, &mut a.tf, &q.rec(id, t, t + lat));
        a.done(before)?;
        if q.watch {
            let secs = watch_seconds(&q.uri);
            let mut done = q.owned(id, t, t + secs * NS);
            done.stage = Stage::ResponseComplete;
            watches.push(done.stage_ts, done);
        }
        t += rnd::exp_gap_ns(&mut r, mean_gap);
    }
    // Complete the scenarios already started; unfinished watches are never written.
    while let Some(e) = scen.pop() {
        a.audit(&e)?;
    }
    if let Some(po) = p.as_mut() {
        while let Some(e) = procs.pop() {
            po.process(&e)?;
        }
        po.flush()?;
        po.w.flush()?;
        truth.process_events = po.lines;
    }
    a.flush()?;
    a.w.flush()?;
    truth.audit_events = a.lines;
    Ok(truth)
}

/// The `timeoutSeconds` of a watch URI (default 300).
fn watch_seconds(uri: &str) -> i64 {
    uri.split_once("timeoutSeconds=")
        .and_then(|(_, rest)| rest.split('&').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_timeout_parse() {
        assert_eq!(watch_seconds("/api/v1/pods?timeoutSeconds=463&watch=true"), 463);
        assert_eq!(watch_seconds("/api/v1/pods?watch=true"), 300);
    }

    #[test]
    fn rejects_unbounded_runs() {
        let cfg = Config {
            events: None,
            bytes: None,
            ..Config::default()
        };
        assert!(generate(&cfg, &mut Vec::new(), None).is_err());
    }
}
