//! The sequence matcher: per join key and stage at most one pending partial sequence (a newer
//! one replaces an older one), advanced by events processed in order; `maxspan` measured from
//! the first event (inclusive); `until` cancels a key's pending partials. Multi-valued keys
//! expand to one key per value (the cartesian product over several keys, duplicates removed).

use std::collections::HashMap;
use std::sync::Arc;

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
    Str(String),
}

impl KeyVal {
    fn from_scalar(s: &Scalar) -> KeyVal {
        match s {
            Scalar::Bool(b) => KeyVal::Bool(*b),
            Scalar::Int(i) => KeyVal::Int(*i),
            Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => KeyVal::Int(*f as i64),
            Scalar::Float(f) => KeyVal::Float(f.to_bits()),
            Scalar::Str(s) => KeyVal::Str(s.to_string()),
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
    events: Vec<Arc<Document>>,
}

/// A completed sequence: its key and its events in stage order.
pub type Completed = (Key, Vec<Arc<Document>>);

#[derive(Debug, Clone)]
pub struct SequenceMatcher {
    stages: Vec<StagePlan>,
    until: Option<StagePlan>,
    maxspan: Option<i64>,
    pending: HashMap<Key, Vec<Option<Partial>>>,
    live: usize,
}

impl SequenceMatcher {
    pub fn new(stages: Vec<StagePlan>, until: Option<StagePlan>, maxspan: Option<i64>) -> Self {
        SequenceMatcher {
            stages,
            until,
            maxspan,
            pending: HashMap::new(),
            live: 0,
        }
    }

    /// Pending partial sequences.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Processes one event (events must come in order); returns sequences it completes, sorted
    /// by key.
    pub fn process(&mut self, doc: &Arc<Document>, ts: i64) -> Vec<Completed> {
        let n = self.stages.len();
        let mut done = Vec::new();
        // last stage first, so one event never advances the same partial twice
        for i in (0..n).rev() {
            if !self.stages[i].filter.matches(doc) {
                continue;
            }
            for key in key_combos(&self.stages[i].keys, doc) {
                if i == 0 {
                    let p = Partial {
                        first_ts: ts,
                        events: vec![doc.clone()],
                    };
                    if n == 1 {
                        done.push((key, p.events));
                        continue;
                    }
                    let slots = self.pending.entry(key).or_insert_with(|| vec![None; n]);
                    if slots[0].replace(p).is_none() {
                        self.live += 1;
                    }
                    continue;
                }
                let Some(slots) = self.pending.get_mut(&key) else {
                    continue;
                };
                let Some(mut p) = slots[i - 1].take() else {
                    continue;
                };
                self.live -= 1;
                if self.maxspan.is_some_and(|m| ts - p.first_ts > m) {
                    if slots.iter().all(Option::is_none) {
                        self.pending.remove(&key);
                    }
                    continue;
                }
                p.events.push(doc.clone());
                if i == n - 1 {
                    done.push((key.clone(), p.events));
                } else if slots[i].replace(p).is_none() {
                    self.live += 1;
                }
                if slots.iter().all(Option::is_none) {
                    self.pending.remove(&key);
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

    /// Drops partials that can no longer complete: their first event is more than `maxspan`
    /// before `now` (the time below which no more events will be processed).
    pub fn evict(&mut self, now: i64) {
        let Some(m) = self.maxspan else { return };
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
    }
}
