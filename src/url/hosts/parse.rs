//! Parsing the rules format (described at the top of `hosts.rules` and in
//! `docs/url-hosts.md`) into rules; `check::finish` validates each rule once it is complete.

use std::collections::HashSet;

use super::check::{finish, is_reserved};
use super::shapes::{
    allowed_in_class, named_class, Class, FragmentPolicy, HostPat, HostRule, Kind, Piece, Shape,
    Template, Tok,
};
use super::{err, RulesError, MAX_CAPTURES, MAX_RULES_LEN};

pub(super) fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
/// Rule under construction.
pub(super) struct Draft {
    pub(super) name: String,
    pub(super) line: usize,
    pub(super) prefix: Option<String>,
    pub(super) hosts: Vec<HostPat>,
    pub(super) any_host: bool,
    pub(super) fragment: FragmentPolicy,
    pub(super) classes: Vec<Class>,
    pub(super) class_names: Vec<String>,
    pub(super) capture_names: Vec<String>,
    pub(super) shapes: Vec<(Shape, usize, String)>,
    pub(super) kinds: Vec<Kind>,
}

impl Draft {
    /// An empty rule `[name]` begun at `line`.
    pub(super) fn new(name: &str, line: usize) -> Draft {
        Draft {
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
        }
    }
}

pub(super) fn parse_rules(text: &str, user: bool) -> Result<Vec<HostRule>, RulesError> {
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
            draft = Some(Draft::new(name, line));
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

pub(super) fn parse_host(h: &str, d: &mut Draft) -> Result<(), String> {
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

pub(super) fn parse_class(rest: &str, d: &mut Draft) -> Result<(), String> {
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
pub(super) fn parse_set(s: &str) -> Result<u128, String> {
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

pub(super) fn class_index(d: &mut Draft, name: &str) -> Result<u16, String> {
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

pub(super) fn capture_slot(d: &mut Draft, name: &str) -> Result<u8, String> {
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
pub(super) fn parse_template(s: &str, d: &mut Draft, used: &mut u8) -> Result<Template, String> {
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
pub(super) fn parse_pieces(s: &str, d: &Draft, allow_key: bool) -> Result<Vec<Piece>, String> {
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

pub(super) fn kind_index(d: &mut Draft, name: &str, line: usize) -> Result<u16, String> {
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

pub(super) fn parse_item(rest: &str, d: &mut Draft, line: usize) -> Result<(), String> {
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

pub(super) fn parse_canon(rest: &str, d: &mut Draft, line: usize) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::hosts::MAX_CAPTURES;

    #[test]
    fn templates_match_whole_text() {
        let mut d = Draft::new("t", 1);
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
