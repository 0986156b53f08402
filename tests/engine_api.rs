//! Engine behaviour through the public API: verdicts, evidence, the match rule, persistence,
//! deletes, concurrency and hash-list import.

use std::sync::Arc;

use image::{imageops, Rgb, RgbImage};
use referral_dedup::engine::{
    ConfirmRule, Engine, EngineConfig, KnownItem, ListFormat, MatchRule, Referral, VerdictKind,
};
use referral_dedup::hashes::HashKind;
use referral_dedup::matching::MatchTier;
use referral_dedup::store::EntrySource;

/// A structured test picture (waves and blocks) that PDQ hashes with good quality.
fn picture(seed: u64) -> RgbImage {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32
    };
    let f: Vec<f32> = (0..12).map(|_| next()).collect();
    let mut img = RgbImage::from_fn(200, 150, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let a = (x * 0.05 * (f[0] + 0.2) + y * 0.03 * f[1] + 6.0 * f[2]).sin();
        let b = (y * 0.06 * (f[3] + 0.2) - x * 0.02 * f[4] + 6.0 * f[5]).sin();
        let v = 128.0 + 60.0 * a + 50.0 * b;
        Rgb([
            v as u8,
            (255.0 * f[6] * 0.5 + v * 0.5) as u8,
            (255.0 - v) as u8,
        ])
    });
    for _ in 0..6 {
        let (x0, y0) = ((next() * 170.0) as u32, (next() * 120.0) as u32);
        let (w, h) = (10 + (next() * 50.0) as u32, 10 + (next() * 40.0) as u32);
        let c = Rgb([
            (next() * 255.0) as u8,
            (next() * 255.0) as u8,
            (next() * 255.0) as u8,
        ]);
        for y in y0..(y0 + h).min(150) {
            for x in x0..(x0 + w).min(200) {
                img.put_pixel(x, y, c);
            }
        }
    }
    img
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
        &mut out, quality,
    ))
    .unwrap();
    out
}

fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn engine() -> Engine {
    Engine::in_memory(EngineConfig::default()).unwrap()
}

#[test]
fn engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
}

#[test]
fn url_variants_are_duplicates_with_rules_in_evidence() {
    let e = engine();
    let first = e
        .check_and_record(
            &Referral::new("r1").with_url("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        )
        .unwrap();
    assert_eq!(first.kind, VerdictKind::New);
    assert!(first.evidence.is_empty());
    assert!(first.recorded_as.is_some());

    let v = e
        .check(&Referral::new("r2").with_url("https://youtu.be/dQw4w9WgXcQ?si=abc&utm_source=x"))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Duplicate);
    assert_eq!(v.evidence.len(), 1);
    assert_eq!(v.evidence[0].external_id, "r1");
    assert_eq!(v.evidence[0].kind, HashKind::UrlKey);
    assert_eq!(v.evidence[0].distance, 0);
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["verdict"], "duplicate");
    assert!(
        json["url"]["rules"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{json}"
    );

    // Case matters in YouTube ids: a different video.
    let other = e
        .check(&Referral::new("r3").with_url("https://www.youtube.com/watch?v=DQW4W9WGXCQ"))
        .unwrap();
    assert_eq!(other.kind, VerdictKind::New);
}

#[test]
fn exact_and_perceptual_media_matches() {
    let e = engine();
    let img = picture(1);
    let original = jpeg(&img, 90);
    e.record(&Referral::new("orig").with_media_bytes(original.clone()))
        .unwrap();

    let same = e
        .check(&Referral::new("same").with_media_bytes(original))
        .unwrap();
    assert_eq!(same.kind, VerdictKind::Duplicate);
    let kinds: Vec<HashKind> = same.evidence.iter().map(|m| m.kind).collect();
    for k in [
        HashKind::Blake3,
        HashKind::Sha256,
        HashKind::Md5,
        HashKind::Pdq,
    ] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    assert_eq!(
        same.evidence[0].kind,
        HashKind::Blake3,
        "exact evidence first"
    );

    let reencoded = e
        .check(&Referral::new("q40").with_media_bytes(jpeg(&img, 40)))
        .unwrap();
    assert_eq!(reencoded.kind, VerdictKind::Duplicate);
    let m = &reencoded.evidence[0];
    assert_eq!(m.kind, HashKind::Pdq);
    assert!(m.distance <= 31);
    assert!(m.quality.is_some_and(|q| q >= 50));

    let half = imageops::resize(&img, 100, 75, imageops::FilterType::Triangle);
    let resized = e
        .check(&Referral::new("half").with_media_bytes(png(&half)))
        .unwrap();
    assert_eq!(resized.kind, VerdictKind::Duplicate);

    for seed in 2..8 {
        let other = e
            .check(&Referral::new("other").with_media_bytes(jpeg(&picture(seed), 90)))
            .unwrap();
        assert_eq!(
            other.kind,
            VerdictKind::New,
            "seed {seed}: {:?}",
            other.evidence
        );
    }
}

#[test]
fn pdq_threshold_is_configurable() {
    let img = picture(11);
    let config = EngineConfig {
        rule: MatchRule {
            pdq_threshold: 0,
            ..MatchRule::plain_pdq()
        },
        ..EngineConfig::default()
    };
    let strict = Engine::in_memory(config).unwrap();
    strict
        .record(&Referral::new("a").with_media_bytes(jpeg(&img, 95)))
        .unwrap();
    let v = strict
        .check(&Referral::new("b").with_media_bytes(jpeg(&img, 20)))
        .unwrap();
    let loose = engine();
    loose
        .record(&Referral::new("a").with_media_bytes(jpeg(&img, 95)))
        .unwrap();
    let w = loose
        .check(&Referral::new("b").with_media_bytes(jpeg(&img, 20)))
        .unwrap();
    assert_eq!(w.kind, VerdictKind::Duplicate);
    let d = w.evidence[0].distance;
    if d > 0 {
        assert_eq!(
            v.kind,
            VerdictKind::New,
            "distance {d} must not match at threshold 0"
        );
    }
}

#[test]
fn low_quality_pdq_never_matches_alone() {
    // Two different near-flat pictures: PDQ quality is low, so PDQ must not merge them.
    let a = RgbImage::from_pixel(120, 90, Rgb([200, 200, 200]));
    let mut b = RgbImage::from_pixel(120, 90, Rgb([40, 40, 40]));
    b.put_pixel(3, 3, Rgb([41, 40, 40]));
    let e = engine();
    e.record(&Referral::new("flat-a").with_media_bytes(png(&a)))
        .unwrap();
    let v = e
        .check(&Referral::new("flat-b").with_media_bytes(png(&b)))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::New, "{:?}", v.evidence);
    assert!(
        v.fingerprint
            .media
            .as_ref()
            .unwrap()
            .hashes
            .pdq_quality
            .unwrap()
            < 50
    );
    // The same bytes still match exactly.
    let same = e
        .check(&Referral::new("flat-a2").with_media_bytes(png(&a)))
        .unwrap();
    assert_eq!(same.kind, VerdictKind::Duplicate);
    assert!(same.evidence.iter().any(|m| m.kind == HashKind::Blake3));
    // PDQ evidence for a low-quality picture comes only from the low-quality tier (its own
    // copy: content agrees, dHash and pHash close).
    assert!(same
        .evidence
        .iter()
        .filter(|m| m.kind == HashKind::Pdq)
        .all(|m| m.tier == Some(MatchTier::LowQuality)));
}

#[test]
fn dihedral_matching_is_on_by_default_and_off_in_plain_mode() {
    let img = picture(21);
    let mirrored = jpeg(&imageops::flip_horizontal(&img), 90);
    let rotated = jpeg(&imageops::rotate90(&img), 90);
    let plain = plain_engine();
    plain
        .record(&Referral::new("o").with_media_bytes(jpeg(&img, 90)))
        .unwrap();
    for bytes in [&mirrored, &rotated] {
        let v = plain
            .check(&Referral::new("m").with_media_bytes(bytes.clone()))
            .unwrap();
        assert_eq!(v.kind, VerdictKind::New, "{:?}", v.evidence);
    }
    let improved = engine();
    improved
        .record(&Referral::new("o").with_media_bytes(jpeg(&img, 90)))
        .unwrap();
    for (name, bytes) in [("mirror", mirrored), ("rot90", rotated)] {
        let v = improved
            .check(&Referral::new(name).with_media_bytes(bytes))
            .unwrap();
        assert_eq!(v.kind, VerdictKind::Duplicate, "{name}");
        assert_eq!(v.evidence[0].kind, HashKind::Pdq);
        assert_eq!(v.evidence[0].tier, Some(MatchTier::Strict), "{name}");
    }
}

/// The engine with plain reference PDQ matching (`--plain-pdq`).
fn plain_engine() -> Engine {
    Engine::in_memory(EngineConfig {
        rule: MatchRule::plain_pdq(),
        ..EngineConfig::default()
    })
    .unwrap()
}

/// `img` inside a uniform frame of `colour`, `border` pixels wide on every side.
fn framed(img: &RgbImage, border: u32, colour: [u8; 3]) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(
        img.width() + 2 * border,
        img.height() + 2 * border,
        Rgb(colour),
    );
    imageops::replace(&mut canvas, img, i64::from(border), i64::from(border));
    canvas
}

/// `img` fitted into a 16:9 canvas with black pillarbox bars.
fn pillarboxed(img: &RgbImage) -> RgbImage {
    let h = img.height();
    let w = h * 16 / 9;
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([0, 0, 0]));
    imageops::replace(&mut canvas, img, i64::from((w - img.width()) / 2), 0);
    canvas
}

#[test]
fn borders_letterbox_and_crops_match_by_default_but_not_in_plain_mode() {
    let img = picture(51);
    let (w, h) = img.dimensions();
    let crop = imageops::crop_imm(&img, w / 20, h / 20, w - w / 10, h - h / 10).to_image();
    let edits = [
        ("black border", framed(&img, 14, [0, 0, 0])),
        ("white border", framed(&img, 14, [255, 255, 255])),
        ("pillarbox", pillarboxed(&img)),
    ];
    // A 10% crop of known content still matches (its stored crops); a crop of an earlier
    // *referral* needs its content to agree cell by cell beyond the strict tier, which a
    // shifted crop does not (the price of never merging two pictures in one frame).
    let known = engine();
    known
        .add_known_media(&jpeg(&img, 90), "original", None)
        .unwrap();
    let v = known
        .check(&Referral::new("crop").with_media_bytes(jpeg(&crop, 85)))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Known, "crop 10%: {:?}", v.evidence);
    let improved = engine();
    let plain = plain_engine();
    for e in [&improved, &plain] {
        e.record(&Referral::new("original").with_media_bytes(jpeg(&img, 90)))
            .unwrap();
    }
    for (name, edited) in &edits {
        let r = Referral::new(*name).with_media_bytes(jpeg(edited, 85));
        let v = improved.check(&r).unwrap();
        assert_eq!(v.kind, VerdictKind::Duplicate, "{name}: {:?}", v.evidence);
        assert_eq!(v.evidence[0].external_id, "original");
        assert!(v.evidence[0].tier.is_some());
        let p = plain.check(&r).unwrap();
        assert_eq!(p.kind, VerdictKind::New, "{name} (plain): {:?}", p.evidence);
    }
    // Unrelated pictures stay new under the improved rule.
    for seed in 60..70 {
        let v = improved
            .check(&Referral::new("other").with_media_bytes(jpeg(&picture(seed), 85)))
            .unwrap();
        assert_eq!(v.kind, VerdictKind::New, "seed {seed}: {:?}", v.evidence);
    }
}

#[test]
fn the_bordered_copy_may_arrive_first() {
    // The bordered copy is recorded first (it stores its trimmed box); the clean original
    // arriving later is its duplicate.
    let img = picture(52);
    let e = engine();
    e.record(&Referral::new("bordered").with_media_bytes(jpeg(&framed(&img, 16, [0, 0, 0]), 85)))
        .unwrap();
    let v = e
        .check(&Referral::new("original").with_media_bytes(jpeg(&img, 90)))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Duplicate, "{:?}", v.evidence);
    assert_eq!(v.evidence[0].external_id, "bordered");
}

#[test]
fn stored_variants_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let img = picture(53);
    {
        let e = Engine::open(dir.path(), EngineConfig::default()).unwrap();
        e.add_known_media(&jpeg(&img, 90), "poster", None).unwrap();
        let stored = e.entries();
        assert!(
            stored[0].hashes.extra_pdq.len() >= 12,
            "{:?}",
            stored[0].hashes.extra_pdq
        );
    }
    let e = Engine::open(dir.path(), EngineConfig::default()).unwrap();
    assert!(e.entries()[0].hashes.extra_pdq.len() >= 12);
    let (w, h) = img.dimensions();
    let crop = imageops::crop_imm(&img, w / 10, h / 10, w - w / 10, h - h / 10).to_image();
    let v = e
        .check(&Referral::new("crop").with_media_bytes(jpeg(&crop, 85)))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Known, "{:?}", v.evidence);
    assert_eq!(v.evidence[0].external_id, "poster");
}

#[test]
fn dhash_alone_does_not_decide_by_default() {
    let img = picture(31);
    let bytes = jpeg(&img, 90);
    let probe = engine()
        .fingerprint(&Referral::new("p").with_media_bytes(bytes.clone()))
        .unwrap();
    let dhash = probe.media.as_ref().unwrap().hashes.dhash.unwrap();
    let item = KnownItem {
        id: Some("dhash-only".into()),
        hashes: referral_dedup::hashes::HashBundle {
            dhash: Some(dhash),
            ..Default::default()
        },
        ..KnownItem::default()
    };
    let e = engine();
    e.add_known(&item).unwrap();
    assert_eq!(
        e.check(&Referral::new("q").with_media_bytes(bytes.clone()))
            .unwrap()
            .kind,
        VerdictKind::New
    );
    let mut config = EngineConfig::default();
    config.rule.dhash_alone = Some(4);
    let opted = Engine::in_memory(config).unwrap();
    opted.add_known(&item).unwrap();
    let v = opted
        .check(&Referral::new("q").with_media_bytes(bytes))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Known);
    assert_eq!(v.evidence[0].kind, HashKind::Dhash);
}

#[test]
fn confirm_rule_accepts_a_loose_pdq_hit_only_with_a_second_hash() {
    let img = picture(41);
    let base = engine()
        .fingerprint(&Referral::new("p").with_media_bytes(jpeg(&img, 90)))
        .unwrap()
        .media
        .unwrap();
    // A known item whose PDQ is 40 bits away from the query's (beyond 31), same dHash.
    let mut far = base.hashes.pdq.unwrap();
    for k in 0..40 {
        far.set_bit(k * 6, !far.bit(k * 6));
    }
    let mut item = KnownItem {
        id: Some("loose".into()),
        hashes: referral_dedup::hashes::HashBundle {
            pdq: Some(far),
            pdq_quality: Some(90),
            dhash: base.hashes.dhash,
            ..Default::default()
        },
        ..KnownItem::default()
    };
    let mut config = EngineConfig::default();
    // Without the loose tier (44), so that the 40-bit hit needs the confirmation.
    config.rule.loose_threshold = None;
    config.rule.confirm = Some(ConfirmRule {
        pdq_threshold: 50,
        dhash_threshold: Some(6),
        phash_threshold: None,
        allow_low_quality: false,
        require_both: false,
    });
    let e = Engine::in_memory(config.clone()).unwrap();
    e.add_known(&item).unwrap();
    let v = e
        .check(&Referral::new("q").with_media_bytes(jpeg(&img, 90)))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Known);
    assert_eq!(v.evidence[0].distance, 40);
    assert_eq!(v.evidence[0].confirmed_by.unwrap().kind, HashKind::Dhash);
    assert_eq!(v.evidence[0].tier, Some(MatchTier::Confirmed));

    // Without an agreeing dHash the loose hit does not count.
    item.hashes.dhash = base
        .hashes
        .dhash
        .map(|d| referral_dedup::hashes::Hash64(!d.0));
    let e = Engine::in_memory(config).unwrap();
    e.add_known(&item).unwrap();
    assert_eq!(
        e.check(&Referral::new("q").with_media_bytes(jpeg(&img, 90)))
            .unwrap()
            .kind,
        VerdictKind::New
    );
}

#[test]
fn known_takes_precedence_over_duplicate() {
    let e = engine();
    let img = picture(51);
    e.record(
        &Referral::new("earlier")
            .with_url("https://t.me/chan/9")
            .with_media_bytes(jpeg(&img, 90)),
    )
    .unwrap();
    let h = referral_dedup::media::hash_bytes(&jpeg(&img, 80), &Default::default()).unwrap();
    e.add_known(&KnownItem {
        id: Some("list-1".into()),
        label: Some("campaign".into()),
        hashes: referral_dedup::hashes::HashBundle {
            pdq: Some(h.pdq.hash),
            pdq_quality: Some(h.pdq.quality),
            ..Default::default()
        },
    })
    .unwrap();
    let v = e
        .check(
            &Referral::new("now")
                .with_url("https://t.me/s/CHAN/9")
                .with_media_bytes(jpeg(&img, 60)),
        )
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Known);
    assert_eq!(v.evidence[0].source, EntrySource::Known);
    assert_eq!(v.evidence[0].external_id, "list-1");
    assert_eq!(v.evidence[0].label.as_deref(), Some("campaign"));
    assert!(v
        .evidence
        .iter()
        .any(|m| m.source == EntrySource::Referral && m.kind == HashKind::UrlKey));
}

#[test]
fn non_image_media_still_matches_by_digest() {
    let e = engine();
    let clip = b"\0\0\0\x18ftypisom video bytes".to_vec();
    e.record(&Referral::new("a").with_media_bytes(clip.clone()))
        .unwrap();
    let v = e.check(&Referral::new("b").with_media_bytes(clip)).unwrap();
    assert_eq!(v.kind, VerdictKind::Duplicate);
    assert!(v.fingerprint.media_error.is_some());
    assert!(v.fingerprint.media.as_ref().unwrap().hashes.pdq.is_none());
}

#[test]
fn persists_deletes_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        snapshot_every: Some(5),
        ..EngineConfig::default()
    };
    let img = picture(61);
    let deleted;
    {
        let e = Engine::open(dir.path(), config.clone()).unwrap();
        for i in 0..7 {
            e.record(&Referral::new(format!("r{i}")).with_url(format!("https://t.me/chan/{i}")))
                .unwrap();
        }
        deleted = e
            .record(&Referral::new("img").with_media_bytes(jpeg(&img, 90)))
            .unwrap();
        e.import_list(
            "id,md5\nk1,d41d8cd98f00b204e9800998ecf8427e\n".as_bytes(),
            ListFormat::Csv,
            true,
        )
        .unwrap();
        assert!(e.delete(deleted).unwrap());
        assert!(!e.delete(deleted).unwrap());
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.contains("snapshot")), "{names:?}");

    let e = Engine::open(dir.path(), config).unwrap();
    assert_eq!(e.len(), 8);
    assert!(e.entry(deleted).is_none());
    let v = e
        .check(&Referral::new("x").with_url("https://t.me/chan/3"))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Duplicate);
    assert_eq!(v.evidence[0].external_id, "r3");
    let gone = e
        .check(&Referral::new("y").with_media_bytes(jpeg(&img, 90)))
        .unwrap();
    assert_eq!(
        gone.kind,
        VerdictKind::New,
        "a deleted entry must not match"
    );
    assert_eq!(e.known_items().len(), 1);
    // New ids do not reuse old ones.
    let id = e
        .record(&Referral::new("z").with_url("https://t.me/chan/99"))
        .unwrap();
    assert!(id.0 > deleted.0);
}

#[test]
fn concurrent_identical_referrals_yield_one_new() {
    let e = Arc::new(engine());
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let e = Arc::clone(&e);
            std::thread::spawn(move || {
                e.check_and_record(
                    &Referral::new(format!("t{i}")).with_url("https://x.com/a/status/123"),
                )
                .unwrap()
                .kind
            })
        })
        .collect();
    let kinds: Vec<VerdictKind> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == VerdictKind::New).count(), 1);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == VerdictKind::Duplicate)
            .count(),
        7
    );
}

#[test]
fn strict_import_is_all_or_nothing() {
    let e = engine();
    let list = "id,md5\na,d41d8cd98f00b204e9800998ecf8427e\nb,not-hex\nc,00000000000000000000000000000001\n";
    assert!(e
        .import_list(list.as_bytes(), ListFormat::Csv, true)
        .is_err());
    assert_eq!(e.known_items().len(), 0);
    let report = e
        .import_list(list.as_bytes(), ListFormat::Csv, false)
        .unwrap();
    assert_eq!(report.imported, 2);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].line, 3);
    // Importing the same list again adds nothing.
    let again = e
        .import_list(list.as_bytes(), ListFormat::Csv, false)
        .unwrap();
    assert_eq!((again.imported, again.unchanged), (0, 2));
    assert_eq!(e.known_items().len(), 2);
}

#[test]
fn known_file_added_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("poster.jpg");
    let img = picture(21);
    std::fs::write(&path, jpeg(&img, 90)).unwrap();
    let e = engine();
    let id = e.add_known_file(&path, None, Some("list-x")).unwrap();
    assert_eq!(e.entry(id).unwrap().external_id, "poster.jpg");
    let again = e.add_known_file(&path, None, Some("list-x")).unwrap();
    assert_eq!(id, again, "adding the same file twice is idempotent");
    let v = e
        .check(&Referral::new("q").with_media_bytes(jpeg(&img, 50)))
        .unwrap();
    assert_eq!(v.kind, VerdictKind::Known);
    assert_eq!(v.evidence[0].external_id, "poster.jpg");
    assert!(e
        .add_known_file(&dir.path().join("missing.jpg"), None, None)
        .is_err());
}

/// The PDQ tier an engine with `rule` gives `a` when `b` is its only entry.
fn engine_tier(
    rule: &MatchRule,
    a: &referral_dedup::engine::Fingerprint,
    b: &referral_dedup::engine::Fingerprint,
) -> Option<MatchTier> {
    let config = EngineConfig {
        rule: rule.clone(),
        ..EngineConfig::default()
    };
    let engine = Engine::in_memory(config).unwrap();
    engine.record_fingerprint(&Referral::new("b"), b).unwrap();
    let pdq = engine
        .matches(a)
        .into_iter()
        .find(|m| m.kind == HashKind::Pdq);
    pdq.and_then(|m| m.tier)
}

/// Checks `matching::pair_match` against the engine on every ordered pair of `uploads`, under
/// `rule`; returns how many pairs each tier (or no match) got.
pub(crate) fn assert_pair_match_agrees(
    rule: &MatchRule,
    uploads: &[Vec<u8>],
) -> std::collections::BTreeMap<String, usize> {
    let config = EngineConfig {
        rule: rule.clone(),
        ..EngineConfig::default()
    };
    let hasher = Engine::in_memory(config).unwrap();
    let fps: Vec<_> = uploads
        .iter()
        .map(|bytes| {
            hasher
                .fingerprint(&Referral::new("x").with_media_bytes(bytes.clone()))
                .unwrap()
        })
        .collect();
    let mut tiers = std::collections::BTreeMap::new();
    for (i, a) in fps.iter().enumerate() {
        for (j, b) in fps.iter().enumerate() {
            let pure = referral_dedup::engine::pair_match(a, b, rule);
            assert_eq!(pure, engine_tier(rule, a, b), "pair ({i}, {j})");
            *tiers.entry(format!("{pure:?}")).or_insert(0) += 1;
        }
    }
    tiers
}

#[test]
fn pair_match_gives_the_engines_tier_on_copies_edits_and_different_pictures() {
    let mut uploads = Vec::new();
    for seed in [3, 4, 5] {
        let img = picture(seed);
        let (w, h) = img.dimensions();
        let mut framed = RgbImage::from_pixel(w + 40, h + 40, Rgb([0, 0, 0]));
        imageops::replace(&mut framed, &img, 20, 20);
        let brighter = RgbImage::from_fn(w, h, |x, y| {
            Rgb(img.get_pixel(x, y).0.map(|c| c.saturating_add(40)))
        });
        let mut marked = img.clone();
        for y in 10..60 {
            for x in 10..90 {
                marked.put_pixel(x, y, Rgb([255, 255, 255]));
            }
        }
        for edited in [
            img.clone(),
            imageops::flip_horizontal(&img),
            imageops::crop_imm(&img, 16, 12, w - 32, h - 24).to_image(),
            imageops::crop_imm(&img, 0, 0, w - 50, h - 30).to_image(),
            imageops::crop_imm(&img, 40, 20, w - 60, h - 40).to_image(),
            framed,
            brighter,
            imageops::blur(&img, 2.5),
            marked,
        ] {
            uploads.push(jpeg(&edited, 80));
        }
        uploads.push(jpeg(&img, 20));
    }
    // A low-detail picture (quality under the floor) and its copy.
    let flat = RgbImage::from_fn(200, 150, |x, y| {
        let on = (40..160).contains(&x) && (60..90).contains(&y) && (x / 6 + y / 5) % 3 == 0;
        if on {
            Rgb([20, 20, 20])
        } else {
            Rgb([230, 230, 230])
        }
    });
    uploads.push(jpeg(&flat, 90));
    uploads.push(jpeg(&flat, 60));
    let mut seen = std::collections::BTreeSet::new();
    for rule in [
        MatchRule::default(),
        MatchRule::plain_pdq(),
        MatchRule::harness(),
        // Without the content check, crops of a referral reach the loose and confirmed tiers.
        MatchRule {
            content: None,
            low_quality: None,
            ..MatchRule::default()
        },
    ] {
        let tiers = assert_pair_match_agrees(&rule, &uploads);
        eprintln!("{tiers:?}");
        assert!(tiers.contains_key("None") && tiers.contains_key("Some(Strict)"));
        seen.extend(tiers.into_keys());
    }
    for tier in ["Loose", "Confirmed", "LowQuality"] {
        let tier = format!("Some({tier})");
        assert!(seen.contains(&tier), "no pair reached {tier}: {seen:?}");
    }
}
