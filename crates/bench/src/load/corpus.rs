//! The request bodies of a load run: audit Events from the `gen` crate (the background traffic
//! of a mid-size cluster with its attacks and near misses, mean line ≈1.5 KB) cut into
//! `EventList` batches as the kube-apiserver webhook backend sends them. The pool of batches
//! is generated once and cycled; each later cycle rewrites the first group of every
//! `auditID` with the cycle number, so that no two posted events share an id.

use anyhow::{Context, bail};

const AUDIT_ID: &[u8] = b"\"auditID\":\"";

/// One `EventList` body and where its events' `auditID` values start.
pub struct Batch {
    pub body: Vec<u8>,
    pub events: usize,
    id_offsets: Vec<usize>,
}

impl Batch {
    /// The body to post for the `cycle`-th pass over the pool (0: as generated).
    pub fn body_for_cycle(&self, cycle: u64) -> Vec<u8> {
        let mut body = self.body.clone();
        if cycle > 0 {
            let hex = format!("{:08x}", cycle as u32);
            for &at in &self.id_offsets {
                body[at..at + 8].copy_from_slice(hex.as_bytes());
            }
        }
        body
    }
}

/// The pool of batches.
pub struct Corpus {
    pub batches: Vec<Batch>,
    pub events: usize,
    pub bytes: usize,
}

/// Generates `events` audit events (seed `seed`) and cuts them into batches of `batch`.
pub fn generate(events: u64, batch: usize, seed: u64) -> anyhow::Result<Corpus> {
    if batch == 0 {
        bail!("--batch must be at least 1");
    }
    let cfg = r#gen::Config {
        seed,
        events: Some(events),
        bytes: None,
        process: false,
        ..r#gen::Config::default()
    };
    let mut raw = Vec::new();
    r#gen::generate(&cfg, &mut raw, None).context("generating audit events")?;
    let lines: Vec<&[u8]> = raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        bail!("the generator produced no events");
    }
    let mut batches = Vec::new();
    let mut bytes = 0;
    for chunk in lines.chunks(batch) {
        let b = event_list(chunk)?;
        bytes += b.body.len();
        batches.push(b);
    }
    Ok(Corpus {
        batches,
        events: lines.len(),
        bytes,
    })
}

/// `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[...]}` as the
/// webhook backend sends it.
fn event_list(lines: &[&[u8]]) -> anyhow::Result<Batch> {
    let mut body = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum::<usize>() + 80);
    body.extend_from_slice(br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#);
    let mut id_offsets = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let Some(at) = memchr::memmem::find(line, AUDIT_ID) else {
            bail!("a generated event has no auditID");
        };
        let id = at + AUDIT_ID.len();
        if line
            .get(id..id + 8)
            .is_none_or(|h| !h.iter().all(u8::is_ascii_hexdigit))
        {
            bail!("a generated auditID is not a UUID");
        }
        id_offsets.push(body.len() + id);
        body.extend_from_slice(line);
    }
    body.extend_from_slice(b"]}");
    Ok(Batch {
        body,
        events: lines.len(),
        id_offsets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_event_lists_with_distinct_ids_per_cycle() {
        let c = generate(300, 100, 7).unwrap();
        assert_eq!(c.events, c.batches.iter().map(|b| b.events).sum::<usize>());
        assert!(c.events >= 300, "{}", c.events);
        let b = &c.batches[0];
        let ids = |body: &[u8]| -> Vec<String> {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(v["kind"], "EventList");
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["auditID"].as_str().unwrap().to_string())
                .collect()
        };
        let first = ids(&b.body_for_cycle(0));
        let second = ids(&b.body_for_cycle(1));
        assert_eq!(first.len(), b.events);
        assert_eq!(first, ids(&b.body));
        for (a, z) in first.iter().zip(&second) {
            assert_ne!(a, z);
            assert_eq!(a[8..], z[8..]);
            assert!(z.starts_with("00000001-"));
        }
    }
}
