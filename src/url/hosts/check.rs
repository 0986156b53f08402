//! Checks on parsed rules: a rule's own consistency (`finish`), its canonical URLs keying back
//! to themselves, and the crate's trap pairs that no rules may merge.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use super::parse::Draft;
use super::shapes::{expand, FragmentPolicy, HostRule, Piece, Shape, Tok};
use super::{err, HostTable, RulesError, BUILTIN_TRAPS, MAX_CAPTURES, MAX_INTERNED};

/// The built-in trap pairs as (line, a, b).
pub(super) fn trap_pairs() -> impl Iterator<Item = (usize, &'static str, &'static str)> {
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
pub(super) fn check_canonicals(table: &HostTable, rules: &[HostRule]) -> Result<(), RulesError> {
    let keyer = crate::url::KeyOptions::default()
        .host_table(Arc::new(table.clone()))
        .build();
    for r in rules {
        for shape in &r.shapes {
            let kind = &r.kinds[usize::from(shape.kind)];
            let mut vals: Vec<String> = vec![String::new(); MAX_CAPTURES];
            let all = shape.templates();
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
            expand(&kind.canon, &vals, &value, host, &mut canonical);
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
pub(super) fn intern(name: &str) -> Option<&'static str> {
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

/// Key prefixes and names that belong to the keyer's own steps (the built-in platforms' names
/// and prefixes are reserved too: [`is_reserved`]).
pub(super) const RESERVED: &[&str] = &[
    "url",
    "short",
    "wayback",
    "archive",
    "amp",
    "translate",
    "google-cache",
];

/// Whether a user rule may not use `name` as its name or prefix.
pub(super) fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name) || crate::url::platforms::is_reserved_name(name)
}
pub(super) fn finish(
    d: Draft,
    prefixes: &mut HashSet<String>,
    user: bool,
) -> Result<HostRule, RulesError> {
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
        let all = shape.templates();
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
