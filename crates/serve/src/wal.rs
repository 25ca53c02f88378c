//! The write-ahead log: every accepted batch (the raw body, not the documents) is appended as
//! one record and fsynced before the client is answered, so a restart can replay it through the
//! normalizer and the detector and rebuild the window state.
//!
//! Layout: `dir/<seq:020>.wal` segment files. A record is
//! `len: u32 LE | crc32: u32 LE | kind: u8 | received_at: i64 LE nanos | payload[len]`, the CRC
//! covering kind, time and payload. A batch is all or nothing: a failed write is cut back off
//! the segment, and on open a torn or corrupt tail (a crash mid-write) is truncated away.
//! Segments rotate past `segment_bytes`; closed segments whose newest record is older than the
//! retention are deleted by [`Wal::trim`]; past `max_bytes` appends fail with [`WalError::Full`].
//! Writers that arrive while an fsync runs share the next one ([`Syncer`], group commit).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const HEADER: usize = 4 + 4 + 1 + 8;

/// What a record's payload is, so replay knows how to normalize it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    /// A webhook `EventList` body.
    AuditList = 1,
    /// Process events, one JSON per line.
    ProcessLines = 2,
    /// Audit events, one JSON per line (a followed log file).
    AuditLines = 3,
}

impl RecordKind {
    fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(RecordKind::AuditList),
            2 => Some(RecordKind::ProcessLines),
            3 => Some(RecordKind::AuditLines),
            _ => None,
        }
    }
}

/// One replayed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: RecordKind,
    pub received_at: i64,
    pub payload: Vec<u8>,
}

#[derive(Debug)]
pub enum WalError {
    /// The log holds `max_bytes` already; retry once old segments expire.
    Full,
    Io(io::Error),
}

impl std::fmt::Display for WalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalError::Full => write!(f, "write-ahead log is full"),
            WalError::Io(e) => write!(f, "write-ahead log: {e}"),
        }
    }
}

impl std::error::Error for WalError {}

/// What opening the log found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayStats {
    pub records: u64,
    pub bytes: u64,
    /// Bytes cut off because a record was torn or failed its CRC.
    pub truncated_bytes: u64,
}

#[derive(Debug)]
struct Segment {
    seq: u64,
    path: PathBuf,
    bytes: u64,
    oldest: i64,
    newest: i64,
}

/// An open write-ahead log.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    segment_bytes: u64,
    max_bytes: u64,
    segments: Vec<Segment>,
    file: File,
    sync: Arc<Syncer>,
}

/// Group commit: records are numbered as written; [`Syncer::wait`] returns once the record
/// with that number is on disk, fsyncing for every record written so far if nobody did yet.
#[derive(Debug)]
pub struct Syncer {
    written: AtomicU64,
    inner: Mutex<SyncInner>,
    /// Set when an fsync failed: what reached the disk is then unknown, so nothing more is
    /// acknowledged until a restart replays the log.
    poisoned: AtomicBool,
    /// fsyncs done so far.
    fsyncs: AtomicU64,
}

#[derive(Debug)]
struct SyncInner {
    synced: u64,
    /// The current segment (a second handle).
    file: File,
}

impl Syncer {
    /// Waits until record `ticket` is durable.
    pub fn wait(&self, ticket: u64) -> io::Result<()> {
        let mut inner = self.inner.lock().expect("wal sync lock");
        if inner.synced >= ticket {
            return Ok(());
        }
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(io::Error::other("an earlier fsync failed"));
        }
        let target = self.written.load(Ordering::SeqCst);
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = inner.file.sync_data() {
            self.poisoned.store(true, Ordering::SeqCst);
            return Err(e);
        }
        inner.synced = target;
        Ok(())
    }

    /// fsyncs done so far (each may cover many records).
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.wal"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Wal {
    /// Opens (creating) the log in `dir`, calling `replay` for every intact record in order.
    pub fn open(
        dir: &Path,
        segment_bytes: u64,
        max_bytes: u64,
        mut replay: impl FnMut(Record),
    ) -> io::Result<(Wal, ReplayStats)> {
        fs::create_dir_all(dir)?;
        let mut seqs: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".wal")?.parse::<u64>().ok()
            })
            .collect();
        seqs.sort_unstable();
        let mut stats = ReplayStats::default();
        let mut segments = Vec::new();
        for seq in seqs {
            let path = segment_path(dir, seq);
            let mut data = Vec::new();
            File::open(&path)?.read_to_end(&mut data)?;
            let mut pos = 0usize;
            let mut newest = i64::MIN;
            let mut oldest = i64::MAX;
            while let Some((rec, next)) = decode(&data, pos) {
                newest = newest.max(rec.received_at);
                oldest = oldest.min(rec.received_at);
                stats.records += 1;
                replay(rec);
                pos = next;
            }
            if pos < data.len() {
                tracing::warn!(
                    segment = %path.display(),
                    offset = pos,
                    cut = data.len() - pos,
                    "write-ahead log: torn or corrupt record, truncating"
                );
                stats.truncated_bytes += (data.len() - pos) as u64;
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(pos as u64)?;
                f.sync_all()?;
            }
            stats.bytes += pos as u64;
            segments.push(Segment {
                seq,
                path,
                bytes: pos as u64,
                oldest,
                newest,
            });
        }
        if segments.is_empty() {
            let path = segment_path(dir, 1);
            File::create(&path)?.sync_all()?;
            sync_dir(dir)?;
            segments.push(Segment {
                seq: 1,
                path,
                bytes: 0,
                oldest: i64::MAX,
                newest: i64::MIN,
            });
        }
        let last = segments.last().expect("one segment");
        let file = OpenOptions::new().append(true).open(&last.path)?;
        let sync = Arc::new(Syncer {
            written: AtomicU64::new(0),
            inner: Mutex::new(SyncInner {
                synced: 0,
                file: file.try_clone()?,
            }),
            poisoned: AtomicBool::new(false),
            fsyncs: AtomicU64::new(0),
        });
        Ok((
            Wal {
                dir: dir.to_path_buf(),
                segment_bytes,
                max_bytes,
                segments,
                file,
                sync,
            },
            stats,
        ))
    }

    /// Total bytes held.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// Receive time of the oldest record held, if any.
    pub fn oldest(&self) -> Option<i64> {
        self.segments
            .iter()
            .map(|s| s.oldest)
            .min()
            .filter(|t| *t != i64::MAX)
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Appends one record and fsyncs it. On error nothing of the record remains.
    pub fn append(&mut self, kind: RecordKind, received_at: i64, payload: &[u8]) -> Result<u64, WalError> {
        let ticket = self.write(kind, received_at, payload)?;
        self.syncer().wait(ticket).map_err(WalError::Io)?;
        Ok(ticket)
    }

    /// Writes one record without waiting for the disk; the record is durable once
    /// [`Syncer::wait`] returned for the ticket. Concurrent batches share one fsync (group
    /// commit). On error nothing of the record remains.
    pub fn write(&mut self, kind: RecordKind, received_at: i64, payload: &[u8]) -> Result<u64, WalError> {
        if self.sync.poisoned.load(Ordering::SeqCst) {
            return Err(WalError::Io(io::Error::other(
                "an earlier fsync failed; restart to recover from the log",
            )));
        }
        let len = u32::try_from(payload.len())
            .map_err(|_| WalError::Io(io::Error::new(io::ErrorKind::InvalidInput, "record over 4 GiB")))?;
        let size = (HEADER + payload.len()) as u64;
        if self.bytes() + size > self.max_bytes {
            return Err(WalError::Full);
        }
        let cur = self.segments.last().expect("one segment");
        if cur.bytes > 0 && cur.bytes + size > self.segment_bytes {
            self.rotate().map_err(WalError::Io)?;
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&[kind as u8]);
        hasher.update(&received_at.to_le_bytes());
        hasher.update(payload);
        let mut head = [0u8; HEADER];
        head[0..4].copy_from_slice(&len.to_le_bytes());
        head[4..8].copy_from_slice(&hasher.finalize().to_le_bytes());
        head[8] = kind as u8;
        head[9..17].copy_from_slice(&received_at.to_le_bytes());
        let cur = self.segments.last_mut().expect("one segment");
        let before = cur.bytes;
        if let Err(e) = write_all_vectored(&mut self.file, &head, payload) {
            // Cut the partial record off so the batch is all or nothing.
            let _ = self.file.set_len(before);
            return Err(WalError::Io(e));
        }
        cur.bytes += size;
        cur.newest = cur.newest.max(received_at);
        cur.oldest = cur.oldest.min(received_at);
        Ok(self.sync.written.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// The handle that makes written records durable.
    pub fn syncer(&self) -> Arc<Syncer> {
        self.sync.clone()
    }

    fn rotate(&mut self) -> io::Result<()> {
        let seq = self.segments.last().map_or(1, |s| s.seq + 1);
        let path = segment_path(&self.dir, seq);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.sync_all()?;
        sync_dir(&self.dir)?;
        // Everything written so far is in the old segment: make it durable, then point the
        // syncer at the new one.
        {
            let mut inner = self.sync.inner.lock().expect("wal sync lock");
            let target = self.sync.written.load(Ordering::SeqCst);
            if inner.synced < target {
                self.sync.fsyncs.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = self.file.sync_data() {
                    self.sync.poisoned.store(true, Ordering::SeqCst);
                    return Err(e);
                }
                inner.synced = target;
            }
            inner.file = file.try_clone()?;
        }
        self.file = file;
        self.segments.push(Segment {
            seq,
            path,
            bytes: 0,
            oldest: i64::MAX,
            newest: i64::MIN,
        });
        Ok(())
    }

    /// Deletes closed segments whose newest record was received before `cutoff` (nanos), and
    /// closes the current segment once its oldest record is past the cutoff (so that a slowly
    /// filling segment expires too). Returns how many segments were deleted.
    pub fn trim(&mut self, cutoff: i64) -> io::Result<usize> {
        let mut removed = 0;
        while self.segments.len() > 1 && self.segments[0].newest < cutoff {
            let seg = self.segments.remove(0);
            fs::remove_file(&seg.path)?;
            removed += 1;
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        let cur = self.segments.last().expect("one segment");
        if cur.bytes > 0 && cur.oldest < cutoff {
            self.rotate()?;
        }
        Ok(removed)
    }
}

/// Writes `head` then `payload` with as few system calls as the kernel allows (no copy of the
/// payload into a record buffer).
fn write_all_vectored(file: &mut File, head: &[u8], payload: &[u8]) -> io::Result<()> {
    let total = head.len() + payload.len();
    let mut done = 0;
    while done < total {
        let n = if done < head.len() {
            file.write_vectored(&[io::IoSlice::new(&head[done..]), io::IoSlice::new(payload)])
        } else {
            file.write(&payload[done - head.len()..])
        };
        match n {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn decode(data: &[u8], pos: usize) -> Option<(Record, usize)> {
    let head = data.get(pos..pos + HEADER)?;
    let len = u32::from_le_bytes(head[0..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(head[4..8].try_into().ok()?);
    let end = (pos + HEADER).checked_add(len)?;
    let body = data.get(pos + 8..end)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let kind = RecordKind::from_u8(body[0])?;
    let received_at = i64::from_le_bytes(body[1..9].try_into().ok()?);
    Some((
        Record {
            kind,
            received_at,
            payload: body[9..].to_vec(),
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reopen(dir: &Path, seg: u64, max: u64) -> (Wal, Vec<Record>, ReplayStats) {
        let mut recs = Vec::new();
        let (w, s) = Wal::open(dir, seg, max, |r| recs.push(r)).unwrap();
        (w, recs, s)
    }

    #[test]
    fn appends_replay_in_order_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, recs, _) = reopen(dir.path(), 100, 10_000);
        assert!(recs.is_empty());
        for i in 0..10i64 {
            w.append(
                RecordKind::ProcessLines,
                i,
                format!("payload-{i}-{}", "x".repeat(40)).as_bytes(),
            )
            .unwrap();
        }
        assert!(w.segment_count() >= 5, "rotated by size: {}", w.segment_count());
        drop(w);
        let (_, recs, stats) = reopen(dir.path(), 100, 10_000);
        assert_eq!(recs.len(), 10);
        assert_eq!(stats.truncated_bytes, 0);
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r.received_at, i as i64);
            assert!(r.payload.starts_with(format!("payload-{i}-").as_bytes()));
        }
    }

    #[test]
    fn group_commit_one_wait_covers_earlier_writes_across_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _, _) = reopen(dir.path(), 100, 1 << 20);
        let sync = w.syncer();
        let tickets: Vec<u64> = (0..6)
            .map(|i| w.write(RecordKind::AuditList, i, &[b'x'; 40]).unwrap())
            .collect();
        assert_eq!(tickets, [1, 2, 3, 4, 5, 6]);
        assert!(w.segment_count() > 1);
        sync.wait(6).unwrap();
        assert_eq!(sync.inner.lock().unwrap().synced, 6);
        sync.wait(2).unwrap();
        // concurrent waiters
        let t7 = w.write(RecordKind::AuditList, 7, b"y").unwrap();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = sync.clone();
                std::thread::spawn(move || s.wait(t7).unwrap())
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        drop(w);
        let (_, recs, _) = reopen(dir.path(), 100, 1 << 20);
        assert_eq!(recs.len(), 7);
    }

    #[test]
    fn torn_and_corrupt_tails_are_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _, _) = reopen(dir.path(), 1 << 20, 1 << 22);
        w.append(RecordKind::AuditList, 1, b"first").unwrap();
        w.append(RecordKind::AuditList, 2, b"second").unwrap();
        drop(w);
        let seg = segment_path(dir.path(), 1);
        let full = fs::read(&seg).unwrap();
        // torn: the second record half written
        fs::write(&seg, &full[..full.len() - 3]).unwrap();
        let (mut w, recs, stats) = reopen(dir.path(), 1 << 20, 1 << 22);
        assert_eq!(recs.len(), 1);
        assert_eq!(stats.truncated_bytes, (HEADER + 6 - 3) as u64);
        // appending after the truncation gives a clean log
        w.append(RecordKind::AuditList, 3, b"third").unwrap();
        drop(w);
        let (_, recs, _) = reopen(dir.path(), 1 << 20, 1 << 22);
        assert_eq!(
            recs.iter().map(|r| r.payload.as_slice()).collect::<Vec<_>>(),
            vec![b"first".as_slice(), b"third"]
        );
        // corrupt: flip a payload byte of the last record
        let mut data = fs::read(&seg).unwrap();
        let n = data.len();
        data[n - 1] ^= 0xff;
        fs::write(&seg, &data).unwrap();
        let (_, recs, stats) = reopen(dir.path(), 1 << 20, 1 << 22);
        assert_eq!(recs.len(), 1);
        assert!(stats.truncated_bytes > 0);
    }

    #[test]
    fn full_log_refuses_and_trim_frees() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _, _) = reopen(dir.path(), 64, 200);
        let mut t = 0;
        loop {
            t += 1;
            match w.append(RecordKind::ProcessLines, t, &[b'a'; 30]) {
                Ok(_) => {}
                Err(WalError::Full) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(w.bytes() <= 200);
        let segs = w.segment_count();
        assert_eq!(w.trim(0).unwrap(), 0, "nothing older than the cutoff");
        let removed = w.trim(t).unwrap();
        assert_eq!(
            removed,
            segs - 1,
            "all closed segments expired, the current one stays"
        );
        w.append(RecordKind::ProcessLines, t, &[b'a'; 30]).unwrap();
        drop(w);
        let (_, recs, _) = reopen(dir.path(), 64, 200);
        assert!(!recs.is_empty() && recs.len() <= 2);
    }
}
