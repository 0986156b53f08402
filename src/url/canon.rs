//! The generic canonicalisation layer: the [`View`] of a parsed URL.
//!
//! Parsing (`input.rs`) is the `url` crate's WHATWG parser, or an in-place view of input already
//! in its output form (the parser lowercases scheme and host, applies IDNA, drops default ports,
//! resolves dot segments, strips tabs and newlines and rewrites every IPv4 spelling to dotted
//! decimal). On top of it this module adds what WHATWG leaves alone: a trailing dot in the host,
//! and percent-escape normalisation (decode unreserved characters, uppercase the rest). That
//! last step is written by hand because `percent-encoding` only offers all-or-nothing decoding.

use std::borrow::Cow;
use std::hash::{BuildHasherDefault, Hasher};

use url::Url;

use super::hosts::FragmentPolicy;
use super::input::{self, Parsed, Parts};
use super::UrlError;

/// A parsed URL's parts after generic canonicalisation, borrowed from the [`Url`].
#[derive(Debug)]
pub(crate) struct View<'a> {
    /// `true` for https.
    pub https: bool,
    /// Lowercase host without trailing dots (IDNA already applied).
    pub host: &'a str,
    /// The host's last two labels (`youtube.com` for `www.youtube.com`).
    pub site: &'a str,
    /// The host before `site` (`www`), empty when there is none.
    pub sub: &'a str,
    /// Non-default port.
    pub port: Option<u16>,
    /// Path with percent-escapes normalised; never empty.
    pub path: Cow<'a, str>,
    /// Query (without `?`) with percent-escapes normalised; `None` when absent or empty.
    pub query: Option<Cow<'a, str>>,
    /// A `#!` route (the text after `#!`), escapes normalised.
    pub route: Option<Cow<'a, str>>,
    /// The whole fragment (without `#`), escapes normalised; `None` when absent or empty.
    pub fragment: Option<Cow<'a, str>>,
}

impl<'a> View<'a> {
    /// Builds the view of a URL read by [`input::parse`]; fails only for a host that is
    /// nothing but dots.
    pub(crate) fn of(parsed: &'a Parsed<'_>) -> Result<Self, UrlError> {
        match parsed {
            Parsed::Simple(parts) => Self::from_parts(*parts),
            Parsed::Full(url) => Self::new(url),
        }
    }

    /// Builds the view of a [`Url`]; fails only for a host that is nothing but dots.
    pub(crate) fn new(url: &'a Url) -> Result<Self, UrlError> {
        Self::from_parts(Parts::of(url))
    }

    /// Builds the view of a URL's components; fails only for a host that is nothing but dots.
    pub(crate) fn from_parts(parts: Parts<'a>) -> Result<Self, UrlError> {
        let raw = parts.host;
        let trimmed = raw.trim_end_matches('.');
        // Dropping the dots must not turn a domain into an IPv4 spelling (WHATWG parses a host
        // that "ends in a number" as IPv4): `..4..` stays as it is, so the canonical URL reparses.
        let host = if trimmed.len() != raw.len() && ends_in_number(trimmed) {
            raw
        } else {
            trimmed
        };
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        let path = parts.path;
        let path = if path.is_empty() {
            Cow::Borrowed("/")
        } else {
            normalize_escapes(path)
        };
        let query = parts.query.filter(|q| !q.is_empty()).map(normalize_escapes);
        let fragment = parts
            .fragment
            .filter(|f| !f.is_empty())
            .map(normalize_escapes);
        let route = match &fragment {
            Some(Cow::Borrowed(f)) => f.strip_prefix('!').map(Cow::Borrowed),
            Some(Cow::Owned(f)) => f.strip_prefix('!').map(|r| Cow::Owned(r.to_owned())),
            None => None,
        };
        let (sub, site) = split_site(host);
        Ok(View {
            https: parts.https,
            host,
            site,
            sub,
            port: parts.port,
            path,
            query,
            route,
            fragment,
        })
    }

    /// The fragment a generic key keeps under `policy`: by default only hash-bang and route
    /// fragments (`#!...`, `#F!...`, `#/...`), which name the item on single-page sites.
    pub(crate) fn kept_fragment(&self, policy: FragmentPolicy) -> Option<&str> {
        let f = self.fragment.as_deref()?;
        match policy {
            FragmentPolicy::Drop => None,
            FragmentPolicy::Keep => Some(f),
            FragmentPolicy::Route => {
                (f.starts_with('!') || f.starts_with("F!") || (f.starts_with('/') && f.len() > 1))
                    .then_some(f)
            }
        }
    }

    /// Non-empty path segments.
    pub(crate) fn segments(&self) -> impl Iterator<Item = &str> + '_ {
        split_byte(&self.path, b'/').filter(|s| !s.is_empty())
    }

    /// `name=value` pairs of the query, in order, skipping empty pairs.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        query_pairs(self.query.as_deref().unwrap_or(""))
    }

    /// Raw (still escaped) value of the first parameter called exactly `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.pairs().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether a parameter called exactly `name` is present (with or without a value).
    pub(crate) fn has_param(&self, name: &str) -> bool {
        self.pairs().any(|(n, _)| n == name)
    }
}

/// WHATWG "ends in a number": the last label is all digits or `0x` + hex digits.
fn ends_in_number(host: &str) -> bool {
    let last = rsplit_once_byte(host, b'.').map_or(host, |(_, l)| l);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    match last.strip_prefix("0x").or_else(|| last.strip_prefix("0X")) {
        Some(hex) => hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => false,
    }
}

/// Splits a query string into `(name, value)` pairs (value empty when there is no `=`).
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    split_byte(query, b'&')
        .filter(|p| !p.is_empty())
        .map(|p| split_once_byte(p, b'=').unwrap_or((p, "")))
}

// Byte-level splitting on an ASCII separator. `str::split(char)` and friends go through the
// generic char searcher (a memchr call plus a memcmp call per hit), which dominated the keyer's
// own time on the short strings URLs are made of (BENCHMARKS.md, URL keys); a plain byte loop is
// several times cheaper here. Cutting at an ASCII byte always lands on a char boundary.

/// Position of the first `sep` byte in `s`.
#[inline]
pub(crate) fn find_byte(s: &str, sep: u8) -> Option<usize> {
    s.bytes().position(|b| b == sep)
}

/// `s` split around its first `sep` byte.
#[inline]
pub(crate) fn split_once_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, sep)?;
    Some((&s[..i], &s[i + 1..]))
}

/// `s` split around its last `sep` byte.
#[inline]
pub(crate) fn rsplit_once_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().rposition(|b| b == sep)?;
    Some((&s[..i], &s[i + 1..]))
}

/// The pieces of `s` between `sep` bytes, like `s.split(sep as char)`.
#[inline]
pub(crate) fn split_byte(s: &str, sep: u8) -> SplitByte<'_> {
    SplitByte { rest: Some(s), sep }
}

/// Iterator returned by [`split_byte`].
pub(crate) struct SplitByte<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for SplitByte<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let r = self.rest?;
        match find_byte(r, self.sep) {
            Some(i) => {
                self.rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                self.rest = None;
                Some(r)
            }
        }
    }
}

/// RFC 3986 unreserved characters: decoded wherever they appear escaped.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// Decodes escaped unreserved characters, uppercases every other escape and escapes a `%` that
/// does not start a valid escape (`%` becomes `%25`). Idempotent.
pub(crate) fn normalize_escapes(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    let Some(first) = first_change(b) else {
        return Cow::Borrowed(s);
    };
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(b.len() + 4);
    out.extend_from_slice(&b[..first]);
    let mut i = first;
    while i < b.len() {
        let c = b[i];
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        match (
            b.get(i + 1).and_then(|&h| hex_value(h)),
            b.get(i + 2).and_then(|&l| hex_value(l)),
        ) {
            (Some(h), Some(l)) => {
                let v = h << 4 | l;
                if is_unreserved(v) {
                    out.push(v);
                } else {
                    out.extend_from_slice(&[b'%', HEX[usize::from(h)], HEX[usize::from(l)]]);
                }
                i += 3;
            }
            _ => {
                out.extend_from_slice(b"%25");
                i += 1;
            }
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes, so the result is valid UTF-8.
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Position of the first `%` that [`normalize_escapes`] would rewrite (an escaped unreserved
/// character, a lowercase hex digit or a `%` that starts no escape), so that already-normal
/// text, escapes included (`q=https%3A%2F%2F...`), is borrowed rather than copied.
fn first_change(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'%', &b[from..]) {
        let at = from + i;
        // An uppercase hex digit's value; lowercase digits need rewriting, so they count as none.
        let upper = |c: Option<&u8>| {
            c.filter(|c| !c.is_ascii_lowercase())
                .and_then(|&c| hex_value(c))
        };
        match (upper(b.get(at + 1)), upper(b.get(at + 2))) {
            (Some(h), Some(l)) if !is_unreserved(h << 4 | l) => from = at + 3,
            _ => return Some(at),
        }
    }
    None
}

/// Fully percent-decodes a parameter value (not `+`), lossily as UTF-8.
pub(crate) fn decode_value(v: &str) -> String {
    percent_encoding::percent_decode_str(v)
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits a host into (subdomain part, site = last two labels). `www.youtube.com` gives
/// `("www", "youtube.com")`, `t.me` gives `("", "t.me")`.
pub(crate) fn split_site(host: &str) -> (&str, &str) {
    // Byte scans: hosts are short, and a plain loop beats the generic char searcher here.
    let b = host.as_bytes();
    let Some(last_dot) = b.iter().rposition(|&c| c == b'.') else {
        return ("", host);
    };
    match b[..last_dot].iter().rposition(|&c| c == b'.') {
        Some(i) => (&host[..i], &host[i + 1..]),
        None => ("", host),
    }
}

/// Generic canonicalisation only (no tracking removal, unwrapping or platform keys): the URL
/// layer that the Safe Browsing vectors test. See [`canonicalize`](super::canonicalize).
pub(crate) fn generic_canonical(input: &str) -> Result<String, UrlError> {
    let (parsed, _) = input::parse(input)?;
    let view = View::of(&parsed)?;
    let mut out = String::with_capacity(input.len() + 8);
    push_origin(&mut out, &view, view.host);
    out.push_str(&view.path);
    if let Some(q) = &view.query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = view.kept_fragment(FragmentPolicy::Route) {
        out.push('#');
        out.push_str(f);
    }
    Ok(out)
}

/// Appends `scheme://host[:port]`.
pub(crate) fn push_origin(out: &mut String, view: &View<'_>, host: &str) {
    out.push_str(if view.https { "https://" } else { "http://" });
    out.push_str(host);
    push_port(out, view.port);
}

/// Appends `:port` when there is a non-default port.
pub(crate) fn push_port(out: &mut String, port: Option<u16>) {
    if let Some(p) = port {
        out.push(':');
        out.push_str(itoa_u16(p).as_str());
    }
}

fn itoa_u16(p: u16) -> String {
    p.to_string()
}

/// FNV-1a: the table's keys are short ASCII names, for which it is several times faster than the
/// default SipHash; the table is built from our own data file, so hash flooding is not a concern.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fnv1a(u64);

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) type FnvBuild = BuildHasherDefault<Fnv1a>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_normalised() {
        assert_eq!(normalize_escapes("/a%7eb%2fc"), "/a~b%2Fc");
        assert_eq!(normalize_escapes("/%41%42%43"), "/ABC");
        assert_eq!(normalize_escapes("/100%"), "/100%25");
        assert_eq!(normalize_escapes("/%zz%2"), "/%25zz%252");
        assert_eq!(normalize_escapes("/%c3%a9"), "/%C3%A9");
        for s in ["/a%7eb%2fc", "/100%", "/%zz%2", "/%%%25%32%35asd%%"] {
            let once = normalize_escapes(s).into_owned();
            assert_eq!(normalize_escapes(&once), once, "idempotent on {s}");
        }
        assert!(matches!(normalize_escapes("/plain"), Cow::Borrowed(_)));
        assert!(matches!(
            normalize_escapes("q=https%3A%2F%2Fexample.com%2Fa"),
            Cow::Borrowed(_)
        ));
        for s in ["/%2f", "/%7E", "/%", "/a%2", "/%2F%41", "/%2F%zz"] {
            assert!(matches!(normalize_escapes(s), Cow::Owned(_)), "{s}");
        }
    }

    #[test]
    fn generic_canonical_form() {
        let c = |s| generic_canonical(s).unwrap();
        assert_eq!(
            c("HTTP://WWW.Example.COM.:80/a/./b/../C?x=%7e#frag"),
            "http://www.example.com/a/C?x=~"
        );
        assert_eq!(c("https://example.com:443"), "https://example.com/");
        assert_eq!(c("https://example.com:8443/"), "https://example.com:8443/");
        assert_eq!(
            c("https://bücher.example/"),
            "https://xn--bcher-kva.example/"
        );
        assert_eq!(
            c("https://example.com/#!/route/A"),
            "https://example.com/#!/route/A"
        );
        assert_eq!(
            generic_canonical("http://.../").unwrap_err(),
            UrlError::NoHost
        );
    }

    #[test]
    fn sites_split_at_the_last_two_labels() {
        assert_eq!(split_site("www.youtube.com"), ("www", "youtube.com"));
        assert_eq!(
            split_site("a.b.cdn.ampproject.org"),
            ("a.b.cdn", "ampproject.org")
        );
        assert_eq!(split_site("t.me"), ("", "t.me"));
        assert_eq!(split_site("localhost"), ("", "localhost"));
    }
}
