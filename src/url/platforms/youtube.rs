//! YouTube: `yt:` keys for videos, playlists, clips, channels and handles.
//!
//! Everything the keyer knows about YouTube is declared here: hosts and front ends (Invidious,
//! Piped), the key of each URL shape, the `/redirect?q=` wrapper and the tracking parameters.

use super::{all_bytes, cat, is_b64url, PathIs, Platform, PlatformSpec, Redirect, SubIs};
use crate::url::canon::{query_pairs, rsplit_once_byte, View};

/// YouTube's declaration.
pub(super) static SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Youtube,
    name: "youtube",
    prefix: "yt",
    sites: &[
        "youtube.com",
        "youtube-nocookie.com",
        "youtubekids.com",
        "youtu.be",
    ],
    front_end_sites: &["yewtu.be", "piped.video"],
    front_end_labels: &["invidious", "piped"],
    key: youtube,
    short_hosts: &[],
    share_paths: &[],
    redirects: &[Redirect {
        name: "youtube",
        site: "youtube.com",
        sub: SubIs::Any,
        path: PathIs::FirstSegment("redirect"),
        params: &["q"],
    }],
    // Share and feature markers (content is selected by v, list, t only).
    tracking: &[
        (
            "youtube.com",
            "si feature pp kw ab_channel app embeds_* themerefresh",
        ),
        ("youtu.be", "si feature pp kw"),
        ("youtube-nocookie.com", "si feature"),
    ],
};

/// YouTube video id: exactly 11 of `[0-9A-Za-z_-]`, case-sensitive.
fn is_yt_id(s: &str) -> bool {
    s.len() == 11 && all_bytes(s, is_b64url)
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
    query_pairs(q).find(|(n, _)| *n == name).map(|(_, v)| v)
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
