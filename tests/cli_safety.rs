//! Data safety of the `refdedup` binary (issue "no lost entries, no silent new, bounded work"):
//! competing writer processes, SIGKILL during imports, damaged journals, read commands on a
//! missing database, hostile paths, bad backlogs, and the exit-status table.
//!
//! The SIGKILL test runs 200 rounds by default and 1,000 with `REFDEDUP_LONG=1` (or
//! `REFDEDUP_KILL_ROUNDS=N`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use referral_dedup::store::{Store, StoreOptions};
use serde_json::Value;

use crate::splitmix::SplitMix;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_refdedup"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run refdedup")
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run refdedup")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Waits for a child with a deadline (kills it and fails the test when it hangs).
fn wait_bounded(mut child: Child, what: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what}: still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// External ids of every live entry, read with the library's read-only open.
fn stored_ids(db: &Path) -> Vec<String> {
    let rec = Store::read_only(db).unwrap();
    rec.entries.into_iter().map(|e| e.external_id).collect()
}

/// A CSV hash list of `n` rows with ids `{prefix}-{k}` and distinct MD5s.
fn write_list(path: &Path, prefix: &str, salt: u64, n: usize) {
    let mut text = String::from("id,md5\n");
    for k in 0..n {
        let md5 = (u128::from(salt) << 64) | (k as u128 + 1);
        text.push_str(&format!("{prefix}-{k},{md5:032x}\n"));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn competing_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // 12 `known add` processes at once, each with its own file.
    let children: Vec<Child> = (0..12)
        .map(|i| {
            let file = dir.path().join(format!("item-{i}.bin"));
            std::fs::write(&file, format!("distinct payload number {i}")).unwrap();
            bin()
                .args(["known", "add", "--wait", "--db", s(&db), s(&file)])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        ok(&wait_bounded(c, &format!("known add {i}")));
    }
    // Two imports of 5,000 rows at once.
    let lists: Vec<PathBuf> = (0..2)
        .map(|l| {
            let p = dir.path().join(format!("list-{l}.csv"));
            write_list(&p, &format!("l{l}"), l + 1, 5_000);
            p
        })
        .collect();
    let children: Vec<Child> = lists
        .iter()
        .map(|p| {
            bin()
                .args(["known", "import", "--wait", "--db", s(&db), s(p)])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = wait_bounded(c, "known import");
        let report: Value = serde_json::from_str(ok(&out).trim()).unwrap();
        assert_eq!(report["imported"], 5_000);
    }
    let ids = stored_ids(&db);
    assert_eq!(ids.len(), 12 + 10_000, "acknowledged entries lost");
    for i in 0..12 {
        assert!(ids.contains(&format!("item-{i}.bin")), "item-{i} lost");
    }
    let export = ok(&run(&["known", "export", "--db", s(&db)]));
    assert_eq!(export.lines().count(), 1 + 12 + 10_000);
}

#[test]
fn a_second_writer_is_refused_with_the_holder_named_or_waits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let file = dir.path().join("a.bin");
    std::fs::write(&file, b"some content").unwrap();
    ok(&run(&["known", "add", "--db", s(&db), s(&file)]));
    let (holder, _) = Store::open(&db, StoreOptions::default()).unwrap();

    let out = run(&["known", "add", "--db", s(&db), s(&file)]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("pid {}", std::process::id())) && err.contains("--wait"),
        "{err}"
    );
    // Readers are not blocked by the writer.
    let out = run(&["match", "--db", s(&db), s(&file)]);
    assert_eq!(json_lines(&ok(&out))[0]["verdict"], "known");

    // With --wait the second writer queues until the first is done.
    let other = dir.path().join("b.bin");
    std::fs::write(&other, b"other content").unwrap();
    let child = bin()
        .args(["known", "add", "--wait", "--db", s(&db), s(&other)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    drop(holder);
    ok(&wait_bounded(child, "waiting writer"));
    assert_eq!(stored_ids(&db).len(), 2);
}

#[test]
fn sigkill_during_imports_loses_nothing_acknowledged_and_no_import_is_partial() {
    let rounds: u64 = std::env::var("REFDEDUP_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::var("REFDEDUP_LONG").as_deref() == Ok("1") {
            1_000
        } else {
            200
        });
    const ROWS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let mut rng = SplitMix(0x5eed);
    // How long an import takes when it is not killed: kills land uniformly within it.
    let calib = dir.path().join("calib.csv");
    write_list(&calib, "calib", 999_999, ROWS);
    let started = Instant::now();
    ok(&run(&["known", "import", "--db", s(&db), s(&calib)]));
    let span = started.elapsed().as_micros().max(1000) as u64;

    let mut acknowledged: BTreeMap<u64, bool> = BTreeMap::new();
    let (mut killed, mut completed) = (0, 0);
    for round in 0..rounds {
        let list = dir.path().join("round.csv");
        write_list(&list, &format!("r{round}"), round + 1, ROWS);
        let mut child = bin()
            .args(["known", "import", "--db", s(&db), s(&list)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(span * 5 / 4)));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let acked = out.status.success();
        if acked {
            completed += 1;
        } else {
            killed += 1;
        }
        acknowledged.insert(round, acked);

        let ids = stored_ids(&db);
        let mut per_round: BTreeMap<u64, usize> = BTreeMap::new();
        for id in &ids {
            if let Some(r) = id
                .strip_prefix('r')
                .and_then(|rest| rest.split('-').next())
                .and_then(|r| r.parse().ok())
            {
                *per_round.entry(r).or_default() += 1;
            }
        }
        for (&r, &acked) in &acknowledged {
            let n = per_round.get(&r).copied().unwrap_or(0);
            assert!(
                n == 0 || n == ROWS,
                "round {round}: import {r} is partial ({n} of {ROWS} rows)"
            );
            if acked {
                assert_eq!(n, ROWS, "round {round}: acknowledged import {r} lost");
            }
        }
        assert_eq!(ids.iter().filter(|i| i.starts_with("calib-")).count(), ROWS);
    }
    // Kills that cut a journal write short leave a torn stretch (reported); a grouped append
    // cut at every byte is covered exhaustively by tests/store_corruption.rs.
    let torn = Store::read_only(&db).unwrap().report.problems().count();
    eprintln!("{rounds} rounds: {killed} killed, {completed} completed, {torn} torn writes");
    assert!(killed > 0, "no kill landed during an import");
    // The store still opens for writing and takes more.
    ok(&run(&["known", "import", "--db", s(&db), s(&calib)]));
}

#[test]
fn read_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo-db");
    let empty = dir.path().join("empty-dir");
    std::fs::create_dir(&empty).unwrap();
    let media = dir.path().join("m.bin");
    std::fs::write(&media, b"bytes").unwrap();
    let backlog = dir.path().join("b.jsonl");
    std::fs::write(&backlog, "{\"id\":\"a\",\"url\":\"https://t.me/c/1\"}\n").unwrap();
    for db in [&missing, &empty] {
        for args in [
            vec!["match", "--db", s(db), s(&media)],
            vec![
                "check",
                "--dry-run",
                "--db",
                s(db),
                "--url",
                "https://t.me/c/1",
            ],
            vec!["known", "export", "--db", s(db)],
            vec!["dedup", s(&backlog), "--db", s(db)],
        ] {
            let out = run(&args);
            assert_eq!(code(&out), 3, "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains("no database at"), "{args:?}");
            assert!(stdout(&out).is_empty(), "{args:?}");
        }
    }
    assert!(!missing.exists(), "a read command created the database");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    // Without --db, dedup runs without known content when ./refdedup-db does not exist.
    let out = run_in(dir.path(), &["dedup", s(&backlog)]);
    ok(&out);
    assert!(!dir.path().join("refdedup-db").exists());
}

/// Byte ranges of the journal's frames (after the 28-byte header).
fn frames(journal: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut pos = 28;
    while pos + 8 <= journal.len() {
        let len = u32::from_le_bytes(journal[pos..pos + 4].try_into().unwrap()) as usize;
        out.push(pos..pos + 8 + len);
        pos += 8 + len;
    }
    out
}

fn dir_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn one_damaged_record_costs_only_itself_until_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let files: Vec<PathBuf> = (0..5)
        .map(|i| {
            let f = dir.path().join(format!("known-{i}.bin"));
            std::fs::write(&f, format!("known content {i} ").repeat(40)).unwrap();
            ok(&run(&["known", "add", "--db", s(&db), s(&f)]));
            f
        })
        .collect();
    let journal = db.join("journal-000001.log");
    let mut bytes = std::fs::read(&journal).unwrap();
    let f = frames(&bytes);
    assert_eq!(f.len(), 5);
    let at = f[1].start + f[1].len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&journal, &bytes).unwrap();
    let before = dir_bytes(&db);

    // The item in record 5 is still known; the damage is reported in plain words.
    let out = run(&["match", "--db", s(&db), s(&files[4])]);
    assert_eq!(json_lines(&ok(&out))[0]["verdict"], "known");
    let err = stderr(&out);
    assert!(
        err.contains("journal-000001.log") && err.contains(&format!("byte {}", f[1].start)),
        "{err}"
    );
    // The lost record's item reads as new, but the warning says why.
    let out = run(&["match", "--db", s(&db), s(&files[1])]);
    assert_eq!(json_lines(&ok(&out))[0]["verdict"], "new");
    assert!(stderr(&out).contains("warning"));
    assert_eq!(
        dir_bytes(&db),
        before,
        "a read command modified the database"
    );

    // Reported on every open, by db check (exit 4), until repaired.
    let out = run(&["db", "check", "--db", s(&db)]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let report = &json_lines(&stdout(&out))[0];
    assert_eq!(report["clean"], false);
    assert_eq!(report["entries"], 4);
    assert_eq!(report["problems"][0]["offset"], f[1].start as u64);
    assert_eq!(dir_bytes(&db), before, "db check modified the database");

    let out = run(&["db", "repair", "--db", s(&db)]);
    ok(&out);
    let aside = db.join("damaged").join("journal-000001.log");
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        bytes,
        "damaged journal not kept whole"
    );
    let out = run(&["db", "check", "--db", s(&db)]);
    assert_eq!(json_lines(&ok(&out))[0]["clean"], true);
    let out = run(&["match", "--db", s(&db), s(&files[4])]);
    assert_eq!(json_lines(&ok(&out))[0]["verdict"], "known");
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn imports_are_idempotent_and_read_a_leading_bom() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let with_ids = dir.path().join("with-ids.csv");
    write_list(&with_ids, "x", 7, 300);
    let without = dir.path().join("without-ids.csv");
    let mut text = String::from("\u{feff}md5,label\n");
    for k in 0..50u32 {
        text.push_str(&format!("{:032x},list-b\n", 0xabc0_0000u64 + u64::from(k)));
    }
    std::fs::write(&without, text).unwrap();
    for (list, n) in [(&with_ids, 300), (&without, 50)] {
        let first: Value =
            serde_json::from_str(ok(&run(&["known", "import", "--db", s(&db), s(list)])).trim())
                .unwrap();
        assert_eq!(
            (first["imported"].clone(), first["unchanged"].clone()),
            (n.into(), 0.into())
        );
        let again: Value =
            serde_json::from_str(ok(&run(&["known", "import", "--db", s(&db), s(list)])).trim())
                .unwrap();
        assert_eq!(
            (again["imported"].clone(), again["unchanged"].clone()),
            (0.into(), n.into()),
            "{}",
            list.display()
        );
    }
    assert_eq!(stored_ids(&db).len(), 350);
}

#[cfg(unix)]
#[test]
fn devices_fifos_and_link_cycles_are_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let seed = dir.path().join("seed.bin");
    std::fs::write(&seed, b"seed").unwrap();
    ok(&run(&["known", "add", "--db", s(&db), s(&seed)]));
    let fifo = dir.path().join("fifo");
    let have_fifo = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|st| st.success());
    let mut hostile = vec!["/dev/zero".to_string()];
    if have_fifo {
        hostile.push(s(&fifo).to_string());
    } else {
        eprintln!("mkfifo not available: FIFO case skipped");
    }
    for path in &hostile {
        for args in [
            vec!["match", "--db", s(&db), path.as_str()],
            vec!["known", "add", "--db", s(&db), path.as_str()],
            vec![
                "check",
                "--dry-run",
                "--db",
                s(&db),
                "--media",
                path.as_str(),
            ],
            vec!["hash", path.as_str()],
        ] {
            let child = bin()
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let out = wait_bounded(child, &format!("{args:?}"));
            let text = format!("{}{}", stdout(&out), stderr(&out));
            assert!(text.contains("not a regular file"), "{args:?}: {text}");
        }
    }
    // A backlog pointing at the device: the line is reported, the batch finishes.
    let backlog = dir.path().join("b.jsonl");
    std::fs::write(
        &backlog,
        "{\"id\":\"a\",\"media\":\"/dev/zero\"}\n{\"id\":\"b\",\"url\":\"https://t.me/c/1\"}\n",
    )
    .unwrap();
    let child = bin()
        .args(["dedup", s(&backlog), "--db", s(&db)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, "dedup");
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );

    // A directory symlink cycle: the walk ends and says what it did not follow.
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/x.bin"), b"x").unwrap();
    std::os::unix::fs::symlink(&tree, tree.join("sub/loop")).unwrap();
    for args in [
        vec!["hash", s(&tree)],
        vec!["match", "--db", s(&db), s(&tree)],
    ] {
        let child = bin()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_bounded(child, &format!("{args:?}"));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(text.contains("not followed"), "{args:?}: {text}");
    }
}

#[test]
fn directories_work_for_match_and_known_add() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("inner")).unwrap();
    std::fs::write(media.join("a.bin"), b"first file").unwrap();
    std::fs::write(media.join("inner/b.bin"), b"second file").unwrap();
    let added = json_lines(&ok(&run(&["known", "add", "--db", s(&db), s(&media)])));
    assert_eq!(added.len(), 2);
    let matched = json_lines(&ok(&run(&["match", "--db", s(&db), s(&media)])));
    assert_eq!(matched.len(), 2);
    assert!(matched.iter().all(|m| m["verdict"] == "known"));
}

#[test]
fn empty_and_blank_media_are_refused_as_known_content() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let blank = dir.path().join("blank.png");
    image::RgbImage::from_pixel(64, 64, image::Rgb([255, 255, 255]))
        .save(&blank)
        .unwrap();
    let good = dir.path().join("good.bin");
    std::fs::write(&good, b"real content").unwrap();
    let out = run(&[
        "known",
        "add",
        "--db",
        s(&db),
        s(&empty),
        s(&blank),
        s(&good),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("empty") && err.contains("blank"), "{err}");
    assert_eq!(
        json_lines(&stdout(&out)).len(),
        1,
        "only the real file is added"
    );
    // So a later empty upload is not "known".
    let out = run(&["match", "--db", s(&db), s(&empty)]);
    assert_eq!(json_lines(&ok(&out))[0]["verdict"], "new");
}

#[test]
fn duplicate_backlog_ids_are_reported_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let backlog = dir.path().join("b.jsonl");
    std::fs::write(
        &backlog,
        "{\"id\":\"X\",\"url\":\"https://t.me/chan/1\"}\n\
         {\"id\":\"Y\",\"url\":\"https://t.me/s/chan/1\"}\n\
         {\"id\":\"X\",\"url\":\"https://t.me/chan/1\"}\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["dedup", s(&backlog)]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(":3") && err.contains("duplicate id") && err.contains("line 1"),
        "{err}"
    );
    let lines = json_lines(&stdout(&out));
    assert_eq!(lines[0]["members"], serde_json::json!(["X", "Y"]));
}

#[test]
fn dedup_record_feeds_later_checks_and_out_is_checked_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let backlog = dir.path().join("b.jsonl");
    let text = "{\"id\":\"a\",\"url\":\"https://t.me/chan/7\"}\n";
    std::fs::write(&backlog, text).unwrap();

    let out = run(&["dedup", s(&backlog), "--out", s(&backlog)]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&backlog).unwrap(), text);
    let out = run(&["dedup", s(&backlog), "--out", "/nonexistent-dir/out.jsonl"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));

    ok(&run(&["dedup", s(&backlog), "--record", "--db", s(&db)]));
    let out = run(&[
        "check",
        "--dry-run",
        "--db",
        s(&db),
        "--url",
        "https://t.me/s/chan/7",
    ]);
    let v: Value = serde_json::from_str(ok(&out).trim()).unwrap();
    assert_eq!(v["verdict"], "duplicate");
    assert_eq!(v["evidence"][0]["external_id"], "a");
    // Recording the same backlog again adds nothing.
    ok(&run(&["dedup", s(&backlog), "--record", "--db", s(&db)]));
    assert_eq!(stored_ids(&db), vec!["a".to_string()]);
}

#[test]
fn exit_statuses_follow_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // 2: usage.
    assert_eq!(code(&run(&["match"])), 2);
    // 3: a missing input file.
    let out = run(&["known", "import", "--db", s(&db), "/nonexistent/list.csv"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("/nonexistent/list.csv"));
    // 4: invalid data (a strict import's bad row names file and line).
    let list = dir.path().join("bad.csv");
    std::fs::write(&list, "id,md5\na,zz\n").unwrap();
    let out = run(&["known", "import", "--strict", "--db", s(&db), s(&list)]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stderr(&out).contains("bad.csv") && stderr(&out).contains("line 2"));
    // 1: partial failure.
    let good = dir.path().join("good.bin");
    std::fs::write(&good, b"good").unwrap();
    let out = run(&["known", "add", "--db", s(&db), s(&good), "/nonexistent.bin"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
}

#[test]
fn threshold_bounds_every_tier_of_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let picture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/media/scene-320x240.png");
    let hashed = json_lines(&ok(&run(&["hash", s(&picture)])));
    let pdq = hashed[0]["pdq"].as_str().unwrap().to_string();
    assert!(hashed[0]["pdq_quality"].as_u64().unwrap() >= 50);
    // A known item 40 bits away: beyond the strict bound (31), within the loose one (52).
    let mut nibbles: Vec<u32> = pdq.chars().map(|c| c.to_digit(16).unwrap()).collect();
    for n in nibbles.iter_mut().take(10) {
        *n ^= 0xf;
    }
    let far: String = nibbles
        .iter()
        .map(|n| char::from_digit(*n, 16).unwrap())
        .collect();
    let list = dir.path().join("list.csv");
    std::fs::write(&list, format!("id,pdq,quality\nfar,{far},90\n")).unwrap();
    ok(&run(&["known", "import", "--db", s(&db), s(&list)]));
    let default = json_lines(&ok(&run(&["match", "--db", s(&db), s(&picture)])));
    assert_eq!(default[0]["verdict"], "known", "loose tier at 40 bits");
    for t in ["35", "39"] {
        let bounded = json_lines(&ok(&run(&[
            "match",
            "--threshold",
            t,
            "--db",
            s(&db),
            s(&picture),
        ])));
        assert_eq!(
            bounded[0]["verdict"], "new",
            "--threshold {t} matched at 40 bits"
        );
    }
    let wide = json_lines(&ok(&run(&[
        "match",
        "--threshold",
        "40",
        "--plain-pdq",
        "--db",
        s(&db),
        s(&picture),
    ])));
    assert_eq!(wide[0]["verdict"], "known");
}

#[test]
fn hash_prints_the_digests_of_a_non_picture() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("flyer.pdf");
    std::fs::write(&doc, b"%PDF-1.7 not a picture").unwrap();
    let lines = json_lines(&ok(&run(&["hash", s(&doc)])));
    assert_eq!(lines[0]["bytes"], 22);
    assert_eq!(lines[0]["md5"].as_str().unwrap().len(), 32, "{}", lines[0]);
    assert!(lines[0]["error"].is_string());
}

/// Runs refdedup with a standard output whose reader has already gone (`refdedup ... | head -0`).
fn run_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .output()
        .expect("run refdedup")
}

#[test]
fn a_closed_output_pipe_ends_commands_quietly_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let list = dir.path().join("list.csv");
    std::fs::write(&list, "id,md5\na,d41d8cd98f00b204e9800998ecf8427e\n").unwrap();
    ok(&run(&["known", "import", "--db", s(&db), s(&list)]));
    let picture = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/media");
    for args in [
        vec!["hash", s(&picture)],
        vec!["known", "export", "--db", s(&db)],
        vec!["known", "export", "--db", s(&db), "--format", "jsonl"],
    ] {
        let out = run_into_closed_pipe(&args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
    // A damaged database is still reported as such when nobody reads the report.
    let journal = std::fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".log"))
        .unwrap();
    let mut bytes = std::fs::read(&journal).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&journal, bytes).unwrap();
    assert_eq!(
        code(&run_into_closed_pipe(&["db", "check", "--db", s(&db)])),
        4
    );
}

#[test]
fn known_add_into_a_closed_pipe_adds_and_commits_every_item() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let media = dir.path().join("media");
    std::fs::create_dir(&media).unwrap();
    for i in 0..12 {
        std::fs::write(
            media.join(format!("item-{i:02}.bin")),
            format!("known content number {i} ").repeat(30),
        )
        .unwrap();
    }
    // The reader of the report is gone before the first line: the write the user asked for
    // still happens in full, and the command ends quietly.
    let out = run_into_closed_pipe(&["known", "add", "--db", s(&db), s(&media)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ids = stored_ids(&db);
    assert_eq!(ids.len(), 12, "{ids:?}");
    let out = run_into_closed_pipe(&["known", "add", "--db", s(&db), s(&media)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_damaged_snapshot_loses_nothing_through_the_cli_until_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let list = dir.path().join("list.csv");
    let mut text = String::from("id,md5\n");
    for i in 0..30u64 {
        text.push_str(&format!("k{i},{:032x}\n", 0x5eed_0000_u128 + u128::from(i)));
    }
    std::fs::write(&list, text).unwrap();
    ok(&run(&["known", "import", "--db", s(&db), s(&list)]));
    {
        let (store, rec) = Store::open(&db, StoreOptions::default()).unwrap();
        store.snapshot(&rec.entries, &rec.resolutions).unwrap();
    }
    let snap = db.join("snapshot-000002.bin");
    let mut bytes = std::fs::read(&snap).unwrap();
    let at = bytes.len() - 3;
    bytes[at] ^= 0x40;
    std::fs::write(&snap, &bytes).unwrap();
    let before = dir_bytes(&db);

    // Every item still reads; the damage is named (path, offset) and what was read instead.
    let out = run(&["known", "export", "--db", s(&db)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 31, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("snapshot-000002.bin") && err.contains("previous generation"),
        "{err}"
    );
    assert_eq!(
        dir_bytes(&db),
        before,
        "a read command modified the database"
    );
    let out = run(&["db", "check", "--db", s(&db)]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_eq!(json_lines(&stdout(&out))[0]["entries"], 30);

    ok(&run(&["db", "repair", "--db", s(&db)]));
    assert_eq!(
        std::fs::read(db.join("damaged/snapshot-000002.bin")).unwrap(),
        bytes
    );
    let out = run(&["db", "check", "--db", s(&db)]);
    assert_eq!(json_lines(&ok(&out))[0]["clean"], true);
    assert_eq!(stored_ids(&db).len(), 30);
}

#[test]
fn import_progress_reads_then_stores_then_is_done_and_the_list_lands_whole() {
    use referral_dedup::engine::{Engine, EngineConfig, ImportStage, ListFormat};
    let mut text = String::from("id,md5\n");
    let rows = 60_000u64;
    for k in 0..rows {
        text.push_str(&format!(
            "p-{k},{:032x}\n",
            0xabc0_0000_u128 + u128::from(k)
        ));
    }
    assert!(
        text.len() > 2 << 20,
        "the list spans several progress steps"
    );
    let engine = Engine::in_memory(EngineConfig::default()).unwrap();
    let mut seen = Vec::new();
    let report = engine
        .import_list_with_progress(text.as_bytes(), ListFormat::Csv, true, &mut |p| {
            seen.push(p)
        })
        .unwrap();
    assert_eq!(report.imported, rows as usize);
    let reading: Vec<u64> = seen
        .iter()
        .filter(|p| p.stage == ImportStage::Reading)
        .map(|p| p.bytes_read)
        .collect();
    assert!(reading.len() >= 2, "{reading:?}");
    assert!(reading.windows(2).all(|w| w[0] < w[1]), "{reading:?}");
    let tail: Vec<(ImportStage, u64)> = seen[seen.len() - 2..]
        .iter()
        .map(|p| (p.stage, p.items))
        .collect();
    assert_eq!(
        tail,
        [(ImportStage::Storing, rows), (ImportStage::Done, rows)]
    );
    // Idempotent: the same list again stores nothing new.
    let again = engine
        .import_list(text.as_bytes(), ListFormat::Csv, true)
        .unwrap();
    assert_eq!((again.imported, again.unchanged), (0, rows as usize));
}

#[test]
fn error_messages_name_the_file_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let list = dir.path().join("bad.csv");
    std::fs::write(&list, "id,md5\na,d41d8cd98f00b204e9800998ecf8427e\nb,zz\n").unwrap();
    let out = run(&["known", "import", "--strict", "--db", s(&db), s(&list)]);
    assert_eq!(code(&out), 4);
    let err = stderr(&out);
    assert!(
        err.contains("bad.csv") && err.contains("line 3") && err.contains("md5"),
        "{err}"
    );

    let rules = dir.path().join("bad.rules");
    std::fs::write(&rules, "garbage\n").unwrap();
    let out = run(&["url-key", "--rules", s(&rules)]);
    // A malformed rules file is invalid data (4); an unreadable one would be I/O (3).
    assert_eq!(code(&out), 4);
    let err = stderr(&out);
    assert!(
        err.contains("--rules") && err.contains("bad.rules, line 1"),
        "{err}"
    );
    let out = run(&["url-key", "--rules", s(&dir.path().join("none.rules"))]);
    assert!(!stderr(&out).contains("line 0"), "{}", stderr(&out));

    assert_eq!(
        code(&run(&["known", "import", "--db", s(&db), s(&list)])),
        1
    );
    let missing = dir.path().join("missing.jpg");
    let out = run(&["check", "--db", s(&db), "--media", s(&missing)]);
    assert_eq!(code(&out), 3);
    let err = stderr(&out);
    assert!(
        err.contains("--media") && err.contains("missing.jpg") && err.contains("db"),
        "{err}"
    );

    let out = run(&["match", "--db", s(&dir.path().join("dbx")), s(&missing)]);
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains("dbx") && stderr(&out).contains("--db"),
        "{}",
        stderr(&out)
    );
}
