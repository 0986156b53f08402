//! The compact binary encoding of one [`Record`] (the journal record payload), and the bounded
//! byte reader every on-disk decoder in this module uses.
//!
//! Written by hand rather than with serde + a binary format crate because the layout is tiny,
//! must stay stable across crate upgrades (old journals are compatibility fixtures), and every
//! length read from untrusted bytes has to be checked against the bytes that remain before
//! anything is allocated; [`ByteReader`] is the one place that check lives.
//!
//! Record payload, as of journal format version 1 (the journal header's version covers this
//! encoding too; all integers little-endian):
//! ```text
//! tag u8: 1 = Insert, 2 = Delete, 3 = Resolve
//! Insert:  id u32, source u8 (0 referral, 1 known), present u16 (bit per optional field, see
//!          FIELD_*), external_id str, then each present field in bit order:
//!          label str, url_key str, blake3 [32], sha256 [32], md5 [16], pdq 4 x u64 (lane order),
//!          pdq_quality u8, dhash u64, phash u64, received_at str, extra_pdq (u32 count, count x pdq),
//!          video (journal format 3: u32 byte length + the `video_record` encoding)
//! Delete:  id u32
//! Resolve: short_key str, target str
//! str = u32 byte length + UTF-8 bytes
//! ```
//! A payload must be consumed exactly: trailing bytes are corruption.

use crate::entry::{EntryRecord, EntrySource};
use crate::hashes::{Blake3, EntryId, Hash64, Md5, Pdq, Sha256};

use super::record::Record;

const TAG_INSERT: u8 = 1;
const TAG_DELETE: u8 = 2;
const TAG_RESOLVE: u8 = 3;

pub(crate) const FIELD_LABEL: u16 = 1 << 0;
pub(crate) const FIELD_URL_KEY: u16 = 1 << 1;
pub(crate) const FIELD_BLAKE3: u16 = 1 << 2;
pub(crate) const FIELD_SHA256: u16 = 1 << 3;
pub(crate) const FIELD_MD5: u16 = 1 << 4;
pub(crate) const FIELD_PDQ: u16 = 1 << 5;
pub(crate) const FIELD_PDQ_QUALITY: u16 = 1 << 6;
pub(crate) const FIELD_DHASH: u16 = 1 << 7;
pub(crate) const FIELD_PHASH: u16 = 1 << 8;
pub(crate) const FIELD_RECEIVED_AT: u16 = 1 << 9;
pub(crate) const FIELD_EXTRA_PDQ: u16 = 1 << 10;
/// A video entry's frame codes (journal format 3, snapshot format 2; `video_record`).
pub(crate) const FIELD_VIDEO: u16 = 1 << 11;
/// Every presence bit this version knows; any other bit set is corruption.
pub(crate) const FIELD_ALL: u16 = (1 << 12) - 1;

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
pub(crate) fn presence(e: &EntryRecord) -> u16 {
    let mut p = 0;
    let mut set = |bit: u16, on: bool| {
        if on {
            p |= bit
        }
    };
    set(FIELD_LABEL, e.label.is_some());
    set(FIELD_URL_KEY, e.url_key.is_some());
    set(FIELD_BLAKE3, e.blake3.is_some());
    set(FIELD_SHA256, e.sha256.is_some());
    set(FIELD_MD5, e.md5.is_some());
    set(FIELD_PDQ, e.pdq.is_some());
    set(FIELD_PDQ_QUALITY, e.pdq_quality.is_some());
    set(FIELD_DHASH, e.dhash.is_some());
    set(FIELD_PHASH, e.phash.is_some());
    set(FIELD_RECEIVED_AT, e.received_at.is_some());
    set(FIELD_EXTRA_PDQ, !e.extra_pdq.is_empty());
    set(FIELD_VIDEO, e.video.is_some());
    p
}

/// Appends the payload of `record` to `out`; `Err(len)` names a string too long to encode.
pub(crate) fn encode_record(record: &Record, out: &mut Vec<u8>) -> Result<(), usize> {
    match record {
        Record::Insert(e) => {
            out.push(TAG_INSERT);
            put_u32(out, e.id.0);
            out.push(source_code(e.source));
            put_u16(out, presence(e));
            put_str(out, &e.external_id)?;
            if let Some(s) = &e.label {
                put_str(out, s)?;
            }
            if let Some(s) = &e.url_key {
                put_str(out, s)?;
            }
            if let Some(d) = &e.blake3 {
                out.extend_from_slice(&d.0);
            }
            if let Some(d) = &e.sha256 {
                out.extend_from_slice(&d.0);
            }
            if let Some(d) = &e.md5 {
                out.extend_from_slice(&d.0);
            }
            if let Some(p) = &e.pdq {
                put_pdq(out, p);
            }
            if let Some(q) = e.pdq_quality {
                out.push(q);
            }
            if let Some(h) = e.dhash {
                put_u64(out, h.0);
            }
            if let Some(h) = e.phash {
                put_u64(out, h.0);
            }
            if let Some(s) = &e.received_at {
                put_str(out, s)?;
            }
            if !e.extra_pdq.is_empty() {
                let n = u32::try_from(e.extra_pdq.len()).map_err(|_| e.extra_pdq.len())?;
                put_u32(out, n);
                for p in &e.extra_pdq {
                    put_pdq(out, p);
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

/// Decodes one record payload (which must be consumed exactly). The error is a reason text; the
/// caller adds the path and offset.
pub(crate) fn decode_record(payload: &[u8]) -> Result<Record, String> {
    let mut r = ByteReader::new(payload);
    let record = match r.u8()? {
        TAG_INSERT => {
            let id = EntryId(r.u32()?);
            let source = source_from_code(r.u8()?)?;
            let present = r.u16()?;
            if present & !FIELD_ALL != 0 {
                return Err(format!("unknown field bits {:#06x}", present & !FIELD_ALL));
            }
            let has = |bit: u16| present & bit != 0;
            let mut e = EntryRecord::new(id, source, r.str()?);
            if has(FIELD_LABEL) {
                e.label = Some(r.str()?.to_owned());
            }
            if has(FIELD_URL_KEY) {
                e.url_key = Some(r.str()?.to_owned());
            }
            if has(FIELD_BLAKE3) {
                e.blake3 = Some(Blake3(r.array()?));
            }
            if has(FIELD_SHA256) {
                e.sha256 = Some(Sha256(r.array()?));
            }
            if has(FIELD_MD5) {
                e.md5 = Some(Md5(r.array()?));
            }
            if has(FIELD_PDQ) {
                e.pdq = Some(r.pdq()?);
            }
            if has(FIELD_PDQ_QUALITY) {
                e.pdq_quality = Some(r.u8()?);
            }
            if has(FIELD_DHASH) {
                e.dhash = Some(Hash64(r.u64()?));
            }
            if has(FIELD_PHASH) {
                e.phash = Some(Hash64(r.u64()?));
            }
            if has(FIELD_RECEIVED_AT) {
                e.received_at = Some(r.str()?.to_owned());
            }
            if has(FIELD_EXTRA_PDQ) {
                let n = r.u32()? as usize;
                if n == 0 {
                    return Err("extra_pdq flagged present with count 0".into());
                }
                // Check the count against the bytes that remain before allocating.
                if n > r.remaining() / 32 {
                    return Err(format!(
                        "extra_pdq count {n} exceeds the {} bytes that remain",
                        r.remaining()
                    ));
                }
                e.extra_pdq.reserve_exact(n);
                for _ in 0..n {
                    e.extra_pdq.push(r.pdq()?);
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
        other => return Err(format!("unknown record tag {other}")),
    };
    if r.remaining() != 0 {
        return Err(format!("{} trailing bytes after the record", r.remaining()));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_entry() -> EntryRecord {
        let mut e = EntryRecord::new(EntryId(9), EntrySource::Known, "list-1");
        e.label = Some("campaign".into());
        e.url_key = Some("youtube:abc".into());
        e.blake3 = Some(Blake3([1; 32]));
        e.sha256 = Some(Sha256([2; 32]));
        e.md5 = Some(Md5([3; 16]));
        e.pdq = Some(Pdq([4, 5, 6, 7]));
        e.pdq_quality = Some(88);
        e.dhash = Some(Hash64(8));
        e.phash = Some(Hash64(9));
        e.extra_pdq = vec![Pdq([1, 1, 1, 1]), Pdq([2, 2, 2, 2])];
        e.received_at = Some("2026-01-01".into());
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
            assert_eq!(decode_record(&buf).unwrap(), rec);
        }
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_rejected() {
        let mut buf = Vec::new();
        encode_record(&Record::Insert(full_entry()), &mut buf).unwrap();
        for cut in 0..buf.len() {
            assert!(decode_record(&buf[..cut]).is_err(), "cut at {cut}");
        }
        buf.push(0);
        assert!(decode_record(&buf).unwrap_err().contains("trailing"));
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        // Insert with only the extra_pdq bit and a count of u32::MAX.
        let mut buf = vec![TAG_INSERT];
        put_u32(&mut buf, 1);
        buf.push(0);
        put_u16(&mut buf, FIELD_EXTRA_PDQ);
        put_u32(&mut buf, 0);
        put_u32(&mut buf, u32::MAX);
        assert!(decode_record(&buf).unwrap_err().contains("exceeds"));
        // A string length of u32::MAX.
        let mut buf = vec![TAG_RESOLVE];
        put_u32(&mut buf, u32::MAX);
        assert!(decode_record(&buf).unwrap_err().contains("remain"));
    }

    #[test]
    fn unknown_tags_sources_and_bits_are_rejected() {
        assert!(decode_record(&[9]).unwrap_err().contains("tag"));
        assert!(decode_record(&[]).is_err());
        let mut buf = vec![TAG_INSERT];
        put_u32(&mut buf, 1);
        buf.push(7);
        assert!(decode_record(&buf).unwrap_err().contains("source"));
        let mut buf = vec![TAG_INSERT];
        put_u32(&mut buf, 1);
        buf.push(0);
        put_u16(&mut buf, 1 << 15);
        assert!(decode_record(&buf).unwrap_err().contains("bits"));
    }
}
