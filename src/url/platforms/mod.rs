//! The seven built-in platforms (YouTube, X, Facebook, Instagram, TikTok, Telegram, Reddit), one
//! file each.
//!
//! Each file declares one [`PlatformSpec`] holding everything the keyer knows about that platform:
//! its hosts and third-party front ends, the key function of its items, its short links and share
//! links, its redirect wrappers and its tracking parameters. [`BUILTIN`] lists the seven; every
//! step of the keyer reads them from there:
//!
//! | knowledge | declared in the spec as | read by |
//! |---|---|---|
//! | hosts, front ends | `sites`, `front_end_sites`, `front_end_labels` | [`key`], `hosts` (platform hosts are not any-host hosts) |
//! | item keys | `key` (a function in the platform's file) | [`key`] |
//! | short links | `short_hosts`, `share_paths` | `short_links::detect` |
//! | redirect wrappers | `redirects` | `wrappers::unwrap` |
//! | tracking parameters | `tracking` | `tracking::TrackingTable::builtin` |
//! | reserved rule names | `name`, `prefix` | `hosts` (user rules may not take them) |
//!
//! On the hot path the keyer looks a URL's site up once per hop ([`owner`]: a small bucket table
//! built at first use, holding per site its platform, its wrappers, short-link subdomains and
//! share path) and hands the result to each step, so no step compares site names again.
//!
//! Shapes, identifiers and case rules follow `../shared/url-platforms.md` (drawn from yt-dlp's
//! `_VALID_URL` patterns). Identifiers are validated strictly; a URL on a platform host whose
//! shape is not recognised falls back to the generic key, which can miss a merge but never makes
//! a wrong one.
//!
//! Knowledge that belongs to no platform lives elsewhere: generic redirect wrappers and archive
//! copies in `wrappers.rs`, generic URL shorteners in `short_links.rs`, global and non-platform
//! tracking parameters in `tracking_params.txt`, and the item shapes of hosts that data can
//! describe in `hosts.rules`.

mod facebook;
mod instagram;
mod reddit;
mod telegram;
mod tiktok;
mod x;
mod youtube;

use std::sync::OnceLock;

use serde::Serialize;

use super::canon::{split_once_byte, View};

/// The name of a host rule (built-in `hosts.rules` or a user's [`HostRules`](super::HostRules)),
/// shown as the platform of its keys: `mega`, `gdrive`, `vimeo`, ...
///
/// ```
/// # fn main() -> Result<(), referral_dedup::url::UrlError> {
/// let k = referral_dedup::url::key("https://mega.nz/file/AbCdEfGh#key")?;
/// assert_eq!(k.platform.unwrap().as_str(), "mega");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostName(&'static str);

impl HostName {
    pub(crate) fn new(name: &'static str) -> Self {
        HostName(name)
    }

    /// The rule name.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// A platform whose items get content keys: the seven hand-written platforms, or a host rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// YouTube (`yt:` keys).
    Youtube,
    /// X, formerly Twitter (`x:` keys).
    X,
    /// Facebook (`fb:` keys).
    Facebook,
    /// Instagram (`ig:` keys).
    Instagram,
    /// TikTok (`tt:` keys).
    Tiktok,
    /// Telegram (`tg:` keys).
    Telegram,
    /// Reddit (`rd:` keys).
    Reddit,
    /// A host rule's item (`mega:file:...`, `gdrive:folder:...`, a user rule's keys).
    Host(HostName),
}

impl Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Platform {
    /// The lowercase name used in JSON and rule strings.
    ///
    /// ```
    /// use referral_dedup::url::Platform;
    /// assert_eq!(Platform::Youtube.as_str(), "youtube");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Youtube => youtube::SPEC.name,
            Platform::X => x::SPEC.name,
            Platform::Facebook => facebook::SPEC.name,
            Platform::Instagram => instagram::SPEC.name,
            Platform::Tiktok => tiktok::SPEC.name,
            Platform::Telegram => telegram::SPEC.name,
            Platform::Reddit => reddit::SPEC.name,
            Platform::Host(h) => h.as_str(),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recognised platform item.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PlatformKey {
    pub platform: Platform,
    pub key: String,
    pub canonical: String,
    /// The URL was on a third-party front end (Invidious, Nitter, fxtwitter, ddinstagram...).
    pub front_end: bool,
}

/// Everything the keyer knows about one built-in platform.
pub(crate) struct PlatformSpec {
    /// The platform its keys report.
    pub platform: Platform,
    /// The lowercase name used in JSON and rule strings (`youtube`).
    pub name: &'static str,
    /// The key prefix (`yt`: keys are `yt:...`); the key function writes it.
    pub prefix: &'static str,
    /// Sites (last two host labels) of the platform; every subdomain belongs to it.
    pub sites: &'static [&'static str],
    /// Sites of third-party front ends serving the platform's items under its paths.
    pub front_end_sites: &'static [&'static str],
    /// First host labels that mark a front end on any site (`nitter.example.org`).
    pub front_end_labels: &'static [&'static str],
    /// The key and canonical URL of an item, or `None` when the shape names no item.
    pub key: fn(&View<'_>) -> Option<(String, String)>,
    /// Hosts whose every non-empty path is an opaque short code (`t.co`).
    pub short_hosts: &'static [ShortHost],
    /// Share links: on a site, paths starting with these segments.
    pub share_paths: &'static [SharePath],
    /// Redirect wrappers run by the platform, tried in order.
    pub redirects: &'static [Redirect],
    /// Tracking parameters as `(scope, names)`, in the format of `tracking_params.txt`.
    pub tracking: &'static [(&'static str, &'static str)],
}

/// A short-link host: `site` with one of the subdomains `subs` (`""` is the bare site).
pub(crate) struct ShortHost {
    pub site: &'static str,
    pub subs: &'static [&'static str],
}

/// Share links on `site` (any subdomain): paths whose leading segments are `segments` (`*` is
/// any segment), followed by at least one more (the token).
pub(crate) struct SharePath {
    pub site: &'static str,
    pub segments: &'static [&'static str],
}

/// A redirect wrapper: on `site`, with a subdomain and path as given, the first of `params`
/// present carries the target URL. `name` is shown in the rule `unwrapped:{name}`.
pub(crate) struct Redirect {
    pub name: &'static str,
    pub site: &'static str,
    pub sub: SubIs,
    pub path: PathIs,
    pub params: &'static [&'static str],
}

/// Which subdomains a [`Redirect`] runs on.
pub(crate) enum SubIs {
    /// Any, or none.
    Any,
    /// Exactly this one.
    Exactly(&'static str),
    /// Facebook's link shims: `l` or `l` plus one letter (`lm`).
    LinkShim,
}

/// Which paths a [`Redirect`] runs on.
pub(crate) enum PathIs {
    /// Any.
    Any,
    /// The first path segment is exactly this.
    FirstSegment(&'static str),
    /// The path starts with this.
    Prefix(&'static str),
}

impl Redirect {
    /// Whether the wrapper runs on this subdomain and path of its site.
    fn runs_on(&self, sub: &str, first: &str, path: &str) -> bool {
        (match self.sub {
            SubIs::Any => true,
            SubIs::Exactly(s) => sub == s,
            SubIs::LinkShim => matches!(sub.as_bytes(), [b'l'] | [b'l', b'a'..=b'z']),
        }) && match self.path {
            PathIs::Any => true,
            PathIs::FirstSegment(s) => first == s,
            PathIs::Prefix(p) => path.starts_with(p),
        }
    }
}

/// The built-in platforms. A new platform is a file declaring its `SPEC`, a line here and a
/// [`Platform`] variant.
pub(crate) static BUILTIN: [&PlatformSpec; 7] = [
    &youtube::SPEC,
    &x::SPEC,
    &facebook::SPEC,
    &instagram::SPEC,
    &tiktok::SPEC,
    &telegram::SPEC,
    &reddit::SPEC,
];

/// A site some built-in platform declares, with everything declared for that site gathered
/// at first use, so that the steps after the one lookup ([`owner`]) compare no site again.
pub(crate) struct SiteEntry {
    site: &'static str,
    spec: &'static PlatformSpec,
    role: Role,
    /// The platform's redirect wrappers on this site, in order.
    redirects: Vec<&'static Redirect>,
    /// Subdomains on which this site is a short-link host.
    short_subs: Vec<&'static str>,
    /// Share-link segments on this site.
    share: Option<&'static [&'static str]>,
}

/// How a site relates to a built-in platform: one of its sites, a front end, or a host that
/// only its short links or wrappers use (`t.co`, `messenger.com`).
pub(crate) type Owner = &'static SiteEntry;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Site,
    FrontEnd,
    Other,
}

/// Every site any built-in platform declares (a site belongs to one platform: a unit test
/// checks it), and the front-end labels. Looking a site up costs a few arithmetic operations
/// and usually one string compare: the table is small, so a bucket chosen by the site's length
/// and three of its bytes holds at most a couple of sites.
struct Owners {
    buckets: Vec<Vec<SiteEntry>>,
    labels: Vec<(&'static str, &'static PlatformSpec)>,
}

const BUCKETS: usize = 256;

fn bucket(site: &str) -> usize {
    let b = site.as_bytes();
    let (first, mid, last) = match b {
        [] => (0, 0, 0),
        _ => (b[0], b[b.len() / 2], b[b.len() - 1]),
    };
    let h = usize::from(first)
        .wrapping_mul(31)
        .wrapping_add(usize::from(mid).wrapping_mul(7))
        .wrapping_add(usize::from(last).wrapping_mul(131))
        .wrapping_add(b.len().wrapping_mul(17));
    h % BUCKETS
}

impl Owners {
    fn entry(
        &mut self,
        site: &'static str,
        spec: &'static PlatformSpec,
        role: Role,
    ) -> &mut SiteEntry {
        let list = &mut self.buckets[bucket(site)];
        let i = match list.iter().position(|e| e.site == site) {
            Some(i) => i,
            None => {
                list.push(SiteEntry {
                    site,
                    spec,
                    role,
                    redirects: Vec::new(),
                    short_subs: Vec::new(),
                    share: None,
                });
                list.len() - 1
            }
        };
        &mut list[i]
    }
}

fn owners() -> &'static Owners {
    static OWNERS: OnceLock<Owners> = OnceLock::new();
    OWNERS.get_or_init(|| {
        let mut owners = Owners {
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            labels: Vec::new(),
        };
        for spec in BUILTIN {
            for site in spec.sites {
                owners.entry(site, spec, Role::Site);
            }
            for site in spec.front_end_sites {
                owners.entry(site, spec, Role::FrontEnd);
            }
        }
        for spec in BUILTIN {
            for h in spec.short_hosts {
                let e = owners.entry(h.site, spec, Role::Other);
                e.short_subs.extend_from_slice(h.subs);
            }
            for r in spec.redirects {
                owners.entry(r.site, spec, Role::Other).redirects.push(r);
            }
            for p in spec.share_paths {
                owners.entry(p.site, spec, Role::Other).share = Some(p.segments);
            }
            for label in spec.front_end_labels {
                owners.labels.push((label, spec));
            }
        }
        owners
    })
}

/// The built-in platform declaring `site` (last two host labels), if any: one lookup per URL,
/// which the keyer passes to every step.
pub(crate) fn owner(site: &str) -> Option<Owner> {
    owners().buckets[bucket(site)]
        .iter()
        .find(|e| e.site == site)
}

/// Which platform a host belongs to, and whether it is a third-party front end.
fn platform_of(sub: &str, owner: Option<Owner>) -> Option<(&'static PlatformSpec, bool)> {
    if let Some(o) = owner {
        match o.role {
            Role::Site => return Some((o.spec, false)),
            Role::FrontEnd => return Some((o.spec, true)),
            Role::Other => {}
        }
    }
    if sub.is_empty() {
        return None;
    }
    let first = split_once_byte(sub, b'.').map_or(sub, |(f, _)| f);
    owners()
        .labels
        .iter()
        .find(|(label, _)| *label == first)
        .map(|(_, spec)| (*spec, true))
}

/// Whether the host belongs to one of the seven hand-written platforms (or their front ends);
/// `owner` is [`owner`] of its site.
pub(crate) fn is_platform_host(sub: &str, owner: Option<Owner>) -> bool {
    platform_of(sub, owner).is_some()
}

/// Whether a site (last two labels) belongs to one of the seven hand-written platforms.
pub(crate) fn is_platform_site(site: &str) -> bool {
    platform_of("", owner(site)).is_some()
}

/// Whether `name` is a built-in platform's name or key prefix (user host rules may not use it).
pub(crate) fn is_reserved_name(name: &str) -> bool {
    BUILTIN.iter().any(|p| p.name == name || p.prefix == name)
}

/// The platform key for `view`, if its host is a platform and its shape names an item.
pub(crate) fn key(view: &View<'_>, owner: Option<Owner>) -> Option<PlatformKey> {
    let (spec, front_end) = platform_of(view.sub, owner)?;
    let (key, canonical) = (spec.key)(view)?;
    Some(PlatformKey {
        platform: spec.platform,
        key,
        canonical,
        front_end,
    })
}

/// Whether `sub`.`site` is a platform's short-link host; `owner` is [`owner`] of the site.
pub(crate) fn is_short_host(sub: &str, owner: Option<Owner>) -> bool {
    owner.is_some_and(|o| o.short_subs.contains(&sub))
}

/// The share-link segments on the site, if a platform has share links there.
pub(crate) fn share_path(owner: Option<Owner>) -> Option<&'static [&'static str]> {
    owner?.share
}

/// The platform redirect wrapper running on the URL, as (name, target parameters); `first` is
/// the first path segment.
pub(crate) fn redirect(
    sub: &str,
    first: &str,
    path: &str,
    owner: Option<Owner>,
) -> Option<(&'static str, &'static [&'static str])> {
    owner?
        .redirects
        .iter()
        .find(|r| r.runs_on(sub, first, path))
        .map(|r| (r.name, r.params))
}

/// Concatenates `parts` into one exactly-sized string (cheaper than `format!` on the hot path).
fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// The first `N` non-empty path segments, without allocating.
fn first_segments<'v, const N: usize>(view: &'v View<'_>) -> ([&'v str; N], usize) {
    let mut out = [""; N];
    let mut n = 0;
    for s in view.segments().take(N) {
        out[n] = s;
        n += 1;
    }
    (out, n)
}

fn all_bytes(s: &str, f: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(f)
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// A decimal id of 1..=max_len digits.
fn is_digits(s: &str, max_len: usize) -> bool {
    !s.is_empty() && s.len() <= max_len && all_bytes(s, |b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::super::input::parse_input;
    use super::*;

    fn k(s: &str) -> Option<String> {
        let (url, _) = parse_input(s).unwrap();
        let view = View::new(&url).unwrap();
        key(&view, owner(view.site)).map(|p| p.key)
    }

    #[test]
    fn every_site_belongs_to_one_platform() {
        let mut seen = std::collections::HashMap::new();
        for spec in BUILTIN {
            let sites = spec.sites.iter().chain(spec.front_end_sites);
            let sites = sites
                .copied()
                .chain(spec.short_hosts.iter().map(|h| h.site))
                .chain(spec.redirects.iter().map(|r| r.site))
                .chain(spec.share_paths.iter().map(|p| p.site));
            for site in sites {
                let other = *seen.entry(site).or_insert(spec.name);
                assert_eq!(
                    other, spec.name,
                    "{site} is declared by {other} and {}",
                    spec.name
                );
            }
            assert_eq!(spec.platform.as_str(), spec.name);
        }
    }

    #[test]
    fn youtube_shapes() {
        for s in [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ",
            "https://m.youtube.com/shorts/dQw4w9WgXcQ",
            "https://www.youtube.com/embed/dQw4w9WgXcQ",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
            "https://www.youtube.com/#!v=dQw4w9WgXcQ",
            "https://www.youtube.com/?v=dQw4w9WgXcQ",
            "https://yewtu.be/watch?v=dQw4w9WgXcQ",
        ] {
            assert_eq!(k(s).as_deref(), Some("yt:dQw4w9WgXcQ"), "{s}");
        }
        assert_eq!(k("https://www.youtube.com/watch?v=dQw4w9WgXc"), None);
        assert_eq!(
            k("https://www.youtube.com/playlist?list=PLabc").as_deref(),
            Some("yt:playlist:PLabc")
        );
        assert_eq!(
            k("https://www.youtube.com/@SomeHandle").as_deref(),
            Some("yt:@somehandle")
        );
        assert_eq!(k("https://www.youtube.com/results?search_query=x"), None);
    }

    #[test]
    fn twitter_facebook_instagram_tiktok_telegram_reddit_shapes() {
        assert_eq!(
            k("https://twitter.com/Someone/status/123/photo/1").as_deref(),
            Some("x:123")
        );
        assert_eq!(
            k("https://x.com/i/web/status/123").as_deref(),
            Some("x:123")
        );
        assert_eq!(
            k("https://x.com/i/spaces/1AbCdEfG").as_deref(),
            Some("x:space:1AbCdEfG")
        );
        assert_eq!(k("https://x.com/someone/status/12a"), None);
        assert_eq!(
            k("https://www.facebook.com/watch/?v=123").as_deref(),
            Some("fb:video:123")
        );
        assert_eq!(
            k("https://www.facebook.com/page/videos/slug-text/123/").as_deref(),
            Some("fb:video:123")
        );
        assert_eq!(
            k("https://www.facebook.com/page/posts/pfbid0AbC").as_deref(),
            Some("fb:post:pfbid0AbC")
        );
        assert_eq!(
            k("https://m.facebook.com/story.php?story_fbid=5&id=7&comment_id=9").as_deref(),
            Some("fb:post:5:comment:9")
        );
        assert_eq!(
            k("https://www.instagram.com/someone/reel/CaBc123/").as_deref(),
            Some("ig:CaBc123")
        );
        assert_eq!(
            k("https://www.tiktok.com/@a.b/video/7234567890123456789").as_deref(),
            Some("tt:7234567890123456789")
        );
        assert_eq!(
            k("https://m.tiktok.com/v/7234567890123456789.html").as_deref(),
            Some("tt:7234567890123456789")
        );
        assert_eq!(
            k("https://t.me/s/SomeChan/55?single").as_deref(),
            Some("tg:somechan/55?single")
        );
        assert_eq!(k("https://t.me/c/1234/55").as_deref(), Some("tg:c/1234/55"));
        assert_eq!(k("https://t.me/joinchat/AbCdEf"), None);
        assert_eq!(
            k("https://old.reddit.com/r/News/comments/AbC12/slug/").as_deref(),
            Some("rd:abc12")
        );
        assert_eq!(
            k("https://www.reddit.com/r/news/comments/abc12/slug/def34/").as_deref(),
            Some("rd:abc12:def34")
        );
        assert_eq!(k("https://redd.it/abc12").as_deref(), Some("rd:abc12"));
        assert_eq!(k("https://v.redd.it/abc12"), None);
    }
}
