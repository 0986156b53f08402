//! Crash-safe persistence in a directory: a checksummed append-only journal of [`Record`]s plus
//! compacted snapshots of the live state.
//!
//! ```text
//! DIR/MANIFEST               names the current snapshot and the first journal to replay
//! DIR/snapshot-NNNNNN.bin    compacted live state; replay continues at journal NNNNNN
//! DIR/journal-NNNNNN.log     records appended since, each length-prefixed and checksummed
//! DIR/LOCK                   the writer lock: pid and command of the process holding it
//! DIR/damaged/               damaged files set aside whole by compaction (never deleted)
//! ```
//!
//! - [`Store::open`] takes the writer lock, loads the snapshot the MANIFEST names and replays
//!   the journals after it. [`Store::read_only`] loads the same state without the lock and
//!   without changing any file, consistently even while a writer appends or compacts.
//! - [`Store::append`] / [`Store::append_all`] return once the record is durable under the
//!   [`FsyncPolicy`]: fsynced ([`FsyncPolicy::EveryWrite`]), in the OS and fsynced by a
//!   background flusher within the period ([`FsyncPolicy::EveryMillis`]), or handed to the OS
//!   only ([`FsyncPolicy::Never`]: survives a process crash, not a power cut). Several records
//!   appended together are one group: replay counts all of them or none.
//! - [`Store::snapshot`] starts a new journal, writes the live state to a temp file, fsyncs and
//!   renames it, points the MANIFEST at it (same dance), and keeps the generation it replaces
//!   (the previous snapshot, or none, and the journals the new snapshot covers) as the
//!   fallback for a damaged snapshot; only files older than that are deleted (damaged ones are
//!   moved into `DIR/damaged/` instead).
//!
//! ## One writer
//! A writer holds an exclusive lock on `DIR/LOCK` for its lifetime; a second writer fails with
//! [`StoreError::Locked`] (naming the holder's pid and command) or waits
//! ([`StoreOptions::wait_for_lock`]). The kernel drops the lock when the process ends, however
//! it ends. Readers take no lock.
//!
//! ## Damage is reported, never resolved by deleting valid data
//! Every journal frame carries its own length and checksum. Replay keeps every frame that checks
//! out: after a damaged frame it searches forward for the next intact frame and resumes there.
//! Files are never cut in place: a torn tail (a write cut short by a crash) stays where it is
//! and the writer starts a new journal after it. Everything skipped is listed in the
//! [`RecoveryReport`] (path, byte offset, what was kept) on every open until compaction
//! (`refdedup db repair`) sets the damaged journal aside. A damaged MANIFEST is replaced by what
//! the files present say. A damaged or missing snapshot falls back to the previous generation
//! (the older snapshot, or none, plus the journals the damaged one covers), which replays to
//! the same state, and is reported the same way until a compaction writes a new snapshot and
//! moves the damaged one into `DIR/damaged/`. [`Store::check`] also reads the previous
//! generation and reports its damage. Errors remain for a newer format version, a missing
//! journal, and a damaged snapshot with no complete previous generation (a store compacted by a
//! build before this one kept none).
//!
//! ## Disk cost of the fallback
//! Between compactions the directory holds two snapshots (the current and the previous one)
//! and the journals since the previous compaction, where it held one snapshot and the journals
//! since the last compaction before: at most one snapshot plus one compaction interval of
//! journal more, so about twice the snapshot size when compacting often.
//!
//! ## Module map (each imports only modules above it in this list)
//! - `files`: file names, atomic write + rename, directory fsync, the directory listing,
//!   setting damaged files aside, refusing special files (a leaf: std only).
//! - `error`: [`StoreError`], [`Corruption`]; `options`: [`StoreOptions`], [`FsyncPolicy`].
//! - `record`: the journal's [`Record`] (entries themselves live in [`crate::entry`]).
//! - `codec`: the record payload encoding and the bounded byte reader.
//! - `framing`: the header every file shares (magic, version, CRC-32) and the version range
//!   each kind's reader accepts.
//! - `journal`, `snapshot` (its sections declared in one table), `manifest`: the three formats.
//! - `lock`: the writer lock. `journal_writer`: appending to the open journal. `recovery`:
//!   loading a directory into live state. `directory`: [`Store`], the writer.
//!
//! ## Format versions
//! Every reader accepts a range of versions, `oldest..=current`, and writes `current`:
//! journals 1..=3 (version 2 adds group markers, version 3 the video field of an entry; a
//! writer never appends to an older journal, it starts a new one), snapshots 1..=2 (version 2
//! adds the video sections), the MANIFEST 1..=1. `tests/data/store/v1`, `v2` and `v3` are
//! committed fixtures (named by journal version) that must keep opening to the same state.
//!
//! ```
//! use referral_dedup::hashes::EntryId;
//! use referral_dedup::store::{EntryRecord, EntrySource, Record, Store, StoreOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let (store, recovered) = Store::open(dir.path(), StoreOptions::default())?;
//! assert!(recovered.entries.is_empty());
//! let e = EntryRecord::new(EntryId(1), EntrySource::Known, "list-7");
//! store.append(&Record::Insert(e.clone()))?;
//! store.snapshot([&e], &[])?;
//! store.append(&Record::Delete(EntryId(1)))?;
//! drop(store);
//!
//! let (_store, recovered) = Store::open(dir.path(), StoreOptions::default())?;
//! assert!(recovered.entries.is_empty()); // snapshot had it, the journal deleted it
//! assert_eq!(recovered.report.snapshot_entries, 1);
//! assert_eq!(recovered.report.journal_records, 1);
//! # Ok(()) }
//! ```

mod codec;
mod directory;
mod error;
mod files;
mod framing;
mod journal;
mod journal_writer;
mod lock;
mod manifest;
mod options;
mod record;
mod recovery;
mod snapshot;
mod video_record;

pub use crate::entry::{EntryRecord, EntrySource};
pub use directory::Store;
// For the engine's index files beside the snapshots.
pub use error::{Corruption, StoreError};
pub(crate) use files::{
    atomic_write_with, index_file_name, is_index_file_name, parse_snapshot_file_name,
};
pub use journal::{
    encode_journal, encode_journal_append, scan_journal, JournalScan, JOURNAL_VERSION,
    MAX_RECORD_LEN, MIN_JOURNAL_VERSION,
};
pub use manifest::{MANIFEST_VERSION, MIN_MANIFEST_VERSION};
pub use options::{FsyncPolicy, StoreOptions};
pub use record::Record;
pub use recovery::{Recovered, RecoveryReport};
pub use snapshot::{encode_snapshot, SnapshotColumns, MIN_SNAPSHOT_VERSION, SNAPSHOT_VERSION};
