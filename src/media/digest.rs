//! Cryptographic digests of raw media bytes: BLAKE3 (the crate's primary exact key), SHA-256 and
//! MD5 (for interop with shared hash lists), all three computed in one pass over the input.
//!
//! ```
//! use referral_dedup::media::{digest_bytes, digest_reader};
//! let d = digest_bytes(b"abc");
//! assert_eq!(d.md5.to_string(), "900150983cd24fb0d6963f7d28e17f72");
//! let (same, len) = digest_reader(&b"abc"[..]).unwrap();
//! assert_eq!((same, len), (d, 3));
//! ```

use std::io::Read;
use std::path::Path;

use md5::Digest as _;
use serde::{Deserialize, Serialize};

use crate::hashes::{Blake3, Md5, Sha256};

use super::MediaError;

/// The three cryptographic digests of one byte string.
///
/// ```
/// use referral_dedup::media::digest_bytes;
/// let d = digest_bytes(b"");
/// assert_eq!(d.sha256.to_string(),
///            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Digests {
    /// BLAKE3-256.
    pub blake3: Blake3,
    /// SHA-256.
    pub sha256: Sha256,
    /// MD5.
    pub md5: Md5,
}

/// Incremental state of the three digests.
#[derive(Clone, Default)]
struct DigestState {
    blake3: blake3::Hasher,
    sha256: sha2::Sha256,
    md5: md5::Md5,
}

impl DigestState {
    fn update(&mut self, chunk: &[u8]) {
        self.blake3.update(chunk);
        self.sha256.update(chunk);
        self.md5.update(chunk);
    }

    fn finish(self) -> Digests {
        Digests {
            blake3: Blake3(*self.blake3.finalize().as_bytes()),
            sha256: Sha256(self.sha256.finalize().into()),
            md5: Md5(self.md5.finalize().into()),
        }
    }
}

/// Chunk size for streaming: large enough for BLAKE3's wide SIMD path, small enough to stay in
/// L2 cache while the three digests each read it.
const CHUNK: usize = 64 * 1024;

/// BLAKE3, SHA-256 and MD5 of `bytes`, in one pass (chunk by chunk, each chunk hot in cache for
/// all three).
///
/// ```
/// use referral_dedup::media::digest_bytes;
/// assert_eq!(digest_bytes(b"abc").blake3.to_string(),
///            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
/// ```
pub fn digest_bytes(bytes: &[u8]) -> Digests {
    let mut state = DigestState::default();
    for chunk in bytes.chunks(CHUNK) {
        state.update(chunk);
    }
    state.finish()
}

/// Digests everything `r` yields, returning the digests and the number of bytes read.
///
/// # Errors
/// [`MediaError::Io`] if reading fails (interrupted reads are retried).
///
/// ```
/// use referral_dedup::media::{digest_bytes, digest_reader};
/// # fn main() -> Result<(), referral_dedup::media::MediaError> {
/// let data = vec![7u8; 200_000];
/// let (d, n) = digest_reader(std::io::Cursor::new(&data))?;
/// assert_eq!((d, n), (digest_bytes(&data), 200_000));
/// # Ok(()) }
/// ```
pub fn digest_reader(mut r: impl Read) -> Result<(Digests, u64), MediaError> {
    let mut state = DigestState::default();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(MediaError::Io(e)),
        };
        state.update(&buf[..n]);
        total += n as u64;
    }
    Ok((state.finish(), total))
}

/// Digests a file with buffered reads (measured against a memory map in `benches/media.rs`:
/// no faster on page-cached files, and it needs no `unsafe`; see `BENCHMARKS.md`).
///
/// # Errors
/// [`MediaError::Io`] if the file cannot be opened or read, or is not a regular file
/// ([`open_regular_file`](super::open_regular_file)); [`MediaError::TooLarge`] beyond
/// [`MAX_MEDIA_FILE_BYTES`](super::MAX_MEDIA_FILE_BYTES).
///
/// ```
/// use referral_dedup::media::{digest_bytes, digest_file};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.bin");
/// std::fs::write(&path, b"hello")?;
/// assert_eq!(digest_file(&path)?, (digest_bytes(b"hello"), 5));
/// # Ok(()) }
/// ```
pub fn digest_file(path: &Path) -> Result<(Digests, u64), MediaError> {
    let file = super::open_regular_file(path)?;
    let len = file.metadata()?.len();
    let limit = super::MAX_MEDIA_FILE_BYTES;
    if len > limit {
        return Err(MediaError::TooLarge {
            what: "file bytes",
            value: len,
            limit,
        });
    }
    // In case it grows while it is read.
    digest_reader(file.take(limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let d = digest_bytes(b"The quick brown fox jumps over the lazy dog");
        assert_eq!(d.md5.to_string(), "9e107d9d372bb6826bd81d3542a419d6");
        assert_eq!(
            d.sha256.to_string(),
            "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"
        );
        let empty = digest_bytes(b"");
        assert_eq!(
            empty.blake3.to_string(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn chunking_does_not_change_the_digest() {
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i * 31 % 251) as u8).collect();
        let whole = digest_bytes(&data);
        // A reader that returns odd-sized pieces.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(1000 + self.0.len() % 7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (streamed, n) = digest_reader(Trickle(&data)).unwrap();
        assert_eq!((streamed, n), (whole, data.len() as u64));
        assert_eq!(whole.blake3.0, *blake3::hash(&data).as_bytes());
    }
}
