//! [`Reader`]: files, gzip (detected by magic bytes), stdin (`-`) and directories (recursive,
//! entries in name order) as one stream of documents, in bounded memory; optionally normalized
//! by worker threads ([`Reader::with_workers`]) with the output order unchanged. The same
//! stream as the ECS JSON lines `crowsnest normalize` prints: [`Reader::ecs_lines`].

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use events::Document;
use flate2::read::MultiGzDecoder;

use crate::framing::{Frame, Framer};
use crate::{EcsFormat, InputError, JsonParser, Normalizer, Options};

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

/// The inputs in order, cut into records.
struct Records {
    inputs: VecDeque<Input>,
    current: Option<Current>,
    max_line_bytes: usize,
    progress: Progress,
}

/// Reads every input in order and yields documents or input errors.
pub struct Reader {
    /// `None` once handed to the worker threads.
    records: Option<Records>,
    pending: VecDeque<Result<Document, InputError>>,
    normalizer: Arc<Normalizer>,
    progress: Progress,
    total: Option<u64>,
    parallel: Option<Parallel<Document>>,
    /// Worker threads to start when iteration begins ([`Reader::with_workers`]).
    workers: usize,
    /// Iteration has begun.
    started: bool,
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
        let progress = Progress::default();
        Reader {
            records: Some(Records {
                inputs,
                current: None,
                max_line_bytes: opts.max_line_bytes,
                progress: progress.clone(),
            }),
            pending: VecDeque::new(),
            normalizer: Arc::new(Normalizer::new(opts)),
            progress,
            total,
            parallel: None,
            workers: 1,
            started: false,
        }
    }

    /// Normalizes on `workers` background threads (plus one reading and framing the input);
    /// documents and errors still come out in input order, and memory stays bounded. With 0 or
    /// 1 worker, or once iteration has started, the reader stays on the calling thread.
    /// The threads start when iteration begins (or with [`Reader::ecs_lines`]).
    pub fn with_workers(mut self, workers: usize) -> Reader {
        if !self.started {
            self.workers = workers;
        }
        self
    }

    /// The documents as the ECS JSON lines `crowsnest normalize` prints (see [`EcsFormat`]),
    /// in input order, in chunks of whole lines, with each bad record's [`InputError`] in its
    /// place (the lines of the records before it come first). Audit Event lines are transcoded
    /// straight to text (no document tree), others normalized and serialized; the workers of
    /// [`Reader::with_workers`] do either. Best called before iterating the reader: after, the
    /// rest of its documents are serialized one by one.
    pub fn ecs_lines(mut self, format: EcsFormat) -> EcsLines {
        let format = Arc::new(format);
        let source = if self.started || self.records.is_none() {
            Lines::Documents {
                reader: Box::new(self),
                pending: None,
            }
        } else if let Some(records) = self.records.take() {
            if self.workers > 1 {
                let normalizer = self.normalizer.clone();
                let f = format.clone();
                let work: Work<EcsChunk> = Arc::new(move |source, line, bytes, out| {
                    write_record(&normalizer, &f, source, line, bytes, out)
                });
                Lines::Parallel(Parallel::start(records, work, self.workers))
            } else {
                Lines::Serial {
                    records: Box::new(records),
                    normalizer: self.normalizer.clone(),
                    pending: None,
                }
            }
        } else {
            Lines::Documents {
                reader: Box::new(self),
                pending: None,
            }
        };
        EcsLines { source, format }
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
}

impl Records {
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
            framer: Framer::new(reader, self.max_line_bytes, gzip),
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

impl Records {
    /// The next record, given to `f` with its input name and first line, or the next error.
    fn next_with<R>(&mut self, f: impl FnOnce(&Arc<str>, u64, &[u8]) -> R) -> Option<Result<R, InputError>> {
        loop {
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
                Frame::Record { line } => return Some(Ok(f(&cur.name, line, cur.framer.record()))),
            }
        }
    }
}

/// Normalizes one record into the documents (or the error) it yields, in order.
fn normalize_record(
    normalizer: &Normalizer,
    source: &Arc<str>,
    line: u64,
    bytes: &[u8],
    out: &mut impl Extend<Result<Document, InputError>>,
) {
    match crate::normalize_bytes(bytes, normalizer, JsonParser::Sonic) {
        Ok(mut docs) => {
            crate::with_origin(&mut docs, source, line);
            out.extend(docs.into_iter().map(Ok));
        }
        Err(reason) => out.extend(std::iter::once(Err(InputError {
            source: source.to_string(),
            line,
            reason,
        }))),
    }
}

impl Iterator for Reader {
    type Item = Result<Document, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.started {
            self.started = true;
            if self.workers > 1
                && let Some(records) = self.records.take()
            {
                let normalizer = self.normalizer.clone();
                let work: Work<Document> = Arc::new(move |source, line, bytes, out| {
                    normalize_record(&normalizer, source, line, bytes, out)
                });
                self.parallel = Some(Parallel::start(records, work, self.workers));
            }
        }
        if let Some(parallel) = self.parallel.as_mut() {
            return parallel.next();
        }
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            let records = self.records.as_mut()?;
            let normalizer = &self.normalizer;
            let pending = &mut self.pending;
            match records
                .next_with(|source, line, bytes| normalize_record(normalizer, source, line, bytes, pending))?
            {
                Ok(()) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// A framed record: input name, first line, bytes.
type Framed = (Arc<str>, u64, Vec<u8>);

/// A batch of framed records (or framing errors) sent to the workers.
struct Batch {
    seq: u64,
    items: Vec<Result<Framed, InputError>>,
}

type Output<T> = (u64, Vec<Result<T, InputError>>);

/// What a worker does with one framed record (input name, first line, bytes): appends its
/// results.
type Work<T> = Arc<dyn Fn(&Arc<str>, u64, &[u8], &mut Vec<Result<T, InputError>>) + Send + Sync>;

/// Records in a batch, and bytes after which a batch is sent early.
const BATCH_RECORDS: usize = 256;
const BATCH_BYTES: usize = 1 << 20;

/// The worker threads of a parallel [`Reader`] and the reordering of their output.
struct Parallel<T> {
    results: Option<Receiver<Output<T>>>,
    waiting: BTreeMap<u64, Vec<Result<T, InputError>>>,
    next_seq: u64,
    current: std::vec::IntoIter<Result<T, InputError>>,
    threads: Vec<JoinHandle<()>>,
}

impl<T: Send + 'static> Parallel<T> {
    fn start(mut records: Records, work: Work<T>, workers: usize) -> Parallel<T> {
        let (work_tx, work_rx) = sync_channel::<Batch>(workers * 2);
        let (out_tx, out_rx) = sync_channel::<Output<T>>(workers * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let mut threads = Vec::with_capacity(workers + 1);
        threads.push(std::thread::spawn(move || frame_batches(&mut records, &work_tx)));
        for _ in 0..workers {
            let (work_rx, out_tx, work) = (work_rx.clone(), out_tx.clone(), work.clone());
            threads.push(std::thread::spawn(move || {
                work_batches(&work_rx, &out_tx, &*work)
            }));
        }
        Parallel {
            results: Some(out_rx),
            waiting: BTreeMap::new(),
            next_seq: 0,
            current: Vec::new().into_iter(),
            threads,
        }
    }

    fn next(&mut self) -> Option<Result<T, InputError>> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            if let Some(batch) = self.waiting.remove(&self.next_seq) {
                self.current = batch.into_iter();
                self.next_seq += 1;
                continue;
            }
            match self.results.as_ref()?.recv() {
                Ok((seq, batch)) => {
                    self.waiting.insert(seq, batch);
                }
                Err(_) => {
                    // Every worker is gone. Batches still waiting mean one stopped abnormally:
                    // say so rather than let its records vanish, then go on with the rest.
                    let next = *self.waiting.keys().next()?;
                    let lost = next - self.next_seq;
                    self.next_seq = next;
                    return Some(Err(InputError {
                        source: "<reader>".to_string(),
                        line: 0,
                        reason: format!("a normalization worker stopped: {lost} batch(es) of records lost"),
                    }));
                }
            }
        }
    }
}

impl<T> Drop for Parallel<T> {
    fn drop(&mut self) {
        // Closing the results channel makes the workers stop at their next batch, which makes
        // the framer stop at its next send. The threads are not joined: the framer may be
        // blocked reading a slow input (stdin) and must not block the caller.
        self.results = None;
        self.threads.clear();
    }
}

fn frame_batches(records: &mut Records, work: &SyncSender<Batch>) {
    let mut seq = 0;
    let mut items = Vec::with_capacity(BATCH_RECORDS);
    let mut bytes = 0;
    loop {
        let next = records.next_with(|source, line, record| (source.clone(), line, record.to_vec()));
        let done = next.is_none();
        if let Some(item) = next {
            if let Ok((_, _, record)) = &item {
                bytes += record.len();
            }
            items.push(item);
        }
        if (done && !items.is_empty()) || items.len() >= BATCH_RECORDS || bytes >= BATCH_BYTES {
            let batch = Batch {
                seq,
                items: std::mem::replace(&mut items, Vec::with_capacity(BATCH_RECORDS)),
            };
            if work.send(batch).is_err() {
                return;
            }
            seq += 1;
            bytes = 0;
        }
        if done {
            return;
        }
    }
}

#[allow(clippy::type_complexity)]
fn work_batches<T>(
    batches: &Mutex<Receiver<Batch>>,
    out: &SyncSender<Output<T>>,
    work: &(dyn Fn(&Arc<str>, u64, &[u8], &mut Vec<Result<T, InputError>>) + Send + Sync),
) {
    loop {
        let batch = match batches.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(batch) = batch else { return };
        let mut results = Vec::with_capacity(batch.items.len());
        for item in batch.items {
            match item {
                Ok((source, line, bytes)) => work(&source, line, &bytes, &mut results),
                Err(e) => results.push(Err(e)),
            }
        }
        if out.send((batch.seq, results)).is_err() {
            return;
        }
    }
}

/// ECS JSON lines of consecutive documents, whole lines only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcsChunk {
    pub bytes: Vec<u8>,
    /// How many documents (lines) `bytes` holds.
    pub documents: u64,
}

/// A chunk is handed on once it holds this many bytes.
const CHUNK_BYTES: usize = 256 * 1024;

/// Writes one record's lines into the last chunk of `out` (a new one after an error or when
/// it is full), or its error.
fn write_record(
    normalizer: &Normalizer,
    format: &EcsFormat,
    source: &Arc<str>,
    line: u64,
    bytes: &[u8],
    out: &mut Vec<Result<EcsChunk, InputError>>,
) {
    if !matches!(out.last(), Some(Ok(c)) if c.bytes.len() < CHUNK_BYTES) {
        // Room for a full chunk and the record that fills it: no reallocation (a copy of
        // everything written so far) as it grows.
        out.push(Ok(EcsChunk {
            bytes: Vec::with_capacity(CHUNK_BYTES + (bytes.len() * 2).max(64 * 1024)),
            documents: 0,
        }));
    }
    let Some(Ok(chunk)) = out.last_mut() else { return };
    match normalizer.write_ecs(bytes, format, &mut chunk.bytes) {
        Ok(n) => chunk.documents += n,
        Err(reason) => {
            if chunk.documents == 0 {
                out.pop();
            }
            out.push(Err(InputError {
                source: source.to_string(),
                line,
                reason,
            }));
        }
    }
}

/// Where [`EcsLines`] gets its lines.
enum Lines {
    Serial {
        records: Box<Records>,
        normalizer: Arc<Normalizer>,
        /// An error found after the lines of the chunk handed out.
        pending: Option<InputError>,
    },
    Parallel(Parallel<EcsChunk>),
    /// A reader already iterated: its documents serialized.
    Documents {
        reader: Box<Reader>,
        pending: Option<InputError>,
    },
}

/// The ECS JSON lines of a [`Reader`]'s documents ([`Reader::ecs_lines`]).
pub struct EcsLines {
    source: Lines,
    format: Arc<EcsFormat>,
}

impl Iterator for EcsLines {
    type Item = Result<EcsChunk, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Lines::Parallel(p) => p.next(),
            Lines::Documents { reader, pending } => {
                if let Some(e) = pending.take() {
                    return Some(Err(e));
                }
                let mut chunk = EcsChunk::default();
                while chunk.bytes.len() < CHUNK_BYTES {
                    match reader.next() {
                        Some(Ok(doc)) => {
                            crate::write_document(&doc, &self.format, &mut chunk.bytes);
                            chunk.documents += 1;
                        }
                        Some(Err(e)) if chunk.documents == 0 => return Some(Err(e)),
                        Some(Err(e)) => {
                            *pending = Some(e);
                            break;
                        }
                        None => break,
                    }
                }
                (chunk.documents > 0).then_some(Ok(chunk))
            }
            Lines::Serial {
                records,
                normalizer,
                pending,
            } => {
                if let Some(e) = pending.take() {
                    return Some(Err(e));
                }
                let mut out: Vec<Result<EcsChunk, InputError>> = Vec::with_capacity(2);
                loop {
                    let format = &self.format;
                    match records.next_with(|source, line, bytes| {
                        write_record(normalizer, format, source, line, bytes, &mut out)
                    }) {
                        None => break,
                        Some(Ok(())) => {}
                        Some(Err(e)) => out.push(Err(e)),
                    }
                    let full = matches!(out.last(), Some(Ok(c)) if c.bytes.len() >= CHUNK_BYTES);
                    if full || matches!(out.last(), Some(Err(_))) {
                        break;
                    }
                }
                // At most one chunk then one error.
                let mut items = out.into_iter();
                let first = items.next();
                *pending = items.next().and_then(Result::err);
                first
            }
        }
    }
}
