//! The compact binary encoding of one [`Record`] (the journal record payload), and the bounded
//! byte reader every on-disk decoder in this module uses.
//!
//! Written by hand rather than with serde + a binary format crate because the layout is tiny,
//! must stay stable across crate upgrades (old journals are compatibility fixtures), and every
//! length read from untrusted bytes has to be checked against the bytes that remain before
//! anything is allocated; [`ByteReader`] is the one place that check lives.
//!
//! Record payload (the journal header's version covers this encoding too; all integers
//! little-endian):
//! ```text
//! tag u8: 1 = Insert, 2 = Delete, 3 = Resolve
//! Insert:  id u32, source u8 (0 referral, 1 known), present u32 (u16 before version 4; bit
//!          per optional field, see FIELD_*; a hash kind's bit is its `stored_bit` in the kind
//!          table, 16 to 30 for kinds added later: LATER_KIND_BITS), external_id str,
//!          label str, url_key str (when present), then each present hash kind in kind-table
//!          order, its stored bytes (`StoredCode`: blake3 [32], sha256 [32], md5 [16],
//!          pdq 4 x u64 in lane order, dhash u64, phash u64), the PDQ's pdq_quality u8 right
//!          after it, then received_at str, extra_pdq (u32 count, count x pdq), and since
//!          version 3 regions (u32 count, count x (pdq, 256 grid cells)) and video (u32 byte
//!          length + the `video_record` encoding)
//! Delete:  id u32
//! Resolve: short_key str, target str
//! str = u32 byte length + UTF-8 bytes
//! ```
//! Versions 1 to 3 have a 16-bit presence word; versions 1 and 2 have no regions or video:
//! [`fields_of_journal`] is the presence bits each version allows. A payload must be consumed
//! exactly: trailing bytes are corruption.

use crate::entry::{EntryRecord, EntrySource, RegionGrid, GRID_CELLS};
use crate::hashes::{EntryId, HashKind, Pdq};

use super::record::Record;

const TAG_INSERT: u8 = 1;
const TAG_DELETE: u8 = 2;
const TAG_RESOLVE: u8 = 3;

// Presence bits of the fields that are not hash kinds (a kind's bit is its `stored_bit`).
pub(crate) const FIELD_LABEL: u32 = 1 << 0;
pub(crate) const FIELD_URL_KEY: u32 = 1 << 1;
pub(crate) const FIELD_PDQ_QUALITY: u32 = 1 << 6;
pub(crate) const FIELD_RECEIVED_AT: u32 = 1 << 9;
pub(crate) const FIELD_EXTRA_PDQ: u32 = 1 << 10;
pub(crate) const FIELD_REGIONS: u32 = 1 << 11;
/// A video entry's frame codes (journal format 3, snapshot format 2; `video_record`).
pub(crate) const FIELD_VIDEO: u32 = 1 << 12;
/// The presence bits of journal versions 1 and 2 (and snapshot version 1); any other bit set
/// in a record of those versions is corruption.
pub(crate) const FIELD_ALL_V1: u32 = (1 << 11) - 1;
/// Bytes of one stored region: its PDQ and its grid.
pub(crate) const REGION_LEN: usize = 32 + GRID_CELLS;

/// The presence bit of a hash kind (0 for the URL key, which is a string field).
pub(crate) fn kind_field(kind: HashKind) -> u32 {
    kind.facts().stored_bit.map_or(0, |b| 1 << b)
}

/// Every presence bit this build writes: the version-1 fields, the regions, the video and every
/// hash kind of the kind table.
pub(crate) fn fields_current() -> u32 {
    HashKind::in_bundle().fold(FIELD_ALL_V1 | FIELD_REGIONS | FIELD_VIDEO, |f, k| {
        f | kind_field(k)
    })
}

/// The presence bits a journal of `version` may set.
pub(crate) fn fields_of_journal(version: u32) -> u32 {
    if version < 3 {
        FIELD_ALL_V1
    } else {
        fields_current()
    }
}

/// The journal version whose records (and the snapshot version whose flags, see
/// `snapshot::sections`) carry 32 presence bits; older ones carry 16.
pub(crate) const WIDE_PRESENCE_SINCE: u32 = 4;

/// Presence bits 16 to 31: reserved for hash kinds added to the kind table after journal
/// version 4 and snapshot version 3. A file with such a bit this build does not know was
/// written by a newer build: it is refused whole ([`RecordFault::Newer`]), never skipped as
/// damage, so an older build cannot drop or truncate what it cannot read.
pub(crate) const LATER_KIND_BITS: u32 = 0xffff_0000;

/// Why a record payload does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordFault {
    /// The bytes are damaged (or not a record at all): a reason text.
    Damaged(String),
    /// An intact record holds fields this build does not know (a hash kind added later).
    Newer(String),
}

impl From<String> for RecordFault {
    fn from(reason: String) -> Self {
        RecordFault::Damaged(reason)
    }
}

#[cfg(test)]
impl RecordFault {
    /// Whether the reason text contains `part`.
    pub(crate) fn contains(&self, part: &str) -> bool {
        match self {
            RecordFault::Damaged(r) | RecordFault::Newer(r) => r.contains(part),
        }
    }
}

/// Checks presence bits against those a file may set: a bit outside `allowed` is damage,
/// except in files with 32 presence bits (`wide`) where bits of [`LATER_KIND_BITS`] name hash
/// kinds of a newer build.
pub(crate) fn check_fields(present: u32, allowed: u32, wide: bool) -> Result<(), RecordFault> {
    let unknown = present & !allowed;
    if unknown == 0 {
        Ok(())
    } else if wide && unknown & !LATER_KIND_BITS == 0 {
        Err(RecordFault::Newer(format!(
            "presence bits {unknown:#010x} name hash kinds this build does not know"
        )))
    } else {
        Err(RecordFault::Damaged(format!(
            "unknown field bits {unknown:#010x}"
        )))
    }
}

/// Reads fixed-size values and length-prefixed strings from a byte slice, never past its end
/// and never allocating more than the bytes that remain.
pub(crate) struct ByteReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        ByteReader { bytes, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.remaining() {
            return Err(format!(
                "needs {n} bytes at payload byte {}, only {} remain",
                self.pos,
                self.remaining()
            ));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|e| format!("string is not UTF-8: {e}"))
    }

    pub(crate) fn pdq(&mut self) -> Result<Pdq, String> {
        Ok(Pdq([self.u64()?, self.u64()?, self.u64()?, self.u64()?]))
    }
}

#[cfg(test)]
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_pdq(out: &mut Vec<u8>, p: &Pdq) {
    for lane in p.0 {
        put_u64(out, lane);
    }
}

/// Writes a length-prefixed string; `Err(len)` if it is longer than a `u32` can say.
fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), usize> {
    let len = u32::try_from(s.len()).map_err(|_| s.len())?;
    put_u32(out, len);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

pub(crate) fn source_code(s: EntrySource) -> u8 {
    match s {
        EntrySource::Referral => 0,
        EntrySource::Known => 1,
    }
}

pub(crate) fn source_from_code(c: u8) -> Result<EntrySource, String> {
    match c {
        0 => Ok(EntrySource::Referral),
        1 => Ok(EntrySource::Known),
        other => Err(format!("unknown entry source {other}")),
    }
}

/// The presence bits of `e`'s optional fields.
pub(crate) fn presence(e: &EntryRecord) -> u32 {
    let mut p = 0;
    let mut set = |bit: u32, on: bool| {
        if on {
            p |= bit
        }
    };
    set(FIELD_LABEL, e.label.is_some());
    set(FIELD_URL_KEY, e.url_key.is_some());
    for kind in HashKind::in_bundle() {
        set(kind_field(kind), e.hashes.has(kind));
    }
    set(FIELD_PDQ_QUALITY, e.hashes.pdq_quality.is_some());
    set(FIELD_RECEIVED_AT, e.received_at.is_some());
    set(FIELD_EXTRA_PDQ, !e.hashes.extra_pdq.is_empty());
    set(FIELD_REGIONS, !e.regions.is_empty());
    set(FIELD_VIDEO, e.video.is_some());
    p
}

/// Appends a stored region: its PDQ, then its grid cells.
pub(crate) fn put_region(out: &mut Vec<u8>, r: &RegionGrid) {
    put_pdq(out, &r.code);
    out.extend_from_slice(&r.cells);
}

/// Reads a stored region from exactly [`REGION_LEN`] bytes.
pub(crate) fn read_region(v: &[u8]) -> RegionGrid {
    let mut r = ByteReader::new(v);
    let code = r.pdq().unwrap_or_default();
    let cells = r.array().unwrap_or([0; GRID_CELLS]);
    RegionGrid { code, cells }
}

/// Writes a `u32` count, `Err(len)` when it does not fit.
fn put_count(out: &mut Vec<u8>, len: usize) -> Result<(), usize> {
    put_u32(out, u32::try_from(len).map_err(|_| len)?);
    Ok(())
}

/// Appends the payload of `record` to `out`; `Err(len)` names a string too long to encode.
pub(crate) fn encode_record(record: &Record, out: &mut Vec<u8>) -> Result<(), usize> {
    match record {
        Record::Insert(e) => {
            out.push(TAG_INSERT);
            put_u32(out, e.id.0);
            out.push(source_code(e.source));
            put_u32(out, presence(e));
            put_str(out, &e.external_id)?;
            if let Some(s) = &e.label {
                put_str(out, s)?;
            }
            if let Some(s) = &e.url_key {
                put_str(out, s)?;
            }
            for kind in HashKind::in_bundle() {
                e.hashes.put_stored(kind, out);
                if kind == HashKind::Pdq {
                    if let Some(q) = e.hashes.pdq_quality {
                        out.push(q);
                    }
                }
            }
            if let Some(s) = &e.received_at {
                put_str(out, s)?;
            }
            if !e.hashes.extra_pdq.is_empty() {
                put_count(out, e.hashes.extra_pdq.len())?;
                for p in &e.hashes.extra_pdq {
                    put_pdq(out, p);
                }
            }
            if !e.regions.is_empty() {
                put_count(out, e.regions.len())?;
                for r in &e.regions {
                    put_region(out, r);
                }
            }
            if let Some(v) = &e.video {
                let bytes = super::video_record::encode_video(v)?;
                put_u32(out, u32::try_from(bytes.len()).map_err(|_| bytes.len())?);
                out.extend_from_slice(&bytes);
            }
        }
        Record::Delete(id) => {
            out.push(TAG_DELETE);
            put_u32(out, id.0);
        }
        Record::Resolve { short_key, target } => {
            out.push(TAG_RESOLVE);
            put_str(out, short_key)?;
            put_str(out, target)?;
        }
    }
    Ok(())
}

/// Reads a `u32` count of items of `width` bytes, refusing 0 and any count the remaining bytes
/// cannot hold (before anything is allocated).
fn read_count(r: &mut ByteReader<'_>, what: &str, width: usize) -> Result<usize, String> {
    let n = r.u32()? as usize;
    if n == 0 {
        return Err(format!("{what} flagged present with count 0"));
    }
    if n > r.remaining() / width {
        return Err(format!(
            "{what} count {n} exceeds the {} bytes that remain",
            r.remaining()
        ));
    }
    Ok(n)
}

/// Decodes one record payload of a journal of `version` (which must be consumed exactly). The
/// error is a reason text; the caller adds the path and offset.
pub(crate) fn decode_record(payload: &[u8], version: u32) -> Result<Record, RecordFault> {
    let mut r = ByteReader::new(payload);
    let record = match r.u8()? {
        TAG_INSERT => {
            let id = EntryId(r.u32()?);
            let source = source_from_code(r.u8()?)?;
            let present = if version >= WIDE_PRESENCE_SINCE {
                r.u32()?
            } else {
                u32::from(r.u16()?)
            };
            check_fields(
                present,
                fields_of_journal(version),
                version >= WIDE_PRESENCE_SINCE,
            )?;
            let has = |bit: u32| present & bit != 0;
            let mut e = EntryRecord::new(id, source, r.str()?);
            if has(FIELD_LABEL) {
                e.label = Some(r.str()?.to_owned());
            }
            if has(FIELD_URL_KEY) {
                e.url_key = Some(r.str()?.to_owned());
            }
            for kind in HashKind::in_bundle() {
                if has(kind_field(kind)) {
                    e.hashes.set_stored(kind, r.take(kind.facts().width())?);
                }
                if kind == HashKind::Pdq && has(FIELD_PDQ_QUALITY) {
                    e.hashes.pdq_quality = Some(r.u8()?);
                }
            }
            if has(FIELD_RECEIVED_AT) {
                e.received_at = Some(r.str()?.to_owned());
            }
            if has(FIELD_EXTRA_PDQ) {
                let n = read_count(&mut r, "extra_pdq", 32)?;
                e.hashes.extra_pdq.reserve_exact(n);
                for _ in 0..n {
                    e.hashes.extra_pdq.push(r.pdq()?);
                }
            }
            if has(FIELD_REGIONS) {
                let n = read_count(&mut r, "regions", REGION_LEN)?;
                e.regions.reserve_exact(n);
                for _ in 0..n {
                    e.regions.push(read_region(r.take(REGION_LEN)?));
                }
            }
            if has(FIELD_VIDEO) {
                let len = r.u32()? as usize;
                let video = super::video_record::decode_video(r.take(len)?)?;
                e.video = Some(Box::new(video));
            }
            Record::Insert(e)
        }
        TAG_DELETE => Record::Delete(EntryId(r.u32()?)),
        TAG_RESOLVE => {
            let short_key = r.str()?.to_owned();
            let target = r.str()?.to_owned();
            Record::Resolve { short_key, target }
        }
        other => return Err(format!("unknown record tag {other}").into()),
    };
    if r.remaining() != 0 {
        return Err(format!("{} trailing bytes after the record", r.remaining()).into());
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashes::{Blake3, Hash64, Md5, Sha256};

    const V: u32 = super::super::framing::JOURNAL.current;

    fn full_entry() -> EntryRecord {
        let mut e = EntryRecord::new(EntryId(9), EntrySource::Known, "list-1");
        e.label = Some("campaign".into());
        e.url_key = Some("youtube:abc".into());
        e.hashes.blake3 = Some(Blake3([1; 32]));
        e.hashes.sha256 = Some(Sha256([2; 32]));
        e.hashes.md5 = Some(Md5([3; 16]));
        e.hashes.pdq = Some(Pdq([4, 5, 6, 7]));
        e.hashes.pdq_quality = Some(88);
        e.hashes.dhash = Some(Hash64(8));
        e.hashes.phash = Some(Hash64(9));
        e.hashes.extra_pdq = vec![Pdq([1, 1, 1, 1]), Pdq([2, 2, 2, 2])];
        e.received_at = Some("2026-01-01".into());
        e.regions = vec![
            RegionGrid {
                code: Pdq([3; 4]),
                cells: std::array::from_fn(|i| i as u8),
            },
            RegionGrid {
                code: Pdq([4; 4]),
                cells: [9; GRID_CELLS],
            },
        ];
        e
    }

    #[test]
    fn every_record_kind_round_trips() {
        for rec in [
            Record::Insert(full_entry()),
            Record::Insert(EntryRecord::new(EntryId(0), EntrySource::Referral, "")),
            Record::Delete(EntryId(u32::MAX)),
            Record::Resolve {
                short_key: "bit.ly/x".into(),
                target: "https://example.org/ü".into(),
            },
        ] {
            let mut buf = Vec::new();
            encode_record(&rec, &mut buf).unwrap();
            assert_eq!(decode_record(&buf, V).unwrap(), rec);
        }
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_rejected() {
        let mut buf = Vec::new();
        encode_record(&Record::Insert(full_entry()), &mut buf).unwrap();
        for cut in 0..buf.len() {
            assert!(decode_record(&buf[..cut], V).is_err(), "cut at {cut}");
        }
        buf.push(0);
        assert!(decode_record(&buf, V).unwrap_err().contains("trailing"));
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        // Insert with only the extra_pdq bit and a count of u32::MAX.
        let mut buf = vec![TAG_INSERT];
        put_u32(&mut buf, 1);
        buf.push(0);
        put_u32(&mut buf, FIELD_EXTRA_PDQ);
        put_u32(&mut buf, 0);
        put_u32(&mut buf, u32::MAX);
        assert!(decode_record(&buf, V).unwrap_err().contains("exceeds"));
        // A string length of u32::MAX.
        let mut buf = vec![TAG_RESOLVE];
        put_u32(&mut buf, u32::MAX);
        assert!(decode_record(&buf, V).unwrap_err().contains("remain"));
    }

    #[test]
    fn unknown_tags_sources_and_bits_are_rejected() {
        assert!(decode_record(&[9], V).unwrap_err().contains("tag"));
        assert!(decode_record(&[], V).is_err());
        let mut buf = vec![TAG_INSERT];
        put_u32(&mut buf, 1);
        buf.push(7);
        assert!(decode_record(&buf, V).unwrap_err().contains("source"));
        let mut buf = vec![TAG_INSERT];
        put_u32(&mut buf, 1);
        buf.push(0);
        put_u32(&mut buf, 1 << 15);
        let fault = decode_record(&buf, V).unwrap_err();
        assert!(matches!(fault, RecordFault::Damaged(_)) && fault.contains("bits"));
    }
}

#[cfg(test)]
mod version_tests {
    use super::*;
    use crate::hashes::Hash64;

    /// An insert of id 2, referral, external id "r", with `present` written as a presence word
    /// of `version`, followed by `rest`.
    fn insert_bytes(version: u32, present: u32, rest: &[u8]) -> Vec<u8> {
        let mut out = vec![TAG_INSERT];
        put_u32(&mut out, 2);
        out.push(0);
        if version >= WIDE_PRESENCE_SINCE {
            put_u32(&mut out, present);
        } else {
            put_u16(&mut out, u16::try_from(present).unwrap());
        }
        put_str(&mut out, "r").unwrap();
        out.extend_from_slice(rest);
        out
    }

    #[test]
    fn without_regions_a_record_is_the_version_1_layout_with_its_version_s_presence_word() {
        // Layout written by hand: quality right after the PDQ, then dHash.
        let mut e = EntryRecord::new(EntryId(2), EntrySource::Referral, "r");
        e.hashes.pdq = Some(Pdq([1, 2, 3, 4]));
        e.hashes.pdq_quality = Some(70);
        e.hashes.dhash = Some(Hash64(5));
        let present = kind_field(HashKind::Pdq) | FIELD_PDQ_QUALITY | kind_field(HashKind::Dhash);
        let mut rest = Vec::new();
        put_pdq(&mut rest, &Pdq([1, 2, 3, 4]));
        rest.push(70);
        put_u64(&mut rest, 5);
        let mut buf = Vec::new();
        encode_record(&Record::Insert(e.clone()), &mut buf).unwrap();
        assert_eq!(buf, insert_bytes(4, present, &rest));
        for version in 1..=4 {
            let bytes = insert_bytes(version, present, &rest);
            assert_eq!(
                decode_record(&bytes, version).unwrap(),
                Record::Insert(e.clone())
            );
        }
    }

    #[test]
    fn regions_are_refused_in_older_versions_and_huge_counts_before_allocating() {
        let mut e = EntryRecord::new(EntryId(2), EntrySource::Referral, "r");
        e.regions = vec![RegionGrid {
            code: Pdq([1; 4]),
            cells: [2; GRID_CELLS],
        }];
        let mut region = Vec::new();
        put_u32(&mut region, 1);
        put_region(&mut region, &e.regions[0]);
        for version in 3..=4 {
            let bytes = insert_bytes(version, FIELD_REGIONS, &region);
            assert_eq!(
                decode_record(&bytes, version).unwrap(),
                Record::Insert(e.clone())
            );
        }
        let old = insert_bytes(2, FIELD_REGIONS, &region);
        assert!(decode_record(&old, 2).unwrap_err().contains("bits"));
        let mut huge = Vec::new();
        put_u32(&mut huge, u32::MAX);
        let buf = insert_bytes(3, FIELD_REGIONS, &huge);
        assert!(decode_record(&buf, 3).unwrap_err().contains("exceeds"));
    }

    #[test]
    fn a_later_kind_bit_is_a_newer_build_in_wide_records_and_damage_before() {
        // Every later bit that no kind of this build holds.
        for bit in (16..32).filter(|b| fields_current() & 1 << b == 0) {
            let bytes = insert_bytes(4, 1 << bit, &[]);
            let fault = decode_record(&bytes, 4).unwrap_err();
            assert!(
                matches!(fault, RecordFault::Newer(_)),
                "bit {bit}: {fault:?}"
            );
            assert!(fault.contains("hash kinds this build does not know"));
        }
        // Bits 13 and 14 are not kind bits: damage, as is any bit in a 16-bit record.
        for bit in [13, 14] {
            let fault = decode_record(&insert_bytes(4, 1 << bit, &[]), 4).unwrap_err();
            assert!(matches!(fault, RecordFault::Damaged(_)), "bit {bit}");
        }
        let fault = decode_record(&insert_bytes(3, 1 << 14, &[]), 3).unwrap_err();
        assert!(matches!(fault, RecordFault::Damaged(_)));
        // A newer bit next to an unknown low bit is damage, not a newer build.
        let fault = decode_record(&insert_bytes(4, 1 << 31 | 1 << 13, &[]), 4).unwrap_err();
        assert!(matches!(fault, RecordFault::Damaged(_)));
    }
}
