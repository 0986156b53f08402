//! TikTok: `tt:` keys for videos and photo posts.
//!
//! Everything the keyer knows about TikTok is declared here: hosts, the key of each URL shape,
//! the `vm.`/`vt.tiktok.com` short links and `/t/` share links, and the tracking parameters.

use super::{cat, first_segments, is_digits, Platform, PlatformSpec, SharePath, ShortHost};
use crate::url::canon::View;

/// TikTok's declaration.
pub(super) static SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Tiktok,
    name: "tiktok",
    prefix: "tt",
    sites: &["tiktok.com", "tiktokv.com"],
    front_end_sites: &[],
    front_end_labels: &[],
    key: tiktok,
    short_hosts: &[ShortHost {
        site: "tiktok.com",
        subs: &["vm", "vt"],
    }],
    share_paths: &[SharePath {
        site: "tiktok.com",
        segments: &["t"],
    }],
    redirects: &[],
    tracking: &[
        (
            "tiktok.com",
            "u_code preview_pb _d _t _r timestamp user_id share_app_name share_iid source",
        ),
        (
            "tiktok.com",
            "is_from_webapp sender_device sender_web_id lang is_copy_url web_id refer",
        ),
        (
            "tiktok.com",
            "share_link_id share_item_id social_share_type",
        ),
    ],
};

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
