//! The keyer: [`KeyOptions`], [`UrlKeyer`] and the steps of keying one URL (unwrapping,
//! short links, platform and host-rule keys, the generic key).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::canon::{self, push_origin, push_port, View};
use super::hosts::{self, FragmentPolicy, HostTable};
use super::input::{self, Parsed};
use super::tracking::TrackingTable;
use super::wrappers::{self, Unwrapped};
use super::{platforms, short_links, HostName, HostRules, Platform, Rule, Rules, UrlError, UrlKey};

/// Options for building a [`UrlKeyer`]; `KeyOptions::default().build()` equals
/// [`UrlKeyer::new`].
///
/// ```
/// use referral_dedup::url::KeyOptions;
/// let keyer = KeyOptions::default().max_hops(2).platform_keys(false).build();
/// let k = keyer.key("https://youtu.be/dQw4w9WgXcQ").unwrap();
/// assert_eq!(k.key, "url:youtu.be/dQw4w9WgXcQ");
/// ```
#[must_use]
#[derive(Debug, Clone)]
pub struct KeyOptions {
    max_hops: u8,
    platform_keys: bool,
    strip_tracking: bool,
    hosts: Arc<HostTable>,
}

impl PartialEq for KeyOptions {
    fn eq(&self, other: &Self) -> bool {
        self.max_hops == other.max_hops
            && self.platform_keys == other.platform_keys
            && self.strip_tracking == other.strip_tracking
            && Arc::ptr_eq(&self.hosts, &other.hosts)
    }
}

impl Eq for KeyOptions {}

impl Default for KeyOptions {
    fn default() -> Self {
        KeyOptions {
            max_hops: 5,
            platform_keys: true,
            strip_tracking: true,
            hosts: hosts::builtin_arc(),
        }
    }
}

impl KeyOptions {
    /// How many wrappers, copies and short-link resolutions are followed for one input
    /// (default 5). Beyond it the current URL is keyed as it is.
    pub fn max_hops(mut self, hops: u8) -> Self {
        self.max_hops = hops;
        self
    }

    /// Whether platform content keys are used (default `true`).
    pub fn platform_keys(mut self, on: bool) -> Self {
        self.platform_keys = on;
        self
    }

    /// Whether tracking parameters are removed from generic keys (default `true`).
    pub fn strip_tracking(mut self, on: bool) -> Self {
        self.strip_tracking = on;
        self
    }

    /// Adds user host rules to the built-in ones (see [`HostRules`]): a user rule replaces the
    /// built-in rule of the same name and comes first on every host it lists.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use referral_dedup::url::{HostRules, KeyOptions};
    /// let rules = HostRules::parse(
    ///     "[files]\nhosts = files.example\nclass id = alnum 4-20\nitem file /f/<id>\nitem file /dl ?id=<id>\ncanon file https://files.example/f/{id}\n",
    /// )?;
    /// let keyer = KeyOptions::default().host_rules(rules).build();
    /// assert_eq!(keyer.key("https://files.example/dl?id=AbCd12&x=1")?.key, "files:file:AbCd12");
    /// # Ok(()) }
    /// ```
    pub fn host_rules(mut self, rules: HostRules) -> Self {
        self.hosts = Arc::new(HostTable::merged(hosts::builtin_table(), &rules));
        self
    }

    pub(crate) fn host_table(mut self, table: Arc<HostTable>) -> Self {
        self.hosts = table;
        self
    }

    /// Builds the keyer (parses the rule table once).
    pub fn build(self) -> UrlKeyer {
        UrlKeyer {
            options: self,
            tracking: TrackingTable::builtin(),
            resolutions: RwLock::new(HashMap::new()),
        }
    }
}

/// Keys URLs. Build once and share (it is `Send + Sync`); it holds the parsed rule table and the
/// recorded short-link resolutions.
///
/// ```
/// # fn main() -> Result<(), referral_dedup::url::UrlError> {
/// use referral_dedup::url::{Rule, UrlKeyer};
/// let keyer = UrlKeyer::new();
/// assert_eq!(keyer.key("https://t.co/AbC123")?.key, "short:t.co/AbC123");
/// keyer.record_resolution("t.co/AbC123", "https://twitter.com/someone/status/42")?;
/// let k = keyer.key("http://t.co/AbC123?amp=1")?;
/// assert_eq!(k.key, "x:42");
/// assert!(k.rules.contains(&Rule::Resolved));
/// assert_eq!(keyer.resolutions()[0].0, "short:t.co/AbC123");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct UrlKeyer {
    options: KeyOptions,
    tracking: TrackingTable,
    /// short-link key -> canonical target URL.
    resolutions: RwLock<HashMap<String, String>>,
}

impl Default for UrlKeyer {
    fn default() -> Self {
        Self::new()
    }
}

/// A key without its trail: what each step returns before [`UrlKey`] is assembled once.
struct Keyed {
    key: String,
    canonical: String,
    platform: Option<Platform>,
}

/// What the keying of one input has gathered so far.
struct Trail {
    rules: Rules,
    via: Option<String>,
    /// Set when the hop bound stopped unwrapping or resolution.
    hop_limited: bool,
}

impl UrlKeyer {
    /// A keyer with the default [`KeyOptions`] and no resolutions.
    pub fn new() -> Self {
        KeyOptions::default().build()
    }

    /// The options builder (same as `KeyOptions::default()`).
    pub fn options() -> KeyOptions {
        KeyOptions::default()
    }

    /// Keys one URL.
    ///
    /// # Errors
    /// [`UrlError`] when the input is empty, too long, not http(s) or unparsable.
    ///
    /// ```
    /// # fn main() -> Result<(), referral_dedup::url::UrlError> {
    /// let keyer = referral_dedup::url::UrlKeyer::new();
    /// assert_eq!(keyer.key("t.me/SomeChannel/5")?.key, "tg:somechannel/5");
    /// assert!(keyer.key("ftp://example.com/").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn key(&self, input: &str) -> Result<UrlKey, UrlError> {
        self.key_inner(input, true)
    }

    fn key_inner(&self, input: &str, use_resolutions: bool) -> Result<UrlKey, UrlError> {
        let at = input::at_uri(input)?;
        let (parsed, assumed) = input::parse(at.as_deref().unwrap_or(input))?;
        let view = View::of(&parsed)?;
        let mut trail = Trail {
            rules: Rules::new(),
            via: None,
            hop_limited: false,
        };
        if at.is_some() {
            trail.rules.push(Rule::AtUri);
        }
        if assumed {
            trail.rules.push(Rule::SchemeAssumed);
        }
        let mut k = self.key_view(&view, &mut trail, 0, use_resolutions)?;
        if trail.hop_limited {
            // A chain longer than the bound keys the input itself, so that keying the canonical
            // URL (which has the same chain) gives the same key again.
            trail.rules.clear();
            if at.is_some() {
                trail.rules.push(Rule::AtUri);
            }
            if assumed {
                trail.rules.push(Rule::SchemeAssumed);
            }
            trail.rules.push(Rule::HopLimit);
            trail.via = None;
            k = self.generic(&view, &mut trail, FragmentPolicy::Route);
        }
        Ok(UrlKey {
            key: k.key,
            canonical: k.canonical,
            platform: k.platform,
            rules: trail.rules,
            via: trail.via,
        })
    }

    /// Keys a URL reached by unwrapping or resolution (one more hop).
    fn key_parsed(
        &self,
        parsed: &Parsed<'_>,
        trail: &mut Trail,
        hops: u8,
        use_resolutions: bool,
    ) -> Result<Keyed, UrlError> {
        self.key_view(&View::of(parsed)?, trail, hops, use_resolutions)
    }

    fn key_view(
        &self,
        view: &View<'_>,
        trail: &mut Trail,
        hops: u8,
        use_resolutions: bool,
    ) -> Result<Keyed, UrlError> {
        // The one lookup of the site among the built-in platforms' declarations.
        let owner = platforms::owner(view.site);
        let can_hop = hops < self.options.max_hops;
        if can_hop {
            match wrappers::unwrap(view, owner) {
                Some(Unwrapped::Redirect { wrapper, target }) => {
                    if let Ok((inner, _)) = input::parse(&target) {
                        trail.rules.push(Rule::Unwrapped(wrapper));
                        return self.key_parsed(&inner, trail, hops + 1, use_resolutions);
                    }
                }
                Some(Unwrapped::Copy {
                    service,
                    stamp,
                    target,
                }) => {
                    if let Ok((inner, _)) = input::parse(&target) {
                        trail.rules.push(Rule::Via(service));
                        if trail.via.is_none() {
                            trail.via = Some(match stamp {
                                Some(s) => format!("{service}:{s}"),
                                None => service.to_owned(),
                            });
                        }
                        return self.key_parsed(&inner, trail, hops + 1, use_resolutions);
                    }
                }
                Some(Unwrapped::Snapshot { service, code }) => {
                    trail.rules.push(Rule::Snapshot);
                    if trail.via.is_none() {
                        trail.via = Some(service.to_owned());
                    }
                    return Ok(Keyed {
                        key: format!("{service}:{code}"),
                        canonical: format!("https://archive.today/{code}"),
                        platform: None,
                    });
                }
                None => {}
            }
        } else if wrappers::unwrap(view, owner).is_some() {
            trail.hop_limited = true;
        }
        if let Some(short) = short_links::detect(view, owner) {
            if use_resolutions {
                let target = self.resolutions.read().get(&short.key).cloned();
                if target.is_some() && !can_hop {
                    trail.hop_limited = true;
                } else if let Some(target) = target {
                    if let Ok((inner, _)) = input::parse(&target) {
                        trail.rules.push(Rule::Resolved);
                        return self.key_parsed(&inner, trail, hops + 1, use_resolutions);
                    }
                }
            }
            trail.rules.push(Rule::ShortLink);
            return Ok(Keyed {
                key: short.key,
                canonical: short.canonical,
                platform: None,
            });
        }
        let mut fragment = FragmentPolicy::Route;
        if self.options.platform_keys {
            let hosts = &*self.options.hosts;
            if hosts.user_covers_platforms {
                if let (_, Some((k, name))) = hosts.key(view, true, false) {
                    return Ok(host_keyed(k, name, trail));
                }
            }
            if let Some(p) = platforms::key(view, owner) {
                if p.front_end {
                    trail.rules.push(Rule::FrontEnd);
                }
                trail.rules.push(Rule::Platform(p.platform));
                return Ok(Keyed {
                    key: p.key,
                    canonical: p.canonical,
                    platform: Some(p.platform),
                });
            }
            let any_host = !platforms::is_platform_host(view.sub, owner);
            match hosts.key(view, false, any_host) {
                (Some(rule), None) => fragment = rule.fragment,
                (rule, Some((k, name))) => {
                    // An any-host rule (fediverse statuses) only applies when nothing but
                    // tracking parameters would be dropped: its host is not known to it.
                    let extra = rule.is_none()
                        && view
                            .pairs()
                            .any(|(n, _)| !self.tracking.is_tracking(view.host, n));
                    if !extra {
                        return Ok(host_keyed(k, name, trail));
                    }
                }
                (None, None) => {}
            }
        }
        Ok(self.generic(view, trail, fragment))
    }

    /// The generic key and canonical URL.
    fn generic(&self, view: &View<'_>, trail: &mut Trail, fragment: FragmentPolicy) -> Keyed {
        let host_key = view.host.strip_prefix("www.").unwrap_or(view.host);
        // Query pairs kept, on the stack for all but unusually long queries.
        let mut kept: smallvec::SmallVec<[&str; 12]> = smallvec::SmallVec::new();
        let mut removed = false;
        if let Some(q) = view
            .query
            .as_deref()
            .filter(|_| wrappers::query_is_target(view))
        {
            // The query is one opaque target URL that did not unwrap: it stays as it is, since
            // dropping pairs from it could make the canonical URL unwrap where the input did not.
            kept.push(q);
        } else if let Some(q) = view.query.as_deref() {
            for pair in canon::split_byte(q, b'&').filter(|p| !p.is_empty()) {
                let name = canon::split_once_byte(pair, b'=').map_or(pair, |(n, _)| n);
                if self.options.strip_tracking && self.tracking.is_tracking(view.host, name) {
                    removed = true;
                } else {
                    kept.push(pair);
                }
            }
        }
        let query_len: usize = kept.iter().map(|p| p.len() + 1).sum();
        let kept_fragment = view.kept_fragment(fragment);
        let route_len = kept_fragment.map_or(0, |r| r.len() + 1);

        let mut canonical = String::with_capacity(
            8 + view.host.len() + 6 + view.path.len() + query_len + route_len,
        );
        push_origin(&mut canonical, view, view.host);
        canonical.push_str(&view.path);
        push_query(&mut canonical, &kept);
        if let Some(f) = kept_fragment {
            canonical.push('#');
            canonical.push_str(f);
        }

        let mut key =
            String::with_capacity(4 + host_key.len() + 6 + view.path.len() + query_len + route_len);
        key.push_str("url:");
        key.push_str(host_key);
        push_port(&mut key, view.port);
        key.push_str(&view.path);
        if kept.len() > 1 {
            kept.sort_unstable();
        }
        push_query(&mut key, &kept);
        if let Some(f) = kept_fragment {
            key.push('#');
            key.push_str(f);
        }

        if removed {
            trail.rules.push(Rule::TrackingRemoved);
        }
        trail.rules.push(Rule::Generic);
        Keyed {
            key,
            canonical,
            platform: None,
        }
    }

    /// Records that short link `short` (any spelling, or its `short:` key) resolves to `target`;
    /// from then on keying `short` yields the target's key with [`Rule::Resolved`].
    ///
    /// # Errors
    /// [`UrlError::NotShortLink`] when `short` is not a short link, [`UrlError::ResolutionLoop`]
    /// when `target` keys to `short` itself, or any error from keying either URL.
    ///
    /// ```
    /// # fn main() -> Result<(), referral_dedup::url::UrlError> {
    /// let keyer = referral_dedup::url::UrlKeyer::new();
    /// keyer.record_resolution("https://bit.ly/3xYz", "https://www.example.com/story?id=7")?;
    /// assert_eq!(keyer.key("bit.ly/3xYz")?.key, "url:example.com/story?id=7");
    /// assert!(keyer.record_resolution("https://example.com/a", "https://example.com/b").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn record_resolution(&self, short: &str, target: &str) -> Result<(), UrlError> {
        let short_key = match short.trim().strip_prefix("short:") {
            Some(rest) => {
                let again = self.key_inner(rest, false)?;
                if !again.rules.contains(&Rule::ShortLink) {
                    return Err(UrlError::NotShortLink);
                }
                again.key
            }
            None => {
                let k = self.key_inner(short, false)?;
                if !k.rules.contains(&Rule::ShortLink) {
                    return Err(UrlError::NotShortLink);
                }
                k.key
            }
        };
        let t = self.key(target)?;
        if t.key == short_key {
            return Err(UrlError::ResolutionLoop);
        }
        self.resolutions.write().insert(short_key, t.canonical);
        Ok(())
    }

    /// The recorded resolutions as `(short link key, canonical target)`, sorted by key; feeding
    /// each pair back to [`record_resolution`](Self::record_resolution) restores them.
    ///
    /// ```
    /// # fn main() -> Result<(), referral_dedup::url::UrlError> {
    /// use referral_dedup::url::UrlKeyer;
    /// let a = UrlKeyer::new();
    /// a.record_resolution("https://t.co/x1", "https://youtu.be/dQw4w9WgXcQ")?;
    /// let b = UrlKeyer::new();
    /// for (short, target) in a.resolutions() {
    ///     b.record_resolution(&short, &target)?;
    /// }
    /// assert_eq!(b.key("t.co/x1")?.key, "yt:dQw4w9WgXcQ");
    /// # Ok(())
    /// # }
    /// ```
    pub fn resolutions(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .resolutions
            .read()
            .iter()
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect();
        v.sort();
        v
    }
}

/// A host-rule item key with its trail entry.
fn host_keyed(k: hosts::HostKey, name: &'static str, trail: &mut Trail) -> Keyed {
    let platform = Platform::Host(HostName::new(name));
    trail.rules.push(Rule::Platform(platform));
    Keyed {
        key: k.key,
        canonical: k.canonical,
        platform: Some(platform),
    }
}

fn push_query(out: &mut String, pairs: &[&str]) {
    for (i, p) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(p);
    }
}
