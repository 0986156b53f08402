//! Fuzz target: keying arbitrary input never panics, stays bounded, and the key of the canonical
//! URL equals the key (idempotence).
#![no_main]

use libfuzzer_sys::fuzz_target;
use referral_dedup::url::{canonicalize, key};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let _ = canonicalize(&input);
    if let Ok(k) = key(&input) {
        let again = key(&k.canonical)
            .unwrap_or_else(|e| panic!("canonical {:?} of {:?} fails: {e}", k.canonical, input));
        assert_eq!(again.key, k.key, "canonical {:?} of {:?}", k.canonical, input);
    }
});
