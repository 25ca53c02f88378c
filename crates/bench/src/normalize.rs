//! The normalize pass: `sources::Reader` turns every raw audit line of the corpus into its ECS
//! document (as `crowsnest normalize` does, without writing them out), on one thread.

use crate::measure::{Measure, Stopwatch};
use std::hint::black_box;
use std::path::Path;

/// Reads `path` through `sources::Reader` with the default options (every field, replay time)
/// and counts the documents and the lines it rejects.
pub fn normalize(path: &Path) -> anyhow::Result<Measure> {
    let sw = Stopwatch::start();
    let (reader, bytes) = open(path)?;
    let mut events = 0u64;
    let mut bad = 0u64;
    for item in reader {
        match item {
            Ok(doc) => {
                black_box(&doc);
                events += 1;
            }
            Err(_) => bad += 1,
        }
    }
    Ok(Measure::counted(bytes, events, bad, sw))
}

/// How `normalize_ecs` turns records into ECS JSON text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcsPath {
    /// Documents from `sources::Reader`, serialized (what `crowsnest normalize` did before the
    /// transcoder).
    Tree,
    /// `Reader::ecs_lines`: audit Event lines transcoded straight to text.
    Transcoder,
}

/// The fields of the projected pass (`crowsnest normalize --fields`).
pub const ECS_FIELDS: &str =
    "@timestamp,event.action,user.name,source.ip,kubernetes.audit.objectRef.resource";

/// Reads `path` on one thread and writes every document's ECS JSON line (as `crowsnest
/// normalize` prints them, `fields` projected when given) into a buffer that is dropped once
/// it holds 1 MB; the events counted are the lines written.
pub fn normalize_ecs(path: &Path, how: EcsPath, fields: Option<&str>) -> anyhow::Result<Measure> {
    let fields = fields.map(|f| f.split(',').map(str::to_string).collect::<Vec<_>>());
    let sw = Stopwatch::start();
    let (reader, bytes) = open(path)?;
    let format = sources::EcsFormat::new(fields, false);
    let (mut events, mut bad) = (0u64, 0u64);
    match how {
        EcsPath::Tree => {
            let mut out = Vec::with_capacity(2 << 20);
            for item in reader {
                match item {
                    Ok(doc) => {
                        sources::write_document(&doc, &format, &mut out);
                        events += 1;
                        if out.len() >= 1 << 20 {
                            black_box(&out);
                            out.clear();
                        }
                    }
                    Err(_) => bad += 1,
                }
            }
            black_box(&out);
        }
        EcsPath::Transcoder => {
            for item in reader.ecs_lines(format) {
                match item {
                    Ok(chunk) => {
                        black_box(&chunk.bytes);
                        events += chunk.documents;
                    }
                    Err(_) => bad += 1,
                }
            }
        }
    }
    Ok(Measure::counted(bytes, events, bad, sw))
}

/// A reader over `path` with the default options (every field, replay time), and its size.
fn open(path: &Path) -> anyhow::Result<(sources::Reader, u64)> {
    let paths = [path.to_string_lossy().into_owned()];
    let reader = sources::Reader::open(&paths, sources::Options::default())
        .map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
    let bytes = match reader.total_bytes() {
        Some(b) => b,
        None => std::fs::metadata(path)?.len(),
    };
    Ok((reader, bytes))
}
