//! Reading a newline-delimited file line by line into a reused buffer, the way an engine would:
//! large reads, `memchr` for the line ends, no allocation per line.

use std::io::Read;
use std::path::Path;

/// Size of each read from the file.
const CHUNK: usize = 8 << 20;

/// Calls `f` on every line of `path` (without its `\n` and an optional `\r`; blank lines skipped)
/// and returns the number of bytes read.
pub fn for_each_line(path: &Path, mut f: impl FnMut(&[u8])) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut buf: Vec<u8> = vec![0; CHUNK];
    // buf[..filled] holds unread data; buf[..start] is already consumed.
    let mut filled = 0usize;
    let mut total = 0u64;
    loop {
        if filled == buf.len() {
            // A line longer than the buffer: grow it.
            buf.resize(buf.len() * 2, 0);
        }
        let n = file.read(&mut buf[filled..])?;
        total += n as u64;
        let eof = n == 0;
        filled += n;
        let mut start = 0usize;
        while let Some(pos) = memchr::memchr(b'\n', &buf[start..filled]) {
            emit(&buf[start..start + pos], &mut f);
            start += pos + 1;
        }
        if eof {
            if start < filled {
                emit(&buf[start..filled], &mut f);
            }
            return Ok(total);
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
}

fn emit(line: &[u8], f: &mut impl FnMut(&[u8])) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if !line.iter().all(u8::is_ascii_whitespace) {
        f(line);
    }
}

#[cfg(test)]
mod tests {
    use super::for_each_line;
    use std::io::Write;

    #[test]
    fn splits_lines_and_skips_blank_ones() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let text = b"{\"a\":1}\n\n{\"b\":2}\r\n  \n{\"c\":3}";
        tmp.write_all(text).unwrap();
        let mut got = Vec::new();
        let n = for_each_line(tmp.path(), |l| got.push(String::from_utf8(l.to_vec()).unwrap())).unwrap();
        assert_eq!(got, ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
        assert_eq!(n, text.len() as u64);
    }

    #[test]
    fn lines_across_chunk_boundaries_stay_whole() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let line = format!("{{\"k\":\"{}\"}}\n", "x".repeat(1000));
        let count = (super::CHUNK / line.len()) * 2 + 7;
        for _ in 0..count {
            tmp.write_all(line.as_bytes()).unwrap();
        }
        let mut seen = 0usize;
        for_each_line(tmp.path(), |l| {
            assert_eq!(l.len(), line.len() - 1);
            seen += 1;
        })
        .unwrap();
        assert_eq!(seen, count);
    }
}
