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
