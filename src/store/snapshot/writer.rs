//! Writing a snapshot: rows into the sections [`SECTIONS`] declares, then the shared header,
//! the section table and the sections, 8-byte aligned.

use std::io::{BufWriter, Write};

use crate::entry::{EntryRecord, EntrySource};

use super::super::codec::{presence, put_pdq, put_region, put_u32, put_u64};
use super::super::error::StoreError;
use super::super::framing::SNAPSHOT;
use super::sections::{
    optional_sections, sections_of, Layout, Section, HEADER_FIELDS_LEN, HEADER_LEN, ROW_STRINGS,
    SECTIONS, SECTION_COUNT, SECTION_ENTRY_LEN, SOURCE_KNOWN_BIT, STRING_BYTES, STRING_LENS,
};

/// Section builders for one snapshot.
struct Builder {
    sections: [Vec<u8>; SECTION_COUNT],
    strings: u64,
    extra_pdq: u64,
}

/// A count as the `u32` the file holds.
fn count(len: usize) -> Result<u32, StoreError> {
    u32::try_from(len).map_err(|_| StoreError::RecordTooLarge {
        len,
        max: u32::MAX as usize,
    })
}

impl Builder {
    fn put_str(&mut self, s: &str) -> Result<(), StoreError> {
        let len = u32::try_from(s.len()).map_err(|_| StoreError::RecordTooLarge {
            len: s.len(),
            max: u32::MAX as usize,
        })?;
        put_u32(&mut self.sections[STRING_LENS], len);
        self.sections[STRING_BYTES].extend_from_slice(s.as_bytes());
        self.strings += 1;
        Ok(())
    }

    fn push_entry(&mut self, e: &EntryRecord) -> Result<(), StoreError> {
        let present = presence(e);
        let video = match &e.video {
            Some(v) => Some(super::super::video_record::encode_video(v).map_err(|len| {
                StoreError::RecordTooLarge {
                    len,
                    max: u32::MAX as usize,
                }
            })?),
            None => None,
        };
        for (section, out) in SECTIONS.iter().zip(self.sections.iter_mut()) {
            match section.layout {
                Layout::Ids => put_u32(out, e.id.0),
                Layout::Flags => {
                    let known = e.source == EntrySource::Known;
                    put_u32(out, present | if known { SOURCE_KNOWN_BIT } else { 0 });
                }
                Layout::Column { field, put, .. } if present & field != 0 => put(e, out),
                Layout::Kind(kind) => {
                    e.hashes.put_stored(kind, out);
                }
                Layout::ExtraCounts if !e.hashes.extra_pdq.is_empty() => {
                    let n = count(e.hashes.extra_pdq.len())?;
                    put_u32(out, n);
                    self.extra_pdq += u64::from(n);
                }
                Layout::ExtraPdq => e.hashes.extra_pdq.iter().for_each(|p| put_pdq(out, p)),
                Layout::RegionCounts if !e.regions.is_empty() => {
                    put_u32(out, count(e.regions.len())?);
                }
                Layout::Regions => e.regions.iter().for_each(|r| put_region(out, r)),
                Layout::VideoLens => {
                    if let Some(v) = &video {
                        let len =
                            u32::try_from(v.len()).map_err(|_| StoreError::RecordTooLarge {
                                len: v.len(),
                                max: u32::MAX as usize,
                            })?;
                        put_u32(out, len);
                    }
                }
                Layout::VideoBytes => {
                    if let Some(v) = &video {
                        out.extend_from_slice(v);
                    }
                }
                // Strings go through `put_str`, below.
                _ => {}
            }
        }
        self.put_str(&e.external_id)?;
        for s in ROW_STRINGS.iter().filter_map(|r| (r.get)(e)) {
            self.put_str(s)?;
        }
        Ok(())
    }
}

/// Writes a snapshot of `entries` and `resolutions` to `out` in the format [`super`] describes. Entries are
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

    let mut cols = Builder {
        sections: Default::default(),
        strings: 0,
        extra_pdq: 0,
    };
    for e in &sorted {
        cols.push_entry(e)?;
    }
    for (short_key, target) in &deduped {
        cols.put_str(short_key)?;
        cols.put_str(target)?;
    }

    // Every section of the current version, then the optional ones (hash kinds added later)
    // that some row has.
    let written: Vec<(usize, &Section)> = sections_of(SNAPSHOT.current)
        .chain(optional_sections().filter(|(i, _)| !cols.sections[*i].is_empty()))
        .collect();
    let mut fields = Vec::with_capacity(HEADER_FIELDS_LEN);
    put_u32(&mut fields, written.len() as u32);
    put_u64(&mut fields, sorted.len() as u64);
    put_u64(&mut fields, deduped.len() as u64);
    put_u64(&mut fields, first_journal);
    put_u64(&mut fields, cols.strings);
    put_u64(&mut fields, cols.extra_pdq);
    put_u32(&mut fields, 0);
    let header = SNAPSHOT.header(&fields);
    debug_assert_eq!(header.len(), HEADER_LEN);

    let present = written.len();
    let mut table = Vec::with_capacity(present * SECTION_ENTRY_LEN + 8);
    let mut offset = (HEADER_LEN + present * SECTION_ENTRY_LEN + 8) as u64;
    let mut pads = [0usize; SECTION_COUNT];
    for &(i, section) in &written {
        let bytes = &cols.sections[i];
        put_u32(&mut table, section.kind);
        put_u32(&mut table, crc32fast::hash(bytes));
        put_u64(&mut table, offset);
        put_u64(&mut table, bytes.len() as u64);
        let end = offset + bytes.len() as u64;
        let aligned = end.next_multiple_of(8);
        pads[i] = (aligned - end) as usize;
        offset = aligned;
    }
    let crc = crc32fast::hash(&table);
    put_u32(&mut table, crc);
    put_u32(&mut table, 0);

    let mut w = BufWriter::with_capacity(1 << 20, out);
    w.write_all(&header)?;
    w.write_all(&table)?;
    for &(i, _) in &written {
        w.write_all(&cols.sections[i])?;
        w.write_all(&[0u8; 8][..pads[i]])?;
    }
    w.flush()?;
    Ok(())
}

/// The bytes of a snapshot holding `entries` and `resolutions`: the in-memory twin of
/// [`Store::snapshot`](crate::store::Store::snapshot), for fixtures and tests.
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
