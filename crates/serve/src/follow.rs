//! `--follow PATH`: tails an audit log file (one audit Event JSON per line, as the
//! kube-apiserver log backend writes it), surviving rotation by rename (the old file is read to
//! its end, then the new one from its start) and by copytruncate (the file shrinks below the
//! offset: start again at 0), and resuming after a restart from an offset persisted with the
//! file's identity (device, inode) in `<state>/follow/`.
//!
//! Complete lines go through the same path as webhook batches: normalized, appended to the WAL
//! (fsynced), fed to the detector; then the offset is saved. Lines the normalizer refuses are
//! counted and logged, not written. A crash between the WAL append and the offset save replays
//! those lines once more (alert ids make the duplicates harmless for delivery).

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Normalizer;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::wal::{RecordKind, WalError};

const POLL: Duration = Duration::from_millis(200);
const CHUNK: usize = 1 << 20;

/// Where a followed file was read up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
}

/// The persisted position of one followed path.
pub struct OffsetStore {
    path: PathBuf,
}

impl OffsetStore {
    pub fn new(state: &Path, followed: &Path) -> io::Result<Self> {
        let dir = state.join("follow");
        fs::create_dir_all(&dir)?;
        let name: String = followed
            .to_string_lossy()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Ok(OffsetStore {
            path: dir.join(format!("{name}.pos")),
        })
    }

    pub fn load(&self) -> Option<Position> {
        let text = fs::read_to_string(&self.path).ok()?;
        let mut it = text.split_whitespace().map(|s| s.parse::<u64>());
        Some(Position {
            dev: it.next()?.ok()?,
            ino: it.next()?.ok()?,
            offset: it.next()?.ok()?,
        })
    }

    pub fn save(&self, p: Position) -> io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(format!("{} {} {}\n", p.dev, p.ino, p.offset).as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &self.path)
    }
}

/// Where a batch of complete lines goes.
pub trait LineSink {
    /// Takes the complete lines; returns once they are durable.
    fn lines(&mut self, data: &[u8]) -> io::Result<()>;
}

/// Tails one file. Call [`Follower::poll`] repeatedly.
pub struct Follower {
    path: PathBuf,
    store: OffsetStore,
    file: Option<File>,
    pos: Position,
    pending: Vec<u8>,
}

impl Follower {
    pub fn new(path: PathBuf, store: OffsetStore) -> Self {
        let pos = store.load().unwrap_or_default();
        Follower {
            path,
            store,
            file: None,
            pos,
            pending: Vec::new(),
        }
    }

    /// Opens the file to read: after a restart, the file with the saved identity if it still
    /// exists (the followed path, or a rotated sibling such as `audit.log.1`), at the saved
    /// offset; otherwise the followed path from its start.
    fn open(&mut self) -> io::Result<bool> {
        let saved = self.pos;
        let mut candidates = vec![self.path.clone()];
        if saved.ino != 0
            && let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name())
        {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(rd) = fs::read_dir(dir) {
                for e in rd.flatten() {
                    if e.file_name()
                        .to_string_lossy()
                        .starts_with(&*name.to_string_lossy())
                        && e.path() != self.path
                    {
                        candidates.push(e.path());
                    }
                }
            }
        }
        for c in &candidates {
            let Ok(f) = File::open(c) else { continue };
            let m = f.metadata()?;
            if saved.ino != 0 && m.dev() == saved.dev && m.ino() == saved.ino {
                let offset = if m.len() >= saved.offset { saved.offset } else { 0 };
                self.file = Some(f);
                self.pos = Position { offset, ..saved };
                return Ok(true);
            }
        }
        match File::open(&self.path) {
            Ok(f) => {
                let m = f.metadata()?;
                self.pos = Position {
                    dev: m.dev(),
                    ino: m.ino(),
                    offset: 0,
                };
                self.file = Some(f);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reads what is new; returns how many bytes were consumed.
    pub fn poll(&mut self, sink: &mut dyn LineSink) -> io::Result<u64> {
        if self.file.is_none() && !self.open()? {
            return Ok(0);
        }
        let mut consumed = self.read_available(sink)?;
        // Nothing more in the open file: did it rotate or shrink?
        let file = self.file.as_ref().expect("open");
        let len = file.metadata()?.len();
        if len < self.pos.offset {
            tracing::info!(path = %self.path.display(), "followed file truncated (copytruncate); reading from the start");
            self.pending.clear();
            self.pos.offset = 0;
            self.store.save(self.pos)?;
            consumed += self.read_available(sink)?;
            return Ok(consumed);
        }
        match fs::metadata(&self.path) {
            Ok(m) if m.dev() != self.pos.dev || m.ino() != self.pos.ino => {
                // Rotated by rename: the old file is at its end (read again to be sure, then
                // flush a last line without newline), switch to the new one.
                consumed += self.read_available(sink)?;
                if !self.pending.is_empty() {
                    let mut last = std::mem::take(&mut self.pending);
                    last.push(b'\n');
                    sink.lines(&last)?;
                }
                tracing::info!(path = %self.path.display(), "followed file rotated; switching to the new file");
                self.file = None;
                self.pos = Position::default();
                if self.open()? {
                    self.store.save(self.pos)?;
                    consumed += self.read_available(sink)?;
                }
            }
            _ => {}
        }
        Ok(consumed)
    }

    fn read_available(&mut self, sink: &mut dyn LineSink) -> io::Result<u64> {
        let mut total = 0;
        let file = self.file.as_mut().expect("open");
        loop {
            let start = self.pos.offset + self.pending.len() as u64;
            file.seek(SeekFrom::Start(start))?;
            let mut buf = Vec::with_capacity(CHUNK);
            file.take(CHUNK as u64).read_to_end(&mut buf)?;
            if buf.is_empty() {
                return Ok(total);
            }
            self.pending.extend_from_slice(&buf);
            if let Some(last_nl) = self.pending.iter().rposition(|&b| b == b'\n') {
                let rest = self.pending.split_off(last_nl + 1);
                let lines = std::mem::replace(&mut self.pending, rest);
                sink.lines(&lines)?;
                self.pos.offset += lines.len() as u64;
                total += lines.len() as u64;
                self.store.save(self.pos)?;
            }
        }
    }
}

/// Feeds followed lines to the engine.
struct EngineSink {
    source: String,
    engine: Arc<Mutex<Engine>>,
    normalizer: Arc<dyn Normalizer>,
    metrics: Arc<Metrics>,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl LineSink for EngineSink {
    fn lines(&mut self, data: &[u8]) -> io::Result<()> {
        let mut good = Vec::with_capacity(data.len());
        let mut docs = Vec::new();
        let received_at = events::time::now_nanos();
        for line in data.split(|&b| b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match self.normalizer.audit_event_at(line, received_at) {
                Ok(d) => {
                    docs.extend(d);
                    good.extend_from_slice(line);
                    good.push(b'\n');
                }
                Err(e) => {
                    self.metrics.follow_errors.add(&[&self.source], 1);
                    tracing::warn!(path = %self.source, error = %e, "followed line refused; skipped");
                }
            }
        }
        if good.is_empty() {
            return Ok(());
        }
        loop {
            let res = self.engine.lock().expect("engine lock").ingest(
                RecordKind::AuditLines,
                &good,
                docs.clone(),
                "follow",
                received_at,
            );
            match res {
                Ok(durable) => {
                    return durable.wait().map_err(|e| match e {
                        WalError::Io(e) => e,
                        WalError::Full => io::Error::other("write-ahead log full"),
                    });
                }
                Err(WalError::Full) => {
                    // Back-pressure: the file keeps the data; wait for the WAL to expire.
                    if *self.stop.borrow() {
                        return Err(io::Error::other("stopping with a full write-ahead log"));
                    }
                    tracing::warn!(path = %self.source, "write-ahead log full; following paused");
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(WalError::Io(e)) => return Err(e),
            }
        }
    }
}

/// Starts one thread per followed path; they stop when `stop` turns true.
pub(crate) fn start_all(
    paths: &[PathBuf],
    state: &Path,
    engine: Arc<Mutex<Engine>>,
    normalizer: Arc<dyn Normalizer>,
    metrics: Arc<Metrics>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> io::Result<Vec<JoinHandle<()>>> {
    let mut out = Vec::new();
    for p in paths {
        let mut follower = Follower::new(p.clone(), OffsetStore::new(state, p)?);
        let mut sink = EngineSink {
            source: p.display().to_string(),
            engine: engine.clone(),
            normalizer: normalizer.clone(),
            metrics: metrics.clone(),
            stop: stop.clone(),
        };
        let path = p.clone();
        out.push(std::thread::Builder::new().name("follow".into()).spawn(move || {
            while !*sink.stop.borrow() {
                match follower.poll(&mut sink) {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => {
                        sink.metrics.follow_errors.add(&[&sink.source], 1);
                        tracing::error!(path = %path.display(), error = %e, "following failed; retrying");
                    }
                }
                std::thread::sleep(POLL);
            }
        })?);
    }
    Ok(out)
}
