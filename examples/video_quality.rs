//! Video match harness: recall per transform and false matches, for the clip-aware rule
//! ([`ClipRule::align_fingerprints`]) beside the vPDQ bag-of-frames rule (python-threatexchange's
//! defaults), plus hashing speed against `ffmpeg` decoding the same files to nothing.
//!
//! Known videos: Meta's sample originals from `../shared/testdata/video/` (when present) and
//! generated ones (cellular automata of several seeds and rules, which no rule was tuned on).
//! Every known video is put through ten transforms with `ffmpeg` (low-bitrate re-encode, 240p,
//! 85% crop, letterbox, mirror, logo box, 1.25x speed, 15 fps, a middle excerpt, an added intro
//! and outro), and each copy is matched against every known video. Distractors must match nothing:
//! generated videos not in the known set, and a video that shares only a 4-second title card with
//! a known one.
//!
//! Run: `cargo run --release --example video_quality` (needs `ffmpeg`; about two minutes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use referral_dedup::video::{
    fingerprint_file, probe, vpdq_from_file, ClipRule, DecodeLimits, VideoFingerprint, VpdqOptions,
    VpdqRule, KNOWN_SECONDS_PER_HASH,
};

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

const TRANSFORMS: [&str; 10] = [
    "reencode",
    "240p",
    "crop",
    "letterbox",
    "mirror",
    "logo",
    "speed1.25",
    "15fps",
    "excerpt",
    "intro_outro",
];

fn main() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
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
    ffmpeg(&["-f", "lavfi", "-i", "color=c=0x802020:s=320x240:r=10:d=4", "-vf",
        "drawbox=x=40:y=60:w=240:h=40:color=white:t=fill,drawbox=x=80:y=140:w=160:h=20:color=yellow:t=fill,format=yuv420p",
        "-c:v", "libx264", "-preset", "veryfast", card.to_str().unwrap()]);
    let with_card =
        |name: &str, src: &Path| -> PathBuf {
            let out = dir.join(format!("{name}.mp4"));
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

    // Queries at one frame a second (HMA's setting); known videos five times denser for the
    // clip-aware rule, and at one a second for the vPDQ rule (its reference setting).
    let options = VpdqOptions::default();
    let known_options = VpdqOptions {
        seconds_per_hash: KNOWN_SECONDS_PER_HASH,
        ..options
    };
    let t = Instant::now();
    let known_fp: Vec<VideoFingerprint> = known
        .iter()
        .map(|(_, p)| fingerprint_file(p, &known_options).unwrap())
        .collect();
    let known_vpdq: Vec<_> = known
        .iter()
        .map(|(_, p)| vpdq_from_file(p, &options).unwrap())
        .collect();
    eprintln!(
        "{} known videos fingerprinted in {:.1} s",
        known.len(),
        t.elapsed().as_secs_f64()
    );

    let clip = ClipRule::default();
    let vpdq = VpdqRule::default();
    println!("| transform | copies | clip-aware recall | vPDQ (pytx defaults) recall | clip-aware false matches | vPDQ false matches |");
    println!("|---|---|---|---|---|---|");
    let (mut all_hits, mut all_n, mut all_fp, mut all_vfp) = (0, 0, 0, 0);
    for name in TRANSFORMS {
        let (mut hits, mut vhits, mut fps, mut vfps, mut n) = (0, 0, 0, 0, 0);
        for (k, (kname, path)) in known.iter().enumerate() {
            let copy = transform(dir, path, name);
            let q = fingerprint_file(&copy, &options).unwrap();
            n += 1;
            for (j, kfp) in known_fp.iter().enumerate() {
                let c = clip.align_fingerprints(&q, kfp).is_some();
                let v = vpdq.matches(&q.plain, &known_vpdq[j]);
                if j == k {
                    hits += usize::from(c);
                    vhits += usize::from(v);
                    if !c {
                        eprintln!("miss: {kname} {name}");
                    }
                } else {
                    fps += usize::from(c);
                    vfps += usize::from(v);
                    if c {
                        eprintln!("FALSE: {kname} {name} matched {}", known[j].0);
                    }
                }
            }
        }
        println!(
            "| {name} | {n} | {:.2} | {:.2} | {fps} | {vfps} |",
            hits as f64 / n as f64,
            vhits as f64 / n as f64
        );
        all_hits += hits;
        all_n += n;
        all_fp += fps;
        all_vfp += vfps;
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
    let (mut dfp, mut dvfp) = (0, 0);
    for d in &distractors {
        let q = fingerprint_file(d, &options).unwrap();
        for (j, kfp) in known_fp.iter().enumerate() {
            if clip.align_fingerprints(&q, kfp).is_some() {
                dfp += 1;
                eprintln!("FALSE: distractor {} matched {}", d.display(), known[j].0);
            }
            dvfp += usize::from(vpdq.matches(&q.plain, &known_vpdq[j]));
        }
    }
    println!(
        "| all transforms | {all_n} | {:.3} | | {all_fp} | {all_vfp} |",
        all_hits as f64 / all_n as f64
    );
    println!(
        "| distractors ({} videos x {} known) | | | | {dfp} | {dvfp} |",
        distractors.len(),
        known.len()
    );

    // Hashing speed against ffmpeg decoding the same file to nothing.
    let longest = &known[0].1;
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    let mut rows = Vec::new();
    for _ in 0..3 {
        let decode = time(&mut || {
            ffmpeg(&[
                "-i",
                longest.to_str().unwrap(),
                "-map",
                "0:v:0",
                "-f",
                "null",
                "-",
            ])
        });
        let hash = time(&mut || {
            vpdq_from_file(longest, &options).unwrap();
        });
        let fingerprint = time(&mut || {
            fingerprint_file(longest, &options).unwrap();
        });
        rows.push((decode, hash, fingerprint));
    }
    rows.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (decode, hash, fingerprint) = rows[1];
    println!(
        "\nspeed on {} (median of 3): ffmpeg decode to null {decode:.3} s, vPDQ at 1 frame/s {hash:.3} s ({:.2}x decode), fingerprint (plain+trimmed+mirrored) {fingerprint:.3} s ({:.2}x)",
        longest.file_name().unwrap().to_string_lossy(),
        hash / decode,
        fingerprint / decode
    );
}
