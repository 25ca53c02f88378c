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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_rule_with_its_status() {
        let rules = crate::bundled();
        let rows: Vec<(Rule, RuleStatus)> = rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let status = if i == 3 {
                    RuleStatus {
                        runnable: false,
                        reason: Some("needs Defend for Containers events".into()),
                    }
                } else {
                    RuleStatus {
                        runnable: true,
                        reason: None,
                    }
                };
                (r, status)
            })
            .collect();
        let text = render_rule_table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        // border, header, separator, five rows, border
        assert_eq!(lines.len(), 9, "{text}");
        for h in [
            "name", "rule_id", "type", "language", "severity", "risk", "interval", "from", "index", "status",
        ] {
            assert!(lines[1].contains(h), "{h}");
        }
        let row = |id: &str| *lines.iter().find(|l| l.contains(id)).unwrap();
        let r2 = row("c2a91e88-4f4b-4e1d-9c7b-8fde112a9403");
        for cell in [
            "Kubernetes Multi-Resource Discovery",
            "esql",
            "medium",
            "47",
            "5m",
            "now-11m",
            "runnable",
        ] {
            assert!(r2.contains(cell), "{cell}: {r2}");
        }
        let r3 = row("5d1c962d-5d2a-48d4-bdcf-e980e3914947");
        assert!(
            r3.contains("logs-cloud_defend.process*, logs-kubernetes.audit_logs-*"),
            "{r3}"
        );
        assert!(
            r3.contains("unsupported: needs Defend for Containers events"),
            "{r3}"
        );
        assert!(render_rule_table(&[]).lines().count() >= 3);
    }
}
