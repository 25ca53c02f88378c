//! One stream in event-time order from several inputs.
//!
//! Each input (an audit log, a process-event file) is read in its own order; [`OrderedEvents`]
//! merges them by event time (a k-way merge over the inputs' next events) and passes the result
//! through a reorder buffer that holds events until the stream has moved `lateness` past them,
//! so disorder within that bound is repaired. Memory is bounded by the number of events within
//! the lateness horizon, not by input size. Errors pass through as soon as they are read.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use events::Document;

/// Events with the same time (`event.ingested` has whole seconds) are ordered by `@timestamp`,
/// which keeps the reader's sub-second precision: within one second, a process start and the API
/// request it makes stay in the order they happened, as EQL sequences need.
///
/// The time fields tried, in order, to place an event in the stream. `event.ingested` first,
/// because every bundled rule's `timestamp_override` is `event.ingested`.
pub const ORDER_FIELDS: [&str; 2] = ["event.ingested", "@timestamp"];

/// The event time of a document by the first of `fields` it has, in epoch nanoseconds.
pub fn event_time(doc: &Document, fields: &[&str]) -> Option<i64> {
    fields
        .iter()
        .find_map(|f| doc.first(f).and_then(events::time::parse_timestamp_value))
}

/// What the ordered stream yields.
pub enum Ordered<E> {
    /// An event and its time.
    Event(i64, Document),
    /// An event with no parseable time field: it cannot be placed in any rule window.
    Untimed(Document),
    /// An input error (a skipped line), passed through in read order.
    Error(E),
}

type Input<E> = Box<dyn Iterator<Item = Result<Document, E>>>;

struct Head {
    time: i64,
    sub: i64,
    doc: Document,
}

struct Entry {
    time: i64,
    sub: i64,
    seq: u64,
    doc: Document,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.time, self.sub, self.seq) == (o.time, o.sub, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.time, self.sub, self.seq).cmp(&(o.time, o.sub, o.seq))
    }
}

/// Merges inputs into event-time order (see module docs).
pub struct OrderedEvents<E> {
    inputs: Vec<Input<E>>,
    heads: Vec<Option<Head>>,
    exhausted: Vec<bool>,
    pending: std::collections::VecDeque<Ordered<E>>,
    buffer: BinaryHeap<Reverse<Entry>>,
    lateness: i64,
    max_seen: i64,
    seq: u64,
    late: u64,
}

impl<E> OrderedEvents<E> {
    /// `lateness`: how far (ns) an event may arrive behind the newest event seen and still be
    /// put in its place.
    pub fn new(inputs: Vec<Input<E>>, lateness: i64) -> Self {
        let n = inputs.len();
        OrderedEvents {
            inputs,
            heads: (0..n).map(|_| None).collect(),
            exhausted: vec![false; n],
            pending: Default::default(),
            buffer: BinaryHeap::new(),
            lateness: lateness.max(0),
            max_seen: i64::MIN,
            seq: 0,
            late: 0,
        }
    }

    /// Events that arrived later than the lateness bound (they are still emitted, out of order).
    pub fn late_events(&self) -> u64 {
        self.late
    }

    /// Fills the head slot of input `i`; errors and untimed events go straight to `pending`.
    fn fill(&mut self, i: usize) {
        while self.heads[i].is_none() && !self.exhausted[i] {
            match self.inputs[i].next() {
                None => self.exhausted[i] = true,
                Some(Err(e)) => self.pending.push_back(Ordered::Error(e)),
                Some(Ok(doc)) => match event_time(&doc, &ORDER_FIELDS) {
                    Some(time) => {
                        let sub = event_time(&doc, &["@timestamp"]).unwrap_or(time);
                        self.heads[i] = Some(Head { time, sub, doc })
                    }
                    None => self.pending.push_back(Ordered::Untimed(doc)),
                },
            }
            if !self.pending.is_empty() {
                return;
            }
        }
    }

    /// Moves the earliest head among the inputs into the reorder buffer. False when all inputs
    /// are exhausted.
    fn advance(&mut self) -> bool {
        for i in 0..self.inputs.len() {
            self.fill(i);
            if !self.pending.is_empty() {
                return true;
            }
        }
        let best = (0..self.heads.len())
            .filter(|&i| self.heads[i].is_some())
            .min_by_key(|&i| self.heads[i].as_ref().map(|h| (h.time, h.sub)));
        let Some(i) = best else { return false };
        let Head { time, sub, doc } = self.heads[i].take().expect("chosen head exists");
        if time < self.max_seen.saturating_sub(self.lateness) {
            self.late += 1;
        }
        self.max_seen = self.max_seen.max(time);
        self.seq += 1;
        self.buffer.push(Reverse(Entry {
            time,
            sub,
            seq: self.seq,
            doc,
        }));
        true
    }
}

impl<E> Iterator for OrderedEvents<E> {
    type Item = Ordered<E>;

    fn next(&mut self) -> Option<Ordered<E>> {
        loop {
            if let Some(p) = self.pending.pop_front() {
                return Some(p);
            }
            if let Some(Reverse(top)) = self.buffer.peek()
                && top.time <= self.max_seen.saturating_sub(self.lateness)
            {
                let Reverse(e) = self.buffer.pop().expect("peeked");
                return Some(Ordered::Event(e.time, e.doc));
            }
            if !self.advance() {
                let Reverse(e) = self.buffer.pop()?;
                return Some(Ordered::Event(e.time, e.doc));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(ts: &str, id: &str) -> Document {
        let mut d = Document::from_json(&format!(r#"{{"@timestamp":"{ts}"}}"#)).unwrap();
        d.id = id.to_string();
        d
    }

    fn ids(o: OrderedEvents<String>) -> Vec<String> {
        o.map(|x| match x {
            Ordered::Event(_, d) => d.id,
            Ordered::Untimed(d) => format!("untimed:{}", d.id),
            Ordered::Error(e) => format!("err:{e}"),
        })
        .collect()
    }

    #[test]
    fn merges_sorted_inputs() {
        let a: Vec<Result<Document, String>> = vec![
            Ok(doc("2025-01-01T00:00:01Z", "a1")),
            Ok(doc("2025-01-01T00:00:03Z", "a3")),
        ];
        let b: Vec<Result<Document, String>> = vec![
            Ok(doc("2025-01-01T00:00:02Z", "b2")),
            Ok(doc("2025-01-01T00:00:04Z", "b4")),
        ];
        let o = OrderedEvents::new(vec![Box::new(a.into_iter()), Box::new(b.into_iter())], 0);
        assert_eq!(ids(o), vec!["a1", "b2", "a3", "b4"]);
    }

    #[test]
    fn repairs_disorder_within_lateness_and_passes_errors() {
        let a: Vec<Result<Document, String>> = vec![
            Ok(doc("2025-01-01T00:00:05Z", "t5")),
            Err("bad line".into()),
            Ok(doc("2025-01-01T00:00:03Z", "t3")),
            Ok(Document::from_json("{}").unwrap()),
            Ok(doc("2025-01-01T00:00:09Z", "t9")),
        ];
        let o = OrderedEvents::new(vec![Box::new(a.into_iter())], 3_000_000_000);
        assert_eq!(ids(o), vec!["err:bad line", "untimed:", "t3", "t5", "t9"]);
    }

    #[test]
    fn counts_events_later_than_the_bound() {
        let a: Vec<Result<Document, String>> = vec![
            Ok(doc("2025-01-01T00:00:10Z", "t10")),
            Ok(doc("2025-01-01T00:00:01Z", "t1")),
        ];
        let mut o = OrderedEvents::new(vec![Box::new(a.into_iter())], 1_000_000_000);
        assert_eq!(o.by_ref().count(), 2);
        assert_eq!(o.late_events(), 1);
    }
}
