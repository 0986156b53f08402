//! [`Store`]: the store directory, its single journal writer, the fsync flusher, recovery on
//! open and snapshot compaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::hashes::EntryId;

use super::journal::{
    journal_file_name, parse_journal_file_name, scan_journal_with, JournalWriter,
    JOURNAL_HEADER_LEN, JOURNAL_VERSION,
};
use super::lock::WriterLock;
use super::manifest::{Manifest, MANIFEST_MAX_LEN, MANIFEST_NAME};
use super::snapshot::{
    parse_snapshot_file_name, snapshot_file_name, write_snapshot, SnapshotColumns,
};
use super::{
    Corruption, EntryRecord, FsyncPolicy, Record, Recovered, RecoveryReport, StoreError,
    StoreOptions,
};

/// Suffix of files being written before their atomic rename.
const TMP_SUFFIX: &str = ".tmp";

/// Fsyncs a directory so renames and new files in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Writes `DIR/name` atomically: `fill` writes a temp file in the same directory, which is
/// fsynced, renamed over `name`, and the directory fsynced.
pub(crate) fn atomic_write_with(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut File) -> Result<(), StoreError>,
) -> Result<PathBuf, StoreError> {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let target = dir.join(name);
    let result = (|| {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&tmp)?;
        fill(&mut file)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &target)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| target)
}

/// [`atomic_write_with`] for bytes already in memory.
pub(crate) fn atomic_write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    atomic_write_with(dir, name, |f| Ok(f.write_all(bytes)?)).map(|_| ())
}

/// The store's files, by kind.
#[derive(Default)]
struct Listing {
    journals: BTreeMap<u64, PathBuf>,
    snapshots: BTreeMap<u64, (String, PathBuf)>,
    /// Atomic writes that never reached their rename.
    temps: Vec<PathBuf>,
}

impl Listing {
    fn is_empty(&self) -> bool {
        self.journals.is_empty() && self.snapshots.is_empty()
    }
}

fn list_dir(dir: &Path) -> Result<Listing, StoreError> {
    let mut out = Listing::default();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = parse_journal_file_name(name) {
            out.journals.insert(n, entry.path());
        } else if let Some(n) = parse_snapshot_file_name(name) {
            out.snapshots.insert(n, (name.to_owned(), entry.path()));
        } else if name.ends_with(TMP_SUFFIX)
            && (name.starts_with("snapshot-") || name.starts_with(MANIFEST_NAME))
        {
            out.temps.push(entry.path());
        }
    }
    Ok(out)
}

/// The sub-directory damaged files are moved into (never deleted).
pub(crate) const DAMAGED_DIR: &str = "damaged";

/// Moves `path` into `DIR/damaged/` under its own name (plus `.1`, `.2`, ... if taken).
fn set_aside(dir: &Path, path: &Path) -> Result<PathBuf, StoreError> {
    let aside = dir.join(DAMAGED_DIR);
    std::fs::create_dir_all(&aside)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let mut target = aside.join(&name);
    let mut n = 1;
    while target.exists() {
        target = aside.join(format!("{name}.{n}"));
        n += 1;
    }
    std::fs::rename(path, &target)?;
    sync_dir(&aside)?;
    sync_dir(dir)?;
    Ok(target)
}

/// One journal as loaded.
struct LoadedJournal {
    number: u64,
    path: PathBuf,
    /// Bytes in the file when read.
    len: u64,
    /// Ends cleanly after its last record: a writer may append to it.
    clean: bool,
    /// A crash while it was being created left a prefix of its header (no records).
    header_only_torn: bool,
    version: u32,
}

/// A store's state as read from disk, before anything is changed.
struct Loaded {
    /// The MANIFEST as read, or as inferred from the files when it is damaged or missing.
    manifest: Manifest,
    manifest_intact: bool,
    state: LiveState,
    report: RecoveryReport,
    journals: Vec<LoadedJournal>,
    listing: Listing,
}

/// Reads `DIR/MANIFEST`'s raw bytes (`None` when absent), to tell whether it changed.
fn manifest_bytes(dir: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(dir.join(MANIFEST_NAME)) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Loads the store in `dir` without changing anything on disk.
///
/// `locked`: the caller holds the writer lock, so nothing changes underneath. Otherwise a
/// writer may be appending or compacting meanwhile: every file is opened first and the MANIFEST
/// read again; if it changed (a compaction finished) the load starts over, and once it has not,
/// the open handles see one consistent generation even if the files are deleted next (POSIX
/// keeps an open file readable). A torn tail at the end of the last journal while a writer holds
/// the lock is a write in progress, not damage.
fn load(dir: &Path, locked: bool) -> Result<Option<Loaded>, StoreError> {
    const ATTEMPTS: usize = 50;
    for _ in 0..ATTEMPTS {
        let before = manifest_bytes(dir)?;
        let listing = list_dir(dir)?;
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
                match std::fs::File::open(&path) {
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
            match std::fs::File::open(path) {
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
                } else if locked || !super::lock::writer_active(dir) {
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
struct LiveState {
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

    fn finish(self) -> (Vec<EntryRecord>, Vec<(String, String)>) {
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

/// The writer side shared with the flusher thread.
struct Writer {
    journal: JournalWriter,
    /// Appends written so far (a sequence number per `append_all`).
    written: u64,
    /// Appends known durable.
    synced: u64,
    /// An fsync is running without the lock; others wait on `Shared::synced` for it.
    syncing: bool,
    /// Set when a write or fsync failed: what is on disk is uncertain.
    poisoned: Option<String>,
    /// Set on drop to stop the flusher.
    closing: bool,
}

impl Writer {
    fn check(&self) -> Result<(), StoreError> {
        match &self.poisoned {
            Some(reason) => Err(StoreError::Poisoned {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Runs `op`, poisoning the writer if it fails with anything but a refused record.
    fn guard<T>(
        &mut self,
        op: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.check()?;
        let r = op(self);
        if let Err(e) = &r {
            if !matches!(e, StoreError::RecordTooLarge { .. }) {
                self.poisoned = Some(e.to_string());
            }
        }
        r
    }
}

struct Shared {
    dir: PathBuf,
    policy: FsyncPolicy,
    writer: Mutex<Writer>,
    /// Wakes the flusher (period elapsed or closing).
    wake: Condvar,
    /// Signalled when a group-commit fsync finishes.
    synced: Condvar,
    /// One snapshot at a time.
    snapshotting: Mutex<()>,
    /// Journals found damaged on open: compaction moves them aside instead of deleting them.
    damaged: Mutex<BTreeSet<u64>>,
}

impl Shared {
    /// Makes every append up to sequence `target` durable (group commit): if no fsync is
    /// running, this caller runs one without holding the lock, covering every append written
    /// before it started; otherwise it waits for the running one and checks again. So N
    /// threads appending under [`FsyncPolicy::EveryWrite`] share fsyncs instead of queueing
    /// for one each.
    fn sync_through(&self, w: &mut MutexGuard<'_, Writer>, target: u64) -> Result<(), StoreError> {
        loop {
            w.check()?;
            if w.synced >= target {
                return Ok(());
            }
            if w.syncing {
                self.synced.wait(w);
                continue;
            }
            w.syncing = true;
            let upto = w.written;
            let file = w.journal.sync_handle();
            let result = MutexGuard::unlocked(w, || file.sync_data());
            w.syncing = false;
            self.synced.notify_all();
            match result {
                Ok(()) => w.synced = w.synced.max(upto),
                Err(e) => {
                    w.poisoned = Some(format!("fsync failed: {e}"));
                    return Err(e.into());
                }
            }
        }
    }

    fn sync_all_written(&self) -> Result<(), StoreError> {
        let mut w = self.writer.lock();
        let target = w.written;
        self.sync_through(&mut w, target)
    }
}

/// A store directory open for appending: one journal writer (appends are serialised), an
/// optional background flusher for [`FsyncPolicy::EveryMillis`], and snapshot compaction.
/// `Send + Sync`: share it behind an `Arc`.
///
/// ```
/// use referral_dedup::store::{Record, Store, StoreOptions};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let (store, _) = Store::open(dir.path(), StoreOptions::default())?;
/// store.append(&Record::Resolve { short_key: "bit.ly/a".into(), target: "https://x.org/".into() })?;
/// drop(store);
/// let (_, recovered) = Store::open(dir.path(), StoreOptions::default())?;
/// assert_eq!(recovered.resolutions, vec![("bit.ly/a".to_string(), "https://x.org/".to_string())]);
/// # Ok(()) }
/// ```
pub struct Store {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
    /// Dropped last: the lock outlives every write.
    _lock: WriterLock,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.shared.dir)
            .field("fsync", &self.shared.policy)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store in `dir` for writing (creating it if needed and
    /// [`StoreOptions::create`] allows) and recovers its live state: the snapshot the MANIFEST
    /// names, then every journal from the MANIFEST's first journal on.
    ///
    /// The writer takes the store's exclusive lock (`DIR/LOCK`) for as long as the `Store`
    /// lives: a second writer fails with [`StoreError::Locked`], naming the holder, or waits
    /// ([`StoreOptions::wait_for_lock`]).
    ///
    /// Nothing valid is ever cut off or deleted: a damaged record is skipped and replay resumes
    /// at the next record whose own checksum holds; a torn tail (a write cut short by a crash)
    /// is left in place and appends go to a new journal. Both are listed in the
    /// [`RecoveryReport`] on every open until [`Store::snapshot`] moves the damaged journals
    /// into `DIR/damaged/`. Left-over temp files of atomic writes, journals older than the
    /// snapshot and snapshots an intact MANIFEST does not name are deleted (their content is in
    /// the current snapshot).
    ///
    /// # Errors
    /// I/O errors; [`StoreError::Locked`]; [`StoreError::NotADatabase`] when the store is
    /// missing and may not be created; [`StoreError::Corruption`] for a damaged snapshot;
    /// [`StoreError::MissingFile`] when a file the MANIFEST needs is missing;
    /// [`StoreError::UnsupportedVersion`].
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<(Store, Recovered), StoreError> {
        if !dir.is_dir() {
            if !opts.create {
                return Err(StoreError::NotADatabase {
                    dir: dir.to_path_buf(),
                    why: "the directory does not exist".into(),
                });
            }
            std::fs::create_dir_all(dir)?;
        }
        let lock = WriterLock::acquire(dir, opts.wait_for_lock)?;
        let dir = dir.to_path_buf();
        let loaded = match load(&dir, true)? {
            Some(l) => l,
            None if opts.create => {
                Manifest {
                    snapshot: None,
                    first_journal: 1,
                }
                .write(&dir)?;
                load(&dir, true)?.ok_or_else(|| StoreError::NotADatabase {
                    dir: dir.clone(),
                    why: "the new MANIFEST cannot be read back".into(),
                })?
            }
            None => {
                return Err(StoreError::NotADatabase {
                    dir,
                    why: "no MANIFEST or store files in it".into(),
                })
            }
        };
        let Loaded {
            manifest,
            manifest_intact,
            state,
            report,
            journals,
            listing,
        } = loaded;

        // Clean-up that loses nothing: unfinished temp files, journals the snapshot covers,
        // snapshots an intact MANIFEST no longer names.
        for tmp in &listing.temps {
            std::fs::remove_file(tmp)?;
        }
        for (_, path) in listing.journals.range(..manifest.first_journal) {
            std::fs::remove_file(path)?;
        }
        if manifest_intact {
            for (name, path) in listing.snapshots.values() {
                if manifest.snapshot.as_deref() != Some(name.as_str()) {
                    std::fs::remove_file(path)?;
                }
            }
        }

        let damaged: BTreeSet<u64> = journals
            .iter()
            .filter(|j| report.damaged_files.contains(&j.path))
            .map(|j| j.number)
            .collect();
        let journal = match journals.last() {
            None => JournalWriter::create(&dir, manifest.first_journal)?,
            Some(j) if j.header_only_torn => {
                // A crash while the file was created: a prefix of its header, no records.
                std::fs::remove_file(&j.path)?;
                JournalWriter::create(&dir, j.number)?
            }
            Some(j) if j.clean && j.version == JOURNAL_VERSION => {
                JournalWriter::reopen(j.path.clone(), j.number, j.len)?
            }
            // Damage, a torn tail or an older format: left as it is; appends start a new file.
            Some(j) => JournalWriter::create(&dir, j.number + 1)?,
        };

        let (entries, resolutions) = state.finish();
        let store = Store::start(dir, opts.fsync, journal, lock, damaged);
        Ok((
            store,
            Recovered {
                entries,
                resolutions,
                report,
            },
        ))
    }

    /// Reads the store in `dir` without changing anything on disk and without taking the
    /// writer lock: for commands that only look. A writer may be appending or compacting at the
    /// same time; the state returned is one it acknowledged at some moment (see the module
    /// docs). Damage is reported exactly as [`Store::open`] reports it.
    ///
    /// ```
    /// use referral_dedup::hashes::EntryId;
    /// use referral_dedup::store::{Record, Store, StoreError, StoreOptions};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// assert!(matches!(Store::read_only(dir.path()), Err(StoreError::NotADatabase { .. })));
    /// let (store, _) = Store::open(dir.path(), StoreOptions::default())?;
    /// store.append(&Record::Delete(EntryId(9)))?;
    /// let seen = Store::read_only(dir.path())?; // while the writer is open
    /// assert_eq!(seen.report.journal_records, 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::NotADatabase`] when `dir` is missing or holds no store; otherwise as
    /// [`Store::open`].
    pub fn read_only(dir: &Path) -> Result<Recovered, StoreError> {
        if !dir.is_dir() {
            return Err(StoreError::NotADatabase {
                dir: dir.to_path_buf(),
                why: "the directory does not exist".into(),
            });
        }
        let Some(loaded) = load(dir, false)? else {
            return Err(StoreError::NotADatabase {
                dir: dir.to_path_buf(),
                why: "no MANIFEST or store files in it".into(),
            });
        };
        let (entries, resolutions) = loaded.state.finish();
        Ok(Recovered {
            entries,
            resolutions,
            report: loaded.report,
        })
    }

    fn start(
        dir: PathBuf,
        policy: FsyncPolicy,
        journal: JournalWriter,
        lock: WriterLock,
        damaged: BTreeSet<u64>,
    ) -> Store {
        let shared = Arc::new(Shared {
            dir,
            policy,
            writer: Mutex::new(Writer {
                journal,
                written: 0,
                synced: 0,
                syncing: false,
                poisoned: None,
                closing: false,
            }),
            wake: Condvar::new(),
            synced: Condvar::new(),
            snapshotting: Mutex::new(()),
            damaged: Mutex::new(damaged),
        });
        let flusher = match policy {
            FsyncPolicy::EveryMillis(ms) => {
                let shared = Arc::clone(&shared);
                let period = Duration::from_millis(ms.max(1));
                Some(std::thread::spawn(move || flush_loop(&shared, period)))
            }
            FsyncPolicy::EveryWrite | FsyncPolicy::Never => None,
        };
        Store {
            shared,
            flusher,
            _lock: lock,
        }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The fsync policy in force.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.shared.policy
    }

    /// The journal currently appended to.
    pub fn current_journal(&self) -> PathBuf {
        self.shared.writer.lock().journal.path().to_path_buf()
    }

    /// Appends one record; returns once it is durable under the fsync policy.
    ///
    /// # Errors
    /// [`StoreError::RecordTooLarge`] (nothing written, the store stays usable); an I/O error
    /// (after which the store is poisoned: every later write returns
    /// [`StoreError::Poisoned`] until it is reopened).
    pub fn append(&self, record: &Record) -> Result<(), StoreError> {
        self.append_all(std::slice::from_ref(record))
    }

    /// Appends records in order with one write and (under [`FsyncPolicy::EveryWrite`]) one
    /// fsync, shared with any other threads appending at the same time (group commit: the fsync
    /// runs without the writer lock, so appends from other threads keep going meanwhile). If a record is too large nothing is written. A crash during the call can keep any
    /// prefix of the batch; once it returns, all of it is durable under the policy.
    ///
    /// # Errors
    /// As [`Store::append`].
    pub fn append_all(&self, records: &[Record]) -> Result<(), StoreError> {
        let mut w = self.shared.writer.lock();
        let seq = w.guard(|w| {
            w.journal.write_records(records)?;
            w.written += 1;
            Ok(w.written)
        })?;
        if self.shared.policy == FsyncPolicy::EveryWrite {
            self.shared.sync_through(&mut w, seq)?;
        }
        Ok(())
    }

    /// Fsyncs everything appended so far, whatever the policy.
    ///
    /// # Errors
    /// An I/O error (the store is then poisoned), or [`StoreError::Poisoned`].
    pub fn sync(&self) -> Result<(), StoreError> {
        self.shared.sync_all_written()
    }

    /// Compacts: starts a new journal, writes `entries` and `resolutions` as the new snapshot
    /// (temp file, fsync, rename, directory fsync), points the MANIFEST at it, then deletes the
    /// older journals and snapshots. Returns the snapshot's path.
    ///
    /// `entries` must be the complete live state including the effect of every record appended
    /// before this call, and no append may run while the call is in progress whose effect is
    /// missing from `entries`: the engine holds the lock that serialises its own record+apply
    /// path while it passes its state here. Records appended during the call land in the new
    /// journal and are replayed on top of the snapshot, which is harmless (replay is last
    /// writer wins per id and per short key). Snapshots are serialised.
    ///
    /// A crash at any point leaves a store that opens to the same state: before the MANIFEST
    /// rename the old snapshot and all journals are still there; after it the new snapshot is.
    ///
    /// # Errors
    /// I/O errors; [`StoreError::DuplicateId`] if two entries share an id (no snapshot is
    /// written; the journal was already rotated, which is harmless).
    pub fn snapshot<'a>(
        &self,
        entries: impl IntoIterator<Item = &'a EntryRecord>,
        resolutions: &[(String, String)],
    ) -> Result<PathBuf, StoreError> {
        let _one = self.shared.snapshotting.lock();
        let dir = &self.shared.dir;
        let next = {
            let mut w = self.shared.writer.lock();
            w.guard(|w| {
                // The old journal must be complete on disk before a new one exists: only the
                // last journal may ever have a torn tail. (A group-commit fsync running on it
                // without the lock is harmless: it only covers writes made before.)
                w.journal.sync()?;
                w.synced = w.written;
                let next = w.journal.number() + 1;
                w.journal = JournalWriter::create(dir, next)?;
                Ok(next)
            })?
        };
        let name = snapshot_file_name(next);
        let path = atomic_write_with(dir, &name, |file| {
            write_snapshot(file, entries, resolutions, next)
        })?;
        Manifest {
            snapshot: Some(name.clone()),
            first_journal: next,
        }
        .write(dir)?;
        let listing = list_dir(dir)?;
        let mut damaged = self.shared.damaged.lock();
        for (n, p) in listing.journals.range(..next) {
            // Its records are in the snapshot; a damaged one is kept aside for inspection.
            if damaged.remove(n) {
                set_aside(dir, p)?;
            } else {
                std::fs::remove_file(p)?;
            }
        }
        drop(damaged);
        for (other, p) in listing.snapshots.values() {
            if *other != name {
                std::fs::remove_file(p)?;
            }
        }
        Ok(path)
    }
}

fn flush_loop(shared: &Shared, period: Duration) {
    let mut w = shared.writer.lock();
    while !w.closing {
        shared.wake.wait_for(&mut w, period);
        if w.closing {
            break;
        }
        // A failure poisons the writer; the next append reports it.
        let target = w.written;
        let _ = shared.sync_through(&mut w, target);
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shared.writer.lock().closing = true;
        self.shared.wake.notify_all();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        let _ = self.shared.sync_all_written();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn store_is_send_and_sync() {
        assert_send_sync::<Store>();
    }
}
