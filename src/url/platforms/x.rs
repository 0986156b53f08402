//! X, formerly Twitter: `x:` keys for posts, Spaces and broadcasts.
//!
//! Everything the keyer knows about X is declared here: hosts and front ends (fxtwitter,
//! vxtwitter, Nitter, ...), the key of each URL shape, the `t.co` short link and the tracking
//! parameters.

use super::{all_bytes, cat, first_segments, is_digits, Platform, PlatformSpec, ShortHost};
use crate::url::canon::{split_byte, split_once_byte, View};

/// X's declaration.
pub(super) static SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::X,
    name: "x",
    prefix: "x",
    sites: &["twitter.com", "x.com"],
    front_end_sites: &[
        "fxtwitter.com",
        "vxtwitter.com",
        "fixupx.com",
        "fixvx.com",
        "nitter.net",
        "twittpr.com",
    ],
    front_end_labels: &["nitter"],
    key: twitter,
    short_hosts: &[ShortHost {
        site: "t.co",
        subs: &["", "www"],
    }],
    share_paths: &[],
    redirects: &[],
    // The mirrors reuse X's paths and its share markers.
    tracking: &[
        ("twitter.com", "s t cn src ref_src ref_url"),
        ("x.com", "s t cn src ref_src ref_url"),
        ("fxtwitter.com", "s t"),
        ("vxtwitter.com", "s t"),
    ],
};

fn twitter(view: &View<'_>) -> Option<(String, String)> {
    let (mut seg_arr, mut seg_n) = first_segments::<4>(view);
    if seg_n == 0 {
        // Legacy hash-bang links: `twitter.com/#!/user/status/ID`.
        if let Some(route) = view.route.as_deref().and_then(|r| r.strip_prefix('/')) {
            let route = split_once_byte(route, b'?').map_or(route, |(p, _)| p);
            for s in split_byte(route, b'/').filter(|s| !s.is_empty()).take(4) {
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
