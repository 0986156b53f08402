//! Short links that cannot be resolved offline (t.co, bit.ly, fb.watch, vm.tiktok.com, share
//! tokens, ...). They keep a key of their own, `short:{host}/{code}` with the code kept
//! case-sensitive, until a resolution (short link -> target) is recorded.
//!
//! Generic URL shorteners are listed here; a platform's own short-link hosts (`t.co`,
//! `fb.watch`, ...) and share paths (`/share/...`, `/t/...`) are declared in its file under
//! `platforms/`.

use super::canon::View;
use super::platforms;

/// A recognised short link.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ShortLink {
    /// `short:{host}/{code}`.
    pub key: String,
    /// `https://{host}/{code}`.
    pub canonical: String,
}

/// Generic shorteners (not run by a built-in platform): every non-empty path on the bare host
/// or its `www.` is an opaque short code.
fn is_short_host(sub: &str, site: &str) -> bool {
    match site {
        "bit.ly" | "bitly.com" | "j.mp" | "ow.ly" | "buff.ly" | "tinyurl.com" | "is.gd"
        | "goo.gl" | "lnkd.in" | "dlvr.it" | "amzn.to" | "trib.al" | "shorturl.at"
        | "rebrand.ly" | "cutt.ly" | "tiny.cc" | "rb.gy" | "t.ly" | "v.gd" => {
            matches!(sub, "" | "www")
        }
        _ => false,
    }
}

/// Recognises a short link. The key host drops `www.` and, for path-based share links on a
/// platform, the platform's subdomain (`m.facebook.com/share/...` is `facebook.com/share/...`).
/// `owner` is [`platforms::owner`] of the site.
pub(crate) fn detect(view: &View<'_>, owner: Option<platforms::Owner>) -> Option<ShortLink> {
    let (sub, site) = (view.sub, view.site);
    let path = view.path.trim_end_matches('/');
    let (host, code): (&str, &str) =
        if is_short_host(sub, site) || platforms::is_short_host(sub, owner) {
            let host = view.host.strip_prefix("www.").unwrap_or(view.host);
            (host, path.trim_start_matches('/'))
        } else {
            // A few platform sites have share paths; find the site before walking the path.
            let share = platforms::share_path(owner)?;
            let mut segs = view.segments();
            for want in share {
                let seg = segs.next()?;
                if *want != "*" && seg != *want {
                    return None;
                }
            }
            // The share token: at least one segment after the share path.
            segs.next()?;
            (site, path.trim_start_matches('/'))
        };
    if code.is_empty() || code.contains("//") {
        return None;
    }
    let mut key = String::with_capacity(6 + host.len() + 1 + code.len());
    key.push_str("short:");
    key.push_str(host);
    key.push('/');
    key.push_str(code);
    let canonical = format!("https://{host}/{code}");
    Some(ShortLink { key, canonical })
}

#[cfg(test)]
mod tests {
    use super::super::input::parse_input;
    use super::*;

    fn short(s: &str) -> Option<String> {
        let (url, _) = parse_input(s).unwrap();
        let view = View::new(&url).unwrap();
        detect(&view, platforms::owner(view.site)).map(|l| l.key)
    }

    #[test]
    fn opaque_short_links_keep_their_case_sensitive_code() {
        assert_eq!(
            short("https://t.co/AbC123?amp=1").as_deref(),
            Some("short:t.co/AbC123")
        );
        assert_eq!(
            short("http://www.bit.ly/xYz/").as_deref(),
            Some("short:bit.ly/xYz")
        );
        assert_ne!(short("https://bit.ly/abc"), short("https://bit.ly/ABC"));
        assert_eq!(
            short("https://vm.tiktok.com/ZMabc/").as_deref(),
            Some("short:vm.tiktok.com/ZMabc")
        );
        assert_eq!(
            short("https://www.tiktok.com/t/ZTabc/").as_deref(),
            Some("short:tiktok.com/t/ZTabc")
        );
        assert_eq!(
            short("https://m.facebook.com/share/p/1AbC/").as_deref(),
            Some("short:facebook.com/share/p/1AbC")
        );
        assert_eq!(
            short("https://fb.watch/aBc-1/").as_deref(),
            Some("short:fb.watch/aBc-1")
        );
        assert_eq!(
            short("https://www.reddit.com/r/news/s/AbCdE").as_deref(),
            Some("short:reddit.com/r/news/s/AbCdE")
        );
    }

    #[test]
    fn non_short_links_are_not_detected() {
        assert_eq!(short("https://t.co/"), None);
        assert_eq!(short("https://www.tiktok.com/@user/video/1"), None);
        assert_eq!(short("https://www.facebook.com/share"), None);
        assert_eq!(short("https://www.reddit.com/r/news/"), None);
        assert_eq!(short("https://example.com/t/abc"), None);
    }
}
