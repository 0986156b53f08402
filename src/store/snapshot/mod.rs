//! Compacted snapshots of the live state: `snapshot-NNNNNN.bin`, where `NNNNNN` is the first
//! journal to replay on top of it.
//!
//! The layout is flat and columnar so a 10M-entry snapshot loads with one read, a checksum pass
//! and a linear decode, with no per-record parsing or framing:
//! ```text
//! header (64 bytes):  magic "RDDSNAPS", version u32 (the shared `framing` header), section count u32, entry count u64,
//!                     resolution count u64, first journal u64, string count u64,
//!                     extra-PDQ count u64, reserved u32, crc32 of the preceding 60 bytes u32
//! section table:      per section: kind u32, crc32 u32, offset u64, length u64;
//!                     then crc32 of the table u32, 4 zero bytes
//! sections (8-byte aligned, in kind order; `sections::SECTIONS` declares them):
//!   1 ids            n x u32, strictly increasing
//!   2 flags          n x u32 (u16 before version 3): the codec's presence bits, bit 15 = source is Known
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
//!  14 region counts  (version 2) one u32 (>= 1) per row with regions
//!  15 regions        (version 2) per region: its PDQ (4 x u64), then 256 grid cells
//!  16 video lens     (version 2) one u32 per row with a video: its field's byte length
//!  17 video bytes    (version 2) the video fields (`store::video_record`), concatenated;
//!                    the lengths must cover it exactly, each field is checked when decoded
//!  64..              (version 3) optional: the column of a hash kind added later, present
//!                    only when some row has it; an id this build does not know is refused
//!                    as written by a newer build (`StoreError::NewerFeature`)
//! ```
//! Hash columns (3, 5 to 9) hold each kind's stored bytes (`hashes::StoredCode`); a row's
//! flag bit for a kind is the kind table's `stored_bit`.
//! Every length is derived from the header counts and the flags column and checked against the
//! section table before anything is read, and every section is checked against the file size
//! and its checksum, so a damaged or hostile file is an error, never a panic or an allocation
//! out of proportion to its size.
//!
//! The file is read with one `read` into memory rather than memory-mapped: `memmap2::Mmap::map`
//! is `unsafe` (the crate denies unsafe code), and the measured load time at 10M entries
//! (BENCHMARKS.md, store section) is dominated by building the records, not by the read.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::entry::{EntryRecord, EntrySource};
use crate::hashes::{EntryId, Hash64, HashKind, Pdq, StoredCode};

use super::codec::{
    check_fields, kind_field, read_region, RecordFault, FIELD_EXTRA_PDQ, FIELD_REGIONS, FIELD_VIDEO,
};
use super::error::{Corruption, StoreError};
use super::files::open_regular;
use super::framing::SNAPSHOT;

mod checks;
mod sections;
mod writer;

use checks::{
    check_extra_counts, check_ids, check_regions, check_strings, read_header, read_section_table,
};
use sections::{
    column_position, fields_of_snapshot, flag_width, read_flags, read_pdq, read_u32, Counts,
    Layout, EXTRA_COUNTS, EXTRA_PDQ, FLAGS, IDS, REGIONS, REGION_BYTES, ROW_STRINGS, SECTIONS,
    SECTION_COUNT, SOURCE_KNOWN_BIT, STRING_BYTES, STRING_LENS, VIDEO_BYTES, VIDEO_LENS,
    WIDE_FLAGS_SINCE,
};
pub use writer::encode_snapshot;
pub(crate) use writer::write_snapshot;

/// Snapshot format version written by this build.
pub const SNAPSHOT_VERSION: u32 = SNAPSHOT.current;
/// The oldest snapshot format version this build reads: every version in
/// `MIN_SNAPSHOT_VERSION..=SNAPSHOT_VERSION` opens.
///
/// ```
/// use referral_dedup::store::{MIN_SNAPSHOT_VERSION, SNAPSHOT_VERSION};
/// assert!(MIN_SNAPSHOT_VERSION <= SNAPSHOT_VERSION);
/// ```
pub const MIN_SNAPSHOT_VERSION: u32 = SNAPSHOT.oldest;

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
/// e.hashes.pdq = Some(Pdq([1, 2, 3, 4]));
/// let cols = SnapshotColumns::decode(encode_snapshot([&e], &[], 1)?, "s".into())?;
/// assert_eq!(cols.ids().collect::<Vec<_>>(), vec![EntryId(5)]);
/// assert_eq!(cols.pdq().collect::<Vec<_>>(), vec![(EntryId(5), Pdq([1, 2, 3, 4]))]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SnapshotColumns {
    bytes: Vec<u8>,
    path: PathBuf,
    version: u32,
    entries: usize,
    resolutions: usize,
    first_journal: u64,
    /// Byte ranges by position in [`SECTIONS`]; empty for sections the version lacks.
    sections: [Range<usize>; SECTION_COUNT],
}

impl SnapshotColumns {
    /// Reads and validates the snapshot file at `path` (one read of the whole file).
    ///
    /// # Errors
    /// I/O errors (a path that is not a regular file is one), [`StoreError::Corruption`] (with
    /// the offset and reason) for any damage,
    /// [`StoreError::UnsupportedVersion`] for a format version this build does not read.
    pub fn read(path: &Path) -> Result<SnapshotColumns, StoreError> {
        SnapshotColumns::read_from(open_regular(path)?, path)
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

    /// Validates snapshot `bytes` of any version this build reads; `path` is only used in error
    /// reports.
    ///
    /// # Errors
    /// As [`SnapshotColumns::read`].
    pub fn decode(bytes: Vec<u8>, path: PathBuf) -> Result<SnapshotColumns, StoreError> {
        let corrupt = |offset: usize, reason: String| {
            StoreError::Corruption(Corruption {
                path: path.clone(),
                offset: offset as u64,
                reason,
            })
        };
        let h = read_header(&bytes, &path)?;
        let (version, rows) = (h.version, h.rows as usize);
        let sections =
            read_section_table(&bytes, version, h.section_count as usize, &path, &corrupt)?;

        // Lengths implied by the counts: first the flags (which the other counts come from),
        // then every section.
        let mut counts = Counts {
            rows: h.rows,
            strings: h.strings,
            extra_pdq: h.extra_pdq,
            flag_width: flag_width(version) as u64,
            per_bit: [0; 32],
        };
        let check_len = |i: usize, counts: &Counts| -> Result<(), StoreError> {
            let Some(expected) = SECTIONS[i].expected_len(counts) else {
                return Ok(());
            };
            let actual = sections[i].len() as u64;
            if expected != Some(actual) {
                return Err(corrupt(
                    sections[i].start,
                    format!(
                        "section {} is {actual} bytes, counts say {}",
                        SECTIONS[i].name,
                        expected.map_or("an overflowing size".to_string(), |e| e.to_string())
                    ),
                ));
            }
            Ok(())
        };
        check_len(FLAGS, &counts)?;
        let allowed = fields_of_snapshot(version) | SOURCE_KNOWN_BIT;
        let width = flag_width(version);
        for (row, f) in bytes[sections[FLAGS].clone()]
            .chunks_exact(width)
            .enumerate()
        {
            let f = read_flags(f);
            check_fields(f, allowed, version >= WIDE_FLAGS_SINCE).map_err(|fault| match fault {
                RecordFault::Newer(reason) => StoreError::NewerFeature {
                    path: path.clone(),
                    reason: format!("row {row}: {reason}"),
                },
                RecordFault::Damaged(reason) => corrupt(
                    sections[FLAGS].start + width * row,
                    format!("row {row}: {reason}"),
                ),
            })?;
            for (bit, c) in counts.per_bit.iter_mut().enumerate() {
                *c += u64::from((f >> bit) & 1);
            }
        }
        for i in 0..SECTION_COUNT {
            check_len(i, &counts)?;
        }
        let strings_needed = ROW_STRINGS
            .iter()
            .fold(h.rows, |n, r| n + counts.with(r.field));
        let expected_strings = h
            .resolutions
            .checked_mul(2)
            .and_then(|r| r.checked_add(strings_needed));
        if expected_strings != Some(h.strings) {
            return Err(corrupt(
                40,
                format!(
                    "{} strings, rows and resolutions need {expected_strings:?}",
                    h.strings
                ),
            ));
        }
        check_ids(&bytes, &sections, &corrupt)?;
        check_extra_counts(&bytes, &sections, h.extra_pdq, &corrupt)?;
        check_regions(&bytes, &sections, &corrupt)?;
        check_strings(&bytes, &sections, &corrupt)?;
        // The video lengths cover the video bytes exactly (each field is decoded, and checked,
        // by `entries`).
        let video_total: u64 = bytes[sections[VIDEO_LENS].clone()]
            .chunks_exact(4)
            .map(|c| u64::from(read_u32(c)))
            .sum();
        if video_total != sections[VIDEO_BYTES].len() as u64 {
            return Err(corrupt(
                sections[VIDEO_LENS].start,
                format!(
                    "video lengths sum to {video_total}, the video bytes are {}",
                    sections[VIDEO_BYTES].len()
                ),
            ));
        }
        let cols = SnapshotColumns {
            bytes,
            path: path.clone(),
            version,
            entries: rows,
            resolutions: h.resolutions as usize,
            first_journal: h.first_journal,
            sections,
        };
        // Short keys strictly increasing.
        let mut prev: Option<&str> = None;
        for (i, (short, _)) in cols.resolution_strs().enumerate() {
            if prev.is_some_and(|p| p >= short) {
                return Err(corrupt(
                    cols.sections[STRING_LENS].start,
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
        self.section(IDS)
            .chunks_exact(4)
            .map(|c| EntryId(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
    }

    fn flags(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.section(FLAGS)
            .chunks_exact(flag_width(self.version))
            .map(read_flags)
    }

    /// `(id, value)` for the rows whose flags have `field`, reading `value` from `kind`.
    fn sparse<'s, T: 's>(
        &'s self,
        field: u32,
        section: usize,
        width: usize,
        read: impl Fn(&[u8]) -> T + 's,
    ) -> impl Iterator<Item = (EntryId, T)> + 's {
        self.ids()
            .zip(self.flags())
            .filter(move |(_, f)| f & field != 0)
            .zip(self.section(section).chunks_exact(width))
            .map(move |((id, _), v)| (id, read(v)))
    }

    /// [`Self::sparse`] over the column [`SECTIONS`] declares for `field`.
    fn column<'s, T: 's>(
        &'s self,
        field: u32,
        read: impl Fn(&[u8]) -> T + 's,
    ) -> impl Iterator<Item = (EntryId, T)> + 's {
        let (position, width) = column_position(field).unwrap_or((IDS, 4));
        self.sparse(field, position, width, read)
    }

    /// `(id, PDQ)` for every entry with a primary PDQ hash, in id order.
    pub fn pdq(&self) -> impl Iterator<Item = (EntryId, Pdq)> + '_ {
        self.column(kind_field(HashKind::Pdq), read_pdq)
    }

    /// `(id, dHash)` for every entry with one, in id order.
    pub fn dhash(&self) -> impl Iterator<Item = (EntryId, Hash64)> + '_ {
        self.column(kind_field(HashKind::Dhash), Hash64::from_stored)
    }

    /// `(id, pHash)` for every entry with one, in id order.
    pub fn phash(&self) -> impl Iterator<Item = (EntryId, Hash64)> + '_ {
        self.column(kind_field(HashKind::Phash), Hash64::from_stored)
    }

    /// `(id, extra PDQ)` for every extra PDQ hash, in id order.
    pub fn extra_pdq(&self) -> impl Iterator<Item = (EntryId, Pdq)> + '_ {
        let counts = self.sparse(FIELD_EXTRA_PDQ, EXTRA_COUNTS, 4, |v| read_u32(v) as usize);
        counts
            .flat_map(|(id, n)| std::iter::repeat_n(id, n))
            .zip(self.section(EXTRA_PDQ).chunks_exact(32))
            .map(|(id, v)| (id, read_pdq(v)))
    }

    fn strings(&self) -> impl Iterator<Item = &str> + '_ {
        // Validated in `decode` (UTF-8 and boundaries), so neither fallback is ever taken; they
        // keep a logic error from becoming a panic.
        let blob = std::str::from_utf8(self.section(STRING_BYTES)).unwrap_or_default();
        let mut at = 0usize;
        self.section(STRING_LENS).chunks_exact(4).map(move |c| {
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
        self.sections[STRING_LENS].len() / 4
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
        let mut next_str = || strings.next().unwrap_or_default().to_owned();
        // Where the next value of each section starts (validated lengths: never past its end).
        let mut cursors: [usize; SECTION_COUNT] = std::array::from_fn(|i| self.sections[i].start);
        let mut next = |i: usize, width: usize| {
            let at = cursors[i];
            cursors[i] += width;
            &self.bytes[at..at + width]
        };
        // Where the next video field starts (the lengths were checked to cover the section).
        let mut cursors_video = self.sections[VIDEO_BYTES].start;
        for (id, flags) in self.ids().zip(self.flags()) {
            let has = |bit: u32| flags & bit != 0;
            let source = if has(SOURCE_KNOWN_BIT) {
                EntrySource::Known
            } else {
                EntrySource::Referral
            };
            let mut e = EntryRecord::new(id, source, next_str());
            for r in &ROW_STRINGS {
                if has(r.field) {
                    (r.set)(&mut e, next_str());
                }
            }
            for (i, section) in SECTIONS.iter().enumerate() {
                match section.layout {
                    Layout::Column {
                        field, width, get, ..
                    } if has(field) => get(next(i, width), &mut e),
                    Layout::Kind(kind) if has(kind_field(kind)) => {
                        e.hashes.set_stored(kind, next(i, kind.facts().width()));
                    }
                    Layout::ExtraCounts if has(FIELD_EXTRA_PDQ) => {
                        let k = read_u32(next(i, 4)) as usize;
                        let v = next(EXTRA_PDQ, 32 * k);
                        e.hashes.extra_pdq = v.chunks_exact(32).map(read_pdq).collect();
                    }
                    Layout::RegionCounts if has(FIELD_REGIONS) => {
                        let k = read_u32(next(i, 4)) as usize;
                        let v = next(REGIONS, REGION_BYTES * k);
                        e.regions = v.chunks_exact(REGION_BYTES).map(read_region).collect();
                    }
                    Layout::VideoLens if has(FIELD_VIDEO) => {
                        let at = cursors_video;
                        let len = read_u32(next(i, 4)) as usize;
                        cursors_video += len;
                        let bytes = &self.bytes[at..at + len];
                        let video = super::video_record::decode_video(bytes).map_err(|reason| {
                            StoreError::Corruption(Corruption {
                                path: self.path.clone(),
                                offset: at as u64,
                                reason: format!("entry {}: {reason}", id.0),
                            })
                        })?;
                        e.video = Some(Box::new(video));
                    }
                    _ => {}
                }
            }
            out.push(e);
        }
        Ok(out)
    }

    /// The format version the file declares (one in
    /// [`MIN_SNAPSHOT_VERSION`]`..=`[`SNAPSHOT_VERSION`]).
    ///
    /// ```
    /// use referral_dedup::hashes::EntryId;
    /// use referral_dedup::store::{encode_snapshot, EntryRecord, EntrySource, SnapshotColumns, SNAPSHOT_VERSION};
    /// # fn main() -> Result<(), referral_dedup::store::StoreError> {
    /// let e = EntryRecord::new(EntryId(1), EntrySource::Known, "k");
    /// let cols = SnapshotColumns::decode(encode_snapshot([&e], &[], 1)?, "s".into())?;
    /// assert_eq!(cols.version(), SNAPSHOT_VERSION);
    /// # Ok(()) }
    /// ```
    pub fn version(&self) -> u32 {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use super::sections::{HEADER_LEN, SECTION_ENTRY_LEN};
    use super::*;
    use crate::hashes::{Blake3, Md5, Sha256};
    use crate::store::codec::ByteReader;

    fn sample() -> Vec<EntryRecord> {
        let mut a = EntryRecord::new(EntryId(3), EntrySource::Known, "k-3");
        a.hashes.pdq = Some(Pdq([9, 8, 7, 6]));
        a.hashes.extra_pdq = vec![Pdq([1; 4]), Pdq([2; 4])];
        a.hashes.md5 = Some(Md5([7; 16]));
        a.label = Some("list".into());
        let mut b = EntryRecord::new(EntryId(1), EntrySource::Referral, "r-1");
        b.url_key = Some("youtube:xyz".into());
        b.hashes.dhash = Some(Hash64(5));
        b.hashes.phash = Some(Hash64(6));
        b.hashes.pdq_quality = Some(90);
        b.hashes.blake3 = Some(Blake3([1; 32]));
        b.hashes.sha256 = Some(Sha256([2; 32]));
        b.received_at = Some("today".into());
        b.hashes.extra_pdq = vec![Pdq([3; 4])];
        b.regions = vec![crate::entry::RegionGrid {
            code: Pdq([4; 4]),
            cells: std::array::from_fn(|i| (i * 3) as u8),
        }];
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
    fn every_kind_of_the_table_round_trips_through_a_snapshot_and_a_journal_record() {
        // Every kind the bundle holds, those added later (optional sections, bits 16 and up)
        // included, next to a row without any.
        let mut e = EntryRecord::new(EntryId(3), EntrySource::Known, "k");
        e.hashes = crate::hashes::HashBundle::with_every_kind(60);
        let plain = EntryRecord::new(EntryId(1), EntrySource::Referral, "r");
        let bytes = encode_snapshot([&e, &plain], &[], 1).unwrap();
        let cols = SnapshotColumns::decode(bytes, "s".into()).unwrap();
        assert_eq!(cols.entries().unwrap(), vec![plain, e.clone()]);
        let mut buf = Vec::new();
        let record = crate::store::Record::Insert(e);
        crate::store::codec::encode_record(&record, &mut buf).unwrap();
        let version = crate::store::JOURNAL_VERSION;
        assert_eq!(
            crate::store::codec::decode_record(&buf, version).unwrap(),
            record
        );
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
        // The file's own section count: optional sections may be absent.
        let count = read_u32(&bytes[12..]) as usize;
        let table_end = HEADER_LEN + count * SECTION_ENTRY_LEN + 8;
        if (table_end - 4..table_end).contains(&i) {
            return true;
        }
        let mut t = ByteReader::new(&bytes[HEADER_LEN..]);
        let mut covered = false;
        for _ in 0..count {
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
