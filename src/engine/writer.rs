//! Writes: recording referrals, journaling and indexing entries, snapshots, deletes and
//! short-link resolutions, serialised by one [`Writer`].

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::fingerprint::fill_media;
use super::{Engine, EngineError, Fingerprint, Referral, Verdict};
use crate::hashes::EntryId;
use crate::store::{EntryRecord, EntrySource, Record, Store};

/// The writer side: the journal and the snapshot counter. One at a time.
pub(super) struct Writer {
    /// The store, for engines opened on a directory.
    pub(super) store: Option<Store>,
    /// Journal records since the last snapshot.
    pub(super) since_snapshot: u64,
    /// Opened with [`Engine::open_read_only`]: every change is refused.
    pub(super) read_only: bool,
}

impl Writer {
    pub(super) fn check_writable(&self) -> Result<(), EngineError> {
        if self.read_only {
            return Err(EngineError::ReadOnly);
        }
        Ok(())
    }
}

impl Engine {
    /// Records a referral as an entry (so later referrals match it) and returns its id.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// let id = engine.record(&Referral::new("r1").with_url("https://x.com/a/status/5")).unwrap();
    /// assert_eq!(engine.entry(id).unwrap().url_key.as_deref(), Some("x:5"));
    /// ```
    ///
    /// # Errors
    /// [`EngineError::Io`] when a media path cannot be read; a store error when the journal
    /// append fails (then nothing is recorded).
    pub fn record(&self, referral: &Referral) -> crate::Result<EntryId> {
        let fp = self.fingerprint(referral)?;
        let mut w = self.writer.lock();
        self.record_locked(&mut w, referral, &fp)
    }

    /// Checks a referral and records it, atomically with respect to other writers (two
    /// identical referrals arriving at once: the second one is the duplicate).
    ///
    /// # Errors
    /// As [`Engine::record`].
    pub fn check_and_record(&self, referral: &Referral) -> crate::Result<Verdict> {
        let fp = self.fingerprint(referral)?;
        self.check_and_record_fingerprint(referral, fp)
    }

    /// [`Engine::check_and_record`] for an already computed fingerprint (`referral` supplies
    /// the id and receipt time; its URL and media are not read again).
    ///
    /// # Errors
    /// A store error when the journal append fails.
    pub fn check_and_record_fingerprint(
        &self,
        referral: &Referral,
        fp: Fingerprint,
    ) -> crate::Result<Verdict> {
        let mut w = self.writer.lock();
        let matches = self.matches(&fp);
        let id = self.record_locked(&mut w, referral, &fp)?;
        drop(w);
        let mut verdict = Verdict::from_matches(matches, fp, self.config.max_evidence);
        verdict.recorded_as = Some(id);
        Ok(verdict)
    }

    /// Records an already computed fingerprint as a referral entry (`referral` supplies the
    /// id and receipt time).
    ///
    /// # Errors
    /// A store error when the journal append fails.
    pub fn record_fingerprint(
        &self,
        referral: &Referral,
        fp: &Fingerprint,
    ) -> crate::Result<EntryId> {
        let mut w = self.writer.lock();
        self.record_locked(&mut w, referral, fp)
    }

    /// Records referral entries made elsewhere (for example by a batch run on its own engine)
    /// under new ids, in one journal write: after a crash either all are stored or none. An
    /// entry equal to a live referral entry with the same referral id (same keys and hashes)
    /// is not recorded again. Returns how many were recorded.
    ///
    /// # Errors
    /// [`EngineError::ReadOnly`], [`EngineError::Full`], or a store error (then nothing is
    /// recorded).
    pub fn record_referral_entries<'a>(
        &self,
        entries: impl IntoIterator<Item = &'a EntryRecord>,
    ) -> crate::Result<usize> {
        let mut w = self.writer.lock();
        w.check_writable()?;
        let same = |a: &EntryRecord, b: &EntryRecord| {
            let mut b = b.clone();
            b.id = a.id;
            *a == b
        };
        let mut fresh: Vec<EntryRecord> = Vec::new();
        for e in entries {
            if e.source != EntrySource::Referral {
                continue;
            }
            let known = self
                .entries_by_external_id(EntrySource::Referral, &e.external_id)
                .into_iter()
                .filter_map(|id| self.entry(id))
                .any(|old| same(&old, e));
            if known {
                continue;
            }
            let mut copy = e.clone();
            copy.id = self.allocate_id()?;
            fresh.push(copy);
        }
        let n = fresh.len();
        self.commit(&mut w, fresh)?;
        Ok(n)
    }

    /// The short-link resolutions recorded so far, as `(short link key, target URL)`.
    pub fn resolutions(&self) -> Vec<(String, String)> {
        self.keyer.resolutions()
    }

    pub(super) fn record_locked(
        &self,
        w: &mut Writer,
        referral: &Referral,
        fp: &Fingerprint,
    ) -> crate::Result<EntryId> {
        let id = self.allocate_id()?;
        let mut e = EntryRecord::new(id, EntrySource::Referral, referral.id.clone());
        e.url_key = fp.url.as_ref().map(|k| k.key.clone());
        e.received_at = referral.received_at.clone();
        e.video = fp
            .video
            .as_ref()
            .map(|v| Box::new(crate::video::StoredVideo::from_fingerprint(&v.fingerprint)));
        if let Some(m) = &fp.media {
            fill_media(&mut e, m);
        }
        self.commit(w, vec![e])?;
        Ok(id)
    }

    pub(super) fn allocate_id(&self) -> Result<EntryId, EngineError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if id == u32::MAX {
            self.next_id.store(u32::MAX, Ordering::Relaxed);
            return Err(EngineError::Full);
        }
        Ok(EntryId(id))
    }

    /// Journals then indexes entries (writer lock held).
    pub(super) fn commit(&self, w: &mut Writer, entries: Vec<EntryRecord>) -> crate::Result<()> {
        w.check_writable()?;
        if entries.is_empty() {
            return Ok(());
        }
        if let Some(store) = &w.store {
            let records: Vec<Record> = entries.iter().cloned().map(Record::Insert).collect();
            store.append_all(&records)?;
        }
        w.since_snapshot += entries.len() as u64;
        for e in entries {
            self.index_entry(Arc::new(e));
        }
        self.maybe_snapshot(w)
    }

    pub(super) fn maybe_snapshot(&self, w: &mut Writer) -> crate::Result<()> {
        if let Some(every) = self.config.snapshot_every {
            if w.since_snapshot >= every && w.store.is_some() {
                self.snapshot_locked(w)?;
            }
        }
        Ok(())
    }

    pub(super) fn snapshot_locked(&self, w: &mut Writer) -> crate::Result<Option<PathBuf>> {
        let Some(store) = &w.store else {
            return Ok(None);
        };
        let mut entries: Vec<Arc<EntryRecord>> =
            self.entries.iter().map(|e| Arc::clone(e.value())).collect();
        entries.sort_by_key(|e| e.id);
        let path = store.snapshot(entries.iter().map(|e| &**e), &self.keyer.resolutions())?;
        w.since_snapshot = 0;
        // Best effort: without the index file the next open rebuilds the index.
        let _ = self.write_pdq_index_file(&path, &entries);
        Ok(Some(path))
    }

    /// Writes a snapshot now (directory engines; `None` in memory).
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig};
    /// let dir = tempfile::tempdir().unwrap();
    /// let engine = Engine::open(dir.path(), EngineConfig::default()).unwrap();
    /// assert!(engine.snapshot().unwrap().is_some());
    /// assert!(Engine::in_memory(EngineConfig::default()).unwrap().snapshot().unwrap().is_none());
    /// ```
    ///
    /// # Errors
    /// A store error when writing fails.
    pub fn snapshot(&self) -> crate::Result<Option<PathBuf>> {
        let mut w = self.writer.lock();
        self.snapshot_locked(&mut w)
    }

    /// Makes every acknowledged change durable now, whatever the fsync policy.
    ///
    /// # Errors
    /// A store error when syncing fails.
    pub fn sync(&self) -> crate::Result<()> {
        let w = self.writer.lock();
        if let Some(store) = &w.store {
            store.sync()?;
        }
        Ok(())
    }

    /// Removes an entry (for example content restored after appeal): it stops matching at
    /// once and stays removed after a restart. Returns false when no such entry is live.
    ///
    /// # Errors
    /// A store error when the journal append fails (then nothing changes).
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
    /// # fn main() -> referral_dedup::Result<()> {
    /// let engine = Engine::in_memory(EngineConfig::default())?;
    /// let id = engine.record(&Referral::new("a").with_url("https://t.me/chan/5"))?;
    /// assert!(engine.delete(id)?);
    /// assert_eq!(engine.check(&Referral::new("b").with_url("https://t.me/chan/5"))?.kind, VerdictKind::New);
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, id: EntryId) -> crate::Result<bool> {
        let w = self.writer.lock();
        w.check_writable()?;
        let Some(entry) = self.entry(id) else {
            return Ok(false);
        };
        if let Some(store) = &w.store {
            store.append(&Record::Delete(id))?;
        }
        self.unindex_entry(&entry);
        Ok(true)
    }

    /// Records that a short link resolves to `target` (for example after a crawler followed
    /// it): from then on the short link and the target's key match each other, including
    /// entries recorded under the short link before.
    ///
    /// # Errors
    /// A URL error when `short` is not a short link or either URL cannot be keyed; a store
    /// error when the journal append fails.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
    /// # fn main() -> referral_dedup::Result<()> {
    /// let engine = Engine::in_memory(EngineConfig::default())?;
    /// engine.record(&Referral::new("a").with_url("https://t.co/AbC123"))?;
    /// engine.record_resolution("https://t.co/AbC123", "https://x.com/someone/status/77")?;
    /// let v = engine.check(&Referral::new("b").with_url("https://twitter.com/x/status/77"))?;
    /// assert_eq!(v.kind, VerdictKind::Duplicate);
    /// # Ok(()) }
    /// ```
    pub fn record_resolution(&self, short: &str, target: &str) -> crate::Result<()> {
        let short = short.trim();
        let short_key = if short.starts_with("short:") {
            short.to_string()
        } else {
            // The default keyer knows no resolutions, so this is the short link's own key.
            crate::url::key(short)?.key
        };
        // Validate before journaling: a fresh keyer refuses what ours would refuse.
        crate::url::UrlKeyer::new().record_resolution(&short_key, target)?;
        let w = self.writer.lock();
        w.check_writable()?;
        if let Some(store) = &w.store {
            store.append(&Record::Resolve {
                short_key: short_key.clone(),
                target: target.to_string(),
            })?;
        }
        self.apply_resolution(&short_key, target);
        Ok(())
    }

    /// Teaches the keyer a resolution and indexes entries keyed by the short link under the
    /// target's key too.
    pub(super) fn apply_resolution(&self, short_key: &str, target: &str) {
        if self.keyer.record_resolution(short_key, target).is_err() {
            return;
        }
        let Ok(target_key) = self.keyer.key(target) else {
            return;
        };
        let target_key = target_key.key;
        let mut aliases = self.aliases.entry(short_key.to_string()).or_default();
        if !aliases.contains(&target_key) {
            aliases.push(target_key.clone());
        }
        drop(aliases);
        for id in self.indexes.url.get(&short_key.to_string()) {
            self.indexes.url.insert(target_key.clone(), id);
        }
    }

    /// Other keys an entry's URL key is indexed under (through recorded resolutions).
    pub(super) fn keyer_aliases(&self, key: &str) -> Vec<String> {
        self.aliases
            .get(key)
            .map(|a| a.value().clone())
            .unwrap_or_default()
    }
}
