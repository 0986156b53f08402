//! Google Safe Browsing canonicalisation vectors (`../shared/testdata/url/safebrowsing-canon.tsv`)
//! run against the generic canonicalisation layer, [`referral_dedup::url::canonicalize`].
//!
//! Safe Browsing canonicalises for blocklist lookup; a dedup key must not merge URLs that may
//! name different items, so some differences are deliberate. Each one is listed below with what
//! we return instead and why; the test checks that we return exactly that, so the list stays true.

use std::path::PathBuf;

use referral_dedup::url::canonicalize;

/// (input as written in the file, our result (`None` = rejected with an error), reason).
const DELIBERATE_DIFFERENCES: &[(&str, Option<&str>, &str)] = &[
    ("http://host/%25%32%35", Some("http://host/%2525"),
     "escapes are decoded once, only for unreserved characters: repeated decoding makes %2525 and %25 one URL"),
    ("http://host/%25%32%35%25%32%35", Some("http://host/%2525%2525"), "decoded once (see above)"),
    ("http://host/%2525252525252525", Some("http://host/%2525252525252525"), "decoded once (see above)"),
    ("http://host/asdf%25%32%35asd", Some("http://host/asdf%2525asd"), "decoded once (see above)"),
    ("http://host/%%%25%32%35asd%%", Some("http://host/%25%25%2525asd%25%25"),
     "decoded once; stray % become %25 as in Safe Browsing"),
    ("http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B", None,
     "WHATWG decodes the host and rejects '#' in it: not a valid host"),
    ("http://www.google.com/q?", Some("http://www.google.com/q"), "an empty query is no query"),
    ("http://\\x01\\x80.com/", None, "control characters and invalid UTF-8 in a host are rejected"),
    ("http://www.gotaport.com:1234/", Some("http://www.gotaport.com:1234/"),
     "a non-default port can serve a different site, so it is kept"),
    ("http:// leadingspace.com/", None, "a space in the host is rejected (WHATWG)"),
    ("http://%20leadingspace.com/", None, "a space in the host is rejected (WHATWG)"),
    ("%20leadingspace.com/", None, "a space in the host is rejected (WHATWG)"),
    ("http://host.com//twoslashes?more//slashes", Some("http://host.com//twoslashes?more//slashes"),
     "empty path segments are kept: servers may route /a//b and /a/b differently"),
];

fn shared_file() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/url/safebrowsing-canon.tsv");
    p.exists().then_some(p)
}

/// Decodes the file's `\t`, `\r`, `\n` and `\xNN` escapes (README of the test data).
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b't' => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                b'r' => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                b'n' => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                b'x' if i + 3 < b.len() => {
                    if let Ok(v) = u8::from_str_radix(&s[i + 2..i + 4], 16) {
                        out.push(v);
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[test]
fn safe_browsing_vectors() {
    let Some(path) = shared_file() else {
        eprintln!("skipping: ../shared absent (Safe Browsing vectors)");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let mut agreed = 0;
    let mut differed = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (raw_input, expected) = line.split_once('\t').expect("input<TAB>expected");
        let bytes = unescape(raw_input);
        // Our API takes text: invalid UTF-8 becomes U+FFFD, as a line reader would produce.
        let input = String::from_utf8_lossy(&bytes);
        let ours = canonicalize(&input);
        match DELIBERATE_DIFFERENCES
            .iter()
            .find(|(i, _, _)| *i == raw_input)
        {
            Some((_, documented, reason)) => {
                assert_eq!(
                    ours.as_deref().ok(),
                    *documented,
                    "{raw_input:?}: documented difference ({reason})"
                );
                differed += 1;
            }
            None => {
                assert_eq!(ours.as_deref(), Ok(expected), "{raw_input:?}");
                agreed += 1;
            }
        }
    }
    assert_eq!(agreed + differed, 33, "the file holds 33 vectors");
    assert_eq!(
        differed,
        DELIBERATE_DIFFERENCES.len(),
        "every documented difference is in the file"
    );
    eprintln!("Safe Browsing vectors: {agreed} agree, {differed} differ deliberately");
}
