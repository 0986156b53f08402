//! The rules that produced a key: [`Rule`] (one step) and [`Rules`] (the steps of one key, in
//! order).
//!
//! A key rarely needs more than four rules, so [`Rules`] keeps them inline (no heap allocation
//! per key on the hot path) and only spills to the heap for long wrapper chains.

use std::fmt;

use serde::Serialize;

use super::Platform;

/// One step that contributed to a key. Serialises (and displays) as a short string such as
/// `"platform:youtube"`, `"unwrapped:google"`, `"via:wayback"` or `"tracking-removed"`.
///
/// ```
/// use referral_dedup::url::{Platform, Rule};
/// assert_eq!(Rule::Platform(Platform::X).to_string(), "platform:x");
/// assert_eq!(Rule::Unwrapped("google").to_string(), "unwrapped:google");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The input had no scheme; `http://` was assumed (`scheme-assumed`).
    SchemeAssumed,
    /// A redirect wrapper was unwrapped (`unwrapped:{wrapper}`).
    Unwrapped(&'static str),
    /// An archive, cache or proxy copy: the inner URL was keyed (`via:{service}`).
    Via(&'static str),
    /// An opaque archive snapshot that only the archive can resolve (`snapshot`).
    Snapshot,
    /// An opaque short link keyed by itself (`short-link`).
    ShortLink,
    /// A short link replaced by its recorded resolution (`resolved`).
    Resolved,
    /// The item was reached through a third-party front end such as Nitter or Invidious
    /// (`front-end`).
    FrontEnd,
    /// A platform content key (`platform:{name}`).
    Platform(Platform),
    /// Tracking parameters were removed (`tracking-removed`).
    TrackingRemoved,
    /// The generic key: host, path and sorted query (`generic`).
    Generic,
    /// More wrappers or resolutions than [`KeyOptions::max_hops`](super::KeyOptions::max_hops) allows: the input URL itself
    /// was keyed generically (`hop-limit`).
    HopLimit,
    /// An `at://` URI of a Bluesky post was read as its bsky.app page (`at-uri`).
    AtUri,
}

impl Rule {
    /// The rule string in two parts, name and argument: `("platform", Some("x"))` for
    /// `platform:x`, `("generic", None)` for `generic`. Lets writers emit rule strings without
    /// formatting machinery.
    ///
    /// ```
    /// use referral_dedup::url::Rule;
    /// assert_eq!(Rule::Unwrapped("google").parts(), ("unwrapped", Some("google")));
    /// assert_eq!(Rule::Generic.parts(), ("generic", None));
    /// ```
    pub fn parts(&self) -> (&'static str, Option<&'static str>) {
        match self {
            Rule::SchemeAssumed => ("scheme-assumed", None),
            Rule::Unwrapped(w) => ("unwrapped", Some(w)),
            Rule::Via(s) => ("via", Some(s)),
            Rule::Snapshot => ("snapshot", None),
            Rule::ShortLink => ("short-link", None),
            Rule::Resolved => ("resolved", None),
            Rule::FrontEnd => ("front-end", None),
            Rule::Platform(p) => ("platform", Some(p.as_str())),
            Rule::TrackingRemoved => ("tracking-removed", None),
            Rule::Generic => ("generic", None),
            Rule::HopLimit => ("hop-limit", None),
            Rule::AtUri => ("at-uri", None),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts() {
            (name, None) => f.write_str(name),
            (name, Some(arg)) => write!(f, "{name}:{arg}"),
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The rules that produced one key, in the order they applied. Derefs to `[Rule]`, so slice
/// methods (`contains`, `iter`, `len`) work; serialises as a JSON array of rule strings.
///
/// ```
/// # fn main() -> Result<(), referral_dedup::url::UrlError> {
/// use referral_dedup::url::{self, Rule};
/// let k = url::key("https://example.com/a?utm_source=x")?;
/// assert_eq!(k.rules, [Rule::TrackingRemoved, Rule::Generic]);
/// assert!(k.rules.contains(&Rule::Generic));
/// assert_eq!(serde_json::to_string(&k.rules).unwrap(), r#"["tracking-removed","generic"]"#);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Rules(smallvec::SmallVec<[Rule; 4]>);

impl Rules {
    /// No rules yet.
    pub(crate) fn new() -> Self {
        Rules(smallvec::SmallVec::new())
    }

    /// Appends a rule.
    pub(crate) fn push(&mut self, rule: Rule) {
        self.0.push(rule);
    }

    /// Removes every rule.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// The rules as a slice.
    pub fn as_slice(&self) -> &[Rule] {
        &self.0
    }
}

impl std::ops::Deref for Rules {
    type Target = [Rule];
    fn deref(&self) -> &[Rule] {
        &self.0
    }
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl Serialize for Rules {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

impl<'a> IntoIterator for &'a Rules {
    type Item = &'a Rule;
    type IntoIter = std::slice::Iter<'a, Rule>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl PartialEq<[Rule]> for Rules {
    fn eq(&self, other: &[Rule]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<[Rule; N]> for Rules {
    fn eq(&self, other: &[Rule; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Vec<Rule>> for Rules {
    fn eq(&self, other: &Vec<Rule>) -> bool {
        self.as_slice() == other.as_slice()
    }
}
