//! Reddit: `rd:` keys for posts, comments, galleries and subreddits.
//!
//! Everything the keyer knows about Reddit is declared here: hosts, the key of each URL shape,
//! the `reddit.app.link` short links and `/r/{sub}/s/` share links, the `out.reddit.com` and
//! `click.redditmail.com` wrappers and the tracking parameters.

use super::{all_bytes, cat, first_segments, PathIs, Platform, PlatformSpec, Redirect, SharePath};
use super::{ShortHost, SubIs};
use crate::url::canon::View;

/// Reddit's declaration.
pub(super) static SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Reddit,
    name: "reddit",
    prefix: "rd",
    sites: &["reddit.com", "redditmedia.com", "redd.it"],
    front_end_sites: &[],
    front_end_labels: &[],
    key: reddit,
    short_hosts: &[ShortHost {
        site: "app.link",
        subs: &["reddit"],
    }],
    share_paths: &[SharePath {
        site: "reddit.com",
        segments: &["r", "*", "s"],
    }],
    redirects: &[
        Redirect {
            name: "reddit",
            site: "reddit.com",
            sub: SubIs::Exactly("out"),
            path: PathIs::Any,
            params: &["url"],
        },
        Redirect {
            name: "reddit",
            site: "redditmail.com",
            sub: SubIs::Exactly("click"),
            path: PathIs::Any,
            params: &["url"],
        },
    ],
    tracking: &[
        (
            "reddit.com",
            "share_id ref_campaign ref_source correlation_id rdt $deep_link %24deep_link",
        ),
        (
            "reddit.com",
            "$3p %243p $original_url %24original_url _branch_match_id ref utm_name",
        ),
    ],
};

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
