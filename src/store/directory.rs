//! [`Store`]: the store directory, its single journal writer, the fsync flusher, recovery on
//! open and snapshot compaction.

use std::collections::{BTreeMap, HashMap};
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
    JOURNAL_HEADER_LEN,
};
use super::manifest::{Manifest, MANIFEST_NAME};
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
    snapshots: Vec<(String, PathBuf)>,
}

fn list_dir(dir: &Path) -> Result<Listing, StoreError> {
    let mut out = Listing::default();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = parse_journal_file_name(name) {
            out.journals.insert(n, entry.path());
        } else if parse_snapshot_file_name(name).is_some() {
            out.snapshots.push((name.to_owned(), entry.path()));
        } else if name.ends_with(TMP_SUFFIX)
            && (name.starts_with("snapshot-") || name.starts_with(MANIFEST_NAME))
        {
            // An atomic write that never reached its rename.
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(out)
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
    /// Opens (creating if needed) the store in `dir` and recovers its live state: the snapshot
    /// the MANIFEST names, then every journal from the MANIFEST's first journal on. Replay of
    /// the last journal stops at its first torn or corrupt record, which is reported in
    /// [`RecoveryReport::torn`] and cut off (with everything after it) so appends continue
    /// cleanly after the last good record. Left-over temp files, journals older than the
    /// snapshot and snapshots the MANIFEST does not name are deleted.
    ///
    /// # Errors
    /// I/O errors; [`StoreError::Corruption`] for a damaged snapshot, MANIFEST or a damaged
    /// record in a journal that is not the last; [`StoreError::MissingFile`] and
    /// [`StoreError::MissingManifest`] when files are missing; [`StoreError::UnsupportedVersion`].
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<(Store, Recovered), StoreError> {
        std::fs::create_dir_all(dir)?;
        let dir = dir.to_path_buf();
        let listing = list_dir(&dir)?;
        let manifest = match Manifest::read(&dir)? {
            Some(m) => m,
            None if listing.journals.is_empty() && listing.snapshots.is_empty() => {
                let m = Manifest {
                    snapshot: None,
                    first_journal: 1,
                };
                m.write(&dir)?;
                m
            }
            None => return Err(StoreError::MissingManifest { dir }),
        };

        let mut state = LiveState::default();
        let mut report = RecoveryReport::default();
        if let Some(name) = &manifest.snapshot {
            let path = dir.join(name);
            let cols = match SnapshotColumns::read(&path) {
                Err(StoreError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(StoreError::MissingFile { path })
                }
                r => r?,
            };
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

        // Journals before the snapshot are covered by it: left over from a compaction that
        // stopped before deleting them.
        let first = manifest.first_journal;
        let mut journals = Vec::new();
        for (n, path) in listing.journals {
            if n < first {
                std::fs::remove_file(&path)?;
            } else {
                journals.push((n, path));
            }
        }
        for (i, (n, _)) in journals.iter().enumerate() {
            let expected = first + i as u64;
            if *n != expected {
                return Err(StoreError::MissingFile {
                    path: dir.join(journal_file_name(expected)),
                });
            }
        }
        let journal = match journals.last() {
            None if manifest.snapshot.is_some() => {
                return Err(StoreError::MissingFile {
                    path: dir.join(journal_file_name(first)),
                })
            }
            None => JournalWriter::create(&dir, first)?,
            Some(_) => {
                let last = journals.len() - 1;
                let mut writer = None;
                for (i, (n, path)) in journals.into_iter().enumerate() {
                    let bytes = std::fs::read(&path)?;
                    let end = scan_journal_with(&bytes, &path, Some(n), |r| {
                        report.journal_records += 1;
                        state.apply(r);
                    })?;
                    if let Some(torn) = end.torn {
                        if i != last {
                            return Err(StoreError::Corruption(torn));
                        }
                        report.torn = Some(torn);
                    }
                    if i == last {
                        writer = Some(if end.valid_len < JOURNAL_HEADER_LEN as u64 {
                            JournalWriter::create(&dir, n)?
                        } else {
                            JournalWriter::reopen(path, n, end.valid_len)?
                        });
                    }
                }
                writer.ok_or_else(|| StoreError::MissingFile {
                    path: dir.join(journal_file_name(first)),
                })?
            }
        };
        for (name, path) in &listing.snapshots {
            if manifest.snapshot.as_deref() != Some(name.as_str()) {
                std::fs::remove_file(path)?;
            }
        }

        let (entries, resolutions) = state.finish();
        let store = Store::start(dir, opts.fsync, journal);
        Ok((
            store,
            Recovered {
                entries,
                resolutions,
                report,
            },
        ))
    }

    fn start(dir: PathBuf, policy: FsyncPolicy, journal: JournalWriter) -> Store {
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
        });
        let flusher = match policy {
            FsyncPolicy::EveryMillis(ms) => {
                let shared = Arc::clone(&shared);
                let period = Duration::from_millis(ms.max(1));
                Some(std::thread::spawn(move || flush_loop(&shared, period)))
            }
            FsyncPolicy::EveryWrite | FsyncPolicy::Never => None,
        };
        Store { shared, flusher }
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
        for (n, p) in listing.journals {
            if n < next {
                std::fs::remove_file(p)?;
            }
        }
        for (other, p) in listing.snapshots {
            if other != name {
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
