//! Little-endian reading and writing of an index file, with a running CRC-32 over every byte
//! and the offset of each read (for error messages).
//!
//! Written by hand because the file is a handful of flat numeric arrays: a serialisation crate
//! would copy each array through its own representation, where here an array goes to and from
//! disk as its bytes (`bytemuck`), which is what makes a 100M-code index load in seconds.

use std::io::{Read, Write};

use bytemuck::Pod;

use super::column::Column;
use super::IndexError;

/// Bytes read per step when the length of an array is not yet backed by data: a damaged length
/// costs at most the file's size in memory, never the length it claims.
const CHUNK: usize = 1 << 20;

/// A writer that counts and checksums what passes through it.
pub(crate) struct Sink<W: Write> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Sink<W> {
    pub(crate) fn new(inner: W) -> Sink<W> {
        Sink {
            inner,
            crc: crc32fast::Hasher::new(),
        }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.crc.update(b);
        self.inner.write_all(b)
    }

    pub(crate) fn u8(&mut self, v: u8) -> std::io::Result<()> {
        self.bytes(&[v])
    }

    pub(crate) fn u32(&mut self, v: u32) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// A length-prefixed array of plain numbers.
    pub(crate) fn array<T: Pod>(&mut self, items: &[T]) -> std::io::Result<()> {
        self.u64(items.len() as u64)?;
        self.bytes(bytemuck::cast_slice(items))
    }

    /// Writes the checksum of everything so far (not itself checksummed) and flushes.
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        let crc = self.crc.clone().finalize();
        self.inner.write_all(&crc.to_le_bytes())?;
        self.inner.flush()
    }
}

/// A reader that tracks its offset and checksums what it reads.
pub(crate) struct Source<R: Read> {
    inner: R,
    crc: crc32fast::Hasher,
    offset: u64,
}

impl<R: Read> Source<R> {
    pub(crate) fn new(inner: R) -> Source<R> {
        Source {
            inner,
            crc: crc32fast::Hasher::new(),
            offset: 0,
        }
    }

    /// A corruption error at the current offset.
    pub(crate) fn corrupt(&self, reason: impl Into<String>) -> IndexError {
        IndexError::Corrupt {
            offset: self.offset,
            reason: reason.into(),
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), IndexError> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.crc.update(buf);
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Err(self.corrupt("the file ends early (truncated)"))
            }
            Err(e) => Err(IndexError::Io {
                kind: e.kind(),
                message: e.to_string(),
            }),
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, IndexError> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, IndexError> {
        let mut b = [0u8; 4];
        self.fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, IndexError> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// The length prefix of an array, which must be `expected` when given.
    fn len(&mut self, what: &str, expected: Option<usize>) -> Result<usize, IndexError> {
        let at = self.offset;
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|_| IndexError::Corrupt {
            offset: at,
            reason: format!("{what}: length {n} does not fit in memory"),
        })?;
        match expected {
            Some(e) if e != n => Err(IndexError::Corrupt {
                offset: at,
                reason: format!("{what}: {n} items where {e} were expected"),
            }),
            _ => Ok(n),
        }
    }

    /// A length-prefixed array whose length is not yet backed by anything read: it grows a
    /// chunk at a time, so a damaged length fails at the end of the file.
    pub(crate) fn vec<T: Pod>(&mut self, what: &str) -> Result<Vec<T>, IndexError> {
        let n = self.len(what, None)?;
        let size = std::mem::size_of::<T>();
        let mut out: Vec<T> = Vec::new();
        let mut left = n;
        while left > 0 {
            let step = left.min(CHUNK / size.max(1)).max(1);
            let start = out.len();
            out.resize(start + step, T::zeroed());
            self.fill(bytemuck::cast_slice_mut(&mut out[start..]))?;
            left -= step;
        }
        Ok(out)
    }

    /// A length-prefixed array of exactly `n` items (a length already backed by data read),
    /// straight into a [`Column`].
    pub(crate) fn column<T: Pod>(&mut self, what: &str, n: usize) -> Result<Column<T>, IndexError> {
        self.len(what, Some(n))?;
        let mut column = Column::zeroed(n);
        self.fill(bytemuck::cast_slice_mut(&mut column[..]))?;
        Ok(column)
    }

    /// Reads the stored checksum and compares it with the bytes read.
    pub(crate) fn finish(mut self) -> Result<(), IndexError> {
        let computed = self.crc.clone().finalize();
        let at = self.offset;
        let mut b = [0u8; 4];
        self.fill(&mut b)?;
        let stored = u32::from_le_bytes(b);
        if stored != computed {
            return Err(IndexError::Corrupt {
                offset: at,
                reason: format!(
                    "checksum {stored:08x} does not match the contents ({computed:08x})"
                ),
            });
        }
        let mut extra = [0u8; 1];
        match self.inner.read(&mut extra) {
            Ok(0) => Ok(()),
            Ok(_) => Err(IndexError::Corrupt {
                offset: at + 4,
                reason: "bytes after the checksum".into(),
            }),
            Err(e) => Err(IndexError::Io {
                kind: e.kind(),
                message: e.to_string(),
            }),
        }
    }
}
