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

use super::error::{Corruption, StoreError};
use super::files::{atomic_write, parse_snapshot_file_name, MANIFEST_NAME};
use super::framing::{HeaderDamage, MANIFEST};

/// MANIFEST format version written by this build.
pub const MANIFEST_VERSION: u32 = MANIFEST.current;
/// The oldest MANIFEST format version this build reads: every version in
/// `MIN_MANIFEST_VERSION..=MANIFEST_VERSION` opens.
///
/// ```
/// use referral_dedup::store::{MANIFEST_VERSION, MIN_MANIFEST_VERSION};
/// assert!(MIN_MANIFEST_VERSION <= MANIFEST_VERSION);
/// ```
pub const MIN_MANIFEST_VERSION: u32 = MANIFEST.oldest;
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
    /// The file's text in the current version.
    pub(crate) fn encode(&self) -> String {
        MANIFEST.seal_text(&format!(
            "snapshot {}\njournal {}\n",
            self.snapshot.as_deref().unwrap_or("-"),
            self.first_journal
        ))
    }

    /// Reads a manifest of any version this build reads; `path` is only used in errors.
    pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<Manifest, StoreError> {
        let corrupt = |offset: usize, reason: &str| {
            StoreError::Corruption(Corruption {
                path: path.to_path_buf(),
                offset: offset as u64,
                reason: format!("manifest: {reason}"),
            })
        };
        let header = MANIFEST.open_text(bytes).map_err(|damage| match damage {
            HeaderDamage::Checksum { .. } => corrupt(
                String::from_utf8_lossy(bytes).rfind("crc32 ").unwrap_or(0),
                "checksum mismatch",
            ),
            HeaderDamage::Malformed(what) => corrupt(0, what),
            HeaderDamage::BadMagic | HeaderDamage::Truncated { .. } => corrupt(0, "bad first line"),
        })?;
        MANIFEST.check_version(header.version, path)?;
        // Version 1 (the only one so far): "snapshot NAME|-" and "journal N".
        let body = std::str::from_utf8(header.fields).map_err(|_| corrupt(0, "not UTF-8"))?;
        let mut lines = body.lines();
        let snapshot = match lines.next().and_then(|l| l.strip_prefix("snapshot ")) {
            Some("-") => None,
            Some(name) if parse_snapshot_file_name(name).is_some() => Some(name.to_owned()),
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
        Ok(atomic_write(dir, MANIFEST_NAME, self.encode().as_bytes())?)
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
