//! Why a query video does or does not match a known one: which of the clip rule's thresholds
//! the pair fails, per pairing of code lists. Reads fingerprints written by
//! `video_quality --cache DIR` (JSON [`VideoFingerprint`] files).
//!
//! Run: `cargo run --release --example video_pair -- QUERY.json KNOWN.json`.

use referral_dedup::video::{ClipRule, VideoFingerprint, VideoHash};

fn load(path: &str) -> VideoFingerprint {
    serde_json::from_slice(&std::fs::read(path).expect("readable fingerprint file"))
        .expect("a VideoFingerprint in JSON")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [query, known] = [&args[0], &args[1]].map(|p| load(p));
    let rule = ClipRule::default();
    let usable = |v: &VideoHash| rule.usable(v).len();
    println!(
        "query: {} frames ({} usable), {:.1} s; known: {} frames ({} usable), {:.1} s",
        query.plain.frames.len(),
        usable(&query.plain),
        query.plain.duration(),
        known.plain.frames.len(),
        usable(&known.plain),
        known.plain.duration()
    );
    // Each relaxation alone, to name the threshold a pairing fails on.
    let relaxations: [(&str, ClipRule); 6] = [
        ("as is", rule),
        (
            "density 0",
            ClipRule {
                min_density: 0.0,
                run_min_density: 0.0,
                ..rule
            },
        ),
        (
            "distinct 1",
            ClipRule {
                min_distinct_frames: 1,
                ..rule
            },
        ),
        (
            "coverage 0",
            ClipRule {
                min_shorter_coverage: 0.0,
                min_seconds: 0.0,
                ..rule
            },
        ),
        (
            "run frames 1",
            ClipRule {
                run_min_frames: 1,
                ..rule
            },
        ),
        (
            "run radius 80",
            ClipRule {
                run_distance: 80,
                ..rule
            },
        ),
    ];
    let mut lists: Vec<(String, &VideoHash, &VideoHash)> = vec![
        ("trimmed".into(), &query.trimmed, &known.trimmed),
        ("mirrored".into(), &query.mirrored, &known.trimmed),
        ("plain".into(), &query.plain, &known.plain),
        ("inside_bars".into(), &query.inside_bars, &known.inside_bars),
    ];
    for (i, c) in known.crops.iter().enumerate() {
        lists.push((format!("plain/crop{i}"), &query.plain, c));
        for (j, q) in query.query_crops.iter().enumerate() {
            lists.push((format!("qcrop{j}/crop{i}"), q, c));
        }
    }
    for (name, q, k) in lists {
        let mut line = Vec::new();
        for (what, r) in &relaxations {
            if let Some(m) = r.align(q, k) {
                line.push(format!(
                    "{what}: r{} frames {} distinct {} cover {:.2} q {:.1}-{:.1}",
                    m.radius,
                    m.matched_frames,
                    m.distinct_frames,
                    m.shorter_coverage,
                    m.query_start,
                    m.query_end
                ));
            }
        }
        // Closest pair distance, to see how far apart the lists are.
        let closest = rule
            .usable(q)
            .iter()
            .flat_map(|a| {
                rule.usable(k)
                    .into_iter()
                    .map(move |b| a.pdq.distance(&b.pdq))
            })
            .min();
        if !line.is_empty() || closest.is_some_and(|d| d <= 70) {
            println!("{name} (closest {closest:?}): {}", line.join(" | "));
        }
    }
}
