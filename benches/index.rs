//! Index benchmarks: inserts, exact lookups (dashmap vs hand-sharded maps) and radius queries
//! at 1M codes (multi-index hashing one query at a time, in batches of 256, and a linear scan,
//! in the same run).
//!
//! `cargo bench --bench index`

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use parking_lot::RwLock;
use referral_dedup::hashes::{Blake3, EntryId, Hash64, Pdq};
use referral_dedup::index::{Code, ExactIndex, HammingIndex};

#[allow(dead_code)]
#[path = "../tests/support/splitmix.rs"]
mod splitmix;
use splitmix::SplitMix;

const N: usize = 1_000_000;

fn random_code<C: Code>(rng: &mut SplitMix) -> C {
    let w: Vec<u64> = (0..C::BITS / 64).map(|_| rng.next()).collect();
    C::from_words(&w)
}

fn flip<C: Code>(c: &C, flips: u32, rng: &mut SplitMix) -> C {
    let mut w: Vec<u64> = (0..(C::BITS / 64) as usize).map(|k| c.word(k)).collect();
    for _ in 0..flips {
        let bit = (rng.next() % u64::from(C::BITS)) as usize;
        w[bit / 64] ^= 1 << (bit % 64);
    }
    C::from_words(&w)
}

/// Families of 5 near-duplicates (0..=40 of 256 bits from a random centre).
fn clustered<C: Code>(n: usize, rng: &mut SplitMix) -> Vec<C> {
    let spread = 40 * C::BITS / 256;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let centre: C = random_code(rng);
        for _ in 0..5 {
            let f = (rng.next() % u64::from(spread + 1)) as u32;
            out.push(flip(&centre, f, rng));
        }
    }
    out.truncate(n);
    out
}

fn blake_key(i: u64) -> Blake3 {
    let mut rng = SplitMix(i);
    let mut b = [0u8; 32];
    for chunk in b.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
    Blake3(b)
}

/// The alternative to dashmap: 64 `RwLock<HashMap>` shards chosen by the key's hash.
struct ShardedMap<K> {
    hasher: RandomState,
    shards: Vec<RwLock<HashMap<K, Vec<EntryId>>>>,
}

impl<K: Eq + Hash + Clone> ShardedMap<K> {
    fn new() -> Self {
        ShardedMap {
            hasher: RandomState::new(),
            shards: (0..64).map(|_| RwLock::new(HashMap::new())).collect(),
        }
    }
    fn shard(&self, key: &K) -> &RwLock<HashMap<K, Vec<EntryId>>> {
        &self.shards[(self.hasher.hash_one(key) >> 58) as usize]
    }
    fn insert(&self, key: K, id: EntryId) {
        let mut m = self.shard(&key).write();
        let ids = m.entry(key).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    fn get(&self, key: &K) -> Vec<EntryId> {
        self.shard(key).read().get(key).cloned().unwrap_or_default()
    }
}

fn exact(c: &mut Criterion) {
    let dash = ExactIndex::with_capacity(N);
    let sharded = ShardedMap::new();
    for i in 0..N as u64 {
        dash.insert(blake_key(i), EntryId(i as u32));
        sharded.insert(blake_key(i), EntryId(i as u32));
    }
    // Half the lookups hit, half miss.
    let probes: Vec<Blake3> = (0..4096u64)
        .map(|i| blake_key(if i % 2 == 0 { i * 199 } else { N as u64 + i }))
        .collect();
    let mut g = c.benchmark_group("exact_lookup_1M");
    g.throughput(Throughput::Elements(probes.len() as u64));
    g.bench_function("dashmap", |b| {
        b.iter(|| probes.iter().map(|k| dash.get(k).len()).sum::<usize>())
    });
    g.bench_function("sharded_rwlock_hashmap", |b| {
        b.iter(|| probes.iter().map(|k| sharded.get(k).len()).sum::<usize>())
    });
    g.bench_function("dashmap_2_threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..2 {
                    let (dash, probes) = (&dash, &probes);
                    s.spawn(move || {
                        // Each thread looks up its half of the probes `iters` times: together
                        // one iteration's worth of lookups per iteration, in the elapsed time.
                        for _ in 0..iters {
                            let half = &probes[t * probes.len() / 2..(t + 1) * probes.len() / 2];
                            black_box(half.iter().map(|k| dash.get(k).len()).sum::<usize>());
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("exact_insert");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("dashmap", |b| {
        b.iter_batched(
            ExactIndex::new,
            |idx| {
                for i in 0..10_000u64 {
                    idx.insert(blake_key(i), EntryId(i as u32));
                }
                idx
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn hamming_insert(c: &mut Criterion) {
    let mut rng = SplitMix(7);
    let codes: Vec<Pdq> = clustered(100_000, &mut rng);
    let mut g = c.benchmark_group("hamming_insert");
    g.throughput(Throughput::Elements(codes.len() as u64));
    g.sample_size(10);
    g.bench_function("pdq_100k_then_compact", |b| {
        b.iter_batched(
            HammingIndex::<Pdq>::new,
            |idx| {
                for (i, c) in codes.iter().enumerate() {
                    idx.insert(EntryId(i as u32), *c);
                }
                idx.compact();
                idx
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn range_bench<C: Code>(c: &mut Criterion, name: &str, radius: u32) {
    let mut rng = SplitMix(11);
    let codes: Vec<C> = clustered(N, &mut rng);
    let index = HammingIndex::build(
        codes
            .iter()
            .enumerate()
            .map(|(i, c)| (EntryId(i as u32), *c)),
    );
    let near: Vec<C> = (0..256)
        .map(|i| flip(&codes[(i * 3_907) % N], radius / 2, &mut rng))
        .collect();
    let random: Vec<C> = (0..256).map(|_| random_code(&mut rng)).collect();
    let mut g = c.benchmark_group(format!("range_1M_{name}_r{radius}"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("mih_near_query", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % near.len();
            index.range(&near[i], radius)
        })
    });
    g.bench_function("mih_random_query", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % random.len();
            index.range(&random[i], radius)
        })
    });
    g.finish();
    let mut g = c.benchmark_group(format!("range_batch_1M_{name}_r{radius}"));
    g.throughput(Throughput::Elements(near.len() as u64));
    // One thread for both, so the ratio is per thread (range_batch runs on the rayon pool).
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool");
    g.bench_function("mih_near_batch_256", |b| {
        b.iter(|| one_thread.install(|| index.range_batch(&near, radius)))
    });
    g.bench_function("mih_near_single_256", |b| {
        b.iter(|| {
            near.iter()
                .map(|q| index.range(q, radius))
                .collect::<Vec<_>>()
        })
    });
    g.finish();
    let mut g = c.benchmark_group(format!("range_1M_{name}_r{radius}_scan"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("linear_scan_baseline", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % near.len();
            let q = &near[i];
            codes.iter().filter(|c| c.distance(q) <= radius).count()
        })
    });
    g.finish();
}

fn range(c: &mut Criterion) {
    range_bench::<Pdq>(c, "pdq", 31);
    range_bench::<Hash64>(c, "hash64", 10);
    range_bench::<Hash64>(c, "hash64", 16);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = exact, hamming_insert, range
}
criterion_main!(benches);
