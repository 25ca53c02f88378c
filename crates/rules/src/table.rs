//! A text table of loaded rules for the terminal: name, rule id, type, language, severity, risk,
//! schedule, indices and whether crowsnest can run the rule (and why not).

use comfy_table::{ContentArrangement, Table, presets};

use crate::Rule;

/// Whether a rule can run here; `reason` says why not (or adds a remark when it can).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleStatus {
    pub runnable: bool,
    pub reason: Option<String>,
}

/// Renders the rules as a table, one row per rule, in the given order.
pub fn render_rule_table(rows: &[(Rule, RuleStatus)]) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "name", "rule_id", "type", "language", "severity", "risk", "interval", "from", "index", "status",
        ]);
    for (rule, status) in rows {
        let state = match (status.runnable, &status.reason) {
            (true, None) => "runnable".to_string(),
            (true, Some(r)) => format!("runnable ({r})"),
            (false, None) => "unsupported".to_string(),
            (false, Some(r)) => format!("unsupported: {r}"),
        };
        table.add_row(vec![
            rule.name.clone(),
            rule.rule_id.clone(),
            rule.rule_type.clone(),
            rule.language.clone().unwrap_or_else(|| "-".into()),
            rule.severity.clone(),
            rule.risk_score.to_string(),
            rule.interval.clone(),
            rule.from.clone(),
            if rule.index.is_empty() {
                "-".into()
            } else {
                rule.index.join(", ")
            },
            state,
        ]);
    }
    table.to_string()
}
