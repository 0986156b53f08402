//! `DIR/MANIFEST`: which snapshot is current and which journal replay starts from.
//!
//! A few lines of text with a checksum, replaced atomically (temp file, fsync, rename, directory
//! fsync), so it always names a complete snapshot:
//! ```text
//! refdedup-manifest 1
//! snapshot snapshot-000003.bin      (or "snapshot -" before the first snapshot)
//! journal 3
//! crc32 1a2b3c4d                    (of the lines above, newlines included)
//! ```

use std::path::Path;

use super::{Corruption, StoreError};

/// The manifest file name.
pub(crate) const MANIFEST_NAME: &str = "MANIFEST";
/// Manifest format version written by this build.
pub(crate) const MANIFEST_VERSION: u32 = 1;
/// A manifest is a few dozen bytes; anything over this is not one (bounds the read).
pub(crate) const MANIFEST_MAX_LEN: u64 = 4096;

/// The parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// File name (in the store directory) of the current snapshot.
    pub(crate) snapshot: Option<String>,
    /// The first journal to replay on top of the snapshot.
    pub(crate) first_journal: u64,
}

impl Manifest {
    pub(crate) fn encode(&self) -> String {
        let mut body = format!("refdedup-manifest {MANIFEST_VERSION}\n");
        body.push_str(&format!(
            "snapshot {}\n",
            self.snapshot.as_deref().unwrap_or("-")
        ));
        body.push_str(&format!("journal {}\n", self.first_journal));
        let crc = crc32fast::hash(body.as_bytes());
        body.push_str(&format!("crc32 {crc:08x}\n"));
        body
    }

    pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<Manifest, StoreError> {
        let corrupt = |offset: usize, reason: &str| {
            StoreError::Corruption(Corruption {
                path: path.to_path_buf(),
                offset: offset as u64,
                reason: format!("manifest: {reason}"),
            })
        };
        let text = std::str::from_utf8(bytes).map_err(|_| corrupt(0, "not UTF-8"))?;
        let crc_at = text
            .rfind("crc32 ")
            .ok_or_else(|| corrupt(0, "no checksum line"))?;
        let (body, crc_line) = text.split_at(crc_at);
        let stored = crc_line
            .strip_prefix("crc32 ")
            .and_then(|s| s.strip_suffix('\n'))
            .and_then(|s| u32::from_str_radix(s, 16).ok())
            .ok_or_else(|| corrupt(crc_at, "bad checksum line"))?;
        if crc32fast::hash(body.as_bytes()) != stored {
            return Err(corrupt(crc_at, "checksum mismatch"));
        }
        let mut lines = body.lines();
        let version = lines
            .next()
            .and_then(|l| l.strip_prefix("refdedup-manifest "))
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or_else(|| corrupt(0, "bad first line"))?;
        if version != MANIFEST_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: MANIFEST_VERSION,
            });
        }
        let snapshot = match lines.next().and_then(|l| l.strip_prefix("snapshot ")) {
            Some("-") => None,
            Some(name) if super::snapshot::parse_snapshot_file_name(name).is_some() => {
                Some(name.to_owned())
            }
            _ => return Err(corrupt(0, "bad snapshot line")),
        };
        let first_journal = lines
            .next()
            .and_then(|l| l.strip_prefix("journal "))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| corrupt(0, "bad journal line"))?;
        if lines.next().is_some() {
            return Err(corrupt(0, "unexpected extra lines"));
        }
        Ok(Manifest {
            snapshot,
            first_journal,
        })
    }

    /// Replaces `DIR/MANIFEST` atomically and durably.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), StoreError> {
        super::directory::atomic_write(dir, MANIFEST_NAME, self.encode().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_every_single_byte_change() {
        let m = Manifest {
            snapshot: Some("snapshot-000004.bin".into()),
            first_journal: 4,
        };
        let text = m.encode();
        let p = Path::new("MANIFEST");
        assert_eq!(Manifest::decode(text.as_bytes(), p).unwrap(), m);
        let empty = Manifest {
            snapshot: None,
            first_journal: 1,
        };
        assert_eq!(
            Manifest::decode(empty.encode().as_bytes(), p).unwrap(),
            empty
        );
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.to_vec();
            b[i] ^= 0x01;
            assert!(Manifest::decode(&b, p).is_err(), "flip at {i} accepted");
            assert!(Manifest::decode(&bytes[..i], p).is_err(), "cut at {i}");
        }
    }
}
