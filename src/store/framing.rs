//! The frame every store file shares: magic bytes and a format version up front, a CRC-32 of
//! everything before it at the end of the header, and the range of versions a reader accepts.
//!
//! ```text
//! binary header (journal, snapshot):  magic [8] | version u32 LE | the kind's own fields | crc32 u32 LE
//! text header (MANIFEST):             "<magic> <version>\n" | the kind's own lines | "crc32 <8 hex>\n"
//! ```
//! In both the checksum covers every byte before it. One [`FileFormat`] per kind
//! ([`JOURNAL`], [`SNAPSHOT`], [`MANIFEST`]) names its magic and the versions this build reads,
//! `oldest..=current`; it writes `current`. Supporting a new version of a kind means bumping its
//! `current`, keeping the decoders of the older ones, and committing a fixture of the new one
//! (`tests/data/store/`).

use std::ops::RangeInclusive;
use std::path::Path;

use super::error::StoreError;

/// Size of the header's checksum (the frame's footer), in bytes.
pub(crate) const CHECKSUM_LEN: usize = 4;
/// Bytes before a binary header's own fields: magic and version.
pub(crate) const PREFIX_LEN: usize = 12;

/// One kind of store file: its magic, and the format versions this build reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileFormat {
    /// What the file is, for messages.
    pub(crate) what: &'static str,
    /// The bytes the file starts with (8 bytes for the binary kinds).
    pub(crate) magic: &'static [u8],
    /// The oldest version this build still reads.
    pub(crate) oldest: u32,
    /// The version this build writes (the newest it reads).
    pub(crate) current: u32,
}

/// Journals: version 1 records; version 2 adds group markers around multi-record appends;
/// version 3 adds the stored regions (codes and luma grids) and the video field
/// (`codec::FIELD_VIDEO`) to inserts; version 4 widens an insert's presence bits to 32, bits
/// 16 to 31 for hash kinds added later (`codec::LATER_KIND_BITS`: adding one needs no new
/// version).
pub(crate) const JOURNAL: FileFormat = FileFormat {
    what: "journal",
    magic: b"RDDJOURN",
    oldest: 1,
    current: 4,
};

/// Snapshots: version 1, the 13 sections of `snapshot::sections`; version 2 adds the region
/// and the video sections; version 3 widens the row flags to 32 bits and allows optional
/// sections after the others (hash kinds added later: adding one needs no new version).
pub(crate) const SNAPSHOT: FileFormat = FileFormat {
    what: "snapshot",
    magic: b"RDDSNAPS",
    oldest: 1,
    current: 3,
};

/// The MANIFEST: version 1, three text lines.
pub(crate) const MANIFEST: FileFormat = FileFormat {
    what: "manifest",
    magic: b"refdedup-manifest",
    oldest: 1,
    current: 1,
};

/// Why a header could not be read (the caller words it for its kind and decides what follows:
/// a journal is still scanned, a snapshot is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderDamage {
    /// Fewer bytes than the header needs.
    Truncated {
        /// Bytes present.
        len: usize,
    },
    /// The file does not start with the kind's magic.
    BadMagic,
    /// The checksum does not match the bytes before it.
    Checksum {
        /// As stored.
        stored: u32,
        /// As computed.
        computed: u32,
    },
    /// The text header is not UTF-8 or its lines are not where they belong.
    Malformed(&'static str),
}

/// A header that checks out: its version (not yet checked against the range) and its kind's
/// own fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    /// The version it declares.
    pub(crate) version: u32,
    /// The bytes between the version and the checksum (binary), or the lines between the
    /// first line and the checksum line (text).
    pub(crate) fields: &'a [u8],
}

impl FileFormat {
    /// The versions this build reads.
    pub(crate) fn versions(&self) -> RangeInclusive<u32> {
        self.oldest..=self.current
    }

    /// `version` if this build reads it, else [`StoreError::UnsupportedVersion`] for `path`.
    pub(crate) fn check_version(&self, version: u32, path: &Path) -> Result<u32, StoreError> {
        if self.versions().contains(&version) {
            Ok(version)
        } else {
            Err(StoreError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: self.current,
                oldest: self.oldest,
            })
        }
    }

    /// A binary header of the current version around `fields`.
    pub(crate) fn header(&self, fields: &[u8]) -> Vec<u8> {
        self.header_of_version(self.current, fields)
    }

    /// A binary header of `version` around `fields` (older versions: fixtures and tests).
    pub(crate) fn header_of_version(&self, version: u32, fields: &[u8]) -> Vec<u8> {
        let mut h = Vec::with_capacity(PREFIX_LEN + fields.len() + CHECKSUM_LEN);
        h.extend_from_slice(self.magic);
        h.extend_from_slice(&version.to_le_bytes());
        h.extend_from_slice(fields);
        let crc = crc32fast::hash(&h);
        h.extend_from_slice(&crc.to_le_bytes());
        h
    }

    /// The size of a binary header whose own fields take `fields_len` bytes.
    pub(crate) const fn header_len(fields_len: usize) -> usize {
        PREFIX_LEN + fields_len + CHECKSUM_LEN
    }

    /// Reads the binary header at the start of `bytes` whose own fields take `fields_len`
    /// bytes. The magic is checked before the checksum.
    pub(crate) fn read_header<'a>(
        &self,
        bytes: &'a [u8],
        fields_len: usize,
    ) -> Result<Header<'a>, HeaderDamage> {
        let len = Self::header_len(fields_len);
        if bytes.len() < len {
            return Err(HeaderDamage::Truncated { len: bytes.len() });
        }
        if !bytes.starts_with(self.magic) {
            return Err(HeaderDamage::BadMagic);
        }
        let body = &bytes[..len - CHECKSUM_LEN];
        let stored = le_u32(&bytes[len - CHECKSUM_LEN..len]);
        let computed = crc32fast::hash(body);
        if stored != computed {
            return Err(HeaderDamage::Checksum { stored, computed });
        }
        Ok(Header {
            version: le_u32(&bytes[8..PREFIX_LEN]),
            fields: &bytes[PREFIX_LEN..len - CHECKSUM_LEN],
        })
    }

    /// A text file of the current version: its first line, `body` (whole lines), and the
    /// checksum line.
    pub(crate) fn seal_text(&self, body: &str) -> String {
        let mut text = format!("{} {}\n", String::from_utf8_lossy(self.magic), self.current);
        text.push_str(body);
        let crc = crc32fast::hash(text.as_bytes());
        text.push_str(&format!("crc32 {crc:08x}\n"));
        text
    }

    /// Reads a text file: checks the checksum line against everything before it, then the
    /// first line's magic, and returns the version and the lines in between.
    pub(crate) fn open_text<'a>(&self, bytes: &'a [u8]) -> Result<Header<'a>, HeaderDamage> {
        let text = std::str::from_utf8(bytes).map_err(|_| HeaderDamage::Malformed("not UTF-8"))?;
        let crc_at = text
            .rfind("crc32 ")
            .ok_or(HeaderDamage::Malformed("no checksum line"))?;
        let (sealed, crc_line) = text.split_at(crc_at);
        let stored = crc_line
            .strip_prefix("crc32 ")
            .and_then(|s| s.strip_suffix('\n'))
            .filter(|s| s.len() == 8)
            .and_then(|s| u32::from_str_radix(s, 16).ok())
            .ok_or(HeaderDamage::Malformed("bad checksum line"))?;
        let computed = crc32fast::hash(sealed.as_bytes());
        if stored != computed {
            return Err(HeaderDamage::Checksum { stored, computed });
        }
        let (first, rest) = sealed
            .split_once('\n')
            .ok_or(HeaderDamage::Malformed("bad first line"))?;
        let version = first
            .strip_prefix(std::str::from_utf8(self.magic).unwrap_or_default())
            .and_then(|v| v.strip_prefix(' '))
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or(HeaderDamage::Malformed("bad first line"))?;
        Ok(Header {
            version,
            fields: rest.as_bytes(),
        })
    }
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_headers_round_trip_and_every_flip_is_caught() {
        let h = JOURNAL.header(&[7; 12]);
        assert_eq!(h.len(), FileFormat::header_len(12));
        let read = JOURNAL.read_header(&h, 12).unwrap();
        assert_eq!(read.version, JOURNAL.current);
        assert_eq!(read.fields, &[7; 12]);
        for i in 0..h.len() {
            let mut b = h.clone();
            b[i] ^= 0x10;
            let e = JOURNAL.read_header(&b, 12).unwrap_err();
            if i < 8 {
                assert_eq!(e, HeaderDamage::BadMagic);
            } else {
                assert!(matches!(e, HeaderDamage::Checksum { .. }), "{i}: {e:?}");
            }
            assert_eq!(
                JOURNAL.read_header(&h[..i], 12),
                Err(HeaderDamage::Truncated { len: i })
            );
        }
        assert_eq!(SNAPSHOT.read_header(&h, 12), Err(HeaderDamage::BadMagic));
    }

    #[test]
    fn text_headers_round_trip_and_every_flip_is_caught() {
        let t = MANIFEST.seal_text("journal 3\n");
        assert!(t.starts_with("refdedup-manifest 1\njournal 3\ncrc32 "));
        let read = MANIFEST.open_text(t.as_bytes()).unwrap();
        assert_eq!((read.version, read.fields), (1, &b"journal 3\n"[..]));
        for i in 0..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] ^= 0x01;
            assert!(MANIFEST.open_text(&b).is_err(), "flip at {i}");
            assert!(
                MANIFEST.open_text(&t.as_bytes()[..i]).is_err(),
                "cut at {i}"
            );
        }
    }

    #[test]
    fn versions_outside_the_range_are_typed_errors() {
        let p = Path::new("j");
        for v in JOURNAL.versions() {
            assert_eq!(JOURNAL.check_version(v, p).unwrap(), v);
        }
        for v in [0, JOURNAL.current + 1] {
            let e = JOURNAL.check_version(v, p).unwrap_err();
            assert!(matches!(
                e,
                StoreError::UnsupportedVersion { found, supported: 4, oldest: 1, .. } if found == v
            ));
            assert!(e.to_string().contains("reads versions 1 to 4"), "{e}");
        }
    }
}
