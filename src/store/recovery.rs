//! Loading a store directory into live state without changing it: the MANIFEST (or what the
//! files present say when it is damaged), the snapshot it names, then every journal after it,
//! with everything skipped listed in a [`RecoveryReport`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::entry::EntryRecord;
use crate::hashes::EntryId;

use super::error::{Corruption, StoreError};
use super::files::{
    journal_file_name, open_regular, read_regular, Listing, DAMAGED_DIR, MANIFEST_NAME,
};
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
    /// Damaged journals and a damaged snapshot, by path: left in place until compaction puts
    /// them (or a copy, for journals it keeps as the previous generation) into `DIR/damaged/`
    /// (never deleted).
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
    pub(crate) state: LiveState,
    pub(crate) report: RecoveryReport,
    pub(crate) journals: Vec<LoadedJournal>,
    pub(crate) listing: Listing,
    /// The generation the state was built from: the number of the snapshot read (`None`: no
    /// snapshot, every journal from the first). The MANIFEST's unless its snapshot was damaged
    /// or missing and the previous generation was read instead. Compaction keeps it as the new
    /// previous generation.
    pub(crate) base: Option<u64>,
    /// The MANIFEST's snapshot when it was damaged and the previous generation was read
    /// instead: compaction moves it into `DIR/damaged/`.
    pub(crate) damaged_snapshot: Option<u64>,
}

/// How much of a store [`load`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Depth {
    /// The current generation (what the live state needs); the previous one only as the
    /// fallback for a damaged or missing snapshot.
    Current,
    /// Also the previous generation when the current one is intact, reporting its damage too
    /// (`db check`): a damaged fallback is worth knowing about before it is needed.
    WithPrevious,
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
pub(crate) fn load(dir: &Path, locked: bool, depth: Depth) -> Result<Option<Loaded>, StoreError> {
    const ATTEMPTS: usize = 50;
    'attempt: for _ in 0..ATTEMPTS {
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
        let manifest = match parsed {
            Ok(Some(m)) => m,
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
                m
            }
        };

        // Open every file of this generation before checking the MANIFEST again.
        let snapshot_file = match &manifest.snapshot {
            None => None,
            Some(name) => {
                let path = dir.join(name);
                match open_regular(&path) {
                    Ok(f) => Some((path, Ok(f))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        if !locked && manifest_bytes(dir)? != before {
                            continue;
                        }
                        Some((path.clone(), Err(StoreError::MissingFile { path })))
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
        let mut base = None;
        let mut damaged_snapshot = None;
        let mut previous_checked = false;
        if let Some((path, file)) = snapshot_file {
            let read = file.and_then(|f| read_snapshot_into(f, &path, first, &mut state));
            match read {
                Ok(count) => {
                    report.snapshot_entries = count;
                    report.snapshot = Some(path);
                    base = Some(first);
                }
                Err(e @ (StoreError::Corruption(_) | StoreError::MissingFile { .. })) => {
                    let Some(fallback) = fall_back(&listing, first, &mut state)? else {
                        if !locked && manifest_bytes(dir)? != before {
                            continue 'attempt;
                        }
                        return Err(e);
                    };
                    let (offset, what) = match &e {
                        StoreError::Corruption(c) => (c.offset, format!("damaged ({})", c.reason)),
                        _ => (0, "missing".to_string()),
                    };
                    report.damaged.push(Corruption {
                        path: path.clone(),
                        offset,
                        reason: format!(
                            "snapshot is {what}; the previous generation was read instead ({} and \
                             journals from {}), so no record is lost; `refdedup db repair` \
                             writes a new snapshot",
                            fallback.describe(),
                            fallback.first_journal
                        ),
                    });
                    if matches!(e, StoreError::Corruption(_)) {
                        report.damaged_files.push(path);
                        damaged_snapshot = Some(first);
                    }
                    if let Some((p, count)) = &fallback.snapshot {
                        report.snapshot = Some(p.clone());
                        report.snapshot_entries = *count;
                        base = Some(fallback.first_journal);
                    }
                    let mut all = fallback.journals;
                    all.append(&mut journal_files);
                    journal_files = all;
                    previous_checked = true;
                }
                Err(e) => return Err(e),
            }
        }
        if depth == Depth::WithPrevious && !previous_checked && base.is_some() {
            check_previous(&listing, first, &mut report);
        }
        let journals = replay(dir, locked, journal_files, &mut state, &mut report)?;
        if journals.is_empty() && manifest.snapshot.is_some() {
            return Err(StoreError::MissingFile {
                path: dir.join(journal_file_name(first)),
            });
        }
        return Ok(Some(Loaded {
            manifest,
            state,
            report,
            journals,
            listing,
            base,
            damaged_snapshot,
        }));
    }
    Err(StoreError::Io(std::io::Error::other(format!(
        "{}: the store kept changing while it was read ({ATTEMPTS} attempts)",
        dir.display()
    ))))
}

/// Reads the snapshot in `file` into `state`, checking it continues at journal `first`; returns
/// its entry count.
fn read_snapshot_into(
    file: std::fs::File,
    path: &Path,
    first: u64,
    state: &mut LiveState,
) -> Result<u64, StoreError> {
    let cols = SnapshotColumns::read_from(file, path)?;
    if cols.first_journal() != first {
        return Err(StoreError::Corruption(Corruption {
            path: path.to_path_buf(),
            offset: 32,
            reason: format!(
                "snapshot continues at journal {}, its name and the MANIFEST say {first}",
                cols.first_journal()
            ),
        }));
    }
    state.base = cols.entries()?;
    state.resolutions = cols.resolutions().into_iter().collect();
    Ok(cols.len() as u64)
}

/// The generations older than the one continuing at journal `first` whose files are all
/// present, newest first: each an older snapshot (number, path) or `None` (no snapshot: every
/// journal from 1), with the journal replay starts from. Present means the journals from there
/// through `first` are all listed; compaction keeps one such generation (see
/// [`Store::snapshot`](super::Store::snapshot)).
fn previous_generations(
    listing: &Listing,
    first: u64,
) -> impl Iterator<Item = (Option<&PathBuf>, u64)> + '_ {
    let older = listing
        .snapshots
        .range(..first)
        .rev()
        .map(|(&n, (_, path))| (Some(path), n));
    older
        .chain(std::iter::once((None, 1)))
        .filter(move |&(_, from)| {
            from < first && (from..=first).all(|j| listing.journals.contains_key(&j))
        })
}

/// The previous generation read in place of a damaged or missing snapshot.
struct Fallback {
    /// Its snapshot and entry count (`None`: no snapshot, replay from journal 1).
    snapshot: Option<(PathBuf, u64)>,
    first_journal: u64,
    /// Its journals before the current generation's first, opened.
    journals: Vec<(u64, PathBuf, std::fs::File)>,
}

impl Fallback {
    fn describe(&self) -> String {
        match &self.snapshot {
            Some((path, _)) => path.display().to_string(),
            None => "no snapshot".into(),
        }
    }
}

/// Reads the newest previous generation that is present and intact into `state` (replacing
/// what it held), for a current snapshot that is damaged or missing; `None` when there is none.
/// Snapshot `S(n)` holds exactly what `S(m)` plus journals `m..n` hold, so replaying those
/// journals on the older snapshot gives the same state.
fn fall_back(
    listing: &Listing,
    first: u64,
    state: &mut LiveState,
) -> Result<Option<Fallback>, StoreError> {
    'candidate: for (snapshot, from) in previous_generations(listing, first) {
        let mut scratch = LiveState::default();
        let snapshot = match snapshot {
            None => None,
            Some(path) => {
                let read = open_regular(path)
                    .map_err(StoreError::from)
                    .and_then(|f| read_snapshot_into(f, path, from, &mut scratch));
                match read {
                    Ok(count) => Some((path.clone(), count)),
                    Err(StoreError::Io(e)) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(StoreError::Io(e))
                    }
                    Err(_) => continue,
                }
            }
        };
        let mut journals = Vec::new();
        for n in from..first {
            let path = &listing.journals[&n];
            match open_regular(path) {
                Ok(f) => journals.push((n, path.clone(), f)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue 'candidate,
                Err(e) => return Err(e.into()),
            }
        }
        *state = scratch;
        return Ok(Some(Fallback {
            snapshot,
            first_journal: from,
            journals,
        }));
    }
    Ok(None)
}

/// Reads the previous generation (the fallback for a damaged snapshot) without using it and
/// adds its damage to `report`, each reason saying it concerns the fallback only.
fn check_previous(listing: &Listing, first: u64, report: &mut RecoveryReport) {
    let Some((snapshot, from)) = previous_generations(listing, first).next() else {
        return;
    };
    let note = |c: Corruption| Corruption {
        reason: format!(
            "{} (previous generation, kept only as the fallback for a damaged snapshot; the \
             current state does not use it; `refdedup db repair` copies it into damaged/ and \
             compacts, which replaces it)",
            c.reason
        ),
        ..c
    };
    if let Some(path) = snapshot {
        let read = open_regular(path)
            .map_err(StoreError::from)
            .and_then(|f| read_snapshot_into(f, path, from, &mut LiveState::default()));
        let known = || {
            read_regular(path, u64::MAX)
                .is_ok_and(|b| b.is_some_and(|b| set_aside_already(path, &b)))
        };
        let read = match read {
            Err(_) if known() => Ok(0),
            other => other,
        };
        if let Err(e) = read {
            let c = match e {
                StoreError::Corruption(c) => c,
                other => Corruption {
                    path: path.clone(),
                    offset: 0,
                    reason: other.to_string(),
                },
            };
            report.damaged.push(note(c));
        }
    }
    for n in from..first {
        let path = &listing.journals[&n];
        let bytes = match read_regular(path, u64::MAX) {
            // Already found damaged and copied into DIR/damaged/ by a compaction.
            Ok(Some(b)) if set_aside_already(path, &b) => continue,
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(e) => {
                report.damaged.push(note(Corruption {
                    path: path.clone(),
                    offset: 0,
                    reason: e.to_string(),
                }));
                continue;
            }
        };
        match scan_journal_with(&bytes, path, Some(n), |_| {}) {
            Ok(end) => report
                .damaged
                .extend(end.damaged.into_iter().chain(end.torn).map(note)),
            Err(StoreError::Corruption(c)) => report.damaged.push(note(c)),
            Err(e) => report.damaged.push(note(Corruption {
                path: path.clone(),
                offset: 0,
                reason: e.to_string(),
            })),
        }
    }
}

/// Whether `DIR/damaged/` holds a copy of the file at `path` (its bytes as they are now).
pub(crate) fn already_aside(path: &Path) -> Result<bool, StoreError> {
    Ok(read_regular(path, u64::MAX)?.is_some_and(|b| set_aside_already(path, &b)))
}

/// Whether `DIR/damaged/` holds a copy of the file at `path` with exactly these bytes.
fn set_aside_already(path: &Path, bytes: &[u8]) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    let aside = dir.join(DAMAGED_DIR);
    let name = name.to_string_lossy();
    (0..100)
        .map(|k| match k {
            0 => aside.join(&*name),
            k => aside.join(format!("{name}.{k}")),
        })
        .take_while(|p| p.exists())
        .any(|p| {
            read_regular(&p, bytes.len() as u64 + 1).is_ok_and(|b| b.as_deref() == Some(bytes))
        })
}

/// Replays `files` (journals in order) onto `state`, reporting damage; the last journal's torn
/// tail is a write in progress, not damage, while a writer holds the lock.
fn replay(
    dir: &Path,
    locked: bool,
    files: Vec<(u64, PathBuf, std::fs::File)>,
    state: &mut LiveState,
    report: &mut RecoveryReport,
) -> Result<Vec<LoadedJournal>, StoreError> {
    let last = files.len().saturating_sub(1);
    let mut journals = Vec::new();
    for (i, (n, path, mut file)) in files.into_iter().enumerate() {
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
    Ok(journals)
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
