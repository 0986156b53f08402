//! Compacted snapshots of the live state: `snapshot-NNNNNN.bin`, where `NNNNNN` is the first
//! journal to replay on top of it.
//!
//! The layout is flat and columnar so a 10M-entry snapshot loads with one read, a checksum pass
//! and a linear decode, with no per-record parsing or framing:
//! ```text
//! header (64 bytes):  magic "RDDSNAPS", version u32, section count u32, entry count u64,
//!                     resolution count u64, first journal u64, string count u64,
//!                     extra-PDQ count u64, reserved u32, crc32 of the preceding 60 bytes u32
//! section table:      per section: kind u32, crc32 u32, offset u64, length u64;
//!                     then crc32 of the table u32, 4 zero bytes
//! sections (8-byte aligned, in kind order, all present):
//!   1 ids            n x u32, strictly increasing
//!   2 flags          n x u16: the codec's presence bits, bit 15 = source is Known
//!   3 pdq            one 4 x u64 per row with a PDQ (rows in id order; "sparse")
//!   4 pdq_quality    one u8 per row with a quality
//!   5 dhash          one u64 per row with a dHash
//!   6 phash          one u64 per row with a pHash
//!   7 blake3         32 bytes per row with one
//!   8 sha256         32 bytes per row with one
//!   9 md5            16 bytes per row with one
//!  10 extra counts   one u32 (>= 1) per row with extra PDQs
//!  11 extra pdq      4 x u64 per extra PDQ
//!  12 string lens    u32 per string: per row external_id, [label], [url_key], [received_at];
//!                    then short_key, target per resolution (short keys strictly increasing)
//!  13 string bytes   the strings' UTF-8 bytes, concatenated
//! ```
//! Every length is derived from the header counts and the flags column and checked against the
//! section table before anything is read, and every section is checked against the file size
//! and its checksum, so a damaged or hostile file is an error, never a panic or an allocation
//! out of proportion to its size.
//!
//! The file is read with one `read` into memory rather than memory-mapped: `memmap2::Mmap::map`
//! is `unsafe` (the crate denies unsafe code), and the measured load time at 10M entries
//! (BENCHMARKS.md, store section) is dominated by building the records, not by the read.

use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::hashes::{Blake3, EntryId, Hash64, Md5, Pdq, Sha256};

use super::codec::{
    presence, put_pdq, put_u16, put_u32, put_u64, source_code, ByteReader, FIELD_ALL, FIELD_BLAKE3,
    FIELD_DHASH, FIELD_EXTRA_PDQ, FIELD_LABEL, FIELD_MD5, FIELD_PDQ, FIELD_PDQ_QUALITY,
    FIELD_PHASH, FIELD_RECEIVED_AT, FIELD_SHA256, FIELD_URL_KEY,
};
use super::record::{EntryRecord, EntrySource};
use super::{Corruption, StoreError};

/// Magic bytes opening every snapshot file.
pub(crate) const SNAPSHOT_MAGIC: [u8; 8] = *b"RDDSNAPS";
/// Snapshot format version written by this build.
pub const SNAPSHOT_VERSION: u32 = 1;
const HEADER_LEN: usize = 64;
const SECTION_ENTRY_LEN: usize = 24;
const SOURCE_KNOWN_BIT: u16 = 1 << 15;

const SEC_IDS: usize = 0;
const SEC_FLAGS: usize = 1;
const SEC_PDQ: usize = 2;
const SEC_PDQ_QUALITY: usize = 3;
const SEC_DHASH: usize = 4;
const SEC_PHASH: usize = 5;
const SEC_BLAKE3: usize = 6;
const SEC_SHA256: usize = 7;
const SEC_MD5: usize = 8;
const SEC_EXTRA_COUNTS: usize = 9;
const SEC_EXTRA_PDQ: usize = 10;
const SEC_STRING_LENS: usize = 11;
const SEC_STRING_BYTES: usize = 12;
const SECTION_COUNT: usize = 13;
const SECTION_NAMES: [&str; SECTION_COUNT] = [
    "ids",
    "flags",
    "pdq",
    "pdq_quality",
    "dhash",
    "phash",
    "blake3",
    "sha256",
    "md5",
    "extra counts",
    "extra pdq",
    "string lens",
    "string bytes",
];

/// The file name of the snapshot whose replay starts at journal `first_journal`.
pub(crate) fn snapshot_file_name(first_journal: u64) -> String {
    format!("snapshot-{first_journal:06}.bin")
}

/// The journal number in a snapshot file name, if it is one.
pub(crate) fn parse_snapshot_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("snapshot-")?.strip_suffix(".bin")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Column builders for one snapshot.
#[derive(Default)]
struct Columns {
    sections: [Vec<u8>; SECTION_COUNT],
    strings: u64,
    extra_pdq: u64,
}

impl Columns {
    fn put_str(&mut self, s: &str) -> Result<(), StoreError> {
        let len = u32::try_from(s.len()).map_err(|_| StoreError::RecordTooLarge {
            len: s.len(),
            max: u32::MAX as usize,
        })?;
        put_u32(&mut self.sections[SEC_STRING_LENS], len);
        self.sections[SEC_STRING_BYTES].extend_from_slice(s.as_bytes());
        self.strings += 1;
        Ok(())
    }

    fn push_entry(&mut self, e: &EntryRecord) -> Result<(), StoreError> {
        let s = &mut self.sections;
        put_u32(&mut s[SEC_IDS], e.id.0);
        let mut flags = presence(e);
        if e.source == EntrySource::Known {
            flags |= SOURCE_KNOWN_BIT;
        }
        debug_assert_eq!(source_code(EntrySource::Known), 1);
        put_u16(&mut s[SEC_FLAGS], flags);
        if let Some(p) = &e.pdq {
            put_pdq(&mut s[SEC_PDQ], p);
        }
        if let Some(q) = e.pdq_quality {
            s[SEC_PDQ_QUALITY].push(q);
        }
        if let Some(h) = e.dhash {
            put_u64(&mut s[SEC_DHASH], h.0);
        }
        if let Some(h) = e.phash {
            put_u64(&mut s[SEC_PHASH], h.0);
        }
        if let Some(d) = &e.blake3 {
            s[SEC_BLAKE3].extend_from_slice(&d.0);
        }
        if let Some(d) = &e.sha256 {
            s[SEC_SHA256].extend_from_slice(&d.0);
        }
        if let Some(d) = &e.md5 {
            s[SEC_MD5].extend_from_slice(&d.0);
        }
        if !e.extra_pdq.is_empty() {
            let n = u32::try_from(e.extra_pdq.len()).map_err(|_| StoreError::RecordTooLarge {
                len: e.extra_pdq.len(),
                max: u32::MAX as usize,
            })?;
            put_u32(&mut s[SEC_EXTRA_COUNTS], n);
            for p in &e.extra_pdq {
                put_pdq(&mut s[SEC_EXTRA_PDQ], p);
            }
            self.extra_pdq += u64::from(n);
        }
        self.put_str(&e.external_id)?;
        for s in [&e.label, &e.url_key, &e.received_at].into_iter().flatten() {
            self.put_str(s)?;
        }
        Ok(())
    }
}

/// Writes a snapshot of `entries` and `resolutions` to `out` in the format above. Entries are
/// written in id order; resolutions in short-key order, the last one given winning for a
/// repeated short key.
///
/// # Errors
/// [`StoreError::DuplicateId`] if two entries share an id; I/O errors from `out`.
pub(crate) fn write_snapshot<'a, W: Write>(
    out: W,
    entries: impl IntoIterator<Item = &'a EntryRecord>,
    resolutions: &[(String, String)],
    first_journal: u64,
) -> Result<(), StoreError> {
    let mut sorted: Vec<&EntryRecord> = entries.into_iter().collect();
    if !sorted.windows(2).all(|w| w[0].id < w[1].id) {
        sorted.sort_by_key(|e| e.id);
        if let Some(w) = sorted.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(StoreError::DuplicateId(w[0].id));
        }
    }
    let mut res: Vec<&(String, String)> = resolutions.iter().collect();
    // Stable sort keeps the given order among equal keys; keep the last of each run.
    res.sort_by(|a, b| a.0.cmp(&b.0));
    let mut deduped: Vec<&(String, String)> = Vec::with_capacity(res.len());
    for r in res {
        match deduped.last_mut() {
            Some(last) if last.0 == r.0 => *last = r,
            _ => deduped.push(r),
        }
    }

    let mut cols = Columns::default();
    for e in &sorted {
        cols.push_entry(e)?;
    }
    for (short_key, target) in &deduped {
        cols.put_str(short_key)?;
        cols.put_str(target)?;
    }

    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(&SNAPSHOT_MAGIC);
    put_u32(&mut header, SNAPSHOT_VERSION);
    put_u32(&mut header, SECTION_COUNT as u32);
    put_u64(&mut header, sorted.len() as u64);
    put_u64(&mut header, deduped.len() as u64);
    put_u64(&mut header, first_journal);
    put_u64(&mut header, cols.strings);
    put_u64(&mut header, cols.extra_pdq);
    put_u32(&mut header, 0);
    let crc = crc32fast::hash(&header);
    put_u32(&mut header, crc);
    debug_assert_eq!(header.len(), HEADER_LEN);

    let mut table = Vec::with_capacity(SECTION_COUNT * SECTION_ENTRY_LEN + 8);
    let mut offset = (HEADER_LEN + SECTION_COUNT * SECTION_ENTRY_LEN + 8) as u64;
    let mut pads = [0usize; SECTION_COUNT];
    for (kind, sec) in cols.sections.iter().enumerate() {
        put_u32(&mut table, kind as u32 + 1);
        put_u32(&mut table, crc32fast::hash(sec));
        put_u64(&mut table, offset);
        put_u64(&mut table, sec.len() as u64);
        let end = offset + sec.len() as u64;
        let aligned = end.next_multiple_of(8);
        pads[kind] = (aligned - end) as usize;
        offset = aligned;
    }
    let crc = crc32fast::hash(&table);
    put_u32(&mut table, crc);
    put_u32(&mut table, 0);

    let mut w = BufWriter::with_capacity(1 << 20, out);
    w.write_all(&header)?;
    w.write_all(&table)?;
    for (sec, pad) in cols.sections.iter().zip(pads) {
        w.write_all(sec)?;
        w.write_all(&[0u8; 8][..pad])?;
    }
    w.flush()?;
    Ok(())
}

/// The bytes of a snapshot holding `entries` and `resolutions`: the in-memory twin of
/// [`Store::snapshot`](super::Store::snapshot), for fixtures and tests.
///
/// ```
/// use referral_dedup::hashes::EntryId;
/// use referral_dedup::store::{encode_snapshot, EntryRecord, EntrySource, SnapshotColumns};
/// # fn main() -> Result<(), referral_dedup::store::StoreError> {
/// let e = EntryRecord::new(EntryId(5), EntrySource::Known, "list-a");
/// let bytes = encode_snapshot([&e], &[], 2)?;
/// let cols = SnapshotColumns::decode(bytes, "snapshot-000002.bin".into())?;
/// assert_eq!(cols.entries()?, vec![e]);
/// assert_eq!(cols.first_journal(), 2);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`StoreError::DuplicateId`] if two entries share an id.
pub fn encode_snapshot<'a>(
    entries: impl IntoIterator<Item = &'a EntryRecord>,
    resolutions: &[(String, String)],
    first_journal: u64,
) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    write_snapshot(&mut out, entries, resolutions, first_journal)?;
    Ok(out)
}

/// A validated snapshot held in memory, with column accessors for fast bulk loads.
///
/// Decoding checks the header, the section table, every section's checksum and length, id
/// order, string boundaries and UTF-8, so the accessors cannot fail afterwards except where they
/// build strings ([`SnapshotColumns::entries`], which re-checks nothing but allocates).
///
/// ```
/// use referral_dedup::hashes::{EntryId, Pdq};
/// use referral_dedup::store::{encode_snapshot, EntryRecord, EntrySource, SnapshotColumns};
/// # fn main() -> Result<(), referral_dedup::store::StoreError> {
/// let mut e = EntryRecord::new(EntryId(5), EntrySource::Known, "list-a");
/// e.pdq = Some(Pdq([1, 2, 3, 4]));
/// let cols = SnapshotColumns::decode(encode_snapshot([&e], &[], 1)?, "s".into())?;
/// assert_eq!(cols.ids().collect::<Vec<_>>(), vec![EntryId(5)]);
/// assert_eq!(cols.pdq().collect::<Vec<_>>(), vec![(EntryId(5), Pdq([1, 2, 3, 4]))]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SnapshotColumns {
    bytes: Vec<u8>,
    path: PathBuf,
    entries: usize,
    resolutions: usize,
    first_journal: u64,
    sections: [Range<usize>; SECTION_COUNT],
}

impl SnapshotColumns {
    /// Reads and validates the snapshot file at `path` (one read of the whole file).
    ///
    /// # Errors
    /// I/O errors, [`StoreError::Corruption`] (with the offset and reason) for any damage,
    /// [`StoreError::UnsupportedVersion`] for a newer format.
    pub fn read(path: &Path) -> Result<SnapshotColumns, StoreError> {
        let bytes = std::fs::read(path)?;
        SnapshotColumns::decode(bytes, path.to_path_buf())
    }

    /// Reads and validates a snapshot from an open file (`path` is only used in error reports).
    ///
    /// # Errors
    /// As [`SnapshotColumns::read`].
    pub(crate) fn read_from(
        mut file: std::fs::File,
        path: &Path,
    ) -> Result<SnapshotColumns, StoreError> {
        use std::io::Read;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        SnapshotColumns::decode(bytes, path.to_path_buf())
    }

    /// Validates snapshot `bytes`; `path` is only used in error reports.
    ///
    /// # Errors
    /// As [`SnapshotColumns::read`].
    pub fn decode(bytes: Vec<u8>, path: PathBuf) -> Result<SnapshotColumns, StoreError> {
        let report_path = path.clone();
        let corrupt = |offset: usize, reason: String| {
            StoreError::Corruption(Corruption {
                path: report_path.clone(),
                offset: offset as u64,
                reason,
            })
        };
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(
                0,
                format!("snapshot header is truncated: {} bytes", bytes.len()),
            ));
        }
        if bytes[..8] != SNAPSHOT_MAGIC {
            return Err(corrupt(0, "not a snapshot file: bad magic".into()));
        }
        let mut h = ByteReader::new(&bytes[8..HEADER_LEN]);
        let fields = (|| {
            Ok::<_, String>((
                h.u32()?,
                h.u32()?,
                h.u64()?,
                h.u64()?,
                h.u64()?,
                h.u64()?,
                h.u64()?,
                h.u32()?,
                h.u32()?,
            ))
        })();
        let (version, section_count, n, n_res, first_journal, n_strings, n_extra, _, crc) =
            fields.map_err(|e| corrupt(8, e))?;
        let actual = crc32fast::hash(&bytes[..HEADER_LEN - 4]);
        if actual != crc {
            return Err(corrupt(
                HEADER_LEN - 4,
                format!("header checksum mismatch: stored {crc:08x}, computed {actual:08x}"),
            ));
        }
        if version != SNAPSHOT_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path,
                found: version,
                supported: SNAPSHOT_VERSION,
            });
        }
        if section_count as usize != SECTION_COUNT {
            return Err(corrupt(
                12,
                format!("{section_count} sections, version 1 has {SECTION_COUNT}"),
            ));
        }
        let table_len = SECTION_COUNT * SECTION_ENTRY_LEN;
        let table_end = HEADER_LEN + table_len + 8;
        if bytes.len() < table_end {
            return Err(corrupt(HEADER_LEN, "section table is truncated".into()));
        }
        let table = &bytes[HEADER_LEN..HEADER_LEN + table_len];
        let mut t = ByteReader::new(&bytes[HEADER_LEN + table_len..table_end]);
        let stored = t.u32().map_err(|e| corrupt(HEADER_LEN, e))?;
        let actual = crc32fast::hash(table);
        if stored != actual {
            return Err(corrupt(
                HEADER_LEN + table_len,
                format!(
                    "section table checksum mismatch: stored {stored:08x}, computed {actual:08x}"
                ),
            ));
        }
        let mut sections: [Range<usize>; SECTION_COUNT] = Default::default();
        let mut t = ByteReader::new(table);
        for (kind, slot) in sections.iter_mut().enumerate() {
            let at = HEADER_LEN + kind * SECTION_ENTRY_LEN;
            let read = (|| Ok::<_, String>((t.u32()?, t.u32()?, t.u64()?, t.u64()?)))();
            let (k, crc, off, len) = read.map_err(|e| corrupt(at, e))?;
            if k as usize != kind + 1 {
                return Err(corrupt(at, format!("section {} has kind {k}", kind + 1)));
            }
            let end = off.checked_add(len).filter(|&e| e <= bytes.len() as u64);
            let Some(end) = end.filter(|_| off >= table_end as u64) else {
                return Err(corrupt(
                    at,
                    format!(
                        "section {} ({} bytes at {off}) lies outside the {}-byte file",
                        SECTION_NAMES[kind],
                        len,
                        bytes.len()
                    ),
                ));
            };
            let range = off as usize..end as usize;
            let actual = crc32fast::hash(&bytes[range.clone()]);
            if actual != crc {
                return Err(corrupt(
                    off as usize,
                    format!(
                        "section {} checksum mismatch: stored {crc:08x}, computed {actual:08x}",
                        SECTION_NAMES[kind]
                    ),
                ));
            }
            *slot = range;
        }

        // The writer pads the last section to 8 bytes and stops: anything else is truncation
        // or trailing garbage.
        let data_end = sections.iter().map(|r| r.end).max().unwrap_or(table_end);
        if bytes.len() != data_end.next_multiple_of(8) {
            return Err(corrupt(
                data_end,
                format!(
                    "file is {} bytes, its sections end at {data_end}",
                    bytes.len()
                ),
            ));
        }

        // Lengths implied by the counts and the flags column.
        let check_len = |kind: usize, expected: Option<u64>| -> Result<(), StoreError> {
            let actual = sections[kind].len() as u64;
            if expected != Some(actual) {
                return Err(corrupt(
                    sections[kind].start,
                    format!(
                        "section {} is {actual} bytes, counts say {}",
                        SECTION_NAMES[kind],
                        expected.map_or("an overflowing size".to_string(), |e| e.to_string())
                    ),
                ));
            }
            Ok(())
        };
        check_len(SEC_IDS, n.checked_mul(4))?;
        check_len(SEC_FLAGS, n.checked_mul(2))?;
        check_len(SEC_STRING_LENS, n_strings.checked_mul(4))?;
        check_len(SEC_EXTRA_PDQ, n_extra.checked_mul(32))?;
        let n = n as usize;
        let flags_bytes = &bytes[sections[SEC_FLAGS].clone()];
        let mut count = [0u64; 16];
        for (row, f) in flags_bytes.chunks_exact(2).enumerate() {
            let f = u16::from_le_bytes([f[0], f[1]]);
            if f & !(FIELD_ALL | SOURCE_KNOWN_BIT) != 0 {
                return Err(corrupt(
                    sections[SEC_FLAGS].start + 2 * row,
                    format!("row {row} has unknown flag bits {f:#06x}"),
                ));
            }
            for (bit, c) in count.iter_mut().enumerate() {
                *c += u64::from((f >> bit) & 1);
            }
        }
        let bit_count = |field: u16| count[field.trailing_zeros() as usize];
        check_len(SEC_PDQ, Some(bit_count(FIELD_PDQ) * 32))?;
        check_len(SEC_PDQ_QUALITY, Some(bit_count(FIELD_PDQ_QUALITY)))?;
        check_len(SEC_DHASH, Some(bit_count(FIELD_DHASH) * 8))?;
        check_len(SEC_PHASH, Some(bit_count(FIELD_PHASH) * 8))?;
        check_len(SEC_BLAKE3, Some(bit_count(FIELD_BLAKE3) * 32))?;
        check_len(SEC_SHA256, Some(bit_count(FIELD_SHA256) * 32))?;
        check_len(SEC_MD5, Some(bit_count(FIELD_MD5) * 16))?;
        check_len(SEC_EXTRA_COUNTS, Some(bit_count(FIELD_EXTRA_PDQ) * 4))?;
        let strings_needed = (n as u64)
            + bit_count(FIELD_LABEL)
            + bit_count(FIELD_URL_KEY)
            + bit_count(FIELD_RECEIVED_AT);
        let expected_strings = n_res
            .checked_mul(2)
            .and_then(|r| r.checked_add(strings_needed));
        if expected_strings != Some(n_strings) {
            return Err(corrupt(
                40,
                format!("{n_strings} strings, rows and resolutions need {expected_strings:?}"),
            ));
        }

        // Ids strictly increasing.
        let ids = &bytes[sections[SEC_IDS].clone()];
        let mut prev: Option<u32> = None;
        for (row, c) in ids.chunks_exact(4).enumerate() {
            let id = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if prev.is_some_and(|p| p >= id) {
                return Err(corrupt(
                    sections[SEC_IDS].start + 4 * row,
                    format!("ids are not strictly increasing at row {row}"),
                ));
            }
            prev = Some(id);
        }
        // Extra-PDQ counts: each >= 1, summing to the header's count.
        let mut extra_sum = 0u64;
        for (i, c) in bytes[sections[SEC_EXTRA_COUNTS].clone()]
            .chunks_exact(4)
            .enumerate()
        {
            let c = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if c == 0 {
                return Err(corrupt(
                    sections[SEC_EXTRA_COUNTS].start + 4 * i,
                    "extra PDQ count 0".into(),
                ));
            }
            extra_sum += u64::from(c);
        }
        if extra_sum != n_extra {
            return Err(corrupt(
                sections[SEC_EXTRA_COUNTS].start,
                format!("extra PDQ counts sum to {extra_sum}, header says {n_extra}"),
            ));
        }
        // The string bytes are UTF-8 as a whole (one pass), every string starts and ends on a
        // character boundary, and the lengths sum to the blob.
        let blob_bytes = &bytes[sections[SEC_STRING_BYTES].clone()];
        let blob = std::str::from_utf8(blob_bytes).map_err(|e| {
            corrupt(
                sections[SEC_STRING_BYTES].start + e.valid_up_to(),
                "string bytes are not UTF-8".into(),
            )
        })?;
        let mut at = 0usize;
        for (i, c) in bytes[sections[SEC_STRING_LENS].clone()]
            .chunks_exact(4)
            .enumerate()
        {
            let len = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize;
            if blob.get(at..at.saturating_add(len)).is_none() {
                return Err(corrupt(
                    sections[SEC_STRING_LENS].start + 4 * i,
                    format!(
                        "string {i} of {len} bytes at {at} runs past the string bytes or splits a character"
                    ),
                ));
            }
            at += len;
        }
        if at != blob.len() {
            return Err(corrupt(
                sections[SEC_STRING_BYTES].start + at,
                format!("{} unused bytes after the strings", blob.len() - at),
            ));
        }
        let cols = SnapshotColumns {
            bytes,
            path,
            entries: n,
            resolutions: n_res as usize,
            first_journal,
            sections,
        };
        // Short keys strictly increasing.
        let mut prev: Option<&str> = None;
        for (i, (short, _)) in cols.resolution_strs().enumerate() {
            if prev.is_some_and(|p| p >= short) {
                return Err(corrupt(
                    cols.sections[SEC_STRING_LENS].start,
                    format!("resolution {i}: short keys are not strictly increasing"),
                ));
            }
            prev = Some(short);
        }
        Ok(cols)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether the snapshot holds no entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Number of short-link resolutions.
    pub fn resolution_count(&self) -> usize {
        self.resolutions
    }

    /// The first journal to replay on top of this snapshot.
    pub fn first_journal(&self) -> u64 {
        self.first_journal
    }

    /// Where the snapshot was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn section(&self, kind: usize) -> &[u8] {
        &self.bytes[self.sections[kind].clone()]
    }

    /// Entry ids, in increasing order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = EntryId> + '_ {
        self.section(SEC_IDS)
            .chunks_exact(4)
            .map(|c| EntryId(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
    }

    fn flags(&self) -> impl ExactSizeIterator<Item = u16> + '_ {
        self.section(SEC_FLAGS)
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
    }

    /// `(id, value)` for the rows whose flags have `field`, reading `value` from `kind`.
    fn sparse<'s, T: 's>(
        &'s self,
        field: u16,
        kind: usize,
        width: usize,
        read: impl Fn(&[u8]) -> T + 's,
    ) -> impl Iterator<Item = (EntryId, T)> + 's {
        self.ids()
            .zip(self.flags())
            .filter(move |(_, f)| f & field != 0)
            .zip(self.section(kind).chunks_exact(width))
            .map(move |((id, _), v)| (id, read(v)))
    }

    /// `(id, PDQ)` for every entry with a primary PDQ hash, in id order.
    pub fn pdq(&self) -> impl Iterator<Item = (EntryId, Pdq)> + '_ {
        self.sparse(FIELD_PDQ, SEC_PDQ, 32, read_pdq)
    }

    /// `(id, dHash)` for every entry with one, in id order.
    pub fn dhash(&self) -> impl Iterator<Item = (EntryId, Hash64)> + '_ {
        self.sparse(FIELD_DHASH, SEC_DHASH, 8, |v| Hash64(read_u64(v)))
    }

    /// `(id, pHash)` for every entry with one, in id order.
    pub fn phash(&self) -> impl Iterator<Item = (EntryId, Hash64)> + '_ {
        self.sparse(FIELD_PHASH, SEC_PHASH, 8, |v| Hash64(read_u64(v)))
    }

    /// `(id, extra PDQ)` for every extra PDQ hash, in id order.
    pub fn extra_pdq(&self) -> impl Iterator<Item = (EntryId, Pdq)> + '_ {
        let counts = self.sparse(FIELD_EXTRA_PDQ, SEC_EXTRA_COUNTS, 4, |v| {
            u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as usize
        });
        counts
            .flat_map(|(id, n)| std::iter::repeat_n(id, n))
            .zip(self.section(SEC_EXTRA_PDQ).chunks_exact(32))
            .map(|(id, v)| (id, read_pdq(v)))
    }

    fn strings(&self) -> impl Iterator<Item = &str> + '_ {
        // Validated in `decode` (UTF-8 and boundaries), so neither fallback is ever taken; they
        // keep a logic error from becoming a panic.
        let blob = std::str::from_utf8(self.section(SEC_STRING_BYTES)).unwrap_or_default();
        let mut at = 0usize;
        self.section(SEC_STRING_LENS).chunks_exact(4).map(move |c| {
            let len = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize;
            let s = blob.get(at..at + len).unwrap_or_default();
            at += len;
            s
        })
    }

    fn resolution_strs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let skip = self.string_count() - 2 * self.resolutions;
        let mut it = self.strings().skip(skip);
        std::iter::from_fn(move || Some((it.next()?, it.next()?)))
    }

    fn string_count(&self) -> usize {
        self.sections[SEC_STRING_LENS].len() / 4
    }

    /// The short-link resolutions `(short_key, target)`, in short-key order.
    pub fn resolutions(&self) -> Vec<(String, String)> {
        self.resolution_strs()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect()
    }

    /// Every entry as an [`EntryRecord`], in id order.
    ///
    /// # Errors
    /// None in practice (the snapshot was validated); kept fallible so a future format can
    /// report damage found while decoding.
    pub fn entries(&self) -> Result<Vec<EntryRecord>, StoreError> {
        let mut out = Vec::with_capacity(self.entries);
        let mut strings = self.strings();
        let mut cursors = [0usize; SECTION_COUNT];
        let mut next = |kind: usize, width: usize| {
            let at = cursors[kind];
            cursors[kind] += width;
            &self.bytes[self.sections[kind].start + at..self.sections[kind].start + at + width]
        };
        let mut next_str = || strings.next().unwrap_or_default().to_owned();
        for (id, flags) in self.ids().zip(self.flags()) {
            let has = |bit: u16| flags & bit != 0;
            let source = if has(SOURCE_KNOWN_BIT) {
                EntrySource::Known
            } else {
                EntrySource::Referral
            };
            let mut e = EntryRecord::new(id, source, next_str());
            if has(FIELD_LABEL) {
                e.label = Some(next_str());
            }
            if has(FIELD_URL_KEY) {
                e.url_key = Some(next_str());
            }
            if has(FIELD_RECEIVED_AT) {
                e.received_at = Some(next_str());
            }
            if has(FIELD_PDQ) {
                e.pdq = Some(read_pdq(next(SEC_PDQ, 32)));
            }
            if has(FIELD_PDQ_QUALITY) {
                e.pdq_quality = Some(next(SEC_PDQ_QUALITY, 1)[0]);
            }
            if has(FIELD_DHASH) {
                e.dhash = Some(Hash64(read_u64(next(SEC_DHASH, 8))));
            }
            if has(FIELD_PHASH) {
                e.phash = Some(Hash64(read_u64(next(SEC_PHASH, 8))));
            }
            if has(FIELD_BLAKE3) {
                e.blake3 = Some(Blake3(read_array(next(SEC_BLAKE3, 32))));
            }
            if has(FIELD_SHA256) {
                e.sha256 = Some(Sha256(read_array(next(SEC_SHA256, 32))));
            }
            if has(FIELD_MD5) {
                e.md5 = Some(Md5(read_array(next(SEC_MD5, 16))));
            }
            if has(FIELD_EXTRA_PDQ) {
                let c = next(SEC_EXTRA_COUNTS, 4);
                let k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize;
                let v = next(SEC_EXTRA_PDQ, 32 * k);
                e.extra_pdq = v.chunks_exact(32).map(read_pdq).collect();
            }
            out.push(e);
        }
        Ok(out)
    }
}

fn read_u64(v: &[u8]) -> u64 {
    u64::from_le_bytes(read_array(v))
}

fn read_array<const N: usize>(v: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&v[..N]);
    out
}

fn read_pdq(v: &[u8]) -> Pdq {
    Pdq([
        read_u64(&v[0..8]),
        read_u64(&v[8..16]),
        read_u64(&v[16..24]),
        read_u64(&v[24..32]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<EntryRecord> {
        let mut a = EntryRecord::new(EntryId(3), EntrySource::Known, "k-3");
        a.pdq = Some(Pdq([9, 8, 7, 6]));
        a.extra_pdq = vec![Pdq([1; 4]), Pdq([2; 4])];
        a.md5 = Some(Md5([7; 16]));
        a.label = Some("list".into());
        let mut b = EntryRecord::new(EntryId(1), EntrySource::Referral, "r-1");
        b.url_key = Some("youtube:xyz".into());
        b.dhash = Some(Hash64(5));
        b.phash = Some(Hash64(6));
        b.pdq_quality = Some(90);
        b.blake3 = Some(Blake3([1; 32]));
        b.sha256 = Some(Sha256([2; 32]));
        b.received_at = Some("today".into());
        b.extra_pdq = vec![Pdq([3; 4])];
        vec![a, b]
    }

    #[test]
    fn round_trips_in_id_order_with_columns() {
        let entries = sample();
        let res = vec![
            ("b".to_string(), "1".to_string()),
            ("a".to_string(), "2".to_string()),
            ("b".to_string(), "3".to_string()),
        ];
        let bytes = encode_snapshot(&entries, &res, 7).unwrap();
        let cols = SnapshotColumns::decode(bytes, "s".into()).unwrap();
        let mut expected = entries.clone();
        expected.sort_by_key(|e| e.id);
        assert_eq!(cols.entries().unwrap(), expected);
        assert_eq!(
            cols.resolutions(),
            vec![("a".into(), "2".into()), ("b".into(), "3".into())]
        );
        assert_eq!(cols.first_journal(), 7);
        assert_eq!(
            cols.pdq().collect::<Vec<_>>(),
            vec![(EntryId(3), Pdq([9, 8, 7, 6]))]
        );
        assert_eq!(
            cols.extra_pdq().collect::<Vec<_>>(),
            vec![
                (EntryId(1), Pdq([3; 4])),
                (EntryId(3), Pdq([1; 4])),
                (EntryId(3), Pdq([2; 4]))
            ]
        );
        assert_eq!(
            cols.dhash().collect::<Vec<_>>(),
            vec![(EntryId(1), Hash64(5))]
        );
        assert_eq!(
            cols.phash().collect::<Vec<_>>(),
            vec![(EntryId(1), Hash64(6))]
        );
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let a = EntryRecord::new(EntryId(1), EntrySource::Known, "a");
        assert!(matches!(
            encode_snapshot([&a, &a], &[], 1),
            Err(StoreError::DuplicateId(EntryId(1)))
        ));
    }

    #[test]
    fn every_bit_flip_and_truncation_is_an_error() {
        let bytes = encode_snapshot(&sample(), &[("s".into(), "t".into())], 2).unwrap();
        for i in 0..bytes.len() {
            for bit in [0, 7] {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                // Flips in alignment padding change nothing that is read; all others must fail.
                let r = SnapshotColumns::decode(b, "s".into());
                if let Ok(c) = r {
                    assert_eq!(c.entries().unwrap(), {
                        let mut s = sample();
                        s.sort_by_key(|e| e.id);
                        s
                    });
                    assert!(is_padding(&bytes, i), "flip at {i} accepted");
                }
            }
            assert!(SnapshotColumns::decode(bytes[..i].to_vec(), "s".into()).is_err());
        }
    }

    /// Whether byte `i` is padding between sections or the reserved table word.
    fn is_padding(bytes: &[u8], i: usize) -> bool {
        let table_end = HEADER_LEN + SECTION_COUNT * SECTION_ENTRY_LEN + 8;
        if (table_end - 4..table_end).contains(&i) {
            return true;
        }
        let mut t = ByteReader::new(&bytes[HEADER_LEN..]);
        let mut covered = false;
        for _ in 0..SECTION_COUNT {
            let (_, _, off, len) = (
                t.u32().unwrap(),
                t.u32().unwrap(),
                t.u64().unwrap(),
                t.u64().unwrap(),
            );
            covered |= (off as usize..(off + len) as usize).contains(&i);
        }
        i >= table_end && !covered
    }
}
