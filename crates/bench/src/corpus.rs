//! The corpora the benchmark runs on: raw audit logs written by `gen::generate` (the generator
//! behind `crowsnest generate`) into a scratch directory, or files the user names.

use crate::measure::Stopwatch;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Time of the first generated event: `crowsnest generate`'s default start.
pub const START: &str = "2025-03-04T00:00:00Z";

/// A corpus file and what is known about it.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub path: PathBuf,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Audit events in it, as the generator counted them.
    pub events: Option<u64>,
    /// Seconds the generator took.
    pub generate_secs: Option<f64>,
    /// Attacks the generator injected (each should raise alerts): none in a corpus shorter than
    /// one of its 20-minute scenario slots of simulated time.
    pub incidents: Option<u64>,
}

/// Events per second of simulated time: the generator's default. The same corpus comes from
/// `crowsnest generate --bytes SIZE --seed N --rate 50` (whose own default rate is higher).
pub const RATE: f64 = 50.0;

/// Writes about `bytes` of raw audit log (attacks injected) to `path` with the generator seeded by
/// `seed`, at `rate` events per second of simulated time from [`START`]: the bytes of
/// `crowsnest generate --bytes BYTES --seed SEED --rate RATE`.
pub fn generate(path: &Path, bytes: u64, seed: u64, rate: f64) -> anyhow::Result<Corpus> {
    let start = events::time::parse_timestamp(START)
        .ok_or_else(|| anyhow::anyhow!("bad built-in start time {START}"))?;
    let cfg = r#gen::Config {
        seed,
        events: None,
        bytes: Some(bytes),
        start,
        rate,
        attacks: true,
        process: false,
    };
    let sw = Stopwatch::start();
    let file = std::fs::File::create(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let truth = r#gen::generate(&cfg, &mut out, None)?;
    out.flush()?;
    drop(out);
    let (wall, _) = sw.stop();
    let size = std::fs::metadata(path)?.len();
    Ok(Corpus {
        path: path.to_path_buf(),
        bytes: size,
        events: Some(truth.audit_events),
        generate_secs: Some(wall),
        incidents: Some(truth.incidents.len() as u64),
    })
}

/// A file given on the command line.
pub fn existing(path: &Path) -> anyhow::Result<Corpus> {
    let meta = std::fs::metadata(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{}: not a file", path.display());
    }
    Ok(Corpus {
        path: path.to_path_buf(),
        bytes: meta.len(),
        events: None,
        generate_secs: None,
        incidents: None,
    })
}
