//! The tracking-parameter rule table: which query parameters are noise on which hosts.
//!
//! The table is the crate's own data file `tracking_params.txt` (format described at its top:
//! global and non-platform parameters), compiled into the binary with `include_str!`, plus the
//! `tracking` lines each built-in platform declares in its file under `platforms/`; it is built
//! once per [`UrlKeyer`](super::UrlKeyer).
//! Matching is written by hand rather than with regexes: the table only needs exact names and
//! prefixes, and a hash lookup plus a few prefix compares keeps keying cheap per call.

use super::canon::FnvBuild;
use super::platforms;
use std::collections::HashMap;

/// The built-in rule table text.
pub(crate) const BUILTIN_TABLE: &str = include_str!("tracking_params.txt");

/// Longest exact name the table may hold (names are lowercased on the stack up to this length).
const MAX_NAME: usize = 64;

/// Where a name or prefix is tracking: everywhere, or on some domains (and their subdomains).
#[derive(Debug, Default, Clone)]
struct Scopes {
    global: bool,
    domains: Vec<Box<str>>,
}

impl Scopes {
    fn add(&mut self, scope: Option<&str>) {
        match scope {
            None => self.global = true,
            Some(d) => {
                if !self.domains.iter().any(|x| &**x == d) {
                    self.domains.push(d.into());
                }
            }
        }
    }

    /// Whether these scopes cover `host` (lowercase, no trailing dot).
    fn cover(&self, host: &str) -> bool {
        self.global || self.domains.iter().any(|d| in_domain(host, d))
    }
}

/// `host` is `domain` or a subdomain of it.
fn in_domain(host: &str, domain: &str) -> bool {
    match host.len().checked_sub(domain.len()) {
        Some(0) => host == domain,
        Some(cut) => host.as_bytes()[cut - 1] == b'.' && host.ends_with(domain),
        None => false,
    }
}

/// The parsed rule table. One map from (lowercase) parameter name to the scopes where it is
/// tracking, so that checking a parameter costs one hash lookup whatever the host; prefix
/// patterns, few, are checked in a short list.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrackingTable {
    exact: HashMap<Box<str>, Scopes, FnvBuild>,
    prefixes: Vec<(Box<str>, Scopes)>,
}

impl TrackingTable {
    /// Parses the table format described in `tracking_params.txt`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut table = TrackingTable::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((scope, names)) = line.split_once(':') else {
                return Err(format!("line {}: missing `scope:`", n + 1));
            };
            table
                .add_line(scope, names)
                .map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(table)
    }

    /// Adds one `scope: names` line (already split at the colon).
    fn add_line(&mut self, scope: &str, names: &str) -> Result<(), String> {
        let scope = scope.trim().to_ascii_lowercase();
        let scope = if scope == "*" {
            None
        } else {
            // A scope is a domain of at least two labels (a bare TLD is never a scope).
            if scope.contains(char::is_whitespace)
                || scope.starts_with('.')
                || scope.ends_with('.')
                || !scope.contains('.')
            {
                return Err(format!("bad scope {scope:?}"));
            }
            Some(scope.as_str())
        };
        for name in names.split_whitespace() {
            self.insert(name, scope)?;
        }
        Ok(())
    }

    /// The built-in table: `tracking_params.txt` plus every built-in platform's `tracking`.
    fn builtin_checked() -> Result<Self, String> {
        let mut table = Self::parse(BUILTIN_TABLE)?;
        for p in platforms::BUILTIN {
            for (scope, names) in p.tracking {
                table
                    .add_line(scope, names)
                    .map_err(|e| format!("platform {}: {e}", p.name))?;
            }
        }
        Ok(table)
    }

    fn insert(&mut self, name: &str, scope: Option<&str>) -> Result<(), String> {
        let lower = name.to_ascii_lowercase();
        if let Some(prefix) = lower.strip_suffix('*') {
            if prefix.is_empty() || prefix.contains('*') {
                return Err(format!("bad prefix pattern {name:?}"));
            }
            match self.prefixes.iter_mut().find(|(p, _)| &**p == prefix) {
                Some((_, scopes)) => scopes.add(scope),
                None => {
                    let mut scopes = Scopes::default();
                    scopes.add(scope);
                    self.prefixes.push((prefix.into(), scopes));
                }
            }
        } else {
            if lower.contains('*') || lower.len() > MAX_NAME {
                return Err(format!("bad parameter name {name:?}"));
            }
            self.exact.entry(lower.into()).or_default().add(scope);
        }
        Ok(())
    }

    /// The built-in table. Parsing it cannot fail (a unit test checks it); should it ever,
    /// an empty table is used, which removes nothing and so can never cause a wrong merge.
    pub(crate) fn builtin() -> Self {
        Self::builtin_checked().unwrap_or_default()
    }

    /// Whether parameter `name` (any case) is tracking on `host` (lowercase, no trailing dot).
    pub(crate) fn is_tracking(&self, host: &str, name: &str) -> bool {
        let bytes = name.as_bytes();
        if bytes.len() <= MAX_NAME {
            let mut buf = [0u8; MAX_NAME];
            let lower = &mut buf[..bytes.len()];
            lower.copy_from_slice(bytes);
            lower.make_ascii_lowercase();
            // Lowercasing ASCII bytes keeps valid UTF-8 valid.
            if let Ok(lower) = std::str::from_utf8(lower) {
                if self.exact.get(lower).is_some_and(|s| s.cover(host)) {
                    return true;
                }
            }
        }
        self.prefixes.iter().any(|(p, scopes)| {
            bytes.len() >= p.len()
                && bytes[..p.len()].eq_ignore_ascii_case(p.as_bytes())
                && scopes.cover(host)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses() {
        let t = TrackingTable::builtin_checked().expect("built-in table parses");
        assert!(t.exact["fbclid"].global);
        assert!(t.exact["si"].domains.iter().any(|d| &**d == "youtube.com"));
        assert!(t.prefixes.iter().any(|(p, s)| &**p == "utm_" && s.global));
    }

    #[test]
    fn global_exact_and_prefix_names_match_any_case() {
        let t = TrackingTable::builtin();
        assert!(t.is_tracking("example.com", "utm_source"));
        assert!(t.is_tracking("example.com", "UTM_Campaign"));
        assert!(t.is_tracking("example.com", "fbclid"));
        assert!(t.is_tracking("example.com", "GCLID"));
        assert!(!t.is_tracking("example.com", "id"));
        assert!(!t.is_tracking("example.com", "utmost"));
        assert!(!t.is_tracking("example.com", "ref"));
        assert!(!t.is_tracking("example.com", "si"));
    }

    #[test]
    fn scoped_names_apply_to_domain_and_subdomains_only() {
        let t = TrackingTable::builtin();
        assert!(t.is_tracking("www.youtube.com", "si"));
        assert!(t.is_tracking("youtube.com", "feature"));
        assert!(t.is_tracking("music.youtube.com", "si"));
        assert!(!t.is_tracking("notyoutube.com", "si"));
        assert!(!t.is_tracking("example.com", "feature"));
        assert!(t.is_tracking("m.facebook.com", "__cft__[0]"));
        assert!(t.is_tracking("x.com", "s"));
        assert!(!t.is_tracking("x.company.io", "s"));
    }

    #[test]
    fn malformed_tables_are_rejected() {
        assert!(TrackingTable::parse("no colon here").is_err());
        assert!(TrackingTable::parse("*: a*b").is_err());
        assert!(TrackingTable::parse("*: *").is_err());
        assert!(TrackingTable::parse("bad scope: x").is_err());
        assert!(TrackingTable::parse("com: x").is_err());
        assert!(TrackingTable::parse(".example.com: x").is_err());
    }
}
