//! Streaming equals batch: events shuffled within the allowed lateness give the same matches as
//! the sorted batch run, and events later than that are counted.

use std::sync::Arc;

use events::{Catalog, Document, FieldType};

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    c.insert("@timestamp", FieldType::Date);
    c.insert("event.category", FieldType::Keyword);
    c.insert("tag", FieldType::Keyword);
    c.insert("user", FieldType::Keyword);
    c.insert("id", FieldType::Long);
    c
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `(arrival key, document)` pairs: event time grows by 0-300 ms per event; arrival is event
/// time plus a jitter below `jitter_ms`.
fn events(n: usize, jitter_ms: u64, seed: u64) -> Vec<(u64, Document)> {
    let mut rng = Rng(seed);
    let mut ms = 1_700_000_000_000u64;
    (0..n)
        .map(|id| {
            ms += rng.next(300);
            let tag = ["a", "b", "c", "x"][rng.next(4) as usize];
            let user = format!("u{}", rng.next(5));
            let doc = Document::from_json(&format!(
                r#"{{"@timestamp":{ms},"event":{{"category":"auth"}},"id":{id},"tag":"{tag}","user":"{user}"}}"#
            ))
            .unwrap();
            (ms + rng.next(jitter_ms.max(1)), doc)
        })
        .collect()
}

fn ids(matches: &[eql::Match]) -> Vec<Vec<i64>> {
    matches
        .iter()
        .map(|m| match m {
            eql::Match::Sequence(s) => s
                .events
                .iter()
                .map(|d| d.first("id").unwrap().as_i64().unwrap())
                .collect(),
            eql::Match::Event(d) => vec![d.first("id").unwrap().as_i64().unwrap()],
        })
        .collect()
}

const QUERIES: &[&str] = &[
    r#"sequence by user with maxspan=2s [auth where tag == "a"] [auth where tag == "b"] until [auth where tag == "c"]"#,
    r#"sequence with maxspan=1s [auth where tag == "a"] by user [auth where tag == "b"] by user with runs=2"#,
    r#"sequence by user with maxspan=3s [auth where tag == "a"] ![auth where tag == "c"] [auth where tag == "b"]"#,
    r#"sequence by user with maxspan=1s [auth where tag == "b"] ![auth where tag == "a"]"#,
    r#"auth where tag == "a" and user == "u1""#,
];

fn run_stream(
    q: &eql::Query,
    arrivals: &[(u64, Document)],
    lateness_ms: i64,
) -> (Vec<eql::Match>, u64, usize) {
    let mut order: Vec<&(u64, Document)> = arrivals.iter().collect();
    order.sort_by_key(|(arrival, _)| *arrival);
    let mut eng = q.engine(eql::EngineOptions {
        tiebreaker_field: Some("id".into()),
        allowed_lateness_nanos: lateness_ms * 1_000_000,
        ..Default::default()
    });
    let mut out = Vec::new();
    let mut peak = 0;
    for (_, d) in order {
        out.extend(eng.push(Arc::new(d.clone())));
        peak = peak.max(eng.live_state());
    }
    out.extend(eng.finish());
    (out, eng.late_events(), peak)
}

#[test]
fn shuffled_within_lateness_equals_batch() {
    let cat = catalog();
    for seed in [7, 99, 12345] {
        let arrivals = events(3_000, 1_500, seed);
        let docs: Vec<Document> = arrivals.iter().map(|(_, d)| d.clone()).collect();
        for query in QUERIES {
            let q = eql::compile(query, &cat).unwrap();
            let opts = eql::EngineOptions {
                tiebreaker_field: Some("id".into()),
                ..Default::default()
            };
            let batch = ids(&eql::search(&q, docs.clone(), &opts));
            let (stream, late, peak) = run_stream(&q, &arrivals, 1_500);
            assert_eq!(late, 0, "{query}");
            let mut stream = ids(&stream);
            let mut batch_sorted = batch.clone();
            // trailing missing stages complete later in a stream; compare as sets
            stream.sort();
            batch_sorted.sort();
            assert_eq!(stream, batch_sorted, "seed {seed}: {query}");
            assert!(!batch.is_empty(), "the data exercises {query}");
            assert!(peak < 200, "{query}: live state {peak}");
        }
    }
}

#[test]
fn events_later_than_the_lateness_are_counted_and_dropped() {
    let cat = catalog();
    let arrivals = events(2_000, 5_000, 3);
    let q = eql::compile(QUERIES[0], &cat).unwrap();
    let (stream, late, _) = run_stream(&q, &arrivals, 100);
    assert!(late > 0);
    let docs: Vec<Document> = arrivals.iter().map(|(_, d)| d.clone()).collect();
    let opts = eql::EngineOptions {
        tiebreaker_field: Some("id".into()),
        ..Default::default()
    };
    let batch = ids(&eql::search(&q, docs, &opts));
    assert!(ids(&stream).len() <= batch.len() + late as usize);
}

#[test]
fn queries_and_engines_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<eql::Query>();
    send::<eql::Engine>();
    send_sync::<eql::Match>();
    send_sync::<eql::Diagnostic>();
}

#[test]
fn samples_stream_one_per_key() {
    let cat = catalog();
    let q = eql::compile(
        r#"sample by user [auth where tag == "a"] [auth where tag == "b"]"#,
        &cat,
    )
    .unwrap();
    let mut eng = q.engine(eql::EngineOptions::default());
    let mut out = Vec::new();
    for (id, ms, tag, user) in [
        (1, 10, "b", "u1"),
        (2, 20, "a", "u2"),
        (3, 30, "a", "u1"),
        (4, 40, "b", "u2"),
    ] {
        let d = Document::from_json(&format!(
            r#"{{"@timestamp":{ms},"event":{{"category":"auth"}},"id":{id},"tag":"{tag}","user":"{user}"}}"#
        ))
        .unwrap();
        out.extend(eng.push(Arc::new(d)));
    }
    out.extend(eng.finish());
    // events in stage order, not time order: u1's "a" (3) comes before its earlier "b" (1)
    assert_eq!(ids(&out), vec![vec![3, 1], vec![2, 4]]);
}
