//! The checks that make a decoded snapshot safe to read without further checks: the header,
//! the section table (bounds and checksums), id order, extra-PDQ counts and the strings.

use std::ops::Range;
use std::path::Path;

use super::super::codec::ByteReader;
use super::super::error::{Corruption, StoreError};
use super::super::framing::{HeaderDamage, SNAPSHOT};
use super::sections::{
    optional_sections, read_u32, sections_of, EXTRA_COUNTS, HEADER_FIELDS_LEN, HEADER_LEN, IDS,
    REGIONS, REGION_BYTES, REGION_COUNTS, SECTIONS, SECTION_COUNT, SECTION_ENTRY_LEN, STRING_BYTES,
    STRING_LENS, WIDE_FLAGS_SINCE,
};

/// The header's counts, as read.
pub(super) struct HeaderCounts {
    pub(super) version: u32,
    pub(super) section_count: u32,
    pub(super) rows: u64,
    pub(super) resolutions: u64,
    pub(super) first_journal: u64,
    pub(super) strings: u64,
    pub(super) extra_pdq: u64,
}

/// Reads and checks the header: magic, checksum, version, counts.
pub(super) fn read_header(bytes: &[u8], path: &Path) -> Result<HeaderCounts, StoreError> {
    let corrupt = |offset: usize, reason: String| {
        StoreError::Corruption(Corruption {
            path: path.to_path_buf(),
            offset: offset as u64,
            reason,
        })
    };
    let header = SNAPSHOT
        .read_header(bytes, HEADER_FIELDS_LEN)
        .map_err(|damage| match damage {
            HeaderDamage::Truncated { len } => {
                corrupt(0, format!("snapshot header is truncated: {len} bytes"))
            }
            HeaderDamage::BadMagic => corrupt(0, "not a snapshot file: bad magic".into()),
            HeaderDamage::Checksum { stored, computed } => corrupt(
                HEADER_LEN - 4,
                format!("header checksum mismatch: stored {stored:08x}, computed {computed:08x}"),
            ),
            HeaderDamage::Malformed(what) => corrupt(0, what.into()),
        })?;
    let version = SNAPSHOT.check_version(header.version, path)?;
    let mut r = ByteReader::new(header.fields);
    let fields =
        (|| Ok::<_, String>((r.u32()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?)))();
    let (section_count, rows, resolutions, first_journal, strings, extra_pdq) =
        fields.map_err(|e| corrupt(12, e))?;
    Ok(HeaderCounts {
        version,
        section_count,
        rows,
        resolutions,
        first_journal,
        strings,
        extra_pdq,
    })
}

/// Reads the section table of a file of `version` with `count` sections: every section the
/// version has, then the optional sections (hash kinds added later) the file holds, each inside
/// the file after the table, matching its checksum; the file ends with the last one (plus its
/// padding). Sections the file lacks get empty ranges. An intact table naming a section this
/// build does not know is [`StoreError::NewerFeature`] (a newer build wrote it), not damage.
pub(super) fn read_section_table(
    bytes: &[u8],
    version: u32,
    count: usize,
    path: &Path,
    corrupt: &impl Fn(usize, String) -> StoreError,
) -> Result<[Range<usize>; SECTION_COUNT], StoreError> {
    let required = sections_of(version).count();
    if count < required || (version < WIDE_FLAGS_SINCE && count != required) {
        return Err(corrupt(
            12,
            format!("{count} sections, version {version} has {required}"),
        ));
    }
    let table_len = count
        .checked_mul(SECTION_ENTRY_LEN)
        .filter(|&len| len <= bytes.len())
        .ok_or_else(|| corrupt(HEADER_LEN, "section table is truncated".into()))?;
    let table_end = HEADER_LEN + table_len + 8;
    if bytes.len() < table_end {
        return Err(corrupt(HEADER_LEN, "section table is truncated".into()));
    }
    let table = &bytes[HEADER_LEN..HEADER_LEN + table_len];
    let stored = read_u32(&bytes[HEADER_LEN + table_len..]);
    let actual = crc32fast::hash(table);
    if stored != actual {
        return Err(corrupt(
            HEADER_LEN + table_len,
            format!("section table checksum mismatch: stored {stored:08x}, computed {actual:08x}"),
        ));
    }
    let mut sections: [Range<usize>; SECTION_COUNT] = Default::default();
    let mut t = ByteReader::new(table);
    let mut expected = sections_of(version);
    let mut optional = optional_sections().peekable();
    for row in 0..count {
        let at = HEADER_LEN + row * SECTION_ENTRY_LEN;
        let read = (|| Ok::<_, String>((t.u32()?, t.u32()?, t.u64()?, t.u64()?)))();
        let (kind, crc, off, len) = read.map_err(|e| corrupt(at, e))?;
        let (i, section) = match expected.next() {
            Some((i, section)) if kind == section.kind => (i, section),
            Some((_, section)) => {
                return Err(corrupt(
                    at,
                    format!("section {} has kind {kind}", section.kind),
                ))
            }
            None => {
                // Optional sections, in table order, each at most once.
                while optional.next_if(|(_, s)| s.kind < kind).is_some() {}
                match optional.next_if(|(_, s)| s.kind == kind) {
                    Some(found) => found,
                    None if SECTIONS.iter().any(|s| s.kind == kind) => {
                        return Err(corrupt(at, format!("section {kind} is out of order")))
                    }
                    None => {
                        return Err(StoreError::NewerFeature {
                            path: path.to_path_buf(),
                            reason: format!(
                                "section {kind} holds a hash kind this build does not know"
                            ),
                        })
                    }
                }
            }
        };
        let end = off.checked_add(len).filter(|&e| e <= bytes.len() as u64);
        let Some(end) = end.filter(|_| off >= table_end as u64) else {
            return Err(corrupt(
                at,
                format!(
                    "section {} ({len} bytes at {off}) lies outside the {}-byte file",
                    section.name,
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
                    section.name
                ),
            ));
        }
        sections[i] = range;
    }
    // The writer pads the last section to 8 bytes and stops: anything else is truncation or
    // trailing garbage.
    let data_end = sections
        .iter()
        .map(|r| r.end)
        .max()
        .unwrap_or(0)
        .max(table_end);
    if bytes.len() != data_end.next_multiple_of(8) {
        return Err(corrupt(
            data_end,
            format!(
                "file is {} bytes, its sections end at {data_end}",
                bytes.len()
            ),
        ));
    }
    Ok(sections)
}

/// Ids strictly increasing.
pub(super) fn check_ids(
    bytes: &[u8],
    sections: &[Range<usize>; SECTION_COUNT],
    corrupt: &impl Fn(usize, String) -> StoreError,
) -> Result<(), StoreError> {
    let mut prev: Option<u32> = None;
    for (row, c) in bytes[sections[IDS].clone()].chunks_exact(4).enumerate() {
        let id = read_u32(c);
        if prev.is_some_and(|p| p >= id) {
            return Err(corrupt(
                sections[IDS].start + 4 * row,
                format!("ids are not strictly increasing at row {row}"),
            ));
        }
        prev = Some(id);
    }
    Ok(())
}

/// The sum of the `u32` counts in section `at`, each at least 1 (`what` names them in the
/// error).
fn sum_counts(
    bytes: &[u8],
    sections: &[Range<usize>; SECTION_COUNT],
    at: usize,
    what: &str,
    corrupt: &impl Fn(usize, String) -> StoreError,
) -> Result<u64, StoreError> {
    let mut sum = 0u64;
    for (i, c) in bytes[sections[at].clone()].chunks_exact(4).enumerate() {
        let c = read_u32(c);
        if c == 0 {
            return Err(corrupt(sections[at].start + 4 * i, format!("{what} 0")));
        }
        sum += u64::from(c);
    }
    Ok(sum)
}

/// Extra-PDQ counts: each at least 1, summing to the header's count.
pub(super) fn check_extra_counts(
    bytes: &[u8],
    sections: &[Range<usize>; SECTION_COUNT],
    expected: u64,
    corrupt: &impl Fn(usize, String) -> StoreError,
) -> Result<(), StoreError> {
    let sum = sum_counts(bytes, sections, EXTRA_COUNTS, "extra PDQ count", corrupt)?;
    if sum != expected {
        return Err(corrupt(
            sections[EXTRA_COUNTS].start,
            format!("extra PDQ counts sum to {sum}, header says {expected}"),
        ));
    }
    Ok(())
}

/// Every region count is at least 1 and the regions section holds exactly the regions they
/// sum to (both sections are empty in files before version 2).
pub(super) fn check_regions(
    bytes: &[u8],
    sections: &[Range<usize>; SECTION_COUNT],
    corrupt: &impl Fn(usize, String) -> StoreError,
) -> Result<(), StoreError> {
    let sum = sum_counts(bytes, sections, REGION_COUNTS, "region count", corrupt)?;
    let len = sections[REGIONS].len() as u64;
    if sum.checked_mul(REGION_BYTES as u64) != Some(len) {
        return Err(corrupt(
            sections[REGIONS].start,
            format!("region counts sum to {sum}, the regions section is {len} bytes"),
        ));
    }
    Ok(())
}

/// The string bytes are UTF-8 as a whole (one pass), every string starts and ends on a
/// character boundary, and the lengths sum to the blob.
pub(super) fn check_strings(
    bytes: &[u8],
    sections: &[Range<usize>; SECTION_COUNT],
    corrupt: &impl Fn(usize, String) -> StoreError,
) -> Result<(), StoreError> {
    let blob = std::str::from_utf8(&bytes[sections[STRING_BYTES].clone()]).map_err(|e| {
        corrupt(
            sections[STRING_BYTES].start + e.valid_up_to(),
            "string bytes are not UTF-8".into(),
        )
    })?;
    let mut at = 0usize;
    for (i, c) in bytes[sections[STRING_LENS].clone()]
        .chunks_exact(4)
        .enumerate()
    {
        let len = read_u32(c) as usize;
        if blob.get(at..at.saturating_add(len)).is_none() {
            return Err(corrupt(
                sections[STRING_LENS].start + 4 * i,
                format!(
                    "string {i} of {len} bytes at {at} runs past the string bytes or splits a character"
                ),
            ));
        }
        at += len;
    }
    if at != blob.len() {
        return Err(corrupt(
            sections[STRING_BYTES].start + at,
            format!("{} unused bytes after the strings", blob.len() - at),
        ));
    }
    Ok(())
}
