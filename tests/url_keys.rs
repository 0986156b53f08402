//! URL keys: equivalence classes (same item, many spellings -> one key) and traps (different
//! items that must never share a key).

use std::collections::HashMap;

use referral_dedup::url::{key, Platform, Rule, UrlKeyer};

/// Each class: the expected key and spellings of the same item.
const CLASSES: &[(&str, &[&str])] = &[
    // ---- YouTube
    ("yt:dQw4w9WgXcQ", &[
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "http://youtube.com/watch?v=dQw4w9WgXcQ",
        "youtube.com/watch?v=dQw4w9WgXcQ",
        "https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDAMVM",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s&si=AbCdEf",
        "https://WWW.YouTube.COM/watch?v=dQw4w9WgXcQ#t=10",
        "https://youtu.be/dQw4w9WgXcQ",
        "youtu.be/dQw4w9WgXcQ?si=xyz&t=3",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ?feature=share",
        "https://www.youtube.com/embed/dQw4w9WgXcQ?autoplay=1",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/v/dQw4w9WgXcQ",
        "https://www.youtube.com/e/dQw4w9WgXcQ",
        "https://www.youtube.com/#!v=dQw4w9WgXcQ",
        "https://www.youtube.com/?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=%64Qw4w9WgXcQ",
        "  https://youtu.be/dQw4w9WgXcQ  ",
        "https://yewtu.be/watch?v=dQw4w9WgXcQ",
        "https://www.google.com/url?q=https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3DdQw4w9WgXcQ&sa=D",
        "https://www.youtube.com/redirect?q=https%3A%2F%2Fyoutu.be%2FdQw4w9WgXcQ&event=video_description",
        "https://l.facebook.com/l.php?u=https%3A%2F%2Fyoutu.be%2FdQw4w9WgXcQ%3Ffbclid%3Dx&h=AT1",
    ]),
    ("yt:playlist:PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG", &[
        "https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
        "https://m.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG&si=a",
        "https://www.youtube.com/embed/videoseries?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
    ]),
    // ---- X / Twitter
    ("x:1460323737035677698", &[
        "https://twitter.com/elonmusk/status/1460323737035677698",
        "https://x.com/ElonMusk/status/1460323737035677698?s=20&t=AbC",
        "https://mobile.twitter.com/someone_else/status/1460323737035677698",
        "https://www.twitter.com/x/statuses/1460323737035677698",
        "https://twitter.com/i/web/status/1460323737035677698",
        "https://x.com/i/status/1460323737035677698",
        "https://twitter.com/statuses/1460323737035677698",
        "https://x.com/a/status/1460323737035677698/photo/1",
        "https://x.com/a/status/1460323737035677698/video/1",
        "https://fxtwitter.com/a/status/1460323737035677698",
        "https://vxtwitter.com/a/status/1460323737035677698",
        "https://nitter.net/a/status/1460323737035677698#m",
        "x.com/a/status/1460323737035677698",
    ]),
    // ---- Facebook
    ("fb:video:10153231379946729", &[
        "https://www.facebook.com/watch/?v=10153231379946729",
        "https://m.facebook.com/watch/?v=10153231379946729&_rdr",
        "https://www.facebook.com/video.php?v=10153231379946729",
        "https://www.facebook.com/video/video.php?v=10153231379946729",
        "https://www.facebook.com/SomePage/videos/10153231379946729/",
        "https://web.facebook.com/somepage/videos/some-title/10153231379946729/?__tn__=kC-R",
        "https://www.facebook.com/reel/10153231379946729",
        "https://www.facebook.com/watch/live/?v=10153231379946729&ref=watch_permalink",
        "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fwww.facebook.com%2Fpage%2Fvideos%2F10153231379946729%2F",
    ]),
    ("fb:post:pfbid02ABCdefGHIjkl", &[
        "https://www.facebook.com/somepage/posts/pfbid02ABCdefGHIjkl",
        "https://m.facebook.com/SomePage/posts/pfbid02ABCdefGHIjkl/?mibextid=abc",
        "https://www.facebook.com/permalink.php?story_fbid=pfbid02ABCdefGHIjkl&id=100064",
        "https://www.facebook.com/story.php?story_fbid=pfbid02ABCdefGHIjkl&id=100064&__cft__[0]=AZ",
    ]),
    ("fb:post:1234567890", &[
        "https://www.facebook.com/groups/123456/posts/1234567890/",
        "https://www.facebook.com/groups/somegroup/permalink/1234567890/",
        "https://facebook.com/permalink.php?story_fbid=1234567890&id=4",
    ]),
    // ---- Instagram
    ("ig:CzQ1a2B3c4D", &[
        "https://www.instagram.com/p/CzQ1a2B3c4D/",
        "https://instagram.com/p/CzQ1a2B3c4D/?igsh=MWQ1ZGUxMzBkMA==",
        "https://www.instagram.com/reel/CzQ1a2B3c4D/?utm_source=ig_web_copy_link",
        "https://www.instagram.com/reels/CzQ1a2B3c4D",
        "https://www.instagram.com/tv/CzQ1a2B3c4D",
        "https://www.instagram.com/some.user/p/CzQ1a2B3c4D/",
        "https://instagr.am/p/CzQ1a2B3c4D",
        "https://www.ddinstagram.com/p/CzQ1a2B3c4D/",
        "https://l.instagram.com/?u=https%3A%2F%2Fwww.instagram.com%2Fp%2FCzQ1a2B3c4D%2F&e=AT",
    ]),
    // ---- TikTok
    ("tt:7234567890123456789", &[
        "https://www.tiktok.com/@someone/video/7234567890123456789",
        "https://www.tiktok.com/@SomeOne/video/7234567890123456789?is_from_webapp=1&sender_device=pc",
        "https://m.tiktok.com/v/7234567890123456789.html",
        "https://www.tiktok.com/embed/7234567890123456789",
        "https://www.tiktok.com/embed/v2/7234567890123456789",
        "https://www.tiktokv.com/share/video/7234567890123456789/",
        "https://www.tiktok.com/@/video/7234567890123456789",
        "https://www.tiktok.com/@someone/photo/7234567890123456789",
    ]),
    // ---- Telegram
    ("tg:somechannel/1234", &[
        "https://t.me/somechannel/1234",
        "t.me/SomeChannel/1234",
        "https://t.me/s/somechannel/1234",
        "https://telegram.me/somechannel/1234",
        "https://telegram.dog/SOMECHANNEL/1234?embed=1",
        "https://t.me/somechannel/1234#comments",
    ]),
    ("tg:somechannel/1234?single", &[
        "https://t.me/somechannel/1234?single",
        "https://t.me/s/SomeChannel/1234?single&embed=1",
    ]),
    // ---- Reddit
    ("rd:1abc2d", &[
        "https://www.reddit.com/r/worldnews/comments/1abc2d/some_title/",
        "https://old.reddit.com/r/WorldNews/comments/1abc2d/",
        "https://np.reddit.com/r/worldnews/comments/1abc2d/some_title/?context=3",
        "https://m.reddit.com/r/worldnews/comments/1abc2d",
        "https://www.reddit.com/comments/1abc2d/",
        "https://www.reddit.com/user/someone/comments/1abc2d/title/",
        "https://redd.it/1abc2d",
        "https://www.reddit.com/r/worldnews/comments/1abc2d/some_title/?share_id=xyz&utm_medium=android_app",
        "https://out.reddit.com/t3_1?url=https%3A%2F%2Fredd.it%2F1abc2d&token=1",
    ]),
    // ---- Generic
    ("url:example.com/news/Story-1?id=7&page=2", &[
        "https://www.example.com/news/Story-1?id=7&page=2",
        "http://example.com/news/Story-1?page=2&id=7",
        "HTTPS://EXAMPLE.COM:443/news/./x/../Story-1?id=7&page=2&utm_source=tw&utm_medium=social",
        "example.com/news/Story-1?fbclid=IwAR0&id=7&page=2#section",
        "https://example.com./news/Story-1?id=7&page=2&gclid=abc",
        "https://www.example.com/news/%53tory-1?id=%37&page=2",
        "https://www.google.com/url?q=https://example.com/news/Story-1?id%3D7%26page%3D2",
        "https://href.li/?https://example.com/news/Story-1?id=7&page=2",
        // Pairs before href.li's target are skipped (found by the url_key fuzz target: the
        // generic fallback dropped them from the canonical URL, which then unwrapped).
        "https://href.li/?&https://example.com/news/Story-1?id=7&page=2",
        "https://href.li/?utm_source=x&https://example.com/news/Story-1?id=7&page=2",
    ]),
    ("url:xn--bcher-kva.example/a%2Fb", &[
        "https://bücher.example/a%2fb",
        "https://BÜCHER.example/a%2Fb",
        "https://xn--bcher-kva.example/a%2f%62",
    ]),
    ("url:example.org/#!/route/Page", &[
        "https://example.org/#!/route/Page",
        "http://www.example.org/#!/route/Page",
    ]),
    // ---- Short links
    ("short:t.co/AbCdEf123", &[
        "https://t.co/AbCdEf123",
        "http://t.co/AbCdEf123?amp=1",
        "t.co/AbCdEf123",
    ]),
    ("short:vm.tiktok.com/ZMabc123", &[
        "https://vm.tiktok.com/ZMabc123/",
        "vm.tiktok.com/ZMabc123",
    ]),
    ("short:facebook.com/share/v/1AbCdE", &[
        "https://www.facebook.com/share/v/1AbCdE/",
        "https://m.facebook.com/share/v/1AbCdE/?mibextid=x",
    ]),
];

#[test]
fn every_spelling_in_a_class_gets_the_class_key() {
    for (expected, spellings) in CLASSES {
        for s in *spellings {
            let k = key(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            assert_eq!(&k.key, expected, "input {s:?} (rules {:?})", k.rules);
        }
    }
}

#[test]
fn classes_never_share_keys() {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, (expected, _)) in CLASSES.iter().enumerate() {
        assert!(
            seen.insert(expected, i).is_none(),
            "duplicate class key {expected}"
        );
    }
}

/// Pairs that name different items and must never merge.
const TRAPS: &[(&str, &str)] = &[
    // Case-sensitive identifiers.
    (
        "https://youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcq",
    ),
    (
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=DQW4W9WGXCQ",
    ),
    (
        "https://www.instagram.com/p/CzQ1a2B3c4D/",
        "https://www.instagram.com/p/czq1a2b3c4d/",
    ),
    ("https://t.co/AbCdEf123", "https://t.co/abcdef123"),
    ("https://bit.ly/3xYz", "https://bit.ly/3xyz"),
    (
        "https://www.facebook.com/page/posts/pfbid02ABC",
        "https://www.facebook.com/page/posts/pfbid02abc",
    ),
    ("https://archive.ph/AbC12", "https://archive.ph/abc12"),
    (
        "https://x.com/i/spaces/1AbCdEfG",
        "https://x.com/i/spaces/1abcdefg",
    ),
    // Generic sites: query values and path case count.
    (
        "https://example.com/item?id=1",
        "https://example.com/item?id=2",
    ),
    ("https://example.com/item?id=1", "https://example.com/item"),
    ("https://example.com/Page", "https://example.com/page"),
    ("https://example.com/a/", "https://example.com/a"),
    ("https://example.com/a%2Fb", "https://example.com/a/b"),
    (
        "https://example.com/?a=1&b=2",
        "https://example.com/?a=2&b=1",
    ),
    ("https://example.com:8080/a", "https://example.com/a"),
    ("https://m.example.com/a", "https://example.com/a"),
    ("https://example.com/?q=a%26b", "https://example.com/?q=a&b"),
    (
        "https://example.com/?ref=main",
        "https://example.com/?ref=dev",
    ),
    ("https://example.com/#!/a", "https://example.com/#!/b"),
    // Different items on one platform.
    (
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=9bZkp7q19f0",
    ),
    (
        "https://twitter.com/a/status/1",
        "https://twitter.com/a/status/2",
    ),
    ("https://t.me/chan_one/5", "https://t.me/chan_two/5"),
    (
        "https://t.me/somechannel/5",
        "https://t.me/somechannel/5?single",
    ),
    (
        "https://t.me/somechannel/5",
        "https://t.me/somechannel/5?comment=9",
    ),
    (
        "https://www.reddit.com/comments/abc12/",
        "https://www.reddit.com/comments/abc12/x/def34/",
    ),
    (
        "https://www.facebook.com/watch/?v=1",
        "https://www.facebook.com/photo/?fbid=1",
    ),
    (
        "https://www.facebook.com/story.php?story_fbid=5&id=7",
        "https://www.facebook.com/story.php?story_fbid=5&id=7&comment_id=9",
    ),
    (
        "https://www.tiktok.com/@a/video/7234567890123456789",
        "https://www.tiktok.com/@a/video/7234567890123456788",
    ),
    // Media ids are not post ids; lookalike hosts are not platforms.
    ("https://v.redd.it/1abc2d", "https://redd.it/1abc2d"),
    (
        "https://notyoutube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?v=dQw4w9WgXcQ",
    ),
    (
        "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?v=dQw4w9WgXcQ",
    ),
    (
        "https://youtube.com@evil.example/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?v=dQw4w9WgXcQ",
    ),
    // A short link is not its platform's item until a resolution is recorded.
    (
        "https://fb.watch/aBc/",
        "https://www.facebook.com/watch/?v=1",
    ),
    // Platform-scoped noise is not noise elsewhere.
    ("https://example.com/?si=1", "https://example.com/?si=2"),
    ("https://example.com/?s=1", "https://example.com/?s=2"),
];

#[test]
fn traps_stay_distinct() {
    for (a, b) in TRAPS {
        let ka = key(a).unwrap_or_else(|e| panic!("{a}: {e}"));
        let kb = key(b).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_ne!(ka.key, kb.key, "{a} and {b} must not merge");
    }
}

#[test]
fn rules_say_why() {
    let k = key("https://l.facebook.com/l.php?u=https%3A%2F%2Fyoutu.be%2FdQw4w9WgXcQ").unwrap();
    assert_eq!(
        k.rules,
        vec![
            Rule::Unwrapped("facebook"),
            Rule::Platform(Platform::Youtube)
        ]
    );
    assert_eq!(k.platform, Some(Platform::Youtube));
    assert_eq!(k.canonical, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");

    let k = key("https://nitter.net/a/status/5").unwrap();
    assert_eq!(k.rules, vec![Rule::FrontEnd, Rule::Platform(Platform::X)]);

    let k = key("https://example.com/a?utm_source=x").unwrap();
    assert_eq!(k.rules, vec![Rule::TrackingRemoved, Rule::Generic]);
    assert_eq!(k.canonical, "https://example.com/a");

    let k = key("https://t.co/Abc").unwrap();
    assert_eq!(k.rules, vec![Rule::ShortLink]);
    assert_eq!(k.platform, None);
}

#[test]
fn archives_key_the_inner_url_and_record_the_host() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "https://web.archive.org/web/20230101000000/https://twitter.com/a/status/77",
            "x:77",
            "wayback:20230101000000",
        ),
        (
            "http://web.archive.org/web/2023id_/http:/example.com/a?id=1",
            "url:example.com/a?id=1",
            "wayback:2023",
        ),
        (
            "https://web.archive.org/web/https%3A//youtu.be/dQw4w9WgXcQ",
            "yt:dQw4w9WgXcQ",
            "wayback",
        ),
        (
            "https://archive.ph/newest/https://t.me/chan_name/5",
            "tg:chan_name/5",
            "archive.today",
        ),
        (
            "https://archive.is/20230101120000/https://example.com/a",
            "url:example.com/a",
            "archive.today:20230101120000",
        ),
        (
            "https://www.google.com/amp/s/example.com/amp/story?id=2",
            "url:example.com/amp/story?id=2",
            "amp",
        ),
        (
            "https://example-com.cdn.ampproject.org/c/s/example.com/amp/story",
            "url:example.com/amp/story",
            "amp",
        ),
        (
            "https://www-example-com.translate.goog/a?id=3&_x_tr_sl=auto&_x_tr_tl=en&_x_tr_hl=en",
            "url:example.com/a?id=3",
            "translate",
        ),
        (
            "https://webcache.googleusercontent.com/search?q=cache:https://example.com/a",
            "url:example.com/a",
            "google-cache",
        ),
    ];
    for (input, expected, via) in cases {
        let k = key(input).unwrap();
        assert_eq!(&k.key, expected, "{input}");
        assert_eq!(k.via.as_deref(), Some(*via), "{input}");
        assert!(k.rules.iter().any(|r| matches!(r, Rule::Via(_))), "{input}");
    }
    // An opaque snapshot keys by itself, with the archive as host; mirrors share the key.
    let a = key("https://archive.ph/AbC12").unwrap();
    let b = key("http://archive.today/AbC12").unwrap();
    assert_eq!(a.key, "archive.today:AbC12");
    assert_eq!(a.key, b.key);
    assert_eq!(a.via.as_deref(), Some("archive.today"));
    // The plain URL has no via.
    assert_eq!(key("https://example.com/a").unwrap().via, None);
}

#[test]
fn canonical_urls_rekey_to_the_same_key() {
    for (_, spellings) in CLASSES {
        for s in *spellings {
            let k = key(s).unwrap();
            let again =
                key(&k.canonical).unwrap_or_else(|e| panic!("{} (from {s}): {e}", k.canonical));
            assert_eq!(again.key, k.key, "canonical {} of {s}", k.canonical);
        }
    }
}

#[test]
fn an_opaque_target_query_that_does_not_unwrap_is_kept_whole() {
    // href.li's query is one target URL, not pairs: when it does not unwrap, neither its empty
    // pairs nor tracking-looking pairs are dropped, so the canonical URL cannot start to unwrap.
    for input in [
        "https://href.li/?not-a-url&&utm_source=x&https://bad%20host/",
        "https://href.li/?&https://exa%00mple.com/&",
    ] {
        let k = key(input).unwrap();
        let query = input.split_once('?').unwrap().1;
        assert_eq!(k.key, format!("url:href.li/?{query}"), "{input}");
        assert_eq!(k.canonical, format!("https://href.li/?{query}"), "{input}");
        assert_eq!(key(&k.canonical).unwrap().key, k.key, "{input}");
    }
}

#[test]
fn recorded_resolutions_merge_short_links() {
    let keyer = UrlKeyer::new();
    let target = "https://www.tiktok.com/@someone/video/7234567890123456789";
    assert_eq!(
        keyer.key("https://vm.tiktok.com/ZMabc123/").unwrap().key,
        "short:vm.tiktok.com/ZMabc123"
    );
    keyer
        .record_resolution("vm.tiktok.com/ZMabc123", target)
        .unwrap();
    for spelling in [
        "https://vm.tiktok.com/ZMabc123/",
        "http://vm.tiktok.com/ZMabc123",
        "vm.tiktok.com/ZMabc123?x=1",
    ] {
        let k = keyer.key(spelling).unwrap();
        assert_eq!(k.key, "tt:7234567890123456789", "{spelling}");
        assert!(k.rules.contains(&Rule::Resolved));
    }
    // Other codes and case variants are untouched.
    assert_eq!(
        keyer.key("https://vm.tiktok.com/zmabc123/").unwrap().key,
        "short:vm.tiktok.com/zmabc123"
    );
    // The shorthand keyer has no resolutions.
    assert_eq!(
        key("https://vm.tiktok.com/ZMabc123/").unwrap().key,
        "short:vm.tiktok.com/ZMabc123"
    );
    assert_eq!(
        keyer.resolutions(),
        vec![(
            "short:vm.tiktok.com/ZMabc123".to_string(),
            "https://www.tiktok.com/@/video/7234567890123456789".to_string()
        )]
    );
}

#[test]
fn errors_say_why() {
    use referral_dedup::url::UrlError;
    assert_eq!(key(""), Err(UrlError::Empty));
    assert_eq!(
        key("mailto:someone@example.com"),
        Err(UrlError::UnsupportedScheme)
    );
    assert_eq!(
        key("ftp://example.com/file"),
        Err(UrlError::UnsupportedScheme)
    );
    assert!(matches!(
        key("http://exa mple.com/"),
        Err(UrlError::Parse(_))
    ));
    assert!(matches!(
        key(&"a".repeat(9000)),
        Err(UrlError::TooLong { len: 9000 })
    ));
    assert!(key("http://[::1/")
        .unwrap_err()
        .to_string()
        .contains("unparsable"));
}
