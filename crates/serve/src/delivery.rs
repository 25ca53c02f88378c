//! [`DeliveryLog`]: the persisted set of alert ids (`kibana.alert.uuid`) one sink has taken,
//! so that alerts raised again while the write-ahead log is replayed are not delivered twice.
//!
//! File `<dir>/<sink>.log`, one `<delivered_at_nanos> <id>` line per delivery, appended and
//! fsynced after the sink took the alert. A torn last line (crash mid-write) is ignored.
//! [`DeliveryLog::trim`] forgets ids delivered before the oldest record still in the WAL (no
//! replay can raise them again) and rewrites the file atomically.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct DeliveryLog {
    path: PathBuf,
    file: File,
    ids: HashMap<String, i64>,
    lines_in_file: usize,
}

impl DeliveryLog {
    pub fn open(dir: &Path, sink: &str) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let path = dir.join(format!("{sink}.log"));
        let mut ids = HashMap::new();
        let mut lines_in_file = 0;
        let mut valid_len = 0usize;
        if let Ok(text) = fs::read(&path) {
            let mut pos = 0;
            while let Some(nl) = text[pos..].iter().position(|&b| b == b'\n') {
                let line = &text[pos..pos + nl];
                pos += nl + 1;
                let Some((t, id)) = std::str::from_utf8(line).ok().and_then(|l| l.split_once(' ')) else {
                    continue;
                };
                if let Ok(t) = t.parse::<i64>() {
                    ids.insert(id.to_string(), t);
                    lines_in_file += 1;
                }
                valid_len = pos;
            }
            if valid_len < text.len() {
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(valid_len as u64)?;
                f.sync_all()?;
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(DeliveryLog {
            path,
            file,
            ids,
            lines_in_file,
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Records a delivery durably.
    pub fn record(&mut self, id: &str, at: i64) -> io::Result<()> {
        if id.contains(['\n', ' ']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "alert id with white space",
            ));
        }
        self.file.write_all(format!("{at} {id}\n").as_bytes())?;
        self.file.sync_data()?;
        self.ids.insert(id.to_string(), at);
        self.lines_in_file += 1;
        Ok(())
    }

    /// Records several deliveries with one fsync.
    pub fn record_many(&mut self, ids: &[&str], at: i64) -> io::Result<()> {
        let mut text = String::new();
        for id in ids {
            if id.contains(['\n', ' ']) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "alert id with white space",
                ));
            }
            text.push_str(&format!("{at} {id}\n"));
        }
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()?;
        for id in ids {
            self.ids.insert(id.to_string(), at);
        }
        self.lines_in_file += ids.len();
        Ok(())
    }

    /// Adds ids known delivered by other means (found in the sink's own output) and persists
    /// them.
    pub fn adopt(&mut self, ids: impl IntoIterator<Item = String>, at: i64) -> io::Result<usize> {
        let mut n = 0;
        for id in ids {
            if !self.contains(&id) && !id.contains(['\n', ' ']) {
                self.file.write_all(format!("{at} {id}\n").as_bytes())?;
                self.ids.insert(id, at);
                self.lines_in_file += 1;
                n += 1;
            }
        }
        self.file.sync_data()?;
        Ok(n)
    }

    /// Forgets ids delivered before `cutoff`; rewrites the file when it has become mostly stale.
    pub fn trim(&mut self, cutoff: i64) -> io::Result<usize> {
        let before = self.ids.len();
        self.ids.retain(|_, t| *t >= cutoff);
        let removed = before - self.ids.len();
        if self.lines_in_file > 1024 && self.lines_in_file > 2 * self.ids.len() {
            let tmp = self.path.with_extension("log.tmp");
            let mut f = File::create(&tmp)?;
            let mut text = String::new();
            for (id, t) in &self.ids {
                text.push_str(&format!("{t} {id}\n"));
            }
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent() {
                File::open(dir)?.sync_all()?;
            }
            self.file = OpenOptions::new().append(true).open(&self.path)?;
            self.lines_in_file = self.ids.len();
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_trims_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = DeliveryLog::open(dir.path(), "file-0").unwrap();
        log.record("id-0", 1).unwrap();
        assert_eq!(log.adopt((1..1500).map(|i| format!("id-{i}")), 1).unwrap(), 1499);
        assert_eq!(
            log.adopt((1500..2000).map(|i| format!("id-{i}")), 5).unwrap(),
            500
        );
        drop(log);
        // a torn write at the end
        let path = dir.path().join("file-0.log");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"2001 id-tor").unwrap();
        drop(f);
        let mut log = DeliveryLog::open(dir.path(), "file-0").unwrap();
        assert_eq!(log.len(), 2000);
        assert!(log.contains("id-0") && log.contains("id-1999") && !log.contains("id-tor"));
        assert_eq!(log.trim(3).unwrap(), 1500);
        assert!(!log.contains("id-0") && log.contains("id-1500"));
        log.record("id-new", 10).unwrap();
        drop(log);
        let log = DeliveryLog::open(dir.path(), "file-0").unwrap();
        assert_eq!(
            log.len(),
            501,
            "compacted file keeps the live ids and later appends"
        );
        assert!(log.contains("id-new"));
    }
}
