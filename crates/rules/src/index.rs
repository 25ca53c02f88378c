//! Elasticsearch index-pattern matching, used to route an event (by its `_index`) to the rules
//! whose `index` patterns (or ES|QL `FROM`) would search it.
//!
//! Semantics, after Elasticsearch's multi-target syntax: a pattern may itself be a
//! comma-separated list; `*` matches any run of characters (the only wildcard); expressions are
//! read left to right and a `-pattern` removes what the expressions before it matched; a
//! `cluster:` prefix (cross-cluster search) is ignored, since crowsnest has one local cluster.
//! Wildcards do not match hidden (dot-prefixed) names unless the pattern itself starts with a
//! dot. A data stream's backing index `.ds-<stream>[-yyyy.MM.dd-nnnnnn]` is matched by any
//! pattern that matches `<stream>`, as a search on the data stream returns hits from its
//! backing indices.

/// True when `index` is one the patterns would search.
pub fn index_matches(patterns: &[String], index: &str) -> bool {
    let names = candidate_names(index);
    let mut matched = false;
    for expr in patterns.iter().flat_map(|p| p.split(',')) {
        let expr = expr.trim();
        if expr.is_empty() {
            continue;
        }
        let (exclude, expr) = match expr.strip_prefix('-') {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, expr),
        };
        let expr = strip_cluster(expr);
        let hit = names.iter().any(|n| pattern_matches(expr, n));
        if exclude {
            if hit {
                matched = false;
            }
        } else if hit {
            matched = true;
        }
    }
    matched
}

/// `cluster:logs-*` → `logs-*`. Local index names cannot contain `:`.
fn strip_cluster(expr: &str) -> &str {
    match expr.rfind(':') {
        Some(i) => &expr[i + 1..],
        None => expr,
    }
}

/// The index itself and, for a backing index, its data stream's name.
fn candidate_names(index: &str) -> Vec<&str> {
    let mut out = vec![index];
    if let Some(stream) = index.strip_prefix(".ds-") {
        out.push(strip_generation(stream));
    }
    out
}

/// Removes a `-yyyy.MM.dd-nnnnnn` suffix (the backing-index date and generation), if present.
fn strip_generation(name: &str) -> &str {
    let Some((head, generation)) = name.rsplit_once('-') else {
        return name;
    };
    if generation.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
        return name;
    }
    let Some((stream, date)) = head.rsplit_once('-') else {
        return name;
    };
    let is_date = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'.'
            } else {
                b.is_ascii_digit()
            }
        });
    if is_date { stream } else { name }
}

/// `*`-wildcard match of a whole name. A wildcard pattern not starting with `.` does not match
/// a hidden (dot-prefixed) name.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    events::glob::wildcard_match(pattern.as_bytes(), name.as_bytes(), false, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(patterns: &[&str], index: &str) -> bool {
        let p: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        index_matches(&p, index)
    }

    #[test]
    fn wildcards_and_exact_names() {
        assert!(m(
            &["logs-kubernetes.audit_logs-*"],
            "logs-kubernetes.audit_logs-default"
        ));
        assert!(!m(
            &["logs-kubernetes.audit_logs-*"],
            "logs-kubernetes.container_logs-default"
        ));
        assert!(m(&["logs-*"], "logs-x"));
        assert!(m(&["*"], "anything"));
        assert!(m(
            &["logs-cloud_defend.process*"],
            "logs-cloud_defend.process-default"
        ));
        assert!(m(&["a*b*c"], "aXXbYYc"));
        assert!(!m(&["a*b*c"], "aXXbYYcd"));
        assert!(m(&["exact"], "exact"));
        assert!(!m(&["exact"], "exact2"));
        assert!(!m(&[], "logs-x"));
    }

    #[test]
    fn comma_lists_and_exclusions() {
        assert!(m(&["metrics-*,logs-*"], "logs-a"));
        assert!(m(&["logs-*,-logs-b*"], "logs-a"));
        assert!(!m(&["logs-*,-logs-b*"], "logs-b1"));
        // an exclusion only removes what came before it
        assert!(m(&["-logs-b*", "logs-*"], "logs-b1"));
        assert!(!m(&["logs-*", "-logs-b1"], "logs-b1"));
        assert!(m(&["logs-*", "-logs-b1", "logs-b*"], "logs-b1"));
    }

    #[test]
    fn cluster_prefixes_are_ignored() {
        assert!(m(
            &["remote:logs-kubernetes.audit_logs-*"],
            "logs-kubernetes.audit_logs-default"
        ));
        assert!(m(&["*:logs-*"], "logs-a"));
    }

    #[test]
    fn data_stream_backing_indices_and_hidden_names() {
        let p = ["logs-kubernetes.audit_logs-*"];
        assert!(m(&p, ".ds-logs-kubernetes.audit_logs-default"));
        assert!(m(&p, ".ds-logs-kubernetes.audit_logs-default-2025.03.04-000001"));
        assert!(!m(
            &p,
            ".ds-logs-endpoint.events.process-default-2025.03.04-000001"
        ));
        // a bare wildcard does not reach hidden indices, a dot pattern does
        assert!(!m(&["*"], ".kibana"));
        assert!(m(&[".kib*"], ".kibana"));
        assert!(m(&[".kibana"], ".kibana"));
    }
}
