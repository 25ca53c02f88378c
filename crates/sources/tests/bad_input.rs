//! Bad input never crashes and never vanishes: each bad record is one `InputError` naming
//! `file:line` and the reason, and reading continues with the next line.

use std::io::{self, Read};

use sources::{InputError, Options, Reader};

fn read(name: &str, bytes: Vec<u8>, opts: Options) -> Vec<Result<events::Document, InputError>> {
    Reader::from_reader(name, Box::new(io::Cursor::new(bytes)), opts).collect()
}

const GOOD: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","verb":"get","sourceIPs":["10.0.0.1"],"requestReceivedTimestamp":"2025-01-01T00:00:00.000001Z","annotations":{"authorization.k8s.io/decision":"allow"}}"#;

fn good(id: u32) -> String {
    GOOD.replace("\"a1\"", &format!("\"a{id}\""))
}

fn single_error(results: &[Result<events::Document, InputError>]) -> &InputError {
    let errors: Vec<&InputError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0]
}

#[test]
fn malformed_json_is_reported_and_reading_continues() {
    let text = format!("{}\n{{\"kind\":\"Event\",\"verb\":}}\n{}\n", good(1), good(2));
    let r = read("audit.log", text.into_bytes(), Options::default());
    assert_eq!(r.len(), 3);
    let e = single_error(&r);
    assert_eq!((e.source.as_str(), e.line), ("audit.log", 2));
    assert!(e.reason.starts_with("malformed JSON"), "{e}");
    assert!(e.to_string().starts_with("audit.log:2: malformed JSON"));
    assert!(r[2].is_ok());
}

#[test]
fn invalid_utf8_is_reported() {
    let mut bytes = format!("{}\n", good(1)).into_bytes();
    bytes.extend_from_slice(b"{\"kind\":\"Event\",\"verb\":\"g\xffet\"}\n");
    bytes.extend_from_slice(format!("{}\n", good(2)).as_bytes());
    let r = read("x.log", bytes, Options::default());
    assert_eq!(r.len(), 3);
    let e = single_error(&r);
    assert_eq!(e.line, 2);
    assert!(e.reason.contains("invalid UTF-8"), "{e}");
}

/// A reader producing `prefix`, then `n` bytes of `x` without newline, then `suffix`, without
/// ever holding the long line in memory.
struct LongLine {
    prefix: Vec<u8>,
    remaining: usize,
    suffix: Vec<u8>,
    pos: usize,
}

impl Read for LongLine {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.pos);
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        if self.remaining > 0 {
            let n = buf.len().min(self.remaining);
            buf[..n].fill(b'x');
            self.remaining -= n;
            return Ok(n);
        }
        let off = self.pos - self.prefix.len();
        let n = buf.len().min(self.suffix.len() - off);
        buf[..n].copy_from_slice(&self.suffix[off..off + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn ten_megabyte_line_is_skipped_and_reading_continues() {
    let src = LongLine {
        prefix: format!("{}\n{{\"kind\":\"Event\",\"requestURI\":\"", good(1)).into_bytes(),
        remaining: 10 * 1024 * 1024,
        suffix: format!("\"}}\n{}\n", good(2)).into_bytes(),
        pos: 0,
    };
    let reader = Reader::from_reader("big.log", Box::new(src), Options::default());
    let progress = reader.progress_handle();
    let r: Vec<_> = reader.collect();
    assert_eq!(r.len(), 3);
    let e = single_error(&r);
    assert_eq!(e.line, 2);
    assert!(e.reason.contains("exceeds the limit of 4194304 bytes"), "{e}");
    assert_eq!(
        r[2].as_ref().unwrap().first_str("kubernetes.audit.auditID"),
        Some("a2")
    );
    assert!(progress.bytes_read() > 10 * 1024 * 1024);
}

#[test]
fn a_smaller_limit_applies() {
    let opts = Options {
        max_line_bytes: 100,
        ..Options::default()
    };
    let r = read("x", format!("{}\n", good(1)).into_bytes(), opts);
    assert!(single_error(&r).reason.contains("exceeds the limit of 100 bytes"));
}

#[test]
fn wrong_json_types_of_known_fields_are_errors() {
    let cases = [
        (
            r#""requestReceivedTimestamp":"2025-01-01T00:00:00.000001Z""#,
            r#""requestReceivedTimestamp":5"#,
            "requestReceivedTimestamp",
        ),
        (r#""sourceIPs":["10.0.0.1"]"#, r#""sourceIPs":"x""#, "sourceIPs"),
        (r#""verb":"get""#, r#""verb":["get"]"#, "verb"),
        (
            r#""annotations":{"authorization.k8s.io/decision":"allow"}"#,
            r#""annotations":["allow"]"#,
            "annotations",
        ),
    ];
    for (from, to, field) in cases {
        let bad = GOOD.replace(from, to);
        assert_ne!(bad, GOOD);
        let text = format!("{}\n{bad}\n{}\n", good(1), good(2));
        let r = read("t.log", text.into_bytes(), Options::default());
        assert_eq!(r.len(), 3);
        let e = single_error(&r);
        assert_eq!(e.line, 2);
        assert!(e.reason.contains(field), "{e}");
        assert!(r[0].is_ok() && r[2].is_ok());
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn truncated_gzip_is_reported_after_the_complete_lines() {
    let text: String = (0..2000).map(|i| good(i) + "\n").collect();
    let gz = gzip(text.as_bytes());
    let truncated = gz[..gz.len() / 2].to_vec();
    let r = read("audit.log.gz", truncated, Options::default());
    let errors: Vec<&InputError> = r.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = errors[0];
    assert!(e.reason.contains("gzip"), "{e}");
    let good_docs = r.iter().filter(|r| r.is_ok()).count();
    assert!(good_docs > 100 && good_docs < 2000, "{good_docs}");
    assert_eq!(
        e.line,
        good_docs as u64 + 1,
        "the error names the first line not read"
    );
    assert!(r.last().unwrap().is_err());
}

#[test]
fn one_bad_line_among_good_ones() {
    let mut text = String::new();
    for i in 0..100 {
        if i == 57 {
            text.push_str("this is not json\n");
        } else {
            text.push_str(&good(i));
            text.push('\n');
        }
    }
    let r = read("mixed.log", text.into_bytes(), Options::default());
    assert_eq!(r.len(), 100);
    assert_eq!(single_error(&r).line, 58);
    let ids: Vec<String> = r
        .iter()
        .filter_map(|d| d.as_ref().ok())
        .map(|d| d.first_str("kubernetes.audit.auditID").unwrap().to_string())
        .collect();
    let want: Vec<String> = (0..100).filter(|i| *i != 57).map(|i| format!("a{i}")).collect();
    assert_eq!(ids, want);
}

#[test]
fn unrecognized_records_and_non_objects_are_errors() {
    let text = format!("{{\"hello\":\"world\"}}\n42\n\"str\"\n{}\n", good(1));
    let r = read("u.log", text.into_bytes(), Options::default());
    assert_eq!(r.len(), 4);
    for (i, item) in r[..3].iter().enumerate() {
        let e = item.as_ref().unwrap_err();
        assert_eq!(e.line, i as u64 + 1);
    }
    assert!(r[0].as_ref().unwrap_err().reason.contains("unrecognized"));
    assert!(r[3].is_ok());
}

#[test]
fn replay_needs_an_event_time() {
    let text = r#"{"kind":"Event","auditID":"x","verb":"get"}"#;
    let r = read("n.log", text.as_bytes().to_vec(), Options::default());
    assert!(single_error(&r).reason.contains("no event time"));
    let live = Options {
        time_policy: sources::TimePolicy::Live,
        ..Options::default()
    };
    let r = read("n.log", text.as_bytes().to_vec(), live);
    assert!(r[0].is_ok());
}

#[test]
fn aks_record_with_unparsable_log_is_an_error() {
    let text = r#"{"category":"kube-audit","operationName":"o","resourceId":"r","time":"2025-01-01T00:00:00Z","properties":{"log":"{not json"}}"#;
    let r = read("aks.json", text.as_bytes().to_vec(), Options::default());
    assert!(single_error(&r).reason.contains("properties.log"));
    let other = text.replace("kube-audit", "kube-apiserver");
    let r = read("aks.json", other.into_bytes(), Options::default());
    assert!(single_error(&r).reason.contains("kube-apiserver"));
}

#[test]
fn unreadable_paths_are_named() {
    let err = Reader::open(&["/nonexistent/audit.log".to_string()], Options::default())
        .err()
        .expect("missing file is an error");
    assert_eq!(err.source, "/nonexistent/audit.log");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/audit.log:0: cannot read"),
        "{err}"
    );
}

#[test]
fn unterminated_pretty_document_is_reported() {
    let text = format!("{}\n{{\n  \"kind\": \"Event\",\n", good(1));
    let r = read("p.json", text.into_bytes(), Options::default());
    assert_eq!(r.len(), 2);
    assert_eq!(single_error(&r).line, 2);
}

/// On a thread with the main thread's 8 MiB stack: unoptimized builds need ~16 KiB of stack per
/// nesting level below the limit of 128 (release builds ~1 KiB).
#[test]
fn deeply_nested_json_is_an_error_not_a_crash() {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(deeply_nested)
        .unwrap()
        .join()
        .unwrap();
}

fn deeply_nested() {
    let deep = format!("{}{}\n{}\n", "[".repeat(200_000), "]".repeat(200_000), good(1));
    let r = read("deep.json", deep.into_bytes(), Options::default());
    assert_eq!(r.len(), 2);
    assert_eq!(single_error(&r).line, 1);
    let opts = Options {
        fields: Some(vec!["user.name".to_string()]),
        ..Options::default()
    };
    let deep = format!(
        "{{\"kind\":\"Event\",\"requestObject\":{}{}}}\n",
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    let r = read("deep.json", deep.into_bytes(), opts);
    let e = single_error(&r);
    assert_eq!(e.line, 1);
    assert!(e.reason.contains("deeper than 128"), "{e}");
}
