//! The entries the engine indexes: one [`EntryRecord`] per earlier referral or item of known
//! content, with every key and hash it is matched by.
//!
//! The store persists them ([`crate::store`]), the engine indexes them ([`crate::engine`]); this
//! module knows nothing of either, so both can depend on it.

use serde::{Deserialize, Serialize};

use crate::hashes::{EntryId, HashBundle, Pdq};

/// Where an entry came from.
///
/// ```
/// use referral_dedup::entry::EntrySource;
/// assert_ne!(EntrySource::Referral, EntrySource::Known);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntrySource {
    /// An earlier referral (a match makes the new one a duplicate).
    Referral,
    /// Known-removed content from a hash list or a media file (a match makes it "known").
    Known,
}

/// One stored entry: every key and hash the engine indexes for it.
///
/// ```
/// use referral_dedup::hashes::EntryId;
/// use referral_dedup::entry::{EntryRecord, EntrySource};
/// let e = EntryRecord::new(EntryId(1), EntrySource::Known, "poster-17");
/// assert!(e.hashes.pdq.is_none() && e.regions.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    /// Index-wide id.
    pub id: EntryId,
    /// Referral or known content.
    pub source: EntrySource,
    /// The referral id, or the hash-list id / file name of known content.
    pub external_id: String,
    /// Free-text label (for example the hash list or campaign name).
    pub label: Option<String>,
    /// Platform-aware URL key.
    pub url_key: Option<String>,
    /// The media's digests and perceptual codes.
    #[serde(flatten)]
    pub hashes: HashBundle,
    /// When the referral was received (free text, as given).
    pub received_at: Option<String>,
    /// The luma grid of each stored code's region, for the content check (media decoded by
    /// this crate; empty for hash-list items). Persisted since journal 3 / snapshot 2.
    #[serde(skip)]
    pub regions: Vec<RegionGrid>,
    /// The frame codes (and TMK+PDQF) of a video entry: a known video or a referral whose
    /// media is a video ([`crate::video::StoredVideo`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<Box<crate::video::StoredVideo>>,
}

impl EntryRecord {
    /// An entry with no keys or hashes yet.
    pub fn new(id: EntryId, source: EntrySource, external_id: impl Into<String>) -> Self {
        EntryRecord {
            id,
            source,
            external_id: external_id.into(),
            label: None,
            url_key: None,
            hashes: HashBundle::default(),
            received_at: None,
            regions: Vec::new(),
            video: None,
        }
    }
}

/// Cells of a [`RegionGrid`]: 16 x 16.
pub const GRID_CELLS: usize = 256;

/// One stored code with the luma grid of the region it was computed from (16 x 16 cell means,
/// row by row; `matching::LumaGrid` is the same bytes): what the content check compares a
/// query's regions against.
///
/// ```
/// use referral_dedup::entry::RegionGrid;
/// use referral_dedup::hashes::Pdq;
/// let r = RegionGrid { code: Pdq::default(), cells: [7; 256] };
/// assert_eq!(r.cells.len(), referral_dedup::entry::GRID_CELLS);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RegionGrid {
    /// The stored PDQ code of the region.
    pub code: Pdq,
    /// Its luma grid.
    pub cells: [u8; GRID_CELLS],
}

impl std::fmt::Debug for RegionGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mean = self.cells.iter().map(|&c| u32::from(c)).sum::<u32>() / GRID_CELLS as u32;
        write!(f, "RegionGrid({:?}, mean {mean})", self.code)
    }
}
