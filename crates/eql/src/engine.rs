//! The streaming [`Engine`]: buffers relevant events for `allowed_lateness_nanos`, releases them
//! in (timestamp, tiebreaker, arrival) order to the event filter, sequence or sample matcher,
//! and evicts sequence partials older than `maxspan`, so memory follows live keys, not input.
//!
//! Late events (older than the released boundary, i.e. the newest timestamp seen minus the
//! allowed lateness) are counted in [`Engine::late_events`]. Event queries and samples still
//! process them (neither depends on order); sequences drop them, since matching them would
//! break the ordering guarantees. Events without a readable timestamp are treated the same
//! way as late ones.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;

use compact_str::CompactString;
use events::{Document, Value};

use crate::analyze::Plan;
use crate::sample::SampleMatcher;
use crate::sequence::SequenceMatcher;
use crate::{EngineOptions, Match, Query, SequenceMatch};

/// The tiebreaker's value, ordered: missing first, then numbers, then strings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tie {
    Missing,
    Num(f64),
    Str(CompactString),
}

impl Eq for Tie {}

impl Ord for Tie {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Tie::Missing, Tie::Missing) => Ordering::Equal,
            (Tie::Missing, _) => Ordering::Less,
            (_, Tie::Missing) => Ordering::Greater,
            (Tie::Num(a), Tie::Num(b)) => a.total_cmp(b),
            (Tie::Num(_), Tie::Str(_)) => Ordering::Less,
            (Tie::Str(_), Tie::Num(_)) => Ordering::Greater,
            (Tie::Str(a), Tie::Str(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Tie {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Reads a document's event time: a date string, epoch milliseconds as a number, or epoch
/// milliseconds as a numeric string.
pub(crate) fn read_timestamp(doc: &Document, field: &str) -> Option<i64> {
    let v = doc.first(field)?;
    if let Some(ts) = events::time::parse_timestamp_value(v) {
        return Some(ts);
    }
    match v {
        Value::Str(s) => s
            .trim()
            .parse::<i64>()
            .ok()?
            .checked_mul(events::time::NANOS_PER_MILLI),
        _ => None,
    }
}

pub(crate) fn read_tie(doc: &Document, field: Option<&str>) -> Tie {
    match field.and_then(|f| doc.first(f)) {
        Some(Value::Int(i)) => Tie::Num(*i as f64),
        Some(Value::Float(f)) => Tie::Num(*f),
        Some(Value::Str(s)) => Tie::Str(s.clone()),
        Some(Value::Bool(b)) => Tie::Num(*b as i64 as f64),
        _ => Tie::Missing,
    }
}

#[derive(Debug)]
struct Buffered {
    ts: i64,
    tie: Tie,
    arrival: u64,
    doc: Arc<Document>,
}

impl PartialEq for Buffered {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Buffered {}
impl PartialOrd for Buffered {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Buffered {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.ts, &self.tie, self.arrival).cmp(&(other.ts, &other.tie, other.arrival))
    }
}

enum Matcher {
    Event,
    Sequence(SequenceMatcher),
    Sample(SampleMatcher),
}

/// A running query over a stream of events (see the module docs).
pub struct Engine {
    query: Query,
    opts: EngineOptions,
    matcher: Matcher,
    buffer: BinaryHeap<Reverse<Buffered>>,
    arrival: u64,
    max_ts: i64,
    released: i64,
    late: u64,
    next_sweep: i64,
}

impl Engine {
    pub(crate) fn new(query: Query, opts: EngineOptions) -> Engine {
        let matcher = match query.plan() {
            Plan::Event(_) => Matcher::Event,
            Plan::Sequence {
                stages,
                missing,
                until,
                maxspan,
            } => Matcher::Sequence(SequenceMatcher::new(
                stages.clone(),
                missing.clone(),
                until.clone(),
                *maxspan,
            )),
            Plan::Sample { stages } => Matcher::Sample(SampleMatcher::new(stages.clone())),
        };
        Engine {
            query,
            opts,
            matcher,
            buffer: BinaryHeap::new(),
            arrival: 0,
            max_ts: i64::MIN,
            released: i64::MIN,
            late: 0,
            next_sweep: i64::MIN,
        }
    }

    /// Adds one event; returns the matches completed by the events this releases from the
    /// lateness buffer.
    pub fn push(&mut self, doc: Arc<Document>) -> Vec<Match> {
        let ts = self.query.event_time(&doc, &self.opts.timestamp_field);
        let relevant = self.query.prefilter(&doc);
        let mut out = Vec::new();
        let ts = match ts {
            Some(ts) if ts >= self.released => ts,
            _ => {
                // late or without time: order cannot be honoured any more
                self.late += 1;
                if relevant {
                    match &mut self.matcher {
                        Matcher::Event => out.push(Match::Event(doc)),
                        Matcher::Sample(s) => s.process(&doc, &mut out),
                        Matcher::Sequence(_) => {}
                    }
                }
                return out;
            }
        };
        if relevant {
            let tie = read_tie(&doc, self.opts.tiebreaker_field.as_deref());
            self.arrival += 1;
            self.buffer.push(Reverse(Buffered {
                ts,
                tie,
                arrival: self.arrival,
                doc,
            }));
        }
        if ts > self.max_ts {
            self.max_ts = ts;
            let boundary = ts.saturating_sub(self.opts.allowed_lateness_nanos.max(0));
            self.release(boundary, &mut out);
        } else if relevant
            && ts
                <= self
                    .max_ts
                    .saturating_sub(self.opts.allowed_lateness_nanos.max(0))
        {
            let boundary = self.released.max(ts);
            self.release(boundary, &mut out);
        }
        out
    }

    /// Tells the engine that event time has reached `now_nanos` without an event (a heartbeat
    /// for idle inputs): releases what the lateness window no longer holds back and completes
    /// sequences waiting on a trailing missing-event window that has closed.
    pub fn advance(&mut self, now_nanos: i64) -> Vec<Match> {
        let mut out = Vec::new();
        if now_nanos > self.max_ts {
            self.max_ts = now_nanos;
            let boundary = now_nanos.saturating_sub(self.opts.allowed_lateness_nanos.max(0));
            self.next_sweep = self.next_sweep.min(boundary);
            self.release(boundary, &mut out);
        }
        out
    }

    /// Releases every buffered event at or before the end of input.
    pub fn finish(&mut self) -> Vec<Match> {
        let mut out = Vec::new();
        self.release(i64::MAX, &mut out);
        match &mut self.matcher {
            Matcher::Sample(s) => s.finish(),
            Matcher::Sequence(s) => push_sequences(&mut out, s.finish()),
            Matcher::Event => {}
        }
        out
    }

    /// Buffered events plus pending partial sequences (or sample candidates).
    pub fn live_state(&self) -> usize {
        self.buffer.len()
            + match &self.matcher {
                Matcher::Event => 0,
                Matcher::Sequence(s) => s.live(),
                Matcher::Sample(s) => s.live(),
            }
    }

    /// Events that arrived older than the already-released boundary, or without a timestamp
    /// (see the module docs for what happens to them).
    pub fn late_events(&self) -> u64 {
        self.late
    }

    fn release(&mut self, boundary: i64, out: &mut Vec<Match>) {
        while let Some(Reverse(top)) = self.buffer.peek() {
            if top.ts > boundary {
                break;
            }
            let Reverse(b) = self.buffer.pop().expect("peeked");
            self.process(b, out);
        }
        if boundary > self.released {
            self.released = boundary;
        }
        if let Matcher::Sequence(s) = &mut self.matcher
            && let Some(m) = self.query.maxspan_nanos()
            && self.released >= self.next_sweep
        {
            push_sequences(out, s.advance(self.released));
            self.next_sweep = self.released.saturating_add((m / 4).max(1));
        }
    }

    fn process(&mut self, b: Buffered, out: &mut Vec<Match>) {
        if b.ts > self.released {
            self.released = b.ts;
        }
        match &mut self.matcher {
            Matcher::Event => out.push(Match::Event(b.doc)),
            Matcher::Sequence(s) => push_sequences(out, s.process(&b.doc, b.ts)),
            Matcher::Sample(s) => s.process(&b.doc, out),
        }
    }
}

fn push_sequences(out: &mut Vec<Match>, done: Vec<crate::sequence::Completed>) {
    for (key, events) in done {
        out.push(Match::Sequence(SequenceMatch {
            events,
            join_keys: key.iter().map(|k| k.to_value()).collect(),
        }));
    }
}
