//! Bad input never crashes: every fixture record, mutated byte by byte (deterministically),
//! either normalizes or yields an error; and a reader over all the mutations yields exactly one
//! result or error per non-blank line.

use sources::{Options, Reader, normalize_line};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");

fn seeds() -> Vec<Vec<u8>> {
    let files = [
        "elastic-kubernetes-audit/test-audit.log",
        "elastic-kubernetes-audit/test-kube-audit.log",
        "elastic-kubernetes-audit/variants/test-audit.log@0b97ab02",
        "k8s-audit-samples/synthetic/SYNTHETIC-webhook-eventlist-from-falco-traces.json",
        "k8s-audit-samples/falco-trace-files/create_nginx_pod_privileged.json",
        "process-sensors/falco/falco-website-examples.jsonl",
        "process-sensors/tetragon/events.json",
    ];
    files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read(format!("{FIXTURES}/{f}")).unwrap();
            text.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const NASTY: &[u8] = b"{}[]\":,\\0 -e.5Zz\xff\x00";

fn mutate(rng: &mut Rng, line: &[u8]) -> Vec<u8> {
    let mut out = line.to_vec();
    for _ in 0..1 + rng.below(3) {
        if out.is_empty() {
            break;
        }
        let at = rng.below(out.len());
        match rng.below(4) {
            0 => out[at] = NASTY[rng.below(NASTY.len())],
            1 => {
                out.remove(at);
            }
            2 => out.insert(at, NASTY[rng.below(NASTY.len())]),
            _ => out.truncate(at),
        }
    }
    out.retain(|&b| b != b'\n');
    out
}

#[test]
fn mutated_records_never_panic() {
    let seeds = seeds();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ok = 0;
    let mut corpus = Vec::new();
    for round in 0..3000 {
        let line = mutate(&mut rng, &seeds[round % seeds.len()]);
        if normalize_line(&line, &Options::default()).is_ok() {
            ok += 1;
        }
        corpus.extend_from_slice(&line);
        corpus.push(b'\n');
    }
    assert!(
        ok > 100,
        "some mutations (inside string values) still normalize: {ok}"
    );
    let lines = corpus
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .count();
    let reader = Reader::from_reader("m", Box::new(std::io::Cursor::new(corpus)), Options::default());
    // Each line is one record (lines starting a pretty-printed document may take in the next
    // indented ones; mutated lines never start with whitespace, so none does here).
    let mut origins = Vec::new();
    for item in reader {
        match item {
            Ok(d) => origins.push(d.origin.unwrap().line),
            Err(e) => origins.push(e.line),
        }
    }
    origins.dedup();
    assert_eq!(origins.len(), lines);
}
