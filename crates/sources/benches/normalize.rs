//! Normalization throughput on a synthetic corpus built from the fixture lines (native, legacy,
//! RequestResponse, GKE, AKS audit records and Falco/Tetragon process lines), repeated with a
//! distinct `auditID`/time per line.
//!
//! `cargo bench -p sources --bench normalize` (size: `SOURCES_BENCH_MB`, default 200).
//! Prints MB/s and events/s, single-threaded, for: parse only; full normalization with
//! sonic-rs and with serde_json; projected normalization (the seed rules' fields) with both;
//! the seed rules' fields through the audit-Event fast path and the regular projected path
//! (whole corpus, and its audit Event lines alone); and the whole `Reader` (framing + normalization) over an in-memory stream, also with two
//! worker threads (there only the wall-clock figure means anything).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use sources::{JsonParser, Normalizer, Options, Reader};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{FIXTURES, SEED_RULE_FIELDS};

/// The system allocator, counting allocations while `COUNTING` is set (only for the
/// allocations-per-event figures, measured in a separate pass from the timings).
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations (incl. reallocations) per line of `f` over the first 10,000 lines.
fn allocations_per_line(data: &[u8], mut f: impl FnMut(&[u8])) -> f64 {
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(10_000)
        .collect();
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    for l in &lines {
        f(l);
    }
    COUNTING.store(false, Ordering::Relaxed);
    ALLOCATIONS.load(Ordering::Relaxed) as f64 / lines.len() as f64
}

fn template_lines() -> Vec<String> {
    let mut out = Vec::new();
    let files = [
        "elastic-kubernetes-audit/test-audit.log",
        "elastic-kubernetes-audit/test-kube-audit.log",
        "k8s-audit-samples/audit2rbac/demo.log",
        "process-sensors/falco/falco-website-examples.jsonl",
        "process-sensors/tetragon/events.json",
    ];
    for f in files {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{f}")).expect("fixture");
        out.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    }
    let dir = format!("{FIXTURES}/k8s-audit-samples/falco-trace-files");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let text = std::fs::read_to_string(p).unwrap();
        out.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    }
    out
}

/// Lines of about `target` bytes in total, each template varied by id and time.
fn corpus(target: usize, only_bodies: bool) -> (Vec<u8>, usize) {
    let templates: Vec<serde_json::Value> = template_lines()
        .into_iter()
        .filter(|l| !only_bodies || l.contains("\"requestObject\"") || l.contains("\"responseObject\""))
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    let base = events::time::parse_timestamp("2025-01-01T00:00:00Z").unwrap();
    let mut out = Vec::with_capacity(target + 64 * 1024);
    let mut n = 0usize;
    while out.len() < target {
        let mut v = templates[n % templates.len()].clone();
        let t = events::time::format_nanos(base + n as i64 * 1_000_000);
        if let Some(m) = v.as_object_mut() {
            for key in ["auditID", "insertId"] {
                if m.contains_key(key) {
                    m.insert(key.into(), format!("{n:016x}-bench").into());
                }
            }
            for key in ["requestReceivedTimestamp", "stageTimestamp", "timestamp", "time"] {
                if m.contains_key(key) {
                    m.insert(key.into(), t.clone().into());
                }
            }
            if let Some(o) = m.get_mut("output_fields").and_then(|o| o.as_object_mut()) {
                o.insert("proc.pid".into(), (n as i64).into());
            }
        }
        serde_json::to_writer(&mut out, &v).unwrap();
        out.push(b'\n');
        n += 1;
    }
    (out, n)
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), so throughput per core can
/// be measured on a machine busy with other work; wall-clock time when unavailable.
fn cpu_nanos() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// A measurement started now.
struct Clock(Instant, Option<u64>);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), cpu_nanos())
    }
}

fn report(name: &str, bytes: usize, events: usize, clock: Clock) {
    let wall = clock.0.elapsed().as_secs_f64();
    let cpu = match (clock.1, cpu_nanos()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall,
    };
    println!(
        "{name:<38} {:>7.1} MB/s {:>9.0} events/s per core (on-CPU {cpu:.2} s; wall {:>6.1} MB/s)",
        bytes as f64 / 1e6 / cpu,
        events as f64 / cpu,
        bytes as f64 / 1e6 / wall,
    );
}

fn run_lines(name: &str, data: &[u8], opts: &Options, parser: JsonParser) {
    run_with(name, data, Normalizer::new(opts.clone()), parser)
}

fn run_with(name: &str, data: &[u8], normalizer: Normalizer, parser: JsonParser) {
    if !selected(name) {
        return;
    }
    // Warm up (the allocator's state after building the corpus makes a first pass slower).
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).take(20_000) {
        black_box(
            normalizer
                .normalize_line_with(line, parser)
                .expect("bench lines normalize"),
        );
    }
    let clock = Clock::start();
    let mut docs = 0usize;
    for line in data.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let out = normalizer
            .normalize_line_with(line, parser)
            .expect("bench lines normalize");
        docs += out.len();
        black_box(out);
    }
    report(name, data.len(), docs, clock);
}

/// `SOURCES_BENCH_ONLY=<substring>` runs only the measurements whose name contains it.
fn selected(name: &str) -> bool {
    std::env::var("SOURCES_BENCH_ONLY").map_or(true, |only| name.contains(&only))
}

fn main() {
    let mb: usize = std::env::var("SOURCES_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let (data, lines) = corpus(mb * 1_000_000, false);
    println!(
        "corpus: {} lines, {:.1} MB (avg {} bytes/line)",
        lines,
        data.len() as f64 / 1e6,
        data.len() / lines
    );

    if selected("parse only") {
        let clock = Clock::start();
        let mut n = 0usize;
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            black_box(events::Value::from_json_slice(line).unwrap());
            n += 1;
        }
        report("parse only (sonic-rs → Value)", data.len(), n, clock);
    }

    let full = Options::default();
    let fields = [
        "@timestamp",
        "event.dataset",
        "event.action",
        "event.type",
        "source.ip",
        "user.name",
        "kubernetes.audit.stage",
        "kubernetes.audit.verb",
        "kubernetes.audit.level",
        "kubernetes.audit.user.username",
        "kubernetes.audit.requestURI",
        "kubernetes.audit.objectRef.resource",
        "kubernetes.audit.objectRef.name",
        "kubernetes.audit.annotations.authorization_k8s_io/decision",
        "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name",
        "process.name",
        "process.args",
        "process.interactive",
        "container.id",
        "host.os.type",
        "orchestrator.resource.name",
    ];
    let projected = Options {
        fields: Some(fields.iter().map(|s| s.to_string()).collect()),
        ..Options::default()
    };
    // The fields `crowsnest hunt` asks for with the five seed rules loaded.
    let seed = Options {
        fields: Some(
            SEED_RULE_FIELDS
                .iter()
                .chain(&["process.parent.name", "container.image.name"])
                .map(|s| s.to_string())
                .collect(),
        ),
        ..Options::default()
    };
    if selected("seed rules")
        || std::env::var("SOURCES_BENCH_ONLY").is_ok_and(|o| o.starts_with("seed rules"))
    {
        run_with(
            "seed rules: projected, fast path",
            &data,
            Normalizer::new(seed.clone()),
            JsonParser::Sonic,
        );
        run_with(
            "seed rules: projected, regular path",
            &data,
            Normalizer::new(seed.clone()).without_fast_path(),
            JsonParser::Sonic,
        );
        // Only the native/legacy audit Event lines (what the fast path takes).
        let events: Vec<u8> = data
            .split(|&b| b == b'\n')
            .filter(|l| {
                matches!(
                    sources::detect_line_shape(l),
                    Ok(sources::Shape::AuditEvent | sources::Shape::LegacyAuditEvent)
                )
            })
            .fold(Vec::new(), |mut out, l| {
                out.extend_from_slice(l);
                out.push(b'\n');
                out
            });
        println!(
            "events corpus: {:.1} MB (audit Event lines only)",
            events.len() as f64 / 1e6
        );
        run_with(
            "seed rules, events: fast path",
            &events,
            Normalizer::new(seed.clone()),
            JsonParser::Sonic,
        );
        run_with(
            "seed rules, events: regular projected",
            &events,
            Normalizer::new(seed.clone()).without_fast_path(),
            JsonParser::Sonic,
        );
        run_lines(
            "seed rules, events: full normalize",
            &events,
            &full,
            JsonParser::Sonic,
        );
        let one = Options {
            fields: Some(vec!["event.action".to_string()]),
            ..Options::default()
        };
        run_with(
            "seed rules, events: one field (event.action), regular projected",
            &events,
            Normalizer::new(one.clone()).without_fast_path(),
            JsonParser::Sonic,
        );
        run_with(
            "seed rules, events: one field (event.action), fast path",
            &events,
            Normalizer::new(one.clone()),
            JsonParser::Sonic,
        );
        let one = Normalizer::new(one);
        let a = allocations_per_line(&events, |l| drop(black_box(one.normalize_line(l).unwrap())));
        println!("allocations per Event line, one field: fast path {a:.1}");
        if selected("seed rules, events: parse only") {
            let clock = Clock::start();
            let mut n = 0usize;
            for line in events.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                black_box(events::Value::from_json_slice(line).unwrap());
                n += 1;
            }
            report("seed rules, events: parse only", events.len(), n, clock);
        }
        let fast = Normalizer::new(seed.clone());
        // The machine may be shared: alternate the two paths and keep each one's best pass.
        let best = |normalizer: &Normalizer| {
            let lines: Vec<&[u8]> = events.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
            let clock = Clock::start();
            for l in &lines {
                black_box(normalizer.normalize_line(l).expect("bench lines normalize"));
            }
            let cpu = match (clock.1, cpu_nanos()) {
                (Some(a), Some(b)) => (b - a) as f64 / 1e9,
                _ => clock.0.elapsed().as_secs_f64(),
            };
            (events.len() as f64 / 1e6 / cpu, lines.len() as f64 / cpu)
        };
        let one_field = Options {
            fields: Some(vec!["event.action".to_string()]),
            ..Options::default()
        };
        let contenders = [
            ("seed rules, fast path", Normalizer::new(seed.clone())),
            (
                "seed rules, regular projected",
                Normalizer::new(seed.clone()).without_fast_path(),
            ),
            ("one field, fast path", Normalizer::new(one_field.clone())),
            (
                "one field, regular projected",
                Normalizer::new(one_field).without_fast_path(),
            ),
            ("full normalize", Normalizer::new(Options::default())),
        ];
        let mut top = vec![(0.0f64, 0.0f64); contenders.len()];
        for _ in 0..3 {
            for (i, (_, n)) in contenders.iter().enumerate() {
                let r = best(n);
                if r.0 > top[i].0 {
                    top[i] = r;
                }
            }
        }
        for ((name, _), (mb, ev)) in contenders.iter().zip(&top) {
            println!("events, best of 3 alternated: {name:<32} {mb:>7.1} MB/s {ev:>9.0} events/s per core");
        }
        let (mut taken, mut all) = (0, 0);
        for l in events.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            all += 1;
            if fast.normalize_fast_only(l).is_some() {
                taken += 1;
            } else if all - taken < 5 {
                println!(
                    "regular path: {}",
                    String::from_utf8_lossy(&l[..l.len().min(300)])
                );
            }
        }
        println!("fast path taken by {taken} of {all} Event lines");
        let lines: Vec<&[u8]> = events.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        let part = |name: &str, f: &dyn Fn(&[u8]) -> usize| {
            let clock = Clock::start();
            let mut n = 0usize;
            for l in &lines {
                n += black_box(f(l));
            }
            black_box(n);
            report(name, events.len(), lines.len(), clock);
        };
        part("  part: UTF-8 check", &|l| {
            std::str::from_utf8(l).is_ok() as usize
        });
        part("  part: member scan (validating)", &|l| {
            Normalizer::scan_members_only(l).unwrap_or(0)
        });
        part("  part: _id hash", &|l| Normalizer::record_id_only(l).len());
        part("  part: fast path, whole", &|l| {
            fast.normalize_fast_only(l).is_some() as usize
        });
        let regular = Normalizer::new(seed.clone()).without_fast_path();
        let a = allocations_per_line(&events, |l| drop(black_box(fast.normalize_line(l).unwrap())));
        let b = allocations_per_line(&events, |l| drop(black_box(regular.normalize_line(l).unwrap())));
        println!("allocations per Event line, seed rules: fast path {a:.1}, regular projected {b:.1}");
    }
    if selected("bodies") {
        // Only the audit events carrying requestObject/responseObject (level Request and
        // RequestResponse), where projection skips most of the bytes.
        let (bodies, n) = corpus(mb * 1_000_000 / 4, true);
        println!(
            "bodies corpus: {n} lines, {:.1} MB (avg {} bytes/line)",
            bodies.len() as f64 / 1e6,
            bodies.len() / n
        );
        run_lines(
            "bodies: full normalize, sonic-rs",
            &bodies,
            &full,
            JsonParser::Sonic,
        );
        run_lines(
            "bodies: projected normalize, sonic-rs",
            &bodies,
            &projected,
            JsonParser::Sonic,
        );
        run_with(
            "bodies: seed rules, regular projected",
            &bodies,
            Normalizer::new(seed.clone()).without_fast_path(),
            JsonParser::Sonic,
        );
        run_with(
            "bodies: seed rules, fast path",
            &bodies,
            Normalizer::new(seed.clone()),
            JsonParser::Sonic,
        );
    }
    run_lines("full normalize, sonic-rs", &data, &full, JsonParser::Sonic);
    run_lines("full normalize, serde_json", &data, &full, JsonParser::SerdeJson);
    run_lines(
        "projected normalize, sonic-rs",
        &data,
        &projected,
        JsonParser::Sonic,
    );
    run_lines(
        "projected normalize, serde_json",
        &data,
        &projected,
        JsonParser::SerdeJson,
    );

    let readers = [
        ("Reader, seed rules (fast path)", seed, 1),
        ("Reader, full", full.clone(), 1),
        ("Reader, projected", projected, 1),
        ("Reader, full, 2 workers (see wall)", full, 2),
    ];
    for (name, opts, workers) in readers {
        if !selected(name) {
            continue;
        }
        let clock = Clock::start();
        let reader = Reader::from_reader("bench", Box::new(std::io::Cursor::new(data.clone())), opts)
            .with_workers(workers);
        let mut docs = 0usize;
        for d in reader {
            black_box(d.expect("bench lines normalize"));
            docs += 1;
        }
        report(name, data.len(), docs, clock);
    }

    if selected("allocations") {
        let full = Normalizer::new(Options::default());
        let parse = allocations_per_line(&data, |l| {
            drop(black_box(events::Value::from_json_slice(l).unwrap()))
        });
        let norm = allocations_per_line(&data, |l| drop(black_box(full.normalize_line(l).unwrap())));
        println!("allocations per line: parse only {parse:.1}, full normalize {norm:.1}");
    }
}
