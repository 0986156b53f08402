//! The append-only journal: one file per generation, `journal-NNNNNN.log`.
//!
//! ```text
//! file header (28 bytes): magic "RDDJOURN", format version u32, journal number u64,
//!                         reserved u32 (0), crc32 of the preceding 24 bytes u32
//! record frame:           payload length u32, crc32 of (length bytes ++ payload) u32, payload
//! group markers (v2):     frames whose 5-byte payload is tag 0x10 (begin) or 0x11 (commit)
//!                         plus the group's record count u32
//! ```
//! The payload is the [`codec`](super::codec) encoding of one [`Record`]. All integers are
//! little-endian. An append of several records is framed by a begin and a commit marker, so
//! replay applies all of them or, when the commit marker never made it to disk, none.
//!
//! A frame whose length exceeds [`MAX_RECORD_LEN`] or the bytes that remain, whose checksum
//! does not match, or whose payload does not decode is damaged: the scan reports its offset and
//! reason and resumes at the next offset where an intact frame starts (frames carry their own
//! checksums, so one damaged record costs only itself). Bytes at the end that hold no intact
//! frame are the torn tail (a crash mid-write). Version 1 journals (no group markers) are read
//! as they are.

use std::path::Path;

use super::codec::{decode_record, encode_record, put_u32, put_u64, ByteReader, RecordFault};
use super::error::{Corruption, StoreError};
use super::framing::{FileFormat, HeaderDamage, JOURNAL};
use super::record::Record;

/// Journal format version written by this build: version 1 framing and record codec, plus group
/// markers around multi-record appends (version 2) and the video field of an entry (version 3).
pub const JOURNAL_VERSION: u32 = JOURNAL.current;
/// The oldest journal format version this build reads (version 1: no group markers).
pub const MIN_JOURNAL_VERSION: u32 = JOURNAL.oldest;
/// Bytes of the header's own fields: journal number u64, reserved u32.
const HEADER_FIELDS_LEN: usize = 12;
/// Payload tag of a group's begin marker (tag, record count u32).
const TAG_GROUP_BEGIN: u8 = 0x10;
/// Payload tag of a group's commit marker (tag, record count u32).
const TAG_GROUP_COMMIT: u8 = 0x11;
/// Size of a whole marker frame: frame header plus the 5-byte payload.
const MARKER_FRAME_LEN: usize = FRAME_HEADER_LEN + 5;
/// Size of the journal file header in bytes.
pub(crate) const JOURNAL_HEADER_LEN: usize = FileFormat::header_len(HEADER_FIELDS_LEN);
/// Size of a record frame header (length + checksum) in bytes.
pub(crate) const FRAME_HEADER_LEN: usize = 8;
/// The largest record payload the journal writes or reads (16 MiB). A length field above it is
/// corruption, so a damaged length can never make replay allocate more than this.
pub const MAX_RECORD_LEN: usize = 16 << 20;

/// The 28-byte header of journal number `number`.
pub(crate) fn journal_header(number: u64) -> Vec<u8> {
    JOURNAL.header(&header_fields(number))
}

/// The header's own fields: the journal number and a reserved word.
fn header_fields(number: u64) -> Vec<u8> {
    let mut fields = Vec::with_capacity(HEADER_FIELDS_LEN);
    put_u64(&mut fields, number);
    put_u32(&mut fields, 0);
    fields
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

/// Appends a group marker frame (begin or commit of `count` records) to `out`.
fn encode_marker(tag: u8, count: u32, out: &mut Vec<u8>) {
    let mut payload = [tag, 0, 0, 0, 0];
    payload[1..].copy_from_slice(&count.to_le_bytes());
    let len_bytes = (payload.len() as u32).to_le_bytes();
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len_bytes);
    hasher.update(&payload);
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(&hasher.finalize().to_le_bytes());
    out.extend_from_slice(&payload);
}

/// Appends the frames of one append: a single record as is, several between a begin and a
/// commit marker so replay counts them all or none.
pub(crate) fn encode_append(records: &[Record], out: &mut Vec<u8>) -> Result<(), StoreError> {
    let start = out.len();
    let grouped = records.len() > 1;
    let count = u32::try_from(records.len()).map_err(|_| StoreError::RecordTooLarge {
        len: records.len(),
        max: u32::MAX as usize,
    })?;
    if grouped {
        encode_marker(TAG_GROUP_BEGIN, count, out);
    }
    for r in records {
        if let Err(e) = encode_frame(r, out) {
            out.truncate(start);
            return Err(e);
        }
    }
    if grouped {
        encode_marker(TAG_GROUP_COMMIT, count, out);
    }
    Ok(())
}

/// The bytes of a journal file holding one append of `records` (grouped when there are
/// several), as [`Store::append_all`](super::Store::append_all) writes it.
///
/// ```
/// use referral_dedup::hashes::EntryId;
/// use referral_dedup::store::{encode_journal_append, scan_journal, Record};
/// # fn main() -> Result<(), referral_dedup::store::StoreError> {
/// let recs = [Record::Delete(EntryId(1)), Record::Delete(EntryId(2))];
/// let bytes = encode_journal_append(1, &recs)?;
/// // Cut anywhere before the commit marker's last byte: none of the group counts.
/// let scan = scan_journal(&bytes[..bytes.len() - 1], "j".as_ref(), Some(1))?;
/// assert!(scan.records.is_empty() && scan.torn.is_some());
/// assert_eq!(scan_journal(&bytes, "j".as_ref(), Some(1))?.records, recs);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`StoreError::RecordTooLarge`] if a record exceeds [`MAX_RECORD_LEN`].
pub fn encode_journal_append(number: u64, records: &[Record]) -> Result<Vec<u8>, StoreError> {
    let mut out = journal_header(number);
    encode_append(records, &mut out)?;
    Ok(out)
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

/// What a journal scan found: the valid records, where the valid part ends, and what was
/// damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalScan {
    /// Every record whose own frame checks out, in order (records after a damaged stretch
    /// included), except those of an import that was never committed.
    pub records: Vec<Record>,
    /// Length in bytes of the part a writer could append after: the end of the last good frame
    /// when the file has no damage, otherwise where the first damage starts.
    pub valid_len: u64,
    /// The stretch at the end of the file that is not a complete frame (a write cut short by a
    /// crash, or damage in the last record), or an import whose commit marker never came.
    pub torn: Option<Corruption>,
    /// Damaged stretches before the end (and a damaged file header), each skipped: replay
    /// resumed at the next frame whose own checksum holds.
    pub damaged: Vec<Corruption>,
    /// The format version the header declares (the current version if the header is damaged).
    pub version: u32,
}

/// Reads a journal file's bytes: checks the header, then decodes frames to the end. A frame
/// that is torn or corrupt does not end replay: the scan searches forward for the next frame
/// whose own length, checksum and payload hold and resumes there, reporting the skipped stretch
/// in [`JournalScan::damaged`] (or, when nothing valid follows, in [`JournalScan::torn`]). Never
/// a panic, never an allocation larger than the input.
///
/// Multi-record appends are framed by group markers (format version 2): the records of a group
/// count only once its commit marker is read, so an import cut short by a crash leaves no
/// partial prefix. A group with damage inside keeps every record that checks out.
///
/// A header shorter than 28 bytes that matches the start of the expected header is a crash
/// while the file was created (no records, nothing to report). A damaged header (checksum
/// mismatch) is reported and the frames are still read. `expected_number` is checked when given.
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
/// [`StoreError::UnsupportedVersion`] for a journal whose intact header declares a version
/// this build does not read.
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
        damaged: end.damaged,
        version: end.version,
    })
}

/// Where a journal scan stopped and what it skipped.
pub(crate) struct ScanEnd {
    pub(crate) valid_len: u64,
    pub(crate) torn: Option<Corruption>,
    pub(crate) damaged: Vec<Corruption>,
    pub(crate) version: u32,
    /// True when the file has nothing a writer could not safely append after.
    pub(crate) clean: bool,
}

/// One decoded frame (short-lived: built and consumed at once, so the size difference between
/// the variants costs nothing).
#[allow(clippy::large_enum_variant)]
enum Frame {
    Record(Record),
    GroupBegin(u32),
    GroupCommit(u32),
}

/// Why the bytes at a position are not a frame this build can replay.
enum FrameFault {
    /// Not a complete, intact frame (torn or damaged): a reason text.
    Damaged(String),
    /// An intact record with fields of a newer build: the whole journal is refused.
    Newer(String),
}

/// The frame starting at `pos`, and where the next one starts; `Err` if the bytes at `pos` are
/// not a complete, intact frame, or are one this build cannot read.
fn frame_at(bytes: &[u8], pos: usize, version: u32) -> Result<(Frame, usize), FrameFault> {
    let rest = &bytes[pos..];
    if rest.len() < FRAME_HEADER_LEN {
        return Err(FrameFault::Damaged(format!(
            "frame header is torn: {} of 8 bytes",
            rest.len()
        )));
    }
    let mut r = ByteReader::new(rest);
    let (len, crc) = match (r.u32(), r.u32()) {
        (Ok(len), Ok(crc)) => (len as usize, crc),
        _ => return Err(FrameFault::Damaged("frame header unreadable".into())),
    };
    if len > MAX_RECORD_LEN {
        return Err(FrameFault::Damaged(format!(
            "record length {len} exceeds the limit {MAX_RECORD_LEN}"
        )));
    }
    if len > r.remaining() {
        return Err(FrameFault::Damaged(format!(
            "record of {len} bytes is torn: {} bytes remain",
            r.remaining()
        )));
    }
    let payload = &rest[FRAME_HEADER_LEN..FRAME_HEADER_LEN + len];
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&rest[..4]);
    hasher.update(payload);
    let actual = hasher.finalize();
    if actual != crc {
        return Err(FrameFault::Damaged(format!(
            "record checksum mismatch: stored {crc:08x}, computed {actual:08x}"
        )));
    }
    let frame = match payload {
        [TAG_GROUP_BEGIN, a, b, c, d] => Frame::GroupBegin(u32::from_le_bytes([*a, *b, *c, *d])),
        [TAG_GROUP_COMMIT, a, b, c, d] => Frame::GroupCommit(u32::from_le_bytes([*a, *b, *c, *d])),
        _ => Frame::Record(
            decode_record(payload, version).map_err(|fault| match fault {
                RecordFault::Damaged(reason) => {
                    FrameFault::Damaged(format!("record does not decode: {reason}"))
                }
                RecordFault::Newer(reason) => FrameFault::Newer(reason),
            })?,
        ),
    };
    Ok((frame, pos + FRAME_HEADER_LEN + len))
}

/// An open group of records waiting for its commit marker.
struct OpenGroup {
    start: usize,
    declared: u32,
    records: Vec<Record>,
    damaged: bool,
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
    let mut damaged = Vec::new();
    if bytes.len() < JOURNAL_HEADER_LEN {
        // A crash while the file was being created leaves a prefix of the header: no records.
        let expected = journal_header(expected_number.unwrap_or(0));
        let harmless = expected_number.is_some() && expected.starts_with(bytes);
        return Ok(ScanEnd {
            valid_len: 0,
            torn: (!harmless).then(|| {
                corrupt(
                    0,
                    format!(
                        "journal header is torn or damaged: {} of {JOURNAL_HEADER_LEN} bytes, no records",
                        bytes.len()
                    ),
                )
            }),
            damaged,
            version: JOURNAL_VERSION,
            clean: harmless,
        });
    }
    let version = match check_header(&bytes[..JOURNAL_HEADER_LEN], path, expected_number)? {
        Ok(version) => version,
        Err(damage) => {
            damaged.push(damage);
            JOURNAL_VERSION
        }
    };
    let mut pos = JOURNAL_HEADER_LEN;
    let mut group: Option<OpenGroup> = None;
    let mut first_damage: Option<usize> = damaged.first().map(|_| 0);
    // Records of a group, applied once it is known to count.
    let flush = |g: OpenGroup, apply: &mut dyn FnMut(Record)| {
        for r in g.records {
            apply(r);
        }
    };
    let mut torn = None;
    while pos < bytes.len() {
        match frame_at(bytes, pos, version) {
            Ok((frame, next)) => {
                match frame {
                    Frame::Record(r) => match &mut group {
                        Some(g) => g.records.push(r),
                        None => apply(r),
                    },
                    Frame::GroupBegin(n) => {
                        if let Some(g) = group.take() {
                            damaged.push(corrupt(
                                g.start,
                                format!(
                                    "the commit marker of the group of {} records starting here is missing \
                                     (damaged); its {} readable records were kept",
                                    g.declared,
                                    g.records.len()
                                ),
                            ));
                            first_damage.get_or_insert(g.start);
                            flush(g, &mut apply);
                        }
                        group = Some(OpenGroup {
                            start: pos,
                            declared: n,
                            records: Vec::new(),
                            damaged: false,
                        });
                    }
                    Frame::GroupCommit(n) => {
                        if let Some(g) = group.take() {
                            if g.records.len() != n as usize && !g.damaged {
                                damaged.push(corrupt(
                                    g.start,
                                    format!(
                                        "group declares {n} records, {} were read; all were kept",
                                        g.records.len()
                                    ),
                                ));
                                first_damage.get_or_insert(g.start);
                            }
                            flush(g, &mut apply);
                        }
                        // A commit without its begin: the begin was damaged and the group's
                        // records were applied one by one already.
                    }
                }
                pos = next;
            }
            Err(FrameFault::Newer(reason)) => {
                return Err(StoreError::NewerFeature {
                    path: path.to_path_buf(),
                    reason: format!("record at byte {pos}: {reason}"),
                })
            }
            Err(FrameFault::Damaged(reason)) => {
                let resume = (pos + 1..bytes.len()).find(|&y| frame_at(bytes, y, version).is_ok());
                first_damage.get_or_insert(pos);
                match resume {
                    Some(y) => {
                        damaged.push(corrupt(
                            pos,
                            format!(
                                "{reason}; {} damaged bytes skipped, replay resumed at byte {y}",
                                y - pos
                            ),
                        ));
                        if let Some(g) = &mut group {
                            g.damaged = true;
                        }
                        pos = y;
                    }
                    None => {
                        torn = Some(corrupt(
                            pos,
                            format!(
                                "{reason}; the last {} bytes hold no complete record (a write cut \
                                 short, or damage) and were not replayed",
                                bytes.len() - pos
                            ),
                        ));
                        break;
                    }
                }
            }
        }
    }
    if let Some(g) = group.take() {
        // Every record of the group is there and what follows is exactly one marker frame that
        // does not check out: the commit marker was written and then damaged (a write cut short
        // leaves fewer bytes).
        let commit_damaged = torn.as_ref().is_some_and(|t| {
            bytes.len() as u64 - t.offset == MARKER_FRAME_LEN as u64
                && g.records.len() == g.declared as usize
        });
        if commit_damaged {
            let t = torn.take().map(|t| t.reason).unwrap_or_default();
            damaged.push(corrupt(
                g.start,
                format!(
                    "the commit marker of the group of {} records starting here is damaged ({t}); \
                     all {} records are complete and were kept",
                    g.declared,
                    g.records.len()
                ),
            ));
            flush(g, &mut apply);
        } else if g.damaged {
            damaged.push(corrupt(
                g.start,
                format!(
                    "group of {} records has damage inside and no commit marker; its {} readable \
                     records were kept",
                    g.declared,
                    g.records.len()
                ),
            ));
            flush(g, &mut apply);
        } else {
            // Written in one go and cut short before its commit marker: never acknowledged.
            let note = format!(
                "an append of {} records was cut short before its commit marker and was not \
                 applied ({} of them complete)",
                g.declared,
                g.records.len()
            );
            torn = Some(match torn {
                Some(t) => corrupt(g.start, format!("{note}; {}", t.reason)),
                None => corrupt(g.start, note),
            });
            first_damage = Some(first_damage.map_or(g.start, |d| d.min(g.start)));
        }
    }
    let clean = first_damage.is_none() && torn.is_none();
    let valid_len = match (first_damage, &torn) {
        (Some(d), _) => d as u64,
        (None, Some(t)) => t.offset,
        (None, None) => bytes.len() as u64,
    };
    Ok(ScanEnd {
        valid_len,
        torn,
        damaged,
        version,
        clean,
    })
}

/// Checks a complete header. `Ok(Ok(version))` when it is intact; `Ok(Err(damage))` when its
/// magic or checksum fails (the frames are read anyway); `Err` for an intact header of a version
/// this build cannot read.
fn check_header(
    h: &[u8],
    path: &Path,
    expected_number: Option<u64>,
) -> Result<Result<u32, Corruption>, StoreError> {
    let corrupt = |offset: u64, reason: String| Corruption {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    let header = match JOURNAL.read_header(h, HEADER_FIELDS_LEN) {
        Ok(header) => header,
        Err(damage) => {
            let why = match damage {
                HeaderDamage::Checksum { stored, computed } => {
                    format!("checksum stored {stored:08x}, computed {computed:08x}")
                }
                HeaderDamage::BadMagic => "not a journal: bad magic".into(),
                HeaderDamage::Truncated { len } => format!("{len} bytes"),
                HeaderDamage::Malformed(what) => what.into(),
            };
            return Ok(Err(corrupt(
                0,
                format!("journal header is damaged ({why}); the records after it were read anyway"),
            )));
        }
    };
    let version = JOURNAL.check_version(header.version, path)?;
    let number = ByteReader::new(header.fields).u64().unwrap_or_default();
    if let Some(expected) = expected_number {
        if number != expected {
            return Ok(Err(corrupt(
                12,
                format!("journal header says number {number}, file name says {expected}; records read anyway"),
            )));
        }
    }
    Ok(Ok(version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashes::EntryId;

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
    fn a_wrong_journal_number_is_reported_and_the_records_read() {
        let bytes = encode_journal(3, &[Record::Delete(EntryId(1))]).unwrap();
        let scan = scan_journal(&bytes, Path::new("j"), Some(4)).unwrap();
        assert_eq!(scan.records, vec![Record::Delete(EntryId(1))]);
        assert!(scan.damaged[0].reason.contains("number 3"));
    }
}
