//! Media fingerprints by content, for one batch run: a backlog often refers to the same file (or
//! byte-identical copies) many times, and decoding and hashing a picture is most of a batch's
//! work. A file's fingerprint is a pure function of its bytes, so a referral whose media has
//! the BLAKE3 digest and length of media already fingerprinted in this run reuses that result.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use parking_lot::Mutex;

use crate::engine::{Engine, Fingerprint, MediaFingerprint, Referral, VideoMedia};
use crate::media;

/// Most distinct media kept (each a few kilobytes: codes, variants and luma grids); when
/// full, new media are fingerprinted without being kept.
pub(super) const MAX_CACHED_MEDIA: usize = 16_384;

/// A file's content key: its BLAKE3 digest and length.
type ContentKey = ([u8; 32], u64);

/// The media part of a fingerprint ([`Fingerprint::media`], `media_error` and `video`).
#[derive(Clone)]
struct MediaPart {
    media: Option<MediaFingerprint>,
    media_error: Option<String>,
    video: Option<VideoMedia>,
}

/// Media fingerprints of this run by content.
#[derive(Default)]
pub(super) struct MediaCache {
    parts: Mutex<HashMap<ContentKey, MediaPart>>,
}

impl MediaCache {
    /// `engine.fingerprint(referral)`, reusing the media part of an earlier referral whose
    /// media file had the same bytes. The result is the one `engine.fingerprint` gives.
    ///
    /// # Errors
    /// As [`Engine::fingerprint`].
    pub(super) fn fingerprint(
        &self,
        engine: &Engine,
        referral: &Referral,
        path: &Path,
    ) -> crate::Result<Fingerprint> {
        // An unreadable file takes the uncached path, which reports it as it always did.
        let Ok(key) = content_key(path) else {
            return engine.fingerprint(referral);
        };
        let cached = self.parts.lock().get(&key).cloned();
        let part = match cached {
            Some(part) => part,
            None => {
                let mut media_only = referral.clone();
                media_only.url = None;
                let fp = engine.fingerprint(&media_only)?;
                let part = MediaPart {
                    media: fp.media,
                    media_error: fp.media_error,
                    video: fp.video,
                };
                // Kept only when the bytes hashed are the bytes keyed (the file did not
                // change in between).
                let same_bytes = part.media.as_ref().is_some_and(|m| {
                    m.hashes.blake3.is_some_and(|b| b.0 == key.0) && m.bytes == key.1
                });
                let mut parts = self.parts.lock();
                if same_bytes && parts.len() < MAX_CACHED_MEDIA {
                    parts.insert(key, part.clone());
                }
                part
            }
        };
        let mut url_only = referral.clone();
        url_only.media = None;
        let mut fp = engine.fingerprint(&url_only)?;
        fp.media = part.media;
        fp.media_error = part.media_error;
        fp.video = part.video;
        Ok(fp)
    }

    /// How many distinct media are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.parts.lock().len()
    }
}

/// The BLAKE3 digest and length of a regular file, read as a stream.
fn content_key(path: &Path) -> std::io::Result<ContentKey> {
    let file = media::open_regular_file(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut len = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((*hasher.finalize().as_bytes(), len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineConfig;

    fn png(seed: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(96, 64, |x, y| {
            image::Rgb([
                (x * 3 + seed) as u8,
                (y * 5 + seed * 7) as u8,
                ((x * y + seed) % 256) as u8,
            ])
        });
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn cached_fingerprints_equal_fresh_ones() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::in_memory(EngineConfig::default()).unwrap();
        let cache = MediaCache::default();
        let files = [("a.png", png(1)), ("b.png", png(1)), ("c.png", png(2))];
        for (name, bytes) in &files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        std::fs::write(dir.path().join("d.bin"), b"not a picture").unwrap();
        let names = [
            "a.png",
            "b.png",
            "c.png",
            "a.png",
            "d.bin",
            "d.bin",
            "missing.png",
        ];
        for (i, name) in names.iter().enumerate() {
            let path = dir.path().join(name);
            let referral = Referral::new(format!("r{i}"))
                .with_url(format!("https://t.me/chan/{i}"))
                .with_media_path(&path);
            // Fingerprints have no equality; their debug forms show every field.
            let fresh = format!("{:?}", engine.fingerprint(&referral));
            let cached = format!("{:?}", cache.fingerprint(&engine, &referral, &path));
            assert_eq!(cached, fresh, "{name}");
        }
        // a.png and b.png share their bytes; d.bin is kept too (digests only).
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn content_keys_follow_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        std::fs::write(&path, png(3)).unwrap();
        let key = content_key(&path).unwrap();
        assert_eq!(key.1, png(3).len() as u64);
        std::fs::write(&path, png(4)).unwrap();
        assert_ne!(content_key(&path).unwrap(), key);
    }
}
