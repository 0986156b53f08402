//! Video match harness: recall per transform and false matches, for the clip-aware rule
//! ([`ClipRule::align_fingerprints`]) beside the vPDQ bag-of-frames rule (python-threatexchange's
//! defaults), plus hashing speed against `ffmpeg` decoding the same files to nothing.
//!
//! Known videos: Meta's sample originals from `../shared/testdata/video/` (when present) and
//! generated ones (cellular automata of several seeds and rules, which no rule was tuned on).
//! Every known video is put through eleven transforms with `ffmpeg` (low-bitrate re-encode, 240p,
//! 85% central crop (equal to a stored crop), 88% off-centre crop (unlike any stored crop),
//! letterbox, mirror, logo box, 1.25x speed, 15 fps, a middle excerpt, an added intro
//! and outro), and each copy is matched against every known video. Distractors must match nothing:
//! generated videos not in the known set, and a video that shares only a 4-second title card with
//! a known one.
//!
//! Held out: the rule's thresholds (the run tier's radius and density, the crop shares, the bar
//! share, the short-video sampling) were set looking only at the **tuning** half: `chair`,
//! `pattern`, `life1`, `cell30`, `card+life9` as known videos and `life4`, `cell150` as
//! distractors. `doorknob` was held out until session 6, whose fix of the video-wide bars (frames
//! that cannot tell a bar from dark content do not vote) came from examining its misses: it is
//! counted in the tuning half since, and a new short clip with a fade (`short_life11`, 4 s)
//! takes its place. The **held-out** half (`short_life11`, `life2`, `life3`, `cell90`,
//! `cell110`; the distractors `life5`, `life6` and `card+life10`) is reported in its own
//! columns. The run tier
//! line prints, for the tuning and held-out halves separately, the smallest run-tier radius at
//! which any non-matching pair (a copy against another known video, or a distractor) would
//! match: the margin between that and [`ClipRule::run_distance`] is the evidence that the tier
//! does not fire on unrelated footage.
//!
//! Session 7 added, from the misses of session 6's run (the off-centre crop everywhere; the
//! tuning half's `doorknob` logo, letterbox and intro/outro): the query's anchored crops and
//! the central region on both sides ([`referral_dedup::video::QUERY_CROP_KEEPS`],
//! [`referral_dedup::video::CENTRE_KEEP`]), queries sampled at least 100 times
//! ([`referral_dedup::video::QUERY_MIN_FRAMES`]), and a density that does not count query
//! frames against dark known frames. The held-out logo misses (`life3`, `short_life11`) were
//! looked at (their distances) before the change; its settings were run once, not tuned.
//!
//! Session 8 set no threshold: crop and region codes are averaged to 64x64 by area
//! ([`referral_dedup::video::area`]) instead of tent-blurred per crop (for speed; it also
//! removed the aliasing that kept off-centre crops of the automata 44 to 68 bits from their
//! nearest known crop; now 22 to 34); the query's whole frame by area is compared with the
//! known crops (the tuning half's `cell30` centred crop missed without it); the density's
//! "usable known frame nearby" follows the known video's sampling (the tuning half's
//! `doorknob` letterbox); and a query whose other stretches are dark where the known video is
//! dark counts as covered (the tuning half's `doorknob` excerpt). The off-centre copies were
//! looked at (`video_pair` distances) only after the area change, and nothing was chosen on
//! them.
//!
//! Queries are sampled at one frame a second, or at least 100 times (every `duration / 100`
//! seconds, never denser than known videos: [`VpdqOptions::for_query`]).
//!
//! Run: `cargo run --release --example video_quality` (needs `ffmpeg`; a few minutes).
//! Options: `--only crop,logo` runs only those transforms; `--no-speed` skips the hashing-speed
//! timing; `--speed-only` runs only the timing; `--cache DIR` keeps videos and fingerprints
//! between runs (for trying rule settings); `--legacy` reproduces the previous settings (queries at one frame a second whatever
//! their length, one rate, no run tier).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use referral_dedup::video::{
    fingerprint_file, fingerprint_known_file, probe, vpdq_from_file, ClipRule, DecodeLimits,
    VideoFingerprint, VideoHash, VideoIndex, VpdqOptions, VpdqRule, KNOWN_SECONDS_PER_HASH,
};

/// The known videos' code lists in one [`VideoIndex`], paired with the query's lists the way
/// the engine pairs them (`engine/video_index.rs`): what the engine finds, as opposed to
/// [`ClipRule::align_fingerprints`] on every pair.
struct IndexPath {
    index: VideoIndex,
    /// Video number -> (known video, role: 't' trimmed, 'p' plain, 'b' inside bars, 'c' crop).
    slots: Vec<(usize, char)>,
}

impl IndexPath {
    fn new(known: &[VideoFingerprint]) -> Self {
        let mut path = IndexPath {
            index: VideoIndex::new(),
            slots: Vec::new(),
        };
        for (k, fp) in known.iter().enumerate() {
            let lists = [(&fp.trimmed, 't'), (&fp.plain, 'p'), (&fp.inside_bars, 'b')];
            for (list, role) in lists.into_iter().chain(fp.crops.iter().map(|c| (c, 'c'))) {
                path.index.insert(list);
                path.slots.push((k, role));
            }
        }
        path
    }

    /// The known videos the engine's search finds for `q`.
    fn found(&self, q: &VideoFingerprint, rule: &ClipRule) -> Vec<usize> {
        let mut pairings: Vec<(&VideoHash, &[char])> = vec![
            (&q.trimmed, &['t']),
            (&q.mirrored, &['t']),
            (&q.plain, &['p', 'c']),
            (&q.inside_bars, &['b']),
        ];
        pairings.extend(q.query_crops.iter().map(|l| (l, &['c'][..])));
        pairings.retain(|(list, _)| !list.frames.is_empty());
        let (mut out, mut candidates) = (Vec::new(), Vec::new());
        for &(list, roles) in &pairings {
            let (matched, found) = self.index.query_with_candidates(list, rule);
            candidates.extend(found.into_iter().map(|n| self.slots[n].0));
            out.extend(
                matched
                    .into_iter()
                    .map(|(n, _)| self.slots[n])
                    .filter(|(_, role)| roles.contains(role))
                    .map(|(k, _)| k),
            );
        }
        // As the engine does: a candidate through any pairing is aligned through all of them.
        candidates.sort_unstable();
        candidates.dedup();
        for k in candidates {
            let numbers = (0..self.slots.len()).filter(|&n| self.slots[n].0 == k);
            let found = numbers.into_iter().any(|n| {
                pairings.iter().any(|(list, roles)| {
                    roles.contains(&self.slots[n].1)
                        && self.index.align_stored(n, list, rule).is_some()
                })
            });
            if found {
                out.push(k);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Known videos the thresholds were tuned on (the rest are held out).
const TUNING_KNOWN: [&str; 6] = [
    "chair-orig-22-sd-bar",
    "pattern-hd-no-bar",
    "doorknob-hd-no-bar",
    "life1",
    "cell30",
    "card+life9",
];

/// Distractors the thresholds were tuned on (file stems; the rest are held out).
const TUNING_DISTRACTORS: [&str; 2] = ["life4", "cell150"];

/// Names the fingerprints kept by `--cache`: change it whenever the fingerprinting code changes,
/// so that a cached run never mixes codes of two versions.
const FINGERPRINT_CACHE_TAG: &str = "fp-s8-3";

/// Fingerprints kept as JSON files in a directory, or computed every time.
struct Cache(Option<PathBuf>);

impl Cache {
    /// The value stored under `key`, else `compute()` (stored when there is a directory).
    fn get<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        key: &str,
        compute: impl FnOnce() -> T,
    ) -> T {
        let Some(dir) = &self.0 else {
            return compute();
        };
        let file = dir.join(format!("{key}.json"));
        if let Some(v) = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            return v;
        }
        let v = compute();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(&file, serde_json::to_vec(&v).unwrap()).unwrap();
        v
    }
}

/// The smallest run-tier radius (32..=128) at which `rule` would accept the pair, if any: none
/// when even 128 does not (one alignment, the usual answer), else found by bisection (taking
/// acceptance to grow with the radius, as more pairs only add votes).
fn run_tier_onset(rule: &ClipRule, q: &VideoFingerprint, k: &VideoFingerprint) -> Option<u32> {
    let accepts = |r: u32| {
        let probe = ClipRule {
            run_distance: r,
            ..*rule
        };
        probe.align_fingerprints(q, k).is_some()
    };
    let (mut lo, mut hi) = (rule.distance, 128);
    if !accepts(hi) {
        return None;
    }
    // Invariant: rejected at `lo` (or `lo` is the strict radius), accepted at `hi`.
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if accepts(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Per-half tallies: [tuning, held-out].
#[derive(Default, Clone, Copy)]
struct Tally {
    hits: [usize; 2],
    n: [usize; 2],
    false_matches: [usize; 2],
    vpdq_hits: usize,
    vpdq_false: usize,
}

fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg is installed (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// A generated known video: a cellular automaton of one seed or rule, 30 s at 10 fps.
fn generated(dir: &Path, name: &str, source: &str) -> PathBuf {
    let out = dir.join(format!("{name}.mp4"));
    if out.exists() {
        return out;
    }
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        source,
        "-t",
        "30",
        "-vf",
        "scale=320:240:flags=neighbor,format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        out.to_str().unwrap(),
    ]);
    out
}

/// The transforms: name and ffmpeg arguments between input and output.
fn transform(dir: &Path, src: &Path, name: &str) -> PathBuf {
    let out = dir.join(format!(
        "{}-{name}.mp4",
        src.file_stem().unwrap().to_string_lossy()
    ));
    if out.exists() {
        return out;
    }
    let s = src.to_str().unwrap();
    let o = out.to_str().unwrap();
    let duration = probe(src, &DecodeLimits::default())
        .unwrap()
        .duration
        .unwrap_or(10.0);
    let enc = ["-c:v", "libx264", "-preset", "veryfast", "-an"];
    fn vf<'a>(s: &'a str, filter: &'a str) -> Vec<&'a str> {
        vec!["-i", s, "-vf", filter]
    }
    match name {
        "reencode" => ffmpeg(
            &[
                &[
                    "-i", s, "-c:v", "libx264", "-preset", "veryfast", "-crf", "40", "-an",
                ][..],
                &[o],
            ]
            .concat(),
        ),
        "240p" => ffmpeg(&[&vf(s, "scale=-2:240")[..], &enc, &[o]].concat()),
        "crop" => ffmpeg(
            &[
                &vf(s, "crop=trunc(iw*0.85/2)*2:trunc(ih*0.85/2)*2")[..],
                &enc,
                &[o],
            ]
            .concat(),
        ),
        // Held out from the stored crops (90% and 85%, centred): 88% of each side, off centre
        // (4% from the left, 8% from the top).
        "crop88_offcentre" => ffmpeg(
            &[
                &vf(
                    s,
                    "crop=trunc(iw*0.88/2)*2:trunc(ih*0.88/2)*2:trunc(iw*0.04):trunc(ih*0.08)",
                )[..],
                &enc,
                &[o],
            ]
            .concat(),
        ),
        "letterbox" => ffmpeg(
            &[
                &vf(
                    s,
                    "scale=iw:trunc(ih*0.75/2)*2,pad=iw:trunc(ih/0.75/2)*2:0:(oh-ih)/2:black",
                )[..],
                &enc,
                &[o],
            ]
            .concat(),
        ),
        "mirror" => ffmpeg(&[&vf(s, "hflip")[..], &enc, &[o]].concat()),
        "logo" => ffmpeg(
            &[
                &vf(
                    s,
                    "drawbox=x=iw*0.05:y=ih*0.05:w=iw*0.22:h=ih*0.14:color=white@0.9:t=fill",
                )[..],
                &enc,
                &[o],
            ]
            .concat(),
        ),
        "speed1.25" => ffmpeg(&[&vf(s, "setpts=PTS/1.25")[..], &enc, &[o]].concat()),
        "15fps" => ffmpeg(&[&vf(s, "fps=15")[..], &enc, &[o]].concat()),
        "excerpt" => {
            let (ss, t) = (
                format!("{:.2}", duration * 0.25),
                format!("{:.2}", duration * 0.5),
            );
            ffmpeg(&[&["-ss", &ss, "-t", &t][..], &["-i", s], &enc, &[o]].concat())
        }
        "intro_outro" => {
            let info = probe(src, &DecodeLimits::default()).unwrap();
            let size = format!("{}x{}", info.width, info.height);
            let card = |seed: u32| {
                format!(
                    "cellauto=s={size}:rule={}:rate=30,format=yuv420p",
                    18 + seed * 12
                )
            };
            let (intro, outro) = (card(1), card(2));
            let filter = "[1:v]trim=duration=10,setsar=1[a];[0:v]setsar=1,fps=30,format=yuv420p[b];[2:v]trim=duration=10,setsar=1[c];[a][b][c]concat=n=3:v=1:a=0[v]";
            ffmpeg(
                &[
                    &[
                        "-i", s, "-f", "lavfi", "-i", &intro, "-f", "lavfi", "-i", &outro,
                    ][..],
                    &["-filter_complex", filter, "-map", "[v]"],
                    &enc,
                    &[o],
                ]
                .concat(),
            )
        }
        other => panic!("unknown transform {other}"),
    }
    out
}

const TRANSFORMS: [&str; 11] = [
    "reencode",
    "240p",
    "crop",
    "crop88_offcentre",
    "letterbox",
    "mirror",
    "logo",
    "speed1.25",
    "15fps",
    "excerpt",
    "intro_outro",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').map(str::to_owned).collect());
    let legacy = args.iter().any(|a| a == "--legacy");
    let timing = !args.iter().any(|a| a == "--no-speed");
    let speed_only = args.iter().any(|a| a == "--speed-only");
    // `--cache DIR` keeps the generated videos, the copies and their fingerprints between runs
    // (delete DIR after an interrupted run: a half-written video would be reused).
    let cache: Option<PathBuf> = args
        .iter()
        .position(|a| a == "--cache")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let work = tempfile::tempdir().unwrap();
    let dir = cache.as_deref().unwrap_or(work.path());
    std::fs::create_dir_all(dir).unwrap();
    let fp_cache = Cache(cache.as_ref().map(|c| c.join(FINGERPRINT_CACHE_TAG)));
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/video/videos");
    let mut known: Vec<(String, PathBuf)> = Vec::new();
    if shared.is_dir() {
        for n in [
            "chair-orig-22-sd-bar",
            "pattern-hd-no-bar",
            "doorknob-hd-no-bar",
        ] {
            known.push((n.to_owned(), shared.join(format!("{n}.mp4"))));
        }
    } else {
        eprintln!("note: ../shared absent; generated videos only");
    }
    for seed in 1..=3 {
        let src = format!("life=s=160x120:seed={seed}:mold=20:rate=10:ratio=0.3:life_color=#30c0ff:death_color=#402000");
        known.push((
            format!("life{seed}"),
            generated(dir, &format!("life{seed}"), &src),
        ));
    }
    for rule in [30, 90, 110] {
        let src =
            format!("cellauto=s=160x120:rule={rule}:rate=10:random_fill_ratio=0.5:seed=7:scroll=1");
        known.push((
            format!("cell{rule}"),
            generated(dir, &format!("cell{rule}"), &src),
        ));
    }
    // A known video that opens with a 4-second static title card.
    let card = dir.join("card.mp4");
    if !card.exists() {
        ffmpeg(&["-f", "lavfi", "-i", "color=c=0x802020:s=320x240:r=10:d=4", "-vf",
        "drawbox=x=40:y=60:w=240:h=40:color=white:t=fill,drawbox=x=80:y=140:w=160:h=20:color=yellow:t=fill,format=yuv420p",
        "-c:v", "libx264", "-preset", "veryfast", card.to_str().unwrap()]);
    }
    let with_card =
        |name: &str, src: &Path| -> PathBuf {
            let out = dir.join(format!("{name}.mp4"));
            if out.exists() {
                return out;
            }
            ffmpeg(&["-i", card.to_str().unwrap(), "-i", src.to_str().unwrap(), "-filter_complex",
            "[0:v]setsar=1[a];[1:v]scale=320:240,setsar=1,fps=10[b];[a][b]concat=n=2:v=1:a=0[v]",
            "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", out.to_str().unwrap()]);
            out
        };
    let life9 = generated(
        dir,
        "life9",
        "life=s=160x120:seed=9:mold=20:rate=10:ratio=0.3",
    );
    known.push(("card+life9".into(), with_card("card_life9", &life9)));
    // A held-out short clip with a fade out and in (as the 4-second doorknob sample has), added
    // after the doorknob misses were examined, so that one short clip stays unseen.
    let short = dir.join("short_life11.mp4");
    if !short.exists() {
        // 2x2-pixel cells as in the other generated videos, 15 generations a second; black from
        // 1.6 s to 2.6 s between a fade out and a fade in.
        ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "life=s=160x120:seed=11:mold=20:rate=15:ratio=0.3:life_color=#30c0ff:death_color=#402000",
        "-t",
        "4",
        "-filter_complex",
        "[0:v]scale=320:240:flags=neighbor,format=yuv420p,split[a][b];\
         [a]trim=0:2,fade=t=out:st=1.0:d=0.6[x];\
         [b]trim=2:4,setpts=PTS-STARTPTS,fade=t=in:st=0.6:d=0.6[y];[x][y]concat=n=2:v=1:a=0[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        short.to_str().unwrap(),
    ]);
    }
    known.push(("short_life11".into(), short));
    if speed_only {
        speed(&known);
        return;
    }
    let half_of = |name: &str| usize::from(!TUNING_KNOWN.contains(&name));

    // Queries at one frame a second (HMA's setting), short ones denser; known videos
    // ten times denser for the clip-aware rule, and at one a second for the vPDQ rule (its reference
    // setting).
    let options = VpdqOptions::default();
    let query_options = |path: &Path| {
        if legacy {
            options
        } else {
            options.for_query(probe(path, &DecodeLimits::default()).unwrap().duration)
        }
    };
    let known_options = VpdqOptions {
        seconds_per_hash: KNOWN_SECONDS_PER_HASH,
        ..options
    };
    let t = Instant::now();
    let known_fp: Vec<VideoFingerprint> = known
        .iter()
        .map(|(n, p)| {
            if legacy {
                fingerprint_file(p, &known_options).unwrap()
            } else {
                fp_cache.get(&format!("{n}.known"), || {
                    fingerprint_known_file(p, &known_options).unwrap()
                })
            }
        })
        .collect();
    let known_vpdq: Vec<VideoHash> = known
        .iter()
        .map(|(n, p)| {
            fp_cache.get(&format!("{n}.vpdq"), || {
                vpdq_from_file(p, &options).unwrap()
            })
        })
        .collect();
    eprintln!(
        "{} known videos fingerprinted in {:.1} s",
        known.len(),
        t.elapsed().as_secs_f64()
    );

    let clip = if legacy {
        ClipRule {
            rates: [1.0; 5],
            run_distance: 0,
            ..ClipRule::default()
        }
    } else {
        ClipRule::default()
    };
    let vpdq = VpdqRule::default();
    // Smallest run-tier radius at which a non-matching pair matches, per half; and the radius
    // each true copy needed when the strict tier missed it.
    let mut onset = [u32::MAX; 2];
    let mut needed: Vec<(String, u32)> = Vec::new();
    let index_path = IndexPath::new(&known_fp);
    // Per transform: copies the engine's search finds, copies, other known videos it finds.
    let mut index_rows: Vec<(&str, usize, usize, usize)> = Vec::new();
    println!("| transform | copies | clip-aware recall (tuning / held-out) | vPDQ (pytx defaults) recall | clip-aware false matches (tuning / held-out) | vPDQ false matches |");
    println!("|---|---|---|---|---|---|");
    let mut all = Tally::default();
    for name in TRANSFORMS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == name)) {
            continue;
        }
        let mut t = Tally::default();
        for (k, (kname, path)) in known.iter().enumerate() {
            let copy = transform(dir, path, name);
            let stem = copy.file_stem().unwrap().to_string_lossy().into_owned();
            let q = if legacy {
                fingerprint_file(&copy, &query_options(&copy)).unwrap()
            } else {
                fp_cache.get(&format!("{stem}.query"), || {
                    fingerprint_file(&copy, &query_options(&copy)).unwrap()
                })
            };
            // The vPDQ rule always gets its reference sampling (one frame a second).
            let q_vpdq = fp_cache.get(&format!("{stem}.vpdq"), || {
                vpdq_from_file(&copy, &options).unwrap()
            });
            let half = half_of(kname);
            t.n[half] += 1;
            let found = index_path.found(&q, &clip);
            if index_rows.last().is_none_or(|r| r.0 != name) {
                index_rows.push((name, 0, 0, 0));
            }
            let row = index_rows.last_mut().expect("pushed above");
            row.1 += usize::from(found.contains(&k));
            row.2 += 1;
            row.3 += found.iter().filter(|&&j| j != k).count();
            for (j, kfp) in known_fp.iter().enumerate() {
                let m = clip.align_fingerprints(&q, kfp);
                let c = m.is_some();
                let v = vpdq.matches(&q_vpdq, &known_vpdq[j]);
                if j == k {
                    t.hits[half] += usize::from(c);
                    t.vpdq_hits += usize::from(v);
                    match m {
                        None => eprintln!("miss: {kname} {name}"),
                        Some(m) if m.radius > clip.distance => {
                            needed.push((format!("{kname} {name}"), m.radius));
                            eprintln!("run tier: {kname} {name} {m:?}");
                        }
                        Some(_) => {}
                    }
                } else {
                    t.false_matches[half] += usize::from(c);
                    t.vpdq_false += usize::from(v);
                    if c {
                        eprintln!("FALSE: {kname} {name} matched {}", known[j].0);
                    }
                    if !legacy {
                        if let Some(r) = run_tier_onset(&clip, &q, kfp) {
                            onset[half] = onset[half].min(r);
                        }
                    }
                }
            }
        }
        let rate = |h: usize, n: usize| {
            if n == 0 {
                "-".to_owned()
            } else {
                format!("{:.2}", h as f64 / n as f64)
            }
        };
        let n = t.n[0] + t.n[1];
        println!(
            "| {name} | {n} | {} ({} / {}) | {:.2} | {} ({} / {}) | {} |",
            rate(t.hits[0] + t.hits[1], n),
            rate(t.hits[0], t.n[0]),
            rate(t.hits[1], t.n[1]),
            t.vpdq_hits as f64 / n as f64,
            t.false_matches[0] + t.false_matches[1],
            t.false_matches[0],
            t.false_matches[1],
            t.vpdq_false,
        );
        for h in 0..2 {
            all.hits[h] += t.hits[h];
            all.n[h] += t.n[h];
            all.false_matches[h] += t.false_matches[h];
        }
        all.vpdq_hits += t.vpdq_hits;
        all.vpdq_false += t.vpdq_false;
    }
    // Distractors: videos not in the known set, and one sharing only the title card.
    let mut distractors = Vec::new();
    for seed in 4..=6 {
        let src = format!("life=s=160x120:seed={seed}:mold=20:rate=10:ratio=0.3:life_color=#30c0ff:death_color=#402000");
        distractors.push(generated(dir, &format!("life{seed}"), &src));
    }
    distractors.push(generated(
        dir,
        "cell150",
        "cellauto=s=160x120:rule=150:rate=10:random_fill_ratio=0.5:seed=7:scroll=1",
    ));
    let life10 = generated(
        dir,
        "life10",
        "life=s=160x120:seed=10:mold=20:rate=10:ratio=0.3",
    );
    distractors.push(with_card("card_life10", &life10));
    let (mut dfp, mut dvfp) = ([0usize; 2], 0);
    let mut index_false = 0;
    for d in &distractors {
        let stem = d.file_stem().unwrap().to_string_lossy().into_owned();
        let half = usize::from(!TUNING_DISTRACTORS.contains(&stem.as_str()));
        let q = if legacy {
            fingerprint_file(d, &query_options(d)).unwrap()
        } else {
            fp_cache.get(&format!("{stem}.query"), || {
                fingerprint_file(d, &query_options(d)).unwrap()
            })
        };
        let d_vpdq = fp_cache.get(&format!("{stem}.vpdq"), || {
            vpdq_from_file(d, &options).unwrap()
        });
        index_false += index_path.found(&q, &clip).len();
        for (j, kfp) in known_fp.iter().enumerate() {
            if clip.align_fingerprints(&q, kfp).is_some() {
                dfp[half] += 1;
                eprintln!("FALSE: distractor {stem} matched {}", known[j].0);
            }
            if !legacy {
                if let Some(r) = run_tier_onset(&clip, &q, kfp) {
                    onset[half] = onset[half].min(r);
                }
            }
            dvfp += usize::from(vpdq.matches(&d_vpdq, &known_vpdq[j]));
        }
    }
    let (n, hits) = (all.n[0] + all.n[1], all.hits[0] + all.hits[1]);
    println!(
        "| all transforms | {n} | {:.3} ({:.3} / {:.3}) | {:.3} | {} ({} / {}) | {} |",
        hits as f64 / n.max(1) as f64,
        all.hits[0] as f64 / all.n[0].max(1) as f64,
        all.hits[1] as f64 / all.n[1].max(1) as f64,
        all.vpdq_hits as f64 / n.max(1) as f64,
        all.false_matches[0] + all.false_matches[1],
        all.false_matches[0],
        all.false_matches[1],
        all.vpdq_false,
    );
    println!(
        "| distractors ({} videos x {} known) | | | | {} ({} / {}) | {dvfp} |",
        distractors.len(),
        known.len(),
        dfp[0] + dfp[1],
        dfp[0],
        dfp[1],
    );
    println!("\nthe engine's search (the known code lists in one `VideoIndex`; a video with a frame pair within 31 bits in any pairing, or one of 8 query frames within 44 bits (the wide search), is aligned whole through every pairing, run tier included):\n");
    println!("| transform | copies found | other known videos found |");
    println!("|---|---|---|");
    let (mut found_all, mut copies_all, mut wrong_all) = (0, 0, 0);
    for (name, found, copies, wrong) in &index_rows {
        println!("| {name} | {found} / {copies} | {wrong} |");
        (found_all, copies_all, wrong_all) =
            (found_all + found, copies_all + copies, wrong_all + wrong);
    }
    println!("| all transforms | {found_all} / {copies_all} | {wrong_all} |");
    println!("| distractors | | {index_false} |");
    if !legacy {
        let show = |r: u32| {
            if r == u32::MAX {
                "none up to 128".to_owned()
            } else {
                r.to_string()
            }
        };
        println!(
            "\nrun tier (radius {}, density >= {}, >= {} frames): smallest radius at which a non-matching pair would match: tuning {}, held-out {}; true copies matched only by the run tier: {} (radius needed: {:?})",
            clip.run_distance,
            clip.run_min_density,
            clip.run_min_frames,
            show(onset[0]),
            show(onset[1]),
            needed.len(),
            needed
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
        );
    }
    if !timing {
        return;
    }
    speed(&known);
}

/// Hashing speed against ffmpeg decoding the same file to nothing, on the longest sample video
/// (SD, 22 s) and the HD one: median of 3 runs of each, the runs interleaved; wall time and
/// CPU time (ours and ffmpeg's), each as a ratio to decoding alone.
fn speed(known: &[(String, PathBuf)]) {
    let options = VpdqOptions::default();
    let known_options = VpdqOptions {
        seconds_per_hash: KNOWN_SECONDS_PER_HASH,
        ..options
    };
    // Wall seconds and CPU seconds (this process and its waited-for children, ffmpeg, from
    // /proc/self/stat: steadier than wall time on a loaded machine).
    let cpu = || -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        // Fields 14..=17 (utime, stime, cutime, cstime) are the 12th..15th after the name.
        let ticks: f64 = after_name
            .split_whitespace()
            .skip(11)
            .take(4)
            .filter_map(|v| v.parse::<f64>().ok())
            .sum();
        ticks / 100.0
    };
    let time = |f: &mut dyn FnMut()| {
        let (t, c) = (Instant::now(), cpu());
        f();
        (t.elapsed().as_secs_f64(), cpu() - c)
    };
    let videos: Vec<&PathBuf> = known
        .iter()
        .filter(|(n, _)| n.starts_with("chair") || n.starts_with("pattern"))
        .map(|(_, p)| p)
        .collect();
    let videos = if videos.is_empty() {
        vec![&known[0].1]
    } else {
        videos
    };
    println!("\n| video | ffmpeg decode to null | vPDQ 1 frame/s | query fingerprint 1 frame/s | known fingerprint 1 frame/s | known fingerprint every 0.1 s |");
    println!("|---|---|---|---|---|---|");
    for path in videos {
        // Columns: decode, vPDQ, query fingerprint, known at 1/s, known at 0.1 s; (wall, CPU).
        let mut rows: Vec<[(f64, f64); 5]> = Vec::new();
        for _ in 0..3 {
            let decode = time(&mut || {
                ffmpeg(&[
                    "-i",
                    path.to_str().unwrap(),
                    "-map",
                    "0:v:0",
                    "-f",
                    "null",
                    "-",
                ])
            });
            let hash = time(&mut || {
                vpdq_from_file(path, &options).unwrap();
            });
            let query = time(&mut || {
                fingerprint_file(path, &options).unwrap();
            });
            let known_1 = time(&mut || {
                fingerprint_known_file(path, &options).unwrap();
            });
            let known_dense = time(&mut || {
                fingerprint_known_file(path, &known_options).unwrap();
            });
            rows.push([decode, hash, query, known_1, known_dense]);
        }
        let median = |c: usize, cpu: bool| {
            let mut v: Vec<f64> = rows
                .iter()
                .map(|r| if cpu { r[c].1 } else { r[c].0 })
                .collect();
            v.sort_by(f64::total_cmp);
            v[1]
        };
        let (decode, decode_cpu) = (median(0, false), median(0, true));
        let cell = |c: usize| {
            format!(
                "{:.3} s ({:.2}x); CPU {:.2} s ({:.2}x)",
                median(c, false),
                median(c, false) / decode,
                median(c, true),
                median(c, true) / decode_cpu.max(1e-9)
            )
        };
        let info = probe(path, &DecodeLimits::default()).unwrap();
        println!(
            "| {} ({}x{}, {:.1} s) | {decode:.3} s; CPU {decode_cpu:.2} s | {} | {} | {} | {} |",
            path.file_name().unwrap().to_string_lossy(),
            info.width,
            info.height,
            info.duration.unwrap_or(0.0),
            cell(1),
            cell(2),
            cell(3),
            cell(4),
        );
    }
}
