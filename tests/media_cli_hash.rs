//! `refdedup hash`: JSON lines with the documented keys, recursion into directories, error lines.

use std::process::Command;

use referral_dedup::media::{hash_file, HashOptions};

fn refdedup() -> Command {
    Command::new(env!("CARGO_BIN_EXE_refdedup"))
}

#[test]
fn hashes_files_and_directories_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let a = dir.path().join("a.png");
    let b = sub.join("b.png");
    image::RgbImage::from_fn(70, 50, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, 9]))
        .save(&a)
        .unwrap();
    image::GrayImage::from_fn(33, 90, |x, y| image::Luma([((x * y) % 251) as u8]))
        .save(&b)
        .unwrap();
    let bad = sub.join("c.txt");
    std::fs::write(&bad, "not an image").unwrap();

    let out = refdedup()
        .args(["hash", "--dihedral"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    // Name order: a.png, sub/b.png, sub/c.txt.
    assert_eq!(lines[0]["path"], a.to_string_lossy().as_ref());
    assert_eq!(lines[1]["path"], b.to_string_lossy().as_ref());
    assert_eq!(lines[2]["path"], bad.to_string_lossy().as_ref());
    assert!(lines[2]["error"]
        .as_str()
        .unwrap()
        .contains("unknown image format"));

    let want = hash_file(
        &a,
        &HashOptions {
            dihedral: true,
            ..HashOptions::default()
        },
    )
    .unwrap();
    let first = lines[0].as_object().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    for key in [
        "path",
        "bytes",
        "width",
        "height",
        "blake3",
        "sha256",
        "md5",
        "pdq",
        "pdq_quality",
        "dhash",
        "phash",
        "pdq_dihedral",
    ] {
        assert!(keys.contains(&key), "missing {key}");
    }
    assert_eq!(first["bytes"], want.bytes);
    assert_eq!(
        (first["width"].as_u64(), first["height"].as_u64()),
        (Some(70), Some(50))
    );
    assert_eq!(first["blake3"], want.blake3.to_string());
    assert_eq!(first["sha256"], want.sha256.to_string());
    assert_eq!(first["md5"], want.md5.to_string());
    assert_eq!(first["pdq"], want.pdq.hash.to_string());
    assert_eq!(first["pdq_quality"], want.pdq.quality);
    assert_eq!(first["dhash"], want.dhash.to_string());
    assert_eq!(first["phash"], want.phash.to_string());
    let dih = first["pdq_dihedral"].as_array().unwrap();
    assert_eq!(dih.len(), 8);
    assert_eq!(dih[0], want.pdq.hash.to_string());
}

#[test]
fn missing_path_is_an_error_line_and_no_dihedral_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.bmp");
    image::RgbImage::from_pixel(10, 10, image::Rgb([1, 2, 3]))
        .save(&a)
        .unwrap();
    let missing = dir.path().join("missing.jpg");
    let out = refdedup()
        .arg("hash")
        .arg(&missing)
        .arg(&a)
        .output()
        .unwrap();
    // An unreadable path is a partial failure (README's exit table): the others still print.
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["path"], missing.to_string_lossy().as_ref());
    assert!(lines[0]["error"].is_string());
    assert!(lines[1].get("pdq_dihedral").is_none());
    assert_eq!(lines[1]["pdq_quality"], 0);
}
