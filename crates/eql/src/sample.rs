//! The `sample` matcher: for each join-key value, one event per stage (in any order, distinct
//! events, the first that fit); a sample completes when every stage holds an event, and each
//! key yields one sample (Elasticsearch's default of one sample per key). Date keys compare as
//! epoch milliseconds. Keys are remembered for the life of the matcher: no `maxspan` bounds a
//! sample, so its state grows with the number of distinct keys.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use events::Document;

use crate::analyze::StagePlan;
use crate::sequence::{Key, key_combos_with};
use crate::{Match, SequenceMatch};

#[derive(Debug, Clone)]
pub struct SampleMatcher {
    stages: Vec<StagePlan>,
    pending: HashMap<Key, Vec<Option<Arc<Document>>>>,
    done: HashSet<Key>,
    live: usize,
}

impl SampleMatcher {
    pub fn new(stages: Vec<StagePlan>) -> Self {
        SampleMatcher {
            stages,
            pending: HashMap::new(),
            done: HashSet::new(),
            live: 0,
        }
    }

    /// Events held in incomplete samples plus keys already sampled.
    pub fn live(&self) -> usize {
        self.live + self.done.len()
    }

    pub fn process(&mut self, doc: &Arc<Document>, out: &mut Vec<Match>) {
        let n = self.stages.len();
        let mut done = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if !stage.filter.matches(doc) {
                continue;
            }
            for key in key_combos_with(&stage.keys, doc, true) {
                if self.done.contains(&key) {
                    continue;
                }
                let slots = self.pending.entry(key.clone()).or_insert_with(|| vec![None; n]);
                if slots[i].is_some() || slots.iter().flatten().any(|d| Arc::ptr_eq(d, doc)) {
                    continue;
                }
                slots[i] = Some(doc.clone());
                self.live += 1;
                if slots.iter().all(Option::is_some) {
                    let events: Vec<Arc<Document>> = slots.iter().flatten().cloned().collect();
                    self.live -= n;
                    self.pending.remove(&key);
                    self.done.insert(key.clone());
                    done.push((key, events));
                }
            }
        }
        done.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, events) in done {
            out.push(Match::Sequence(SequenceMatch {
                events,
                join_keys: key.iter().map(|k| k.to_value()).collect(),
            }));
        }
    }

    /// End of input: incomplete samples are not results.
    pub fn finish(&mut self) {
        self.pending.clear();
        self.live = 0;
    }
}
