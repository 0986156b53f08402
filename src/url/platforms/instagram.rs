//! Instagram: `ig:` keys for posts, reels and stories.
//!
//! Everything the keyer knows about Instagram is declared here: hosts and the ddinstagram front
//! end, the key of each URL shape, `/share/` links, the `l.instagram.com` wrapper and the tracking
//! parameters.

use super::{all_bytes, cat, first_segments, is_b64url, is_digits, PathIs, Platform, SharePath};
use super::{PlatformSpec, Redirect, SubIs};
use crate::url::canon::View;

/// Instagram's declaration.
pub(super) static SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Instagram,
    name: "instagram",
    prefix: "ig",
    sites: &["instagram.com", "instagr.am"],
    front_end_sites: &["ddinstagram.com"],
    front_end_labels: &[],
    key: instagram,
    short_hosts: &[],
    share_paths: &[SharePath {
        site: "instagram.com",
        segments: &["share"],
    }],
    redirects: &[Redirect {
        name: "instagram",
        site: "instagram.com",
        sub: SubIs::Exactly("l"),
        path: PathIs::Any,
        params: &["u"],
    }],
    tracking: &[("instagram.com", "igsh igshid hl")],
};

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
