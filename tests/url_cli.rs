//! `refdedup url-key`: JSON lines in input order, errors as lines, exit 0.

use std::io::Write;
use std::process::{Command, Stdio};

fn run_stdin(input: &str) -> (String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_refdedup"))
        .arg("url-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn keys_lines_and_reports_errors_in_order() {
    let (out, code) = run_stdin(
        "https://youtu.be/dQw4w9WgXcQ?si=x\nftp://nope\r\n\nexample.com/a?utm_source=z&id=1\n",
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        r#"{"input":"https://youtu.be/dQw4w9WgXcQ?si=x","key":"yt:dQw4w9WgXcQ","canonical":"https://www.youtube.com/watch?v=dQw4w9WgXcQ","platform":"youtube","rules":["platform:youtube"]}"#
    );
    assert_eq!(
        lines[1],
        r#"{"input":"ftp://nope","error":"unsupported scheme: only http and https URLs are keyed"}"#
    );
    assert_eq!(lines[2], r#"{"input":"","error":"empty URL"}"#);
    assert_eq!(
        lines[3],
        r#"{"input":"example.com/a?utm_source=z&id=1","key":"url:example.com/a?id=1","canonical":"http://example.com/a?id=1","platform":null,"rules":["scheme-assumed","tracking-removed","generic"]}"#
    );
}

#[test]
fn large_inputs_keep_their_order() {
    let n = 3000;
    let input: String = (0..n)
        .map(|i| format!("https://x.com/a/status/{i}\n"))
        .collect();
    let (out, code) = run_stdin(&input);
    assert_eq!(code, 0);
    let keys: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: Vec<String> = (0..n).map(|i| format!("x:{i}")).collect();
    assert_eq!(keys, expected);
}

#[test]
fn reads_a_file_and_fails_only_on_io() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("urls.txt");
    std::fs::write(&path, "t.me/Chan_name/5\nnot a url at all\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_refdedup"))
        .arg("url-key")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(r#"{"input":"t.me/Chan_name/5","key":"tg:chan_name/5""#),
        "{text}"
    );
    assert!(text.lines().nth(1).unwrap().contains(r#""error":"#));

    let missing = Command::new(env!("CARGO_BIN_EXE_refdedup"))
        .arg("url-key")
        .arg(dir.path().join("missing.txt"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing.txt"));
}

fn run_bytes(args: &[&str], input: &[u8]) -> (Vec<u8>, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_refdedup"))
        .arg("url-key")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn invalid_utf8_lines_are_errors_never_shared_keys() {
    let (out, _, code) = run_bytes(
        &[],
        b"https://example.com/\xff\nhttps://example.com/\xfe\nhttps://example.com/ok\n",
    );
    assert_eq!(code, 0);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for l in &lines[..2] {
        assert!(l.get("key").is_none(), "{l}");
        assert!(l["error"].as_str().unwrap().contains("UTF-8"), "{l}");
    }
    assert_eq!(lines[2]["key"], "url:example.com/ok");
}

#[test]
fn a_leading_bom_is_skipped() {
    let (out, _, _) = run_bytes(
        &[],
        b"\xEF\xBB\xBFhttps://youtu.be/dQw4w9WgXcQ\nhttps://youtu.be/dQw4w9WgXcQ\n",
    );
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with(r#"{"input":"https://youtu.be/dQw4w9WgXcQ","key":"yt:dQw4w9WgXcQ""#),
        "{}",
        lines[0]
    );
    assert_eq!(lines[0], lines[1]);
}

#[test]
fn over_long_lines_are_errors_and_are_not_held() {
    // 50 MB without a newline, then a normal line: one too-long error, then the key.
    let mut input = vec![b'a'; 50 << 20];
    input.extend_from_slice(b"\nhttps://x.com/a/status/7\n");
    let (out, _, code) = run_bytes(&[], &input);
    assert_eq!(code, 0);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].len() < 1024, "the echo is a short prefix");
    assert!(
        lines[0].contains("URL too long: 52428800 bytes"),
        "{}",
        &lines[0][..200.min(lines[0].len())]
    );
    assert!(lines[1].contains(r#""key":"x:7""#));
}

#[cfg(target_os = "linux")]
#[test]
fn reading_dev_zero_keeps_memory_flat() {
    // `url-key /dev/zero` never ends; after a few seconds its resident memory must be small.
    let mut child = Command::new(env!("CARGO_BIN_EXE_refdedup"))
        .args(["url-key", "/dev/zero"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(
        rss_kb < 64 * 1024,
        "resident memory {rss_kb} kB after 2 s of /dev/zero"
    );
}

#[test]
fn rules_files_add_hosts_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("hosts.rules");
    std::fs::write(
        &rules,
        "[pastey]\nhosts = pastey.example\nclass id = alnum 6-10\nitem paste /p/<id>\nitem paste /raw/<id>\ncanon paste https://pastey.example/p/{id}\n",
    )
    .unwrap();
    let (out, _, code) = run_bytes(
        &["--rules", rules.to_str().unwrap()],
        b"https://pastey.example/raw/AbC123\n",
    );
    assert_eq!(code, 0);
    assert_eq!(
        String::from_utf8(out).unwrap().trim_end(),
        r#"{"input":"https://pastey.example/raw/AbC123","key":"pastey:paste:AbC123","canonical":"https://pastey.example/p/AbC123","platform":"pastey","rules":["platform:pastey"]}"#
    );
    std::fs::write(
        &rules,
        "[pastey]\nhosts = pastey.example\nitem paste /p/<id:bogus>\n",
    )
    .unwrap();
    let (_, err, code) = run_bytes(&["--rules", rules.to_str().unwrap()], b"x\n");
    assert_ne!(code, 0);
    assert!(
        err.contains("line 3") && err.contains("unknown class"),
        "{err}"
    );
}

/// Runs `refdedup ARGS` and returns (stdout, stderr, status).
fn run_cmd(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_refdedup"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

const PASTEY_RULES: &str = "[pastey]\nhosts = pastey.example paste.example.net\nclass id = alnum 6-10\nitem paste /p/<id>\nitem paste /raw/<id>\nitem paste /view ?id=<id>\ncanon paste https://pastey.example/p/{id}\n";

#[test]
fn url_rules_apply_to_check_match_and_dedup() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("my-hosts.rules");
    std::fs::write(&rules, PASTEY_RULES).unwrap();
    let rules = rules.to_str().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();

    // check: recorded under one spelling, the other spelling is a duplicate with the rules...
    let (out, err, code) = run_cmd(&[
        "check",
        "--db",
        db,
        "--url-rules",
        rules,
        "--id",
        "a",
        "--url",
        "https://pastey.example/p/AbC123",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(r#""key":"pastey:paste:AbC123""#), "{out}");
    let (out, err, code) = run_cmd(&[
        "check",
        "--dry-run",
        "--db",
        db,
        "--url-rules",
        rules,
        "--url",
        "paste.example.net/view?id=AbC123&utm_source=x",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["verdict"], "duplicate", "{out}");
    // ...and new without them (the built-in rules do not know the host).
    let (out, err, code) = run_cmd(&[
        "check",
        "--dry-run",
        "--db",
        db,
        "--url",
        "paste.example.net/view?id=AbC123&utm_source=x",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["verdict"], "new", "{out}");

    // dedup: two spellings are one cluster with the rules, two without.
    let backlog = dir.path().join("b.jsonl");
    std::fs::write(
        &backlog,
        "{\"id\":\"1\",\"url\":\"https://www.pastey.example/raw/XyZ789\"}\n{\"id\":\"2\",\"url\":\"pastey.example/p/XyZ789\"}\n",
    )
    .unwrap();
    let backlog = backlog.to_str().unwrap();
    let clusters = |out: &str| out.lines().filter(|l| l.contains("\"members\"")).count();
    let (out, err, code) = run_cmd(&[
        "dedup",
        backlog,
        "--db",
        db,
        "--url-rules",
        rules,
        "--no-progress",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(clusters(&out), 1, "{out}");
    let (out, err, code) = run_cmd(&["dedup", backlog, "--db", db, "--no-progress"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(clusters(&out), 2, "{out}");

    // match takes the flag too (it keys no URLs, but a bad file is still refused).
    let media = dir.path().join("m.bin");
    std::fs::write(&media, b"not an image").unwrap();
    let (_, err, code) = run_cmd(&[
        "match",
        "--db",
        db,
        "--url-rules",
        rules,
        media.to_str().unwrap(),
    ]);
    assert!(code == 0 || code == 1, "{code}: {err}");
    assert!(!err.contains("rules"), "{err}");

    // url-key accepts --url-rules as the same flag as --rules.
    let (out, _, code) = run_bytes(
        &["--url-rules", rules],
        b"https://pastey.example/raw/AbC123\n",
    );
    assert_eq!(code, 0);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("pastey:paste:AbC123"));
}

#[test]
fn bad_url_rules_files_are_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    // A database to read, so only the rules file can fail.
    let (_, err, code) = run_cmd(&["check", "--db", db, "--url", "https://example.com/a"]);
    assert_eq!(code, 0, "{err}");
    let bad = dir.path().join("bad.rules");
    std::fs::write(
        &bad,
        "[pastey]\nhosts = pastey.example\nitem paste /p/<id:bogus>\n",
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    let trap = dir.path().join("trap.rules");
    std::fs::write(
        &trap,
        "[mega]\nhosts = mega.nz\nclass id = b64 8-8 ci\nitem file /file/<id>\ncanon file https://mega.nz/file/{id}\n",
    )
    .unwrap();
    let trap = trap.to_str().unwrap();
    let missing = dir.path().join("missing.rules");
    let missing = missing.to_str().unwrap();
    // Larger than the limit (4 MiB): refused before it is parsed, never read whole.
    let huge = dir.path().join("huge.rules");
    std::fs::write(&huge, "# comment line\n".repeat(300_000)).unwrap();
    let huge = huge.to_str().unwrap();
    let not_utf8 = dir.path().join("latin1.rules");
    std::fs::write(&not_utf8, b"# ok\n[caf\xe9]\n").unwrap();
    let not_utf8 = not_utf8.to_str().unwrap();
    let backlog = dir.path().join("b.jsonl");
    std::fs::write(
        &backlog,
        "{\"id\":\"1\",\"url\":\"https://example.com/a\"}\n",
    )
    .unwrap();
    let backlog = backlog.to_str().unwrap();
    let media = dir.path().join("m.bin");
    std::fs::write(&media, b"x").unwrap();
    let media = media.to_str().unwrap();
    for (file, status, words) in [
        (bad, 4, &["line 3", "unknown class"][..]),
        (trap, 4, &["line 1", "trap"][..]),
        (missing, 3, &["missing.rules"][..]),
        (huge, 4, &["huge.rules", "larger than"][..]),
        (not_utf8, 4, &["line 2", "UTF-8"][..]),
    ] {
        let commands: [Vec<&str>; 4] = [
            vec![
                "check",
                "--db",
                db,
                "--url-rules",
                file,
                "--url",
                "https://example.com/b",
            ],
            vec![
                "dedup",
                backlog,
                "--db",
                db,
                "--url-rules",
                file,
                "--no-progress",
            ],
            vec!["match", "--db", db, "--url-rules", file, media],
            vec!["url-key", "--rules", file],
        ];
        for args in commands {
            let (out, err, code) = run_cmd(&args);
            assert_eq!(code, status, "{args:?}: {err}");
            for w in words {
                assert!(err.contains(w), "{args:?}: {err}");
            }
            assert!(out.is_empty(), "{args:?}: {out}");
        }
    }
    // Nothing was recorded by the refused check.
    let (out, _, _) = run_cmd(&[
        "check",
        "--dry-run",
        "--db",
        db,
        "--url",
        "https://example.com/b",
    ]);
    assert!(out.contains(r#""verdict":"new""#), "{out}");
}
