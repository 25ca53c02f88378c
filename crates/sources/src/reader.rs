//! [`Reader`]: files, gzip (detected by magic bytes), stdin (`-`) and directories (recursive,
//! entries in name order) as one stream of documents, in bounded memory.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use events::Document;
use flate2::read::MultiGzDecoder;

use crate::framing::{Frame, Framer};
use crate::{InputError, JsonParser, Normalizer, Options};

const BUF_SIZE: usize = 256 * 1024;

/// A shared counter of raw bytes consumed (compressed bytes for gzip input).
#[derive(Clone, Debug, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn bytes_read(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct Counting<R> {
    inner: R,
    progress: Progress,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Input {
    File {
        path: PathBuf,
        name: String,
    },
    Stream {
        name: String,
        reader: Box<dyn Read + Send>,
    },
}

struct Current {
    name: Arc<str>,
    framer: Framer,
}

/// Reads every input in order and yields documents or input errors.
pub struct Reader {
    inputs: VecDeque<Input>,
    current: Option<Current>,
    pending: VecDeque<Result<Document, InputError>>,
    normalizer: Normalizer,
    progress: Progress,
    total: Option<u64>,
}

/// The display name of stdin in errors and origins.
pub const STDIN_NAME: &str = "<stdin>";

impl Reader {
    /// Opens the given paths (`-` is stdin; directories are read recursively, in name order).
    /// A path that does not exist or cannot be read is an error naming it.
    pub fn open(paths: &[String], opts: Options) -> Result<Reader, InputError> {
        let mut inputs = VecDeque::new();
        let mut total = Some(0u64);
        for p in paths {
            if p == "-" {
                total = None;
                inputs.push_back(Input::Stream {
                    name: STDIN_NAME.to_string(),
                    reader: Box::new(io::stdin()),
                });
                continue;
            }
            let mut files = Vec::new();
            collect_files(Path::new(p), true, &mut files).map_err(|(path, e)| InputError {
                source: path,
                line: 0,
                reason: format!("cannot read: {e}"),
            })?;
            for (path, size) in files {
                total = match (total, size) {
                    (Some(t), Some(s)) => Some(t + s),
                    _ => None,
                };
                let name = path.display().to_string();
                inputs.push_back(Input::File { path, name });
            }
        }
        Ok(Reader::with_inputs(inputs, opts, total))
    }

    /// Reads one already open stream named `name`.
    pub fn from_reader(name: &str, r: Box<dyn Read + Send>, opts: Options) -> Reader {
        let mut inputs = VecDeque::new();
        inputs.push_back(Input::Stream {
            name: name.to_string(),
            reader: r,
        });
        Reader::with_inputs(inputs, opts, None)
    }

    fn with_inputs(inputs: VecDeque<Input>, opts: Options, total: Option<u64>) -> Reader {
        Reader {
            inputs,
            current: None,
            pending: VecDeque::new(),
            normalizer: Normalizer::new(opts),
            progress: Progress::default(),
            total,
        }
    }

    /// The sum of the input file sizes (compressed size for gzip), when known (not for stdin,
    /// pipes or streams).
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }

    /// A handle to the count of raw bytes consumed so far.
    pub fn progress_handle(&self) -> Progress {
        self.progress.clone()
    }

    /// Opens the next input; an input that cannot be opened becomes an error.
    fn advance(&mut self) -> Option<Result<(), InputError>> {
        let input = self.inputs.pop_front()?;
        let (name, raw): (String, Box<dyn Read + Send>) = match input {
            Input::File { path, name } => match File::open(&path) {
                Ok(f) => (name, Box::new(f)),
                Err(e) => {
                    return Some(Err(InputError {
                        source: name,
                        line: 0,
                        reason: format!("cannot open: {e}"),
                    }));
                }
            },
            Input::Stream { name, reader } => (name, reader),
        };
        let counting = Counting {
            inner: raw,
            progress: self.progress.clone(),
        };
        let mut buffered = BufReader::with_capacity(BUF_SIZE, counting);
        let gzip = loop {
            match buffered.fill_buf() {
                Ok(b) => break b.len() >= 2 && b[0] == 0x1f && b[1] == 0x8b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Some(Err(InputError {
                        source: name,
                        line: 0,
                        reason: format!("read error: {e}"),
                    }));
                }
            }
        };
        let reader: Box<dyn BufRead + Send> = if gzip {
            Box::new(BufReader::with_capacity(BUF_SIZE, MultiGzDecoder::new(buffered)))
        } else {
            Box::new(buffered)
        };
        self.current = Some(Current {
            name: Arc::from(name.as_str()),
            framer: Framer::new(reader, self.normalizer.opts.max_line_bytes, gzip),
        });
        Some(Ok(()))
    }
}

/// The files under `path` (itself if not a directory) with their sizes (unknown for pipes and
/// other non-regular files). Directories are walked recursively with entries in name order;
/// hidden entries (`.name`) and symbolic links to directories inside them are skipped. Errors
/// name the failing path.
fn collect_files(
    path: &Path,
    explicit: bool,
    out: &mut Vec<(PathBuf, Option<u64>)>,
) -> Result<(), (String, io::Error)> {
    let named = |e: io::Error| (path.display().to_string(), e);
    if !explicit
        && path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    {
        return Ok(());
    }
    // Symbolic links to directories met while walking are not followed (no cycles).
    if !explicit
        && std::fs::symlink_metadata(path)
            .map_err(named)?
            .file_type()
            .is_symlink()
    {
        let target = std::fs::metadata(path).map_err(named)?;
        if target.is_dir() {
            return Ok(());
        }
    }
    let meta = std::fs::metadata(path).map_err(named)?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(named)?
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<_>>()
            .map_err(named)?;
        entries.sort();
        for e in entries {
            collect_files(&e, false, out)?;
        }
    } else {
        File::open(path).map_err(named)?;
        out.push((path.to_path_buf(), meta.is_file().then_some(meta.len())));
    }
    Ok(())
}

impl Iterator for Reader {
    type Item = Result<Document, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            let Some(cur) = self.current.as_mut() else {
                match self.advance()? {
                    Ok(()) => continue,
                    Err(e) => return Some(Err(e)),
                }
            };
            let error = |line: u64, reason: String| InputError {
                source: cur.name.to_string(),
                line,
                reason,
            };
            match cur.framer.next() {
                Frame::Eof => self.current = None,
                Frame::Error { line, reason } => return Some(Err(error(line, reason))),
                Frame::Fatal { line, reason } => {
                    let e = error(line, reason);
                    self.current = None;
                    return Some(Err(e));
                }
                Frame::Record { line } => {
                    match crate::normalize_bytes(&cur.framer.record, &self.normalizer, JsonParser::Sonic) {
                        Ok(mut docs) => {
                            crate::with_origin(&mut docs, &cur.name, line);
                            let mut docs = docs.into_iter();
                            let first = docs.next();
                            self.pending.extend(docs.map(Ok));
                            if let Some(d) = first {
                                return Some(Ok(d));
                            }
                        }
                        Err(reason) => return Some(Err(error(line, reason))),
                    }
                }
            }
        }
    }
}
