//! Input options shared by the subcommands that read events, and the reporting of bad input:
//! the first few skipped lines are printed as `file:line: reason`, a summary at the end; with
//! `--strict` the first one stops the run with exit code 2.

use std::process::ExitCode;

use clap::ValueEnum;
use events::Document;
use sources::{InputError, Options, Reader, TimePolicy};

/// How many skipped lines are printed before only the summary counts them.
const PRINT_FIRST: u64 = 10;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TimeMode {
    /// `@timestamp` and `event.ingested` from the event's own time (requestReceivedTimestamp):
    /// deterministic, right for history.
    Replay,
    /// `@timestamp` = read time, `event.ingested` = now to the second, as Elastic Agent does.
    Live,
}

#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
    /// Input files or directories (recursive, name order); `-` or nothing reads stdin. Gzip is
    /// detected by content.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Longest accepted line in bytes; longer lines are skipped and reported.
    #[arg(long, default_value_t = 4 * 1024 * 1024, value_name = "BYTES")]
    pub max_line_bytes: usize,
    /// Stop at the first bad line (exit code 2) instead of skipping and counting it.
    #[arg(long)]
    pub strict: bool,
    /// Data stream namespace of normalized events (`logs-kubernetes.audit_logs-<NAMESPACE>`).
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Threads normalizing input (in input order); 1 keeps everything on one thread.
    /// Default: the number of CPUs.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Where `@timestamp`/`event.ingested` of raw audit events come from.
    #[arg(long, value_enum, default_value_t = TimeMode::Replay)]
    pub time: TimeMode,
}

impl InputArgs {
    /// The reader options these arguments give (every field; `cmd::rules::rule_reading` narrows
    /// them to what rules read).
    pub fn options(&self) -> Options {
        Options {
            max_line_bytes: self.max_line_bytes,
            strict: self.strict,
            namespace: self.namespace.clone(),
            time_policy: match self.time {
                TimeMode::Replay => TimePolicy::Replay,
                TimeMode::Live => TimePolicy::Live,
            },
            ..Options::default()
        }
    }

    /// The inputs, with stdin when none is given.
    pub fn paths(&self) -> Vec<String> {
        if self.inputs.is_empty() {
            vec!["-".to_string()]
        } else {
            self.inputs.clone()
        }
    }

    /// Normalizing threads per reader: `--threads`, else the CPUs.
    fn workers(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    }

    /// One reader over all inputs, in order.
    pub fn open_all(&self) -> anyhow::Result<Reader> {
        Ok(Reader::open(&self.paths(), self.options())?.with_workers(self.workers()))
    }

    /// One reader per input (so that their events can be merged in time order), with the
    /// given reader options.
    pub fn open_each_with(&self, opts: Options) -> anyhow::Result<Vec<Reader>> {
        self.paths()
            .iter()
            .map(|p| {
                Reader::open(std::slice::from_ref(p), opts.clone())
                    .map(|r| r.with_workers(self.workers()))
                    .map_err(Into::into)
            })
            .collect()
    }
}

/// Counts and prints skipped input lines.
#[derive(Default)]
pub struct BadInput {
    pub count: u64,
    pub strict: bool,
}

/// Raised when `--strict` meets a bad line.
#[derive(Debug)]
pub struct StrictStop(pub String);

impl std::fmt::Display for StrictStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (stopped: --strict)", self.0)
    }
}
impl std::error::Error for StrictStop {}

impl BadInput {
    pub fn new(strict: bool) -> Self {
        BadInput { count: 0, strict }
    }

    /// Reports one bad line; in strict mode returns the error that stops the run.
    pub fn report(&mut self, e: &InputError) -> Result<(), StrictStop> {
        self.count += 1;
        if self.strict {
            return Err(StrictStop(e.to_string()));
        }
        if self.count <= PRINT_FIRST {
            eprintln!("warning: skipped {e}");
        } else if self.count == PRINT_FIRST + 1 {
            eprintln!("warning: more lines skipped; the summary counts them");
        }
        Ok(())
    }

    /// Takes an item from a reader: the document, or None after reporting the error.
    pub fn take(&mut self, item: Result<Document, InputError>) -> Result<Option<Document>, StrictStop> {
        match item {
            Ok(d) => Ok(Some(d)),
            Err(e) => self.report(&e).map(|_| None),
        }
    }
}

/// Maps a run's outcome to the exit code: 2 for a strict stop, else the given code.
pub fn strict_exit(err: &anyhow::Error) -> Option<ExitCode> {
    err.downcast_ref::<StrictStop>().map(|s| {
        eprintln!("error: {s}");
        ExitCode::from(2)
    })
}
