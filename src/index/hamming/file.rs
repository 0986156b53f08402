//! A [`HammingIndex`] to and from a file, tables included, so that a large index loads at the
//! speed of reading its bytes instead of being rebuilt (a rebuild sorts every code once per
//! table: minutes at 100M codes).
//!
//! Layout (little-endian): magic `RDHAMIDX`, format version, code bits, design radius, segment
//! count, each segment's columns (`Segment::write_to`), the delta's ids and code words, then a
//! CRC-32 of everything before it. Reading checks the checksum *and* the structure (every
//! table holds every slot once, in its code's bucket), so a damaged or hostile file is a
//! [`IndexError::Corrupt`], never a panic, a hang or a silently missing code.

use std::io::{Read, Write};
use std::sync::Arc;

use super::merge::sealed_delta;
use super::{HammingConfig, HammingIndex, Segment};
use crate::hashes::EntryId;
use crate::index::code::Code;
use crate::index::file_io::{Sink, Source};
use crate::index::IndexError;

const MAGIC: &[u8; 8] = b"RDHAMIDX";
const VERSION: u32 = 1;

impl<C: Code> HammingIndex<C> {
    /// Writes the index (segments with their tables, tombstones and the unsealed delta) to
    /// `out`; [`HammingIndex::read_from`] loads it back without rebuilding. Inserts and
    /// deletes may run meanwhile: the file holds the state of one moment.
    ///
    /// ```
    /// use referral_dedup::hashes::{EntryId, Pdq};
    /// use referral_dedup::index::{HammingConfig, HammingIndex};
    /// let index = HammingIndex::build((0..500u32).map(|i| (EntryId(i), Pdq([u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15); 4]))));
    /// let mut file = Vec::new();
    /// index.write_to(&mut file).unwrap();
    /// let loaded = HammingIndex::<Pdq>::read_from(&file[..], HammingConfig::default()).unwrap();
    /// assert_eq!(loaded.len(), 500);
    /// assert_eq!(loaded.range(&Pdq([0; 4]), 31), index.range(&Pdq([0; 4]), 31));
    /// ```
    pub fn write_to<W: Write>(&self, out: W) -> std::io::Result<()> {
        let (segments, delta) = {
            let view = self.shared.view.read();
            (view.segments.clone(), view.delta.clone())
        };
        let mut sink = Sink::new(std::io::BufWriter::with_capacity(1 << 20, out));
        sink.bytes(MAGIC)?;
        sink.u32(VERSION)?;
        sink.u32(C::BITS)?;
        sink.u32(self.shared.design_radius)?;
        sink.u64(segments.len() as u64)?;
        for segment in segments.iter() {
            segment.write_to(&mut sink)?;
        }
        let ids: Vec<u32> = delta.iter().map(|(id, _)| id.0).collect();
        let words: Vec<u64> = delta
            .iter()
            .flat_map(|(_, c)| (0..(C::BITS / 64) as usize).map(move |k| c.word(k)))
            .collect();
        sink.array(&ids)?;
        sink.array(&words)?;
        sink.finish()
    }

    /// Loads an index written by [`HammingIndex::write_to`] for the same code type. `cfg`
    /// governs later inserts and merges; the stored segments keep the layouts they were built
    /// with (the file's design radius replaces `cfg.design_radius` so new segments match them).
    ///
    /// # Errors
    /// [`IndexError::Corrupt`] (with the byte offset) for a file that is not an index of this
    /// code type, is truncated, fails its checksum or holds inconsistent tables;
    /// [`IndexError::Io`] when reading fails. Memory grows with the bytes actually read, never
    /// with a length the file merely claims.
    ///
    /// ```
    /// use referral_dedup::hashes::Hash64;
    /// use referral_dedup::index::{HammingConfig, HammingIndex, IndexError};
    /// let err = HammingIndex::<Hash64>::read_from(&b"not an index"[..], HammingConfig::default());
    /// assert!(matches!(err, Err(IndexError::Corrupt { .. })));
    /// ```
    pub fn read_from<R: Read>(input: R, cfg: HammingConfig) -> Result<Self, IndexError> {
        let mut src = Source::new(std::io::BufReader::with_capacity(1 << 20, input));
        let mut magic = [0u8; 8];
        for b in &mut magic {
            *b = src.u8()?;
        }
        if &magic != MAGIC {
            return Err(IndexError::Corrupt {
                offset: 0,
                reason: "not a Hamming index file (bad magic)".into(),
            });
        }
        let version = src.u32()?;
        if version != VERSION {
            return Err(src.corrupt(format!(
                "format version {version}; this build reads version {VERSION}"
            )));
        }
        let bits = src.u32()?;
        if bits != C::BITS {
            return Err(src.corrupt(format!(
                "an index of {bits}-bit codes, read as {}-bit codes",
                C::BITS
            )));
        }
        let design_radius = src.u32()?;
        if design_radius > C::BITS {
            return Err(src.corrupt(format!("design radius {design_radius} over {bits} bits")));
        }
        let count = src.u64()?;
        let mut segments = Vec::new();
        for _ in 0..count {
            // Each segment reads at least its fixed header, so a damaged count ends at EOF.
            segments.push(Arc::new(Segment::read_from(&mut src)?));
        }
        let ids: Vec<u32> = src.vec("delta ids")?;
        let words: Vec<u64> = src.vec("delta codes")?;
        let per = (C::BITS / 64) as usize;
        if words.len() != ids.len() * per {
            return Err(src.corrupt(format!(
                "{} delta code words for {} ids",
                words.len(),
                ids.len()
            )));
        }
        src.finish()?;
        let delta: Vec<(EntryId, C)> = ids
            .iter()
            .zip(words.chunks_exact(per))
            .map(|(&id, w)| (EntryId(id), C::from_words(w)))
            .collect();
        let cfg = HammingConfig {
            design_radius: Some(design_radius),
            ..cfg
        };
        let index = Self::from_segments(cfg, segments);
        if !delta.is_empty() {
            let mut view = index.shared.view.write();
            if delta.len() >= index.shared.delta_capacity {
                let mut segments = Vec::clone(&view.segments);
                segments.push(Arc::new(sealed_delta(delta)));
                view.segments = Arc::new(segments);
            } else {
                view.delta = delta;
            }
        }
        Ok(index)
    }
}
