//! [`Store`]: the store directory, its single journal writer, the fsync flusher, clean-up on
//! open and snapshot compaction (loading itself is `recovery`).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::entry::EntryRecord;

use super::error::StoreError;
use super::files::{atomic_write_with, copy_aside, set_aside, snapshot_file_name, Listing};
use super::journal::JOURNAL_VERSION;
use super::journal_writer::JournalWriter;
use super::lock::WriterLock;
use super::manifest::Manifest;
use super::options::{FsyncPolicy, StoreOptions};
use super::record::Record;
use super::recovery::{already_aside, load, Depth, Loaded, Recovered};
use super::snapshot::write_snapshot;

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
    /// Journals found damaged on open: compaction copies them into `DIR/damaged/` when a
    /// snapshot covers them, and never deletes the copy.
    damaged: Mutex<BTreeSet<u64>>,
    /// The generation the live state is built on (snapshot number; `None`: no snapshot,
    /// journals from 1) and a damaged MANIFEST snapshot to set aside. Compaction keeps the
    /// base's files as the previous generation.
    generation: Mutex<Generation>,
}

/// What [`Store::snapshot`] keeps and sets aside.
struct Generation {
    base: Option<u64>,
    damaged_snapshot: Option<u64>,
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
    /// [`RecoveryReport`](super::RecoveryReport) on every open until [`Store::snapshot`] moves the damaged journals
    /// into `DIR/damaged/`. A damaged or missing snapshot is read through the previous
    /// generation instead (see [`Store::snapshot`]) and reported the same way. Left-over temp
    /// files of atomic writes are deleted; nothing else is.
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
        let loaded = match load(&dir, true, Depth::Current)? {
            Some(l) => l,
            None if opts.create => {
                Manifest {
                    snapshot: None,
                    first_journal: 1,
                }
                .write(&dir)?;
                load(&dir, true, Depth::Current)?.ok_or_else(|| StoreError::NotADatabase {
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
            state,
            report,
            journals,
            listing,
            base,
            damaged_snapshot,
            ..
        } = loaded;

        // Clean-up that loses nothing: unfinished temp files. Older generations stay until the
        // next compaction: the previous one is the fallback for a damaged snapshot.
        for tmp in &listing.temps {
            std::fs::remove_file(tmp)?;
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
        let generation = Generation {
            base,
            damaged_snapshot,
        };
        let store = Store::start(dir, opts.fsync, journal, lock, damaged, generation);
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
        Self::read_at_depth(dir, Depth::Current)
    }

    /// [`Store::read_only`] that also reads the previous generation (the fallback for a
    /// damaged snapshot, see [`Store::snapshot`]) when the current one is intact, and reports
    /// its damage too: what `refdedup db check` runs. The state returned is the current one.
    ///
    /// ```
    /// use referral_dedup::hashes::EntryId;
    /// use referral_dedup::store::{EntryRecord, EntrySource, Record, Store, StoreOptions};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let (store, _) = Store::open(dir.path(), StoreOptions::default())?;
    /// let e = EntryRecord::new(EntryId(1), EntrySource::Known, "k1");
    /// store.append(&Record::Insert(e.clone()))?;
    /// store.snapshot([&e], &[])?;
    /// drop(store);
    /// // The journal the snapshot covers is kept as the previous generation; damage in it is
    /// // reported by a check, while the current state stays whole.
    /// let old = dir.path().join("journal-000001.log");
    /// let mut bytes = std::fs::read(&old)?;
    /// let last = bytes.len() - 1;
    /// bytes[last] ^= 1;
    /// std::fs::write(&old, &bytes)?;
    /// assert!(Store::read_only(dir.path())?.report.is_clean());
    /// let checked = Store::check(dir.path())?;
    /// assert_eq!(checked.entries.len(), 1);
    /// assert!(checked.report.damaged[0].reason.contains("previous generation"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Store::read_only`].
    pub fn check(dir: &Path) -> Result<Recovered, StoreError> {
        Self::read_at_depth(dir, Depth::WithPrevious)
    }

    /// Puts a copy of `file`, a damaged file of the store in `dir` that compaction would
    /// otherwise delete (a previous generation's file reported by [`Store::check`]), into
    /// `DIR/damaged/`, unless an identical copy is there already; later checks stop reporting
    /// it. Returns the copy's path, or `None` when there was one already.
    ///
    /// ```
    /// use referral_dedup::store::{Store, StoreOptions};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let (_store, _) = Store::open(dir.path(), StoreOptions::default())?;
    /// let journal = dir.path().join("journal-000001.log");
    /// let copy = Store::keep_damaged_copy(dir.path(), &journal)?.expect("a new copy");
    /// assert_eq!(std::fs::read(&copy)?, std::fs::read(&journal)?);
    /// assert!(Store::keep_damaged_copy(dir.path(), &journal)?.is_none());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// I/O errors; [`StoreError::NotADatabase`] when `file` is not a file directly in `dir`.
    pub fn keep_damaged_copy(dir: &Path, file: &Path) -> Result<Option<PathBuf>, StoreError> {
        if file.parent() != Some(dir) || !file.is_file() {
            return Err(StoreError::NotADatabase {
                dir: dir.to_path_buf(),
                why: format!("{} is not a file of this store", file.display()),
            });
        }
        if already_aside(file)? {
            return Ok(None);
        }
        Ok(Some(copy_aside(dir, file)?))
    }

    fn read_at_depth(dir: &Path, depth: Depth) -> Result<Recovered, StoreError> {
        if !dir.is_dir() {
            return Err(StoreError::NotADatabase {
                dir: dir.to_path_buf(),
                why: "the directory does not exist".into(),
            });
        }
        let Some(loaded) = load(dir, false, depth)? else {
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
        generation: Generation,
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
            generation: Mutex::new(generation),
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
    /// (temp file, fsync, rename, directory fsync) and points the MANIFEST at it. Returns the
    /// snapshot's path.
    ///
    /// The generation the state was loaded from stays as the previous generation: its snapshot
    /// (or none) and its journals, which the new snapshot covers. If the new snapshot is ever
    /// damaged, opening replays them instead and loses nothing. Files older than that are
    /// deleted; damaged ones are moved into `DIR/damaged/` (a damaged journal the new snapshot
    /// covers is copied there and stays in place as part of the previous generation; the
    /// damaged snapshot a fallback replaced is moved there).
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
        // Keep the generation the state was built on as the previous one (the fallback for a
        // damaged snapshot): its snapshot and its journals from its first on. Older files go;
        // damaged ones are moved into DIR/damaged/ instead, never deleted.
        let listing = Listing::read(dir)?;
        let mut generation = self.shared.generation.lock();
        let keep_from = generation.base.unwrap_or(0);
        let mut damaged = self.shared.damaged.lock();
        for (&n, p) in listing.journals.range(..next) {
            if n < keep_from {
                if damaged.remove(&n) {
                    set_aside(dir, p)?;
                } else {
                    std::fs::remove_file(p)?;
                }
            } else if damaged.remove(&n) && !already_aside(p)? {
                // Covered by the new snapshot: a copy goes aside for inspection, the file
                // stays as part of the previous generation.
                copy_aside(dir, p)?;
            }
        }
        drop(damaged);
        for (&n, (other, p)) in &listing.snapshots {
            if *other == name || generation.base == Some(n) {
                continue;
            }
            if generation.damaged_snapshot == Some(n) {
                set_aside(dir, p)?;
            } else {
                std::fs::remove_file(p)?;
            }
        }
        generation.base = Some(next);
        generation.damaged_snapshot = None;
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
