//! Regenerates `samples/` (audit log, process documents and truth record) byte-identically:
//! `cargo run -p gen --example write_samples [-- <output-dir>]` (default: the repository's
//! `samples/`).

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples")));
    std::fs::create_dir_all(&dir)?;
    let cfg = r#gen::samples_config();
    let mut audit = BufWriter::new(File::create(dir.join("audit.log"))?);
    let mut process = BufWriter::new(File::create(dir.join("process.ndjson"))?);
    let truth = r#gen::generate(&cfg, &mut audit, Some(&mut process))?;
    let mut json = serde_json::to_string_pretty(&truth).map_err(std::io::Error::other)?;
    json.push('\n');
    std::fs::write(dir.join("truth.json"), json)?;
    eprintln!(
        "wrote {} audit events, {} process events, {} incidents, {} near misses to {}",
        truth.audit_events,
        truth.process_events,
        truth.incidents.len(),
        truth.near_misses.len(),
        dir.display()
    );
    Ok(())
}
