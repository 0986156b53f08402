//! Batch deduplication of a referral backlog into clusters of the same item.
//!
//! Input: JSON lines `{"id": ..., "url": ..., "media": "path or null", "received_at": ...}`
//! (media paths relative to the backlog file's directory). The backlog is read in chunks; each
//! chunk's referrals are fingerprinted (URL key, media digests and perceptual hashes) in parallel
//! with rayon, then matched in backlog order against the referrals before them and against the
//! known content of an optional [`Engine`]. Every match joins two referrals in a union-find
//! (URL key, exact digest, PDQ within the rule; two referrals that match the same known item or
//! the same earlier referral in the database are joined too). Only fingerprints are kept, never
//! images, so memory is bounded by the index, not by the media.
//!
//! Output: one [`Cluster`] per item (members in backlog order, the first is the representative,
//! the reasons that joined them, the known content they match), plus a [`BatchSummary`].
//!
//! ```
//! use referral_dedup::batch::{dedup_reader, BatchOptions};
//! use referral_dedup::engine::EngineConfig;
//! # fn main() -> referral_dedup::Result<()> {
//! let backlog = r#"{"id":"a","url":"https://youtu.be/dQw4w9WgXcQ","media":null}
//! {"id":"b","url":"https://www.youtube.com/watch?v=dQw4w9WgXcQ&feature=share"}
//! {"id":"c","url":"https://t.me/news/7"}
//! "#;
//! let report = dedup_reader(backlog.as_bytes(), ".".as_ref(), None, &EngineConfig::default(), &BatchOptions::default())?;
//! assert_eq!(report.clusters.len(), 2);
//! assert_eq!(report.clusters[0].members, ["a", "b"]);
//! assert_eq!(report.summary.duplicates_removed, 1);
//! # Ok(()) }
//! ```

mod union_find;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, EngineConfig, EngineError, Fingerprint, Match, Referral};
use crate::hashes::{EntryId, HashKind};
use crate::matching::MatchTier;
use crate::store::EntrySource;

pub use union_find::UnionFind;

/// How a batch runs.
///
/// ```
/// use std::sync::Arc;
/// use referral_dedup::batch::{BatchOptions, Progress};
/// let o = BatchOptions {
///     progress: Some(Arc::new(|p: Progress| eprintln!("{} lines read", p.lines_read))),
///     ..BatchOptions::default()
/// };
/// assert!(o.chunk_size > 0);
/// ```
#[derive(Clone)]
pub struct BatchOptions {
    /// Referrals fingerprinted in parallel per step (bounds the media held in memory).
    pub chunk_size: usize,
    /// Called after every backlog line read, on the thread running the batch (a front end
    /// draws its progress bar from it; the library itself never writes to the terminal).
    /// Setting it also makes [`dedup_backlog`] count the backlog's lines first, for
    /// [`Progress::total_lines`].
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for BatchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchOptions")
            .field("chunk_size", &self.chunk_size)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            chunk_size: 256,
            progress: None,
        }
    }
}

/// A progress callback for [`BatchOptions::progress`].
///
/// ```
/// use referral_dedup::batch::{Progress, ProgressFn};
/// let report: ProgressFn = std::sync::Arc::new(|p: Progress| {
///     if let Some(total) = p.total_lines {
///         eprintln!("{}/{total}", p.lines_read);
///     }
/// });
/// report(Progress { lines_read: 1, total_lines: Some(2) });
/// ```
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How far a batch has got, as passed to [`BatchOptions::progress`].
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use referral_dedup::batch::{dedup_reader, BatchOptions, Progress};
/// use referral_dedup::engine::EngineConfig;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let options = BatchOptions {
///     progress: Some(Arc::new(move |p: Progress| log.lock().unwrap().push(p.lines_read))),
///     ..BatchOptions::default()
/// };
/// let backlog = "{\"id\":\"a\",\"url\":\"https://t.me/c/1\"}\n{\"id\":\"b\",\"url\":\"https://t.me/c/2\"}\n";
/// dedup_reader(backlog.as_bytes(), ".".as_ref(), None, &EngineConfig::default(), &options).unwrap();
/// assert_eq!(*seen.lock().unwrap(), [1, 2]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Backlog lines read so far (blank and skipped lines included).
    pub lines_read: u64,
    /// Lines in the backlog, when counted before the run ([`dedup_backlog`] with a progress
    /// callback); `None` for [`dedup_reader`] and [`dedup_backlog_recording`].
    pub total_lines: Option<u64>,
}

/// One backlog line.
///
/// ```
/// use referral_dedup::batch::BacklogReferral;
/// let r: BacklogReferral = serde_json::from_str(r#"{"id":"r1","url":null,"media":"a.jpg","received_at":"2024-01-01T00:00:00Z"}"#).unwrap();
/// assert_eq!(r.media.as_deref(), Some("a.jpg"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BacklogReferral {
    /// Referral id.
    pub id: String,
    /// Referred URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Media path, relative to the backlog file's directory (or absolute).
    #[serde(default)]
    pub media: Option<String>,
    /// Receipt time (a string or a number, kept as text).
    #[serde(default, deserialize_with = "text_or_number")]
    pub received_at: Option<String>,
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// Why two referrals are in one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The later referral.
    pub member: String,
    /// What it matched: an earlier referral of the backlog, or (for `source` `known` or
    /// `earlier_referral`) a database entry's external id shared with another member.
    pub matched: String,
    /// `referral` (within the backlog), `known` or `earlier_referral` (in the database).
    pub source: &'static str,
    /// The match kind.
    pub kind: HashKind,
    /// Hamming distance (0 for keys and digests).
    pub distance: u32,
    /// How the link joined the clusters: `exact` (a URL key or digest: such links chain),
    /// `representative` (a perceptual match with the cluster's representative, its first
    /// member with a picture), `majority` (perceptual matches with more than half of the
    /// cluster's members with a picture) or `database_entry` (a perceptual match with the
    /// same database entry as another member). A perceptual match with a single member never
    /// joins on its own.
    pub link: &'static str,
    /// The tier of a PDQ match (`strict`, `loose`, `confirmed`, `low_quality`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<MatchTier>,
}

/// Known content a cluster matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownHit {
    /// The member that matched.
    pub member: String,
    /// The known item's id.
    pub id: String,
    /// The known item's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The match kind.
    pub kind: HashKind,
    /// Hamming distance.
    pub distance: u32,
}

/// One cluster of referrals of the same item.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    /// 1-based, in the order of each cluster's first member.
    pub cluster_id: u64,
    /// Referral ids in backlog order.
    pub members: Vec<String>,
    /// The member a reviewer should look at: the first in backlog order.
    pub representative: String,
    /// The matches that joined the members (empty for a single referral).
    pub reasons: Vec<Reason>,
    /// Known content matched by any member (`null` when none): the cluster needs no review.
    pub known_match: Option<Vec<KnownHit>>,
    /// Referrals already in the database that members match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub earlier_referrals: Vec<String>,
}

/// A backlog line that was skipped or only partly used.
#[derive(Debug, Clone, Serialize)]
pub struct LineProblem {
    /// 1-based line number.
    pub line: u64,
    /// Referral id, when the line could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What was wrong.
    pub problem: String,
    /// True when the line was skipped entirely.
    pub skipped: bool,
}

/// Totals of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchSummary {
    /// Referrals read.
    pub referrals_in: u64,
    /// Lines skipped (unreadable JSON, no id).
    pub lines_skipped: u64,
    /// Clusters written.
    pub clusters_out: u64,
    /// Referrals merged into another's cluster: reviews saved.
    pub duplicates_removed: u64,
    /// Referrals matching known content.
    pub known_hits: u64,
    /// Clusters matching known content.
    pub known_clusters: u64,
    /// Media decoded as pictures and hashed.
    pub images_hashed: u64,
    /// Media digested only (not a decodable picture).
    pub media_digest_only: u64,
    /// Media that could not be read.
    pub media_errors: u64,
    /// URLs that could not be keyed.
    pub url_errors: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Referrals per second.
    pub referrals_per_s: f64,
    /// Pictures hashed per second.
    pub images_per_s: f64,
}

/// Clusters, problems and totals of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchReport {
    /// Clusters in order of their first member.
    pub clusters: Vec<Cluster>,
    /// Lines skipped or partly used.
    pub problems: Vec<LineProblem>,
    /// Totals.
    pub summary: BatchSummary,
}

/// Deduplicates the backlog file at `path` (media paths relative to its directory).
///
/// ```
/// use referral_dedup::batch::{dedup_backlog, BatchOptions};
/// use referral_dedup::engine::EngineConfig;
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("clip.mp4"), b"video bytes").unwrap();
/// std::fs::write(dir.path().join("clip-again.mp4"), b"video bytes").unwrap();
/// let backlog = dir.path().join("backlog.jsonl");
/// std::fs::write(&backlog, "{\"id\":\"a\",\"media\":\"clip.mp4\"}\n{\"id\":\"b\",\"media\":\"clip-again.mp4\"}\n").unwrap();
/// let report = dedup_backlog(&backlog, None, &EngineConfig::default(), &BatchOptions::default()).unwrap();
/// assert_eq!(report.clusters[0].members, ["a", "b"]);
/// assert_eq!(report.clusters[0].reasons[0].kind.as_str(), "blake3");
/// ```
///
/// # Errors
/// [`EngineError::Io`] when the backlog cannot be read; [`EngineError::Config`] for an invalid
/// configuration.
pub fn dedup_backlog(
    path: &Path,
    known: Option<&Engine>,
    config: &EngineConfig,
    options: &BatchOptions,
) -> crate::Result<BatchReport> {
    let (file, base) = open_backlog(path)?;
    let total = if options.progress.is_some() {
        count_lines(path).ok()
    } else {
        None
    };
    run(file, base, known, config, options, total, false)
}

/// [`dedup_backlog`] that also records every referral of the backlog into `db` (one journal
/// group: all or none), so later checks against `db` see them as earlier referrals. A referral
/// already recorded with the same id and the same keys is not recorded again.
///
/// ```
/// use referral_dedup::batch::{dedup_backlog_recording, BatchOptions};
/// use referral_dedup::engine::{Engine, EngineConfig, Referral, VerdictKind};
/// let dir = tempfile::tempdir().unwrap();
/// let backlog = dir.path().join("backlog.jsonl");
/// std::fs::write(&backlog, "{\"id\":\"a\",\"url\":\"https://t.me/chan/7\"}\n").unwrap();
/// let db = Engine::in_memory(EngineConfig::default()).unwrap();
/// dedup_backlog_recording(&backlog, &db, &EngineConfig::default(), &BatchOptions::default()).unwrap();
/// let later = db.check(&Referral::new("b").with_url("https://t.me/chan/7")).unwrap();
/// assert_eq!(later.kind, VerdictKind::Duplicate);
/// ```
///
/// # Errors
/// As [`dedup_backlog`]; a store error when recording fails (then nothing is recorded).
pub fn dedup_backlog_recording(
    path: &Path,
    db: &Engine,
    config: &EngineConfig,
    options: &BatchOptions,
) -> crate::Result<BatchReport> {
    let (file, base) = open_backlog(path)?;
    run(file, base, Some(db), config, options, None, true)
}

/// Opens a backlog file (the error names it) and the folder its relative media paths start from.
fn open_backlog(path: &Path) -> crate::Result<(std::fs::File, &Path)> {
    let file = std::fs::File::open(path).map_err(|e| {
        EngineError::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })?;
    Ok((file, path.parent().unwrap_or(Path::new("."))))
}

/// Deduplicates a backlog read from `reader`; relative media paths are resolved against `base`.
///
/// # Errors
/// As [`dedup_backlog`].
pub fn dedup_reader<R: Read>(
    reader: R,
    base: &Path,
    known: Option<&Engine>,
    config: &EngineConfig,
    options: &BatchOptions,
) -> crate::Result<BatchReport> {
    run(reader, base, known, config, options, None, false)
}

fn count_lines(path: &Path) -> std::io::Result<u64> {
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut n = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(n);
        }
        n += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let len = buf.len();
        reader.consume(len);
    }
}

/// Longest backlog line accepted (a hostile file without newlines must not exhaust memory).
const MAX_LINE: u64 = 1 << 20;

/// Per-referral state kept for the whole run (no media).
struct Member {
    id: String,
}

struct Run<'a> {
    known: Option<&'a Engine>,
    engine: Engine,
    base: PathBuf,
    members: Vec<Member>,
    sets: UnionFind,
    /// Per set root: the set's first member whose picture is recorded, and how many members
    /// with a recorded picture it has (who perceptual links must agree with).
    pictures: HashMap<usize, (usize, usize)>,
    /// Batch-engine entry id -> member index.
    member_of_entry: HashMap<EntryId, usize>,
    /// Database entry id -> the first member that matched it.
    first_member_of_db_entry: HashMap<EntryId, usize>,
    reasons: Vec<(usize, Reason)>,
    known_hits: Vec<(usize, KnownHit)>,
    earlier: Vec<(usize, String)>,
    problems: Vec<LineProblem>,
    summary: BatchSummary,
}

struct Pending {
    line: u64,
    referral: BacklogReferral,
}

fn run<R: Read>(
    reader: R,
    base: &Path,
    known: Option<&Engine>,
    config: &EngineConfig,
    options: &BatchOptions,
    total_lines: Option<u64>,
    record: bool,
) -> crate::Result<BatchReport> {
    let started = Instant::now();
    let mut batch_config = config.clone();
    batch_config.max_evidence = usize::MAX;
    batch_config.snapshot_every = None;
    let engine = Engine::in_memory(batch_config)?;
    if let Some(db) = known {
        for (short, target) in db.resolutions() {
            // A resolution the batch keyer cannot key is skipped: it could not match anyway.
            let _ = engine.record_resolution(&short, &target);
        }
    }
    let mut state = Run {
        known,
        engine,
        base: base.to_path_buf(),
        members: Vec::new(),
        sets: UnionFind::default(),
        pictures: HashMap::new(),
        member_of_entry: HashMap::new(),
        first_member_of_db_entry: HashMap::new(),
        reasons: Vec::new(),
        known_hits: Vec::new(),
        earlier: Vec::new(),
        problems: Vec::new(),
        summary: BatchSummary::default(),
    };
    let mut reader = BufReader::new(reader);
    let mut line_no = 0u64;
    // First line of every referral id: a repeated id would make clusters like ["X", "X"].
    let mut first_line_of_id: HashMap<String, u64> = HashMap::new();
    let mut chunk: Vec<Pending> = Vec::with_capacity(options.chunk_size.max(1));
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut buf)
            .map_err(EngineError::Io)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if let Some(progress) = &options.progress {
            progress(Progress {
                lines_read: line_no,
                total_lines,
            });
        }
        if buf.len() as u64 > MAX_LINE && !buf.ends_with(b"\n") {
            loop {
                let mut rest = Vec::new();
                let m = (&mut reader)
                    .take(MAX_LINE)
                    .read_until(b'\n', &mut rest)
                    .map_err(EngineError::Io)?;
                if m == 0 || rest.ends_with(b"\n") {
                    break;
                }
            }
            state.skip(line_no, None, format!("line longer than {MAX_LINE} bytes"));
            continue;
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<BacklogReferral>(text) {
            Ok(referral) if referral.id.trim().is_empty() => {
                state.skip(line_no, None, "empty id".to_string());
            }
            Ok(referral) => match first_line_of_id.entry(referral.id.clone()) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    let problem = format!(
                        "duplicate id {:?}: already used on line {}; this line is skipped",
                        referral.id,
                        first.get()
                    );
                    state.skip(line_no, Some(referral.id), problem);
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(line_no);
                    chunk.push(Pending {
                        line: line_no,
                        referral,
                    });
                }
            },
            Err(e) => state.skip(line_no, None, format!("not a referral: {e}")),
        }
        if chunk.len() >= options.chunk_size.max(1) {
            state.process(std::mem::take(&mut chunk))?;
        }
    }
    state.process(chunk)?;
    if let (true, Some(db)) = (record, known) {
        db.record_referral_entries(state.engine.entries().iter().map(|e| &**e))?;
    }
    Ok(state.finish(started))
}

impl Run<'_> {
    fn skip(&mut self, line: u64, id: Option<String>, problem: String) {
        self.summary.lines_skipped += 1;
        self.problems.push(LineProblem {
            line,
            id,
            problem,
            skipped: true,
        });
    }

    fn media_path(&self, media: &str) -> PathBuf {
        let p = Path::new(media);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    /// Fingerprints a chunk in parallel, then matches and records it in backlog order.
    fn process(&mut self, chunk: Vec<Pending>) -> crate::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let prints: Vec<(Referral, Result<Fingerprint, String>)> = chunk
            .par_iter()
            .map(|p| {
                let r = &p.referral;
                let mut referral = Referral::new(r.id.clone());
                referral.url = r.url.clone().filter(|u| !u.trim().is_empty());
                referral.received_at = r.received_at.clone();
                let media = r.media.as_deref().filter(|m| !m.trim().is_empty());
                if let Some(m) = media {
                    referral = referral.with_media_path(self.media_path(m));
                }
                let fp = self.engine.fingerprint(&referral).or_else(|e| {
                    // The media could not be read: keep the URL, report the media.
                    let mut url_only = referral.clone();
                    url_only.media = None;
                    let mut fp = self
                        .engine
                        .fingerprint(&url_only)
                        .map_err(|e| e.to_string())?;
                    fp.media_error = Some(e.to_string());
                    Ok(fp)
                });
                (referral, fp)
            })
            .collect();
        for (pending, (referral, fp)) in chunk.into_iter().zip(prints) {
            let fp = match fp {
                Ok(fp) => fp,
                Err(problem) => {
                    self.skip(pending.line, Some(pending.referral.id), problem);
                    continue;
                }
            };
            self.add(pending.line, &referral, fp)?;
        }
        Ok(())
    }

    fn add(&mut self, line: u64, referral: &Referral, fp: Fingerprint) -> crate::Result<()> {
        let index = self.members.len();
        self.members.push(Member {
            id: referral.id.clone(),
        });
        self.sets.grow(index + 1);
        self.summary.referrals_in += 1;
        if let Some(e) = &fp.url_error {
            self.summary.url_errors += 1;
            self.problems.push(LineProblem {
                line,
                id: Some(referral.id.clone()),
                problem: format!("url: {e}"),
                skipped: false,
            });
        }
        match (&fp.media, &fp.media_error) {
            (Some(m), _) if m.pdq.is_some() => self.summary.images_hashed += 1,
            (Some(_), _) => self.summary.media_digest_only += 1,
            (None, Some(e)) => {
                self.summary.media_errors += 1;
                self.problems.push(LineProblem {
                    line,
                    id: Some(referral.id.clone()),
                    problem: format!("media: {e}"),
                    skipped: false,
                });
            }
            (None, None) => {}
        }

        // Against earlier referrals of this backlog. Exact links (URL key, digests) join at
        // once and may chain; perceptual links join a cluster only when they agree with its
        // representative or with most of its members with a picture, never through a single
        // member, and join at most one cluster.
        let mut within: Vec<Match> = self.engine.matches(&fp);
        within.sort_by_key(|m| (m.entry, rank_kind(m.kind), m.distance));
        let mut seen = None;
        let (mut url_seen, mut bytes_seen) = (false, false);
        let mut perceptual: Vec<(usize, Match)> = Vec::new();
        for m in within {
            url_seen |= m.kind == HashKind::UrlKey;
            bytes_seen |= m.kind == HashKind::Blake3;
            if seen == Some(m.entry) {
                continue;
            }
            seen = Some(m.entry);
            let Some(&other) = self.member_of_entry.get(&m.entry) else {
                continue;
            };
            if !is_exact(m.kind) {
                perceptual.push((other, m));
                continue;
            }
            // Reasons form a spanning tree of each cluster: one per merge, not one per pair.
            if self.join(index, other) {
                self.reasons
                    .push((index, self.reason(referral, other, &m, "exact")));
            }
        }
        if let Some((other, m, link)) = self.agreeing_cluster(index, &perceptual) {
            if self.join(index, other) {
                self.reasons
                    .push((index, self.reason(referral, other, &m, link)));
            }
        }

        // Against the database: known content and referrals recorded earlier.
        if let Some(db) = self.known {
            let mut hits = db.matches(&fp);
            hits.sort_by_key(|m| (m.entry, rank_kind(m.kind), m.distance));
            let mut seen = None;
            let mut any_known = false;
            for m in hits {
                if seen == Some(m.entry) {
                    continue;
                }
                seen = Some(m.entry);
                match m.source {
                    EntrySource::Known => {
                        any_known = true;
                        self.known_hits.push((
                            index,
                            KnownHit {
                                member: referral.id.clone(),
                                id: m.external_id.clone(),
                                label: m.label.clone(),
                                kind: m.kind,
                                distance: m.distance,
                            },
                        ));
                    }
                    EntrySource::Referral => {
                        self.earlier.push((index, m.external_id.clone()));
                    }
                }
                // Two members matching one database entry are the same item.
                match self.first_member_of_db_entry.get(&m.entry) {
                    Some(&other) => {
                        if self.join(index, other) {
                            self.reasons.push((
                                index,
                                Reason {
                                    member: referral.id.clone(),
                                    matched: m.external_id.clone(),
                                    source: match m.source {
                                        EntrySource::Known => "known",
                                        EntrySource::Referral => "earlier_referral",
                                    },
                                    kind: m.kind,
                                    distance: m.distance,
                                    link: if is_exact(m.kind) {
                                        "exact"
                                    } else {
                                        "database_entry"
                                    },
                                    tier: m.tier,
                                },
                            ));
                        }
                    }
                    None => {
                        self.first_member_of_db_entry.insert(m.entry, index);
                    }
                }
            }
            if any_known {
                self.summary.known_hits += 1;
            }
        }

        // Index only what is new: a URL key or media bytes already indexed would only lead
        // later referrals to members of the same cluster, and re-indexing them would make
        // large clusters quadratic.
        let mut novel = fp;
        if url_seen {
            novel.url = None;
        }
        if bytes_seen {
            novel.media = None;
        }
        let picture = novel.media.as_ref().is_some_and(|m| m.pdq.is_some());
        if novel.url.is_some() || novel.media.is_some() {
            let id = self.engine.record_fingerprint(referral, &novel)?;
            self.member_of_entry.insert(id, index);
        }
        if picture {
            let root = self.sets.find(index);
            let entry = self.pictures.entry(root).or_insert((index, 0));
            entry.1 += 1;
        }
        Ok(())
    }

    /// Unions the sets of `a` and `b`, merging their picture records.
    fn join(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.sets.find(a), self.sets.find(b));
        if !self.sets.union(a, b) {
            return false;
        }
        let root = self.sets.find(a);
        let merged = match (self.pictures.remove(&ra), self.pictures.remove(&rb)) {
            (Some((fa, na)), Some((fb, nb))) => Some((fa.min(fb), na + nb)),
            (one, other) => one.or(other),
        };
        if let Some(p) = merged {
            self.pictures.insert(root, p);
        }
        true
    }

    /// The cluster a referral's perceptual matches (`(member, match)`, one per matched
    /// member) let it join, with the match to report and how it agreed: the cluster's
    /// representative among the matched members, or more than half of its members with a
    /// picture. Of several such clusters, the one with the closest match to its
    /// representative (then the earliest) wins; the others stay apart.
    fn agreeing_cluster(
        &mut self,
        index: usize,
        perceptual: &[(usize, Match)],
    ) -> Option<(usize, Match, &'static str)> {
        let own = self.sets.find(index);
        let mut by_root: HashMap<usize, Vec<&(usize, Match)>> = HashMap::new();
        for link in perceptual {
            let root = self.sets.find(link.0);
            if root != own {
                by_root.entry(root).or_default().push(link);
            }
        }
        let mut best: Option<((u32, usize), usize, Match, &'static str)> = None;
        for (root, links) in by_root {
            let Some(&(first, pictures)) = self.pictures.get(&root) else {
                continue;
            };
            let to_rep = links.iter().find(|(member, _)| *member == first);
            let (m, link, rank) = match to_rep {
                Some((_, m)) => (m, "representative", (m.distance, first)),
                None if 2 * links.len() > pictures => {
                    let closest = links.iter().min_by_key(|(_, m)| m.distance)?;
                    (&closest.1, "majority", (u32::MAX, first))
                }
                None => continue,
            };
            if best.as_ref().is_none_or(|b| rank < b.0) {
                let other = links.iter().find(|(_, x)| x.entry == m.entry)?.0;
                best = Some((rank, other, m.clone(), link));
            }
        }
        best.map(|(_, other, m, link)| (other, m, link))
    }

    fn reason(&self, referral: &Referral, other: usize, m: &Match, link: &'static str) -> Reason {
        Reason {
            member: referral.id.clone(),
            matched: self.members[other].id.clone(),
            source: "referral",
            kind: m.kind,
            distance: m.distance,
            link,
            tier: m.tier,
        }
    }

    fn finish(mut self, started: Instant) -> BatchReport {
        let n = self.members.len();
        let mut cluster_of_root: HashMap<usize, usize> = HashMap::new();
        let mut clusters: Vec<Cluster> = Vec::new();
        let mut cluster_of_member = vec![0usize; n];
        for (i, member) in self.members.iter().enumerate() {
            let root = self.sets.find(i);
            let c = *cluster_of_root.entry(root).or_insert_with(|| {
                clusters.push(Cluster {
                    cluster_id: clusters.len() as u64 + 1,
                    members: Vec::new(),
                    representative: member.id.clone(),
                    reasons: Vec::new(),
                    known_match: None,
                    earlier_referrals: Vec::new(),
                });
                clusters.len() - 1
            });
            cluster_of_member[i] = c;
            clusters[c].members.push(member.id.clone());
        }
        for (i, reason) in self.reasons {
            clusters[cluster_of_member[i]].reasons.push(reason);
        }
        for (i, hit) in self.known_hits {
            clusters[cluster_of_member[i]]
                .known_match
                .get_or_insert_with(Vec::new)
                .push(hit);
        }
        for (i, id) in self.earlier {
            let list = &mut clusters[cluster_of_member[i]].earlier_referrals;
            if !list.contains(&id) {
                list.push(id);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let s = &mut self.summary;
        s.clusters_out = clusters.len() as u64;
        s.duplicates_removed = s.referrals_in - s.clusters_out;
        s.known_clusters = clusters.iter().filter(|c| c.known_match.is_some()).count() as u64;
        s.seconds = seconds;
        if seconds > 0.0 {
            s.referrals_per_s = s.referrals_in as f64 / seconds;
            s.images_per_s = s.images_hashed as f64 / seconds;
        }
        BatchReport {
            clusters,
            problems: self.problems,
            summary: self.summary,
        }
    }
}

/// URL keys and digests: links that may chain.
fn is_exact(kind: HashKind) -> bool {
    matches!(
        kind,
        HashKind::UrlKey | HashKind::Blake3 | HashKind::Sha256 | HashKind::Md5
    )
}

fn rank_kind(kind: HashKind) -> usize {
    HashKind::ALL.iter().position(|k| *k == kind).unwrap_or(99)
}
