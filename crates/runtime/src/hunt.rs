//! `hunt`: replaying history through every rule on Kibana's schedule, simulated.
//!
//! Events arrive in event-time order (see [`crate::order`]). Each rule sees only events whose
//! `_index` matches its index patterns, and only those its query's prefilter accepts.
//!
//! **ES|QL rules** run on Kibana's schedule: a tick every `interval`, aligned to multiples of
//! the interval since the Unix epoch, each evaluating the window `[tick − lookback, tick)` on the
//! rule's time field (`timestamp_override`, else `@timestamp`). The runtime keeps one open
//! execution per window; an event is pushed into every open window that contains it (with a 5m
//! interval and a 6m lookback that is one or two windows), and a window is finished as soon as the
//! stream passes its tick. Memory is bounded by open windows × live groups, not input size.
//! `NOW()` in a query is the tick time.
//!
//! **EQL rules** run one continuous streaming engine per rule; a match (event or sequence) is
//! raised at the first tick whose window contains all of its events. A match that no window
//! contains (a sequence longer than the windows' overlap allows) is not raised, as in Kibana.
//!
//! **Exactly once.** Each alert has an identity (see `rules::alert`): for ES|QL aggregations the
//! rule, its version, the group-key values and the first contributing event; for per-event
//! alerts the event `_id`; for sequences the ordered member ids. An identity is raised once. On
//! top of that an aggregating rule raises once per *activity*: a row for a group whose first
//! contributing event was already covered by an alert (or a suppressed duplicate) of the same
//! group is the same activity seen again by an overlapping window, and is suppressed. Identities
//! and coverage are forgotten once no open window can see their events again.
//!
//! `max_signals` caps alerts per tick; a truncated tick is counted in the report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use events::{Document, Map, Value};
use rules::alert::{AlertSource, alert_identity, build_alerts};
use smallvec::SmallVec;

use crate::compile::{CompiledRule, Detection};
use crate::order::event_time;

/// Options of a hunt.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    /// Only events at or after this time (epoch ns) are replayed.
    pub from: Option<i64>,
    /// Only events before this time (epoch ns) are replayed.
    pub to: Option<i64>,
    /// How far behind the stream an EQL engine waits for late events (ns).
    pub eql_lateness: i64,
    /// How long after its tick an ES|QL window still accepts events (ns). A request is logged
    /// when it ends but dated when it began, so a long one (a watch) reaches the log minutes
    /// after its time; windows stay open this long for it. Costs only open-window state.
    pub window_grace: i64,
    /// Skip a rule's query on events its dispatch keys rule out (`esql::Query::key_values`,
    /// `eql::Query::key_values`): the same results with less work. Off only to compare.
    pub dispatch_keys: bool,
}

impl Default for HuntOptions {
    fn default() -> Self {
        HuntOptions {
            from: None,
            to: None,
            eql_lateness: 2_000_000_000,
            window_grace: 600_000_000_000,
            dispatch_keys: true,
        }
    }
}

/// What one rule did during a hunt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleReport {
    pub name: String,
    pub rule_id: String,
    pub language: String,
    /// Events whose index the rule reads.
    pub events_in_scope: u64,
    /// Events that passed the query's prefilter.
    pub events_considered: u64,
    /// Windows evaluated (ES|QL).
    pub windows: u64,
    pub alerts: u64,
    /// Rows or matches not raised again because an overlapping window already raised them.
    pub duplicates_suppressed: u64,
    /// Ticks whose alerts were cut at `max_signals`, and how many alerts were cut.
    pub truncated_ticks: u64,
    pub truncated_alerts: u64,
    /// EQL matches that no scheduled window contains.
    pub outside_windows: u64,
    /// Events without a value in the rule's time field.
    pub untimed: u64,
    /// Events older than an already-closed window.
    pub late: u64,
    /// Query warnings (deduplicated, first few).
    pub warnings: Vec<String>,
}

/// The result of a hunt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HuntReport {
    pub events: u64,
    pub out_of_range: u64,
    pub rules: Vec<RuleReport>,
}

impl HuntReport {
    pub fn alerts(&self) -> u64 {
        self.rules.iter().map(|r| r.alerts).sum()
    }
}

struct EsqlState {
    windows: BTreeMap<i64, esql::Execution>,
    /// Per group (JSON of its key values): ids covered by raised or suppressed rows, and the
    /// last tick that touched it.
    coverage: HashMap<String, (HashSet<String>, i64)>,
    /// Every tick at or before this is closed.
    closed_through: i64,
}

struct EqlState {
    engine: eql::Engine,
    /// Alerts already raised per tick (for max_signals).
    per_tick: BTreeMap<i64, usize>,
}

enum State {
    Esql(EsqlState),
    Eql(Box<EqlState>),
}

struct RuleRun {
    compiled: CompiledRule,
    grace: i64,
    /// Which of the hunt's time fields is this rule's.
    time_slot: usize,
    /// The rule's registration in the hunt's shared loads (ES|QL).
    load_slot: Option<esql::SharedSlot>,
    state: State,
    /// Whether the rule reads each index the hunt has seen, by the hunt's index number.
    index_hits: Vec<Option<bool>>,
    seen: HashMap<String, i64>,
    report: RuleReport,
    last_prune: i64,
    rehydrate: Option<Rehydrate>,
    /// Dispatch keys in groups (field by the hunt's key number, sorted values): an event is
    /// not evaluated when every group rules it out. ES|QL (one group): a field that is one
    /// string outside the key's values rules out, while the keys before it have at most one
    /// value (see `esql::Query::key_values`). EQL: a missing field rules out too.
    keys: Vec<Vec<(usize, Vec<Box<str>>)>>,
    esql_keys: bool,
}

/// An event's value of a key field.
#[derive(Clone, Copy)]
enum KeyVal<'a> {
    Missing,
    One(&'a str),
    /// One value that is not a string.
    OneOther,
    Many,
}

impl RuleRun {
    /// Whether the rule's keys rule the event out.
    fn keyed_out<'d>(&self, key_vals: &mut [Option<KeyVal<'d>>], read: &dyn Fn(usize) -> KeyVal<'d>) -> bool {
        let group_out = |group: &Vec<(usize, Vec<Box<str>>)>, key_vals: &mut [Option<KeyVal<'d>>]| {
            for (k, values) in group {
                match *key_vals[*k].get_or_insert_with(|| read(*k)) {
                    KeyVal::One(s) if values.binary_search_by(|x| (**x).cmp(s)).is_err() => return true,
                    KeyVal::Missing if !self.esql_keys => return true,
                    KeyVal::Many if self.esql_keys => return false,
                    _ => {}
                }
            }
            false
        };
        !self.keys.is_empty() && self.keys.iter().all(|g| group_out(g, key_vals))
    }
}

/// Rebuilds the whole (projected) document of a flat one ([`events::Document::is_flat`]) from
/// its raw record, for the source fields of the alerts raised on it.
pub type Rehydrate = Arc<dyn Fn(&Document) -> Option<Document> + Send + Sync>;

/// A hunt in progress: feed events in time order with [`Hunt::push`], then [`Hunt::finish`].
pub struct Hunt {
    runs: Vec<RuleRun>,
    /// Every index name seen, numbered; consecutive events mostly share theirs.
    indices: HashMap<String, usize>,
    last_index: Option<(String, usize)>,
    /// ES|QL rules read each field of an event once between them.
    loads: esql::SharedLoads,
    time_fields: Vec<String>,
    /// The fields the rules' dispatch keys read, each read once per event.
    key_fields: Vec<String>,
    opts: HuntOptions,
    events: u64,
    out_of_range: u64,
}

const MAX_WARNINGS: usize = 5;

impl Hunt {
    pub fn new(rules: Vec<CompiledRule>, opts: HuntOptions) -> Hunt {
        let mut time_fields: Vec<String> = Vec::new();
        let mut key_fields: Vec<String> = Vec::new();
        let mut loads = esql::SharedLoads::new();
        let runs = rules
            .into_iter()
            .map(|compiled| {
                let state = match &compiled.detection {
                    Detection::Esql(_) => State::Esql(EsqlState {
                        windows: BTreeMap::new(),
                        coverage: HashMap::new(),
                        closed_through: i64::MIN,
                    }),
                    Detection::Eql(q) => {
                        let eopts = eql::EngineOptions {
                            timestamp_field: compiled.rule.time_field().to_string(),
                            tiebreaker_field: None,
                            allowed_lateness_nanos: opts.eql_lateness,
                        };
                        State::Eql(Box::new(EqlState {
                            engine: q.engine(eopts),
                            per_tick: BTreeMap::new(),
                        }))
                    }
                };
                let report = RuleReport {
                    name: compiled.rule.name.clone(),
                    rule_id: compiled.rule.rule_id.clone(),
                    language: compiled.language().to_string(),
                    ..Default::default()
                };
                let field = compiled.rule.time_field().to_string();
                let time_slot = number(&mut time_fields, field);
                let load_slot = match &compiled.detection {
                    Detection::Esql(q) => Some(loads.register(q)),
                    Detection::Eql(_) => None,
                };
                let (groups, esql_keys) = match &compiled.detection {
                    _ if !opts.dispatch_keys => (Vec::new(), false),
                    Detection::Esql(q) => (vec![q.key_values()], true),
                    Detection::Eql(q) => (q.key_values(), false),
                };
                let mut key = |(field, values): (String, Vec<String>)| {
                    let n = number(&mut key_fields, field);
                    let mut values: Vec<Box<str>> = values.into_iter().map(Box::from).collect();
                    values.sort();
                    (n, values)
                };
                let keys: Vec<Vec<(usize, Vec<Box<str>>)>> = groups
                    .into_iter()
                    .filter(|g| !g.is_empty())
                    .map(|g| g.into_iter().map(&mut key).collect())
                    .collect();
                RuleRun {
                    compiled,
                    grace: opts.window_grace.max(0),
                    time_slot,
                    load_slot,
                    state,
                    index_hits: Vec::new(),
                    seen: HashMap::new(),
                    report,
                    last_prune: i64::MIN,
                    rehydrate: None,
                    keys,
                    esql_keys,
                }
            })
            .collect();
        Hunt {
            runs,
            indices: HashMap::new(),
            last_index: None,
            loads,
            time_fields,
            key_fields,
            opts,
            events: 0,
            out_of_range: 0,
        }
    }

    /// Alerts on flat documents show the source fields `rehydrate` rebuilds for them.
    pub fn with_rehydrate(mut self, rehydrate: Rehydrate) -> Hunt {
        for run in &mut self.runs {
            run.rehydrate = Some(rehydrate.clone());
        }
        self
    }

    /// Feeds one event; `emit` receives every alert raised as a consequence.
    pub fn push(&mut self, doc: Document, emit: &mut dyn FnMut(Map)) {
        let time = event_time(&doc, &crate::order::ORDER_FIELDS);
        self.push_at(time, doc, emit);
    }

    /// [`Hunt::push`] of an event whose time by [`crate::order::ORDER_FIELDS`] is known
    /// (as [`crate::OrderedEvents`] gives it): rules timed by the same fields reuse it.
    pub fn push_at(&mut self, time: Option<i64>, doc: Document, emit: &mut dyn FnMut(Map)) {
        self.events += 1;
        if (self.opts.from.is_some() || self.opts.to.is_some())
            && let Some(t) = time
            && (self.opts.from.is_some_and(|f| t < f) || self.opts.to.is_some_and(|to| t >= to))
        {
            self.out_of_range += 1;
            return;
        }
        // Each distinct rule time field is read once per event; `[field, @timestamp]` is the
        // order itself when the field is the first order field.
        let times: SmallVec<[Option<i64>; 2]> = self
            .time_fields
            .iter()
            .map(|f| {
                if f == crate::order::ORDER_FIELDS[0] {
                    time
                } else {
                    event_time(&doc, &[f.as_str(), "@timestamp"])
                }
            })
            .collect();
        // EQL engines keep events; they share one copy, made only if one of them wants it.
        let mut shared: Option<Arc<Document>> = None;
        self.loads.next_document();
        let index = self.index_number(&doc.index);
        // EQL rules read each field of the event once between them.
        let memo = eql::FieldMemo::new();
        // Each key field's value, read when a rule first needs it.
        let mut key_vals: SmallVec<[Option<KeyVal>; 16]> = SmallVec::from_elem(None, self.key_fields.len());
        let key_fields = &self.key_fields;
        let read = |k: usize| {
            let vals = doc.field(&key_fields[k]);
            match vals.as_slice() {
                [] => KeyVal::Missing,
                [v] => v.as_str().map_or(KeyVal::OneOther, KeyVal::One),
                _ => KeyVal::Many,
            }
        };
        for run in &mut self.runs {
            if run.in_scope(index, &doc.index) {
                let skip = run.keyed_out(&mut key_vals, &read);
                let loads = &mut self.loads;
                run.push(&doc, times[run.time_slot], skip, &mut shared, loads, &memo, emit);
            }
        }
    }

    /// The number of an index name (numbered once for all rules).
    fn index_number(&mut self, index: &str) -> usize {
        if let Some((name, n)) = &self.last_index
            && name == index
        {
            return *n;
        }
        let next = self.indices.len();
        let n = *self.indices.entry(index.to_string()).or_insert(next);
        self.last_index = Some((index.to_string(), n));
        n
    }

    /// The wall clock (live mode) reached `now`: closes every ES|QL window whose tick is at or
    /// before `now`, even when no later event has arrived to push the stream past it.
    pub fn advance(&mut self, now: i64, emit: &mut dyn FnMut(Map)) {
        for run in &mut self.runs {
            run.close_windows_through(now, emit);
            if let State::Eql(st) = &mut run.state {
                let matches = st.engine.advance(now);
                run.raise_eql(matches, emit);
            }
        }
    }

    /// The longest time any rule looks back (lookback + interval), ns: how long events must be
    /// kept to rebuild every open window.
    pub fn horizon_nanos(&self) -> i64 {
        self.runs
            .iter()
            .map(|r| r.compiled.rule.lookback_nanos + r.compiled.rule.interval_nanos)
            .max()
            .unwrap_or(0)
    }

    /// Ends the hunt: closes every open window and drains the EQL engines.
    pub fn finish(mut self, emit: &mut dyn FnMut(Map)) -> HuntReport {
        for run in &mut self.runs {
            run.finish(emit);
        }
        HuntReport {
            events: self.events,
            out_of_range: self.out_of_range,
            rules: self.runs.into_iter().map(|r| r.report).collect(),
        }
    }
}

/// The first tick strictly after `t`.
/// The number of a name in `names`, added when new.
fn number(names: &mut Vec<String>, name: String) -> usize {
    match names.iter().position(|n| *n == name) {
        Some(i) => i,
        None => {
            names.push(name);
            names.len() - 1
        }
    }
}

fn next_tick(t: i64, interval: i64) -> i64 {
    (t.div_euclid(interval) + 1) * interval
}

impl RuleRun {
    /// Whether the rule reads index `name`, numbered `n` by the hunt.
    fn in_scope(&mut self, n: usize, name: &str) -> bool {
        if n >= self.index_hits.len() {
            self.index_hits.resize(n + 1, None);
        }
        *self.index_hits[n].get_or_insert_with(|| rules::index_matches(&self.compiled.indices, name))
    }

    /// Feeds one event; with `skip` (a dispatch key rules it out) only its time counts.
    #[allow(clippy::too_many_arguments)]
    fn push<'d>(
        &mut self,
        doc: &'d Document,
        time: Option<i64>,
        skip: bool,
        shared: &mut Option<Arc<Document>>,
        loads: &mut esql::SharedLoads,
        memo: &eql::FieldMemo<'d>,
        emit: &mut dyn FnMut(Map),
    ) {
        self.report.events_in_scope += 1;
        let Some(t) = time else {
            self.report.untimed += 1;
            return;
        };
        let interval = self.compiled.rule.interval_nanos.max(1);
        let lookback = self.compiled.rule.lookback_nanos.max(1);
        // Windows whose tick is at or before t - grace are complete: no later event belongs to them.
        self.close_windows_through(t.saturating_sub(self.grace), emit);
        self.prune(t, interval + lookback + self.grace);
        match (&self.compiled.detection, &mut self.state) {
            (Detection::Esql(q), State::Esql(st)) => {
                if skip {
                    return;
                }
                // Checked and read once, pushed into every open window that contains it.
                let loaded = match self.load_slot {
                    Some(slot) => q.load_shared(doc, loads, slot),
                    None => q.load(doc),
                };
                if loaded.accepted() {
                    self.report.events_considered += 1;
                } else if !loaded.has_warnings() {
                    return;
                }
                // Every tick T with T - lookback <= t < T.
                let mut tick = next_tick(t, interval);
                if tick <= st.closed_through {
                    // Some of its windows already closed: later than the grace allows. Counted;
                    // it still joins the windows that are open.
                    self.report.late += 1;
                    while tick <= st.closed_through {
                        tick += interval;
                    }
                }
                while tick - lookback <= t {
                    st.windows
                        .entry(tick)
                        .or_insert_with(|| q.start(esql::ExecContext { now_nanos: tick }))
                        .push_loaded(&loaded);
                    tick += interval;
                }
            }
            (Detection::Eql(q), State::Eql(st)) => {
                if skip || !q.prefilter_memo(doc, memo) {
                    return;
                }
                self.report.events_considered += 1;
                let arc = shared.get_or_insert_with(|| Arc::new(doc.clone())).clone();
                let matches = st.engine.push(arc);
                self.raise_eql(matches, emit);
            }
            _ => unreachable!("detection and state are built together"),
        }
    }

    fn close_windows_through(&mut self, t: i64, emit: &mut dyn FnMut(Map)) {
        if let State::Esql(st) = &mut self.state {
            st.closed_through = st.closed_through.max(t);
        }
        loop {
            let State::Esql(st) = &mut self.state else { return };
            let Some((&tick, _)) = st.windows.iter().next() else {
                return;
            };
            if tick > t {
                return;
            }
            let exec = st.windows.remove(&tick).expect("present");
            self.raise_esql(tick, exec, emit);
        }
    }

    fn raise_esql(&mut self, tick: i64, exec: esql::Execution, emit: &mut dyn FnMut(Map)) {
        self.report.windows += 1;
        let result = exec.finish();
        for w in result.warnings {
            if self.report.warnings.len() < MAX_WARNINGS && !self.report.warnings.contains(&w) {
                self.report.warnings.push(w);
            }
        }
        let columns: Vec<String> = result.columns.iter().map(|c| c.name.clone()).collect();
        let window = (tick - self.compiled.rule.lookback_nanos, tick);
        let max = self.compiled.rule.max_signals;
        let mut raised = 0usize;
        let mut cut = 0u64;
        for (row, prov) in result.rows.iter().zip(result.provenance.iter()) {
            let src = AlertSource::EsqlRow {
                columns: &columns,
                row,
                group: &prov.group,
                event_ids: &prov.event_ids,
                event_count: prov.event_count,
            };
            let identity = alert_identity(&self.compiled.rule, &src);
            if self.seen.contains_key(&identity) {
                self.report.duplicates_suppressed += 1;
                continue;
            }
            // Once per activity: the same group continuing from an already covered event.
            if !prov.group.is_empty() {
                let key = Value::Array(prov.group.clone()).to_json();
                let State::Esql(st) = &mut self.state else {
                    unreachable!()
                };
                let entry = st.coverage.entry(key).or_insert_with(|| (HashSet::new(), tick));
                let continuing = prov.event_ids.first().is_some_and(|id| entry.0.contains(id));
                entry.0.extend(prov.event_ids.iter().cloned());
                entry.1 = tick;
                if continuing {
                    self.seen.insert(identity, tick);
                    self.report.duplicates_suppressed += 1;
                    continue;
                }
            }
            if raised >= max {
                cut += 1;
                continue;
            }
            self.seen.insert(identity, tick);
            for alert in build_alerts(&self.compiled.rule, src, window, tick) {
                emit(alert);
            }
            raised += 1;
            self.report.alerts += 1;
        }
        if cut > 0 {
            self.report.truncated_ticks += 1;
            self.report.truncated_alerts += cut;
        }
    }

    fn raise_eql(&mut self, matches: Vec<eql::Match>, emit: &mut dyn FnMut(Map)) {
        let interval = self.compiled.rule.interval_nanos.max(1);
        let lookback = self.compiled.rule.lookback_nanos.max(1);
        let time_field = self.compiled.rule.time_field().to_string();
        for m in matches {
            let docs: Vec<&Document> = match &m {
                eql::Match::Event(d) => vec![d.as_ref()],
                eql::Match::Sequence(s) => s.events.iter().map(|d| d.as_ref()).collect(),
            };
            let rebuilt: Vec<Document> = match &self.rehydrate {
                Some(r) if docs.iter().any(|d| d.is_flat()) => docs
                    .iter()
                    .map(|d| {
                        d.is_flat()
                            .then(|| r(d))
                            .flatten()
                            .unwrap_or_else(|| (*d).clone())
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let docs: Vec<&Document> = if rebuilt.is_empty() {
                docs
            } else {
                rebuilt.iter().collect()
            };
            let times: Vec<i64> = docs
                .iter()
                .filter_map(|d| event_time(d, &[time_field.as_str(), "@timestamp"]))
                .collect();
            let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
                continue;
            };
            // The first scheduled window [T - lookback, T) containing [first, last].
            let tick = next_tick(last, interval);
            if tick - lookback > first {
                self.report.outside_windows += 1;
                continue;
            }
            let src = match &m {
                eql::Match::Event(_) => AlertSource::Event { doc: docs[0] },
                eql::Match::Sequence(s) => AlertSource::Sequence {
                    docs: &docs,
                    join_keys: &s.join_keys,
                },
            };
            let identity = alert_identity(&self.compiled.rule, &src);
            if self.seen.contains_key(&identity) {
                self.report.duplicates_suppressed += 1;
                continue;
            }
            let State::Eql(st) = &mut self.state else {
                unreachable!()
            };
            let count = st.per_tick.entry(tick).or_insert(0);
            if *count >= self.compiled.rule.max_signals {
                if *count == self.compiled.rule.max_signals {
                    self.report.truncated_ticks += 1;
                }
                *count += 1;
                self.report.truncated_alerts += 1;
                continue;
            }
            *count += 1;
            self.seen.insert(identity, tick);
            for alert in build_alerts(&self.compiled.rule, src, (tick - lookback, tick), tick) {
                emit(alert);
            }
            self.report.alerts += 1;
        }
    }

    /// Forgets identities and coverage no open window can see again.
    fn prune(&mut self, now: i64, horizon: i64) {
        if now < self.last_prune.saturating_add(horizon) {
            return;
        }
        self.last_prune = now;
        let keep_after = now - 2 * horizon;
        self.seen.retain(|_, tick| *tick >= keep_after);
        match &mut self.state {
            State::Esql(st) => st.coverage.retain(|_, (_, tick)| *tick >= keep_after),
            State::Eql(st) => st.per_tick.retain(|tick, _| *tick >= keep_after),
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Map)) {
        self.close_windows_through(i64::MAX, emit);
        if let State::Eql(st) = &mut self.state {
            let matches = st.engine.finish();
            self.raise_eql(matches, emit);
        }
    }
}
