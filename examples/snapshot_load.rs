//! Measures snapshot write and load times at N entries (default 10,000,000).
//!
//! Builds N synthetic entries shaped like a real store (most with a PDQ, dHash, pHash and
//! BLAKE3, some with URL keys, MD5/SHA-256 from hash lists, labels and timestamps), writes them
//! as a snapshot through `Store::snapshot`, then times, each on its own:
//! - `SnapshotColumns::read`: one read of the file plus validation (checksums, lengths, order,
//!   UTF-8);
//! - building `(EntryId, Pdq)` pairs from the columns (what an index bulk load needs);
//! - `SnapshotColumns::entries`: every row as an `EntryRecord`;
//! - `Store::open`: the whole recovery (read, validate, build records, replay an empty journal).
//!
//! Then times appends of single insert records under each fsync policy (`--appends`, default
//! 20,000; a tenth of that under `EveryWrite`), one JSON line per policy.
//!
//! Prints JSON lines. Run:
//! `cargo run --release --example snapshot_load -- --n 10000000 [--dir DIR] [--keep]`
//! (the page cache is warm: the file was just written; see BENCHMARKS.md).

use std::path::PathBuf;
use std::time::Instant;

use referral_dedup::hashes::{Blake3, EntryId, Hash64, Md5, Pdq, Sha256};
use referral_dedup::store::{
    EntryRecord, EntrySource, FsyncPolicy, Record, SnapshotColumns, Store, StoreOptions,
};

struct Args {
    n: u32,
    dir: Option<PathBuf>,
    keep: bool,
    appends: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        n: 10_000_000,
        dir: None,
        keep: false,
        appends: 20_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--n" => {
                args.n = it
                    .next()
                    .and_then(|v| v.replace('_', "").parse().ok())
                    .ok_or("--n needs a count")?
            }
            "--dir" => args.dir = Some(it.next().ok_or("--dir needs a path")?.into()),
            "--keep" => args.keep = true,
            "--appends" => {
                args.appends = it
                    .next()
                    .and_then(|v| v.replace('_', "").parse().ok())
                    .ok_or("--appends needs a count")?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// A deterministic pseudo-random stream (splitmix64).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn synthetic_entry(i: u32) -> EntryRecord {
    let r = mix(u64::from(i));
    let known = r % 10 < 3;
    let source = if known {
        EntrySource::Known
    } else {
        EntrySource::Referral
    };
    let mut e = EntryRecord::new(EntryId(i), source, format!("ref-{i:09}"));
    let h = [mix(r), mix(r ^ 1), mix(r ^ 2), mix(r ^ 3)];
    if r % 100 < 70 {
        e.hashes.pdq = Some(Pdq(h));
        e.hashes.pdq_quality = Some((h[0] % 101) as u8);
        e.hashes.dhash = Some(Hash64(h[1]));
        e.hashes.phash = Some(Hash64(h[2]));
        let mut b = [0u8; 32];
        for (k, lane) in h.iter().enumerate() {
            b[k * 8..k * 8 + 8].copy_from_slice(&lane.to_le_bytes());
        }
        e.hashes.blake3 = Some(Blake3(b));
    }
    if !known && r % 100 < 60 {
        e.url_key = Some(format!("youtube:video/{:011x}", h[3] >> 20));
        e.received_at = Some("2026-11-23T12:00:00Z".to_owned());
    }
    if known {
        e.label = Some(format!("list-{}", r % 17));
        let mut m = [0u8; 16];
        m.copy_from_slice(&h[0].to_le_bytes().repeat(2));
        e.hashes.md5 = Some(Md5(m));
        if r.is_multiple_of(3) {
            e.hashes.sha256 = Some(Sha256([(r & 0xff) as u8; 32]));
        }
    }
    if r.is_multiple_of(50) {
        e.hashes.extra_pdq = vec![Pdq([h[3], h[2], h[1], h[0]])];
    }
    e
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());

    let t = Instant::now();
    let entries: Vec<EntryRecord> = (0..args.n).map(synthetic_entry).collect();
    let resolutions: Vec<(String, String)> = (0..args.n / 1000)
        .map(|i| (format!("bit.ly/{i:07}"), format!("https://example.org/{i}")))
        .collect();
    let build_s = t.elapsed().as_secs_f64();

    let (store, _) = Store::open(&dir, StoreOptions::default())?;
    let t = Instant::now();
    let path = store.snapshot(&entries, &resolutions)?;
    let write_s = t.elapsed().as_secs_f64();
    drop(store);
    let n_pdq = entries.iter().filter(|e| e.hashes.pdq.is_some()).count();
    drop(entries);
    let file_bytes = std::fs::metadata(&path)?.len();

    let t = Instant::now();
    let cols = SnapshotColumns::read(&path)?;
    let read_validate_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let pdq: Vec<(EntryId, Pdq)> = cols.pdq().collect();
    let pdq_column_s = t.elapsed().as_secs_f64();
    assert_eq!(pdq.len(), n_pdq);
    drop(pdq);

    let t = Instant::now();
    let rows = cols.entries()?;
    let entries_s = t.elapsed().as_secs_f64();
    assert_eq!(rows.len(), args.n as usize);
    drop(rows);
    drop(cols);

    let t = Instant::now();
    let (store, recovered) = Store::open(&dir, StoreOptions::default())?;
    let open_s = t.elapsed().as_secs_f64();
    assert_eq!(recovered.entries.len(), args.n as usize);
    assert_eq!(recovered.resolutions.len(), resolutions.len());
    drop(store);
    let t = Instant::now();
    drop(recovered);
    let drop_s = t.elapsed().as_secs_f64();

    println!(
        "{{\"n\":{},\"file_bytes\":{file_bytes},\"bytes_per_entry\":{:.1},\"build_s\":{build_s:.3},\
         \"snapshot_write_s\":{write_s:.3},\"read_validate_s\":{read_validate_s:.3},\
         \"pdq_column_s\":{pdq_column_s:.3},\"entries_s\":{entries_s:.3},\"open_s\":{open_s:.3},\
         \"drop_recovered_s\":{drop_s:.3}}}",
        args.n,
        file_bytes as f64 / f64::from(args.n.max(1)),
    );
    if args.keep {
        eprintln!("kept {}", path.display());
        std::mem::forget(tmp);
    }

    for (name, policy, count) in [
        ("every_write", FsyncPolicy::EveryWrite, args.appends / 10),
        (
            "every_millis_10",
            FsyncPolicy::EveryMillis(10),
            args.appends,
        ),
        ("never", FsyncPolicy::Never, args.appends),
    ] {
        let dir = tempfile::tempdir()?;
        let (store, _) = Store::open(dir.path(), StoreOptions::default().with_fsync(policy))?;
        let records: Vec<Record> = (0..count)
            .map(|i| Record::Insert(synthetic_entry(i)))
            .collect();
        let t = Instant::now();
        for r in &records {
            store.append(r)?;
        }
        store.sync()?;
        let s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for chunk in records.chunks(100) {
            store.append_all(chunk)?;
        }
        store.sync()?;
        let batch_s = t.elapsed().as_secs_f64();
        println!(
            "{{\"appends\":{count},\"fsync\":\"{name}\",\"appends_per_s\":{:.0},\
             \"batched_100_records_per_s\":{:.0}}}",
            f64::from(count) / s,
            f64::from(count) / batch_s
        );
    }

    // Group commit: threads appending at once under EveryWrite share fsyncs.
    for threads in [1u32, 4, 16] {
        let dir = tempfile::tempdir()?;
        let (store, _) = Store::open(dir.path(), StoreOptions::default())?;
        let per_thread = args.appends / 10 / threads.max(1);
        let t = Instant::now();
        std::thread::scope(|s| {
            for k in 0..threads {
                let store = &store;
                s.spawn(move || {
                    for i in 0..per_thread {
                        let r = Record::Insert(synthetic_entry(k * per_thread + i));
                        store.append(&r).expect("append");
                    }
                });
            }
        });
        let s = t.elapsed().as_secs_f64();
        println!(
            "{{\"appends\":{},\"fsync\":\"every_write\",\"threads\":{threads},\
             \"appends_per_s\":{:.0}}}",
            per_thread * threads,
            f64::from(per_thread * threads) / s
        );
    }
    Ok(())
}
