//! The transcoder (audit Event line → ECS JSON text without a document tree) is invisible in
//! its output: for every record of the fixtures, tens of thousands of generated events and
//! hand-written edge cases, the lines `Normalizer::write_ecs` gives are byte for byte those the
//! tree path gives (normalize, then serialize as `crowsnest normalize` always did), for the
//! whole document and for several `--fields` sets, with and without `--meta`. The transcoder
//! must also actually serve the common lines (else this would compare the tree path with
//! itself).

use events::{Document, Map, Value};
use sources::{EcsFormat, Normalizer, Options, Reader};

mod common;
use common::{FIXTURES, files};

/// The serialization `crowsnest normalize` used before the transcoder (kept here verbatim as
/// the reference, independent of the crate's own).
fn reference_line(doc: &Document, fields: Option<&[String]>, meta: bool, out: &mut Vec<u8>) {
    fn project(doc: &Document, fields: &[String]) -> Map {
        let mut out = Map::new();
        for f in fields {
            let vals = doc.field(f);
            match vals.len() {
                0 => {}
                1 => out.insert_path(f, vals[0].clone()),
                _ => out.insert_path(f, Value::Array(vals.into_iter().cloned().collect())),
            }
        }
        out
    }
    let mut m = match fields {
        None => doc.source.clone(),
        Some(f) => project(doc, f),
    };
    if meta {
        m.insert("_id", Value::from(doc.id.as_str()));
        m.insert("_index", Value::from(doc.index.as_str()));
    }
    serde_json::to_writer(&mut *out, &m).unwrap();
    out.push(b'\n');
}

fn field_sets() -> Vec<Option<Vec<String>>> {
    let set = |s: &str| Some(s.split(',').map(str::to_string).collect::<Vec<_>>());
    vec![
        None,
        set("@timestamp,user.name,source.ip,event.action"),
        set(
            "event.outcome,kubernetes.audit.annotations.authorization_k8s_io/decision,related,orchestrator.resource,kubernetes.audit.objectRef.name,data_stream.namespace",
        ),
        set(
            "kubernetes.audit.requestObject.spec.containers.image,kubernetes.audit.requestObject.spec.containers.securityContext.privileged,kubernetes.audit.responseStatus.code,kubernetes.audit.stageTimestamp,user_agent.original,client.ip,kubernetes.audit.requestObject.metadata.name,kubernetes.audit.user",
        ),
        set("kubernetes.audit,event.action,@timestamp"),
        set("kubernetes,related.ip,ecs"),
        set(
            "kubernetes.audit.responseObject,kubernetes.audit.sourceIPs,kubernetes.audit.annotations,nothing.here,kubernetes.audit.impersonatedUser.username,kubernetes.audit.user.extra",
        ),
        // nested fields: served by the tree path
        set("user,user.name"),
    ]
}

/// Compares one record for every format; true when the transcoder served the full format.
fn check(normalizer: &Normalizer, line: &[u8], sets: &[Option<Vec<String>>]) -> bool {
    check_with(normalizer, line, sets, &[false, true])
}

fn check_with(normalizer: &Normalizer, line: &[u8], sets: &[Option<Vec<String>>], metas: &[bool]) -> bool {
    let docs = normalizer.normalize_line(line);
    let mut served = false;
    for fields in sets {
        for &meta in metas {
            let format = EcsFormat::new(fields.clone(), meta);
            let mut want = Vec::new();
            let want = match &docs {
                Ok(docs) => {
                    for d in docs {
                        reference_line(d, fields.as_deref(), meta, &mut want);
                    }
                    Ok(want)
                }
                Err(e) => Err(e.clone()),
            };
            // The transcoder alone, else `write_ecs` (which is the transcoder when it serves).
            let mut got = Vec::new();
            let transcoded = normalizer.transcode(line, &format, &mut got);
            let got = if transcoded {
                Ok(got)
            } else {
                assert!(got.is_empty(), "nothing written when the tree path takes over");
                normalizer.write_ecs(line, &format, &mut got).map(|_| got)
            };
            assert_eq!(
                got.as_ref().map(|g| String::from_utf8_lossy(g).into_owned()),
                want.as_ref().map(|w| String::from_utf8_lossy(w).into_owned()),
                "fields {fields:?} meta {meta} transcoded {transcoded} line {}",
                String::from_utf8_lossy(line)
            );
            if fields.is_none() {
                served = transcoded;
            }
        }
    }
    served
}

fn fixture_files() -> Vec<std::path::PathBuf> {
    let mut paths = Vec::new();
    files(std::path::Path::new(FIXTURES), &mut paths);
    paths.retain(|p| {
        let name = p.to_string_lossy();
        !name.ends_with(".md") && !name.ends_with(".yml") && !name.ends_with(".yaml")
    });
    paths
}

/// Everything a reader gives for `path` in `format`, errors included, as text.
fn read_all(path: &std::path::Path, format: EcsFormat, workers: usize) -> String {
    let reader = Reader::open(&[path.to_string_lossy().into_owned()], Options::default())
        .unwrap()
        .with_workers(workers);
    let mut out = String::new();
    for item in reader.ecs_lines(format) {
        match item {
            Ok(chunk) => {
                assert_eq!(
                    chunk.documents as usize,
                    chunk.bytes.iter().filter(|&&b| b == b'\n').count()
                );
                out.push_str(std::str::from_utf8(&chunk.bytes).unwrap());
            }
            Err(e) => out.push_str(&format!("ERROR {e}\n")),
        }
    }
    out
}

/// The documents of a plain reader, serialized by the reference.
fn read_reference(path: &std::path::Path, fields: Option<&[String]>, meta: bool) -> String {
    let reader = Reader::open(&[path.to_string_lossy().into_owned()], Options::default()).unwrap();
    let mut out = String::new();
    for item in reader {
        match item {
            Ok(doc) => {
                let mut line = Vec::new();
                reference_line(&doc, fields, meta, &mut line);
                out.push_str(std::str::from_utf8(&line).unwrap());
            }
            Err(e) => out.push_str(&format!("ERROR {e}\n")),
        }
    }
    out
}

#[test]
fn every_fixture_record_is_the_same_through_the_reader() {
    let mut transcoded_files = 0;
    for path in fixture_files() {
        for fields in field_sets() {
            for meta in [false, true] {
                let want = read_reference(&path, fields.as_deref(), meta);
                let format = EcsFormat::new(fields.clone(), meta);
                for workers in [1, 3] {
                    let got = read_all(&path, format.clone(), workers);
                    assert_eq!(
                        got,
                        want,
                        "{} fields {fields:?} meta {meta} workers {workers}",
                        path.display()
                    );
                }
                assert_eq!(read_all(&path, format.tree_only(), 1), want);
            }
        }
        transcoded_files += 1;
    }
    assert!(transcoded_files > 30, "{transcoded_files}");
}

#[test]
fn every_fixture_line_is_the_same() {
    let normalizer = Normalizer::new(Options::default());
    let sets = field_sets();
    let (mut lines, mut served) = (0, 0);
    for path in fixture_files() {
        let bytes = std::fs::read(&path).unwrap();
        for line in bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
        {
            lines += 1;
            if check(&normalizer, line, &sets) {
                served += 1;
            }
        }
    }
    // The audit Event lines of the fixtures (audit2rbac, Elastic's test logs, ...).
    assert!(served >= 40, "transcoded {served} of {lines} lines");
}

fn generated(seed: u64, events: u64) -> Vec<u8> {
    let cfg = r#gen::Config {
        seed,
        events: Some(events),
        process: false,
        ..r#gen::Config::default()
    };
    let mut audit = Vec::new();
    r#gen::generate(&cfg, &mut audit, None).unwrap();
    audit
}

/// Compares the lines of generated corpora (seed, events); how many lines, how many transcoded.
fn compare_generated(corpora: &[(u64, u64)]) -> (usize, usize) {
    let normalizer = Normalizer::new(Options::default());
    let sets = field_sets();
    let few = [sets[0].clone(), sets[3].clone()];
    let (mut lines, mut served) = (0, 0);
    for &(seed, events) in corpora {
        let corpus = generated(seed, events);
        for (k, line) in corpus
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            lines += 1;
            let ok = if k % 16 == 0 {
                check(&normalizer, line, &sets)
            } else {
                check_with(&normalizer, line, &few, &[k % 2 == 0])
            };
            if ok {
                served += 1;
            }
        }
    }
    assert!(served * 100 >= lines * 99, "transcoded {served} of {lines}");
    (lines, served)
}

#[test]
fn generated_corpus_is_the_same() {
    let (lines, _) = compare_generated(&[(1, 6_000), (2, 4_000), (3, 4_000), (42, 3_000)]);
    assert!(lines >= 15_000, "{lines}");
}

/// The heavy run (release build advised):
/// `cargo test --release -p sources --test transcode -- --ignored`.
#[test]
#[ignore]
fn large_generated_corpus_is_the_same() {
    let (lines, _) = compare_generated(&[(11, 40_000), (12, 40_000), (13, 40_000), (14, 40_000)]);
    assert!(lines >= 150_000, "{lines}");
}

#[test]
fn live_time_policy_differs_only_in_the_times() {
    let normalizer = Normalizer::new(Options {
        time_policy: sources::TimePolicy::Live,
        ..Options::default()
    });
    let corpus = generated(5, 200);
    let format = EcsFormat::new(None, true);
    let mut served = 0;
    for line in corpus.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut got = Vec::new();
        if !normalizer.transcode(line, &format, &mut got) {
            continue;
        }
        served += 1;
        let doc = &normalizer.normalize_line(line).unwrap()[0];
        let mut want = Vec::new();
        reference_line(doc, None, true, &mut want);
        let mut a: serde_json::Value = serde_json::from_slice(&got).unwrap();
        let mut b: serde_json::Value = serde_json::from_slice(&want).unwrap();
        for v in [&mut a, &mut b] {
            v["@timestamp"] = serde_json::Value::Null;
            v["event"]["ingested"] = serde_json::Value::Null;
        }
        assert_eq!(a, b);
    }
    assert!(served > 150);
}

/// A valid Event with `members` (`,"key":value...`) added at the end; the default members they
/// name are left out.
fn event(members: &str) -> String {
    let defaults = [
        ("kind", r#""Event""#),
        ("apiVersion", r#""audit.k8s.io/v1""#),
        ("level", r#""Metadata""#),
        ("auditID", r#""a-1""#),
        ("stage", r#""ResponseComplete""#),
        ("requestURI", r#""/api/v1/x""#),
        ("verb", r#""get""#),
        (
            "user",
            r#"{"username":"alice","uid":"u-1","groups":["system:authenticated"]}"#,
        ),
        ("sourceIPs", r#"["10.0.0.1"]"#),
        ("userAgent", r#""kubectl/v1.29""#),
        (
            "objectRef",
            r#"{"resource":"pods","namespace":"ns","name":"p","apiVersion":"v1"}"#,
        ),
        ("responseStatus", r#"{"metadata":{},"code":200}"#),
        ("requestReceivedTimestamp", r#""2024-05-01T10:00:00.123456Z""#),
        ("stageTimestamp", r#""2024-05-01T10:00:00.223456Z""#),
    ];
    let mut out = String::from("{");
    for (k, v) in defaults {
        if !members.contains(&format!(r#","{k}":"#)) && !members.contains(&format!(r#", "{k}" :"#)) {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&format!(r#""{k}":{v}"#));
        }
    }
    out.push_str(members);
    out.push('}');
    out
}

#[test]
fn edge_cases_are_the_same() {
    let normalizer = Normalizer::new(Options::default());
    let sets = field_sets();
    let served_cases = [
        // objects that become empty after pruning, at every level
        event(r#","requestObject":{"metadata":{"name":"x"},"spec":{"a":{"b":{}},"c":""}}"#),
        event(r#","responseObject":{"metadata":{"name":"x"}},"annotations":{"a":null}"#),
        event(r#","requestObject":{"spec":{"x":[{},[],[null,""],{"y":null}],"z":1}}"#),
        // annotation keys with dots, the decision
        event(
            r#","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":"RBAC: denied","pod-security.kubernetes.io/enforce-policy":"restricted:latest","plain":"x"}"#,
        ),
        event(r#","annotations":{"authorization.k8s.io/decision":"allow"}"#),
        event(r#","annotations":{"authorization.k8s.io/decision":"maybe"}"#),
        event(r#","annotations":{"authorization.k8s.io/decision":"all\u006fw"}"#),
        // unicode, escapes, `\/`
        event(
            r#","requestObject":{"data":{"k":"a\u0026b \/path \"q\" \\ \t\n é ü \u00e9 \u2028 \u001f ☃","l":"日本語"}}"#,
        ),
        // numbers
        event(
            r#","requestObject":{"n":[1.0,0,-1,0.0,-2.5,1e3,2.5E-3,12345678901234567890,-9223372036854775808,0.1,100000000000000000000000,3.14159265358979323846]}"#,
        ),
        // empty strings, nested arrays with nulls
        event(r#","requestObject":{"s":"","a":[[null],[[""]],[1,null,[2,[]]]],"t":true,"f":false,"n":null}"#),
        // whitespace between tokens, runs of members copied as they are broken by it
        event(r#", "requestObject" : { "a" : [ 1 , { "b" : "c" } ] , "d" : { } } "#),
        event(r#","requestObject":{"a":1,"b":"x", "c":true,"d":false ,"e":"y","f":[1,2 ,3, "z"],"g":"","h":2}"#),
        // `metadata` of any type is removed from requestObject/responseObject, not elsewhere
        event(r#","requestObject":{"metadata":"x","a":1},"responseObject":{"a":{"metadata":"kept"},"metadata":5}"#),
        event(r#","metadata":{"name":"top-level metadata is kept"}"#),
        // user variants
        event(r#","impersonatedUser":{"username":"bob","groups":null,"extra":{"k":["v",null],"s":"x"}}"#),
        // legacy events: `timestamp` becomes `stageTimestamp`, no apiVersion
        r#"{"kind":"Event","level":"Metadata","timestamp":"2017-09-11T19:55:05Z","auditID":"x","stage":"ResponseComplete","requestURI":"/api","verb":"list","user":{"username":"u"},"sourceIPs":["::1"]}"#.to_string(),
        r#"{"timestamp":"2017-09-11T19:55:05Z","auditID":"x","verb":"list","objectRef":{"name":"n"}}"#.to_string(),
        r#"{"auditID":"x","verb":"list","timestamp":"2017-09-11T19:55:05Z","stageTimestamp":"2017-09-11T19:55:06Z"}"#.to_string(),
        r#"{"auditID":"x","verb":"list","timestamp":"2017-09-11T19:55:05Z","requestReceivedTimestamp":null}"#.to_string(),
        // sourceIPs: duplicates, IPv6, empty
        event(r#","sourceIPs":["10.0.0.1","10.0.0.1","fe80::1"]"#),
        event(r#","sourceIPs":[]"#),
        // username == uid, empty uid
        event(r#","user":{"username":"same","uid":"same"}"#),
        event(r#","user":{"username":"bob","uid":""}"#),
        event(r#","user":{"uid":"only"}"#),
        event(r#","user":null,"objectRef":null,"verb":"","userAgent":"""#),
        event(r#","objectRef":{"name":"only-name","namespace":"n"}"#),
        event(r#","objectRef":{"resource":"r"},"apiVersion":null"#),
        // other timestamps and an escaped one
        event(r#","requestReceivedTimestamp":"2024-05-01T10:00:00\u002b02:00""#),
        r#"{"kind":"Event","verb":"get","stageTimestamp":"2024-01-01T00:00:00Z"}"#.to_string(),
        // nothing but the required
        r#"{"kind":"Event","requestReceivedTimestamp":"2024-01-01T00:00:00Z"}"#.to_string(),
        // dotted keys inside objects
        event(r#","requestObject":{"spec":{"selector":{"app.kubernetes.io/name":"x"}}}"#),
        // escaped string values where the derived fields come from
        event(r#","verb":"cr\u0065ate","userAgent":"a\/b","user":{"username":"sys\u0074em:x"}"#),
    ];
    for line in &served_cases {
        assert!(
            check(&normalizer, line.as_bytes(), &sets),
            "not transcoded: {line}"
        );
    }
    // Taken by the tree path (still the same output or error).
    let tree_cases = [
        // duplicate keys
        event("").replacen(r#""verb":"get""#, r#""verb":"get","verb":"list""#, 1),
        event(r#","requestObject":{"a":1,"a":2}"#),
        event(r#","annotations":{"a.b":"1","a_b":"2"}"#),
        // escaped keys
        event(r#","requestObject":{"\u0061":1}"#),
        // negative zero (the full parse reads a positive zero float)
        event(r#","requestObject":{"z":-0}"#),
        event(r#","requestObject":{"z":[-0.0]}"#),
        // invalid sourceIPs: no source.ip (tree path decides)
        event(r#","sourceIPs":["10.0.0.1","not-an-ip"]"#),
        // wrong types: errors
        event(r#","responseStatus":{"code":"200"}"#),
        event(r#","annotations":{"a":1}"#),
        r#"{"kind":"Event","verb":"get"}"#.to_string(),
        // legacy timestamp beside a null stageTimestamp
        r#"{"auditID":"x","verb":"list","stageTimestamp":null,"timestamp":"2017-09-11T19:55:05Z"}"#
            .to_string(),
        // other shapes
        r#"{"kind":"EventList","items":[]}"#.to_string(),
        r#"{"protoPayload":{},"timestamp":"2020-01-01T00:00:00Z","insertId":"x"}"#.to_string(),
        r#"{"hello":"world"}"#.to_string(),
        "{not json".to_string(),
        "[1,2]".to_string(),
    ];
    for line in &tree_cases {
        let served = check(&normalizer, line.as_bytes(), &sets);
        // invalid sourceIPs are transcoded (no source.ip), the others are not
        if !line.contains("not-an-ip") {
            assert!(!served, "transcoded: {line}");
        }
    }
}

#[test]
fn unusual_namespaces_are_the_same() {
    let sets = field_sets();
    let line = event(r#","annotations":{"authorization.k8s.io/decision":"allow"}"#);
    for namespace in ["", "we\"ird\\ns\u{1}", "ünïcode"] {
        let normalizer = Normalizer::new(Options {
            namespace: namespace.to_string(),
            ..Options::default()
        });
        let mut with_ns = sets.clone();
        with_ns.push(Some(vec!["data_stream".to_string(), "@timestamp".to_string()]));
        with_ns.push(Some(vec!["data_stream.namespace".to_string()]));
        with_ns.push(Some(vec![
            "kubernetes.audit".to_string(),
            "data_stream.namespace".to_string(),
        ]));
        assert!(check(&normalizer, line.as_bytes(), &with_ns), "{namespace:?}");
    }
}

#[test]
fn a_reader_already_iterated_gives_the_rest_of_its_lines() {
    let path = std::path::Path::new(FIXTURES).join("elastic-kubernetes-audit/test-audit.log");
    let want = read_reference(&path, None, true);
    for workers in [1, 2] {
        let mut reader = Reader::open(&[path.to_string_lossy().into_owned()], Options::default())
            .unwrap()
            .with_workers(workers);
        let first = reader.next().unwrap().unwrap();
        let mut got = Vec::new();
        sources::write_document(&first, &EcsFormat::new(None, true), &mut got);
        for chunk in reader.ecs_lines(EcsFormat::new(None, true)) {
            got.extend_from_slice(&chunk.unwrap().bytes);
        }
        assert_eq!(String::from_utf8(got).unwrap(), want, "workers {workers}");
    }
}
