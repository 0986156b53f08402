//! Concurrency stress: several threads insert, delete and query at once for a bounded time;
//! afterwards every insert that was not deleted is findable and every delete is final.
//! `REFDEDUP_LONG=1` runs for longer.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use referral_dedup::hashes::{EntryId, Hash64, Pdq};
use referral_dedup::index::{Code, ExactIndex, HammingConfig, HammingIndex};

fn run_time() -> Duration {
    if std::env::var_os("REFDEDUP_LONG").is_some() {
        Duration::from_secs(30)
    } else {
        Duration::from_millis(1500)
    }
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The code thread `t` stores as its `i`-th entry: distinct per (t, i).
fn code_for<C: Code>(t: u64, i: u64) -> C {
    let words: Vec<u64> = (0..u64::from(C::BITS / 64))
        .map(|k| mix((t << 40) ^ (i << 4) ^ k))
        .collect();
    C::from_words(&words)
}

fn stress<C: Code>() {
    let index = Arc::new(HammingIndex::<C>::with_config(HammingConfig {
        delta_capacity: 256,
        ..HammingConfig::default()
    }));
    // A preloaded big part, so queries go through the tables while merges run.
    let preload: Vec<(EntryId, C)> = (0..20_000u64)
        .map(|i| (EntryId(1_000_000 + i as u32), code_for::<C>(99, i)))
        .collect();
    let index = {
        drop(index);
        Arc::new(HammingIndex::build_with_config(
            preload.iter().copied(),
            HammingConfig {
                delta_capacity: 256,
                ..HammingConfig::default()
            },
        ))
    };
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3u64)
        .map(|t| {
            let index = Arc::clone(&index);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut removed = Vec::new();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let id = EntryId((t * 100_000 + i) as u32);
                    let code = code_for::<C>(t, i);
                    index.insert(id, code);
                    // Visible to this thread at once.
                    assert!(
                        index.range(&code, 0).iter().any(|h| h.id == id),
                        "insert not visible"
                    );
                    if i % 7 == 3 {
                        assert!(index.remove(id));
                        assert!(!index.range(&code, 2).iter().any(|h| h.id == id));
                        removed.push((id, code));
                    } else {
                        kept.push((id, code));
                    }
                    i += 1;
                }
                (kept, removed)
            })
        })
        .collect();
    let readers: Vec<_> = (0..2u64)
        .map(|r| {
            let index = Arc::clone(&index);
            let stop = Arc::clone(&stop);
            let preload = preload.clone();
            std::thread::spawn(move || {
                let mut queries = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let (id, code) = preload[(mix(queries ^ r) % preload.len() as u64) as usize];
                    let hits = index.range(&code, C::BITS / 8);
                    assert!(hits.iter().any(|h| h.id == id && h.distance == 0));
                    queries += 1;
                }
                queries
            })
        })
        .collect();
    std::thread::sleep(run_time());
    stop.store(true, Ordering::Relaxed);
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    for w in writers {
        let (k, r) = w.join().expect("writer thread");
        kept.extend(k);
        removed.extend(r);
    }
    let queries: u64 = readers.into_iter().map(|r| r.join().expect("reader")).sum();
    assert!(queries > 0 && !kept.is_empty() && !removed.is_empty());
    index.compact();
    assert_eq!(index.len(), preload.len() + kept.len());
    for (id, code) in &kept {
        assert!(
            index.range(code, 0).iter().any(|h| h.id == *id),
            "{id} lost"
        );
    }
    for (id, code) in &removed {
        assert!(
            !index.range(code, 0).iter().any(|h| h.id == *id),
            "{id} came back"
        );
    }
}

#[test]
fn pdq_inserts_deletes_and_queries_concurrently() {
    stress::<Pdq>();
}

#[test]
fn hash64_inserts_deletes_and_queries_concurrently() {
    stress::<Hash64>();
}

#[test]
fn exact_index_concurrent_writers_and_readers() {
    let index = Arc::new(ExactIndex::<u64>::new());
    let deadline = Instant::now() + run_time() / 2;
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let index = Arc::clone(&index);
            std::thread::spawn(move || {
                let mut mine = HashMap::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let key = mix(t * 1_000_003 + i) % 50_000; // keys shared across threads
                    let id = EntryId((t * 10_000_000 + i) as u32);
                    index.insert(key, id);
                    assert!(index.get(&key).contains(&id));
                    if i.is_multiple_of(5) {
                        assert!(index.remove(&key, id));
                        assert!(!index.get(&key).contains(&id));
                    } else {
                        mine.insert(id, key);
                    }
                    i += 1;
                }
                mine
            })
        })
        .collect();
    let mut all: HashMap<EntryId, u64> = HashMap::new();
    for t in threads {
        all.extend(t.join().expect("thread"));
    }
    let keys: HashSet<u64> = all.values().copied().collect();
    assert_eq!(index.len(), keys.len());
    for (id, key) in &all {
        assert!(index.get(key).contains(id));
    }
}
