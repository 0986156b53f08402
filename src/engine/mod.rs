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
//! engine.add_known(&KnownItem { id: Some("list-7".into()), md5: Some(digests.md5), ..KnownItem::default() })?;
//! let v = engine.check(&Referral::new("r-1").with_media_bytes(bytes))?;
//! assert_eq!(v.kind, VerdictKind::Known);
//! assert_eq!(v.evidence[0].external_id, "list-7");
//! # Ok(()) }
//! ```

pub mod hashlist;

mod config;
mod referral;
mod verdict;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::Mutex;

use crate::hashes::{Blake3, EntryId, Hash64, HashKind, Md5, Pdq, Sha256};
use crate::index::{ExactIndex, HammingIndex};
use crate::matching::{
    closest_distance, KnownHashes, MatchTier, PairFacts, PairRegions, QueryHashes, RobustOptions,
    StoredRegion,
};
use crate::media::{self, HashOptions};
use crate::store::{EntryRecord, EntrySource, Record, RecoveryReport, Store, StoreOptions};
use crate::url::UrlKeyer;

pub use config::{ConfirmRule, EngineConfig, LowQualityRule, MatchRule};
pub use hashlist::{KnownItem, ListFormat, RowError};
pub use referral::{pair_match, Fingerprint, MediaFingerprint, MediaInput, Referral};
pub use verdict::{Confirmation, Match, Verdict, VerdictKind};

/// Why the engine refused an operation.
///
/// ```
/// use referral_dedup::engine::{Engine, EngineConfig, EngineError};
/// let mut config = EngineConfig::default();
/// config.max_evidence = 0;
/// let err = Engine::in_memory(config).unwrap_err();
/// assert!(matches!(err, referral_dedup::Error::Engine(EngineError::Config(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A hash list could not be imported (strict mode, or no usable header).
    #[error("hash list: {0}")]
    List(RowError),
    /// Reading input failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The entry id space (2^32 entries) is exhausted.
    #[error("entry id space exhausted")]
    Full,
    /// An item to add has nothing to match on.
    #[error("nothing to match on: {0}")]
    Empty(String),
    /// The engine was opened read-only ([`Engine::open_read_only`]): it cannot record.
    #[error("the database was opened read-only; this command cannot change it")]
    ReadOnly,
    /// A media path is not a regular file (a directory, device, FIFO or socket), or is larger
    /// than the limit for any media read.
    #[error("{0}")]
    NotMedia(String),
}

/// What an import did.
///
/// ```
/// use referral_dedup::engine::{Engine, EngineConfig, ListFormat};
/// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
/// let list = "id,md5\na,d41d8cd98f00b204e9800998ecf8427e\nb,xyz\n";
/// let report = engine.import_list(list.as_bytes(), ListFormat::Csv, false).unwrap();
/// assert_eq!((report.imported, report.skipped.len()), (1, 1));
/// ```
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    /// Items added.
    pub imported: usize,
    /// Items already present with the same id and hashes (not added again).
    pub unchanged: usize,
    /// Rows skipped, with line numbers and reasons.
    pub skipped: Vec<RowError>,
    /// Header columns that were ignored.
    pub ignored_columns: Vec<String>,
}

/// The writer side: the journal and the snapshot counter. One at a time.
struct Writer {
    store: Option<Store>,
    since_snapshot: u64,
    /// Opened with [`Engine::open_read_only`]: every change is refused.
    read_only: bool,
}

impl Writer {
    fn check_writable(&self) -> Result<(), EngineError> {
        if self.read_only {
            return Err(EngineError::ReadOnly);
        }
        Ok(())
    }
}

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
    url_index: ExactIndex<String>,
    blake3_index: ExactIndex<Blake3>,
    sha256_index: ExactIndex<Sha256>,
    md5_index: ExactIndex<Md5>,
    pdq_index: HammingIndex<Pdq>,
    dhash_index: Option<HammingIndex<Hash64>>,
    phash_index: Option<HammingIndex<Hash64>>,
    next_id: AtomicU32,
    writer: Mutex<Writer>,
    recovery: Option<RecoveryReport>,
    path: Option<PathBuf>,
    /// `config.robust` without the crop and rotation variants (what referrals store).
    referral_robust: RobustOptions,
    /// Per entry with decoded media: every stored code with the luma grid of its region, for
    /// the content check ([`MatchRule::content`]). Kept in memory beside the entry; entries
    /// replayed from disk have none and are matched on PDQ distances alone.
    regions: DashMap<EntryId, Arc<[StoredRegion]>>,
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
        let confirm = config.rule.confirm.as_ref();
        let dhash_index = (config.rule.dhash_alone.is_some()
            || confirm.is_some_and(|c| c.dhash_threshold.is_some()))
        .then(HammingIndex::new);
        let phash_index = (config.rule.phash_alone.is_some()
            || confirm.is_some_and(|c| c.phash_threshold.is_some()))
        .then(HammingIndex::new);
        Ok(Engine {
            config,
            keyer,
            entries: DashMap::new(),
            by_external: DashMap::new(),
            aliases: DashMap::new(),
            url_index: ExactIndex::new(),
            blake3_index: ExactIndex::new(),
            sha256_index: ExactIndex::new(),
            md5_index: ExactIndex::new(),
            pdq_index: HammingIndex::new(),
            dhash_index,
            phash_index,
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
            regions: DashMap::new(),
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
        let mut max_id = None;
        for entry in recovered.entries {
            max_id = max_id.max(Some(entry.id.0));
            self.index_entry(Arc::new(entry));
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

    /// Computes the URL key and media hashes of a referral (pure; no index access).
    ///
    /// A URL that cannot be keyed, or media that is not a decodable picture, is not an error:
    /// the reason is kept in the fingerprint and the rest (for media, the digests) still counts.
    ///
    /// # Errors
    /// [`EngineError::Io`] when a media path cannot be read.
    pub fn fingerprint(&self, referral: &Referral) -> crate::Result<Fingerprint> {
        let mut fp = Fingerprint::default();
        if let Some(url) = &referral.url {
            match self.keyer.key(url) {
                Ok(k) => fp.url = Some(k),
                Err(e) => fp.url_error = Some(e.to_string()),
            }
        }
        match &referral.media {
            None => {}
            Some(MediaInput::Bytes(bytes)) => self.fingerprint_media(bytes, &mut fp),
            Some(MediaInput::Path(path)) => {
                let (media, error) =
                    media_fingerprint_file_with(path, &self.hash_options(), self.robust())?;
                fp.media = Some(media);
                fp.media_error = error;
            }
        }
        Ok(fp)
    }

    /// Hash options for queries: the configured ones with the rule's dihedral setting (the
    /// dihedral variants are also computed when the rule uses trimmed variants, which need
    /// them).
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, MatchRule};
    /// let plain = EngineConfig { rule: MatchRule::plain_pdq(), ..EngineConfig::default() };
    /// assert!(!Engine::in_memory(plain).unwrap().hash_options().dihedral);
    /// assert!(Engine::in_memory(EngineConfig::default()).unwrap().hash_options().dihedral);
    /// ```
    pub fn hash_options(&self) -> HashOptions {
        let mut options = self.config.hash;
        options.dihedral = self.config.rule.dihedral || self.config.rule.variants;
        options
    }

    /// The variant options for referrals when the rule uses variants: the trimmed and framed
    /// boxes only (stored, and looked up), no crops or rotations.
    fn robust(&self) -> Option<&RobustOptions> {
        self.config.rule.variants.then_some(&self.referral_robust)
    }

    /// The variant options for known content added from media: every configured variant.
    fn known_robust(&self) -> Option<&RobustOptions> {
        self.config.rule.variants.then_some(&self.config.robust)
    }

    fn fingerprint_media(&self, bytes: &[u8], fp: &mut Fingerprint) {
        let (media, error) = media_fingerprint_with(bytes, &self.hash_options(), self.robust());
        fp.media = Some(media);
        fp.media_error = error;
    }

    /// Checks a referral without recording it.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// let r = Referral::new("r1").with_url("https://www.reddit.com/r/x/comments/abc12/t/");
    /// assert_eq!(engine.check(&r).unwrap().kind, VerdictKind::New);
    /// assert_eq!(engine.check(&r).unwrap().kind, VerdictKind::New, "check does not record");
    /// ```
    ///
    /// # Errors
    /// [`EngineError::Io`] when a media path cannot be read.
    pub fn check(&self, referral: &Referral) -> crate::Result<Verdict> {
        let fp = self.fingerprint(referral)?;
        Ok(self.check_fingerprint(fp))
    }

    /// Checks an already computed fingerprint.
    pub fn check_fingerprint(&self, fp: Fingerprint) -> Verdict {
        let matches = self.matches(&fp);
        Verdict::from_matches(matches, fp, self.config.max_evidence)
    }

    /// Every entry the fingerprint matches under the rule (one [`Match`] per entry and kind,
    /// unsorted, not truncated).
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral};
    /// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    /// for i in 0..3 {
    ///     engine.record(&Referral::new(format!("r{i}")).with_url("https://redd.it/abc12")).unwrap();
    /// }
    /// let fp = engine.fingerprint(&Referral::new("q").with_url("https://old.reddit.com/comments/abc12/")).unwrap();
    /// assert_eq!(engine.matches(&fp).len(), 3);
    /// ```
    pub fn matches(&self, fp: &Fingerprint) -> Vec<Match> {
        let mut found = MatchSet::default();
        if let Some(url) = &fp.url {
            self.push_exact(&mut found, self.url_index.get(&url.key), HashKind::UrlKey);
        }
        let Some(media) = &fp.media else {
            return found.into_matches();
        };
        self.push_exact(
            &mut found,
            self.blake3_index.get(&media.blake3),
            HashKind::Blake3,
        );
        self.push_exact(
            &mut found,
            self.sha256_index.get(&media.sha256),
            HashKind::Sha256,
        );
        self.push_exact(&mut found, self.md5_index.get(&media.md5), HashKind::Md5);

        let rule = &self.config.rule;
        if media.pdq.is_some() {
            self.push_perceptual(&mut found, media);
        }
        if let (Some(index), Some(radius), Some(d)) =
            (&self.dhash_index, rule.dhash_alone, media.dhash)
        {
            for hit in index.range(&d, radius) {
                if let Some(e) = self.entries.get(&hit.id) {
                    found.push(e.value(), HashKind::Dhash, hit.distance, None, None);
                }
            }
        }
        if let (Some(index), Some(radius), Some(p)) =
            (&self.phash_index, rule.phash_alone, media.phash)
        {
            for hit in index.range(&p, radius) {
                if let Some(e) = self.entries.get(&hit.id) {
                    found.push(e.value(), HashKind::Phash, hit.distance, None, None);
                }
            }
        }
        found.into_matches()
    }

    /// PDQ matches: the candidates the indexes find (PDQ within the strict and loose bounds;
    /// dHash or pHash within the confirmed tier's radii), each decided by
    /// [`MatchRule::decide_pair`].
    fn push_perceptual(&self, found: &mut MatchSet, media: &MediaFingerprint) {
        let rule = &self.config.rule;
        let queries = media.lookup_codes(rule);
        let mut candidates: Vec<EntryId> = self
            .pdq_index
            .range_many(&queries, rule.pdq_search_radius())
            .into_iter()
            .map(|hit| hit.id)
            .collect();
        if let Some(confirm) = &rule.confirm {
            candidates.extend(self.confirm_candidates(confirm, media));
        }
        candidates.sort_unstable();
        candidates.dedup();
        for id in candidates {
            let Some(entry) = self.entries.get(&id) else {
                continue;
            };
            let entry = entry.value();
            let stored = self.regions.get(&id);
            let regions = match &stored {
                Some(stored) if !media.query_regions.is_empty() => Some(PairRegions {
                    query: &media.query_regions,
                    stored: stored.value(),
                    stored_is_known: entry.source == EntrySource::Known,
                }),
                _ => None,
            };
            let seconds = media.second_distances(entry.dhash, entry.phash);
            let facts = PairFacts {
                closest: closest_distance(&queries, entry.pdq.iter().chain(&entry.extra_pdq)),
                query_quality: media.pdq_quality,
                stored_quality: entry.pdq_quality,
                seconds: &seconds,
                regions,
            };
            if let Some(d) = rule.decide_pair(&facts) {
                found.push(
                    entry,
                    HashKind::Pdq,
                    d.distance,
                    d.confirmed_by,
                    Some(d.tier),
                );
            }
        }
    }

    /// Entries whose dHash or pHash is within the confirm rule's radius of the query's (whole
    /// picture or a box): the confirmed tier's candidates (the rule decides whether they
    /// confirm).
    fn confirm_candidates(&self, c: &ConfirmRule, media: &MediaFingerprint) -> Vec<EntryId> {
        let mut out = Vec::new();
        let seconds = [(media.dhash, media.phash)]
            .into_iter()
            .chain(media.query_second.iter().map(|&(d, p)| (Some(d), Some(p))));
        for (dhash, phash) in seconds {
            for (index, radius, code) in [
                (&self.dhash_index, c.dhash_threshold, dhash),
                (&self.phash_index, c.phash_threshold, phash),
            ] {
                if let (Some(index), Some(radius), Some(code)) = (index, radius, code) {
                    out.extend(index.range(&code, radius).into_iter().map(|hit| hit.id));
                }
            }
        }
        out
    }

    fn push_exact(&self, found: &mut MatchSet, ids: Vec<EntryId>, kind: HashKind) {
        for id in ids {
            if let Some(e) = self.entries.get(&id) {
                found.push(e.value(), kind, 0, None, None);
            }
        }
    }

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

    fn record_locked(
        &self,
        w: &mut Writer,
        referral: &Referral,
        fp: &Fingerprint,
    ) -> crate::Result<EntryId> {
        let id = self.allocate_id()?;
        let mut e = EntryRecord::new(id, EntrySource::Referral, referral.id.clone());
        e.url_key = fp.url.as_ref().map(|k| k.key.clone());
        e.received_at = referral.received_at.clone();
        if let Some(m) = &fp.media {
            fill_media(&mut e, m);
            if !m.stored_regions.is_empty() {
                self.regions.insert(id, m.stored_regions.clone().into());
            }
        }
        if let Err(err) = self.commit(w, vec![e]) {
            self.regions.remove(&id);
            return Err(err);
        }
        Ok(id)
    }

    fn allocate_id(&self) -> Result<EntryId, EngineError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if id == u32::MAX {
            self.next_id.store(u32::MAX, Ordering::Relaxed);
            return Err(EngineError::Full);
        }
        Ok(EntryId(id))
    }

    /// Journals then indexes entries (writer lock held).
    fn commit(&self, w: &mut Writer, entries: Vec<EntryRecord>) -> crate::Result<()> {
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

    fn maybe_snapshot(&self, w: &mut Writer) -> crate::Result<()> {
        if let Some(every) = self.config.snapshot_every {
            if w.since_snapshot >= every && w.store.is_some() {
                self.snapshot_locked(w)?;
            }
        }
        Ok(())
    }

    fn snapshot_locked(&self, w: &mut Writer) -> crate::Result<Option<PathBuf>> {
        let Some(store) = &w.store else {
            return Ok(None);
        };
        let mut entries: Vec<Arc<EntryRecord>> =
            self.entries.iter().map(|e| Arc::clone(e.value())).collect();
        entries.sort_by_key(|e| e.id);
        let path = store.snapshot(entries.iter().map(|e| &**e), &self.keyer.resolutions())?;
        w.since_snapshot = 0;
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

    fn index_entry(&self, e: Arc<EntryRecord>) {
        let id = e.id;
        if let Some(old) = self.entries.get(&id).map(|o| Arc::clone(o.value())) {
            self.unindex_entry(&old);
        }
        if let Some(k) = &e.url_key {
            self.url_index.insert(k.clone(), id);
            for alias in self.keyer_aliases(k) {
                self.url_index.insert(alias, id);
            }
        }
        if let Some(d) = e.blake3 {
            self.blake3_index.insert(d, id);
        }
        if let Some(d) = e.sha256 {
            self.sha256_index.insert(d, id);
        }
        if let Some(d) = e.md5 {
            self.md5_index.insert(d, id);
        }
        if let Some(p) = e.pdq {
            self.pdq_index.insert(id, p);
        }
        for p in &e.extra_pdq {
            self.pdq_index.insert(id, *p);
        }
        if let (Some(index), Some(d)) = (&self.dhash_index, e.dhash) {
            index.insert(id, d);
        }
        if let (Some(index), Some(p)) = (&self.phash_index, e.phash) {
            index.insert(id, p);
        }
        self.by_external
            .entry((e.source, e.external_id.clone()))
            .or_default()
            .push(id);
        self.entries.insert(id, e);
    }

    fn unindex_entry(&self, e: &EntryRecord) {
        let id = e.id;
        if let Some(k) = &e.url_key {
            self.url_index.remove(k, id);
            for alias in self.keyer_aliases(k) {
                self.url_index.remove(&alias, id);
            }
        }
        if let Some(d) = e.blake3 {
            self.blake3_index.remove(&d, id);
        }
        if let Some(d) = e.sha256 {
            self.sha256_index.remove(&d, id);
        }
        if let Some(d) = e.md5 {
            self.md5_index.remove(&d, id);
        }
        self.pdq_index.remove(id);
        self.regions.remove(&id);
        if let Some(index) = &self.dhash_index {
            index.remove(id);
        }
        if let Some(index) = &self.phash_index {
            index.remove(id);
        }
        let key = (e.source, e.external_id.clone());
        let now_empty = match self.by_external.get_mut(&key) {
            Some(mut ids) => {
                ids.retain(|x| *x != id);
                ids.is_empty()
            }
            None => false,
        };
        if now_empty {
            self.by_external.remove_if(&key, |_, ids| ids.is_empty());
        }
        self.entries.remove(&id);
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
    fn apply_resolution(&self, short_key: &str, target: &str) {
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
        for id in self.url_index.get(&short_key.to_string()) {
            self.url_index.insert(target_key.clone(), id);
        }
    }

    /// Other keys an entry's URL key is indexed under (through recorded resolutions).
    fn keyer_aliases(&self, key: &str) -> Vec<String> {
        self.aliases
            .get(key)
            .map(|a| a.value().clone())
            .unwrap_or_default()
    }

    /// Adds one known-content item (from a hash list). Adding an item that is already present
    /// with the same id and hashes changes nothing and returns the existing id.
    ///
    /// # Errors
    /// [`EngineError::Empty`] when the item has no hash; a store error when journaling fails.
    pub fn add_known(&self, item: &KnownItem) -> crate::Result<EntryId> {
        let (ids, _) = self.add_known_items(std::slice::from_ref(item))?;
        Ok(ids[0])
    }

    /// Adds known-content items in one journal write (one group: after a crash either all of
    /// them are stored or none); returns their ids in order and how many were new. An item equal
    /// to a live known entry (same id, or both without a list id, and the same hashes and label)
    /// or to an earlier item of the same call is not added again. Linear in the number of items
    /// (hash lookups, no scans per item).
    fn add_known_items(&self, items: &[KnownItem]) -> crate::Result<(Vec<EntryId>, usize)> {
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
            fresh.push(item.to_entry(id, &fallback));
            pending.insert(item, id);
            ids.push(id);
        }
        let added = fresh.len();
        self.commit(&mut w, fresh)?;
        Ok((ids, added))
    }

    /// A live known entry holding this item (same id, same hashes and label).
    fn same_known(&self, item: &KnownItem) -> Option<EntryId> {
        let id = item.id.as_ref()?;
        let same = |e: &EntryRecord| KnownItem::from_entry(e) == *item;
        self.entries_by_external_id(EntrySource::Known, id)
            .into_iter()
            .find(|eid| self.entry(*eid).is_some_and(|e| same(&e)))
    }

    /// Live known entries whose external id was generated for an item without a list id,
    /// keyed by their content with the id cleared.
    fn known_without_list_id(&self) -> HashMap<KnownItem, EntryId> {
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

    /// Hashes a media file and adds it as known content. `id` defaults to the file name.
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
        let regions = media.stored_regions.clone();
        let entry = self.add_known(&known_item(media, id, label))?;
        self.keep_regions(entry, regions);
        Ok(entry)
    }

    /// Hashes media bytes (a picture, or any file for its digests) and adds them as known
    /// content under `id`, with the stored variants of the rule.
    ///
    /// ```
    /// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
    /// let img = image::RgbImage::from_fn(160, 120, |x, y| image::Rgb([(x * 3 % 256) as u8, (y * 5 % 256) as u8, ((x / 20 + y / 15) * 40 % 256) as u8]));
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
        let (media, _) = media_fingerprint_with(bytes, &self.hash_options(), self.known_robust());
        refuse_uninformative(&media).map_err(|why| {
            EngineError::Empty(format!("{id}: {why}; not added as known content"))
        })?;
        let regions = media.stored_regions.clone();
        let entry = self.add_known(&known_item(media, id.to_string(), label))?;
        self.keep_regions(entry, regions);
        Ok(entry)
    }

    /// Keeps the luma grids of known content added from media (an item added again unchanged
    /// keeps the grids it has).
    fn keep_regions(&self, id: EntryId, regions: Vec<StoredRegion>) {
        if !regions.is_empty() && self.entries.contains_key(&id) {
            self.regions.entry(id).or_insert_with(|| regions.into());
        }
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
        let parsed = hashlist::read_list(reader, format, strict)?;
        let items: Vec<KnownItem> = parsed.items.into_iter().map(|(_, i)| i).collect();
        let (ids, imported) = self.add_known_items(&items)?;
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

/// The matches found for one query: the closest per entry and kind.
#[derive(Default)]
struct MatchSet(HashMap<(EntryId, HashKind), Match>);

impl MatchSet {
    fn push(
        &mut self,
        entry: &EntryRecord,
        kind: HashKind,
        distance: u32,
        confirmed_by: Option<Confirmation>,
        tier: Option<MatchTier>,
    ) {
        let key = (entry.id, kind);
        if self.0.get(&key).is_some_and(|old| old.distance <= distance) {
            return;
        }
        let quality = if kind == HashKind::Pdq {
            entry.pdq_quality
        } else {
            None
        };
        self.0.insert(
            key,
            Match {
                entry: entry.id,
                external_id: entry.external_id.clone(),
                label: entry.label.clone(),
                source: entry.source,
                kind,
                distance,
                quality,
                confirmed_by,
                tier,
            },
        );
    }

    fn into_matches(self) -> Vec<Match> {
        self.0.into_values().collect()
    }
}

/// Why media carries too little information to stand for known content, if it does: an empty
/// file (every empty upload would then be "known"), or a picture without any detail (PDQ
/// quality 0: a blank or single-colour picture, which would match every other blank of that
/// file's bytes).
fn refuse_uninformative(media: &MediaFingerprint) -> Result<(), String> {
    if media.bytes == 0 {
        return Err("the file is empty".into());
    }
    if media.pdq.is_some() && media.pdq_quality == Some(0) {
        return Err("the picture is blank (no detail: PDQ quality 0)".into());
    }
    Ok(())
}

/// The known-content item for hashed media.
fn known_item(media: MediaFingerprint, id: String, label: Option<&str>) -> KnownItem {
    KnownItem {
        id: Some(id),
        label: label.map(str::to_string),
        pdq: media.pdq,
        quality: media.pdq_quality,
        md5: Some(media.md5),
        sha256: Some(media.sha256),
        blake3: Some(media.blake3),
        dhash: media.dhash,
        phash: media.phash,
        extra_pdq: media.extra_pdq,
    }
}

/// Copies media hashes into an entry.
fn fill_media(e: &mut EntryRecord, m: &MediaFingerprint) {
    e.blake3 = Some(m.blake3);
    e.sha256 = Some(m.sha256);
    e.md5 = Some(m.md5);
    e.pdq = m.pdq;
    e.pdq_quality = m.pdq_quality;
    e.dhash = m.dhash;
    e.phash = m.phash;
    e.extra_pdq = m.extra_pdq.clone();
}

/// Hashes media bytes: full hashes for a decodable picture, digests only otherwise (with the
/// decoding error as text). No stored or trimmed variants: see [`media_fingerprint_with`].
///
/// ```
/// use referral_dedup::engine::media_fingerprint;
/// let (m, why) = media_fingerprint(b"not a picture", &Default::default());
/// assert!(m.pdq.is_none() && why.is_some());
/// ```
pub fn media_fingerprint(
    bytes: &[u8],
    options: &HashOptions,
) -> (MediaFingerprint, Option<String>) {
    media_fingerprint_with(bytes, options, None)
}

/// [`media_fingerprint`], and with `robust` also the variants the improved rule uses: the
/// stored ones ([`MediaFingerprint::extra_pdq`], from [`KnownHashes`]) and the query-only
/// trimmed-box codes ([`MediaFingerprint::query_pdq`], [`MediaFingerprint::query_second`],
/// from [`QueryHashes`], which needs `options.dihedral`). The picture is decoded and converted
/// to luma once for all of them.
///
/// ```
/// use referral_dedup::engine::media_fingerprint_with;
/// use referral_dedup::matching::RobustOptions;
/// use referral_dedup::media::HashOptions;
/// let img = image::RgbImage::from_fn(160, 120, |x, y| image::Rgb([(x * 3 % 256) as u8, (y * 5 % 256) as u8, ((x * y) % 256) as u8]));
/// let mut png = Vec::new();
/// img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
/// let opts = HashOptions { dihedral: true, ..HashOptions::default() };
/// let (m, _) = media_fingerprint_with(&png, &opts, Some(&RobustOptions::default()));
/// assert!(m.extra_pdq.len() >= 12); // crops and rotations
/// assert_eq!(m.pdq_variants.len(), 7);
/// ```
pub fn media_fingerprint_with(
    bytes: &[u8],
    options: &HashOptions,
    robust: Option<&RobustOptions>,
) -> (MediaFingerprint, Option<String>) {
    let digests = media::digest_bytes(bytes);
    let img = match media::decode(bytes, options) {
        Ok(img) => img,
        Err(e) => {
            return (
                MediaFingerprint::from_digests(&digests, bytes.len() as u64),
                Some(e.to_string()),
            )
        }
    };
    let hashed = media::hash_image_with_luma(bytes.len() as u64, digests, &img, options);
    drop(img);
    let mut fp = MediaFingerprint::from_hashes(&hashed.hashes);
    if let Some(robust) = robust {
        let query = QueryHashes::from_hashed(&hashed, robust);
        if let Some(q) = &query {
            for boxed in [q.trimmed, q.framed].into_iter().flatten() {
                fp.query_pdq.extend_from_slice(&boxed.dihedral);
            }
            fp.query_second = [q.second_trimmed, q.second_framed]
                .into_iter()
                .flatten()
                .map(|s| (s.dhash, s.phash))
                .collect();
        }
        // The stored side reuses the query's boxes rather than detecting and hashing them again.
        let known = match &query {
            Some(q) => KnownHashes::from_query(&hashed, q, robust),
            None => KnownHashes::from_hashed(&hashed, robust),
        };
        let (query_regions, stored_regions) =
            crate::matching::regions(&hashed, query.as_ref(), known.as_ref(), robust);
        fp.query_regions = query_regions;
        fp.stored_regions = stored_regions;
        if let Some(k) = known {
            let mut extra: Vec<Pdq> = Vec::with_capacity(k.extra.len());
            for (_, p) in k.extra {
                if p != k.pdq && !extra.contains(&p) {
                    extra.push(p);
                }
            }
            fp.extra_pdq = extra;
        }
    }
    (fp, None)
}

/// Hashes a media file like [`media_fingerprint`]. A file larger than the decoding limit
/// (`options.limits.max_file_bytes`, for example a video) is digested as a stream without
/// being held in memory, and gets no perceptual hashes.
///
/// # Errors
/// [`EngineError::Io`] when the file cannot be opened or read.
///
/// ```
/// use referral_dedup::engine::media_fingerprint_file;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("clip.mp4");
/// std::fs::write(&path, b"not a picture").unwrap();
/// let (m, why) = media_fingerprint_file(&path, &Default::default()).unwrap();
/// assert!(m.pdq.is_none() && why.is_some());
/// ```
pub fn media_fingerprint_file(
    path: &Path,
    options: &HashOptions,
) -> Result<(MediaFingerprint, Option<String>), EngineError> {
    media_fingerprint_file_with(path, options, None)
}

/// [`media_fingerprint_file`] with the variants of [`media_fingerprint_with`].
///
/// # Errors
/// [`EngineError::Io`] when the file cannot be opened or read.
///
/// ```
/// use referral_dedup::engine::media_fingerprint_file_with;
/// use referral_dedup::matching::RobustOptions;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("a.bin");
/// std::fs::write(&path, b"not a picture").unwrap();
/// let robust = RobustOptions::default();
/// let (m, why) = media_fingerprint_file_with(&path, &Default::default(), Some(&robust)).unwrap();
/// assert!(m.extra_pdq.is_empty() && why.is_some());
/// ```
pub fn media_fingerprint_file_with(
    path: &Path,
    options: &HashOptions,
    robust: Option<&RobustOptions>,
) -> Result<(MediaFingerprint, Option<String>), EngineError> {
    let with_path = |e: std::io::Error| {
        EngineError::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    };
    let file = media::open_regular_file(path).map_err(with_path)?;
    let on_disk = file.metadata().map_err(with_path)?.len();
    if on_disk > media::MAX_MEDIA_FILE_BYTES {
        return Err(EngineError::NotMedia(format!(
            "{}: {on_disk} bytes, larger than the {}-byte limit for any media file",
            path.display(),
            media::MAX_MEDIA_FILE_BYTES
        )));
    }
    let limit = options.limits.max_file_bytes;
    let mut bytes = Vec::new();
    (&file)
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(with_path)?;
    if bytes.len() as u64 <= limit {
        return Ok(media_fingerprint_with(&bytes, options, robust));
    }
    drop(bytes);
    let (digests, len) = media::digest_file(path)
        .map_err(|e| EngineError::Io(std::io::Error::other(format!("{}: {e}", path.display()))))?;
    Ok((
        MediaFingerprint::from_digests(&digests, len),
        Some(format!("larger than the {limit}-byte decoding limit")),
    ))
}
