//! Event-query semantics pinned against Elasticsearch's EQL documentation: operator case
//! sensitivity, wildcards, any-match on multi-valued fields, null handling, functions, strings.

use events::{Catalog, Document, FieldType};

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    for (f, t) in [
        ("@timestamp", FieldType::Date),
        ("event.category", FieldType::Keyword),
        ("process.name", FieldType::Keyword),
        ("process.parent.name", FieldType::Keyword),
        ("process.args", FieldType::Keyword),
        ("process.pid", FieldType::Long),
        ("process.interactive", FieldType::Boolean),
        ("source.ip", FieldType::Ip),
        ("file.path", FieldType::Keyword),
        ("version", FieldType::Version),
        (
            "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name",
            FieldType::Keyword,
        ),
    ] {
        c.insert(f, t);
    }
    c
}

const DOC: &str = r#"{"@timestamp":"2025-01-01T00:00:00Z","event":{"category":["process","network"]},
  "process":{"name":"Curl","args":["curl","-k","https://10.0.0.1/api"],"pid":42,"interactive":true},
  "source":{"ip":["10.0.0.5","172.16.0.1"]},"file":{"path":"C:\\Windows\\System32\\cmd.exe"},
  "version":"1.10.0",
  "kubernetes":{"audit":{"user":{"extra":{"authentication.kubernetes.io/pod-name":["web-1"]}}}}}"#;

fn matches(cond: &str) -> bool {
    let query = format!("any where {cond}");
    let q = eql::compile(&query, &catalog()).unwrap_or_else(|d| panic!("{}", d.render("q", &query)));
    q.prefilter(&Document::from_json(DOC).unwrap())
}

#[test]
fn equality_is_case_sensitive_and_colon_is_not() {
    assert!(matches(r#"process.name == "Curl""#));
    assert!(!matches(r#"process.name == "curl""#));
    assert!(matches(r#"process.name : "curl""#));
    assert!(matches(r#"process.name : "CU*""#));
    assert!(matches(r#"process.name : ("wget", "c?rl")"#));
    assert!(
        !matches(r#"process.name == "C*""#),
        "== does not expand wildcards"
    );
}

#[test]
fn like_and_regex_with_insensitive_variants() {
    assert!(matches(r#"process.name like "C*""#));
    assert!(!matches(r#"process.name like "c*""#));
    assert!(matches(r#"process.name like~ "c*""#));
    assert!(matches(r#"process.name regex "C[a-z]+""#));
    assert!(!matches(r#"process.name regex "c[a-z]+""#));
    assert!(matches(r#"process.name regex~ "c[a-z]+""#));
    assert!(!matches(r#"process.name regex "url""#), "regex is anchored");
    assert!(
        matches(r#"file.path like "C:\\Windows\\*.exe""#),
        "backslash is literal in patterns"
    );
}

#[test]
fn in_and_not_in() {
    assert!(matches(r#"process.name in ("wget", "Curl")"#));
    assert!(!matches(r#"process.name in ("wget", "curl")"#));
    assert!(matches(r#"process.name in~ ("wget", "curl")"#));
    assert!(matches(r#"process.name not in ("wget", "curl")"#));
    assert!(matches(r#"process.pid in (1, 42)"#));
    assert!(!matches(r#"process.name in ("wget", null)"#));
    assert!(
        !matches(r#"not process.name in ("wget", null)"#),
        "no match with a null in the list is null"
    );
    assert!(matches(r#"process.name in ("Curl", null)"#));
}

#[test]
fn multi_valued_fields_match_if_any_value_does() {
    assert!(matches(r#"process.args == "-k""#));
    assert!(matches(r#"process.args in ("wget", "curl")"#));
    assert!(!matches(r#"not process.args in ("wget", "curl")"#));
    assert!(
        !matches(r#"process.args != "curl""#),
        "!= is `not ==`: one value equals"
    );
    assert!(matches(r#"process.args != "wget""#));
    assert!(matches(r#"cidrMatch(source.ip, "172.16.0.0/12")"#));
    assert!(
        matches(r#"source.ip == "172.16.0.0/12""#),
        "an ip term query takes CIDR blocks"
    );
    assert!(!matches(r#"source.ip == "192.168.0.0/16""#));
    assert!(matches(r#"event.category == "network""#));
}

#[test]
fn null_handling_is_three_valued() {
    // `process.parent.name` is mapped but absent from the document
    assert!(matches(r#"process.parent.name == null"#));
    assert!(!matches(r#"process.parent.name != null"#));
    assert!(matches(r#"process.name != null"#));
    assert!(!matches(r#"process.parent.name == "x""#));
    assert!(!matches(r#"not process.parent.name == "x""#), "not null is null");
    assert!(!matches(r#"process.parent.name != "x""#));
    assert!(matches(r#"process.parent.name == "x" or true"#));
    assert!(!matches(r#"process.parent.name == "x" and true"#));
}

#[test]
fn optional_fields_missing_from_the_mapping_are_null() {
    // an unmapped `?field` is the null literal, and `x == null` tests presence (Elasticsearch's
    // test_extra.toml `optionalMissingFieldNullEquality`, `sequenceOptionalFieldAsQueryKeysOnly`)
    assert!(matches(r#"?no.such.field == null"#));
    assert!(!matches(r#"?no.such.field != null"#));
    assert!(matches(r#"?no.such.field == ?other.missing"#));
    assert!(!matches(r#"?no.such.field"#));
    assert!(eql::compile("any where no.such.field == 1", &catalog()).is_err());
}

#[test]
fn booleans_numbers_and_arithmetic() {
    assert!(matches("process.interactive == true"));
    assert!(matches("process.interactive"));
    assert!(matches("process.pid > 41 and process.pid <= 42"));
    assert!(matches("process.pid + 8 == 50"));
    assert!(matches("process.pid / 5 == 8"), "integer division");
    assert!(matches("process.pid % 5 == 2"));
    assert!(matches("-process.pid == -42"));
    assert!(matches("process.pid * 1.5 == 63.0"));
}

#[test]
fn versions_compare_semantically() {
    assert!(matches(r#"version > "1.9.0""#));
    assert!(matches(r#"version < "1.10.1""#));
}

#[test]
fn string_functions() {
    assert!(matches(r#"startsWith(process.name, "Cu")"#));
    assert!(!matches(r#"startsWith(process.name, "cu")"#));
    assert!(matches(r#"startsWith~(process.name, "cu")"#));
    assert!(matches(r#"endsWith~(file.path, ".EXE")"#));
    assert!(matches(r#"stringContains(file.path, "System32")"#));
    assert!(matches(r#"length(process.name) == 4"#));
    assert!(matches(r#"indexOf(process.name, "r") == 2"#));
    assert!(matches(r#"indexOf(process.name, "x") == null"#));
    assert!(matches(r#"substring(process.name, 1, 3) == "ur""#));
    assert!(matches(r#"substring(process.name, -2) == "rl""#));
    assert!(matches(r#"between(file.path, "System32\\", ".exe") == "cmd""#));
    assert!(matches(r#"between~(file.path, "system32\\", ".EXE") == "cmd""#));
    assert!(matches(r#"concat(process.name, "-", process.pid) == "Curl-42""#));
    assert!(matches(r#"concat(process.name, null) == null"#));
    assert!(matches(r#"string(process.pid) == "42""#));
    assert!(matches(r#"number("0x2A", 16) == 42"#));
    assert!(matches(
        r#"number("0xdeadbeef") == 3735928559 and number("deadbeef", 16) == 3735928559"#
    ));
    assert!(matches(
        r#"number("  +1337 ") == 1337 and number("1337", null) == 1337"#
    ));
    assert!(
        !matches(r#"stringContains(process.name, "")"#),
        "empty substrings are not contained"
    );
    assert!(matches(r#"cidrMatch(source.ip, null) == null"#));
    assert!(matches(
        r#"between(file.path, "\\", "\\", true) == "Windows\\System32""#
    ));
    assert!(matches(r#"between(file.path, "\\", "\\") == "Windows""#));
    assert!(matches(
        r#"indexOf(file.path, "\\", 3) == 10 and indexOf(file.path, "", -6) == 0"#
    ));
    assert!(matches(r#"number("2.5") == 2.5"#));
    assert!(matches(
        r#"add(process.pid, 1) == 43 and subtract(process.pid, 2) == 40"#
    ));
    assert!(matches(
        r#"multiply(2, 3) == 6 and divide(7, 2) == 3 and modulo(7, 2) == 1"#
    ));
    assert!(
        matches(r#"CONCAT("a", "b") == "ab""#),
        "function names are case-insensitive"
    );
}

#[test]
fn strings_escapes_comments_and_quoted_fields() {
    assert!(matches(r#"file.path == "C:\\Windows\\System32\\cmd.exe""#));
    assert!(
        matches(r#"file.path == """C:\Windows\System32\cmd.exe""""#),
        "triple quotes are raw"
    );
    assert!(matches(r#"concat("a\tb", "\u{41}") == "a	bA""#));
    assert!(matches(
        "/* a comment */ `kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name` == \"web-1\" // end"
    ));
}

#[test]
fn event_categories_match_any_value() {
    let c = catalog();
    let doc = Document::from_json(DOC).unwrap();
    for (q, want) in [
        ("process where true", true),
        ("network where true", true),
        (r#""network" where true"#, true),
        ("file where true", false),
        ("any where true", true),
    ] {
        assert_eq!(eql::compile(q, &c).unwrap().prefilter(&doc), want, "{q}");
    }
}

#[test]
fn head_and_tail_pipes() {
    let docs: Vec<Document> = (0..5)
        .map(|i| {
            Document::from_json(&format!(
                r#"{{"@timestamp":{i},"event":{{"category":"process"}},"process":{{"pid":{i}}}}}"#
            ))
            .unwrap()
        })
        .collect();
    let pids = |q: &str| -> Vec<i64> {
        let q = eql::compile(q, &catalog()).unwrap();
        eql::search(&q, docs.clone(), &eql::EngineOptions::default())
            .iter()
            .map(|m| match m {
                eql::Match::Event(d) => d.first("process.pid").unwrap().as_i64().unwrap(),
                eql::Match::Sequence(_) => panic!(),
            })
            .collect()
    };
    assert_eq!(pids("process where true | head 2"), vec![0, 1]);
    assert_eq!(pids("process where true | tail 2"), vec![3, 4]);
    assert_eq!(pids("process where true | tail 3 | head 1"), vec![2]);
}

#[test]
fn needed_fields_lists_what_the_query_reads() {
    let q = eql::compile(
        r#"sequence by process.pid [process where process.name == "a"] [network where source.ip == "10.0.0.1"]"#,
        &catalog(),
    )
    .unwrap();
    assert_eq!(
        q.needed_fields(),
        vec!["event.category", "process.name", "process.pid", "source.ip"]
    );
}
