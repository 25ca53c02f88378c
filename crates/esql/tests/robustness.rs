//! No input makes the engine panic: every scalar function with assorted argument counts and
//! types, odd query text (multi-byte characters, truncations of real queries).

use events::Catalog;

const ARGS: &[&str] = &[
    "null",
    "1",
    "-7",
    "2.5",
    "\"a,b\"",
    "\"10.0.0.1\"",
    "[1, 2, 3]",
    "[\"x\", \"y\"]",
    "true",
    "to_ip(\"::1\")",
    "to_datetime(\"2024-01-01\")",
    "1 day",
    "2 hours",
    "\"1.2.3.0/24\"",
    "\"\"",
];

#[test]
fn every_function_with_assorted_arguments() {
    let ctx = esql::ExecContext { now_nanos: 0 };
    for f in esql::functions::SCALARS {
        for n in 0..=4usize {
            for start in 0..ARGS.len() {
                let args: Vec<&str> = (0..n).map(|k| ARGS[(start + k * 5) % ARGS.len()]).collect();
                let q = format!("ROW x = {f}({})", args.join(", "));
                if let Ok(query) = esql::compile(&q, &Catalog::new()) {
                    let r = std::panic::catch_unwind(|| esql::run(&query, std::iter::empty(), ctx));
                    assert!(r.is_ok(), "panic running {q}");
                }
            }
        }
    }
}

#[test]
fn every_aggregate_with_assorted_arguments() {
    let ctx = esql::ExecContext { now_nanos: 0 };
    for f in esql::agg::AGGREGATES {
        for n in 0..=3usize {
            for start in 0..ARGS.len() {
                let args: Vec<&str> = (0..n).map(|k| ARGS[(start + k * 5) % ARGS.len()]).collect();
                let q = format!(
                    "ROW x = [1, 2] | MV_EXPAND x | STATS a = {f}({}) BY x",
                    args.join(", ")
                );
                if let Ok(query) = esql::compile(&q, &Catalog::new()) {
                    let r = std::panic::catch_unwind(|| esql::run(&query, std::iter::empty(), ctx));
                    assert!(r.is_ok(), "panic running {q}");
                }
            }
        }
    }
}

#[test]
fn odd_query_text_never_panics() {
    let base = "from logs-* metadata _id | where user.name == \"é\" and source.ip in (\"::1\") \
                | eval t = date_trunc(1 minute, @timestamp) | stats c = count(*) by t | keep c | sort c desc | limit 3";
    let catalog = Catalog::ecs();
    for end in 0..=base.len() {
        if base.is_char_boundary(end)
            && let Err(d) = esql::compile(&base[..end], &catalog)
        {
            let text = d.render("q", &base[..end]);
            assert!(text.contains(d.message()), "{text}");
        }
    }
    for q in [
        "é",
        "from a | where x =é",
        "from a | eval x = \"unterminated",
        "row a = `x",
        "from a | where a:é",
        "/*",
    ] {
        let _ = esql::compile(q, &catalog);
    }
}
