//! Compile errors carry a position, an Elasticsearch-like message and render as a snippet with
//! a caret line.

use events::Catalog;

fn err(query: &str) -> eql::Diagnostic {
    match eql::compile(query, &Catalog::ecs()) {
        Ok(_) => panic!("`{query}` compiled"),
        Err(d) => d,
    }
}

#[test]
fn unknown_field_snapshot() {
    let q = "sequence with maxspan=1s\n  [process where process.nme == \"curl\"]\n  [any where true]";
    let d = err(q);
    assert_eq!(
        d.message(),
        "Unknown column [process.nme], did you mean [process.name]?"
    );
    assert_eq!(d.line_col(), (2, 18));
    assert_eq!(&q[d.span()], "process.nme");
    assert_eq!(
        d.render("rule.toml", q),
        "error: Unknown column [process.nme], did you mean [process.name]?\n \
         --> rule.toml:2:18\n  \
         |\n\
         2 |   [process where process.nme == \"curl\"]\n  \
         |                  ^^^^^^^^^^^\n"
    );
    assert_eq!(
        d.to_string(),
        "line 2:18: Unknown column [process.nme], did you mean [process.name]?"
    );
}

#[test]
fn type_mismatch_snapshot() {
    let q = r#"process where process.pid : "1*""#;
    let d = err(q);
    assert_eq!(
        d.message(),
        r#"first argument of [process.pid : "1*"] must be [string], found value [process.pid] type [long]"#
    );
    assert_eq!(
        d.render("q", q),
        "error: first argument of [process.pid : \"1*\"] must be [string], found value [process.pid] type [long]\n \
         --> q:1:15\n  \
         |\n\
         1 | process where process.pid : \"1*\"\n  \
         |               ^^^^^^^^^^^\n"
    );
}

#[test]
fn syntax_error_snapshot() {
    let q = "process where process.name = \"curl\"";
    let d = err(q);
    assert_eq!(d.message(), "use == instead of = for equality");
    assert_eq!(d.line_col(), (1, 28));
    assert_eq!(
        d.render("q", q),
        "error: use == instead of = for equality\n --> q:1:28\n  |\n1 | process where process.name = \"curl\"\n  |                            ^\n"
    );
}

#[test]
fn other_errors_have_positions() {
    for (q, msg, at) in [
        (
            "process where process.name == 'curl'",
            "Use double quotes",
            "'curl'",
        ),
        (
            "process where process.pid",
            "Condition expression needs to be boolean",
            "process.pid",
        ),
        (
            "process where length(process.pid) > 1",
            "must be [string]",
            "process.pid",
        ),
        (
            "process where process.name == process.executable",
            "Comparisons against fields",
            "process.executable",
        ),
        (
            "process where nosuch(process.name)",
            "Unknown function [nosuch]",
            "nosuch(process.name)",
        ),
        (
            "process where true | sort process.name",
            "pipe [sort] is not supported",
            "sort",
        ),
        (
            "sequence [process where true] by process.pid [process where true]",
            "inconsistent number of join keys",
            "[process where true]",
        ),
        (
            "sequence with maxspan=5x [process where true] [process where true]",
            "unrecognized time unit [x]",
            "5x",
        ),
        (
            "process where startsWith(process.name)",
            "expects 2 argument(s), found 1",
            "startsWith(process.name)",
        ),
        (
            "process where add~(1, 2) == 3",
            "does not support case-insensitive",
            "add~(1, 2)",
        ),
        (
            "process where process.name regex \"[\"",
            "invalid regular expression",
            "\"[\"",
        ),
    ] {
        let d = err(q);
        assert!(d.message().contains(msg), "{q}: {}", d.message());
        assert_eq!(&q[d.span()], at, "{q}");
        assert!(d.render("q", q).contains('^'));
    }
}

#[test]
fn diagnostic_is_a_miette_diagnostic() {
    fn takes(_: &dyn miette::Diagnostic) {}
    takes(&err("process where nope"));
}
