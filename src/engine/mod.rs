//! The decision engine: one verdict per referral.
//!
//! An [`Engine`] holds every earlier referral and every known-removed item as an entry
//! ([`EntryRecord`]) and indexes their URL keys, digests and perceptual hashes. For a new
//! [`Referral`] it computes a [`Fingerprint`] (URL key, media hashes), looks each key and hash
//! up, applies the [`MatchRule`] and answers with a [`Verdict`]: `new`, `duplicate` (of an
//! earlier referral) or `known` (matches known-removed content; takes precedence), with the
//! evidence: which entries, which hash kind, what distance, what PDQ quality, which URL rules.
//!
//! Default decision rule (see [`MatchRule`], measured by `examples/match_quality.rs`): URL keys
//! and exact digests match on equality; PDQ, at quality ≥ 50 on both sides, matches within 31
//! bits, within 52, or within 80 when dHash and pHash both agree within 16 of 64 bits,
//! comparing the query's 8 dihedral variants and its border-trimmed boxes with every stored
//! code (plain PDQ, trimmed boxes; for known content also crops and ±3° rotations). dHash and pHash never decide on their own (they
//! falsely match unrelated pictures). Between two referrals that both carry luma grids, a PDQ
//! match counts only through an alignment whose *content* agrees, so two different pictures in
//! one frame (a page screenshot, caption bands, a poster template) never match on the frame
//! ([`MatchRule::content`], [`crate::matching::content`]); pictures under the quality floor
//! match through such an alignment within 24 bits with dHash and pHash close
//! ([`MatchRule::low_quality`]). [`MatchRule::plain_pdq`] is plain reference matching.
//!
//! The engine is `Send + Sync`: checks run concurrently without locks on the hot path (the
//! indexes are concurrent); recording, deleting and importing are serialised by one writer so
//! the journal order is the index order. Opened on a directory, every change is journaled
//! ([`crate::store`]) before it is acknowledged and a snapshot is written every
//! [`EngineConfig::snapshot_every`] records.
//!
//! ```
//! use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
//! use referral_dedup::engine::hashlist::KnownItem;
//! # fn main() -> referral_dedup::Result<()> {
//! let engine = Engine::in_memory(EngineConfig::default())?;
//! let bytes = b"some video bytes".to_vec();
//! let digests = referral_dedup::media::digest_bytes(&bytes);
//! engine.add_known(&KnownItem { id: Some("list-7".into()), hashes: digests.bundle(), ..KnownItem::default() })?;
//! let v = engine.check(&Referral::new("r-1").with_media_bytes(bytes))?;
//! assert_eq!(v.kind, VerdictKind::Known);
//! assert_eq!(v.evidence[0].external_id, "list-7");
//! # Ok(()) }
//! ```

/// The hash-list formats, now the top-level [`crate::hashlist`] module (this path kept).
pub use crate::hashlist;

mod config;
mod error;
mod fingerprint;
mod index_file;
mod indexes;
mod known;
mod lookup;
mod referral;
mod verdict;
mod video;
mod video_index;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::Mutex;

use crate::hashes::EntryId;
use crate::matching::RobustOptions;
use crate::store::{EntryRecord, EntrySource, RecoveryReport, Store, StoreOptions};
use crate::url::UrlKeyer;

use indexes::Indexes;
use writer::Writer;

pub use crate::hashlist::{KnownItem, ListFormat, RowError};
pub use config::{ConfirmRule, EngineConfig, LowQualityRule, MatchRule};
pub use error::{EngineError, ImportReport};
pub use fingerprint::{
    media_fingerprint, media_fingerprint_file, media_fingerprint_file_with, media_fingerprint_with,
};
pub use index_file::PdqIndexFile;
pub use known::{ImportProgress, ImportStage, IMPORT_PROGRESS_BYTES};
pub use referral::{pair_match, Fingerprint, MediaFingerprint, MediaInput, Referral};
pub use verdict::{Confirmation, Match, Verdict, VerdictKind};
pub use video::{looks_like_video, VideoConfig, VideoEvidence, VideoMedia, VideoRule};

/// One verdict per referral, over earlier referrals and known content. See the module docs.
///
/// ```
/// use std::sync::Arc;
/// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
/// let engine = Arc::new(Engine::in_memory(EngineConfig::default()).unwrap());
/// let workers: Vec<_> = (0..4).map(|i| {
///     let engine = Arc::clone(&engine);
///     std::thread::spawn(move || {
///         let r = Referral::new(format!("r{i}")).with_url(format!("https://t.me/chan/{}", i % 2));
///         engine.check_and_record(&r).unwrap().kind
///     })
/// }).collect();
/// let kinds: Vec<VerdictKind> = workers.into_iter().map(|w| w.join().unwrap()).collect();
/// assert_eq!(kinds.iter().filter(|k| **k == VerdictKind::New).count(), 2);
/// ```
pub struct Engine {
    config: EngineConfig,
    keyer: UrlKeyer,
    entries: DashMap<EntryId, Arc<EntryRecord>>,
    by_external: DashMap<(EntrySource, String), Vec<EntryId>>,
    /// Short-link key -> the resolved target's key.
    aliases: DashMap<String, Vec<String>>,
    /// The key, digest and hash indexes, and the luma grids beside them.
    indexes: Indexes,
    next_id: AtomicU32,
    writer: Mutex<Writer>,
    recovery: Option<RecoveryReport>,
    path: Option<PathBuf>,
    /// `config.robust` without the crop and rotation variants (what referrals store).
    referral_robust: RobustOptions,
    /// The frame codes of every video entry ([`video`]).
    videos: video::VideoState,
    /// How the PDQ index was made on open ([`Engine::pdq_index_file`]).
    pdq_index_file: PdqIndexFile,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.path)
            .field("entries", &self.entries.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    fn empty(config: EngineConfig) -> Result<Engine, EngineError> {
        config.validate()?;
        let config_robust = config.robust.clone();
        let keyer = match &config.url_rules {
            Some(rules) => crate::url::KeyOptions::default()
                .host_rules(rules.clone())
                .build(),
            None => UrlKeyer::new(),
        };
        let indexes = Indexes::new(&config.rule);
        Ok(Engine {
            config,
            keyer,
            entries: DashMap::new(),
            by_external: DashMap::new(),
            aliases: DashMap::new(),
            indexes,
            next_id: AtomicU32::new(0),
            writer: Mutex::new(Writer {
                store: None,
                since_snapshot: 0,
                read_only: false,
            }),
            recovery: None,
            path: None,
            referral_robust: RobustOptions {
                known_variants: Vec::new(),
                ..config_robust
            },
            videos: video::VideoState::default(),
            pdq_index_file: PdqIndexFile::default(),
        })
    }

    /// An engine that keeps nothing on disk.
    ///
    /// # Errors
    /// [`EngineError::Config`] when the configuration is invalid.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// assert!(engine.is_empty());
    /// ```
    pub fn in_memory(config: EngineConfig) -> crate::Result<Engine> {
        Ok(Engine::empty(config)?)
    }

    /// Opens (creating if needed) an engine persisted in directory `path`: replays the latest
    /// snapshot and the journal after it, then journals every change.
    ///
    /// # Errors
    /// [`EngineError::Config`] for an invalid configuration, a [`crate::store::StoreError`]
    /// when the directory cannot be opened or recovered.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral};
    /// # fn main() -> referral_dedup::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// {
    ///     let engine = Engine::open(dir.path(), EngineConfig::default())?;
    ///     engine.record(&Referral::new("r-1").with_url("https://t.me/somechannel/42"))?;
    /// }
    /// let engine = Engine::open(dir.path(), EngineConfig::default())?;
    /// assert_eq!(engine.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl AsRef<Path>, config: EngineConfig) -> crate::Result<Engine> {
        Engine::open_with(path, config, StoreOptions::default())
    }

    /// [`Engine::open`] with store options: whether to wait for another writer
    /// ([`StoreOptions::wait_for_lock`]) and whether a missing database is created
    /// ([`StoreOptions::create`]). The fsync policy is `config.fsync` (the options' is
    /// ignored). The engine holds the store's writer lock until it is dropped.
    ///
    /// # Errors
    /// As [`Engine::open`]; [`crate::store::StoreError::Locked`] when another process writes
    /// to the store; [`crate::store::StoreError::NotADatabase`] when it is missing and
    /// `options.create` is false.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig};
    /// use referral_dedup::store::StoreOptions;
    /// let dir = tempfile::tempdir().unwrap();
    /// let no_create = StoreOptions::default().with_create(false);
    /// assert!(Engine::open_with(dir.path().join("typo"), EngineConfig::default(), no_create).is_err());
    /// let first = Engine::open(dir.path(), EngineConfig::default()).unwrap();
    /// assert!(Engine::open(dir.path(), EngineConfig::default()).is_err(), "one writer at a time");
    /// drop(first);
    /// assert!(Engine::open(dir.path(), EngineConfig::default()).is_ok());
    /// ```
    pub fn open_with(
        path: impl AsRef<Path>,
        config: EngineConfig,
        options: StoreOptions,
    ) -> crate::Result<Engine> {
        let path = path.as_ref();
        let mut engine = Engine::empty(config)?;
        let options = options.with_fsync(engine.config.fsync);
        let (store, recovered) = Store::open(path, options)?;
        engine.load(recovered)?;
        engine.writer.get_mut().store = Some(store);
        engine.path = Some(path.to_path_buf());
        Ok(engine)
    }

    /// Opens the database in directory `path` for checks only: nothing on disk is created or
    /// changed, no lock is taken (a writer may be working on it at the same time; the engine
    /// sees the state at the moment it was read), and every change (`record`, `add_known`,
    /// `delete`, ...) fails with [`EngineError::ReadOnly`].
    ///
    /// # Errors
    /// [`crate::store::StoreError::NotADatabase`] when `path` is missing or holds no
    /// database; otherwise as [`Engine::open`].
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral};
    /// let dir = tempfile::tempdir().unwrap();
    /// assert!(Engine::open_read_only(dir.path(), EngineConfig::default()).is_err());
    /// Engine::open(dir.path(), EngineConfig::default()).unwrap()
    ///     .record(&Referral::new("r").with_url("https://t.me/c/1")).unwrap();
    /// let reader = Engine::open_read_only(dir.path(), EngineConfig::default()).unwrap();
    /// assert_eq!(reader.len(), 1);
    /// assert!(reader.record(&Referral::new("s").with_url("https://t.me/c/2")).is_err());
    /// ```
    pub fn open_read_only(path: impl AsRef<Path>, config: EngineConfig) -> crate::Result<Engine> {
        let path = path.as_ref();
        let mut engine = Engine::empty(config)?;
        let recovered = Store::read_only(path)?;
        engine.load(recovered)?;
        engine.writer.get_mut().read_only = true;
        engine.path = Some(path.to_path_buf());
        Ok(engine)
    }

    /// Indexes a recovered state.
    fn load(&mut self, recovered: crate::store::Recovered) -> Result<(), EngineError> {
        for (short, target) in &recovered.resolutions {
            self.apply_resolution(short, target);
        }
        // PDQ codes below `preloaded` come from the snapshot's index file, when usable.
        let preloaded = self.read_pdq_index_file(&recovered);
        let mut max_id = None;
        for entry in recovered.entries {
            max_id = max_id.max(Some(entry.id.0));
            let with_pdq = entry.id.0 >= preloaded;
            self.index_entry_with(Arc::new(entry), with_pdq);
        }
        let next = match max_id {
            None => 0,
            Some(m) => m.checked_add(1).ok_or(EngineError::Full)?,
        };
        self.next_id = AtomicU32::new(next);
        self.recovery = Some(recovered.report);
        Ok(())
    }

    /// The configuration in force.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// What recovery found when the engine was opened on a directory.
    pub fn recovery_report(&self) -> Option<&RecoveryReport> {
        self.recovery.as_ref()
    }

    /// Number of live entries (referrals and known items).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the engine holds no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A live entry by id.
    pub fn entry(&self, id: EntryId) -> Option<Arc<EntryRecord>> {
        self.entries.get(&id).map(|e| Arc::clone(e.value()))
    }

    /// The ids of the live entries with this source and external id.
    pub fn entries_by_external_id(&self, source: EntrySource, external_id: &str) -> Vec<EntryId> {
        self.by_external
            .get(&(source, external_id.to_string()))
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Every live entry, in id order.
    pub fn entries(&self) -> Vec<Arc<EntryRecord>> {
        let mut entries: Vec<Arc<EntryRecord>> =
            self.entries.iter().map(|e| Arc::clone(e.value())).collect();
        entries.sort_by_key(|e| e.id);
        entries
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(store) = &self.writer.get_mut().store {
            // Best effort: an error here has nowhere to go; acknowledged writes were already
            // durable under the configured policy.
            let _ = store.sync();
        }
    }
}
