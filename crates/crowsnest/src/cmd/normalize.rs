//! `crowsnest normalize`: raw events in, the ECS documents Elastic's integrations would index out
//! (one JSON object per line).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use super::CmdResult;
use crate::input::{BadInput, InputArgs, strict_exit};

/// Normalize raw audit / process events to ECS documents (ndjson).
///
/// Raw `audit.k8s.io/v1` events (and legacy v1beta1, webhook EventList bodies, GKE and AKS
/// exports) become the documents Elastic's `kubernetes.audit_logs` integration produces;
/// Falco and Tetragon process events are mapped onto the ECS process fields Defend for
/// Containers writes; ECS documents pass through. Each document also gets `_id` and `_index`
/// metadata (printed with --meta).
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  crowsnest normalize /var/log/kubernetes/audit.log > ecs.ndjson
  crowsnest normalize audit.log.gz --fields @timestamp,user.name,source.ip,event.action
  kubectl get --raw /some/path | crowsnest normalize -")]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Only these fields (comma-separated dotted paths) in each output document.
    #[arg(long, value_delimiter = ',', value_name = "FIELDS")]
    fields: Vec<String>,
    /// Add `_id` and `_index` to each output document.
    #[arg(long)]
    meta: bool,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
}

pub fn run(args: Args) -> CmdResult {
    match normalize(&args) {
        Ok(code) => Ok(code),
        Err(e) => strict_exit(&e).map(Ok).unwrap_or(Err(e)),
    }
}

fn normalize(args: &Args) -> anyhow::Result<ExitCode> {
    // Audit Event lines are transcoded straight to ECS JSON text; other records are normalized
    // and serialized (the same bytes either way).
    let fields = (!args.fields.is_empty()).then(|| args.fields.clone());
    let lines = args
        .input
        .open_all()?
        .ecs_lines(sources::EcsFormat::new(fields, args.meta));
    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::fs::File::create(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::new(sink);
    let mut bad = BadInput::new(args.input.strict);
    let mut n = 0u64;
    for item in lines {
        match item {
            Ok(chunk) => {
                w.write_all(&chunk.bytes)?;
                n += chunk.documents;
            }
            Err(e) => bad.report(&e)?,
        }
    }
    w.flush()?;
    eprintln!("normalized {n} events; {} lines skipped", bad.count);
    Ok(ExitCode::SUCCESS)
}
