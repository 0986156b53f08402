//! Loading a store directory into live state without changing it: the MANIFEST (or what the
//! files present say when it is damaged), the snapshot it names, then every journal after it,
//! with everything skipped listed in a [`RecoveryReport`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::entry::EntryRecord;
use crate::hashes::EntryId;

use super::error::{Corruption, StoreError};
use super::files::{journal_file_name, open_regular, read_regular, Listing, MANIFEST_NAME};
use super::journal::{scan_journal_with, JOURNAL_HEADER_LEN};
use super::lock::writer_active;
use super::manifest::{Manifest, MANIFEST_MAX_LEN};
use super::record::Record;
use super::snapshot::SnapshotColumns;

/// The live state found by [`Store::open`](super::Store::open), and how it was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Live entries after the snapshot and journal replay, in id order.
    pub entries: Vec<EntryRecord>,
    /// Short-link resolutions `(short_key, target)`, in short-key order, latest target winning.
    pub resolutions: Vec<(String, String)>,
    /// What was loaded and where replay stopped.
    pub report: RecoveryReport,
}

/// What [`Store::open`](super::Store::open) loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The snapshot loaded, if any.
    pub snapshot: Option<PathBuf>,
    /// Entries in that snapshot.
    pub snapshot_entries: u64,
    /// Journal records replayed on top of it.
    pub journal_records: u64,
    /// The stretch at the end of the last journal that holds no complete record (a write cut
    /// short by a crash, or damage), if any. It is left in place, not replayed, and a writer
    /// appends to a new journal after it.
    pub torn: Option<Corruption>,
    /// Every other damaged stretch that was skipped (each with path, offset and what was kept):
    /// damaged records in any journal (replay resumed after them), torn ends of earlier
    /// journals, a damaged journal header, a damaged or missing MANIFEST. Reported on every open
    /// until [`Store::snapshot`](super::Store::snapshot) (`refdedup db repair`) sets the damaged files aside.
    pub damaged: Vec<Corruption>,
    /// Damaged journals, by path: left in place until compaction moves them into
    /// `DIR/damaged/` (never deleted).
    pub damaged_files: Vec<PathBuf>,
}

impl RecoveryReport {
    /// True when nothing was skipped or left unreplayed.
    ///
    /// ```
    /// assert!(referral_dedup::store::RecoveryReport::default().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.torn.is_none() && self.damaged.is_empty()
    }

    /// Every problem found: the damaged stretches, then the torn tail.
    pub fn problems(&self) -> impl Iterator<Item = &Corruption> {
        self.damaged.iter().chain(self.torn.iter())
    }
}

/// One journal as loaded.
pub(crate) struct LoadedJournal {
    pub(crate) number: u64,
    pub(crate) path: PathBuf,
    /// Bytes in the file when read.
    pub(crate) len: u64,
    /// Ends cleanly after its last record: a writer may append to it.
    pub(crate) clean: bool,
    /// A crash while it was being created left a prefix of its header (no records).
    pub(crate) header_only_torn: bool,
    pub(crate) version: u32,
}

/// A store's state as read from disk, before anything is changed.
pub(crate) struct Loaded {
    /// The MANIFEST as read, or as inferred from the files when it is damaged or missing.
    pub(crate) manifest: Manifest,
    pub(crate) manifest_intact: bool,
    pub(crate) state: LiveState,
    pub(crate) report: RecoveryReport,
    pub(crate) journals: Vec<LoadedJournal>,
    pub(crate) listing: Listing,
}

/// Reads `DIR/MANIFEST`'s raw bytes (`None` when absent), to tell whether it changed.
/// At most one byte more than a manifest may have is read: enough to tell it is too large.
fn manifest_bytes(dir: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(read_regular(
        &dir.join(MANIFEST_NAME),
        MANIFEST_MAX_LEN + 1,
    )?)
}

/// Loads the store in `dir` without changing anything on disk.
///
/// `locked`: the caller holds the writer lock, so nothing changes underneath. Otherwise a
/// writer may be appending or compacting meanwhile: every file is opened first and the MANIFEST
/// read again; if it changed (a compaction finished) the load starts over, and once it has not,
/// the open handles see one consistent generation even if the files are deleted next (POSIX
/// keeps an open file readable). A torn tail at the end of the last journal while a writer holds
/// the lock is a write in progress, not damage.
pub(crate) fn load(dir: &Path, locked: bool) -> Result<Option<Loaded>, StoreError> {
    const ATTEMPTS: usize = 50;
    for _ in 0..ATTEMPTS {
        let before = manifest_bytes(dir)?;
        let listing = Listing::read(dir)?;
        if before.is_none() && listing.is_empty() {
            return Ok(None);
        }
        let mut report = RecoveryReport::default();
        let manifest_path = dir.join(MANIFEST_NAME);
        let parsed = match &before {
            Some(bytes) if bytes.len() as u64 <= MANIFEST_MAX_LEN => {
                Manifest::decode(bytes, &manifest_path).map(Some)
            }
            Some(_) => Err(StoreError::Corruption(Corruption {
                path: manifest_path.clone(),
                offset: MANIFEST_MAX_LEN,
                reason: "manifest is too large".into(),
            })),
            None => Ok(None),
        };
        let (manifest, manifest_intact) = match parsed {
            Ok(Some(m)) => (m, true),
            Err(StoreError::UnsupportedVersion { .. }) | Err(StoreError::Io(_)) => {
                return Err(parsed.unwrap_err())
            }
            other => {
                let why = match other {
                    Err(StoreError::Corruption(c)) => format!("damaged ({})", c.reason),
                    _ => "missing".to_string(),
                };
                let m = infer_manifest(&listing);
                report.damaged.push(Corruption {
                    path: manifest_path.clone(),
                    offset: 0,
                    reason: format!(
                        "MANIFEST is {why}; the files present were read instead (snapshot {},                          journals from {}); `refdedup db repair` writes a new one",
                        m.snapshot.as_deref().unwrap_or("none"),
                        m.first_journal
                    ),
                });
                (m, false)
            }
        };

        // Open every file of this generation before checking the MANIFEST again.
        let snapshot_file = match &manifest.snapshot {
            None => None,
            Some(name) => {
                let path = dir.join(name);
                match open_regular(&path) {
                    Ok(f) => Some((path, f)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        if !locked && manifest_bytes(dir)? != before {
                            continue;
                        }
                        return Err(StoreError::MissingFile { path });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let first = manifest.first_journal;
        let mut journal_files = Vec::new();
        for (&n, path) in listing.journals.range(first..) {
            let expected = first + journal_files.len() as u64;
            if n != expected {
                if !locked && manifest_bytes(dir)? != before {
                    break;
                }
                return Err(StoreError::MissingFile {
                    path: dir.join(journal_file_name(expected)),
                });
            }
            match open_regular(path) {
                Ok(f) => journal_files.push((n, path.clone(), f)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(e.into()),
            }
        }
        if !locked && manifest_bytes(dir)? != before {
            continue;
        }

        let mut state = LiveState::default();
        if let Some((path, file)) = snapshot_file {
            let cols = SnapshotColumns::read_from(file, &path)?;
            if cols.first_journal() != manifest.first_journal {
                return Err(StoreError::Corruption(Corruption {
                    path,
                    offset: 32,
                    reason: format!(
                        "snapshot continues at journal {}, MANIFEST says {}",
                        cols.first_journal(),
                        manifest.first_journal
                    ),
                }));
            }
            state.base = cols.entries()?;
            state.resolutions = cols.resolutions().into_iter().collect();
            report.snapshot_entries = cols.len() as u64;
            report.snapshot = Some(path);
        }
        let last = journal_files.len().saturating_sub(1);
        let mut journals = Vec::new();
        for (i, (n, path, mut file)) in journal_files.into_iter().enumerate() {
            use std::io::Read;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            let end = scan_journal_with(&bytes, &path, Some(n), |r| {
                report.journal_records += 1;
                state.apply(r);
            })?;
            let damaged = !end.damaged.is_empty() || end.torn.is_some();
            report.damaged.extend(end.damaged);
            if let Some(torn) = end.torn {
                if i != last {
                    report.damaged.push(torn);
                } else if locked || !writer_active(dir) {
                    report.torn = Some(torn);
                }
                // Else: the last journal of a store a writer has open; its tail is being written.
            }
            if damaged {
                report.damaged_files.push(path.clone());
            }
            journals.push(LoadedJournal {
                number: n,
                path,
                len: bytes.len() as u64,
                clean: end.clean && end.valid_len == bytes.len() as u64,
                header_only_torn: end.clean && bytes.len() < JOURNAL_HEADER_LEN,
                version: end.version,
            });
        }
        if journals.is_empty() && manifest.snapshot.is_some() {
            return Err(StoreError::MissingFile {
                path: dir.join(journal_file_name(first)),
            });
        }
        return Ok(Some(Loaded {
            manifest,
            manifest_intact,
            state,
            report,
            journals,
            listing,
        }));
    }
    Err(StoreError::Io(std::io::Error::other(format!(
        "{}: the store kept changing while it was read ({ATTEMPTS} attempts)",
        dir.display()
    ))))
}

/// What the MANIFEST most likely said, from the files present: the newest snapshot whose
/// header names its first journal, with the journals from there; without a snapshot, every
/// journal.
fn infer_manifest(listing: &Listing) -> Manifest {
    if let Some((&n, (name, _))) = listing.snapshots.iter().next_back() {
        return Manifest {
            snapshot: Some(name.clone()),
            first_journal: n,
        };
    }
    Manifest {
        snapshot: None,
        first_journal: listing.journals.keys().next().copied().unwrap_or(1),
    }
}

/// Live state being rebuilt: the snapshot's rows plus the journal's changes on top.
#[derive(Default)]
pub(crate) struct LiveState {
    /// Snapshot entries, in id order.
    base: Vec<EntryRecord>,
    /// Journal changes by id: `Some` = inserted/replaced, `None` = deleted.
    overlay: HashMap<EntryId, Option<EntryRecord>>,
    resolutions: BTreeMap<String, String>,
}

impl LiveState {
    fn apply(&mut self, record: Record) {
        match record {
            Record::Insert(e) => {
                self.overlay.insert(e.id, Some(e));
            }
            Record::Delete(id) => {
                self.overlay.insert(id, None);
            }
            Record::Resolve { short_key, target } => {
                self.resolutions.insert(short_key, target);
            }
        }
    }

    pub(crate) fn finish(self) -> (Vec<EntryRecord>, Vec<(String, String)>) {
        let LiveState {
            mut base,
            mut overlay,
            resolutions,
        } = self;
        if !overlay.is_empty() {
            base.retain_mut(|e| match overlay.remove(&e.id) {
                None => true,
                Some(None) => false,
                Some(Some(new)) => {
                    *e = new;
                    true
                }
            });
            base.extend(overlay.into_values().flatten());
            // Two sorted runs: the stable sort merges them in linear time.
            base.sort_by_key(|e| e.id);
        }
        (base, resolutions.into_iter().collect())
    }
}
