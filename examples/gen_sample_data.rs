//! Generates the bundled sample backlog in `examples/data/` (or a large one for benchmarks).
//!
//! Everything is synthetic and deterministic (a fixed seed): photo-like pictures (smooth
//! gradients, a horizon, shapes, texture) made with the `image` crate, their re-encoded,
//! resized, brightened, greyscale, cropped and mirrored copies, URL variants of the same items
//! on each platform (tracking parameters, mobile hosts, short forms, redirect wrappers), a small
//! known-content hash list, and the ground truth: which referrals must form one cluster.
//!
//! ```text
//! cargo run --release --example gen_sample_data -- --out examples/data
//! cargo run --release --example gen_sample_data -- --out /tmp/big --items 3000 --referrals 100000
//! ```
//!
//! The bundled mode checks its own promises with the crate's media and URL layers before
//! writing (copies meant to be caught by PDQ are within the default threshold of their
//! original; originals of different items are far apart; URL variants of one item share one key
//! and different items never do) and fails loudly otherwise.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use image::{imageops, DynamicImage, Rgb, RgbImage};
use referral_dedup::engine::hashlist::{write_list, KnownItem, ListFormat};
use referral_dedup::hashes::HashBundle;
use referral_dedup::media::{self, HashOptions};
use serde_json::json;

#[allow(dead_code)]
#[path = "../tests/support/splitmix.rs"]
mod splitmix;
use splitmix::SplitMix as Rng;

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE36: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

/// A photo-like synthetic picture: sky/ground gradients split at a horizon, low-frequency
/// colour waves, a handful of shapes with soft shading, and fine texture.
fn synth_image(rng: &mut Rng, w: u32, h: u32) -> RgbImage {
    let sky = [
        rng.range(40.0, 220.0),
        rng.range(40.0, 220.0),
        rng.range(60.0, 250.0),
    ];
    let ground = [
        rng.range(20.0, 200.0),
        rng.range(20.0, 180.0),
        rng.range(10.0, 160.0),
    ];
    let horizon = rng.range(0.25, 0.75) * h as f32;
    let tilt = rng.range(-0.3, 0.3);
    let waves: Vec<[f32; 5]> = (0..4)
        .map(|_| {
            [
                rng.range(0.005, 0.05),
                rng.range(0.005, 0.05),
                rng.range(0.0, std::f32::consts::TAU),
                rng.range(10.0, 45.0),
                rng.below(3) as f32,
            ]
        })
        .collect();
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let line = horizon + tilt * (xf - w as f32 / 2.0);
        let base = if yf < line { sky } else { ground };
        let shade = if yf < line {
            1.0 - 0.4 * yf / h as f32
        } else {
            0.7 + 0.5 * (yf - line) / h as f32
        };
        let mut px = [base[0] * shade, base[1] * shade, base[2] * shade];
        for wv in &waves {
            let v = wv[3] * (wv[0] * xf + wv[1] * yf + wv[2]).sin();
            px[wv[4] as usize] += v;
            px[(wv[4] as usize + 1) % 3] += v * 0.5;
        }
        Rgb(px.map(|c| c.clamp(0.0, 255.0) as u8))
    });
    let shapes = 5 + rng.below(8);
    for _ in 0..shapes {
        let cx = rng.range(0.0, w as f32);
        let cy = rng.range(0.0, h as f32);
        let rx = rng.range(0.04, 0.25) * w as f32;
        let ry = rng.range(0.04, 0.25) * h as f32;
        let colour = [
            rng.range(0.0, 255.0),
            rng.range(0.0, 255.0),
            rng.range(0.0, 255.0),
        ];
        let kind = rng.below(3);
        let light = rng.range(-0.6, 0.6);
        for y in 0..h {
            for x in 0..w {
                let dx = (x as f32 - cx) / rx;
                let dy = (y as f32 - cy) / ry;
                let inside = match kind {
                    0 => dx * dx + dy * dy <= 1.0,
                    1 => dx.abs() <= 1.0 && dy.abs() <= 1.0,
                    _ => (-1.0..=1.0).contains(&dy) && dx.abs() <= (dy + 1.0) / 2.0,
                };
                if inside {
                    let s = 1.0 + light * (dx + dy) * 0.5;
                    img.put_pixel(x, y, Rgb(colour.map(|c| (c * s).clamp(0.0, 255.0) as u8)));
                }
            }
        }
    }
    let mut noise = Rng(rng.next());
    for p in img.pixels_mut() {
        let n = noise.below(17) as i16 - 8;
        for c in p.0.iter_mut() {
            *c = (*c as i16 + n).clamp(0, 255) as u8;
        }
    }
    img
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.write_with_encoder(enc)
        .expect("JPEG encoding to memory");
    out
}

/// The copies a re-uploader makes, and whether default PDQ matching is meant to catch them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transform {
    Original,
    JpegQ30,
    Half,
    Bright,
    Gray,
    Crop8,
    Mirror,
}

impl Transform {
    const ALL: [Transform; 7] = [
        Transform::Original,
        Transform::JpegQ30,
        Transform::Half,
        Transform::Bright,
        Transform::Gray,
        Transform::Crop8,
        Transform::Mirror,
    ];
    fn name(self) -> &'static str {
        match self {
            Transform::Original => "orig",
            Transform::JpegQ30 => "jpeg_q30",
            Transform::Half => "resize_50",
            Transform::Bright => "brightness_contrast",
            Transform::Gray => "greyscale",
            Transform::Crop8 => "crop_8",
            Transform::Mirror => "mirror",
        }
    }
    /// Caught by default PDQ matching (distance <= 31 to the original).
    fn pdq_catches(self) -> bool {
        !matches!(self, Transform::Crop8 | Transform::Mirror)
    }
    /// Caught when dihedral matching is on.
    fn dihedral_catches(self) -> bool {
        self != Transform::Crop8
    }
    fn apply(self, img: &RgbImage) -> Vec<u8> {
        let (w, h) = img.dimensions();
        match self {
            Transform::Original => jpeg(img, 88),
            Transform::JpegQ30 => jpeg(img, 30),
            Transform::Half => jpeg(
                &imageops::resize(img, w / 2, h / 2, imageops::FilterType::Triangle),
                85,
            ),
            Transform::Bright => {
                let b = imageops::colorops::brighten(img, 18);
                jpeg(&imageops::colorops::contrast(&b, 12.0), 85)
            }
            Transform::Gray => {
                let g = DynamicImage::ImageRgb8(img.clone()).grayscale().to_rgb8();
                jpeg(&g, 85)
            }
            Transform::Crop8 => {
                let (dx, dy) = (w * 8 / 100, h * 8 / 100);
                let c = imageops::crop_imm(img, dx / 2, dy / 2, w - dx, h - dy).to_image();
                jpeg(&c, 85)
            }
            Transform::Mirror => jpeg(&imageops::flip_horizontal(img), 85),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Platform {
    YouTube,
    X,
    Facebook,
    Instagram,
    TikTok,
    Telegram,
    Reddit,
    Web,
}

const PLATFORMS: [Platform; 8] = [
    Platform::YouTube,
    Platform::X,
    Platform::Facebook,
    Platform::Instagram,
    Platform::TikTok,
    Platform::Telegram,
    Platform::Reddit,
    Platform::Web,
];

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// One item's identity on a platform and the ways people spell its URL.
fn url_variants(platform: Platform, rng: &mut Rng) -> Vec<String> {
    let mut v = match platform {
        Platform::YouTube => {
            let id = rng.chars(B64URL, 11);
            let si = rng.chars(B64URL, 16);
            vec![
                format!("https://www.youtube.com/watch?v={id}"),
                format!("https://youtu.be/{id}?si={si}"),
                format!("https://m.youtube.com/watch?v={id}&feature=share"),
                format!("https://www.youtube.com/shorts/{id}"),
                format!("http://YouTube.com/watch?feature=youtu.be&v={id}&utm_source=tg"),
                format!("https://www.youtube.com/embed/{id}"),
            ]
        }
        Platform::X => {
            let id = rng.digits(19);
            let user = rng.chars(LOWER, 8);
            let t = rng.chars(B64URL, 22);
            vec![
                format!("https://twitter.com/{user}/status/{id}"),
                format!(
                    "https://x.com/{}/status/{id}?s=20&t={t}",
                    user.to_uppercase()
                ),
                format!("https://mobile.twitter.com/{user}/status/{id}"),
                format!("https://x.com/i/web/status/{id}"),
                format!("https://www.x.com/{user}/status/{id}?ref_src=twsrc%5Etfw"),
            ]
        }
        Platform::Facebook => {
            let id = rng.digits(16);
            let page = rng.chars(LOWER, 9);
            let target = format!("https://www.facebook.com/watch/?v={id}");
            vec![
                target.clone(),
                format!("https://m.facebook.com/watch/?v={id}&mibextid=Nif5oz"),
                format!(
                    "https://l.facebook.com/l.php?u={}&h=AT0{}",
                    enc(&target),
                    rng.chars(B64URL, 10)
                ),
                format!("https://www.facebook.com/{page}/videos/{id}/"),
                format!(
                    "https://web.facebook.com/watch/?v={id}&fbclid=IwAR{}",
                    rng.chars(B64URL, 12)
                ),
            ]
        }
        Platform::Instagram => {
            let code = rng.chars(B64URL, 11);
            let user = rng.chars(LOWER, 7);
            vec![
                format!("https://www.instagram.com/p/{code}/"),
                format!(
                    "https://instagram.com/reel/{code}/?igsh={}",
                    rng.chars(B64URL, 12)
                ),
                format!("https://www.instagram.com/{user}/p/{code}/?utm_source=ig_web_copy_link"),
                format!("https://instagr.am/p/{code}"),
                format!("https://www.instagram.com/tv/{code}"),
            ]
        }
        Platform::TikTok => {
            let id = rng.digits(19);
            let user = rng.chars(LOWER, 8);
            vec![
                format!("https://www.tiktok.com/@{user}/video/{id}"),
                format!(
                    "https://www.tiktok.com/@{user}/video/{id}?is_from_webapp=1&sender_device=pc"
                ),
                format!("https://m.tiktok.com/v/{id}.html"),
                format!("https://www.tiktok.com/embed/v2/{id}"),
                format!(
                    "https://www.tiktok.com/@{}/video/{id}?lang=en",
                    user.to_uppercase()
                ),
            ]
        }
        Platform::Telegram => {
            let chan = format!("{}{}", rng.chars(LOWER, 6), rng.chars(b"0123456789", 2));
            let msg = 1 + rng.below(90_000);
            vec![
                format!("https://t.me/{chan}/{msg}"),
                format!("https://t.me/s/{}/{msg}", chan.to_uppercase()),
                format!("https://telegram.me/{chan}/{msg}?embed=1"),
                format!("http://t.me/{chan}/{msg}#comments"),
            ]
        }
        Platform::Reddit => {
            let id = rng.chars(BASE36, 7);
            let sub = rng.chars(LOWER, 8);
            let slug = rng.chars(LOWER, 10);
            vec![
                format!("https://www.reddit.com/r/{sub}/comments/{id}/{slug}/"),
                format!("https://old.reddit.com/r/{}/comments/{id}/", sub.to_uppercase()),
                format!("https://redd.it/{id}"),
                format!(
                    "https://www.reddit.com/r/{sub}/comments/{id}/{slug}/?share_id={}&utm_source=share",
                    rng.chars(B64URL, 12)
                ),
                format!("https://out.reddit.com/t3_{id}?url={}", enc(&format!("https://www.reddit.com/comments/{id}/"))),
            ]
        }
        Platform::Web => {
            let host = format!("{}-news.example", rng.chars(LOWER, 6));
            let path = format!(
                "/articles/2024/{}-{}",
                rng.chars(LOWER, 5),
                rng.chars(LOWER, 7)
            );
            let target = format!("https://{host}{path}");
            vec![
                target.clone(),
                format!(
                    "https://{host}{path}?utm_source=twitter&utm_medium=social&fbclid=IwAR{}",
                    rng.chars(B64URL, 10)
                ),
                format!("http://www.{}{path}#comments", host.to_uppercase()),
                format!(
                    "https://www.google.com/url?q={}&sa=D&source=editors",
                    enc(&target)
                ),
            ]
        }
    };
    // Keep the canonical spelling first; shuffle the rest.
    let rest = &mut v[1..];
    for i in (1..rest.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        rest.swap(i, j);
    }
    v
}

struct Options {
    out: PathBuf,
    items: usize,
    referrals: Option<usize>,
    seed: u64,
    size: (u32, u32),
    verify: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        out: PathBuf::from("examples/data"),
        items: 40,
        referrals: None,
        seed: 0x5eed_2024,
        size: (240, 180),
        verify: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--out" => o.out = PathBuf::from(value()?),
            "--items" => o.items = value()?.parse().map_err(|e| format!("--items: {e}"))?,
            "--referrals" => {
                o.referrals = Some(value()?.parse().map_err(|e| format!("--referrals: {e}"))?)
            }
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--no-verify" => o.verify = false,
            "-h" | "--help" => {
                println!(
                    "gen_sample_data [--out DIR] [--items N] [--referrals N] [--seed S] [--no-verify]\n\
                     Without --referrals: the bundled sample (about 300 referrals, every item's copies).\n\
                     With --referrals N: a large backlog of N referrals over --items items, for benchmarks."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(o)
}

/// One backlog line plus the cluster it belongs to.
struct Line {
    url: Option<String>,
    media: Option<String>,
    group: String,
}

struct Item {
    name: String,
    urls: Vec<String>,
    image: RgbImage,
    files: BTreeMap<&'static str, String>,
}

fn write_file(root: &Path, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
    let p = root.join(rel);
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(p, bytes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = parse_args()?;
    std::fs::create_dir_all(o.out.join("media"))?;
    let mut rng = Rng(o.seed);
    let large = o.referrals.is_some();
    let started = std::time::Instant::now();

    // Items: one picture and one URL identity each.
    let mut items: Vec<Item> = Vec::with_capacity(o.items);
    for i in 0..o.items {
        let name = format!("item{i:04}");
        let platform = PLATFORMS[i % PLATFORMS.len()];
        let urls = url_variants(platform, &mut rng);
        let mut image = synth_image(&mut rng, o.size.0, o.size.1);
        if !large {
            // PDQ is not equally robust on every picture; the bundled truth promises that
            // every catchable copy is caught, so draw again until this picture keeps it (with
            // a 3-bit margin). About one picture in forty is redrawn.
            let mut attempts = 1;
            while !keeps_promises(&image) && attempts < 20 {
                image = synth_image(&mut rng, o.size.0, o.size.1);
                attempts += 1;
            }
        }
        items.push(Item {
            name,
            urls,
            image,
            files: BTreeMap::new(),
        });
    }
    let known_items: Vec<usize> = (0..o.items).filter(|i| i % 5 == 2).collect();

    let mut lines: Vec<Line> = Vec::new();
    let mut media_truth = Vec::new();
    let transforms: &[Transform] = if large {
        &[Transform::Original, Transform::JpegQ30, Transform::Half]
    } else {
        &Transform::ALL
    };

    for (i, item) in items.iter_mut().enumerate() {
        let full = known_items.contains(&i) || !large && i % 3 == 0;
        for &t in transforms {
            if !(full || t == Transform::Original || rng.below(2) == 0) {
                continue;
            }
            let file = format!("media/{}_{}.jpg", item.name, t.name());
            write_file(&o.out, &file, &t.apply(&item.image))?;
            item.files.insert(t.name(), file.clone());
            media_truth.push(json!({
                "file": file, "item": item.name, "transform": t.name(),
                "pdq_catches": t.pdq_catches(), "dihedral_catches": t.dihedral_catches(),
                "known": known_items.contains(&i).then(|| format!("KN-{}", item.name)),
            }));
        }
    }

    if let Some(n) = o.referrals {
        // Large mode: N referrals drawn over the items, each a URL variant and/or a copy.
        for k in 0..n {
            let i = if k < items.len() {
                k
            } else {
                rng.below(items.len() as u64) as usize
            };
            let item = &items[i];
            let with_url = rng.below(10) < 8;
            let with_media = !with_url || rng.below(10) < 6;
            let url = with_url.then(|| rng.pick(&item.urls).clone());
            let files: Vec<&String> = item.files.values().collect();
            let media = with_media.then(|| (*rng.pick(&files)).clone());
            // URL-only and media-only lines of one item still meet through the anchor line
            // (k < items: URL + original).
            let (url, media) = if k < items.len() {
                (Some(item.urls[0].clone()), Some(item.files["orig"].clone()))
            } else {
                (url, media)
            };
            lines.push(Line {
                url,
                media,
                group: item.name.clone(),
            });
        }
    } else {
        bundled_lines(&mut rng, &mut items, &mut lines, &o.out)?;
    }

    // Interleave: a deterministic shuffle, so clusters are spread through the backlog.
    for i in (1..lines.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        lines.swap(i, j);
    }

    // Backlog and ground truth.
    let mut backlog = String::new();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    let mut group_index: HashMap<String, usize> = HashMap::new();
    for (k, line) in lines.iter().enumerate() {
        let id = format!("R{:06}", k + 1);
        let minutes = k as u64 * 7;
        let at = format!(
            "2024-03-{:02}T{:02}:{:02}:00Z",
            1 + (minutes / 1440) % 28,
            (minutes / 60) % 24,
            minutes % 60
        );
        let row = json!({"id": id, "url": line.url, "media": line.media, "received_at": at});
        writeln!(backlog, "{row}")?;
        let g = *group_index.entry(line.group.clone()).or_insert_with(|| {
            groups.push((line.group.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(id);
    }
    std::fs::write(o.out.join("backlog.jsonl"), &backlog)?;

    // Known-content list: hashes of the known items' originals, plus distractors never referred.
    let opts = HashOptions::default();
    let mut known_rows = Vec::new();
    for &i in &known_items {
        let h = media::hash_bytes(&Transform::Original.apply(&items[i].image), &opts)?;
        known_rows.push(KnownItem {
            id: Some(format!("KN-{}", items[i].name)),
            label: Some("sample-list".into()),
            hashes: HashBundle {
                pdq: Some(h.pdq.hash),
                pdq_quality: Some(h.pdq.quality),
                md5: Some(h.md5),
                sha256: Some(h.sha256),
                ..HashBundle::default()
            },
        });
    }
    for d in 0..6 {
        let img = synth_image(&mut rng, o.size.0, o.size.1);
        let h = media::hash_bytes(&jpeg(&img, 88), &opts)?;
        known_rows.push(KnownItem {
            id: Some(format!("KN-distractor{d}")),
            label: Some("sample-list".into()),
            hashes: HashBundle {
                pdq: Some(h.pdq.hash),
                pdq_quality: Some(h.pdq.quality),
                md5: Some(h.md5),
                ..HashBundle::default()
            },
        });
    }
    if !large {
        // A known video, listed by MD5 only (the clip file is in the backlog).
        let clip = std::fs::read(o.out.join("media/clip_known.mp4"))?;
        known_rows.push(KnownItem {
            id: Some("KN-clip".into()),
            label: Some("sample-list".into()),
            hashes: HashBundle {
                md5: Some(media::digest_bytes(&clip).md5),
                ..HashBundle::default()
            },
        });
    }
    let mut csv = Vec::new();
    write_list(&mut csv, ListFormat::Csv, &known_rows)?;
    std::fs::write(o.out.join("known.csv"), csv)?;

    let known_of_group: BTreeMap<String, String> = known_items
        .iter()
        .map(|&i| (items[i].name.clone(), format!("KN-{}", items[i].name)))
        .chain(std::iter::once((
            "clip-known".to_string(),
            "KN-clip".to_string(),
        )))
        .collect();
    let clusters: Vec<serde_json::Value> = groups
        .iter()
        .map(|(g, members)| json!({"group": g, "members": members, "known": known_of_group.get(g)}))
        .collect();
    let truth = json!({
        "about": "Ground truth written by examples/gen_sample_data.rs: the clusters the default engine must produce (members in backlog order), the known item each cluster matches, and every media file with its transform.",
        "seed": o.seed,
        "referrals": lines.len(),
        "clusters": clusters,
        "media": media_truth,
    });
    let mut f = std::fs::File::create(o.out.join("truth.json"))?;
    serde_json::to_writer_pretty(&mut f, &truth)?;
    f.write_all(b"\n")?;

    if o.verify && !large {
        verify(&items, &o.out)?;
    }
    eprintln!(
        "wrote {} referrals in {} clusters, {} media files, {} known items to {} in {:.1}s",
        lines.len(),
        groups.len(),
        media_truth.len(),
        known_rows.len(),
        o.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The bundled backlog: for every item an anchor referral (canonical URL + original picture)
/// and a mix of URL variants, copies with and without URLs, reposts on another platform; plus
/// singletons and traps that must stay apart.
fn bundled_lines(
    rng: &mut Rng,
    items: &mut [Item],
    lines: &mut Vec<Line>,
    out: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    for (i, item) in items.iter().enumerate() {
        let g = item.name.clone();
        let line = |url: Option<&String>, media: Option<&str>| Line {
            url: url.cloned(),
            media: media.map(|m| m.to_string()),
            group: g.clone(),
        };
        // Anchor: URL and original picture.
        lines.push(line(
            Some(&item.urls[1 % item.urls.len()]),
            Some(&item.files["orig"]),
        ));
        // URL-only variants.
        let n_urls = 1 + rng.below(item.urls.len() as u64 - 1) as usize;
        for u in item.urls.iter().take(n_urls) {
            lines.push(line(Some(u), None));
        }
        // Copies: PDQ-caught ones may come without a URL; the others come with one.
        for (name, file) in &item.files {
            let t = Transform::ALL.iter().find(|t| t.name() == *name).copied();
            let Some(t) = t else { continue };
            if t == Transform::Original {
                // The same bytes again, referred without a URL: caught by BLAKE3.
                if rng.below(2) == 0 {
                    lines.push(line(None, Some(file)));
                }
                continue;
            }
            if t.pdq_catches() && rng.below(3) != 0 {
                if rng.below(3) == 0 {
                    // Reposted elsewhere: an unrelated URL of its own, caught by PDQ.
                    let other = url_variants(PLATFORMS[(i + 3) % PLATFORMS.len()], rng);
                    lines.push(line(Some(&other[0]), Some(file)));
                } else {
                    lines.push(line(None, Some(file)));
                }
            } else {
                let u = rng.pick(&item.urls).clone();
                lines.push(line(Some(&u), Some(file)));
            }
        }
    }

    // A video (not a picture): two referrals with byte-identical files under different names,
    // joined by BLAKE3; and a known video.
    let mut clip = vec![0u8; 4096];
    clip.iter_mut().for_each(|b| *b = rng.next() as u8);
    clip[4..12].copy_from_slice(b"ftypisom");
    write_file(out, "media/clip_a.mp4", &clip)?;
    write_file(out, "media/clip_a_copy.mp4", &clip)?;
    let tiktok = url_variants(Platform::TikTok, rng);
    for (u, m) in [
        (Some(&tiktok[0]), "media/clip_a.mp4"),
        (None, "media/clip_a_copy.mp4"),
    ] {
        lines.push(Line {
            url: u.cloned(),
            media: Some(m.to_string()),
            group: "clip-a".into(),
        });
    }
    let mut known_clip = vec![0u8; 3000];
    known_clip.iter_mut().for_each(|b| *b = rng.next() as u8);
    known_clip[4..12].copy_from_slice(b"ftypisom");
    write_file(out, "media/clip_known.mp4", &known_clip)?;
    let tg = url_variants(Platform::Telegram, rng);
    lines.push(Line {
        url: Some(tg[0].clone()),
        media: Some("media/clip_known.mp4".into()),
        group: "clip-known".into(),
    });

    // Singletons: items referred once, opaque short links, unkeyable text, and traps that
    // differ from a bundled item only where the platform says it matters (ID case).
    let mut singles: Vec<Option<String>> = Vec::new();
    for k in 0..24 {
        let p = PLATFORMS[k % PLATFORMS.len()];
        singles.push(Some(url_variants(p, rng)[0].clone()));
    }
    for code in [
        "t.co/aB3xY9zQ1w",
        "bit.ly/3xYzAbC",
        "vm.tiktok.com/ZMabc123/",
    ] {
        singles.push(Some(format!("https://{code}")));
    }
    singles.push(Some("not a url at all".into()));
    for (i, item) in items.iter().enumerate() {
        let u = &item.urls[0];
        let swapped = match PLATFORMS[i % PLATFORMS.len()] {
            Platform::YouTube => u
                .strip_prefix("https://www.youtube.com/watch?v=")
                .map(|id| format!("https://www.youtube.com/watch?v={}", swap_case(id))),
            Platform::Instagram => u
                .strip_prefix("https://www.instagram.com/p/")
                .map(|rest| format!("https://www.instagram.com/p/{}", swap_case(rest))),
            _ => None,
        };
        if let Some(s) = swapped {
            if i < 16 {
                singles.push(Some(s));
            }
        }
    }
    for (k, url) in singles.into_iter().enumerate() {
        let media = if k % 4 == 1 {
            let img = synth_image(rng, 240, 180);
            let file = format!("media/single{k:03}.jpg");
            write_file(out, &file, &jpeg(&img, 85))?;
            Some(file)
        } else {
            None
        };
        lines.push(Line {
            url,
            media,
            group: format!("single{k:03}"),
        });
    }
    Ok(())
}

fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// True when every copy meant to be caught is within PDQ distance 28 (31 with a margin) of the
/// original, with quality at least 50, and the original is not low-quality.
fn keeps_promises(img: &RgbImage) -> bool {
    let opts = HashOptions {
        dihedral: true,
        ..HashOptions::default()
    };
    let Ok(orig) = media::hash_bytes(&Transform::Original.apply(img), &opts) else {
        return false;
    };
    if orig.pdq.quality < 55 {
        return false;
    }
    Transform::ALL.iter().all(|t| {
        let Ok(h) = media::hash_bytes(&t.apply(img), &opts) else {
            return false;
        };
        let plain = h.pdq.hash.distance(&orig.pdq.hash);
        let dihedral = h
            .pdq_dihedral
            .iter()
            .flatten()
            .map(|v| v.distance(&orig.pdq.hash))
            .min()
            .unwrap_or(256);
        (!t.pdq_catches() || plain <= 28 && h.pdq.quality >= 55)
            && (!t.dihedral_catches() || dihedral <= 28)
    })
}

/// Checks the generator's promises with the crate's own layers.
fn verify(items: &[Item], out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let opts = HashOptions {
        dihedral: true,
        ..HashOptions::default()
    };
    let mut originals = Vec::new();
    let mut problems = Vec::new();
    for item in items {
        let orig = media::hash_file(&out.join(&item.files["orig"]), &opts)?;
        if orig.pdq.quality < 50 {
            problems.push(format!("{}: PDQ quality {}", item.name, orig.pdq.quality));
        }
        for (name, file) in &item.files {
            let t = Transform::ALL.iter().find(|t| t.name() == *name).copied();
            let Some(t) = t else { continue };
            let h = media::hash_file(&out.join(file), &opts)?;
            let d = h.pdq.hash.distance(&orig.pdq.hash);
            let dd = h
                .pdq_dihedral
                .iter()
                .flatten()
                .map(|v| v.distance(&orig.pdq.hash))
                .min()
                .unwrap_or(256);
            if t.pdq_catches() && (d > 31 || h.pdq.quality < 50) {
                problems.push(format!(
                    "{file}: PDQ distance {d} quality {}",
                    h.pdq.quality
                ));
            }
            if t.dihedral_catches() && dd > 31 {
                problems.push(format!("{file}: dihedral PDQ distance {dd}"));
            }
        }
        originals.push((item.name.clone(), orig.pdq.hash));
    }
    let mut closest = 256;
    for (a, (na, pa)) in originals.iter().enumerate() {
        for (nb, pb) in &originals[a + 1..] {
            let d = pa.distance(pb);
            closest = closest.min(d);
            if d <= 80 {
                problems.push(format!("{na} and {nb}: PDQ distance only {d}"));
            }
        }
    }
    // URL variants: one key per item, different keys across items.
    let mut owner: HashMap<String, String> = HashMap::new();
    for item in items {
        let keys: Vec<String> = item
            .urls
            .iter()
            .map(|u| {
                referral_dedup::url::key(u)
                    .map(|k| k.key)
                    .unwrap_or_else(|e| format!("error: {e}"))
            })
            .collect();
        for (u, k) in item.urls.iter().zip(&keys) {
            if *k != keys[0] {
                problems.push(format!("{}: {u} keys to {k}, not {}", item.name, keys[0]));
            }
            if let Some(other) = owner.insert(k.clone(), item.name.clone()) {
                if other != item.name {
                    problems.push(format!("{} and {other} share the key {k}", item.name));
                }
            }
        }
    }
    eprintln!("verified: closest pair of different originals at PDQ distance {closest}");
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "generated data breaks its promises:\n  {}",
            problems.join("\n  ")
        )
        .into())
    }
}
