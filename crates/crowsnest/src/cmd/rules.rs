//! `crowsnest rules list|validate`: what the loaded rules are and whether each can run.

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use events::Catalog;
use runtime::order::ORDER_FIELDS;
use runtime::{CompiledRule, Rehydrate, RuleProblem, compile_rules};

use super::CmdResult;

#[derive(clap::Subcommand, Debug)]
pub enum RulesCommand {
    /// List rules as a table: name, rule_id, type, language, severity, risk, interval, from,
    /// index, and whether crowsnest can run it (and why not).
    List {
        /// Rule files or directories (repeatable). Default: the bundled rules.
        #[arg(long = "rules", short = 'r', value_name = "PATH")]
        rules: Vec<PathBuf>,
    },
    /// Check rule files: load every file and compile every query against the field catalog.
    /// Prints positioned diagnostics and exits 1 if anything fails.
    Validate {
        /// Rule files or directories.
        #[arg(value_name = "PATH", required = true)]
        paths: Vec<PathBuf>,
    },
}

/// Loads rules from `paths` (the bundled set when empty) and compiles them. Files that do not
/// load become problems too. Returns the runnable rules, the problems and how many were read.
/// How events are read for `compiled`: records projected on every field the rules need, audit
/// Events as flat documents of just the fields their queries and the event order read (the
/// rest of `base` as given); and how the events of an alert get the other fields back (rebuilt
/// from their raw record, with the read-time fields the flat document has).
pub fn rule_reading(compiled: &[CompiledRule], base: sources::Options) -> (sources::Options, Rehydrate) {
    let mut fields: Vec<String> = compiled.iter().flat_map(|c| c.needed_fields()).collect();
    fields.sort();
    fields.dedup();
    let mut flat: Vec<String> = compiled.iter().flat_map(|c| c.query_fields()).collect();
    flat.extend(ORDER_FIELDS.iter().map(|f| f.to_string()));
    flat.sort();
    flat.dedup();
    let full = sources::Options {
        fields: Some(fields),
        flat_fields: None,
        ..base
    };
    let rebuild = sources::Normalizer::new(full.clone());
    let rehydrate: Rehydrate = Arc::new(move |d: &events::Document| {
        let raw = &d.flat.as_ref()?.raw;
        let mut doc = rebuild.normalize_line(raw.as_bytes()).ok()?.pop()?;
        for f in ORDER_FIELDS {
            if let Some(v) = d.first(f) {
                doc.set(f, v.clone());
            }
        }
        doc.origin = d.origin.clone();
        Some(doc)
    });
    let opts = sources::Options {
        flat_fields: Some(flat),
        ..full
    };
    (opts, rehydrate)
}

pub fn load_rules(paths: &[PathBuf]) -> anyhow::Result<(Vec<CompiledRule>, Vec<RuleProblem>, usize)> {
    let mut problems = Vec::new();
    let loaded: Vec<rules::Rule> = if paths.is_empty() {
        rules::bundled()
    } else {
        for p in paths {
            if !p.exists() {
                anyhow::bail!("--rules {}: no such file or directory", p.display());
            }
        }
        let mut ok = Vec::new();
        for r in rules::load_paths(paths) {
            match r {
                Ok(rule) => ok.push(rule),
                Err(e) => problems.push(RuleProblem::unloadable(e.source_name(), e.to_string())),
            }
        }
        ok
    };
    let total = loaded.len() + problems.len();
    let (compiled, mut compile_problems) = compile_rules(loaded, &Catalog::ecs());
    problems.append(&mut compile_problems);
    Ok((compiled, problems, total))
}

pub fn run(cmd: RulesCommand) -> CmdResult {
    match cmd {
        RulesCommand::List { rules: paths } => {
            let (compiled, problems, _) = load_rules(&paths)?;
            let mut rows: Vec<(rules::Rule, rules::RuleStatus)> = compiled
                .into_iter()
                .map(|c| {
                    (
                        c.rule,
                        rules::RuleStatus {
                            runnable: true,
                            reason: None,
                        },
                    )
                })
                .collect();
            let mut unloadable = Vec::new();
            for p in problems {
                match p.rule {
                    Some(rule) => rows.push((
                        *rule,
                        rules::RuleStatus {
                            runnable: false,
                            reason: Some(p.reason),
                        },
                    )),
                    None => unloadable.push(p),
                }
            }
            print!("{}", rules::render_rule_table(&rows));
            for p in &unloadable {
                eprintln!("error: {}", p.reason);
            }
            let runnable = rows.iter().filter(|(_, s)| s.runnable).count();
            eprintln!(
                "{} rules: {} runnable, {} not runnable, {} failed to load",
                rows.len() + unloadable.len(),
                runnable,
                rows.len() - runnable,
                unloadable.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Validate { paths } => {
            let (compiled, problems, total) = load_rules(&paths)?;
            for p in &problems {
                eprintln!("error: {}", p.reason_line());
                if let Some(d) = &p.detail {
                    eprintln!("{d}");
                }
            }
            eprintln!(
                "{total} rules checked: {} ok, {} failed",
                compiled.len(),
                problems.len()
            );
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
