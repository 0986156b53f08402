//! URL keys: every spelling of one item maps to one key, different items never merge.
//!
//! A referral's URL becomes a [`UrlKey`]: a canonical URL, a stable dedup key and the list of
//! [`Rule`]s that produced it, so an officer can see why two referrals were merged. The steps,
//! in order:
//!
//! 1. **Parse** with the `url` crate (WHATWG) after trimming whitespace. Input without a scheme
//!    (`t.me/chan/5`) is read as `http://`; other schemes, unparsable input and input over
//!    [`MAX_INPUT_LEN`] bytes are a typed [`UrlError`].
//! 2. **Generic canonicalisation** (see [`canonicalize`]): lowercase scheme and host, IDNA to
//!    ASCII, no default port, no trailing dot in the host, dot segments resolved, escaped
//!    unreserved characters decoded and other escapes uppercased, fragment dropped except `#!`
//!    routes, path case kept.
//! 3. **Redirect wrappers** (`google.com/url?q=`, `l.facebook.com/l.php?u=`, ...) are unwrapped
//!    and **archive/cache copies** (Wayback Machine, archive.today, AMP, Translate) key the inner
//!    URL while [`UrlKey::via`] records the service hosting the copy; recursively, up to a bound.
//! 4. **Short links** that cannot be resolved offline (`t.co`, `bit.ly`, `fb.watch`, ...) keep a
//!    key of their own (`short:t.co/AbC`) until [`UrlKeyer::record_resolution`] says where they go.
//! 5. **Platform keys** for YouTube, X, Facebook, Instagram, TikTok, Telegram and Reddit: every
//!    URL shape of one item gives one key (`yt:dQw4w9WgXcQ`, `x:20`, `fb:video:10153`, `ig:CODE`,
//!    `tt:ID`, `tg:channel/5`, `rd:abc12`), identifiers kept case-sensitive where the platform is.
//! 6. **Host rules** (`hosts.rules`, and a user's [`HostRules`]) key the items of file hosts,
//!    paste sites and smaller platforms (`mega:file:ID`, `vimeo:video:ID`, ...).
//! 7. Otherwise a **generic key**: `url:` + host without `www.` + port + path + sorted query
//!    parameters with tracking parameters removed; http and https key alike.
//!
//! # Where the URL knowledge lives
//!
//! | knowledge | built-in platforms (7) | everything else |
//! |---|---|---|
//! | hosts and item keys | `platforms/{name}.rs` (`SPEC.sites`, `SPEC.key`) | `hosts.rules` (data), user rules |
//! | short links | `platforms/{name}.rs` (`short_hosts`, `share_paths`) | `short_links.rs` (generic shorteners) |
//! | redirect wrappers | `platforms/{name}.rs` (`redirects`) | `wrappers.rs` (search engines, mail filters, archives) |
//! | tracking parameters | `platforms/{name}.rs` (`tracking`) | `tracking_params.txt` (global and per-site) |
//! | trap pairs (must never merge) | `traps.txt` | `traps.txt` |
//!
//! To add a host whose items a template can describe, add a rule to `hosts.rules`, its shapes to
//! `docs/url-hosts.md`, a trap pair to `traps.txt` and spellings to `tests/url_hosts.rs`. To add
//! a platform that needs code, add `platforms/{name}.rs` declaring its `SPEC`, list it in
//! `platforms::BUILTIN` with a [`Platform`] variant, and add traps and tests the same way.
//!
//! ```
//! # fn main() -> Result<(), referral_dedup::url::UrlError> {
//! use referral_dedup::url::{self, Platform};
//!
//! let a = url::key("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s&si=abc")?;
//! let b = url::key("youtu.be/dQw4w9WgXcQ")?;
//! assert_eq!(a.key, "yt:dQw4w9WgXcQ");
//! assert_eq!(a.key, b.key);
//! assert_eq!(a.platform, Some(Platform::Youtube));
//!
//! // Different items never merge: video ids are case-sensitive, query values count.
//! assert_ne!(url::key("youtu.be/dQw4w9WgXcQ")?.key, url::key("youtu.be/dQw4w9WgXcq")?.key);
//! assert_ne!(url::key("example.com/item?id=1")?.key, url::key("example.com/item?id=2")?.key);
//!
//! // Tracking parameters go, content parameters stay and are sorted.
//! let g = url::key("HTTPS://www.Example.com/a?b=2&utm_source=x&a=1#top")?;
//! assert_eq!(g.key, "url:example.com/a?a=1&b=2");
//! assert_eq!(g.canonical, "https://www.example.com/a?b=2&a=1");
//! # Ok(())
//! # }
//! ```
//!
//! The module is pure: keying depends only on the input (and on short-link resolutions recorded
//! in the [`UrlKeyer`]), which makes it easy to fuzz, to run on many cores and to wrap as a
//! query-engine UDF later.

mod canon;
mod hosts;
mod input;
mod keyer;
mod platforms;
mod rules;
mod short_links;
mod tracking;
mod wrappers;

use std::sync::OnceLock;

use serde::Serialize;

pub use hosts::{builtin_traps, HostRules, RulesError, MAX_RULES_LEN};
pub use input::MAX_INPUT_LEN;
pub use keyer::{KeyOptions, UrlKeyer};
pub use platforms::{HostName, Platform};
pub use rules::{Rule, Rules};

/// Why a URL could not be keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The input is empty after trimming whitespace.
    #[error("empty URL")]
    Empty,
    /// The input is longer than [`MAX_INPUT_LEN`] bytes.
    #[error("URL too long: {len} bytes (limit 8192)")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
    },
    /// The input has a scheme other than http or https (`ftp:`, `javascript:`, ...).
    #[error("unsupported scheme: only http and https URLs are keyed")]
    UnsupportedScheme,
    /// The URL parser rejected the input.
    #[error("unparsable URL: {0}")]
    Parse(url::ParseError),
    /// The host is empty once trailing dots are removed.
    #[error("URL has no host")]
    NoHost,
    /// [`UrlKeyer::record_resolution`] was given a URL that is not a known short link.
    #[error("not a short link: only short links (t.co, bit.ly, fb.watch, ...) take resolutions")]
    NotShortLink,
    /// [`UrlKeyer::record_resolution`] was given a target that keys to the short link itself.
    #[error("a short link cannot resolve to itself")]
    ResolutionLoop,
}

/// The dedup key of one URL, with the canonical URL and the rules that produced it.
///
/// ```
/// # fn main() -> Result<(), referral_dedup::url::UrlError> {
/// let k = referral_dedup::url::key("https://web.archive.org/web/2020/https://x.com/a/status/20")?;
/// assert_eq!(k.key, "x:20");
/// assert_eq!(k.via.as_deref(), Some("wayback:2020"));
/// let json = serde_json::to_string(&k).unwrap();
/// assert!(json.contains(r#""platform":"x""#));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrlKey {
    /// The dedup key, e.g. `yt:dQw4w9WgXcQ`, `x:123`, `url:example.com/a?b=1`.
    pub key: String,
    /// The canonical URL; keying it again gives the same `key`.
    pub canonical: String,
    /// The platform whose content key was used, if any.
    pub platform: Option<Platform>,
    /// Which rules produced the key, in the order they applied.
    pub rules: Rules,
    /// The archive/cache service hosting a copy (`wayback[:timestamp]`, `archive.today`, `amp`,
    /// `translate`, `google-cache`); its copy needs its own removal request.
    pub via: Option<String>,
}
fn default_keyer() -> &'static UrlKeyer {
    static DEFAULT: OnceLock<UrlKeyer> = OnceLock::new();
    DEFAULT.get_or_init(UrlKeyer::new)
}

/// Keys one URL with the default keyer (no short-link resolutions): shorthand for
/// `UrlKeyer::new().key(input)` without rebuilding the rule table.
///
/// # Errors
/// [`UrlError`] when the input is empty, too long, not http(s) or unparsable.
///
/// ```
/// # fn main() -> Result<(), referral_dedup::url::UrlError> {
/// let k = referral_dedup::url::key("https://mobile.twitter.com/Someone/status/20?s=20&t=abc")?;
/// assert_eq!(k.key, "x:20");
/// assert_eq!(k.canonical, "https://x.com/i/web/status/20");
/// assert_eq!(referral_dedup::url::key("  "), Err(referral_dedup::url::UrlError::Empty));
/// # Ok(())
/// # }
/// ```
pub fn key(input: &str) -> Result<UrlKey, UrlError> {
    default_keyer().key(input)
}

/// Generic canonicalisation only (step 2 above): no tracking removal, unwrapping or platform
/// keys. The Safe Browsing canonicalisation vectors test this layer.
///
/// # Errors
/// As [`key`].
///
/// ```
/// # fn main() -> Result<(), referral_dedup::url::UrlError> {
/// use referral_dedup::url::canonicalize;
/// assert_eq!(canonicalize("HTTP://www.GOOgle.com.:80/a/../%7Eb?q=%2f#x")?, "http://www.google.com/~b?q=%2F");
/// # Ok(())
/// # }
/// ```
pub fn canonicalize(input: &str) -> Result<String, UrlError> {
    canon::generic_canonical(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyer_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<UrlKeyer>();
    }

    #[test]
    fn rules_record_each_step() {
        let k = key("www.google.com/url?q=https%3A%2F%2Fexample.com%2Fa%3Futm_source%3Dx%26id%3D3")
            .unwrap();
        assert_eq!(k.key, "url:example.com/a?id=3");
        assert_eq!(
            k.rules,
            vec![
                Rule::SchemeAssumed,
                Rule::Unwrapped("google"),
                Rule::TrackingRemoved,
                Rule::Generic
            ]
        );
        let json = serde_json::to_string(&k.rules).unwrap();
        assert_eq!(
            json,
            r#"["scheme-assumed","unwrapped:google","tracking-removed","generic"]"#
        );
    }

    #[test]
    fn hops_are_bounded() {
        let mut u = String::from("https://example.com/end");
        for _ in 0..10 {
            let enc: String = url::form_urlencoded::byte_serialize(u.as_bytes()).collect();
            u = format!("https://www.google.com/url?q={enc}");
        }
        let k = key(&u).unwrap();
        // Beyond the bound the input itself is keyed, so its canonical URL keys the same.
        assert_eq!(k.rules, vec![Rule::HopLimit, Rule::Generic]);
        assert!(k.key.starts_with("url:google.com/url?q="));
        assert_eq!(key(&k.canonical).unwrap().key, k.key);
        // Within the bound the chain is followed to the end.
        let mut u = String::from("https://example.com/end");
        for _ in 0..5 {
            let enc: String = url::form_urlencoded::byte_serialize(u.as_bytes()).collect();
            u = format!("https://www.google.com/url?q={enc}");
        }
        assert_eq!(key(&u).unwrap().key, "url:example.com/end");
    }

    #[test]
    fn resolution_errors() {
        let keyer = UrlKeyer::new();
        assert_eq!(
            keyer.record_resolution("https://example.com/", "https://x.com/a/status/1"),
            Err(UrlError::NotShortLink)
        );
        assert_eq!(
            keyer.record_resolution("t.co/abc", "https://t.co/abc"),
            Err(UrlError::ResolutionLoop)
        );
        assert_eq!(
            keyer.record_resolution("t.co/abc", ""),
            Err(UrlError::Empty)
        );
        assert!(keyer.resolutions().is_empty());
        // Resolution cycles between two short links stay bounded.
        keyer
            .record_resolution("t.co/a", "https://bit.ly/b")
            .unwrap();
        // Closing the cycle is refused: keying the target follows t.co/a to bit.ly/b itself.
        assert_eq!(
            keyer.record_resolution("bit.ly/b", "https://t.co/a"),
            Err(UrlError::ResolutionLoop)
        );
        assert_eq!(keyer.key("t.co/a").unwrap().key, "short:bit.ly/b");
    }

    #[test]
    fn options_switch_steps_off() {
        let keyer = KeyOptions::default().strip_tracking(false).build();
        assert_eq!(
            keyer.key("https://example.com/?utm_source=a").unwrap().key,
            "url:example.com/?utm_source=a"
        );
        let keyer = KeyOptions::default().max_hops(0).build();
        assert!(keyer
            .key("https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2F")
            .unwrap()
            .key
            .starts_with("url:l.facebook.com/l.php"));
    }
}
