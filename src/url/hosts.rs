//! Host rules as data: per-host item keys for file hosts, paste sites and smaller platforms.
//!
//! The built-in rules are the crate's own data file `hosts.rules` (format described at its top
//! and in `docs/url-hosts.md`), compiled in with `include_str!` and parsed once per process.
//! Users add or override hosts at run time with a file in the same format ([`HostRules`]); a
//! user file is refused with its line and the reason when it is malformed, when a rule's
//! canonical URL does not key back to itself, or when the rules would merge one of the
//! crate's built-in trap pairs (`traps.txt`).
//!
//! Matching is hand-written (no regex engine): a rule's hosts are found with one hash lookup on
//! the URL's last two host labels, and an item shape is a short template of literals, captures
//! of a character class and wildcards, tried against the path, query values and fragment.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use super::canon::{query_pairs, split_site, View};

/// The built-in host rules.
pub(crate) const BUILTIN_RULES: &str = include_str!("hosts.rules");

/// The built-in trap pairs: URLs naming different items, which no rule may merge.
pub(crate) const BUILTIN_TRAPS: &str = include_str!("traps.txt");

/// Most captures one rule may name.
const MAX_CAPTURES: usize = 8;
/// Largest rules text accepted (bytes).
pub const MAX_RULES_LEN: usize = 4 << 20;
/// Most distinct rule names interned in one process (names are shown in keys' `platform`).
const MAX_INTERNED: usize = 65_536;

/// Why a rules file was refused: the line (1-based, 0 for the whole file) and the reason.
///
/// ```
/// use referral_dedup::url::HostRules;
/// let err = HostRules::parse("[paste]\nhosts = paste.example\nitem post /p/<id:nope>\n").unwrap_err();
/// assert_eq!(err.line, 3);
/// assert!(err.to_string().contains("unknown class"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules line {line}: {reason}")]
pub struct RulesError {
    /// 1-based line of the problem (0 when it concerns the whole file).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

fn err<T>(line: usize, reason: impl Into<String>) -> Result<T, RulesError> {
    Err(RulesError {
        line,
        reason: reason.into(),
    })
}

/// A set of characters (ASCII only) plus length bounds and case rule: what a capture accepts.
#[derive(Debug, Clone)]
struct Class {
    set: u128,
    min: usize,
    max: usize,
    /// Case-insensitive: the captured value is lowercased (escapes kept uppercase).
    ci: bool,
    /// Values (lowercase) that are never an id (`settings`, `discover`, ...).
    not: Vec<Box<str>>,
}

impl Class {
    fn has(&self, b: u8) -> bool {
        b < 128 && self.set >> b & 1 == 1
    }

    /// A value the class accepts, for checking canonical templates.
    fn sample(&self) -> String {
        let c = (0u8..128).find(|&b| self.has(b) && b.is_ascii_alphanumeric());
        let c = c.or_else(|| (0u8..128).find(|&b| self.has(b) && b != b'%'));
        let c = char::from(c.unwrap_or(b'0'));
        let mut s: String = std::iter::repeat_n(c, self.min.max(1)).collect();
        let mut extra = 0;
        while self.not.iter().any(|n| n.eq_ignore_ascii_case(&s)) && extra < 4 {
            s.push(c);
            extra += 1;
        }
        s
    }
}

/// Characters a class may contain: they pass through URL parsing unchanged anywhere.
fn allowed_in_class(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$*+,:@%".contains(&b)
}

fn named_class(name: &str) -> Option<Class> {
    let set = |f: fn(u8) -> bool| (0u8..128).filter(|&b| f(b)).fold(0u128, |s, b| s | 1 << b);
    let (s, max) = match name {
        "digits" => (set(|b| b.is_ascii_digit()), 32),
        "alnum" => (set(|b| b.is_ascii_alphanumeric()), 128),
        "b64" => (
            set(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            128,
        ),
        "word" => (set(|b| b.is_ascii_alphanumeric() || b == b'_'), 128),
        "hex" => (set(|b| b.is_ascii_hexdigit()), 128),
        "lower" => (set(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), 128),
        // A path tail: anything allowed in a class, plus `/`.
        "path" => (set(|b| allowed_in_class(b) || b == b'/'), 1024),
        _ => return None,
    };
    Some(Class {
        set: s,
        min: 1,
        max,
        ci: false,
        not: Vec::new(),
    })
}

/// One element of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(Box<str>),
    /// Capture into slot `.0` with class `.1`.
    Cap(u8, u16),
    /// Any run of characters without `/` (up to the next literal).
    Star,
    /// The rest of the text, anything (`**`, only last).
    Rest,
}

/// A template matched against a whole path, query value, query or fragment.
#[derive(Debug, Clone, Default)]
struct Template(Vec<Tok>);

/// Captured values of one shape match (slices of the URL's parts).
type Caps<'v> = [Option<&'v str>; MAX_CAPTURES];

impl Template {
    /// Matches the whole of `s`; at the end one `/` may remain when `slash_ok`.
    fn matches<'v>(
        &self,
        s: &'v str,
        classes: &[Class],
        caps: &mut Caps<'v>,
        slash_ok: bool,
    ) -> bool {
        let mut rest = s;
        let toks = &self.0;
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                Tok::Lit(l) => match rest.strip_prefix(&**l) {
                    Some(r) => rest = r,
                    None => {
                        // `/**` at the end also matches nothing at all.
                        if i + 2 == toks.len()
                            && toks[i + 1] == Tok::Rest
                            && rest.is_empty()
                            && l.ends_with('/')
                            && l.len() == 1
                        {
                            return true;
                        }
                        return false;
                    }
                },
                Tok::Cap(slot, class) => {
                    let c = &classes[usize::from(*class)];
                    let n = rest.bytes().take_while(|&b| c.has(b)).count();
                    if n < c.min || n > c.max {
                        return false;
                    }
                    let v = &rest[..n];
                    if !c.not.is_empty() && c.not.iter().any(|x| x.eq_ignore_ascii_case(v)) {
                        return false;
                    }
                    caps[usize::from(*slot)] = Some(v);
                    rest = &rest[n..];
                }
                Tok::Star => {
                    let seg_end = rest.bytes().position(|b| b == b'/').unwrap_or(rest.len());
                    match toks.get(i + 1) {
                        Some(Tok::Lit(l)) => match rest[..seg_end].find(&**l) {
                            Some(at) => rest = &rest[at..],
                            None if l.starts_with('/') && seg_end < rest.len() => {
                                rest = &rest[seg_end..]
                            }
                            None => return false,
                        },
                        _ => rest = &rest[seg_end..],
                    }
                }
                Tok::Rest => return true,
            }
            i += 1;
        }
        rest.is_empty() || (slash_ok && rest == "/")
    }
}

/// A piece of a key value or canonical URL template.
#[derive(Debug, Clone)]
enum Piece {
    Lit(Box<str>),
    Cap(u8),
    /// The key value (`{key}`).
    Key,
    /// The URL's host without `www.` (`{host}`).
    Host,
}

/// One URL shape of an item kind.
#[derive(Debug, Clone)]
struct Shape {
    kind: u16,
    path: Template,
    params: Vec<(Box<str>, Template)>,
    query: Option<Template>,
    fragment: Option<Template>,
    keep: Vec<Box<str>>,
    value: Vec<Piece>,
    /// Hosts this shape is limited to (`@dai.ly`); empty: every host of the rule.
    only: Vec<HostPat>,
}

/// An item kind: its name (`file`, `folder`, `video`) and canonical URL template.
#[derive(Debug, Clone)]
struct Kind {
    name: Box<str>,
    canon: Vec<Piece>,
    line: usize,
}

/// What happens to the fragment of a URL on a rule's host that matches no item shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FragmentPolicy {
    /// Keep hash-bang and route fragments (`#!...`, `#F!...`, `#/...`); the default.
    Route,
    /// Keep every fragment.
    Keep,
    /// Drop every fragment.
    Drop,
}

/// A host pattern: `example.com` (and its `www.`/`m.`/`mobile.` forms) or `*.example.com`
/// (the domain and every subdomain).
#[derive(Debug, Clone)]
struct HostPat {
    domain: Box<str>,
    any_sub: bool,
}

impl HostPat {
    fn covers(&self, host: &str) -> bool {
        let d = &*self.domain;
        if host == d {
            return true;
        }
        let Some(prefix) = host.strip_suffix(d).and_then(|p| p.strip_suffix('.')) else {
            return false;
        };
        self.any_sub || matches!(prefix, "www" | "m" | "mobile")
    }
}

/// One host's rule.
#[derive(Debug, Clone)]
pub(crate) struct HostRule {
    pub(crate) name: &'static str,
    prefix: Box<str>,
    hosts: Vec<HostPat>,
    /// Matches every host (`hosts = *`): tried when no other rule claims the host.
    any_host: bool,
    pub(crate) fragment: FragmentPolicy,
    classes: Vec<Class>,
    shapes: Vec<Shape>,
    kinds: Vec<Kind>,
    user: bool,
    line: usize,
}

/// An item recognised by a host rule.
#[derive(Debug)]
pub(crate) struct HostKey {
    pub key: String,
    pub canonical: String,
}

fn lower_outside_escapes(v: &str) -> Cow<'_, str> {
    if !v.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len());
    let mut skip = 0;
    for c in v.chars() {
        if skip > 0 {
            skip -= 1;
            out.push(c);
        } else if c == '%' {
            skip = 2;
            out.push(c);
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    Cow::Owned(out)
}

/// A kept query value: plain characters only, so it can be written back unescaped.
fn is_plain_value(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 256
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

impl HostRule {
    /// The item key of `view`, if one of this rule's shapes matches.
    fn key(&self, view: &View<'_>) -> Option<HostKey> {
        'shapes: for shape in &self.shapes {
            if !shape.only.is_empty() && !shape.only.iter().any(|h| h.covers(view.host)) {
                continue;
            }
            let mut caps: Caps<'_> = [None; MAX_CAPTURES];
            if !shape
                .path
                .matches(&view.path, &self.classes, &mut caps, true)
            {
                continue;
            }
            for (name, tpl) in &shape.params {
                match view.param(name) {
                    Some(v) if tpl.matches(v, &self.classes, &mut caps, false) => {}
                    _ => continue 'shapes,
                }
            }
            if let Some(tpl) = &shape.query {
                match view.query.as_deref() {
                    Some(q) if tpl.matches(q, &self.classes, &mut caps, false) => {}
                    _ => continue,
                }
            }
            if let Some(tpl) = &shape.fragment {
                match view.fragment.as_deref() {
                    Some(f) if tpl.matches(f, &self.classes, &mut caps, true) => {}
                    _ => continue,
                }
            }
            return self.assemble(view, shape, &caps);
        }
        None
    }

    fn assemble(&self, view: &View<'_>, shape: &Shape, caps: &Caps<'_>) -> Option<HostKey> {
        // Case rules apply per capture: the class of the slot's first use decides.
        let mut vals: [Cow<'_, str>; MAX_CAPTURES] = Default::default();
        for (slot, v) in caps.iter().enumerate() {
            if let Some(v) = v {
                if *v == "." || *v == ".." {
                    return None;
                }
                vals[slot] = if self.slot_ci(shape, slot as u8) {
                    lower_outside_escapes(v)
                } else {
                    Cow::Borrowed(*v)
                };
            }
        }
        // `{host}` (any-host rules): the host without `www.`, with its port (servers on two
        // ports are two servers).
        let bare = view.host.strip_prefix("www.").unwrap_or(view.host);
        let host: Cow<'_, str> = match view.port {
            Some(p) => Cow::Owned(format!("{bare}:{p}")),
            None => Cow::Borrowed(bare),
        };
        let host = &*host;
        let mut value = String::with_capacity(32);
        for p in &shape.value {
            match p {
                Piece::Lit(l) => value.push_str(l),
                Piece::Cap(s) => value.push_str(&vals[usize::from(*s)]),
                Piece::Host => value.push_str(host),
                Piece::Key => return None,
            }
        }
        let kind = &self.kinds[usize::from(shape.kind)];
        let mut kept: smallvec::SmallVec<[(&str, &str); 2]> = smallvec::SmallVec::new();
        for name in &shape.keep {
            if let Some(v) = view.param(name) {
                if !is_plain_value(v) {
                    return None;
                }
                kept.push((name, v));
            }
        }
        let mut key = String::with_capacity(self.prefix.len() + kind.name.len() + value.len() + 8);
        key.push_str(&self.prefix);
        key.push(':');
        key.push_str(&kind.name);
        key.push(':');
        key.push_str(&value);
        for (i, (n, v)) in kept.iter().enumerate() {
            key.push(if i == 0 { '?' } else { '&' });
            key.push_str(n);
            key.push('=');
            key.push_str(v);
        }
        let mut canonical = String::with_capacity(64);
        for p in &kind.canon {
            match p {
                Piece::Lit(l) => canonical.push_str(l),
                Piece::Cap(s) => canonical.push_str(&vals[usize::from(*s)]),
                Piece::Key => canonical.push_str(&value),
                Piece::Host => canonical.push_str(host),
            }
        }
        if !kept.is_empty() {
            let frag = canonical.find('#').map(|i| canonical.split_off(i));
            let mut sep = if canonical.contains('?') { '&' } else { '?' };
            for (n, v) in &kept {
                canonical.push(sep);
                canonical.push_str(n);
                canonical.push('=');
                canonical.push_str(v);
                sep = '&';
            }
            if let Some(f) = frag {
                canonical.push_str(&f);
            }
        }
        Some(HostKey { key, canonical })
    }

    fn slot_ci(&self, shape: &Shape, slot: u8) -> bool {
        let all = std::iter::once(&shape.path)
            .chain(shape.params.iter().map(|(_, t)| t))
            .chain(shape.query.iter())
            .chain(shape.fragment.iter());
        for t in all {
            for tok in &t.0 {
                if let Tok::Cap(s, c) = tok {
                    if *s == slot {
                        return self.classes[usize::from(*c)].ci;
                    }
                }
            }
        }
        false
    }
}

/// Host rules parsed from a rules file (the crate's own or a user's), ready to add to a
/// [`UrlKeyer`](super::UrlKeyer) with [`KeyOptions::host_rules`](super::KeyOptions::host_rules).
///
/// A user rule with the name of a built-in rule replaces it; a user rule listing a host that a
/// built-in rule (or one of the seven hand-written platforms) also lists takes precedence on
/// that host.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use referral_dedup::url::{HostRules, KeyOptions};
/// let rules = HostRules::parse(
///     "[paste]\n\
///      hosts = paste.example\n\
///      class id = [A-Za-z0-9] 6-12\n\
///      item post /p/<id>\n\
///      item post /raw/<id>\n\
///      canon post https://paste.example/p/{id}\n",
/// )?;
/// let keyer = KeyOptions::default().host_rules(rules).build();
/// assert_eq!(keyer.key("https://www.paste.example/raw/AbC123")?.key, "paste:post:AbC123");
/// assert_eq!(keyer.key("paste.example/p/AbC123?x=1")?.key, "paste:post:AbC123");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct HostRules {
    rules: Vec<HostRule>,
}

impl HostRules {
    /// Parses and checks a user rules file.
    ///
    /// # Errors
    /// [`RulesError`] with the line and reason when the text is malformed, when a rule's
    /// canonical URL does not key back to the same key, or when the rules (added to the
    /// built-in ones) would merge one of the crate's trap pairs.
    pub fn parse(text: &str) -> Result<HostRules, RulesError> {
        let rules = parse_rules(text, true)?;
        let parsed = HostRules { rules };
        parsed.check()?;
        Ok(parsed)
    }

    /// Reads and parses a rules file.
    ///
    /// # Errors
    /// As [`parse`](Self::parse); an unreadable file is line 0 with the I/O error.
    pub fn from_file(path: &std::path::Path) -> Result<HostRules, RulesError> {
        let meta = std::fs::metadata(path).map_err(|e| RulesError {
            line: 0,
            reason: format!("{}: {e}", path.display()),
        })?;
        if meta.len() > MAX_RULES_LEN as u64 {
            return err(
                0,
                format!("{}: larger than {MAX_RULES_LEN} bytes", path.display()),
            );
        }
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            line: 0,
            reason: format!("{}: {e}", path.display()),
        })?;
        Self::parse(&text)
    }

    /// Number of host rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks the rules (with the built-in ones) against the built-in traps and every rule's
    /// canonical URLs.
    fn check(&self) -> Result<(), RulesError> {
        let table = HostTable::merged(builtin_table(), self);
        check_canonicals(&table, &self.rules)?;
        let keyer = super::KeyOptions::default()
            .host_table(Arc::new(table))
            .build();
        for (line, a, b) in trap_pairs() {
            let (Ok(ka), Ok(kb)) = (keyer.key(a), keyer.key(b)) else {
                continue;
            };
            if ka.key == kb.key {
                let blame = self
                    .rules
                    .iter()
                    .find(|r| {
                        ka.key.starts_with(&*r.prefix) && ka.key[r.prefix.len()..].starts_with(':')
                    })
                    .or_else(|| {
                        self.rules.iter().find(|r| {
                            let (Ok(ua), Ok(_)) = (url::Url::parse(a), url::Url::parse(b)) else {
                                return false;
                            };
                            let host = ua.host_str().unwrap_or("");
                            r.any_host || r.hosts.iter().any(|h| h.covers(host))
                        })
                    });
                let (rline, name) = blame.map_or((0, "?"), |r| (r.line, r.name));
                return err(
                    rline,
                    format!(
                        "rule [{name}] would merge built-in trap pair (traps.txt line {line}) {a} and {b} into key {}",
                        ka.key
                    ),
                );
            }
        }
        Ok(())
    }
}

/// The built-in trap pairs as (line, a, b).
fn trap_pairs() -> impl Iterator<Item = (usize, &'static str, &'static str)> {
    BUILTIN_TRAPS.lines().enumerate().filter_map(|(n, l)| {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            return None;
        }
        let mut it = l.split_whitespace();
        Some((n + 1, it.next()?, it.next()?))
    })
}

/// The crate's built-in trap pairs (`src/url/traps.txt`): pairs of URLs naming different items,
/// which no key may merge and no user rule may make merge.
///
/// ```
/// let traps = referral_dedup::url::builtin_traps();
/// assert!(traps.len() > 50);
/// for (a, b) in traps {
///     assert_ne!(referral_dedup::url::key(a).unwrap().key, referral_dedup::url::key(b).unwrap().key);
/// }
/// ```
pub fn builtin_traps() -> Vec<(&'static str, &'static str)> {
    trap_pairs().map(|(_, a, b)| (a, b)).collect()
}

/// Every kind's canonical URL, filled with sample values, must key back to the same key.
fn check_canonicals(table: &HostTable, rules: &[HostRule]) -> Result<(), RulesError> {
    let keyer = super::KeyOptions::default()
        .host_table(Arc::new(table.clone()))
        .build();
    for r in rules {
        for shape in &r.shapes {
            let kind = &r.kinds[usize::from(shape.kind)];
            let mut vals: Vec<String> = vec![String::new(); MAX_CAPTURES];
            let all = std::iter::once(&shape.path)
                .chain(shape.params.iter().map(|(_, t)| t))
                .chain(shape.query.iter())
                .chain(shape.fragment.iter());
            for t in all {
                for tok in &t.0 {
                    if let Tok::Cap(s, c) = tok {
                        vals[usize::from(*s)] = r.classes[usize::from(*c)].sample();
                    }
                }
            }
            // A sample host: the shape's own host limit, else the rule's first host.
            let host = shape
                .only
                .first()
                .or(r.hosts.first())
                .map_or("example.com", |h| &*h.domain);
            let mut value = String::new();
            for p in &shape.value {
                match p {
                    Piece::Lit(l) => value.push_str(l),
                    Piece::Cap(s) => value.push_str(&vals[usize::from(*s)]),
                    Piece::Host => value.push_str(host),
                    Piece::Key => {}
                }
            }
            let mut canonical = String::new();
            for p in &kind.canon {
                match p {
                    Piece::Lit(l) => canonical.push_str(l),
                    Piece::Cap(s) => canonical.push_str(&vals[usize::from(*s)]),
                    Piece::Key => canonical.push_str(&value),
                    Piece::Host => canonical.push_str(host),
                }
            }
            let expected = format!("{}:{}:{}", r.prefix, kind.name, value);
            match keyer.key(&canonical) {
                Ok(k) if k.key == expected => {}
                Ok(k) => {
                    return err(
                        kind.line,
                        format!(
                            "canonical URL {canonical} of kind {} keys to {} instead of {expected}",
                            kind.name, k.key
                        ),
                    )
                }
                Err(e) => {
                    return err(
                        kind.line,
                        format!("canonical URL {canonical} of kind {} fails: {e}", kind.name),
                    )
                }
            }
        }
    }
    Ok(())
}

/// Interns a rule name for the process (bounded by [`MAX_INTERNED`]).
fn intern(name: &str) -> Option<&'static str> {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = NAMES
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(n) = set.get(name) {
        return Some(n);
    }
    if set.len() >= MAX_INTERNED {
        return None;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    Some(leaked)
}

fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Key prefixes and names that belong to the keyer's own steps (the built-in platforms' names
/// and prefixes are reserved too: [`is_reserved`]).
const RESERVED: &[&str] = &[
    "url",
    "short",
    "wayback",
    "archive",
    "amp",
    "translate",
    "google-cache",
];

/// Whether a user rule may not use `name` as its name or prefix.
fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name) || super::platforms::is_reserved_name(name)
}

/// Rule under construction.
struct Draft {
    name: String,
    line: usize,
    prefix: Option<String>,
    hosts: Vec<HostPat>,
    any_host: bool,
    fragment: FragmentPolicy,
    classes: Vec<Class>,
    class_names: Vec<String>,
    capture_names: Vec<String>,
    shapes: Vec<(Shape, usize, String)>,
    kinds: Vec<Kind>,
}

fn parse_rules(text: &str, user: bool) -> Result<Vec<HostRule>, RulesError> {
    if text.len() > MAX_RULES_LEN {
        return err(0, format!("rules text larger than {MAX_RULES_LEN} bytes"));
    }
    let mut out: Vec<HostRule> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut prefixes: HashSet<String> = HashSet::new();
    let mut draft: Option<Draft> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(head) = l.strip_prefix('[') {
            let Some(name) = head.strip_suffix(']') else {
                return err(line, "a rule header is `[name]`");
            };
            let name = name.trim();
            if !valid_name(name, 32) {
                return err(
                    line,
                    format!("bad rule name {name:?}: use 1-32 of [a-z0-9-]"),
                );
            }
            if user && is_reserved(name) {
                return err(line, format!("rule name {name:?} is reserved"));
            }
            if !names.insert(name.to_owned()) {
                return err(line, format!("rule [{name}] defined twice"));
            }
            if let Some(d) = draft.take() {
                out.push(finish(d, &mut prefixes, user)?);
            }
            draft = Some(Draft {
                name: name.to_owned(),
                line,
                prefix: None,
                hosts: Vec::new(),
                any_host: false,
                fragment: FragmentPolicy::Route,
                classes: Vec::new(),
                class_names: Vec::new(),
                capture_names: Vec::new(),
                shapes: Vec::new(),
                kinds: Vec::new(),
            });
            continue;
        }
        let Some(d) = draft.as_mut() else {
            return err(line, "expected a `[name]` rule header first");
        };
        let (word, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let rest = rest.trim();
        match word {
            "prefix" | "hosts" | "fragment" => {
                let Some(v) = rest.strip_prefix('=') else {
                    return err(line, format!("`{word}` needs `= value`"));
                };
                let v = v.trim();
                match word {
                    "prefix" => {
                        if !valid_name(v, 16) {
                            return err(line, format!("bad prefix {v:?}: use 1-16 of [a-z0-9-]"));
                        }
                        if user && is_reserved(v) {
                            return err(line, format!("prefix {v:?} is reserved"));
                        }
                        d.prefix = Some(v.to_owned());
                    }
                    "hosts" => {
                        for h in v.split_whitespace() {
                            parse_host(h, d).map_err(|r| RulesError { line, reason: r })?;
                        }
                    }
                    _ => {
                        d.fragment = match v {
                            "route" => FragmentPolicy::Route,
                            "keep" => FragmentPolicy::Keep,
                            "drop" => FragmentPolicy::Drop,
                            _ => return err(line, "fragment is one of: route, keep, drop"),
                        }
                    }
                }
            }
            "class" => parse_class(rest, d).map_err(|r| RulesError { line, reason: r })?,
            "item" => parse_item(rest, d, line).map_err(|r| RulesError { line, reason: r })?,
            "canon" => parse_canon(rest, d, line).map_err(|r| RulesError { line, reason: r })?,
            _ => {
                return err(
                    line,
                    format!(
                    "unknown word {word:?}: expected prefix, hosts, fragment, class, item or canon"
                ),
                )
            }
        }
    }
    if let Some(d) = draft.take() {
        out.push(finish(d, &mut prefixes, user)?);
    }
    Ok(out)
}

fn parse_host(h: &str, d: &mut Draft) -> Result<(), String> {
    if h == "*" {
        d.any_host = true;
        return Ok(());
    }
    let (any_sub, dom) = match h.strip_prefix("*.") {
        Some(x) => (true, x),
        None => (false, h),
    };
    let dom = dom.to_ascii_lowercase();
    let labels: Vec<&str> = dom.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        || dom.len() > 253
    {
        return Err(format!(
            "bad host {h:?}: a domain of two or more labels, optionally `*.` before it"
        ));
    }
    if d.hosts.len() >= 256 {
        return Err("more than 256 hosts in one rule".into());
    }
    d.hosts.push(HostPat {
        domain: dom.into(),
        any_sub,
    });
    Ok(())
}

fn parse_class(rest: &str, d: &mut Draft) -> Result<(), String> {
    let Some((name, spec)) = rest.split_once('=') else {
        return Err("a class is `class NAME = SET MIN[-MAX] [ci] [not a,b]`".into());
    };
    let name = name.trim();
    if !valid_name(name, 32) || named_class(name).is_some() {
        return Err(format!("bad or built-in class name {name:?}"));
    }
    if d.class_names.iter().any(|c| c == name) {
        return Err(format!("class {name:?} defined twice"));
    }
    let mut words = spec.split_whitespace();
    let set_word = words.next().ok_or("class needs a character set")?;
    let mut class = match named_class(set_word) {
        Some(c) => c,
        None => Class {
            set: parse_set(set_word)?,
            min: 1,
            max: 128,
            ci: false,
            not: Vec::new(),
        },
    };
    if class.set == 0 {
        return Err("empty character set".into());
    }
    let len = words.next().ok_or("class needs a length: MIN or MIN-MAX")?;
    let (min, max) = match len.split_once('-') {
        Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
        None => (len.parse::<usize>(), len.parse::<usize>()),
    };
    let (Ok(min), Ok(max)) = (min, max) else {
        return Err(format!("bad length {len:?}: MIN or MIN-MAX"));
    };
    if min == 0 || min > max || max > 1024 {
        return Err(format!("bad length {len:?}: 1 <= MIN <= MAX <= 1024"));
    }
    class.min = min;
    class.max = max;
    while let Some(w) = words.next() {
        match w {
            "ci" => class.ci = true,
            "cs" => class.ci = false,
            "not" => {
                let list = words.next().ok_or("`not` needs a comma-separated list")?;
                class.not = list
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.to_ascii_lowercase().into())
                    .collect();
            }
            _ => return Err(format!("unknown class option {w:?}: ci, cs or not")),
        }
    }
    if class.ci {
        // A case-insensitive class accepts both cases (and lowercases what it captures).
        for b in b'a'..=b'z' {
            if class.has(b) {
                class.set |= 1 << b.to_ascii_uppercase();
            }
            if class.has(b.to_ascii_uppercase()) {
                class.set |= 1 << b;
            }
        }
    }
    if d.classes.len() >= 64 {
        return Err("more than 64 classes in one rule".into());
    }
    d.class_names.push(name.to_owned());
    d.classes.push(class);
    Ok(())
}

/// `[A-Za-z0-9_-]`: ranges and single characters.
fn parse_set(s: &str) -> Result<u128, String> {
    let inner = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .ok_or_else(|| format!("bad character set {s:?}: a built-in class or `[...]`"))?;
    let b = inner.as_bytes();
    let mut set = 0u128;
    let mut i = 0;
    while i < b.len() {
        let lo = b[i];
        let hi = if i + 2 < b.len() && b[i + 1] == b'-' {
            i += 2;
            b[i]
        } else {
            lo
        };
        if lo > hi {
            return Err(format!("bad range in {s:?}"));
        }
        for c in lo..=hi {
            if !allowed_in_class(c) {
                return Err(format!(
                    "character {:?} is not allowed in a class (letters, digits and -._~!$*+,:@%)",
                    char::from(c)
                ));
            }
            set |= 1 << c;
        }
        i += 1;
    }
    Ok(set)
}

fn class_index(d: &mut Draft, name: &str) -> Result<u16, String> {
    if let Some(i) = d.class_names.iter().position(|c| c == name) {
        return Ok(i as u16);
    }
    let c = named_class(name).ok_or_else(|| format!("unknown class {name:?}"))?;
    if d.classes.len() >= 64 {
        return Err("more than 64 classes in one rule".into());
    }
    d.class_names.push(name.to_owned());
    d.classes.push(c);
    Ok((d.classes.len() - 1) as u16)
}

fn capture_slot(d: &mut Draft, name: &str) -> Result<u8, String> {
    if !valid_name(name, 32) || name == "key" || name == "host" {
        return Err(format!("bad capture name {name:?}"));
    }
    if let Some(i) = d.capture_names.iter().position(|c| c == name) {
        return Ok(i as u8);
    }
    if d.capture_names.len() >= MAX_CAPTURES {
        return Err(format!(
            "more than {MAX_CAPTURES} capture names in one rule"
        ));
    }
    d.capture_names.push(name.to_owned());
    Ok((d.capture_names.len() - 1) as u8)
}

/// Parses a template: literals, `<name[:class]>` captures, `*` and a final `**`.
fn parse_template(s: &str, d: &mut Draft, used: &mut u8) -> Result<Template, String> {
    let mut toks = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**") {
            if !r.is_empty() {
                return Err("`**` may only end a template".into());
            }
            if !lit.is_empty() {
                toks.push(Tok::Lit(std::mem::take(&mut lit).into()));
            }
            toks.push(Tok::Rest);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('*') {
            if !lit.is_empty() {
                toks.push(Tok::Lit(std::mem::take(&mut lit).into()));
            }
            if matches!(toks.last(), Some(Tok::Star | Tok::Cap(..))) {
                return Err("`*` must follow a literal".into());
            }
            toks.push(Tok::Star);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('<') {
            let Some((cap, after)) = r.split_once('>') else {
                return Err("unclosed `<` capture".into());
            };
            if !lit.is_empty() {
                toks.push(Tok::Lit(std::mem::take(&mut lit).into()));
            }
            if matches!(toks.last(), Some(Tok::Star | Tok::Cap(..))) {
                return Err("a capture must follow a literal or start the template".into());
            }
            let (name, class) = cap.split_once(':').unwrap_or((cap, cap));
            let slot = capture_slot(d, name)?;
            if *used & 1 << slot != 0 {
                return Err(format!("capture {name:?} used twice in one item"));
            }
            *used |= 1 << slot;
            let class = class_index(d, class)?;
            toks.push(Tok::Cap(slot, class));
            rest = after;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            if !(c.is_ascii_graphic()) || matches!(c, '>' | '"' | '\\' | '{' | '}') {
                return Err(format!("character {c:?} is not allowed in a template"));
            }
            lit.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit.into()));
    }
    if toks.len() > 32 {
        return Err("template longer than 32 elements".into());
    }
    Ok(Template(toks))
}

/// `{name}` pieces of a value or canonical template.
fn parse_pieces(s: &str, d: &Draft, allow_key: bool) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        if i > 0 {
            out.push(Piece::Lit(rest[..i].into()));
        }
        let Some((name, after)) = rest[i + 1..].split_once('}') else {
            return Err("unclosed `{`".into());
        };
        if name == "key" && allow_key {
            out.push(Piece::Key);
        } else if name == "host" {
            out.push(Piece::Host);
        } else {
            let slot = d
                .capture_names
                .iter()
                .position(|c| c == name)
                .ok_or_else(|| format!("unknown capture {{{name}}}"))?;
            out.push(Piece::Cap(slot as u8));
        }
        rest = after;
    }
    if rest.contains('}') {
        return Err("stray `}`".into());
    }
    if !rest.is_empty() {
        out.push(Piece::Lit(rest.into()));
    }
    Ok(out)
}

fn kind_index(d: &mut Draft, name: &str, line: usize) -> Result<u16, String> {
    if !valid_name(name, 32) {
        return Err(format!("bad kind name {name:?}: use 1-32 of [a-z0-9-]"));
    }
    if let Some(i) = d.kinds.iter().position(|k| &*k.name == name) {
        return Ok(i as u16);
    }
    if d.kinds.len() >= 64 {
        return Err("more than 64 kinds in one rule".into());
    }
    d.kinds.push(Kind {
        name: name.into(),
        canon: Vec::new(),
        line,
    });
    Ok((d.kinds.len() - 1) as u16)
}

fn parse_item(rest: &str, d: &mut Draft, line: usize) -> Result<(), String> {
    let (body, value) = match rest.split_once("=>") {
        Some((b, v)) => (b, Some(v.trim())),
        None => (rest, None),
    };
    // `@host` limits may come anywhere; the path is the first other word after the kind.
    let mut words: Vec<&str> = body.split_whitespace().collect();
    if let Some(i) = words.iter().skip(1).position(|w| !w.starts_with('@')) {
        let path = words.remove(i + 1);
        words.insert(1, path);
    }
    let mut words = words.into_iter();
    let kind = words
        .next()
        .ok_or("an item is `item KIND /PATH [?p=..] [#..] [+param] [=> VALUE]`")?;
    let kind = kind_index(d, kind, line)?;
    let path = words
        .next()
        .ok_or("an item needs a path template starting with `/`")?;
    if !path.starts_with('/') {
        return Err(format!("path template {path:?} must start with `/`"));
    }
    let mut used = 0u8;
    let path = parse_template(path, d, &mut used)?;
    let mut shape = Shape {
        kind,
        path,
        params: Vec::new(),
        query: None,
        fragment: None,
        keep: Vec::new(),
        value: Vec::new(),
        only: Vec::new(),
    };
    for w in words {
        if let Some(q) = w.strip_prefix('?').or_else(|| w.strip_prefix('&')) {
            match q.split_once('=') {
                Some((name, tpl)) if !name.contains('<') => {
                    if name.is_empty() || name.len() > 64 {
                        return Err(format!("bad parameter name {name:?}"));
                    }
                    let tpl = parse_template(tpl, d, &mut used)?;
                    shape.params.push((name.into(), tpl));
                }
                _ => {
                    if shape.query.is_some() {
                        return Err("two whole-query templates".into());
                    }
                    shape.query = Some(parse_template(q, d, &mut used)?);
                }
            }
        } else if let Some(f) = w.strip_prefix('#') {
            if shape.fragment.is_some() {
                return Err("two fragment templates".into());
            }
            shape.fragment = Some(parse_template(f, d, &mut used)?);
        } else if let Some(h) = w.strip_prefix('@') {
            if h.starts_with('*') {
                return Err("a host limit is one domain, without `*`".into());
            }
            let mut tmp = Vec::new();
            std::mem::swap(&mut tmp, &mut d.hosts);
            let r = parse_host(h, d);
            std::mem::swap(&mut tmp, &mut d.hosts);
            r?;
            let pat = tmp.pop().ok_or("bad host limit")?;
            if !d.hosts.iter().any(|x| x.domain == pat.domain) {
                return Err(format!("host limit @{h} is not one of the rule's hosts"));
            }
            shape.only.push(pat);
        } else if let Some(p) = w.strip_prefix('+') {
            if p.is_empty()
                || p.len() > 64
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(format!("bad kept parameter {p:?}"));
            }
            if shape.keep.len() >= 4 {
                return Err("more than 4 kept parameters".into());
            }
            shape.keep.push(p.into());
        } else {
            return Err(format!(
                "unexpected {w:?}: use ?param=.., #fragment, +param or => VALUE"
            ));
        }
    }
    shape.value = match value {
        Some(v) => {
            if v.is_empty() || v.contains(char::is_whitespace) {
                return Err("`=>` needs a value template like {a}_{b}".into());
            }
            let p = parse_pieces(v, d, false)?;
            for piece in &p {
                if let Piece::Cap(s) = piece {
                    if used & 1 << s == 0 {
                        return Err("the value uses a capture this item does not capture".into());
                    }
                }
                if let Piece::Lit(l) = piece {
                    if !l.bytes().all(|b| b == b'/' || allowed_in_class(b)) {
                        return Err(format!("literal {l:?} not allowed in a value"));
                    }
                }
            }
            p
        }
        None => {
            let slot = d
                .capture_names
                .iter()
                .position(|c| c == "id")
                .filter(|&s| used & 1 << s != 0)
                .ok_or("an item without `=> VALUE` must capture <id>")?;
            vec![Piece::Cap(slot as u8)]
        }
    };
    if d.shapes.len() >= 256 {
        return Err("more than 256 items in one rule".into());
    }
    let kind_name = d.kinds[usize::from(kind)].name.to_string();
    d.shapes.push((shape, line, kind_name));
    Ok(())
}

fn parse_canon(rest: &str, d: &mut Draft, line: usize) -> Result<(), String> {
    let (kind, tpl) = rest
        .split_once(char::is_whitespace)
        .ok_or("a canonical template is `canon KIND https://host/path/{id}`")?;
    let tpl = tpl.trim();
    if !(tpl.starts_with("https://") || tpl.starts_with("http://"))
        || tpl.contains(char::is_whitespace)
    {
        return Err("a canonical template is an http(s) URL".into());
    }
    let k = kind_index(d, kind, line)?;
    if !d.kinds[usize::from(k)].canon.is_empty() {
        return Err(format!("kind {kind:?} has two canonical templates"));
    }
    let pieces = parse_pieces(tpl, d, true)?;
    d.kinds[usize::from(k)].canon = pieces;
    d.kinds[usize::from(k)].line = line;
    Ok(())
}

fn finish(d: Draft, prefixes: &mut HashSet<String>, user: bool) -> Result<HostRule, RulesError> {
    let line = d.line;
    if d.hosts.is_empty() && !d.any_host {
        return err(line, format!("rule [{}] lists no hosts", d.name));
    }
    if d.shapes.is_empty() && d.fragment == FragmentPolicy::Route {
        return err(
            line,
            format!("rule [{}] has no items and no fragment policy", d.name),
        );
    }
    for k in &d.kinds {
        if k.canon.is_empty() {
            return err(k.line, format!("kind {:?} has no `canon` template", k.name));
        }
    }
    // Every capture a canonical template names must be captured by every item of its kind.
    for (shape, sline, kname) in &d.shapes {
        let kind = &d.kinds[usize::from(shape.kind)];
        let mut captured = 0u8;
        let all = std::iter::once(&shape.path)
            .chain(shape.params.iter().map(|(_, t)| t))
            .chain(shape.query.iter())
            .chain(shape.fragment.iter());
        for t in all {
            for tok in &t.0 {
                if let Tok::Cap(s, _) = tok {
                    captured |= 1 << s;
                }
            }
        }
        for p in &kind.canon {
            if let Piece::Cap(s) = p {
                if captured & 1 << s == 0 {
                    return err(
                        *sline,
                        format!(
                            "kind {kname:?}'s canon uses {{{}}}, which this item does not capture",
                            d.capture_names[usize::from(*s)]
                        ),
                    );
                }
            }
        }
    }
    // Kept parameters belong to the kind: every shape of a kind keeps the same ones, so the
    // canonical URL (whichever shape it takes) keys the same.
    let mut shapes: Vec<Shape> = d.shapes.into_iter().map(|(s, _, _)| s).collect();
    for k in 0..d.kinds.len() {
        let mut keep: Vec<Box<str>> = Vec::new();
        for s in shapes.iter().filter(|s| usize::from(s.kind) == k) {
            for p in &s.keep {
                if !keep.contains(p) {
                    keep.push(p.clone());
                }
            }
        }
        if keep.len() > 4 {
            return err(d.kinds[k].line, "more than 4 kept parameters in one kind");
        }
        for s in shapes.iter_mut().filter(|s| usize::from(s.kind) == k) {
            s.keep = keep.clone();
        }
    }
    let prefix = d.prefix.unwrap_or_else(|| d.name.clone());
    if user && is_reserved(&prefix) {
        return err(line, format!("prefix {prefix:?} is reserved"));
    }
    if !prefixes.insert(prefix.clone()) {
        return err(line, format!("prefix {prefix:?} used by two rules"));
    }
    let Some(name) = intern(&d.name) else {
        return err(line, "too many distinct rule names in this process");
    };
    Ok(HostRule {
        name,
        prefix: prefix.into(),
        hosts: d.hosts,
        any_host: d.any_host,
        fragment: d.fragment,
        classes: d.classes,
        shapes,
        kinds: d.kinds,
        user,
        line,
    })
}

/// The rule table a keyer consults: rules indexed by the last two labels of their hosts.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostTable {
    rules: Vec<HostRule>,
    by_site: HashMap<Box<str>, smallvec::SmallVec<[u32; 2]>, super::canon::FnvBuild>,
    any_host: Vec<u32>,
    /// Some user rule lists a host of one of the seven hand-written platforms.
    pub(crate) user_covers_platforms: bool,
}

impl HostTable {
    fn from_rules(rules: Vec<HostRule>) -> HostTable {
        let mut t = HostTable {
            rules,
            ..HostTable::default()
        };
        for (i, r) in t.rules.iter().enumerate() {
            if r.any_host {
                t.any_host.push(i as u32);
            }
            for h in &r.hosts {
                let (_, site) = split_site(&h.domain);
                let e = t.by_site.entry(site.into()).or_default();
                if !e.contains(&(i as u32)) {
                    e.push(i as u32);
                }
                if r.user && super::platforms::is_platform_site(site) {
                    t.user_covers_platforms = true;
                }
            }
        }
        t
    }

    /// The built-in table with `user` rules added: a user rule replaces the built-in rule of
    /// the same name, and user rules come first on every host they list.
    pub(crate) fn merged(builtin: &HostTable, user: &HostRules) -> HostTable {
        let mut rules: Vec<HostRule> = user.rules.clone();
        for r in &builtin.rules {
            if !user.rules.iter().any(|u| u.name == r.name) {
                rules.push(r.clone());
            }
        }
        HostTable::from_rules(rules)
    }

    /// The rule that claims `view`'s host, if any (user rules first, then built-in ones).
    pub(crate) fn rule_for(&self, view: &View<'_>, user_only: bool) -> Option<&HostRule> {
        if let Some(list) = self.by_site.get(view.site) {
            for &i in list {
                let r = &self.rules[i as usize];
                if (!user_only || r.user) && r.hosts.iter().any(|h| h.covers(view.host)) {
                    return Some(r);
                }
            }
        }
        None
    }

    /// The item key of `view` under the rule claiming its host, or under an any-host rule.
    /// Returns the rule too, so a URL on the host that matched no item can apply its fragment
    /// policy.
    pub(crate) fn key(
        &self,
        view: &View<'_>,
        user_only: bool,
        any_host: bool,
    ) -> (Option<&HostRule>, Option<(HostKey, &'static str)>) {
        let rule = self.rule_for(view, user_only);
        if let Some(r) = rule {
            return (rule, r.key(view).map(|k| (k, r.name)));
        }
        if any_host {
            for &i in &self.any_host {
                let r = &self.rules[i as usize];
                if user_only && !r.user {
                    continue;
                }
                if let Some(k) = r.key(view) {
                    return (None, Some((k, r.name)));
                }
            }
        }
        (None, None)
    }

    /// Number of rules.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }
}

/// The built-in table, parsed once per process. Parsing cannot fail (a unit test checks it);
/// should it ever, the table is empty, which keys nothing and so never merges anything.
pub(crate) fn builtin_table() -> &'static HostTable {
    static TABLE: OnceLock<HostTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        HostTable::from_rules(parse_rules(BUILTIN_RULES, false).unwrap_or_default())
    })
}

/// The built-in table as a shared handle.
pub(crate) fn builtin_arc() -> Arc<HostTable> {
    static TABLE: OnceLock<Arc<HostTable>> = OnceLock::new();
    Arc::clone(TABLE.get_or_init(|| Arc::new(builtin_table().clone())))
}

/// Query pairs helper re-exported for shapes that need it.
#[allow(dead_code)]
fn pairs(q: &str) -> impl Iterator<Item = (&str, &str)> {
    query_pairs(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse_and_their_canonicals_rekey() {
        let rules = parse_rules(BUILTIN_RULES, false).expect("built-in rules parse");
        assert!(rules.len() >= 25, "{} rules", rules.len());
        let table = builtin_table();
        assert_eq!(table.len(), rules.len());
        check_canonicals(table, &rules).expect("built-in canonicals rekey");
    }

    #[test]
    fn templates_match_whole_text() {
        let mut d = Draft {
            name: "t".into(),
            line: 1,
            prefix: None,
            hosts: Vec::new(),
            any_host: false,
            fragment: FragmentPolicy::Route,
            classes: Vec::new(),
            class_names: Vec::new(),
            capture_names: Vec::new(),
            shapes: Vec::new(),
            kinds: Vec::new(),
        };
        let mut used = 0;
        let t = parse_template("/s/<id:word>/**", &mut d, &mut used).unwrap();
        let mut caps = [None; MAX_CAPTURES];
        assert!(t.matches("/s/abc", &d.classes, &mut caps, true));
        assert_eq!(caps[0], Some("abc"));
        assert!(t.matches("/s/abc/name.pdf", &d.classes, &mut caps, true));
        assert!(!t.matches("/s/abc.def/x", &d.classes, &mut caps, true));
        let mut used = 0;
        let t = parse_template("/v<id:lower>-*", &mut d, &mut used).unwrap();
        assert!(t.matches("/v4abc-some-title.html", &d.classes, &mut caps, true));
        assert!(!t.matches("/videos", &d.classes, &mut caps, true));
        let mut used = 0;
        let t = parse_template("*/file/<id:b64>", &mut d, &mut used).unwrap();
        assert!(t.matches("KEY/file/AbC", &d.classes, &mut caps, true));
        assert!(t.matches("/file/AbC", &d.classes, &mut caps, true));
        assert!(!t.matches("KEY/folder/AbC", &d.classes, &mut caps, true));
    }
}
