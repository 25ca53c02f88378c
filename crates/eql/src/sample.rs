//! The `sample` matcher: for each join-key value, one event per stage (in any order, distinct
//! events); a sample completes when every stage holds an event. Keys are kept until their
//! sample completes (no `maxspan` bounds a sample).

use std::collections::HashMap;
use std::sync::Arc;

use events::Document;

use crate::analyze::StagePlan;
use crate::sequence::{Key, key_combos};
use crate::{Match, SequenceMatch};

#[derive(Debug, Clone)]
pub struct SampleMatcher {
    stages: Vec<StagePlan>,
    pending: HashMap<Key, Vec<Option<Arc<Document>>>>,
    live: usize,
}

impl SampleMatcher {
    pub fn new(stages: Vec<StagePlan>) -> Self {
        SampleMatcher {
            stages,
            pending: HashMap::new(),
            live: 0,
        }
    }

    pub fn live(&self) -> usize {
        self.live
    }

    pub fn process(&mut self, doc: &Arc<Document>, out: &mut Vec<Match>) {
        let n = self.stages.len();
        let mut done = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if !stage.filter.matches(doc) {
                continue;
            }
            for key in key_combos(&stage.keys, doc) {
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

    pub fn finish(&mut self, _out: &mut [Match]) {
        // incomplete samples are not results
        self.pending.clear();
        self.live = 0;
    }
}
