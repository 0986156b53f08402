//! URL keys per second on a generated, realistic mix of platform and generic URLs.
//!
//! `cargo bench --bench url` also writes the URL list to `target/url-bench-urls.txt`, which
//! `benches/peers/url_peers.py` reads to time w3lib and url-normalize on the same list.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use referral_dedup::url::{canonicalize, HostRules, KeyOptions, UrlKeyer};

/// Number of URLs in the mix.
const N: usize = 10_000;

include!("url_mix.rs");

fn bench_url(c: &mut Criterion) {
    let urls = generate_mix(N);
    let list = concat!(env!("CARGO_MANIFEST_DIR"), "/target/url-bench-urls.txt");
    if let Err(e) = std::fs::write(list, urls.join("\n") + "\n") {
        eprintln!("could not write {list}: {e}");
    }
    let hosts = generate_host_mix(N);
    let list = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/url-bench-urls-hosts.txt"
    );
    if let Err(e) = std::fs::write(list, hosts.join("\n") + "\n") {
        eprintln!("could not write {list}: {e}");
    }
    let keyer = UrlKeyer::new();
    let user = KeyOptions::default()
        .host_rules(HostRules::parse(&many_host_rules(1000)).expect("generated rules parse"))
        .build();
    let mut g = c.benchmark_group("url");
    g.throughput(Throughput::Elements(urls.len() as u64));
    g.bench_function("key_mix", |b| {
        b.iter(|| {
            for u in &urls {
                let _ = black_box(keyer.key(black_box(u)));
            }
        })
    });
    g.bench_function("key_host_mix", |b| {
        b.iter(|| {
            for u in &hosts {
                let _ = black_box(keyer.key(black_box(u)));
            }
        })
    });
    g.bench_function("key_mix_user_rules_1000", |b| {
        b.iter(|| {
            for u in &urls {
                let _ = black_box(user.key(black_box(u)));
            }
        })
    });
    g.bench_function("key_host_mix_user_rules_1000", |b| {
        b.iter(|| {
            for u in &hosts {
                let _ = black_box(user.key(black_box(u)));
            }
        })
    });
    g.bench_function("canonicalize_mix", |b| {
        b.iter(|| {
            for u in &urls {
                let _ = black_box(canonicalize(black_box(u)));
            }
        })
    });
    g.bench_function("url_parse_only_mix", |b| {
        b.iter(|| {
            for u in &urls {
                let _ = black_box(url::Url::parse(black_box(u)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_url);
criterion_main!(benches);
