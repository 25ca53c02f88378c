//! Turning rule files into runnable detections.
//!
//! A rule runs when its type and language are supported (ES|QL and EQL today) and its query
//! compiles against the field catalog. Every other rule becomes a [`RuleProblem`] that says
//! which file, why, and for query errors the positioned diagnostic: never a crash, never a
//! silent skip.

use events::Catalog;
use rules::Rule;

/// The query of a runnable rule.
pub enum Detection {
    Esql(esql::Query),
    Eql(eql::Query),
}

/// A rule with its compiled query and the index patterns it reads.
pub struct CompiledRule {
    pub rule: Rule,
    pub detection: Detection,
    /// The index patterns the query sees: ES|QL's `FROM`, or the rule's `index` for EQL.
    pub indices: Vec<String>,
}

/// Fields an EQL alert shows of its source events besides those the query reads: the context an
/// analyst needs (who, from where, what, on which pod), without the bulky request and response
/// objects. A name selects the field and everything under it.
pub const ALERT_CONTEXT_FIELDS: &[&str] = &[
    "@timestamp",
    "event",
    "user",
    "source",
    "user_agent",
    "process",
    "container",
    "orchestrator",
    "host",
    "data_stream",
    "kubernetes.audit.auditID",
    "kubernetes.audit.annotations",
    "kubernetes.audit.level",
    "kubernetes.audit.objectRef",
    "kubernetes.audit.requestURI",
    "kubernetes.audit.responseStatus",
    "kubernetes.audit.sourceIPs",
    "kubernetes.audit.stage",
    "kubernetes.audit.user",
    "kubernetes.audit.userAgent",
    "kubernetes.audit.verb",
];

impl CompiledRule {
    /// The document fields this rule needs: what its query reads, its time fields, and for
    /// per-event alerts (EQL) the context fields alerts show.
    pub fn needed_fields(&self) -> Vec<String> {
        let mut fields = self.query_fields();
        if let Detection::Eql(_) = &self.detection {
            fields.extend(ALERT_CONTEXT_FIELDS.iter().map(|s| s.to_string()));
            fields.sort();
            fields.dedup();
        }
        fields
    }

    /// The fields evaluating this rule reads: [`CompiledRule::needed_fields`] without the
    /// context fields alerts show (those can be read later, for the events of an alert).
    pub fn query_fields(&self) -> Vec<String> {
        let mut fields = match &self.detection {
            Detection::Esql(q) => q.needed_fields(),
            Detection::Eql(q) => q.needed_fields(),
        };
        fields.push(self.rule.time_field().to_string());
        fields.push("@timestamp".into());
        fields.push("event.ingested".into());
        fields.sort();
        fields.dedup();
        fields
    }

    pub fn language(&self) -> &'static str {
        match self.detection {
            Detection::Esql(_) => "esql",
            Detection::Eql(_) => "eql",
        }
    }
}

/// Why a rule cannot run.
#[derive(Debug, Clone)]
pub struct RuleProblem {
    pub source: String,
    pub name: String,
    pub rule_id: String,
    /// One line: what is wrong.
    pub reason: String,
    /// The positioned diagnostic with a snippet, for query errors.
    pub detail: Option<String>,
    /// The rule, when the file loaded but the rule cannot run.
    pub rule: Option<Box<Rule>>,
}

impl RuleProblem {
    /// The problem as one line, for warnings.
    pub fn reason_line(&self) -> String {
        format!(
            "{}: rule \"{}\" cannot run: {}",
            self.source, self.name, self.reason
        )
    }

    /// A file that did not load as a rule.
    pub fn unloadable(source: &str, reason: String) -> RuleProblem {
        RuleProblem {
            source: source.to_string(),
            name: "?".into(),
            rule_id: String::new(),
            reason,
            detail: None,
            rule: None,
        }
    }
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: rule \"{}\" cannot run: {}",
            self.source, self.name, self.reason
        )?;
        if let Some(d) = &self.detail {
            write!(f, "\n{d}")?;
        }
        Ok(())
    }
}

/// Compiles one rule.
pub fn compile_rule(rule: Rule, catalog: &Catalog) -> Result<CompiledRule, Box<RuleProblem>> {
    let problem = |rule: &Rule, reason: String, detail: Option<String>| {
        Box::new(RuleProblem {
            source: rule.source.clone(),
            name: rule.name.clone(),
            rule_id: rule.rule_id.clone(),
            reason,
            detail,
            rule: Some(Box::new(rule.clone())),
        })
    };
    let language = rule.language.clone().unwrap_or_else(|| rule.rule_type.clone());
    let Some(query) = rule.query.clone() else {
        return Err(problem(
            &rule,
            format!("rule type `{}` has no query", rule.rule_type),
            None,
        ));
    };
    let name = format!("{} (query)", rule.source);
    let query_problem = |lang: &str, (line, col): (usize, usize), message: &str, detail: String| {
        problem(
            &rule,
            format!("{lang} error at query {line}:{col}: {message}"),
            Some(detail),
        )
    };
    match (rule.rule_type.as_str(), language.as_str()) {
        ("esql", _) => match esql::compile(&query, catalog) {
            Ok(q) => {
                let indices = q.indices().to_vec();
                Ok(CompiledRule {
                    rule,
                    detection: Detection::Esql(q),
                    indices,
                })
            }
            Err(d) => {
                let (line, col) = d.line_col();
                Err(query_problem(
                    "ES|QL",
                    (line, col),
                    d.message(),
                    d.render(&name, &query),
                ))
            }
        },
        ("eql", _) => match eql::compile(&query, catalog) {
            Ok(q) => {
                let indices = rule.index.clone();
                Ok(CompiledRule {
                    rule,
                    detection: Detection::Eql(q),
                    indices,
                })
            }
            Err(d) => {
                let (line, col) = d.line_col();
                Err(query_problem(
                    "EQL",
                    (line, col),
                    d.message(),
                    d.render(&name, &query),
                ))
            }
        },
        (ty, lang) => Err(problem(
            &rule,
            format!("rule type `{ty}` (language `{lang}`) is not supported yet; supported: esql, eql"),
            None,
        )),
    }
}

/// Compiles every rule; returns the runnable ones and the problems of the others.
pub fn compile_rules(rules: Vec<Rule>, catalog: &Catalog) -> (Vec<CompiledRule>, Vec<RuleProblem>) {
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for rule in rules {
        match compile_rule(rule, catalog) {
            Ok(c) => ok.push(c),
            Err(p) => problems.push(*p),
        }
    }
    (ok, problems)
}
