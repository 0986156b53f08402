//! The snapshot's sections, declared once: [`SECTIONS`] lists every section with its id in the
//! file, its name in messages, the first format version that has it, and its [`Layout`] (how a
//! row is written into it, how long it must be, how a row is read back). The writer, the
//! validating decoder and the row decoder all walk this one table.
//!
//! Adding a field: give it a presence bit in the record codec, add a row here with
//! `since` = the new snapshot version (older files simply lack the section: it reads as empty),
//! bump `framing::SNAPSHOT.current`, and commit a fixture of the new version.
//!
//! Adding a **hash kind** needs no new version: its row is `later(section(ID, NAME,
//! Layout::Kind(kind)))` with an id of at least 64 and its kind's presence bit one of
//! `codec::LATER_KIND_BITS` (16 to 31). Such a section is written only when some row has the
//! kind, after every other section, so files without the kind are byte for byte what they
//! were; a build that does not know the section refuses the file as written by a newer build
//! (`StoreError::NewerFeature`) instead of reading it as damaged.

use crate::entry::EntryRecord;
use crate::hashes::{HashKind, Pdq};

use super::super::codec::{
    fields_current, kind_field, FIELD_ALL_V1, FIELD_EXTRA_PDQ, FIELD_LABEL, FIELD_PDQ_QUALITY,
    FIELD_RECEIVED_AT, FIELD_REGIONS, FIELD_URL_KEY, FIELD_VIDEO, LATER_KIND_BITS, REGION_LEN,
};
use super::super::framing::FileFormat;

/// How a section's bytes relate to the rows.
#[derive(Clone, Copy)]
pub(crate) enum Layout {
    /// One `u32` id per row, strictly increasing.
    Ids,
    /// One flag word per row (`u16` before version 3, `u32` since, [`flag_width`]): the
    /// codec's presence bits, plus [`SOURCE_KNOWN_BIT`].
    Flags,
    /// `width` bytes per row whose flags have `field`, in row order ("sparse").
    Column {
        /// The presence bit of the field.
        field: u32,
        /// Bytes per value.
        width: usize,
        /// Appends the row's value (called only when the field is present).
        put: fn(&EntryRecord, &mut Vec<u8>),
        /// Reads the row's value from exactly `width` bytes.
        get: fn(&[u8], &mut EntryRecord),
    },
    /// The stored bytes ([`crate::hashes::StoredCode`]) of one hash kind per row that has
    /// it, in row order ("sparse"); presence bit and width from the kind table.
    Kind(HashKind),
    /// One `u32` count (at least 1) per row with extra PDQs.
    ExtraCounts,
    /// 32 bytes per extra PDQ, rows in order.
    ExtraPdq,
    /// One `u32` byte length per string: per row its strings (see [`ROW_STRINGS`]), then
    /// `short_key`, `target` per resolution.
    StringLens,
    /// The strings' UTF-8 bytes, concatenated.
    StringBytes,
    /// One `u32` count (at least 1) per row with regions (since version 2).
    RegionCounts,
    /// [`REGION_LEN`] bytes per region (its PDQ, then its 256 grid cells), rows in order.
    Regions,
    /// One `u32` byte length per row with a video (`FIELD_VIDEO`), in row order (since 2).
    VideoLens,
    /// The rows' video fields (`store::video_record` encoding), concatenated (since 2).
    VideoBytes,
}

/// One section of the snapshot file.
#[derive(Clone, Copy)]
pub(crate) struct Section {
    /// Its id in the file's section table.
    pub(crate) kind: u32,
    /// Its name in messages.
    pub(crate) name: &'static str,
    /// The first snapshot version that has it.
    pub(crate) since: u32,
    /// A hash kind added after version 3: present only in files with a row that has it.
    pub(crate) optional: bool,
    /// What it holds.
    pub(crate) layout: Layout,
}

/// Bytes of the header's own fields: section count u32, five counts u64, reserved u32.
pub(crate) const HEADER_FIELDS_LEN: usize = 48;
/// The whole header (the shared framing around those fields).
pub(crate) const HEADER_LEN: usize = FileFormat::header_len(HEADER_FIELDS_LEN);
/// One row of the section table: kind u32, crc32 u32, offset u64, length u64.
pub(crate) const SECTION_ENTRY_LEN: usize = 24;

/// The sections every file of `version` has, in file order, with their positions in
/// [`SECTIONS`]. Optional sections ([`optional_sections`]) may follow them.
pub(crate) fn sections_of(version: u32) -> impl Iterator<Item = (usize, &'static Section)> {
    SECTIONS
        .iter()
        .enumerate()
        .filter(move |(_, s)| s.since <= version && !s.optional)
}

/// The sections of hash kinds added after version 3, in file order, with their positions in
/// [`SECTIONS`].
pub(crate) fn optional_sections() -> impl Iterator<Item = (usize, &'static Section)> {
    SECTIONS.iter().enumerate().filter(|(_, s)| s.optional)
}

/// Bytes of one row's flags in a file of `version`.
pub(crate) const fn flag_width(version: u32) -> usize {
    if version >= WIDE_FLAGS_SINCE {
        4
    } else {
        2
    }
}

/// The snapshot version whose flags are 32 bits wide.
pub(crate) const WIDE_FLAGS_SINCE: u32 = 3;

/// Flag bit 15: the entry is known content (clear: a referral).
pub(crate) const SOURCE_KNOWN_BIT: u32 = 1 << 15;

const fn section(kind: u32, name: &'static str, layout: Layout) -> Section {
    Section {
        kind,
        name,
        since: 1,
        optional: false,
        layout,
    }
}

/// The section of a hash kind added after snapshot version 3 (see the module docs).
#[allow(dead_code)] // used by the rows of hash kinds added later; none yet
const fn later(section: Section) -> Section {
    Section {
        since: WIDE_FLAGS_SINCE,
        optional: true,
        ..section
    }
}

const fn since(version: u32, section: Section) -> Section {
    Section {
        since: version,
        ..section
    }
}

/// Every section, in file order.
pub(crate) const SECTIONS: [Section; 17] = [
    section(1, "ids", Layout::Ids),
    section(2, "flags", Layout::Flags),
    section(3, "pdq", Layout::Kind(HashKind::Pdq)),
    section(
        4,
        "pdq_quality",
        Layout::Column {
            field: FIELD_PDQ_QUALITY,
            width: 1,
            put: |e, out| out.push(e.hashes.pdq_quality.unwrap_or_default()),
            get: |v, e| e.hashes.pdq_quality = Some(v[0]),
        },
    ),
    section(5, "dhash", Layout::Kind(HashKind::Dhash)),
    section(6, "phash", Layout::Kind(HashKind::Phash)),
    section(7, "blake3", Layout::Kind(HashKind::Blake3)),
    section(8, "sha256", Layout::Kind(HashKind::Sha256)),
    section(9, "md5", Layout::Kind(HashKind::Md5)),
    section(10, "extra counts", Layout::ExtraCounts),
    section(11, "extra pdq", Layout::ExtraPdq),
    section(12, "string lens", Layout::StringLens),
    section(13, "string bytes", Layout::StringBytes),
    since(2, section(14, "region counts", Layout::RegionCounts)),
    since(2, section(15, "regions", Layout::Regions)),
    since(2, section(16, "video lens", Layout::VideoLens)),
    since(2, section(17, "video bytes", Layout::VideoBytes)),
];

/// Number of sections in the table (all versions).
pub(crate) const SECTION_COUNT: usize = SECTIONS.len();

/// Position in [`SECTIONS`] of the column holding `field`, with its width, if one does.
pub(crate) fn column_position(field: u32) -> Option<(usize, usize)> {
    SECTIONS.iter().enumerate().find_map(|(i, s)| {
        let (f, width) = s.field_and_width()?;
        (f == field).then_some((i, width))
    })
}

/// The presence bits a snapshot of `version` may set (besides [`SOURCE_KNOWN_BIT`]).
pub(crate) fn fields_of_snapshot(version: u32) -> u32 {
    if version < 2 {
        FIELD_ALL_V1
    } else if version < WIDE_FLAGS_SINCE {
        fields_current() & !LATER_KIND_BITS
    } else {
        fields_current()
    }
}

/// Where the ids are in [`SECTIONS`].
pub(crate) const IDS: usize = 0;
/// Where the flags are.
pub(crate) const FLAGS: usize = 1;
/// Where the extra-PDQ counts are.
pub(crate) const EXTRA_COUNTS: usize = 9;
/// Where the extra PDQs are.
pub(crate) const EXTRA_PDQ: usize = 10;
/// Where the string lengths are.
pub(crate) const STRING_LENS: usize = 11;
/// Where the string bytes are.
pub(crate) const STRING_BYTES: usize = 12;
/// Where the region counts are.
pub(crate) const REGION_COUNTS: usize = 13;
/// Where the regions are.
pub(crate) const REGIONS: usize = 14;
/// Where the video lengths are (format 2).
pub(crate) const VIDEO_LENS: usize = 15;
/// Where the video bytes are (format 2).
pub(crate) const VIDEO_BYTES: usize = 16;

/// An optional string of a row: its presence bit, how to read it from an entry and how to set
/// it. A row's strings are its `external_id`, then these in this order, each when present.
pub(crate) struct RowString {
    /// The presence bit.
    pub(crate) field: u32,
    /// The entry's value.
    pub(crate) get: fn(&EntryRecord) -> Option<&str>,
    /// Sets the entry's value.
    pub(crate) set: fn(&mut EntryRecord, String),
}

/// The optional strings of a row, in file order.
pub(crate) const ROW_STRINGS: [RowString; 3] = [
    RowString {
        field: FIELD_LABEL,
        get: |e| e.label.as_deref(),
        set: |e, s| e.label = Some(s),
    },
    RowString {
        field: FIELD_URL_KEY,
        get: |e| e.url_key.as_deref(),
        set: |e, s| e.url_key = Some(s),
    },
    RowString {
        field: FIELD_RECEIVED_AT,
        get: |e| e.received_at.as_deref(),
        set: |e, s| e.received_at = Some(s),
    },
];

/// The counts a snapshot's section lengths follow from: the header's, plus how many rows have
/// each flag bit.
pub(crate) struct Counts {
    /// Rows (entries).
    pub(crate) rows: u64,
    /// Strings, rows' and resolutions'.
    pub(crate) strings: u64,
    /// Extra PDQs over all rows.
    pub(crate) extra_pdq: u64,
    /// Bytes of one row's flags ([`flag_width`]).
    pub(crate) flag_width: u64,
    /// Rows with each flag bit set.
    pub(crate) per_bit: [u64; 32],
}

impl Counts {
    /// Rows whose flags have `field`.
    pub(crate) fn with(&self, field: u32) -> u64 {
        self.per_bit[field.trailing_zeros() as usize]
    }
}

impl Section {
    /// A sparse column's presence bit and bytes per value.
    pub(crate) fn field_and_width(&self) -> Option<(u32, usize)> {
        match self.layout {
            Layout::Column { field, width, .. } => Some((field, width)),
            Layout::Kind(kind) => Some((kind_field(kind), kind.facts().width())),
            _ => None,
        }
    }

    /// The length in bytes the counts imply (`Some(None)` when that overflows), or `None` when
    /// the counts do not fix it (the string bytes, checked against the lengths instead).
    pub(crate) fn expected_len(&self, c: &Counts) -> Option<Option<u64>> {
        Some(match self.layout {
            Layout::Ids => c.rows.checked_mul(4),
            Layout::Flags => c.rows.checked_mul(c.flag_width),
            Layout::Column { field, width, .. } => c.with(field).checked_mul(width as u64),
            Layout::Kind(kind) => c
                .with(kind_field(kind))
                .checked_mul(kind.facts().width() as u64),
            Layout::ExtraCounts => c.with(FIELD_EXTRA_PDQ).checked_mul(4),
            Layout::ExtraPdq => c.extra_pdq.checked_mul(32),
            Layout::StringLens => c.strings.checked_mul(4),
            Layout::RegionCounts => c.with(FIELD_REGIONS).checked_mul(4),
            Layout::VideoLens => c.with(FIELD_VIDEO).checked_mul(4),
            // Checked against the sum of the region counts or video lengths instead.
            Layout::StringBytes | Layout::Regions | Layout::VideoBytes => return None,
        })
    }
}

/// One row's flags from its 2 or 4 bytes ([`flag_width`]).
pub(crate) fn read_flags(v: &[u8]) -> u32 {
    match *v {
        [a, b] => u32::from(u16::from_le_bytes([a, b])),
        _ => read_u32(v),
    }
}

/// A little-endian `u32` from the first 4 bytes of `v`.
pub(crate) fn read_u32(v: &[u8]) -> u32 {
    u32::from_le_bytes(read_array(v))
}

/// A little-endian `u64` from the first 8 bytes of `v`.
pub(crate) fn read_u64(v: &[u8]) -> u64 {
    u64::from_le_bytes(read_array(v))
}

/// The first `N` bytes of `v` (which the caller has checked are there).
pub(crate) fn read_array<const N: usize>(v: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&v[..N]);
    out
}

/// Bytes of one region in the regions section.
pub(crate) const REGION_BYTES: usize = REGION_LEN;

/// A PDQ from 32 bytes, lanes in order.
pub(crate) fn read_pdq(v: &[u8]) -> Pdq {
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

    #[test]
    fn the_table_is_in_file_order_and_covers_every_field_once() {
        for (i, s) in SECTIONS.iter().enumerate() {
            if s.optional {
                // A hash kind added later: an id of its own range, a later presence bit, and
                // only other optional sections after it.
                assert!(s.kind >= 64, "{}", s.name);
                assert!(
                    matches!(s.layout, Layout::Kind(k) if kind_field(k) & LATER_KIND_BITS != 0)
                );
                assert!(SECTIONS[i..].iter().all(|t| t.optional));
            } else {
                assert_eq!(s.kind as usize, i + 1, "{}", s.name);
            }
        }
        assert!(SECTIONS.windows(2).all(|w| w[0].kind < w[1].kind));
        // Every kind of the bundle whose bit is a later one has an optional section; the
        // others are fixed sections.
        for kind in HashKind::in_bundle() {
            let later = kind_field(kind) & LATER_KIND_BITS != 0;
            assert!(SECTIONS
                .iter()
                .any(|s| matches!(s.layout, Layout::Kind(k) if k == kind) && s.optional == later));
        }
        let mut fields = FIELD_EXTRA_PDQ | FIELD_REGIONS | FIELD_VIDEO;
        for s in &SECTIONS {
            if let Some((field, _)) = s.field_and_width() {
                assert_eq!(fields & field, 0, "{} twice", s.name);
                fields |= field;
            }
        }
        for r in &ROW_STRINGS {
            assert_eq!(fields & r.field, 0);
            fields |= r.field;
        }
        assert_eq!(fields, fields_of_snapshot(3), "a field without a section");
        assert_eq!(fields_of_snapshot(3) & SOURCE_KNOWN_BIT, 0);
        assert_eq!(
            fields_of_snapshot(2),
            fields_of_snapshot(3) & !LATER_KIND_BITS
        );
        assert_eq!(fields_of_snapshot(1), FIELD_ALL_V1);
        for kind in HashKind::in_bundle() {
            assert!(
                SECTIONS
                    .iter()
                    .any(|s| matches!(s.layout, Layout::Kind(k) if k == kind)),
                "{kind} has no column"
            );
        }
        assert!(matches!(SECTIONS[IDS].layout, Layout::Ids));
        assert!(matches!(SECTIONS[FLAGS].layout, Layout::Flags));
        assert!(matches!(SECTIONS[EXTRA_COUNTS].layout, Layout::ExtraCounts));
        assert!(matches!(SECTIONS[EXTRA_PDQ].layout, Layout::ExtraPdq));
        assert!(matches!(SECTIONS[STRING_LENS].layout, Layout::StringLens));
        assert!(matches!(SECTIONS[STRING_BYTES].layout, Layout::StringBytes));
        assert!(matches!(
            SECTIONS[REGION_COUNTS].layout,
            Layout::RegionCounts
        ));
        assert!(matches!(SECTIONS[REGIONS].layout, Layout::Regions));
        assert!(matches!(SECTIONS[VIDEO_LENS].layout, Layout::VideoLens));
        assert!(matches!(SECTIONS[VIDEO_BYTES].layout, Layout::VideoBytes));
        assert_eq!(column_position(kind_field(HashKind::Pdq)), Some((2, 32)));
        assert_eq!(column_position(FIELD_LABEL), None);
    }
}
