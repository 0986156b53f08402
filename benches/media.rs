//! Media hashing speed, with the peers measured in the same run.
//!
//! Criterion groups: PDQ on decoded pixels (512², 1024², dihedral), dHash/pHash, the full
//! pipeline (decode + digests + all hashes) on a 1024×768 JPEG and PNG, digests, and file reading
//! (buffered vs memory-mapped). Then, when `PEERS_VENV` points at the peer virtual environment
//! (see `benches/peers/setup.sh`), a comparison table against Meta's reference PDQ (PyPI
//! `pdqhash`, on the same pixel arrays, decode excluded), `imagehash`, and Pillow + pdqhash +
//! imagehash on the same files, all on one core; plus a 2-thread batch figure.
//!
//! `PEERS_VENV=/work/peers-venv cargo bench --bench media`

use std::hint::black_box;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{criterion_group, Criterion, Throughput};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, RgbImage};
use referral_dedup::media::{
    dhash, dhash_phash, dhash_phash_luma, digest_bytes, digest_file, hash_bytes, hash_files,
    pdq_dihedral_from_image, pdq_from_image, phash, HashOptions, LumaImage, REDUCED_MAX_SIDE,
};

/// A deterministic photo-like scene: smooth shading, soft blobs, edges and mild grain.
fn scene(width: u32, height: u32) -> RgbImage {
    let blobs: Vec<(f32, f32, f32, [f32; 3])> = (0..14)
        .map(|i| {
            let f = i as f32;
            (
                ((f * 0.618_034).fract()) * width as f32,
                ((f * 0.414_213 + 0.3).fract()) * height as f32,
                (0.06 + 0.1 * ((f * 0.7).sin().abs())) * width as f32,
                [(f * 37.0) % 255.0, (f * 91.0) % 255.0, (f * 53.0) % 255.0],
            )
        })
        .collect();
    RgbImage::from_fn(width, height, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let mut c = [
            90.0 + 60.0 * (xf / width as f32),
            110.0 + 50.0 * (yf / height as f32),
            140.0 - 40.0 * (xf / width as f32),
        ];
        for (cx, cy, r, col) in &blobs {
            let d2 = ((xf - cx).powi(2) + (yf - cy).powi(2)) / (r * r);
            let w = if d2 < 1.0 {
                0.85
            } else {
                0.85 * (-(d2 - 1.0) * 3.0).exp()
            };
            for k in 0..3 {
                c[k] = c[k] * (1.0 - w) + col[k] * w;
            }
        }
        let grain = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 27) as f32 - 16.0;
        image::Rgb(c.map(|v| (v + grain * 0.4).clamp(0.0, 255.0) as u8))
    })
}

struct Fixtures {
    dir: PathBuf,
    img512: DynamicImage,
    img1024: DynamicImage,
    img1024x768: DynamicImage,
    jpeg: Vec<u8>,
    png: Vec<u8>,
}

fn fixtures() -> Fixtures {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("media-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let img512 = DynamicImage::ImageRgb8(scene(512, 512));
    let img1024 = DynamicImage::ImageRgb8(scene(1024, 1024));
    let img1024x768 = DynamicImage::ImageRgb8(scene(1024, 768));
    img512.save(dir.join("scene-512.png")).unwrap();
    img1024.save(dir.join("scene-1024.png")).unwrap();
    let mut png = Vec::new();
    img1024x768
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&img1024x768)
        .unwrap();
    std::fs::write(dir.join("scene-1024x768.png"), &png).unwrap();
    std::fs::write(dir.join("scene-1024x768.jpg"), &jpeg).unwrap();
    Fixtures {
        dir,
        img512,
        img1024,
        img1024x768,
        jpeg,
        png,
    }
}

fn bench_all(c: &mut Criterion) {
    let f = fixtures();
    let opts = HashOptions::default();

    let mut g = c.benchmark_group("pdq_pixels");
    g.bench_function("512x512", |b| {
        b.iter(|| pdq_from_image(black_box(&f.img512)))
    });
    g.bench_function("1024x1024", |b| {
        b.iter(|| pdq_from_image(black_box(&f.img1024)))
    });
    g.bench_function("dihedral_1024x1024", |b| {
        b.iter(|| pdq_dihedral_from_image(black_box(&f.img1024)))
    });
    g.finish();

    let mut g = c.benchmark_group("perceptual_1024x768");
    g.bench_function("dhash", |b| b.iter(|| dhash(black_box(&f.img1024x768))));
    g.bench_function("phash", |b| b.iter(|| phash(black_box(&f.img1024x768))));
    g.bench_function("dhash_phash", |b| {
        b.iter(|| dhash_phash(black_box(&f.img1024x768)))
    });
    let luma = LumaImage::from_image(&f.img1024x768);
    g.bench_function("luma", |b| {
        b.iter(|| LumaImage::from_image(black_box(&f.img1024x768)))
    });
    g.bench_function("reduce_to_256", |b| {
        b.iter(|| black_box(&luma).reduced(REDUCED_MAX_SIDE as usize))
    });
    let small = luma.reduced(REDUCED_MAX_SIDE as usize);
    g.bench_function("dhash_phash_of_reduced", |b| {
        b.iter(|| dhash_phash_luma(black_box(&small)))
    });
    let small128 = small.reduced(128);
    g.bench_function("dhash_phash_of_128", |b| {
        b.iter(|| dhash_phash_luma(black_box(&small128)))
    });
    g.bench_function("to_gray_256", |b| b.iter(|| black_box(&small).to_gray()));
    g.finish();

    let mut g = c.benchmark_group("full_pipeline_1024x768");
    g.bench_function("jpeg", |b| {
        b.iter(|| hash_bytes(black_box(&f.jpeg), &opts).unwrap())
    });
    g.bench_function("png", |b| {
        b.iter(|| hash_bytes(black_box(&f.png), &opts).unwrap())
    });
    g.finish();

    let data: Vec<u8> = (0..16u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let file = f.dir.join("digest-16MiB.bin");
    std::fs::write(&file, &data).unwrap();
    let mut g = c.benchmark_group("digests_16MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("digest_bytes", |b| {
        b.iter(|| digest_bytes(black_box(&data)))
    });
    g.bench_function("file_buffered", |b| b.iter(|| digest_file(&file).unwrap()));
    g.bench_function("file_mmap", |b| {
        b.iter(|| {
            let fh = std::fs::File::open(&file).unwrap();
            // SAFETY: the bench owns the file and nothing modifies it while it is mapped.
            let map = unsafe { memmap2::Mmap::map(&fh) }.unwrap();
            digest_bytes(&map)
        })
    });
    g.finish();
}

/// Median milliseconds per call of `f` over `n` timed runs (after one warm-up).
fn median_ms<R>(n: usize, mut f: impl FnMut() -> R) -> f64 {
    black_box(f());
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let s = Instant::now();
            black_box(f());
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[n / 2]
}

/// Ours vs peers, measured now, on the same pixels and files, one core.
fn compare_with_peers() {
    let Ok(venv) = std::env::var("PEERS_VENV") else {
        eprintln!("peer comparison skipped: set PEERS_VENV (see benches/peers/setup.sh)");
        return;
    };
    let f = fixtures();
    let opts = HashOptions::default();
    let repeats = 15;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/media_peers.py");
    let out = std::process::Command::new(Path::new(&venv).join("bin/python"))
        .arg(&script)
        .arg(&f.dir)
        .arg(repeats.to_string())
        .output()
        .expect("run peer script");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peers: std::collections::HashMap<String, f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect();
    let ours = [
        (
            "pdq_pixels_512",
            median_ms(repeats, || pdq_from_image(&f.img512)),
        ),
        (
            "pdq_pixels_1024",
            median_ms(repeats, || pdq_from_image(&f.img1024)),
        ),
        (
            "pdq_dihedral_pixels_1024",
            median_ms(repeats, || pdq_dihedral_from_image(&f.img1024)),
        ),
        (
            "dhash_1024x768",
            median_ms(repeats, || dhash(&f.img1024x768)),
        ),
        (
            "phash_1024x768",
            median_ms(repeats, || phash(&f.img1024x768)),
        ),
        (
            "full_jpg_1024x768",
            median_ms(repeats, || hash_bytes(&f.jpeg, &opts)),
        ),
        (
            "full_png_1024x768",
            median_ms(repeats, || hash_bytes(&f.png, &opts)),
        ),
    ];
    // Where the full pipeline's time goes (ours only).
    let img = referral_dedup::media::decode(&f.jpeg, &opts).unwrap();
    let breakdown = [
        (
            "decode_jpg_1024x768",
            median_ms(repeats, || referral_dedup::media::decode(&f.jpeg, &opts)),
        ),
        (
            "decode_png_1024x768",
            median_ms(repeats, || referral_dedup::media::decode(&f.png, &opts)),
        ),
        (
            "pdq_pixels_1024x768",
            median_ms(repeats, || pdq_from_image(&img)),
        ),
        (
            "hash_image_with_luma_1024x768 (luma, PDQ, reduction, dHash, pHash)",
            median_ms(repeats, || {
                referral_dedup::media::hash_image_with_luma(0, digest_bytes(b""), &img, &opts)
            }),
        ),
        (
            "dhash_phash_1024x768 (own luma and reduction)",
            median_ms(repeats, || referral_dedup::media::dhash_phash(&img)),
        ),
        ("digests_jpg", median_ms(repeats, || digest_bytes(&f.jpeg))),
    ];
    for (name, ms) in breakdown {
        println!("{name}: {ms:.2} ms");
    }
    println!("\n| case | referral-dedup (ms) | peer (ms) | speed-up |");
    println!("|---|---|---|---|");
    for (name, ms) in ours {
        let peer = peers.get(name).copied().unwrap_or(f64::NAN);
        println!("| {name} | {ms:.2} | {peer:.2} | {:.1}x |", peer / ms);
    }

    // Batch throughput: 32 JPEG files, 1 thread vs 2 threads.
    let paths: Vec<PathBuf> = (0..32)
        .map(|i| {
            let p = f.dir.join(format!("batch-{i}.jpg"));
            std::fs::write(&p, &f.jpeg).unwrap();
            p
        })
        .collect();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let ms = median_ms(5, || pool.install(|| hash_files(&paths, &opts)));
        println!(
            "batch of 32 JPEGs, {threads} thread(s): {:.1} files/s",
            32.0 / (ms / 1e3)
        );
    }
}

criterion_group!(benches, bench_all);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    // `cargo test --all-targets` runs benches once in test mode; compare only under `cargo bench`.
    if std::env::args().any(|a| a == "--bench") {
        compare_with_peers();
    }
}
