//! A segment to and from an index file: its columns as they are in memory, then checked on the
//! way in so that a damaged or hostile file can neither panic a search nor hide a stored code
//! from one (every table must hold every slot once, in the bucket its code names: checked as a multiset
//! of (slot, substring), in order on both sides).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rayon::prelude::*;

use super::{low_mask, Codes, Offsets, Segment, Table, BLOCK_SHIFT, MAX_TABLES};
use crate::index::code::Code;
use crate::index::column::Column;
use crate::index::file_io::{Sink, Source};
use crate::index::{IndexError, Layout};

impl<C: Code> Segment<C> {
    /// Writes this segment's columns (tombstones included).
    pub(crate) fn write_to<W: Write>(&self, out: &mut Sink<W>) -> std::io::Result<()> {
        let (tables, bits) = self.layout.map_or((0, 0), |l| (l.tables, l.bits));
        out.u64(self.codes.len() as u64)?;
        out.u32(tables)?;
        out.u32(bits)?;
        out.u32(self.low_bits)?;
        out.u8(u8::from(self.forced))?;
        out.array(&self.ids)?;
        out.array(&self.codes.words[..])?;
        let dead: Vec<u64> = self
            .dead
            .iter()
            .map(|w| w.load(Ordering::Acquire))
            .collect();
        out.array(&dead)?;
        for table in &self.tables {
            match &table.offsets {
                Offsets::Compact { base, rel } => {
                    out.u8(0)?;
                    out.array(base)?;
                    out.array(&rel[..])?;
                }
                Offsets::Wide(starts) => {
                    out.u8(1)?;
                    out.array(&starts[..])?;
                }
            }
            out.array(&table.entries[..])?;
        }
        Ok(())
    }

    /// Reads a segment written by [`Segment::write_to`] and checks it whole.
    pub(crate) fn read_from<R: Read>(src: &mut Source<R>) -> Result<Segment<C>, IndexError> {
        let n = src.u64()?;
        let tables = src.u32()?;
        let bits = src.u32()?;
        let low_bits = src.u32()?;
        let forced = match src.u8()? {
            0 => false,
            1 => true,
            v => return Err(src.corrupt(format!("segment flag {v} is neither 0 nor 1"))),
        };
        let ids: Vec<u32> = src.vec("segment ids")?;
        if ids.len() as u64 != n {
            return Err(src.corrupt(format!("{} ids for {n} codes", ids.len())));
        }
        let n = ids.len();
        let words = Codes::<C>::WORDS;
        let code_words: Column<u64> = src.column("segment codes", n * words)?;
        let dead_words: Vec<u64> = src.vec("segment tombstones")?;
        if dead_words.len() != n.div_ceil(64) {
            return Err(src.corrupt(format!(
                "{} tombstone words for {n} codes",
                dead_words.len()
            )));
        }
        if !n.is_multiple_of(64) && dead_words.last().is_some_and(|w| w >> (n % 64) != 0) {
            return Err(src.corrupt("tombstones beyond the last code"));
        }
        let codes = Codes {
            words: code_words,
            len: n,
            code: std::marker::PhantomData,
        };
        let layout = match (tables, bits) {
            (0, 0) => None,
            (t, b)
                if (1..=MAX_TABLES).contains(&t)
                    && (1..=32).contains(&b)
                    && t.checked_mul(b).is_some_and(|tb| tb <= C::BITS) =>
            {
                Some(Layout { tables: t, bits: b })
            }
            (t, b) => {
                return Err(src.corrupt(format!(
                    "layout {t} x {b} does not fit a {}-bit code",
                    C::BITS
                )))
            }
        };
        let mut built = Vec::new();
        if let Some(layout) = layout {
            let k = low_bits;
            let slot_room = 32u32.saturating_sub(k);
            if k > layout.bits || (slot_room < 32 && (n as u64) > (1u64 << slot_room)) {
                return Err(src.corrupt(format!(
                    "{k} inline bits leave no room for {n} slots in {}-bit substrings",
                    layout.bits
                )));
            }
            let coarse = 1usize << (layout.bits - k);
            for t in 0..layout.tables {
                let offsets = match src.u8()? {
                    0 => {
                        let base: Vec<u32> = src.vec("table offsets (blocks)")?;
                        let rel: Vec<u16> = src.vec("table offsets (buckets)")?;
                        if rel.len() != coarse + 1 || base.len() != (coarse >> BLOCK_SHIFT) + 1 {
                            return Err(src.corrupt(format!(
                                "table {t}: {} bucket offsets where {} were expected",
                                rel.len(),
                                coarse + 1
                            )));
                        }
                        Offsets::Compact {
                            base,
                            rel: Column::from_slice(&rel),
                        }
                    }
                    1 => {
                        let starts: Vec<u32> = src.vec("table offsets")?;
                        if starts.len() != coarse + 1 {
                            return Err(src.corrupt(format!(
                                "table {t}: {} bucket offsets where {} were expected",
                                starts.len(),
                                coarse + 1
                            )));
                        }
                        Offsets::Wide(Column::from_slice(&starts))
                    }
                    v => return Err(src.corrupt(format!("table {t}: offset kind {v}"))),
                };
                let entries: Column<u32> = src.column("table entries", n)?;
                built.push(Table { offsets, entries });
            }
            // Every table: offsets rise from 0 to n, and each slot sits once in the bucket its
            // code's substring names (checked in parallel, one table per task).
            let bad = built.par_iter().enumerate().find_map_any(|(t, table)| {
                check_table(
                    &codes,
                    table,
                    t as u32 * layout.bits,
                    layout.bits,
                    k,
                    coarse,
                )
                .err()
                .map(|why| format!("table {t}: {why}"))
            });
            if let Some(why) = bad {
                return Err(src.corrupt(why));
            }
        } else if low_bits != 0 {
            return Err(src.corrupt("inline bits without tables"));
        }
        let dead_count = dead_words.iter().map(|w| w.count_ones() as usize).sum();
        Ok(Segment {
            codes,
            ids,
            dead: dead_words.into_iter().map(AtomicU64::new).collect(),
            dead_count: AtomicUsize::new(dead_count),
            layout,
            forced,
            low_bits,
            tables: built,
        })
    }
}

/// Whether `table` is what [`Table::build`] makes of `codes`, up to the order inside a bucket:
/// offsets rise from 0 to `n`, and the entries, as a multiset of (slot, substring), equal the
/// codes' own (compared through a sum of mixed 64-bit values, so both sides are read in
/// order: one random read per entry would cost more than the load itself).
fn check_table<C: Code>(
    codes: &Codes<C>,
    table: &Table,
    start: u32,
    bits: u32,
    k: u32,
    coarse: usize,
) -> Result<(), String> {
    let n = codes.len();
    if let Offsets::Compact { base, rel } = &table.offsets {
        // `start` adds these two; each bucket's start must not overflow or pass the end.
        for (v, &r) in rel.iter().enumerate() {
            let b = base[v >> BLOCK_SHIFT] as u64;
            if b + u64::from(r) > n as u64 {
                return Err(format!("bucket {v} starts past the end"));
            }
        }
    }
    if table.offsets.start(0) != 0 {
        return Err("the first bucket does not start at 0".into());
    }
    let mask = low_mask(k);
    let mut previous = 0usize;
    let mut filed = 0u64;
    for v in 0..coarse {
        let (from, to) = table.offsets.range(v);
        if from < previous || to < from || to > n {
            return Err(format!("bucket {v} runs from {from} to {to}"));
        }
        previous = to;
        for &e in &table.entries[from..to] {
            let slot = u64::from(e) >> k;
            if slot >= n as u64 {
                return Err(format!("an entry names slot {slot} of {n}"));
            }
            let sub = ((v as u64) << k) | u64::from(e & mask);
            filed = filed.wrapping_add(mix(slot << 32 | sub));
        }
    }
    if previous != n {
        return Err(format!("buckets end at {previous}, not at {n}"));
    }
    let wanted = (0..n).fold(0u64, |acc, slot| {
        let sub = u64::from(codes.get(slot).substring(start, bits));
        acc.wrapping_add(mix((slot as u64) << 32 | sub))
    });
    if filed != wanted {
        return Err(
            "entries do not match the codes (a slot in the wrong bucket, repeated or missing)"
                .into(),
        );
    }
    Ok(())
}

/// A bijective 64-bit mix (the splitmix64 finaliser), so that sums of mixed values compare
/// multisets.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
