//! Parsing one detection-rule TOML file into a [`Rule`], with errors positioned in the file.
//!
//! The file is parsed into a spanned TOML tree, so a wrong type or a bad value is reported at
//! the line and column where it is written; a missing required field is reported at the
//! `[rule]` table. Required in `[rule]`: `rule_id`, `name`, `description`, `type`, `severity`,
//! `risk_score`, and `query` for the query-based types (`query`, `eql`, `esql`, `new_terms`,
//! `threshold`, `threat_match`).

use std::fmt;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::Rule;
use crate::schedule::{DEFAULT_FROM, DEFAULT_INTERVAL, DEFAULT_MAX_SIGNALS, parse_from, parse_interval};
use crate::threat::{Technique, Threat, ThreatRef};

/// A rule that could not be loaded: which file, where in it (1-based line and column, when the
/// problem has a place), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub source: String,
    pub message: String,
    pub line_col: Option<(usize, usize)>,
}

impl RuleError {
    pub fn new(source: &str, message: impl Into<String>) -> Self {
        RuleError {
            source: source.to_string(),
            message: message.into(),
            line_col: None,
        }
    }

    /// The file (or `bundled:<name>`) the error is about.
    pub fn source_name(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, col)) => write!(f, "{}:{}:{}: {}", self.source, line, col, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

impl std::error::Error for RuleError {}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut at = offset;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The parsing context: the text (for positions) and the source name (for messages).
struct Ctx<'a> {
    text: &'a str,
    source: &'a str,
}

type Table<'i> = DeTable<'i>;
type Item<'i> = Spanned<DeValue<'i>>;

impl Ctx<'_> {
    fn err_at(&self, offset: usize, message: impl Into<String>) -> RuleError {
        RuleError {
            source: self.source.to_string(),
            message: message.into(),
            line_col: Some(line_col(self.text, offset)),
        }
    }

    fn err(&self, item: &Item<'_>, message: impl Into<String>) -> RuleError {
        self.err_at(item.span().start, message)
    }
}

fn get<'t, 'i>(table: &'t Table<'i>, key: &str) -> Option<&'t Item<'i>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The typed readers over a table; `at` is where the table starts (for missing-field errors).
struct Fields<'c, 't, 'i> {
    ctx: &'c Ctx<'c>,
    table: &'t Table<'i>,
    at: usize,
    name: &'static str,
}

impl<'t, 'i> Fields<'_, 't, 'i> {
    fn missing(&self, key: &str) -> RuleError {
        self.ctx.err_at(
            self.at,
            format!("missing required field `{key}` in [{}]", self.name),
        )
    }

    fn opt_str(&self, key: &str) -> Result<Option<String>, RuleError> {
        match get(self.table, key) {
            None => Ok(None),
            Some(item) => match item.get_ref() {
                DeValue::String(s) => Ok(Some(s.to_string())),
                other => Err(self.ctx.err(
                    item,
                    format!("`{key}` must be a string, found {}", type_name(other)),
                )),
            },
        }
    }

    fn req_str(&self, key: &str) -> Result<String, RuleError> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    fn opt_int(&self, key: &str) -> Result<Option<(i64, usize)>, RuleError> {
        match get(self.table, key) {
            None => Ok(None),
            Some(item) => match item.get_ref() {
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                    .map(|n| Some((n, item.span().start)))
                    .map_err(|_| self.ctx.err(item, format!("`{key}` is out of range"))),
                other => Err(self.ctx.err(
                    item,
                    format!("`{key}` must be an integer, found {}", type_name(other)),
                )),
            },
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, RuleError> {
        match get(self.table, key) {
            None => Ok(Vec::new()),
            Some(item) => match item.get_ref() {
                DeValue::Array(items) => items
                    .iter()
                    .map(|v| match v.get_ref() {
                        DeValue::String(s) => Ok(s.to_string()),
                        other => Err(self.ctx.err(
                            v,
                            format!("`{key}` must list strings, found {}", type_name(other)),
                        )),
                    })
                    .collect(),
                other => Err(self.ctx.err(
                    item,
                    format!("`{key}` must be an array of strings, found {}", type_name(other)),
                )),
            },
        }
    }

    fn table(&self, key: &str) -> Result<Option<(&'t Table<'i>, usize)>, RuleError> {
        match get(self.table, key) {
            None => Ok(None),
            Some(item) => match item.get_ref() {
                DeValue::Table(t) => Ok(Some((t, item.span().start))),
                other => Err(self.ctx.err(
                    item,
                    format!("`{key}` must be a table, found {}", type_name(other)),
                )),
            },
        }
    }

    /// An array of tables (`[[key]]`), each with its start offset.
    fn tables(&self, key: &str) -> Result<Vec<(&'t Table<'i>, usize)>, RuleError> {
        match get(self.table, key) {
            None => Ok(Vec::new()),
            Some(item) => match item.get_ref() {
                DeValue::Array(items) => items
                    .iter()
                    .map(|v| match v.get_ref() {
                        DeValue::Table(t) => Ok((t, v.span().start)),
                        other => Err(self.ctx.err(
                            v,
                            format!("`{key}` entries must be tables, found {}", type_name(other)),
                        )),
                    })
                    .collect(),
                other => Err(self.ctx.err(
                    item,
                    format!("`{key}` must be an array of tables, found {}", type_name(other)),
                )),
            },
        }
    }

    fn sub<'c2>(&'c2 self, table: &'t Table<'i>, at: usize, name: &'static str) -> Fields<'c2, 't, 'i> {
        Fields {
            ctx: self.ctx,
            table,
            at,
            name,
        }
    }
}

const RULE_TYPES: &[&str] = &[
    "query",
    "saved_query",
    "eql",
    "esql",
    "threshold",
    "threat_match",
    "machine_learning",
    "new_terms",
];
const QUERY_TYPES: &[&str] = &["query", "eql", "esql", "new_terms", "threshold", "threat_match"];
const SEVERITIES: &[&str] = &["low", "medium", "high", "critical"];

fn default_language(rule_type: &str) -> Option<&'static str> {
    match rule_type {
        "query" | "new_terms" | "threshold" | "threat_match" => Some("kuery"),
        "eql" => Some("eql"),
        "esql" => Some("esql"),
        _ => None,
    }
}

/// Parses one rule file. `source` names it in errors and in [`Rule::source`].
pub fn parse_rule(text: &str, source: &str) -> Result<Rule, RuleError> {
    let ctx = Ctx { text, source };
    let doc = DeTable::parse(text).map_err(|e| RuleError {
        source: source.to_string(),
        message: format!("invalid TOML: {}", e.message().trim()),
        line_col: e.span().map(|s| line_col(text, s.start)),
    })?;
    let top = Fields {
        ctx: &ctx,
        table: doc.get_ref(),
        at: 0,
        name: "file",
    };
    // `[metadata]` is optional but, when present, must be a table.
    top.table("metadata")?;
    let Some((rule_table, rule_at)) = top.table("rule")? else {
        return Err(RuleError {
            source: source.to_string(),
            message: "not a detection rule: the file has no [rule] table".into(),
            line_col: None,
        });
    };
    let f = top.sub(rule_table, rule_at, "rule");

    let rule_id = f.req_str("rule_id")?;
    let name = f.req_str("name")?;
    let description = f.req_str("description")?;
    let rule_type = f.req_str("type")?;
    if !RULE_TYPES.contains(&rule_type.as_str()) {
        let item = get(rule_table, "type").expect("type is present");
        return Err(ctx.err(
            item,
            format!(
                "unknown rule type {rule_type:?} (known: {})",
                RULE_TYPES.join(", ")
            ),
        ));
    }
    let severity = f.req_str("severity")?;
    if !SEVERITIES.contains(&severity.as_str()) {
        let item = get(rule_table, "severity").expect("severity is present");
        return Err(ctx.err(
            item,
            format!("severity {severity:?} is not one of {}", SEVERITIES.join(", ")),
        ));
    }
    let (risk_score, risk_at) = f.opt_int("risk_score")?.ok_or_else(|| f.missing("risk_score"))?;
    if !(0..=100).contains(&risk_score) {
        return Err(ctx.err_at(risk_at, format!("risk_score {risk_score} is not within 0..=100")));
    }
    let query = f.opt_str("query")?;
    if query.is_none() && QUERY_TYPES.contains(&rule_type.as_str()) {
        return Err(f.missing("query"));
    }
    let language = f
        .opt_str("language")?
        .or_else(|| default_language(&rule_type).map(str::to_string));
    let version = match f.opt_int("version")? {
        None => 1,
        Some((v, at)) if v < 1 => return Err(ctx.err_at(at, format!("version {v} must be at least 1"))),
        Some((v, _)) => v,
    };
    let max_signals = match f.opt_int("max_signals")? {
        None => DEFAULT_MAX_SIGNALS,
        Some((v, at)) if v < 1 => {
            return Err(ctx.err_at(at, format!("max_signals {v} must be at least 1")));
        }
        Some((v, _)) => v as usize,
    };

    let interval = f
        .opt_str("interval")?
        .unwrap_or_else(|| DEFAULT_INTERVAL.to_string());
    let interval_nanos = parse_interval(&interval).map_err(|m| match get(rule_table, "interval") {
        Some(item) => ctx.err(item, m),
        None => ctx.err_at(rule_at, m),
    })?;
    let from = f.opt_str("from")?.unwrap_or_else(|| DEFAULT_FROM.to_string());
    let lookback_nanos = parse_from(&from).map_err(|m| match get(rule_table, "from") {
        Some(item) => ctx.err(item, m),
        None => ctx.err_at(rule_at, m),
    })?;

    let mut index = f.strings("index")?;
    if index.is_empty() && rule_type == "esql" {
        index = query.as_deref().map(esql_from_patterns).unwrap_or_default();
    }

    let threat = f
        .tables("threat")?
        .into_iter()
        .map(|(t, at)| parse_threat(&f.sub(t, at, "rule.threat")))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Rule {
        source: source.to_string(),
        rule_id,
        name,
        description,
        version,
        rule_type,
        language,
        query,
        index,
        interval,
        from,
        interval_nanos,
        lookback_nanos,
        max_signals,
        severity,
        risk_score,
        tags: f.strings("tags")?,
        references: f.strings("references")?,
        threat,
        timestamp_override: f.opt_str("timestamp_override")?,
        note: f.opt_str("note")?,
        setup: f.opt_str("setup")?,
        building_block_type: f.opt_str("building_block_type")?,
        raw: table_to_json(doc.get_ref()),
    })
}

fn parse_ref(f: &Fields<'_, '_, '_>) -> Result<ThreatRef, RuleError> {
    Ok(ThreatRef {
        id: f.req_str("id")?,
        name: f.req_str("name")?,
        reference: f.req_str("reference")?,
    })
}

fn parse_threat(f: &Fields<'_, '_, '_>) -> Result<Threat, RuleError> {
    let framework = f.req_str("framework")?;
    let (tactic_table, tactic_at) = f.table("tactic")?.ok_or_else(|| f.missing("tactic"))?;
    let tactic = parse_ref(&f.sub(tactic_table, tactic_at, "rule.threat.tactic"))?;
    let technique = f
        .tables("technique")?
        .into_iter()
        .map(|(t, at)| {
            let tf = f.sub(t, at, "rule.threat.technique");
            let r = parse_ref(&tf)?;
            let subtechnique = tf
                .tables("subtechnique")?
                .into_iter()
                .map(|(s, at)| parse_ref(&tf.sub(s, at, "rule.threat.technique.subtechnique")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Technique {
                id: r.id,
                name: r.name,
                reference: r.reference,
                subtechnique,
            })
        })
        .collect::<Result<Vec<_>, RuleError>>()?;
    Ok(Threat {
        framework,
        tactic,
        technique,
    })
}

/// The index patterns of an ES|QL query's `FROM` command, read lexically: the comma-separated
/// names after `FROM` up to `METADATA`, a pipe or the end. Quoted names are unquoted. Returns
/// nothing when the query does not start with `FROM`.
pub(crate) fn esql_from_patterns(query: &str) -> Vec<String> {
    let q = strip_esql_comments(query);
    let q = q.trim_start();
    if q.len() < 4 || !q[..4].eq_ignore_ascii_case("from") {
        return Vec::new();
    }
    let rest = &q[4..];
    if !rest.starts_with(char::is_whitespace) {
        return Vec::new();
    }
    let end = rest.find('|').unwrap_or(rest.len());
    let mut out = Vec::new();
    for token in rest[..end].split(',') {
        let mut words = token.split_whitespace();
        let Some(first) = words.next() else { continue };
        if first.eq_ignore_ascii_case("metadata") {
            break;
        }
        out.push(first.trim_matches('"').to_string());
        if words.next().is_some_and(|w| w.eq_ignore_ascii_case("metadata")) {
            break;
        }
    }
    out
}

/// Removes `//` line comments and `/* */` block comments outside double-quoted strings.
fn strip_esql_comments(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    let mut chars = q.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if c == '"' {
                in_str = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_str = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

fn value_to_json(v: &DeValue<'_>) -> serde_json::Value {
    match v {
        DeValue::String(s) => serde_json::Value::String(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => serde_json::Value::from(n),
            Err(_) => serde_json::Value::String(i.as_str().to_string()),
        },
        DeValue::Float(f) => {
            let text = f.as_str();
            let parsed: Option<f64> = match text.trim_start_matches(['+', '-']) {
                "inf" | "nan" => None,
                _ => text.parse().ok(),
            };
            parsed
                .and_then(serde_json::Number::from_f64)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|| serde_json::Value::String(text.to_string()))
        }
        DeValue::Boolean(b) => serde_json::Value::Bool(*b),
        DeValue::Datetime(d) => serde_json::Value::String(d.to_string()),
        DeValue::Array(items) => {
            serde_json::Value::Array(items.iter().map(|i| value_to_json(i.get_ref())).collect())
        }
        DeValue::Table(t) => table_to_json(t),
    }
}

fn table_to_json(t: &Table<'_>) -> serde_json::Value {
    let mut entries: Vec<(&Spanned<toml::de::DeString<'_>>, &Item<'_>)> = t.iter().collect();
    // keep the order of the file
    entries.sort_by_key(|(k, _)| k.span().start);
    serde_json::Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.get_ref().to_string(), value_to_json(v.get_ref())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 7), (2, 4));
        assert_eq!(line_col(t, 8), (3, 1));
    }

    #[test]
    fn esql_from_clause() {
        assert_eq!(
            esql_from_patterns("from logs-kubernetes.audit_logs-* metadata _id, _index, _version\n| where x"),
            vec!["logs-kubernetes.audit_logs-*"]
        );
        assert_eq!(
            esql_from_patterns("// c\nFROM logs-aws*, logs-gcp*,\"logs-azure*\" METADATA _id | keep a"),
            vec!["logs-aws*", "logs-gcp*", "logs-azure*"]
        );
        assert_eq!(esql_from_patterns("FROM a"), vec!["a"]);
        assert!(esql_from_patterns("ROW a = 1").is_empty());
        assert!(esql_from_patterns("fromx a").is_empty());
    }
}
