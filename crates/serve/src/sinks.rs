//! Alert sinks: standard output (ndjson), a size-rotated file, and an HTTP webhook fed from a
//! bounded on-disk queue with retries and exponential backoff.
//!
//! [`Sink::deliver`] returns once the alert is durably handed over (written and fsynced for
//! the file, flushed for stdout, fsynced into the queue for the webhook); only then is the id
//! recorded in the sink's delivery log. Failures are never silent: they are counted in the
//! metrics and logged.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::{SinkConfig, WebhookFormat};
use crate::metrics::Metrics;

/// One alert destination.
pub trait Sink: Send {
    fn name(&self) -> &str;
    /// Hands one alert (a JSON object, no trailing newline) over durably.
    fn deliver(&mut self, line: &str) -> io::Result<()>;
    /// Hands several alerts over; returns how many (a prefix of `lines`) were taken, and the
    /// error that stopped the rest.
    fn deliver_batch(&mut self, lines: &[String]) -> (usize, Option<io::Error>) {
        for (i, l) in lines.iter().enumerate() {
            if let Err(e) = self.deliver(l) {
                return (i, Some(e));
            }
        }
        (lines.len(), None)
    }
    /// Alert ids the sink holds that the delivery log may lack (a crash between the write and
    /// the record).
    fn recovered_ids(&self) -> Vec<String> {
        Vec::new()
    }
    /// Called at shutdown: push out what is buffered (bounded wait).
    fn close(&mut self) {}
}

/// Builds the sink of a configuration entry; `state` is the directory for its on-disk state.
pub fn build(
    cfg: &SinkConfig,
    name: String,
    state: &Path,
    metrics: Arc<Metrics>,
) -> io::Result<Box<dyn Sink>> {
    Ok(match cfg {
        SinkConfig::Stdout { .. } => Box::new(StdoutSink { name }),
        SinkConfig::File {
            path,
            max_bytes,
            max_files,
            ..
        } => Box::new(FileSink::open(name, path.clone(), *max_bytes, *max_files)?),
        SinkConfig::Webhook {
            url,
            format,
            queue_bytes,
            headers,
            backoff,
            max_backoff,
            timeout,
            ca,
            ..
        } => Box::new(WebhookSink::start(
            WebhookOptions {
                name,
                url: url.clone(),
                mode: match format {
                    WebhookFormat::Json => Mode::Json,
                    WebhookFormat::Slack => Mode::Slack,
                },
                queue_bytes: *queue_bytes,
                headers: headers.clone(),
                backoff: dur(backoff),
                max_backoff: dur(max_backoff),
                timeout: dur(timeout),
                ca: ca.clone(),
            },
            &state.join("queues"),
            metrics,
        )?),
        SinkConfig::Elasticsearch {
            url,
            index,
            batch,
            queue_bytes,
            headers,
            backoff,
            max_backoff,
            timeout,
            ca,
            ..
        } => Box::new(WebhookSink::start(
            WebhookOptions {
                name,
                url: format!("{}/_bulk", url.trim_end_matches('/')),
                mode: Mode::Bulk {
                    index: index.clone(),
                    batch: *batch,
                },
                queue_bytes: *queue_bytes,
                headers: headers.clone(),
                backoff: dur(backoff),
                max_backoff: dur(max_backoff),
                timeout: dur(timeout),
                ca: ca.clone(),
            },
            &state.join("queues"),
            metrics,
        )?),
    })
}

fn dur(s: &str) -> Duration {
    Duration::from_nanos(events::time::parse_duration(s).unwrap_or(0).max(0) as u64)
}

/// The `kibana.alert.uuid` of an alert line, whether written flat or nested.
pub fn alert_id_of_line(line: &str) -> Option<String> {
    let doc = events::Document::from_json(line).ok()?;
    doc.first_str("kibana.alert.uuid").map(String::from)
}

struct StdoutSink {
    name: String,
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        &self.name
    }
    fn deliver(&mut self, line: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

/// Appends alerts to a file, rotating it to `path.1` … `path.<max_files>` past `max_bytes`.
pub struct FileSink {
    name: String,
    path: PathBuf,
    max_bytes: u64,
    max_files: u32,
    file: File,
    size: u64,
}

impl FileSink {
    pub fn open(name: String, path: PathBuf, max_bytes: u64, max_files: u32) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(FileSink {
            name,
            path,
            max_bytes,
            max_files,
            file,
            size,
        })
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    }

    fn rotate(&mut self) -> io::Result<()> {
        let _ = fs::remove_file(self.rotated(self.max_files));
        for n in (1..self.max_files).rev() {
            let from = self.rotated(n);
            if from.exists() {
                fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        fs::rename(&self.path, self.rotated(1))?;
        self.file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        self.size = 0;
        Ok(())
    }
}

impl Sink for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver(&mut self, line: &str) -> io::Result<()> {
        let n = line.len() as u64 + 1;
        if self.size > 0 && self.size + n > self.max_bytes {
            self.rotate()?;
        }
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        if let Err(e) = self.file.write_all(&buf).and_then(|_| self.file.sync_data()) {
            let _ = self.file.set_len(self.size);
            return Err(e);
        }
        self.size += n;
        Ok(())
    }

    fn deliver_batch(&mut self, lines: &[String]) -> (usize, Option<io::Error>) {
        // One fsync per file written: lines up to the size limit, then rotate.
        let mut done = 0;
        while done < lines.len() {
            if self.size > 0
                && self.size + lines[done].len() as u64 + 1 > self.max_bytes
                && let Err(e) = self.rotate()
            {
                return (done, Some(e));
            }
            let mut buf = Vec::new();
            let mut n = done;
            while n < lines.len() {
                let len = lines[n].len() as u64 + 1;
                if n > done && self.size + buf.len() as u64 + len > self.max_bytes {
                    break;
                }
                buf.extend_from_slice(lines[n].as_bytes());
                buf.push(b'\n');
                n += 1;
            }
            if let Err(e) = self.file.write_all(&buf).and_then(|_| self.file.sync_data()) {
                let _ = self.file.set_len(self.size);
                return (done, Some(e));
            }
            self.size += buf.len() as u64;
            done = n;
        }
        (done, None)
    }

    fn recovered_ids(&self) -> Vec<String> {
        // Rotation happens only before a write, after the previous alert was recorded, so only
        // the current file can hold unrecorded alerts.
        let Ok(f) = File::open(&self.path) else {
            return Vec::new();
        };
        BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| alert_id_of_line(&l))
            .collect()
    }
}

/// What the sender posts.
enum Mode {
    /// One alert per request, as JSON.
    Json,
    /// One alert per request, as Slack `{"text": ...}`.
    Slack,
    /// Up to `batch` alerts per Elasticsearch `_bulk` request, each a `create` with
    /// `_id` = `kibana.alert.uuid`, so that a resent alert is a harmless 409.
    Bulk { index: String, batch: usize },
}

struct WebhookOptions {
    name: String,
    url: String,
    mode: Mode,
    ca: Option<PathBuf>,
    queue_bytes: u64,
    headers: Vec<(String, String)>,
    backoff: Duration,
    max_backoff: Duration,
    timeout: Duration,
}

/// The on-disk queue shared by the enqueuing side and the sender thread: `<name>.ndjson`
/// holds the lines, `<name>.offset` how far the sender got in which file (`<inode> <offset>`).
/// Once the sent part is large, the unsent rest is copied to a new file renamed over the old
/// one; an offset saved for another inode than the data file's therefore means "compacted,
/// start at 0", which keeps a crash between the rename and the offset save safe.
struct Queue {
    data: File,
    data_path: PathBuf,
    offset_path: PathBuf,
    len: u64,
    offset: u64,
}

/// Past this many sent bytes, the queue file is compacted.
const COMPACT_BYTES: u64 = 1 << 20;

impl Queue {
    fn open(data_path: PathBuf, offset_path: PathBuf) -> io::Result<Queue> {
        use std::os::unix::fs::MetadataExt;
        let data = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&data_path)?;
        let meta = data.metadata()?;
        let saved = fs::read_to_string(&offset_path).unwrap_or_default();
        let mut it = saved.split_whitespace().map(|s| s.parse::<u64>().ok());
        let offset = match (it.next().flatten(), it.next().flatten()) {
            (Some(ino), Some(off)) if ino == meta.ino() => off.min(meta.len()),
            _ => 0,
        };
        Ok(Queue {
            data,
            data_path,
            offset_path,
            len: meta.len(),
            offset,
        })
    }

    fn save_offset(&self) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let ino = self.data.metadata()?.ino();
        let tmp = self.offset_path.with_extension("tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(format!("{ino} {}\n", self.offset).as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &self.offset_path)
    }

    /// Drops the sent part of the file.
    fn compact(&mut self) -> io::Result<()> {
        let mut rest = Vec::new();
        let mut f = File::open(&self.data_path)?;
        f.seek(SeekFrom::Start(self.offset))?;
        f.take(self.len - self.offset).read_to_end(&mut rest)?;
        let tmp = self.data_path.with_extension("compact");
        let mut out = File::create(&tmp)?;
        out.write_all(&rest)?;
        out.sync_all()?;
        fs::rename(&tmp, &self.data_path)?;
        if let Some(dir) = self.data_path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.data = OpenOptions::new().read(true).append(true).open(&self.data_path)?;
        self.len = rest.len() as u64;
        self.offset = 0;
        self.save_offset()
    }
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    stop: AtomicBool,
}

/// Posts alerts to an HTTP endpoint from a bounded on-disk queue.
pub struct WebhookSink {
    name: String,
    queue_bytes: u64,
    shared: Arc<Shared>,
    sender: Option<JoinHandle<()>>,
}

impl WebhookSink {
    fn start(opts: WebhookOptions, dir: &Path, metrics: Arc<Metrics>) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let data_path = dir.join(format!("{}.ndjson", opts.name));
        let offset_path = dir.join(format!("{}.offset", opts.name));
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::open(data_path, offset_path)?),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let name = opts.name.clone();
        let queue_bytes = opts.queue_bytes;
        let s = shared.clone();
        // The blocking client runs its own runtime: build and drop it on the sender thread,
        // never inside the caller's async context.
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let sender =
            std::thread::Builder::new()
                .name(format!("sink-{name}"))
                .spawn(move || match client_for(&opts) {
                    Ok(client) => {
                        let _ = ready_tx.send(Ok(()));
                        send_loop(opts, client, s, metrics)
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(io::Error::other(e)));
                    }
                })?;
        ready_rx
            .recv()
            .map_err(|_| io::Error::other("webhook sender thread died"))??;
        Ok(WebhookSink {
            name,
            queue_bytes,
            shared,
            sender: Some(sender),
        })
    }
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver(&mut self, line: &str) -> io::Result<()> {
        let mut q = self.shared.queue.lock().expect("queue lock");
        let n = line.len() as u64 + 1;
        if q.len - q.offset + n > self.queue_bytes {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "webhook queue is full",
            ));
        }
        let mut buf = line.as_bytes().to_vec();
        buf.push(b'\n');
        let before = q.len;
        if let Err(e) = q.data.write_all(&buf).and_then(|_| q.data.sync_data()) {
            let _ = q.data.set_len(before);
            return Err(e);
        }
        q.len += n;
        self.shared.wake.notify_all();
        Ok(())
    }

    fn deliver_batch(&mut self, lines: &[String]) -> (usize, Option<io::Error>) {
        let mut q = self.shared.queue.lock().expect("queue lock");
        let mut buf = Vec::new();
        let mut n = 0;
        let mut err = None;
        for l in lines {
            if q.len - q.offset + buf.len() as u64 + l.len() as u64 + 1 > self.queue_bytes {
                err = Some(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "webhook queue is full",
                ));
                break;
            }
            buf.extend_from_slice(l.as_bytes());
            buf.push(b'\n');
            n += 1;
        }
        let before = q.len;
        if let Err(e) = q.data.write_all(&buf).and_then(|_| q.data.sync_data()) {
            let _ = q.data.set_len(before);
            return (0, Some(e));
        }
        q.len += buf.len() as u64;
        self.shared.wake.notify_all();
        (n, err)
    }

    fn close(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        if let Some(h) = self.sender.take() {
            let _ = h.join();
        }
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.close();
    }
}

fn client_for(opts: &WebhookOptions) -> io::Result<reqwest::blocking::Client> {
    let mut b = reqwest::blocking::Client::builder().timeout(opts.timeout);
    if let Some(ca) = &opts.ca {
        let pem = fs::read(ca).map_err(|e| io::Error::other(format!("{}: {e}", ca.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| io::Error::other(format!("{}: {e}", ca.display())))?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.build().map_err(io::Error::other)
}

/// Reads up to `max` whole lines from the queue's offset.
fn next_lines(q: &mut Queue, max: usize) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    if q.offset >= q.len {
        return Ok(out);
    }
    let mut f = File::open(&q.data_path)?;
    f.seek(SeekFrom::Start(q.offset))?;
    let mut r = BufReader::new(f.take(q.len - q.offset));
    while out.len() < max {
        let mut line = String::new();
        r.read_line(&mut line)?;
        if !line.ends_with('\n') {
            break;
        }
        out.push(line);
    }
    Ok(out)
}

/// Reads the line at the queue's offset, if a whole one is there.
#[cfg(test)]
fn next_line(q: &mut Queue) -> io::Result<Option<String>> {
    if q.offset >= q.len {
        return Ok(None);
    }
    let mut f = File::open(&q.data_path)?;
    f.seek(SeekFrom::Start(q.offset))?;
    let mut r = BufReader::new(f.take(q.len - q.offset));
    let mut line = String::new();
    r.read_line(&mut line)?;
    if !line.ends_with('\n') {
        return Ok(None);
    }
    Ok(Some(line))
}

fn slack_text(line: &str) -> String {
    let doc = events::Document::from_json(line).unwrap_or_default();
    let get = |p: &str| doc.first(p).map(|v| v.to_string()).unwrap_or_default();
    let mut text = format!(
        "[{}] {}",
        get("kibana.alert.severity").to_uppercase(),
        get("kibana.alert.rule.name")
    );
    let reason = get("kibana.alert.reason");
    if !reason.is_empty() {
        text.push_str(": ");
        text.push_str(&reason);
    }
    serde_json::json!({ "text": text }).to_string()
}

fn send_loop(
    opts: WebhookOptions,
    client: reqwest::blocking::Client,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
) {
    let mut delay = opts.backoff;
    loop {
        let max = match &opts.mode {
            Mode::Bulk { batch, .. } => *batch,
            _ => 1,
        };
        let lines = {
            let mut q = shared.queue.lock().expect("queue lock");
            loop {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                match next_lines(&mut q, max) {
                    Ok(l) if !l.is_empty() => break l,
                    Ok(_) => {
                        if q.offset > 0 && q.offset == q.len {
                            // Drained: start the queue file afresh.
                            if let Err(e) = q.compact() {
                                tracing::error!(sink = %opts.name, error = %e, "webhook queue compaction failed");
                            }
                        }
                        q = shared
                            .wake
                            .wait_timeout(q, Duration::from_millis(500))
                            .expect("queue lock")
                            .0;
                    }
                    Err(e) => {
                        metrics.sink_errors.add(&[&opts.name, "queue_io"], 1);
                        tracing::error!(sink = %opts.name, error = %e, "webhook queue unreadable");
                        q = shared
                            .wake
                            .wait_timeout(q, Duration::from_secs(1))
                            .expect("queue lock")
                            .0;
                    }
                }
            }
        };
        let (content_type, body) = match &opts.mode {
            Mode::Json => ("application/json", lines[0].trim_end().to_string()),
            Mode::Slack => ("application/json", slack_text(&lines[0])),
            Mode::Bulk { index, .. } => ("application/x-ndjson", bulk_body(index, &lines)),
        };
        let mut req = client
            .post(&opts.url)
            .header("content-type", content_type)
            .body(body);
        for (k, v) in &opts.headers {
            req = req.header(k, v);
        }
        let outcome = match req.send() {
            Ok(resp) if resp.status().is_success() => match &opts.mode {
                Mode::Bulk { .. } => match resp.text() {
                    Ok(text) => bulk_outcome(&text, &lines, &opts.name, &metrics),
                    Err(_) => Err("transport".to_string()),
                },
                _ => Ok(()),
            },
            Ok(resp) => {
                let s = resp.status();
                if s.is_server_error() || s.as_u16() == 429 || s.as_u16() == 408 {
                    Err(format!("http_{}", s.as_u16()))
                } else {
                    // The receiver refuses these alerts for good: do not block the queue on them.
                    metrics
                        .sink_errors
                        .add(&[&opts.name, &format!("http_{}", s.as_u16())], 1);
                    metrics
                        .alerts_dropped
                        .add(&[&opts.name, "rejected_by_receiver"], lines.len() as u64);
                    for l in &lines {
                        tracing::error!(sink = %opts.name, status = %s, alert = %l.trim_end(), "receiver refused an alert; dropped");
                    }
                    Ok(())
                }
            }
            Err(e) => {
                tracing::debug!(sink = %opts.name, error = %e, "webhook transport error");
                Err("transport".to_string())
            }
        };
        match outcome {
            Ok(()) => {
                delay = opts.backoff;
                let mut q = shared.queue.lock().expect("queue lock");
                q.offset += lines.iter().map(|l| l.len() as u64).sum::<u64>();
                let res = if q.offset >= COMPACT_BYTES && q.offset * 2 >= q.len {
                    q.compact()
                } else {
                    q.save_offset()
                };
                if let Err(e) = res {
                    metrics.sink_errors.add(&[&opts.name, "queue_io"], 1);
                    tracing::error!(sink = %opts.name, error = %e, "webhook queue offset not saved");
                }
            }
            Err(reason) => {
                metrics.sink_errors.add(&[&opts.name, &reason], 1);
                tracing::warn!(sink = %opts.name, reason = %reason, retry_in = ?delay, "delivery failed; will retry");
                let q = shared.queue.lock().expect("queue lock");
                let _ = shared
                    .wake
                    .wait_timeout_while(q, delay, |_| !shared.stop.load(Ordering::SeqCst));
                delay = (delay * 2).min(opts.max_backoff);
            }
        }
    }
}

/// An Elasticsearch `_bulk` body: a `create` action per alert, with the alert id as `_id`.
fn bulk_body(index: &str, lines: &[String]) -> String {
    let mut body = String::new();
    for l in lines {
        let action = match alert_id_of_line(l) {
            Some(id) => serde_json::json!({ "create": { "_index": index, "_id": id } }),
            None => serde_json::json!({ "create": { "_index": index } }),
        };
        body.push_str(&action.to_string());
        body.push('\n');
        body.push_str(l.trim_end());
        body.push('\n');
    }
    body
}

/// Reads a `_bulk` response: created (201/200) and already there (409, a resend) are done;
/// 429 and 5xx items make the whole batch be retried (creates are idempotent by `_id`); other
/// failures are dropped, counted and logged.
fn bulk_outcome(text: &str, lines: &[String], sink: &str, metrics: &Metrics) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| "bulk_response".to_string())?;
    if v.get("errors").and_then(|e| e.as_bool()) == Some(false) {
        return Ok(());
    }
    let items = v.get("items").and_then(|i| i.as_array()).ok_or("bulk_response")?;
    let mut retry = false;
    let mut dropped = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let op = item.as_object().and_then(|o| o.values().next());
        let status = op
            .and_then(|o| o.get("status"))
            .and_then(|s| s.as_u64())
            .unwrap_or(0);
        match status {
            200 | 201 | 409 => {}
            429 | 500..=599 => retry = true,
            _ => dropped.push((i, status, op.and_then(|o| o.get("error")).cloned())),
        }
    }
    if retry {
        return Err("bulk_item_retry".into());
    }
    for (i, status, error) in dropped {
        metrics.sink_errors.add(&[sink, &format!("bulk_{status}")], 1);
        metrics.alerts_dropped.add(&[sink, "rejected_by_receiver"], 1);
        let alert = lines.get(i).map_or("", |l| l.trim_end());
        tracing::error!(sink, status, error = ?error, alert, "Elasticsearch refused an alert; dropped");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sink_rotates_by_size_and_recovers_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let mut s = FileSink::open("f".into(), path.clone(), 200, 2).unwrap();
        for i in 0..10 {
            s.deliver(&format!(
                r#"{{"kibana.alert.uuid":"a{i}","pad":"{}"}}"#,
                "x".repeat(40)
            ))
            .unwrap();
        }
        assert!(path.exists());
        let mut p1 = path.clone().into_os_string();
        p1.push(".1");
        let mut p3 = path.clone().into_os_string();
        p3.push(".3");
        assert!(Path::new(&p1).exists());
        assert!(!Path::new(&p3).exists(), "max_files bounds the rotated files");
        let ids = s.recovered_ids();
        assert!(ids.contains(&"a9".to_string()));
        assert!(ids.len() <= 3);
    }

    #[test]
    fn file_sink_batches_split_at_the_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let mut s = FileSink::open("f".into(), path.clone(), 300, 10).unwrap();
        let lines: Vec<String> = (0..12)
            .map(|i| format!(r#"{{"kibana.alert.uuid":"b{i:02}","pad":"{}"}}"#, "x".repeat(40)))
            .collect();
        assert_eq!(s.deliver_batch(&lines).0, 12);
        let mut all = Vec::new();
        for n in (1..=10).rev() {
            let mut p = path.clone().into_os_string();
            p.push(format!(".{n}"));
            if let Ok(text) = fs::read_to_string(&p) {
                assert!(text.len() <= 300);
                all.extend(text.lines().map(String::from));
            }
        }
        all.extend(fs::read_to_string(&path).unwrap().lines().map(String::from));
        assert_eq!(all, lines, "every line once, in order, across the rotated files");
    }

    #[test]
    fn queue_compaction_is_crash_safe() {
        let dir = tempfile::tempdir().unwrap();
        let (data, off) = (dir.path().join("q.ndjson"), dir.path().join("q.offset"));
        let mut q = Queue::open(data.clone(), off.clone()).unwrap();
        q.data.write_all(b"one\ntwo\nthree\n").unwrap();
        q.len = 14;
        q.offset = 4;
        q.save_offset().unwrap();
        let q2 = Queue::open(data.clone(), off.clone()).unwrap();
        assert_eq!((q2.offset, q2.len), (4, 14));
        assert_eq!(
            next_line(&mut Queue::open(data.clone(), off.clone()).unwrap())
                .unwrap()
                .unwrap(),
            "two\n"
        );
        // a crash after the compacted file replaced the old one, before the offset was saved
        let old_offset = fs::read_to_string(&off).unwrap();
        q.compact().unwrap();
        fs::write(&off, old_offset).unwrap();
        let mut q3 = Queue::open(data.clone(), off.clone()).unwrap();
        assert_eq!((q3.offset, q3.len), (0, 10));
        assert_eq!(next_line(&mut q3).unwrap().unwrap(), "two\n");
    }

    #[test]
    fn slack_text_summarises_the_alert() {
        let t = slack_text(
            r#"{"kibana":{"alert":{"severity":"high","rule":{"name":"Pod exec"},"reason":"user x exec'd into y"}}}"#,
        );
        assert_eq!(t, r#"{"text":"[HIGH] Pod exec: user x exec'd into y"}"#);
    }
}
