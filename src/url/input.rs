//! Reading input: the length limit, scheme-less input, `at://` post URIs, and parsing.
//!
//! [`parse`] views input that is already in the form the WHATWG parser would give it (most
//! referral URLs) in place, without the parser or its allocation, and hands everything else to
//! the `url` crate; both give the same [`Parts`], from which `canon::View` builds the canonical
//! view. The in-place test is deliberately narrower than the parser: any doubt goes to the
//! parser, so the shortcut can change no key.

use url::Url;

use super::UrlError;

/// Inputs longer than this many bytes are rejected with [`UrlError::TooLong`].
pub const MAX_INPUT_LEN: usize = 8 * 1024;

/// Parses user input into an http(s) [`Url`] with the `url` crate. Returns whether `http://`
/// was assumed. The keyer reads input through [`parse`], which skips the full parser for input
/// already in its output form; tests use this one to view URLs as the full parser reads them.
#[cfg(test)]
pub(crate) fn parse_input(input: &str) -> Result<(Url, bool), UrlError> {
    parse_full(checked_input(input)?)
}

/// The input trimmed, after the length and emptiness checks every parse starts with.
fn checked_input(input: &str) -> Result<&str, UrlError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(UrlError::TooLong { len: input.len() });
    }
    let s = input.trim();
    if s.is_empty() {
        return Err(UrlError::Empty);
    }
    Ok(s)
}

/// The WHATWG parse of trimmed, non-empty input; returns whether `http://` was assumed.
fn parse_full(s: &str) -> Result<(Url, bool), UrlError> {
    let (url, assumed) = match explicit_scheme(s) {
        Some(scheme) => {
            if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
                return Err(UrlError::UnsupportedScheme);
            }
            (Url::parse(s).map_err(UrlError::Parse)?, false)
        }
        None => {
            let mut with_scheme = String::with_capacity(s.len() + 7);
            with_scheme.push_str(if s.starts_with("//") {
                "http:"
            } else {
                "http://"
            });
            with_scheme.push_str(s);
            (Url::parse(&with_scheme).map_err(UrlError::Parse)?, true)
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::UnsupportedScheme);
    }
    Ok((url, assumed))
}

/// Parses user input for keying and returns whether `http://` was assumed. Input that is
/// already in the form the WHATWG parser would give it (most referral URLs: ASCII, lowercase
/// host, no port, credentials, dot segments or characters the parser escapes) is viewed in
/// place without the full parser or its allocation; everything else goes through the `url`
/// crate. Both give the same [`Parts`] (a unit test compares them).
pub(crate) fn parse(input: &str) -> Result<(Parsed<'_>, bool), UrlError> {
    let s = checked_input(input)?;
    if let Some((parts, assumed)) = simple_parts(s) {
        return Ok((Parsed::Simple(parts), assumed));
    }
    let (url, assumed) = parse_full(s)?;
    Ok((Parsed::Full(url), assumed))
}

/// A URL read by [`parse`].
#[derive(Debug)]
pub(crate) enum Parsed<'a> {
    /// The input itself, already in parsed form.
    Simple(Parts<'a>),
    /// The `url` crate's parse.
    Full(Url),
}

/// The components of a parsed http(s) URL, as the `url` crate reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts<'a> {
    /// `true` for https.
    pub https: bool,
    /// The serialised host (lowercase, IDNA applied, dots kept).
    pub host: &'a str,
    /// Non-default port.
    pub port: Option<u16>,
    /// The path, `/` at least.
    pub path: &'a str,
    /// The query without `?` (`Some("")` for a bare `?`).
    pub query: Option<&'a str>,
    /// The fragment without `#` (`Some("")` for a bare `#`).
    pub fragment: Option<&'a str>,
}

impl<'a> Parts<'a> {
    /// The components of a [`Url`].
    pub(crate) fn of(url: &'a Url) -> Self {
        Parts {
            https: url.scheme() == "https",
            host: url.host_str().unwrap_or(""),
            port: url.port(),
            path: url.path(),
            query: url.query(),
            fragment: url.fragment(),
        }
    }
}

/// Byte classes of the in-place parse: which bytes each component may hold unchanged.
const HOST_OK: u8 = 1;
const PATH_OK: u8 = 2;
const QUERY_OK: u8 = 4;
const FRAGMENT_OK: u8 = 8;

/// For each byte, the components in which the WHATWG parser leaves it as it is and means by it
/// what it says. Deliberately narrower than the parser: a host of `a-z 0-9 - .` only (no
/// uppercase, port, credentials, escapes or IDNA), and printable ASCII elsewhere without the
/// bytes the parser escapes (`" < > \` { }` and `'` in the query), the path's `\` (a `/` to the
/// parser), `^`, `|` and a second `#`. Any other byte sends the input to the full parser.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0x21;
    while b <= 0x7e {
        let c = b as u8;
        let mut class = PATH_OK | QUERY_OK | FRAGMENT_OK;
        if matches!(
            c,
            b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'\\' | b'^' | b'|' | b'#'
        ) {
            class = 0;
        }
        if c == b'\'' {
            class &= !QUERY_OK;
        }
        if c == b'?' {
            class &= !PATH_OK;
        }
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.' {
            class |= HOST_OK;
        }
        t[b] = class;
        b += 1;
    }
    t
};

/// The components of `s` (trimmed input) when it is already in the form the WHATWG parser
/// gives it, so that parsing would change nothing; `None` sends it to the full parser.
fn simple_parts(s: &str) -> Option<(Parts<'_>, bool)> {
    let b = s.as_bytes();
    let (https, assumed, host_start) = if starts_with_ignore_case(b, b"https://") {
        (true, false, 8)
    } else if starts_with_ignore_case(b, b"http://") {
        (false, false, 7)
    } else if explicit_scheme(s).is_none() {
        (false, true, 0)
    } else {
        return None;
    };
    let mut i = scan(b, host_start, HOST_OK);
    let host = &s[host_start..i];
    if !matches!(b.get(i), None | Some(b'/' | b'?' | b'#')) || !is_plain_domain(host) {
        return None;
    }
    let path = if b.get(i) == Some(&b'/') {
        let start = i;
        i = scan(b, i, PATH_OK);
        // A segment that starts with `.` or `%2e` may be a dot segment, which the parser
        // resolves.
        for slash in memchr::memchr_iter(b'/', &b[start..i]) {
            match &b[start + slash + 1..i] {
                [b'.', ..] | [b'%', b'2', b'e' | b'E', ..] => return None,
                _ => {}
            }
        }
        &s[start..i]
    } else {
        "/"
    };
    let query = marked_component(s, &mut i, b'?', QUERY_OK);
    let fragment = marked_component(s, &mut i, b'#', FRAGMENT_OK);
    // A byte no component accepts (space, control, non-ASCII, an escaped character...).
    if i != b.len() {
        return None;
    }
    let parts = Parts {
        https,
        host,
        port: None,
        path,
        query,
        fragment,
    };
    Some((parts, assumed))
}

/// The component that starts with `mark` at `*at` (without the mark), as far as its bytes
/// are of `class`; `*at` moves past it. `None` when no `mark` is at `*at`.
fn marked_component<'s>(s: &'s str, at: &mut usize, mark: u8, class: u8) -> Option<&'s str> {
    let b = s.as_bytes();
    if b.get(*at) != Some(&mark) {
        return None;
    }
    let start = *at + 1;
    *at = scan(b, start, class);
    Some(&s[start..*at])
}

/// The end of the run of bytes from `from` whose class includes `class`.
#[inline]
fn scan(b: &[u8], from: usize, class: u8) -> usize {
    b[from..]
        .iter()
        .position(|&c| CLASS[usize::from(c)] & class == 0)
        .map_or(b.len(), |n| from + n)
}

/// ASCII case-insensitive prefix test.
fn starts_with_ignore_case(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// A host of `a-z 0-9 - .` that IDNA leaves unchanged and that is no IPv4 address: non-empty
/// labels, none an IDNA `xn--` label, the last starting with a letter (so it is not a number).
fn is_plain_domain(host: &str) -> bool {
    let mut last: &[u8] = &[];
    for label in host.as_bytes().split(|&b| b == b'.') {
        if label.is_empty() || label.starts_with(b"xn--") {
            return false;
        }
        last = label;
    }
    last.first().is_some_and(u8::is_ascii_lowercase)
}

/// An AT Protocol URI of a Bluesky post (`at://{actor}/app.bsky.feed.post/{rkey}`) rewritten
/// to its `https://bsky.app/profile/{actor}/post/{rkey}` page; `None` for any other input.
///
/// # Errors
/// [`UrlError::UnsupportedScheme`] for an `at://` URI that does not name a post.
pub(crate) fn at_uri(input: &str) -> Result<Option<String>, UrlError> {
    let s = input.trim();
    if !(s.len() > 5 && s.as_bytes()[..5].eq_ignore_ascii_case(b"at://")) {
        return Ok(None);
    }
    if s.len() > MAX_INPUT_LEN {
        return Err(UrlError::TooLong { len: input.len() });
    }
    let mut parts = s[5..].split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(actor), Some("app.bsky.feed.post"), Some(rkey), None)
            if !actor.is_empty()
                && !rkey.is_empty()
                && !actor.contains(['?', '#'])
                && !rkey.contains(['?', '#']) =>
        {
            Ok(Some(format!(
                "https://bsky.app/profile/{actor}/post/{rkey}"
            )))
        }
        _ => Err(UrlError::UnsupportedScheme),
    }
}

/// The scheme of `s` if it starts with one (`scheme:`), telling `host:port` apart from a scheme.
fn explicit_scheme(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let colon = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
    if b[colon] != b':' {
        return None;
    }
    // `example.com:8080/x` and `localhost:80` are host:port, not a scheme.
    let after = &b[colon + 1..];
    let digits = after.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && matches!(after.get(digits), None | Some(b'/' | b'?' | b'#')) {
        return None;
    }
    Some(&s[..colon])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-place parse gives exactly the `url` crate's components wherever it applies.
    fn assert_simple_matches_full(input: &str) -> bool {
        let Ok(s) = checked_input(input) else {
            return false;
        };
        let Some((parts, assumed)) = simple_parts(s) else {
            return false;
        };
        let (url, full_assumed) = parse_full(s)
            .unwrap_or_else(|e| panic!("{input:?}: in place {parts:?}, full parser: {e}"));
        assert_eq!(parts, Parts::of(&url), "{input:?}");
        assert_eq!(assumed, full_assumed, "{input:?}");
        true
    }

    #[test]
    fn in_place_parse_agrees_with_the_url_crate() {
        let bases = [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s#t=1",
            "http://example.com",
            "example.com/a/b?c=d",
            "https://a-b.c0.example/x/y/z",
            "https://mega.nz/#F!abc!def",
            "t.me/chan/5?x",
            "https://x.com/a/status/20?s=20&t=abc",
        ];
        let inserts = [
            ".",
            "..",
            "/",
            "/.",
            "/..",
            "%2e",
            "%2E",
            "/%2e",
            "/%2E%2e",
            "%",
            "%41",
            "%zz",
            "?",
            "#",
            "##",
            "&",
            "=",
            ":",
            ":80",
            ":443",
            ":8080",
            ":0",
            "@",
            "u:p@",
            "\\",
            "\t",
            "\n",
            " ",
            "\u{0}",
            "\u{7f}",
            "\"",
            "'",
            "<",
            ">",
            "`",
            "{",
            "}",
            "^",
            "|",
            "[",
            "]",
            "é",
            "A",
            "Z",
            "_",
            "-",
            "~",
            "0",
            "9",
            "0x1",
            "xn--",
            "xn--abc",
            "127.0.0.1",
            "1",
            "http://",
            "https://",
            "HTTPS://",
            "//",
            "ftp://",
            "a:",
            "www.",
            "\u{ff0e}",
        ];
        let mut simple = 0;
        for base in bases {
            simple += usize::from(assert_simple_matches_full(base));
            let cuts = base.char_indices().map(|(i, _)| i).chain([base.len()]);
            for cut in cuts {
                for ins in inserts {
                    let s = format!("{}{ins}{}", &base[..cut], &base[cut..]);
                    simple += usize::from(assert_simple_matches_full(&s));
                }
            }
        }
        // The in-place parse must also apply often enough to matter.
        assert!(simple > 2_000, "{simple}");
        for s in bases {
            assert!(simple_parts(s).is_some(), "{s}");
        }
        for s in [
            "HTTPS://WWW.Example.com/",
            "https://example.com:443/",
            "https://127.0.0.1/",
            "https://example.123/",
            "https://xn--bcher-kva.example/",
            "https://example.com./",
            "https://example.com/a/../b",
            "https://example.com/%2e/b",
            "https://example.com/a b",
            "https://example.com/a\\b",
            "https://user@example.com/",
            "mailto:x@example.com",
            "//example.com/",
        ] {
            assert!(simple_parts(s).is_none(), "{s}");
        }
    }

    #[test]
    fn scheme_detection_tells_ports_from_schemes() {
        assert_eq!(explicit_scheme("https://a"), Some("https"));
        assert_eq!(explicit_scheme("HTTP://a"), Some("HTTP"));
        assert_eq!(explicit_scheme("mailto:x@y"), Some("mailto"));
        assert_eq!(explicit_scheme("example.com:8080/x"), None);
        assert_eq!(explicit_scheme("localhost:80"), None);
        assert_eq!(explicit_scheme("t.me/chan/5"), None);
        assert_eq!(explicit_scheme("%20x.com/"), None);
    }

    #[test]
    fn input_is_parsed_as_the_public_pastes_it() {
        let (u, assumed) = parse_input("  t.me/chan/5 ").unwrap();
        assert!(assumed);
        assert_eq!(u.as_str(), "http://t.me/chan/5");
        let (u, assumed) = parse_input("//example.com/a").unwrap();
        assert!(assumed);
        assert_eq!(u.host_str(), Some("example.com"));
        assert_eq!(
            parse_input("ftp://example.com/").unwrap_err(),
            UrlError::UnsupportedScheme
        );
        assert_eq!(
            parse_input("javascript:alert(1)").unwrap_err(),
            UrlError::UnsupportedScheme
        );
        assert_eq!(parse_input(" \t ").unwrap_err(), UrlError::Empty);
        let long = format!("https://example.com/{}", "a".repeat(MAX_INPUT_LEN));
        assert!(matches!(
            parse_input(&long).unwrap_err(),
            UrlError::TooLong { .. }
        ));
        assert!(matches!(
            parse_input("http://exa mple.com/").unwrap_err(),
            UrlError::Parse(_)
        ));
    }
}
