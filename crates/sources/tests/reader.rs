//! The reader over files, directories, gzip and streams; progress; projection; time policies.

use std::io::Write;
use std::path::PathBuf;

use events::Value;
use sources::{Options, Reader, TimePolicy, normalize_line};

const GOOD: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"ID","stage":"ResponseComplete","verb":"create","user":{"username":"alice","uid":"u1","groups":["g"]},"sourceIPs":["10.0.0.1","172.16.0.1"],"userAgent":"kubectl","objectRef":{"resource":"pods","namespace":"ns","name":"web"},"requestObject":{"metadata":{"name":"web"},"spec":{"hostPID":true,"containers":[{"image":"nginx","securityContext":{"privileged":true}}]}},"responseObject":{"kind":"Pod","status":{"phase":"Pending"}},"requestReceivedTimestamp":"2025-01-01T00:00:01.123456Z","stageTimestamp":"2025-01-01T00:00:01.2Z","annotations":{"authorization.k8s.io/decision":"allow"}}"#;

fn line(id: &str) -> String {
    GOOD.replace("\"ID\"", &format!("\"{id}\""))
}

fn tmpdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sources-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn audit_ids(reader: Reader) -> Vec<String> {
    reader
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .map(|d| d.first_str("kubernetes.audit.auditID").unwrap().to_string())
        .collect()
}

#[test]
fn directories_recursively_in_name_order_with_gzip_by_content() {
    let dir = tmpdir("dir");
    std::fs::create_dir_all(dir.join("b/sub")).unwrap();
    std::fs::write(dir.join("c.log"), format!("{}\n{}\n", line("c1"), line("c2"))).unwrap();
    std::fs::write(dir.join("a.log"), line("a1")).unwrap();
    // gzip content under a plain name, and plain text under a .gz name
    std::fs::write(
        dir.join("b/sub/z.log"),
        gzip(format!("{}\n", line("z1")).as_bytes()),
    )
    .unwrap();
    std::fs::write(dir.join("b/y.gz"), format!("{}\n", line("y1"))).unwrap();
    // two concatenated gzip members
    let mut two = gzip(format!("{}\n", line("m1")).as_bytes());
    two.extend(gzip(format!("{}\n", line("m2")).as_bytes()));
    std::fs::write(dir.join("b/m.bin"), &two).unwrap();
    // hidden files inside directories are skipped
    std::fs::write(dir.join("b/.hidden"), "not events").unwrap();
    // a symbolic link back to an ancestor directory is not followed
    #[cfg(unix)]
    std::os::unix::fs::symlink(&dir, dir.join("b/sub/loop")).unwrap();

    let reader = Reader::open(&[dir.display().to_string()], Options::default()).unwrap();
    let total: u64 = ["c.log", "a.log", "b/sub/z.log", "b/y.gz", "b/m.bin"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().len())
        .sum();
    assert_eq!(reader.total_bytes(), Some(total));
    let progress = reader.progress_handle();
    assert_eq!(progress.bytes_read(), 0);
    let docs: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(progress.bytes_read(), total);
    let ids: Vec<&str> = docs
        .iter()
        .map(|d| d.first_str("kubernetes.audit.auditID").unwrap())
        .collect();
    // entries sort by name at each level: a.log, b/ (m.bin, sub/z.log, y.gz), c.log
    assert_eq!(ids, vec!["a1", "m1", "m2", "z1", "y1", "c1", "c2"]);
    let origins: Vec<String> = docs
        .iter()
        .map(|d| d.origin.as_ref().unwrap().to_string())
        .collect();
    assert!(origins[0].ends_with("a.log:1"), "{origins:?}");
    assert!(origins[6].ends_with("c.log:2"), "{origins:?}");
}

#[test]
fn several_paths_are_read_in_the_order_given() {
    let dir = tmpdir("order");
    std::fs::write(dir.join("1.log"), line("one")).unwrap();
    std::fs::write(dir.join("2.log"), line("two")).unwrap();
    let paths = [
        dir.join("2.log").display().to_string(),
        dir.join("1.log").display().to_string(),
    ];
    assert_eq!(
        audit_ids(Reader::open(&paths, Options::default()).unwrap()),
        vec!["two", "one"]
    );
}

#[test]
fn streams_like_stdin() {
    let text = format!("{}\n\n{}\n", line("s1"), line("s2"));
    let reader = Reader::from_reader(
        "<stdin>",
        Box::new(std::io::Cursor::new(text.into_bytes())),
        Options::default(),
    );
    assert_eq!(reader.total_bytes(), None);
    let docs: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].origin.as_ref().unwrap().to_string(), "<stdin>:3");
    // gzip through a stream too
    let gz = gzip(format!("{}\n", line("g1")).as_bytes());
    let reader = Reader::from_reader("-", Box::new(std::io::Cursor::new(gz)), Options::default());
    assert_eq!(audit_ids(reader), vec!["g1"]);
}

#[test]
fn ids_are_deterministic_and_distinct() {
    let a = normalize_line(line("x").as_bytes(), &Options::default()).unwrap();
    let b = normalize_line(line("x").as_bytes(), &Options::default()).unwrap();
    let c = normalize_line(line("y").as_bytes(), &Options::default()).unwrap();
    assert_eq!(a[0].id, b[0].id);
    assert_ne!(a[0].id, c[0].id);
    assert_eq!(a[0].id.len(), 22);
    // trailing whitespace / CRLF does not change the record
    let crlf = normalize_line(format!("{}\r\n", line("x")).as_bytes(), &Options::default()).unwrap();
    assert_eq!(crlf[0].id, a[0].id);
    assert_eq!(a[0].index, "logs-kubernetes.audit_logs-default");
    let ns = Options {
        namespace: "prod".to_string(),
        ..Options::default()
    };
    let p = normalize_line(line("x").as_bytes(), &ns).unwrap();
    assert_eq!(p[0].index, "logs-kubernetes.audit_logs-prod");
    assert_eq!(p[0].first_str("data_stream.namespace"), Some("prod"));
}

#[test]
fn replay_and_live_time_policies() {
    let replay = normalize_line(GOOD.as_bytes(), &Options::default()).unwrap();
    assert_eq!(
        replay[0].first_str("@timestamp"),
        Some("2025-01-01T00:00:01.123Z")
    );
    assert_eq!(
        replay[0].first_str("event.ingested"),
        Some("2025-01-01T00:00:01Z")
    );
    let live_opts = Options {
        time_policy: TimePolicy::Live,
        ..Options::default()
    };
    let before = events::time::now_nanos() / 1_000_000 * 1_000_000;
    let live = normalize_line(GOOD.as_bytes(), &live_opts).unwrap();
    let after = events::time::now_nanos();
    let ts = events::time::parse_timestamp(live[0].first_str("@timestamp").unwrap()).unwrap();
    assert!(ts >= before && ts <= after, "read time");
    let ingested = events::time::parse_timestamp(live[0].first_str("event.ingested").unwrap()).unwrap();
    assert_eq!(ingested % 1_000_000_000, 0);
    assert!(ingested <= after && ingested > before - 1_000_000_000);
}

#[test]
fn preserve_original_keeps_the_line() {
    let opts = Options {
        preserve_original: true,
        ..Options::default()
    };
    let d = normalize_line(GOOD.as_bytes(), &opts).unwrap();
    assert_eq!(d[0].first_str("event.original"), Some(GOOD));
    assert_eq!(d[0].first_str("tags"), Some("preserve_original_event"));
    let d = normalize_line(GOOD.as_bytes(), &Options::default()).unwrap();
    assert!(!d[0].has("event.original") && !d[0].has("tags"));
}

#[test]
fn projection_keeps_requested_fields_and_drops_big_subtrees() {
    let fields = [
        "user.name",
        "source.ip",
        "event.action",
        "event.outcome",
        "kubernetes.audit.requestObject.spec.containers.securityContext.privileged",
        "kubernetes.audit.annotations.authorization_k8s_io/decision",
        "orchestrator.resource.name",
    ];
    let opts = Options {
        fields: Some(fields.iter().map(|s| s.to_string()).collect()),
        ..Options::default()
    };
    let full = normalize_line(GOOD.as_bytes(), &Options::default())
        .unwrap()
        .remove(0);
    let proj = normalize_line(GOOD.as_bytes(), &opts).unwrap().remove(0);
    for f in fields.iter().chain(&[
        "@timestamp",
        "event.ingested",
        "data_stream.dataset",
        "data_stream.namespace",
    ]) {
        assert!(full.has(f), "{f}");
        assert_eq!(proj.field(f), full.field(f), "{f}");
    }
    assert!(!proj.has("kubernetes.audit.responseObject.kind"));
    // derived fields nobody asked for are not built
    assert!(full.has("user_agent.original") && !proj.has("user_agent.original"));
    assert!(full.has("related.ip") && !proj.has("related.ip") && !proj.has("client.ip"));
    assert!(!proj.has("kubernetes.audit.requestObject.spec.hostPID"));
    assert!(!proj.has("kubernetes.audit.requestObject.spec.containers.image"));
    assert_eq!(proj.id, full.id);
    // the reader applies the same projection
    let reader = Reader::from_reader(
        "p",
        Box::new(std::io::Cursor::new(GOOD.as_bytes().to_vec())),
        opts,
    );
    let docs: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(docs[0].source, proj.source);
}

#[test]
fn projection_of_process_and_ecs_records_keeps_their_fields() {
    let falco = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/process-sensors/falco/falco-website-examples.jsonl"
    ))
    .unwrap();
    let line = falco.lines().nth(1).unwrap();
    let fields = [
        "process.name",
        "process.args",
        "user.name",
        "orchestrator.resource.name",
    ];
    let opts = Options {
        fields: Some(fields.iter().map(|s| s.to_string()).collect()),
        ..Options::default()
    };
    let full = normalize_line(line.as_bytes(), &Options::default())
        .unwrap()
        .remove(0);
    let proj = normalize_line(line.as_bytes(), &opts).unwrap().remove(0);
    for f in fields {
        assert!(full.has(f), "{f}");
        assert_eq!(proj.field(f), full.field(f), "{f}");
    }
    let ecs = r#"{"@timestamp":"2024-01-01T00:00:00Z","event":{"dataset":"x.y"},"user":{"name":"bob"},"metadata":{"a":1}}"#;
    let proj = normalize_line(ecs.as_bytes(), &opts).unwrap().remove(0);
    assert_eq!(proj.first_str("user.name"), Some("bob"));
    assert_eq!(proj.index, "logs-x.y-default");
}

#[test]
fn records_wrapper_and_top_level_array() {
    let aks = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/elastic-kubernetes-audit/test-kube-audit.log"
    ))
    .unwrap();
    let record = aks.trim();
    let wrapped = format!("{{\"records\":[{record},{record}]}}");
    let docs = normalize_line(wrapped.as_bytes(), &Options::default()).unwrap();
    assert_eq!(docs.len(), 2);
    let single = normalize_line(record.as_bytes(), &Options::default()).unwrap();
    assert_eq!(docs[0].source, single[0].source);
    let array = format!("[{},{}]", line("r1"), line("r2"));
    let docs = normalize_line(array.as_bytes(), &Options::default()).unwrap();
    let ids: Vec<_> = docs
        .iter()
        .map(|d| d.first_str("kubernetes.audit.auditID").unwrap())
        .collect();
    assert_eq!(ids, vec!["r1", "r2"]);
    assert_ne!(docs[0].id, docs[1].id);
    // a bad member fails the record, naming the member
    let bad = format!(
        "{{\"kind\":\"EventList\",\"items\":[{},{{\"sourceIPs\":5,\"kind\":\"Event\"}}]}}",
        line("ok")
    );
    let err = normalize_line(bad.as_bytes(), &Options::default()).unwrap_err();
    assert!(err.contains("member 1") && err.contains("sourceIPs"), "{err}");
}

#[test]
fn normalize_value_matches_normalize_line_for_compact_records() {
    let v = Value::from_json(GOOD).unwrap();
    let a = sources::normalize_value(&v, &Options::default()).unwrap();
    let b = normalize_line(GOOD.as_bytes(), &Options::default()).unwrap();
    assert_eq!(a, b);
}

/// The parallel reader yields exactly what the sequential one does, in the same order: documents,
/// multi-document records and errors, across several inputs.
#[test]
fn workers_preserve_order_and_errors() {
    let dir = tmpdir("parallel");
    let mut text = String::new();
    for i in 0..1500 {
        match i % 97 {
            13 => text.push_str("{not json\n"),
            41 => text.push_str(&format!(
                "[{},{}]\n",
                line(&format!("arr{i}a")),
                line(&format!("arr{i}b"))
            )),
            _ => {
                text.push_str(&line(&format!("e{i}")));
                text.push('\n');
            }
        }
    }
    std::fs::write(dir.join("a.log"), &text).unwrap();
    std::fs::write(dir.join("b.log.gz"), gzip(text.as_bytes())).unwrap();
    let paths = [dir.display().to_string()];
    let summarize = |r: Result<events::Document, sources::InputError>| match r {
        Ok(d) => format!(
            "{} {} {}",
            d.origin.as_ref().unwrap(),
            d.id,
            d.first_str("kubernetes.audit.auditID").unwrap()
        ),
        Err(e) => format!("ERR {e}"),
    };
    let sequential: Vec<String> = Reader::open(&paths, Options::default())
        .unwrap()
        .map(summarize)
        .collect();
    let reader = Reader::open(&paths, Options::default()).unwrap().with_workers(3);
    let progress = reader.progress_handle();
    let parallel: Vec<String> = reader.map(summarize).collect();
    assert_eq!(parallel, sequential);
    // `{not json` opens an object that the next line does not continue
    let errors: Vec<&String> = sequential.iter().filter(|s| s.starts_with("ERR ")).collect();
    assert_eq!(errors.len(), 2 * 16);
    assert!(errors[0].contains("a.log:14: incomplete JSON"), "{}", errors[0]);
    assert_eq!(sequential.len(), 2 * (1500 + 16));
    let total: u64 = ["a.log", "b.log.gz"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().len())
        .sum();
    assert_eq!(progress.bytes_read(), total);
}

#[test]
fn dropping_a_parallel_reader_early_does_not_hang() {
    let text: String = (0..20_000).map(|i| line(&format!("d{i}")) + "\n").collect();
    let mut reader = Reader::from_reader(
        "s",
        Box::new(std::io::Cursor::new(text.into_bytes())),
        Options::default(),
    )
    .with_workers(2);
    assert!(reader.next().unwrap().is_ok());
    drop(reader);
}
