//! `refdedup url-key [--rules FILE] [FILE]`: one URL per input line in, one JSON object per
//! line out.
//!
//! Input is read in bounded pieces (`BufRead::fill_buf`): a line longer than
//! [`MAX_INPUT_LEN`] is answered with a `too long` error line and skipped without being held in
//! memory, so even `/dev/zero` keeps memory flat. A leading UTF-8 byte order mark is skipped;
//! a line that is not valid UTF-8 is an error line (its bytes are never replaced and keyed).
//! Lines are keyed in parallel batches and written in input order, with the JSON written by
//! hand into one buffer per chunk of lines; reading and writing overlap keying.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use referral_dedup::url::{
    HostRules, KeyOptions, RulesError, UrlError, UrlKeyer, MAX_INPUT_LEN, MAX_RULES_LEN,
};

use crate::output::Tracked;
use crate::CliError;

/// Lines handled per batch: keyed in parallel, then written in order; memory stays bounded.
const BATCH_LINES: usize = 65_536;
/// Input bytes per batch: a batch is also flushed once it holds this much (long lines).
const BATCH_BYTES: usize = 16 << 20;
/// An output buffer grown past this is given back after its batch instead of kept for reuse.
const KEEP_OUT_CAPACITY: usize = 4 << 20;
/// Lines per parallel work item (one output buffer each).
const CHUNK_LINES: usize = 2_048;
/// Below this many lines in a batch, keying runs on the calling thread.
const PARALLEL_MIN: usize = 512;
/// Bytes of an over-long line echoed in its error line.
const ECHO_LONG: usize = 256;
/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One input line of a batch.
enum Line {
    /// The line's bytes are `data[start..end]` (newline and a final `\r` removed).
    Whole { start: usize, end: usize },
    /// The line was longer than the keyer accepts: its first bytes and its full length.
    TooLong {
        start: usize,
        end: usize,
        len: usize,
    },
}

/// Lines read but not yet keyed, and the output buffers (one per chunk of lines), kept
/// from batch to batch so that rendering does not allocate and fault in fresh pages each time.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    lines: Vec<Line>,
    outs: Vec<Vec<u8>>,
    /// How many of `outs` hold keyed lines not yet written.
    chunks: usize,
}

/// Reads and checks a host rules file (`url-key --rules`, `--url-rules` of `check`, `match`
/// and `dedup`).
///
/// # Errors
/// [`CliError::Input`] when the file cannot be read; [`CliError::Rules`] (line and reason)
/// when it is larger than [`MAX_RULES_LEN`], not UTF-8, malformed, or would merge a built-in
/// trap pair.
pub(crate) fn load_rules(path: &Path) -> Result<HostRules, CliError> {
    let refused = |line: usize, reason: String| CliError::Rules {
        path: path.to_path_buf(),
        source: RulesError { line, reason },
    };
    let input_error = |source| CliError::Input {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(input_error)?
        .take(MAX_RULES_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(input_error)?;
    if bytes.len() > MAX_RULES_LEN {
        return Err(refused(0, format!("larger than {MAX_RULES_LEN} bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        refused(line, "not valid UTF-8".to_owned())
    })?;
    HostRules::parse(&text).map_err(|source| CliError::Rules {
        path: path.to_path_buf(),
        source,
    })
}

/// Runs the command on `file` (stdin when `None`), writing to stdout.
///
/// # Errors
/// A rules file that is unreadable or refused, an input that cannot be opened or read, or
/// stdout that cannot be written (told apart, so a closed pipe ends the command quietly).
pub fn run(file: Option<&Path>, rules: Option<&Path>) -> Result<(), CliError> {
    let keyer = match rules {
        Some(p) => KeyOptions::default().host_rules(load_rules(p)?).build(),
        None => UrlKeyer::new(),
    };
    let input_name = file.map_or_else(|| PathBuf::from("standard input"), Path::to_path_buf);
    let reader: Box<dyn Read> = match file {
        Some(p) => Box::new(File::open(p).map_err(|source| CliError::Input {
            path: p.to_path_buf(),
            source,
        })?),
        None => Box::new(io::stdin().lock()),
    };
    let mut stdout = Tracked::new(io::stdout().lock());
    key_lines(
        &keyer,
        BufReader::with_capacity(1 << 20, reader),
        &mut stdout,
    )
    .map_err(|source| match stdout.failed() {
        Some(_) => CliError::stdout(source),
        None => CliError::Input {
            path: input_name,
            source,
        },
    })
}

/// Keys every line of `input` into `output`.
///
/// Two batches alternate: while the thread pool keys one (in parallel chunks), this thread
/// writes the output of the batch before and reads the next one into that batch's buffers, so
/// reading and writing overlap keying. Output stays in input order; memory stays bounded by two
/// batches.
pub fn key_lines(keyer: &UrlKeyer, input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let mut reader = LineReader {
        input,
        first_line: true,
        done: false,
    };
    let mut current = Batch::default();
    // The batch keyed last, waiting to be written; its input buffers are free.
    let mut previous = Batch::default();
    reader.read_batch(&mut current)?;
    while !current.lines.is_empty() {
        let mut written = Ok(());
        let mut read = Ok(());
        rayon::in_place_scope(|scope| {
            let keying = &mut current;
            scope.spawn(move |_| render_batch(keyer, keying));
            written = write_batch(&mut previous, &mut output);
            if written.is_ok() {
                read = reader.read_batch(&mut previous);
            }
        });
        written?;
        if let Err(e) = read {
            // Lines read before the failure are keyed and written, as they would have been
            // had the failure come a batch later.
            write_batch(&mut current, &mut output)?;
            return Err(e);
        }
        std::mem::swap(&mut current, &mut previous);
    }
    write_batch(&mut previous, &mut output)?;
    output.flush()
}

/// Splits the input into lines, one batch at a time.
struct LineReader<R> {
    input: R,
    /// No line has ended yet (the first line may start with a BOM).
    first_line: bool,
    /// The end of the input was reached.
    done: bool,
}

impl<R: BufRead> LineReader<R> {
    /// Empties `batch` and fills it with the next lines: until it holds [`BATCH_LINES`] lines
    /// or [`BATCH_BYTES`] bytes, or the input ends. Input past the last line taken stays in
    /// the reader's buffer.
    fn read_batch(&mut self, batch: &mut Batch) -> io::Result<()> {
        batch.data.clear();
        batch.lines.clear();
        // The current line: where it starts in `batch.data` and its full length so far.
        let mut line_start = 0usize;
        let mut line_len = 0usize;
        while !self.done {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if line_len > 0 {
                    end_line(batch, line_start, line_len, self.first_line);
                }
                self.done = true;
                break;
            }
            let n = buf.len();
            let mut at = 0;
            while at < n {
                let nl = memchr::memchr(b'\n', &buf[at..]);
                let piece_end = nl.map_or(n, |i| at + i);
                let piece = &buf[at..piece_end];
                // Keep at most MAX_INPUT_LEN + 1 bytes of a line (room for a final `\r`).
                let room = (MAX_INPUT_LEN + 1).saturating_sub(line_len);
                batch
                    .data
                    .extend_from_slice(&piece[..piece.len().min(room)]);
                line_len += piece.len();
                at = piece_end;
                if nl.is_some() {
                    at += 1;
                    end_line(batch, line_start, line_len, self.first_line);
                    self.first_line = false;
                    line_start = batch.data.len();
                    line_len = 0;
                    if batch.lines.len() >= BATCH_LINES || batch.data.len() >= BATCH_BYTES {
                        self.input.consume(at);
                        return Ok(());
                    }
                }
            }
            self.input.consume(n);
        }
        Ok(())
    }
}

/// Records the line that starts at `start` in the batch (its bytes are already there).
fn end_line(batch: &mut Batch, start: usize, len: usize, first: bool) {
    let mut s = start;
    let kept_end = batch.data.len();
    if first && batch.data[s..kept_end].starts_with(BOM) {
        s += BOM.len();
    }
    let full = len - (s - start);
    if len > MAX_INPUT_LEN + 1 || (len == MAX_INPUT_LEN + 1 && batch.data[kept_end - 1] != b'\r') {
        let echo_end = (s + ECHO_LONG).min(kept_end);
        batch.lines.push(Line::TooLong {
            start: s,
            end: echo_end,
            len: full,
        });
        // The over-long tail is not needed: keep only the echoed prefix.
        batch.data.truncate(echo_end);
        return;
    }
    let mut end = kept_end;
    if end > s && batch.data[end - 1] == b'\r' {
        end -= 1;
    }
    batch.lines.push(Line::Whole { start: s, end });
}

/// Keys the batch's lines into its output buffers, in parallel chunks.
fn render_batch(keyer: &UrlKeyer, batch: &mut Batch) {
    let Batch {
        data,
        lines,
        outs,
        chunks,
    } = batch;
    if lines.is_empty() {
        *chunks = 0;
        return;
    }
    let chunk_lines = if lines.len() >= PARALLEL_MIN {
        CHUNK_LINES
    } else {
        lines.len()
    };
    *chunks = lines.len().div_ceil(chunk_lines);
    if outs.len() < *chunks {
        outs.resize_with(*chunks, Vec::new);
    }
    let render_chunk = |(out, chunk): (&mut Vec<u8>, &[Line])| {
        out.clear();
        out.reserve(chunk.len() * 200);
        for l in chunk {
            render(keyer, data, l, out);
        }
    };
    if *chunks > 1 {
        outs[..*chunks]
            .par_iter_mut()
            .zip(lines.par_chunks(chunk_lines))
            .for_each(render_chunk);
    } else {
        render_chunk((&mut outs[0], &lines[..]));
    }
}

/// Writes the output of the batch's keyed lines, once.
fn write_batch(batch: &mut Batch, output: &mut impl Write) -> io::Result<()> {
    let chunks = std::mem::take(&mut batch.chunks);
    for out in &mut batch.outs[..chunks] {
        output.write_all(out)?;
        if out.capacity() > KEEP_OUT_CAPACITY {
            *out = Vec::new();
        }
    }
    Ok(())
}

/// Appends the output line for one input line.
fn render(keyer: &UrlKeyer, data: &[u8], line: &Line, out: &mut Vec<u8>) {
    match *line {
        Line::Whole { start, end } => {
            let bytes = &data[start..end];
            match std::str::from_utf8(bytes) {
                Ok(input) => match keyer.key(input) {
                    Ok(k) => {
                        out.extend_from_slice(b"{\"input\":");
                        push_json_str(out, input);
                        out.extend_from_slice(b",\"key\":");
                        push_json_str(out, &k.key);
                        out.extend_from_slice(b",\"canonical\":");
                        push_json_str(out, &k.canonical);
                        out.extend_from_slice(b",\"platform\":");
                        match k.platform {
                            Some(p) => push_json_str(out, p.as_str()),
                            None => out.extend_from_slice(b"null"),
                        }
                        out.extend_from_slice(b",\"rules\":[");
                        for (i, r) in k.rules.iter().enumerate() {
                            if i > 0 {
                                out.push(b',');
                            }
                            let (name, arg) = r.parts();
                            out.push(b'"');
                            push_json_body(out, name);
                            if let Some(a) = arg {
                                out.push(b':');
                                push_json_body(out, a);
                            }
                            out.push(b'"');
                        }
                        out.extend_from_slice(b"]}\n");
                    }
                    Err(e) => error_line(out, input, &e.to_string()),
                },
                Err(e) => error_line(
                    out,
                    &String::from_utf8_lossy(bytes),
                    &format!(
                        "invalid UTF-8 at byte {}: URLs are keyed only from valid UTF-8",
                        e.valid_up_to()
                    ),
                ),
            }
        }
        Line::TooLong { start, end, len } => {
            let prefix = String::from_utf8_lossy(&data[start..end]);
            let mut echo = prefix.into_owned();
            echo.push('…');
            error_line(out, &echo, &UrlError::TooLong { len }.to_string());
        }
    }
}

fn error_line(out: &mut Vec<u8>, input: &str, error: &str) {
    out.extend_from_slice(b"{\"input\":");
    push_json_str(out, input);
    out.extend_from_slice(b",\"error\":");
    push_json_str(out, error);
    out.extend_from_slice(b"}\n");
}

/// Appends `s` as a JSON string (escaping as serde_json does).
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_json_body(out, s);
    out.push(b'"');
}

/// Whether `b` holds a byte JSON escapes (`"`, `\` or a control character). No early exit:
/// nearly every string needs no escape. (Checking blocks of 16 bytes or 64-bit words measured
/// no fewer instructions per URL than this fold.)
fn needs_escape(b: &[u8]) -> bool {
    b.iter().fold(false, |acc, &c| {
        acc | (c < 0x20) | (c == b'"') | (c == b'\\')
    })
}

fn push_json_body(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if !needs_escape(b) {
        out.extend_from_slice(b);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut from = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&b[from..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 15)]);
        } else {
            out.extend_from_slice(esc);
        }
        from = i + 1;
    }
    out.extend_from_slice(&b[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(input: &[u8]) -> String {
        let mut out = Vec::new();
        key_lines(&UrlKeyer::new(), input, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_strings_escape_like_serde_json() {
        for s in [
            "plain",
            "a\"b\\c",
            "tab\there\nline\u{1}\u{1f}",
            "é ü \u{7f}",
            "https://example.com/a-path-longer-than-one-block\"",
            "https://example.com/0123456789\\/0123456789abcdef",
            "0123456789abcdef0123456789abcdef\u{1f}",
            "0123456789abcdef\n0123456789abcdef",
            "0123456789abcdef0123456789abcdef",
        ] {
            let mut out = Vec::new();
            push_json_str(&mut out, s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
    }

    #[test]
    fn escape_check_finds_every_escaped_byte_anywhere() {
        let naive = |b: &[u8]| b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
        for len in 1..=24 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    // Neighbours that stress borrows between bytes: 0x00-free, high, 0x20, 0x21.
                    for fill in [b'a', 0x80, 0xff, 0x20, 0x21] {
                        let mut b = vec![fill; len];
                        b[at] = byte;
                        assert_eq!(needs_escape(&b), naive(&b), "{b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn batches_and_parallel_chunks_keep_input_order() {
        // More lines than one batch, so buffers are reused across batches and chunks.
        let n = BATCH_LINES + 3 * CHUNK_LINES + 7;
        let mut input = String::new();
        for i in 0..n {
            match i % 3 {
                0 => input.push_str(&format!("https://x.com/a/status/{i}\n")),
                1 => input.push_str(&format!("example.com/p?q=\"{i}\"\n")),
                _ => input.push_str(&format!("ftp://bad/{i}\n")),
            }
        }
        let out = run_on(input.as_bytes());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), n);
        let keyer = UrlKeyer::new();
        for (i, (line, inp)) in lines.iter().zip(input.lines()).enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["input"], inp, "line {i}");
            let k = keyer.key(inp);
            match k {
                Ok(k) => {
                    assert_eq!(v["key"], k.key, "line {i}");
                    assert_eq!(v["canonical"], k.canonical, "line {i}");
                }
                Err(e) => assert_eq!(v["error"], e.to_string(), "line {i}"),
            }
        }
    }

    /// Input that yields `data`, then fails.
    struct FailsAfter {
        data: Vec<u8>,
        at: usize,
    }

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.data.len() - self.at).min(1000);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_writes_the_lines_read_before_it() {
        let n = 2 * BATCH_LINES + 100;
        let data: String = (0..n).map(|i| format!("x.com/a/status/{i}\n")).collect();
        let mut out = Vec::new();
        let input = BufReader::new(FailsAfter {
            data: data.into_bytes(),
            at: 0,
        });
        let err = key_lines(&UrlKeyer::new(), input, &mut out).unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
        let out = String::from_utf8(out).unwrap();
        // Every complete batch was written, in order; the partial one was not.
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2 * BATCH_LINES);
        for (i, l) in lines.iter().enumerate() {
            assert!(l.contains(&format!(r#""key":"x:{i}""#)), "{i}: {l}");
        }
    }

    /// Output that accepts `room` bytes, then reports a closed pipe; counts write calls.
    struct ClosesAfter {
        room: usize,
        written: usize,
        failures: usize,
    }

    impl Write for ClosesAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.written >= self.room {
                self.failures += 1;
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room - self.written);
            self.written += n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Input of `remaining` lines, counting how much of it was read.
    struct Endless {
        remaining: usize,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            const LINE: &[u8] = b"https://example.com/a?b=1\n";
            let mut n = 0;
            while self.remaining > 0 && buf.len() - n >= LINE.len() {
                buf[n..n + LINE.len()].copy_from_slice(LINE);
                n += LINE.len();
                self.remaining -= 1;
            }
            Ok(n)
        }
    }

    #[test]
    fn a_closed_output_stops_reading_and_keying() {
        let total = 20 * BATCH_LINES;
        let mut input = BufReader::new(Endless { remaining: total });
        let mut out = ClosesAfter {
            room: 1000,
            written: 0,
            failures: 0,
        };
        let err = key_lines(&UrlKeyer::new(), &mut input, &mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(out.failures, 1);
        // At most the batch being keyed and the one read while writing failed were read.
        let read = total - input.get_ref().remaining;
        assert!(read <= 3 * BATCH_LINES, "{read} lines read");
    }

    #[test]
    fn output_lines_are_json_whatever_the_input_holds() {
        let inputs = [
            "https://example.com/a\"b",
            "https://example.com/a\\b?c=\\\"",
            "https://example.com/\u{1}\u{1f}\u{7f}",
            "https://example.com/a\tb",
            "https://bücher.example/é?q=ü#ß",
            "\"quoted\"",
            "\\",
            "https://example.com/\u{2028}\u{fffd}",
        ];
        let out = run_on(inputs.join("\n").as_bytes());
        let keyer = UrlKeyer::new();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), inputs.len());
        for (line, input) in lines.iter().zip(inputs) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["input"], input);
            match keyer.key(input) {
                Ok(k) => {
                    assert_eq!(v["key"], k.key);
                    assert_eq!(v["canonical"], k.canonical);
                    // The whole line, field order included, is what serde would write.
                    #[derive(serde::Serialize)]
                    struct Expected<'a> {
                        input: &'a str,
                        key: &'a str,
                        canonical: &'a str,
                        platform: Option<referral_dedup::url::Platform>,
                        rules: &'a referral_dedup::url::Rules,
                    }
                    let expected = Expected {
                        input,
                        key: &k.key,
                        canonical: &k.canonical,
                        platform: k.platform,
                        rules: &k.rules,
                    };
                    assert_eq!(*line, serde_json::to_string(&expected).unwrap());
                }
                Err(e) => assert_eq!(v["error"], e.to_string()),
            }
        }
    }

    #[test]
    fn lines_split_across_reads_and_crlf() {
        let out = run_on(b"https://x.com/a/status/1\r\nhttps://x.com/a/status/2");
        let keys: Vec<&str> = out.lines().collect();
        assert_eq!(keys.len(), 2);
        assert!(keys[0].contains(r#""key":"x:1""#));
        assert!(keys[1].contains(r#""key":"x:2""#));
    }
}
