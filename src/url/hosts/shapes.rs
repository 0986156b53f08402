//! Matching host rules against a URL and building the item key: character classes,
//! templates, item shapes and kinds, host patterns and one host's rule.

use std::borrow::Cow;

use super::MAX_CAPTURES;
use crate::url::canon::View;

/// A set of characters (ASCII only) plus length bounds and case rule: what a capture accepts.
#[derive(Debug, Clone)]
pub(super) struct Class {
    pub(super) set: u128,
    pub(super) min: usize,
    pub(super) max: usize,
    /// Case-insensitive: the captured value is lowercased (escapes kept uppercase).
    pub(super) ci: bool,
    /// Values (lowercase) that are never an id (`settings`, `discover`, ...).
    pub(super) not: Vec<Box<str>>,
}

impl Class {
    pub(super) fn has(&self, b: u8) -> bool {
        b < 128 && self.set >> b & 1 == 1
    }

    /// A value the class accepts, for checking canonical templates.
    pub(super) fn sample(&self) -> String {
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
pub(super) fn allowed_in_class(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$*+,:@%".contains(&b)
}

pub(super) fn named_class(name: &str) -> Option<Class> {
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
pub(super) enum Tok {
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
pub(super) struct Template(pub(super) Vec<Tok>);

/// Captured values of one shape match (slices of the URL's parts).
pub(super) type Caps<'v> = [Option<&'v str>; MAX_CAPTURES];

impl Template {
    /// Matches the whole of `s`; at the end one `/` may remain when `slash_ok`.
    pub(super) fn matches<'v>(
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
pub(super) enum Piece {
    Lit(Box<str>),
    Cap(u8),
    /// The key value (`{key}`).
    Key,
    /// The URL's host without `www.` (`{host}`).
    Host,
}

/// The default port of a canonical URL template's scheme (`None` when it does not start with
/// `http://` or `https://`).
fn default_port(canon: &[Piece]) -> Option<u16> {
    match canon.first() {
        Some(Piece::Lit(l)) if l.starts_with("https://") => Some(443),
        Some(Piece::Lit(l)) if l.starts_with("http://") => Some(80),
        _ => None,
    }
}

/// Appends `pieces` to `out`, with `vals` for captures, `key` for `{key}` and `host` for
/// `{host}` (a canonical URL template, filled in).
pub(super) fn expand<V: AsRef<str>>(
    pieces: &[Piece],
    vals: &[V],
    key: &str,
    host: &str,
    out: &mut String,
) {
    for p in pieces {
        match p {
            Piece::Lit(l) => out.push_str(l),
            Piece::Cap(s) => out.push_str(vals[usize::from(*s)].as_ref()),
            Piece::Key => out.push_str(key),
            Piece::Host => out.push_str(host),
        }
    }
}

/// One URL shape of an item kind.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    pub(super) kind: u16,
    pub(super) path: Template,
    pub(super) params: Vec<(Box<str>, Template)>,
    pub(super) query: Option<Template>,
    pub(super) fragment: Option<Template>,
    pub(super) keep: Vec<Box<str>>,
    pub(super) value: Vec<Piece>,
    /// Hosts this shape is limited to (`@dai.ly`); empty: every host of the rule.
    pub(super) only: Vec<HostPat>,
}

impl Shape {
    /// Every template of the shape: path, named parameters, whole query, fragment.
    pub(super) fn templates(&self) -> impl Iterator<Item = &Template> {
        std::iter::once(&self.path)
            .chain(self.params.iter().map(|(_, t)| t))
            .chain(self.query.iter())
            .chain(self.fragment.iter())
    }
}

/// An item kind: its name (`file`, `folder`, `video`) and canonical URL template.
#[derive(Debug, Clone)]
pub(super) struct Kind {
    pub(super) name: Box<str>,
    pub(super) canon: Vec<Piece>,
    pub(super) line: usize,
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
pub(super) struct HostPat {
    pub(super) domain: Box<str>,
    pub(super) any_sub: bool,
}

impl HostPat {
    pub(super) fn covers(&self, host: &str) -> bool {
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
    pub(super) prefix: Box<str>,
    pub(super) hosts: Vec<HostPat>,
    /// Matches every host (`hosts = *`): tried when no other rule claims the host.
    pub(super) any_host: bool,
    pub(crate) fragment: FragmentPolicy,
    pub(super) classes: Vec<Class>,
    pub(super) shapes: Vec<Shape>,
    pub(super) kinds: Vec<Kind>,
    pub(super) user: bool,
    pub(super) line: usize,
}

/// An item recognised by a host rule.
#[derive(Debug)]
pub(crate) struct HostKey {
    pub key: String,
    pub canonical: String,
}

pub(super) fn lower_outside_escapes(v: &str) -> Cow<'_, str> {
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
pub(super) fn is_plain_value(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 256
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

impl HostRule {
    /// The item key of `view`, if one of this rule's shapes matches.
    pub(super) fn key(&self, view: &View<'_>) -> Option<HostKey> {
        'shapes: for shape in &self.shapes {
            // A path that lacks the shape's leading literal cannot match: skip the shape before
            // setting up its captures (most URLs meet an any-host rule's shapes this way).
            if let Some(Tok::Lit(l)) = shape.path.0.first() {
                if l.len() > 1 && !view.path.starts_with(&**l) {
                    continue;
                }
            }
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

    pub(super) fn assemble(
        &self,
        view: &View<'_>,
        shape: &Shape,
        caps: &Caps<'_>,
    ) -> Option<HostKey> {
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
        let kind = &self.kinds[usize::from(shape.kind)];
        // `{host}` (any-host rules): the host without `www.`, with its port (servers on two
        // ports are two servers), except the default port of the canonical URL's scheme
        // (`http://h:443/...` becomes `https://h/...`, whose key must be this one).
        let bare = view.host.strip_prefix("www.").unwrap_or(view.host);
        let port = view.port.filter(|&p| Some(p) != default_port(&kind.canon));
        let host: Cow<'_, str> = match port {
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
        expand(&kind.canon, &vals, &value, host, &mut canonical);
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

    pub(super) fn slot_ci(&self, shape: &Shape, slot: u8) -> bool {
        let all = shape.templates();
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
