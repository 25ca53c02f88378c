//! Runs Elasticsearch's own ES|QL spec tests (`*.csv-spec` under `shared/conformance/esql`)
//! against their datasets and compares columns, rows (as multisets unless the query sorts) and
//! warnings. Prints a pass/fail/skip table; fails when fewer cases pass than the threshold in
//! `tests/conformance-threshold.txt`. Set `ESQL_CONFORMANCE_VERBOSE=1` to print each failure
//! and each skipped case with its reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use events::{Catalog, Document, FieldType, Map, Value};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/conformance/esql");
const THRESHOLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance-threshold.txt");

#[derive(Debug, Default)]
struct Case {
    name: String,
    line: usize,
    query: String,
    warnings: Vec<String>,
    warning_regexes: Vec<String>,
    ignore_order: bool,
    header: Vec<(String, String)>,
    rows: Vec<Vec<String>>,
}

fn parse_spec(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((ln, line)) = lines.next() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") || t.starts_with('#') {
            continue;
        }
        let mut case = Case {
            name: t.to_string(),
            line: ln + 1,
            ..Default::default()
        };
        // query
        let mut q = Vec::new();
        for (_, l) in lines.by_ref() {
            let lt = l.trim();
            let preamble = q.is_empty()
                && lt.split_once(':').is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                });
            if preamble || (q.is_empty() && lt.is_empty()) {
                continue;
            }
            if lt.is_empty() && case.name.ends_with("-Ignore") {
                // some ignored cases lack the closing `;`
                break;
            }
            if lt.starts_with("//") || lt.starts_with('#') {
                continue;
            }
            if let Some(stripped) = l.trim_end().strip_suffix("\\;") {
                q.push(format!("{stripped};"));
                continue;
            }
            if let Some(stripped) = l.trim_end().strip_suffix(';') {
                q.push(stripped.to_string());
                break;
            }
            q.push(l.to_string());
        }
        case.query = q.join("\n");
        // warnings, options, header, rows
        let mut header_seen = false;
        for (_, l) in lines.by_ref() {
            let lt = l.trim();
            if lt == ";" {
                break;
            }
            if lt.is_empty() || lt.starts_with("//") || lt.starts_with('#') {
                continue;
            }
            if !header_seen {
                if let Some(w) = lt.strip_prefix("warning:") {
                    case.warnings.push(w.to_string());
                    continue;
                }
                if let Some(w) = lt.strip_prefix("warningRegex:") {
                    case.warning_regexes.push(w.to_string());
                    continue;
                }
                if let Some(v) = lt.strip_prefix("ignoreOrder:") {
                    case.ignore_order = v.trim() == "true";
                    continue;
                }
                if lt.starts_with("warningWithFromSource") {
                    continue;
                }
                header_seen = true;
                case.header = lt
                    .split('|')
                    .map(|c| {
                        let c = c.trim();
                        match c.rsplit_once(':') {
                            Some((n, t)) => (n.trim().to_string(), t.trim().to_string()),
                            None => (c.to_string(), String::new()),
                        }
                    })
                    .collect();
                continue;
            }
            let body = lt.strip_suffix(';').unwrap_or(lt);
            case.rows.push(split_cells(body));
            if lt.ends_with(';') {
                break;
            }
        }
        cases.push(case);
    }
    cases
}

/// Splits a row on `|` outside `[...]`, trimming cells.
fn split_cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '[' => {
                depth += 1;
                cur.push(c)
            }
            ']' => {
                depth -= 1;
                cur.push(c)
            }
            '|' if depth <= 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            c => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

struct Dataset {
    catalog: Catalog,
    docs: Vec<Document>,
}

fn csv_split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            '[' if !quoted => {
                depth += 1;
                cur.push(c)
            }
            ']' if !quoted => {
                depth -= 1;
                cur.push(c)
            }
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn typed(v: &str, ty: &str) -> Value {
    let v = v.trim();
    match ty {
        "integer" | "long" | "short" | "byte" | "unsigned_long" => v
            .parse::<i64>()
            .map(Value::Int)
            .unwrap_or_else(|_| Value::from(v)),
        "double" | "float" | "half_float" | "scaled_float" => v
            .parse::<f64>()
            .map(Value::Float)
            .unwrap_or_else(|_| Value::from(v)),
        "boolean" => match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::from(v),
        },
        _ => Value::from(v),
    }
}

fn load_dataset(name: &str) -> Option<Dataset> {
    let dir = Path::new(DIR);
    let csv = std::fs::read_to_string(dir.join("data").join(format!("{name}.csv"))).ok()?;
    let mapping_file = match name {
        "employees" => Some("mapping-default.json"),
        "hosts" => Some("mapping-hosts.json"),
        _ => None,
    };
    let mut catalog = match mapping_file {
        Some(f) => {
            let text = std::fs::read_to_string(dir.join("index/mappings").join(f)).ok()?;
            Catalog::from_mapping(&Value::from_json(&text).ok()?).ok()?
        }
        None => Catalog::new(),
    };
    let mut lines = csv.lines();
    let header: Vec<(String, String)> = csv_split(lines.next()?)
        .into_iter()
        .map(|h| {
            let h = h.trim().to_string();
            match h.split_once(':') {
                Some((n, t)) => (n.trim().to_string(), t.trim().to_string()),
                None => (h, "keyword".to_string()),
            }
        })
        .collect();
    for (n, t) in &header {
        if !catalog.contains(n) {
            catalog.insert(n, FieldType::parse(t).unwrap_or(FieldType::Keyword));
        }
    }
    let mut docs = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut source = Map::new();
        for ((n, t), cell) in header.iter().zip(csv_split(line)) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let v = if let Some(inner) = cell.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
                if inner.trim().is_empty() {
                    continue;
                }
                Value::Array(inner.split(',').map(|x| typed(x, t)).collect())
            } else {
                typed(cell, t)
            };
            source.insert(n.clone(), v);
        }
        let mut d = Document::new(source);
        d.id = format!("{name}-{i}");
        d.index = name.to_string();
        docs.push(d);
    }
    Some(Dataset { catalog, docs })
}

fn norm_type(t: &str) -> String {
    match t {
        "i" | "int" | "integer" | "short" | "byte" => "integer",
        "l" | "long" => "long",
        "d" | "double" => "double",
        "s" | "k" | "keyword" | "string" => "keyword",
        "b" | "bool" | "boolean" => "boolean",
        "date" | "dt" | "datetime" => "date",
        "ul" | "unsigned_long" => "unsigned_long",
        "v" | "version" => "version",
        "txt" | "text" => "text",
        "ip" => "ip",
        other => other,
    }
    .to_string()
}

fn render(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Float(f) => esql::types::format_double(*f),
        Value::Array(items) => format!("[{}]", items.iter().map(render).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn cell_eq(actual: &Value, expected: &str, ty: &str) -> bool {
    let expected = expected.trim();
    match actual {
        Value::Array(items) => {
            let Some(inner) = expected.strip_prefix('[').and_then(|e| e.strip_suffix(']')) else {
                return false;
            };
            let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
            parts.len() == items.len() && items.iter().zip(parts).all(|(a, e)| cell_eq(a, e, ty))
        }
        Value::Null => expected == "null",
        Value::Float(f) => match expected.parse::<f64>() {
            Ok(e) => {
                (f.is_nan() && e.is_nan())
                    || *f == e
                    || ((f - e).abs() <= 1e-9 * f.abs().max(e.abs()).max(1.0))
            }
            Err(_) => render(actual) == expected,
        },
        Value::Str(s) if ty == "ip" => {
            s == expected
                || matches!(
                    (esql::types::parse_ip(s), esql::types::parse_ip(expected)),
                    (Some(a), Some(b)) if a == b
                )
        }
        Value::Str(s) if expected.len() >= 2 && expected.starts_with('"') && expected.ends_with('"') => {
            s == &expected[1..expected.len() - 1]
        }
        Value::Str(s) if ty == "date" => {
            s == expected
                || matches!(
                    (events::time::parse_timestamp(s), events::time::parse_timestamp(expected)),
                    (Some(a), Some(b)) if a == b
                )
        }
        other => other.to_string() == expected,
    }
}

/// Commands and features outside crowsnest's ES|QL surface: such cases are skipped.
fn unsupported(query: &str) -> Option<String> {
    let lower = query.to_ascii_lowercase();
    for cmd in [
        "enrich ",
        "lookup join",
        "lookup_join",
        "| fork",
        "change_point",
        "| sample",
        "completion ",
        "| rerank",
        "| show ",
        "metadata _score",
        "| lookup ",
        "| fuse",
    ] {
        if lower.contains(cmd) {
            return Some(format!(
                "uses `{}`, outside the supported language surface",
                cmd.trim()
            ));
        }
    }
    for ty in [
        "geo_point",
        "geo_shape",
        "cartesian_point",
        "cartesian_shape",
        "aggregate_metric_double",
    ] {
        if lower.contains(ty) {
            return Some(format!("uses the `{ty}` type, outside the supported types"));
        }
    }
    if lower.trim_start().starts_with("set ") {
        return Some("SET settings (time zones, unmapped fields) are not supported".into());
    }
    if lower.trim_start().starts_with("show") || lower.trim_start().starts_with("explain") {
        return Some("SHOW/EXPLAIN source commands are not supported".into());
    }
    None
}

/// The FROM index names (`from a, b metadata ...`).
fn dataset_of(query: &str) -> Option<Vec<String>> {
    let lower = query.trim_start().to_ascii_lowercase();
    let rest = lower.strip_prefix("from")?;
    let list: String = rest.chars().take_while(|c| *c != '|').collect();
    let list = list.split(" metadata ").next().unwrap_or_default();
    Some(
        list.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

fn run_case(case: &Case, datasets: &BTreeMap<String, Option<Dataset>>) -> Outcome {
    if case.name.ends_with("-Ignore") {
        return Outcome::Skip("marked -Ignore upstream".into());
    }
    if let Some(reason) = unsupported(&case.query) {
        return Outcome::Skip(reason);
    }
    let mut catalog = Catalog::new();
    let mut docs: Vec<Document> = Vec::new();
    for pattern in dataset_of(&case.query).unwrap_or_default() {
        // index patterns (`emp*`) match dataset names
        let names: Vec<&String> = datasets
            .keys()
            .filter(|n| esql::analyzer::pattern_matches(&pattern, n))
            .collect();
        if names.is_empty() {
            return Outcome::Skip(format!("dataset `{pattern}` is not part of the conformance data"));
        }
        for name in names {
            match &datasets[name] {
                Some(ds) => {
                    catalog.extend(&ds.catalog);
                    docs.extend(ds.docs.iter().cloned());
                }
                None => return Outcome::Skip(format!("dataset `{name}` could not be loaded")),
            }
        }
    }
    let q = match esql::compile(&case.query, &catalog) {
        Ok(q) => q,
        Err(d) => return Outcome::Fail(format!("compile error: {d}")),
    };
    let ctx = esql::ExecContext {
        now_nanos: events::time::now_nanos(),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| esql::run(&q, docs.iter(), ctx)));
    let result = match result {
        Ok(r) => r,
        Err(_) => return Outcome::Fail("panic during execution".into()),
    };
    // columns
    let actual_cols: Vec<(String, String)> = result
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.data_type.clone()))
        .collect();
    let expected_cols: Vec<(String, String)> = case
        .header
        .iter()
        .map(|(n, t)| (n.clone(), norm_type(t)))
        .collect();
    if case.header.is_empty() {
        return Outcome::Skip("no expected table".into());
    }
    if actual_cols.len() != expected_cols.len()
        || actual_cols
            .iter()
            .zip(&expected_cols)
            .any(|(a, e)| a.0 != e.0 || norm_type(&a.1) != e.1)
    {
        return Outcome::Fail(format!(
            "columns: expected {expected_cols:?}, got {actual_cols:?}"
        ));
    }
    let types: Vec<String> = expected_cols.iter().map(|c| c.1.clone()).collect();
    let row_eq = |a: &Vec<Value>, e: &Vec<String>| {
        a.len() == e.len() && a.iter().zip(e).zip(&types).all(|((x, y), t)| cell_eq(x, y, t))
    };
    // order matters when a SORT comes after the last STATS
    let lower = case.query.to_ascii_lowercase();
    let last_sort = lower.rfind("sort ");
    let last_stats = lower.rfind("stats ");
    let ordered = !case.ignore_order && last_sort.is_some() && last_sort > last_stats;
    let exp = &case.rows;
    let got = &result.rows;
    let show = |rows: &[Vec<Value>]| -> String {
        rows.iter()
            .take(12)
            .map(|r| r.iter().map(render).collect::<Vec<_>>().join(" | "))
            .collect::<Vec<_>>()
            .join("\n      ")
    };
    if exp.len() != got.len() {
        return Outcome::Fail(format!(
            "expected {} rows, got {}:\n      {}",
            exp.len(),
            got.len(),
            show(got)
        ));
    }
    if ordered {
        for (i, (a, e)) in got.iter().zip(exp).enumerate() {
            if !row_eq(a, e) {
                return Outcome::Fail(format!(
                    "row {i}: expected {e:?}, got {:?}",
                    a.iter().map(render).collect::<Vec<_>>()
                ));
            }
        }
    } else {
        let mut used = vec![false; got.len()];
        for e in exp {
            match (0..got.len()).find(|&i| !used[i] && row_eq(&got[i], e)) {
                Some(i) => used[i] = true,
                None => return Outcome::Fail(format!("missing row {e:?}; got:\n      {}", show(got))),
            }
        }
    }
    // Warnings are checked when the case lists some: several upstream cases that certainly
    // warn (multi-valued comparisons, e.g. string.csv-spec `lessThanMultivalue`) list none.
    if case.warnings.is_empty() && case.warning_regexes.is_empty() {
        return Outcome::Pass;
    }
    // Elasticsearch escapes quotes in warning headers
    let actual_warnings: Vec<String> = result.warnings.iter().map(|w| w.replace('"', "\\\"")).collect();
    let mut matched = vec![false; actual_warnings.len()];
    for w in &case.warnings {
        match actual_warnings.iter().position(|a| a == w) {
            Some(i) => matched[i] = true,
            None => return Outcome::Fail(format!("missing warning {w:?}; got {:?}", actual_warnings)),
        }
    }
    for r in &case.warning_regexes {
        let re = match regex::Regex::new(r) {
            Ok(re) => re,
            Err(_) => return Outcome::Skip(format!("warning regex not supported by the regex crate: {r}")),
        };
        let hits: Vec<usize> = (0..actual_warnings.len())
            .filter(|&i| re.is_match(&actual_warnings[i]))
            .collect();
        if hits.is_empty() {
            return Outcome::Fail(format!(
                "missing warning matching {r:?}; got {:?}",
                actual_warnings
            ));
        }
        hits.into_iter().for_each(|i| matched[i] = true);
    }
    if let Some(i) = matched.iter().position(|m| !m) {
        return Outcome::Fail(format!("unexpected warning {:?}", actual_warnings[i]));
    }
    Outcome::Pass
}

#[test]
fn conformance() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv-spec"))
        .collect();
    files.sort();
    let mut datasets = BTreeMap::new();
    for name in ["employees", "hosts", "sample_data"] {
        datasets.insert(name.to_string(), load_dataset(name));
    }
    let verbose = std::env::var("ESQL_CONFORMANCE_VERBOSE").is_ok();
    let (mut tp, mut tf, mut ts) = (0, 0, 0);
    let mut table = vec![
        "| file | pass | fail | skipped |".to_string(),
        "|---|---:|---:|---:|".to_string(),
    ];
    let mut skip_reasons: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let cases = parse_spec(&text);
        let (mut p, mut fl, mut s) = (0, 0, 0);
        for c in &cases {
            match run_case(c, &datasets) {
                Outcome::Pass => p += 1,
                Outcome::Fail(why) => {
                    fl += 1;
                    if verbose {
                        println!(
                            "FAIL {}:{} {}\n    {}\n    => {why}",
                            f.file_name().unwrap().to_string_lossy(),
                            c.line,
                            c.name,
                            c.query.replace('\n', "\n    ")
                        );
                    }
                }
                Outcome::Skip(why) => {
                    s += 1;
                    if verbose {
                        println!(
                            "SKIP {}:{} {}: {why}",
                            f.file_name().unwrap().to_string_lossy(),
                            c.line,
                            c.name
                        );
                    }
                    let key = if why.starts_with("dataset") || why.starts_with("uses") {
                        why.clone()
                    } else {
                        why.split(':').next().unwrap_or(&why).to_string()
                    };
                    *skip_reasons.entry(key).or_default() += 1;
                }
            }
        }
        table.push(format!(
            "| {} | {p} | {fl} | {s} |",
            f.file_name().unwrap().to_string_lossy()
        ));
        tp += p;
        tf += fl;
        ts += s;
    }
    let runnable = tp + tf;
    table.push(format!(
        "| **total** | **{tp}** | **{tf}** | **{ts}** |\n\n{tp} of {runnable} runnable cases pass ({:.1}%).",
        100.0 * tp as f64 / runnable.max(1) as f64
    ));
    println!("{}", table.join("\n"));
    println!("\nskipped, by reason:");
    for (r, n) in &skip_reasons {
        println!("  {n:4}  {r}");
    }
    let threshold: usize = std::fs::read_to_string(THRESHOLD)
        .expect("threshold file")
        .trim()
        .parse()
        .expect("a number");
    assert!(
        tp >= threshold,
        "{tp} cases pass, fewer than the threshold {threshold}"
    );
}
