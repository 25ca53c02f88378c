//! Generation speed: `cargo bench -p gen --bench generate [-- <MB>]` writes about <MB> (default
//! 512) megabytes of audit log (plus process documents) into a sink and reports MB/s.

use std::io::{self, Write};
use std::time::Instant;

/// Counts bytes and drops them.
struct Sink(u64);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let mb: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(512);
    for (label, process, rate) in [
        ("audit only, 100 ev/s", false, 100.0),
        ("audit + process, 100 ev/s", true, 100.0),
    ] {
        let cfg = r#gen::Config {
            seed: 7,
            events: None,
            bytes: Some(mb << 20),
            rate,
            process,
            ..r#gen::Config::default()
        };
        let mut audit = Sink(0);
        let mut proc_sink = Sink(0);
        let t0 = Instant::now();
        let truth = r#gen::generate(
            &cfg,
            &mut audit,
            if process { Some(&mut proc_sink) } else { None },
        )?;
        let secs = t0.elapsed().as_secs_f64();
        let total = (audit.0 + proc_sink.0) as f64 / 1e6;
        println!(
            "{label}: {:.0} MB audit ({} events, mean line {:.0} B) + {:.0} MB process ({} docs) in {:.2} s = {:.0} MB/s ({:.0} MB/s audit), {} incidents, {} near misses",
            audit.0 as f64 / 1e6,
            truth.audit_events,
            audit.0 as f64 / truth.audit_events.max(1) as f64,
            proc_sink.0 as f64 / 1e6,
            truth.process_events,
            secs,
            total / secs,
            audit.0 as f64 / 1e6 / secs,
            truth.incidents.len(),
            truth.near_misses.len(),
        );
    }
    Ok(())
}
