//! Fingerprinting: a referral's URL key and media hashes (with the rule's variants and the
//! regions for the content check), computed without touching the indexes.

use std::io::Read;
use std::path::Path;

use super::{Engine, EngineError, Fingerprint, MediaFingerprint, MediaInput, Referral};
use crate::hashes::Pdq;
use crate::matching::{KnownHashes, QueryHashes, RobustOptions};
use crate::media::{self, HashOptions};
use crate::store::EntryRecord;

impl Engine {
    /// Computes the URL key and media hashes of a referral (pure; no index access).
    ///
    /// A URL that cannot be keyed, or media that is not a decodable picture, is not an error:
    /// the reason is kept in the fingerprint and the rest (for media, the digests) still counts.
    /// Media that is a video also gets its frame codes ([`Fingerprint::video`]).
    ///
    /// # Errors
    /// [`EngineError::Io`] when a media path cannot be read;
    /// [`crate::video::VideoError::ToolMissing`] for a video when `ffmpeg` is not installed.
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
            Some(MediaInput::Bytes(bytes)) => {
                self.fingerprint_media(bytes, &mut fp);
                self.fingerprint_video_bytes(bytes, &mut fp)?;
            }
            Some(MediaInput::Path(path)) => {
                let (media, error) =
                    media_fingerprint_file_with(path, &self.hash_options(), self.robust())?;
                fp.media = Some(media);
                fp.media_error = error;
                self.fingerprint_video_path(path, &mut fp)?;
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
    pub(super) fn robust(&self) -> Option<&RobustOptions> {
        self.config.rule.variants.then_some(&self.referral_robust)
    }

    /// The variant options for known content added from media: every configured variant.
    pub(super) fn known_robust(&self) -> Option<&RobustOptions> {
        self.config.rule.variants.then_some(&self.config.robust)
    }

    pub(super) fn fingerprint_media(&self, bytes: &[u8], fp: &mut Fingerprint) {
        let (media, error) = media_fingerprint_with(bytes, &self.hash_options(), self.robust());
        fp.media = Some(media);
        fp.media_error = error;
    }
}

/// Copies media hashes and the stored regions' grids into an entry.
pub(super) fn fill_media(e: &mut EntryRecord, m: &MediaFingerprint) {
    e.hashes = m.hashes.clone();
    e.regions = super::indexes::region_grids(&m.stored_regions);
}

/// Hashes media bytes: full hashes for a decodable picture, digests only otherwise (with the
/// decoding error as text). No stored or trimmed variants: see [`media_fingerprint_with`].
///
/// ```
/// use referral_dedup::engine::media_fingerprint;
/// let (m, why) = media_fingerprint(b"not a picture", &Default::default());
/// assert!(m.hashes.pdq.is_none() && why.is_some());
/// ```
pub fn media_fingerprint(
    bytes: &[u8],
    options: &HashOptions,
) -> (MediaFingerprint, Option<String>) {
    media_fingerprint_with(bytes, options, None)
}

/// [`media_fingerprint`], and with `robust` also the variants the improved rule uses: the
/// stored ones (`hashes.extra_pdq` of the [`MediaFingerprint`], from [`KnownHashes`]) and the query-only
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
/// assert!(m.hashes.extra_pdq.len() >= 12); // crops and rotations
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
            fp.hashes.extra_pdq = extra;
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
/// assert!(m.hashes.pdq.is_none() && why.is_some());
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
/// assert!(m.hashes.extra_pdq.is_empty() && why.is_some());
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
