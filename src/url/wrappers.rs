//! Redirect wrappers (the target URL is carried in the URL) and archive/cache/proxy wrappers
//! (a copy of the target is served by another party).
//!
//! Hosts and positions follow `../shared/url-platforms.md`; the matching is plain string work on
//! the parsed [`View`] so that a wrapper costs a few compares and a non-wrapper almost nothing.
//!
//! Generic wrappers (search engines, mail filters, archives, other sites' link shims) are listed
//! here; the redirect wrappers a built-in platform runs (`l.facebook.com/l.php`,
//! `youtube.com/redirect`, `out.reddit.com`, ...) are declared in its file under `platforms/`.

use super::canon::{decode_value, split_byte, split_once_byte, View};
use super::platforms;

/// What unwrapping one layer found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unwrapped {
    /// A redirect wrapper named `wrapper` pointing at `target`.
    Redirect {
        wrapper: &'static str,
        target: String,
    },
    /// An archive, cache or proxy copy of `target` hosted by `service` (optionally at `stamp`).
    Copy {
        service: &'static str,
        stamp: Option<String>,
        target: String,
    },
    /// An opaque snapshot only the archive can resolve (archive.today `/{code}`).
    Snapshot { service: &'static str, code: String },
}

/// Query parameter that carries the target, per wrapper: a platform's own wrappers (declared
/// in `platforms/`), then the generic ones. Their sites do not overlap, so the order is free.
fn redirect_param(
    sub: &str,
    site: &str,
    host: &str,
    path: &str,
    owner: Option<platforms::Owner>,
) -> Option<(&'static str, &'static [&'static str])> {
    let first = path.trim_start_matches('/');
    let first = split_once_byte(first, b'/').map_or(first, |(f, _)| f);
    if let Some(r) = platforms::redirect(sub, first, path, owner) {
        return Some(r);
    }
    let r: (&'static str, &'static [&'static str]) = match site {
        "googleadservices.com" => ("googleadservices", &["adurl"]),
        "umblr.com" if sub == "t" && first == "redirect" => ("tumblr", &["z"]),
        "vk.com" if first == "away.php" => ("vk", &["to"]),
        "steamcommunity.com" if first == "linkfilter" => ("steam", &["url"]),
        "duckduckgo.com" if first == "l" => ("duckduckgo", &["uddg"]),
        "disq.us" => ("disqus", &["url"]),
        "outlook.com" if sub.ends_with("safelinks.protection") => ("outlook-safelinks", &["url"]),
        "linkedin.com" if path.starts_with("/redir/redirect") => ("linkedin", &["url"]),
        "slack-redir.net" if first == "link" => ("slack", &["url"]),
        _ if first == "url" && is_google(host) => ("google", &["q", "url"]),
        _ => return None,
    };
    Some(r)
}

/// `google.<tld>` or `google.<sld>.<tld>`, optionally under `www.`.
pub(crate) fn is_google(host: &str) -> bool {
    let h = host.strip_prefix("www.").unwrap_or(host);
    let Some(rest) = h.strip_prefix("google.") else {
        return false;
    };
    let mut labels = 0;
    for label in split_byte(rest, b'.') {
        labels += 1;
        if labels > 2
            || label.len() < 2
            || label.len() > 3
            || !label.bytes().all(|b| b.is_ascii_lowercase())
        {
            return false;
        }
    }
    true
}

/// Decodes a wrapper's target value, again while it is still escaped (`https%3A%2F%2F...`).
/// Returns it only when it is an absolute http(s) URL.
fn decode_target(raw: &str) -> Option<String> {
    let mut v = decode_value(raw);
    for _ in 0..3 {
        if starts_with_ci(&v, "http%3a") || starts_with_ci(&v, "https%3a") {
            v = decode_value(&v);
        } else {
            break;
        }
    }
    let trimmed = v.trim();
    if !(starts_with_ci(trimmed, "http://") || starts_with_ci(trimmed, "https://")) {
        return None;
    }
    Some(if trimmed.len() == v.len() {
        v
    } else {
        trimmed.to_owned()
    })
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The path remainder plus the query, which for path-carried targets belongs to the inner URL.
fn rest_with_query(rest: &str, view: &View<'_>) -> String {
    let mut s =
        String::with_capacity(rest.len() + view.query.as_deref().map_or(0, |q| q.len() + 1));
    s.push_str(rest);
    if let Some(q) = &view.query {
        s.push('?');
        s.push_str(q);
    }
    s
}

/// Repairs an embedded URL as archives store it: escaped scheme (`https%3A//`), one slash lost
/// (`http:/host`), or no scheme at all (`host/path`, read as https when `https` is set).
fn repair_embedded(rest: String, https: bool) -> Option<String> {
    let mut s = if starts_with_ci(&rest, "http%3a") || starts_with_ci(&rest, "https%3a") {
        decode_value(&rest)
    } else {
        rest
    };
    for scheme in ["http:", "https:"] {
        if starts_with_ci(&s, scheme) {
            let after = &s[scheme.len()..];
            if !after.starts_with("//") {
                let fixed = format!("{scheme}//{}", after.trim_start_matches('/'));
                s = fixed;
            }
            return Some(s);
        }
    }
    if s.is_empty() || s.starts_with('/') {
        return None;
    }
    Some(format!("{}{s}", if https { "https://" } else { "http://" }))
}

/// Whether the whole query of `view` is a target URL rather than `name=value` pairs
/// (`href.li/?https://...`). Such a query is kept whole by the generic key when it does not
/// unwrap, so that keying the canonical URL gives the same key again.
pub(crate) fn query_is_target(view: &View<'_>) -> bool {
    view.site == "href.li"
}

/// Unwraps one layer if `view` is a known wrapper with a usable target; `owner` is
/// [`platforms::owner`] of its site.
pub(crate) fn unwrap(view: &View<'_>, owner: Option<platforms::Owner>) -> Option<Unwrapped> {
    let host = view.host;
    let (sub, site) = (view.sub, view.site);
    let path: &str = &view.path;

    // Path-carried copies first (their "query" belongs to the inner URL).
    match site {
        "archive.org" if matches!(sub, "web" | "wayback") => return wayback(view),
        "archive.today" | "archive.ph" | "archive.is" | "archive.li" | "archive.fo"
        | "archive.md" | "archive.vn"
            if matches!(sub, "" | "www") =>
        {
            return archive_today(view)
        }
        "ampproject.org" if sub == "cdn" || sub.ends_with(".cdn") => {
            // /c/s/host/path (https), /c/host/path (http); also /v/ and /i/.
            let p = path
                .strip_prefix("/c/")
                .or_else(|| path.strip_prefix("/v/"))
                .or_else(|| path.strip_prefix("/i/"))?;
            let (https, rest) = match p.strip_prefix("s/") {
                Some(r) => (true, r),
                None => (false, p),
            };
            let target = repair_embedded(rest_with_query(rest, view), https)?;
            return Some(Unwrapped::Copy {
                service: "amp",
                stamp: None,
                target,
            });
        }
        "translate.goog" if !sub.is_empty() && !sub.contains('.') => {
            let mut target = String::from("https://");
            target.push_str(&unmap_translate_host(sub));
            target.push_str(&rest_with_query(path, view));
            return Some(Unwrapped::Copy {
                service: "translate",
                stamp: None,
                target,
            });
        }
        "googleusercontent.com" if sub == "webcache" => {
            let q = decode_value(view.param("q")?);
            let inner = q.strip_prefix("cache:")?;
            // Older form: cache:{token}:{url}.
            let inner = match inner.split_once(':') {
                Some((token, url))
                    if !token.contains('.')
                        && !token.contains('/')
                        && !starts_with_ci(inner, "http") =>
                {
                    url
                }
                _ => inner,
            };
            let target = repair_embedded(inner.trim().to_owned(), false)?;
            return Some(Unwrapped::Copy {
                service: "google-cache",
                stamp: None,
                target,
            });
        }
        _ => {}
    }
    if is_google(host) {
        if let Some(rest) = path.strip_prefix("/amp/s/") {
            let target = repair_embedded(rest_with_query(rest, view), true)?;
            return Some(Unwrapped::Copy {
                service: "amp",
                stamp: None,
                target,
            });
        }
    }
    if query_is_target(view) {
        // The whole query is the target (`href.li/?https://...`), starting at any pair
        // (`href.li/?&https://...` too). When no target is found or it does not parse, the
        // generic key keeps this query whole (see `query_is_target`).
        let q = view.query.as_deref()?;
        let mut starts = std::iter::once(0).chain(q.match_indices('&').map(|(i, _)| i + 1));
        let target = starts.find_map(|i| decode_target(&q[i..]))?;
        return Some(Unwrapped::Redirect {
            wrapper: "href.li",
            target,
        });
    }
    if site == "mozaws.net" && sub == "outgoing.prod" {
        let rest = path.strip_prefix("/v1/")?;
        let (hash, target) = rest.split_once('/')?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let target = decode_target(&rest_with_query(target, view))?;
        return Some(Unwrapped::Redirect {
            wrapper: "mozilla",
            target,
        });
    }
    let (wrapper, names) = redirect_param(sub, site, host, path, owner)?;
    let mut target = names
        .iter()
        .find_map(|n| view.param(n).and_then(decode_target))?;
    if wrapper == "disqus" {
        // disq.us/url?url=<url>:<hash>
        if let Some(i) = target.rfind(':') {
            let tail = &target[i + 1..];
            if !tail.is_empty() && !tail.contains('/') && !tail.bytes().all(|b| b.is_ascii_digit())
            {
                target.truncate(i);
            }
        }
    }
    Some(Unwrapped::Redirect { wrapper, target })
}

/// `web.archive.org/web/{ts}{mod}/{original}` (the `web/` segment is optional).
fn wayback(view: &View<'_>) -> Option<Unwrapped> {
    let p = view.path.strip_prefix('/')?;
    let p = p.strip_prefix("web/").unwrap_or(p);
    let (first, rest) = match p.split_once('/') {
        Some((f, r)) => (f, r),
        None => (p, ""),
    };
    let (stamp, rest) = if starts_with_ci(p, "http:")
        || starts_with_ci(p, "https:")
        || starts_with_ci(p, "http%3a")
        || starts_with_ci(p, "https%3a")
    {
        (None, p)
    } else {
        let digits = first.bytes().take_while(|b| b.is_ascii_digit()).count();
        let modifier = &first[digits..];
        if digits > 14
            || !modifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'*'))
        {
            return None;
        }
        if first.is_empty() {
            return None;
        }
        ((digits > 0).then(|| first[..digits].to_owned()), rest)
    };
    if rest.is_empty() {
        return None;
    }
    let target = repair_embedded(rest_with_query(rest, view), false)?;
    Some(Unwrapped::Copy {
        service: "wayback",
        stamp,
        target,
    })
}

/// archive.today family: `/newest/{url}`, `/oldest/{url}`, `/{14-digit ts}/{url}`, `/{code}`.
fn archive_today(view: &View<'_>) -> Option<Unwrapped> {
    let p = view.path.strip_prefix('/')?;
    let (first, rest) = p.split_once('/').unwrap_or((p, ""));
    if matches!(first, "newest" | "oldest")
        || (first.len() == 14 && first.bytes().all(|b| b.is_ascii_digit()))
    {
        if rest.is_empty() {
            return None;
        }
        let target = repair_embedded(rest_with_query(rest, view), false)?;
        let stamp = first
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| first.to_owned());
        return Some(Unwrapped::Copy {
            service: "archive.today",
            stamp,
            target,
        });
    }
    let reserved = matches!(first, "submit" | "search" | "faq" | "wip");
    if rest.is_empty()
        && !reserved
        && (3..=12).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Some(Unwrapped::Snapshot {
            service: "archive.today",
            code: first.to_owned(),
        });
    }
    None
}

/// `www-example-com` -> `www.example.com`, `my--site-org` -> `my-site.org`.
fn unmap_translate_host(sub: &str) -> String {
    let mut out = String::with_capacity(sub.len());
    let mut chars = sub.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' {
            if chars.peek() == Some(&'-') {
                chars.next();
                out.push('-');
            } else {
                out.push('.');
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::input::parse_input;
    use super::*;

    fn unwrap_str(s: &str) -> Option<Unwrapped> {
        let (url, _) = parse_input(s).unwrap();
        let view = View::new(&url).unwrap();
        unwrap(&view, platforms::owner(view.site))
    }

    fn target(s: &str) -> String {
        match unwrap_str(s) {
            Some(Unwrapped::Redirect { target, .. } | Unwrapped::Copy { target, .. }) => target,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn redirect_wrappers_give_their_target() {
        assert_eq!(
            target("https://www.google.com/url?sa=t&q=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&usg=x"),
            "https://example.com/a?b=1"
        );
        assert_eq!(
            target("https://www.google.co.uk/url?url=https://example.com/"),
            "https://example.com/"
        );
        assert_eq!(
            target("https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2F&h=AT0"),
            "https://example.com/"
        );
        assert_eq!(
            target("https://lm.facebook.com/l.php?u=http%253A%252F%252Fexample.com%252F"),
            "http://example.com/"
        );
        assert_eq!(
            target("https://www.youtube.com/redirect?event=x&q=https%3A%2F%2Fexample.org%2F"),
            "https://example.org/"
        );
        assert_eq!(
            target("https://out.reddit.com/t3_x?url=https%3A%2F%2Fexample.com&token=1"),
            "https://example.com"
        );
        assert_eq!(
            target("https://href.li/?https://example.com/x"),
            "https://example.com/x"
        );
        assert_eq!(
            target("https://disq.us/url?url=https%3A%2F%2Fexample.com%2Fa%3AaBcD&cuid=1"),
            "https://example.com/a"
        );
        assert_eq!(
            target("https://vk.com/away.php?to=https%3A%2F%2Fexample.com%2F"),
            "https://example.com/"
        );
        assert_eq!(
            target("https://duckduckgo.com/l/?uddg=https%3A%2F%2Fexample.com%2F&rut=1"),
            "https://example.com/"
        );
        assert_eq!(
            target("https://t.me/iv?url=https%3A%2F%2Fexample.com%2Fa&rhash=1"),
            "https://example.com/a"
        );
        assert_eq!(target("https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fexample.com%2F&data=1"), "https://example.com/");
    }

    #[test]
    fn non_url_targets_are_not_unwrapped() {
        assert_eq!(
            unwrap_str("https://www.google.com/url?q=javascript:alert(1)"),
            None
        );
        assert_eq!(unwrap_str("https://www.google.com/url?q=/search"), None);
        assert_eq!(
            unwrap_str("https://www.google.com/search?q=https://example.com"),
            None
        );
        assert_eq!(
            unwrap_str("https://notgoogle.com/url?q=https://example.com"),
            None
        );
        assert_eq!(
            unwrap_str("https://www.facebook.com/l.php?u=https://example.com"),
            None
        );
    }

    #[test]
    fn archives_give_target_service_and_stamp() {
        assert_eq!(
            unwrap_str("https://web.archive.org/web/20200101000000/https://example.com/a?b=1"),
            Some(Unwrapped::Copy {
                service: "wayback",
                stamp: Some("20200101000000".into()),
                target: "https://example.com/a?b=1".into()
            })
        );
        assert_eq!(
            target("http://web.archive.org/web/2019id_/http:/example.com/x"),
            "http://example.com/x"
        );
        assert_eq!(
            target("https://web.archive.org/web/2020/https%3A//example.com/"),
            "https://example.com/"
        );
        assert_eq!(
            target("https://web.archive.org/https://example.com/"),
            "https://example.com/"
        );
        assert_eq!(
            target("https://archive.ph/newest/https://example.com/a"),
            "https://example.com/a"
        );
        assert_eq!(
            unwrap_str("https://archive.ph/AbC12"),
            Some(Unwrapped::Snapshot {
                service: "archive.today",
                code: "AbC12".into()
            })
        );
        assert_eq!(
            target("https://www.google.com/amp/s/example.com/amp/a"),
            "https://example.com/amp/a"
        );
        assert_eq!(
            target("https://example-com.cdn.ampproject.org/c/s/example.com/a?x=1"),
            "https://example.com/a?x=1"
        );
        assert_eq!(
            target("https://www-my--site-org.translate.goog/a?_x_tr_sl=auto&_x_tr_tl=en"),
            "https://www.my-site.org/a?_x_tr_sl=auto&_x_tr_tl=en"
        );
        assert_eq!(
            target("https://webcache.googleusercontent.com/search?q=cache:https://example.com/a"),
            "https://example.com/a"
        );
        assert_eq!(unwrap_str("https://web.archive.org/"), None);
        assert_eq!(unwrap_str("https://archive.ph/"), None);
        assert_eq!(unwrap_str("https://archive.ph/submit/"), None);
    }

    #[test]
    fn google_hosts() {
        assert!(is_google("www.google.com"));
        assert!(is_google("google.co.uk"));
        assert!(is_google("google.de"));
        assert!(!is_google("google.example.com"));
        assert!(!is_google("mail.google.com"));
        assert!(!is_google("googleadservices.com"));
    }
}
