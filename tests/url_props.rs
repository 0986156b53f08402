//! Property tests for URL keys: never panic, and the key of the canonical URL is the key.

use proptest::prelude::*;
use referral_dedup::url::{canonicalize, key};

/// URL-ish strings built from the pieces real referrals are made of.
fn urlish() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec!["", "http://", "https://", "HTTPS://", "//"]);
    let host = prop::sample::select(vec![
        "www.youtube.com",
        "youtu.be",
        "m.youtube.com",
        "x.com",
        "twitter.com",
        "www.facebook.com",
        "m.facebook.com",
        "l.facebook.com",
        "www.instagram.com",
        "www.tiktok.com",
        "vm.tiktok.com",
        "t.me",
        "www.reddit.com",
        "redd.it",
        "t.co",
        "bit.ly",
        "web.archive.org",
        "archive.ph",
        "www.google.com",
        "example.com",
        "WWW.Example.COM.",
        "bücher.example",
        "127.0.0.1",
        "a-b.translate.goog",
        "x-com.cdn.ampproject.org",
    ]);
    let port = prop::sample::select(vec!["", ":80", ":443", ":8080"]);
    let seg = "[A-Za-z0-9_.~%@!-]{0,12}";
    let path = prop::collection::vec(
        prop_oneof![
            Just("watch".to_string()),
            Just("status".to_string()),
            Just("p".to_string()),
            Just("comments".to_string()),
            Just("web".to_string()),
            Just("..".to_string()),
            Just("https:".to_string()),
            Just("20200101".to_string()),
            Just("dQw4w9WgXcQ".to_string()),
            Just("1234567890123456789".to_string()),
            seg.prop_map(|s| s),
        ],
        0..6,
    )
    .prop_map(|v| v.join("/"));
    let pair = (
        prop::sample::select(vec![
            "v",
            "id",
            "utm_source",
            "si",
            "q",
            "u",
            "url",
            "list",
            "fbclid",
            "single",
            "t",
            "A",
        ]),
        "[A-Za-z0-9%:/._=-]{0,16}",
    )
        .prop_map(|(k, v)| format!("{k}={v}"));
    let query = prop::collection::vec(pair, 0..4).prop_map(|v| {
        if v.is_empty() {
            String::new()
        } else {
            format!("?{}", v.join("&"))
        }
    });
    let frag = prop::sample::select(vec!["", "#x", "#!/a", "#!v=dQw4w9WgXcQ"]);
    (scheme, host, port, path, query, frag)
        .prop_map(|(s, h, p, path, q, f)| format!("{s}{h}{p}/{path}{q}{f}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_strings(s in "\\PC{0,200}") {
        let _ = key(&s);
        let _ = canonicalize(&s);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..200)) {
        let s = String::from_utf8_lossy(&b);
        let _ = key(&s);
    }

    #[test]
    fn key_is_idempotent(s in urlish()) {
        if let Ok(k) = key(&s) {
            let again = key(&k.canonical);
            prop_assert!(again.is_ok(), "canonical {:?} of {:?} fails: {:?}", k.canonical, s, again);
            let again = again.unwrap();
            prop_assert_eq!(&again.key, &k.key, "canonical {:?} of {:?}", k.canonical, s);
            // The canonical URL is a fixed point.
            prop_assert_eq!(&key(&again.canonical).unwrap().canonical, &again.canonical);
        }
    }

    #[test]
    fn canonicalize_is_idempotent(s in urlish()) {
        if let Ok(c) = canonicalize(&s) {
            prop_assert_eq!(canonicalize(&c), Ok(c.clone()), "{:?}", s);
        }
    }
}
