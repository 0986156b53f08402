//! Hostile and broken inputs: every one must give a typed error (never a panic), quickly and
//! with bounded memory. Decompression bombs must be refused from their header.

use std::io::Cursor;

use image::{ImageFormat, RgbImage};
use referral_dedup::media::{decode, hash_bytes, HashOptions, Limits, MediaError};

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

fn sample() -> RgbImage {
    RgbImage::from_fn(97, 61, |x, y| {
        image::Rgb([(x * 3) as u8, (y * 4) as u8, (x ^ y) as u8])
    })
}

/// A CRC-correct PNG chunk.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = Vec::new();
    c.extend_from_slice(&(data.len() as u32).to_be_bytes());
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    c.extend_from_slice(&h.finalize().to_be_bytes());
    c
}

/// A valid PNG header declaring `w × h` 8-bit RGB, followed by a tiny (truncated) body.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    // A zlib stream of zeros: a real bomb compresses gigabytes into this.
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x60, 0x18, 0x05, 0x00],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

#[test]
fn empty_and_unknown_inputs() {
    let o = HashOptions::default();
    assert!(matches!(decode(b"", &o), Err(MediaError::Empty)));
    assert!(matches!(
        decode(b"hello world, not an image", &o),
        Err(MediaError::UnknownFormat)
    ));
    // A recognised but refused format (farbfeld magic).
    let ff = b"farbfeld\0\0\0\x01\0\0\0\x01\0\0\0\0\0\0\0\0";
    assert!(matches!(
        decode(ff, &o),
        Err(MediaError::UnsupportedFormat(_))
    ));
}

#[test]
fn truncated_files_give_typed_errors_at_every_cut() {
    let o = HashOptions::default();
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
        ImageFormat::WebP,
    ] {
        let full = encode(&sample(), format);
        assert!(
            hash_bytes(&full, &o).is_ok(),
            "{format:?} full file decodes"
        );
        let step = (full.len() / 40).max(1);
        for cut in (1..full.len()).step_by(step) {
            // Some formats decode a partial image without complaint; neither outcome may panic.
            if let Err(e) = hash_bytes(&full[..cut], &o) {
                assert!(
                    !matches!(e, MediaError::DecoderPanic),
                    "{format:?} cut {cut}: {e}"
                );
            }
        }
        // Cutting inside the header is always an error.
        assert!(
            hash_bytes(&full[..full.len().min(12)], &o).is_err(),
            "{format:?} header cut"
        );
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let o = HashOptions::default();
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Tiff,
    ] {
        let full = encode(&sample(), format);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..60 {
            let mut bytes = full.clone();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state as usize) % bytes.len();
                bytes[i] ^= (state >> 32) as u8 | 1;
            }
            if let Err(e) = hash_bytes(&bytes, &o) {
                assert!(!matches!(e, MediaError::DecoderPanic), "{format:?}: {e}");
            }
        }
    }
}

#[test]
fn decompression_bomb_refused_from_header() {
    let o = HashOptions::default();
    // 100,000 × 100,000 RGB: 30 GB if decoded.
    let bomb = png_declaring(100_000, 100_000);
    let start = std::time::Instant::now();
    let err = decode(&bomb, &o).unwrap_err();
    // The PNG decoder checks the width limit itself while reading the header.
    assert!(
        matches!(
            err,
            MediaError::TooLarge { what: "width", .. } | MediaError::LimitExceeded(_)
        ),
        "{err}"
    );
    // Inside the width/height limits but above the pixel limit: 30,000 × 30,000.
    let err = decode(&png_declaring(30_000, 30_000), &o).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::TooLarge { what: "pixels", .. } | MediaError::LimitExceeded(_)
        ),
        "{err}"
    );
    // Same for a BMP header (a decoder that does not check limits itself).
    let mut bmp = encode(&sample(), ImageFormat::Bmp);
    bmp[18..22].copy_from_slice(&30_000i32.to_le_bytes());
    bmp[22..26].copy_from_slice(&30_000i32.to_le_bytes());
    let err = decode(&bmp, &o).unwrap_err();
    assert!(
        matches!(err, MediaError::TooLarge { what: "pixels", .. }),
        "{err}"
    );
    // A custom pixel limit applies to a small image too.
    let strict = HashOptions {
        limits: Limits {
            max_pixels: 1000,
            ..Limits::default()
        },
        ..o
    };
    let err = decode(&encode(&sample(), ImageFormat::Png), &strict).unwrap_err();
    assert!(matches!(
        err,
        MediaError::TooLarge {
            what: "pixels",
            value: 5917,
            limit: 1000
        }
    ));
    // Refused from the header: far below the time any decode of that size would take.
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn allocation_limit_is_enforced() {
    let o = HashOptions {
        limits: Limits {
            max_alloc_bytes: 10_000,
            ..Limits::default()
        },
        ..HashOptions::default()
    };
    let png = encode(&sample(), ImageFormat::Png); // 97 × 61 × 3 = 17,751 bytes decoded
    let err = decode(&png, &o).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::TooLarge {
                what: "decoded bytes",
                ..
            } | MediaError::LimitExceeded(_)
        ),
        "{err}"
    );
}

#[test]
fn file_size_limit_is_enforced_before_decoding() {
    let png = encode(&sample(), ImageFormat::Png);
    let o = HashOptions {
        limits: Limits {
            max_file_bytes: 100,
            ..Limits::default()
        },
        ..HashOptions::default()
    };
    let err = decode(&png, &o).unwrap_err();
    assert!(matches!(
        err,
        MediaError::TooLarge {
            what: "file bytes",
            limit: 100,
            ..
        }
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.png");
    std::fs::write(&path, &png).unwrap();
    let err = referral_dedup::media::hash_file(&path, &o).unwrap_err();
    assert!(matches!(
        err,
        MediaError::TooLarge {
            what: "file bytes",
            ..
        }
    ));
}

#[test]
fn zero_size_header_is_refused() {
    let err = decode(&png_declaring(0, 10), &HashOptions::default()).unwrap_err();
    assert!(
        matches!(err, MediaError::ZeroSize { .. } | MediaError::Decode(_)),
        "{err}"
    );
}
