//! Parse and analysis errors: Elasticsearch-like messages, 1-based line:column, and a
//! rendered snippet with a caret.

use events::Catalog;

fn err(q: &str) -> esql::Diagnostic {
    esql::compile(q, &Catalog::ecs()).expect_err("an error")
}

#[test]
fn unknown_column_is_an_analysis_error() {
    let q = "from logs-*\n| where foo == 1";
    let d = err(q);
    assert_eq!(d.message(), "Unknown column [foo]");
    assert_eq!(d.line_col(), (2, 9));
    assert_eq!(&q[d.span()], "foo");
    assert_eq!(d.to_string(), "line 2:9: Unknown column [foo]");
    let rendered = d.render("rule.toml", q);
    let expected = "  × line 2:9: Unknown column [foo]
   ╭─[rule.toml:2:9]
 1 │ from logs-*
 2 │ | where foo == 1
   ·         ─┬─
   ·          ╰── here
   ╰────
";
    assert_eq!(rendered, expected, "\n{rendered}");
    assert!(!rendered.contains('\u{1b}'), "no ANSI colours");
}

#[test]
fn mismatched_input_names_the_token() {
    let d = err("from logs-* | wher x > 1");
    assert!(
        d.message()
            .starts_with("mismatched input 'wher' expecting {'dissect', 'drop',"),
        "{}",
        d.message()
    );
    assert_eq!(d.line_col(), (1, 15));
    let d = err("from logs-* | where x >");
    assert!(
        d.message().starts_with("mismatched input '<EOF>' expecting"),
        "{}",
        d.message()
    );
}

#[test]
fn type_and_function_errors() {
    assert_eq!(
        err("from logs-* | eval x = nosuch(1)").message(),
        "Unknown function [nosuch]"
    );
    assert_eq!(
        err("from logs-* | where count(*) > 1").message(),
        "aggregate function [count(*)] not allowed outside STATS command"
    );
    assert_eq!(
        err("from logs-* | keep nosuch*").message(),
        "No matches found for pattern [nosuch*]"
    );
    assert!(
        err("from logs-* | where user.name == 1")
            .message()
            .contains("user.name == 1")
    );
}

#[test]
fn near_misses_get_a_suggestion() {
    assert_eq!(
        err("from logs-* | where user.nme == \"x\"").message(),
        "Unknown column [user.nme], did you mean [user.name]?"
    );
}
