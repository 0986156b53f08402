//! Telegram: `tg:` keys for channels, messages and comments.
//!
//! Everything the keyer knows about Telegram is declared here: hosts, the key of each URL shape,
//! the Instant View wrapper (`t.me/iv?url=`) and the tracking parameters.

use super::{all_bytes, cat, first_segments, is_digits, PathIs, Platform, PlatformSpec};
use super::{Redirect, SubIs};
use crate::url::canon::View;

/// Telegram's declaration.
pub(super) static SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Telegram,
    name: "telegram",
    prefix: "tg",
    sites: &["t.me", "telegram.me", "telegram.dog"],
    front_end_sites: &[],
    front_end_labels: &[],
    key: telegram,
    short_hosts: &[],
    share_paths: &[],
    redirects: &[Redirect {
        name: "telegram-iv",
        site: "t.me",
        sub: SubIs::Any,
        path: PathIs::FirstSegment("iv"),
        params: &["url"],
    }],
    // `embed` is a render mode.
    tracking: &[("t.me", "embed")],
};

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
