//! Cutting a byte stream into records: one JSON document per line (JSON Lines), plus
//! pretty-printed documents spread over several lines.
//!
//! Lines are read as bytes with a length limit: a longer line is not buffered, its bytes are
//! skipped up to the next newline and it is reported. A line that is not complete JSON on its
//! own but opens an object or array (`{` alone, as pretty printers write) starts a multi-line
//! record; continuation lines must be indented or start with a closing bracket, so a truncated
//! JSON line followed by a normal one is reported alone and the next line is read normally.

use std::io::{self, BufRead};

use memchr::memchr;

/// What one call to [`Framer::next`] produced.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A record starting at `line` (1-based); its bytes are in [`Framer::record`].
    Record {
        line: u64,
    },
    /// A bad record starting at `line`.
    Error {
        line: u64,
        reason: String,
    },
    /// A read error (e.g. truncated gzip); the stream cannot continue.
    Fatal {
        line: u64,
        reason: String,
    },
    Eof,
}

enum LineRead {
    Line,
    TooLong(u64),
    Eof,
}

/// Where the current record's bytes are.
#[derive(Clone, Copy)]
enum Held {
    /// `data[start..end]`: a line as it was read (the usual case, no copy).
    Data(usize, usize),
    /// [`Framer::record`]: assembled or copied.
    Record,
}

/// Bytes read at a time: small for the first reads of an input (many inputs are small files),
/// doubling up to the most; the buffer grows beyond it only for a line longer than it.
const FIRST_READ: usize = 64 << 10;
const MOST_READ: usize = 1 << 20;

pub(crate) struct Framer {
    reader: Box<dyn BufRead + Send>,
    max: usize,
    line_no: u64,
    /// Bytes read from `reader`: `data[pos..filled]` are not consumed yet.
    data: Vec<u8>,
    pos: usize,
    filled: usize,
    eof: bool,
    read_size: usize,
    /// The last line read: `data[line.0..line.1]`, without its newline.
    line: (usize, usize),
    /// A record that is not one line as read (several lines, or a line a BOM was cut from).
    record: Vec<u8>,
    held: Held,
    /// A line read while assembling a multi-line record that belongs to the next record.
    pushback: Option<(u64, Vec<u8>)>,
    gzip: bool,
    done: bool,
}

impl Framer {
    pub(crate) fn new(reader: Box<dyn BufRead + Send>, max: usize, gzip: bool) -> Self {
        Framer {
            reader,
            max,
            line_no: 0,
            data: Vec::new(),
            pos: 0,
            filled: 0,
            eof: false,
            read_size: FIRST_READ,
            line: (0, 0),
            record: Vec::new(),
            held: Held::Record,
            pushback: None,
            gzip,
            done: false,
        }
    }

    /// The bytes of the record [`Framer::next`] returned last.
    pub(crate) fn record(&self) -> &[u8] {
        match self.held {
            Held::Data(start, end) => &self.data[start..end],
            Held::Record => &self.record,
        }
    }

    fn read_error(&self, e: io::Error) -> String {
        if self.gzip {
            format!("gzip stream truncated or corrupt: {e}")
        } else {
            format!("read error: {e}")
        }
    }

    /// Reads one line (without the newline) into `self.line`, at most `max` bytes: the bytes
    /// of a longer line are dropped as they come.
    fn read_line(&mut self) -> Result<LineRead, io::Error> {
        // Unread bytes already searched for a newline, and bytes of an over-long line dropped.
        let mut scanned = self.pos;
        let mut dropped: u64 = 0;
        loop {
            if let Some(i) = memchr(b'\n', &self.data[scanned..self.filled]) {
                let (start, end) = (self.pos, scanned + i);
                self.pos = end + 1;
                return Ok(self.line_at(start, end, dropped));
            }
            if self.eof {
                if self.pos == self.filled && dropped == 0 {
                    return Ok(LineRead::Eof);
                }
                let (start, end) = (self.pos, self.filled);
                self.pos = self.filled;
                return Ok(self.line_at(start, end, dropped));
            }
            if self.filled - self.pos > self.max {
                dropped += (self.filled - self.pos) as u64;
                self.pos = self.filled;
            }
            // Keep the unfinished line at the front and read after it.
            self.data.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
            scanned = self.filled;
            if self.data.len() - self.filled < self.read_size / 2 {
                self.data.resize(self.filled + self.read_size, 0);
            }
            self.read_size = (self.read_size * 2).min(MOST_READ);
            let n = loop {
                match self.reader.read(&mut self.data[self.filled..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.filled += n;
        }
    }

    /// A line found at `data[start..end]`, after `dropped` bytes of it were dropped.
    fn line_at(&mut self, start: usize, end: usize, dropped: u64) -> LineRead {
        let len = (end - start) as u64 + dropped;
        if len > self.max as u64 {
            return LineRead::TooLong(len);
        }
        self.line = (start, end);
        LineRead::Line
    }

    /// The next record or error.
    pub(crate) fn next(&mut self) -> Frame {
        loop {
            if self.done {
                return Frame::Eof;
            }
            let (line, pushed) = match self.pushback.take() {
                Some((line, bytes)) => (line, Some(bytes)),
                None => match self.read_line() {
                    Ok(LineRead::Eof) => {
                        self.done = true;
                        return Frame::Eof;
                    }
                    Ok(LineRead::TooLong(n)) => {
                        self.line_no += 1;
                        return Frame::Error {
                            line: self.line_no,
                            reason: format!("line of {n} bytes exceeds the limit of {} bytes", self.max),
                        };
                    }
                    Ok(LineRead::Line) => {
                        self.line_no += 1;
                        (self.line_no, None)
                    }
                    Err(e) => {
                        self.done = true;
                        return Frame::Fatal {
                            line: self.line_no + 1,
                            reason: self.read_error(e),
                        };
                    }
                },
            };
            let bytes: &[u8] = match &pushed {
                Some(b) => b,
                None => &self.data[self.line.0..self.line.1],
            };
            // The record inside the line: a UTF-8 byte order mark at the start of an input is
            // not part of it, nor is surrounding whitespace.
            let body = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
                Some(rest) if line == 1 => rest,
                _ => bytes,
            };
            let trimmed = body.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            // Where the record starts in the line, and ends.
            let a = bytes.len() - body.trim_ascii_start().len();
            let b = a + trimmed.len();
            // A complete JSON line ends with its closing bracket: no need to scan it.
            let closed = matches!(trimmed[trimmed.len() - 1], b'}' | b']');
            let depth = if closed { 0 } else { open_depth(trimmed) };
            let complete = depth <= 0 || !matches!(trimmed[0], b'{' | b'[');
            if complete && pushed.is_none() {
                // The line is the record (the usual case): handed out where it was read.
                self.held = Held::Data(self.line.0 + a, self.line.0 + b);
                return Frame::Record { line };
            }
            self.record.clear();
            self.record.extend_from_slice(trimmed);
            self.held = Held::Record;
            if complete {
                return Frame::Record { line };
            }
            // An unfinished document: assemble the following lines.
            return self.assemble(line, depth);
        }
    }

    fn assemble(&mut self, start: u64, mut depth: i64) -> Frame {
        let mut too_long = false;
        loop {
            match self.read_line() {
                Ok(LineRead::Eof) => {
                    self.done = true;
                    return Frame::Error {
                        line: start,
                        reason: "incomplete JSON document: input ends before it is closed".to_string(),
                    };
                }
                Ok(LineRead::TooLong(_)) => {
                    self.line_no += 1;
                    too_long = true;
                    continue;
                }
                Ok(LineRead::Line) => self.line_no += 1,
                Err(e) => {
                    self.done = true;
                    return Frame::Fatal {
                        line: self.line_no + 1,
                        reason: self.read_error(e),
                    };
                }
            }
            let line = &self.data[self.line.0..self.line.1];
            let continues = line.is_empty() || matches!(line[0], b' ' | b'\t' | b'\r' | b'}' | b']');
            if !continues {
                self.pushback = Some((self.line_no, line.to_vec()));
                return Frame::Error {
                    line: start,
                    reason: "incomplete JSON: the record is not closed before the next record".to_string(),
                };
            }
            depth += open_depth(line);
            if !too_long {
                if self.record.len() + line.len() + 1 > self.max {
                    too_long = true;
                    self.record.clear();
                } else {
                    self.record.push(b'\n');
                    self.record.extend_from_slice(line);
                }
            }
            if depth <= 0 {
                if too_long {
                    return Frame::Error {
                        line: start,
                        reason: format!("multi-line JSON document exceeds the limit of {} bytes", self.max),
                    };
                }
                return Frame::Record { line: start };
            }
        }
    }
}

/// The bracket depth a line leaves open (string-aware): `{` alone gives 1.
fn open_depth(line: &[u8]) -> i64 {
    let mut depth = 0i64;
    let mut in_str = false;
    let mut escaped = false;
    for &b in line {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            _ => {}
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(text: &str, max: usize) -> Vec<String> {
        let mut f = Framer::new(Box::new(io::Cursor::new(text.as_bytes().to_vec())), max, false);
        let mut out = Vec::new();
        loop {
            match f.next() {
                Frame::Record { line } => out.push(format!("{line}:{}", String::from_utf8_lossy(f.record()))),
                Frame::Error { line, reason } => out.push(format!("{line}!{reason}")),
                Frame::Fatal { line, reason } => out.push(format!("{line}!!{reason}")),
                Frame::Eof => return out,
            }
        }
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert_eq!(
            frames("\u{feff}{\"a\":1}\n{\"b\":2}\n", 100),
            vec!["1:{\"a\":1}", "2:{\"b\":2}"]
        );
    }

    #[test]
    fn json_lines_and_blank_lines() {
        assert_eq!(
            frames("{\"a\":1}\r\n\n  \n{\"b\":2}", 100),
            vec!["1:{\"a\":1}", "4:{\"b\":2}"]
        );
    }

    #[test]
    fn pretty_printed_documents_are_one_record() {
        let text = "{\n  \"a\": {\n    \"b\": \"}{\"\n  }\n}\n{\"c\":1}\n";
        let got = frames(text, 100);
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with("1:{\n  \"a\""), "{got:?}");
        assert_eq!(got[1], "6:{\"c\":1}");
    }

    #[test]
    fn truncated_line_does_not_swallow_the_next() {
        let got = frames("{\"a\":{\"b\":1\n{\"c\":1}\n", 100);
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with("1!incomplete JSON"), "{got:?}");
        assert_eq!(got[1], "2:{\"c\":1}");
    }

    /// A reader that hands out at most `step` bytes per read, to cut lines at every place.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl io::Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn lines_across_reads_and_buffer_growth_come_out_whole() {
        // Lines from empty to several times the first read size, some over the limit, read in
        // pieces of every size class; the last line has no newline.
        let max = 300_000;
        let lens = [
            0usize, 1, 7, 100, 65_535, 65_536, 70_000, 1, 299_999, 300_000, 300_001, 5, 1_000_000, 3, 200_000,
        ];
        let mut text = Vec::new();
        let mut want = Vec::new();
        for (i, &len) in lens.iter().enumerate() {
            let body: Vec<u8> = (0..len).map(|k| b'a' + ((i + k) % 26) as u8).collect();
            let line = i as u64 + 1;
            if len == 0 {
                // blank: no record
            } else if len > max {
                want.push(format!(
                    "{line}!line of {len} bytes exceeds the limit of {max} bytes"
                ));
            } else {
                want.push(format!("{line}:{}", String::from_utf8_lossy(&body)));
            }
            text.extend_from_slice(&body);
            if i + 1 < lens.len() {
                text.push(b'\n');
            }
        }
        for step in [1 << 20, 65_536, 4097, 13] {
            let reader = io::BufReader::with_capacity(
                1024,
                Trickle {
                    data: text.clone(),
                    at: 0,
                    step,
                },
            );
            let mut f = Framer::new(Box::new(reader), max, false);
            let mut got = Vec::new();
            loop {
                match f.next() {
                    Frame::Record { line } => {
                        got.push(format!("{line}:{}", String::from_utf8_lossy(f.record())))
                    }
                    Frame::Error { line, reason } => got.push(format!("{line}!{reason}")),
                    Frame::Fatal { line, reason } => got.push(format!("{line}!!{reason}")),
                    Frame::Eof => break,
                }
            }
            assert_eq!(got.len(), want.len(), "step {step}");
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    g == w,
                    "step {step}: {} != {}",
                    &g[..g.len().min(60)],
                    &w[..w.len().min(60)]
                );
            }
        }
    }

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let long = "x".repeat(1000);
        let got = frames(&format!("{{\"a\":1}}\n{long}\n{{\"b\":1}}\n"), 100);
        assert_eq!(got[0], "1:{\"a\":1}");
        assert_eq!(got[1], "2!line of 1000 bytes exceeds the limit of 100 bytes");
        assert_eq!(got[2], "3:{\"b\":1}");
    }
}
