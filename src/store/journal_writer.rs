//! [`JournalWriter`]: the journal being appended to, owned by the store's single writer.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Corruption, StoreError};
use super::files::{journal_file_name, sync_dir};
use super::journal::{encode_append, journal_header};
use super::record::Record;

/// The open journal being appended to. Only the store's single writer touches it.
pub(crate) struct JournalWriter {
    /// Shared so a group-commit fsync can run without the writer lock.
    file: Arc<File>,
    path: PathBuf,
    number: u64,
    /// Bytes known to be in the file (the valid prefix).
    len: u64,
    /// Reusable frame buffer.
    buf: Vec<u8>,
}

impl JournalWriter {
    /// Creates journal `number` in `dir` (which must not exist yet) with its header, and makes the header durable
    /// (file and directory fsynced) whatever the fsync policy.
    pub(crate) fn create(dir: &Path, number: u64) -> Result<JournalWriter, StoreError> {
        let path = dir.join(journal_file_name(number));
        // Never over an existing file: it may hold records.
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)?;
        let header = journal_header(number);
        file.write_all(&header)?;
        file.sync_all()?;
        sync_dir(dir)?;
        Ok(JournalWriter {
            file: Arc::new(file),
            path,
            number,
            len: header.len() as u64,
            buf: Vec::new(),
        })
    }

    /// Opens an existing journal that ends cleanly after `valid_len` bytes, to append after it.
    /// A file of any other length is refused (nothing is ever cut off in place).
    pub(crate) fn reopen(path: PathBuf, number: u64, valid_len: u64) -> Result<Self, StoreError> {
        let file = OpenOptions::new().write(true).open(&path)?;
        let on_disk = file.metadata()?.len();
        if on_disk != valid_len {
            // Never cut a file in place: the caller starts a new journal instead.
            return Err(StoreError::Corruption(Corruption {
                path,
                offset: valid_len,
                reason: format!("journal is {on_disk} bytes, its records end at {valid_len}"),
            }));
        }
        let mut w = JournalWriter {
            file: Arc::new(file),
            path,
            number,
            len: valid_len,
            buf: Vec::new(),
        };
        w.seek_to_end()?;
        Ok(w)
    }

    fn seek_to_end(&mut self) -> Result<(), StoreError> {
        use std::io::{Seek, SeekFrom};
        (&*self.file).seek(SeekFrom::Start(self.len))?;
        Ok(())
    }

    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the frames of `records` in one `write` (not yet fsynced). On a failed write the
    /// file is cut back to its previous length so no partial frame stays in front of later
    /// appends; if even that fails the error says so and the caller poisons the writer.
    pub(crate) fn write_records(&mut self, records: &[Record]) -> Result<(), StoreError> {
        self.buf.clear();
        encode_append(records, &mut self.buf)?;
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = (&*self.file).write_all(&self.buf) {
            self.file.set_len(self.len)?;
            self.seek_to_end()?;
            return Err(e.into());
        }
        self.len += self.buf.len() as u64;
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        Ok(())
    }

    /// Makes everything written so far durable (`fdatasync`).
    pub(crate) fn sync(&self) -> Result<(), StoreError> {
        self.file.sync_data()?;
        Ok(())
    }

    /// The file handle, for an fsync run without the writer lock.
    pub(crate) fn sync_handle(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }
}
