//! Facebook: `fb:` keys for videos, reels, photos, posts, events, watch parties and ads.
//!
//! Everything the keyer knows about Facebook is declared here: hosts, the key of each URL shape,
//! the `fb.watch`/`fb.me` short links and `/share/` links, the link shim (`l.facebook.com/l.php`,
//! also on messenger.com), `/flx/warn` and embed wrappers, and the tracking parameters.

use super::{
    all_bytes, cat, first_segments, is_digits, PathIs, Platform, PlatformSpec, Redirect, SharePath,
};
use super::{ShortHost, SubIs};
use crate::url::canon::View;

/// Facebook's declaration.
pub(super) static SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Facebook,
    name: "facebook",
    prefix: "fb",
    sites: &["facebook.com", "fb.com"],
    front_end_sites: &[],
    front_end_labels: &[],
    key: facebook,
    short_hosts: &[
        ShortHost {
            site: "fb.watch",
            subs: &["", "www"],
        },
        ShortHost {
            site: "fb.me",
            subs: &["", "www"],
        },
    ],
    share_paths: &[SharePath {
        site: "facebook.com",
        segments: &["share"],
    }],
    redirects: &[
        Redirect {
            name: "facebook",
            site: "facebook.com",
            sub: SubIs::LinkShim,
            path: PathIs::FirstSegment("l.php"),
            params: &["u"],
        },
        Redirect {
            name: "facebook",
            site: "facebook.com",
            sub: SubIs::Any,
            path: PathIs::Prefix("/flx/warn"),
            params: &["u"],
        },
        Redirect {
            name: "facebook-embed",
            site: "facebook.com",
            sub: SubIs::Any,
            path: PathIs::Prefix("/plugins/"),
            params: &["href"],
        },
        // Messenger sends outgoing links through the same link shim.
        Redirect {
            name: "messenger",
            site: "messenger.com",
            sub: SubIs::Exactly("l"),
            path: PathIs::FirstSegment("l.php"),
            params: &["u"],
        },
    ],
    tracking: &[
        (
            "facebook.com",
            "__tn__ __xts__* __cft__* hc_* ref fref refsrc refid ref_type eid",
        ),
        (
            "facebook.com",
            "comment_tracking dti video_source ftentidentifier pageid padding ls_ref",
        ),
        (
            "facebook.com",
            "action_history tracking referral_code referral_story_type eav sfnsn",
        ),
        (
            "facebook.com",
            "idorvanity wtsid rdc rdr _rdr paipv _nc_x mibextid notif_id notif_t",
        ),
        (
            "fb.com",
            "__tn__ __xts__* __cft__* ref fref refsrc mibextid",
        ),
    ],
};

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
