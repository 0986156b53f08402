//! Platform content keys: every URL shape that denotes one video/post/message gives one key.
//!
//! Shapes, identifiers and case rules follow `../shared/url-platforms.md` (drawn from yt-dlp's
//! `_VALID_URL` patterns). Identifiers are validated strictly; a URL on a platform host whose
//! shape is not recognised falls back to the generic key, which can miss a merge but never makes
//! a wrong one.

use serde::Serialize;

use super::canon::{rsplit_once_byte, split_once_byte, View};

/// The name of a host rule (built-in `hosts.rules` or a user's [`HostRules`](super::HostRules)),
/// shown as the platform of its keys: `mega`, `gdrive`, `vimeo`, ...
///
/// ```
/// # fn main() -> Result<(), referral_dedup::url::UrlError> {
/// let k = referral_dedup::url::key("https://mega.nz/file/AbCdEfGh#key")?;
/// assert_eq!(k.platform.unwrap().as_str(), "mega");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostName(&'static str);

impl HostName {
    pub(crate) fn new(name: &'static str) -> Self {
        HostName(name)
    }

    /// The rule name.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// A platform whose items get content keys: the seven hand-written platforms, or a host rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// YouTube (`yt:` keys).
    Youtube,
    /// X, formerly Twitter (`x:` keys).
    X,
    /// Facebook (`fb:` keys).
    Facebook,
    /// Instagram (`ig:` keys).
    Instagram,
    /// TikTok (`tt:` keys).
    Tiktok,
    /// Telegram (`tg:` keys).
    Telegram,
    /// Reddit (`rd:` keys).
    Reddit,
    /// A host rule's item (`mega:file:...`, `gdrive:folder:...`, a user rule's keys).
    Host(HostName),
}

impl Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Platform {
    /// The lowercase name used in JSON and rule strings.
    ///
    /// ```
    /// use referral_dedup::url::Platform;
    /// assert_eq!(Platform::Youtube.as_str(), "youtube");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Youtube => "youtube",
            Platform::X => "x",
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::Tiktok => "tiktok",
            Platform::Telegram => "telegram",
            Platform::Reddit => "reddit",
            Platform::Host(h) => h.as_str(),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recognised platform item.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PlatformKey {
    pub platform: Platform,
    pub key: String,
    pub canonical: String,
    /// The URL was on a third-party front end (Invidious, Nitter, fxtwitter, ddinstagram...).
    pub front_end: bool,
}

/// Which platform a host belongs to, and whether it is a third-party front end.
fn platform_of(sub: &str, site: &str) -> Option<(Platform, bool)> {
    let p = match site {
        "youtube.com" | "youtube-nocookie.com" | "youtubekids.com" | "youtu.be" => {
            (Platform::Youtube, false)
        }
        "yewtu.be" | "piped.video" => (Platform::Youtube, true),
        "twitter.com" | "x.com" => (Platform::X, false),
        "fxtwitter.com" | "vxtwitter.com" | "fixupx.com" | "fixvx.com" | "nitter.net"
        | "twittpr.com" => (Platform::X, true),
        "facebook.com" | "fb.com" => (Platform::Facebook, false),
        "instagram.com" | "instagr.am" => (Platform::Instagram, false),
        "ddinstagram.com" => (Platform::Instagram, true),
        "tiktok.com" | "tiktokv.com" => (Platform::Tiktok, false),
        "t.me" | "telegram.me" | "telegram.dog" => (Platform::Telegram, false),
        "reddit.com" | "redditmedia.com" | "redd.it" => (Platform::Reddit, false),
        _ => {
            let first = split_once_byte(sub, b'.').map_or(sub, |(f, _)| f);
            return match first {
                "nitter" => Some((Platform::X, true)),
                "invidious" | "piped" => Some((Platform::Youtube, true)),
                _ => None,
            };
        }
    };
    Some(p)
}

/// Whether the host belongs to one of the seven hand-written platforms (or their front ends).
pub(crate) fn is_platform_host(sub: &str, site: &str) -> bool {
    platform_of(sub, site).is_some()
}

/// Whether a site (last two labels) belongs to one of the seven hand-written platforms.
pub(crate) fn is_platform_site(site: &str) -> bool {
    platform_of("", site).is_some()
}

/// The platform key for `view`, if its host is a platform and its shape names an item.
pub(crate) fn key(view: &View<'_>) -> Option<PlatformKey> {
    let (platform, front_end) = platform_of(view.sub, view.site)?;
    let (key, canonical) = match platform {
        Platform::Youtube => youtube(view),
        Platform::X => twitter(view),
        Platform::Facebook => facebook(view),
        Platform::Instagram => instagram(view),
        Platform::Tiktok => tiktok(view),
        Platform::Telegram => telegram(view),
        Platform::Reddit => reddit(view),
        Platform::Host(_) => None,
    }?;
    Some(PlatformKey {
        platform,
        key,
        canonical,
        front_end,
    })
}

/// Concatenates `parts` into one exactly-sized string (cheaper than `format!` on the hot path).
fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// The first `N` non-empty path segments, without allocating.
fn first_segments<'v, const N: usize>(view: &'v View<'_>) -> ([&'v str; N], usize) {
    let mut out = [""; N];
    let mut n = 0;
    for s in view.segments().take(N) {
        out[n] = s;
        n += 1;
    }
    (out, n)
}

fn all_bytes(s: &str, f: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(f)
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// YouTube video id: exactly 11 of `[0-9A-Za-z_-]`, case-sensitive.
fn is_yt_id(s: &str) -> bool {
    s.len() == 11 && all_bytes(s, is_b64url)
}

/// A decimal id of 1..=max_len digits.
fn is_digits(s: &str, max_len: usize) -> bool {
    !s.is_empty() && s.len() <= max_len && all_bytes(s, |b| b.is_ascii_digit())
}

fn yt_video(id: &str) -> Option<(String, String)> {
    is_yt_id(id).then(|| {
        (
            cat(&["yt:", id]),
            cat(&["https://www.youtube.com/watch?v=", id]),
        )
    })
}

/// `v=` inside a `#!` route such as `#!v=ID` or `#!/watch?v=ID`.
fn route_param<'a>(route: &'a str, name: &str) -> Option<&'a str> {
    let q = rsplit_once_byte(route, b'?').map_or(route, |(_, q)| q);
    super::canon::query_pairs(q)
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

fn youtube(view: &View<'_>) -> Option<(String, String)> {
    let mut segs = view.segments();
    let first = segs.next();
    if view.site == "youtu.be" {
        return yt_video(first?);
    }
    match first {
        None | Some("watch") | Some("watch_popup") => {
            if let Some(id) = segs.next().filter(|_| first.is_some()) {
                return yt_video(id);
            }
            let v = view
                .param("v")
                .or_else(|| view.route.as_deref().and_then(|r| route_param(r, "v")))?;
            yt_video(v)
        }
        Some("shorts" | "live" | "embed" | "v" | "e") => {
            let id = segs.next()?;
            if first == Some("embed") && id == "videoseries" {
                return yt_playlist(view.param("list")?);
            }
            yt_video(id)
        }
        Some("playlist") => yt_playlist(view.param("list")?),
        Some("clip") => {
            let id = segs.next()?;
            (id.len() >= 10 && id.len() <= 64 && all_bytes(id, is_b64url)).then(|| {
                (
                    cat(&["yt:clip:", id]),
                    cat(&["https://www.youtube.com/clip/", id]),
                )
            })
        }
        Some("channel") => {
            let id = segs.next()?;
            (id.len() == 24 && id.starts_with("UC") && all_bytes(id, is_b64url)).then(|| {
                (
                    cat(&["yt:channel:", id]),
                    cat(&["https://www.youtube.com/channel/", id]),
                )
            })
        }
        Some(h) if h.len() > 1 && h.starts_with('@') => {
            let handle = &h[1..];
            if segs
                .next()
                .is_some_and(|s| !matches!(s, "videos" | "featured" | "shorts" | "streams"))
            {
                return None;
            }
            (handle.len() <= 100
                && all_bytes(handle, |b| {
                    is_b64url(b) || b == b'.' || b >= 0x80 || b == b'%'
                }))
            .then(|| {
                let h = handle.to_ascii_lowercase();
                (cat(&["yt:@", &h]), cat(&["https://www.youtube.com/@", &h]))
            })
        }
        _ => None,
    }
}

fn yt_playlist(list: &str) -> Option<(String, String)> {
    (list.len() >= 2 && list.len() <= 64 && all_bytes(list, is_b64url)).then(|| {
        (
            cat(&["yt:playlist:", list]),
            cat(&["https://www.youtube.com/playlist?list=", list]),
        )
    })
}

fn twitter(view: &View<'_>) -> Option<(String, String)> {
    let (mut seg_arr, mut seg_n) = first_segments::<4>(view);
    if seg_n == 0 {
        // Legacy hash-bang links: `twitter.com/#!/user/status/ID`.
        if let Some(route) = view.route.as_deref().and_then(|r| r.strip_prefix('/')) {
            let route = split_once_byte(route, b'?').map_or(route, |(p, _)| p);
            for s in super::canon::split_byte(route, b'/')
                .filter(|s| !s.is_empty())
                .take(4)
            {
                seg_arr[seg_n] = s;
                seg_n += 1;
            }
        }
    }
    let segs = &seg_arr[..seg_n];
    let id = match segs {
        ["i", "web", "status", id, ..] | ["i", "status", id, ..] | ["statuses", id, ..] => *id,
        ["i", "spaces", id, ..]
            if id.len() <= 32 && all_bytes(id, |b| b.is_ascii_alphanumeric()) =>
        {
            return Some((
                cat(&["x:space:", id]),
                cat(&["https://x.com/i/spaces/", id]),
            ));
        }
        ["i", "broadcasts", id, ..]
            if id.len() <= 32 && all_bytes(id, |b| b.is_ascii_alphanumeric()) =>
        {
            return Some((
                cat(&["x:broadcast:", id]),
                cat(&["https://x.com/i/broadcasts/", id]),
            ));
        }
        [user, "status" | "statuses", id, ..] if *user != "i" => *id,
        _ => return None,
    };
    is_digits(id, 20).then(|| (cat(&["x:", id]), cat(&["https://x.com/i/web/status/", id])))
}

/// Facebook object id: all digits or `pfbid` + alphanumerics (case-sensitive).
fn is_fb_id(s: &str) -> bool {
    is_digits(s, 25)
        || (s.len() > 5
            && s.len() <= 80
            && s.starts_with("pfbid")
            && all_bytes(s, |b| b.is_ascii_alphanumeric()))
}

fn facebook(view: &View<'_>) -> Option<(String, String)> {
    let (seg_arr, seg_n) = first_segments::<5>(view);
    let segs = &seg_arr[..seg_n];
    let base = "https://www.facebook.com";
    let (kind, id, canonical): (&str, &str, String) = match segs {
        ["watch", ..] | ["video.php"] | ["video", "video.php"] => {
            let v = view.param("v").or_else(|| view.param("video_id"))?;
            ("video", v, cat(&[base, "/watch/?v=", v]))
        }
        ["reel", id, ..] => ("video", *id, cat(&[base, "/watch/?v=", id])),
        ["photo.php"] | ["photo"] => {
            let f = view.param("fbid")?;
            ("photo", f, cat(&[base, "/photo/?fbid=", f]))
        }
        ["permalink.php"] | ["story.php"] => {
            let s = view.param("story_fbid")?;
            let owner = view.param("id").filter(|o| is_fb_id(o));
            let c = match owner {
                Some(o) => cat(&[base, "/permalink.php?story_fbid=", s, "&id=", o]),
                None => cat(&[base, "/permalink.php?story_fbid=", s]),
            };
            ("post", s, c)
        }
        ["groups", g, "posts" | "permalink", id, ..] => {
            ("post", *id, cat(&[base, "/groups/", g, "/posts/", id, "/"]))
        }
        ["events", id, ..] => ("event", *id, cat(&[base, "/events/", id, "/"])),
        ["watchparty", id, ..] => ("watchparty", *id, cat(&[base, "/watchparty/", id, "/"])),
        ["ads", "library", ..] => {
            let id = view.param("id")?;
            ("ad", id, cat(&[base, "/ads/library/?id=", id]))
        }
        [page, "posts", rest @ ..] if !is_reserved_fb_page(page) => {
            let id = rest.iter().rev().find(|s| is_fb_id(s))?;
            ("post", *id, cat(&[base, "/", page, "/posts/", id]))
        }
        [page, "videos", rest @ ..] if !is_reserved_fb_page(page) => {
            let id = rest.iter().rev().find(|s| is_fb_id(s))?;
            ("video", *id, cat(&[base, "/watch/?v=", id]))
        }
        [page, "photos", rest @ ..] if !is_reserved_fb_page(page) => {
            let id = rest.iter().rev().find(|s| is_digits(s, 25))?;
            ("photo", *id, cat(&[base, "/photo/?fbid=", id]))
        }
        _ => return None,
    };
    if !is_fb_id(id) {
        return None;
    }
    let mut key = cat(&["fb:", kind, ":", id]);
    let mut canonical = canonical;
    for (param, label) in [("comment_id", "comment"), ("reply_comment_id", "reply")] {
        if let Some(c) = view.param(param) {
            if !is_digits(c, 25) {
                return None;
            }
            key.push_str(&cat(&[":", label, ":", c]));
            canonical.push(if canonical.contains('?') { '&' } else { '?' });
            canonical.push_str(&cat(&[param, "=", c]));
        }
    }
    Some((key, canonical))
}

fn is_reserved_fb_page(page: &str) -> bool {
    matches!(
        page,
        "groups"
            | "events"
            | "watch"
            | "share"
            | "ads"
            | "pages"
            | "profile.php"
            | "people"
            | "hashtag"
    )
}

fn instagram(view: &View<'_>) -> Option<(String, String)> {
    let (seg_arr, seg_n) = first_segments::<4>(view);
    let segs = &seg_arr[..seg_n];
    let code = match segs {
        ["p" | "reel" | "reels" | "tv", code, ..] => *code,
        [_user, "p" | "reel" | "reels" | "tv", code, ..] => *code,
        ["stories", user, id, ..] if *user != "highlights" && is_digits(id, 25) => {
            return Some((
                cat(&["ig:story:", id]),
                cat(&["https://www.instagram.com/stories/", user, "/", id, "/"]),
            ));
        }
        _ => return None,
    };
    (code.len() >= 5 && code.len() <= 64 && all_bytes(code, is_b64url)).then(|| {
        (
            cat(&["ig:", code]),
            cat(&["https://www.instagram.com/p/", code, "/"]),
        )
    })
}

fn tiktok(view: &View<'_>) -> Option<(String, String)> {
    let (seg_arr, seg_n) = first_segments::<4>(view);
    let segs = &seg_arr[..seg_n];
    let id = match segs {
        [user, "video" | "photo", id, ..] if user.starts_with('@') => *id,
        ["embed", "v2", id, ..] | ["embed", id, ..] | ["share", "video", id, ..] => *id,
        ["v", file] => file.strip_suffix(".html")?,
        _ => return None,
    };
    is_digits(id, 20).then(|| {
        (
            cat(&["tt:", id]),
            cat(&["https://www.tiktok.com/@/video/", id]),
        )
    })
}

/// Telegram public username: a letter then 3..=31 of `[A-Za-z0-9_]`.
fn is_tg_username(s: &str) -> bool {
    s.len() >= 4
        && s.len() <= 32
        && s.as_bytes()[0].is_ascii_alphabetic()
        && all_bytes(s, |b| b.is_ascii_alphanumeric() || b == b'_')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "joinchat"
                | "addstickers"
                | "addemoji"
                | "addtheme"
                | "addlist"
                | "share"
                | "proxy"
                | "socks"
                | "login"
                | "setlanguage"
                | "confirmphone"
                | "invoice"
                | "boost"
                | "contact"
                | "giftcode"
        )
}

fn telegram(view: &View<'_>) -> Option<(String, String)> {
    let (seg_arr, seg_n) = first_segments::<5>(view);
    let segs = &seg_arr[..seg_n];
    let segs = match segs {
        ["s", rest @ ..] => rest,
        all => all,
    };
    let (chat, msg) = match segs {
        ["c", internal, msg] if is_digits(internal, 20) => (cat(&["c/", internal]), *msg),
        ["c", internal, topic, msg] if is_digits(internal, 20) && is_digits(topic, 12) => {
            (cat(&["c/", internal]), *msg)
        }
        [chan] if is_tg_username(chan) => {
            let c = chan.to_ascii_lowercase();
            return Some((cat(&["tg:", &c]), cat(&["https://t.me/", &c])));
        }
        [chan, msg] if is_tg_username(chan) => (chan.to_ascii_lowercase(), *msg),
        // Forum topics: /{chan}/{topic}/{msg}; message ids are unique per chat.
        [chan, topic, msg] if is_tg_username(chan) && is_digits(topic, 12) => {
            (chan.to_ascii_lowercase(), *msg)
        }
        _ => return None,
    };
    if !is_digits(msg, 12) {
        return None;
    }
    let mut key = cat(&["tg:", &chat, "/", msg]);
    let mut canonical = cat(&["https://t.me/", &chat, "/", msg]);
    let mut sep = '?';
    if view.has_param("single") {
        key.push_str("?single");
        canonical.push_str("?single");
        sep = '&';
    }
    if let Some(c) = view.param("comment") {
        if !is_digits(c, 12) {
            return None;
        }
        key.push_str(&cat(&[":comment:", c]));
        canonical.push(sep);
        canonical.push_str(&cat(&["comment=", c]));
    }
    Some((key, canonical))
}

/// Reddit base36 id (ids are lowercase in practice; compared case-insensitively).
fn rd_id(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 13 && all_bytes(s, |b| b.is_ascii_alphanumeric()))
        .then(|| s.to_ascii_lowercase())
}

fn reddit(view: &View<'_>) -> Option<(String, String)> {
    let (sub, site) = (view.sub, view.site);
    let (seg_arr, seg_n) = first_segments::<7>(view);
    let segs = &seg_arr[..seg_n];
    if site == "redd.it" {
        if !sub.is_empty() {
            return None; // v.redd.it / i.redd.it are media ids, not posts
        }
        let id = rd_id(segs.first()?)?;
        return (segs.len() == 1).then(|| {
            (
                cat(&["rd:", &id]),
                cat(&["https://www.reddit.com/comments/", &id, "/"]),
            )
        });
    }
    let rest = match segs {
        ["r" | "user" | "u", _, "comments", rest @ ..] | ["comments", rest @ ..] => rest,
        ["gallery", id] => {
            let id = rd_id(id)?;
            return Some((
                cat(&["rd:", &id]),
                cat(&["https://www.reddit.com/comments/", &id, "/"]),
            ));
        }
        ["r", name]
            if name.len() <= 21 && all_bytes(name, |b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            let n = name.to_ascii_lowercase();
            return Some((
                cat(&["rd:r/", &n]),
                cat(&["https://www.reddit.com/r/", &n, "/"]),
            ));
        }
        _ => return None,
    };
    let id = rd_id(rest.first()?)?;
    match rest {
        [_] | [_, _] => Some((
            cat(&["rd:", &id]),
            cat(&["https://www.reddit.com/comments/", &id, "/"]),
        )),
        [_, _, cid] => {
            let cid = rd_id(cid)?;
            Some((
                cat(&["rd:", &id, ":", &cid]),
                cat(&[
                    "https://www.reddit.com/comments/",
                    &id,
                    "/comment/",
                    &cid,
                    "/",
                ]),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::canon::parse_input;
    use super::*;

    fn k(s: &str) -> Option<String> {
        let (url, _) = parse_input(s).unwrap();
        key(&View::new(&url).unwrap()).map(|p| p.key)
    }

    #[test]
    fn youtube_shapes() {
        for s in [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ",
            "https://m.youtube.com/shorts/dQw4w9WgXcQ",
            "https://www.youtube.com/embed/dQw4w9WgXcQ",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
            "https://www.youtube.com/#!v=dQw4w9WgXcQ",
            "https://www.youtube.com/?v=dQw4w9WgXcQ",
            "https://yewtu.be/watch?v=dQw4w9WgXcQ",
        ] {
            assert_eq!(k(s).as_deref(), Some("yt:dQw4w9WgXcQ"), "{s}");
        }
        assert_eq!(k("https://www.youtube.com/watch?v=dQw4w9WgXc"), None);
        assert_eq!(
            k("https://www.youtube.com/playlist?list=PLabc").as_deref(),
            Some("yt:playlist:PLabc")
        );
        assert_eq!(
            k("https://www.youtube.com/@SomeHandle").as_deref(),
            Some("yt:@somehandle")
        );
        assert_eq!(k("https://www.youtube.com/results?search_query=x"), None);
    }

    #[test]
    fn twitter_facebook_instagram_tiktok_telegram_reddit_shapes() {
        assert_eq!(
            k("https://twitter.com/Someone/status/123/photo/1").as_deref(),
            Some("x:123")
        );
        assert_eq!(
            k("https://x.com/i/web/status/123").as_deref(),
            Some("x:123")
        );
        assert_eq!(
            k("https://x.com/i/spaces/1AbCdEfG").as_deref(),
            Some("x:space:1AbCdEfG")
        );
        assert_eq!(k("https://x.com/someone/status/12a"), None);
        assert_eq!(
            k("https://www.facebook.com/watch/?v=123").as_deref(),
            Some("fb:video:123")
        );
        assert_eq!(
            k("https://www.facebook.com/page/videos/slug-text/123/").as_deref(),
            Some("fb:video:123")
        );
        assert_eq!(
            k("https://www.facebook.com/page/posts/pfbid0AbC").as_deref(),
            Some("fb:post:pfbid0AbC")
        );
        assert_eq!(
            k("https://m.facebook.com/story.php?story_fbid=5&id=7&comment_id=9").as_deref(),
            Some("fb:post:5:comment:9")
        );
        assert_eq!(
            k("https://www.instagram.com/someone/reel/CaBc123/").as_deref(),
            Some("ig:CaBc123")
        );
        assert_eq!(
            k("https://www.tiktok.com/@a.b/video/7234567890123456789").as_deref(),
            Some("tt:7234567890123456789")
        );
        assert_eq!(
            k("https://m.tiktok.com/v/7234567890123456789.html").as_deref(),
            Some("tt:7234567890123456789")
        );
        assert_eq!(
            k("https://t.me/s/SomeChan/55?single").as_deref(),
            Some("tg:somechan/55?single")
        );
        assert_eq!(k("https://t.me/c/1234/55").as_deref(), Some("tg:c/1234/55"));
        assert_eq!(k("https://t.me/joinchat/AbCdEf"), None);
        assert_eq!(
            k("https://old.reddit.com/r/News/comments/AbC12/slug/").as_deref(),
            Some("rd:abc12")
        );
        assert_eq!(
            k("https://www.reddit.com/r/news/comments/abc12/slug/def34/").as_deref(),
            Some("rd:abc12:def34")
        );
        assert_eq!(k("https://redd.it/abc12").as_deref(), Some("rd:abc12"));
        assert_eq!(k("https://v.redd.it/abc12"), None);
    }
}
