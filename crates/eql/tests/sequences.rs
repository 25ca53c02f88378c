//! Sequence state-machine behaviour, following the worked examples of Elasticsearch's EQL syntax
//! reference ("How sequence queries handle matches", the `until` keyword).

use events::{Catalog, Document, FieldType};

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    for (f, t) in [
        ("@timestamp", FieldType::Date),
        ("event.category", FieldType::Keyword),
        ("user.name", FieldType::Keyword),
        ("process.name", FieldType::Keyword),
        ("id", FieldType::Long),
        ("ID", FieldType::Keyword),
    ] {
        c.insert(f, t);
    }
    c
}

fn run(query: &str, rows: &[(&str, &str)]) -> Vec<Vec<i64>> {
    let docs: Vec<Document> = rows
        .iter()
        .enumerate()
        .map(|(i, (user, name))| {
            Document::from_json(&format!(
                r#"{{"@timestamp":{},"event":{{"category":"process"}},"id":{},"user":{{"name":"{user}"}},"ID":"{user}","process":{{"name":"{name}"}}}}"#,
                i * 10,
                i + 1
            ))
            .unwrap()
        })
        .collect();
    let q = eql::compile(query, &catalog()).unwrap();
    eql::search(&q, docs, &eql::EngineOptions::default())
        .iter()
        .map(|m| match m {
            eql::Match::Sequence(s) => s
                .events
                .iter()
                .map(|d| d.first("id").unwrap().as_i64().unwrap())
                .collect(),
            eql::Match::Event(_) => panic!("expected sequences"),
        })
        .collect()
}

#[test]
fn documented_state_machine_example() {
    let rows = [
        ("root", "attrib"),
        ("root", "attrib"),
        ("elkbee", "bash"),
        ("root", "bash"),
        ("root", "bash"),
        ("elkbee", "attrib"),
        ("root", "attrib"),
        ("elkbee", "bash"),
        ("root", "cat"),
        ("elkbee", "cat"),
        ("root", "cat"),
    ];
    let q = r#"sequence by user.name
      [process where process.name == "attrib"]
      [process where process.name == "bash"]
      [process where process.name == "cat"]"#;
    assert_eq!(run(q, &rows), vec![vec![2, 4, 9], vec![6, 8, 10]]);
}

#[test]
fn documented_until_example() {
    // A, B / A, B, C / A, C, B grouped by ID: `until C` keeps the first two, not the third
    let rows = [
        ("x", "A"),
        ("x", "B"),
        ("y", "A"),
        ("y", "B"),
        ("y", "C"),
        ("z", "A"),
        ("z", "C"),
        ("z", "B"),
    ];
    let q = r#"sequence by ID
      [process where process.name == "A"]
      [process where process.name == "B"]
    until [process where process.name == "C"]"#;
    assert_eq!(run(q, &rows), vec![vec![1, 2], vec![3, 4]]);
}

#[test]
fn per_stage_keys_join_different_fields_by_value() {
    // stage 1 keyed by user.name, stage 2 by ID: both hold the user, so they join
    let rows = [("ann", "attrib"), ("bob", "bash"), ("ann", "bash")];
    let q = r#"sequence
      [process where process.name == "attrib"] by user.name
      [process where process.name == "bash"] by ID"#;
    assert_eq!(run(q, &rows), vec![vec![1, 3]]);
}

#[test]
fn without_keys_every_event_shares_one_machine() {
    let rows = [("ann", "attrib"), ("bob", "bash"), ("ann", "bash")];
    let q = r#"sequence [process where process.name == "attrib"] [process where process.name == "bash"]"#;
    assert_eq!(run(q, &rows), vec![vec![1, 2]]);
}

#[test]
fn runs_repeat_a_stage() {
    let rows = [("a", "x"), ("a", "y"), ("a", "y"), ("a", "y"), ("a", "z")];
    let q = r#"sequence by user.name
      [process where process.name == "x"]
      [process where process.name == "y"] with runs=3
      [process where process.name == "z"]"#;
    assert_eq!(run(q, &rows), vec![vec![1, 2, 3, 4, 5]]);
    let q2 = q.replace("runs=3", "runs=4");
    assert!(run(&q2, &rows).is_empty());
}
