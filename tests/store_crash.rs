//! Crash test: a writer in a child process (this test binary re-executed) appends under
//! `FsyncPolicy::EveryWrite`, snapshots now and then, and prints each acknowledged record after
//! `append` returns; the parent kills it with SIGKILL at random moments, reopens the store and
//! checks that every acknowledged record is there and nothing is corrupt.
//!
//! 60 rounds by default; `REFDEDUP_LONG=1` runs 1,000 (or `REFDEDUP_CRASH_ROUNDS=N`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use referral_dedup::hashes::{EntryId, Hash64, Pdq};
use referral_dedup::store::{EntryRecord, EntrySource, FsyncPolicy, Record, Store, StoreOptions};

use crate::splitmix::SplitMix;

const CHILD_DIR: &str = "REFDEDUP_CRASH_CHILD_DIR";
const CHILD_ROUND: &str = "REFDEDUP_CRASH_CHILD_ROUND";
/// Ids of round `r` are `r * ID_STRIDE + k`, so rounds never reuse an id.
const ID_STRIDE: u32 = 100_000;

/// The record the writer inserts for id `id` (deterministic, so the parent can check content).
fn entry(id: u32) -> EntryRecord {
    let mut e = EntryRecord::new(EntryId(id), EntrySource::Referral, format!("ref-{id}"));
    let x = u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    e.hashes.pdq = Some(Pdq([x, x.rotate_left(7), x.rotate_left(19), !x]));
    e.hashes.dhash = Some(Hash64(x));
    e.url_key = id.is_multiple_of(3).then(|| format!("x.com:status/{id}"));
    e.hashes.extra_pdq = if id.is_multiple_of(5) {
        vec![Pdq([x; 4])]
    } else {
        Vec::new()
    };
    e
}

/// The child: open (recovering), then append until killed. Output lines:
/// `ins ID`, `del ID`, `res SHORT TARGET` after the append returned, `batch A B` after ids A..B
/// were appended at once, `snap` after a snapshot; `try del ID` before a delete is appended.
fn run_writer(dir: &Path, round: u32) {
    use std::io::Write;
    let (store, rec) = Store::open(
        dir,
        StoreOptions::default().with_fsync(FsyncPolicy::EveryWrite),
    )
    .expect("child open");
    let mut live: BTreeMap<EntryId, EntryRecord> =
        rec.entries.into_iter().map(|e| (e.id, e)).collect();
    let mut resolutions: BTreeMap<String, String> = rec.resolutions.into_iter().collect();
    let mut rng = SplitMix(u64::from(round) * 7919 + 1);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let base = round * ID_STRIDE;
    let mut k = 0u32;
    // On its own line: the test harness has printed "test store_crash::crash_writer_child ... " already.
    writeln!(out, "\nready").unwrap();
    out.flush().unwrap();
    loop {
        let roll = rng.next() % 100;
        if roll < 4 {
            let res: Vec<(String, String)> = resolutions
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect();
            store.snapshot(live.values(), &res).expect("snapshot");
            writeln!(out, "snap").unwrap();
        } else if roll < 14 && !live.is_empty() {
            // Delete a random live entry.
            let nth = (rng.next() % live.len() as u64) as usize;
            let id = *live.keys().nth(nth).unwrap();
            // Announced first: if the kill lands mid-append, the parent knows which acknowledged
            // insert an unacknowledged delete may have removed.
            writeln!(out, "try del {}", id.0).unwrap();
            out.flush().unwrap();
            store.append(&Record::Delete(id)).expect("append delete");
            live.remove(&id);
            writeln!(out, "del {}", id.0).unwrap();
        } else if roll < 18 {
            let short_key = format!("t.co/{}", rng.next() % 8);
            let target = format!("https://example.org/{base}-{k}");
            store
                .append(&Record::Resolve {
                    short_key: short_key.clone(),
                    target: target.clone(),
                })
                .expect("append resolve");
            resolutions.insert(short_key.clone(), target.clone());
            writeln!(out, "res {short_key} {target}").unwrap();
        } else if roll < 28 {
            let n = 1 + (rng.next() % 5) as u32;
            let batch: Vec<Record> = (k..k + n)
                .map(|i| Record::Insert(entry(base + i)))
                .collect();
            store.append_all(&batch).expect("append_all");
            for i in k..k + n {
                live.insert(EntryId(base + i), entry(base + i));
            }
            writeln!(out, "batch {} {}", base + k, base + k + n).unwrap();
            k += n;
        } else {
            store
                .append(&Record::Insert(entry(base + k)))
                .expect("append");
            live.insert(EntryId(base + k), entry(base + k));
            writeln!(out, "ins {}", base + k).unwrap();
            k += 1;
        }
        out.flush().unwrap();
        if k >= ID_STRIDE - 10 {
            // Never runs out in practice; stop cleanly rather than reuse ids.
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

/// Entry point of the child process (does nothing when run as an ordinary test).
#[test]
fn crash_writer_child() {
    if let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ROUND)) {
        run_writer(Path::new(&dir), round.parse().unwrap());
    }
}

/// `(id base, sequence)` of a resolve target `https://example.org/{base}-{k}`: later writes
/// compare greater.
fn target_order(target: &str) -> (u32, u32) {
    let tail = target.rsplit('/').next().unwrap();
    let (a, b) = tail.split_once('-').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

/// What the parent knows was acknowledged.
#[derive(Default)]
struct Acknowledged {
    /// Last acknowledged operation per id: `true` = inserted, `false` = deleted.
    ids: BTreeMap<u32, bool>,
    resolutions: BTreeMap<String, String>,
    snapshots: u64,
    records: u64,
    /// A delete announced but not acknowledged: in flight at the kill.
    in_flight_delete: Option<u32>,
}

impl Acknowledged {
    fn take_line(&mut self, line: &str) {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["ins", id] => {
                self.ids.insert(id.parse().unwrap(), true);
                self.records += 1;
            }
            ["try", "del", id] => self.in_flight_delete = Some(id.parse().unwrap()),
            ["del", id] => {
                self.ids.insert(id.parse().unwrap(), false);
                self.records += 1;
                self.in_flight_delete = None;
            }
            ["batch", a, b] => {
                for id in a.parse::<u32>().unwrap()..b.parse().unwrap() {
                    self.ids.insert(id, true);
                    self.records += 1;
                }
            }
            ["res", short, target] => {
                self.resolutions
                    .insert((*short).to_owned(), (*target).to_owned());
                self.records += 1;
            }
            ["snap"] => self.snapshots += 1,
            ["ready"] => {}
            // A line cut by the kill (no newline yet) is not acknowledged; `lines()` only
            // yields it at EOF, and it cannot parse as a complete line above.
            _ => {}
        }
    }
}

#[test]
fn acknowledged_records_survive_sigkill() {
    let rounds: u32 = match std::env::var("REFDEDUP_CRASH_ROUNDS") {
        Ok(n) => n.parse().expect("REFDEDUP_CRASH_ROUNDS"),
        Err(_) if std::env::var("REFDEDUP_LONG").is_ok_and(|v| v == "1") => 1000,
        Err(_) => 60,
    };
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut acked = Acknowledged::default();
    let mut rng = SplitMix(0x5eed);
    let mut torn_reports = 0;
    let started = Instant::now();
    for round in 1..=rounds {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store_crash::crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the child has opened the store, then let it write for a random while.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("child never became ready");
            if line == "ready" {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(rng.next() % 250_000));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        for line in rx.try_iter() {
            acked.take_line(&line);
        }

        let (store, rec) = Store::open(dir.path(), StoreOptions::default())
            .unwrap_or_else(|e| panic!("round {round}: store does not open: {e}"));
        drop(store);
        if rec.report.torn.is_some() {
            torn_reports += 1;
        }
        let present: BTreeMap<u32, &EntryRecord> =
            rec.entries.iter().map(|e| (e.id.0, e)).collect();
        let in_flight = acked.in_flight_delete.take();
        for (&id, &inserted) in &acked.ids {
            if inserted && in_flight == Some(id) {
                // Its delete was in flight: either state is right.
            } else if inserted {
                let e = present
                    .get(&id)
                    .unwrap_or_else(|| panic!("round {round}: acknowledged insert {id} lost"));
                assert_eq!(**e, entry(id), "round {round}: entry {id} differs");
            } else {
                assert!(
                    !present.contains_key(&id),
                    "round {round}: acknowledged delete of {id} undone"
                );
            }
        }
        for e in &rec.entries {
            // Unacknowledged (in flight at the kill) entries may be present, but only as written.
            assert_eq!(*e, entry(e.id.0), "round {round}: entry {} corrupt", e.id);
            assert!(e.id.0 / ID_STRIDE <= round && e.id.0 >= ID_STRIDE);
        }
        for (short, target) in &acked.resolutions {
            let got = rec.resolutions.iter().find(|(s, _)| s == short);
            let got = got.unwrap_or_else(|| panic!("round {round}: resolution {short} lost"));
            // A later, unacknowledged resolve of the same key may have landed, never an older.
            assert!(
                target_order(&got.1) >= target_order(target),
                "round {round}: resolution {short} went back from {target} to {}",
                got.1
            );
        }
        // The parent's view catches up with what is really there (in-flight records that did
        // land are now part of the state the next round starts from).
        for id in acked.ids.keys().copied().collect::<Vec<_>>() {
            acked.ids.insert(id, present.contains_key(&id));
        }
        for e in &rec.entries {
            acked.ids.insert(e.id.0, true);
        }
        acked.resolutions = rec.resolutions.into_iter().collect();
    }
    eprintln!(
        "crash test: {rounds} rounds in {:.1}s, {} acknowledged records, {} snapshots, \
         {torn_reports} torn tails reported",
        started.elapsed().as_secs_f64(),
        acked.records,
        acked.snapshots
    );
    assert!(acked.records > u64::from(rounds), "the writer barely wrote");
}
