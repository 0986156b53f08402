//! `DIR/LOCK`: one writer per store directory.
//!
//! A writer holds an exclusive advisory lock (`flock` through [`File::try_lock`]) on `DIR/LOCK`
//! for as long as its [`Store`](super::Store) lives, and writes its process id and command line
//! into the file so a second writer's error can say who holds the store. The lock is released by
//! the kernel when the process ends, however it ends (a SIGKILL included), so a stale `LOCK`
//! file never blocks anyone.
//!
//! Readers ([`Store::read_only`](super::Store::read_only)) never take the lock and never create
//! the file; they only probe it (a shared lock taken and dropped at once) to tell a write in
//! progress from a torn tail. Because such a probe can collide with a writer's `try_lock` for a
//! moment, a writer retries for a short grace period before it reports the store as busy.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::StoreError;
use super::files::LOCK_NAME;

/// How long a writer keeps retrying before it reports the store as busy (covers readers' probes).
const GRACE: Duration = Duration::from_millis(300);
/// The holder description is a few lines; anything longer is cut when read.
const HOLDER_MAX_LEN: u64 = 4096;

/// The exclusive writer lock on a store directory, held until dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    /// Kept open: closing the file releases the lock.
    _file: File,
}

impl WriterLock {
    /// Takes the writer lock on `dir`, creating `DIR/LOCK` if needed. With `wait`, blocks until
    /// the current holder is done; otherwise fails with [`StoreError::Locked`] naming it.
    pub(crate) fn acquire(dir: &Path, wait: bool) -> Result<WriterLock, StoreError> {
        let path = dir.join(LOCK_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if wait => {
                    file.lock()?;
                    break;
                }
                Err(TryLockError::WouldBlock) if started.elapsed() < GRACE => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked {
                        dir: dir.to_path_buf(),
                        holder: read_holder(&path),
                    })
                }
                Err(TryLockError::Error(e)) => return Err(e.into()),
            }
        }
        // Who holds it, for the error a second writer gets. Not fsynced: it only matters while
        // this process lives.
        file.set_len(0)?;
        let command: Vec<String> = std::env::args().collect();
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        write!(
            file,
            "pid {}\ncommand {}\nsince {since}\n",
            std::process::id(),
            command.join(" ")
        )?;
        Ok(WriterLock { _file: file })
    }
}

/// The holder description in `DIR/LOCK` as one line (`pid 42, command refdedup known import
/// ...`), or a neutral text when it cannot be read.
fn read_holder(path: &PathBuf) -> String {
    let mut text = String::new();
    let read = File::open(path)
        .and_then(|f| f.take(HOLDER_MAX_LEN).read_to_string(&mut text))
        .is_ok();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("pid ") || l.starts_with("command "))
        .collect();
    if !read || lines.is_empty() {
        return "another process (no holder recorded)".into();
    }
    lines.join(", ")
}

/// Whether a writer holds the lock on `dir` right now (a shared lock is taken and dropped at
/// once; nothing is created or written).
pub(crate) fn writer_active(dir: &Path) -> bool {
    let Ok(file) = File::open(dir.join(LOCK_NAME)) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}
