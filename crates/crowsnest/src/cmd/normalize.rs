//! `crowsnest normalize`: raw events in, the ECS documents Elastic's integrations would index out
//! (one JSON object per line).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use events::{Document, Map, Value};

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

fn project(doc: &Document, fields: &[String]) -> Map {
    let mut out = Map::new();
    for f in fields {
        let vals = doc.field(f);
        match vals.len() {
            0 => {}
            1 => out.insert_path(f, vals[0].clone()),
            _ => out.insert_path(f, Value::Array(vals.into_iter().cloned().collect())),
        }
    }
    out
}

fn normalize(args: &Args) -> anyhow::Result<ExitCode> {
    let mut reader = args.input.open_all()?;
    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::fs::File::create(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::new(sink);
    let mut bad = BadInput::new(args.input.strict);
    let mut n = 0u64;
    for item in reader.by_ref() {
        let Some(doc) = bad.take(item)? else { continue };
        let mut out = if args.fields.is_empty() {
            doc.source.clone()
        } else {
            project(&doc, &args.fields)
        };
        if args.meta {
            out.insert("_id", Value::Str(doc.id.clone()));
            out.insert("_index", Value::Str(doc.index.clone()));
        }
        serde_json::to_writer(&mut w, &out)?;
        w.write_all(b"\n")?;
        n += 1;
    }
    w.flush()?;
    eprintln!("normalized {n} events; {} lines skipped", bad.count);
    Ok(ExitCode::SUCCESS)
}
