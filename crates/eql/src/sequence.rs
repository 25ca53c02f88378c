//! The sequence matcher: per join key and stage at most one pending partial sequence (a newer
//! one replaces an older one), advanced by events processed in order; `maxspan` measured from
//! the first event (inclusive); `until` cancels a key's pending partials. Multi-valued keys
//! expand to one key per value (the cartesian product over several keys, duplicates removed).

use std::collections::HashMap;
use std::sync::Arc;

use compact_str::CompactString;
use events::{Document, Value};

use crate::analyze::{KeyExpr, StagePlan};
use crate::value::Scalar;

/// One component of a join key, hashable and compared by value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyVal {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(CompactString),
}

impl KeyVal {
    fn from_scalar(s: &Scalar) -> KeyVal {
        match s {
            Scalar::Bool(b) => KeyVal::Bool(*b),
            Scalar::Int(i) => KeyVal::Int(*i),
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => KeyVal::Int(*f as i64),
            Scalar::Float(f) => KeyVal::Float(f.to_bits()),
            Scalar::Str(s) => KeyVal::Str(CompactString::from(&**s)),
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            KeyVal::Null => Value::Null,
            KeyVal::Bool(b) => Value::Bool(*b),
            KeyVal::Int(i) => Value::Int(*i),
            KeyVal::Float(bits) => Value::Float(f64::from_bits(*bits)),
            KeyVal::Str(s) => Value::Str(s.clone()),
        }
    }
}

pub type Key = Vec<KeyVal>;

/// Every key combination of `doc` for these key expressions; empty when a required key is
/// missing (the event cannot join).
pub fn key_combos(keys: &[KeyExpr], doc: &Document) -> Vec<Key> {
    key_combos_with(keys, doc, false)
}

/// Like [`key_combos`]; with `dates_as_millis`, values of date keys become epoch milliseconds
/// (how a sample's keys are compared and reported).
pub fn key_combos_with(keys: &[KeyExpr], doc: &Document, dates_as_millis: bool) -> Vec<Key> {
    let mut combos: Vec<Key> = vec![Vec::with_capacity(keys.len())];
    for k in keys {
        let vals = k.expr.eval(doc);
        let mut distinct: Vec<KeyVal> = Vec::with_capacity(vals.len());
        for v in vals.iter() {
            let kv = match v {
                Scalar::Str(s) if dates_as_millis && k.date => match date_millis(s) {
                    Some(ms) => KeyVal::Int(ms),
                    None => KeyVal::from_scalar(v),
                },
                _ => KeyVal::from_scalar(v),
            };
            if !distinct.contains(&kv) {
                distinct.push(kv);
            }
        }
        if distinct.is_empty() {
            if !k.optional {
                return Vec::new();
            }
            distinct.push(KeyVal::Null);
        }
        if distinct.len() == 1 {
            let v = distinct.pop().expect("one value");
            combos.iter_mut().for_each(|c| c.push(v.clone()));
        } else {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    distinct.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push(v.clone());
                        c
                    })
                })
                .collect();
        }
    }
    combos
}

fn date_millis(s: &str) -> Option<i64> {
    if let Ok(ms) = s.trim().parse::<i64>() {
        return Some(ms);
    }
    events::time::parse_timestamp(s).map(|n| n.div_euclid(events::time::NANOS_PER_MILLI))
}

#[derive(Debug, Clone)]
struct Partial {
    first_ts: i64,
    /// The latest leading missing-event hit for this key before the first event.
    lead_missing: Option<i64>,
    events: Vec<Arc<Document>>,
}

/// A sequence whose positive stages all matched, waiting out `maxspan` for a trailing missing
/// event that would cancel it.
#[derive(Debug, Clone)]
struct Waiting {
    key: Key,
    deadline: i64,
    events: Vec<Arc<Document>>,
}

/// A completed sequence: its key and its events in stage order.
pub type Completed = (Key, Vec<Arc<Document>>);

/// The sequence state machine (see the module docs). Missing-event stages (`![...]`) reject a
/// sequence when a matching event with the same key occurs in their gap: between the
/// neighbouring positive events; before the first one (leading: no earlier than the last event
/// minus `maxspan`); after the last one (trailing: up to the first event plus `maxspan`, so such
/// a sequence is reported once that time has passed, or at the end of input). When a query has
/// both leading and trailing missing stages, the whole sequence including both missing events
/// must fit in `maxspan` to reject it: a sequence is dropped only when a leading hit exists and
/// a trailing hit follows within `maxspan` of it (Elasticsearch's spec test
/// `leadingAndTrailingExcluded`). Several leading (or trailing) stages act as one: a hit on any
/// of them counts.
#[derive(Debug, Clone)]
pub struct SequenceMatcher {
    stages: Vec<StagePlan>,
    missing: Vec<(usize, StagePlan)>,
    until: Option<StagePlan>,
    maxspan: Option<i64>,
    pending: HashMap<Key, Vec<Option<Partial>>>,
    lead_missing: HashMap<Key, i64>,
    waiting: Vec<Waiting>,
    live: usize,
}

impl SequenceMatcher {
    pub fn new(
        stages: Vec<StagePlan>,
        missing: Vec<(usize, StagePlan)>,
        until: Option<StagePlan>,
        maxspan: Option<i64>,
    ) -> Self {
        SequenceMatcher {
            stages,
            missing,
            until,
            maxspan,
            pending: HashMap::new(),
            lead_missing: HashMap::new(),
            waiting: Vec::new(),
            live: 0,
        }
    }

    /// Pending partial sequences, remembered leading missing events and sequences waiting for
    /// their trailing window to close.
    pub fn live(&self) -> usize {
        self.live + self.lead_missing.len() + self.waiting.len()
    }

    fn has_leading(&self) -> bool {
        self.missing.iter().any(|(g, _)| *g == 0)
    }

    fn has_trailing(&self) -> bool {
        self.missing.iter().any(|(g, _)| *g == self.stages.len())
    }

    fn cancel_slot(&mut self, key: &Key, slot: usize) {
        if let Some(slots) = self.pending.get_mut(key) {
            if slots[slot].take().is_some() {
                self.live -= 1;
            }
            if slots.iter().all(Option::is_none) {
                self.pending.remove(key);
            }
        }
    }

    /// Processes one event (events must come in order); returns the sequences it completes,
    /// sorted by key.
    pub fn process(&mut self, doc: &Arc<Document>, ts: i64) -> Vec<Completed> {
        let n = self.stages.len();
        let mut done = Vec::new();
        // sequences whose trailing window closed before this event are complete
        if self.waiting.iter().any(|w| w.deadline < ts) {
            let (ready, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(|w| w.deadline < ts);
            self.waiting = keep;
            done.extend(ready.into_iter().map(|w| (w.key, w.events)));
        }
        // missing-event stages first: they look at what happened strictly before this event
        for m in 0..self.missing.len() {
            let (gap, stage) = &self.missing[m];
            let gap = *gap;
            if !stage.filter.matches(doc) {
                continue;
            }
            for key in key_combos(&stage.keys, doc) {
                if gap == 0 {
                    self.lead_missing.insert(key, ts);
                } else if gap == n {
                    self.waiting.retain(|w| w.key != key || w.deadline < ts);
                } else {
                    self.cancel_slot(&key, gap - 1);
                }
            }
        }
        // last stage first, so one event never advances the same partial twice
        for i in (0..n).rev() {
            if !self.stages[i].filter.matches(doc) {
                continue;
            }
            for key in key_combos(&self.stages[i].keys, doc) {
                let p = if i == 0 {
                    Partial {
                        first_ts: ts,
                        lead_missing: self.lead_missing.get(&key).copied(),
                        events: vec![doc.clone()],
                    }
                } else {
                    let Some(slots) = self.pending.get_mut(&key) else {
                        continue;
                    };
                    let Some(mut p) = slots[i - 1].take() else {
                        continue;
                    };
                    self.live -= 1;
                    if slots.iter().all(Option::is_none) {
                        self.pending.remove(&key);
                    }
                    if self.maxspan.is_some_and(|m| ts - p.first_ts > m) {
                        continue;
                    }
                    p.events.push(doc.clone());
                    p
                };
                if i < n - 1 {
                    let slots = self.pending.entry(key).or_insert_with(|| vec![None; n]);
                    if slots[i].replace(p).is_none() {
                        self.live += 1;
                    }
                    continue;
                }
                // all positive stages matched: check the edge missing stages
                let m = self.maxspan.unwrap_or(i64::MAX);
                let lead = p.lead_missing.filter(|l| *l >= ts.saturating_sub(m));
                match (self.has_leading(), self.has_trailing()) {
                    (true, false) if lead.is_some() => {}
                    (true, true) if lead.is_none() => done.push((key, p.events)),
                    (_, true) => {
                        // a trailing hit rejects when it falls within maxspan of the start of
                        // the whole sequence: the leading hit if there are leading stages
                        let start = lead.unwrap_or(p.first_ts);
                        self.waiting.push(Waiting {
                            key,
                            deadline: start.saturating_add(m),
                            events: p.events,
                        });
                    }
                    _ => done.push((key, p.events)),
                }
            }
        }
        if let Some(until) = &self.until
            && until.filter.matches(doc)
        {
            for key in key_combos(&until.keys, doc) {
                if let Some(slots) = self.pending.remove(&key) {
                    self.live -= slots.iter().filter(|s| s.is_some()).count();
                }
            }
        }
        done.sort_by(|a, b| a.0.cmp(&b.0));
        done
    }

    /// Drops state that can no longer matter once every event at or before `now` has been
    /// processed: partials whose first event is more than `maxspan` old, leading missing-event
    /// hits older than `maxspan`. Returns the waiting sequences whose trailing window has closed.
    pub fn advance(&mut self, now: i64) -> Vec<Completed> {
        let Some(m) = self.maxspan else { return Vec::new() };
        let mut live = 0;
        self.pending.retain(|_, slots| {
            for s in slots.iter_mut() {
                if s.as_ref().is_some_and(|p| now - p.first_ts > m) {
                    *s = None;
                }
            }
            let n = slots.iter().filter(|s| s.is_some()).count();
            live += n;
            n > 0
        });
        self.live = live;
        self.lead_missing.retain(|_, ts| now - *ts <= m);
        let mut out = Vec::new();
        if !self.waiting.is_empty() {
            let (ready, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(|w| w.deadline < now);
            self.waiting = keep;
            out.extend(ready.into_iter().map(|w| (w.key, w.events)));
        }
        out
    }

    /// End of input: sequences still waiting on a trailing window are complete.
    pub fn finish(&mut self) -> Vec<Completed> {
        std::mem::take(&mut self.waiting)
            .into_iter()
            .map(|w| (w.key, w.events))
            .collect()
    }
}
