//! The normalize pass: `sources::Reader` turns every raw audit line of the corpus into its ECS
//! document (as `crowsnest normalize` does, without writing them out), on one thread.

use crate::measure::{Measure, Stopwatch};
use std::hint::black_box;
use std::path::Path;

/// Reads `path` through `sources::Reader` with the default options (every field, replay time)
/// and counts the documents and the lines it rejects.
pub fn normalize(path: &Path) -> anyhow::Result<Measure> {
    let paths = [path.to_string_lossy().into_owned()];
    let sw = Stopwatch::start();
    let reader = sources::Reader::open(&paths, sources::Options::default())
        .map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
    let bytes = match reader.total_bytes() {
        Some(b) => b,
        None => std::fs::metadata(path)?.len(),
    };
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
    let (wall_secs, cpu_secs) = sw.stop();
    Ok(Measure {
        bytes,
        events,
        bad,
        wall_secs,
        cpu_secs,
        ..Measure::default()
    })
}
