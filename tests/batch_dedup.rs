//! The batch API: clustering, relative media paths, known content, bad lines, and results that
//! do not depend on the chunk size.

use std::path::Path;

use image::{Rgb, RgbImage};
use referral_dedup::batch::{dedup_backlog, dedup_reader, BatchOptions};
use referral_dedup::engine::{Engine, EngineConfig, KnownItem};
use referral_dedup::hashes::HashKind;

fn picture(seed: u32) -> RgbImage {
    RgbImage::from_fn(160, 120, |x, y| {
        let s = seed as f32;
        let v = 128.0
            + 70.0 * ((x as f32) * 0.07 * (1.0 + s * 0.37) + s).sin()
            + 50.0 * ((y as f32) * 0.05 * (1.0 + s * 0.21) - s * 2.0).cos();
        let block = if (x / (20 + seed % 13)) % 2 == (y / (15 + seed % 7)) % 2 {
            40.0
        } else {
            -40.0
        };
        let v = (v + block).clamp(0.0, 255.0) as u8;
        Rgb([v, v.wrapping_add((seed * 40) as u8), 255 - v])
    })
}

fn save_jpeg(img: &RgbImage, path: &Path, quality: u8) {
    let mut out = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
        &mut out, quality,
    ))
    .unwrap();
    std::fs::write(path, out).unwrap();
}

fn members(report: &referral_dedup::batch::BatchReport) -> Vec<Vec<String>> {
    report.clusters.iter().map(|c| c.members.clone()).collect()
}

#[test]
fn clusters_over_urls_digests_and_pdq() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("m")).unwrap();
    save_jpeg(&picture(1), &dir.path().join("m/one.jpg"), 90);
    save_jpeg(&picture(1), &dir.path().join("m/one_q35.jpg"), 35);
    save_jpeg(&picture(2), &dir.path().join("m/two.jpg"), 90);
    std::fs::copy(
        dir.path().join("m/two.jpg"),
        dir.path().join("m/two_copy.jpg"),
    )
    .unwrap();
    save_jpeg(&picture(3), &dir.path().join("m/three.jpg"), 90);
    let backlog = dir.path().join("backlog.jsonl");
    std::fs::write(
        &backlog,
        r#"{"id":"a","url":"https://x.com/u/status/111","media":"m/one.jpg","received_at":"2024-01-01T00:00:00Z"}
{"id":"b","url":"https://t.me/chan/5","media":null,"received_at":1704067200}
{"id":"c","url":null,"media":"m/one_q35.jpg"}
{"id":"d","url":"https://twitter.com/other/status/111?s=20"}
{"id":"e","media":"m/two.jpg"}
{"id":"f","url":"https://telegram.me/CHAN/5?embed=1","media":"m/three.jpg"}
{"id":"g","media":"m/two_copy.jpg"}
{"id":"h","url":"https://t.me/chan/6"}
"#,
    )
    .unwrap();
    let report = dedup_backlog(
        &backlog,
        None,
        &EngineConfig::default(),
        &BatchOptions::default(),
    )
    .unwrap();
    assert_eq!(
        members(&report),
        vec![
            vec!["a", "c", "d"],
            vec!["b", "f"],
            vec!["e", "g"],
            vec!["h"],
        ]
    );
    let c0 = &report.clusters[0];
    assert_eq!(c0.representative, "a");
    let kinds: Vec<(String, HashKind)> = c0
        .reasons
        .iter()
        .map(|r| (r.member.clone(), r.kind))
        .collect();
    assert!(kinds.contains(&("c".into(), HashKind::Pdq)), "{kinds:?}");
    assert!(kinds.contains(&("d".into(), HashKind::UrlKey)), "{kinds:?}");
    let g = report.clusters[2]
        .reasons
        .iter()
        .find(|r| r.member == "g")
        .unwrap();
    assert_eq!(g.kind, HashKind::Blake3);
    let s = &report.summary;
    assert_eq!(
        (s.referrals_in, s.clusters_out, s.duplicates_removed),
        (8, 4, 4)
    );
    assert_eq!(s.images_hashed, 5);
    assert_eq!(s.known_hits, 0);
}

#[test]
fn chunk_size_does_not_change_the_result() {
    let mut backlog = String::new();
    for i in 0..300 {
        // 300 referrals over 37 Telegram posts and 11 X posts.
        let url = if i % 3 == 0 {
            format!("https://x.com/user{}/status/{}", i % 5, 1000 + i % 11)
        } else {
            format!("https://t.me/s/Channel{}/{}", i % 37, i % 37)
        };
        backlog.push_str(&format!("{{\"id\":\"r{i}\",\"url\":\"{url}\"}}\n"));
    }
    let config = EngineConfig::default();
    let run = |chunk| {
        dedup_reader(
            backlog.as_bytes(),
            Path::new("."),
            None,
            &config,
            &BatchOptions {
                chunk_size: chunk,
                progress: None,
            },
        )
        .unwrap()
    };
    let one = run(1);
    let big = run(1000);
    let mid = run(7);
    assert_eq!(members(&one), members(&big));
    assert_eq!(members(&one), members(&mid));
    assert_eq!(one.clusters.len(), 37 + 11);
}

#[test]
fn known_content_flags_and_joins_clusters() {
    let dir = tempfile::tempdir().unwrap();
    save_jpeg(&picture(5), &dir.path().join("a.jpg"), 85);
    save_jpeg(&picture(5), &dir.path().join("b.jpg"), 40);
    save_jpeg(&picture(6), &dir.path().join("c.jpg"), 85);
    let known = Engine::in_memory(EngineConfig::default()).unwrap();
    let h =
        referral_dedup::media::hash_file(&dir.path().join("a.jpg"), &Default::default()).unwrap();
    known
        .add_known(&KnownItem {
            id: Some("K1".into()),
            label: Some("list".into()),
            hashes: referral_dedup::hashes::HashBundle {
                pdq: Some(h.pdq.hash),
                pdq_quality: Some(h.pdq.quality),
                ..Default::default()
            },
        })
        .unwrap();
    let backlog = dir.path().join("b.jsonl");
    std::fs::write(
        &backlog,
        "{\"id\":\"x\",\"url\":\"https://t.me/a/1\",\"media\":\"a.jpg\"}\n\
         {\"id\":\"y\",\"url\":\"https://t.me/a/2\",\"media\":\"c.jpg\"}\n\
         {\"id\":\"z\",\"url\":\"https://t.me/a/3\",\"media\":\"b.jpg\"}\n",
    )
    .unwrap();
    let report = dedup_backlog(
        &backlog,
        Some(&known),
        &EngineConfig::default(),
        &BatchOptions::default(),
    )
    .unwrap();
    assert_eq!(members(&report), vec![vec!["x", "z"], vec!["y"]]);
    let hits = report.clusters[0].known_match.as_ref().unwrap();
    assert!(hits.iter().all(|h| h.id == "K1" && h.kind == HashKind::Pdq));
    assert_eq!(hits.len(), 2);
    assert!(report.clusters[1].known_match.is_none());
    assert_eq!(report.summary.known_hits, 2);
    assert_eq!(report.summary.known_clusters, 1);
    let json = serde_json::to_value(&report.clusters[1]).unwrap();
    assert!(json["known_match"].is_null());
}

#[test]
fn hostile_backlog_lines_are_skipped_not_fatal() {
    let long = "x".repeat(2 << 20);
    let backlog = format!(
        "{{\"id\":\"ok\",\"url\":\"https://t.me/a/1\"}}\n{long}\n\u{feff}{{\"id\":\"\"}}\n[1,2]\n\n{{\"id\":\"ok2\",\"url\":\"https://t.me/a/1\",\"media\":\"/dev/null/x\"}}\n"
    );
    let report = dedup_reader(
        backlog.as_bytes(),
        Path::new("."),
        None,
        &EngineConfig::default(),
        &BatchOptions::default(),
    )
    .unwrap();
    assert_eq!(members(&report), vec![vec!["ok", "ok2"]]);
    assert_eq!(report.summary.lines_skipped, 3);
    let lines: Vec<u64> = report
        .problems
        .iter()
        .filter(|p| p.skipped)
        .map(|p| p.line)
        .collect();
    assert_eq!(lines, vec![2, 3, 4]);
    assert_eq!(report.summary.media_errors, 1);
}
