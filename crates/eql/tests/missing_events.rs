//! Missing-event stages (`![...]`): a sequence is rejected when an event matching the missing
//! stage, with the same join key, falls in the stage's gap.

use std::sync::Arc;

use events::{Catalog, Document, FieldType};

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    c.insert("@timestamp", FieldType::Date);
    c.insert("event.category", FieldType::Keyword);
    c.insert("tag", FieldType::Keyword);
    c.insert("user", FieldType::Keyword);
    c.insert("id", FieldType::Long);
    c
}

/// `(id, millis, tag, user)`
fn docs(rows: &[(i64, i64, &str, &str)]) -> Vec<Document> {
    rows.iter()
        .map(|(id, ms, tag, user)| {
            Document::from_json(&format!(
                r#"{{"@timestamp":{ms},"event":{{"category":"auth"}},"id":{id},"tag":"{tag}","user":"{user}"}}"#
            ))
            .unwrap()
        })
        .collect()
}

fn ids(query: &str, rows: &[(i64, i64, &str, &str)]) -> Vec<Vec<i64>> {
    let q = eql::compile(query, &catalog()).unwrap_or_else(|d| panic!("{}", d.render("q", query)));
    eql::search(&q, docs(rows), &eql::EngineOptions::default())
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

const BETWEEN: &str = r#"sequence by user with maxspan=10s
  [auth where tag == "login"] ![auth where tag == "logout"] [auth where tag == "sudo"]"#;

#[test]
fn missing_between_rejects_only_when_it_occurs_in_the_gap() {
    // alice: login, sudo (no logout between) -> match; bob: login, logout, sudo -> none
    let rows = [
        (1, 1_000, "login", "alice"),
        (2, 1_100, "login", "bob"),
        (3, 1_200, "logout", "bob"),
        (4, 1_300, "sudo", "alice"),
        (5, 1_400, "sudo", "bob"),
        (6, 1_500, "logout", "alice"),
    ];
    assert_eq!(ids(BETWEEN, &rows), vec![vec![1, 4]]);
}

#[test]
fn missing_event_of_another_key_does_not_reject() {
    let rows = [
        (1, 1_000, "login", "alice"),
        (2, 1_100, "logout", "bob"),
        (3, 1_200, "sudo", "alice"),
    ];
    assert_eq!(ids(BETWEEN, &rows), vec![vec![1, 3]]);
}

const TRAILING: &str = r#"sequence by user with maxspan=5s
  [auth where tag == "login"] ![auth where tag == "logout"]"#;

#[test]
fn trailing_missing_waits_for_maxspan() {
    // alice logs out after 2 s: no alert; bob logs out after 6 s (outside 5 s): alert; carol
    // never logs out: alert at the end of input
    let rows = [
        (1, 0, "login", "alice"),
        (2, 10, "login", "bob"),
        (3, 20, "login", "carol"),
        (4, 2_000, "logout", "alice"),
        (5, 6_010, "logout", "bob"),
    ];
    let mut got = ids(TRAILING, &rows);
    got.sort();
    assert_eq!(got, vec![vec![2], vec![3]]);
}

#[test]
fn trailing_missing_is_inclusive_of_maxspan() {
    let rows = [(1, 0, "login", "alice"), (2, 5_000, "logout", "alice")];
    assert!(ids(TRAILING, &rows).is_empty());
}

#[test]
fn trailing_missing_streams_once_the_window_has_passed() {
    let q = eql::compile(TRAILING, &catalog()).unwrap();
    let mut eng = q.engine(eql::EngineOptions::default());
    let mut out = Vec::new();
    for d in docs(&[(1, 0, "login", "bob"), (2, 3_000, "login", "eve")]) {
        out.extend(eng.push(Arc::new(d)));
    }
    assert!(out.is_empty(), "bob's window is still open");
    out.extend(eng.advance(6_000 * 1_000_000));
    assert_eq!(
        out.len(),
        1,
        "bob's window closed at 5 s; eve's is open until 8 s"
    );
    for d in docs(&[(3, 30_000, "other", "zed")]) {
        out.extend(eng.push(Arc::new(d)));
    }
    assert_eq!(out.len(), 2, "both windows closed by time passing");
    assert_eq!(eng.live_state(), 0);
}

const LEADING: &str = r#"sequence by user with maxspan=3m
  ![auth where tag == "mfa"] [auth where tag == "login"]"#;

#[test]
fn leading_missing_looks_back_maxspan() {
    let rows = [
        (1, 0, "mfa", "alice"),
        (2, 60_000, "login", "alice"),  // mfa 1 min before: rejected
        (3, 600_000, "login", "alice"), // mfa 10 min before: match
        (4, 600_001, "login", "bob"),   // never had mfa: match
    ];
    assert_eq!(ids(LEADING, &rows), vec![vec![3], vec![4]]);
}

#[test]
fn missing_events_need_maxspan_and_a_positive_stage() {
    let d = eql::compile(r#"sequence [auth where true] ![auth where true]"#, &catalog()).unwrap_err();
    assert!(d.message().contains("maxspan"), "{}", d.message());
    let d = eql::compile(
        r#"sequence with maxspan=1s ![auth where true] ![auth where true]"#,
        &catalog(),
    )
    .unwrap_err();
    assert!(d.message().contains("positive"), "{}", d.message());
}

#[test]
fn leading_and_trailing_missing_reject_only_together_within_maxspan() {
    // Elasticsearch's `leadingAndTrailingExcluded` cases: with both edge stages, the sequence is
    // dropped only when a leading and a trailing hit exist within maxspan of each other
    let rows = [
        (1, 0, "mfa", "alice"),
        (2, 600_000, "login", "alice"),
        (3, 1_200_000, "mfa", "alice"),
        (4, 1_260_000, "login", "alice"),
    ];
    let q = |span: &str| {
        format!(
            r#"sequence by user with maxspan={span} ![auth where tag == "mfa"] [auth where tag == "login"] ![auth where tag == "mfa"]"#
        )
    };
    // mfa 1 and mfa 3 are 20 minutes apart: within 21m they reject login 2, within 19m not
    assert_eq!(ids(&q("19m"), &rows), vec![vec![2], vec![4]]);
    assert_eq!(ids(&q("21m"), &rows), vec![vec![4]]);
}
