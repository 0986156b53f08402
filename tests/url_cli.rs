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
