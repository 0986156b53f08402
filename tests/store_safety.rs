//! The store's writer lock and its lock-free readers: one writer at a time, and readers that see
//! a state the writer acknowledged (a prefix of what it appended, never damage) while it appends
//! and compacts.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use referral_dedup::hashes::{EntryId, Pdq};
use referral_dedup::store::{
    EntryRecord, EntrySource, FsyncPolicy, Record, Store, StoreError, StoreOptions,
};

fn entry(id: u32) -> EntryRecord {
    let mut e = EntryRecord::new(EntryId(id), EntrySource::Known, format!("k{id}"));
    e.hashes.pdq = Some(Pdq([u64::from(id); 4]));
    e
}

#[test]
fn a_second_writer_gets_the_holder_or_waits() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = Store::open(dir.path(), StoreOptions::default()).unwrap();
    match Store::open(dir.path(), StoreOptions::default()) {
        Err(StoreError::Locked { holder, .. }) => {
            assert!(
                holder.contains(&format!("pid {}", std::process::id())),
                "{holder}"
            );
        }
        other => panic!("second writer: {other:?}"),
    }
    let dir_path = dir.path().to_path_buf();
    let waiter = std::thread::spawn(move || {
        let opts = StoreOptions::default().with_wait_for_lock(true);
        let (store, rec) = Store::open(&dir_path, opts).unwrap();
        store.append(&Record::Insert(entry(2))).unwrap();
        rec.entries.len()
    });
    std::thread::sleep(Duration::from_millis(300));
    first.append(&Record::Insert(entry(1))).unwrap();
    drop(first);
    assert_eq!(
        waiter.join().unwrap(),
        1,
        "the waiter saw the first writer's record"
    );
    let rec = Store::read_only(dir.path()).unwrap();
    assert_eq!(rec.entries.len(), 2);
}

#[test]
fn readers_see_an_acknowledged_prefix_while_the_writer_appends_and_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(
        dir.path(),
        StoreOptions::default().with_fsync(FsyncPolicy::Never),
    )
    .unwrap();
    let acknowledged = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let dir = dir.path().to_path_buf();
            let acknowledged = Arc::clone(&acknowledged);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::Acquire) || reads == 0 {
                    let floor = acknowledged.load(Ordering::Acquire);
                    let rec = Store::read_only(&dir).unwrap();
                    assert!(rec.report.is_clean(), "{:?}", rec.report);
                    let n = rec.entries.len() as u32;
                    assert!(n >= floor, "read {n} entries, {floor} were acknowledged");
                    for (i, e) in rec.entries.iter().enumerate() {
                        assert_eq!(e.id, EntryId(i as u32), "not a prefix");
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut live = Vec::new();
    for id in 0..3_000u32 {
        let e = entry(id);
        if id % 7 == 0 {
            // Several at once: one group.
            let batch: Vec<Record> = (0..3).map(|_| Record::Insert(e.clone())).collect();
            store.append_all(&batch).unwrap();
        } else {
            store.append(&Record::Insert(e.clone())).unwrap();
        }
        live.push(e);
        acknowledged.store(id + 1, Ordering::Release);
        if id % 500 == 499 {
            store.snapshot(&live, &[]).unwrap();
        }
    }
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}

#[test]
fn special_files_under_store_names_are_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), StoreOptions::default()).unwrap();
    store.append(&Record::Insert(entry(1))).unwrap();
    drop(store);
    // A FIFO where the next journal would be (opening it for reading would block forever), and
    // a directory named like a snapshot: both are refused with an error, never opened.
    let fifo = dir.path().join("journal-000002.log");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        std::fs::create_dir(&fifo).unwrap();
    }
    let path = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send((
            Store::read_only(&path).map(|_| ()),
            Store::open(&path, StoreOptions::default()).map(|_| ()),
        ));
    });
    let (read, write) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("opening a store with a FIFO in it hung");
    for r in [read, write] {
        match r {
            Err(StoreError::Io(e)) => assert!(e.to_string().contains("not a regular file"), "{e}"),
            other => panic!("special file accepted: {other:?}"),
        }
    }
}
