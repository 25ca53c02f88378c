//! The projected fast path for audit Events is invisible in its results: for every line of the
//! audit fixtures and a few thousand generated lines, and several field sets, the document it
//! gives holds exactly the values of the full normalization for every requested field (and
//! the same `_id`, `_index`, agent-set fields), carries no unrequested bulky member, and a
//! record that is an error stays the same error.

use events::{Document, Value};
use sources::{Normalizer, Options};

mod common;
use common::{SEED_RULE_FIELDS, fixture_lines, generated_lines};

fn field_sets() -> Vec<Vec<&'static str>> {
    vec![
        SEED_RULE_FIELDS.to_vec(),
        vec!["event.action"],
        vec![
            "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name",
            "kubernetes.audit.user.extra.authentication.kubernetes.io/pod-uid",
            "kubernetes.audit.impersonatedUser.username",
            "kubernetes.audit.annotations.authorization_k8s_io/reason",
            "user.name",
        ],
        vec![
            "kubernetes.audit.requestObject.spec.containers.securityContext.privileged",
            "kubernetes.audit.requestObject.spec.hostPID",
            "kubernetes.audit.requestObject.rules.verbs",
            "kubernetes.audit.responseObject.metadata.name",
            "kubernetes.audit.responseObject.spec.containers.image",
            "orchestrator.resource.name",
            "orchestrator.api_version",
            "related",
            "event.outcome",
            "kubernetes.audit.auditID",
            "kubernetes.audit.stageTimestamp",
            "kubernetes.audit.requestReceivedTimestamp",
        ],
    ]
}

fn values(d: &Document, f: &str) -> Vec<Value> {
    d.field(f).into_iter().cloned().collect()
}

/// Checks one line against one field set; true when the fast path produced the document
/// (seen from its leaving out `kubernetes.audit.auditID`, which the regular projected path
/// keeps whole).
fn check(line: &[u8], fields: &[&str], full: &Normalizer, fast: &Normalizer, slow: &Normalizer) -> bool {
    let what = || format!("{fields:?} on {}", String::from_utf8_lossy(line));
    let (want, got, regular) = (
        full.normalize_line(line),
        fast.normalize_line(line),
        slow.normalize_line(line),
    );
    let (want, got) = match (want, got, regular) {
        (_, Err(g), Err(r)) => {
            assert_eq!(g, r, "{}", what());
            return false;
        }
        (Ok(w), Ok(g), Ok(_)) => (w, g),
        // The regular projected path does not read (so does not check) the members no
        // requested field needs, e.g. `metadata` (documented); the fast path does the same.
        (Err(_), Ok(_), Ok(_)) => return false,
        (w, g, r) => panic!("{}: full {w:?} fast {g:?} regular projected {r:?}", what()),
    };
    assert_eq!(want.len(), got.len(), "{}", what());
    let mut fast_path = false;
    for (w, g) in want.iter().zip(&got) {
        assert_eq!((&w.id, &w.index), (&g.id, &g.index), "{}", what());
        let always = [
            "@timestamp",
            "event.ingested",
            "event.dataset",
            "data_stream.type",
        ];
        for f in fields
            .iter()
            .chain(&always)
            .chain(&["data_stream.dataset", "data_stream.namespace"])
        {
            assert_eq!(values(w, f), values(g, f), "field {f}: {}", what());
        }
        for bulky in [
            "kubernetes.audit.requestObject",
            "kubernetes.audit.responseObject",
        ] {
            if !fields.iter().any(|f| f.starts_with(bulky)) {
                assert!(g.first(bulky).is_none(), "{bulky}: {}", what());
                let present = g.source.get("kubernetes").and_then(|k| {
                    k.as_object()?
                        .get("audit")?
                        .as_object()?
                        .get(&bulky[17..])
                        .cloned()
                });
                assert!(present.is_none(), "{bulky} kept: {}", what());
            }
        }
        let requested_audit_id = fields.contains(&"kubernetes.audit.auditID");
        fast_path |=
            !requested_audit_id && w.has("kubernetes.audit.auditID") && !g.has("kubernetes.audit.auditID");
    }
    fast_path
}

fn run(lines: &[Vec<u8>], name: &str) {
    let full = Normalizer::new(Options::default());
    for fields in field_sets() {
        let opts = Options {
            fields: Some(fields.iter().map(|s| s.to_string()).collect()),
            ..Options::default()
        };
        let fast = Normalizer::new(opts.clone());
        let slow = Normalizer::new(opts).without_fast_path();
        let mut through_fast = 0;
        let mut events = 0;
        for line in lines {
            if matches!(
                sources::detect_line_shape(line),
                Ok(sources::Shape::AuditEvent | sources::Shape::LegacyAuditEvent)
            ) {
                events += 1;
            }
            through_fast += usize::from(check(line, &fields, &full, &fast, &slow));
        }
        // Every field set but the one requesting auditID is seen taking the fast path.
        if !fields.contains(&"kubernetes.audit.auditID") {
            assert!(
                through_fast * 10 >= events * 9,
                "{name} {fields:?}: only {through_fast} of {events} Events took the fast path"
            );
        }
    }
}

#[test]
fn fixture_lines_are_the_same_through_the_fast_path() {
    let lines = fixture_lines();
    assert!(lines.len() > 300, "{}", lines.len());
    run(&lines, "fixtures");
}

#[test]
fn generated_lines_are_the_same_through_the_fast_path() {
    let lines = generated_lines();
    assert!(lines.len() >= 3_000, "{}", lines.len());
    run(&lines, "gen");
}

#[test]
fn mutated_members_give_the_regular_path_errors() {
    let fields = Options {
        fields: Some(SEED_RULE_FIELDS.iter().map(|s| s.to_string()).collect()),
        ..Options::default()
    };
    let full = Normalizer::new(Options::default());
    let fast = Normalizer::new(fields.clone());
    let slow = Normalizer::new(fields).without_fast_path();
    let base = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseComplete","requestURI":"/api","verb":"get","user":{"username":"u","groups":["g"],"extra":{"k.io/x":["v"]}},"sourceIPs":["10.0.0.1"],"userAgent":"ua","objectRef":{"resource":"pods","name":"p"},"responseStatus":{"code":200},"requestObject":{"a":[1,{"b":"c"}]},"requestReceivedTimestamp":"2024-01-01T00:00:00.123456Z","stageTimestamp":"2024-01-01T00:00:00.2Z","annotations":{"authorization.k8s.io/decision":"allow"}}"#;
    assert!(check(base.as_bytes(), &SEED_RULE_FIELDS, &full, &fast, &slow));
    let mutations = [
        (r#""verb":"get""#, r#""verb":7"#),
        (r#""level":"Metadata""#, r#""level":[]"#),
        (r#""code":200"#, r#""code":"200""#),
        (r#""groups":["g"]"#, r#""groups":[1]"#),
        (r#""k.io/x":["v"]"#, r#""k.io/x":{}"#),
        (r#""sourceIPs":["10.0.0.1"]"#, r#""sourceIPs":"10.0.0.1""#),
        (r#""2024-01-01T00:00:00.2Z""#, r#""yesterday""#),
        (r#""a":[1,"#, r#""a":[01,"#),
        (r#""a":[1,"#, r#""a":[1,,"#),
        (r#""b":"c""#, r#""b":"c\q""#),
        (r#"decision":"allow""#, r#"decision":true"#),
        (r#""kind":"Event","#, r#""kind":"Event","metadata":"m","#),
        (
            r#""kind":"Event","#,
            r#""kind":"Event","impersonatedUser":{"uid":1},"#,
        ),
        (r#""kind":"Event","#, r#""kind":"Event","verb":"list","#),
        (r#""kind":"Event","#, r#""kind":"EventList","#),
        (r#""kind":"Event","#, r#""kind":"Event","insertId":"i","#),
        (r#""requestObject":"#, r#""requestObj\u0065ct":"#),
        (r#""b":"c""#, r#""b":"\u00e9\ud83d\ude00""#),
        (r#""verb":"get""#, r#""verb":"g\u0065t""#),
        (r#""requestReceivedTimestamp":"2024-01-01T00:00:00.123456Z","#, ""),
    ];
    // With one field, the members the record checks look inside are checked without being
    // built: the same results.
    let one = Options {
        fields: Some(vec!["event.action".to_string()]),
        ..Options::default()
    };
    let (fast_one, slow_one) = (
        Normalizer::new(one.clone()),
        Normalizer::new(one).without_fast_path(),
    );
    assert!(check(
        base.as_bytes(),
        &["event.action"],
        &full,
        &fast_one,
        &slow_one
    ));
    let more = [
        (r#""name":"p""#, r#""name":5"#),
        (r#""username":"u""#, r#""username":{}"#),
        (r#""k.io/x":["v"]"#, r#""k.io/x":[null,"w"]"#),
        (r#""k.io/x":["v"]"#, r#""k.io/x":[["w"]]"#),
        (r#""code":200"#, r#""code":2e2"#),
        (r#""code":200"#, r#""code":null"#),
        (r#"decision":"allow""#, r#"decision":null"#),
        (r#""kind":"Event""#, r#""kind":"Ev\u0065nt""#),
        (r#""kind":"Event""#, r#""kind":null"#),
    ];
    for (from, to) in mutations.iter().chain(&more) {
        assert!(base.contains(from), "{from}");
        let line = base.replacen(from, to, 1);
        check(line.as_bytes(), &SEED_RULE_FIELDS, &full, &fast, &slow);
        check(line.as_bytes(), &["event.action"], &full, &fast_one, &slow_one);
    }
    // Too deep inside a skipped member: the regular path's error (on a thread with the main
    // thread's stack: unoptimized builds need ~16 KiB per level to reach the limit).
    let nested = base.replace(
        r#""a":[1,"#,
        &format!(r#""a":{}1{},[1,"#, "[".repeat(200), "]".repeat(200)),
    );
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let err = fast.normalize_line(nested.as_bytes()).unwrap_err();
            assert!(err.contains("deeper than 128"), "{err}");
            assert_eq!(err, slow.normalize_line(nested.as_bytes()).unwrap_err());
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Requesting a parent of derived fields (`related`, `event`, `orchestrator`, ...) gives its
/// whole value on the regular projected path too (records the audit fast path leaves): the
/// raw members every derived field under it comes from are read. `related` once lost
/// `related.user`, `user_agent` and `event` lost what `userAgent` and the annotations give,
/// and `orchestrator.namespace` beside a requested `objectRef.name` lost the namespace.
#[test]
fn parents_of_derived_fields_keep_them_on_the_regular_path() {
    let mut lines = fixture_lines();
    lines.extend(generated_lines().into_iter().take(500));
    let full = Normalizer::new(Options::default());
    let sets: [&[&str]; 8] = [
        &["related"],
        &["event"],
        &["user_agent"],
        &["source", "client"],
        &["orchestrator"],
        &["orchestrator.namespace", "kubernetes.audit.objectRef.name"],
        &["orchestrator.resource", "user"],
        &["related.user", "event.outcome"],
    ];
    for fields in sets {
        let opts = Options {
            fields: Some(fields.iter().map(|s| s.to_string()).collect()),
            ..Options::default()
        };
        let slow = Normalizer::new(opts).without_fast_path();
        for line in &lines {
            let (Ok(want), Ok(got)) = (full.normalize_line(line), slow.normalize_line(line)) else {
                continue;
            };
            for (w, g) in want.iter().zip(&got) {
                for f in fields {
                    assert_eq!(
                        values(w, f),
                        values(g, f),
                        "{f} of {fields:?} on {}",
                        String::from_utf8_lossy(line)
                    );
                }
            }
        }
    }
}
