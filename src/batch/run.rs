//! One batch run: read the backlog in chunks, fingerprint each chunk in parallel, match in
//! backlog order and join matches in the union-find (no chaining through perceptual links).

use super::media_cache::MediaCache;
use super::*;

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
    /// Media fingerprints by content (the same file is decoded once per run).
    media_cache: MediaCache,
}

struct Pending {
    line: u64,
    referral: BacklogReferral,
}

pub(super) fn run<R: Read>(
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
        media_cache: MediaCache::default(),
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
            Err(e) => {
                // serde's own "at line 1 column N" counts within this one line: keep the column.
                let text = e.to_string();
                let reason = text.rsplit_once(" at line ").map_or(&*text, |(r, _)| r);
                let problem = format!("not a referral (column {}): {reason}", e.column());
                state.skip(line_no, None, problem)
            }
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
                let fp = match media.map(|m| self.media_path(m)) {
                    Some(path) => {
                        referral = referral.with_media_path(&path);
                        self.media_cache.fingerprint(&self.engine, &referral, &path)
                    }
                    None => self.engine.fingerprint(&referral),
                };
                let fp = fp.or_else(|e| {
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
        // The chunk's index searches, batched: against this backlog's referrals before the
        // chunk and against the database (which the run does not change). Each referral then
        // also gets the hits among the chunk's referrals recorded before it, compared
        // directly, so it matches exactly what a lookup just before recording it would.
        let ready: Vec<&Fingerprint> = prints
            .iter()
            .filter_map(|(_, fp)| fp.as_ref().ok())
            .collect();
        let first_of_chunk = self.engine.next_entry_id();
        let mut earlier_hits = self.engine.index_hits_batch(&ready).into_iter();
        let mut db_matches = self.known.map(|db| db.matches_batch(&ready).into_iter());
        drop(ready);
        for (pending, (referral, fp)) in chunk.into_iter().zip(prints) {
            let fp = match fp {
                Ok(fp) => fp,
                Err(problem) => {
                    self.skip(pending.line, Some(pending.referral.id), problem);
                    continue;
                }
            };
            let mut hits = earlier_hits.next().unwrap_or_default();
            hits.extend(self.engine.index_hits_since(&fp, first_of_chunk));
            let within = self.engine.matches_with(&fp, &hits);
            let in_db = db_matches.as_mut().map(|m| m.next().unwrap_or_default());
            self.add(pending.line, &referral, fp, within, in_db)?;
        }
        Ok(())
    }

    /// Adds one referral: `within` are its matches among this backlog's earlier referrals,
    /// `in_db` its matches in the database (when there is one).
    fn add(
        &mut self,
        line: u64,
        referral: &Referral,
        fp: Fingerprint,
        mut within: Vec<Match>,
        in_db: Option<Vec<Match>>,
    ) -> crate::Result<()> {
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
            (Some(m), _) if m.hashes.pdq.is_some() => self.summary.images_hashed += 1,
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
        within.sort_by_key(|m| (m.entry, m.kind.rank(), m.distance));
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
            if !m.kind.is_exact() {
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
        if let Some(mut hits) = in_db {
            hits.sort_by_key(|m| (m.entry, m.kind.rank(), m.distance));
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
                                    link: if m.kind.is_exact() {
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
            novel.video = None;
        }
        let picture =
            novel.media.as_ref().is_some_and(|m| m.hashes.pdq.is_some()) || novel.video.is_some();
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
