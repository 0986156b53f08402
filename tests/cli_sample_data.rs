//! End-to-end tests of the `refdedup` binary over the bundled sample data
//! (`examples/data/`, written by `examples/gen_sample_data.rs` together with its ground truth).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data")
}

fn refdedup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_refdedup"))
        .args(args)
        .output()
        .expect("run refdedup")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn truth() -> Value {
    let text = std::fs::read_to_string(data().join("truth.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["known", "--help"],
        vec!["known", "add", "--help"],
        vec!["known", "import", "--help"],
        vec!["known", "export", "--help"],
        vec!["match", "--help"],
        vec!["check", "--help"],
        vec!["dedup", "--help"],
    ] {
        let out = refdedup(&args);
        let text = ok(&out);
        assert!(text.contains("Usage"), "{args:?}: {text}");
    }
}

#[test]
fn usage_errors_exit_with_status_2() {
    assert_eq!(refdedup(&["check"]).status.code(), Some(2));
    assert_eq!(refdedup(&["match"]).status.code(), Some(2));
    assert_eq!(refdedup(&["dedup"]).status.code(), Some(2));
    assert_eq!(
        refdedup(&["match", "--threshold", "999", "x.jpg"])
            .status
            .code(),
        Some(2)
    );
}

/// The bundled backlog against the bundled known list: exactly the clusters of the ground truth,
/// in the same order, with the right known items flagged.
#[test]
fn dedup_of_bundled_backlog_matches_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let clusters_file = dir.path().join("clusters.jsonl");
    let import = ok(&refdedup(&[
        "known",
        "import",
        "--db",
        path_str(&db),
        path_str(&data().join("known.csv")),
    ]));
    let import: Value = serde_json::from_str(import.trim()).unwrap();
    let truth = truth();
    assert!(import["imported"].as_u64().unwrap() >= 8);
    assert_eq!(import["skipped"].as_array().unwrap().len(), 0);

    let out = refdedup(&[
        "dedup",
        path_str(&data().join("backlog.jsonl")),
        "--db",
        path_str(&db),
        "--out",
        path_str(&clusters_file),
    ]);
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("duplicates removed"), "{stderr}");

    let lines = json_lines(&std::fs::read_to_string(&clusters_file).unwrap());
    let (summary, clusters) = lines.split_last().unwrap();
    let summary = &summary["summary"];

    let expected = truth["clusters"].as_array().unwrap();
    let members = |c: &Value| -> Vec<String> {
        c["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_string())
            .collect()
    };
    let got: Vec<Vec<String>> = clusters.iter().map(members).collect();
    let want: Vec<Vec<String>> = expected.iter().map(members).collect();
    // Compare as sets first for a readable failure, then in order.
    let got_set: BTreeSet<&Vec<String>> = got.iter().collect();
    let want_set: BTreeSet<&Vec<String>> = want.iter().collect();
    let missing: Vec<_> = want_set.difference(&got_set).collect();
    let extra: Vec<_> = got_set.difference(&want_set).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "clusters differ from the ground truth\nmissing: {missing:?}\nunexpected: {extra:?}"
    );
    assert_eq!(got, want, "cluster order: by first member");

    let referrals = truth["referrals"].as_u64().unwrap();
    assert_eq!(summary["referrals_in"], referrals);
    assert_eq!(summary["clusters_out"], want.len() as u64);
    assert_eq!(summary["duplicates_removed"], referrals - want.len() as u64);
    assert_eq!(summary["lines_skipped"], 0);

    // Known content: exactly the clusters the truth marks, each matching its own list item.
    let mut known_clusters = 0;
    for (c, t) in clusters.iter().zip(expected) {
        assert_eq!(c["representative"], c["members"][0]);
        match t["known"].as_str() {
            Some(id) => {
                known_clusters += 1;
                let hits = c["known_match"].as_array().unwrap_or_else(|| {
                    panic!("cluster {} should match known {id}", c["cluster_id"])
                });
                assert!(hits.iter().all(|h| h["id"] == id), "{hits:?}");
            }
            None => assert!(c["known_match"].is_null(), "{c}"),
        }
        if c["members"].as_array().unwrap().len() > 1 {
            assert!(!c["reasons"].as_array().unwrap().is_empty(), "{c}");
        }
    }
    assert_eq!(summary["known_clusters"], known_clusters);
    assert!(summary["images_hashed"].as_u64().unwrap() > 100);
    assert!(summary["referrals_per_s"].as_f64().unwrap() > 0.0);
}

fn media_truth() -> Vec<Value> {
    truth()["media"].as_array().unwrap().clone()
}

/// Every transformed copy of a known item that PDQ is meant to catch matches that item with
/// `--plain-pdq`, and mirrored copies too with the default rule.
#[test]
fn known_content_matches_every_catchable_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    ok(&refdedup(&[
        "known",
        "import",
        "--db",
        path_str(&db),
        path_str(&data().join("known.csv")),
    ]));
    let media = media_truth();
    let known: Vec<&Value> = media.iter().filter(|m| m["known"].is_string()).collect();
    assert!(known.len() >= 8 * 6, "{}", known.len());
    let paths: Vec<String> = known
        .iter()
        .map(|m| {
            data()
                .join(m["file"].as_str().unwrap())
                .display()
                .to_string()
        })
        .collect();
    // `--plain-pdq` is plain reference matching; the default rule adds mirrors and rotations
    // (and borders, crops) on top.
    for plain in [true, false] {
        let dihedral = !plain;
        let mut args = vec!["match", "--db", path_str(&db)];
        if plain {
            args.push("--plain-pdq");
        }
        args.extend(paths.iter().map(String::as_str));
        let results = json_lines(&ok(&refdedup(&args)));
        assert_eq!(results.len(), known.len());
        for (m, r) in known.iter().zip(&results) {
            let catch_key = if dihedral {
                "dihedral_catches"
            } else {
                "pdq_catches"
            };
            if plain && m["pdq_catches"] != true && m["dihedral_catches"] == true {
                assert_ne!(
                    r["verdict"], "known",
                    "plain PDQ cannot see a mirror: {m}: {r}"
                );
            }
            if m[catch_key] == true {
                assert_eq!(r["verdict"], "known", "dihedral={dihedral} {m}: {r}");
                assert!(
                    r["matches"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|x| x["id"] == m["known"]),
                    "{r}"
                );
            }
            if r["verdict"] == "known" {
                assert!(
                    r["matches"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|x| x["id"] == m["known"]),
                    "a copy may only match its own item: {r}"
                );
            }
        }
    }
}

/// With every item's original as known content, no copy matches another item's original.
#[test]
fn no_false_match_between_different_generated_images() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let media = media_truth();
    let originals: Vec<String> = media
        .iter()
        .filter(|m| m["transform"] == "orig")
        .map(|m| {
            data()
                .join(m["file"].as_str().unwrap())
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec![
        "known",
        "add",
        "--db",
        path_str(&db),
        "--label",
        "originals",
    ];
    args.extend(originals.iter().map(String::as_str));
    let added = json_lines(&ok(&refdedup(&args)));
    assert_eq!(added.len(), originals.len());

    let all: Vec<String> = media
        .iter()
        .map(|m| {
            data()
                .join(m["file"].as_str().unwrap())
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["match", "--db", path_str(&db), "--dihedral"];
    args.extend(all.iter().map(String::as_str));
    let results = json_lines(&ok(&refdedup(&args)));
    let mut caught: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for (m, r) in media.iter().zip(&results) {
        let item = m["item"].as_str().unwrap();
        let own = format!("{item}_orig.jpg");
        for hit in r["matches"].as_array().unwrap() {
            assert_eq!(
                hit["id"],
                own.as_str(),
                "false match: {} -> {hit}",
                m["file"]
            );
        }
        let e = caught
            .entry(m["transform"].as_str().unwrap().to_string())
            .or_default();
        e.1 += 1;
        if r["verdict"] == "known" {
            e.0 += 1;
        }
        if m["dihedral_catches"] == true {
            assert_eq!(r["verdict"], "known", "{m}: {r}");
        }
    }
    eprintln!("caught per transform (with --dihedral): {caught:?}");
}

#[test]
fn malformed_list_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let list = dir.path().join("list.csv");
    std::fs::write(
        &list,
        "id,label,pdq,quality,md5\n\
         good-1,l,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,90,\n\
         bad-hex,l,zz,90,\n\
         good-2,l,,,d41d8cd98f00b204e9800998ecf8427e\n\
         bad-quality,l,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23,900,\n\
         no-hash,l,,,\n\
         short-row,l\n",
    )
    .unwrap();
    let out = refdedup(&["known", "import", "--db", path_str(&db), path_str(&list)]);
    // Skipped rows make it a partial failure (exit status 1); the good rows are imported.
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(report["imported"], 2);
    let lines: Vec<u64> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 5, 6, 7]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");

    // Strict: fails on the first bad row, imports nothing.
    let db2 = dir.path().join("db2");
    let out = refdedup(&[
        "known",
        "import",
        "--strict",
        "--db",
        path_str(&db2),
        path_str(&list),
    ]);
    // Invalid data: exit status 4.
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3"));
    let export = ok(&refdedup(&["known", "export", "--db", path_str(&db2)]));
    assert_eq!(export.lines().count(), 1, "header only: {export}");

    // Export of the lenient import round-trips through JSONL.
    let export = ok(&refdedup(&[
        "known",
        "export",
        "--db",
        path_str(&db),
        "--format",
        "jsonl",
    ]));
    let rows = json_lines(&export);
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["good-1", "good-2"]);
    let jsonl = dir.path().join("again.jsonl");
    std::fs::write(&jsonl, &export).unwrap();
    let db3 = dir.path().join("db3");
    let again: Value = serde_json::from_str(
        ok(&refdedup(&[
            "known",
            "import",
            "--strict",
            "--db",
            path_str(&db3),
            path_str(&jsonl),
        ]))
        .trim(),
    )
    .unwrap();
    assert_eq!(again["imported"], 2);

    // A missing list is an I/O failure.
    let out = refdedup(&[
        "known",
        "import",
        "--db",
        path_str(&db),
        "/nonexistent/list.csv",
    ]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn check_records_unless_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let media = data().join(media_truth()[0]["file"].as_str().unwrap());
    let check = |extra: &[&str]| -> Value {
        let mut args = vec!["check", "--db", path_str(&db)];
        args.extend_from_slice(extra);
        serde_json::from_str(ok(&refdedup(&args)).trim()).unwrap()
    };
    let url = "https://www.reddit.com/r/test/comments/abc123/some_title/";
    // A dry run never creates the database.
    let out = refdedup(&["check", "--db", path_str(&db), "--url", url, "--dry-run"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!db.exists());
    let v = check(&["--url", url, "--id", "first"]);
    assert_eq!(v["verdict"], "new");
    let v = check(&[
        "--url",
        "https://redd.it/abc123",
        "--id",
        "second",
        "--media",
        path_str(&media),
    ]);
    assert_eq!(v["verdict"], "duplicate");
    assert_eq!(v["evidence"][0]["external_id"], "first");
    assert_eq!(v["evidence"][0]["kind"], "url_key");
    let v = check(&["--media", path_str(&media), "--dry-run"]);
    assert_eq!(v["verdict"], "duplicate");
    assert_eq!(v["evidence"][0]["external_id"], "second");
    assert_eq!(v["evidence"][0]["kind"], "blake3");
    // A missing media file is an I/O failure.
    let out = refdedup(&[
        "check",
        "--db",
        path_str(&db),
        "--media",
        "/nonexistent.jpg",
    ]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn dedup_without_database_and_with_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let backlog = dir.path().join("b.jsonl");
    std::fs::write(
        &backlog,
        "{\"id\":\"a\",\"url\":\"https://t.me/chan/1\",\"media\":null}\n\
         this is not json\n\
         {\"id\":\"b\",\"url\":\"https://t.me/s/CHAN/1\"}\n\
         {\"url\":\"https://t.me/chan/2\"}\n\
         {\"id\":\"c\",\"url\":\"https://t.me/chan/2\",\"media\":\"missing.jpg\"}\n",
    )
    .unwrap();
    let db = dir.path().join("no-db");
    // A --db that does not exist is refused (a typo must not skip the known-content check).
    let out = refdedup(&["dedup", path_str(&backlog), "--db", path_str(&db)]);
    assert_eq!(out.status.code(), Some(3));
    // Without --db, and no ./refdedup-db, it runs without known content; skipped lines make
    // it a partial failure (exit status 1).
    let out = Command::new(env!("CARGO_BIN_EXE_refdedup"))
        .current_dir(dir.path())
        .args(["dedup", path_str(&backlog)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":2: skipped"), "{stderr}");
    assert!(stderr.contains(":4: skipped"), "{stderr}");
    assert!(stderr.contains("missing.jpg"), "{stderr}");
    assert!(!db.exists(), "dedup must not create a database");
    let (summary, clusters) = lines.split_last().unwrap();
    assert_eq!(clusters.len(), 2);
    assert_eq!(clusters[0]["members"], serde_json::json!(["a", "b"]));
    assert_eq!(clusters[1]["members"], serde_json::json!(["c"]));
    assert_eq!(summary["summary"]["lines_skipped"], 2);
    assert_eq!(summary["summary"]["media_errors"], 1);

    let out = Command::new(env!("CARGO_BIN_EXE_refdedup"))
        .current_dir(dir.path())
        .args(["dedup", "/nonexistent/backlog.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
