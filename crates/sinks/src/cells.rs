//! Rendering one value as text for tables and CSV: strings bare, `null` for null in tables
//! (empty in CSV), multi-values as `[a, b]` (as Elasticsearch's text formats print them),
//! objects as compact JSON.

use events::Value;

/// The text of a value in a table cell.
pub(crate) fn table_cell(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(table_cell).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// The text of a value in a CSV field: like a table cell, but null is empty.
pub(crate) fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => table_cell(other),
    }
}

/// Shortens `s` to at most `max` characters, marking the cut with `…`.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One line: newlines and tabs become spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        assert_eq!(table_cell(&Value::Null), "null");
        assert_eq!(csv_cell(&Value::Null), "");
        assert_eq!(table_cell(&Value::from(vec!["a", "b"])), "[a, b]");
        assert_eq!(table_cell(&Value::Int(3)), "3");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(one_line("a\n b\tc"), "a b c");
    }
}
