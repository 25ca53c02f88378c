//! The `crowsnest` command line: argument parsing and dispatch to the subcommands in [`cmd`].

mod cmd;
mod input;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Documents are trees of many small allocations; mimalloc serves them markedly faster than the
/// system allocator (see the README's Performance section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Elastic Security detection rules over Kubernetes audit logs and container process events —
/// no Elasticsearch, no Kibana, one binary.
///
/// crowsnest reads raw kube-apiserver audit logs (JSON lines, .gz, stdin, directories, webhook
/// EventList bodies, GKE and AKS exports), Elastic Defend for Containers, Falco and Tetragon
/// process events, normalizes them exactly as Elastic's Kubernetes integration does, and runs
/// Elastic's detection rules (ES|QL and EQL, unmodified TOML files) over them on Kibana's
/// schedule, raising the alerts Elastic Security would raise — each exactly once.
#[derive(Parser)]
#[command(name = "crowsnest", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "\
Examples:
  crowsnest hunt samples/audit.log samples/process.ndjson      replay history through the bundled rules
  crowsnest hunt --rules my-rules/ /var/log/kubernetes/audit/   your own rule files, a log directory
  crowsnest normalize audit.log.gz --fields user.name,source.ip  the ECS documents Elastic would index
  crowsnest esql 'FROM logs-* | STATS n = COUNT(*) BY user.name' audit.log
  crowsnest eql 'any where event.action == \"delete\"' audit.log
  crowsnest rules list                                          the bundled rules and whether they run
  crowsnest serve --config crowsnest.toml                        live: audit webhook, WAL, scheduled rules")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Hunt(cmd::hunt::Args),
    Normalize(cmd::normalize::Args),
    Esql(cmd::query::EsqlArgs),
    Eql(cmd::query::EqlArgs),
    /// List the loaded rules and whether each can run, or validate rule files
    #[command(subcommand)]
    Rules(cmd::rules::RulesCommand),
    Generate(cmd::generate::Args),
    Serve(cmd::serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hunt(a) => cmd::hunt::run(a),
        Command::Normalize(a) => cmd::normalize::run(a),
        Command::Esql(a) => cmd::query::run_esql(a),
        Command::Eql(a) => cmd::query::run_eql(a),
        Command::Rules(c) => cmd::rules::run(c),
        Command::Generate(a) => cmd::generate::run(a),
        Command::Serve(a) => cmd::serve::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
