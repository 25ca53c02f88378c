//! `crowsnest esql` and `crowsnest eql`: ad-hoc queries over ingested events.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use events::{Catalog, Document};
use indicatif::{ProgressBar, ProgressStyle};
use sinks::Format;

use super::CmdResult;
use crate::input::{BadInput, InputArgs, strict_exit};

/// A byte progress bar on stderr, when it is a terminal and the input size is known.
pub fn progress_bar(total: Option<u64>, quiet: bool) -> Option<ProgressBar> {
    let total = total?;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
        )
        .expect("valid template"),
    );
    Some(pb)
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RowFormat {
    Table,
    Ndjson,
    Csv,
}

/// Run an ES|QL query over events (raw audit logs are normalized first) and print the result.
///
/// The query's FROM patterns select data streams as in Elasticsearch: raw audit events are
/// `logs-kubernetes.audit_logs-default`, process events `logs-cloud_defend.process-default`.
/// Errors point at the line and column of the fault.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  crowsnest esql 'FROM logs-kubernetes.audit_logs-* | STATS n = COUNT(*) BY user.name | SORT n DESC' audit.log
  crowsnest esql 'FROM logs-* | WHERE event.action == \"delete\" | KEEP @timestamp, user.name, kubernetes.audit.requestURI' audit.log --format csv")]
pub struct EsqlArgs {
    /// The ES|QL query.
    query: String,
    #[command(flatten)]
    input: InputArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RowFormat::Table)]
    format: RowFormat,
}

/// Run an EQL query over events and print matching events or sequences.
///
/// Events are ordered by @timestamp; sequences, `until`, `maxspan`, `runs`, missing-event stages,
/// `sample` and the `head`/`tail` pipes behave as in Elasticsearch's EQL search.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  crowsnest eql 'any where kubernetes.audit.verb == \"create\" and kubernetes.audit.objectRef.subresource == \"exec\"' audit.log
  crowsnest eql 'sequence with maxspan=1s [process where process.name == \"curl\"] by orchestrator.resource.name
                 [any where `kubernetes.audit.annotations.authorization_k8s_io/decision` == \"forbid\"]
                   by `kubernetes.audit.user.extra.authentication.kubernetes.io/pod-name`' audit.log process.ndjson")]
pub struct EqlArgs {
    /// The EQL query.
    query: String,
    #[command(flatten)]
    input: InputArgs,
    /// Only events whose index matches these patterns (comma-separated), e.g. logs-cloud_defend.*
    #[arg(long, value_delimiter = ',', default_value = "*")]
    index: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RowFormat::Table)]
    format: RowFormat,
}

fn row_format(f: RowFormat) -> Format {
    match f {
        RowFormat::Table => Format::Table,
        RowFormat::Ndjson => Format::Ndjson,
        RowFormat::Csv => Format::Csv,
    }
}

fn read_docs(input: &InputArgs, mut keep: impl FnMut(&Document) -> bool) -> anyhow::Result<Vec<Document>> {
    let mut bad = BadInput::new(input.strict);
    let mut docs = Vec::new();
    for item in input.open_all()? {
        if let Some(doc) = bad.take(item)?
            && keep(&doc)
        {
            docs.push(doc);
        }
    }
    if bad.count > 0 {
        eprintln!("{} lines skipped", bad.count);
    }
    Ok(docs)
}

pub fn run_esql(args: EsqlArgs) -> CmdResult {
    let query = match esql::compile(&args.query, &Catalog::ecs()) {
        Ok(q) => q,
        Err(d) => {
            eprintln!("{}", d.render("query", &args.query));
            return Ok(ExitCode::from(1));
        }
    };
    let run = || -> anyhow::Result<ExitCode> {
        let indices = query.indices().to_vec();
        let docs = read_docs(&args.input, |d| {
            (indices.is_empty() || rules::index_matches(&indices, &d.index)) && query.prefilter(d)
        })?;
        let now = events::time::now_nanos();
        let result = esql::run(&query, docs.iter(), esql::ExecContext { now_nanos: now });
        for w in &result.warnings {
            eprintln!("warning: {w}");
        }
        let columns: Vec<(String, String)> = result
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.data_type.clone()))
            .collect();
        let mut out = std::io::stdout().lock();
        sinks::write_rows(&mut out, row_format(args.format), &columns, &result.rows)
            .context("writing rows")?;
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    };
    match run() {
        Ok(c) => Ok(c),
        Err(e) => strict_exit(&e).map(Ok).unwrap_or(Err(e)),
    }
}

pub fn run_eql(args: EqlArgs) -> CmdResult {
    let query = match eql::compile(&args.query, &Catalog::ecs()) {
        Ok(q) => q,
        Err(d) => {
            eprintln!("{}", d.render("query", &args.query));
            return Ok(ExitCode::from(1));
        }
    };
    let run = || -> anyhow::Result<ExitCode> {
        let docs = read_docs(&args.input, |d| {
            rules::index_matches(&args.index, &d.index) && query.prefilter(d)
        })?;
        let matches = eql::search(&query, docs, &eql::EngineOptions::default());
        let mut out = std::io::stdout().lock();
        let format = row_format(args.format);
        let mut n = 0;
        for m in &matches {
            let members: Vec<Arc<Document>> = match m {
                eql::Match::Event(d) => vec![d.clone()],
                eql::Match::Sequence(s) => s.events.clone(),
            };
            let refs: Vec<&Document> = members.iter().map(|d| d.as_ref()).collect();
            if matches!(m, eql::Match::Sequence(_)) && matches!(format, Format::Table) {
                n += 1;
                writeln!(out, "sequence {n}:")?;
            }
            sinks::write_docs(&mut out, format, &refs).context("writing results")?;
        }
        out.flush()?;
        eprintln!("{} matches", matches.len());
        Ok(ExitCode::SUCCESS)
    };
    match run() {
        Ok(c) => Ok(c),
        Err(e) => strict_exit(&e).map(Ok).unwrap_or(Err(e)),
    }
}
