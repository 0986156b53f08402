//! The PDQ index beside each snapshot (`pdq-index-NNNNNN.bin` next to `snapshot-NNNNNN.bin`),
//! so that opening a large database loads the index instead of rebuilding it.
//!
//! The file is a cache, never trusted: it is used only when it belongs to the snapshot just
//! loaded (same generation) and when its header's digest of every `(id, PDQ codes)` it covers
//! equals the digest of the loaded entries below its id bound; the index bytes carry their own
//! checksum and are checked structurally by [`HammingIndex::read_from`]. Entries the journal
//! added after the snapshot (ids at or above the bound) are inserted on top; a delete or a
//! changed entry below the bound changes the digest, and then the index is rebuilt. Any
//! problem (missing, damaged, stale, unreadable) means a rebuild, reported in
//! [`PdqIndexFile::Rebuilt`].
//!
//! Layout (little-endian): magic `RDPDQSNP`, format version (u32), snapshot generation (u64),
//! id bound (u32), codes covered (u64), BLAKE3 digest (32 bytes), then the index as
//! [`HammingIndex::write_to`] writes it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Engine;
use crate::hashes::Pdq;
use crate::index::{HammingConfig, HammingIndex};
use crate::store::{
    atomic_write_with, index_file_name, is_index_file_name, parse_snapshot_file_name, EntryRecord,
};

const MAGIC: &[u8; 8] = b"RDPDQSNP";
const VERSION: u32 = 1;

/// How the PDQ index of an engine opened on a directory was made.
///
/// ```
/// use referral_dedup::engine::{Engine, EngineConfig, PdqIndexFile};
/// let dir = tempfile::tempdir().unwrap();
/// let engine = Engine::open(dir.path(), EngineConfig::default()).unwrap();
/// assert_eq!(engine.pdq_index_file(), &PdqIndexFile::NoSnapshot);
/// engine.snapshot().unwrap();
/// drop(engine);
/// let engine = Engine::open(dir.path(), EngineConfig::default()).unwrap();
/// assert!(matches!(engine.pdq_index_file(), PdqIndexFile::Loaded { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PdqIndexFile {
    /// In memory, or no snapshot was loaded: the index was built from the journal.
    #[default]
    NoSnapshot,
    /// Loaded from the index file of the snapshot (`codes` PDQ codes), with the entries the
    /// journal added after it inserted on top.
    Loaded {
        /// The index file.
        path: PathBuf,
        /// PDQ codes read from it.
        codes: u64,
    },
    /// Rebuilt from the entries because the index file could not be used (the notice).
    Rebuilt {
        /// The index file looked for.
        path: PathBuf,
        /// Why it was not used: missing, damaged, or not the loaded state's.
        reason: String,
    },
}

/// The header of an index file.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    generation: u64,
    /// Entries with ids below this are in the index.
    id_bound: u32,
    codes: u64,
    digest: [u8; 32],
}

impl Header {
    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&self.generation.to_le_bytes())?;
        out.write_all(&self.id_bound.to_le_bytes())?;
        out.write_all(&self.codes.to_le_bytes())?;
        out.write_all(&self.digest)
    }

    fn read(input: &mut impl Read) -> Result<Header, String> {
        let mut fixed = [0u8; 8 + 4 + 8 + 4 + 8 + 32];
        input
            .read_exact(&mut fixed)
            .map_err(|e| format!("header: {e}"))?;
        if &fixed[..8] != MAGIC {
            return Err("not a PDQ index file (bad magic)".into());
        }
        let u32_at = |i: usize| u32::from_le_bytes(fixed[i..i + 4].try_into().unwrap_or([0; 4]));
        let u64_at = |i: usize| u64::from_le_bytes(fixed[i..i + 8].try_into().unwrap_or([0; 8]));
        let version = u32_at(8);
        if version != VERSION {
            return Err(format!(
                "format version {version}, this build reads {VERSION}"
            ));
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&fixed[32..]);
        Ok(Header {
            generation: u64_at(12),
            id_bound: u32_at(20),
            codes: u64_at(24),
            digest,
        })
    }
}

/// The digest of the PDQ codes of `entries` (in id order) with ids below `id_bound`, and how
/// many codes that is. The generation and the bound are hashed too, so a damaged header field
/// never passes for another state.
fn codes_digest<'a>(
    entries: impl IntoIterator<Item = &'a EntryRecord>,
    generation: u64,
    id_bound: u32,
) -> ([u8; 32], u64) {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&generation.to_le_bytes());
    hasher.update(&id_bound.to_le_bytes());
    let mut codes = 0u64;
    for e in entries.into_iter().filter(|e| e.id.0 < id_bound) {
        let n = e.hashes.pdq_codes().count() as u64;
        if n == 0 {
            continue;
        }
        hasher.update(&e.id.0.to_le_bytes());
        hasher.update(&n.to_le_bytes());
        for code in e.hashes.pdq_codes() {
            for word in code.0 {
                hasher.update(&word.to_le_bytes());
            }
        }
        codes += n;
    }
    (*hasher.finalize().as_bytes(), codes)
}

/// The generation of a snapshot file (its number), from its path.
fn generation_of(snapshot: &Path) -> Option<u64> {
    parse_snapshot_file_name(snapshot.file_name()?.to_str()?)
}

impl Engine {
    /// Writes the PDQ index beside the snapshot just written at `snapshot`, which holds
    /// `entries` (in id order); removes the index files of other snapshots. Called with the
    /// writer lock held, so the index holds exactly those entries' codes.
    pub(super) fn write_pdq_index_file(
        &self,
        snapshot: &Path,
        entries: &[Arc<EntryRecord>],
    ) -> std::io::Result<()> {
        let (Some(dir), Some(generation)) = (snapshot.parent(), generation_of(snapshot)) else {
            return Ok(());
        };
        let id_bound = self.next_entry_id().0;
        let (digest, codes) = codes_digest(entries.iter().map(|e| &**e), generation, id_bound);
        let header = Header {
            generation,
            id_bound,
            codes,
            digest,
        };
        let name = index_file_name(generation);
        atomic_write_with(dir, &name, |file| {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            header.write(&mut out)?;
            self.indexes.pdq.write_to(&mut out)?;
            out.flush()
        })?;
        for other in std::fs::read_dir(dir)? {
            let other = other?;
            let file_name = other.file_name();
            let Some(other_name) = file_name.to_str() else {
                continue;
            };
            if other_name != name && is_index_file_name(other_name) {
                std::fs::remove_file(other.path())?;
            }
        }
        Ok(())
    }

    /// On open, before the entries are indexed: the PDQ index from the loaded snapshot's
    /// index file, when it is that state's. Returns the id bound below which the entries'
    /// PDQ codes are already in the index (0 when it was not loaded).
    pub(super) fn read_pdq_index_file(&mut self, recovered: &crate::store::Recovered) -> u32 {
        let Some(snapshot) = &recovered.report.snapshot else {
            return 0;
        };
        let (Some(dir), Some(generation)) = (snapshot.parent(), generation_of(snapshot)) else {
            return 0;
        };
        let path = dir.join(index_file_name(generation));
        let loaded = (|| -> Result<(HammingIndex<Pdq>, Header), String> {
            let file = crate::media::open_regular_file(&path).map_err(|e| e.to_string())?;
            let mut input = std::io::BufReader::with_capacity(1 << 20, file);
            let header = Header::read(&mut input)?;
            if header.generation != generation {
                return Err(format!(
                    "written for snapshot generation {}, not {generation}",
                    header.generation
                ));
            }
            let (digest, codes) = codes_digest(&recovered.entries, generation, header.id_bound);
            if (digest, codes) != (header.digest, header.codes) {
                return Err("its codes are not the loaded entries' codes (stale)".into());
            }
            let index = HammingIndex::<Pdq>::read_from(input, HammingConfig::default())
                .map_err(|e| e.to_string())?;
            if index.len() as u64 != header.codes {
                return Err(format!("{} codes, the header says {}", index.len(), codes));
            }
            Ok((index, header))
        })();
        match loaded {
            Ok((index, header)) => {
                self.indexes.pdq = index;
                self.pdq_index_file = super::PdqIndexFile::Loaded {
                    path,
                    codes: header.codes,
                };
                header.id_bound
            }
            Err(reason) => {
                self.pdq_index_file = super::PdqIndexFile::Rebuilt { path, reason };
                0
            }
        }
    }

    /// How the PDQ index was made when the engine was opened: loaded from the index file
    /// beside the snapshot, or rebuilt (with the reason the file was not used).
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, PdqIndexFile};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// assert_eq!(engine.pdq_index_file(), &PdqIndexFile::NoSnapshot);
    /// ```
    pub fn pdq_index_file(&self) -> &super::PdqIndexFile {
        &self.pdq_index_file
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashes::EntryId;

    #[test]
    fn headers_round_trip_and_damage_is_refused() {
        let h = Header {
            generation: 7,
            id_bound: 99,
            codes: 12,
            digest: [3; 32],
        };
        let mut bytes = Vec::new();
        h.write(&mut bytes).unwrap();
        assert_eq!(Header::read(&mut &bytes[..]).unwrap(), h);
        assert!(Header::read(&mut &bytes[..20]).is_err(), "truncated");
        let mut other = bytes.clone();
        other[0] ^= 1;
        assert!(Header::read(&mut &other[..]).is_err(), "magic");
        let mut other = bytes;
        other[8] ^= 1;
        assert!(Header::read(&mut &other[..]).is_err(), "version");
    }

    #[test]
    fn digests_cover_ids_codes_and_the_bound() {
        let entry = |id: u32, code: u64| {
            let mut e = EntryRecord::new(
                EntryId(id),
                crate::store::EntrySource::Known,
                format!("k{id}"),
            );
            e.hashes.pdq = Some(Pdq([code; 4]));
            e
        };
        let a = [entry(0, 1), entry(1, 2)];
        let b = [entry(0, 1), entry(1, 3)];
        let c = [entry(0, 1), entry(2, 2)];
        assert_ne!(codes_digest(&a, 1, 5), codes_digest(&b, 1, 5));
        assert_ne!(codes_digest(&a, 1, 5), codes_digest(&c, 1, 5));
        assert_eq!(codes_digest(&a, 1, 1), codes_digest(&b, 1, 1));
        assert_ne!(
            codes_digest(&a, 1, 5),
            codes_digest(&a, 1, 6),
            "the bound counts"
        );
        assert_ne!(
            codes_digest(&a, 1, 5),
            codes_digest(&a, 2, 5),
            "the generation counts"
        );
        assert_eq!(codes_digest(&a, 1, 5).1, 2);
    }
}
