//! Writes a corpus: `cargo run --release -p gen --example generate -- <dir> [events] [rate] [seed]`
//! produces `<dir>/audit.log`, `<dir>/process.ndjson` and `<dir>/truth.json`.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().map(String::as_str).unwrap_or("corpus"));
    let events = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let rate = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100.0);
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    std::fs::create_dir_all(&dir)?;
    let cfg = r#gen::Config {
        seed,
        events: Some(events),
        rate,
        ..r#gen::Config::default()
    };
    let mut audit = BufWriter::new(File::create(dir.join("audit.log"))?);
    let mut process = BufWriter::new(File::create(dir.join("process.ndjson"))?);
    let truth = r#gen::generate(&cfg, &mut audit, Some(&mut process))?;
    let json = serde_json::to_string_pretty(&truth).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("truth.json"), json + "\n")?;
    eprintln!(
        "{} audit events, {} process events, {} incidents, {} near misses",
        truth.audit_events,
        truth.process_events,
        truth.incidents.len(),
        truth.near_misses.len()
    );
    Ok(())
}
