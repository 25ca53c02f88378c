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

pub(crate) struct Framer {
    reader: Box<dyn BufRead + Send>,
    max: usize,
    line_no: u64,
    buf: Vec<u8>,
    /// The current record (a line, or several for a multi-line document).
    pub(crate) record: Vec<u8>,
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
            buf: Vec::with_capacity(64 * 1024),
            record: Vec::with_capacity(64 * 1024),
            pushback: None,
            gzip,
            done: false,
        }
    }

    fn read_error(&self, e: io::Error) -> String {
        if self.gzip {
            format!("gzip stream truncated or corrupt: {e}")
        } else {
            format!("read error: {e}")
        }
    }

    /// Reads one line into `self.buf` (without the newline), at most `max` bytes.
    fn read_line(&mut self) -> Result<LineRead, io::Error> {
        self.buf.clear();
        let mut total: u64 = 0;
        let mut overflow = false;
        let mut any = false;
        loop {
            let avail = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                return Ok(if !any {
                    LineRead::Eof
                } else if overflow {
                    LineRead::TooLong(total)
                } else {
                    LineRead::Line
                });
            }
            any = true;
            let (chunk, consumed, end) = match memchr(b'\n', avail) {
                Some(i) => (&avail[..i], i + 1, true),
                None => (avail, avail.len(), false),
            };
            total += chunk.len() as u64;
            if !overflow {
                if self.buf.len() + chunk.len() > self.max {
                    overflow = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.reader.consume(consumed);
            if end {
                return Ok(if overflow {
                    LineRead::TooLong(total)
                } else {
                    LineRead::Line
                });
            }
        }
    }

    /// The next record or error.
    pub(crate) fn next(&mut self) -> Frame {
        loop {
            if self.done {
                return Frame::Eof;
            }
            let (line, first) = match self.pushback.take() {
                Some((line, bytes)) => (line, bytes),
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
                        (self.line_no, std::mem::take(&mut self.buf))
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
            // A UTF-8 byte order mark at the start of an input is not part of the record.
            let first_bytes: &[u8] = if line == 1 {
                first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&first)
            } else {
                &first
            };
            let trimmed = first_bytes.trim_ascii();
            if trimmed.is_empty() {
                self.buf = first;
                continue;
            }
            // A complete JSON line ends with its closing bracket: no need to scan it.
            let closed = matches!(trimmed[trimmed.len() - 1], b'}' | b']');
            let depth = if closed { 0 } else { open_depth(trimmed) };
            if depth <= 0 || !matches!(trimmed[0], b'{' | b'[') {
                if trimmed.len() == first.len() {
                    // The line is the record as it is (the usual case): hand the buffer over
                    // instead of copying it, and read the next line into the old record's.
                    let mut old = std::mem::replace(&mut self.record, first);
                    old.clear();
                    self.buf = old;
                } else {
                    self.record.clear();
                    self.record.extend_from_slice(trimmed);
                    self.buf = first;
                }
                return Frame::Record { line };
            }
            // An unfinished document: assemble the following lines.
            self.record.clear();
            self.record.extend_from_slice(trimmed);
            self.buf = first;
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
            let line = &self.buf;
            let continues = line.is_empty() || matches!(line[0], b' ' | b'\t' | b'\r' | b'}' | b']');
            if !continues {
                self.pushback = Some((self.line_no, std::mem::take(&mut self.buf)));
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
                Frame::Record { line } => out.push(format!("{line}:{}", String::from_utf8_lossy(&f.record))),
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

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let long = "x".repeat(1000);
        let got = frames(&format!("{{\"a\":1}}\n{long}\n{{\"b\":1}}\n"), 100);
        assert_eq!(got[0], "1:{\"a\":1}");
        assert_eq!(got[1], "2!line of 1000 bytes exceeds the limit of 100 bytes");
        assert_eq!(got[2], "3:{\"b\":1}");
    }
}
