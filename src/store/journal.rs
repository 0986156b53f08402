//! The append-only journal: one file per generation, `journal-NNNNNN.log`.
//!
//! ```text
//! file header (28 bytes): magic "RDDJOURN", format version u32, journal number u64,
//!                         reserved u32 (0), crc32 of the preceding 24 bytes u32
//! record frame:           payload length u32, crc32 of (length bytes ++ payload) u32, payload
//! ```
//! The payload is the [`codec`](super::codec) encoding of one [`Record`]. All integers are
//! little-endian. A frame whose length exceeds [`MAX_RECORD_LEN`] or the bytes that remain, whose
//! checksum does not match, or whose payload does not decode ends the valid part of the journal:
//! the scan stops there and reports the offset and reason (a torn tail after a crash, or damage).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::codec::{decode_record, encode_record, put_u32, put_u64, ByteReader};
use super::record::Record;
use super::{Corruption, StoreError};

/// Magic bytes opening every journal file.
pub(crate) const JOURNAL_MAGIC: [u8; 8] = *b"RDDJOURN";
/// Journal format version written by this build (framing + record codec version 1).
pub const JOURNAL_VERSION: u32 = 1;
/// Size of the journal file header in bytes.
pub(crate) const JOURNAL_HEADER_LEN: usize = 28;
/// Size of a record frame header (length + checksum) in bytes.
pub(crate) const FRAME_HEADER_LEN: usize = 8;
/// The largest record payload the journal writes or reads (16 MiB). A length field above it is
/// corruption, so a damaged length can never make replay allocate more than this.
pub const MAX_RECORD_LEN: usize = 16 << 20;

/// The file name of journal number `n`.
pub(crate) fn journal_file_name(n: u64) -> String {
    format!("journal-{n:06}.log")
}

/// The journal number in a file name, if it is a journal file name.
pub(crate) fn parse_journal_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("journal-")?.strip_suffix(".log")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The 28-byte header of journal number `number`.
pub(crate) fn journal_header(number: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(JOURNAL_HEADER_LEN);
    h.extend_from_slice(&JOURNAL_MAGIC);
    put_u32(&mut h, JOURNAL_VERSION);
    put_u64(&mut h, number);
    put_u32(&mut h, 0);
    let crc = crc32fast::hash(&h);
    put_u32(&mut h, crc);
    h
}

/// Appends the frame of `record` to `out`.
pub(crate) fn encode_frame(record: &Record, out: &mut Vec<u8>) -> Result<(), StoreError> {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    let too_large = |len: usize| StoreError::RecordTooLarge {
        len,
        max: MAX_RECORD_LEN,
    };
    if let Err(len) = encode_record(record, out) {
        out.truncate(start);
        return Err(too_large(len));
    }
    let len = out.len() - start - FRAME_HEADER_LEN;
    if len > MAX_RECORD_LEN {
        out.truncate(start);
        return Err(too_large(len));
    }
    let len_bytes = (len as u32).to_le_bytes();
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len_bytes);
    hasher.update(&out[start + FRAME_HEADER_LEN..]);
    out[start..start + 4].copy_from_slice(&len_bytes);
    out[start + 4..start + 8].copy_from_slice(&hasher.finalize().to_le_bytes());
    Ok(())
}

/// The bytes of a whole journal file holding `records`: header and one frame per record.
///
/// This is the in-memory twin of what [`Store::append`](super::Store::append) writes, used to
/// build fixtures and to run the same tests against encoded bytes and real files.
///
/// ```
/// use referral_dedup::hashes::EntryId;
/// use referral_dedup::store::{encode_journal, scan_journal, Record};
/// # fn main() -> Result<(), referral_dedup::store::StoreError> {
/// let bytes = encode_journal(1, &[Record::Delete(EntryId(4))])?;
/// let scan = scan_journal(&bytes, "journal-000001.log".as_ref(), Some(1))?;
/// assert_eq!(scan.records, vec![Record::Delete(EntryId(4))]);
/// assert!(scan.torn.is_none());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`StoreError::RecordTooLarge`] if a record exceeds [`MAX_RECORD_LEN`].
pub fn encode_journal(number: u64, records: &[Record]) -> Result<Vec<u8>, StoreError> {
    let mut out = journal_header(number);
    for r in records {
        encode_frame(r, &mut out)?;
    }
    Ok(out)
}

/// What a journal scan found: the valid records, where the valid part ends, and why it ended
/// early if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalScan {
    /// The records of the valid prefix, in order.
    pub records: Vec<Record>,
    /// Length in bytes of the valid prefix (header included); appends continue here.
    pub valid_len: u64,
    /// The first torn or corrupt record (or torn header), if the file does not end cleanly.
    pub torn: Option<Corruption>,
}

/// Reads a journal file's bytes: checks the header, then decodes frames until the end or the
/// first torn or corrupt frame, which is reported in [`JournalScan::torn`] (never a panic, never
/// an allocation larger than the input).
///
/// A header shorter than 28 bytes is reported as torn at offset 0 (a crash while the file was
/// being created). A complete header that is wrong (magic, checksum, journal number) is an error:
/// the file is not a journal this store wrote. `expected_number` is checked when given.
///
/// ```
/// use referral_dedup::store::{encode_journal, scan_journal, Record};
/// # fn main() -> Result<(), referral_dedup::store::StoreError> {
/// let rec = Record::Resolve { short_key: "t.co/a".into(), target: "https://x.org/".into() };
/// let mut bytes = encode_journal(1, &[rec.clone(), rec.clone()])?;
/// bytes.truncate(bytes.len() - 3); // a torn tail
/// let scan = scan_journal(&bytes, "j".as_ref(), None)?;
/// assert_eq!(scan.records, vec![rec]);
/// assert!(scan.torn.is_some());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`StoreError::Corruption`] for a complete but invalid header,
/// [`StoreError::UnsupportedVersion`] for a journal written by a newer format.
pub fn scan_journal(
    bytes: &[u8],
    path: &Path,
    expected_number: Option<u64>,
) -> Result<JournalScan, StoreError> {
    let mut records = Vec::new();
    let end = scan_journal_with(bytes, path, expected_number, |r| records.push(r))?;
    Ok(JournalScan {
        records,
        valid_len: end.valid_len,
        torn: end.torn,
    })
}

/// Where a journal scan stopped.
pub(crate) struct ScanEnd {
    pub(crate) valid_len: u64,
    pub(crate) torn: Option<Corruption>,
}

/// [`scan_journal`] handing each record to `apply` instead of collecting them.
pub(crate) fn scan_journal_with(
    bytes: &[u8],
    path: &Path,
    expected_number: Option<u64>,
    mut apply: impl FnMut(Record),
) -> Result<ScanEnd, StoreError> {
    let corrupt = |offset: usize, reason: String| Corruption {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason,
    };
    if bytes.len() < JOURNAL_HEADER_LEN {
        return Ok(ScanEnd {
            valid_len: 0,
            torn: Some(corrupt(
                0,
                format!(
                    "journal header is torn: {} of {JOURNAL_HEADER_LEN} bytes",
                    bytes.len()
                ),
            )),
        });
    }
    check_header(&bytes[..JOURNAL_HEADER_LEN], path, expected_number)?;
    let mut pos = JOURNAL_HEADER_LEN;
    let torn = loop {
        let rest = &bytes[pos..];
        if rest.is_empty() {
            break None;
        }
        if rest.len() < FRAME_HEADER_LEN {
            break Some(corrupt(
                pos,
                format!("frame header is torn: {} of 8 bytes", rest.len()),
            ));
        }
        let mut r = ByteReader::new(rest);
        let (len, crc) = match (r.u32(), r.u32()) {
            (Ok(len), Ok(crc)) => (len as usize, crc),
            _ => break Some(corrupt(pos, "frame header unreadable".into())),
        };
        if len > MAX_RECORD_LEN {
            break Some(corrupt(
                pos,
                format!("record length {len} exceeds the limit {MAX_RECORD_LEN}"),
            ));
        }
        if len > r.remaining() {
            break Some(corrupt(
                pos,
                format!(
                    "record of {len} bytes is torn: {} bytes remain",
                    r.remaining()
                ),
            ));
        }
        let payload = &rest[FRAME_HEADER_LEN..FRAME_HEADER_LEN + len];
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&rest[..4]);
        hasher.update(payload);
        let actual = hasher.finalize();
        if actual != crc {
            break Some(corrupt(
                pos,
                format!("record checksum mismatch: stored {crc:08x}, computed {actual:08x}"),
            ));
        }
        match decode_record(payload) {
            Ok(record) => apply(record),
            Err(reason) => break Some(corrupt(pos, format!("record does not decode: {reason}"))),
        }
        pos += FRAME_HEADER_LEN + len;
    };
    let valid_len = match &torn {
        Some(c) => c.offset,
        None => bytes.len() as u64,
    };
    Ok(ScanEnd { valid_len, torn })
}

fn check_header(h: &[u8], path: &Path, expected_number: Option<u64>) -> Result<(), StoreError> {
    let corrupt = |offset: u64, reason: String| {
        StoreError::Corruption(Corruption {
            path: path.to_path_buf(),
            offset,
            reason,
        })
    };
    if h[..8] != JOURNAL_MAGIC {
        return Err(corrupt(0, "not a journal file: bad magic".into()));
    }
    let mut r = ByteReader::new(&h[8..]);
    let parsed = (|| Ok::<_, String>((r.u32()?, r.u64()?, r.u32()?, r.u32()?)))();
    let (version, number, _reserved, crc) =
        parsed.map_err(|e| corrupt(8, format!("journal header: {e}")))?;
    let actual = crc32fast::hash(&h[..24]);
    if actual != crc {
        return Err(corrupt(
            24,
            format!("journal header checksum mismatch: stored {crc:08x}, computed {actual:08x}"),
        ));
    }
    if version != JOURNAL_VERSION {
        return Err(StoreError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: JOURNAL_VERSION,
        });
    }
    if let Some(expected) = expected_number {
        if number != expected {
            return Err(corrupt(
                12,
                format!("journal header says number {number}, file name says {expected}"),
            ));
        }
    }
    Ok(())
}

/// The open journal being appended to. Only the store's single writer touches it.
pub(crate) struct JournalWriter {
    /// Shared so a group-commit fsync can run without the writer lock.
    file: Arc<File>,
    path: PathBuf,
    number: u64,
    /// Bytes known to be in the file (the valid prefix).
    len: u64,
    /// Reusable frame buffer.
    buf: Vec<u8>,
}

impl JournalWriter {
    /// Creates journal `number` in `dir` with its header, and makes the header durable
    /// (file and directory fsynced) whatever the fsync policy.
    pub(crate) fn create(dir: &Path, number: u64) -> Result<JournalWriter, StoreError> {
        let path = dir.join(journal_file_name(number));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)?;
        let header = journal_header(number);
        file.write_all(&header)?;
        file.sync_all()?;
        super::directory::sync_dir(dir)?;
        Ok(JournalWriter {
            file: Arc::new(file),
            path,
            number,
            len: header.len() as u64,
            buf: Vec::new(),
        })
    }

    /// Opens an existing journal whose valid prefix is `valid_len` bytes, cutting off anything
    /// after it (a torn tail) so new appends follow the last good record.
    pub(crate) fn reopen(path: PathBuf, number: u64, valid_len: u64) -> Result<Self, StoreError> {
        let file = OpenOptions::new().write(true).open(&path)?;
        let on_disk = file.metadata()?.len();
        if on_disk != valid_len {
            file.set_len(valid_len)?;
            file.sync_all()?;
        }
        let mut w = JournalWriter {
            file: Arc::new(file),
            path,
            number,
            len: valid_len,
            buf: Vec::new(),
        };
        w.seek_to_end()?;
        Ok(w)
    }

    fn seek_to_end(&mut self) -> Result<(), StoreError> {
        use std::io::{Seek, SeekFrom};
        (&*self.file).seek(SeekFrom::Start(self.len))?;
        Ok(())
    }

    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the frames of `records` in one `write` (not yet fsynced). On a failed write the
    /// file is cut back to its previous length so no partial frame stays in front of later
    /// appends; if even that fails the error says so and the caller poisons the writer.
    pub(crate) fn write_records(&mut self, records: &[Record]) -> Result<(), StoreError> {
        self.buf.clear();
        for r in records {
            encode_frame(r, &mut self.buf)?;
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = (&*self.file).write_all(&self.buf) {
            self.file.set_len(self.len)?;
            self.seek_to_end()?;
            return Err(e.into());
        }
        self.len += self.buf.len() as u64;
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        Ok(())
    }

    /// Makes everything written so far durable (`fdatasync`).
    pub(crate) fn sync(&self) -> Result<(), StoreError> {
        self.file.sync_data()?;
        Ok(())
    }

    /// The file handle, for an fsync run without the writer lock.
    pub(crate) fn sync_handle(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashes::EntryId;

    #[test]
    fn file_names_round_trip_and_reject_lookalikes() {
        assert_eq!(journal_file_name(7), "journal-000007.log");
        assert_eq!(parse_journal_file_name("journal-000007.log"), Some(7));
        assert_eq!(
            parse_journal_file_name("journal-1234567.log"),
            Some(1234567)
        );
        assert_eq!(parse_journal_file_name("journal-07.log"), None);
        assert_eq!(parse_journal_file_name("journal-00000x.log"), None);
        assert_eq!(parse_journal_file_name("journal-000007.log.tmp"), None);
    }

    #[test]
    fn a_frame_with_a_flipped_length_is_caught_by_the_checksum() {
        let mut bytes = encode_journal(1, &[Record::Delete(EntryId(1))]).unwrap();
        // Payload of Delete is 5 bytes; claim 4 and keep the stored checksum.
        bytes[JOURNAL_HEADER_LEN] = 4;
        let scan = scan_journal(&bytes, Path::new("j"), Some(1)).unwrap();
        assert!(scan.records.is_empty());
        let torn = scan.torn.unwrap();
        assert_eq!(torn.offset, JOURNAL_HEADER_LEN as u64);
        assert!(torn.reason.contains("checksum"), "{}", torn.reason);
    }

    #[test]
    fn wrong_journal_number_is_an_error() {
        let bytes = encode_journal(3, &[]).unwrap();
        assert!(matches!(
            scan_journal(&bytes, Path::new("j"), Some(4)),
            Err(StoreError::Corruption(_))
        ));
    }
}
