//! Colour modes, formats and options on images the test builds itself: every mode reaches PDQ as
//! true RGB, every accepted format decodes, EXIF orientation is applied only when asked.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};
use referral_dedup::media::{
    decode, digest_bytes, hash_bytes, hash_files, pdq_dihedral_from_image, pdq_from_image,
    HashOptions,
};

/// Blocks of pseudo-random colour with a gentle ramp: photo-like low-frequency structure.
fn picture() -> RgbImage {
    let cell = |x: u32, y: u32, c: u32| -> u8 {
        let h = (x / 23).wrapping_mul(2_654_435_761)
            ^ (y / 17).wrapping_mul(40_503)
            ^ c.wrapping_mul(97);
        (h.wrapping_mul(2_246_822_519) >> 24) as u8
    };
    let blocks = RgbImage::from_fn(120, 100, |x, y| {
        let ramp = (x / 4) as u8;
        image::Rgb([
            cell(x, y, 1) / 2 + ramp,
            cell(x, y, 2) / 2 + ramp,
            cell(x, y, 3) / 2,
        ])
    });
    // Smooth it like a photo: point sampling of sharp edges would alias.
    image::imageops::blur(&blocks, 3.0)
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

#[test]
fn lossless_formats_hash_identically() {
    let img = DynamicImage::ImageRgb8(picture());
    let want = pdq_from_image(&img);
    for format in [
        ImageFormat::Png,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
        ImageFormat::WebP,
    ] {
        let bytes = encode(&img, format);
        let h = hash_bytes(&bytes, &HashOptions::default()).unwrap();
        assert_eq!(h.pdq, want, "{format:?}");
        assert_eq!((h.width, h.height, h.bytes), (120, 100, bytes.len() as u64));
        assert_eq!(h.sha256, digest_bytes(&bytes).sha256);
    }
    // Lossy JPEG and palette GIF (first frame) decode at full size; their PDQ closeness to the
    // source is covered on real photos in media_pdq_reference.rs.
    for format in [ImageFormat::Jpeg, ImageFormat::Gif] {
        let h = hash_bytes(&encode(&img, format), &HashOptions::default()).unwrap();
        assert_eq!((h.width, h.height), (120, 100), "{format:?}");
    }
}

#[test]
fn modes_convert_to_true_rgb() {
    let rgb = picture();
    let base = DynamicImage::ImageRgb8(rgb.clone());
    let want = pdq_from_image(&base);
    // Alpha is dropped without compositing.
    assert_eq!(
        pdq_from_image(&DynamicImage::ImageRgba8(base.to_rgba8())),
        want
    );
    // 16-bit channels scale to the same 8-bit values (v * 257 / 257).
    assert_eq!(
        pdq_from_image(&DynamicImage::ImageRgb16(base.to_rgb16())),
        want
    );
    assert_eq!(
        pdq_from_image(&DynamicImage::ImageRgba16(base.to_rgba16())),
        want
    );
    // Greyscale is hashed as R = G = B, with or without alpha, 8 or 16 bit.
    let gray = base.to_luma8();
    let gray_rgb = DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(gray.clone()).to_rgb8());
    let g = pdq_from_image(&gray_rgb);
    assert_eq!(pdq_from_image(&DynamicImage::ImageLuma8(gray.clone())), g);
    let gray_img = DynamicImage::ImageLuma8(gray);
    assert_eq!(
        pdq_from_image(&DynamicImage::ImageLumaA8(gray_img.to_luma_alpha8())),
        g
    );
    assert_eq!(
        pdq_from_image(&DynamicImage::ImageLuma16(gray_img.to_luma16())),
        g
    );
    // A grey PNG through the whole pipeline.
    let h = hash_bytes(
        &encode(&gray_img, ImageFormat::Png),
        &HashOptions::default(),
    )
    .unwrap();
    assert_eq!(h.pdq, g);
}

#[test]
fn dihedral_variants_match_hashes_of_transformed_pixels() {
    let img = picture();
    let all = pdq_dihedral_from_image(&DynamicImage::ImageRgb8(img.clone()));
    use image::imageops::{flip_horizontal, flip_vertical, rotate180, rotate270, rotate90};
    let transposed = flip_horizontal(&rotate90(&img)); // main-diagonal transpose
    let anti = flip_horizontal(&rotate270(&img)); // anti-diagonal transpose
    let variants = [
        img.clone(),
        rotate270(&img), // 90° counter-clockwise
        rotate180(&img),
        rotate90(&img), // 270° counter-clockwise
        flip_vertical(&img),
        flip_horizontal(&img),
        transposed,
        anti,
    ];
    for (v, pixels) in variants.into_iter().enumerate() {
        // 120×100 has blur window 1 both ways and mirror-symmetric cell-centre sampling, so the
        // DCT-derived variant is bit-identical to hashing the transformed pixels. (With an even
        // window, >128 pixels, the box reaches one pixel further right and mirrors drift.)
        let plain = pdq_from_image(&DynamicImage::ImageRgb8(pixels));
        assert_eq!(plain.hash, all[v].hash, "variant {v}");
        if v > 0 {
            assert!(
                plain.hash.distance(&all[0].hash) > 31,
                "variant {v} is a real transform"
            );
        }
    }
}

#[test]
fn exif_orientation_only_when_requested() {
    // A JPEG with an EXIF APP1 block saying orientation 6 (rotate 90° clockwise to display).
    let img = DynamicImage::ImageRgb8(picture());
    let jpeg = encode(&img, ImageFormat::Jpeg);
    let exif: Vec<u8> = {
        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec(); // big-endian, IFD at 8, 1 entry
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // Orientation = 6
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        let mut seg = vec![0xff, 0xe1];
        seg.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        seg.extend(app1);
        seg
    };
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend(exif);
    with_exif.extend_from_slice(&jpeg[2..]);
    let stored = decode(&with_exif, &HashOptions::default()).unwrap();
    assert_eq!((stored.width(), stored.height()), (120, 100));
    let opts = HashOptions {
        apply_exif_orientation: true,
        ..HashOptions::default()
    };
    let shown = decode(&with_exif, &opts).unwrap();
    assert_eq!((shown.width(), shown.height()), (100, 120));
    // The displayed picture is the stored one rotated 90° clockwise: dihedral rot270 (CCW) of it.
    let all = pdq_dihedral_from_image(&stored);
    assert_eq!(pdq_from_image(&shown).hash, all[3].hash);
}

#[test]
fn hash_files_in_parallel_keeps_order_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for i in 0..6u8 {
        let p = dir.path().join(format!("{i}.png"));
        RgbImage::from_fn(40 + u32::from(i), 30, |x, y| {
            image::Rgb([x as u8 * i, y as u8, i])
        })
        .save(&p)
        .unwrap();
        paths.push(p);
    }
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\ngarbage").unwrap();
    paths.insert(2, bad);
    let opts = HashOptions::default();
    let out = hash_files(&paths, &opts);
    assert_eq!(out.len(), 7);
    assert!(out[2].is_err());
    for (p, r) in paths.iter().zip(&out) {
        if let Ok(h) = r {
            assert_eq!(*h, referral_dedup::media::hash_file(p, &opts).unwrap());
        }
    }
    assert_eq!(out[0].as_ref().unwrap().width, 40);
    assert_eq!(out[6].as_ref().unwrap().width, 45);
}
