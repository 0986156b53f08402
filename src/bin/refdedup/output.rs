//! Writing results: JSON lines on standard output, with write failures kept apart from read
//! failures (a closed pipe ends a command quietly; see [`CliError::exit`]).

use std::io::{self, Write};

use crate::error::CliError;

/// Writes one JSON value as a line on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    // An I/O failure inside serde_json converts back to the original `io::Error`.
    serde_json::to_writer(&mut out, value).map_err(|e| CliError::stdout(e.into()))?;
    out.write_all(b"\n").map_err(CliError::stdout)
}

/// A writer that remembers the kind of its first failed write, for code that reports a failure
/// without saying which side failed (a reader-to-writer loop returning one `io::Error`, or a
/// library error that keeps only the text).
pub(crate) struct Tracked<W> {
    inner: W,
    failed: Option<io::ErrorKind>,
}

impl<W: Write> Tracked<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Tracked {
            inner,
            failed: None,
        }
    }

    /// The kind of the first write or flush that failed, if any.
    pub fn failed(&self) -> Option<io::ErrorKind> {
        self.failed
    }

    fn note<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failed.get_or_insert(e.kind());
            }
        }
        result
    }
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let result = self.inner.write_all(buf);
        self.note(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn remembers_the_first_failed_write() {
        let mut ok = Tracked::new(Vec::new());
        ok.write_all(b"line\n").unwrap();
        assert_eq!(ok.failed(), None);
        let mut closed = Tracked::new(Closed);
        // What a library might report: only the text of the error.
        let reported = closed.write_all(b"line\n").map_err(|e| e.to_string());
        assert!(reported.is_err());
        assert_eq!(closed.failed(), Some(io::ErrorKind::BrokenPipe));
    }
}
