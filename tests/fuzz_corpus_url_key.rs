//! Replays the committed fuzz corpus (`fuzz/corpus/url_key/`) through the fuzz target's code
//! path: keying never panics and the key of the canonical URL equals the key.

use std::path::PathBuf;

use referral_dedup::url::{canonicalize, key, HostRules, KeyOptions};

#[test]
fn fuzz_corpus_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/url_key");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory exists") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let input = String::from_utf8_lossy(&data);
        let _ = canonicalize(&input);
        if let Ok(k) = key(&input) {
            let again = key(&k.canonical).unwrap_or_else(|e| {
                panic!("{}: canonical {:?} fails: {e}", path.display(), k.canonical)
            });
            assert_eq!(
                again.key,
                k.key,
                "{}: canonical {:?}",
                path.display(),
                k.canonical
            );
        }
        files += 1;
    }
    assert!(files > 0, "the corpus is not empty");
}

/// Replays `fuzz/corpus/url_rules/` through the rules fuzz target's code path.
#[test]
fn rules_fuzz_corpus_replays() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/url_rules");
    let mut accepted = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory exists") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&data);
        let (rules, urls) = text.split_once("%%").unwrap_or((&text, ""));
        let Ok(rules) = HostRules::parse(rules) else {
            continue;
        };
        accepted += 1;
        let keyer = KeyOptions::default().host_rules(rules).build();
        for u in urls.lines() {
            if let Ok(k) = keyer.key(u) {
                let again = keyer.key(&k.canonical).unwrap();
                assert_eq!(
                    again.key,
                    k.key,
                    "{}: canonical {:?} of {u:?}",
                    path.display(),
                    k.canonical
                );
            }
        }
    }
    assert!(accepted > 0, "some corpus files are accepted rules");
}
