//! The perceptual side of a fingerprint ([`MediaFingerprint`]) and the pure pair decision
//! ([`pair_match`]): the same tier the engine gives, for two fingerprints and no index.

use serde::Serialize;

use super::pair::{MatchTier, PairFacts, PairRegions, SecondDistances};
use super::rule::MatchRule;
use super::{QueryRegion, StoredRegion};
use crate::hashes::{Hash64, HashBundle, Pdq};
use crate::media::{Digests, MediaHashes};

/// The hashes of one piece of media, as the engine matches them.
///
/// Media that is not a decodable picture still has its digests; its perceptual fields are
/// `None`.
///
/// ```
/// use referral_dedup::matching::MediaFingerprint;
/// let m = MediaFingerprint::from_digests(&referral_dedup::media::digest_bytes(b"not an image"), 12);
/// assert!(m.hashes.pdq.is_none() && m.hashes.md5.is_some());
/// assert_eq!(m.bytes, 12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaFingerprint {
    /// Size of the media in bytes.
    pub bytes: u64,
    /// Picture width (decoded pictures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Picture height (decoded pictures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Digests (always present) and perceptual codes (decoded pictures only), with the extra
    /// PDQ codes stored for the media (trimmed box, crops, small rotations; see
    /// [`crate::matching::KnownHashes`]).
    #[serde(flatten)]
    pub hashes: HashBundle,
    /// PDQ hashes of the 7 non-identity dihedral variants, when computed.
    #[serde(skip)]
    pub pdq_variants: Vec<Pdq>,
    /// Query-only PDQ hashes: the 8 dihedral variants (identity first) of the content box
    /// inside detected borders, then the 8 of the box inside a uniform frame, when found
    /// (not stored).
    #[serde(skip)]
    pub query_pdq: Vec<Pdq>,
    /// Query-only `(dHash, pHash)` of those boxes, second opinions for the confirmed tier
    /// (not stored).
    #[serde(skip)]
    pub query_second: Vec<(Hash64, Hash64)>,
    /// Query-only regions for the content check (whole picture and boxes, each with its 8
    /// dihedral codes and its luma grid; [`crate::matching::content`]).
    #[serde(skip)]
    pub query_regions: Vec<QueryRegion>,
    /// Every stored code with the luma grid of the picture it was computed from (kept by
    /// the engine beside the entry for the content check).
    #[serde(skip)]
    pub stored_regions: Vec<StoredRegion>,
}

impl MediaFingerprint {
    /// The fingerprint of a decoded picture.
    pub fn from_hashes(h: &MediaHashes) -> MediaFingerprint {
        let pdq_variants = h
            .pdq_dihedral
            .as_ref()
            .map(|v| v.iter().copied().filter(|p| *p != h.pdq.hash).collect())
            .unwrap_or_default();
        MediaFingerprint {
            bytes: h.bytes,
            width: Some(h.width),
            height: Some(h.height),
            hashes: h.bundle(),
            pdq_variants,
            query_pdq: Vec::new(),
            query_second: Vec::new(),
            query_regions: Vec::new(),
            stored_regions: Vec::new(),
        }
    }

    /// The fingerprint of media that is not a decodable picture: digests only.
    pub fn from_digests(d: &Digests, bytes: u64) -> MediaFingerprint {
        MediaFingerprint {
            bytes,
            width: None,
            height: None,
            hashes: d.bundle(),
            pdq_variants: Vec::new(),
            query_pdq: Vec::new(),
            query_second: Vec::new(),
            query_regions: Vec::new(),
            stored_regions: Vec::new(),
        }
    }
}

impl MediaFingerprint {
    /// Every PDQ code a query looks up under `rule`: its plain PDQ, the other dihedral
    /// variants (with [`MatchRule::dihedral`]) and the trimmed and framed boxes' variants
    /// (with [`MatchRule::variants`]), without repeats; empty without a PDQ. A query's own
    /// stored variants are not looked up: they would multiply the index work for every
    /// referral by the number of variants (measured: 9x slower batch dedup) and, at the
    /// confirmed tier's bound, found unrelated pictures in the harness.
    ///
    /// ```
    /// use referral_dedup::matching::{MatchRule, MediaFingerprint};
    /// let m = MediaFingerprint::from_digests(&referral_dedup::media::digest_bytes(b"x"), 1);
    /// assert!(m.lookup_codes(&MatchRule::default()).is_empty());
    /// ```
    pub fn lookup_codes(&self, rule: &MatchRule) -> Vec<Pdq> {
        let Some(pdq) = self.hashes.pdq else {
            return Vec::new();
        };
        let mut codes = vec![pdq];
        if rule.dihedral {
            codes.extend(self.pdq_variants.iter().copied());
        }
        if rule.variants {
            // `query_pdq` holds groups of 8 dihedral variants, identity first.
            let step = if rule.dihedral { 1 } else { 8 };
            codes.extend(self.query_pdq.iter().step_by(step).copied());
        }
        let mut seen = std::collections::HashSet::with_capacity(codes.len());
        codes.retain(|c| seen.insert(*c));
        codes
    }

    /// The codes stored for this media: the plain PDQ, then the extra codes.
    ///
    /// ```
    /// use referral_dedup::matching::MediaFingerprint;
    /// let m = MediaFingerprint::from_digests(&referral_dedup::media::digest_bytes(b"x"), 1);
    /// assert_eq!(m.stored_codes().count(), 0);
    /// ```
    pub fn stored_codes(&self) -> impl Iterator<Item = &Pdq> {
        self.hashes.pdq_codes()
    }

    /// dHash and pHash distances of this query's whole picture, then of each of its boxes,
    /// to a stored picture's dHash and pHash.
    ///
    /// ```
    /// use referral_dedup::hashes::Hash64;
    /// use referral_dedup::matching::MediaFingerprint;
    /// let m = MediaFingerprint::from_digests(&referral_dedup::media::digest_bytes(b"x"), 1);
    /// let s = m.second_distances(Some(Hash64(0)), Some(Hash64(0)));
    /// assert_eq!((s.len(), s[0].dhash), (1, None));
    /// ```
    pub fn second_distances(
        &self,
        stored_dhash: Option<Hash64>,
        stored_phash: Option<Hash64>,
    ) -> Vec<SecondDistances> {
        let distance = |a: Option<Hash64>, b: Option<Hash64>| a.zip(b).map(|(a, b)| a.distance(&b));
        std::iter::once((self.hashes.dhash, self.hashes.phash))
            .chain(self.query_second.iter().map(|&(d, p)| (Some(d), Some(p))))
            .map(|(d, p)| SecondDistances {
                dhash: distance(d, stored_dhash),
                phash: distance(p, stored_phash),
            })
            .collect()
    }
}

/// The smallest distance between any of `queries` and any of `stored`.
///
/// ```
/// use referral_dedup::hashes::Pdq;
/// use referral_dedup::matching::closest_distance;
/// let q = [Pdq([0b1, 0, 0, 0]), Pdq([0b111, 0, 0, 0])];
/// assert_eq!(closest_distance(&q, [Pdq([0; 4])].iter()), Some(1));
/// assert_eq!(closest_distance(&q, [].iter()), None);
/// ```
pub fn closest_distance<'a>(queries: &[Pdq], stored: impl Iterator<Item = &'a Pdq>) -> Option<u32> {
    stored
        .flat_map(|s| queries.iter().map(move |q| q.distance(s)))
        .min()
}

/// The perceptual tier the rule gives query `a` against `b` as an earlier referral: the tier
/// an engine with this rule gives `a` when `b` (recorded from a fingerprint computed by that
/// engine) is its only entry. Pure: no engine, no index, no I/O; cheap enough to call per
/// row. URL keys and digests are not compared (they match on equality), nor do dHash or pHash
/// alone ([`MatchRule::dhash_alone`]) give a tier.
///
/// ```
/// use referral_dedup::engine::{Engine, EngineConfig, Referral};
/// use referral_dedup::hashes::HashKind;
/// use referral_dedup::matching::{pair_match, MatchRule, MatchTier};
/// let img = image::RgbImage::from_fn(160, 120, |x, y| image::Rgb([(x * 3 % 256) as u8, (y * 5 % 256) as u8, ((x / 20 + y / 15) * 40 % 256) as u8]));
/// let png = |i: &image::RgbImage| { let mut b = Vec::new(); i.write_to(&mut std::io::Cursor::new(&mut b), image::ImageFormat::Png).unwrap(); b };
/// let engine = Engine::in_memory(EngineConfig::default()).unwrap();
/// let fp = |i: &image::RgbImage| engine.fingerprint(&Referral::new("r").with_media_bytes(png(i))).unwrap();
/// let (a, b) = (fp(&img), fp(&image::imageops::flip_horizontal(&img)));
/// let media = |f: &referral_dedup::engine::Fingerprint| f.media.clone().unwrap();
/// let tier = pair_match(&media(&a), &media(&b), &MatchRule::default());
/// // The engine, holding only `b`, gives `a` the same tier.
/// engine.record_fingerprint(&Referral::new("b"), &b).unwrap();
/// let by_engine = engine.matches(&a).into_iter().find(|m| m.kind == HashKind::Pdq);
/// assert_eq!(tier, by_engine.and_then(|m| m.tier));
/// // A copy matches at the strict tier; plain PDQ does not look up mirrors.
/// let copy = fp(&img);
/// assert_eq!(pair_match(&media(&copy), &media(&a), &MatchRule::default()), Some(MatchTier::Strict));
/// assert_eq!(pair_match(&media(&a), &media(&b), &MatchRule::plain_pdq()), None);
/// ```
pub fn pair_match(
    a: &MediaFingerprint,
    b: &MediaFingerprint,
    rule: &MatchRule,
) -> Option<MatchTier> {
    let queries = a.lookup_codes(rule);
    let seconds = a.second_distances(b.hashes.dhash, b.hashes.phash);
    let regions =
        (!a.query_regions.is_empty() && !b.stored_regions.is_empty()).then_some(PairRegions {
            query: &a.query_regions,
            stored: &b.stored_regions,
            stored_is_known: false,
        });
    let facts = PairFacts {
        closest: closest_distance(&queries, b.stored_codes()),
        query_quality: a.hashes.pdq_quality,
        stored_quality: b.hashes.pdq_quality,
        seconds: &seconds,
        regions,
    };
    rule.decide_pair(&facts).map(|d| d.tier)
}
