//! One module per subcommand; each exposes its clap `Args` and a `run` function.

pub mod generate;
pub mod hunt;
pub mod normalize;
pub mod query;
pub mod rules;
pub mod serve;

/// The result of a subcommand: an exit code, or an error printed as `error: ...` (exit 1).
pub type CmdResult = anyhow::Result<std::process::ExitCode>;
