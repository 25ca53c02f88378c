//! Buffers of planned events (scenario activity, delayed watch completions, process ends) kept in
//! time order and released into the output streams as generation time passes.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;

use crate::audit::OwnedAudit;
use crate::process::{PodCtx, Proc, ProcEvent};

/// An owned process event.
#[derive(Clone, Debug)]
pub struct OwnedProc {
    pub ts: i64,
    pub action: &'static str,
    pub ctx: Rc<PodCtx>,
    pub proc_: Rc<Proc>,
    pub parent: Rc<Proc>,
    pub leader: Rc<Proc>,
    pub event_id: [u8; 16],
    pub exit_code: Option<i32>,
}

impl OwnedProc {
    pub fn event(&self) -> ProcEvent<'_> {
        ProcEvent {
            ts: self.ts,
            action: self.action,
            ctx: &self.ctx,
            proc_: &self.proc_,
            parent: &self.parent,
            leader: &self.leader,
            event_id: self.event_id,
            exit_code: self.exit_code,
        }
    }
}

struct Entry<T> {
    due: i64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, o: &Self) -> bool {
        self.due == o.due && self.seq == o.seq
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        // Min-heap on (due, seq).
        o.due.cmp(&self.due).then(o.seq.cmp(&self.seq))
    }
}

/// A min-heap of items due at given instants, stable for equal instants.
pub struct Pending<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T> Pending<T> {
    pub fn push(&mut self, due: i64, item: T) {
        self.seq += 1;
        self.heap.push(Entry {
            due,
            seq: self.seq,
            item,
        });
    }

    /// The earliest due instant.
    pub fn next_due(&self) -> Option<i64> {
        self.heap.peek().map(|e| e.due)
    }

    /// Removes the earliest item if it is due at or before `t`.
    pub fn pop_due(&mut self, t: i64) -> Option<T> {
        if self.heap.peek().is_some_and(|e| e.due <= t) {
            self.heap.pop().map(|e| e.item)
        } else {
            None
        }
    }

    /// Removes the earliest item.
    pub fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|e| e.item)
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

/// Everything a scheduled slot adds to the output.
#[derive(Default)]
pub struct Planned {
    pub audit: Vec<OwnedAudit>,
    pub process: Vec<OwnedProc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut p = Pending::default();
        p.push(5, "b");
        p.push(3, "a");
        p.push(5, "c");
        assert_eq!(p.next_due(), Some(3));
        assert_eq!(p.pop_due(2), None);
        assert_eq!(p.pop_due(10), Some("a"));
        assert_eq!(p.pop(), Some("b"));
        assert_eq!(p.pop(), Some("c"));
        assert!(p.is_empty());
    }
}
