//! Known content: hash-list items and media added as known-removed content, imports and
//! exports.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use super::fingerprint::{media_fingerprint_file_with, media_fingerprint_with};
use super::indexes::region_grids;
use super::{Engine, EngineError, ImportReport, KnownItem, ListFormat, MediaFingerprint};
use crate::entry::RegionGrid;
use crate::hashes::EntryId;
use crate::hashlist;
use crate::store::{EntryRecord, EntrySource};

impl Engine {
    /// Adds one known-content item (from a hash list). Adding an item that is already present
    /// with the same id and hashes changes nothing and returns the existing id.
    ///
    /// # Errors
    /// [`EngineError::Empty`] when the item has no hash; a store error when journaling fails.
    pub fn add_known(&self, item: &KnownItem) -> crate::Result<EntryId> {
        let (ids, _) = self.add_known_items(std::slice::from_ref(item), &[])?;
        Ok(ids[0])
    }

    /// Adds known-content items in one journal write (one group: after a crash either all of
    /// them are stored or none); returns their ids in order and how many were new. An item equal
    /// to a live known entry (same id, or both without a list id, and the same hashes and label)
    /// or to an earlier item of the same call is not added again. Linear in the number of items
    /// (hash lookups, no scans per item).
    ///
    /// `regions[n]`, when given, are the stored regions' grids of item `n` (known content
    /// hashed from media), stored with its entry.
    pub(super) fn add_known_items(
        &self,
        items: &[KnownItem],
        regions: &[Vec<RegionGrid>],
    ) -> crate::Result<(Vec<EntryId>, usize)> {
        let mut w = self.writer.lock();
        w.check_writable()?;
        let mut ids = Vec::with_capacity(items.len());
        let mut fresh = Vec::new();
        let mut pending: HashMap<&KnownItem, EntryId> = HashMap::new();
        // Live known entries whose id was generated (`known-N`), by content: built once, on the
        // first item without a list id.
        let mut without_id: Option<HashMap<KnownItem, EntryId>> = None;
        for (n, item) in items.iter().enumerate() {
            if !item.has_hash() {
                return Err(EngineError::Empty(format!("known item {} has no hash", n + 1)).into());
            }
            if let Some(&existing) = pending.get(item) {
                ids.push(existing);
                continue;
            }
            let existing = match &item.id {
                Some(_) => self.same_known(item),
                None => without_id
                    .get_or_insert_with(|| self.known_without_list_id())
                    .get(item)
                    .copied(),
            };
            if let Some(existing) = existing {
                ids.push(existing);
                continue;
            }
            let id = self.allocate_id()?;
            let fallback = format!("known-{}", id.0);
            let mut entry = item.to_entry(id, &fallback);
            entry.regions = regions.get(n).cloned().unwrap_or_default();
            fresh.push(entry);
            pending.insert(item, id);
            ids.push(id);
        }
        let added = fresh.len();
        self.commit(&mut w, fresh)?;
        Ok((ids, added))
    }

    /// A live known entry holding this item (same id, same hashes and label).
    pub(super) fn same_known(&self, item: &KnownItem) -> Option<EntryId> {
        let id = item.id.as_ref()?;
        let same = |e: &EntryRecord| KnownItem::from_entry(e) == *item;
        self.entries_by_external_id(EntrySource::Known, id)
            .into_iter()
            .find(|eid| self.entry(*eid).is_some_and(|e| same(&e)))
    }

    /// Live known entries whose external id was generated for an item without a list id,
    /// keyed by their content with the id cleared.
    pub(super) fn known_without_list_id(&self) -> HashMap<KnownItem, EntryId> {
        self.entries
            .iter()
            .filter(|e| {
                e.source == EntrySource::Known && e.external_id == format!("known-{}", e.id.0)
            })
            .map(|e| {
                let mut item = KnownItem::from_entry(e.value());
                item.id = None;
                (item, e.id)
            })
            .collect()
    }

    /// Hashes a media file and adds it as known content. `id` defaults to the file name. A video
    /// gets its frame codes (every [`VideoConfig::known_seconds_per_hash`](super::VideoConfig)
    /// seconds, with central crops) besides its digests.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("flyer.pdf");
    /// std::fs::write(&path, b"%PDF-1.7 not a picture").unwrap();
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// engine.add_known_file(&path, None, Some("list-a")).unwrap();
    /// let v = engine.check(&Referral::new("r").with_media_path(&path)).unwrap();
    /// assert_eq!((v.kind, v.evidence[0].external_id.as_str()), (VerdictKind::Known, "flyer.pdf"));
    /// ```
    ///
    /// # Errors
    /// [`EngineError::Io`] when the file cannot be read; a store error when journaling fails.
    pub fn add_known_file(
        &self,
        path: &Path,
        id: Option<&str>,
        label: Option<&str>,
    ) -> crate::Result<EntryId> {
        if let Some(entry) = self.add_known_video_file_if_video(path, id, label)? {
            return Ok(entry);
        }
        let (media, _) =
            media_fingerprint_file_with(path, &self.hash_options(), self.known_robust())?;
        refuse_uninformative(&media).map_err(|why| {
            EngineError::Empty(format!(
                "{}: {why}; not added as known content",
                path.display()
            ))
        })?;
        let id = id.map(str::to_string).unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string())
        });
        self.add_known_media_item(media, id, label)
    }

    /// Hashes media bytes (a picture, or any file for its digests) and adds them as known
    /// content under `id`, with the stored variants of the rule.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
    /// // Smooth detail, as in a photograph (a sawtooth pattern aliases differently when
    /// // mirrored, so its mirror is not a clean copy of it).
    /// let img = image::RgbImage::from_fn(160, 120, |x, y| {
    ///     let v = |a: f32, b: f32| (128.0 + 90.0 * (x as f32 / a).sin() * (y as f32 / b).cos()) as u8;
    ///     image::Rgb([v(11.0, 9.0), v(17.0, 13.0), v(7.0, 23.0)])
    /// });
    /// let mut png = Vec::new();
    /// img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// engine.add_known_media(&png, "poster-1", Some("list-a")).unwrap();
    /// let mirrored = image::imageops::flip_horizontal(&img);
    /// let mut copy = Vec::new();
    /// mirrored.write_to(&mut std::io::Cursor::new(&mut copy), image::ImageFormat::Png).unwrap();
    /// let v = engine.check(&Referral::new("r").with_media_bytes(copy)).unwrap();
    /// assert_eq!((v.kind, v.evidence[0].external_id.as_str()), (VerdictKind::Known, "poster-1"));
    /// ```
    ///
    /// # Errors
    /// A store error when journaling fails.
    pub fn add_known_media(
        &self,
        bytes: &[u8],
        id: &str,
        label: Option<&str>,
    ) -> crate::Result<EntryId> {
        if let Some(entry) = self.add_known_video_bytes_if_video(bytes, id, label)? {
            return Ok(entry);
        }
        let (media, _) = media_fingerprint_with(bytes, &self.hash_options(), self.known_robust());
        refuse_uninformative(&media).map_err(|why| {
            EngineError::Empty(format!("{id}: {why}; not added as known content"))
        })?;
        self.add_known_media_item(media, id.to_string(), label)
    }

    /// Adds hashed media as known content, its regions' grids stored with it (an item added
    /// again unchanged keeps the entry and grids it has).
    fn add_known_media_item(
        &self,
        media: MediaFingerprint,
        id: String,
        label: Option<&str>,
    ) -> crate::Result<EntryId> {
        let grids = region_grids(&media.stored_regions);
        let item = known_item(media, id, label);
        let (ids, _) = self.add_known_items(std::slice::from_ref(&item), &[grids])?;
        Ok(ids[0])
    }

    /// Imports a hash list. Bad rows are skipped and reported; with `strict`, the first bad
    /// row fails the import and nothing from the list is added.
    ///
    /// # Errors
    /// [`EngineError::List`] (no usable header; strict mode and a bad row),
    /// [`EngineError::Io`], or a store error when journaling fails.
    pub fn import_list<R: Read>(
        &self,
        reader: R,
        format: ListFormat,
        strict: bool,
    ) -> crate::Result<ImportReport> {
        self.import_list_with_progress(reader, format, strict, &mut |_| {})
    }

    /// [`Engine::import_list`] reporting its progress to `progress`: while the list is read
    /// (every [`IMPORT_PROGRESS_BYTES`] bytes), once before the items are checked and stored,
    /// and once when they are durable. The callback draws; the library never touches the
    /// terminal.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, ImportStage, ListFormat};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// let mut stages = Vec::new();
    /// let list = "md5,id\nd41d8cd98f00b204e9800998ecf8427e,x\n";
    /// engine
    ///     .import_list_with_progress(list.as_bytes(), ListFormat::Csv, true, &mut |p| {
    ///         stages.push((p.stage, p.items))
    ///     })
    ///     .unwrap();
    /// assert_eq!(stages.last(), Some(&(ImportStage::Done, 1)));
    /// assert!(stages.contains(&(ImportStage::Storing, 1)));
    /// ```
    ///
    /// # Errors
    /// As [`Engine::import_list`].
    pub fn import_list_with_progress<R: Read>(
        &self,
        reader: R,
        format: ListFormat,
        strict: bool,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> crate::Result<ImportReport> {
        let counting = CountingReader {
            inner: reader,
            read: 0,
            next_report: IMPORT_PROGRESS_BYTES,
            progress: &mut *progress,
        };
        let parsed = hashlist::read_list(counting, format, strict).map_err(EngineError::from)?;
        let items: Vec<KnownItem> = parsed.items.into_iter().map(|(_, i)| i).collect();
        let at = |stage| ImportProgress {
            stage,
            bytes_read: 0,
            items: items.len() as u64,
        };
        progress(at(ImportStage::Storing));
        let (ids, imported) = self.add_known_items(&items, &[])?;
        progress(at(ImportStage::Done));
        Ok(ImportReport {
            imported,
            unchanged: ids.len() - imported,
            skipped: parsed.errors,
            ignored_columns: parsed.ignored_columns,
        })
    }

    /// Every live known-content item, in entry id order (for export).
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, ListFormat};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// engine.import_list("md5,id\nd41d8cd98f00b204e9800998ecf8427e,x\n".as_bytes(), ListFormat::Csv, true).unwrap();
    /// assert_eq!(engine.known_items()[0].id.as_deref(), Some("x"));
    /// ```
    pub fn known_items(&self) -> Vec<KnownItem> {
        let mut entries: Vec<Arc<EntryRecord>> = self
            .entries
            .iter()
            .filter(|e| e.source == EntrySource::Known)
            .map(|e| Arc::clone(e.value()))
            .collect();
        entries.sort_by_key(|e| e.id);
        entries.iter().map(|e| KnownItem::from_entry(e)).collect()
    }
}

/// How often [`Engine::import_list_with_progress`] reports while reading: every 1 MiB.
pub const IMPORT_PROGRESS_BYTES: u64 = 1 << 20;

/// Where an import is, for [`Engine::import_list_with_progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStage {
    /// Reading and parsing the list; `bytes_read` so far.
    Reading,
    /// The list is read: `items` rows are being checked against the store and written as one
    /// group.
    Storing,
    /// Everything is stored (durable under the store's fsync policy).
    Done,
}

/// One progress report of an import.
///
/// ```
/// use referral_dedup::engine::{ImportProgress, ImportStage};
/// let p = ImportProgress { stage: ImportStage::Reading, bytes_read: 4096, items: 0 };
/// assert_eq!(p.stage, ImportStage::Reading);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    /// The stage.
    pub stage: ImportStage,
    /// Bytes of the list read so far (while reading).
    pub bytes_read: u64,
    /// Items parsed (once reading is over).
    pub items: u64,
}

/// A reader that reports the bytes read through it every [`IMPORT_PROGRESS_BYTES`].
struct CountingReader<'a, R> {
    inner: R,
    read: u64,
    next_report: u64,
    progress: &'a mut dyn FnMut(ImportProgress),
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read >= self.next_report {
            self.next_report = self.read + IMPORT_PROGRESS_BYTES;
            (self.progress)(ImportProgress {
                stage: ImportStage::Reading,
                bytes_read: self.read,
                items: 0,
            });
        }
        Ok(n)
    }
}

/// Why media carries too little information to stand for known content, if it does: an empty
/// file (every empty upload would then be "known"), or a picture without any detail (PDQ
/// quality 0: a blank or single-colour picture, which would match every other blank of that
/// file's bytes).
pub(super) fn refuse_uninformative(media: &MediaFingerprint) -> Result<(), String> {
    if media.bytes == 0 {
        return Err("the file is empty".into());
    }
    if media.hashes.pdq.is_some() && media.hashes.pdq_quality == Some(0) {
        return Err("the picture is blank (no detail: PDQ quality 0)".into());
    }
    Ok(())
}

/// The known-content item for hashed media.
pub(super) fn known_item(media: MediaFingerprint, id: String, label: Option<&str>) -> KnownItem {
    KnownItem {
        id: Some(id),
        label: label.map(str::to_string),
        hashes: media.hashes,
    }
}
