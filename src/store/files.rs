//! The store directory's files: their names, crash-safe replacement (temp file, fsync, rename,
//! directory fsync), the listing of what a directory holds, setting damaged files aside, and the
//! refusal to open anything but a regular file.
//!
//! A leaf: it knows file names and the file system, nothing of what the files hold, and imports
//! no other store module (its errors are plain [`std::io::Error`]s).
//!
//! ```text
//! MANIFEST                 the current snapshot and first journal   (manifest.rs)
//! snapshot-NNNNNN.bin      compacted state, replay continues at NNNNNN (snapshot/)
//! journal-NNNNNN.log       appended records                         (journal.rs)
//! LOCK                     the writer lock                          (lock.rs)
//! *.tmp                    an atomic write that never reached its rename
//! damaged/                 damaged journals set aside by compaction
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The manifest file name.
pub(crate) const MANIFEST_NAME: &str = "MANIFEST";
/// The writer lock's file name.
pub(crate) const LOCK_NAME: &str = "LOCK";
/// The sub-directory damaged files are moved into (never deleted).
pub(crate) const DAMAGED_DIR: &str = "damaged";
/// Suffix of files being written before their atomic rename.
const TMP_SUFFIX: &str = ".tmp";

/// The file name of journal number `n`.
pub(crate) fn journal_file_name(n: u64) -> String {
    format!("journal-{n:06}.log")
}

/// The journal number in a file name, if it is a journal file name.
pub(crate) fn parse_journal_file_name(name: &str) -> Option<u64> {
    parse_numbered(name, "journal-", ".log")
}

/// The file name of the snapshot whose replay starts at journal `first_journal`.
pub(crate) fn snapshot_file_name(first_journal: u64) -> String {
    format!("snapshot-{first_journal:06}.bin")
}

/// The journal number in a snapshot file name, if it is one.
pub(crate) fn parse_snapshot_file_name(name: &str) -> Option<u64> {
    parse_numbered(name, "snapshot-", ".bin")
}

/// The file name of the PDQ index the engine writes beside the snapshot of `generation`
/// (`snapshot_file_name(generation)`): a cache the store itself never reads.
pub(crate) fn index_file_name(generation: u64) -> String {
    format!("pdq-index-{generation:06}.bin")
}

/// Whether `name` is an index file name, or the temporary name of one being written.
pub(crate) fn is_index_file_name(name: &str) -> bool {
    parse_numbered(name, "pdq-index-", ".bin").is_some()
        || name
            .strip_suffix(TMP_SUFFIX)
            .is_some_and(|n| parse_numbered(n, "pdq-index-", ".bin").is_some())
}

/// `prefix` + at least six ASCII digits + `suffix`, and nothing else.
fn parse_numbered(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The error for a store file that is a device, FIFO, socket or directory: opening one could
/// block forever (a FIFO) or read without end (a device), so it is never opened for reading.
fn not_regular(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{}: not a regular file (a device, FIFO, socket or directory); refused",
            path.display()
        ),
    )
}

/// Opens `path` for reading if it is a regular file (a symlink to one counts); a missing file
/// keeps its [`io::ErrorKind::NotFound`].
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular(path));
    }
    let file = File::open(path)?;
    // The name may have been swapped between the check and the open.
    if !file.metadata()?.is_file() {
        return Err(not_regular(path));
    }
    Ok(file)
}

/// Reads the regular file at `path`, at most `limit` bytes of it (`None` when it is absent).
pub(crate) fn read_regular(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let file = match open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Fsyncs a directory so renames and new files in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `DIR/name` atomically: `fill` writes a temp file in the same directory, which is
/// fsynced, renamed over `name`, and the directory fsynced. Returns the final path.
pub(crate) fn atomic_write_with<E: From<io::Error>>(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
) -> Result<PathBuf, E> {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let target = dir.join(name);
    let result = (|| {
        // A left-over temp name that is not a regular file (a FIFO would block the open) is ours
        // to replace.
        if std::fs::symlink_metadata(&tmp).is_ok_and(|m| !m.is_file()) {
            std::fs::remove_file(&tmp)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&tmp)?;
        fill(&mut file)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &target)?;
        sync_dir(dir)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| target)
}

/// [`atomic_write_with`] for bytes already in memory.
pub(crate) fn atomic_write(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    atomic_write_with(dir, name, |f: &mut File| f.write_all(bytes)).map(|_| ())
}

/// The store's files in a directory, by kind.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Journals by number.
    pub(crate) journals: BTreeMap<u64, PathBuf>,
    /// Snapshots by the journal they continue at: file name and path.
    pub(crate) snapshots: BTreeMap<u64, (String, PathBuf)>,
    /// Atomic writes (snapshot or MANIFEST) that never reached their rename.
    pub(crate) temps: Vec<PathBuf>,
}

impl Listing {
    /// Whether the directory holds neither journals nor snapshots.
    pub(crate) fn is_empty(&self) -> bool {
        self.journals.is_empty() && self.snapshots.is_empty()
    }

    /// Lists the store files in `dir` (other names are ignored).
    pub(crate) fn read(dir: &Path) -> io::Result<Listing> {
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
}

/// A free name in `DIR/damaged/` for `path`: its own name (plus `.1`, `.2`, ... if taken).
fn aside_name(dir: &Path, path: &Path) -> io::Result<PathBuf> {
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
    Ok(target)
}

/// Moves `path` into `DIR/damaged/` under its own name (plus `.1`, `.2`, ... if taken).
pub(crate) fn set_aside(dir: &Path, path: &Path) -> io::Result<PathBuf> {
    let target = aside_name(dir, path)?;
    std::fs::rename(path, &target)?;
    sync_dir(&dir.join(DAMAGED_DIR))?;
    sync_dir(dir)?;
    Ok(target)
}

/// Puts a copy of `path` into `DIR/damaged/` (a hard link where the file system allows, so it
/// costs no space while the original stays), leaving `path` in place.
pub(crate) fn copy_aside(dir: &Path, path: &Path) -> io::Result<PathBuf> {
    let target = aside_name(dir, path)?;
    if std::fs::hard_link(path, &target).is_err() {
        let tmp = target.with_extension("copying.tmp");
        std::fs::copy(path, &tmp)?;
        File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &target)?;
    }
    sync_dir(&dir.join(DAMAGED_DIR))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_reject_lookalikes() {
        assert_eq!(journal_file_name(7), "journal-000007.log");
        assert_eq!(parse_journal_file_name("journal-000007.log"), Some(7));
        assert_eq!(
            parse_journal_file_name("journal-1234567.log"),
            Some(1234567)
        );
        assert_eq!(parse_journal_file_name("journal-07.log"), None);
        assert_eq!(parse_journal_file_name("journal-00000x.log"), None);
        assert_eq!(parse_journal_file_name("journal-000007.log.tmp"), None);
        assert_eq!(snapshot_file_name(3), "snapshot-000003.bin");
        assert_eq!(parse_snapshot_file_name("snapshot-000003.bin"), Some(3));
        assert_eq!(parse_snapshot_file_name("snapshot-000003.log"), None);
    }

    #[test]
    fn special_files_are_refused_and_missing_ones_stay_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("journal-000001.log");
        std::fs::create_dir(&sub).unwrap();
        let e = open_regular(&sub).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let missing = dir.path().join("MANIFEST");
        assert_eq!(
            open_regular(&missing).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(read_regular(&missing, 10).unwrap().is_none());
        #[cfg(unix)]
        if std::process::Command::new("mkfifo")
            .arg(dir.path().join("fifo"))
            .status()
            .is_ok_and(|s| s.success())
        {
            let e = read_regular(&dir.path().join("fifo"), 10).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        atomic_write(dir.path(), "MANIFEST", b"one").unwrap();
        atomic_write(dir.path(), "MANIFEST", b"two").unwrap();
        assert_eq!(std::fs::read(dir.path().join("MANIFEST")).unwrap(), b"two");
        let failed = atomic_write_with(dir.path(), "MANIFEST", |_: &mut File| {
            Err(io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(dir.path().join("MANIFEST")).unwrap(), b"two");
        let listing = Listing::read(dir.path()).unwrap();
        assert!(listing.temps.is_empty() && listing.is_empty());
    }
}
