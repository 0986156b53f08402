//! The tracking-parameter rule table: which query parameters are noise on which hosts.
//!
//! The table is the crate's own data file `tracking_params.txt` (format described at its top),
//! compiled into the binary with `include_str!` and parsed once per [`UrlKeyer`](super::UrlKeyer).
//! Matching is written by hand rather than with regexes: the table only needs exact names and
//! prefixes, and a hash lookup plus a few prefix compares keeps keying cheap per call.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::canon::find_byte;

/// FNV-1a: the table's keys are short ASCII names, for which it is several times faster than the
/// default SipHash; the table is built from our own data file, so hash flooding is not a concern.
#[derive(Default, Clone, Copy)]
struct Fnv1a(u64);

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

type FnvBuild = BuildHasherDefault<Fnv1a>;

/// The built-in rule table text.
pub(crate) const BUILTIN_TABLE: &str = include_str!("tracking_params.txt");

/// Longest exact name the table may hold (names are lowercased on the stack up to this length).
const MAX_NAME: usize = 64;

/// A set of parameter names: exact (lowercase) and prefixes (lowercase).
#[derive(Debug, Default, Clone)]
pub(crate) struct ParamSet {
    exact: HashSet<Box<str>, FnvBuild>,
    prefixes: Vec<Box<str>>,
}

impl ParamSet {
    fn insert(&mut self, name: &str) -> Result<(), String> {
        let lower = name.to_ascii_lowercase();
        if let Some(prefix) = lower.strip_suffix('*') {
            if prefix.is_empty() || prefix.contains('*') {
                return Err(format!("bad prefix pattern {name:?}"));
            }
            self.prefixes.push(prefix.into());
        } else {
            if lower.contains('*') || lower.len() > MAX_NAME {
                return Err(format!("bad parameter name {name:?}"));
            }
            self.exact.insert(lower.into());
        }
        Ok(())
    }

    /// Whether `name` (any case) is in the set.
    fn contains(&self, name: &str) -> bool {
        let bytes = name.as_bytes();
        if bytes.len() <= MAX_NAME && !self.exact.is_empty() {
            let mut buf = [0u8; MAX_NAME];
            let lower = &mut buf[..bytes.len()];
            lower.copy_from_slice(bytes);
            lower.make_ascii_lowercase();
            // Lowercasing ASCII bytes keeps valid UTF-8 valid.
            if let Ok(lower) = std::str::from_utf8(lower) {
                if self.exact.contains(lower) {
                    return true;
                }
            }
        }
        self.prefixes
            .iter()
            .any(|p| bytes.len() >= p.len() && bytes[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
    }
}

/// The parsed rule table: a global set plus one set per domain scope.
#[derive(Debug, Clone)]
pub(crate) struct TrackingTable {
    global: ParamSet,
    by_domain: HashMap<Box<str>, ParamSet, FnvBuild>,
}

impl TrackingTable {
    /// Parses the table format described in `tracking_params.txt`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut global = ParamSet::default();
        let mut by_domain: HashMap<Box<str>, ParamSet, FnvBuild> = HashMap::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((scope, names)) = line.split_once(':') else {
                return Err(format!("line {}: missing `scope:`", n + 1));
            };
            let scope = scope.trim().to_ascii_lowercase();
            let set = if scope == "*" {
                &mut global
            } else {
                if scope.is_empty() || scope.contains(char::is_whitespace) {
                    return Err(format!("line {}: bad scope {scope:?}", n + 1));
                }
                by_domain.entry(scope.into()).or_default()
            };
            for name in names.split_whitespace() {
                set.insert(name)
                    .map_err(|e| format!("line {}: {e}", n + 1))?;
            }
        }
        Ok(TrackingTable { global, by_domain })
    }

    /// The built-in table. Parsing it cannot fail (a unit test checks it); should it ever,
    /// an empty table is used, which removes nothing and so can never cause a wrong merge.
    pub(crate) fn builtin() -> Self {
        Self::parse(BUILTIN_TABLE).unwrap_or_else(|_| TrackingTable {
            global: ParamSet::default(),
            by_domain: HashMap::default(),
        })
    }

    /// The rules that apply to `host` (lowercase, no trailing dot).
    pub(crate) fn for_host(&self, host: &str) -> HostRules<'_> {
        let mut scoped = [None; 3];
        let mut n = 0;
        let mut rest = host;
        // Walk the host's suffixes: a.b.c.d, b.c.d, c.d (a bare TLD is never a scope).
        while n < scoped.len() {
            if let Some(set) = self.by_domain.get(rest) {
                scoped[n] = Some(set);
                n += 1;
            }
            match find_byte(rest, b'.') {
                Some(i) if find_byte(&rest[i + 1..], b'.').is_some() => rest = &rest[i + 1..],
                _ => break,
            }
        }
        HostRules {
            global: &self.global,
            scoped,
        }
    }
}

/// The tracking rules in force for one host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostRules<'a> {
    global: &'a ParamSet,
    scoped: [Option<&'a ParamSet>; 3],
}

impl HostRules<'_> {
    /// Whether the parameter `name` is tracking noise on this host.
    pub(crate) fn is_tracking(&self, name: &str) -> bool {
        self.global.contains(name) || self.scoped.iter().flatten().any(|s| s.contains(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses() {
        let t = TrackingTable::parse(BUILTIN_TABLE).expect("built-in table parses");
        assert!(t.global.exact.contains("fbclid"));
        assert!(t.by_domain.contains_key("youtube.com"));
    }

    #[test]
    fn global_exact_and_prefix_names_match_any_case() {
        let t = TrackingTable::builtin();
        let r = t.for_host("example.com");
        assert!(r.is_tracking("utm_source"));
        assert!(r.is_tracking("UTM_Campaign"));
        assert!(r.is_tracking("fbclid"));
        assert!(r.is_tracking("GCLID"));
        assert!(!r.is_tracking("id"));
        assert!(!r.is_tracking("utmost"));
        assert!(!r.is_tracking("ref"));
        assert!(!r.is_tracking("si"));
    }

    #[test]
    fn scoped_names_apply_to_domain_and_subdomains_only() {
        let t = TrackingTable::builtin();
        assert!(t.for_host("www.youtube.com").is_tracking("si"));
        assert!(t.for_host("youtube.com").is_tracking("feature"));
        assert!(t.for_host("music.youtube.com").is_tracking("si"));
        assert!(!t.for_host("notyoutube.com").is_tracking("si"));
        assert!(!t.for_host("example.com").is_tracking("feature"));
        assert!(t.for_host("m.facebook.com").is_tracking("__cft__[0]"));
        assert!(t.for_host("x.com").is_tracking("s"));
        assert!(!t.for_host("x.company.io").is_tracking("s"));
    }

    #[test]
    fn malformed_tables_are_rejected() {
        assert!(TrackingTable::parse("no colon here").is_err());
        assert!(TrackingTable::parse("*: a*b").is_err());
        assert!(TrackingTable::parse("*: *").is_err());
        assert!(TrackingTable::parse("bad scope: x").is_err());
    }
}
