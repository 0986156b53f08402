//! Fuzz target: parsing arbitrary text as a host rules file never panics or hangs; when it is
//! accepted, keying URLs with it never panics and the key of the canonical URL is the key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use referral_dedup::url::{HostRules, KeyOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The rules text, then `%%` and URLs to key with it (one per line).
    let (rules, urls) = text.split_once("%%").unwrap_or((&text, ""));
    let Ok(rules) = HostRules::parse(rules) else {
        return;
    };
    let keyer = KeyOptions::default().host_rules(rules).build();
    for u in urls.lines() {
        if let Ok(k) = keyer.key(u) {
            let again = keyer
                .key(&k.canonical)
                .unwrap_or_else(|e| panic!("canonical {:?} of {u:?} fails: {e}", k.canonical));
            assert_eq!(again.key, k.key, "canonical {:?} of {u:?}", k.canonical);
        }
    }
});
