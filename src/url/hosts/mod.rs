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

mod check;
mod parse;
mod shapes;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::canon::{split_site, View};

pub use check::builtin_traps;
use check::{check_canonicals, trap_pairs};
use parse::parse_rules;
pub(crate) use shapes::{FragmentPolicy, HostKey, HostRule};

/// The built-in host rules.
pub(crate) const BUILTIN_RULES: &str = include_str!("../hosts.rules");

/// The built-in trap pairs: URLs naming different items, which no rule may merge.
pub(crate) const BUILTIN_TRAPS: &str = include_str!("../traps.txt");

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
}
