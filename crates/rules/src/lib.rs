//! Elastic detection rules: loading the TOML files of `elastic/detection-rules` unmodified,
//! their schedule (Kibana's `interval` and `from`), routing events to them by index pattern,
//! a text table of loaded rules, and the Kibana-shaped alert documents they raise
//! ([`alert`]).
//!
//! A rule file has a `[metadata]` table and a `[rule]` table; [`parse_rule`] reads the fields the
//! engine needs into [`Rule`] and keeps the whole file as JSON in [`Rule::raw`], so nothing in
//! the file is lost. Errors ([`RuleError`]) name the file and, when the problem is at a place in
//! the text, its line and column.
//!
//! Defaults follow Kibana's detection engine: `interval` 5m, `from` now-6m, `max_signals` 100,
//! `version` 1, and the query language implied by the rule type (`query`/`new_terms`/`threshold`
//! rules use `kuery`, `eql` rules `eql`, `esql` rules `esql`). ES|QL rules carry no `index`
//! field (the query's `FROM` names the indices); for them [`Rule::index`] holds the patterns of
//! the `FROM` command, read lexically.
//!
//! Beyond the agreed API this crate also offers: [`BUNDLED_FILES`] (the embedded texts),
//! [`parse_interval`]/[`parse_from`] and the schedule defaults, [`RuleError::new`], the
//! accessors [`Rule::raw_rule_field`], [`Rule::metadata`], [`Rule::author`],
//! [`Rule::false_positives`], [`Rule::license`], [`Rule::rule_name_override`],
//! [`Rule::is_building_block`], and in [`alert`] the uuid helpers
//! ([`alert::identity_uuid`], [`alert::ALERT_NAMESPACE`]).

pub mod alert;
mod index;
mod load;
mod parse;
mod schedule;
mod table;
mod threat;

pub use index::index_matches;
pub use load::{BUNDLED_FILES, bundled, load_paths};
pub use parse::{RuleError, parse_rule};
pub use schedule::{DEFAULT_FROM, DEFAULT_INTERVAL, DEFAULT_MAX_SIGNALS, parse_from, parse_interval};
pub use table::{RuleStatus, render_rule_table};
pub use threat::{Technique, Threat, ThreatRef};

/// One detection rule as loaded from its TOML file.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Where the rule came from: a file path, or `bundled:<file name>`.
    pub source: String,
    pub rule_id: String,
    pub name: String,
    pub description: String,
    /// `version` (absent in the prebuilt rule files: 1).
    pub version: i64,
    /// `type`: `esql`, `eql`, `query`, `new_terms`, `threshold`, `threat_match`, ...
    pub rule_type: String,
    /// `language` (`esql`, `eql`, `kuery`, `lucene`), defaulted from the type when absent.
    pub language: Option<String>,
    pub query: Option<String>,
    /// Index patterns the rule reads (`index`, or the `FROM` patterns of an ES|QL query).
    pub index: Vec<String>,
    /// `interval` as written (default `5m`).
    pub interval: String,
    /// `from` as written (default `now-6m`).
    pub from: String,
    /// The schedule interval in nanoseconds.
    pub interval_nanos: i64,
    /// How far back each run looks (`from = now-6m` is 6 minutes), in nanoseconds.
    pub lookback_nanos: i64,
    /// `max_signals` (default 100): the cap on alerts per run.
    pub max_signals: usize,
    pub severity: String,
    pub risk_score: i64,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    pub threat: Vec<Threat>,
    pub timestamp_override: Option<String>,
    pub note: Option<String>,
    pub setup: Option<String>,
    pub building_block_type: Option<String>,
    /// The whole file as JSON (`{"metadata": {...}, "rule": {...}}`).
    pub raw: serde_json::Value,
}

impl Rule {
    /// The field the rule's time window applies to: `timestamp_override`, or `@timestamp`.
    pub fn time_field(&self) -> &str {
        self.timestamp_override.as_deref().unwrap_or("@timestamp")
    }

    /// A field of the `[rule]` table as written in the file, by key.
    pub fn raw_rule_field(&self, key: &str) -> Option<&serde_json::Value> {
        self.raw.get("rule").and_then(|r| r.get(key))
    }

    /// A field of the `[metadata]` table as written in the file, by key.
    pub fn metadata(&self, key: &str) -> Option<&serde_json::Value> {
        self.raw.get("metadata").and_then(|r| r.get(key))
    }

    /// `author` (a list of strings; empty when absent).
    pub fn author(&self) -> Vec<String> {
        self.raw_strings("author")
    }

    /// `false_positives` (a list of strings; empty when absent).
    pub fn false_positives(&self) -> Vec<String> {
        self.raw_strings("false_positives")
    }

    /// `rule_name_override`: the source field whose value names the alerts, when present.
    pub fn rule_name_override(&self) -> Option<&str> {
        self.raw_rule_field("rule_name_override").and_then(|v| v.as_str())
    }

    /// `license`, when present.
    pub fn license(&self) -> Option<&str> {
        self.raw_rule_field("license").and_then(|v| v.as_str())
    }

    /// True for a building-block rule (`building_block_type` set): its alerts are hidden by
    /// default in Kibana and feed other rules.
    pub fn is_building_block(&self) -> bool {
        self.building_block_type.is_some()
    }

    fn raw_strings(&self, key: &str) -> Vec<String> {
        match self.raw_rule_field(key) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}
